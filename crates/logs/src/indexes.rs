//! Field index policies (PutIndexPolicy, DescribeIndexPolicies, DeleteIndexPolicy) and the field
//! indexes found in a group's events (DescribeFieldIndexes). A policy names JSON fields; a
//! field is indexed once events carrying it were ingested, and DescribeFieldIndexes reports the
//! first and last event times it occurs at (found by reading the group's JSON events — at most
//! the newest 100,000 — as this server's queries read every event anyway).
//!
//! - `logs/ix/{account}/{region}/{group}` → index policy (JSON, as answered)

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::{group_not_found, invalid_parameter};
use crate::group::{GroupRef, load_group};
use crate::keys;

/// Events DescribeFieldIndexes reads per group, at most.
const SCAN_LIMIT: usize = 100_000;

fn key(g: &GroupRef) -> Vec<u8> {
    format!("logs/ix/{}/{}/{}", g.account, g.region, g.name).into_bytes()
}

fn group_of(ctx: &RequestContext, id: &str) -> Result<GroupRef, AwsError> {
    if id.is_empty() {
        return Err(invalid_parameter("logGroupIdentifier is required."));
    }
    if id.starts_with("arn:") {
        GroupRef::from_arn(id).ok_or_else(group_not_found)
    } else {
        Ok(GroupRef::named(ctx, id))
    }
}

fn identifiers(input: &Value) -> Result<Vec<String>, AwsError> {
    let ids: Vec<String> = input
        .get("logGroupIdentifiers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(invalid_parameter("logGroupIdentifiers must name a log group."));
    }
    Ok(ids)
}

/// The fields a policy document indexes, with their type: `{"Fields": ["a"]}` (field indexes)
/// and `{"FieldsV2": {"b": {"type": "FIELD_INDEX" | "FACET"}}}`; at least one.
fn fields_of(document: &str) -> Result<Vec<(String, String)>, AwsError> {
    let v: Value = serde_json::from_str(document)
        .map_err(|e| invalid_parameter(format!("The index policy document is not valid JSON: {e}")))?;
    let mut out: Vec<(String, String)> = Vec::new();
    match v.get("Fields") {
        None => {}
        Some(Value::Array(fields)) => {
            for f in fields {
                match f.as_str() {
                    Some(name) if !name.is_empty() => out.push((name.to_string(), "FIELD_INDEX".into())),
                    _ => return Err(invalid_parameter("Fields of an index policy are field names (strings).")),
                }
            }
        }
        Some(_) => return Err(invalid_parameter("Fields of an index policy is a list of field names.")),
    }
    match v.get("FieldsV2") {
        None => {}
        Some(Value::Object(fields)) => {
            for (name, spec) in fields {
                let kind = spec.get("type").and_then(Value::as_str).unwrap_or("FIELD_INDEX");
                if !matches!(kind, "FIELD_INDEX" | "FACET") || name.is_empty() {
                    return Err(invalid_parameter(format!(
                        "Invalid FieldsV2 entry {name}: type is FIELD_INDEX or FACET."
                    )));
                }
                out.retain(|(n, _)| n != name);
                out.push((name.clone(), kind.to_string()));
            }
        }
        Some(_) => return Err(invalid_parameter("FieldsV2 of an index policy maps field names to their type.")),
    }
    if out.is_empty() {
        return Err(invalid_parameter("The index policy document must include at least one field index."));
    }
    if out.len() > 20 {
        return Err(AwsError::new("LimitExceededException", "An index policy can index at most 20 fields."));
    }
    Ok(out)
}

pub async fn put(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let identifier = input.get("logGroupIdentifier").and_then(Value::as_str).unwrap_or_default().to_string();
    let g = group_of(ctx, &identifier)?;
    let document = input.get("policyDocument").and_then(Value::as_str).unwrap_or_default().to_string();
    fields_of(&document)?;
    let now = i.now();
    let policy = json!({
        "logGroupIdentifier": format!("arn:{partition}:logs:{}:{}:log-group:{}", g.region, g.account, g.name, partition = stratus_core::partition(&g.region)),
        "lastUpdateTime": now,
        "policyDocument": document,
        "source": "LOG_GROUP",
    });
    let stored = policy.clone();
    i.store
        .write(move |t| {
            load_group(t, &g.account, &g.region, &g.name)?.ok_or_else(group_not_found)?;
            t.put(&key(&g), stored.to_string().as_bytes())?;
            Ok::<_, AwsError>(())
        })
        .await?;
    Ok(json!({ "indexPolicy": policy }))
}

