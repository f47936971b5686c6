//! Log transformers: a group's list of processors (PutTransformer, GetTransformer,
//! DeleteTransformer) and TestTransformer, which runs a list over sample messages. Processors are
//! evaluated by `process.rs` (parsers first, then the JSON and string mutators); grok patterns
//! by `grok.rs`. Transformers are kept and tested; events are stored as they were sent (the
//! transformed copy AWS keeps for queries is not made here).
//!
//! - `logs/tf/{account}/{region}/{group}` → transformer (JSON, as answered)

mod grok;
mod process;

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::{group_not_found, invalid_parameter};
use crate::group::{GroupRef, load_group};

pub use process::PARSERS;

fn key(g: &GroupRef) -> Vec<u8> {
    format!("logs/tf/{}/{}/{}", g.account, g.region, g.name).into_bytes()
}

fn group_of(ctx: &RequestContext, input: &Value) -> Result<GroupRef, AwsError> {
    let id = input.get("logGroupIdentifier").and_then(Value::as_str).unwrap_or_default();
    if id.is_empty() {
        return Err(invalid_parameter("logGroupIdentifier is required."));
    }
    if id.starts_with("arn:") {
        GroupRef::from_arn(id).ok_or_else(group_not_found)
    } else {
        Ok(GroupRef::named(ctx, id))
    }
}

/// Checks a transformer's processors: 1 to 20, each naming one processor, a parser first, and
/// the arguments each processor needs.
fn check_config(config: &Value) -> Result<&Vec<Value>, AwsError> {
    let list = config.as_array().ok_or_else(|| invalid_parameter("transformerConfig is a list of processors."))?;
    if list.is_empty() || list.len() > 20 {
        return Err(invalid_parameter("A transformer has between 1 and 20 processors."));
    }
    let mut count = std::collections::HashMap::new();
    for (n, p) in list.iter().enumerate() {
        let (name, args) = process::single(p)?;
        *count.entry(name).or_insert(0usize) += 1;
        if n == 0 && !PARSERS.contains(&name) {
            return Err(invalid_parameter(format!(
                "The first processor of a transformer must be a parser, not {name}."
            )));
        }
        if n > 0 && process::VENDOR_PARSERS.contains(&name) {
            return Err(invalid_parameter(format!("{name} can only be the first processor of a transformer.")));
        }
        process::check(name, args)?;
    }
    // As AWS limits them: one grok, one addKeys, one copyValue, five parsers.
    for once in ["grok", "addKeys", "copyValue"] {
        if count.get(once).copied().unwrap_or(0) > 1 {
            return Err(invalid_parameter(format!("A transformer can have at most one {once} processor.")));
        }
    }
    let parsers: usize = PARSERS.iter().map(|p| count.get(p).copied().unwrap_or(0)).sum();
    if parsers > 5 {
        return Err(invalid_parameter("A transformer can have at most five parsers."));
    }
    Ok(list)
}

pub async fn put(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let g = group_of(ctx, &input)?;
    let config = input.get("transformerConfig").cloned().unwrap_or(Value::Null);
    check_config(&config)?;
    let now = i.now();
    i.store
        .write(move |t| {
            let rec = load_group(t, &g.account, &g.region, &g.name)?.ok_or_else(group_not_found)?;
            if rec.class != "STANDARD" {
                return Err(AwsError::new(
                    "InvalidOperationException",
                    "Transformers can only be created for log groups in the Standard log class.",
                ));
            }
            let created = t
                .get(&key(&g))?
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["creationTime"].as_u64())
                .unwrap_or(now);
            let stored = json!({
                "logGroupIdentifier": rec.group_arn(),
                "creationTime": created,
                "lastModifiedTime": now,
                "transformerConfig": config,
            });
            t.put(&key(&g), stored.to_string().as_bytes())?;
            Ok(Value::Null)
        })
        .await
}

fn no_transformer() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified log group has no transformer.")
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let g = group_of(ctx, &input)?;
    i.read(move |r| {
        load_group(r, &g.account, &g.region, &g.name)?.ok_or_else(group_not_found)?;
        let b = r.get(&key(&g))?.ok_or_else(no_transformer)?;
        serde_json::from_slice::<Value>(&b).map_err(|e| AwsError::internal(e.to_string()))
    })
    .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let g = group_of(ctx, &input)?;
    i.store
        .write(move |t| {
            load_group(t, &g.account, &g.region, &g.name)?.ok_or_else(group_not_found)?;
            if t.get(&key(&g))?.is_none() {
                return Err(no_transformer());
            }
            t.delete(&key(&g))?;
            Ok(Value::Null)
        })
        .await
}

/// TestTransformer: each message through the processors; a message the processors cannot
/// transform comes back without `transformedEventMessage`.
pub async fn test(input: Value) -> Result<Value, AwsError> {
    let config = input.get("transformerConfig").cloned().unwrap_or(Value::Null);
    let processors = check_config(&config)?;
    let messages: Vec<String> = input
        .get("logEventMessages")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if messages.is_empty() || messages.len() > 100 {
        return Err(invalid_parameter("logEventMessages holds between 1 and 100 messages."));
    }
    let mut out = Vec::new();
    for (n, message) in messages.iter().enumerate() {
        let mut entry = json!({"eventNumber": n + 1, "eventMessage": message});
        if let Some(event) = process::run(processors, message)? {
            entry["transformedEventMessage"] = json!(event.to_string());
        }
        out.push(entry);
    }
    Ok(json!({ "transformedLogs": out }))
}
