//! Writing and reading records: PutRecord, PutRecords, GetShardIterator and GetRecords.
//!
//! A write is one transaction: the stream's counter hands out the records' numbers and each
//! record is stored under its shard's range, so an acknowledged record is on disk and a shard
//! reads back in the order it was written. Shard iterators are opaque: the stream, shard and
//! position, and when the iterator was made (AWS's expire after five minutes).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::ReadTxn;

use crate::Inner;
use crate::errors::{invalid_argument, stream_not_found, validation};
use crate::limits::Limits;
use crate::stream::{
    Stored, StreamRecord, StreamRef, counter_name, counter_of_key, hash_key, parse_shard_id, record_key,
    records_prefix, shard_id, stream_ref,
};
use crate::streams::s;

/// How long a shard iterator works.
pub const ITERATOR_MS: u64 = 300_000;
/// What one GetRecords call returns at most.
const MAX_RECORDS: usize = 10_000;
const MAX_BYTES: usize = 10 * 1024 * 1024;
/// What one PutRecords request may carry in all.
const MAX_PUT_RECORDS_BYTES: usize = 5 * 1024 * 1024;

/// One record to write, decoded (outside the write transaction, so the store's writer only
/// stores) and checked.
struct Entry {
    partition_key: String,
    data: Vec<u8>,
    hash: u128,
    /// Its place in PutRecords' list (error messages name it).
    index: Option<usize>,
}

fn member_path(index: Option<usize>, member: &str) -> String {
    match index {
        Some(n) => format!("records.{}.member.{member}", n + 1),
        None => member.to_string(),
    }
}

/// The stream's record size limit, checked when the stream is known.
fn check_size(e: &Entry, max_bytes: usize) -> Result<(), AwsError> {
    if e.data.len() > max_bytes {
        return Err(validation(format!(
            "1 validation error detected: Value at '{}' failed to satisfy constraint: Member must have length less than or equal to {max_bytes}",
            member_path(e.index, "data")
        )));
    }
    Ok(())
}

fn entry(v: &Json, index: Option<usize>) -> Result<Entry, AwsError> {
    let at = |member: &str| member_path(index, member);
    let data = STANDARD.decode(s(v, "Data").unwrap_or_default()).map_err(|_| {
        validation(format!("1 validation error detected: Value at '{}' is not valid base64", at("data")))
    })?;
    let partition_key = s(v, "PartitionKey").unwrap_or_default().to_string();
    let hash = match s(v, "ExplicitHashKey") {
        Some(h) => {
            // The model's pattern `0|([1-9]\d{0,38})`, then the range.
            let digits = h.bytes().all(|b| b.is_ascii_digit());
            if h.is_empty() || !digits || h.len() > 39 || (h.len() > 1 && h.starts_with('0')) {
                return Err(validation(format!(
                    "1 validation error detected: Value '{h}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{{0,38}})",
                    at("explicitHashKey")
                )));
            }
            h.parse::<u128>().map_err(|_| {
                invalid_argument(format!(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {h}"
                ))
            })?
        }
        None => hash_key(&partition_key),
    };
    Ok(Entry { partition_key, data, hash, index })
}

/// The stream a write goes to, refusing one that is still being created.
fn writable(r: &mut dyn ReadTxn, at: &StreamRef, now: u64) -> Result<StreamRecord, AwsError> {
    let st = at.load(r)?;
    if st.status(now) == "CREATING" {
        return Err(stream_not_found(&st.name, &st.account));
    }
    Ok(st)
}

fn throttled(st: &StreamRecord, shard: u32) -> AwsError {
    AwsError::new(
        "ProvisionedThroughputExceededException",
        format!("Rate exceeded for shard {} in stream {} under account {}.", shard_id(shard), st.name, st.account),
    )
}

/// Where a record went: `(shard, sequence number)`, or the shard whose limit refused it.
type Placed = Result<(u32, String), u32>;

