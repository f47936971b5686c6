//! What is kept beside the messages so that deep queues stay fast: the count of messages of
//! each queue, and for FIFO queues each message group's messages in send order plus the head
//! (oldest message) of every group, ordered by the head's sequence number, with the time the
//! head is visible from. A receive visits groups oldest head first, passing over groups whose
//! head is in flight by their index entry alone and reading only the messages it takes, never
//! the backlog behind them. Only queues with `QueueRecord::indexed` have them.

use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, scan_prefix};

use crate::keys;
use crate::queue::QueueRecord;

fn read_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

/// Adds `delta` to the queue's message count, where one is kept.
fn count(t: &mut dyn Txn, queue_id: u64, delta: i64) -> Result<(), AwsError> {
    let key = keys::count(queue_id);
    let Some(n) = t.get(&key)?.and_then(|v| read_u64(&v)) else { return Ok(()) };
    t.put(&key, &n.saturating_add_signed(delta).to_be_bytes())?;
    Ok(())
}

/// A message was stored (sent, dead-lettered, moved).
pub(crate) fn added(
    t: &mut dyn Txn,
    q: &QueueRecord,
    group: Option<&str>,
    seq: u64,
    visible_at: u64,
) -> Result<(), AwsError> {
    if !q.indexed {
        return Ok(());
    }
    count(t, q.id, 1)?;
    if let (true, Some(g)) = (q.is_fifo(), group) {
        // The group's first message becomes its head; later ones queue behind it.
        if scan_prefix(t, &keys::group_messages(q.id, g), 1)?.is_empty() {
            t.put(&keys::head(q.id, seq), &head_value(visible_at, g))?;
        }
        t.put(&keys::group_message(q.id, g, seq), &[])?;
    }
    Ok(())
}

/// A message left the queue (deleted, expired, dead-lettered). Safe for queues without the
/// index: nothing is there to change.
pub(crate) fn removed(t: &mut dyn Txn, queue_id: u64, group: Option<&str>, seq: u64) -> Result<(), AwsError> {
    count(t, queue_id, -1)?;
    let Some(g) = group else { return Ok(()) };
    t.delete(&keys::group_message(queue_id, g, seq))?;
    let head = keys::head(queue_id, seq);
    if t.get(&head)?.is_some() {
        t.delete(&head)?;
        // The group's next message, if any, is its new head.
        if let Some((k, _)) = scan_prefix(t, &keys::group_messages(queue_id, g), 1)?.into_iter().next()
            && let Some(next) = keys::message_seq(&k)
            && let Some(bytes) = t.get(&keys::message(queue_id, next))?
        {
            let m = crate::message::decode_stored(&bytes)?;
            t.put(&keys::head(queue_id, next), &head_value(m.visible_at, g))?;
        }
    }
    Ok(())
}

/// A message's visibility changed (received, visibility timeout changed): if it is its group's
/// head, the head entry says so.
pub(crate) fn moved(t: &mut dyn Txn, queue_id: u64, seq: u64, visible_at: u64) -> Result<(), AwsError> {
    let key = keys::head(queue_id, seq);
    if let Some(v) = t.get(&key)?
        && let Some((_, group)) = parse_head(&v)
    {
        let value = head_value(visible_at, &group);
        t.put(&key, &value)?;
    }
    Ok(())
}

/// A head entry's value: when the head is visible (ms, big-endian), then the group name.
fn head_value(visible_at: u64, group: &str) -> Vec<u8> {
    let mut v = visible_at.to_be_bytes().to_vec();
    v.extend_from_slice(group.as_bytes());
    v
}

fn parse_head(v: &[u8]) -> Option<(u64, String)> {
    let at = read_u64(v.get(..8)?)?;
    Some((at, String::from_utf8(v.get(8..)?.to_vec()).ok()?))
}

/// A group's head: its sequence number, when it is visible, and the group.
pub(crate) struct Head {
    pub seq: u64,
    pub visible_at: u64,
    pub group: String,
}

/// Up to `limit` group heads from `after` on, oldest first.
pub(crate) fn heads(
    r: &mut dyn ReadTxn,
    queue_id: u64,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<Head>, AwsError> {
    let prefix = keys::heads(queue_id);
    let start = match after {
        Some(seq) => keys::head(queue_id, seq + 1),
        None => prefix.clone(),
    };
    let end = stratus_storage::prefix_end(&prefix);
    Ok(r.scan(&start, end.as_deref(), limit)?
        .into_iter()
        .filter_map(|(k, v)| {
            let (visible_at, group) = parse_head(&v)?;
            Some(Head { seq: keys::message_seq(&k)?, visible_at, group })
        })
        .collect())
}

/// Up to `limit` sequence numbers of a group's messages after `after` (from the first when
/// `None`), oldest first.
pub(crate) fn group_seqs(
    r: &mut dyn ReadTxn,
    queue_id: u64,
    group: &str,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<u64>, AwsError> {
    let prefix = keys::group_messages(queue_id, group);
    let start = match after {
        Some(seq) => keys::group_message(queue_id, group, seq + 1),
        None => prefix.clone(),
    };
    let end = stratus_storage::prefix_end(&prefix);
    Ok(r.scan(&start, end.as_deref(), limit)?.into_iter().filter_map(|(k, _)| keys::message_seq(&k)).collect())
}
