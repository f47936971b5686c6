//! The stream event source engine (DynamoDB Streams and Kinesis share it): one poller per
//! shard reads records in order from its checkpoint, gathers a batch (BatchSize records or
//! MaximumBatchingWindowInSeconds), drops what FilterCriteria does not match, invokes the
//! function, and on success moves the checkpoint durably past the batch. A failed batch is
//! retried (split in half each time with BisectBatchOnFunctionError) until it succeeds, its
//! retries (MaximumRetryAttempts) or its records' age (MaximumRecordAgeInSeconds) run out —
//! then its description goes to the OnFailure destination and the shard moves on.
//! ReportBatchItemFailures moves the checkpoint to just before the first failed record.
//!
//! Checkpoints are records of the store (`keys::checkpoint`), so a restarted server resumes
//! after the last batch that succeeded: delivery is at least once and never skips a record.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_proto::AwsError;

use crate::Inner;
use crate::esm::Mapping;
use crate::source::{StreamRecord, StreamSource, StreamStart};

/// How often an idle shard is read (AWS polls four times a second).
const IDLE_POLL: Duration = Duration::from_millis(250);
/// A batch is also cut at 6 MB (the synchronous invoke payload limit).
const MAX_BATCH_BYTES: usize = 6 * 1024 * 1024;

/// What a stream mapping adds to a queue mapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamOptions {
    /// `TRIM_HORIZON`, `LATEST` or `AT_TIMESTAMP`.
    pub starting_position: String,
    pub starting_timestamp_ms: Option<u64>,
    /// −1: until the records expire.
    pub max_retries: i64,
    /// −1: no limit.
    pub max_record_age_s: i64,
    pub bisect: bool,
    pub parallelization: u32,
    pub on_failure: Option<String>,
    pub tumbling_window_s: u32,
}

impl StreamOptions {
    pub fn render(&self, out: &mut serde_json::Map<String, Value>) {
        out.insert("StartingPosition".into(), json!(self.starting_position));
        if let Some(t) = self.starting_timestamp_ms {
            out.insert("StartingPositionTimestamp".into(), json!(t as f64 / 1000.0));
        }
        out.insert("MaximumRetryAttempts".into(), json!(self.max_retries));
        out.insert("MaximumRecordAgeInSeconds".into(), json!(self.max_record_age_s));
        out.insert("BisectBatchOnFunctionError".into(), json!(self.bisect));
        out.insert("ParallelizationFactor".into(), json!(self.parallelization));
        out.insert("TumblingWindowInSeconds".into(), json!(self.tumbling_window_s));
        let on_failure = match &self.on_failure {
            Some(d) => json!({"Destination": d}),
            None => json!({}),
        };
        out.insert("DestinationConfig".into(), json!({"OnFailure": on_failure}));
        out.insert("LastProcessingResult".into(), json!("No records processed"));
    }
}

fn checkpoint_key(uuid: &str, shard: &str) -> Vec<u8> {
    format!("lambda/esm-cp/{uuid}/{shard}").into_bytes()
}

async fn load_checkpoint(i: &Inner, uuid: &str, shard: &str) -> Result<Option<String>, AwsError> {
    let key = checkpoint_key(uuid, shard);
    i.read(move |r| Ok(r.get(&key)?.map(|v| String::from_utf8_lossy(&v).into_owned()))).await
}

pub(crate) async fn save_checkpoint(i: &Inner, uuid: &str, shard: &str, sequence: &str) -> Result<(), AwsError> {
    let (key, value) = (checkpoint_key(uuid, shard), sequence.as_bytes().to_vec());
    i.store.write(move |t| t.put(&key, &value).map_err(AwsError::from)).await
}

/// Forgets a deleted mapping's checkpoints.
pub async fn forget(i: &Inner, uuid: &str) -> Result<(), AwsError> {
    let prefixes = ["esm-cp", "esm-done", "esm-window"].map(|k| format!("lambda/{k}/{uuid}/").into_bytes());
    i.store
        .write(move |t| {
            for prefix in &prefixes {
                let end = stratus_storage::prefix_end(prefix);
                t.delete_range(prefix, end.as_deref())?;
            }
            Ok::<_, AwsError>(())
        })
        .await
}

