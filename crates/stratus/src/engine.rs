//! The trigger engine (DESIGN.md §4): effects between services travel as outbox records that
//! this loop delivers. Services never call each other; only the binary knows both ends.
//!
//! Each outbox topic below holds records `{"destination": arn, <payload field>: …}` written in
//! the same transaction as the change that caused them; the engine hands the payload to the
//! destination's service through its internal entry point (an SQS send, an asynchronous Lambda
//! invocation). A record leaves the outbox only once delivered (or once it can never be: the
//! destination does not exist), so delivery is at least once, also across restarts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use stratus_lambda::Lambda;
use stratus_sns::Sns;
use stratus_sqs::Sqs;
use stratus_storage::Store;
use tokio::task::JoinSet;

use crate::delegation::{ServiceAccess, Source};

#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub sqs: Sqs,
    pub lambda: Lambda,
    pub sns: Sns,
    /// Whether a delivery is allowed: S3's by the destination's policy, a function
    /// destination's by the function's role.
    pub access: ServiceAccess,
    /// CloudWatch Logs export tasks: their objects are read from Logs and put into S3.
    pub logs: stratus_logs::Logs,
    pub s3: stratus_s3::S3,
    /// Kinesis streams that subscription filters write to.
    pub kinesis: stratus_kinesis::Kinesis,
}

/// An outbox topic the engine delivers from.
struct Topic {
    name: &'static str,
    /// The record member that holds what is delivered.
    payload: &'static str,
    /// The subject of the message when the destination is an SNS topic.
    sns_subject: Option<&'static str>,
}

const TOPICS: &[Topic] = &[
    Topic { name: Lambda::DESTINATION_TOPIC, payload: "record", sns_subject: None },
    Topic { name: stratus_s3::EVENTS_TOPIC, payload: "event", sns_subject: Some("Amazon S3 Notification") },
    Topic { name: stratus_codecommit::EVENTS_TOPIC, payload: "event", sns_subject: None },
    Topic { name: stratus_logs::SUBSCRIPTIONS_TOPIC, payload: "event", sns_subject: None },
    Topic { name: stratus_logs::EXPORTS_TOPIC, payload: "task", sns_subject: None },
];

/// Records read (and delivered concurrently) per round and topic.
const BATCH: usize = 256;

enum Delivery {
    Done,
    /// Try again later (storage busy, shutting down).
    Retry(String),
}

