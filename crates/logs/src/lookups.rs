//! Lookup tables (Create/Get/Describe/Update/DeleteLookupTable): CSV tables kept by name, their
//! first line naming the fields, for enriching query results.
//!
//! - `logs/lt/{account}/{region}/{name}` → table (JSON: name, arn, description, body, times,
//!   KMS key, tags)

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::invalid_parameter;

/// The largest table body (10 MB).
const MAX_BODY: usize = 10 * 1024 * 1024;

fn key(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("logs/lt/{account}/{region}/{name}").into_bytes()
}

fn not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified lookup table does not exist.")
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The name a lookup table ARN (`arn:aws:logs:{region}:{account}:lookup-table:{name}`) names,
/// as a store key of the caller's account and region.
fn key_of(ctx: &RequestContext, arn: &str) -> Result<Vec<u8>, AwsError> {
    let a = stratus_core::Arn::parse(arn).filter(|a| a.service == "logs").ok_or_else(not_found)?;
    let name = a.resource.strip_prefix("lookup-table:").ok_or_else(not_found)?;
    if a.account != ctx.account || a.region != ctx.region {
        return Err(not_found());
    }
    Ok(key(a.account, a.region, name))
}

/// The field names (the header line) and the number of records of a CSV body.
fn parse_body(body: &str) -> Result<(Vec<String>, usize), AwsError> {
    if body.len() > MAX_BODY {
        return Err(invalid_parameter("A lookup table's body can be at most 10 MB."));
    }
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or_else(|| invalid_parameter("A lookup table's body starts with a header line."))?;
    let fields: Vec<String> = header.split(',').map(|f| f.trim().trim_matches('"').to_string()).collect();
    if fields.iter().any(String::is_empty) {
        return Err(invalid_parameter("Every column of a lookup table's header line needs a name."));
    }
    Ok((fields, lines.count()))
}

/// The table as DescribeLookupTables lists it (no body).
fn summary(t: &Value) -> Value {
    let body = t["tableBody"].as_str().unwrap_or_default();
    let (fields, records) = parse_body(body).unwrap_or_default();
    let mut out = json!({
        "lookupTableArn": t["lookupTableArn"],
        "lookupTableName": t["lookupTableName"],
        "tableFields": fields,
        "recordsCount": records,
        "sizeBytes": body.len(),
        "lastUpdatedTime": t["lastUpdatedTime"],
    });
    for k in ["description", "kmsKeyId"] {
        if let Some(v) = t.get(k).filter(|v| !v.is_null()) {
            out[k] = v.clone();
        }
    }
    out
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "lookupTableName").to_string();
    if name.is_empty() || name.len() > 256 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid_parameter(format!("Invalid lookupTableName {name}")));
    }
    let body = s(&input, "tableBody").to_string();
    parse_body(&body)?;
    let now = i.now();
    let arn = format!(
        "arn:{partition}:logs:{}:{}:lookup-table:{name}",
        ctx.region,
        ctx.account,
        partition = stratus_core::partition(&ctx.region)
    );
    let mut table = json!({
        "lookupTableArn": arn,
        "lookupTableName": name,
        "tableBody": body,
        "createdAt": now,
        "lastUpdatedTime": now,
        "tags": input.get("tags").cloned().unwrap_or_else(|| json!({})),
    });
    for k in ["description", "kmsKeyId"] {
        if let Some(v) = input.get(k) {
            table[k] = v.clone();
        }
    }
    let k = key(&ctx.account, &ctx.region, &name);
    crate::records::insert_new(i, k, table, move || {
        AwsError::new("ResourceAlreadyExistsException", format!("A lookup table named {name} already exists."))
    })
    .await?;
    Ok(json!({ "lookupTableArn": arn, "createdAt": now }))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key_of(ctx, s(&input, "lookupTableArn"))?;
    let t = i.read(move |r| Ok(r.get(&k)?)).await?.ok_or_else(not_found)?;
    let t: Value = serde_json::from_slice(&t).map_err(|e| AwsError::internal(e.to_string()))?;
    let body = t["tableBody"].as_str().unwrap_or_default();
    let mut out = json!({
        "lookupTableArn": t["lookupTableArn"],
        "lookupTableName": t["lookupTableName"],
        "tableBody": body,
        "sizeBytes": body.len(),
        "lastUpdatedTime": t["lastUpdatedTime"],
    });
    for k in ["description", "kmsKeyId"] {
        if let Some(v) = t.get(k).filter(|v| !v.is_null()) {
            out[k] = v.clone();
        }
    }
    Ok(out)
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = format!("logs/lt/{}/{}/{}", ctx.account, ctx.region, s(&input, "lookupTableNamePrefix")).into_bytes();
    let all: Vec<Value> = crate::records::list_all(i, prefix).await?.iter().map(summary).collect();
    let paging = crate::records::Paging { limit_member: "maxResults", default: 50, max: 100 };
    crate::records::page(&all, &input, &paging, "lookupTableName", "lookupTables")
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key_of(ctx, s(&input, "lookupTableArn"))?;
    if let Some(b) = input.get("tableBody").and_then(Value::as_str) {
        parse_body(b)?;
    }
    let now = i.now();
    i.store
        .write(move |t| {
            let mut table: Value = t.get(&k)?.and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(not_found)?;
            for field in ["tableBody", "description", "kmsKeyId"] {
                if let Some(v) = input.get(field) {
                    table[field] = v.clone();
                }
            }
            table["lastUpdatedTime"] = json!(now);
            t.put(&k, table.to_string().as_bytes())?;
            Ok(json!({ "lookupTableArn": table["lookupTableArn"], "lastUpdatedTime": now }))
        })
        .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key_of(ctx, s(&input, "lookupTableArn"))?;
    crate::records::delete_existing(i, k, not_found).await
}
