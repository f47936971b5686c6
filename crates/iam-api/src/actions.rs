//! What a request of a served API asks for, in IAM's terms: its action (`sqs:SendMessage`), the
//! ARN of the resource it acts on, the actions it depends on and the condition keys it
//! carries. Actions come from the Service Authorization Reference (`reference.rs`): the action
//! of the operation's name, or the one documenting the operation; the few operations it does
//! not name are listed here. The resource is found from the input members that name it.

use serde_json::Value;
use stratus_core::RequestContext;
use stratus_iam::policy::Context;

use crate::reference;

/// The IAM action of `op` of the service signing as `service`.
pub fn action(service: &str, op: &str) -> String {
    let renamed = match (service, op) {
        // Batch operations are authorized as their single form.
        ("sqs", "SendMessageBatch") => "SendMessage",
        ("sqs", "DeleteMessageBatch") => "DeleteMessage",
        ("sqs", "ChangeMessageVisibilityBatch") => "ChangeMessageVisibility",
        ("sns", "PublishBatch") => "Publish",
        ("lambda", "InvokeWithResponseStream") => "InvokeFunction",
        ("lambda", "GetLayerVersionByArn") => "GetLayerVersion",
        // Transactions are authorized as the item actions they contain; the first kind stands
        // for them here.
        ("dynamodb", "TransactGetItems") => "GetItem",
        ("dynamodb", "TransactWriteItems") => "PutItem",
        ("s3", op) => s3_action(op),
        ("apigateway", op) => apigateway_action(op),
        _ => reference::action_of_operation(service, op).unwrap_or(op),
    };
    format!("{service}:{renamed}")
}

/// API Gateway authorizes its control plane by HTTP method (`apigateway:POST`) on the request
/// path (`arn:aws:apigateway:{region}::/restapis/…`); the operation's name says its method.
fn apigateway_action(op: &str) -> &'static str {
    match op {
        "TagResource" | "ImportDocumentationParts" => "PUT",
        "UntagResource" => "DELETE",
        _ if op.starts_with("Get") => "GET",
        _ if op.starts_with("Put") => "PUT",
        _ if op.starts_with("Update") => "PATCH",
        _ if op.starts_with("Delete") || op.starts_with("Flush") => "DELETE",
        _ => "POST",
    }
}

/// S3's operations under the actions AWS authorizes them as: listings are `ListBucket`, reads
/// and writes of parts are `GetObject`/`PutObject`, deleting or listing a bucket's
/// configuration is putting or getting it.
fn s3_action(op: &str) -> &str {
    match op {
        "ListObjects" | "ListObjectsV2" | "HeadBucket" => "ListBucket",
        "ListObjectVersions" => "ListBucketVersions",
        "ListBuckets" => "ListAllMyBuckets",
        "HeadObject" | "SelectObjectContent" => "GetObject",
        "CreateMultipartUpload" | "UploadPart" | "UploadPartCopy" | "CompleteMultipartUpload" | "CopyObject" => {
            "PutObject"
        }
        "ListParts" => "ListMultipartUploadParts",
        "ListMultipartUploads" => "ListBucketMultipartUploads",
        "DeleteObjects" => "DeleteObject",
        "GetBucketNotificationConfiguration" => "GetBucketNotification",
        "PutBucketNotificationConfiguration" => "PutBucketNotification",
        "GetBucketCors" => "GetBucketCORS",
        "PutBucketCors" | "DeleteBucketCors" => "PutBucketCORS",
        "DeleteBucketTagging" => "PutBucketTagging",
        "GetBucketLifecycle" | "GetBucketLifecycleConfiguration" => "GetLifecycleConfiguration",
        "PutBucketLifecycle" | "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle" => {
            "PutLifecycleConfiguration"
        }
        "DeleteBucketEncryption" => "PutEncryptionConfiguration",
        "DeleteBucketOwnershipControls" => "PutBucketOwnershipControls",
        "DeleteBucketReplication" => "PutReplicationConfiguration",
        "DeletePublicAccessBlock" => "PutBucketPublicAccessBlock",
        "DeleteBucketAnalyticsConfiguration" => "PutAnalyticsConfiguration",
        "ListBucketAnalyticsConfigurations" => "GetAnalyticsConfiguration",
        "DeleteBucketIntelligentTieringConfiguration" => "PutIntelligentTieringConfiguration",
        "ListBucketIntelligentTieringConfigurations" => "GetIntelligentTieringConfiguration",
        "DeleteBucketInventoryConfiguration" => "PutInventoryConfiguration",
        "ListBucketInventoryConfigurations" => "GetInventoryConfiguration",
        "DeleteBucketMetricsConfiguration" => "PutMetricsConfiguration",
        "ListBucketMetricsConfigurations" => "GetMetricsConfiguration",
        other => reference::action_of_operation("s3", other).unwrap_or(other),
    }
}

