//! Event operations: PutLogEvents, GetLogEvents, FilterLogEvents, and the runtime's `append`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, next_sequences, prefix_end, scan_prefix};

use crate::errors::{invalid_filter_pattern, invalid_parameter, stream_not_found};
use crate::group::{
    DAY_MS, GroupRecord, GroupRef, StreamRecord, decode_stream, load_group, load_stream, save_group, save_stream,
    sequence_token, validate_group_name, validate_stream_name,
};
use crate::pattern::FilterPattern;
use crate::tokens::{
    Direction, Position, decode_event_token, decode_filter_token, encode_event_token, encode_filter_token, event_id,
};
use crate::types::*;
use crate::{Inner, keys};

/// Per-event overhead counted towards the batch size, as AWS counts it.
const EVENT_OVERHEAD: usize = 26;
const MAX_BATCH_BYTES: usize = 1_048_576;
const MAX_PAST_MS: u64 = 14 * DAY_MS;
const MAX_FUTURE_MS: u64 = 2 * 3600 * 1000;
const MAX_SPAN_MS: u64 = DAY_MS;
const DEFAULT_LIMIT: usize = 10_000;
/// Responses stop at about 1 MB of messages, as AWS's do.
const MAX_RESPONSE_BYTES: usize = 1_048_576;
/// FilterLogEvents examines at most this many events per call and returns a nextToken to go on.
const FILTER_SCAN_BUDGET: usize = 250_000;
const CHUNK: usize = 512;

/// One stored event.
#[derive(Debug, Clone)]
struct Row {
    pos: Position,
    ingestion: u64,
    message: String,
}

impl Row {
    fn size(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD
    }
}

fn decode_row(k: &[u8], v: &[u8]) -> Result<Row, AwsError> {
    let pos = keys::parse_event(k).ok_or_else(|| AwsError::internal("corrupt event key"))?;
    let (ingestion, message) = keys::parse_event_value(v).ok_or_else(|| AwsError::internal("corrupt event"))?;
    Ok(Row { pos, ingestion, message })
}

/// The position just after `p`.
fn successor(p: Position) -> Position {
    match p.1.checked_add(1) {
        Some(s) => (p.0, s),
        None => (p.0.saturating_add(1), 0),
    }
}

fn event_key(g: &GroupRecord, s: &StreamRecord, p: Position) -> Vec<u8> {
    keys::event(g.id, s.id, p.0, p.1)
}

/// Stores events (already in timestamp order) and updates the stream's and group's counters.
fn store_events(
    t: &mut dyn Txn,
    g: &mut GroupRecord,
    s: &mut StreamRecord,
    events: &[(u64, &str)],
    now: u64,
) -> Result<(), AwsError> {
    if events.is_empty() {
        return Ok(());
    }
    let first_seq = next_sequences(t, keys::EVENT_SEQ, events.len() as u64)?;
    let mut bytes = 0u64;
    for (n, (ts, message)) in events.iter().enumerate() {
        t.put(&keys::event(g.id, s.id, *ts, first_seq + n as u64), &keys::event_value(now, message))?;
        bytes += message.len() as u64;
    }
    if !g.subscriptions.is_empty() {
        let with_ids: Vec<(String, u64, &str)> = events
            .iter()
            .enumerate()
            .map(|(n, (ts, m))| (event_id(s.id, (*ts, first_seq + n as u64)), *ts, *m))
            .collect();
        crate::subscriptions::deliver(t, g, &s.name, &with_ids)?;
    }
    let (lo, hi) = events.iter().fold((u64::MAX, 0), |(lo, hi), (ts, _)| (lo.min(*ts), hi.max(*ts)));
    s.first_event = Some(s.first_event.map_or(lo, |f| f.min(lo)));
    s.last_event = Some(s.last_event.map_or(hi, |l| l.max(hi)));
    s.last_ingestion = Some(now);
    s.stored_bytes += bytes;
    g.stored_bytes += bytes;
    Ok(())
}