pub async fn describe(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ids = identifiers(&input)?;
    if ids.len() > 1 {
        return Err(invalid_parameter("DescribeIndexPolicies takes exactly one log group identifier."));
    }
    let groups: Vec<GroupRef> = ids.iter().map(|id| group_of(ctx, id)).collect::<Result<_, _>>()?;
    let policies = i
        .read(move |r| {
            let mut out = Vec::new();
            for g in &groups {
                load_group(r, &g.account, &g.region, &g.name)?.ok_or_else(group_not_found)?;
                if let Some(b) = r.get(&key(g))?
                    && let Ok(v) = serde_json::from_slice::<Value>(&b)
                {
                    out.push(v);
                }
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    Ok(json!({ "indexPolicies": policies }))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let identifier = input.get("logGroupIdentifier").and_then(Value::as_str).unwrap_or_default().to_string();
    let g = group_of(ctx, &identifier)?;
    i.store
        .write(move |t| {
            load_group(t, &g.account, &g.region, &g.name)?.ok_or_else(group_not_found)?;
            if t.get(&key(&g))?.is_none() {
                return Err(AwsError::new("ResourceNotFoundException", "The log group has no index policy."));
            }
            t.delete(&key(&g))?;
            Ok(Value::Null)
        })
        .await
}

/// Where a field occurs in a JSON message (top-level, or a dotted path into objects).
fn has_field(v: &Value, field: &str) -> bool {
    if v.get(field).is_some() {
        return true;
    }
    let mut cur = v;
    for part in field.split('.') {
        match cur.get(part) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    true
}

pub async fn field_indexes(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let groups: Vec<GroupRef> = identifiers(&input)?.iter().map(|id| group_of(ctx, id)).collect::<Result<_, _>>()?;
    let now = i.now();
    let found = i
        .read(move |r| {
            let mut out = Vec::new();
            for g in &groups {
                let rec = load_group(r, &g.account, &g.region, &g.name)?.ok_or_else(group_not_found)?;
                let Some(b) = r.get(&key(g))? else { continue };
                let policy: Value = serde_json::from_slice(&b).unwrap_or_default();
                let fields = fields_of(policy["policyDocument"].as_str().unwrap_or_default()).unwrap_or_default();
                // (first, last) event time per field.
                let mut seen: Vec<Option<(u64, u64)>> = vec![None; fields.len()];
                let rows = stratus_storage::scan_prefix(r, &keys::group_events(rec.id), SCAN_LIMIT)?;
                for (k, v) in rows {
                    let (Some((ts, _)), Some((_, message))) = (keys::parse_event(&k), keys::parse_event_value(&v))
                    else {
                        continue;
                    };
                    if !message.trim_start().starts_with('{') {
                        continue;
                    }
                    let Ok(json) = serde_json::from_str::<Value>(&message) else { continue };
                    for (n, (f, _)) in fields.iter().enumerate() {
                        if has_field(&json, f) {
                            let e = seen[n].get_or_insert((ts, ts));
                            e.0 = e.0.min(ts);
                            e.1 = e.1.max(ts);
                        }
                    }
                }
                for (n, (f, kind)) in fields.iter().enumerate() {
                    if let Some((first, last)) = seen[n] {
                        out.push(json!({
                            "logGroupIdentifier": rec.group_arn(),
                            "fieldIndexName": f,
                            "lastScanTime": now,
                            "firstEventTime": first,
                            "lastEventTime": last,
                            "type": kind,
                        }));
                    }
                }
            }
            Ok::<_, AwsError>(out)
        })
        .await?;
    Ok(json!({ "fieldIndexes": found }))
}