/// When each failing record may be tried again, and how long it waited last time.
type Backoff = HashMap<(&'static str, u64), (Instant, Duration)>;

impl Engine {
    pub async fn run(self) {
        let engine = Arc::new(self);
        let mut backoff = Backoff::new();
        loop {
            let signal = engine.store.outbox_signal().clone();
            let notified = signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let mut more = false;
            for topic in TOPICS {
                more |= engine.drain(topic, &mut backoff).await;
            }
            if more {
                continue;
            }
            let next_retry = backoff.values().map(|(at, _)| *at).min();
            let wait = next_retry.map_or(Duration::from_secs(1), |at| at.saturating_duration_since(Instant::now()));
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(wait.min(Duration::from_secs(1))) => {}
            }
        }
    }

    /// Delivers what is pending on one topic, concurrently (events are unordered, as on AWS),
    /// and removes what was delivered in one transaction. Records that failed wait with an
    /// exponential backoff. Returns whether more records may be waiting.
    async fn drain(self: &Arc<Self>, topic: &'static Topic, backoff: &mut Backoff) -> bool {
        let records = match self.store.outbox_pending(topic.name, 0, BATCH).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(topic = topic.name, error = %e, "could not read outbox records");
                return false;
            }
        };
        let full = records.len() == BATCH;
        let now = Instant::now();
        let mut tasks = JoinSet::new();
        for (seq, bytes) in records {
            if backoff.get(&(topic.name, seq)).is_some_and(|(at, _)| *at > now) {
                continue;
            }
            let engine = self.clone();
            tasks.spawn(async move { (seq, engine.deliver(topic, &bytes).await) });
        }
        let (mut delivered, mut failed) = (Vec::new(), false);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((seq, Delivery::Done)) => {
                    backoff.remove(&(topic.name, seq));
                    delivered.push(seq);
                }
                Ok((seq, Delivery::Retry(why))) => {
                    failed = true;
                    let wait = backoff.get(&(topic.name, seq)).map_or(Duration::from_millis(100), |(_, w)| *w * 2);
                    let wait = wait.min(Duration::from_secs(60));
                    tracing::warn!(topic = topic.name, %why, retry_in_ms = wait.as_millis() as u64, "delivery failed");
                    backoff.insert((topic.name, seq), (Instant::now() + wait, wait));
                }
                Err(e) => {
                    failed = true;
                    tracing::warn!(topic = topic.name, error = %e, "a delivery task failed");
                }
            }
        }
        if let Err(e) = self.store.outbox_ack_many(topic.name, &delivered).await {
            tracing::warn!(topic = topic.name, error = %e, "could not remove delivered records");
            return false;
        }
        // Records waiting out a backoff are read again each round; only progress repeats at once.
        full && !failed && !delivered.is_empty()
    }

    async fn deliver(&self, topic: &Topic, bytes: &[u8]) -> Delivery {
        let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
            tracing::warn!(topic = topic.name, "dropping an unreadable outbox record");
            return Delivery::Done;
        };
        let destination = v["destination"].as_str().unwrap_or_default();
        let payload = v[topic.payload].to_string();
        let Some(arn) = stratus_core::Arn::parse(destination) else {
            tracing::warn!(%destination, "dropping a record for an invalid destination");
            return Delivery::Done;
        };
        if topic.name == stratus_logs::EXPORTS_TOPIC {
            return self.export(&v["task"]).await;
        }
        if let Err(why) = self.allowed(&v, destination).await {
            // AWS drops what it may not deliver (S3's events, a function's destination records).
            tracing::warn!(%destination, %why, "delivery not allowed; record dropped");
            return Delivery::Done;
        }
        let outcome = match arn.service {
            "kinesis" => {
                use base64::Engine as _;
                let Ok(data) =
                    base64::engine::general_purpose::STANDARD.decode(v[topic.payload].as_str().unwrap_or_default())
                else {
                    tracing::warn!(%destination, "dropping a stream record that is not base64");
                    return Delivery::Done;
                };
                let key = v["partition_key"].as_str().unwrap_or("stratus");
                self.kinesis.put_record_internal(destination, key, &data).await
            }
            "sqs" => self.sqs.send_internal(arn.account, arn.region, arn.resource, payload).await.map(|_| ()),
            "lambda" => self.lambda.invoke_event(arn.account, arn.region, destination, payload.into_bytes()).await,
            "sns" => {
                let subject = topic.sns_subject.map(str::to_string);
                self.sns.publish_internal(destination, payload, subject).await.map(|_| ())
            }
            other => {
                tracing::warn!(%destination, "destinations of service {other} are not served; record dropped");
                return Delivery::Done;
            }
        };
        match outcome {
            Ok(()) => Delivery::Done,
            // The destination does not exist: AWS drops such records too.
            Err(e)
                if matches!(
                    e.code.as_str(),
                    "QueueDoesNotExist" | "ResourceNotFoundException" | "NotFoundException"
                ) || (arn.service == "kinesis"
                    && e.status.unwrap_or(400) < 500
                    && e.code != "ProvisionedThroughputExceededException") =>
            {
                tracing::warn!(%destination, error = %e, "destination does not exist; record dropped");
                Delivery::Done
            }
            Err(e) => Delivery::Retry(e.to_string()),
        }
    }
}

impl Engine {
    /// Carries out a CloudWatch Logs export task: its objects into its bucket, then its outcome
    /// back to Logs. A bucket that refuses or has gone fails the task; storage trouble retries.
    async fn export(&self, task: &Value) -> Delivery {
        let (Some(account), Some(region), Some(id)) =
            (task["account"].as_str(), task["region"].as_str(), task["id"].as_str())
        else {
            return Delivery::Done;
        };
        let files = match self.logs.export_files(account, region, id).await {
            Ok(Some(f)) => f,
            Ok(None) => return Delivery::Done,
            Err(e) => return Delivery::Retry(e.to_string()),
        };
        let mut outcome = Ok(());
        for (bucket, key, bytes) in files {
            if let Err(e) = self.s3.put_object_internal(&bucket, &key, bytes, account).await {
                if e.status.unwrap_or(400) >= 500 {
                    return Delivery::Retry(e.to_string());
                }
                outcome = Err(format!("{}: {}", e.code, e.message));
                break;
            }
        }
        match self.logs.finish_export(account, region, id, outcome).await {
            Ok(()) => Delivery::Done,
            Err(e) => Delivery::Retry(e.to_string()),
        }
    }

