//! CloudWatch Logs Insights: StartQuery runs a query ([`query`] parses it, [`eval`] evaluates
//! it) over the stored events of its log groups and keeps the outcome; GetQueryResults,
//! StopQuery and DescribeQueries read it; query definitions (Put/Describe/Delete) are saved
//! queries; GetLogRecord reads the event a result's `@ptr` points at; GetLogGroupFields counts
//! the fields of recent events.
//!
//! A query runs to completion inside StartQuery (one read snapshot), so GetQueryResults finds
//! it `Complete`. Events stream through the record commands (`parse`, `fields`, `filter`,
//! `display`) one at a time; `stats` aggregates them as they pass, so a `stats … by bin(…)`
//! over millions of events keeps one entry per group, not the events.
//!
//! - `logs/q/{account}/{region}/{query id}` → query record (JSON)
//! - `logs/qd/{account}/{region}/{definition id}` → query definition (JSON)

mod eval;
mod query;

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, scan_prefix};

use self::eval::{Aggregate, Fields, Record, V, compare};
use self::query::{Command, Expr, Named, Query};
use crate::errors::invalid_parameter;
use crate::group::{GroupRecord, GroupRef, decode_stream, load_group};
use crate::{Inner, keys};

/// At most this many result rows (and StartQuery's `limit` default).
const MAX_ROWS: usize = 10_000;
/// Events read per range scan.
const CHUNK: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueryRecord {
    query_id: String,
    query_string: String,
    log_group_names: Vec<String>,
    status: String,
    create_time: u64,
    /// Rows of (field, value).
    results: Vec<Vec<(String, String)>>,
    matched: u64,
    scanned: u64,
    bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Definition {
    id: String,
    name: String,
    query_string: String,
    #[serde(default)]
    log_group_names: Vec<String>,
    last_modified: u64,
}

fn query_key(account: &str, region: &str, id: &str) -> Vec<u8> {
    format!("logs/q/{account}/{region}/{id}").into_bytes()
}

fn definition_key(account: &str, region: &str, id: &str) -> Vec<u8> {
    format!("logs/qd/{account}/{region}/{id}").into_bytes()
}

fn s<'a>(v: &'a Json, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Json::as_str)
}

