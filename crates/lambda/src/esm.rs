//! Event source mappings for SQS: the API (create, get, list, update, delete) and the pollers
//! that read the queue, filter, invoke the function with batches in the SQS event shape, and
//! delete what succeeded (all of it, or all but the reported `batchItemFailures`).
//!
//! Pollers long-poll the queue, so a message reaches the function as soon as it is sent; what
//! fails becomes visible again after the queue's visibility timeout, and the queue's redrive
//! policy moves it to a dead-letter queue after `maxReceiveCount` receives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::errors::{conflict, invalid};
use crate::filter;
use crate::functions::{function_arn, must_load, parse_function_name};
use crate::source::QueueMessage;
use crate::{Inner, keys};

/// A batch is also cut at 6 MB (the synchronous invoke payload limit).
const MAX_BATCH_BYTES: usize = 6 * 1024 * 1024;
/// Concurrent batches per mapping when ScalingConfig does not say (AWS starts with five).
const DEFAULT_POLLERS: u32 = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    pub uuid: String,
    pub event_source_arn: String,
    pub function_arn: String,
    pub account: String,
    pub region: String,
    pub batch_size: u32,
    pub window: u32,
    pub filters: Vec<String>,
    pub response_types: Vec<String>,
    pub max_concurrency: Option<u32>,
    pub enabled: bool,
    pub last_modified_ms: u64,
    /// Stream sources (DynamoDB Streams, Kinesis): their options; None for queues.
    #[serde(default)]
    pub stream: Option<crate::streams::StreamOptions>,
}

impl Mapping {
    fn render(&self, state: &str) -> Value {
        let mut v = json!({
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.window,
            "EventSourceArn": self.event_source_arn,
            "FunctionArn": self.function_arn,
            "LastModified": self.last_modified_ms as f64 / 1000.0,
            "State": state,
            "StateTransitionReason": "USER_INITIATED",
            "FunctionResponseTypes": self.response_types,
            "EventSourceMappingArn": format!("arn:{partition}:lambda:{}:{}:event-source-mapping:{}", self.region, self.account, self.uuid, partition = stratus_core::partition(&self.region)),
        });
        if let Some(o) = v.as_object_mut() {
            if !self.filters.is_empty() {
                o.insert(
                    "FilterCriteria".into(),
                    json!({"Filters": self.filters.iter().map(|p| json!({"Pattern": p})).collect::<Vec<_>>()}),
                );
            }
            if let Some(n) = self.max_concurrency {
                o.insert("ScalingConfig".into(), json!({"MaximumConcurrency": n}));
            }
            if let Some(s) = &self.stream {
                s.render(o);
            }
        }
        v
    }

