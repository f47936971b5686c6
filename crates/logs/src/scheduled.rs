//! Scheduled queries (Create/Get/Update/Delete/ListScheduledQueries, GetScheduledQueryHistory):
//! a Logs Insights query run on a schedule — `cron(…)` (minutes, hours, day of month, month,
//! day of week, optional year; `*`, `?`, lists, ranges, steps and names, evaluated in UTC) or
//! `rate(N minutes|hours|days)` — over the last `startTimeOffset` seconds, its results written
//! as JSON to the S3 destination (`s3://bucket/prefix`) of this server. The scheduler checks
//! every few seconds; each run is kept in the query's history (the newest 100).
//!
//! - `logs/sq/{account}/{region}/{name}` → scheduled query (JSON: as answered, plus `history`)

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::Inner;

const HISTORY: usize = 100;

fn key(account: &str, region: &str, name: &str) -> Vec<u8> {
    format!("logs/sq/{account}/{region}/{name}").into_bytes()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", message)
}

fn not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified scheduled query does not exist.")
}

/// The store key an identifier (name or ARN) names.
fn key_of(ctx: &RequestContext, identifier: &str) -> Vec<u8> {
    let name = stratus_core::Arn::parse(identifier)
        .and_then(|a| a.resource.strip_prefix("scheduled-query:").map(str::to_string))
        .unwrap_or_else(|| identifier.to_string());
    key(&ctx.account, &ctx.region, &name)
}

// ----------------------------------------------------------------------------- schedules

#[derive(Debug, Clone, PartialEq)]
enum Schedule {
    Rate(u64),
    Cron(Vec<Vec<u32>>),
}

fn parse_schedule(expr: &str) -> Result<Schedule, AwsError> {
    let bad = || validation(format!("Invalid scheduleExpression {expr}: use cron(…) or rate(…)."));
    let e = expr.trim();
    if let Some(inner) = e.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let (n, unit) = inner.trim().split_once(' ').ok_or_else(bad)?;
        let n: u64 = n.parse().map_err(|_| bad())?;
        let secs = match unit.trim() {
            "minute" | "minutes" => 60,
            "hour" | "hours" => 3600,
            "day" | "days" => 86_400,
            _ => return Err(bad()),
        };
        if n == 0 {
            return Err(bad());
        }
        return Ok(Schedule::Rate(n * secs * 1000));
    }
    let inner = e.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')).unwrap_or(e);
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if !(5..=6).contains(&fields.len()) {
        return Err(bad());
    }
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    // (min, max, names): minutes, hours, day of month, month, day of week (1 = Sunday), year.
    let ranges: [(u32, u32, &[&str]); 6] =
        [(0, 59, &[]), (0, 23, &[]), (1, 31, &[]), (1, 12, &MONTHS), (1, 7, &DAYS), (1970, 2199, &[])];
    let mut out = Vec::new();
    for (n, f) in fields.iter().enumerate() {
        let (lo, hi, names) = ranges[n];
        let value = |t: &str| -> Result<u32, AwsError> {
            if let Some(i) = names.iter().position(|m| m.eq_ignore_ascii_case(t)) {
                return Ok(lo + i as u32);
            }
            t.parse::<u32>().ok().filter(|v| (lo..=hi).contains(v)).ok_or_else(bad)
        };
        let mut allowed = Vec::new();
        for part in f.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, st)) => (r, st.parse::<u32>().ok().filter(|s| *s > 0).ok_or_else(bad)?),
                None => (part, 1),
            };
            let (from, to) = match range {
                "*" | "?" => (lo, hi),
                r => match r.split_once('-') {
                    Some((a, b)) => (value(a)?, value(b)?),
                    None if part.contains('/') => (value(r)?, hi),
                    None => (value(r)?, value(r)?),
                },
            };
            allowed.extend((from..=to).step_by(step as usize));
        }
        out.push(allowed);
    }
    if out.len() == 5 {
        out.push((1970..=2199).collect());
    }
    Ok(Schedule::Cron(out))
}

/// (year, month, day, hour, minute, weekday with 1 = Sunday) of epoch milliseconds, UTC.
fn civil(ms: u64) -> (u32, u32, u32, u32, u32, u32) {
    let c = stratus_core::time::civil(ms as i64);
    (c.year as u32, c.month, c.day, c.hour, c.minute, c.weekday)
}