/// The further actions a request needs, each with its resource: the reference's dependent
/// actions that Stratus can resolve (handing a role over needs `iam:PassRole` on each role the
/// input names), and Lambda's role change, which AWS also checks.
pub fn dependent(service: &str, op: &str, input: &Value) -> Vec<(&'static str, String)> {
    let action = action(service, op);
    let (prefix, name) = action.split_once(':').unwrap_or_default();
    let passes_roles = reference::action(prefix, name).is_some_and(|a| a.dependent.iter().any(|d| d == "iam:PassRole"))
        || (service, op) == ("lambda", "UpdateFunctionConfiguration");
    if !passes_roles {
        return Vec::new();
    }
    let mut roles = Vec::new();
    passed_roles(input, 0, &mut roles);
    roles.into_iter().map(|r| ("iam:PassRole", r)).collect()
}

/// The role ARNs an input hands over (`Role`, `roleArn`, SNS's `…RoleArn` attributes).
fn passed_roles(v: &Value, depth: usize, out: &mut Vec<String>) {
    match v {
        Value::String(s) if is_role_arn(s) && !out.contains(s) => out.push(s.clone()),
        Value::Object(m) if depth < 3 => m.values().for_each(|x| passed_roles(x, depth + 1, out)),
        Value::Array(a) if depth < 3 => a.iter().for_each(|x| passed_roles(x, depth + 1, out)),
        _ => {}
    }
}

fn is_role_arn(s: &str) -> bool {
    stratus_core::Arn::parse(s).is_some_and(|a| a.service == "iam" && a.resource.starts_with("role/"))
}

fn s<'a>(input: &'a Value, member: &str) -> Option<&'a str> {
    input.get(member).and_then(Value::as_str).filter(|v| !v.is_empty())
}

