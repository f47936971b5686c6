//! What a request of a served API asks for, in IAM's terms: its action (`sqs:SendMessage`) and
//! the ARN of the resource it acts on — from the Service Authorization Reference's facts. For
//! most operations the action is the service prefix and the operation's name; the exceptions
//! are listed here, and the resource is found from the input members that name it.

use serde_json::Value;
use stratus_core::RequestContext;
use stratus_iam::policy::Context;

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

/// The condition keys a request carries (the Service Authorization Reference's keys for its
/// action): the tags it sets (`aws:RequestTag/…`, `aws:TagKeys`) and the service's own keys
/// (`sns:Protocol`, `lambda:FunctionArn`, `iam:PassedToService`, `sts:ExternalId`, …).
pub fn condition_keys(service: &str, op: &str, input: &Value, ctx: &RequestContext) -> Context {
    let mut c = Context::new();
    request_tags(input, &mut c);
    let mut put = |key: &str, member: &str| {
        if let Some(v) = s(input, member) {
            c.insert(key, v);
        }
    };
    match (service, op) {
        ("sns", "Subscribe") => {
            put("sns:Protocol", "Protocol");
            put("sns:Endpoint", "Endpoint");
        }
        ("lambda", "AddPermission") => {
            put("lambda:Principal", "Principal");
            put("lambda:FunctionUrlAuthType", "FunctionUrlAuthType");
        }
        ("lambda", "CreateFunctionUrlConfig" | "UpdateFunctionUrlConfig") => {
            put("lambda:FunctionUrlAuthType", "AuthType");
        }
        ("lambda", "CreateFunction" | "UpdateFunctionConfiguration") => {
            c.insert("iam:PassedToService", "lambda.amazonaws.com");
            if let Some(layers) = input.get("Layers").and_then(Value::as_array) {
                c.insert_all("lambda:Layer", layers.iter().filter_map(Value::as_str));
            }
        }
        ("lambda", "CreateEventSourceMapping" | "UpdateEventSourceMapping") if s(input, "FunctionName").is_some() => {
            c.insert("lambda:FunctionArn", resource("lambda", op, input, ctx));
        }
        ("iam", op) if op.starts_with("Attach") || op.starts_with("Detach") => put("iam:PolicyARN", "PolicyArn"),
        ("iam", "CreateUser" | "CreateRole") | ("iam", "PutUserPermissionsBoundary" | "PutRolePermissionsBoundary") => {
            put("iam:PermissionsBoundary", "PermissionsBoundary");
        }
        ("sts", "AssumeRole") => {
            put("sts:ExternalId", "ExternalId");
            put("sts:RoleSessionName", "RoleSessionName");
            put("sts:SourceIdentity", "SourceIdentity");
            if let Some(keys) = input.get("TransitiveTagKeys").and_then(Value::as_array) {
                c.insert_all("sts:TransitiveTagKeys", keys.iter().filter_map(Value::as_str));
            }
        }
        _ => {}
    }
    c
}

/// `aws:RequestTag/{key}` and `aws:TagKeys` from the tags a request sets or removes: a `Tags`
/// or `tags` member that is a map or a list of `{Key, Value}`, or a `TagKeys`/`tagKeys` list.
fn request_tags(input: &Value, c: &mut Context) {
    let mut keys: Vec<String> = Vec::new();
    for member in ["Tags", "tags"] {
        match input.get(member) {
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    c.insert(&format!("aws:RequestTag/{k}"), v.as_str().unwrap_or_default());
                    keys.push(k.clone());
                }
            }
            Some(Value::Array(list)) => {
                for t in list {
                    let k = t.get("Key").or_else(|| t.get("key")).and_then(Value::as_str);
                    let v = t.get("Value").or_else(|| t.get("value")).and_then(Value::as_str);
                    match (k, v) {
                        (Some(k), Some(v)) => {
                            c.insert(&format!("aws:RequestTag/{k}"), v);
                            keys.push(k.to_string());
                        }
                        // CloudWatch Logs' UntagLogGroup lists the keys as `tags`.
                        _ => keys.extend(t.as_str().map(str::to_string)),
                    }
                }
            }
            _ => {}
        }
    }
    for member in ["TagKeys", "tagKeys"] {
        if let Some(list) = input.get(member).and_then(Value::as_array) {
            keys.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    if !keys.is_empty() {
        c.insert_all("aws:TagKeys", keys);
    }
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

    #[test]
    fn requests_carry_their_condition_keys() {
        let c = condition_keys("sqs", "CreateQueue", &json!({"QueueName": "q", "tags": {"team": "a"}}), &ctx());
        assert_eq!(c.get("aws:RequestTag/team"), Some(&["a".to_string()][..]));
        assert_eq!(c.get("aws:TagKeys"), Some(&["team".to_string()][..]));
        let tags = json!({"TopicArn": "t", "Tags": [{"Key": "k", "Value": "v"}]});
        assert_eq!(
            condition_keys("sns", "TagResource", &tags, &ctx()).get("aws:RequestTag/k"),
            Some(&["v".to_string()][..])
        );
        let untag = json!({"TagKeys": ["x", "y"]});
        assert_eq!(
            condition_keys("lambda", "UntagResource", &untag, &ctx()).get("aws:TagKeys").map(<[String]>::len),
            Some(2)
        );
        let sub = json!({"TopicArn": "t", "Protocol": "sqs", "Endpoint": "arn:aws:sqs:eu-west-1:111122223333:q"});
        assert_eq!(
            condition_keys("sns", "Subscribe", &sub, &ctx()).get("sns:Protocol"),
            Some(&["sqs".to_string()][..])
        );
        let esm = json!({"FunctionName": "f", "EventSourceArn": "arn"});
        assert_eq!(
            condition_keys("lambda", "CreateEventSourceMapping", &esm, &ctx()).get("lambda:FunctionArn"),
            Some(&["arn:aws:lambda:eu-west-1:111122223333:function:f".to_string()][..])
        );
        let assume = json!({"RoleArn": "r", "RoleSessionName": "s1", "ExternalId": "x"});
        assert_eq!(
            condition_keys("sts", "AssumeRole", &assume, &ctx()).get("sts:ExternalId"),
            Some(&["x".to_string()][..])
        );
        assert!(condition_keys("sqs", "SendMessage", &json!({"QueueUrl": "u"}), &ctx()).is_empty());
    }
}