fn done_key(uuid: &str, shard: &str) -> Vec<u8> {
    format!("lambda/esm-done/{uuid}/{shard}").into_bytes()
}

/// How a shard was finished: read to its end (its children start at their beginning), or
/// skipped because the mapping started after it closed (LATEST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    Read,
    Skipped,
}

async fn finished(i: &Inner, uuid: &str, shard: &str) -> Result<Option<Finished>, AwsError> {
    let key = done_key(uuid, shard);
    i.read(move |r| Ok(r.get(&key)?.map(|v| if v.as_slice() == b"read" { Finished::Read } else { Finished::Skipped })))
        .await
}

async fn finish(i: &Inner, uuid: &str, shard: &str, how: Finished) -> Result<(), AwsError> {
    let key = done_key(uuid, shard);
    let value: &'static [u8] = if how == Finished::Read { b"read" } else { b"skipped" };
    i.store.write(move |t| t.put(&key, value).map_err(AwsError::from)).await
}

/// Follows the mapping's stream: starts a poller for each shard whose parents are finished
/// (in lineage order, so a key's records stay in order across resharding), and looks for new
/// shards whenever the stream changes.
pub fn start(i: &Arc<Inner>, m: &Mapping, stop: Arc<AtomicBool>) {
    let (i, m) = (i.clone(), m.clone());
    tokio::spawn(async move {
        let Some(source) = i.stream_source.get().cloned() else { return };
        let Some(opts) = m.stream.clone() else { return };
        let running = || !stop.load(Ordering::SeqCst) && !i.closing();
        let mut started: std::collections::HashSet<String> = Default::default();
        while running() {
            let version = source.version(&m.event_source_arn);
            let shards = match source.shards(&m.event_source_arn).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(mapping = %m.uuid, error = %e, "cannot list the stream's shards; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            let listed: std::collections::HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
            for shard in &shards {
                if started.contains(&shard.id) {
                    continue;
                }
                let mut parents_read = !shard.parents.is_empty();
                let mut ready = true;
                for p in shard.parents.iter().filter(|p| listed.contains(p.as_str())) {
                    match finished(&i, &m.uuid, p).await {
                        Ok(Some(Finished::Read)) => {}
                        Ok(Some(Finished::Skipped)) => parents_read = false,
                        _ => ready = false,
                    }
                }
                if !ready {
                    continue;
                }
                if matches!(finished(&i, &m.uuid, &shard.id).await, Ok(Some(_))) {
                    started.insert(shard.id.clone());
                    continue;
                }
                // A child of shards read to their end starts at its beginning; a shard closed
                // before a LATEST mapping began is skipped.
                let start = if parents_read && shard.parents.iter().all(|p| listed.contains(p.as_str())) {
                    StreamStart::TrimHorizon
                } else if !shard.open && opts.starting_position == "LATEST" {
                    let _ = finish(&i, &m.uuid, &shard.id, Finished::Skipped).await;
                    started.insert(shard.id.clone());
                    continue;
                } else {
                    start_of(&opts)
                };
                started.insert(shard.id.clone());
                tokio::spawn(poll_shard(i.clone(), source.clone(), m.clone(), shard.id.clone(), start, stop.clone()));
            }
            // Look again when the stream changes (a reshard, a shard read to its end).
            let _ = tokio::time::timeout(Duration::from_secs(1), source.wait(&m.event_source_arn, version)).await;
        }
    });
}

fn start_of(opts: &StreamOptions) -> StreamStart {
    match opts.starting_position.as_str() {
        "LATEST" => StreamStart::Latest,
        "AT_TIMESTAMP" => StreamStart::AtTimestamp(opts.starting_timestamp_ms.unwrap_or(0)),
        _ => StreamStart::TrimHorizon,
    }
}

async fn poll_shard(
    i: Arc<Inner>,
    source: Arc<dyn StreamSource>,
    m: Mapping,
    shard: String,
    first: StreamStart,
    stop: Arc<AtomicBool>,
) {
    let Some(opts) = m.stream.clone() else { return };
    let running = || !stop.load(Ordering::SeqCst) && !i.closing();
    let mut retry: Option<(String, u64)> = None;
    let windowed = opts.tumbling_window_s > 0;
    let mut window: Option<crate::windows::Window> = None;
    'restart: while running() {
        if windowed {
            match crate::windows::load(&i, &m.uuid, &shard).await {
                Ok(w) => window = w,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a stream window");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let start = match load_checkpoint(&i, &m.uuid, &shard).await {
            Ok(Some(seq)) => StreamStart::AfterSequence(seq),
            Ok(None) => first.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a stream checkpoint");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut iterator = match source.iterator(&m.event_source_arn, &shard, start).await {
            Ok(it) => it,
            Err(e) => {
                tracing::warn!(mapping = %m.uuid, error = %e, "cannot start reading the shard");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        while running() {
            // The poller reads as the function's execution role: while the role may not, the
            // shard waits where it is.
            if let Err(why) = role_may_read(&i, &m).await {
                tracing::warn!(mapping = %m.uuid, %why, "the stream cannot be read with the function's role");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            let version = source.version(&m.event_source_arn);
            let (batch, next) = match gather(&source, &m, &mut iterator, &running).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::debug!(mapping = %m.uuid, error = %e, "stream read failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue 'restart;
                }
            };
            if batch.is_empty() {
                if !next {
                    // A closed shard read to its end: its children may start.
                    if let Err(e) = finish(&i, &m.uuid, &shard, Finished::Read).await {
                        tracing::warn!(error = %e, "cannot record a finished shard");
                    }
                    return;
                }
                if windowed
                    && crate::windows::close_if_over(&i, &m, &opts, &shard, &mut window, &running).await.is_err()
                {
                    continue 'restart;
                }
                // Wait for a change, or poll again after a while.
                let _ = tokio::time::timeout(IDLE_POLL, source.wait(&m.event_source_arn, version)).await;
                continue;
            }
            // Attempts already made on a batch that starts where a partly failed one did.
            let prior = retry
                .take()
                .filter(|(from, _)| batch.first().is_some_and(|r| &r.sequence == from))
                .map_or(0, |(_, n)| n);
            let outcome = if windowed {
                let kept = filtered(&m, batch);
                crate::windows::process(&i, &m, &opts, &shard, kept, &mut window, &running).await.map_err(|()| None)
            } else if opts.parallelization > 1 && batch.len() > 1 {
                process_in_parallel(&i, &m, &opts, &shard, batch, &stop).await
            } else {
                process(&i, &m, &opts, &shard, batch, &running, true, prior).await
            };
            match outcome {
                Ok(Some(checkpoint)) => {
                    if let Err(e) = save_checkpoint(&i, &m.uuid, &shard, &checkpoint).await {
                        tracing::warn!(error = %e, "cannot save a stream checkpoint");
                    }
                }
                Ok(None) => {}
                // Partly processed: start again from the checkpoint (the first failed record),
                // counting the attempts made so far.
                Err(carry) => {
                    retry = carry;
                    continue 'restart;
                }
            }
            if !next {
                // The batch ended the closed shard: one more (empty) read finishes it.
                continue 'restart;
            }
        }
    }
}

/// ParallelizationFactor: the batch split by partition key into that many parts, delivered
/// concurrently; a key's records stay in one part, in order. The checkpoint moves only when
/// every part is done (a failed part sends the shard back to the checkpoint: at least once).
async fn process_in_parallel(
    i: &Arc<Inner>,
    m: &Mapping,
    opts: &StreamOptions,
    shard: &str,
    batch: Vec<StreamRecord>,
    stop: &Arc<AtomicBool>,
) -> Result<Option<String>, Retry> {
    let last = batch.last().map(|r| r.sequence.clone());
    let n = opts.parallelization as usize;
    let mut parts: Vec<Vec<StreamRecord>> = vec![Vec::new(); n];
    for r in batch {
        let slot = key_slot(&r, n);
        parts[slot].push(r);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        let (i, m, opts, shard, stop) = (i.clone(), m.clone(), opts.clone(), shard.to_string(), stop.clone());
        tasks.spawn(async move {
            let running = || !stop.load(Ordering::SeqCst) && !i.closing();
            process(&i, &m, &opts, &shard, part, &running, false, 0).await
        });
    }
    let mut ok = true;
    while let Some(done) = tasks.join_next().await {
        ok &= matches!(done, Ok(Ok(_)));
    }
    if ok { Ok(last) } else { Err(None) }
}

/// Which part of a parallel batch a record belongs to: a hash of its partition key (a DynamoDB
/// record's keys, a Kinesis record's partition key).
fn key_slot(r: &StreamRecord, n: usize) -> usize {
    let key = r
        .data
        .get("kinesis")
        .and_then(|k| k.get("partitionKey"))
        .or_else(|| r.data.get("dynamodb").and_then(|d| d.get("Keys")));
    let text = key.map(Value::to_string).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % n as u64) as usize
}

async fn role_may_read(i: &Inner, m: &Mapping) -> Result<(), String> {
    let Some(roles) = i.roles.get() else { return Ok(()) };
    let (role, function) = crate::esm::current_role(i, m).await.map_err(|e| e.message)?;
    let prefix = if m.event_source_arn.contains(":kinesis:") { "kinesis" } else { "dynamodb" };
    roles.may(&role, &function, &format!("{prefix}:GetRecords"), &m.event_source_arn).await.map_err(|e| e.message)
}

/// Reads up to BatchSize records (waiting up to the batching window for more). Returns the
/// records and whether the shard is still open.
async fn gather(
    source: &Arc<dyn StreamSource>,
    m: &Mapping,
    iterator: &mut String,
    running: &(dyn Fn() -> bool + Sync),
) -> Result<(Vec<StreamRecord>, bool), AwsError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(m.window));
    let mut batch: Vec<StreamRecord> = Vec::new();
    let mut bytes = 0;
    loop {
        let want = m.batch_size.saturating_sub(batch.len() as u32).clamp(1, 1000);
        let (records, next) = source.read(&m.event_source_arn, iterator, want).await?;
        bytes += records.iter().map(|r| r.data.to_string().len()).sum::<usize>();
        batch.extend(records);
        let Some(next) = next else { return Ok((batch, false)) };
        *iterator = next;
        let full = batch.len() as u32 >= m.batch_size || bytes >= MAX_BATCH_BYTES;
        if full || tokio::time::Instant::now() >= deadline || !running() {
            return Ok((batch, true));
        }
        tokio::time::sleep(IDLE_POLL.min(deadline.saturating_duration_since(tokio::time::Instant::now()))).await;
    }
}

