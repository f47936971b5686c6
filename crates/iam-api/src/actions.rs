//! What a request of a served API asks for, in IAM's terms: its action (`sqs:SendMessage`) and
//! the ARN of the resource it acts on — from the Service Authorization Reference's facts. For
//! most operations the action is the service prefix and the operation's name; the exceptions
//! are listed here, and the resource is found from the input members that name it.

use serde_json::Value;
use stratus_core::RequestContext;

/// The IAM action of `op` of the service signing as `service`.
pub fn action(service: &str, op: &str) -> String {
    let renamed = match (service, op) {
        ("sqs", "SendMessageBatch") => "SendMessage",
        ("sqs", "DeleteMessageBatch") => "DeleteMessage",
        ("sqs", "ChangeMessageVisibilityBatch") => "ChangeMessageVisibility",
        ("sns", "PublishBatch") => "Publish",
        ("lambda", "Invoke" | "InvokeWithResponseStream") => "InvokeFunction",
        _ => op,
    };
    format!("{service}:{renamed}")
}

/// The further actions a request needs, each with its resource (the Service Authorization
/// Reference's "dependent actions" that AWS checks on the caller): handing a role to a function
/// needs `iam:PassRole` on it.
pub fn dependent(service: &str, op: &str, input: &Value) -> Vec<(&'static str, String)> {
    match (service, op) {
        ("lambda", "CreateFunction" | "UpdateFunctionConfiguration") => {
            s(input, "Role").map(|r| vec![("iam:PassRole", r.to_string())]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

fn s<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str).filter(|v| !v.is_empty())
}

/// The resource ARN a request acts on, or `*` for actions without one (List*, Create* of
/// account-wide things).
pub fn resource(service: &str, op: &str, input: &Value, ctx: &RequestContext) -> String {
    let (region, account) = (ctx.region.as_str(), ctx.account.as_str());
    let found = match service {
        "sqs" => s(input, "QueueUrl")
            .and_then(|u| {
                let mut parts = u.trim_end_matches('/').rsplit('/');
                let name = parts.next()?;
                let owner = parts.next().filter(|a| stratus_core::is_account_id(a)).unwrap_or(account);
                Some(format!("arn:aws:sqs:{region}:{owner}:{name}"))
            })
            .or_else(|| s(input, "QueueName").map(|n| format!("arn:aws:sqs:{region}:{account}:{n}")))
            .or_else(|| s(input, "SourceArn").map(str::to_string)),
        "sns" => s(input, "TopicArn")
            .or_else(|| s(input, "ResourceArn"))
            .or_else(|| s(input, "TargetArn"))
            .map(str::to_string)
            .or_else(|| {
                // A subscription acts on its topic.
                s(input, "SubscriptionArn").and_then(|a| a.rsplit_once(':').map(|(topic, _)| topic.to_string()))
            })
            .or_else(|| {
                (op == "CreateTopic")
                    .then(|| s(input, "Name").map(|n| format!("arn:aws:sns:{region}:{account}:{n}")))?
            }),
        "lambda" => s(input, "FunctionName").map(|f| {
            if f.starts_with("arn:") {
                f.to_string()
            } else if let Some((acct, rest)) = f.split_once(":function:") {
                format!("arn:aws:lambda:{region}:{acct}:function:{rest}")
            } else {
                let q = s(input, "Qualifier").map(|q| format!(":{q}")).unwrap_or_default();
                format!("arn:aws:lambda:{region}:{account}:function:{f}{q}")
            }
        }),
        "logs" => s(input, "logGroupName")
            .map(|g| format!("arn:aws:logs:{region}:{account}:log-group:{g}:*"))
            .or_else(|| s(input, "resourceArn").map(str::to_string)),
        "iam" => s(input, "PolicyArn")
            .map(str::to_string)
            .or_else(|| s(input, "RoleName").map(|n| format!("arn:aws:iam::{account}:role/{n}")))
            .or_else(|| s(input, "GroupName").map(|n| format!("arn:aws:iam::{account}:group/{n}")))
            .or_else(|| s(input, "UserName").map(|n| format!("arn:aws:iam::{account}:user/{n}")))
            .or_else(|| {
                (op == "CreatePolicy")
                    .then(|| s(input, "PolicyName").map(|n| format!("arn:aws:iam::{account}:policy/{n}")))?
            }),
        "sts" => s(input, "RoleArn").map(str::to_string),
        _ => None,
    };
    found.unwrap_or_else(|| "*".to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ctx() -> RequestContext {
        RequestContext::internal("111122223333", "eu-west-1", "r".into())
    }

    #[test]
    fn actions_follow_operations_with_the_documented_exceptions() {
        assert_eq!(action("sqs", "SendMessage"), "sqs:SendMessage");
        assert_eq!(action("sqs", "SendMessageBatch"), "sqs:SendMessage");
        assert_eq!(action("sqs", "DeleteMessageBatch"), "sqs:DeleteMessage");
        assert_eq!(action("sns", "PublishBatch"), "sns:Publish");
        assert_eq!(action("lambda", "Invoke"), "lambda:InvokeFunction");
        assert_eq!(action("iam", "CreateRole"), "iam:CreateRole");
    }

    #[test]
    fn resources_come_from_the_members_that_name_them() {
        let c = ctx();
        let r = |svc, op, input: Value| resource(svc, op, &input, &c);
        assert_eq!(
            r("sqs", "SendMessage", json!({"QueueUrl": "http://localhost:4566/444455556666/jobs"})),
            "arn:aws:sqs:eu-west-1:444455556666:jobs"
        );
        assert_eq!(r("sqs", "CreateQueue", json!({"QueueName": "q"})), "arn:aws:sqs:eu-west-1:111122223333:q");
        assert_eq!(r("sqs", "ListQueues", json!({})), "*");
        assert_eq!(
            r("sns", "Unsubscribe", json!({"SubscriptionArn": "arn:aws:sns:eu-west-1:1:t:abc"})),
            "arn:aws:sns:eu-west-1:1:t"
        );
        assert_eq!(
            r("lambda", "Invoke", json!({"FunctionName": "f", "Qualifier": "live"})),
            "arn:aws:lambda:eu-west-1:111122223333:function:f:live"
        );
        assert_eq!(
            r("logs", "FilterLogEvents", json!({"logGroupName": "/aws/lambda/f"})),
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:*"
        );
        assert_eq!(r("iam", "GetRole", json!({"RoleName": "x"})), "arn:aws:iam::111122223333:role/x");
    }
}