pub(crate) async fn put(
    i: &Inner,
    ctx: &RequestContext,
    input: PutLogEventsInput,
) -> Result<PutLogEventsOutput, AwsError> {
    validate_group_name("logGroupName", &input.log_group_name)?;
    validate_stream_name("logStreamName", &input.log_stream_name)?;
    let events = input.log_events;
    if events.windows(2).any(|w| w[1].timestamp < w[0].timestamp) {
        return Err(invalid_parameter("Log events in a single PutLogEvents request must be in chronological order."));
    }
    let size: usize = events.iter().map(|e| e.message.len() + EVENT_OVERHEAD).sum();
    if size > MAX_BATCH_BYTES {
        return Err(invalid_parameter(format!("Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")));
    }
    let group = GroupRef::named(ctx, &input.log_group_name);
    let stream = input.log_stream_name;
    let now = i.now();
    let tail_of = crate::tail::listening(i).then(|| (group.clone(), stream.clone()));
    let tail = tail_of.is_some();
    let (out, stored) = i
        .store
        .write(move |t| {
            let mut g = group.load(t)?;
            let mut s = load_stream(t, g.id, &stream)?.ok_or_else(stream_not_found)?;
            let cutoff = g.retention_cutoff(now);
            let (oldest, newest) = (now.saturating_sub(MAX_PAST_MS), now.saturating_add(MAX_FUTURE_MS));
            let mut rejected = RejectedLogEventsInfo::default();
            let mut accepted: Vec<(u64, &str)> = Vec::with_capacity(events.len());
            for (idx, e) in events.iter().enumerate() {
                let ts = e.timestamp.max(0) as u64;
                if ts > newest {
                    rejected.too_new_log_event_start_index.get_or_insert(idx);
                    continue;
                }
                let mut reject = false;
                if ts < oldest {
                    rejected.too_old_log_event_end_index = Some(idx);
                    reject = true;
                }
                if ts < cutoff {
                    rejected.expired_log_event_end_index = Some(idx);
                    reject = true;
                }
                if !reject {
                    accepted.push((ts, e.message.as_str()));
                }
            }
            if let (Some(first), Some(last)) = (accepted.first(), accepted.last())
                && last.0 - first.0 > MAX_SPAN_MS
            {
                return Err(invalid_parameter(
                    "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
                ));
            }
            store_events(t, &mut g, &mut s, &accepted, now)?;
            s.uploads += 1;
            save_stream(t, g.id, &s)?;
            save_group(t, &g)?;
            let stored: Option<Vec<(u64, String)>> =
                tail.then(|| accepted.iter().map(|(ts, m)| (*ts, m.to_string())).collect());
            let out = PutLogEventsOutput {
                next_sequence_token: sequence_token(s.id, s.uploads),
                rejected_log_events_info: (!rejected.is_empty()).then_some(rejected),
            };
            Ok((out, stored))
        })
        .await?;
    if let (Some(events), Some((g, stream))) = (stored, tail_of) {
        crate::tail::publish(
            i,
            vec![crate::tail::Written {
                account: g.account,
                region: g.region,
                group: g.name,
                stream,
                ingestion: now,
                events,
            }],
        );
    }
    Ok(out)
}

fn check_append(a: &crate::Append) -> Result<(), AwsError> {
    validate_group_name("logGroupName", &a.group)?;
    validate_stream_name("logStreamName", &a.stream)?;
    if a.group.is_empty() || a.group.len() > 512 || a.stream.is_empty() || a.stream.len() > 512 {
        return Err(invalid_parameter(
            "Invalid LogGroup or LogStream, both must have length less than or equal to 512.",
        ));
    }
    Ok(())
}

