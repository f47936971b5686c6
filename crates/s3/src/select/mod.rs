//! SelectObjectContent (S3 Select): an SQL expression over one object's CSV or JSON records
//! (uncompressed or GZIP), answered as an event stream of `Records`, optional `Progress`,
//! `Stats` and `End` events.
//!
//! The object is read chunk by chunk on a blocking thread (`formats` splits it into records,
//! `eval` evaluates the query over each) and rows leave in `Records` events of up to 64 KiB as
//! they are found, so neither the object nor the result is held whole. An error found before the
//! first event is an ordinary HTTP error; one found later ends the stream with a request-level
//! error event, as S3 does.

mod eval;
mod formats;
mod sql;
mod value;

use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use stratus_storage::BlobStore;
use tokio::sync::mpsc;

use crate::S3;
use crate::types::Segment;
use eval::{Acc, Record, Scope};
use formats::{CsvIn, CsvReader, JsonReader, Out};
use sql::{Expr, Query, Step};
use value::V;

/// Rows are sent once this much output has gathered.
const RECORDS_CHUNK: usize = 64 << 10;
/// A Progress event (when asked for) after every this many bytes processed.
const PROGRESS_EVERY: u64 = 8 << 20;

/// An S3 Select error: its code and message (all answer 400).
#[derive(Debug, Clone, PartialEq)]
pub struct SelectError {
    pub code: String,
    pub message: String,
}

impl SelectError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        SelectError { code: code.into(), message: message.into() }
    }
}

impl From<SelectError> for S3Error {
    fn from(e: SelectError) -> Self {
        let mut s = S3Error::with_message(S3ErrorCode::Custom(e.code.into()), e.message);
        s.set_status_code(http::StatusCode::BAD_REQUEST);
        s
    }
}