    /// Whether the record may be delivered: S3 (and CodeCommit, whose records name their
    /// `principal`) deliver only where the destination's policy lets the service act for the
    /// source; a function's destination records go only where its execution role may send
    /// them. Records without either are the engine's own.
    async fn allowed(&self, v: &Value, destination: &str) -> Result<(), String> {
        let action = ServiceAccess::delivery_action(destination).unwrap_or_default();
        if let (Some(source), Some(account)) = (v["source"].as_str(), v["source_account"].as_str()) {
            let principal = v["principal"].as_str().unwrap_or("s3.amazonaws.com");
            let source = Source { arn: source, account };
            if !self.access.service_may(principal, action, destination, source).await {
                return Err(format!("the policy of {destination} does not let {principal} {action}"));
            }
        }
        if let (Some(role), Some(function)) = (v["role"].as_str(), v["function"].as_str()) {
            self.access.role_may(role, function, action, destination).await.map_err(|e| e.message)?;
        }
        Ok(())
    }
}

/// SQS as the queue behind Lambda's event source mappings.
pub struct SqsSource {
    pub sqs: Sqs,
}

fn queue_of(arn: &str) -> Result<(String, String, String), stratus_proto::AwsError> {
    let a = stratus_core::Arn::parse(arn)
        .filter(|a| a.service == "sqs")
        .ok_or_else(|| stratus_proto::AwsError::new("QueueDoesNotExist", format!("{arn} is not a queue ARN")))?;
    Ok((a.account.to_string(), a.region.to_string(), a.resource.to_string()))
}

impl stratus_lambda::QueueSource for SqsSource {
    fn info<'a>(&'a self, arn: &'a str) -> stratus_proto::BoxFuture<'a, Result<(u64, bool), stratus_proto::AwsError>> {
        Box::pin(async move {
            let (account, region, name) = queue_of(arn)?;
            self.sqs.queue_info_internal(&account, &region, &name).await
        })
    }

    fn receive<'a>(
        &'a self,
        arn: &'a str,
        max: u8,
        wait_seconds: u8,
    ) -> stratus_proto::BoxFuture<'a, Result<Vec<stratus_lambda::QueueMessage>, stratus_proto::AwsError>> {
        Box::pin(async move {
            let (account, region, name) = queue_of(arn)?;
            let msgs = self.sqs.receive_internal(&account, &region, &name, max, wait_seconds).await?;
            Ok(msgs
                .into_iter()
                .map(|m| {
                    let attrs: serde_json::Map<String, Value> = m
                        .message_attributes
                        .iter()
                        .map(|(k, v)| {
                            let mut a = serde_json::json!({
                                "stringListValues": v.string_list_values,
                                "binaryListValues": v.binary_list_values,
                                "dataType": v.data_type,
                            });
                            if let Some(o) = a.as_object_mut() {
                                if let Some(s) = &v.string_value {
                                    o.insert("stringValue".into(), Value::String(s.clone()));
                                }
                                if let Some(b) = &v.binary_value {
                                    o.insert("binaryValue".into(), Value::String(b.clone()));
                                }
                            }
                            (k.clone(), a)
                        })
                        .collect();
                    stratus_lambda::QueueMessage {
                        message_id: m.message_id,
                        receipt_handle: m.receipt_handle,
                        body: m.body,
                        md5_of_body: m.md5_of_body,
                        md5_of_message_attributes: m.md5_of_message_attributes,
                        attributes: m.attributes,
                        message_attributes: Value::Object(attrs),
                    }
                })
                .collect())
        })
    }

    fn delete<'a>(
        &'a self,
        arn: &'a str,
        handles: Vec<String>,
    ) -> stratus_proto::BoxFuture<'a, Result<(), stratus_proto::AwsError>> {
        Box::pin(async move {
            let (account, region, name) = queue_of(arn)?;
            self.sqs.delete_internal(&account, &region, &name, handles).await.map(|_| ())
        })
    }
}

/// SQS and Lambda as the endpoints of SNS subscriptions.
pub struct SnsTargets {
    pub sqs: Sqs,
    pub lambda: Lambda,
    /// Enforce mode: a queue receives from a topic, and a function is invoked by it, only when
    /// its policy lets `sns.amazonaws.com` act for that topic, as on AWS.
    pub access: ServiceAccess,
}

