//! What Application Load Balancer targets reach, connected in the binary: functions (with the
//! permission check AWS makes: the function's policy must let
//! `elasticloadbalancing.amazonaws.com` invoke it for the target group) and IP targets over
//! HTTP (`http_client.rs`).

use std::time::Duration;

use stratus_elbv2::{HttpAnswer, Invoked, TargetError, Targets};
use stratus_proto::BoxFuture;

use crate::delegation::{ServiceAccess, Source};

const PRINCIPAL: &str = "elasticloadbalancing.amazonaws.com";

pub struct AlbTargets {
    pub lambda: stratus_lambda::Lambda,
    pub access: ServiceAccess,
    /// Functions found to let the load balancer invoke them for a target group, and when:
    /// reused for [`GRANT_REUSE`] (AWS's own permission checks are eventually consistent), so a
    /// busy target group does not read and evaluate the function's policy on every request.
    pub granted: std::sync::Mutex<std::collections::HashMap<(String, String), std::time::Instant>>,
}

/// How long a found permission is reused before the function's policy is read again.
const GRANT_REUSE: Duration = Duration::from_secs(1);

impl AlbTargets {
    async fn check(&self, function: &str, source_arn: &str) -> Result<(String, String), TargetError> {
        let Some(arn) = stratus_core::Arn::parse(function) else {
            return Err(TargetError::NotFound(format!("{function} is not a function ARN")));
        };
        let (account, region) = (arn.account.to_string(), arn.region.to_string());
        let key = (function.to_string(), source_arn.to_string());
        let fresh =
            self.granted.lock().ok().and_then(|g| g.get(&key).copied()).is_some_and(|at| at.elapsed() < GRANT_REUSE);
        if fresh {
            return Ok((account, region));
        }
        match self.lambda.access_internal(function).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(TargetError::NotFound(format!("Function not found: {function}"))),
            Err(e) => return Err(TargetError::Failed(e.message)),
        }
        let source_account = stratus_core::Arn::parse(source_arn).map(|a| a.account.to_string()).unwrap_or_default();
        let allowed = self
            .access
            .policy_allows(
                PRINCIPAL,
                "lambda:InvokeFunction",
                function,
                Source { arn: source_arn, account: &source_account },
            )
            .await;
        if !allowed {
            return Err(TargetError::Denied(format!("{function} does not allow {PRINCIPAL} for {source_arn}")));
        }
        if let Ok(mut g) = self.granted.lock() {
            if g.len() > 10_000 {
                g.clear();
            }
            g.insert(key, std::time::Instant::now());
        }
        Ok((account, region))
    }
}

impl Targets for AlbTargets {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        source_arn: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Invoked, TargetError>> {
        Box::pin(async move {
            let (account, region) = self.check(function, source_arn).await?;
            match self.lambda.invoke_sync(&account, &region, function, payload).await {
                Ok(r) => Ok(Invoked { payload: r.payload, function_error: r.function_error }),
                Err(e) if e.code == "ResourceNotFoundException" => Err(TargetError::NotFound(e.message)),
                Err(e) => Err(TargetError::Failed(e.message)),
            }
        })
    }

    fn may_invoke<'a>(&'a self, function: &'a str, source_arn: &'a str) -> BoxFuture<'a, Result<(), TargetError>> {
        Box::pin(async move { self.check(function, source_arn).await.map(|_| ()) })
    }

    fn http<'a>(
        &'a self,
        method: &'a str,
        url: &'a str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<HttpAnswer, TargetError>> {
        Box::pin(async move {
            match crate::http_client::send(method, url, headers, body, Duration::from_secs(60)).await {
                Ok(a) => Ok(a),
                Err(e) => Err(TargetError::Failed(format!("{e:?}"))),
            }
        })
    }
}