/// Where a partly failed batch left off: its first failed record and the attempts made, so
/// that retries count across the re-reads (None: nothing to carry).
type Retry = Option<(String, u64)>;

/// Invokes the function with the batch (retrying, bisecting, giving up as configured; `prior`
/// attempts were made already). Returns the checkpoint to save (the last record dealt with),
/// or `Err` when the shard must be read again from its checkpoint (a partial batch failure).
#[allow(clippy::too_many_arguments)]
async fn process(
    i: &Arc<Inner>,
    m: &Mapping,
    opts: &StreamOptions,
    shard: &str,
    batch: Vec<StreamRecord>,
    running: &(dyn Fn() -> bool + Sync),
    partial_checkpoints: bool,
    prior: u64,
) -> Result<Option<String>, Retry> {
    let last = batch.last().map(|r| r.sequence.clone());
    let kept = filtered(m, batch);
    // Work is a stack of slices still to deliver (bisection pushes halves).
    let work: Vec<Vec<StreamRecord>> = if kept.is_empty() { Vec::new() } else { vec![kept] };
    // Each slice carries the attempts made on it; splitting a batch does not count towards the
    // retry quota, so halves start afresh.
    let mut work: Vec<(Vec<StreamRecord>, u64)> = work.into_iter().map(|p| (p, prior)).collect();
    while let Some((part, mut attempts)) = work.pop() {
        loop {
            if !running() {
                return Err(None);
            }
            attempts += 1;
            let outcome = invoke(i, m, &part).await;
            let result = if matches!(outcome, Outcome::Done) { "OK" } else { "PROBLEM: Function call failed" };
            i.pollers.note(&m.uuid, result);
            match outcome {
                Outcome::Done => break,
                Outcome::Partial(first_failed) => {
                    // Everything before the first failed record is done.
                    let before =
                        part.iter().take_while(|r| r.sequence != first_failed).last().map(|r| r.sequence.clone());
                    if let (Some(seq), true) = (before, partial_checkpoints) {
                        let _ = save_checkpoint(i, &m.uuid, shard, &seq).await;
                    }
                    if exhausted(opts, attempts, &part, i.now()) {
                        give_up(i, m, opts, shard, &part, attempts).await;
                        break;
                    }
                    tokio::time::sleep(backoff(attempts)).await;
                    return Err(Some((first_failed, attempts)));
                }
                Outcome::Failed => {
                    if opts.bisect && part.len() > 1 {
                        let mut first = part;
                        let second = first.split_off(first.len() / 2);
                        work.push((second, 0));
                        work.push((first, 0));
                        break;
                    }
                    if exhausted(opts, attempts, &part, i.now()) {
                        give_up(i, m, opts, shard, &part, attempts).await;
                        break;
                    }
                    tokio::time::sleep(backoff(attempts)).await;
                }
            }
        }
    }
    Ok(last)
}

