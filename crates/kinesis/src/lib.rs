//! Amazon Kinesis Data Streams (JSON 1.1 and CBOR, `X-Amz-Target: Kinesis_20131202.<Op>`):
//! streams of shards with hash key ranges, records written durably in order per shard and read
//! through shard iterators, resharding with lineage, enhanced fan-out consumers, tags and
//! resource policies, on the Stratus storage interface.
//!
//! - `stream`: the stored stream, sequence numbers, hash keys and record keys.
//! - `streams`, `shards`, `records`, `consumers`: the operations; `tokens`: pagination.
//! - [`Kinesis::reader`]: what event source mappings read through (shards with lineage,
//!   iterators, records, and a signal when records arrive).
//!
//! Operations of the model not listed in [`SUPPORTED`] answer `UnknownOperationException`.

use std::sync::{Arc, LazyLock};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::{AwsError, BoxFuture, Operation, Service, ServiceModel, Wire};
use stratus_storage::{Changes, Store};

mod consumers;
mod errors;
mod limits;
mod records;
mod shards;
pub mod stream;
mod streams;
mod subscribe;
mod tokens;

static MODEL: LazyLock<Result<ServiceModel, String>> = LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../../models/kinesis.json"), None).map_err(|e| e.to_string())
});

/// The operations this server implements.
pub const SUPPORTED: &[&str] = &[
    "CreateStream",
    "DeleteStream",
    "DescribeStream",
    "DescribeStreamSummary",
    "ListStreams",
    "ListShards",
    "UpdateStreamMode",
    "IncreaseStreamRetentionPeriod",
    "DecreaseStreamRetentionPeriod",
    "StartStreamEncryption",
    "StopStreamEncryption",
    "EnableEnhancedMonitoring",
    "DisableEnhancedMonitoring",
    "AddTagsToStream",
    "RemoveTagsFromStream",
    "ListTagsForStream",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "UpdateMaxRecordSize",
    "DescribeLimits",
    "PutRecord",
    "PutRecords",
    "GetShardIterator",
    "GetRecords",
    "SplitShard",
    "MergeShards",
    "UpdateShardCount",
    "RegisterStreamConsumer",
    "DeregisterStreamConsumer",
    "DescribeStreamConsumer",
    "ListStreamConsumers",
    "PutResourcePolicy",
    "GetResourcePolicy",
    "DeleteResourcePolicy",
    "SubscribeToShard",
];

/// How long streams and consumers stay in their transitional states (CREATING, UPDATING)
/// before they are ACTIVE. AWS takes seconds. Streams are ACTIVE at once here by default: the
/// SDKs' `stream_exists` waiters sleep ten seconds after seeing CREATING, which would make every
/// test that creates a stream that much slower. Consumers, which no waiter watches, are
/// CREATING for a moment, so code that waits for them is exercised.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub create_ms: u64,
    pub update_ms: u64,
    pub consumer_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { create_ms: 0, update_ms: 0, consumer_ms: 200 }
    }
}

/// A record as readers inside Stratus see it (event source mappings).
#[derive(Debug, Clone)]
pub struct ShardRecord {
    pub shard: String,
    pub sequence: String,
    pub partition_key: String,
    pub data_base64: String,
    pub arrival_ms: u64,
}

/// The Kinesis service.
#[derive(Clone)]
pub struct Kinesis {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    model: &'static ServiceModel,
    pub settings: Settings,
    /// Bumped after every committed write of records or shards, so readers wake at once.
    pub changed: Arc<Changes>,
    /// Shard throughput limits, for streams that ask for them.
    pub limits: Arc<limits::Limits>,
}

impl Inner {
    pub fn now(&self) -> u64 {
        self.env.clock.now_millis()
    }
}

