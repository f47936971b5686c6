//! The seams to other services' data (DESIGN.md §4: "queue and stream sources"): the queues
//! event source mappings poll, and the objects deployment packages are read from. The binary
//! implements them over SQS and S3; Lambda knows neither.

use std::collections::BTreeMap;

use serde_json::Value;
use stratus_proto::{AwsError, BoxFuture};

/// A received message, with what the SQS event record carries.
#[derive(Debug, Clone)]
pub struct QueueMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    pub md5_of_message_attributes: Option<String>,
    /// System attributes (`ApproximateReceiveCount`, `SentTimestamp`, …).
    pub attributes: BTreeMap<String, String>,
    /// Message attributes in the event record's shape (`stringValue`, `dataType`, …).
    pub message_attributes: Value,
}

pub trait QueueSource: Send + Sync + 'static {
    /// The queue's visibility timeout (seconds) and whether it is FIFO.
    fn info<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<(u64, bool), AwsError>>;
    /// Up to `max` (≤ 10) messages, waiting up to `wait_seconds` for the first.
    fn receive<'a>(
        &'a self,
        arn: &'a str,
        max: u8,
        wait_seconds: u8,
    ) -> BoxFuture<'a, Result<Vec<QueueMessage>, AwsError>>;
    /// Deletes the messages with these receipt handles.
    fn delete<'a>(&'a self, arn: &'a str, handles: Vec<String>) -> BoxFuture<'a, Result<(), AwsError>>;
}

/// Deployment packages named by `S3Bucket` / `S3Key` (CreateFunction, UpdateFunctionCode,
/// PublishLayerVersion).
pub trait CodeSource: Send + Sync + 'static {
    /// The object's bytes, or the S3 error (`NoSuchBucket`, `NoSuchKey`, …) as an `AwsError`.
    fn fetch<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        version: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<u8>, AwsError>>;
}

/// A deployment package from S3 (CreateFunction, UpdateFunctionCode, PublishLayerVersion), with
/// Lambda's errors for what S3 answered.
pub(crate) async fn fetch_from_s3(
    i: &crate::Inner,
    bucket: &str,
    key: Option<&str>,
    version: Option<&str>,
) -> Result<Vec<u8>, AwsError> {
    let Some(key) = key else {
        return Err(crate::errors::invalid("Please provide a source for function code."));
    };
    let Some(source) = i.code_source.get() else {
        return Err(crate::errors::invalid(format!(
            "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist: {bucket}"
        )));
    };
    source.fetch(bucket, key, version).await.map_err(|e| {
        if e.status.is_some_and(|s| s >= 500) {
            e
        } else {
            crate::errors::invalid(format!(
                "Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {}",
                e.code, e.message
            ))
        }
    })
}

/// What Lambda asks IAM about execution roles (set by the binary when callers are
/// authenticated; in open mode any well-formed role ARN is taken).
pub trait Roles: Send + Sync + 'static {
    /// `Ok` when `role_arn` exists and its trust policy lets `lambda.amazonaws.com` assume it;
    /// otherwise AWS's `InvalidParameterValueException`.
    fn check<'a>(&'a self, role_arn: &'a str) -> BoxFuture<'a, Result<(), AwsError>>;
    /// Whether the role, as Lambda uses it for the function `function` (polling its event
    /// sources), may perform `action` on `resource`; `Err` is the denial.
    fn may<'a>(
        &'a self,
        role_arn: &'a str,
        function: &'a str,
        action: &'a str,
        resource: &'a str,
    ) -> BoxFuture<'a, Result<(), AwsError>>;
}

/// Where GetFunction's `Code.Location` and GetLayerVersion's `Content.Location` point: the
/// binary serves packages and, when callers are authenticated, presigns these URLs as AWS
/// does (they expire).
pub trait CodeUrls: Send + Sync + 'static {
    /// A URL on `host` from which the package with SHA-256 `sha_hex` can be downloaded.
    fn url(&self, host: &str, sha_hex: &str) -> String;
}

/// Unsigned package URLs (open mode).
pub struct PlainCodeUrls;

impl CodeUrls for PlainCodeUrls {
    fn url(&self, host: &str, sha_hex: &str) -> String {
        format!("http://{host}/_stratus/lambda-code/{sha_hex}")
    }
}

/// A record read from a stream, as the function's event carries it (with `eventSourceARN`
/// added by the engine).
#[derive(Debug, Clone)]
pub struct StreamRecord {
    /// The record's sequence number (checkpoints name it).
    pub sequence: String,
    /// When it was written (milliseconds), for MaximumRecordAgeInSeconds.
    pub written_ms: u64,
    /// The record in the event's shape.
    pub data: Value,
}

/// Records read from a shard and the iterator after them (None: the shard is closed and read
/// to its end).
pub type StreamRead = (Vec<StreamRecord>, Option<String>);

/// Where a stream position starts.
#[derive(Debug, Clone)]
pub enum StreamStart {
    TrimHorizon,
    Latest,
    AtTimestamp(u64),
    AfterSequence(String),
}

/// A shard of a stream, with the shards it came from (resharding): a shard is read only once
/// its parents were read to their end, so records of a key stay in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub id: String,
    pub parents: Vec<String>,
    pub open: bool,
}

/// Streams behind event source mappings (DynamoDB Streams, Kinesis): the binary implements it
/// over those services, choosing by the ARN.
pub trait StreamSource: Send + Sync + 'static {
    /// The stream's shards, or the service's error for an ARN that names no stream.
    fn shards<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<Vec<ShardInfo>, AwsError>>;
    /// An iterator of `shard` at `start`.
    fn iterator<'a>(
        &'a self,
        arn: &'a str,
        shard: &'a str,
        start: StreamStart,
    ) -> BoxFuture<'a, Result<String, AwsError>>;
    /// Up to `limit` records from `iterator`, and the iterator after them (None: the shard is
    /// closed and read to its end).
    fn read<'a>(&'a self, arn: &'a str, iterator: &'a str, limit: u32) -> BoxFuture<'a, Result<StreamRead, AwsError>>;
    /// A number that changes when the stream may have new records (0: the source cannot say).
    fn version(&self, _arn: &str) -> u64 {
        0
    }
    /// Returns once `version` is no longer `since` (sources that cannot say never return; the
    /// engine polls again after a while anyway).
    fn wait<'a>(&'a self, _arn: &'a str, _since: u64) -> BoxFuture<'a, ()> {
        Box::pin(std::future::pending())
    }
}