fn strings(v: &Json, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, AwsError> {
    serde_json::from_slice(b).map_err(|e| AwsError::internal(format!("corrupt record: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, AwsError> {
    serde_json::to_vec(v).map_err(|e| AwsError::internal(e.to_string()))
}

fn not_found(what: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", what.to_string())
}

/// A record's pointer: its group, stream, timestamp and sequence.
fn pointer(group: u64, stream: u64, ts: u64, seq: u64) -> String {
    let mut b = Vec::with_capacity(32);
    for n in [group, stream, ts, seq] {
        b.extend_from_slice(&n.to_be_bytes());
    }
    URL_SAFE_NO_PAD.encode(b)
}

fn parse_pointer(p: &str) -> Option<[u64; 4]> {
    let b = URL_SAFE_NO_PAD.decode(p).ok()?;
    if b.len() != 32 {
        return None;
    }
    let mut out = [0u64; 4];
    for (i, chunk) in b.chunks(8).enumerate() {
        out[i] = u64::from_be_bytes(chunk.try_into().ok()?);
    }
    Some(out)
}

/// The groups a StartQuery names (`logGroupName`, `logGroupNames` or `logGroupIdentifiers`).
fn group_refs(ctx: &RequestContext, input: &Json) -> Result<Vec<GroupRef>, AwsError> {
    let mut refs = Vec::new();
    if let Some(n) = s(input, "logGroupName") {
        refs.push(GroupRef::named(ctx, n));
    }
    for n in strings(input, "logGroupNames") {
        refs.push(GroupRef::named(ctx, &n));
    }
    for id in strings(input, "logGroupIdentifiers") {
        let r = if id.starts_with("arn:") { GroupRef::from_arn(&id) } else { Some(GroupRef::named(ctx, &id)) };
        refs.push(r.ok_or_else(|| invalid_parameter(format!("Invalid log group identifier: {id}")))?);
    }
    let given = [
        input.get("logGroupName").is_some(),
        input.get("logGroupNames").is_some(),
        input.get("logGroupIdentifiers").is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(invalid_parameter("Specify only one of logGroupName, logGroupNames or logGroupIdentifiers."));
    }
    if refs.is_empty()
        && s(input, "queryString").is_none_or(|q| !q.trim_start().to_ascii_uppercase().starts_with("SOURCE"))
    {
        return Err(invalid_parameter("Specify a log group with logGroupName, logGroupNames or logGroupIdentifiers."));
    }
    Ok(refs)
}

/// What a query produced.
struct Outcome {
    rows: Vec<Vec<(String, String)>>,
    matched: u64,
    scanned: u64,
    bytes: u64,
}

/// Rows the commands after the first stateful one work on: records, or stats rows.
trait Row: Fields {
    fn put(&mut self, name: &str, v: V);
}

impl Row for Record {
    fn put(&mut self, name: &str, v: V) {
        self.set(name, v);
    }
}

impl Row for BTreeMap<String, V> {
    fn put(&mut self, name: &str, v: V) {
        self.insert(name.to_string(), v);
    }
}

/// A record command applied to one record: false when it drops it.
fn apply_record_command(c: &Command, r: &mut Record) -> bool {
    match c {
        Command::Filter(e) => matches!(eval::eval(e, r), V::Num(n) if n != 0.0),
        Command::Fields(list) => {
            for n in list {
                if !matches!(&n.expr, Expr::Field(f) if *f == n.name) {
                    let v = eval::eval(&n.expr, r);
                    r.set(&n.name, v);
                }
            }
            true
        }
        Command::ParseGlob { field, pattern, names } => {
            let text = eval::eval(field, r).text();
            if let Some(caps) = pattern.captures(&text) {
                for (i, n) in names.iter().enumerate() {
                    if let Some(m) = caps.get(i + 1) {
                        r.set(n, V::Str(m.as_str().to_string()));
                    }
                }
            }
            true
        }
        Command::ParseRegex { field, pattern } => {
            let text = eval::eval(field, r).text();
            if let Some(caps) = pattern.captures(&text) {
                for n in pattern.capture_names().flatten() {
                    if let Some(m) = caps.name(n) {
                        r.set(n, V::Str(m.as_str().to_string()));
                    }
                }
            }
            true
        }
        _ => true,
    }
}

fn is_record_command(c: &Command) -> bool {
    matches!(
        c,
        Command::Filter(_)
            | Command::Fields(_)
            | Command::ParseGlob { .. }
            | Command::ParseRegex { .. }
            | Command::Display(_)
    )
}

/// The commands after the streaming part, on materialized rows.
fn apply_rest<T: Row>(mut rows: Vec<T>, commands: &[Command]) -> Vec<T> {
    for c in commands {
        match c {
            Command::Filter(e) => rows.retain_mut(|r| matches!(eval::eval(e, r), V::Num(n) if n != 0.0)),
            Command::Fields(list) => {
                for r in &mut rows {
                    for n in list {
                        if !matches!(&n.expr, Expr::Field(f) if *f == n.name) {
                            let v = eval::eval(&n.expr, r);
                            r.put(&n.name, v);
                        }
                    }
                }
            }
            Command::Sort(keys) => sort_rows(&mut rows, keys),
            Command::Limit(n) => rows.truncate(*n),
            Command::Dedup(fields) => {
                let mut seen = std::collections::HashSet::new();
                rows.retain_mut(|r| {
                    let vals: Vec<V> = fields.iter().map(|f| r.field(f)).collect();
                    if vals.iter().any(V::is_null) {
                        return true;
                    }
                    seen.insert(vals.iter().map(V::text).collect::<Vec<_>>())
                });
            }
            Command::ParseGlob { field, pattern, names } => {
                for r in &mut rows {
                    let text = eval::eval(field, r).text();
                    if let Some(caps) = pattern.captures(&text) {
                        for (i, n) in names.iter().enumerate() {
                            if let Some(m) = caps.get(i + 1) {
                                r.put(n, V::Str(m.as_str().to_string()));
                            }
                        }
                    }
                }
            }
            Command::ParseRegex { field, pattern } => {
                for r in &mut rows {
                    let text = eval::eval(field, r).text();
                    if let Some(caps) = pattern.captures(&text) {
                        for n in pattern.capture_names().flatten() {
                            if let Some(m) = caps.name(n) {
                                r.put(n, V::Str(m.as_str().to_string()));
                            }
                        }
                    }
                }
            }
            Command::Display(_) | Command::Stats { .. } => {}
        }
    }
    rows
}

fn sort_rows<T: Row>(rows: &mut Vec<T>, keys: &[(Expr, bool)]) {
    let mut keyed: Vec<(Vec<V>, T)> = std::mem::take(rows)
        .into_iter()
        .map(|mut r| (keys.iter().map(|(e, _)| eval::eval(e, &mut r)).collect(), r))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        for ((x, y), (_, desc)) in a.iter().zip(b).zip(keys) {
            let ord = match (x.is_null(), y.is_null()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if *desc => compare(y, x),
                _ => compare(x, y),
            };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    *rows = keyed.into_iter().map(|(_, r)| r).collect();
}

/// Keeps the first `k` records in `order` (the rest could never be answered).
fn keep_first(records: &mut Vec<Record>, order: &[(Expr, bool)], k: usize) {
    let default = matches!(order, [(Expr::Field(f), true)] if f == "@timestamp");
    if default {
        records.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| b.at.2.cmp(&a.at.2)));
    } else {
        sort_rows(records, order);
    }
    records.truncate(k);
}

/// The columns a non-stats query answers: the last `display`, else every `fields` name (and
/// `parse` name) in order, else the event's own fields.
fn columns(q: &Query) -> Vec<String> {
    if let Some(Command::Display(d)) = q.commands.iter().rev().find(|c| matches!(c, Command::Display(_))) {
        return d.clone();
    }
    let mut out: Vec<String> = Vec::new();
    for c in &q.commands {
        if let Command::Fields(list) = c {
            for n in list {
                if !out.contains(&n.name) {
                    out.push(n.name.clone());
                }
            }
        }
    }
    if out.is_empty() {
        out = vec!["@timestamp".into(), "@message".into(), "@logStream".into(), "@log".into()];
        for c in &q.commands {
            match c {
                Command::ParseGlob { names, .. } => out.extend(names.iter().cloned()),
                Command::ParseRegex { pattern, .. } => {
                    out.extend(pattern.capture_names().flatten().map(str::to_string))
                }
                _ => {}
            }
        }
    }
    out
}

/// Reads every event of `groups` in [start, end] (milliseconds) and runs the query.
fn run(
    r: &mut dyn ReadTxn,
    groups: &[GroupRecord],
    q: &Query,
    start: u64,
    end: u64,
    limit: usize,
    now: u64,
) -> Result<Outcome, AwsError> {
    let split = q.commands.iter().position(|c| !is_record_command(c)).unwrap_or(q.commands.len());
    let (streaming, rest) = q.commands.split_at(split);
    let stats = match rest.first() {
        Some(Command::Stats { aggregates, by }) => Some((aggregates, by)),
        _ => None,
    };
    let mut out = Outcome { rows: Vec::new(), matched: 0, scanned: 0, bytes: 0 };
    let cap = limit.min(MAX_ROWS);
    // Without stats, the rows are sorted (by the query's sort, else newest first) and cut: when
    // nothing but that comes after the record commands, only the first rows need keeping.
    let order: Vec<(Expr, bool)> = match rest.iter().find(|c| matches!(c, Command::Sort(_))) {
        Some(Command::Sort(keys)) => keys.clone(),
        _ => vec![(Expr::Field("@timestamp".into()), true)],
    };
    let first_limit = rest.iter().position(|c| matches!(c, Command::Limit(_)));
    let first_sort = rest.iter().position(|c| matches!(c, Command::Sort(_)));
    let sort_after_limit = matches!((first_limit, first_sort), (Some(l), Some(s)) if s > l);
    let plain = rest.iter().all(|c| matches!(c, Command::Sort(_) | Command::Limit(_) | Command::Display(_)))
        && rest.iter().filter(|c| matches!(c, Command::Sort(_))).count() <= 1
        && !sort_after_limit;
    let top_k = (stats.is_none() && plain).then(|| {
        rest.iter()
            .filter_map(|c| if let Command::Limit(n) = c { Some(*n) } else { None })
            .min()
            .unwrap_or(cap)
            .min(cap)
    });
    let mut records: Vec<Record> = Vec::new();
    // Stats groups: key texts → (key values, aggregates).
    let mut groups_of: HashMap<Vec<String>, (Vec<V>, Vec<Aggregate>)> = HashMap::new();
    for g in groups {
        let from = start.max(g.retention_cutoff(now));
        if from > end {
            continue;
        }
        let log: std::rc::Rc<str> = format!("{}:{}", g.account, g.name).into();
        for (_, sb) in scan_prefix(r, &keys::streams(g.id), usize::MAX)? {
            let stream = decode_stream(&sb)?;
            let stream_name: std::rc::Rc<str> = stream.name.as_str().into();
            let mut lo = keys::event(g.id, stream.id, from, 0);
            let hi = keys::event(g.id, stream.id, end.saturating_add(1), 0);
            loop {
                let chunk = r.scan(&lo, Some(&hi), CHUNK)?;
                let n = chunk.len();
                for (k, v) in &chunk {
                    let (Some((ts, seq)), Some((ingestion, message))) =
                        (keys::parse_event(k), keys::parse_event_value(v))
                    else {
                        continue;
                    };
                    out.scanned += 1;
                    out.bytes += message.len() as u64;
                    let mut rec =
                        Record::new(ts, ingestion, message, stream_name.clone(), log.clone(), (g.id, stream.id, seq));
                    if !streaming.iter().all(|c| apply_record_command(c, &mut rec)) {
                        continue;
                    }
                    out.matched += 1;
                    match stats {
                        Some((aggregates, by)) => {
                            let key_vals: Vec<V> = by.iter().map(|n| eval::eval(&n.expr, &mut rec)).collect();
                            let key: Vec<String> = key_vals.iter().map(V::key).collect();
                            let entry = groups_of.entry(key).or_insert_with(|| {
                                let aggs = aggregates
                                    .iter()
                                    .map(|a| match &a.expr {
                                        Expr::Call(f, args) => Aggregate::new(f, args),
                                        _ => Aggregate::Count(0),
                                    })
                                    .collect();
                                (key_vals, aggs)
                            });
                            for (agg, a) in entry.1.iter_mut().zip(aggregates.iter()) {
                                if let Expr::Call(_, args) = &a.expr {
                                    agg.add(args, &mut rec);
                                }
                            }
                        }
                        None => {
                            records.push(rec);
                            if let Some(k) = top_k
                                && records.len() >= 2 * k.max(1024)
                            {
                                keep_first(&mut records, &order, k);
                            }
                        }
                    }
                }
                if n < CHUNK {
                    break;
                }
                let Some((last, _)) = chunk.last() else { break };
                lo = last.clone();
                lo.push(0);
            }
        }
    }
    match stats {
        Some((aggregates, by)) => {
            let no_group = by.is_empty() && groups_of.is_empty();
            let mut entries: Vec<(Vec<V>, Vec<Aggregate>)> = groups_of.into_values().collect();
            if no_group {
                let aggs = aggregates
                    .iter()
                    .map(|a| match &a.expr {
                        Expr::Call(f, args) => Aggregate::new(f, args),
                        _ => Aggregate::Count(0),
                    })
                    .collect();
                entries.push((Vec::new(), aggs));
            }
            entries.sort_by(|(a, _), (b, _)| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| compare(x, y))
                    .find(|o| *o != std::cmp::Ordering::Equal)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            let names: Vec<String> = by.iter().chain(aggregates.iter()).map(|n: &Named| n.name.clone()).collect();
            let rows: Vec<BTreeMap<String, V>> = entries
                .into_iter()
                .map(|(keys, aggs)| {
                    let mut m = BTreeMap::new();
                    for (n, v) in by.iter().zip(keys) {
                        m.insert(n.name.clone(), v);
                    }
                    for (n, a) in aggregates.iter().zip(aggs) {
                        m.insert(n.name.clone(), a.value());
                    }
                    m
                })
                .collect();
            let mut rows = apply_rest(rows, &rest[1..]);
            rows.truncate(cap);
            let display = rest.iter().rev().find_map(|c| match c {
                Command::Display(d) => Some(d.clone()),
                _ => None,
            });
            let cols = display.unwrap_or(names);
            out.rows = rows
                .into_iter()
                .map(|m| {
                    cols.iter()
                        .filter_map(|c| m.get(c).filter(|v| !v.is_null()).map(|v| (c.clone(), v.text())))
                        .collect()
                })
                .collect();
        }
        None => {
            // Newest first unless the query sorts.
            if !rest.iter().any(|c| matches!(c, Command::Sort(_))) {
                records.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then_with(|| b.at.2.cmp(&a.at.2)));
            }
            let mut rows = apply_rest(records, rest);
            rows.truncate(cap);
            let cols = columns(q);
            for mut rec in rows {
                let mut row = Vec::with_capacity(cols.len() + 1);
                for c in &cols {
                    let v = rec.get(c);
                    if !v.is_null() {
                        row.push((c.clone(), v.text()));
                    }
                }
                row.push(("@ptr".into(), rec.ptr()));
                out.rows.push(row);
            }
        }
    }
    Ok(out)
}

fn malformed(e: &query::QueryError) -> AwsError {
    let mut err = AwsError::new("MalformedQueryException", e.message.clone());
    let detail = json!({"location": {"startCharOffset": e.start, "endCharOffset": e.end}, "message": e.message});
    err.fields.push(("queryCompileError".into(), detail.to_string()));
    err
}

pub(crate) async fn start(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let refs = group_refs(ctx, &input)?;
    let text = s(&input, "queryString").unwrap_or_default().to_string();
    let q = query::parse(&text).map_err(|e| malformed(&e))?;
    let start = input.get("startTime").and_then(Json::as_i64).unwrap_or(0);
    let end = input.get("endTime").and_then(Json::as_i64).unwrap_or(0);
    if end < start {
        return Err(invalid_parameter("endTime must be greater than or equal to startTime"));
    }
    let limit = input.get("limit").and_then(Json::as_u64).map_or(MAX_ROWS, |l| l as usize);
    let (start_ms, end_ms) = ((start.max(0) as u64) * 1000, (end.max(0) as u64) * 1000 + 999);
    let now = i.now();
    let id = i.env.ids.uuid();
    let names: Vec<String> = refs.iter().map(|r| r.name.clone()).collect();
    let account = ctx.account.clone();
    let outcome = i
        .read(move |r| {
            let mut groups = Vec::new();
            for g in &refs {
                let rec = load_group(r, &g.account, &g.region, &g.name)?.ok_or_else(|| {
                    not_found(&format!("Log group '{}' does not exist for account ID '{}'", g.name, account))
                })?;
                groups.push(rec);
            }
            run(r, &groups, &q, start_ms, end_ms, limit, now)
        })
        .await?;
    let record = QueryRecord {
        query_id: id.clone(),
        query_string: text,
        log_group_names: names,
        status: "Complete".into(),
        create_time: now,
        results: outcome.rows,
        matched: outcome.matched,
        scanned: outcome.scanned,
        bytes: outcome.bytes,
    };
    let key = query_key(&ctx.account, &ctx.region, &id);
    let bytes = encode(&record)?;
    i.store.write(move |t| t.put(&key, &bytes)).await?;
    Ok(json!({"queryId": id}))
}

async fn load_query(i: &Inner, ctx: &RequestContext, id: &str) -> Result<QueryRecord, AwsError> {
    let key = query_key(&ctx.account, &ctx.region, id);
    let b = i.read(move |r| Ok(r.get(&key)?)).await?;
    decode(&b.ok_or_else(|| not_found("The specified query does not exist."))?)
}

pub(crate) async fn results(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let q = load_query(i, ctx, s(&input, "queryId").unwrap_or_default()).await?;
    let rows: Vec<Json> = q
        .results
        .iter()
        .map(|row| Json::Array(row.iter().map(|(f, v)| json!({"field": f, "value": v})).collect()))
        .collect();
    Ok(json!({
        "results": rows,
        "statistics": {"recordsMatched": q.matched as f64, "recordsScanned": q.scanned as f64, "bytesScanned": q.bytes as f64},
        "status": q.status,
    }))
}

/// Whether a query string parses (scheduled queries check theirs when put).
pub(crate) fn check_query(text: &str) -> Result<(), AwsError> {
    query::parse(text).map(|_| ()).map_err(|e| malformed(&e))
}

/// ListLogGroupsForQuery: the groups a query analyzed, as ARNs (pages of `maxResults`, 1–500,
/// default 50).
pub(crate) async fn groups_of(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let q = load_query(i, ctx, s(&input, "queryId").unwrap_or_default()).await?;
    let all: Vec<String> = q
        .log_group_names
        .iter()
        .map(|g| {
            let name = GroupRef::from_arn(g).map_or_else(|| g.clone(), |r| r.name);
            format!(
                "arn:{partition}:logs:{}:{}:log-group:{name}",
                ctx.region,
                ctx.account,
                partition = stratus_core::partition(&ctx.region)
            )
        })
        .collect();
    let limit = input.get("maxResults").and_then(Json::as_u64).unwrap_or(50).clamp(1, 500) as usize;
    let start = match s(&input, "nextToken") {
        None | Some("") => 0,
        Some(t) => t.parse::<usize>().map_err(|_| crate::errors::invalid_token())?,
    };
    let mut out = json!({"logGroupIdentifiers": all.iter().skip(start).take(limit).collect::<Vec<_>>()});
    if start + limit < all.len() {
        out["nextToken"] = json!((start + limit).to_string());
    }
    Ok(out)
}

pub(crate) async fn stop(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let q = load_query(i, ctx, s(&input, "queryId").unwrap_or_default()).await?;
    if q.status != "Running" && q.status != "Scheduled" {
        return Err(invalid_parameter(format!("Query {} is not running.", q.query_id)));
    }
    Ok(json!({"success": false}))
}

pub(crate) async fn describe(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let group = s(&input, "logGroupName").map(str::to_string);
    let status = s(&input, "status").map(str::to_string);
    let max = input.get("maxResults").and_then(Json::as_u64).unwrap_or(1000).clamp(1, 1000) as usize;
    let prefix = format!("logs/q/{}/{}/", ctx.account, ctx.region).into_bytes();
    let mut all: Vec<QueryRecord> =
        i.read(move |r| scan_prefix(r, &prefix, usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()).await?;
    all.retain(|q| {
        group.as_ref().is_none_or(|g| q.log_group_names.contains(g)) && status.as_ref().is_none_or(|s| &q.status == s)
    });
    all.sort_by(|a, b| b.create_time.cmp(&a.create_time).then_with(|| a.query_id.cmp(&b.query_id)));
    let start = match s(&input, "nextToken") {
        Some(t) => all.iter().position(|q| q.query_id == t).ok_or_else(crate::errors::invalid_token)?,
        None => 0,
    };
    let page: Vec<&QueryRecord> = all.iter().skip(start).take(max).collect();
    let queries: Vec<Json> = page
        .iter()
        .map(|q| {
            json!({"queryLanguage": "CWLI", "queryId": q.query_id, "queryString": q.query_string, "status": q.status,
                   "createTime": q.create_time, "logGroupName": q.log_group_names.first().cloned().unwrap_or_default()})
        })
        .collect();
    let mut out = json!({"queries": queries});
    if let (Some(next), Some(o)) = (all.get(start + max), out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next.query_id));
    }
    Ok(out)
}

pub(crate) async fn put_definition(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let name = s(&input, "name").unwrap_or_default().to_string();
    let text = s(&input, "queryString").unwrap_or_default().to_string();
    if name.is_empty() || text.is_empty() {
        return Err(invalid_parameter("A query definition needs a name and a queryString."));
    }
    let id = s(&input, "queryDefinitionId").map(str::to_string);
    let new_id = i.env.ids.uuid();
    let now = i.now();
    let groups = strings(&input, "logGroupNames");
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let id = i
        .store
        .write(move |t| {
            let id = match id {
                Some(id) => {
                    if t.get(&definition_key(&account, &region, &id))?.is_none() {
                        return Err(not_found("The specified query definition does not exist."));
                    }
                    id
                }
                None => new_id,
            };
            let d =
                Definition { id: id.clone(), name, query_string: text, log_group_names: groups, last_modified: now };
            t.put(&definition_key(&account, &region, &id), &encode(&d)?)?;
            Ok(id)
        })
        .await?;
    Ok(json!({"queryDefinitionId": id}))
}

pub(crate) async fn describe_definitions(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let prefix_filter = s(&input, "queryDefinitionNamePrefix").unwrap_or_default().to_string();
    let max = input.get("maxResults").and_then(Json::as_u64).unwrap_or(1000).clamp(1, 1000) as usize;
    let prefix = format!("logs/qd/{}/{}/", ctx.account, ctx.region).into_bytes();
    let mut all: Vec<Definition> =
        i.read(move |r| scan_prefix(r, &prefix, usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()).await?;
    all.retain(|d| d.name.starts_with(&prefix_filter));
    all.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let start = match s(&input, "nextToken") {
        Some(t) => all.iter().position(|d| d.id == t).ok_or_else(crate::errors::invalid_token)?,
        None => 0,
    };
    let defs: Vec<Json> = all
        .iter()
        .skip(start)
        .take(max)
        .map(|d| {
            json!({"queryLanguage": "CWLI", "queryDefinitionId": d.id, "name": d.name, "queryString": d.query_string,
                   "lastModified": d.last_modified, "logGroupNames": d.log_group_names})
        })
        .collect();
    let mut out = json!({"queryDefinitions": defs});
    if let (Some(next), Some(o)) = (all.get(start + max), out.as_object_mut()) {
        o.insert("nextToken".into(), json!(next.id));
    }
    Ok(out)
}

pub(crate) async fn delete_definition(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let key = definition_key(&ctx.account, &ctx.region, s(&input, "queryDefinitionId").unwrap_or_default());
    i.store
        .write(move |t| {
            if t.get(&key)?.is_none() {
                return Err(not_found("The specified query definition does not exist."));
            }
            t.delete(&key)?;
            Ok(())
        })
        .await?;
    Ok(json!({"success": true}))
}

/// The group record with this id (a pointer names groups by id).
fn group_by_id(r: &mut dyn ReadTxn, id: u64) -> Result<Option<GroupRecord>, AwsError> {
    for (_, v) in scan_prefix(r, &keys::all_groups(), usize::MAX)? {
        let g: GroupRecord = decode(&v)?;
        if g.id == id {
            return Ok(Some(g));
        }
    }
    Ok(None)
}

pub(crate) async fn get_record(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let ptr = s(&input, "logRecordPointer").unwrap_or_default().to_string();
    let [gid, sid, ts, seq] =
        parse_pointer(&ptr).ok_or_else(|| invalid_parameter("The log record pointer is not valid."))?;
    let account = ctx.account.clone();
    let (g, stream, ingestion, message) = i
        .read(move |r| {
            let missing = || not_found("The specified log record does not exist.");
            let g = group_by_id(r, gid)?.filter(|g| g.account == account).ok_or_else(missing)?;
            let v = r.get(&keys::event(gid, sid, ts, seq))?.ok_or_else(missing)?;
            let (ingestion, message) = keys::parse_event_value(&v).ok_or_else(missing)?;
            let streams = scan_prefix(r, &keys::streams(gid), usize::MAX)?;
            let stream = streams
                .iter()
                .filter_map(|(_, b)| decode_stream(b).ok())
                .find(|s| s.id == sid)
                .map(|s| s.name)
                .ok_or_else(missing)?;
            Ok((g, stream, ingestion, message))
        })
        .await?;
    let mut record = serde_json::Map::new();
    for (k, v) in eval::flatten(&message) {
        record.insert(k, json!(v.text()));
    }
    record.insert("@timestamp".into(), json!(ts.to_string()));
    record.insert("@ingestionTime".into(), json!(ingestion.to_string()));
    record.insert("@message".into(), json!(message));
    record.insert("@logStream".into(), json!(stream));
    record.insert("@log".into(), json!(format!("{}:{}", g.account, g.name)));
    Ok(json!({"logRecord": record}))
}

pub(crate) async fn group_fields(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let group = GroupRef::resolve(ctx, s(&input, "logGroupName"), s(&input, "logGroupIdentifier"))?;
    let now = i.now();
    let at = input.get("time").and_then(Json::as_u64).map_or(now, |t| t * 1000);
    let from = at.saturating_sub(15 * 60 * 1000);
    let (total, counts) = i
        .read(move |r| {
            let g = group.load(r)?;
            let mut total = 0u64;
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for (_, sb) in scan_prefix(r, &keys::streams(g.id), usize::MAX)? {
                let stream = decode_stream(&sb)?;
                let lo = keys::event(g.id, stream.id, from, 0);
                let hi = keys::event(g.id, stream.id, at.saturating_add(1), 0);
                for (_, v) in r.scan(&lo, Some(&hi), 10_000)? {
                    let Some((_, message)) = keys::parse_event_value(&v) else { continue };
                    total += 1;
                    for (k, _) in eval::flatten(&message) {
                        *counts.entry(k).or_default() += 1;
                    }
                }
            }
            Ok((total, counts))
        })
        .await?;
    let mut fields: Vec<(String, u64)> = Vec::new();
    if let Some(half) = total.checked_div(2).filter(|_| total > 0) {
        for f in ["@timestamp", "@message", "@logStream", "@log", "@ingestionTime"] {
            fields.push((f.into(), 100));
        }
        for (k, n) in counts {
            fields.push((k, (n * 100 + half).checked_div(total).unwrap_or(0)));
        }
    }
    fields.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let list: Vec<Json> = fields.iter().map(|(n, p)| json!({"name": n, "percent": p})).collect();
    Ok(json!({"logGroupFields": list}))
}
