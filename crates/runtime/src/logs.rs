//! Function output on its way to the [`LogSink`](crate::LogSink): one stream per environment,
//! AWS's START/END/REPORT lines, and the text of the current invocation for `LogType: Tail`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::LogSink;

/// CloudWatch Logs' largest event; longer lines are split.
pub(crate) const MAX_EVENT: usize = 256 * 1024;
/// How much of an invocation's text [`InvokeResult::log_tail`](crate::InvokeResult) keeps.
pub(crate) const TAIL_CAP: usize = 64 * 1024;

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// `2026-11-26T15:04:05.123Z`
pub(crate) fn iso8601_millis(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", s / 3600, s / 60 % 60, s % 60, ms % 1000)
}

/// `2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef`, as Lambda names a stream.
pub(crate) fn stream_name(version: &str, ms: u64) -> String {
    let (y, m, d) = civil_from_days((ms / 1000 / 86_400) as i64);
    let id: u128 = rand::random();
    format!("{y:04}/{m:02}/{d:02}/[{version}]{id:032x}")
}

/// `1.23` for milliseconds with two decimals, as the REPORT line shows them.
fn ms2(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

pub(crate) fn start_line(request_id: &str, version: &str) -> String {
    format!("START RequestId: {request_id} Version: {version}")
}

pub(crate) fn end_line(request_id: &str) -> String {
    format!("END RequestId: {request_id}")
}

/// How an invocation ended, for the REPORT line's `Status` (AWS adds it for failures).
pub(crate) enum ReportStatus<'a> {
    Success,
    Error(&'a str),
    Timeout,
}

pub(crate) struct Report<'a> {
    pub request_id: &'a str,
    pub duration: Duration,
    pub memory_mb: u32,
    pub max_memory_mb: u32,
    pub init: Option<Duration>,
    pub status: ReportStatus<'a>,
}

impl Report<'_> {
    pub(crate) fn line(&self) -> String {
        let billed = (self.duration.as_secs_f64() * 1000.0).ceil().max(1.0) as u64;
        let mut s = format!(
            "REPORT RequestId: {}\tDuration: {} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.request_id,
            ms2(self.duration),
            self.memory_mb,
            self.max_memory_mb
        );
        if let Some(init) = self.init {
            s.push_str(&format!("\tInit Duration: {} ms", ms2(init)));
        }
        match self.status {
            ReportStatus::Success => {}
            ReportStatus::Error(t) => s.push_str(&format!("\tStatus: error\tError Type: {t}")),
            ReportStatus::Timeout => s.push_str("\tStatus: timeout"),
        }
        s
    }
}

pub(crate) fn init_report_line(init: Duration, status: &str, error_type: Option<&str>) -> String {
    let mut s = format!("INIT_REPORT Init Duration: {} ms\tPhase: init\tStatus: {status}", ms2(init));
    if let Some(t) = error_type {
        s.push_str(&format!("\tError Type: {t}"));
    }
    s
}

/// How long lines wait to be written with the ones after them. Function output is asynchronous
/// on AWS too: a `kill -9` may lose the last this-much of it, never an invocation's result.
pub(crate) const LINGER: Duration = Duration::from_millis(50);
/// A write starts early once this many events wait.
const EARLY_WRITE_EVENTS: usize = 8_192;
/// Writers wait (their functions' pipes fill) while this many events are not yet written.
const MAX_PENDING_EVENTS: usize = 65_536;

#[derive(Default)]
struct Pending {
    streams: Vec<StreamEvents>,
    events: usize,
    /// Flushes asked for since the last write.
    flushes: Vec<tokio::sync::oneshot::Sender<()>>,
    /// Every shipper is gone: write what is left and stop.
    closed: bool,
    /// The thread is gone (it could not start, or the sink panicked): lines are dropped
    /// rather than waited for.
    dead: bool,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the shipping thread early (a full buffer, a flush, closing).
    wake: std::sync::Condvar,
    /// Tells waiting writers that a write made room.
    room: tokio::sync::Notify,
}

