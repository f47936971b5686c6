//! Services acting for someone (the IAM issue's "pollers and deliveries act as AWS's do"): one
//! answer to "may AWS service P act on resource R for source S" and "may the execution role of
//! function F do A on R", used by every delivery and configuration check — S3 notifications,
//! SNS subscriptions, Lambda's event source pollers and destinations.
//!
//! In enforce mode only resource policies let a service principal in (with `aws:SourceArn` and
//! `aws:SourceAccount` in the context), and a role acts with its own policies. In open and
//! verify modes nothing is enforced, except what AWS validates when a configuration is written
//! (a function named as an S3 destination must allow `s3.amazonaws.com`).

use stratus_core::Arn;
use stratus_iam_api::Authorizer;
use stratus_proto::{AwsError, BoxFuture};

/// What a service acts for: the ARN of its resource (topic, bucket) and that resource's account.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub arn: &'a str,
    pub account: &'a str,
}

#[derive(Clone)]
pub struct ServiceAccess {
    pub authorizer: Authorizer,
    pub enforce: bool,
}

impl ServiceAccess {
    /// Whether `principal` (`s3.amazonaws.com`) may perform `action` on `resource` for
    /// `source`: always when nothing is enforced.
    pub async fn service_may(&self, principal: &str, action: &str, resource: &str, source: Source<'_>) -> bool {
        !self.enforce || self.policy_allows(principal, action, resource, source).await
    }

    /// Whether the resource's own policy lets `principal` perform `action` for `source`,
    /// whatever the mode (what AWS checks when a configuration names the resource).
    pub async fn policy_allows(&self, principal: &str, action: &str, resource: &str, source: Source<'_>) -> bool {
        match self.authorizer.service_may(principal, action, resource, source.arn, source.account).await {
            Ok(allowed) => allowed,
            Err(e) => {
                tracing::warn!(%resource, error = %e, "could not read the resource's policy; access refused");
                false
            }
        }
    }

    /// The action a delivery to `destination` performs: SendMessage to a queue, Publish to a
    /// topic, InvokeFunction of a function.
    pub fn delivery_action(destination: &str) -> Option<&'static str> {
        match Arn::parse(destination)?.service {
            "sqs" => Some("sqs:SendMessage"),
            "sns" => Some("sns:Publish"),
            "lambda" => Some("lambda:InvokeFunction"),
            _ => None,
        }
    }

    /// Whether the execution role `role_arn`, used by Lambda for the function `function`, may
    /// perform `action` on `resource`: `Err` is the denial (always `Ok` when nothing is enforced).
    pub async fn role_may(&self, role_arn: &str, function: &str, action: &str, resource: &str) -> Result<(), AwsError> {
        if !self.enforce {
            return Ok(());
        }
        self.authorizer.authorize_role(role_arn, function, action, resource).await
    }
}

/// Execution roles of functions, checked by IAM (verify and enforce modes): Lambda may assume
/// them, and what Lambda does with them is authorized as them.
pub struct LambdaRoles {
    pub identity: stratus_iam_api::Identity,
    pub access: ServiceAccess,
}

impl stratus_lambda::Roles for LambdaRoles {
    fn check<'a>(&'a self, role_arn: &'a str) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(self.identity.check_role_for_service(role_arn, "lambda.amazonaws.com"))
    }

    fn may<'a>(
        &'a self,
        role_arn: &'a str,
        function: &'a str,
        action: &'a str,
        resource: &'a str,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(self.access.role_may(role_arn, function, action, resource))
    }
}
