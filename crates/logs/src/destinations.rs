//! Destinations: a named, shareable endpoint for subscription filters (PutDestination,
//! PutDestinationPolicy, DescribeDestinations, DeleteDestination), in front of a Kinesis stream.
//! A subscription filter names the destination's ARN — from another account too, when the
//! destination's access policy lets that account `logs:PutSubscriptionFilter` — and its
//! deliveries go to the destination's target stream.
//!
//! - `logs/d/{account}/{region}/{name}` → destination (JSON, the shape AWS answers)

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, scan_prefix};

use crate::Inner;
use crate::errors::invalid_parameter;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn key(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("logs/d/{account}/{region}/{name}").into_bytes()
}

fn not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified destination does not exist.")
}

/// The destination an ARN (`arn:aws:logs:{region}:{account}:destination:{name}`) names.
pub fn load_arn(r: &mut dyn ReadTxn, arn: &str) -> Result<Option<Value>, AwsError> {
    let Some(a) = stratus_core::Arn::parse(arn).filter(|a| a.service == "logs") else { return Ok(None) };
    let Some(name) = a.resource.strip_prefix("destination:") else { return Ok(None) };
    Ok(r.get(&key(a.account, a.region, name))?.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Whether the destination's access policy lets `account` subscribe to it (its own account
/// always may).
pub fn allows(destination: &Value, account: &str) -> bool {
    let arn = destination["arn"].as_str().unwrap_or_default();
    if stratus_core::Arn::parse(arn).is_some_and(|a| a.account == account) {
        return true;
    }
    let Ok(policy) = serde_json::from_str::<Value>(destination["accessPolicy"].as_str().unwrap_or("{}")) else {
        return false;
    };
    let as_list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    statements.iter().any(|st| {
        st["Effect"] == "Allow"
            && as_list(&st["Action"]).iter().any(|a| a == "logs:PutSubscriptionFilter" || a == "logs:*" || a == "*")
            && {
                let principals = match &st["Principal"] {
                    Value::String(p) => vec![p.clone()],
                    p => as_list(&p["AWS"]),
                };
                principals.iter().any(|p| p == "*" || p == account || p == &format!("arn:aws:iam::{account}:root"))
            }
    })
}

pub async fn put(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "destinationName").to_string();
    if name.is_empty() || name.len() > 512 || name.contains(':') || name.contains('*') {
        return Err(invalid_parameter("Invalid destinationName"));
    }
    let target = s(&input, "targetArn").to_string();
    if !stratus_core::Arn::parse(&target).is_some_and(|a| a.service == "kinesis" && a.resource.starts_with("stream/")) {
        return Err(invalid_parameter(format!(
            "Invalid targetArn {target}: this server's destinations deliver to Kinesis streams"
        )));
    }
    let role = s(&input, "roleArn").to_string();
    if role.is_empty() {
        return Err(invalid_parameter("roleArn is required"));
    }
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let now = i.now();
    let destination = i
        .store
        .write(move |t| {
            let k = key(&account, &region, &name);
            let mut d: Value = match t.get(&k)? {
                Some(b) => serde_json::from_slice(&b).unwrap_or_else(|_| json!({})),
                None => json!({
                    "destinationName": name,
                    "arn": format!("arn:{partition}:logs:{region}:{account}:destination:{name}", partition = stratus_core::partition(&region)),
                    "creationTime": now,
                }),
            };
            d["targetArn"] = json!(target);
            d["roleArn"] = json!(role);
            t.put(&k, d.to_string().as_bytes())?;
            Ok::<_, AwsError>(d)
        })
        .await?;
    Ok(json!({"destination": destination}))
}

pub async fn put_policy(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let policy = s(&input, "accessPolicy").to_string();
    if !serde_json::from_str::<Value>(&policy).is_ok_and(|p| p.is_object()) {
        return Err(invalid_parameter("The access policy is not valid JSON."));
    }
    let k = key(&ctx.account, &ctx.region, s(&input, "destinationName"));
    i.store
        .write(move |t| {
            let b = t.get(&k)?.ok_or_else(not_found)?;
            let mut d: Value = serde_json::from_slice(&b).map_err(|e| AwsError::internal(e.to_string()))?;
            d["accessPolicy"] = json!(policy);
            t.put(&k, d.to_string().as_bytes())?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix_name = s(&input, "DestinationNamePrefix").to_string();
    let prefix = format!("logs/d/{}/{}/", ctx.account, ctx.region).into_bytes();
    let rows = i.read(move |r| Ok(scan_prefix(r, &prefix, usize::MAX)?)).await?;
    let all: Vec<Value> = rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<Value>(v).ok())
        .filter(|d| d["destinationName"].as_str().is_some_and(|n| n.starts_with(&prefix_name)))
        .collect();
    let limit = input.get("limit").and_then(Value::as_u64).unwrap_or(50).clamp(1, 50) as usize;
    let start = match s(&input, "nextToken") {
        "" => 0,
        t => all.iter().position(|d| d["destinationName"] == json!(t)).ok_or_else(crate::errors::invalid_token)?,
    };
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let mut out = json!({"destinations": page});
    if let Some(next) = all.get(start + limit) {
        out["nextToken"] = next["destinationName"].clone();
    }
    Ok(out)
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key(&ctx.account, &ctx.region, s(&input, "destinationName"));
    i.store
        .write(move |t| {
            t.get(&k)?.ok_or_else(not_found)?;
            t.delete(&k)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(Value::Null)
}