/// Whether the schedule has a run due at `now`, the last having been at `last`.
fn due(schedule: &Schedule, last: u64, now: u64) -> bool {
    match schedule {
        Schedule::Rate(period) => now >= last.saturating_add(*period),
        Schedule::Cron(f) => {
            let minute = now / 60_000 * 60_000;
            if last >= minute {
                return false;
            }
            let (y, mo, d, h, mi, wd) = civil(minute);
            f[0].contains(&mi)
                && f[1].contains(&h)
                && f[2].contains(&d)
                && f[3].contains(&mo)
                && f[4].contains(&wd)
                && f[5].contains(&y)
        }
    }
}

// ----------------------------------------------------------------------------- operations

/// Checks and normalizes a query's settings (Create and Update).
fn settings(input: &Value) -> Result<Value, AwsError> {
    if s(input, "queryLanguage") != "CWLI" {
        return Err(validation(format!(
            "queryLanguage {} is not run by this server: scheduled queries here use CloudWatch Logs Insights (CWLI).",
            s(input, "queryLanguage")
        )));
    }
    crate::insights::check_query(s(input, "queryString"))?;
    parse_schedule(s(input, "scheduleExpression"))?;
    if let Some(tz) = input.get("timezone").and_then(Value::as_str)
        && !matches!(tz, "UTC" | "Etc/UTC" | "GMT")
    {
        return Err(validation(format!("timezone {tz} is not supported by this server: schedules run in UTC.")));
    }
    if let Some(d) = input.get("destinationConfiguration") {
        let uri = d.pointer("/s3Configuration/destinationIdentifier").and_then(Value::as_str).unwrap_or_default();
        if !uri.starts_with("s3://") || uri.len() <= 5 {
            return Err(validation(format!("Invalid S3 destination {uri}: an s3://bucket/prefix URI.")));
        }
    }
    let mut out = json!({});
    for k in [
        "description",
        "queryLanguage",
        "queryString",
        "logGroupIdentifiers",
        "scheduleExpression",
        "timezone",
        "startTimeOffset",
        "destinationConfiguration",
        "scheduleStartTime",
        "scheduleEndTime",
        "executionRoleArn",
    ] {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            out[k] = v.clone();
        }
    }
    out["state"] = json!(input.get("state").and_then(Value::as_str).unwrap_or("ENABLED"));
    Ok(out)
}

/// A query as Get and Update answer it (no history).
fn answer(q: &Value) -> Value {
    let mut q = q.clone();
    if let Some(m) = q.as_object_mut() {
        m.remove("history");
        m.remove("tags");
    }
    q
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "name").to_string();
    let mut q = settings(&input)?;
    let now = i.now();
    let arn = format!(
        "arn:{partition}:logs:{}:{}:scheduled-query:{name}",
        ctx.region,
        ctx.account,
        partition = stratus_core::partition(&ctx.region)
    );
    q["name"] = json!(name);
    q["scheduledQueryArn"] = json!(arn);
    q["creationTime"] = json!(now);
    q["lastUpdatedTime"] = json!(now);
    q["tags"] = input.get("tags").cloned().unwrap_or_else(|| json!({}));
    q["history"] = json!([]);
    let state = q["state"].clone();
    let k = key(&ctx.account, &ctx.region, &name);
    crate::records::insert_new(i, k, q, move || {
        AwsError::new("ConflictException", format!("A scheduled query named {name} already exists."))
    })
    .await?;
    Ok(json!({ "scheduledQueryArn": arn, "state": state }))
}