impl Kinesis {
    pub fn new(store: Store, env: Env, settings: Settings) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                env,
                model,
                settings,
                changed: Default::default(),
                limits: Default::default(),
            }),
        })
    }

    /// What moves when records may have been written (for readers that wait).
    pub fn changes(&self) -> Arc<Changes> {
        self.inner.changed.clone()
    }

    /// Starts the background work: records past their stream's retention period are deleted.
    pub fn start(&self) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                if let Err(e) = records::expire(&inner).await {
                    tracing::warn!(error = %e, "could not delete expired Kinesis records");
                }
            }
        });
    }

    /// Deletes records past their retention period now; returns how many (tests).
    pub async fn expire_now(&self) -> Result<usize, AwsError> {
        records::expire(&self.inner).await
    }

    /// The resource policy and tags of a stream or consumer, for authorization; None when it
    /// does not exist.
    pub async fn access_internal(&self, arn: &str) -> Result<Option<stratus_core::ResourceAccess>, AwsError> {
        streams::access(&self.inner, arn).await
    }

    /// The shards of the stream (or the stream of the consumer) `arn` names: `(shard id,
    /// parent shard ids, open)`, for readers that follow lineage.
    pub async fn shard_lineage(&self, arn: &str) -> Result<Vec<(String, Vec<String>, bool)>, AwsError> {
        let at = self.stream_of(arn).await?;
        shards::lineage(&self.inner, at).await
    }

    /// The stream an ARN names: a stream ARN, or a consumer ARN's stream.
    async fn stream_of(&self, arn: &str) -> Result<stream::StreamRef, AwsError> {
        let (at, consumer) = streams::resource_ref(arn)?;
        match consumer {
            None => Ok(at),
            Some(_) => consumers::stream_of_consumer(&self.inner, arn).await,
        }
    }

    /// An iterator of `shard` of the stream (or consumer's stream) `arn` names, as
    /// GetShardIterator makes it: `kind` is an iterator type, with its sequence number or
    /// timestamp (seconds).
    pub async fn iterator(
        &self,
        arn: &str,
        shard: &str,
        kind: &str,
        sequence: Option<&str>,
        timestamp_s: Option<f64>,
    ) -> Result<String, AwsError> {
        let at = self.stream_of(arn).await?;
        let ctx = RequestContext::internal(&at.account, &at.region, String::new());
        let mut input = serde_json::json!({"StreamARN": at.arn(), "ShardId": shard, "ShardIteratorType": kind});
        if let Some(s) = sequence {
            input["StartingSequenceNumber"] = Value::String(s.to_string());
        }
        if let Some(t) = timestamp_s {
            input["Timestamp"] = serde_json::json!(t);
        }
        let out = records::get_shard_iterator(&self.inner, &ctx, input).await?;
        Ok(out["ShardIterator"].as_str().unwrap_or_default().to_string())
    }

    /// Up to `limit` records at `iterator`, and the iterator after them (None: the shard is
    /// closed and read to its end).
    pub async fn read(&self, iterator: &str, limit: usize) -> Result<(Vec<ShardRecord>, Option<String>), AwsError> {
        let now = self.inner.now();
        let p = records::open_iterator(iterator, now)?;
        let pos = p.clone();
        let read = self.inner.store.read(move |r| records::read_at(r, &pos, limit, now)).await?;
        let shard = stream::shard_id(p.shard);
        let out = read
            .records
            .into_iter()
            .map(|(_, r)| ShardRecord {
                shard: shard.clone(),
                sequence: r["SequenceNumber"].as_str().unwrap_or_default().to_string(),
                partition_key: r["PartitionKey"].as_str().unwrap_or_default().to_string(),
                data_base64: r["Data"].as_str().unwrap_or_default().to_string(),
                arrival_ms: r["ApproximateArrivalTimestamp"].as_f64().map_or(0, |t| (t * 1000.0).round() as u64),
            })
            .collect();
        let next = (!read.at_end).then(|| records::Position { next: read.next, made_ms: now, ..p }.encode());
        Ok((out, next))
    }

    /// Puts one record for another part of Stratus (CloudWatch Logs subscription filters): the
    /// checks, limits and durability of PutRecord, in the stream's account and region.
    pub async fn put_record_internal(
        &self,
        stream_arn: &str,
        partition_key: &str,
        data: &[u8],
    ) -> Result<(), AwsError> {
        use base64::Engine as _;
        let a = stratus_core::Arn::parse(stream_arn)
            .filter(|a| a.service == "kinesis")
            .ok_or_else(|| errors::invalid_argument(format!("Invalid StreamARN {stream_arn}")))?;
        let ctx = RequestContext::internal(a.account, a.region, self.inner.env.ids.uuid());
        let input = serde_json::json!({
            "StreamARN": stream_arn,
            "PartitionKey": partition_key,
            "Data": base64::engine::general_purpose::STANDARD.encode(data),
        });
        records::put_record(&self.inner, &ctx, input).await.map(|_| ())
    }

    /// The stream ARN behind `arn` (itself, or a consumer's stream).
    pub async fn stream_arn_of(&self, arn: &str) -> Result<String, AwsError> {
        Ok(self.stream_of(arn).await?.arn())
    }
}

