//! DynamoDB Streams (JSON 1.0, `X-Amz-Target: DynamoDBStreams_20120810.<Op>`): one record per
//! item-level change, written in the change's own transaction, read through ListStreams,
//! DescribeStream, GetShardIterator and GetRecords.
//!
//! A stream is named by its label (the time it was enabled); disabling and enabling a table's
//! stream makes a new one. Each stream has one shard. Records are kept under
//! `ddb/s/{table id}{label}\0{sequence}` and numbered by a per-table sequence, shown as 21-digit
//! sequence numbers. Shard iterators are opaque (base64 of the position) and expire after 15
//! minutes, as on AWS.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::{AwsError, BoxFuture, Operation, Service, ServiceModel};
use stratus_storage::{ReadTxn, Txn, prefix_end, scan_prefix};

use crate::errors::validation;
use crate::table::{StreamSettings, TableRecord};
use crate::value::{Item, item_size, item_to_json};
use crate::{Inner, keys, tables};

pub use stratus_storage::Changes;

/// How long a shard iterator works.
const ITERATOR_MS: u64 = 15 * 60 * 1000;
/// How long records are kept.
pub const RETENTION_MS: u64 = 24 * 60 * 60 * 1000;
/// 10^20: sequence numbers are shown with 21 digits.
const SEQUENCE_BASE: u128 = 100_000_000_000_000_000_000;

fn records_prefix(table_id: u64, label: &str) -> Vec<u8> {
    let mut k = b"ddb/s/".to_vec();
    k.extend_from_slice(&table_id.to_be_bytes());
    k.extend_from_slice(label.as_bytes());
    k.push(0);
    k
}