fn bad(code: &str, message: impl Into<String>) -> S3Error {
    SelectError::new(code, message).into()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Header {
    Use,
    Ignore,
    None,
}

enum Input {
    Csv(CsvIn, Header),
    JsonDocument,
    JsonLines,
}

fn one_char(what: &str, v: Option<&String>, default: u8) -> S3Result<u8> {
    match v.map(String::as_str) {
        None => Ok(default),
        Some(s) if s.len() == 1 => Ok(s.as_bytes()[0]),
        // What AWS writes for a CRLF record delimiter: the line ends in \n, the \r is dropped.
        Some("\r\n") if what == "RecordDelimiter" => Ok(b'\n'),
        Some(s) => Err(bad(
            "InvalidRequestParameter",
            format!("The {what} {s:?} is not supported: it must be a single ASCII character."),
        )),
    }
}

fn input_format(s: &InputSerialization) -> S3Result<(Input, bool)> {
    let gzip = match s.compression_type.as_ref().map(|c| c.as_str()) {
        None | Some("NONE") => false,
        Some("GZIP") => true,
        Some("BZIP2") => {
            return Err(s3s::s3_error!(NotImplemented, "BZIP2 compressed objects are not supported by this server."));
        }
        Some(other) => {
            return Err(bad("InvalidCompressionType", format!("The compression type {other} is not supported.")));
        }
    };
    let input = match (&s.csv, &s.json, &s.parquet) {
        (Some(c), None, None) => {
            let header = match c.file_header_info.as_ref().map(|h| h.as_str().to_ascii_uppercase()) {
                None => Header::None,
                Some(h) if h == "USE" => Header::Use,
                Some(h) if h == "IGNORE" => Header::Ignore,
                Some(h) if h == "NONE" => Header::None,
                Some(h) => return Err(bad("InvalidFileHeaderInfo", format!("The FileHeaderInfo {h} is invalid."))),
            };
            let quote = one_char("QuoteCharacter", c.quote_character.as_ref(), b'"')?;
            let comment = match c.comments.as_deref() {
                None => Some(b'#'),
                Some("") => None,
                Some(s) if s.len() == 1 => Some(s.as_bytes()[0]),
                Some(s) => {
                    return Err(bad("InvalidRequestParameter", format!("The Comments {s:?} must be one character.")));
                }
            };
            let cfg = CsvIn {
                field: one_char("FieldDelimiter", c.field_delimiter.as_ref(), b',')?,
                record: one_char("RecordDelimiter", c.record_delimiter.as_ref(), b'\n')?,
                quote,
                escape: one_char("QuoteEscapeCharacter", c.quote_escape_character.as_ref(), quote)?,
                comment,
                quoted_records: c.allow_quoted_record_delimiter.unwrap_or(false),
            };
            Input::Csv(cfg, header)
        }
        (None, Some(j), None) => match j.type_.as_ref().map(|t| t.as_str().to_ascii_uppercase()) {
            Some(t) if t == "DOCUMENT" => Input::JsonDocument,
            Some(t) if t == "LINES" => Input::JsonLines,
            Some(t) => return Err(bad("InvalidJsonType", format!("The JSON Type {t} is invalid."))),
            None => return Err(bad("MissingRequiredParameter", "The JSON input needs a Type: DOCUMENT or LINES.")),
        },
        (None, None, Some(_)) => {
            return Err(s3s::s3_error!(NotImplemented, "Parquet objects are not supported by this server."));
        }
        (None, None, None) => {
            return Err(bad("MissingRequiredParameter", "The InputSerialization needs one of CSV, JSON or Parquet."));
        }
        _ => {
            return Err(bad(
                "ObjectSerializationConflict",
                "InputSerialization specifies more than one format (CSV, JSON, or Parquet), or OutputSerialization specifies more than one format (CSV or JSON). InputSerialization and OutputSerialization can only specify one format each.",
            ));
        }
    };
    Ok((input, gzip))
}

fn output_format(s: &OutputSerialization) -> S3Result<Out> {
    match (&s.csv, &s.json) {
        (Some(c), None) => {
            let quote = c.quote_character.clone().unwrap_or_else(|| "\"".into());
            Ok(Out::Csv {
                field: c.field_delimiter.clone().unwrap_or_else(|| ",".into()),
                record: c.record_delimiter.clone().unwrap_or_else(|| "\n".into()),
                escape: c.quote_escape_character.clone().unwrap_or_else(|| quote.clone()),
                quote,
                always: match c.quote_fields.as_ref().map(|q| q.as_str().to_ascii_uppercase()) {
                    None => false,
                    Some(q) if q == "ASNEEDED" => false,
                    Some(q) if q == "ALWAYS" => true,
                    Some(q) => return Err(bad("InvalidQuoteFields", format!("The QuoteFields {q} is invalid."))),
                },
            })
        }
        (None, Some(j)) => Ok(Out::Json { record: j.record_delimiter.clone().unwrap_or_else(|| "\n".into()) }),
        (None, None) => Err(bad("MissingRequiredParameter", "The OutputSerialization needs one of CSV or JSON.")),
        _ => Err(bad(
            "ObjectSerializationConflict",
            "InputSerialization specifies more than one format (CSV, JSON, or Parquet), or OutputSerialization specifies more than one format (CSV or JSON). InputSerialization and OutputSerialization can only specify one format each.",
        )),
    }
}

/// The bytes to read and where records must start: (read from, read length, first record
/// offset, last record offset).
fn scan_range(r: Option<&ScanRange>, size: u64) -> S3Result<(u64, u64, u64, u64)> {
    let Some(r) = r else { return Ok((0, size, 0, u64::MAX)) };
    let invalid = || {
        bad("InvalidScanRange", "The scan range is invalid: Start must not exceed End, and neither may be negative.")
    };
    let (start, end) = match (r.start, r.end) {
        (Some(s), Some(e)) if s >= 0 && e >= s => (s as u64, e as u64),
        (Some(s), None) if s >= 0 => (s as u64, u64::MAX),
        (None, Some(e)) if e >= 0 => (size.saturating_sub(e as u64), u64::MAX),
        (None, None) => (0, u64::MAX),
        _ => return Err(invalid()),
    };
    if start >= size {
        return Ok((size, 0, start, end));
    }
    // A record starting exactly at `start` is found by reading from the byte before it.
    let from = start.saturating_sub(1);
    Ok((from, size - from, start, end))
}

pub async fn select(
    s3: &S3,
    req: S3Request<SelectObjectContentInput>,
) -> S3Result<S3Response<SelectObjectContentOutput>> {
    let i = req.input;
    let r = &i.request;
    if !r.expression_type.as_str().eq_ignore_ascii_case("SQL") {
        return Err(bad(
            "InvalidExpressionType",
            format!(
                "The ExpressionType {} is invalid. Only SQL expressions are supported.",
                r.expression_type.as_str()
            ),
        ));
    }
    if r.expression.trim().is_empty() {
        return Err(bad(
            "MissingRequiredParameter",
            "The SelectRequest entity is missing a required parameter: Expression.",
        ));
    }
    let query = sql::parse(&r.expression)?;
    let (input, gzip) = input_format(&r.input_serialization)?;
    let out = output_format(&r.output_serialization)?;
    let v = crate::objects::resolve_with_data(s3, &i.bucket, &i.key, None).await?;
    let given = crate::encryption::customer_key(
        i.sse_customer_algorithm.as_deref(),
        i.sse_customer_key.as_deref(),
        i.sse_customer_key_md5.as_deref(),
    )?;
    crate::encryption::check_read(&v, given.as_deref())?;
    if !v.readable(s3.now_millis()) {
        return Err(crate::errors::invalid_object_state(v.class()));
    }
    if r.scan_range.is_some() && (gzip || matches!(input, Input::JsonDocument)) {
        return Err(bad(
            "UnsupportedScanRangeInput",
            "Scan range queries are not supported on this type of object: only uncompressed CSV and JSON LINES objects.",
        ));
    }
    let (from, len, first, last) = scan_range(r.scan_range.as_ref(), v.size)?;
    let job = Job {
        query,
        input,
        gzip,
        out,
        progress: r.request_progress.as_ref().and_then(|p| p.enabled).unwrap_or(false),
        first,
        last,
        from,
        now_millis: s3.now_millis() as i64,
    };
    let (tx, mut rx) = mpsc::channel::<S3Result<SelectObjectContentEvent>>(4);
    let blobs = s3.store().blobs().clone();
    let segments = v.segments.clone();
    tokio::task::spawn_blocking(move || {
        let reader = SegmentsReader::new(blobs, segments, from, len);
        if let Err(e) = job.run(reader, &tx) {
            let _ = tx.blocking_send(Err(e.into()));
        }
    });
    // An error before the first event is the request's answer.
    let first_event = match rx.recv().await {
        Some(Ok(ev)) => ev,
        Some(Err(e)) => return Err(e),
        None => return Err(s3s::s3_error!(InternalError, "The select ended without an answer.")),
    };
    let stream = Events { first: Some(first_event), rx };
    Ok(S3Response::new(SelectObjectContentOutput { payload: Some(SelectObjectContentEventStream::new(stream)) }))
}

struct Events {
    first: Option<SelectObjectContentEvent>,
    rx: mpsc::Receiver<S3Result<SelectObjectContentEvent>>,
}

impl futures::Stream for Events {
    type Item = S3Result<SelectObjectContentEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(ev) = self.first.take() {
            return Poll::Ready(Some(Ok(ev)));
        }
        self.rx.poll_recv(cx)
    }
}