/// Appends events to streams, creating groups and streams as needed. One stream's events fail
/// alone with its error; in a batch of several streams an invalid one is left out (and logged)
/// so that the others' events are still written.
pub(crate) async fn append(i: &Inner, mut appends: Vec<crate::Append>) -> Result<(), AwsError> {
    if let [one] = appends.as_slice() {
        check_append(one)?;
    }
    appends.retain(|a| match check_append(a) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(group = %a.group, stream = %a.stream, error = %e.message, "log events dropped");
            false
        }
    });
    for a in &mut appends {
        a.events.sort_by_key(|(ts, _)| *ts);
    }
    let now = i.now();
    let tail = crate::tail::listening(i);
    // One transaction for every stream: function output arrives in batches behind the
    // invocations, and one durable write per batch keeps it off their path.
    let written = i
        .store
        .write(move |t| {
            for a in &appends {
                let mut g = match load_group(t, &a.account, &a.region, &a.group)? {
                    Some(g) => g,
                    None => crate::groups::new_group(t, &a.account, &a.region, &a.group, now)?,
                };
                let mut s = match load_stream(t, g.id, &a.stream)? {
                    Some(s) => s,
                    None => crate::streams::new_stream(t, &a.stream, now)?,
                };
                let refs: Vec<(u64, &str)> = a.events.iter().map(|(ts, m)| (*ts, m.as_str())).collect();
                store_events(t, &mut g, &mut s, &refs, now)?;
                save_stream(t, g.id, &s)?;
                save_group(t, &g)?;
            }
            let written: Vec<crate::tail::Written> = if tail {
                appends
                    .into_iter()
                    .map(|a| crate::tail::Written {
                        account: a.account,
                        region: a.region,
                        group: a.group,
                        stream: a.stream,
                        ingestion: now,
                        events: a.events,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok::<_, AwsError>(written)
        })
        .await?;
    crate::tail::publish(i, written);
    Ok(())
}

fn limit_of(limit: Option<i64>) -> usize {
    limit.map_or(DEFAULT_LIMIT, |l| l.clamp(1, DEFAULT_LIMIT as i64) as usize)
}

/// Reads events of one stream with positions in `[lo, hi)`, oldest first: from the start when
/// `forward`, else the newest ones. At most `limit` events and about 1 MB of messages.
fn read_stream(
    r: &mut dyn ReadTxn,
    g: &GroupRecord,
    s: &StreamRecord,
    lo: Position,
    hi: Position,
    limit: usize,
    forward: bool,
) -> Result<Vec<Row>, AwsError> {
    if lo >= hi {
        return Ok(Vec::new());
    }
    let hi_key = event_key(g, s, hi);
    if forward {
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut start = event_key(g, s, lo);
        loop {
            let rows = r.scan(&start, Some(&hi_key), CHUNK)?;
            let n = rows.len();
            for (k, v) in rows {
                let row = decode_row(&k, &v)?;
                if out.len() == limit || bytes + row.size() > MAX_RESPONSE_BYTES {
                    return Ok(out);
                }
                bytes += row.size();
                start = event_key(g, s, successor(row.pos));
                out.push(row);
            }
            if n < CHUNK {
                return Ok(out);
            }
        }
    }
    // Backwards: the store scans ascending only, so read ever larger time windows ending at
    // `hi` until they hold `limit` events (or reach `lo`), then keep the newest.
    let mut slices: Vec<Vec<Row>> = Vec::new();
    let mut count = 0usize;
    let mut upper = hi;
    let mut window: u64 = 1000;
    loop {
        let slice_lo = lo.max((hi.0.saturating_sub(window), 0));
        let mut rows_in_slice = Vec::new();
        let mut start = event_key(g, s, slice_lo);
        let upper_key = event_key(g, s, upper);
        loop {
            let rows = r.scan(&start, Some(&upper_key), CHUNK)?;
            let n = rows.len();
            for (k, v) in rows {
                let row = decode_row(&k, &v)?;
                start = event_key(g, s, successor(row.pos));
                rows_in_slice.push(row);
            }
            if n < CHUNK {
                break;
            }
        }
        count += rows_in_slice.len();
        slices.push(rows_in_slice);
        if count >= limit || slice_lo <= lo {
            break;
        }
        upper = slice_lo;
        window = window.saturating_mul(2);
    }
    let mut out: Vec<Row> = Vec::new();
    let mut bytes = 0;
    'outer: for slice in slices.into_iter() {
        for row in slice.into_iter().rev() {
            if out.len() == limit || bytes + row.size() > MAX_RESPONSE_BYTES {
                break 'outer;
            }
            bytes += row.size();
            out.push(row);
        }
    }
    out.reverse();
    Ok(out)
}

pub(crate) async fn get(
    i: &Inner,
    ctx: &RequestContext,
    input: GetLogEventsInput,
) -> Result<GetLogEventsOutput, AwsError> {
    let group = GroupRef::resolve(ctx, input.log_group_name.as_deref(), input.log_group_identifier.as_deref())?;
    let stream = input.log_stream_name;
    let limit = limit_of(input.limit);
    let token = input.next_token.as_deref().map(decode_event_token).transpose()?;
    let start_time = input.start_time.unwrap_or(0).max(0) as u64;
    // endTime is exclusive for GetLogEvents.
    let end_time = input.end_time.map(|e| e.max(0) as u64);
    let from_head = input.start_from_head.unwrap_or(false);
    let now = i.now();
    let rows = i
        .read(move |r| {
            let g = group.load(r)?;
            let s = load_stream(r, g.id, &stream)?.ok_or_else(stream_not_found)?;
            let mut lo: Position = (start_time.max(g.retention_cutoff(now)), 0);
            let mut hi: Position = (end_time.unwrap_or(u64::MAX), 0);
            let forward = match token {
                None => from_head,
                Some((Direction::Forward, p)) => {
                    lo = lo.max(successor(p));
                    true
                }
                Some((Direction::Backward, p)) => {
                    hi = hi.min(p);
                    false
                }
            };
            read_stream(r, &g, &s, lo, hi, limit, forward)
        })
        .await?;
    let (forward, backward) = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => (last.pos, first.pos),
        _ => {
            let p = token.map_or((0, 0), |(_, p)| p);
            (p, p)
        }
    };
    Ok(GetLogEventsOutput {
        events: rows
            .into_iter()
            .map(|row| OutputLogEvent { timestamp: row.pos.0, message: row.message, ingestion_time: row.ingestion })
            .collect(),
        next_forward_token: encode_event_token(Direction::Forward, forward),
        next_backward_token: encode_event_token(Direction::Backward, backward),
    })
}