async fn load(i: &Inner, k: Vec<u8>) -> Result<Value, AwsError> {
    let b = i.read(move |r| Ok(r.get(&k)?)).await?.ok_or_else(not_found)?;
    serde_json::from_slice(&b).map_err(|e| AwsError::internal(e.to_string()))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    Ok(answer(&load(i, key_of(ctx, s(&input, "identifier"))).await?))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let new = settings(&input)?;
    let k = key_of(ctx, s(&input, "identifier"));
    let now = i.now();
    i.store
        .write(move |t| {
            let mut q: Value = t.get(&k)?.and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(not_found)?;
            // What Update leaves out is cleared, as on a put; name, ARN, times and history stay.
            let keep: Vec<(String, Value)> = [
                "name",
                "scheduledQueryArn",
                "creationTime",
                "tags",
                "history",
                "lastTriggeredTime",
                "lastExecutionStatus",
            ]
            .iter()
            .filter_map(|f| q.get(*f).map(|v| (f.to_string(), v.clone())))
            .collect();
            q = new;
            for (f, v) in keep {
                q[f] = v;
            }
            q["lastUpdatedTime"] = json!(now);
            t.put(&k, q.to_string().as_bytes())?;
            Ok(answer(&q))
        })
        .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    crate::records::delete_existing(i, key_of(ctx, s(&input, "identifier")), not_found).await
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = format!("logs/sq/{}/{}/", ctx.account, ctx.region).into_bytes();
    let rows = i.read(move |r| Ok(scan_prefix(r, &prefix, usize::MAX)?)).await?;
    let state = input.get("state").and_then(Value::as_str).map(str::to_string);
    let all: Vec<Value> = rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<Value>(v).ok())
        .filter(|q| state.as_deref().is_none_or(|st| q["state"] == json!(st)))
        .map(|q| {
            let mut summary = json!({});
            for k in [
                "scheduledQueryArn",
                "name",
                "state",
                "lastTriggeredTime",
                "lastExecutionStatus",
                "scheduleExpression",
                "timezone",
                "destinationConfiguration",
                "creationTime",
                "lastUpdatedTime",
            ] {
                if let Some(v) = q.get(k) {
                    summary[k] = v.clone();
                }
            }
            summary
        })
        .collect();
    let paging = crate::records::Paging { limit_member: "maxResults", default: 50, max: 1000 };
    crate::records::page(&all, &input, &paging, "name", "scheduledQueries")
}

pub async fn history(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let q = load(i, key_of(ctx, s(&input, "identifier"))).await?;
    let from = input.get("startTime").and_then(Value::as_u64).unwrap_or(0);
    let to = input.get("endTime").and_then(Value::as_u64).unwrap_or(u64::MAX);
    let statuses: Option<Vec<String>> = input
        .get("executionStatuses")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect());
    let all: Vec<Value> = q["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|r| r["triggeredTimestamp"].as_u64().is_some_and(|t| t >= from && t <= to))
                .filter(|r| statuses.as_ref().is_none_or(|st| st.iter().any(|x| r["executionStatus"] == json!(x))))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let limit = input.get("maxResults").and_then(Value::as_u64).unwrap_or(50).clamp(1, 1000) as usize;
    let start = match s(&input, "nextToken") {
        "" => 0,
        t => t.parse::<usize>().map_err(|_| crate::errors::invalid_token())?,
    };
    let mut out = json!({
        "name": q["name"],
        "scheduledQueryArn": q["scheduledQueryArn"],
        "triggerHistory": all.iter().skip(start).take(limit).collect::<Vec<_>>(),
    });
    if start + limit < all.len() {
        out["nextToken"] = json!((start + limit).to_string());
    }
    Ok(out)
}

// ----------------------------------------------------------------------------- the scheduler

