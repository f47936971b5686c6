//! Invoke: synchronous (RequestResponse), asynchronous (Event: queued durably in the outbox
//! and delivered with AWS's retries) and DryRun.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{invalid, not_found};
use crate::executor::{ExecError, InvokeRequest, InvokeResponse};
use crate::functions::{FunctionName, function_arn, must_load, parse_function_name, resolve_config};
use crate::types::FunctionConfiguration;
use crate::{Inner, keys};

pub const MAX_SYNC_PAYLOAD: usize = 6_291_456;
pub const MAX_ASYNC_PAYLOAD: usize = 1_048_576;
/// The outbox topic of queued asynchronous invocations.
const ASYNC_TOPIC: &str = "lambda-async";
/// Delays before the retries of a failed asynchronous invocation (AWS: about 1, then 2 minutes).
const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvokeInput {
    pub function_name: String,
    pub qualifier: Option<String>,
    pub invocation_type: Option<String>,
    pub log_type: Option<String>,
    pub client_context: Option<String>,
    pub payload: Option<String>,
}

/// A queued asynchronous invocation, as stored in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueuedEvent {
    account: String,
    region: String,
    name: String,
    qualifier: Option<String>,
    request_id: String,
    payload_b64: String,
    enqueued_ms: u64,
}

/// What the code cache holds: deployment packages by SHA-256, read from the blob store once.
#[derive(Default)]
pub(crate) struct CodeCache {
    map: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

impl CodeCache {
    fn get(&self, i: &Inner, sha_hex: &str) -> Result<Arc<Vec<u8>>, AwsError> {
        if let Some(c) = self.map.lock().ok().and_then(|m| m.get(sha_hex).cloned()) {
            return Ok(c);
        }
        let bytes = i.store.blobs().get(&keys::code_blob(sha_hex))?.ok_or_else(|| {
            AwsError::new("ServiceException", "The function's code package is missing.").with_status(500)
        })?;
        let code = Arc::new(bytes);
        if let Ok(mut m) = self.map.lock() {
            m.insert(sha_hex.to_string(), code.clone());
        }
        Ok(code)
    }
}

/// Everything an invocation needs, read in one snapshot.
struct Target {
    f: FunctionName,
    config: FunctionConfiguration,
    sha_hex: String,
    reserved: Option<u32>,
    executed_version: String,
    /// (layer version ARN, archive SHA-256 hex), in order.
    layers: Vec<(String, String)>,
}

async fn target(i: &Inner, f: FunctionName, pick: f64) -> Result<Target, AwsError> {
    // A handful of point lookups on every invoke: on the caller's thread where that is cheaper.
    i.store
        .read_short(move |r| {
            let rec = must_load(r, &f)?;
            let (mut config, alias) = resolve_config(r, &f, &rec)?;
            // Weighted alias routing: the additional version takes its share of invocations.
            if let Some(a) = alias
                && let Some(rc) = a.routing_config
                && let Some((v, w)) = rc.additional_version_weights.iter().next()
                && pick < *w
            {
                let version = v.parse::<u64>().map_err(|_| not_found(v))?;
                config = crate::functions::load_version(r, &f, version)?.ok_or_else(|| not_found(v))?;
            }
            let sha_hex = match config.version.as_str() {
                "$LATEST" => rec.code_sha_hex.clone(),
                v => rec.version_code.get(v).cloned().unwrap_or_else(|| rec.code_sha_hex.clone()),
            };
            let executed_version = config.version.clone();
            let layers = crate::layers::archives(r, &config.layers)?;
            Ok(Target { f, config, sha_hex, reserved: rec.reserved_concurrency, executed_version, layers })
        })
        .await
}

fn throttled() -> AwsError {
    AwsError::new("TooManyRequestsException", "Rate Exceeded.")
        .with_field("Reason", "ReservedFunctionConcurrentInvocationLimitExceeded")
}

async fn run(
    i: &Inner,
    t: &Target,
    request_id: String,
    payload: Vec<u8>,
    client_context: Option<String>,
) -> Result<InvokeResponse, AwsError> {
    if t.reserved == Some(0) {
        return Err(throttled());
    }
    let code = i.code.get(i, &t.sha_hex)?;
    let layers = t
        .layers
        .iter()
        .map(|(arn, sha)| Ok((arn.clone(), i.code.get(i, sha)?)))
        .collect::<Result<Vec<_>, AwsError>>()?;
    let arn = function_arn(&t.f.account, &t.f.region, &t.f.name);
    let invoked_arn = match &t.f.qualifier {
        Some(q) => format!("{arn}:{q}"),
        None => arn,
    };
    let req = InvokeRequest {
        key: format!(
            "{}{}:{}",
            crate::env_key_prefix(&t.f.account, &t.f.region, &t.f.name),
            t.config.version,
            t.sha_hex
        ),
        account: t.f.account.clone(),
        region: t.f.region.clone(),
        config: t.config.clone(),
        code,
        layers,
        request_id,
        payload,
        invoked_arn,
        reserved_concurrency: t.reserved,
        client_context,
    };
    i.executor.invoke(req).await.map_err(|e| match e {
        ExecError::Throttled => throttled(),
        ExecError::Unavailable(m) => AwsError::new("ServiceException", m).with_status(500),
    })
}

pub(crate) async fn invoke(i: &Inner, ctx: &RequestContext, input: InvokeInput) -> Result<Value, AwsError> {
    let mut f = parse_function_name(&input.function_name, ctx)?;
    if input.qualifier.is_some() {
        f.qualifier = input.qualifier.clone();
    }
    let payload = match &input.payload {
        Some(b64) => STANDARD.decode(b64).map_err(|_| invalid("Could not read the request payload."))?,
        None => Vec::new(),
    };
    let kind = input.invocation_type.as_deref().unwrap_or("RequestResponse");
    let limit = if kind == "Event" { MAX_ASYNC_PAYLOAD } else { MAX_SYNC_PAYLOAD };
    if payload.len() > limit {
        return Err(AwsError::new(
            "RequestTooLargeException",
            format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
        ));
    }
    if !payload.is_empty() && serde_json::from_slice::<Value>(&payload).is_err() {
        return Err(AwsError::new(
            "InvalidRequestContentException",
            "Could not parse request body into json: Could not parse payload into json",
        ));
    }
    let pick: f64 = (i.env.ids.random_bytes()[0] as f64) / 256.0;
    let t = target(i, f, pick).await?;
    match kind {
        "DryRun" => Ok(json!({"StatusCode": 204})),
        "Event" => {
            if t.reserved == Some(0) {
                return Err(throttled());
            }
            push_event(i, &t, ctx.request_id.clone(), &payload).await?;
            Ok(json!({"StatusCode": 202}))
        }
        _ => {
            let resp = run(i, &t, ctx.request_id.clone(), payload, input.client_context).await?;
            let mut out = json!({
                "StatusCode": 200,
                "ExecutedVersion": t.executed_version,
                "Payload": STANDARD.encode(&resp.payload),
            });
            if let Some(obj) = out.as_object_mut() {
                if let Some(fe) = resp.function_error {
                    obj.insert("FunctionError".into(), Value::String(fe));
                }
                if input.log_type.as_deref() == Some("Tail") {
                    obj.insert("LogResult".into(), Value::String(STANDARD.encode(tail_4k(&resp.log_tail))));
                }
            }
            Ok(out)
        }
    }
}

/// Invokes `function` synchronously on behalf of another part of Stratus (a poller).
pub(crate) async fn invoke_internal(
    i: &Inner,
    account: &str,
    region: &str,
    function: &str,
    payload: Vec<u8>,
) -> Result<InvokeResponse, AwsError> {
    let ctx = RequestContext::internal(account, region, i.env.ids.uuid());
    let f = parse_function_name(function, &ctx)?;
    let pick: f64 = (i.env.ids.random_bytes()[0] as f64) / 256.0;
    let t = target(i, f, pick).await?;
    run(i, &t, ctx.request_id, payload, None).await
}

/// Queues an `Event` invocation of `function` (a name or ARN in `account`/`region`).
pub(crate) async fn enqueue(
    i: &Inner,
    account: &str,
    region: &str,
    function: &str,
    payload: Vec<u8>,
) -> Result<(), AwsError> {
    let ctx = RequestContext::internal(account, region, i.env.ids.uuid());
    let f = parse_function_name(function, &ctx)?;
    let pick: f64 = (i.env.ids.random_bytes()[0] as f64) / 256.0;
    let t = target(i, f, pick).await?;
    push_event(i, &t, ctx.request_id, &payload).await
}

/// Writes an asynchronous invocation to the outbox: once this returns, it will be delivered.
async fn push_event(i: &Inner, t: &Target, request_id: String, payload: &[u8]) -> Result<(), AwsError> {
    let event = QueuedEvent {
        account: t.f.account.clone(),
        region: t.f.region.clone(),
        name: t.f.name.clone(),
        qualifier: t.f.qualifier.clone(),
        request_id,
        payload_b64: STANDARD.encode(payload),
        enqueued_ms: i.now(),
    };
    let bytes = serde_json::to_vec(&event).map_err(|e| AwsError::internal(e.to_string()))?;
    i.store.write_signalling(move |txn| stratus_storage::outbox_push(txn, ASYNC_TOPIC, &bytes).map(|_| ())).await?;
    Ok(())
}

/// The last 4 KB of a log, cut at a character boundary.
fn tail_4k(log: &str) -> &str {
    let mut start = log.len().saturating_sub(4096);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    &log[start..]
}

/// Delivers queued asynchronous invocations: each is invoked, retried twice on failure after
/// about one and two minutes, and removed from the outbox only when it is done — so an event
/// accepted with 202 is delivered at least once, also across a restart.
pub(crate) async fn run_async_queue(i: Arc<Inner>) {
    let claims = stratus_storage::OutboxClaims::default();
    loop {
        let signal = i.store.outbox_signal().clone();
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let round = claims.begin_round();
        match i.store.outbox_pending(ASYNC_TOPIC, 0, 64).await {
            Ok(events) => {
                for (seq, bytes) in events {
                    if !claims.claim(seq) {
                        continue;
                    }
                    let (i2, claims2) = (i.clone(), claims.clone());
                    tokio::spawn(async move {
                        deliver(&i2, &bytes).await;
                        let acked = i2.store.outbox_ack(ASYNC_TOPIC, seq).await;
                        if let Err(e) = &acked {
                            tracing::warn!(error = %e, "could not remove a delivered async invocation");
                        }
                        claims2.release(seq, acked.is_ok());
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read queued async invocations"),
        }
        claims.end_round(round);
        if i.closing() {
            return;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// The outbox topic of destination records (the binary delivers them to SQS, SNS or Lambda).
pub const DESTINATION_TOPIC: &str = "lambda-destinations";

/// A record for an on-success / on-failure destination, in AWS's shape.
fn destination_record(
    ev: &QueuedEvent,
    function_arn: &str,
    condition: &str,
    attempts: u32,
    outcome: Option<&InvokeResponse>,
    now: u64,
) -> Value {
    let request_payload: Value =
        STANDARD.decode(&ev.payload_b64).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
    let mut record = json!({
        "version": "1.0",
        "timestamp": stratus_core::time::iso8601_millis(now),
        "requestContext": {
            "requestId": ev.request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": request_payload,
    });
    if let (Some(o), Some(r)) = (record.as_object_mut(), outcome) {
        let mut ctx = json!({"statusCode": 200, "executedVersion": "$LATEST"});
        if let (Some(c), Some(fe)) = (ctx.as_object_mut(), &r.function_error) {
            c.insert("functionError".into(), json!(fe));
        }
        o.insert("responseContext".into(), ctx);
        o.insert(
            "responsePayload".into(),
            serde_json::from_slice(&r.payload).unwrap_or_else(|_| json!(String::from_utf8_lossy(&r.payload))),
        );
    }
    record
}

/// Queues a destination record. It carries the function's execution role: the record is sent
/// with that role's rights, as on AWS.
async fn send_to_destination(i: &Inner, ev: &QueuedEvent, to: Option<String>, role: &str, record: Value) {
    let Some(destination) = to else { return };
    let body = json!({"destination": destination, "account": ev.account, "region": ev.region,
        "role": role, "function": ev.name, "record": record});
    let bytes = body.to_string().into_bytes();
    if let Err(e) =
        i.store.write_signalling(move |t| stratus_storage::outbox_push(t, DESTINATION_TOPIC, &bytes).map(|_| ())).await
    {
        tracing::warn!(error = %e, "could not queue a destination record");
    }
}

async fn deliver(i: &Inner, bytes: &[u8]) {
    let Ok(ev) = serde_json::from_slice::<QueuedEvent>(bytes) else {
        tracing::warn!("dropping an unreadable queued async invocation");
        return;
    };
    let payload = STANDARD.decode(&ev.payload_b64).unwrap_or_default();
    let f = FunctionName {
        account: ev.account.clone(),
        region: ev.region.clone(),
        name: ev.name.clone(),
        qualifier: ev.qualifier.clone(),
    };
    let settings = {
        let f = f.clone();
        i.read(move |r| {
            let rec = must_load(r, &f)?;
            let settings =
                rec.event_invoke_configs.get(f.qualifier.as_deref().unwrap_or("$LATEST")).cloned().unwrap_or_default();
            let role = crate::functions::resolve_config(r, &f, &rec).map(|(c, _)| c.role).unwrap_or_default();
            Ok((settings, role))
        })
        .await
    };
    let (settings, role) = match settings {
        Ok(s) => s,
        Err(e) if e.code == "ResourceNotFoundException" => return,
        Err(_) => (crate::types::EventInvokeConfig::default(), String::new()),
    };
    let function_arn =
        format!("{}:{}", function_arn(&f.account, &f.region, &f.name), f.qualifier.as_deref().unwrap_or("$LATEST"));
    let retries = settings.retries() as usize;
    let mut last: Option<InvokeResponse> = None;
    for attempt in 0..=retries {
        if i.now().saturating_sub(ev.enqueued_ms) > settings.max_age_ms() {
            let record =
                destination_record(&ev, &function_arn, "EventAgeExceeded", attempt as u32, last.as_ref(), i.now());
            send_to_destination(i, &ev, settings.on_failure.clone(), &role, record).await;
            return;
        }
        let pick: f64 = (i.env.ids.random_bytes()[0] as f64) / 256.0;
        let outcome = match target(i, f.clone(), pick).await {
            Ok(t) => run(i, &t, ev.request_id.clone(), payload.clone(), None).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(r) if r.function_error.is_none() => {
                let record = destination_record(&ev, &function_arn, "Success", attempt as u32 + 1, Some(&r), i.now());
                send_to_destination(i, &ev, settings.on_success.clone(), &role, record).await;
                return;
            }
            Ok(r) => {
                tracing::info!(request_id = %ev.request_id, attempt, "async invocation failed");
                last = Some(r);
            }
            Err(e) if e.code == "ResourceNotFoundException" => {
                tracing::info!(request_id = %ev.request_id, "function gone; dropping async invocation");
                return;
            }
            Err(e) => tracing::info!(request_id = %ev.request_id, error = %e, "async invocation not run"),
        }
        if attempt < retries {
            if i.closing() {
                return;
            }
            tokio::time::sleep(RETRY_DELAYS.get(attempt).copied().unwrap_or(RETRY_DELAYS[1])).await;
        }
    }
    let record = destination_record(&ev, &function_arn, "RetriesExhausted", retries as u32 + 1, last.as_ref(), i.now());
    send_to_destination(i, &ev, settings.on_failure.clone(), &role, record).await;
}
