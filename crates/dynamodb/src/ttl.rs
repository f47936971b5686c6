//! Time to live: items whose TTL attribute (a number of epoch seconds) is in the past are
//! deleted by a sweep, within a minute here (AWS takes up to a few days). Their stream records
//! name DynamoDB as the one who deleted them (`userIdentity`). As on AWS, a value more than five
//! years in the past is not taken for an expiry time (it is likely in milliseconds or a
//! mistake), and an attribute that is not a number never expires its item.

use serde_json::json;
use stratus_proto::AwsError;
use stratus_storage::{prefix_end, scan_prefix};

use crate::items::{apply_as, decode};
use crate::number::Number;
use crate::table::TableRecord;
use crate::value::Value;
use crate::{Inner, keys};

/// How often the sweep runs.
pub const SWEEP_SECS: u64 = 20;
const FIVE_YEARS_SECS: u64 = 5 * 365 * 24 * 3600;
/// Items looked at per transaction.
const CHUNK: usize = 1000;

fn expired(v: Option<&Value>, now_s: u64) -> bool {
    let Some(Value::N(n)) = v else { return false };
    let now = Number::parse(&now_s.to_string()).unwrap_or_else(|_| Number::zero());
    let floor = Number::parse(&now_s.saturating_sub(FIVE_YEARS_SECS).to_string()).unwrap_or_else(|_| Number::zero());
    *n < now && *n >= floor
}

/// One sweep over every table with time to live on; returns the items deleted.
pub async fn sweep(i: &Inner) -> Result<usize, AwsError> {
    let tables: Vec<TableRecord> = i
        .read(|r| {
            scan_prefix(r, b"ddb/t/", usize::MAX)?
                .iter()
                .filter_map(|(_, v)| serde_json::from_slice::<TableRecord>(v).ok())
                .filter(|t| t.ttl.as_ref().is_some_and(|(_, on)| *on))
                .map(Ok)
                .collect()
        })
        .await?;
    let mut deleted = 0;
    for table in tables {
        let Some((attribute, _)) = table.ttl.clone() else { continue };
        let prefix = keys::items(table.id);
        let mut from = prefix.clone();
        loop {
            let now_ms = i.now();
            let (start, attr, table_key) =
                (from.clone(), attribute.clone(), keys::table(&table.account, &table.region, &table.name));
            let (next, n) = i
                .write_items(move |t| {
                    // The table may have gone or changed since it was listed.
                    let Some(bytes) = t.get(&table_key)? else { return Ok((None, 0)) };
                    let table: TableRecord =
                        serde_json::from_slice(&bytes).map_err(|e| AwsError::internal(e.to_string()))?;
                    let end = prefix_end(&keys::items(table.id));
                    let chunk = t.scan(&start, end.as_deref(), CHUNK)?;
                    let identity = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
                    let mut n = 0;
                    for (k, v) in &chunk {
                        let item = decode(v)?;
                        if expired(item.get(&attr), now_ms / 1000) {
                            apply_as(t, &table, k, Some(&item), None, now_ms, Some(&identity))?;
                            n += 1;
                        }
                    }
                    let next = (chunk.len() == CHUNK)
                        .then(|| {
                            chunk.last().map(|(k, _)| {
                                let mut k = k.clone();
                                k.push(0);
                                k
                            })
                        })
                        .flatten();
                    Ok::<_, AwsError>((next, n))
                })
                .await?;
            deleted += n;
            match next {
                Some(k) => from = k,
                None => break,
            }
        }
    }
    Ok(deleted)
}