/// Stores the `entries` the shard limits admit (all in one transaction): for each entry, its
/// `(shard, sequence number)`, or the shard whose limit refused it.
fn store(
    t: &mut dyn stratus_storage::Txn,
    st: &StreamRecord,
    entries: &[Entry],
    now: u64,
    limits: &Limits,
) -> Result<Vec<Placed>, AwsError> {
    let limited = Limits::apply_to(st);
    let mut placed = Vec::with_capacity(entries.len());
    for e in entries {
        let shard = st
            .shard_for(e.hash)
            .map(|s| s.index)
            .ok_or_else(|| AwsError::internal("no open shard holds the hash key"))?;
        let bytes = e.data.len() + e.partition_key.len();
        placed.push(if !limited || limits.write(st.id, shard, bytes, now) { Ok(shard) } else { Err(shard) });
    }
    let admitted = placed.iter().filter(|p| p.is_ok()).count() as u64;
    let mut counter =
        if admitted > 0 { stratus_storage::next_sequences(t, &counter_name(st.id), admitted)? } else { 0 };
    let encrypted = st.encryption.is_some();
    let mut out = Vec::with_capacity(entries.len());
    for (e, p) in entries.iter().zip(placed) {
        out.push(match p {
            Ok(shard) => {
                t.put(&record_key(st.id, shard, counter), &Stored::encode(now, encrypted, &e.partition_key, &e.data))?;
                counter += 1;
                Ok((shard, st.sequence(shard, counter - 1)))
            }
            Err(shard) => Err(shard),
        });
    }
    Ok(out)
}

pub async fn put_record(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let now = i.now();
    let limits = i.limits.clone();
    let e = entry(&input, None)?;
    drop(input);
    let written = i
        .store
        .write(move |t| {
            let st = writable(t, &at, now)?;
            check_size(&e, st.max_record_kib as usize * 1024)?;
            let done = store(t, &st, std::slice::from_ref(&e), now, &limits)?;
            let (shard, seq) = match done.into_iter().next() {
                Some(Ok(placed)) => placed,
                Some(Err(shard)) => return Err(throttled(&st, shard)),
                None => return Err(AwsError::internal("nothing written")),
            };
            Ok::<_, AwsError>(
                json!({"ShardId": shard_id(shard), "SequenceNumber": seq, "EncryptionType": st.encryption_type()}),
            )
        })
        .await?;
    i.changed.bump();
    Ok(written)
}

pub async fn put_records(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let now = i.now();
    let limits = i.limits.clone();
    let given = input.get("Records").and_then(Json::as_array).map(Vec::as_slice).unwrap_or_default();
    let entries = given.iter().enumerate().map(|(n, r)| entry(r, Some(n))).collect::<Result<Vec<_>, _>>()?;
    drop(input);
    let written = i
        .store
        .write(move |t| {
            let st = writable(t, &at, now)?;
            let max = st.max_record_kib as usize * 1024;
            for e in &entries {
                check_size(e, max)?;
            }
            let total: usize = entries.iter().map(|e| e.data.len() + e.partition_key.len()).sum();
            if total > MAX_PUT_RECORDS_BYTES.max(max) {
                return Err(invalid_argument(format!(
                    "Records size exceeds {} MB limit",
                    MAX_PUT_RECORDS_BYTES / (1024 * 1024)
                )));
            }
            let done = store(t, &st, &entries, now, &limits)?;
            let failed = done.iter().filter(|d| d.is_err()).count();
            let records: Vec<Json> = done
                .iter()
                .map(|d| match d {
                    Ok((shard, seq)) => json!({"SequenceNumber": seq, "ShardId": shard_id(*shard)}),
                    Err(shard) => {
                        let e = throttled(&st, *shard);
                        json!({"ErrorCode": e.code, "ErrorMessage": e.message})
                    }
                })
                .collect();
            Ok(json!({"FailedRecordCount": failed, "Records": records, "EncryptionType": st.encryption_type()}))
        })
        .await?;
    i.changed.bump();
    Ok(written)
}

// ---- iterators ----

/// Where an iterator reads: the stream (by account, region, name and id), the shard, and the
/// counter of the next record to return.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub account: String,
    pub region: String,
    pub name: String,
    pub stream: u64,
    pub shard: u32,
    pub next: u64,
    pub made_ms: u64,
}

impl Position {
    pub fn encode(&self) -> String {
        let mut b = vec![1u8];
        b.extend_from_slice(&self.stream.to_be_bytes());
        b.extend_from_slice(&self.shard.to_be_bytes());
        b.extend_from_slice(&self.next.to_be_bytes());
        b.extend_from_slice(&self.made_ms.to_be_bytes());
        for part in [&self.account, &self.region] {
            b.push(part.len() as u8);
            b.extend_from_slice(part.as_bytes());
        }
        b.extend_from_slice(self.name.as_bytes());
        let sum = checksum(&b);
        b.extend_from_slice(&sum.to_be_bytes());
        STANDARD.encode(b)
    }