/// Runs due scheduled queries, checking every few seconds until shutdown.
pub async fn run(i: Arc<Inner>) {
    loop {
        if i.closing() {
            return;
        }
        if let Err(e) = tick(&i).await {
            tracing::warn!(error = %e.message, "scheduled queries could not be checked");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn tick(i: &Arc<Inner>) -> Result<(), AwsError> {
    let rows = i.read(|r| Ok(scan_prefix(r, b"logs/sq/", usize::MAX)?)).await?;
    let now = i.now();
    for (k, v) in rows {
        let Ok(q) = serde_json::from_slice::<Value>(&v) else { continue };
        if q["state"] != json!("ENABLED") {
            continue;
        }
        if q["scheduleStartTime"].as_u64().is_some_and(|t| now < t)
            || q["scheduleEndTime"].as_u64().is_some_and(|t| now > t)
        {
            continue;
        }
        let Ok(schedule) = parse_schedule(s(&q, "scheduleExpression")) else { continue };
        let last = q["lastTriggeredTime"].as_u64().or_else(|| q["creationTime"].as_u64()).unwrap_or(now);
        if !due(&schedule, last, now) {
            continue;
        }
        let record = execute(i, &k, &q, &schedule, now).await;
        i.store
            .write(move |t| {
                // The query may have been deleted or changed meanwhile: only its history and
                // last run are written.
                let Some(mut cur) = t.get(&k)?.and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
                    return Ok::<_, AwsError>(());
                };
                cur["lastTriggeredTime"] = json!(now);
                cur["lastExecutionStatus"] = record["executionStatus"].clone();
                let mut h = cur["history"].as_array().cloned().unwrap_or_default();
                h.insert(0, record);
                h.truncate(HISTORY);
                cur["history"] = json!(h);
                t.put(&k, cur.to_string().as_bytes())?;
                Ok(())
            })
            .await?;
    }
    Ok(())
}

/// One run: the query over its lookback window, its results written to the destination.
async fn execute(i: &Arc<Inner>, key: &[u8], q: &Value, schedule: &Schedule, now: u64) -> Value {
    // logs/sq/{account}/{region}/{name}
    let path = String::from_utf8_lossy(key).into_owned();
    let mut parts = path.splitn(5, '/').skip(2);
    let (account, region) =
        (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
    let ctx = RequestContext::internal(&account, &region, i.env.ids.uuid());
    let lookback = q["startTimeOffset"].as_u64().unwrap_or(match schedule {
        Schedule::Rate(p) => p / 1000,
        Schedule::Cron(_) => 3600,
    });
    let input = json!({
        "logGroupIdentifiers": q["logGroupIdentifiers"],
        "queryString": q["queryString"],
        "startTime": now.saturating_sub(lookback * 1000) / 1000,
        "endTime": now / 1000,
    });
    let started = crate::insights::start(i, &ctx, input).await;
    let query_id = match &started {
        Ok(v) => s(v, "queryId").to_string(),
        Err(_) => String::new(),
    };
    let mut record = json!({"queryId": query_id, "triggeredTimestamp": now, "destinations": []});
    let results = match started {
        Ok(_) => crate::insights::results(i, &ctx, json!({"queryId": query_id})).await,
        Err(e) => Err(e),
    };
    let results = match results {
        Ok(r) => r,
        Err(e) => {
            record["executionStatus"] =
                json!(if e.code == "MalformedQueryException" { "InvalidQuery" } else { "Failed" });
            record["errorMessage"] = json!(e.message);
            return record;
        }
    };
    record["executionStatus"] = json!("Complete");
    if let Some(uri) =
        q.pointer("/destinationConfiguration/s3Configuration/destinationIdentifier").and_then(Value::as_str)
    {
        let rest = uri.trim_start_matches("s3://");
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        let object = if prefix.is_empty() { format!("{query_id}.json") } else { format!("{prefix}/{query_id}.json") };
        let body = json!({"scheduledQuery": q["name"], "queryId": query_id, "results": results["results"], "statistics": results["statistics"]});
        let written = match i.buckets.get() {
            Some(b) => b.put(bucket, &object, body.to_string().into_bytes()).await,
            None => Err("S3 is not available".to_string()),
        };
        let mut d = json!({"destinationType": "S3", "destinationIdentifier": uri});
        match written {
            Ok(()) => {
                d["status"] = json!("COMPLETE");
                d["processedIdentifier"] = json!(format!("s3://{bucket}/{object}"));
            }
            Err(e) => {
                d["status"] = json!("FAILED");
                d["errorMessage"] = json!(e);
                record["executionStatus"] = json!("Failed");
            }
        }
        record["destinations"] = json!([d]);
    }
    record
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert_eq!(parse_schedule("rate(5 minutes)").unwrap(), Schedule::Rate(300_000));
        assert!(parse_schedule("rate(0 minutes)").is_err());
        assert!(parse_schedule("cron(0 61 * * ? *)").is_err());
        let every_ten = parse_schedule("cron(0/10 * * * ? *)").unwrap();
        // 2019-02-06T00:20:00Z (a Wednesday).
        let t = 1_549_412_400_000;
        assert!(due(&every_ten, t - 60_000, t));
        assert!(!due(&every_ten, t - 60_000, t + 60_000));
        assert!(!due(&every_ten, t, t + 30_000), "once a minute");
        let weekdays_noon = parse_schedule("0 12 ? * MON-FRI *").unwrap();
        assert!(due(&weekdays_noon, 0, t + 11 * 3_600_000 + 40 * 60_000));
        assert!(!due(&weekdays_noon, 0, t + 4 * 86_400_000 + 11 * 3_600_000 + 40 * 60_000), "a Sunday");
    }
}
