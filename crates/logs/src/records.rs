//! What the resources Logs keeps as JSON records under a key share: listing them a page at a
//! time (`nextToken` is the next item's id), creating one only if its key is free, and deleting
//! one that must exist.

use serde_json::{Value, json};
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::Inner;

/// How a listing pages: the input member holding the page size, its default and its maximum.
pub struct Paging {
    pub limit_member: &'static str,
    pub default: u64,
    pub max: u64,
}

/// `limit`, 50 at most (the Describe operations).
pub const DESCRIBE: Paging = Paging { limit_member: "limit", default: 50, max: 50 };

/// A page of `all` (in key order) after `nextToken`, answered as `list_field`; `id_field` names
/// an item for the next token.
pub fn page(
    all: &[Value],
    input: &Value,
    paging: &Paging,
    id_field: &str,
    list_field: &str,
) -> Result<Value, AwsError> {
    let limit =
        input.get(paging.limit_member).and_then(Value::as_u64).unwrap_or(paging.default).clamp(1, paging.max) as usize;
    let start = match input.get("nextToken").and_then(Value::as_str).unwrap_or_default() {
        "" => 0,
        t => all.iter().position(|d| d[id_field] == json!(t)).ok_or_else(crate::errors::invalid_token)?,
    };
    let items: Vec<&Value> = all.iter().skip(start).take(limit).collect();
    let mut out = json!({ list_field: items });
    if let Some(next) = all.get(start + limit) {
        out["nextToken"] = next[id_field].clone();
    }
    Ok(out)
}

/// Every record under `prefix`, in key order.
pub async fn list_all(i: &Inner, prefix: Vec<u8>) -> Result<Vec<Value>, AwsError> {
    let rows = i.read(move |r| Ok(scan_prefix(r, &prefix, usize::MAX)?)).await?;
    Ok(rows.iter().filter_map(|(_, v)| serde_json::from_slice(v).ok()).collect())
}

/// Stores `record` at `key` unless something is there already (`taken` is the error then).
pub async fn insert_new(
    i: &Inner,
    key: Vec<u8>,
    record: Value,
    taken: impl FnOnce() -> AwsError + Send + 'static,
) -> Result<(), AwsError> {
    i.store
        .write(move |t| {
            if t.get(&key)?.is_some() {
                return Err(taken());
            }
            t.put(&key, record.to_string().as_bytes())?;
            Ok(())
        })
        .await
}

/// Deletes the record at `key` (`missing` is the error when there is none).
pub async fn delete_existing(i: &Inner, key: Vec<u8>, missing: fn() -> AwsError) -> Result<Value, AwsError> {
    i.store
        .write(move |t| {
            if t.get(&key)?.is_none() {
                return Err(missing());
            }
            t.delete(&key)?;
            Ok(Value::Null)
        })
        .await
}