    fn state(&self) -> &'static str {
        if self.enabled { "Enabled" } else { "Disabled" }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    pub function_name: String,
    pub event_source_arn: Option<String>,
    pub batch_size: Option<u32>,
    pub maximum_batching_window_in_seconds: Option<u32>,
    pub enabled: Option<bool>,
    pub filter_criteria: Option<FilterCriteria>,
    #[serde(default)]
    pub function_response_types: Vec<String>,
    pub scaling_config: Option<ScalingConfig>,
    pub starting_position: Option<String>,
    pub starting_position_timestamp: Option<f64>,
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_record_age_in_seconds: Option<i64>,
    pub bisect_batch_on_function_error: Option<bool>,
    pub parallelization_factor: Option<u32>,
    pub destination_config: Option<Value>,
    pub tumbling_window_in_seconds: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    #[serde(rename = "UUID")]
    pub uuid: String,
    pub function_name: Option<String>,
    pub batch_size: Option<u32>,
    pub maximum_batching_window_in_seconds: Option<u32>,
    pub enabled: Option<bool>,
    pub filter_criteria: Option<FilterCriteria>,
    pub function_response_types: Option<Vec<String>>,
    pub scaling_config: Option<ScalingConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterCriteria {
    #[serde(default)]
    pub filters: Vec<FilterEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterEntry {
    pub pattern: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingConfig {
    pub maximum_concurrency: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UuidInput {
    #[serde(rename = "UUID")]
    pub uuid: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    pub event_source_arn: Option<String>,
    pub function_name: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

fn not_found(uuid: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: {uuid})"),
    )
}

fn load(r: &mut dyn stratus_storage::ReadTxn, uuid: &str) -> Result<Option<Mapping>, AwsError> {
    match r.get(&keys::mapping(uuid))? {
        Some(b) => {
            serde_json::from_slice(&b).map(Some).map_err(|e| AwsError::internal(format!("corrupt mapping: {e}")))
        }
        None => Ok(None),
    }
}

fn save(t: &mut dyn stratus_storage::Txn, m: &Mapping) -> Result<(), AwsError> {
    let b = serde_json::to_vec(m).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(&keys::mapping(&m.uuid), &b)?;
    Ok(())
}

fn patterns(fc: Option<FilterCriteria>) -> Result<Vec<String>, AwsError> {
    let list: Vec<String> = fc.map(|f| f.filters.into_iter().filter_map(|e| e.pattern).collect()).unwrap_or_default();
    if list.len() > 5 {
        return Err(invalid("The maximum number of filters allowed is 5."));
    }
    for p in &list {
        filter::check(p).map_err(|e| invalid(format!("Invalid filter pattern definition. {}", e.0)))?;
    }
    Ok(list)
}

fn response_types(v: &[String]) -> Result<(), AwsError> {
    match v.iter().find(|t| *t != "ReportBatchItemFailures") {
        Some(t) => Err(crate::errors::validation(format!(
            "Value '[{t}]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"
        ))),
        None => Ok(()),
    }
}

/// Checks batch size and window against the queue type.
fn check_batching(batch: u32, window: u32, fifo: bool) -> Result<(), AwsError> {
    if fifo && batch > 10 {
        return Err(invalid("Batch size must be between 1 and 10 for FIFO queues."));
    }
    if fifo && window > 0 {
        return Err(invalid("Batching window is not supported for FIFO queues."));
    }
    if batch > 10 && window == 0 {
        return Err(invalid(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        ));
    }
    Ok(())
}

/// What a mapping needs of its function: the ARN it invokes, the timeout the queue's visibility
/// must cover, where it lives and the role its poller acts with.
struct Target {
    arn: String,
    timeout: u32,
    account: String,
    region: String,
    name: String,
    role: String,
}

async fn function_target(i: &Inner, ctx: &RequestContext, function: &str) -> Result<Target, AwsError> {
    let f = parse_function_name(function, ctx)?;
    i.read(move |r| {
        let rec = must_load(r, &f)?;
        let (cfg, _) = crate::functions::resolve_config(r, &f, &rec)?;
        let arn = match &f.qualifier {
            Some(q) => format!("{}:{q}", function_arn(&f.account, &f.region, &f.name)),
            None => function_arn(&f.account, &f.region, &f.name),
        };
        Ok(Target { arn, timeout: cfg.timeout, account: f.account, region: f.region, name: f.name, role: cfg.role })
    })
    .await
}

/// The execution role must let the poller read and delete the queue's messages, as AWS checks
/// when a mapping is created (its message names the first missing action).
async fn check_role(i: &Inner, target: &Target, queue_arn: &str) -> Result<(), AwsError> {
    let Some(roles) = i.roles.get() else { return Ok(()) };
    for action in ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"] {
        if roles.may(&target.role, &target.name, &format!("sqs:{action}"), queue_arn).await.is_err() {
            return Err(invalid(format!(
                "The provided execution role does not have permissions to call {action} on SQS"
            )));
        }
    }
    Ok(())
}

/// The execution role must let the poller read the stream, as AWS checks when a mapping is
/// created.
async fn check_stream_role(i: &Inner, target: &Target, stream_arn: &str) -> Result<(), AwsError> {
    let Some(roles) = i.roles.get() else { return Ok(()) };
    let kinesis = stream_arn.contains(":kinesis:");
    let (prefix, listing) = if kinesis { ("kinesis", "ListShards") } else { ("dynamodb", "ListStreams") };
    for action in ["GetRecords", "GetShardIterator", "DescribeStream", listing] {
        if roles.may(&target.role, &target.name, &format!("{prefix}:{action}"), stream_arn).await.is_err() {
            return Err(invalid(format!(
                "Cannot access stream {stream_arn}. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and {listing} Actions on your stream in IAM."
            )));
        }
    }
    Ok(())
}

/// The role the poller of `m` acts with now (the function's current configuration).
pub(crate) async fn current_role(i: &Inner, m: &Mapping) -> Result<(String, String), AwsError> {
    let ctx = RequestContext::internal(&m.account, &m.region, String::new());
    let t = function_target(i, &ctx, &m.function_arn).await?;
    Ok((t.role, t.name))
}

async fn queue_info(i: &Inner, arn: &str) -> Result<(u64, bool), AwsError> {
    let source =
        i.queue_source.get().ok_or_else(|| invalid("Event source mappings are not available on this server."))?;
    source.info(arn).await.map_err(|e| {
        if e.code == "QueueDoesNotExist" {
            invalid(format!(
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it. ({arn})"
            ))
        } else {
            e
        }
    })
}

pub(crate) async fn create(i: &Arc<Inner>, ctx: &RequestContext, input: CreateInput) -> Result<Value, AwsError> {
    let arn = input
        .event_source_arn
        .clone()
        .ok_or_else(|| invalid("Unrecognized event source, must be kafka or specify EventSourceArn."))?;
    match stratus_core::Arn::parse(&arn).map(|a| a.service) {
        Some("sqs") => {}
        Some("kinesis" | "dynamodb") => return create_stream(i, ctx, input, arn).await,
        _ => return Err(invalid(format!("Unrecognized event source: {arn}"))),
    }
    if input.starting_position.is_some() {
        return Err(invalid("StartingPosition is not valid for SQS event sources."));
    }
    let target = function_target(i, ctx, &input.function_name).await?;
    let (visibility, fifo) = queue_info(i, &arn).await?;
    check_role(i, &target, &arn).await?;
    if u64::from(target.timeout) > visibility {
        return Err(invalid(format!(
            "Queue visibility timeout: {visibility} seconds is less than Function timeout: {} seconds",
            target.timeout
        )));
    }
    let batch = input.batch_size.unwrap_or(10);
    let window = input.maximum_batching_window_in_seconds.unwrap_or(0);
    check_batching(batch, window, fifo)?;
    response_types(&input.function_response_types)?;
    let filters = patterns(input.filter_criteria)?;
    let mapping = Mapping {
        uuid: i.env.ids.uuid(),
        event_source_arn: arn,
        function_arn: target.arn,
        account: target.account,
        region: target.region,
        batch_size: batch,
        window,
        filters,
        response_types: input.function_response_types,
        max_concurrency: input.scaling_config.and_then(|s| s.maximum_concurrency),
        enabled: input.enabled.unwrap_or(true),
        last_modified_ms: i.now(),
        stream: None,
    };
    let m2 = mapping.clone();
    i.store
        .write(move |t| {
            for (_, v) in scan_prefix(t, &keys::mappings(), usize::MAX)? {
                if let Ok(other) = serde_json::from_slice::<Mapping>(&v)
                    && other.event_source_arn == m2.event_source_arn
                    && other.function_arn == m2.function_arn
                {
                    return Err(conflict(format!(
                        "An event source mapping with SQS arn (\" {} \") and function (\" {} \") already exists. Please update or delete the existing mapping with UUID {}",
                        m2.event_source_arn, m2.function_arn, other.uuid
                    )));
                }
            }
            save(t, &m2)
        })
        .await?;
    i.pollers.sync(i, &mapping);
    Ok(mapping.render("Creating"))
}

/// A mapping of a DynamoDB or Kinesis stream: StartingPosition is required, BatchSize 1–10,000
/// (100 by default), and the stream must exist.
async fn create_stream(
    i: &Arc<Inner>,
    ctx: &RequestContext,
    input: CreateInput,
    arn: String,
) -> Result<Value, AwsError> {
    let starting = input.starting_position.clone().ok_or_else(|| {
        invalid("1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null")
    })?;
    if !matches!(starting.as_str(), "TRIM_HORIZON" | "LATEST" | "AT_TIMESTAMP") {
        return Err(invalid(format!("Unsupported starting position: {starting}")));
    }
    if starting == "AT_TIMESTAMP" && arn.contains(":dynamodb:") {
        return Err(invalid("Unsupported starting position for DynamoDB streams: AT_TIMESTAMP"));
    }
    if starting == "AT_TIMESTAMP" && input.starting_position_timestamp.is_none() {
        return Err(invalid("StartingPositionTimestamp must be specified for AT_TIMESTAMP"));
    }
    let batch = input.batch_size.unwrap_or(100);
    if !(1..=10_000).contains(&batch) {
        return Err(invalid("BatchSize must be between 1 and 10000 for stream event sources."));
    }
    let retries = input.maximum_retry_attempts.unwrap_or(-1);
    if !(-1..=10_000).contains(&retries) {
        return Err(invalid("MaximumRetryAttempts must be between -1 and 10000."));
    }
    let age = input.maximum_record_age_in_seconds.unwrap_or(-1);
    if age != -1 && !(60..=604_800).contains(&age) {
        return Err(invalid("MaximumRecordAgeInSeconds must be -1 or between 60 and 604800."));
    }
    // The model bounds it (0 to 900 seconds).
    let window = input.tumbling_window_in_seconds.unwrap_or(0);
    let parallelization = input.parallelization_factor.unwrap_or(1);
    if !(1..=10).contains(&parallelization) {
        return Err(invalid("ParallelizationFactor must be between 1 and 10."));
    }
    let source =
        i.stream_source.get().ok_or_else(|| invalid("Stream event sources are not available on this server."))?;
    source.shards(&arn).await.map_err(|e| {
        if e.code == "ResourceNotFoundException" { invalid(format!("Stream not found: {arn}")) } else { e }
    })?;
    let target = function_target(i, ctx, &input.function_name).await?;
    check_stream_role(i, &target, &arn).await?;
    response_types(&input.function_response_types)?;
    let on_failure = input
        .destination_config
        .as_ref()
        .and_then(|d| d.get("OnFailure"))
        .and_then(|o| o.get("Destination"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mapping = Mapping {
        uuid: i.env.ids.uuid(),
        event_source_arn: arn,
        function_arn: target.arn,
        account: target.account,
        region: target.region,
        batch_size: batch,
        window: input.maximum_batching_window_in_seconds.unwrap_or(0),
        filters: patterns(input.filter_criteria)?,
        response_types: input.function_response_types,
        max_concurrency: None,
        enabled: input.enabled.unwrap_or(true),
        last_modified_ms: i.now(),
        stream: Some(crate::streams::StreamOptions {
            starting_position: starting,
            starting_timestamp_ms: input.starting_position_timestamp.map(|t| (t * 1000.0) as u64),
            max_retries: retries,
            max_record_age_s: age,
            bisect: input.bisect_batch_on_function_error.unwrap_or(false),
            parallelization,
            on_failure,
            tumbling_window_s: window,
        }),
    };
    let m2 = mapping.clone();
    i.store
        .write(move |t| {
            for (_, v) in scan_prefix(t, &keys::mappings(), usize::MAX)? {
                if let Ok(other) = serde_json::from_slice::<Mapping>(&v)
                    && other.event_source_arn == m2.event_source_arn
                    && other.function_arn == m2.function_arn
                {
                    return Err(conflict(format!(
                        "The event source arn (\" {} \") and function (\" {} \") provided mapping already exists. Please update or delete the existing mapping with UUID {}",
                        m2.event_source_arn, m2.function_arn, other.uuid
                    )));
                }
            }
            save(t, &m2)
        })
        .await?;
    i.pollers.sync(i, &mapping);
    let mut out = mapping.render("Creating");
    if let Some(o) = out.as_object_mut() {
        o.insert("StateTransitionReason".into(), json!("User action"));
    }
    Ok(out)
}

pub(crate) async fn get(i: &Inner, input: UuidInput) -> Result<Value, AwsError> {
    let uuid = input.uuid;
    let m = i.read(move |r| load(r, &uuid)?.ok_or_else(|| not_found(&uuid))).await?;
    Ok(i.pollers.shown(&m, m.state()))
}

pub(crate) async fn list(i: &Inner, ctx: &RequestContext, input: ListInput) -> Result<Value, AwsError> {
    let function = match &input.function_name {
        Some(f) => Some(function_target(i, ctx, f).await?.arn),
        None => None,
    };
    let source = input.event_source_arn.clone();
    let all: Vec<Mapping> = i
        .read(move |r| {
            Ok::<_, AwsError>(
                scan_prefix(r, &keys::mappings(), usize::MAX)?
                    .into_iter()
                    .filter_map(|(_, v)| serde_json::from_slice::<Mapping>(&v).ok())
                    .filter(|m| source.as_ref().is_none_or(|s| &m.event_source_arn == s))
                    .filter(|m| function.as_ref().is_none_or(|f| &m.function_arn == f))
                    .collect(),
            )
        })
        .await?;
    let size = input.max_items.unwrap_or(100).clamp(1, 10_000) as usize;
    let start = input.marker.as_deref().and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(start).take(size).map(|m| i.pollers.shown(m, m.state())).collect();
    let mut out = json!({"EventSourceMappings": page});
    if start + size < all.len()
        && let Some(o) = out.as_object_mut()
    {
        o.insert("NextMarker".into(), json!((start + size).to_string()));
    }
    Ok(out)
}

pub(crate) async fn update(i: &Arc<Inner>, ctx: &RequestContext, input: UpdateInput) -> Result<Value, AwsError> {
    let uuid = input.uuid.clone();
    let mut m = i.read(move |r| load(r, &uuid)?.ok_or_else(|| not_found(&uuid))).await?;
    let new_function = match &input.function_name {
        Some(f) => Some(function_target(i, ctx, f).await?),
        None => None,
    };
    let queue = m.stream.is_none();
    let fifo = if queue { queue_info(i, &m.event_source_arn).await?.1 } else { false };
    if let Some(t) = new_function {
        if queue {
            check_role(i, &t, &m.event_source_arn).await?;
        }
        (m.function_arn, m.account, m.region) = (t.arn, t.account, t.region);
    }
    if let Some(b) = input.batch_size {
        m.batch_size = b;
    }
    if let Some(w) = input.maximum_batching_window_in_seconds {
        m.window = w;
    }
    if queue {
        check_batching(m.batch_size, m.window, fifo)?;
    } else if !(1..=10_000).contains(&m.batch_size) {
        return Err(invalid("BatchSize must be between 1 and 10000 for stream event sources."));
    }
    // Turning a mapping on or off answers `Enabling` / `Disabling`, other changes `Updating`.
    let mut state = "Updating";
    if let Some(e) = input.enabled {
        if e != m.enabled {
            state = if e { "Enabling" } else { "Disabling" };
        }
        m.enabled = e;
    }
    if input.filter_criteria.is_some() {
        m.filters = patterns(input.filter_criteria)?;
    }
    if let Some(rt) = input.function_response_types {
        response_types(&rt)?;
        m.response_types = rt;
    }
    if let Some(s) = input.scaling_config {
        m.max_concurrency = s.maximum_concurrency;
    }
    m.last_modified_ms = i.now();
    let m2 = m.clone();
    i.store.write(move |t| save(t, &m2)).await?;
    i.pollers.sync(i, &m);
    Ok(m.render(state))
}

pub(crate) async fn delete(i: &Arc<Inner>, input: UuidInput) -> Result<Value, AwsError> {
    let uuid = input.uuid.clone();
    let m = i
        .store
        .write(move |t| {
            let m = load(t, &uuid)?.ok_or_else(|| not_found(&uuid))?;
            t.delete(&keys::mapping(&uuid))?;
            Ok::<_, AwsError>(m)
        })
        .await?;
    i.pollers.stop(&m.uuid);
    if m.stream.is_some()
        && let Err(e) = crate::streams::forget(i, &m.uuid).await
    {
        tracing::warn!(error = %e, "could not drop a deleted mapping's checkpoints");
    }
    Ok(m.render("Deleting"))
}

/// Running pollers by mapping: a stop flag shared by the mapping's workers.
#[derive(Default)]
pub(crate) struct Pollers {
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
    /// Stream mappings' `LastProcessingResult` (`OK`, `PROBLEM: …`), by mapping.
    results: Mutex<HashMap<String, &'static str>>,
}

impl Pollers {
    /// Notes how a stream mapping's last batch went.
    pub(crate) fn note(&self, uuid: &str, result: &'static str) {
        if let Ok(mut r) = self.results.lock() {
            r.insert(uuid.to_string(), result);
        }
    }

    /// A mapping as answered, with its last processing result.
    fn shown(&self, m: &Mapping, state: &str) -> Value {
        let mut v = m.render(state);
        let result = self.results.lock().ok().and_then(|r| r.get(&m.uuid).copied());
        if let (Some(r), Some(o)) = (result, v.as_object_mut()) {
            o.insert("LastProcessingResult".into(), json!(r));
        }
        v
    }

    fn stop(&self, uuid: &str) {
        if let Some(flag) = self.running.lock().ok().and_then(|mut r| r.remove(uuid)) {
            flag.store(true, Ordering::SeqCst);
        }
    }

    /// Stops every poller (the store was wiped).
    pub(crate) fn stop_all(&self) {
        if let Ok(mut r) = self.running.lock() {
            for flag in r.values() {
                flag.store(true, Ordering::SeqCst);
            }
            r.clear();
        }
    }

    /// Restarts a mapping's workers with its current settings (none when disabled).
    pub(crate) fn sync(&self, i: &Arc<Inner>, m: &Mapping) {
        self.stop(&m.uuid);
        if !m.enabled {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        if let Ok(mut r) = self.running.lock() {
            r.insert(m.uuid.clone(), stop.clone());
        }
        if m.stream.is_some() {
            crate::streams::start(i, m, stop);
            return;
        }
        // Concurrent batches: ScalingConfig's maximum (capped for a single machine), else five.
        let workers = m.max_concurrency.map_or(DEFAULT_POLLERS, |n| n.clamp(1, 20));
        for _ in 0..workers {
            tokio::spawn(poll(i.clone(), m.clone(), stop.clone()));
        }
    }

    /// Starts the pollers of every stored mapping (at server start).
    pub(crate) async fn start_all(&self, i: &Arc<Inner>) {
        match i.read(|r| Ok::<_, AwsError>(scan_prefix(r, &keys::mappings(), usize::MAX)?)).await {
            Ok(rows) => {
                for (_, v) in rows {
                    if let Ok(m) = serde_json::from_slice::<Mapping>(&v) {
                        self.sync(i, &m);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not start event source mappings"),
        }
    }
}

fn record(m: &Mapping, msg: &QueueMessage) -> Value {
    let mut r = json!({
        "messageId": msg.message_id,
        "receiptHandle": msg.receipt_handle,
        "body": msg.body,
        "attributes": msg.attributes,
        "messageAttributes": msg.message_attributes,
        "md5OfBody": msg.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": m.event_source_arn,
        "awsRegion": m.region,
    });
    if let (Some(o), Some(md5)) = (r.as_object_mut(), &msg.md5_of_message_attributes) {
        o.insert("md5OfMessageAttributes".into(), json!(md5));
    }
    r
}

/// What filter patterns see: the record, with a JSON body parsed.
fn filter_view(rec: &Value) -> Value {
    let mut v = rec.clone();
    if let Some(body) = rec.get("body").and_then(Value::as_str)
        && let Ok(parsed) = serde_json::from_str::<Value>(body)
        && parsed.is_object()
        && let Some(o) = v.as_object_mut()
    {
        o.insert("body".into(), parsed);
    }
    v
}

/// Message ids the function reported as failed; `None` when the reply is not a valid partial
/// batch response (then the whole batch counts as failed).
fn reported_failures(payload: &[u8], batch: &[QueueMessage]) -> Option<Vec<String>> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    let failures = match v.get("batchItemFailures") {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return None,
    };
    let mut ids = Vec::new();
    for f in failures {
        let id = f.get("itemIdentifier")?.as_str()?;
        if id.is_empty() || !batch.iter().any(|m| m.message_id == id) {
            return None;
        }
        ids.push(id.to_string());
    }
    Some(ids)
}

async fn poll(i: Arc<Inner>, m: Mapping, stop: Arc<AtomicBool>) {
    let Some(source) = i.queue_source.get().cloned() else { return };
    let patterns: Vec<Value> = m.filters.iter().filter_map(|p| filter::check(p).ok()).collect();
    while !stop.load(Ordering::SeqCst) && !i.closing() {
        // The poller reads the queue as the function's execution role, as on AWS: while the
        // role may not, the messages stay where they are.
        if let Some(roles) = i.roles.get() {
            let allowed = match current_role(&i, &m).await {
                Ok((role, function)) => {
                    roles.may(&role, &function, "sqs:ReceiveMessage", &m.event_source_arn).await.map_err(|e| e.message)
                }
                Err(e) => Err(e.message),
            };
            if let Err(why) = allowed {
                tracing::warn!(mapping = %m.uuid, %why, "the event source cannot be read with the function's role");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        }
        let mut batch = match source.receive(&m.event_source_arn, m.batch_size.min(10) as u8, 20).await {
            Ok(b) => b,
            Err(e) => {
                tracing::debug!(error = %e, mapping = %m.uuid, "event source receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        // Gather up to the batch size within the batching window (or 6 MB).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(m.window));
        let mut bytes: usize = batch.iter().map(|b| b.body.len()).sum();
        while batch.len() < m.batch_size as usize && bytes < MAX_BATCH_BYTES && tokio::time::Instant::now() < deadline {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()).as_secs().min(20) as u8;
            let want = (m.batch_size as usize - batch.len()).min(10) as u8;
            match source.receive(&m.event_source_arn, want, left).await {
                Ok(more) if !more.is_empty() => {
                    bytes += more.iter().map(|b| b.body.len()).sum::<usize>();
                    batch.extend(more);
                }
                Ok(_) if left == 0 => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let records: Vec<Value> = batch.iter().map(|msg| record(&m, msg)).collect();
        // Messages no filter matches are deleted without invoking (AWS's event filtering).
        let (keep, drop): (Vec<usize>, Vec<usize>) = (0..batch.len()).partition(|&n| {
            patterns.is_empty() || patterns.iter().any(|p| filter::matches(p, &filter_view(&records[n])))
        });
        if !drop.is_empty() {
            let handles = drop.iter().map(|&n| batch[n].receipt_handle.clone()).collect();
            let _ = delete_all(source.as_ref(), &m.event_source_arn, handles).await;
        }
        if keep.is_empty() {
            continue;
        }
        let event = json!({"Records": keep.iter().map(|&n| records[n].clone()).collect::<Vec<_>>()});
        let kept: Vec<QueueMessage> = keep.iter().map(|&n| batch[n].clone()).collect();
        let outcome =
            crate::invoke::invoke_internal(&i, &m.account, &m.region, &m.function_arn, event.to_string().into_bytes())
                .await;
        let done: Vec<String> = match outcome {
            Ok(r) if r.function_error.is_none() => {
                if m.response_types.iter().any(|t| t == "ReportBatchItemFailures") {
                    match reported_failures(&r.payload, &kept) {
                        Some(failed) => kept
                            .iter()
                            .filter(|msg| !failed.contains(&msg.message_id))
                            .map(|msg| msg.receipt_handle.clone())
                            .collect(),
                        None => Vec::new(),
                    }
                } else {
                    kept.iter().map(|msg| msg.receipt_handle.clone()).collect()
                }
            }
            Ok(_) => Vec::new(),
            Err(e) => {
                tracing::debug!(error = %e, mapping = %m.uuid, "event source invoke failed");
                if e.code == "TooManyRequestsException" {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Vec::new()
            }
        };
        if !done.is_empty() {
            let _ = delete_all(source.as_ref(), &m.event_source_arn, done).await;
        }
    }
}

async fn delete_all(source: &dyn crate::source::QueueSource, arn: &str, handles: Vec<String>) -> Result<(), AwsError> {
    for chunk in handles.chunks(10) {
        source.delete(arn, chunk.to_vec()).await?;
    }
    Ok(())
}
