//! Background upkeep: events older than their group's retention period are deleted. Reads never
//! return such events anyway (they are cut off by time); the sweep reclaims the space. Finding
//! them is a read; a write happens only when there is something to delete.

use std::sync::Arc;
use std::time::Duration;

use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, scan_prefix};

use crate::group::{GroupRecord, GroupRef, decode_stream, load_stream, save_group, save_stream};
use crate::{Inner, keys};

const TICK: Duration = Duration::from_secs(30);
/// Events deleted per stream per sweep (the rest go in the next sweep).
const BATCH: usize = 10_000;

pub(crate) async fn run(i: Arc<Inner>) {
    while !i.closing() {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = i.closing_signal.notified() => {}
        }
        if i.closing() {
            break;
        }
        if let Err(e) = sweep(&i).await {
            tracing::warn!(error = %e, "logs retention sweep failed");
        }
    }
}

/// Streams that hold events past their group's retention: (group, stream name).
fn expired(r: &mut dyn ReadTxn, now: u64) -> Result<Vec<(GroupRef, u64, String)>, AwsError> {
    let mut found = Vec::new();
    for (_, v) in scan_prefix(r, &keys::all_groups(), usize::MAX)? {
        let Ok(g) = serde_json::from_slice::<GroupRecord>(&v) else { continue };
        let cutoff = g.retention_cutoff(now);
        if cutoff == 0 {
            continue;
        }
        for (_, sv) in scan_prefix(r, &keys::streams(g.id), usize::MAX)? {
            let s = decode_stream(&sv)?;
            let start = keys::stream_events(g.id, s.id);
            let end = keys::event(g.id, s.id, cutoff, 0);
            if !r.scan(&start, Some(&end), 1)?.is_empty() {
                let group = GroupRef { account: g.account.clone(), region: g.region.clone(), name: g.name.clone() };
                found.push((group, g.id, s.name));
            }
        }
    }
    Ok(found)
}

/// Deletes expired events; returns how many.
pub(crate) async fn sweep(i: &Inner) -> Result<usize, AwsError> {
    let now = i.now();
    let found = i.read(move |r| expired(r, now)).await?;
    if found.is_empty() {
        return Ok(0);
    }
    let deleted = i
        .store
        .write(move |t| {
            let mut deleted = 0usize;
            for (group, id, stream) in found {
                // Read again inside the transaction: the group or its retention may have changed.
                let Ok(mut g) = group.load(t) else { continue };
                if g.id != id {
                    continue;
                }
                let cutoff = g.retention_cutoff(now);
                let Some(mut s) = load_stream(t, g.id, &stream)? else { continue };
                let start = keys::stream_events(g.id, s.id);
                let end = keys::event(g.id, s.id, cutoff, 0);
                let mut bytes = 0u64;
                for (k, v) in t.scan(&start, Some(&end), BATCH)? {
                    bytes += v.len().saturating_sub(8) as u64;
                    t.delete(&k)?;
                    deleted += 1;
                }
                s.stored_bytes = s.stored_bytes.saturating_sub(bytes);
                g.stored_bytes = g.stored_bytes.saturating_sub(bytes);
                save_stream(t, g.id, &s)?;
                save_group(t, &g)?;
            }
            Ok::<_, AwsError>(deleted)
        })
        .await?;
    tracing::debug!(events = deleted, "logs retention sweep removed expired events");
    Ok(deleted)
}