/// The records of a batch that the mapping's FilterCriteria keep.
fn filtered(m: &Mapping, batch: Vec<StreamRecord>) -> Vec<StreamRecord> {
    let patterns: Vec<Value> = m.filters.iter().filter_map(|p| crate::filter::check(p).ok()).collect();
    batch
        .into_iter()
        .filter(|r| patterns.is_empty() || patterns.iter().any(|p| crate::filter::matches(p, &filter_view(&r.data))))
        .collect()
}

/// What filter patterns see of a record: of a Kinesis record, its `kinesis` object with `data`
/// as the JSON it decodes to (base64, then JSON) — patterns filter on `data`, as on AWS; data
/// that is not JSON stays a string. A DynamoDB record is matched as it is.
fn filter_view(rec: &Value) -> std::borrow::Cow<'_, Value> {
    use base64::Engine as _;
    let Some(k) = rec.get("kinesis") else { return std::borrow::Cow::Borrowed(rec) };
    let mut view = k.clone();
    if let Some(data) = k
        .get("data")
        .and_then(Value::as_str)
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
    {
        view["data"] = data;
    }
    std::borrow::Cow::Owned(view)
}

pub(crate) fn backoff(attempts: u64) -> Duration {
    Duration::from_millis((100u64 << attempts.min(6)).min(5_000))
}