fn record_key(table_id: u64, label: &str, seq: u64) -> Vec<u8> {
    let mut k = records_prefix(table_id, label);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn sequence_number(seq: u64) -> String {
    (SEQUENCE_BASE + u128::from(seq)).to_string()
}

fn parse_sequence(s: &str) -> Option<u64> {
    s.parse::<u128>().ok()?.checked_sub(SEQUENCE_BASE).and_then(|v| u64::try_from(v).ok())
}

pub fn stream_arn(table: &TableRecord, label: &str) -> String {
    format!("{}/stream/{label}", table.arn())
}

fn shard_id(table: &TableRecord, stream: &StreamSettings) -> String {
    let digits: String = stream.label.chars().filter(char::is_ascii_digit).collect();
    format!("shardId-{:0>20}-{:08x}", &digits[..digits.len().min(20)], table.id as u32)
}

/// Writes the stream record of a change (in the change's transaction), when the table's stream
/// is on and the item changed.
pub fn record_change(
    t: &mut dyn Txn,
    table: &TableRecord,
    old: Option<&Item>,
    new: Option<&Item>,
    now_ms: u64,
    identity: Option<&Json>,
) -> Result<(), AwsError> {
    let Some(stream) = table.stream.as_ref().filter(|s| s.enabled) else { return Ok(()) };
    let event = match (old, new) {
        (None, Some(_)) => "INSERT",
        (Some(o), Some(n)) if o != n => "MODIFY",
        (Some(_), None) => "REMOVE",
        _ => return Ok(()),
    };
    let seq = stratus_storage::next_sequence(t, &format!("dynamodb/stream-seq/{}", table.id))?;
    let Some(item) = new.or(old) else { return Ok(()) };
    let keys = table.key_attributes(item);
    let mut size = item_size(&keys);
    let mut d = json!({
        "ApproximateCreationDateTime": (now_ms / 1000) as f64,
        "Keys": item_to_json(&keys),
        "SequenceNumber": sequence_number(seq),
        "StreamViewType": stream.view_type,
    });
    if let Some(o) = d.as_object_mut() {
        if matches!(stream.view_type.as_str(), "NEW_IMAGE" | "NEW_AND_OLD_IMAGES")
            && let Some(n) = new
        {
            size += item_size(n);
            o.insert("NewImage".into(), item_to_json(n));
        }
        if matches!(stream.view_type.as_str(), "OLD_IMAGE" | "NEW_AND_OLD_IMAGES")
            && let Some(p) = old
        {
            size += item_size(p);
            o.insert("OldImage".into(), item_to_json(p));
        }
        o.insert("SizeBytes".into(), json!(size));
    }
    let mut record = json!({
        "eventID": format!("{:016x}{:016x}", table.id, seq),
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": table.region,
        "dynamodb": d,
    });
    if let (Some(id), Some(o)) = (identity, record.as_object_mut()) {
        o.insert("userIdentity".into(), id.clone());
    }
    t.put(&record_key(table.id, &stream.label, seq), record.to_string().as_bytes())?;
    Ok(())
}

/// `(account, region, table, label)` of a stream ARN.
fn parse_stream_arn(arn: &str) -> Option<(String, String, String, String)> {
    let a = stratus_core::Arn::parse(arn).filter(|a| a.service == "dynamodb")?;
    let rest = a.resource.strip_prefix("table/")?;
    let (table, label) = rest.split_once("/stream/")?;
    Some((a.account.to_string(), a.region.to_string(), table.to_string(), label.to_string()))
}

fn stream_not_found(arn: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", format!("Requested resource not found: Stream: {arn} not found"))
}

/// The table and stream an ARN names; the stream must be the table's current one.
fn resolve(r: &mut dyn ReadTxn, ctx: &RequestContext, arn: &str) -> Result<(TableRecord, StreamSettings), AwsError> {
    let (account, region, name, label) =
        parse_stream_arn(arn).ok_or_else(|| validation(format!("Invalid StreamArn: {arn}")))?;
    let mut c = ctx.clone();
    (c.account, c.region) = (account, region);
    let table = tables::load(r, &c, &name)?.ok_or_else(|| stream_not_found(arn))?;
    let stream = table.stream.clone().filter(|s| s.label == label).ok_or_else(|| stream_not_found(arn))?;
    Ok((table, stream))
}

fn first_and_last(
    r: &mut dyn ReadTxn,
    table: &TableRecord,
    label: &str,
) -> Result<(Option<u64>, Option<u64>), AwsError> {
    let prefix = records_prefix(table.id, label);
    let first = r.scan(&prefix, prefix_end(&prefix).as_deref(), 1)?.into_iter().next().map(|(k, _)| seq_of(&k));
    // The last record: the table's sequence counter names it.
    let last = stratus_storage::current_sequence(r, &format!("dynamodb/stream-seq/{}", table.id))?;
    Ok((first, last))
}

fn seq_of(key: &[u8]) -> u64 {
    let n = key.len();
    let mut b = [0u8; 8];
    if n >= 8 {
        b.copy_from_slice(&key[n - 8..]);
    }
    u64::from_be_bytes(b)
}

async fn list_streams(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let only = input.get("TableName").and_then(Json::as_str).map(str::to_string);
    let limit = input.get("Limit").and_then(Json::as_u64).unwrap_or(100).clamp(1, 100) as usize;
    let after = input.get("ExclusiveStartStreamArn").and_then(Json::as_str).map(str::to_string);
    let prefix = keys::tables(&ctx.account, &ctx.region);
    let all: Vec<TableRecord> = i
        .read(move |r| {
            scan_prefix(r, &prefix, usize::MAX)?
                .iter()
                .map(|(_, v)| serde_json::from_slice::<TableRecord>(v).map_err(|e| AwsError::internal(e.to_string())))
                .collect()
        })
        .await?;
    let mut streams: Vec<Json> = all
        .iter()
        .filter(|t| only.as_deref().is_none_or(|n| n == t.name))
        .filter_map(|t| {
            let s = t.stream.as_ref().filter(|s| s.enabled)?;
            Some(json!({"StreamArn": stream_arn(t, &s.label), "TableName": t.name, "StreamLabel": s.label}))
        })
        .collect();
    if let Some(a) = after {
        let pos = streams.iter().position(|s| s["StreamArn"] == a.as_str()).map_or(0, |p| p + 1);
        streams.drain(..pos);
    }
    let more = streams.len() > limit;
    streams.truncate(limit);
    let mut out = json!({"Streams": streams});
    if more && let Some(o) = out.as_object_mut() {
        let last = streams_last(&o["Streams"]);
        o.insert("LastEvaluatedStreamArn".into(), json!(last));
    }
    Ok(out)
}

fn streams_last(v: &Json) -> String {
    v.as_array().and_then(|a| a.last()).and_then(|s| s["StreamArn"].as_str()).unwrap_or_default().to_string()
}

async fn describe_stream(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let arn = input.get("StreamArn").and_then(Json::as_str).unwrap_or_default().to_string();
    let ctx = ctx.clone();
    let a = arn.clone();
    let (table, stream, first, last) = i
        .read(move |r| {
            let (table, stream) = resolve(r, &ctx, &a)?;
            let (first, last) = first_and_last(r, &table, &stream.label)?;
            Ok((table, stream, first, last))
        })
        .await?;
    let start = first.or(last.map(|l| l + 1)).unwrap_or(0);
    let shard = json!({"ShardId": shard_id(&table, &stream),
                       "SequenceNumberRange": {"StartingSequenceNumber": sequence_number(start)}});
    let key = table.describe("ACTIVE")["KeySchema"].clone();
    Ok(json!({"StreamDescription": {
        "StreamArn": arn, "StreamLabel": stream.label, "StreamStatus": "ENABLED",
        "StreamViewType": stream.view_type, "CreationRequestDateTime": (table.created_ms / 1000) as f64,
        "TableName": table.name, "KeySchema": key, "Shards": [shard],
    }}))
}

fn iterator(arn: &str, shard: &str, position: u64, now_ms: u64) -> String {
    URL_SAFE_NO_PAD.encode(json!({"a": arn, "s": shard, "p": position, "t": now_ms}).to_string())
}

async fn get_shard_iterator(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let arn = input.get("StreamArn").and_then(Json::as_str).unwrap_or_default().to_string();
    let shard = input.get("ShardId").and_then(Json::as_str).unwrap_or_default().to_string();
    let kind = input.get("ShardIteratorType").and_then(Json::as_str).unwrap_or_default().to_string();
    let given = input.get("SequenceNumber").and_then(Json::as_str).map(str::to_string);
    let ctx = ctx.clone();
    let (a, s) = (arn.clone(), shard.clone());
    let position = i
        .read(move |r| {
            let (table, stream) = resolve(r, &ctx, &a)?;
            if shard_id(&table, &stream) != s {
                return Err(AwsError::new("ResourceNotFoundException", format!("Requested resource not found: Shard does not exist: {s}")));
            }
            let (first, last) = first_and_last(r, &table, &stream.label)?;
            let next = last.map_or(0, |l| l + 1);
            let at = |g: &Option<String>| {
                g.as_deref().and_then(parse_sequence).ok_or_else(|| {
                    validation("Invalid SequenceNumber for ShardIteratorType: AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER")
                })
            };
            match kind.as_str() {
                "TRIM_HORIZON" => Ok(first.unwrap_or(next)),
                "LATEST" => Ok(next),
                "AT_SEQUENCE_NUMBER" => at(&given),
                "AFTER_SEQUENCE_NUMBER" => Ok(at(&given)? + 1),
                other => Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, LATEST, TRIM_HORIZON]"
                ))),
            }
        })
        .await?;
    Ok(json!({"ShardIterator": iterator(&arn, &shard, position, i.now())}))
}

