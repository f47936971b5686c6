//! A topic's access policy by statement (AddPermission, RemovePermission: statements named by
//! their label, on the topic's `Policy` attribute, which IAM enforces), and its data protection
//! policy (PutDataProtectionPolicy, GetDataProtectionPolicy: kept and answered back).

use serde_json::{Value, json};
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::{invalid_parameter, invalid_parameter_reason};
use crate::topic::{default_policy, load_topic};
use crate::topics::save;

/// The actions AddPermission may grant (without the `SNS:` prefix).
const ACTIONS: &[&str] = &[
    "GetTopicAttributes",
    "SetTopicAttributes",
    "AddPermission",
    "RemovePermission",
    "DeleteTopic",
    "Subscribe",
    "ListSubscriptionsByTopic",
    "Publish",
    "Receive",
];

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn list(v: &Value, k: &str) -> Vec<String> {
    match v.get(k) {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(x)) => vec![x.clone()],
        _ => Vec::new(),
    }
}

/// One value, or a list of several (as AWS writes policy members).
fn one_or_many(items: Vec<String>) -> Value {
    if items.len() == 1 { json!(items[0]) } else { json!(items) }
}

fn valid_label(label: &str) -> bool {
    !label.is_empty() && label.len() <= 100 && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(crate) async fn add(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "TopicArn").to_string();
    let label = s(&input, "Label").to_string();
    if !valid_label(&label) {
        return Err(invalid_parameter_reason("Label", "Label must be 1-100 letters, digits, '-' or '_'"));
    }
    let accounts = list(&input, "AWSAccountId");
    let actions = list(&input, "ActionName");
    if accounts.is_empty() {
        return Err(invalid_parameter("AWSAccountId"));
    }
    if actions.is_empty() {
        return Err(invalid_parameter("ActionName"));
    }
    for a in &actions {
        if !ACTIONS.contains(&a.as_str()) {
            return Err(invalid_parameter_reason(
                "ActionName",
                format!("Policy statement action out of service scope: {a}"),
            ));
        }
    }
    i.store
        .write(move |txn| {
            let mut t = load_topic(txn, &arn)?;
            let current = t.attributes.get("Policy").cloned().unwrap_or_else(|| default_policy(&arn, &t.account));
            let mut policy: Value = serde_json::from_str(&current).unwrap_or_else(|_| json!({"Version": "2008-10-17"}));
            let statements = policy
                .as_object_mut()
                .map(|o| o.entry("Statement").or_insert_with(|| json!([])))
                .and_then(Value::as_array_mut)
                .ok_or_else(|| invalid_parameter("Policy"))?;
            if statements.iter().any(|st| s(st, "Sid") == label) {
                return Err(invalid_parameter_reason("Label", "Already exists."));
            }
            let principals: Vec<String> = accounts
                .iter()
                .map(|a| if a.starts_with("arn:") || a == "*" { a.clone() } else { format!("arn:aws:iam::{a}:root") })
                .collect();
            statements.push(json!({
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": one_or_many(principals)},
                "Action": one_or_many(actions.iter().map(|a| format!("SNS:{a}")).collect()),
                "Resource": arn,
            }));
            t.attributes.insert("Policy".into(), policy.to_string());
            save(txn, &t)
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn remove(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "TopicArn").to_string();
    let label = s(&input, "Label").to_string();
    i.store
        .write(move |txn| {
            let mut t = load_topic(txn, &arn)?;
            let current = t.attributes.get("Policy").cloned().unwrap_or_else(|| default_policy(&arn, &t.account));
            let mut policy: Value = serde_json::from_str(&current).unwrap_or_else(|_| json!({}));
            let Some(statements) = policy.get_mut("Statement").and_then(Value::as_array_mut) else {
                return Err(invalid_parameter_reason("Label", "can't find label."));
            };
            let before = statements.len();
            statements.retain(|st| s(st, "Sid") != label);
            if statements.len() == before {
                return Err(invalid_parameter_reason("Label", "can't find label."));
            }
            t.attributes.insert("Policy".into(), policy.to_string());
            save(txn, &t)
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn put_data_protection(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "ResourceArn").to_string();
    let doc = s(&input, "DataProtectionPolicy").to_string();
    if !serde_json::from_str::<Value>(&doc).is_ok_and(|v| v.is_object()) {
        return Err(invalid_parameter_reason("DataProtectionPolicy", "Failed to parse the data protection policy"));
    }
    i.store
        .write(move |txn| {
            let mut t = load_topic(txn, &arn)?;
            t.attributes.insert("DataProtectionPolicy".into(), doc);
            save(txn, &t)
        })
        .await?;
    Ok(Value::Null)
}

pub(crate) async fn get_data_protection(i: &Inner, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "ResourceArn").to_string();
    let t = i.store.read(move |r| load_topic(r, &arn)).await?;
    let doc = t.attributes.get("DataProtectionPolicy").cloned().unwrap_or_default();
    Ok(json!({ "DataProtectionPolicy": doc }))
}