impl SnsTargets {
    async fn may(&self, action: &str, resource: &str, topic: &str) -> Result<(), stratus_proto::AwsError> {
        let account = stratus_core::Arn::parse(topic).map(|t| t.account).unwrap_or_default();
        if self.access.service_may("sns.amazonaws.com", action, resource, Source { arn: topic, account }).await {
            return Ok(());
        }
        Err(stratus_proto::AwsError::new(
            "AccessDenied",
            format!("The policy of {resource} does not let sns.amazonaws.com perform {action} for {topic}"),
        )
        .with_status(403))
    }
}

impl stratus_sns::Targets for SnsTargets {
    fn send_sqs<'a>(
        &'a self,
        queue_arn: &'a str,
        msg: stratus_sns::SqsDelivery,
    ) -> stratus_proto::BoxFuture<'a, Result<(), stratus_proto::AwsError>> {
        Box::pin(async move {
            use base64::Engine as _;
            let (account, region, name) = queue_of(queue_arn)?;
            self.may("sqs:SendMessage", queue_arn, &msg.source_arn).await?;
            let attributes = msg
                .attributes
                .into_iter()
                .map(|a| {
                    let v = stratus_sqs::types::MessageAttributeValue {
                        string_value: a.string_value,
                        binary_value: a.binary_value.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
                        string_list_values: Vec::new(),
                        binary_list_values: Vec::new(),
                        data_type: a.data_type,
                    };
                    (a.name, v)
                })
                .collect();
            self.sqs
                .send_internal_message(&account, &region, &name, msg.body, attributes, msg.group_id, msg.dedup_id)
                .await
                .map(|_| ())
        })
    }

    fn invoke_lambda<'a>(
        &'a self,
        function_arn: &'a str,
        topic_arn: &'a str,
        payload: Vec<u8>,
    ) -> stratus_proto::BoxFuture<'a, Result<(), stratus_proto::AwsError>> {
        Box::pin(async move {
            let arn = stratus_core::Arn::parse(function_arn).filter(|a| a.service == "lambda").ok_or_else(|| {
                stratus_proto::AwsError::new(
                    "ResourceNotFoundException",
                    format!("{function_arn} is not a function ARN"),
                )
            })?;
            self.may("lambda:InvokeFunction", function_arn, topic_arn).await?;
            self.lambda.invoke_event(arn.account, arn.region, function_arn, payload).await
        })
    }
}

/// What S3 asks before it accepts a notification destination: the queue, topic or function
/// exists and its policy lets `s3.amazonaws.com` act for the bucket (a function's policy is
/// checked in every mode, as AWS validates it when the configuration is written).
pub struct S3Targets {
    pub sqs: Sqs,
    pub sns: Sns,
    pub access: ServiceAccess,
}

impl stratus_s3::NotificationTargets for S3Targets {
    fn check<'a>(
        &'a self,
        arn: &'a str,
        bucket_arn: &'a str,
        bucket_account: &'a str,
    ) -> stratus_proto::BoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(a) = stratus_core::Arn::parse(arn) else { return false };
            let Some(action) = ServiceAccess::delivery_action(arn) else { return false };
            let source = Source { arn: bucket_arn, account: bucket_account };
            let exists = match a.service {
                "sqs" => self.sqs.queue_info_internal(a.account, a.region, a.resource).await.is_ok(),
                "sns" => self.sns.topic_exists(arn).await.unwrap_or(false),
                // A function without a policy for S3 is refused whether it exists or not.
                _ => return self.access.policy_allows("s3.amazonaws.com", action, arn, source).await,
            };
            exists && self.access.service_may("s3.amazonaws.com", action, arn, source).await
        })
    }
}

/// Whether a log group's subscription filter may deliver to a function: its policy must let
/// `logs.amazonaws.com` invoke it for the group (checked in every mode, as AWS does when the
/// filter is put).
pub struct LogsDestinations {
    pub access: ServiceAccess,
    pub kinesis: stratus_kinesis::Kinesis,
}

impl stratus_logs::Destinations for LogsDestinations {
    fn allows<'a>(
        &'a self,
        destination: &'a str,
        group_arn: &'a str,
        account: &'a str,
    ) -> stratus_proto::BoxFuture<'a, bool> {
        Box::pin(async move {
            if stratus_core::canonical_arn(destination).starts_with("arn:aws:kinesis:") {
                // Logs writes to a stream as the filter's role; the stream must be there.
                return matches!(self.kinesis.access_internal(destination).await, Ok(Some(_)));
            }
            let source = Source { arn: group_arn, account };
            self.access.policy_allows("logs.amazonaws.com", "lambda:InvokeFunction", destination, source).await
        })
    }
}