async fn get_records(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let text = input.get("ShardIterator").and_then(Json::as_str).unwrap_or_default();
    let invalid = || validation("Invalid ShardIterator");
    let decoded: Json =
        URL_SAFE_NO_PAD.decode(text).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(invalid)?;
    let (arn, shard, position, issued) = (
        decoded["a"].as_str().ok_or_else(invalid)?.to_string(),
        decoded["s"].as_str().ok_or_else(invalid)?.to_string(),
        decoded["p"].as_u64().ok_or_else(invalid)?,
        decoded["t"].as_u64().ok_or_else(invalid)?,
    );
    let now = i.now();
    if now.saturating_sub(issued) > ITERATOR_MS {
        return Err(AwsError::new(
            "ExpiredIteratorException",
            "Iterator expired. The iterator was created over 15 minutes ago.",
        ));
    }
    let limit = input.get("Limit").and_then(Json::as_u64).unwrap_or(1000);
    if !(1..=1000).contains(&limit) {
        return Err(validation(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"
        )));
    }
    let ctx = ctx.clone();
    let a = arn.clone();
    let (records, next) = i
        .read(move |r| {
            let (table, stream) = resolve(r, &ctx, &a)?;
            let start = record_key(table.id, &stream.label, position);
            let prefix = records_prefix(table.id, &stream.label);
            let found = r.scan(&start, prefix_end(&prefix).as_deref(), limit as usize)?;
            let next = found.last().map_or(position, |(k, _)| seq_of(k) + 1);
            let records: Vec<Json> = found.iter().filter_map(|(_, v)| serde_json::from_slice(v).ok()).collect();
            Ok((records, next))
        })
        .await?;
    Ok(json!({"Records": records, "NextShardIterator": iterator(&arn, &shard, next, now)}))
}

/// Drops records older than the retention period.
pub(crate) async fn sweep(i: &Inner) -> Result<usize, AwsError> {
    let cutoff_secs = i.now().saturating_sub(RETENTION_MS) / 1000;
    i.store
        .write(move |t| {
            let mut dropped = 0;
            for (k, v) in scan_prefix(t, b"ddb/s/", usize::MAX)? {
                let old = serde_json::from_slice::<Json>(&v)
                    .ok()
                    .and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_f64())
                    .is_some_and(|t| (t as u64) < cutoff_secs);
                if old {
                    t.delete(&k)?;
                    dropped += 1;
                }
            }
            Ok(dropped)
        })
        .await
}

static MODEL: std::sync::LazyLock<Result<ServiceModel, String>> = std::sync::LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../../models/dynamodbstreams.json"), None).map_err(|e| e.to_string())
});

/// The DynamoDB Streams API, over the DynamoDB service's store.
#[derive(Clone)]
pub struct DynamoDbStreams {
    pub(crate) inner: std::sync::Arc<Inner>,
    model: &'static ServiceModel,
}

impl DynamoDbStreams {
    pub(crate) fn new(inner: std::sync::Arc<Inner>) -> Result<Self, String> {
        Ok(Self { inner, model: MODEL.as_ref().map_err(Clone::clone)? })
    }

    /// What moves when stream records may have been written (for readers that wait).
    pub fn changes(&self) -> std::sync::Arc<Changes> {
        self.inner.streams_changed.clone()
    }
}

impl Service for DynamoDbStreams {
    fn model(&self) -> &ServiceModel {
        self.model
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Json,
    ) -> BoxFuture<'a, Result<Json, AwsError>> {
        Box::pin(async move {
            let i = &self.inner;
            match op.name.as_str() {
                "ListStreams" => list_streams(i, ctx, input).await,
                "DescribeStream" => describe_stream(i, ctx, input).await,
                "GetShardIterator" => get_shard_iterator(i, ctx, input).await,
                "GetRecords" => get_records(i, ctx, input).await,
                other => Err(crate::errors::unsupported(other)),
            }
        })
    }
}
