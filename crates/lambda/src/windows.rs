//! Tumbling windows of stream mappings (TumblingWindowInSeconds): records are grouped into
//! fixed, non-overlapping windows by when they were written; the function receives each group
//! with the window, the state it returned for the window so far, and the shard, and returns
//! the new `state`. When the window is over (a record of a later window arrives, or its end
//! passes), a last invocation with `isFinalInvokeForWindow: true` hands over the final state,
//! and the next window starts from an empty state.
//!
//! The window and its state are kept with the shard's checkpoint
//! (`lambda/esm-window/{uuid}/{shard}`), so a restart resumes the window where it was.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_proto::AwsError;

use crate::Inner;
use crate::esm::Mapping;
use crate::source::StreamRecord;
use crate::streams::{StreamOptions, backoff, exhausted, give_up, record_values, save_checkpoint};

/// The window being aggregated on a shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: u64,
    pub state: Value,
}

fn key(uuid: &str, shard: &str) -> Vec<u8> {
    format!("lambda/esm-window/{uuid}/{shard}").into_bytes()
}

pub async fn load(i: &Inner, uuid: &str, shard: &str) -> Result<Option<Window>, AwsError> {
    let key = key(uuid, shard);
    i.read(move |r| Ok(r.get(&key)?.and_then(|v| serde_json::from_slice(&v).ok()))).await
}

async fn save(i: &Inner, uuid: &str, shard: &str, w: Option<&Window>) -> Result<(), AwsError> {
    let key = key(uuid, shard);
    let value = w.map(|w| serde_json::to_vec(w).unwrap_or_default());
    i.store
        .write(move |t| match &value {
            Some(v) => t.put(&key, v).map_err(AwsError::from),
            None => t.delete(&key).map_err(AwsError::from),
        })
        .await
}

fn length_ms(opts: &StreamOptions) -> u64 {
    u64::from(opts.tumbling_window_s) * 1000
}

fn start_of(opts: &StreamOptions, written_ms: u64) -> u64 {
    written_ms - written_ms % length_ms(opts).max(1)
}

/// Invokes the function for `records` of `window`; the state it returned.
async fn invoke(
    i: &Arc<Inner>,
    m: &Mapping,
    opts: &StreamOptions,
    shard: &str,
    window: &Window,
    records: &[StreamRecord],
    last: bool,
) -> Result<Value, ()> {
    let end = window.start_ms + length_ms(opts);
    let event = json!({
        "Records": record_values(i, m, records).await,
        "window": {
            "start": stratus_core::time::iso8601_secs(window.start_ms / 1000),
            "end": stratus_core::time::iso8601_secs(end / 1000),
        },
        "state": window.state,
        "shardId": shard,
        "eventSourceARN": m.event_source_arn,
        "isFinalInvokeForWindow": last,
        "isWindowTerminatedEarly": false,
    });
    match crate::invoke::invoke_internal(i, &m.account, &m.region, &m.function_arn, event.to_string().into_bytes())
        .await
    {
        Ok(r) if r.function_error.is_none() => {
            let out: Value = serde_json::from_slice(&r.payload).unwrap_or(Value::Null);
            Ok(match out.get("state") {
                Some(s) if s.is_object() => s.clone(),
                _ => json!({}),
            })
        }
        Ok(_) => Err(()),
        Err(e) => {
            tracing::debug!(error = %e, mapping = %m.uuid, "window batch not invoked");
            Err(())
        }
    }
}

/// Delivers one invocation, retrying as the mapping says; the new state, or None when the
/// records were given up on (sent to the OnFailure destination).
#[allow(clippy::too_many_arguments)]
async fn deliver(
    i: &Arc<Inner>,
    m: &Mapping,
    opts: &StreamOptions,
    shard: &str,
    window: &Window,
    records: &[StreamRecord],
    last: bool,
    running: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Value>, ()> {
    let mut attempts = 0;
    loop {
        if !running() {
            return Err(());
        }
        attempts += 1;
        match invoke(i, m, opts, shard, window, records, last).await {
            Ok(state) => {
                i.pollers.note(&m.uuid, "OK");
                return Ok(Some(state));
            }
            Err(()) => {
                i.pollers.note(&m.uuid, "PROBLEM: Function call failed");
                if exhausted(opts, attempts, records, i.now()) {
                    give_up(i, m, opts, shard, records, attempts).await;
                    return Ok(None);
                }
                tokio::time::sleep(backoff(attempts)).await;
            }
        }
    }
}

/// Processes a batch by windows: ends the current window when a record of a later one comes,
/// and carries each window's state. Returns the checkpoint to save (`Err`: stopped; read again
/// from the checkpoint).
pub async fn process(
    i: &Arc<Inner>,
    m: &Mapping,
    opts: &StreamOptions,
    shard: &str,
    batch: Vec<StreamRecord>,
    current: &mut Option<Window>,
    running: &(dyn Fn() -> bool + Sync),
) -> Result<Option<String>, ()> {
    let mut rest = batch.as_slice();
    while let Some(first) = rest.first() {
        let start = start_of(opts, first.written_ms);
        let n = rest.iter().take_while(|r| start_of(opts, r.written_ms) == start).count();
        let (group, later) = rest.split_at(n);
        if current.as_ref().is_some_and(|w| w.start_ms != start) {
            finish(i, m, opts, shard, current, running).await?;
        }
        let window = current.get_or_insert_with(|| Window { start_ms: start, state: json!({}) }).clone();
        if let Some(state) = deliver(i, m, opts, shard, &window, group, false, running).await? {
            *current = Some(Window { start_ms: start, state });
        }
        if let Some(last) = group.last() {
            let _ = save_checkpoint(i, &m.uuid, shard, &last.sequence).await;
        }
        let _ = save(i, &m.uuid, shard, current.as_ref()).await;
        rest = later;
    }
    Ok(None)
}

/// Ends the current window if its time is over (called while the shard is idle).
pub async fn close_if_over(
    i: &Arc<Inner>,
    m: &Mapping,
    opts: &StreamOptions,
    shard: &str,
    current: &mut Option<Window>,
    running: &(dyn Fn() -> bool + Sync),
) -> Result<(), ()> {
    if current.as_ref().is_some_and(|w| i.now() >= w.start_ms + length_ms(opts)) {
        finish(i, m, opts, shard, current, running).await?;
    }
    Ok(())
}

/// The final invocation of the current window; the next one starts empty.
async fn finish(
    i: &Arc<Inner>,
    m: &Mapping,
    opts: &StreamOptions,
    shard: &str,
    current: &mut Option<Window>,
    running: &(dyn Fn() -> bool + Sync),
) -> Result<(), ()> {
    let Some(w) = current.clone() else { return Ok(()) };
    deliver(i, m, opts, shard, &w, &[], true, running).await?;
    *current = None;
    let _ = save(i, &m.uuid, shard, None).await;
    Ok(())
}