/// Whether a failing batch is given up: retries or record age ran out.
pub(crate) fn exhausted(opts: &StreamOptions, attempts: u64, part: &[StreamRecord], now_ms: u64) -> bool {
    let retries_out = opts.max_retries >= 0 && attempts > opts.max_retries as u64;
    let oldest = part.iter().map(|r| r.written_ms).min().unwrap_or(now_ms);
    let too_old = opts.max_record_age_s >= 0 && now_ms.saturating_sub(oldest) > opts.max_record_age_s as u64 * 1000;
    retries_out || too_old
}

enum Outcome {
    Done,
    /// The function reported these failures; the first failed record's sequence number.
    Partial(String),
    Failed,
}

/// The records of a batch as the event carries them (with the stream's ARN and, for Kinesis,
/// the role the function reads the stream with).
pub(crate) async fn record_values(i: &Arc<Inner>, m: &Mapping, part: &[StreamRecord]) -> Vec<Value> {
    let identity = if m.event_source_arn.contains(":kinesis:") {
        crate::esm::current_role(i, m).await.ok().map(|(role, _)| role)
    } else {
        None
    };
    part.iter()
        .map(|r| {
            let mut d = r.data.clone();
            if let Some(o) = d.as_object_mut() {
                if let Some(role) = &identity {
                    o.insert("invokeIdentityArn".into(), json!(role));
                }
                o.insert("eventSourceARN".into(), json!(m.event_source_arn));
            }
            d
        })
        .collect()
}