/// Reads `len` bytes from `offset` of an object's segments, in order.
struct SegmentsReader {
    blobs: Arc<dyn BlobStore>,
    segments: std::vec::IntoIter<Segment>,
    skip: u64,
    left: u64,
    current: Option<Box<dyn Read + Send>>,
}

impl SegmentsReader {
    fn new(blobs: Arc<dyn BlobStore>, segments: Vec<Segment>, offset: u64, len: u64) -> Self {
        SegmentsReader { blobs, segments: segments.into_iter(), skip: offset, left: len, current: None }
    }
}

impl Read for SegmentsReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.left == 0 || buf.is_empty() {
                return Ok(0);
            }
            if let Some(r) = self.current.as_mut() {
                let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
                let n = r.read(&mut buf[..want])?;
                if n > 0 {
                    self.left -= n as u64;
                    return Ok(n);
                }
                self.current = None;
                continue;
            }
            let Some(seg) = self.segments.next() else {
                return Err(std::io::Error::other("the object's data is shorter than recorded"));
            };
            if self.skip >= seg.size {
                self.skip -= seg.size;
                continue;
            }
            let take = seg.size - self.skip;
            let reader: Box<dyn Read + Send> = if seg.inline {
                let data = seg.data.clone().unwrap_or_default();
                let from = usize::try_from(self.skip).unwrap_or(usize::MAX).min(data.len());
                Box::new(std::io::Cursor::new(data.slice(from..)))
            } else {
                self.blobs
                    .open_range(&seg.blob, self.skip, take)
                    .map_err(std::io::Error::other)?
                    .ok_or_else(|| std::io::Error::other(format!("object data {} is missing", seg.blob)))?
            };
            self.skip = 0;
            self.current = Some(reader);
        }
    }
}

