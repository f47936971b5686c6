//! StartLiveTail: a session streaming the events newly ingested into up to ten log groups, as
//! an event stream — one `sessionStart`, then every second a `sessionUpdate` with what arrived
//! (an empty list when nothing did; at most 500, sampled beyond that), until the session ends
//! after three hours with `SessionTimeoutException`.
//!
//! Writes of events (PutLogEvents and function output) publish what they stored, after their
//! commit, on an in-memory broadcast channel — only while a session listens; each session
//! filters by group, stream and filter pattern. A session whose reader falls far behind loses
//! the oldest events, as AWS drops them for slow clients.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::eventstream::EventSource;
use stratus_proto::{AwsError, BoxFuture};
use tokio::sync::broadcast;

use crate::Inner;
use crate::errors::{group_not_found, invalid_parameter};
use crate::group::{GroupRef, load_group};
use crate::pattern::FilterPattern;

/// Events one write stored in one stream, published after its commit.
#[derive(Debug)]
pub struct Written {
    pub account: String,
    pub region: String,
    pub group: String,
    pub stream: String,
    pub ingestion: u64,
    /// (timestamp, message)
    pub events: Vec<(u64, String)>,
}

/// How many written batches wait for slow sessions before the oldest are dropped.
pub const CHANNEL: usize = 4096;
/// Events in one update, at most.
const PER_UPDATE: usize = 500;
/// How long a session lasts.
const SESSION: Duration = Duration::from_secs(3 * 3600);

/// Publishes stored events to the listening sessions (nothing to do when none listens).
pub fn publish(i: &Inner, written: Vec<Written>) {
    if i.tail.receiver_count() == 0 {
        return;
    }
    for w in written {
        let _ = i.tail.send(Arc::new(w));
    }
}

/// Whether a session listens, so that a write keeps a copy of what it stores.
pub fn listening(i: &Inner) -> bool {
    i.tail.receiver_count() > 0
}

struct Target {
    account: String,
    region: String,
    name: String,
    /// The identifier as given, answered with each event.
    identifier: String,
}

fn strings(input: &Value, k: &str) -> Option<Vec<String>> {
    input.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

pub async fn start(i: &Arc<Inner>, ctx: &RequestContext, input: Value) -> Result<Box<dyn EventSource>, AwsError> {
    let identifiers = strings(&input, "logGroupIdentifiers").unwrap_or_default();
    if identifiers.is_empty() || identifiers.len() > 10 {
        return Err(invalid_parameter("logGroupIdentifiers must name between 1 and 10 log groups."));
    }
    let streams = strings(&input, "logStreamNames");
    let prefixes = strings(&input, "logStreamNamePrefixes");
    if streams.is_some() && prefixes.is_some() {
        return Err(invalid_parameter("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters."));
    }
    if (streams.is_some() || prefixes.is_some()) && identifiers.len() != 1 {
        return Err(invalid_parameter(
            "logStreamNames and logStreamNamePrefixes can only be used with exactly one log group.",
        ));
    }
    let filter_text = input.get("logEventFilterPattern").and_then(Value::as_str).unwrap_or_default().to_string();
    let filter = FilterPattern::parse(&filter_text).map_err(|e| crate::errors::invalid_filter_pattern(&e.0))?;
    let mut targets = Vec::new();
    for id in &identifiers {
        if id.ends_with('*') {
            return Err(invalid_parameter(format!("Invalid log group identifier {id}: it cannot end with *.")));
        }
        let g = if id.starts_with("arn:") {
            GroupRef::from_arn(id).ok_or_else(group_not_found)?
        } else {
            GroupRef::named(ctx, id)
        };
        targets.push(Target { account: g.account, region: g.region, name: g.name, identifier: id.clone() });
    }
    // Subscribe before checking the groups: nothing written after the answer is missed.
    let rx = i.tail.subscribe();
    let check: Vec<(String, String, String)> =
        targets.iter().map(|t| (t.account.clone(), t.region.clone(), t.name.clone())).collect();
    i.read(move |r| {
        for (account, region, name) in &check {
            load_group(r, account, region, name)?.ok_or_else(group_not_found)?;
        }
        Ok(())
    })
    .await?;
    let session_id = i.env.ids.uuid();
    let mut started = json!({
        "requestId": ctx.request_id,
        "sessionId": session_id,
        "logGroupIdentifiers": identifiers,
        "logEventFilterPattern": filter_text,
    });
    if let Some(s) = &streams {
        started["logStreamNames"] = json!(s);
    }
    if let Some(p) = &prefixes {
        started["logStreamNamePrefixes"] = json!(p);
    }
    Ok(Box::new(Session {
        rx,
        targets,
        streams,
        prefixes,
        filter,
        start: Some(started),
        ends: tokio::time::Instant::now() + SESSION,
        next_tick: tokio::time::Instant::now() + Duration::from_secs(1),
        done: false,
    }))
}

struct Session {
    rx: broadcast::Receiver<Arc<Written>>,
    targets: Vec<Target>,
    streams: Option<Vec<String>>,
    prefixes: Option<Vec<String>>,
    filter: FilterPattern,
    start: Option<Value>,
    ends: tokio::time::Instant,
    next_tick: tokio::time::Instant,
    done: bool,
}

impl Session {
    fn wants(&self, w: &Written) -> Option<&str> {
        let t = self.targets.iter().find(|t| t.account == w.account && t.region == w.region && t.name == w.group)?;
        if let Some(s) = &self.streams
            && !s.contains(&w.stream)
        {
            return None;
        }
        if let Some(p) = &self.prefixes
            && !p.iter().any(|p| w.stream.starts_with(p.as_str()))
        {
            return None;
        }
        Some(&t.identifier)
    }

    async fn next_event(&mut self) -> Option<Result<(String, Value), AwsError>> {
        if let Some(s) = self.start.take() {
            return Some(Ok(("sessionStart".into(), s)));
        }
        if self.done {
            return None;
        }
        if tokio::time::Instant::now() >= self.ends {
            self.done = true;
            return Some(Err(AwsError::new(
                "SessionTimeoutException",
                "The Live Tail session has timed out after three hours.",
            )));
        }
        tokio::time::sleep_until(self.next_tick.min(self.ends)).await;
        self.next_tick += Duration::from_secs(1);
        let mut results = Vec::new();
        let mut matched = 0usize;
        loop {
            match self.rx.try_recv() {
                Ok(w) => {
                    let Some(identifier) = self.wants(&w).map(str::to_string) else { continue };
                    for (ts, message) in &w.events {
                        if !self.filter.matches(message) {
                            continue;
                        }
                        matched += 1;
                        let event = json!({
                            "logStreamName": w.stream,
                            "logGroupIdentifier": identifier,
                            "message": message,
                            "timestamp": ts,
                            "ingestionTime": w.ingestion,
                        });
                        // Beyond 500 the update is a sample: the first 500 that arrived.
                        if results.len() < PER_UPDATE {
                            results.push(event);
                        }
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
        let update = json!({
            "sessionMetadata": {"sampled": matched > PER_UPDATE},
            "sessionResults": results,
        });
        Some(Ok(("sessionUpdate".into(), update)))
    }
}

impl EventSource for Session {
    fn next(&mut self) -> BoxFuture<'_, Option<Result<(String, Value), AwsError>>> {
        Box::pin(self.next_event())
    }
}