impl Shared {
    fn set_dead(&self) {
        if let Ok(mut p) = self.pending.lock() {
            p.dead = true;
            // Nobody will answer these; dropping them ends the waits.
            p.flushes.clear();
            p.streams.clear();
            p.events = 0;
        }
        self.room.notify_waiters();
    }
}

/// Delivers function output to the sink from one thread, behind the invocations: lines are
/// gathered for up to [`LINGER`] and written as one batch (one storage transaction for every
/// stream), so no invocation waits for a durable write of its START/END/REPORT lines, and
/// appending a line wakes no thread. A function that writes faster than the sink takes waits
/// (its pipe fills) instead of losing lines or growing memory.
#[derive(Clone)]
pub(crate) struct LogShipper {
    handle: Arc<ShipperHandle>,
}

/// Held by every shipper; when the last one goes, the thread writes what is left and stops.
struct ShipperHandle {
    shared: Arc<Shared>,
}

impl Drop for ShipperHandle {
    fn drop(&mut self) {
        if let Ok(mut p) = self.shared.pending.lock() {
            p.closed = true;
        }
        self.shared.wake.notify_one();
    }
}

impl LogShipper {
    pub(crate) fn start(sink: Arc<dyn LogSink>) -> LogShipper {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: std::sync::Condvar::new(),
            room: tokio::sync::Notify::new(),
        });
        let thread_shared = shared.clone();
        let spawned =
            std::thread::Builder::new().name("stratus-function-logs".into()).spawn(move || ship(thread_shared, sink));
        if let Err(e) = spawned {
            tracing::error!("cannot start the function log thread: {e}; function output is dropped");
            shared.set_dead();
        }
        LogShipper { handle: Arc::new(ShipperHandle { shared }) }
    }

    async fn send(&self, group: &Arc<str>, stream: &Arc<str>, events: Vec<(u64, String)>) {
        let shared = &self.handle.shared;
        loop {
            let room = shared.room.notified();
            {
                let Ok(mut p) = shared.pending.lock() else { return };
                if p.dead {
                    return;
                }
                if p.events < MAX_PENDING_EVENTS {
                    p.events += events.len();
                    match p.streams.iter_mut().rev().find(|s| &s.group == group && &s.stream == stream) {
                        Some(s) => s.events.extend(events),
                        None => p.streams.push(StreamEvents { group: group.clone(), stream: stream.clone(), events }),
                    }
                    if p.events >= EARLY_WRITE_EVENTS {
                        shared.wake.notify_one();
                    }
                    return;
                }
                shared.wake.notify_one();
            }
            room.await;
        }
    }

    /// Returns once every line appended before the call is written (or after 10 s).
    pub(crate) async fn flush(&self) {
        let shared = &self.handle.shared;
        let (done, wait) = tokio::sync::oneshot::channel();
        {
            let Ok(mut p) = shared.pending.lock() else { return };
            if p.dead {
                return;
            }
            p.flushes.push(done);
        }
        shared.wake.notify_one();
        let _ = tokio::time::timeout(Duration::from_secs(10), wait).await;
    }
}

/// The shipping thread: every [`LINGER`] (or sooner when asked), takes what is pending and
/// writes it. Ends once every shipper is gone and nothing is left; a panicking sink ends it too
/// (the shippers then drop lines instead of waiting).
fn ship(shared: Arc<Shared>, sink: Arc<dyn LogSink>) {
    loop {
        let (streams, flushes, closed) = {
            let Ok(mut p) = shared.pending.lock() else { return };
            if p.events < EARLY_WRITE_EVENTS && p.flushes.is_empty() && !p.closed {
                p = match shared.wake.wait_timeout(p, LINGER) {
                    Ok((p, _)) => p,
                    Err(_) => return,
                };
            }
            p.events = 0;
            (std::mem::take(&mut p.streams), std::mem::take(&mut p.flushes), p.closed)
        };
        shared.room.notify_waiters();
        if !streams.is_empty() {
            let sink = sink.clone();
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || sink.append(streams)));
            if written.is_err() {
                tracing::error!("the function log sink panicked; function output is dropped from now on");
                shared.set_dead();
                return;
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
        if closed {
            return;
        }
    }
}