async fn invoke(i: &Arc<Inner>, m: &Mapping, part: &[StreamRecord]) -> Outcome {
    let records = record_values(i, m, part).await;
    let event = json!({"Records": records}).to_string().into_bytes();
    match crate::invoke::invoke_internal(i, &m.account, &m.region, &m.function_arn, event).await {
        Ok(r) if r.function_error.is_none() => {
            if !m.response_types.iter().any(|t| t == "ReportBatchItemFailures") {
                return Outcome::Done;
            }
            reported_failure(&r.payload, part).map_or(Outcome::Failed, |f| match f {
                None => Outcome::Done,
                Some(seq) => Outcome::Partial(seq),
            })
        }
        Ok(_) => Outcome::Failed,
        Err(e) => {
            tracing::debug!(error = %e, mapping = %m.uuid, "stream batch not invoked");
            Outcome::Failed
        }
    }
}

/// The first failed record a partial batch response names (`Some(None)`: none failed; `None`:
/// not a valid response, the whole batch failed).
fn reported_failure(payload: &[u8], part: &[StreamRecord]) -> Option<Option<String>> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    let failures = match v.get("batchItemFailures") {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Array(a)) => a,
        Some(_) => return None,
    };
    let ids: Vec<&str> =
        failures.iter().map(|f| f.get("itemIdentifier").and_then(Value::as_str)).collect::<Option<_>>()?;
    if ids.is_empty() {
        return Some(None);
    }
    // The lowest failed sequence number, in the batch's order.
    part.iter().find(|r| ids.contains(&r.sequence.as_str())).map(|r| Some(r.sequence.clone()))
}

/// Sends the description of a batch given up on to the OnFailure destination.
pub(crate) async fn give_up(
    i: &Arc<Inner>,
    m: &Mapping,
    opts: &StreamOptions,
    shard: &str,
    part: &[StreamRecord],
    attempts: u64,
) {
    tracing::warn!(mapping = %m.uuid, records = part.len(), "stream batch given up");
    let Some(destination) = &opts.on_failure else { return };
    let (Some(first), Some(last)) = (part.first(), part.last()) else { return };
    let kinesis = m.event_source_arn.contains(":kinesis:");
    let info = json!({
        "shardId": shard,
        "startSequenceNumber": first.sequence,
        "endSequenceNumber": last.sequence,
        "approximateArrivalOfFirstRecord": stratus_core::time::iso8601_millis(first.written_ms),
        "approximateArrivalOfLastRecord": stratus_core::time::iso8601_millis(last.written_ms),
        "batchSize": part.len(),
        "streamArn": m.event_source_arn,
    });
    let mut record = json!({
        "requestContext": {"requestId": i.env.ids.uuid(), "functionArn": m.function_arn,
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": stratus_core::time::iso8601_millis(i.now()),
    });
    if let Some(o) = record.as_object_mut() {
        o.insert((if kinesis { "KinesisBatchInfo" } else { "DDBStreamBatchInfo" }).into(), info);
    }
    let body = json!({"destination": destination, "account": m.account, "region": m.region, "record": record});
    let bytes = body.to_string().into_bytes();
    let sent = i
        .store
        .write_signalling(move |t| {
            stratus_storage::outbox_push(t, crate::invoke::DESTINATION_TOPIC, &bytes).map(|_| ())
        })
        .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not queue a stream failure record");
    }
}