/// Counts the bytes that pass through.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct Job {
    query: Query,
    input: Input,
    gzip: bool,
    out: Out,
    progress: bool,
    /// Records starting before `first` or after `last` (object offsets) are not processed.
    first: u64,
    last: u64,
    /// The object offset reading starts at.
    from: u64,
    now_millis: i64,
}

/// Gathers rows and sends them as Records events.
struct Sink<'a> {
    tx: &'a mpsc::Sender<S3Result<SelectObjectContentEvent>>,
    buf: String,
    returned: u64,
    rows: u64,
    scanned: Arc<AtomicU64>,
    processed: Arc<AtomicU64>,
    progress: bool,
    next_progress: u64,
}

impl Sink<'_> {
    fn flush(&mut self) -> Result<bool, SelectError> {
        if self.buf.is_empty() {
            return Ok(true);
        }
        let payload = Bytes::from(std::mem::take(&mut self.buf));
        self.returned += payload.len() as u64;
        let ev = SelectObjectContentEvent::Records(RecordsEvent { payload: Some(payload) });
        Ok(self.tx.blocking_send(Ok(ev)).is_ok())
    }

    /// After a row: sends what gathered when it is enough; false when the client is gone.
    fn row_done(&mut self) -> Result<bool, SelectError> {
        self.rows += 1;
        if self.buf.len() >= RECORDS_CHUNK && !self.flush()? {
            return Ok(false);
        }
        if self.progress && self.processed.load(Ordering::Relaxed) >= self.next_progress {
            self.next_progress += PROGRESS_EVERY;
            let ev = SelectObjectContentEvent::Progress(ProgressEvent { details: Some(self.progress_details()) });
            if self.tx.blocking_send(Ok(ev)).is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn progress_details(&self) -> Progress {
        Progress {
            bytes_scanned: Some(self.scanned.load(Ordering::Relaxed) as i64),
            bytes_processed: Some(self.processed.load(Ordering::Relaxed) as i64),
            bytes_returned: Some(self.returned as i64),
        }
    }
}

/// The name a SELECT item gets in JSON output: its alias, the last name of its path, or `_N`.
fn item_name(e: &Expr, alias: Option<&String>, n: usize) -> String {
    if let Some(a) = alias {
        return a.clone();
    }
    match e {
        Expr::Path(steps) if steps.len() > 1 || matches!(steps.first(), Some(Step::Field(_))) => match steps.last() {
            Some(Step::Field(name)) => name.text.clone(),
            _ => format!("_{}", n + 1),
        },
        _ => format!("_{}", n + 1),
    }
}

/// Applies FROM's path to a JSON record: the values the query ranges over.
fn expand(v: V, steps: &[Step], out: &mut Vec<V>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(v);
        return;
    };
    match (step, v) {
        (Step::Wildcard, V::List(items)) => items.into_iter().for_each(|x| expand(x, rest, out)),
        (Step::Wildcard, other) => expand(other, rest, out),
        (Step::Field(name), V::Struct(members)) => {
            if let Some((_, x)) = members.into_iter().find(|(k, _)| name.matches(k)) {
                expand(x, rest, out);
            }
        }
        (Step::Index(i), V::List(items)) => {
            if let Some(x) = usize::try_from(*i).ok().and_then(|i| items.into_iter().nth(i)) {
                expand(x, rest, out);
            }
        }
        _ => {}
    }
}