/// The resource ARN a request acts on, or `*` for actions without one (List*, Create* of
/// account-wide things).
pub fn resource(service: &str, op: &str, input: &Value, ctx: &RequestContext) -> String {
    // Account-wide actions (the reference lists no resource type for them) act on `*`.
    let a = action(service, op);
    let (prefix, name) = a.split_once(':').unwrap_or_default();
    if reference::action(prefix, name).is_some_and(|a| a.resources.is_empty()) {
        return "*".to_string();
    }
    let (region, account) = (ctx.region.as_str(), ctx.account.as_str());
    if service == "apigateway" {
        let path = ctx.path.split('?').next().unwrap_or("/");
        // HTTP APIs' operations live under `/v2/…`; their resources are `/apis/…` as in v1's.
        let path = path.strip_prefix("/v2").filter(|p| p.starts_with('/')).unwrap_or(path);
        return format!("arn:{partition}:apigateway:{region}::{path}", partition = stratus_core::partition(region));
    }
    let found = match service {
        "sqs" => s(input, "QueueUrl")
            .and_then(|u| {
                let mut parts = u.trim_end_matches('/').rsplit('/');
                let name = parts.next()?;
                let owner = parts.next().filter(|a| stratus_core::is_account_id(a)).unwrap_or(account);
                Some(format!(
                    "arn:{partition}:sqs:{region}:{owner}:{name}",
                    partition = stratus_core::partition(region)
                ))
            })
            .or_else(|| {
                s(input, "QueueName").map(|n| {
                    format!("arn:{partition}:sqs:{region}:{account}:{n}", partition = stratus_core::partition(region))
                })
            })
            .or_else(|| s(input, "SourceArn").map(str::to_string)),
        "sns" => s(input, "TopicArn")
            .or_else(|| s(input, "ResourceArn"))
            .or_else(|| s(input, "TargetArn"))
            .map(str::to_string)
            .or_else(|| {
                (op == "CreateTopic").then(|| {
                    s(input, "Name").map(|n| {
                        format!(
                            "arn:{partition}:sns:{region}:{account}:{n}",
                            partition = stratus_core::partition(region)
                        )
                    })
                })?
            }),
        "lambda" => s(input, "UUID")
            .map(|id| {
                format!(
                    "arn:{partition}:lambda:{region}:{account}:event-source-mapping:{id}",
                    partition = stratus_core::partition(region)
                )
            })
            .or_else(|| function_arn(input, ctx)),
        "logs" => s(input, "logGroupName")
            .map(|g| match s(input, "logStreamName") {
                Some(st) => format!(
                    "arn:{partition}:logs:{region}:{account}:log-group:{g}:log-stream:{st}",
                    partition = stratus_core::partition(region)
                ),
                None => format!(
                    "arn:{partition}:logs:{region}:{account}:log-group:{g}:*",
                    partition = stratus_core::partition(region)
                ),
            })
            .or_else(|| s(input, "resourceArn").map(str::to_string)),
        // Attaching a policy acts on the user, group or role (the policy is `iam:PolicyARN`).
        "iam" => s(input, "RoleName")
            .map(|n| format!("arn:aws:iam::{account}:role/{n}"))
            .or_else(|| s(input, "GroupName").map(|n| format!("arn:aws:iam::{account}:group/{n}")))
            .or_else(|| s(input, "UserName").map(|n| format!("arn:aws:iam::{account}:user/{n}")))
            .or_else(|| s(input, "PolicyArn").map(str::to_string))
            .or_else(|| {
                (op == "CreatePolicy")
                    .then(|| s(input, "PolicyName").map(|n| format!("arn:aws:iam::{account}:policy/{n}")))?
            }),
        "sts" => s(input, "RoleArn").map(str::to_string),
        "dynamodb" => dynamodb_resource(input, region, account),
        // A consumer's operations act on the consumer; the others on the stream (GetRecords'
        // stream is added to its input from the iterator before authorization).
        "kinesis" => s(input, "ConsumerARN")
            .or_else(|| s(input, "ResourceARN"))
            .or_else(|| s(input, "StreamARN"))
            .map(str::to_string)
            .or_else(|| {
                s(input, "StreamName").map(|n| {
                    format!(
                        "arn:{partition}:kinesis:{region}:{account}:stream/{n}",
                        partition = stratus_core::partition(region)
                    )
                })
            }),
        _ => None,
    };
    found.unwrap_or_else(|| "*".to_string())
}

/// The table (or index) a DynamoDB request names: `TableName`, `ResourceArn`, or the first table
/// of a batch or transaction.
fn dynamodb_resource(input: &Value, region: &str, account: &str) -> Option<String> {
    let table = |name: &str| {
        if name.starts_with("arn:") {
            name.to_string()
        } else {
            format!(
                "arn:{partition}:dynamodb:{region}:{account}:table/{name}",
                partition = stratus_core::partition(region)
            )
        }
    };
    if let Some(t) = s(input, "TableName") {
        let arn = table(t);
        return Some(match s(input, "IndexName") {
            Some(i) => format!("{arn}/index/{i}"),
            None => arn,
        });
    }
    if let Some(a) = s(input, "ResourceArn").or_else(|| s(input, "StreamArn")) {
        return Some(a.to_string());
    }
    if let Some(first) = input.get("RequestItems").and_then(Value::as_object).and_then(|m| m.keys().next()) {
        return Some(table(first));
    }
    let items = input.get("TransactItems").and_then(Value::as_array)?;
    items.iter().find_map(|a| a.as_object()?.values().find_map(|b| s(b, "TableName")).map(table))
}

