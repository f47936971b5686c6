//! Where CloudWatch Logs keeps things in the store. Groups are named by account, region and
//! name; streams and events hang off the group's numeric id, so deleting a group is three range
//! deletes and reading a stream by time is one range scan.
//!
//! - `logs/g/{account}/{region}/{name}` → log group record (JSON)
//! - `logs/s/{group id}{stream name}` → log stream record (JSON)
//! - `logs/e/{group id}{stream id}{timestamp}{seq}` → event: ingestion time (8 bytes) then the
//!   message (UTF-8). Ids, timestamps and sequence numbers are big-endian `u64`, so events of a
//!   stream sort by timestamp, and events with the same timestamp by ingestion order (`seq` comes
//!   from one sequence for the whole service, so the order also holds across streams).

pub const GROUP_IDS: &str = "logs/group-id";
pub const STREAM_IDS: &str = "logs/stream-id";
pub const EVENT_SEQ: &str = "logs/event-seq";

fn with_id(prefix: &[u8], id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 32);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

pub fn all_groups() -> Vec<u8> {
    b"logs/g/".to_vec()
}

pub fn groups(account: &str, region: &str) -> Vec<u8> {
    format!("logs/g/{account}/{region}/").into_bytes()
}

pub fn group(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("logs/g/{account}/{region}/{name}").into_bytes()
}

pub fn streams(group_id: u64) -> Vec<u8> {
    with_id(b"logs/s/", group_id)
}

pub fn stream(group_id: u64, name: &str) -> Vec<u8> {
    let mut k = streams(group_id);
    k.extend_from_slice(name.as_bytes());
    k
}

/// Every event of a group.
pub fn group_events(group_id: u64) -> Vec<u8> {
    with_id(b"logs/e/", group_id)
}

/// Every event of a stream.
pub fn stream_events(group_id: u64, stream_id: u64) -> Vec<u8> {
    let mut k = group_events(group_id);
    k.extend_from_slice(&stream_id.to_be_bytes());
    k
}

pub fn event(group_id: u64, stream_id: u64, timestamp: u64, seq: u64) -> Vec<u8> {
    let mut k = stream_events(group_id, stream_id);
    k.extend_from_slice(&timestamp.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// (timestamp, seq) at the end of an event key.
pub fn parse_event(key: &[u8]) -> Option<(u64, u64)> {
    let n = key.len();
    let ts = u64::from_be_bytes(key.get(n.checked_sub(16)?..n - 8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(key.get(n - 8..)?.try_into().ok()?);
    Some((ts, seq))
}

/// An event value: ingestion time, then the message.
pub fn event_value(ingestion: u64, message: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + message.len());
    v.extend_from_slice(&ingestion.to_be_bytes());
    v.extend_from_slice(message.as_bytes());
    v
}

/// (ingestion time, message) of an event value.
pub fn parse_event_value(v: &[u8]) -> Option<(u64, String)> {
    let ingestion = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
    let message = String::from_utf8(v.get(8..)?.to_vec()).ok()?;
    Some((ingestion, message))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_by_time_then_sequence() {
        let a = event(1, 2, 5, 9);
        let b = event(1, 2, 6, 1);
        let c = event(1, 2, 6, 2);
        assert!(a < b && b < c);
        assert!(a.starts_with(&stream_events(1, 2)));
        assert_eq!(parse_event(&c), Some((6, 2)));
        let v = event_value(42, "héllo");
        assert_eq!(parse_event_value(&v).unwrap(), (42, "héllo".to_string()));
    }
}
