//! A stream as stored: one record per stream (`kin/t/{account}/{region}/{name}`) holding its
//! settings, its shards with their hash key ranges and lineage, and its consumers. Records live
//! under `kin/r/` keyed by stream id, shard index and the stream's record counter, so a shard
//! is one range of keys in arrival order.
//!
//! Sequence numbers are 56 digits, as AWS's are: `49`, the stream id (18 digits), the shard
//! index (6) and the record counter (30). They grow within a shard and are never reused: the
//! counter is a durable sequence of the store, and a recreated stream has a new id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn};

use crate::errors::{invalid_argument, stream_not_found};

/// The largest hash key, 2^128 − 1.
pub const MAX_HASH: u128 = u128::MAX;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub parent: Option<u32>,
    pub adjacent_parent: Option<u32>,
    /// Hash key range, inclusive (decimal strings on the wire).
    pub start_hash: u128,
    pub end_hash: u128,
    /// The stream counter before the shard's first record.
    pub start_counter: u64,
    /// Set when the shard is closed: the last counter it may hold.
    pub end_counter: Option<u64>,
    pub created_ms: u64,
    pub closed_ms: Option<u64>,
}

impl Shard {
    pub fn id(&self) -> String {
        shard_id(self.index)
    }

    pub fn open(&self) -> bool {
        self.end_counter.is_none()
    }

    pub fn holds(&self, hash: u128) -> bool {
        self.start_hash <= hash && hash <= self.end_hash
    }
}

pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// The index a shard id names. AWS reads the digits after the last `-` (`shardId-5`,
/// `shard-0` and `0` all name `shardId-000000000005`/`…000`); None when they are not a number
/// it accepts.
pub fn parse_shard_id(id: &str) -> Option<u32> {
    let digits = id.rsplit('-').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 10 {
        return None;
    }
    if significant.is_empty() {
        return Some(0);
    }
    significant.parse::<u32>().ok().filter(|n| *n <= i32::MAX as u32)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Consumer {
    pub name: String,
    pub created_ms: u64,
    /// When it becomes ACTIVE (CREATING until then).
    pub ready_ms: u64,
    pub policy: Option<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamRecord {
    pub id: u64,
    pub name: String,
    pub account: String,
    pub region: String,
    pub created_ms: u64,
    /// Until this time the stream reports `pending` (CREATING or UPDATING) rather than ACTIVE.
    pub ready_ms: u64,
    pub pending: String,
    pub mode: String,
    pub retention_hours: u32,
    /// `(EncryptionType, KeyId)` while encrypted.
    pub encryption: Option<(String, String)>,
    pub shard_metrics: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub shards: Vec<Shard>,
    pub consumers: Vec<Consumer>,
    pub policy: Option<String>,
    pub max_record_kib: u32,
}

impl StreamRecord {
    pub fn arn(&self) -> String {
        stream_arn(&self.region, &self.account, &self.name)
    }

    pub fn status(&self, now_ms: u64) -> &str {
        if now_ms < self.ready_ms { &self.pending } else { "ACTIVE" }
    }

    pub fn active(&self, now_ms: u64) -> bool {
        now_ms >= self.ready_ms
    }

    /// Shards still within the retention period (closed shards disappear once their records
    /// have all expired).
    pub fn live_shards(&self, now_ms: u64) -> impl Iterator<Item = &Shard> {
        let horizon = now_ms.saturating_sub(self.retention_ms());
        self.shards.iter().filter(move |s| s.closed_ms.is_none_or(|c| c >= horizon))
    }

    pub fn open_shards(&self) -> impl Iterator<Item = &Shard> {
        self.shards.iter().filter(|s| s.open())
    }

    pub fn shard(&self, index: u32) -> Option<&Shard> {
        self.shards.iter().find(|s| s.index == index)
    }

    pub fn retention_ms(&self) -> u64 {
        u64::from(self.retention_hours) * 3_600_000
    }

    /// The open shard whose range holds `hash`.
    pub fn shard_for(&self, hash: u128) -> Option<&Shard> {
        self.open_shards().find(|s| s.holds(hash))
    }

    pub fn sequence(&self, shard: u32, counter: u64) -> String {
        format!("49{:018}{:06}{:030}", self.id % 1_000_000_000_000_000_000, shard, counter)
    }

    /// The counter a sequence number of this stream's shard `shard` carries, or AWS's errors
    /// for one that is malformed, of another stream, or of another shard.
    pub fn counter_of(&self, sequence: &str, shard: u32) -> Result<u64, AwsError> {
        let at = format!(
            "StartingSequenceNumber {sequence} used in GetShardIterator on shard {} in stream {} under account {} is invalid",
            shard_id(shard),
            self.name,
            self.account
        );
        if sequence.is_empty() || sequence.len() > 128 || !sequence.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid_argument(format!("{at}.")));
        }
        let foreign = || invalid_argument(format!("{at} because it did not come from this stream."));
        if sequence.len() != 56 || !sequence.starts_with("49") {
            return Err(foreign());
        }
        let id: u64 = sequence[2..20].parse().map_err(|_| foreign())?;
        let index: u32 = sequence[20..26].parse().map_err(|_| foreign())?;
        if id != self.id % 1_000_000_000_000_000_000 {
            return Err(foreign());
        }
        if index != shard {
            return Err(invalid_argument(format!(
                "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
                shard_id(index),
                shard_id(shard)
            )));
        }
        sequence[26..].parse().map_err(|_| foreign())
    }

    pub fn render_shard(&self, s: &Shard) -> Json {
        let mut range = json!({"StartingSequenceNumber": self.sequence(s.index, s.start_counter)});
        if let Some(end) = s.end_counter {
            range["EndingSequenceNumber"] = json!(self.sequence(s.index, end));
        }
        let mut out = json!({
            "ShardId": s.id(),
            "HashKeyRange": {"StartingHashKey": s.start_hash.to_string(), "EndingHashKey": s.end_hash.to_string()},
            "SequenceNumberRange": range,
        });
        if let Some(p) = s.parent {
            out["ParentShardId"] = json!(shard_id(p));
        }
        if let Some(p) = s.adjacent_parent {
            out["AdjacentParentShardId"] = json!(shard_id(p));
        }
        out
    }

    pub fn mode_details(&self) -> Json {
        json!({"StreamMode": self.mode})
    }

    pub fn monitoring(&self) -> Json {
        json!([{"ShardLevelMetrics": self.shard_metrics}])
    }

    pub fn encryption_type(&self) -> &str {
        self.encryption.as_ref().map_or("NONE", |(t, _)| t)
    }

    pub fn next_shard_index(&self) -> u32 {
        self.shards.iter().map(|s| s.index + 1).max().unwrap_or(0)
    }

    pub fn consumer_arn(&self, c: &Consumer) -> String {
        format!("{}/consumer/{}:{}", self.arn(), c.name, c.created_ms / 1000)
    }
}