impl Job {
    fn run(
        self,
        reader: SegmentsReader,
        tx: &mpsc::Sender<S3Result<SelectObjectContentEvent>>,
    ) -> Result<(), SelectError> {
        let scanned = Arc::new(AtomicU64::new(0));
        let processed = Arc::new(AtomicU64::new(0));
        let raw = Counting { inner: reader, count: scanned.clone() };
        let decoded: Box<dyn Read> =
            if self.gzip { Box::new(flate2::read::MultiGzDecoder::new(raw)) } else { Box::new(raw) };
        let input = Counting { inner: decoded, count: processed.clone() };
        let mut sink = Sink {
            tx,
            buf: String::new(),
            returned: 0,
            rows: 0,
            scanned: scanned.clone(),
            processed: processed.clone(),
            progress: self.progress,
            next_progress: PROGRESS_EVERY,
        };
        let mut accs: Vec<(Acc, Option<Expr>)> = Vec::new();
        if self.query.aggregates > 0 {
            let mut found = Vec::new();
            for item in self.query.items.iter().flatten() {
                eval::aggregates(&item.expr, &mut found);
            }
            found.sort_by_key(|(slot, ..)| *slot);
            accs = found.into_iter().map(|(_, f, arg)| (Acc::new(f), arg)).collect();
        }
        let limit = self.query.limit.unwrap_or(u64::MAX);
        let mut headers: Option<Vec<String>> = None;
        let mut keep_going = limit > 0 || self.query.aggregates > 0;
        match &self.input {
            Input::Csv(cfg, header) => {
                if !self.query.from.iter().all(|s| *s == Step::Wildcard) {
                    return Err(SelectError::new(
                        "InvalidKeyPath",
                        "Key path in the SQL expression is invalid: CSV objects have no nested paths.",
                    ));
                }
                let mut csv = CsvReader::new(input, cfg.clone());
                if self.first > 0 {
                    csv.skip_record()?;
                }
                let mut first_line = *header != Header::None && self.first == 0;
                while keep_going {
                    let at = self.from + csv.consumed;
                    let Some(rec) = csv.next_record()? else { break };
                    if first_line {
                        first_line = false;
                        if *header == Header::Use {
                            headers = Some(rec.to_vec());
                        }
                        continue;
                    }
                    if at > self.last {
                        break;
                    }
                    let scope = self.scope(headers.as_deref(), None);
                    keep_going = self.one(&scope, &Record::Csv(rec), &mut accs, &mut sink, limit)?;
                }
            }
            Input::JsonDocument => {
                let mut json = JsonReader::new(input);
                let scope = self.scope(None, None);
                let mut values = Vec::new();
                while keep_going {
                    let Some(v) = json.next_record()? else { break };
                    values.clear();
                    expand(v, &self.query.from, &mut values);
                    for v in values.drain(..) {
                        keep_going = self.one(&scope, &Record::Json(&v), &mut accs, &mut sink, limit)?;
                        if !keep_going {
                            break;
                        }
                    }
                }
            }
            Input::JsonLines => {
                let mut lines = std::io::BufReader::with_capacity(256 << 10, input);
                let scope = self.scope(None, None);
                let mut line = Vec::new();
                let mut at = self.from;
                if self.first > 0 {
                    line.clear();
                    at += std::io::BufRead::read_until(&mut lines, b'\n', &mut line).map_err(io)? as u64;
                }
                let mut values = Vec::new();
                while keep_going {
                    line.clear();
                    let start = at;
                    let n = std::io::BufRead::read_until(&mut lines, b'\n', &mut line).map_err(io)?;
                    if n == 0 || start > self.last {
                        break;
                    }
                    at += n as u64;
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let v: V = serde_json::from_slice(&line).map_err(|e| {
                        SelectError::new(
                            "JSONParsingError",
                            format!("Encountered an error parsing the JSON file: {e}. Check the file and try again."),
                        )
                    })?;
                    values.clear();
                    expand(v, &self.query.from, &mut values);
                    for v in values.drain(..) {
                        keep_going = self.one(&scope, &Record::Json(&v), &mut accs, &mut sink, limit)?;
                        if !keep_going {
                            break;
                        }
                    }
                }
            }
        }
        if sink.tx.is_closed() {
            return Ok(());
        }
        if self.query.aggregates > 0 {
            let results: Vec<V> = accs.iter().map(|(a, _)| a.result()).collect();
            let scope = self.scope(headers.as_deref(), Some(&results));
            let mut row = Vec::new();
            for (n, item) in self.query.items.iter().flatten().enumerate() {
                // No record: paths outside aggregates were refused by the parser.
                let v = scope.eval(&item.expr, &Record::Json(&V::Missing))?;
                row.push((item_name(&item.expr, item.alias.as_ref(), n), v));
            }
            self.out.write(&row, &mut sink.buf);
        }
        if !sink.flush()? {
            return Ok(());
        }
        let details = sink.progress_details();
        if self.progress {
            let ev = SelectObjectContentEvent::Progress(ProgressEvent { details: Some(details.clone()) });
            let _ = tx.blocking_send(Ok(ev));
        }
        let stats = Stats {
            bytes_scanned: details.bytes_scanned,
            bytes_processed: details.bytes_processed,
            bytes_returned: details.bytes_returned,
        };
        let _ = tx.blocking_send(Ok(SelectObjectContentEvent::Stats(StatsEvent { details: Some(stats) })));
        let _ = tx.blocking_send(Ok(SelectObjectContentEvent::End(EndEvent {})));
        Ok(())
    }