/// S3 as where CloudWatch Logs export tasks write: does the bucket exist.
pub struct LogsBuckets {
    pub s3: stratus_s3::S3,
}

impl stratus_logs::Buckets for LogsBuckets {
    fn exists<'a>(&'a self, bucket: &'a str) -> stratus_proto::BoxFuture<'a, bool> {
        Box::pin(self.s3.bucket_exists_internal(bucket))
    }

    fn put<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        body: Vec<u8>,
    ) -> stratus_proto::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.s3
                .put_object_internal(bucket, key, body, "logs.amazonaws.com")
                .await
                .map_err(|e| format!("{}: {}", e.code, e.message))
        })
    }
}

/// S3 as the place Lambda reads deployment packages named by `S3Bucket`/`S3Key` from.
pub struct S3Code {
    pub s3: stratus_s3::S3,
}

impl stratus_lambda::CodeSource for S3Code {
    fn fetch<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        version: Option<&'a str>,
    ) -> stratus_proto::BoxFuture<'a, Result<Vec<u8>, stratus_proto::AwsError>> {
        Box::pin(self.s3.get_object_internal(bucket, key, version))
    }
}

/// Queue, topic, function and table policies and tags for IAM's authorizer.
pub struct ResourcePolicies {
    pub sqs: Sqs,
    pub sns: Sns,
    pub lambda: Lambda,
    pub dynamodb: stratus_dynamodb::DynamoDb,
    pub kinesis: stratus_kinesis::Kinesis,
}

impl stratus_iam_api::ResourcePolicies for ResourcePolicies {
    fn access<'a>(
        &'a self,
        service: &'a str,
        arn: &'a str,
    ) -> stratus_proto::BoxFuture<'a, Result<Option<stratus_core::ResourceAccess>, stratus_core::AwsError>> {
        Box::pin(async move {
            match service {
                "sqs" => self.sqs.access_internal(arn).await,
                "sns" => self.sns.access_internal(arn).await,
                "lambda" => self.lambda.access_internal(arn).await,
                "dynamodb" => self.dynamodb.access_internal(arn).await,
                "kinesis" => self.kinesis.access_internal(arn).await,
                _ => Ok(None),
            }
        })
    }
}

/// DynamoDB Streams and Kinesis as the streams behind Lambda's stream event source mappings,
/// chosen by the ARN's service (DynamoDB through its Streams API, in the stream's account and
/// region; Kinesis through its reader, which also takes enhanced fan-out consumer ARNs).
pub struct StreamSources {
    pub dynamodb: stratus_dynamodb::DynamoDbStreams,
    pub kinesis: stratus_kinesis::Kinesis,
}

fn is_kinesis(arn: &str) -> bool {
    stratus_core::canonical_arn(arn).starts_with("arn:aws:kinesis:")
}

/// A Kinesis record in the shape of a function's event record (without `eventSourceARN` and
/// `invokeIdentityArn`, which the engine adds).
fn kinesis_event(r: stratus_kinesis::ShardRecord, region: &str) -> stratus_lambda::StreamRecord {
    let data = serde_json::json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": r.partition_key,
            "sequenceNumber": r.sequence,
            "data": r.data_base64,
            "approximateArrivalTimestamp": r.arrival_ms as f64 / 1000.0,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("{}:{}", r.shard, r.sequence),
        "eventName": "aws:kinesis:record",
        "awsRegion": region,
    });
    stratus_lambda::StreamRecord { sequence: r.sequence, written_ms: r.arrival_ms, data }
}

impl StreamSources {
    async fn call(&self, arn: &str, op: &str, input: Value) -> Result<Value, stratus_proto::AwsError> {
        use stratus_proto::Service as _;
        let a = stratus_core::Arn::parse(arn).filter(|a| a.service == "dynamodb").ok_or_else(|| {
            stratus_proto::AwsError::new(
                "ResourceNotFoundException",
                format!("{arn} is not a stream this server serves"),
            )
        })?;
        let ctx = stratus_core::RequestContext::internal(a.account, a.region, String::new());
        let op = self
            .dynamodb
            .model()
            .operation(op)
            .ok_or_else(|| stratus_proto::AwsError::internal(format!("DynamoDB Streams has no {op}")))?;
        self.dynamodb.call(&ctx, op, input).await
    }
}

