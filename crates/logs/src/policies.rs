//! Policies CloudWatch Logs keeps and answers back: a log group's data protection policy
//! (Put/Get/DeleteDataProtectionPolicy) and account policies (Put/Describe/DeleteAccountPolicy:
//! data protection, subscription filter, field index, transformer and metric extraction
//! policies). Masking, indexing and the rest of what they describe are not applied; what a
//! client configures comes back as it was put.
//!
//! - `logs/dp/{account}/{region}/{group}` → data protection policy (JSON)
//! - `logs/ap/{account}/{region}/{type}/{name}` → account policy (JSON)

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::Inner;
use crate::errors::invalid_parameter;
use crate::group::GroupRef;

const POLICY_TYPES: &[&str] = &[
    "DATA_PROTECTION_POLICY",
    "SUBSCRIPTION_FILTER_POLICY",
    "FIELD_INDEX_POLICY",
    "TRANSFORMER_POLICY",
    "METRIC_EXTRACTION_POLICY",
];

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn document(input: &Value) -> Result<String, AwsError> {
    let d = s(input, "policyDocument");
    if !serde_json::from_str::<Value>(d).is_ok_and(|v| v.is_object()) {
        return Err(invalid_parameter("The policy document is not valid JSON."));
    }
    Ok(d.to_string())
}

fn group_of(ctx: &RequestContext, input: &Value) -> Result<GroupRef, AwsError> {
    GroupRef::resolve(ctx, None, Some(s(input, "logGroupIdentifier")))
}

fn dp_key(g: &GroupRef) -> Vec<u8> {
    format!("logs/dp/{}/{}/{}", g.account, g.region, g.name).into_bytes()
}

pub async fn put_data_protection(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let g = group_of(ctx, &input)?;
    let doc = document(&input)?;
    let now = i.now();
    let out =
        json!({"logGroupIdentifier": s(&input, "logGroupIdentifier"), "policyDocument": doc, "lastUpdatedTime": now});
    let stored = out.to_string();
    i.store
        .write(move |t| {
            g.load(t)?;
            t.put(&dp_key(&g), stored.as_bytes())?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(out)
}

pub async fn get_data_protection(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let g = group_of(ctx, &input)?;
    let identifier = s(&input, "logGroupIdentifier").to_string();
    let stored = i
        .read(move |r| {
            g.load(r)?;
            Ok(r.get(&dp_key(&g))?)
        })
        .await?;
    match stored.and_then(|b| serde_json::from_slice::<Value>(&b).ok()) {
        Some(mut v) => {
            v["logGroupIdentifier"] = json!(identifier);
            Ok(v)
        }
        None => Ok(json!({"logGroupIdentifier": identifier})),
    }
}

pub async fn delete_data_protection(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let g = group_of(ctx, &input)?;
    i.store
        .write(move |t| {
            g.load(t)?;
            if t.get(&dp_key(&g))?.is_none() {
                return Err(AwsError::new(
                    "ResourceNotFoundException",
                    "The specified data protection policy does not exist.",
                ));
            }
            t.delete(&dp_key(&g))?;
            Ok(())
        })
        .await?;
    Ok(Value::Null)
}

fn policy_type(input: &Value) -> Result<String, AwsError> {
    let t = s(input, "policyType");
    if !POLICY_TYPES.contains(&t) {
        return Err(invalid_parameter(format!("Invalid policyType {t}")));
    }
    Ok(t.to_string())
}

fn ap_prefix(ctx: &RequestContext) -> String {
    format!("logs/ap/{}/{}/", ctx.account, ctx.region)
}

pub async fn put_account_policy(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "policyName").to_string();
    if name.is_empty() || name.len() > 256 {
        return Err(invalid_parameter("policyName must be 1 to 256 characters."));
    }
    let kind = policy_type(&input)?;
    let doc = document(&input)?;
    let scope = match s(&input, "scope") {
        "" | "ALL" => "ALL",
        other => return Err(invalid_parameter(format!("Invalid scope {other}"))),
    };
    let mut policy = json!({
        "policyName": name, "policyDocument": doc, "lastUpdatedTime": i.now(), "policyType": kind,
        "scope": scope, "accountId": ctx.account,
    });
    if let Some(c) = input.get("selectionCriteria").and_then(Value::as_str) {
        policy["selectionCriteria"] = json!(c);
    }
    let key = format!("{}{kind}/{name}", ap_prefix(ctx)).into_bytes();
    let stored = policy.to_string();
    i.store.write(move |t| t.put(&key, stored.as_bytes())).await?;
    Ok(json!({"accountPolicy": policy}))
}

pub async fn describe_account_policies(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let kind = policy_type(&input)?;
    let name = s(&input, "policyName").to_string();
    let prefix = format!("{}{kind}/", ap_prefix(ctx)).into_bytes();
    let rows = i.read(move |r| Ok(scan_prefix(r, &prefix, usize::MAX)?)).await?;
    let policies: Vec<Value> = rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<Value>(v).ok())
        .filter(|p| name.is_empty() || p["policyName"] == json!(name))
        .collect();
    Ok(json!({"accountPolicies": policies}))
}

pub async fn delete_account_policy(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let kind = policy_type(&input)?;
    let key = format!("{}{kind}/{}", ap_prefix(ctx), s(&input, "policyName")).into_bytes();
    i.store
        .write(move |t| {
            if t.get(&key)?.is_none() {
                return Err(AwsError::new("ResourceNotFoundException", "Policy does not exist."));
            }
            t.delete(&key)?;
            Ok(())
        })
        .await?;
    Ok(Value::Null)
}