/// Reads one stream's events in position order, a chunk at a time.
struct Cursor {
    stream: usize,
    next: Vec<u8>,
    end: Vec<u8>,
    buffered: std::vec::IntoIter<Row>,
    done: bool,
}

impl Cursor {
    fn peek_fill(&mut self, r: &mut dyn ReadTxn) -> Result<Option<Row>, AwsError> {
        loop {
            if let Some(row) = self.buffered.next() {
                return Ok(Some(row));
            }
            if self.done {
                return Ok(None);
            }
            let rows = r.scan(&self.next, Some(&self.end), CHUNK)?;
            if rows.len() < CHUNK {
                self.done = true;
            }
            let mut decoded = Vec::with_capacity(rows.len());
            for (k, v) in &rows {
                decoded.push(decode_row(k, v)?);
            }
            if let Some((k, _)) = rows.last() {
                self.next = k.clone();
                self.next.push(0);
            }
            self.buffered = decoded.into_iter();
        }
    }
}

pub(crate) async fn filter(
    i: &Inner,
    ctx: &RequestContext,
    input: FilterLogEventsInput,
) -> Result<FilterLogEventsOutput, AwsError> {
    let group = GroupRef::resolve(ctx, input.log_group_name.as_deref(), input.log_group_identifier.as_deref())?;
    if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
        return Err(invalid_parameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters."));
    }
    if let Some(names) = &input.log_stream_names {
        for n in names {
            validate_stream_name("logStreamNames", n)?;
        }
    }
    let pattern = FilterPattern::parse(input.filter_pattern.as_deref().unwrap_or_default())
        .map_err(|e| invalid_filter_pattern(&e.0))?;
    let limit = limit_of(input.limit);
    let after = input.next_token.as_deref().map(decode_filter_token).transpose()?;
    let start_time = input.start_time.unwrap_or(0).max(0) as u64;
    // endTime is inclusive for FilterLogEvents.
    let end_time = input.end_time.map(|e| e.max(0) as u64);
    let names = input.log_stream_names;
    let prefix = input.log_stream_name_prefix.unwrap_or_default();
    let now = i.now();
    let (events, next) = i
        .read(move |r| {
            let g = group.load(r)?;
            let streams: Vec<StreamRecord> = match &names {
                Some(names) => {
                    let mut v = Vec::new();
                    for n in names {
                        if let Some(s) = load_stream(r, g.id, n)? {
                            v.push(s);
                        }
                    }
                    v
                }
                None => {
                    let mut base = keys::streams(g.id);
                    base.extend_from_slice(prefix.as_bytes());
                    let mut v = Vec::new();
                    for (_, bytes) in scan_prefix(r, &base, usize::MAX)? {
                        v.push(decode_stream(&bytes)?);
                    }
                    v
                }
            };
            let mut lo: Position = (start_time.max(g.retention_cutoff(now)), 0);
            if let Some(p) = after {
                lo = lo.max(successor(p));
            }
            let hi: Position = (end_time.map_or(u64::MAX, |e| e.saturating_add(1)), 0);
            let mut cursors = Vec::new();
            let mut heap = BinaryHeap::new();
            if lo < hi {
                for (n, s) in streams.iter().enumerate() {
                    let mut c = Cursor {
                        stream: n,
                        next: event_key(&g, s, lo),
                        end: if hi.0 == u64::MAX {
                            prefix_end(&keys::stream_events(g.id, s.id)).unwrap_or_default()
                        } else {
                            event_key(&g, s, hi)
                        },
                        buffered: Vec::new().into_iter(),
                        done: false,
                    };
                    if let Some(row) = c.peek_fill(r)? {
                        heap.push(Reverse((row.pos, n, row.ingestion, row.message)));
                    }
                    cursors.push(c);
                }
            }
            let mut out: Vec<FilteredLogEvent> = Vec::new();
            let mut bytes = 0usize;
            let mut scanned = 0usize;
            let mut last_examined: Option<Position> = None;
            let mut last_returned: Option<Position> = None;
            while let Some(Reverse((pos, n, ingestion, message))) = heap.pop() {
                scanned += 1;
                let hit = pattern.matches(&message);
                if hit && (out.len() == limit || bytes + message.len() + EVENT_OVERHEAD > MAX_RESPONSE_BYTES) {
                    // A further match exists: continue after the last event returned.
                    return Ok((out, last_returned.or(last_examined).map(encode_filter_token)));
                }
                last_examined = Some(pos);
                if let Some(c) = cursors.get_mut(n)
                    && let Some(row) = c.peek_fill(r)?
                {
                    heap.push(Reverse((row.pos, c.stream, row.ingestion, row.message)));
                }
                if hit {
                    last_returned = Some(pos);
                    bytes += message.len() + EVENT_OVERHEAD;
                    let s = &streams[n];
                    out.push(FilteredLogEvent {
                        log_stream_name: s.name.clone(),
                        timestamp: pos.0,
                        message,
                        ingestion_time: ingestion,
                        event_id: event_id(s.id, pos),
                    });
                }
                if scanned >= FILTER_SCAN_BUDGET && !heap.is_empty() {
                    return Ok((out, last_examined.map(encode_filter_token)));
                }
            }
            Ok((out, None))
        })
        .await?;
    Ok(FilterLogEventsOutput { events, searched_log_streams: Vec::new(), next_token: next })
}