pub fn stream_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:kinesis:{region}:{account}:stream/{name}", partition = stratus_core::partition(region))
}

/// `count` shards dividing the hash key space evenly, as AWS divides it: with f = ⌊2^128 /
/// count⌋, shard i starts at i·f, and the last one ends at 2^128 − 1.
pub fn even_ranges(count: u32) -> Vec<(u128, u128)> {
    let n = u128::from(count.max(1));
    if n == 1 {
        return vec![(0, MAX_HASH)];
    }
    // ⌊2^128 / n⌋ without overflowing: 2^128 = (MAX / n)·n + MAX % n + 1.
    let f = MAX_HASH / n + u128::from(MAX_HASH % n == n - 1);
    (0..n).map(|i| (i * f, if i + 1 == n { MAX_HASH } else { (i + 1) * f - 1 })).collect()
}

/// The hash key of a partition key: its MD5 as a 128-bit big-endian number.
pub fn hash_key(partition_key: &str) -> u128 {
    use md5::Digest as _;
    u128::from_be_bytes(md5::Md5::digest(partition_key.as_bytes()).into())
}

pub fn stream_key(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("kin/t/{account}/{region}/{name}").into_bytes()
}

pub fn streams_prefix(account: &str, region: &str) -> Vec<u8> {
    format!("kin/t/{account}/{region}/").into_bytes()
}

pub fn records_prefix(stream: u64, shard: u32) -> Vec<u8> {
    let mut k = b"kin/r/".to_vec();
    k.extend_from_slice(&stream.to_be_bytes());
    k.extend_from_slice(&shard.to_be_bytes());
    k
}

pub fn stream_records_prefix(stream: u64) -> Vec<u8> {
    let mut k = b"kin/r/".to_vec();
    k.extend_from_slice(&stream.to_be_bytes());
    k
}

pub fn record_key(stream: u64, shard: u32, counter: u64) -> Vec<u8> {
    let mut k = records_prefix(stream, shard);
    k.extend_from_slice(&counter.to_be_bytes());
    k
}

pub fn counter_of_key(key: &[u8]) -> u64 {
    key.len().checked_sub(8).and_then(|at| key.get(at..)).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes)
}

pub fn counter_name(stream: u64) -> String {
    format!("kinesis/records/{stream}")
}

/// A stored record: arrival time, whether it was encrypted, partition key and data.
pub struct Stored<'a> {
    pub arrival_ms: u64,
    pub encrypted: bool,
    pub partition_key: &'a str,
    pub data: &'a [u8],
}

impl<'a> Stored<'a> {
    pub fn encode(arrival_ms: u64, encrypted: bool, partition_key: &str, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(11 + partition_key.len() + data.len());
        v.extend_from_slice(&arrival_ms.to_be_bytes());
        v.push(u8::from(encrypted));
        v.extend_from_slice(&(partition_key.len() as u16).to_be_bytes());
        v.extend_from_slice(partition_key.as_bytes());
        v.extend_from_slice(data);
        v
    }

    pub fn decode(v: &'a [u8]) -> Option<Self> {
        let arrival_ms = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
        let encrypted = *v.get(8)? != 0;
        let len = usize::from(u16::from_be_bytes(v.get(9..11)?.try_into().ok()?));
        let partition_key = std::str::from_utf8(v.get(11..11 + len)?).ok()?;
        Some(Stored { arrival_ms, encrypted, partition_key, data: v.get(11 + len..)? })
    }
}