    fn scope<'a>(&'a self, headers: Option<&'a [String]>, aggregates: Option<&'a [V]>) -> Scope<'a> {
        Scope { alias: self.query.alias.as_deref(), headers, now_millis: self.now_millis, aggregates }
    }

    /// Filters, projects or aggregates one record. False once nothing more is wanted (the
    /// limit is reached or the client left).
    fn one(
        &self,
        scope: &Scope,
        rec: &Record,
        accs: &mut [(Acc, Option<Expr>)],
        sink: &mut Sink,
        limit: u64,
    ) -> Result<bool, SelectError> {
        if let Some(cond) = &self.query.filter
            && !scope.passes(cond, rec)?
        {
            return Ok(true);
        }
        if !accs.is_empty() {
            for (acc, arg) in accs.iter_mut() {
                let v = match arg {
                    Some(e) => Some(scope.eval(e, rec)?),
                    None => None,
                };
                acc.add(v)?;
            }
            return Ok(true);
        }
        let mut row: Vec<(String, V)> = Vec::new();
        match &self.query.items {
            None => match rec {
                Record::Csv(fields) => match scope.csv_struct(fields) {
                    V::Struct(members) => row = members,
                    _ => return Ok(true),
                },
                Record::Json(V::Struct(members)) => row = members.clone(),
                Record::Json(v) => row.push(("_1".to_string(), (*v).clone())),
            },
            Some(items) => {
                for (n, item) in items.iter().enumerate() {
                    let v = scope.eval(&item.expr, rec)?;
                    row.push((item_name(&item.expr, item.alias.as_ref(), n), v));
                }
            }
        }
        self.out.write(&row, &mut sink.buf);
        if !sink.row_done()? {
            return Ok(false);
        }
        Ok(sink.rows < limit)
    }
}

fn io(e: std::io::Error) -> SelectError {
    formats::read_error(e)
}