/// The function a Lambda request names (`FunctionName` as a name, partial or full ARN, with
/// its `Qualifier`).
fn function_arn(input: &Value, ctx: &RequestContext) -> Option<String> {
    let (region, account) = (ctx.region.as_str(), ctx.account.as_str());
    s(input, "FunctionName").map(|f| {
        if f.starts_with("arn:") {
            f.to_string()
        } else if let Some((acct, rest)) = f.split_once(":function:") {
            format!(
                "arn:{partition}:lambda:{region}:{acct}:function:{rest}",
                partition = stratus_core::partition(region)
            )
        } else {
            let q = s(input, "Qualifier").map(|q| format!(":{q}")).unwrap_or_default();
            format!(
                "arn:{partition}:lambda:{region}:{account}:function:{f}{q}",
                partition = stratus_core::partition(region)
            )
        }
    })
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
        ("lambda", "CreateEventSourceMapping" | "UpdateEventSourceMapping") => {
            if let Some(arn) = function_arn(input, ctx) {
                c.insert("lambda:FunctionArn", arn);
            }
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
    fn api_gateway_resources_are_request_paths_without_v2() {
        let mut c = ctx();
        c.path = "/restapis/abc/resources".into();
        assert_eq!(
            resource("apigateway", "GetResources", &json!({}), &c),
            "arn:aws:apigateway:eu-west-1::/restapis/abc/resources"
        );
        c.path = "/v2/apis/abc/routes".into();
        assert_eq!(
            resource("apigateway", "CreateRoute", &json!({}), &c),
            "arn:aws:apigateway:eu-west-1::/apis/abc/routes"
        );
        assert_eq!(action("apigateway", "CreateRoute"), "apigateway:POST");
    }

    #[test]
    fn actions_follow_operations_with_the_documented_exceptions() {
        assert_eq!(action("sqs", "SendMessage"), "sqs:SendMessage");
        assert_eq!(action("sqs", "SendMessageBatch"), "sqs:SendMessage");
        assert_eq!(action("sqs", "DeleteMessageBatch"), "sqs:DeleteMessage");
        assert_eq!(action("sns", "PublishBatch"), "sns:Publish");
        assert_eq!(action("lambda", "Invoke"), "lambda:InvokeFunction");
        assert_eq!(action("iam", "CreateRole"), "iam:CreateRole");
        assert_eq!(action("s3", "GetObject"), "s3:GetObject");
        assert_eq!(action("s3", "HeadObject"), "s3:GetObject");
        assert_eq!(action("s3", "ListObjectsV2"), "s3:ListBucket");
        assert_eq!(action("s3", "UploadPart"), "s3:PutObject");
        assert_eq!(action("s3", "ListBuckets"), "s3:ListAllMyBuckets");
        // From the reference: the operation's documentation names another action.
        assert_eq!(action("s3", "GetBucketEncryption"), "s3:GetEncryptionConfiguration");
        assert_eq!(action("s3", "PutPublicAccessBlock"), "s3:PutBucketPublicAccessBlock");
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
        // The reference lists no resource type for these: they act on `*`.
        assert_eq!(r("sns", "Unsubscribe", json!({"SubscriptionArn": "arn:aws:sns:eu-west-1:1:t:abc"})), "*");
        assert_eq!(r("lambda", "CreateEventSourceMapping", json!({"FunctionName": "f"})), "*");
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

    /// The operations of a vendored model, each with its input members.
    fn operations(service: &str) -> Vec<(String, Vec<String>)> {
        let path = format!("{}/../../models/{service}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("model");
        let model: Value = serde_json::from_str(&text).expect("json");
        let members = |op: &Value| -> Vec<String> {
            let shape = op["input"]["shape"].as_str().unwrap_or_default();
            model["shapes"][shape]["members"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
        };
        model["operations"].as_object().expect("operations").iter().map(|(k, op)| (k.clone(), members(op))).collect()
    }

    /// Operations the reference names no action for (AWS authorizes them otherwise or not at all).
    const UNLISTED: &[(&str, &str)] = &[
        ("logs", "GetLogObject"),
        ("iam", "UpdateDelegationRequest"),
        // S3 Express and Object Lambda operations, authorized under other prefixes.
        ("s3", "CreateSession"),
        ("s3", "ListDirectoryBuckets"),
        ("s3", "RenameObject"),
        ("s3", "WriteGetObjectResponse"),
        // PartiQL statements are authorized by their kind (dynamodb:PartiQLSelect, …).
        ("dynamodb", "ExecuteStatement"),
        ("dynamodb", "BatchExecuteStatement"),
        ("dynamodb", "ExecuteTransaction"),
    ];

    #[test]
    fn every_served_operation_maps_to_an_action_of_the_reference() {
        for service in ["sqs", "sns", "lambda", "logs", "iam", "sts", "s3", "dynamodb", "kinesis"] {
            for (op, _) in operations(service) {
                let action = action(service, &op);
                let name = action.split_once(':').map(|(_, n)| n).unwrap_or_default();
                let known = crate::reference::action(service, name).is_some();
                assert!(known || UNLISTED.contains(&(service, op.as_str())), "{service} {op} → {action}");
            }
        }
    }

    /// Operations Stratus does not serve (they answer AWS's error before any resource matters).
    const UNSERVED: &[(&str, &str)] = &[("iam", "AddRoleToInstanceProfile"), ("iam", "RemoveRoleFromInstanceProfile")];

    /// An input with the members of `members` that name resources, the way the services do.
    fn sample(members: &[String]) -> Value {
        let values = json!({
            "QueueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/q", "QueueName": "q",
            "TopicArn": "arn:aws:sns:eu-west-1:111122223333:t", "Name": "t",
            "SubscriptionArn": "arn:aws:sns:eu-west-1:111122223333:t:5f3c",
            "FunctionName": "f", "Qualifier": "1", "UUID": "a1b2", "logGroupName": "/g", "logStreamName": "s", "UserName": "u", "RoleName": "r", "GroupName": "g",
            "PolicyArn": "arn:aws:iam::111122223333:policy/p", "PolicyName": "p",
            "RoleArn": "arn:aws:iam::111122223333:role/r", "TableName": "t",
            "StreamName": "s", "StreamARN": "arn:aws:kinesis:eu-west-1:111122223333:stream/s",
            "ConsumerARN": "arn:aws:kinesis:eu-west-1:111122223333:stream/s/consumer/c:1700000000",
        });
        let picked = members.iter().filter_map(|m| values.get(m).map(|v| (m.clone(), v.clone())));
        Value::Object(picked.collect())
    }

    #[test]
    fn resources_have_the_arn_format_of_their_actions_resource_types() {
        for service in ["sqs", "sns", "lambda", "logs", "iam", "sts", "dynamodb", "kinesis"] {
            let formats = &crate::reference::service(service).expect("service").resources;
            for (op, members) in operations(service) {
                let action = action(service, &op);
                let name = action.split_once(':').map(|(_, n)| n).unwrap_or_default();
                let Some(a) = crate::reference::action(service, name) else { continue };
                let arn = resource(service, &op, &sample(&members), &ctx());
                if arn == "*" {
                    continue;
                }
                let fits = a
                    .resources
                    .iter()
                    .any(|r| formats.get(&r.kind).is_some_and(|f| crate::reference::arn_matches(f, &arn)));
                // Some actions name none of their resource types (account-wide ones), and a
                // request may name a resource of another type than the action's.
                let unserved = UNSERVED.contains(&(service, op.as_str()));
                assert!(
                    fits || a.resources.is_empty() || unserved,
                    "{service} {op}: {arn} is none of {:?}",
                    a.resources
                );
            }
        }
    }

    #[test]
    fn handing_roles_over_needs_pass_role_on_each() {
        let role = "arn:aws:iam::111122223333:role/r";
        let create = json!({"FunctionName": "f", "Role": role});
        assert_eq!(dependent("lambda", "CreateFunction", &create), vec![("iam:PassRole", role.to_string())]);
        assert_eq!(dependent("lambda", "UpdateFunctionConfiguration", &create).len(), 1);
        let topic = json!({"Name": "t", "Attributes": {"LambdaSuccessFeedbackRoleArn": role}});
        assert_eq!(dependent("sns", "CreateTopic", &topic), vec![("iam:PassRole", role.to_string())]);
        assert!(dependent("sqs", "CreateQueue", &json!({"QueueName": role})).is_empty());
    }
}