impl Service for Kinesis {
    fn model(&self) -> &ServiceModel {
        self.inner.model
    }

    /// GetRecords names its stream only inside the iterator: it is authorized against that
    /// stream, so the stream's ARN is added to the input (as the SDKs add it themselves).
    fn prepare(&self, _ctx: &RequestContext, op: &Operation, _wire: Wire, input: &mut Value) {
        if op.name == "GetRecords"
            && input.get("StreamARN").is_none()
            && let Some(p) = input.get("ShardIterator").and_then(Value::as_str).and_then(records::Position::decode)
            && let Some(o) = input.as_object_mut()
        {
            o.insert("StreamARN".into(), Value::String(p.stream_arn()));
        }
    }

    fn streams_events(&self, op: &Operation) -> bool {
        op.name == "SubscribeToShard"
    }

    fn call_events<'a>(
        &'a self,
        _ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Box<dyn stratus_proto::eventstream::EventSource>, AwsError>> {
        Box::pin(async move {
            match op.name.as_str() {
                "SubscribeToShard" => subscribe::subscribe(&self.inner, input).await,
                other => Err(errors::unsupported(other)),
            }
        })
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &self.inner;
            match op.name.as_str() {
                "CreateStream" => streams::create(i, ctx, input).await,
                "DeleteStream" => streams::delete(i, ctx, input).await,
                "DescribeStream" => streams::describe(i, ctx, input).await,
                "DescribeStreamSummary" => streams::describe_summary(i, ctx, input).await,
                "ListStreams" => streams::list(i, ctx, input).await,
                "ListShards" => shards::list_shards(i, ctx, input).await,
                "UpdateStreamMode" => streams::update_mode(i, ctx, input).await,
                "IncreaseStreamRetentionPeriod" => streams::retention(i, ctx, input, true).await,
                "DecreaseStreamRetentionPeriod" => streams::retention(i, ctx, input, false).await,
                "StartStreamEncryption" => streams::encryption(i, ctx, input, true).await,
                "StopStreamEncryption" => streams::encryption(i, ctx, input, false).await,
                "EnableEnhancedMonitoring" => streams::monitoring(i, ctx, input, true).await,
                "DisableEnhancedMonitoring" => streams::monitoring(i, ctx, input, false).await,
                "AddTagsToStream" => streams::add_tags_to_stream(i, ctx, input).await,
                "RemoveTagsFromStream" => streams::remove_tags_from_stream(i, ctx, input).await,
                "ListTagsForStream" => streams::list_tags_for_stream(i, ctx, input).await,
                "TagResource" => streams::tag_resource(i, input, true).await,
                "UntagResource" => streams::tag_resource(i, input, false).await,
                "ListTagsForResource" => streams::list_tags_for_resource(i, input).await,
                "UpdateMaxRecordSize" => streams::max_record_size(i, ctx, input).await,
                "DescribeLimits" => streams::describe_limits(i, ctx).await,
                "PutRecord" => records::put_record(i, ctx, input).await,
                "PutRecords" => records::put_records(i, ctx, input).await,
                "GetShardIterator" => records::get_shard_iterator(i, ctx, input).await,
                "GetRecords" => records::get_records(i, input).await,
                "SplitShard" => shards::split(i, ctx, input).await,
                "MergeShards" => shards::merge(i, ctx, input).await,
                "UpdateShardCount" => shards::update_shard_count(i, ctx, input).await,
                "RegisterStreamConsumer" => consumers::register(i, input).await,
                "DeregisterStreamConsumer" => consumers::deregister(i, input).await,
                "DescribeStreamConsumer" => consumers::describe(i, input).await,
                "ListStreamConsumers" => consumers::list(i, input).await,
                "PutResourcePolicy" => consumers::put_policy(i, input).await,
                "GetResourcePolicy" => consumers::get_policy(i, input).await,
                "DeleteResourcePolicy" => consumers::delete_policy(i, input).await,
                other => Err(errors::unsupported(other)),
            }
        })
    }
}
