//! SubscribeToShard: an enhanced fan-out consumer's push read of one shard, as an event stream
//! (`SubscribeToShardEvent`s). Records are pushed as soon as they are written; while none
//! arrive, an empty event every five seconds carries the position. A subscription lasts five
//! minutes, as on AWS; at the end of a closed shard the last event names its children and the
//! stream ends. `ContinuationSequenceNumber` is where a new subscription resumes
//! (AFTER_SEQUENCE_NUMBER).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};
use stratus_proto::eventstream::EventSource;
use stratus_proto::{AwsError, BoxFuture};

use crate::Inner;
use crate::errors::in_use;
use crate::records::{Position, open_iterator, read_at};
use crate::streams::{consumer_not_found, read_stream, resource_ref, s};

/// How long one subscription lasts.
const SUBSCRIPTION_MS: u64 = 300_000;
/// How often an idle subscription sends an event anyway.
const HEARTBEAT: Duration = Duration::from_secs(5);

pub async fn subscribe(i: &Arc<Inner>, input: Json) -> Result<Box<dyn EventSource>, AwsError> {
    let arn = s(&input, "ConsumerARN").unwrap_or_default().to_string();
    let (at, consumer) = resource_ref(&arn)?;
    let consumer = consumer.ok_or_else(|| consumer_not_found(&arn))?;
    let st = read_stream(i, at.clone()).await?;
    let now = i.now();
    let c = st
        .consumers
        .iter()
        .find(|c| c.name == consumer && st.consumer_arn(c) == arn)
        .ok_or_else(|| consumer_not_found(&arn))?;
    if now < c.ready_ms {
        return Err(in_use(format!(
            "Consumer {} with creation timestamp {} under stream {} and account {} is not in ACTIVE status.",
            c.name,
            c.created_ms / 1000,
            st.name,
            st.account
        )));
    }
    let start = input.get("StartingPosition").cloned().unwrap_or_default();
    let mut it = json!({
        "StreamARN": st.arn(),
        "ShardId": s(&input, "ShardId").unwrap_or_default(),
        "ShardIteratorType": s(&start, "Type").unwrap_or_default(),
    });
    if let Some(seq) = s(&start, "SequenceNumber") {
        it["StartingSequenceNumber"] = json!(seq);
    }
    if let Some(ts) = start.get("Timestamp") {
        it["Timestamp"] = ts.clone();
    }
    let ctx = stratus_core::RequestContext::internal(&at.account, &at.region, String::new());
    let out = crate::records::get_shard_iterator(i, &ctx, it).await?;
    let position = open_iterator(out["ShardIterator"].as_str().unwrap_or_default(), now)?;
    let sequence = st.sequence(position.shard, position.next.saturating_sub(1));
    Ok(Box::new(Subscription { inner: i.clone(), position, until_ms: now + SUBSCRIPTION_MS, done: false, sequence }))
}

struct Subscription {
    inner: Arc<Inner>,
    position: Position,
    until_ms: u64,
    done: bool,
    /// The sequence number the next subscription would continue after.
    sequence: String,
}

impl Subscription {
    async fn next_event(&mut self) -> Option<Result<(String, Json), AwsError>> {
        if self.done {
            return None;
        }
        let mut waited = Duration::ZERO;
        loop {
            let now = self.inner.now();
            if now >= self.until_ms {
                return None;
            }
            let version = self.inner.changed.version();
            let pos = self.position.clone();
            let read = match self.inner.store.read(move |r| read_at(r, &pos, 10_000, now)).await {
                Ok(r) => r,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if let Some((_, last)) = read.records.last() {
                self.sequence = last["SequenceNumber"].as_str().unwrap_or_default().to_string();
            }
            self.position.next = read.next;
            if !read.records.is_empty() || read.at_end || waited >= HEARTBEAT {
                let records: Vec<Json> = read.records.into_iter().map(|(_, r)| r).collect();
                let mut event = json!({"Records": records, "MillisBehindLatest": read.behind_ms});
                if read.at_end {
                    self.done = true;
                    event["ChildShards"] = json!(read.children);
                } else {
                    event["ContinuationSequenceNumber"] = json!(self.sequence);
                }
                return Some(Ok(("SubscribeToShardEvent".into(), event)));
            }
            let left = Duration::from_millis(self.until_ms.saturating_sub(now)).min(HEARTBEAT - waited);
            let started = tokio::time::Instant::now();
            let _ = tokio::time::timeout(left, self.inner.changed.changed_since(version)).await;
            waited += started.elapsed();
        }
    }
}

impl EventSource for Subscription {
    fn next(&mut self) -> BoxFuture<'_, Option<Result<(String, Json), AwsError>>> {
        Box::pin(self.next_event())
    }
}