impl stratus_lambda::StreamSource for StreamSources {
    fn shards<'a>(
        &'a self,
        arn: &'a str,
    ) -> stratus_proto::BoxFuture<'a, Result<Vec<stratus_lambda::ShardInfo>, stratus_proto::AwsError>> {
        Box::pin(async move {
            if is_kinesis(arn) {
                let shards = self.kinesis.shard_lineage(arn).await?;
                return Ok(shards
                    .into_iter()
                    .map(|(id, parents, open)| stratus_lambda::ShardInfo { id, parents, open })
                    .collect());
            }
            let d = self.call(arn, "DescribeStream", serde_json::json!({"StreamArn": arn})).await?;
            let shards = d["StreamDescription"]["Shards"].as_array().cloned().unwrap_or_default();
            Ok(shards
                .iter()
                .filter_map(|s| {
                    Some(stratus_lambda::ShardInfo {
                        id: s["ShardId"].as_str()?.to_string(),
                        parents: s["ParentShardId"].as_str().map(str::to_string).into_iter().collect(),
                        open: s["SequenceNumberRange"].get("EndingSequenceNumber").is_none(),
                    })
                })
                .collect())
        })
    }

    fn iterator<'a>(
        &'a self,
        arn: &'a str,
        shard: &'a str,
        start: stratus_lambda::StreamStart,
    ) -> stratus_proto::BoxFuture<'a, Result<String, stratus_proto::AwsError>> {
        Box::pin(async move {
            use stratus_lambda::StreamStart;
            if is_kinesis(arn) {
                let (kind, seq, ts) = match &start {
                    StreamStart::TrimHorizon => ("TRIM_HORIZON", None, None),
                    StreamStart::Latest => ("LATEST", None, None),
                    StreamStart::AtTimestamp(ms) => ("AT_TIMESTAMP", None, Some(*ms as f64 / 1000.0)),
                    StreamStart::AfterSequence(s) => ("AFTER_SEQUENCE_NUMBER", Some(s.as_str()), None),
                };
                return self.kinesis.iterator(arn, shard, kind, seq, ts).await;
            }
            let mut input = serde_json::json!({"StreamArn": arn, "ShardId": shard});
            let (kind, seq) = match start {
                StreamStart::TrimHorizon | StreamStart::AtTimestamp(_) => ("TRIM_HORIZON", None),
                StreamStart::Latest => ("LATEST", None),
                StreamStart::AfterSequence(s) => ("AFTER_SEQUENCE_NUMBER", Some(s)),
            };
            input["ShardIteratorType"] = Value::String(kind.into());
            if let Some(s) = seq {
                input["SequenceNumber"] = Value::String(s);
            }
            let out = self.call(arn, "GetShardIterator", input).await?;
            Ok(out["ShardIterator"].as_str().unwrap_or_default().to_string())
        })
    }

    fn read<'a>(
        &'a self,
        arn: &'a str,
        iterator: &'a str,
        limit: u32,
    ) -> stratus_proto::BoxFuture<
        'a,
        Result<(Vec<stratus_lambda::StreamRecord>, Option<String>), stratus_proto::AwsError>,
    > {
        Box::pin(async move {
            if is_kinesis(arn) {
                let region = stratus_core::Arn::parse(arn).map(|a| a.region.to_string()).unwrap_or_default();
                let (records, next) = self.kinesis.read(iterator, limit.min(10_000) as usize).await?;
                return Ok((records.into_iter().map(|r| kinesis_event(r, &region)).collect(), next));
            }
            let out = self
                .call(arn, "GetRecords", serde_json::json!({"ShardIterator": iterator, "Limit": limit.min(1000)}))
                .await?;
            let records = out["Records"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|r| stratus_lambda::StreamRecord {
                    sequence: r["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default().to_string(),
                    written_ms: (r["dynamodb"]["ApproximateCreationDateTime"].as_f64().unwrap_or(0.0) * 1000.0) as u64,
                    data: r.clone(),
                })
                .collect();
            Ok((records, out["NextShardIterator"].as_str().map(str::to_string)))
        })
    }

    fn version(&self, arn: &str) -> u64 {
        if is_kinesis(arn) { self.kinesis.changes().version() } else { self.dynamodb.changes().version() }
    }

    fn wait<'a>(&'a self, arn: &'a str, since: u64) -> stratus_proto::BoxFuture<'a, ()> {
        let changes = if is_kinesis(arn) { self.kinesis.changes() } else { self.dynamodb.changes() };
        Box::pin(async move { changes.changed_since(since).await })
    }
}