    pub fn decode(it: &str) -> Option<Position> {
        let b = STANDARD.decode(it).ok()?;
        let (body, sum) = b.split_at(b.len().checked_sub(4)?);
        if checksum(body).to_be_bytes() != sum || body.first() != Some(&1) {
            return None;
        }
        let u64_at = |at: usize| body.get(at..at + 8).and_then(|x| x.try_into().ok()).map(u64::from_be_bytes);
        let stream = u64_at(1)?;
        let shard = u32::from_be_bytes(body.get(9..13)?.try_into().ok()?);
        let next = u64_at(13)?;
        let made_ms = u64_at(21)?;
        let mut at = 29;
        let mut text = || {
            let len = usize::from(*body.get(at)?);
            let s = std::str::from_utf8(body.get(at + 1..at + 1 + len)?).ok()?.to_string();
            at += 1 + len;
            Some(s)
        };
        let account = text()?;
        let region = text()?;
        let name = std::str::from_utf8(body.get(at..)?).ok()?.to_string();
        Some(Position { account, region, name, stream, shard, next, made_ms })
    }

    /// The stream ARN an iterator reads (what GetRecords is authorized against).
    pub fn stream_arn(&self) -> String {
        crate::stream::stream_arn(&self.region, &self.account, &self.name)
    }
}

