//! Where SQS keeps things in the store. Queue records are named by account, region and name;
//! everything else hangs off the queue's numeric id.
//!
//! - `sqs/q/{account}/{region}/{name}` → queue record (JSON)
//! - `sqs/m/{id}{seq}` → message (JSON), `seq` ascending in send order
//! - `sqs/v/{id}{visible_at}{seq}` → visibility index: `[0]` never received, `[1]` received
//! - `sqs/d/{id}{scope}` → FIFO deduplication entry
//! - `sqs/r/{id}{attempt}` → FIFO receive attempt (ReceiveRequestAttemptId) and what it returned
//! - `sqs/t/{account}/{region}/{task}` → message move task
//! - `sqs/gone/{account}/{region}/{name}` → when a queue of that name was deleted (ms)
//! - `sqs/n/{id}` → how many messages the queue holds (u64), so that the counts of
//!   GetQueueAttributes do not scan the visible backlog
//! - `sqs/g/{id}{group}\0{seq}` → a FIFO group's messages in send order
//! - `sqs/h/{id}{seq}` → group name: each FIFO group's oldest message (its head), so that a
//!   receive visits groups in the order of their oldest message without reading the backlog

fn with_id(prefix: &[u8], id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 24);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

pub fn queue(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("sqs/q/{account}/{region}/{name}").into_bytes()
}

pub fn queues(account: &str, region: &str) -> Vec<u8> {
    format!("sqs/q/{account}/{region}/").into_bytes()
}

pub fn messages(id: u64) -> Vec<u8> {
    with_id(b"sqs/m/", id)
}

pub fn message(id: u64, seq: u64) -> Vec<u8> {
    let mut k = messages(id);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The sequence number at the end of a message key.
pub fn message_seq(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(key.len().checked_sub(8)?..)?.try_into().ok()?))
}

pub fn visibility(id: u64) -> Vec<u8> {
    with_id(b"sqs/v/", id)
}

pub fn visible(id: u64, at: u64, seq: u64) -> Vec<u8> {
    let mut k = visibility(id);
    k.extend_from_slice(&at.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// (visible_at, seq) of a visibility index key.
pub fn parse_visible(key: &[u8]) -> Option<(u64, u64)> {
    let n = key.len();
    let at = u64::from_be_bytes(key.get(n.checked_sub(16)?..n - 8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(key.get(n - 8..)?.try_into().ok()?);
    Some((at, seq))
}

pub fn dedups(id: u64) -> Vec<u8> {
    with_id(b"sqs/d/", id)
}

pub fn dedup(id: u64, scope: &str) -> Vec<u8> {
    let mut k = dedups(id);
    k.extend_from_slice(scope.as_bytes());
    k
}

pub fn attempts(id: u64) -> Vec<u8> {
    with_id(b"sqs/r/", id)
}

pub fn attempt(id: u64, attempt: &str) -> Vec<u8> {
    let mut k = attempts(id);
    k.extend_from_slice(attempt.as_bytes());
    k
}

pub fn tasks(account: &str, region: &str) -> Vec<u8> {
    format!("sqs/t/{account}/{region}/").into_bytes()
}

pub fn task(account: &str, region: &str, task: &str) -> Vec<u8> {
    format!("sqs/t/{account}/{region}/{task}").into_bytes()
}

pub fn all_tasks() -> Vec<u8> {
    b"sqs/t/".to_vec()
}

pub fn gone(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("sqs/gone/{account}/{region}/{name}").into_bytes()
}

pub fn count(id: u64) -> Vec<u8> {
    with_id(b"sqs/n/", id)
}

pub fn groups(id: u64) -> Vec<u8> {
    with_id(b"sqs/g/", id)
}

pub fn group_messages(id: u64, group: &str) -> Vec<u8> {
    let mut k = groups(id);
    k.extend_from_slice(group.as_bytes());
    k.push(0);
    k
}

pub fn group_message(id: u64, group: &str, seq: u64) -> Vec<u8> {
    let mut k = group_messages(id, group);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub fn heads(id: u64) -> Vec<u8> {
    with_id(b"sqs/h/", id)
}

pub fn head(id: u64, seq: u64) -> Vec<u8> {
    let mut k = heads(id);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub const QUEUE_IDS: &str = "sqs/queue-id";

pub fn message_sequence(id: u64) -> String {
    format!("sqs/msg/{id}")
}