/// Lines of one log stream, oldest first.
pub struct StreamEvents {
    /// The log group as the function's spec names it.
    pub group: Arc<str>,
    pub stream: Arc<str>,
    /// (milliseconds since the epoch, message)
    pub events: Vec<(u64, String)>,
}

#[derive(Default)]
struct Tail {
    /// Collecting the text of the current invocation (and of the init before the first one).
    text: Option<String>,
}

/// One environment's log stream.
pub(crate) struct EnvLog {
    group: Arc<str>,
    stream: Arc<str>,
    shipper: LogShipper,
    tail: Mutex<Tail>,
    /// Keeps the tail and the sink in the same order when several tasks write.
    order: tokio::sync::Mutex<()>,
}

impl EnvLog {
    pub(crate) fn new(group: &str, stream: &str, shipper: LogShipper) -> EnvLog {
        EnvLog {
            group: group.into(),
            stream: stream.into(),
            shipper,
            tail: Mutex::new(Tail { text: Some(String::new()) }),
            order: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn stream(&self) -> &str {
        &self.stream
    }

    /// Appends lines (each one event; longer than [`MAX_EVENT`] split) to the stream and to the
    /// invocation's tail.
    pub(crate) async fn lines(&self, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        let _order = self.order.lock().await;
        let ts = now_ms();
        let mut events = Vec::with_capacity(lines.len());
        for line in lines {
            if line.len() <= MAX_EVENT {
                events.push((ts, line));
            } else {
                let mut rest = line.as_str();
                while !rest.is_empty() {
                    let mut cut = rest.len().min(MAX_EVENT);
                    while !rest.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    events.push((ts, rest[..cut].to_string()));
                    rest = &rest[cut..];
                }
            }
        }
        if let Ok(mut tail) = self.tail.lock()
            && let Some(text) = tail.text.as_mut()
        {
            for (_, e) in &events {
                text.push_str(e);
                text.push('\n');
            }
            if text.len() > 2 * TAIL_CAP {
                let mut cut = text.len() - TAIL_CAP;
                while !text.is_char_boundary(cut) {
                    cut += 1;
                }
                text.drain(..cut);
            }
        }
        self.shipper.send(&self.group, &self.stream, events).await;
    }

    pub(crate) async fn line(&self, line: String) {
        self.lines(vec![line]).await
    }

    /// Starts collecting an invocation's text unless the init output is being collected for it.
    pub(crate) fn begin_tail(&self) {
        if let Ok(mut tail) = self.tail.lock() {
            tail.text.get_or_insert_with(String::new);
        }
    }

    /// The collected text (at most [`TAIL_CAP`], the end kept); collection stops until the next
    /// [`begin_tail`](Self::begin_tail).
    pub(crate) fn take_tail(&self) -> String {
        let mut text = self.tail.lock().ok().and_then(|mut t| t.text.take()).unwrap_or_default();
        if text.len() > TAIL_CAP {
            let mut cut = text.len() - TAIL_CAP;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text.drain(..cut);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_aws_lines() {
        assert_eq!(iso8601_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        let s = stream_name("$LATEST", 1_700_000_000_123);
        assert!(s.starts_with("2023/11/14/[$LATEST]"), "{s}");
        assert_eq!(s.len(), "2023/11/14/[$LATEST]".len() + 32);
        let r = Report {
            request_id: "r1",
            duration: Duration::from_micros(1234),
            memory_mb: 128,
            max_memory_mb: 20,
            init: Some(Duration::from_micros(45_670)),
            status: ReportStatus::Success,
        };
        assert_eq!(
            r.line(),
            "REPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 45.67 ms"
        );
    }
}