/// The stream `name`, decoded once per thread while its stored bytes are unchanged (PutRecord
/// reads it on every call).
pub fn load(r: &mut dyn ReadTxn, account: &str, region: &str, name: &str) -> Result<Option<StreamRecord>, AwsError> {
    let key = stream_key(account, region, name);
    let Some(bytes) = r.get(&key)? else { return Ok(None) };
    stratus_storage::decoded(&key, bytes, |b| serde_json::from_slice(b).map_err(|e| AwsError::internal(e.to_string())))
        .map(Some)
}

pub fn save(t: &mut dyn Txn, s: &StreamRecord) -> Result<(), AwsError> {
    let bytes = serde_json::to_vec(s).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&stream_key(&s.account, &s.region, &s.name), &bytes)?;
    Ok(())
}

/// Which stream a request names: `StreamARN` (in its own account and region) or `StreamName`
/// (in the caller's).
#[derive(Debug, Clone)]
pub struct StreamRef {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl StreamRef {
    pub fn arn(&self) -> String {
        stream_arn(&self.region, &self.account, &self.name)
    }

    pub fn load(&self, r: &mut dyn ReadTxn) -> Result<StreamRecord, AwsError> {
        load(r, &self.account, &self.region, &self.name)?.ok_or_else(|| stream_not_found(&self.name, &self.account))
    }
}

/// `(account, region, stream name, rest after the name)` of a Kinesis stream or consumer ARN.
pub fn parse_arn(arn: &str) -> Option<(String, String, String, Option<String>)> {
    let a = stratus_core::Arn::parse(arn).filter(|a| a.service == "kinesis")?;
    let rest = a.resource.strip_prefix("stream/")?;
    let (name, tail) = match rest.split_once('/') {
        Some((n, t)) => (n, Some(t.to_string())),
        None => (rest, None),
    };
    if name.is_empty() || a.account.is_empty() || a.region.is_empty() {
        return None;
    }
    Some((a.account.to_string(), a.region.to_string(), name.to_string(), tail))
}

pub fn stream_ref(ctx: &RequestContext, input: &Json) -> Result<StreamRef, AwsError> {
    let name = input.get("StreamName").and_then(Json::as_str);
    let arn = input.get("StreamARN").and_then(Json::as_str);
    match (name, arn) {
        (_, Some(arn)) => {
            let (account, region, stream, tail) = parse_arn(arn)
                .filter(|p| p.3.is_none())
                .ok_or_else(|| invalid_argument(format!("Invalid StreamARN {arn}")))?;
            let _ = tail;
            if let Some(n) = name
                && n != stream
            {
                return Err(invalid_argument(format!(
                    "StreamName {n} does not match the stream name in StreamARN {arn}."
                )));
            }
            Ok(StreamRef { account, region, name: stream })
        }
        (Some(n), None) => Ok(StreamRef { account: ctx.account.clone(), region: ctx.region.clone(), name: n.into() }),
        (None, None) => Err(crate::errors::validation("Either StreamName or StreamARN should be provided.")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn even_ranges_match_aws() {
        let one = even_ranges(1);
        assert_eq!(one, vec![(0, MAX_HASH)]);
        let two = even_ranges(2);
        assert_eq!(two[0], (0, (1u128 << 127) - 1));
        assert_eq!(two[1], (1u128 << 127, MAX_HASH));
        let four = even_ranges(4);
        assert_eq!(four[1].0.to_string(), "85070591730234615865843651857942052864");
        let three = even_ranges(3);
        assert_eq!(three[1].0.to_string(), "113427455640312821154458202477256070485");
        for n in [1, 2, 3, 5, 7, 10, 500] {
            let r = even_ranges(n);
            assert_eq!(r.len(), n as usize);
            assert_eq!(r[0].0, 0);
            assert_eq!(r.last().unwrap().1, MAX_HASH);
            for w in r.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0);
            }
        }
    }

    #[test]
    fn md5_hash_keys() {
        // int(hashlib.md5(b"a").hexdigest(), 16)
        assert_eq!(hash_key("a").to_string(), "16955237001963240173058271559858726497");
    }

    #[test]
    fn stored_records_round_trip() {
        let v = Stored::encode(42, true, "pk", b"data");
        let s = Stored::decode(&v).unwrap();
        assert_eq!((s.arrival_ms, s.encrypted, s.partition_key, s.data), (42, true, "pk", &b"data"[..]));
        assert!(Stored::decode(&v[..5]).is_none());
    }

    #[test]
    fn shard_ids() {
        assert_eq!(shard_id(3), "shardId-000000000003");
        assert_eq!(parse_shard_id("shardId-000000000003"), Some(3));
        assert_eq!(parse_shard_id("shardId-3"), Some(3));
        assert_eq!(parse_shard_id("anything-0"), Some(0));
        assert_eq!(parse_shard_id("7"), Some(7));
        assert_eq!(parse_shard_id("2147483648"), None);
        assert_eq!(parse_shard_id("ABKLFD8"), None);
    }
}
