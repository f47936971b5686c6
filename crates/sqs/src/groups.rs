//! What is kept beside the messages so that deep queues stay fast: the count of messages of
//! each queue, and for FIFO queues each message group's messages in send order plus the head
//! (oldest message) of every group, ordered by the head's sequence number. A receive visits
//! groups oldest head first, reading only the groups it skips (in flight) or takes, never the
//! backlog behind them. Only queues with `QueueRecord::indexed` have them.

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
pub(crate) fn added(t: &mut dyn Txn, q: &QueueRecord, group: Option<&str>, seq: u64) -> Result<(), AwsError> {
    if !q.indexed {
        return Ok(());
    }
    count(t, q.id, 1)?;
    if let (true, Some(g)) = (q.is_fifo(), group) {
        // The group's first message becomes its head; later ones queue behind it.
        if scan_prefix(t, &keys::group_messages(q.id, g), 1)?.is_empty() {
            t.put(&keys::head(q.id, seq), g.as_bytes())?;
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
        {
            t.put(&keys::head(queue_id, next), g.as_bytes())?;
        }
    }
    Ok(())
}

/// Up to `limit` group heads from `after` on: (head sequence, group), oldest first.
pub(crate) fn heads(
    r: &mut dyn ReadTxn,
    queue_id: u64,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<(u64, String)>, AwsError> {
    let prefix = keys::heads(queue_id);
    let start = match after {
        Some(seq) => keys::head(queue_id, seq + 1),
        None => prefix.clone(),
    };
    let end = stratus_storage::prefix_end(&prefix);
    Ok(r.scan(&start, end.as_deref(), limit)?
        .into_iter()
        .filter_map(|(k, v)| Some((keys::message_seq(&k)?, String::from_utf8(v).ok()?)))
        .collect())
}

/// Up to `limit` sequence numbers of a group's messages, oldest first.
pub(crate) fn group_seqs(r: &mut dyn ReadTxn, queue_id: u64, group: &str, limit: usize) -> Result<Vec<u64>, AwsError> {
    Ok(scan_prefix(r, &keys::group_messages(queue_id, group), limit)?
        .into_iter()
        .filter_map(|(k, _)| keys::message_seq(&k))
        .collect())
}