/// FNV-1a, enough to tell a damaged iterator from a real one.
fn checksum(b: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for x in b {
        h ^= u32::from(*x);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The first record of a shard at or after `ms` (its counter), or the position after the
/// shard's last record.
fn at_timestamp(r: &mut dyn ReadTxn, st: &StreamRecord, shard: u32, from: u64, ms: u64) -> Result<u64, AwsError> {
    let mut start = record_key(st.id, shard, from);
    let end = records_prefix(st.id, shard + 1);
    loop {
        let rows = r.scan(&start, Some(&end), 1000)?;
        for (k, v) in &rows {
            if Stored::decode(v).is_some_and(|s| s.arrival_ms >= ms) {
                return Ok(counter_of_key(k));
            }
        }
        match rows.last() {
            Some((k, _)) if rows.len() == 1000 => {
                start = k.clone();
                start.push(0);
            }
            _ => return latest(r, st, shard),
        }
    }
}

/// The counter the next record written to the shard would carry at most (LATEST).
fn latest(r: &mut dyn ReadTxn, st: &StreamRecord, shard: u32) -> Result<u64, AwsError> {
    let current = stratus_storage::current_sequence(r, &counter_name(st.id))?.unwrap_or(0);
    let end = st.shard(shard).and_then(|s| s.end_counter).unwrap_or(current);
    Ok(current.min(end) + 1)
}

pub async fn get_shard_iterator(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let at = stream_ref(ctx, &input)?;
    let now = i.now();
    let shard_name = s(&input, "ShardId").unwrap_or_default().to_string();
    let kind = s(&input, "ShardIteratorType").unwrap_or_default().to_string();
    let sequence = s(&input, "StartingSequenceNumber").map(str::to_string);
    let timestamp = input.get("Timestamp").and_then(Json::as_f64);
    let position = i
        .store
        .read(move |r| {
            // AWS names the shard, not the stream, when the stream does not exist.
            let st = at.load(r).map_err(|e| match parse_shard_id(&shard_name) {
                Some(index) => AwsError::new(
                    "ResourceNotFoundException",
                    format!("Shard {} in stream {} under account {} does not exist", shard_id(index), at.name, at.account),
                ),
                None => e,
            })?;
            let index = parse_shard_id(&shard_name).ok_or_else(|| {
                AwsError::new(
                    "ResourceNotFoundException",
                    format!("Could not find shard {shard_name} in stream {} under account {}.", st.name, st.account),
                )
            })?;
            let shard = st.live_shards(now).find(|s| s.index == index).ok_or_else(|| {
                AwsError::new(
                    "ResourceNotFoundException",
                    format!("Shard {} in stream {} under account {} does not exist", shard_id(index), st.name, st.account),
                )
            })?;
            let by_sequence = matches!(kind.as_str(), "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER");
            let either = "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber.";
            if by_sequence && sequence.is_none() {
                return Err(invalid_argument(format!("{either} Request specified {kind} and no StartingSequenceNumber.")));
            }
            if !by_sequence && kind != "AT_TIMESTAMP" && sequence.is_some() {
                return Err(invalid_argument(format!("{either} Request specified {kind} and also a StartingSequenceNumber.")));
            }
            let need_sequence = || Ok::<_, AwsError>(sequence.clone().unwrap_or_default());
            let next = match kind.as_str() {
                "TRIM_HORIZON" => shard.start_counter + 1,
                "LATEST" => latest(r, &st, index)?,
                "AT_SEQUENCE_NUMBER" => st.counter_of(&need_sequence()?, index)?,
                "AFTER_SEQUENCE_NUMBER" => st.counter_of(&need_sequence()?, index)? + 1,
                "AT_TIMESTAMP" => {
                    let ts = timestamp.ok_or_else(|| {
                        invalid_argument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
                    })?;
                    let ms = (ts * 1000.0).max(0.0) as u64;
                    at_timestamp(r, &st, index, shard.start_counter + 1, ms)?
                }
                other => return Err(invalid_argument(format!("Unsupported ShardIteratorType {other}"))),
            };
            Ok(Position {
                account: st.account.clone(),
                region: st.region.clone(),
                name: st.name.clone(),
                stream: st.id,
                shard: index,
                next,
                made_ms: now,
            })
        })
        .await?;
    Ok(json!({"ShardIterator": position.encode()}))
}

/// A decoded iterator, or AWS's errors for a malformed or expired one.
pub fn open_iterator(it: &str, now: u64) -> Result<Position, AwsError> {
    let p = Position::decode(it).ok_or_else(|| invalid_argument("Invalid ShardIterator."))?;
    if now.saturating_sub(p.made_ms) > ITERATOR_MS {
        return Err(AwsError::new(
            "ExpiredIteratorException",
            format!(
                "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {ITERATOR_MS} milliseconds.",
                stratus_core::time::iso8601_millis(p.made_ms),
                stratus_core::time::iso8601_millis(now)
            ),
        ));
    }
    Ok(p)
}

/// What GetRecords read: the records in their wire shape with their counters, whether the
/// shard was read to its (closed) end, and the position after them.
pub struct Read {
    pub records: Vec<(u64, Json)>,
    pub next: u64,
    pub at_end: bool,
    pub behind_ms: u64,
    pub children: Vec<Json>,
    /// The stream asks for AWS's shard limits.
    pub limited: bool,
}

/// Reads up to `limit` records at `p` (one snapshot of the store).
pub fn read_at(r: &mut dyn ReadTxn, p: &Position, limit: usize, now: u64) -> Result<Read, AwsError> {
    let gone = || {
        AwsError::new(
            "ResourceNotFoundException",
            format!("Shard {} in stream {} under account {} does not exist", shard_id(p.shard), p.name, p.account),
        )
    };
    let st = crate::stream::load(r, &p.account, &p.region, &p.name)?.filter(|s| s.id == p.stream).ok_or_else(gone)?;
    let shard = st.shard(p.shard).cloned().ok_or_else(gone)?;
    let horizon = now.saturating_sub(st.retention_ms());
    let rows = r.scan(&record_key(st.id, p.shard, p.next), Some(&records_prefix(st.id, p.shard + 1)), limit + 1)?;
    let more = rows.len() > limit;
    let mut records = Vec::new();
    let mut bytes = 0;
    let mut next = p.next;
    let mut cut = more;
    for (k, v) in rows.iter().take(limit) {
        let Some(rec) = Stored::decode(v) else { continue };
        let counter = counter_of_key(k);
        if rec.arrival_ms < horizon {
            next = counter + 1;
            continue;
        }
        if bytes + rec.data.len() > MAX_BYTES && !records.is_empty() {
            cut = true;
            break;
        }
        bytes += rec.data.len() + rec.partition_key.len();
        let mut out = json!({
            "SequenceNumber": st.sequence(p.shard, counter),
            "ApproximateArrivalTimestamp": rec.arrival_ms as f64 / 1000.0,
            "Data": STANDARD.encode(rec.data),
            "PartitionKey": rec.partition_key,
        });
        if rec.encrypted {
            out["EncryptionType"] = json!("KMS");
        }
        records.push((counter, out));
        next = counter + 1;
    }
    let behind_ms = if cut {
        records
            .last()
            .and_then(|(_, r)| r["ApproximateArrivalTimestamp"].as_f64())
            .map_or(0, |t| now.saturating_sub((t * 1000.0) as u64))
    } else {
        0
    };
    let at_end = !cut && shard.end_counter.is_some();
    let children = if at_end {
        st.shards
            .iter()
            .filter(|c| c.parent == Some(p.shard) || c.adjacent_parent == Some(p.shard))
            .map(|c| {
                let parents: Vec<String> = c.parent.into_iter().chain(c.adjacent_parent).map(shard_id).collect();
                json!({
                    "ShardId": c.id(),
                    "ParentShards": parents,
                    "HashKeyRange": {"StartingHashKey": c.start_hash.to_string(), "EndingHashKey": c.end_hash.to_string()},
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Read { records, next, at_end, behind_ms, children, limited: Limits::apply_to(&st) })
}

pub async fn get_records(i: &Inner, input: Json) -> Result<Json, AwsError> {
    let now = i.now();
    let p = open_iterator(s(&input, "ShardIterator").unwrap_or_default(), now)?;
    let limit = input.get("Limit").and_then(Json::as_u64).map_or(MAX_RECORDS, |l| l as usize).min(MAX_RECORDS);
    if let Some(arn) = s(&input, "StreamARN")
        && arn != p.stream_arn()
    {
        return Err(invalid_argument(format!("StreamARN {arn} does not match the stream of the ShardIterator.")));
    }
    let pos = p.clone();
    let limits = i.limits.clone();
    let read = i
        .store
        .read(move |r| {
            let read = read_at(r, &pos, limit, now)?;
            if read.limited && !limits.read(pos.stream, pos.shard, now) {
                return Err(AwsError::new(
                    "ProvisionedThroughputExceededException",
                    format!(
                        "Rate exceeded for Shard - {} in stream {} under account {}.",
                        shard_id(pos.shard),
                        pos.name,
                        pos.account
                    ),
                ));
            }
            Ok(read)
        })
        .await?;
    let records: Vec<Json> = read.records.into_iter().map(|(_, r)| r).collect();
    let mut out = json!({"Records": records, "MillisBehindLatest": read.behind_ms});
    if read.at_end {
        out["ChildShards"] = json!(read.children);
    } else {
        let next = Position { next: read.next, made_ms: now, ..p };
        out["NextShardIterator"] = json!(next.encode());
    }
    Ok(out)
}

/// Deletes the records past their stream's retention period (each shard's oldest records,
/// up to the first one still retained). Returns how many were deleted.
pub async fn expire(i: &Inner) -> Result<usize, AwsError> {
    let now = i.now();
    let streams =
        i.store.read(|r| stratus_storage::scan_prefix(r, b"kin/t/", usize::MAX).map_err(AwsError::from)).await?;
    let mut deleted = 0;
    for (_, v) in streams {
        let Ok(st) = serde_json::from_slice::<StreamRecord>(&v) else { continue };
        let horizon = now.saturating_sub(st.retention_ms());
        for shard in st.shards.iter().map(|s| s.index) {
            let id = st.id;
            deleted += i
                .store
                .write(move |t| {
                    let start = records_prefix(id, shard);
                    let end = records_prefix(id, shard + 1);
                    let mut n = 0;
                    // In batches, so one transaction stays small.
                    let rows = t.scan(&start, Some(&end), 10_000)?;
                    for (k, v) in &rows {
                        if Stored::decode(v).is_some_and(|s| s.arrival_ms >= horizon) {
                            break;
                        }
                        t.delete(k)?;
                        n += 1;
                    }
                    Ok::<_, AwsError>(n)
                })
                .await?;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn iterators_round_trip_and_refuse_damage() {
        let p = Position {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: "s".into(),
            stream: 7,
            shard: 2,
            next: 99,
            made_ms: 1234,
        };
        let it = p.encode();
        assert_eq!(Position::decode(&it), Some(p.clone()));
        let mut raw = STANDARD.decode(&it).unwrap();
        raw[5] ^= 1;
        assert_eq!(Position::decode(&STANDARD.encode(&raw)), None);
        assert_eq!(Position::decode("AAAA"), None);
        assert_eq!(Position::decode("not base64!"), None);
        assert_eq!(open_iterator(&it, 1234 + ITERATOR_MS + 1).unwrap_err().code, "ExpiredIteratorException");
        assert_eq!(open_iterator("x", 0).unwrap_err().code, "InvalidArgumentException");
    }
}
