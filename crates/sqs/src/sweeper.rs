//! Background upkeep: messages past their queue's retention period, and FIFO deduplication
//! entries and receive attempts past their five minutes, are deleted. Finding them is a read; a write happens only
//! when there is something to delete, so an idle server does not sync the disk every tick.

use std::sync::Arc;
use std::time::Duration;

use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, scan_prefix};

use crate::message::StoredMessage;
use crate::queue::QueueRecord;
use crate::{Inner, keys};

const TICK: Duration = Duration::from_secs(1);
/// Deduplication entries are swept every this many ticks.
const DEDUP_EVERY: u64 = 30;

pub(crate) async fn run(i: Arc<Inner>) {
    let mut tick = 0u64;
    while !i.closing() {
        tokio::time::sleep(TICK).await;
        tick += 1;
        if let Err(e) = sweep(&i, tick.is_multiple_of(DEDUP_EVERY)).await {
            tracing::warn!(error = %e, "sqs sweep failed");
        }
    }
}

/// What a sweep found: expired messages (queue id, retention, message key) and dedup entries.
#[derive(Default)]
struct Found {
    messages: Vec<(u64, u64, Vec<u8>)>,
    dedups: Vec<Vec<u8>>,
}

fn expired(r: &mut dyn ReadTxn, now: u64, dedup: bool) -> Result<Found, AwsError> {
    let mut found = Found::default();
    for (_, v) in scan_prefix(r, b"sqs/q/", usize::MAX)? {
        let Ok(q) = serde_json::from_slice::<QueueRecord>(&v) else { continue };
        let retention = q.retention_seconds() * 1000;
        // Messages are stored in send order, so the expired ones come first.
        for (k, v) in scan_prefix(r, &keys::messages(q.id), 1024)? {
            let Ok(m) = serde_json::from_slice::<StoredMessage>(&v) else { continue };
            if m.sent + retention > now {
                break;
            }
            found.messages.push((q.id, retention, k));
        }
        if dedup {
            for prefix in [keys::dedups(q.id), keys::attempts(q.id)] {
                for (k, v) in scan_prefix(r, &prefix, usize::MAX)? {
                    if dedup_expires(&v).is_none_or(|e| e <= now) {
                        found.dedups.push(k);
                    }
                }
            }
        }
    }
    Ok(found)
}

fn dedup_expires(v: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(v).ok()?.get("expires")?.as_u64()
}

async fn sweep(i: &Inner, dedup: bool) -> Result<(), AwsError> {
    let now = i.now();
    let found = i.read(move |r| expired(r, now, dedup)).await?;
    if found.messages.is_empty() && found.dedups.is_empty() {
        return Ok(());
    }
    let n = found.messages.len() + found.dedups.len();
    i.store
        .write(move |t| {
            // Read again inside the transaction: a message may have been received (and its
            // index key moved) since the scan.
            for (queue_id, retention, k) in found.messages {
                let Some(v) = t.get(&k)? else { continue };
                let Ok(m) = serde_json::from_slice::<StoredMessage>(&v) else { continue };
                if m.sent + retention <= now
                    && let Some(seq) = keys::message_seq(&k)
                {
                    crate::messages::remove_message(t, queue_id, seq, &m)?;
                }
            }
            for k in found.dedups {
                if t.get(&k)?.is_some_and(|v| dedup_expires(&v).is_none_or(|e| e <= now)) {
                    t.delete(&k)?;
                }
            }
            Ok::<_, AwsError>(())
        })
        .await?;
    tracing::debug!(keys = n, "sqs sweep removed expired entries");
    Ok(())
}
