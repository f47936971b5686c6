//! `stratus-loadgen`: a closed-loop HTTP load generator for AWS-compatible
//! endpoints (Stratus, moto_server, ...) with SigV4-signed requests over N
//! keep-alive HTTP/1.1 connections: SQS (JSON protocol), Lambda's synchronous
//! Invoke, S3 PutObject / GetObject (REST, path style), SNS Publish (query
//! protocol), DynamoDB and Kinesis Data Streams (JSON 1.0 / 1.1), and plain unsigned HTTP
//! (API Gateway stages, load balancers: `--workload http`).
//!
//! Only loopback endpoints are accepted, and every run is bounded both by
//! `--duration` and by `--max-requests`.

mod client;
mod histogram;

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http::{HeaderValue, Method, Uri};
use serde_json::{Value, json};

use crate::client::{BoxError, Conn, InvokePath, Target};
use crate::histogram::Histogram;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// One SendMessage per request.
    Send,
    /// SendMessageBatch with 10 entries per request.
    SendBatch,
    /// Pre-fill the queue, then ReceiveMessage(max 10) + DeleteMessageBatch.
    ReceiveDelete,
    /// Lambda Invoke (RequestResponse) of --function with --payload; SigV4 service `lambda`.
    LambdaInvoke,
    /// S3 PutObject of --object-size bytes to --bucket under keys loadgen/WORKER/N.
    S3Put,
    /// S3: PUT --objects objects, then GetObject them round-robin (length checked).
    S3Get,
    /// SNS Publish (query protocol) of a --body-size message to --topic-arn.
    SnsPublish,
    /// DynamoDB PutItem of a 200-byte item (table `loadgen`, a new key per request).
    DdbPut,
    /// DynamoDB GetItem of one of 100 stored items.
    DdbGet,
    /// DynamoDB Query of a 100-item partition.
    DdbQuery,
    /// DynamoDB BatchWriteItem of 25 items.
    DdbBatchWrite,
    /// Kinesis PutRecord of --record-size bytes to --stream (partition key per worker and request).
    KinesisPut,
    /// Kinesis PutRecords of 500 records of --record-size bytes to --stream.
    KinesisPutBatch,
    /// Kinesis: put --prefill records in --stream, then GetRecords (Limit 1000) along its shards
    /// (worker i on shard i mod shards), from TRIM_HORIZON again at the shard's tip.
    KinesisGet,
    /// Plain unsigned HTTP: --http-method of --http-path with Host --http-host (an API
    /// Gateway stage, a load balancer); any 2xx is a success.
    Http,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Send => "send",
            Workload::SendBatch => "send-batch",
            Workload::ReceiveDelete => "receive-delete",
            Workload::LambdaInvoke => "lambda-invoke",
            Workload::S3Put => "s3-put",
            Workload::S3Get => "s3-get",
            Workload::SnsPublish => "sns-publish",
            Workload::DdbPut => "ddb-put",
            Workload::DdbGet => "ddb-get",
            Workload::DdbQuery => "ddb-query",
            Workload::DdbBatchWrite => "ddb-batch-write",
            Workload::KinesisPut => "kinesis-put",
            Workload::KinesisPutBatch => "kinesis-put-batch",
            Workload::KinesisGet => "kinesis-get",
            Workload::Http => "http",
        }
    }

    fn is_s3(self) -> bool {
        matches!(self, Workload::S3Put | Workload::S3Get)
    }

    fn is_kinesis(self) -> bool {
        matches!(self, Workload::KinesisPut | Workload::KinesisPutBatch | Workload::KinesisGet)
    }

    /// What one successful request moves, for the report.
    fn unit(self) -> &'static str {
        match self {
            Workload::S3Put | Workload::S3Get => "objects",
            Workload::LambdaInvoke => "invokes",
            Workload::DdbPut | Workload::DdbGet | Workload::DdbBatchWrite => "items",
            Workload::DdbQuery => "queries",
            Workload::KinesisPut | Workload::KinesisPutBatch | Workload::KinesisGet => "records",
            Workload::Http => "requests",
            _ => "messages",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "stratus-loadgen",
    version,
    about = "Closed-loop SigV4 load generator (SQS, Lambda Invoke, S3 PutObject/GetObject, SNS Publish, DynamoDB, Kinesis, plain HTTP) for loopback endpoints"
)]
struct Args {
    /// Endpoint, e.g. http://127.0.0.1:4566 (loopback addresses only).
    #[arg(long, env = "STRATUS_LOADGEN_ENDPOINT")]
    endpoint: String,

    /// What each request does.
    #[arg(long, value_enum)]
    workload: Workload,

    /// Concurrent keep-alive connections (one worker task each).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    connections: u32,

    /// Measured run time in seconds (after --warmup).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,

    /// Seconds of load before measuring starts (requests are sent but not counted).
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,

    /// Queue name (created with CreateQueue if missing). Default: loadgen-<workload>.
    #[arg(long)]
    queue: Option<String>,

    /// lambda-invoke: the function to invoke (a plain name, e.g. bench-c).
    #[arg(long)]
    function: Option<String>,

    /// lambda-invoke: the JSON payload of every Invoke. A reply that is a JSON
    /// object with a numeric "fn_ns" (nanoseconds the function says it spent)
    /// also yields the function's time and the rest (latency - fn_ns).
    #[arg(long, default_value = r#"{"bench":"loadgen"}"#)]
    payload: String,

    /// Message body size in bytes (SQS messages, SNS messages).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=262_144))]
    body_size: u32,

    /// s3-put / s3-get: the bucket (path style; created with PUT /{bucket} if missing).
    #[arg(long, default_value = "stratus-loadgen")]
    bucket: String,

    /// s3-put / s3-get: object size in bytes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=(64 << 20)))]
    object_size: u32,

    /// s3-get: objects PUT before measuring and then read round-robin.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    objects: u64,

    /// sns-publish: the topic ARN (default: CreateTopic loadgen-sns-publish).
    #[arg(long)]
    topic_arn: Option<String>,

    /// kinesis-*: the stream (created with 4 shards if missing).
    #[arg(long, default_value = "loadgen")]
    stream: String,

    /// kinesis-*: bytes of data per record (sent base64-encoded).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    record_size: u32,

    /// http: the request path (and query), e.g. /prod/pets?limit=1.
    #[arg(long, default_value = "/")]
    http_path: String,

    /// http: the Host header (default: the endpoint's host:port), e.g. {api}.execute-api.localhost:4566.
    #[arg(long)]
    http_host: Option<String>,

    /// http: the request method.
    #[arg(long, default_value = "GET")]
    http_method: String,

    /// http: the request body (sent as application/json; none by default).
    #[arg(long)]
    http_body: Option<String>,

    /// Hard cap on requests sent in total (warm-up and pre-fill included).
    #[arg(long, default_value_t = 20_000_000)]
    max_requests: u64,

    /// receive-delete: messages to put in the queue before measuring; kinesis-get: records to put
    /// in the stream.
    #[arg(long, default_value_t = 200_000)]
    prefill: u64,

    /// receive-delete / s3-get / kinesis-get: stop pre-filling after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    prefill_secs: f64,

    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,

    /// Tokio worker threads (default: number of CPUs).
    #[arg(long)]
    threads: Option<usize>,

    /// SigV4 region.
    #[arg(long, default_value = "us-east-1")]
    region: String,

    /// SigV4 access key id.
    #[arg(long, default_value = "test", env = "AWS_ACCESS_KEY_ID")]
    access_key: String,

    /// SigV4 secret key.
    #[arg(long, default_value = "test", env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_key: String,

    /// Print one JSON line instead of the human-readable report.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let threads =
        args.threads.or_else(|| std::thread::available_parallelism().ok().map(|n| n.get())).unwrap_or(2).max(1);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stratus-loadgen: cannot start runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json(&args, threads));
            } else {
                print!("{}", report.to_text(&args, threads));
            }
            if report.ok == 0 {
                eprintln!("stratus-loadgen: no request succeeded");
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("stratus-loadgen: {e}");
            ExitCode::from(2)
        }
    }
}

fn secs(value: f64, what: &str, max: f64) -> Result<Duration, BoxError> {
    if !value.is_finite() || value < 0.0 || value > max {
        return Err(format!("--{what} must be between 0 and {max} seconds").into());
    }
    Ok(Duration::from_secs_f64(value))
}

/// Resolves the endpoint and refuses anything that is not loopback.
async fn resolve_target(args: &Args) -> Result<Target, BoxError> {
    let uri: Uri = args.endpoint.parse().map_err(|e| format!("bad --endpoint {:?}: {e}", args.endpoint))?;
    match uri.scheme_str() {
        Some("http") => {}
        other => {
            return Err(format!("--endpoint must be http:// (got scheme {other:?})").into());
        }
    }
    let host = uri.host().ok_or("--endpoint has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = tokio::net::lookup_host((bare_host, port)).await?.collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolves to no address").into());
    }
    if let Some(bad) = addrs.iter().find(|a| !is_loopback(a.ip())) {
        return Err(format!(
            "refusing non-loopback endpoint {host} ({}); the load generator only targets this machine",
            bad.ip()
        )
        .into());
    }
    // Prefer IPv4 (`localhost` may list ::1 first while servers bind 127.0.0.1).
    let addr = addrs.iter().find(|a| a.is_ipv4()).unwrap_or(&addrs[0]).to_owned();
    let authority = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    Ok(Target {
        addr,
        authority: authority.parse()?,
        sign_uri: format!("http://{authority}/").parse()?,
        region: args.region.clone(),
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        timeout: secs(args.timeout, "timeout", 3600.0)?.max(Duration::from_millis(10)),
    })
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

fn error_sample(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(300).collect()
}

/// CreateQueue (idempotent) and return the queue URL.
async fn create_queue(conn: &mut Conn, name: &str) -> Result<String, BoxError> {
    let body = serde_json::to_vec(&json!({ "QueueName": name }))?;
    let reply = conn.call("CreateQueue", Bytes::from(body)).await.map_err(|e| format!("CreateQueue {name}: {e}"))?;
    if !reply.status.is_success() {
        return Err(format!("CreateQueue {name} failed: HTTP {}: {}", reply.status, error_sample(&reply.body)).into());
    }
    let v: Value = serde_json::from_slice(&reply.body)?;
    v.get("QueueUrl")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("CreateQueue reply has no QueueUrl: {}", error_sample(&reply.body)).into())
}

fn message_body(size: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..size).map(|i| char::from(ALPHABET[i % ALPHABET.len()])).collect()
}

/// `application/x-www-form-urlencoded` value: everything but the unreserved
/// characters percent-encoded.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query-protocol body: `Action=...&Version=...&k=v...`, values form-encoded.
fn query_body(action: &str, version: &str, params: &[(&str, &str)]) -> Bytes {
    let mut body = format!("Action={action}&Version={version}");
    for (k, v) in params {
        body.push_str(&format!("&{k}={}", form_encode(v)));
    }
    Bytes::from(body)
}

const SNS_VERSION: &str = "2010-03-31";

/// The text of the first `<tag>...</tag>` of an XML reply.
fn xml_text<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..start + len].trim())
}

/// CreateTopic (idempotent) and return the topic ARN.
async fn create_topic(conn: &mut Conn, name: &str) -> Result<String, BoxError> {
    let body = query_body("CreateTopic", SNS_VERSION, &[("Name", name)]);
    let reply = conn.query("sns", body).await.map_err(|e| format!("CreateTopic {name}: {e}"))?;
    let text = String::from_utf8_lossy(&reply.body);
    if !reply.status.is_success() {
        return Err(format!("CreateTopic {name} failed: HTTP {}: {}", reply.status, error_sample(&reply.body)).into());
    }
    xml_text(&text, "TopicArn")
        .map(str::to_owned)
        .ok_or_else(|| format!("CreateTopic reply has no TopicArn: {}", error_sample(&reply.body)).into())
}

/// S3 bucket names that need no encoding in a path-style URL.
fn check_bucket(name: &str) -> Result<(), BoxError> {
    let ok = (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if ok { Ok(()) } else { Err(format!("--bucket {name:?}: use 3-63 characters of [a-z0-9.-]").into()) }
}

/// CreateBucket (`PUT /{bucket}`); a bucket we already own is fine.
async fn create_bucket(conn: &mut Conn, bucket: &str) -> Result<(), BoxError> {
    let reply = conn
        .s3(Method::PUT, &format!("/{bucket}"), Bytes::new(), None)
        .await
        .map_err(|e| format!("CreateBucket {bucket}: {e}"))?;
    if reply.status.is_success() || String::from_utf8_lossy(&reply.body).contains("BucketAlreadyOwnedByYou") {
        return Ok(());
    }
    Err(format!("CreateBucket {bucket} failed: HTTP {}: {}", reply.status, error_sample(&reply.body)).into())
}

/// What the S3 workloads send: one payload (hashed once) and the key scheme.
struct S3Plan {
    bucket: String,
    payload: Bytes,
    /// Hex SHA-256 of `payload`, sent as `x-amz-content-sha256`.
    payload_sha256: HeaderValue,
    /// s3-get: the number of objects read round-robin, and the next one.
    objects: u64,
    next_get: AtomicU64,
}

impl S3Plan {
    fn new(bucket: &str, size: usize, objects: u64) -> Result<Self, BoxError> {
        let payload = Bytes::from(message_body(size));
        let payload_sha256 = HeaderValue::from_str(&stratus_sigv4::sha256_hex(&payload))?;
        Ok(Self { bucket: bucket.to_owned(), payload, payload_sha256, objects, next_get: AtomicU64::new(0) })
    }

    /// s3-put: `/{bucket}/loadgen/{worker}/{n}`.
    fn put_path(&self, worker: u32, n: u64) -> String {
        format!("/{}/loadgen/{worker}/{n}", self.bucket)
    }

    /// s3-get: `/{bucket}/loadgen/get/{i}`, i < objects.
    fn get_path(&self, i: u64) -> String {
        format!("/{}/loadgen/get/{i}", self.bucket)
    }
}

/// PUTs the s3-get objects over `connections` connections, within `budget`.
/// Returns the number put (all of them) and the time taken.
async fn put_objects(
    target: Arc<Target>,
    plan: Arc<S3Plan>,
    connections: u32,
    budget: Duration,
) -> Result<(u64, Duration), BoxError> {
    let started = Instant::now();
    let deadline = started + budget;
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections.min(u32::try_from(plan.objects).unwrap_or(u32::MAX)) {
        let (target, plan, next) = (Arc::clone(&target), Arc::clone(&plan), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(target);
            let mut done = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.objects || Instant::now() >= deadline {
                    return Ok::<u64, String>(done);
                }
                let path = plan.get_path(i);
                match conn.s3(Method::PUT, &path, plan.payload.clone(), Some(&plan.payload_sha256)).await {
                    Ok(reply) if reply.status.is_success() => done += 1,
                    Ok(reply) => {
                        return Err(format!("PUT {path}: HTTP {}: {}", reply.status, error_sample(&reply.body)));
                    }
                    Err(e) => return Err(format!("PUT {path}: {e}")),
                }
            }
        }));
    }
    let mut put = 0;
    for t in tasks {
        put += t.await??;
    }
    if put < plan.objects {
        return Err(format!("put only {put} of {} objects within --prefill-secs", plan.objects).into());
    }
    Ok((put, started.elapsed()))
}

/// Shards of the stream the Kinesis workloads create.
const KINESIS_SHARDS: u32 = 4;
/// Records per PutRecords request (the most Kinesis takes).
const KINESIS_BATCH: usize = 500;
/// `Limit` of every GetRecords request.
const KINESIS_GET_LIMIT: u64 = 1000;

/// Stream names that need no escaping in JSON (Kinesis allows `[a-zA-Z0-9_.-]{1,128}`).
fn check_stream(name: &str) -> Result<(), BoxError> {
    let ok = (1..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok { Ok(()) } else { Err(format!("--stream {name:?}: use 1-128 characters of [a-zA-Z0-9_.-]").into()) }
}

/// Standard base64 with padding, as Kinesis record data travels in JSON.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What the Kinesis workloads send: the stream, one record's data (base64, encoded once) and the
/// open shards that kinesis-get reads.
struct KinesisPlan {
    stream: String,
    data: String,
    shards: Vec<String>,
}

impl KinesisPlan {
    fn new(stream: &str, record_size: usize, shards: Vec<String>) -> Self {
        Self { stream: stream.to_owned(), data: base64(message_body(record_size).as_bytes()), shards }
    }

    /// kinesis-put: PutRecord with partition key `w{worker}-{n}`.
    fn put_body(&self, worker: u32, n: u64) -> Bytes {
        Bytes::from(
            json!({"StreamName": self.stream, "Data": self.data, "PartitionKey": format!("w{worker}-{n}")}).to_string(),
        )
    }

    /// kinesis-put-batch (and the kinesis-get pre-fill): PutRecords of `KINESIS_BATCH` records,
    /// partition keys `w{worker}-{n}-{k}`. Built as text: 500 copies of the data as `Value`s
    /// would cost the client more than the request costs the server.
    fn put_batch_body(&self, worker: u32, n: u64) -> Bytes {
        let mut body = String::with_capacity(64 + KINESIS_BATCH * (self.data.len() + 48));
        body.push_str(&format!("{{\"StreamName\":\"{}\",\"Records\":[", self.stream));
        for k in 0..KINESIS_BATCH {
            if k > 0 {
                body.push(',');
            }
            body.push_str("{\"Data\":\"");
            body.push_str(&self.data);
            body.push_str(&format!("\",\"PartitionKey\":\"w{worker}-{n}-{k}\"}}"));
        }
        body.push_str("]}");
        Bytes::from(body)
    }

    /// kinesis-get: GetShardIterator (TRIM_HORIZON) on `shard`.
    fn iterator_body(&self, shard: &str) -> Bytes {
        Bytes::from(
            json!({"StreamName": self.stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}).to_string(),
        )
    }

    fn get_body(iterator: &str) -> Bytes {
        Bytes::from(json!({"ShardIterator": iterator, "Limit": KINESIS_GET_LIMIT}).to_string())
    }
}

/// Creates stream `name` with `KINESIS_SHARDS` shards unless it exists, waits until it is ACTIVE,
/// and returns the ids of its open shards.
async fn create_stream(conn: &mut Conn, name: &str) -> Result<Vec<String>, BoxError> {
    let create = json!({"StreamName": name, "ShardCount": KINESIS_SHARDS});
    let reply = conn.kinesis("CreateStream", Bytes::from(create.to_string())).await?;
    if !reply.status.is_success() && !String::from_utf8_lossy(&reply.body).contains("ResourceInUseException") {
        return Err(format!("CreateStream {name}: HTTP {}: {}", reply.status, error_sample(&reply.body)).into());
    }
    let stream = Bytes::from(json!({"StreamName": name}).to_string());
    let mut active = false;
    for _ in 0..200 {
        let reply = conn.kinesis("DescribeStreamSummary", stream.clone()).await?;
        if String::from_utf8_lossy(&reply.body).contains("\"ACTIVE\"") {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !active {
        return Err(format!("stream {name} is not ACTIVE after 10 s").into());
    }
    let reply = conn.kinesis("ListShards", stream).await?;
    if !reply.status.is_success() {
        return Err(format!("ListShards {name}: HTTP {}: {}", reply.status, error_sample(&reply.body)).into());
    }
    let v: Value = serde_json::from_slice(&reply.body)?;
    let open: Vec<String> = v
        .get("Shards")
        .and_then(Value::as_array)
        .map(|shards| {
            shards
                .iter()
                .filter(|s| s.pointer("/SequenceNumberRange/EndingSequenceNumber").is_none())
                .filter_map(|s| s.get("ShardId").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if open.is_empty() {
        return Err(format!("stream {name} has no open shard: {}", error_sample(&reply.body)).into());
    }
    Ok(open)
}

/// (successful, failed) record counts of a PutRecords reply.
fn put_records_result(body: &[u8]) -> (u64, u64) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (0, 0);
    };
    let total = v.get("Records").and_then(Value::as_array).map_or(0, |a| a.len() as u64);
    let failed = v.get("FailedRecordCount").and_then(Value::as_u64).unwrap_or(0);
    (total.saturating_sub(failed), failed)
}

/// The value of the first `"key": "..."` member of JSON text (whitespace allowed around the colon).
fn json_string(text: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let at = text.find(&quoted)? + quoted.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    if !rest.starts_with('"') {
        return None;
    }
    let mut escaped = false;
    let end = rest.char_indices().skip(1).find_map(|(i, c)| {
        let close = c == '"' && !escaped;
        escaped = c == '\\' && !escaped;
        close.then_some(i)
    })?;
    serde_json::from_str(&rest[..=end]).ok()
}

/// Records and `NextShardIterator` of a GetRecords reply. A reply of 1,000 records of 1 KiB is
/// about 1.4 MB: the records are counted by their `"SequenceNumber"` keys (data is base64, the
/// partition keys are ours) instead of parsing the whole reply into `Value`s.
fn get_records_result(body: &[u8]) -> (u64, Option<String>) {
    let text = String::from_utf8_lossy(body);
    let records = text.matches("\"SequenceNumber\"").count() as u64;
    (records, json_string(&text, "NextShardIterator"))
}

/// Puts `wanted` records (rounded up to whole PutRecords of `KINESIS_BATCH`) in the stream over
/// `connections` connections, within `budget`. Returns the records put, the requests sent and the
/// time taken.
async fn put_records(
    target: Arc<Target>,
    plan: Arc<KinesisPlan>,
    connections: u32,
    wanted: u64,
    budget: Duration,
) -> Result<(u64, u64, Duration), BoxError> {
    let started = Instant::now();
    let deadline = started + budget;
    let claimed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for id in 0..connections {
        let (target, plan, claimed) = (Arc::clone(&target), Arc::clone(&plan), Arc::clone(&claimed));
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(target);
            let (mut put, mut n) = (0u64, 0u64);
            while Instant::now() < deadline && claimed.fetch_add(KINESIS_BATCH as u64, Ordering::Relaxed) < wanted {
                let reply = conn.kinesis("PutRecords", plan.put_batch_body(id, n)).await;
                n += 1;
                match reply {
                    Ok(reply) if reply.status.is_success() => put += put_records_result(&reply.body).0,
                    Ok(reply) => {
                        return Err(format!("PutRecords: HTTP {}: {}", reply.status, error_sample(&reply.body)));
                    }
                    Err(e) => return Err(format!("PutRecords: {e}")),
                }
            }
            Ok::<(u64, u64), String>((put, n))
        }));
    }
    let (mut put, mut requests) = (0, 0);
    for t in tasks {
        let (p, n) = t.await??;
        put += p;
        requests += n;
    }
    if put == 0 && wanted > 0 {
        return Err("pre-fill put no record".into());
    }
    Ok((put, requests, started.elapsed()))
}

/// Request bodies that never change during a run.
struct Bodies {
    send: Bytes,
    send_batch: Bytes,
    receive: Bytes,
}

impl Bodies {
    fn new(queue_url: &str, body_size: usize) -> Result<Self, BoxError> {
        let msg = message_body(body_size);
        let entries: Vec<Value> = (0..10).map(|i| json!({ "Id": format!("m{i}"), "MessageBody": msg })).collect();
        Ok(Self {
            send: serde_json::to_vec(&json!({ "QueueUrl": queue_url, "MessageBody": msg }))?.into(),
            send_batch: serde_json::to_vec(&json!({ "QueueUrl": queue_url, "Entries": entries }))?.into(),
            receive: serde_json::to_vec(&json!({
                "QueueUrl": queue_url,
                "MaxNumberOfMessages": 10,
                "VisibilityTimeout": 120,
                "WaitTimeSeconds": 0,
            }))?
            .into(),
        })
    }
}

struct Shared {
    queue_url: String,
    bodies: Bodies,
    /// lambda-invoke: where requests go, and the payload.
    invoke: Option<(InvokePath, Bytes)>,
    /// s3-put / s3-get: bucket, payload and keys.
    s3: Option<Arc<S3Plan>>,
    /// sns-publish: the Publish request body.
    publish: Option<Bytes>,
    /// kinesis-*: stream, record data and shards.
    kinesis: Option<Arc<KinesisPlan>>,
    /// http: the request every worker sends.
    http: Option<Arc<client::PlainRequest>>,
    workload: Workload,
    measure_start: Instant,
    deadline: Instant,
    issued: AtomicU64,
    max_requests: u64,
    stop: AtomicBool,
}

impl Shared {
    /// Takes one request slot; false once the run is over.
    fn admit(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            return false;
        }
        self.issued.fetch_add(1, Ordering::Relaxed) < self.max_requests
    }
}

#[derive(Default)]
struct Stats {
    ok: u64,
    /// Successful requests including the warm-up's (what a server should
    /// have stored or forwarded).
    ok_all: u64,
    errors: u64,
    /// Messages sent (send workloads) or received-and-deleted (receive-delete);
    /// objects put or got (S3); records put or got (Kinesis).
    messages: u64,
    /// S3: object bytes put or got.
    bytes: u64,
    /// Batch entries reported in `Failed` (records counted in `FailedRecordCount` for Kinesis).
    failed_entries: u64,
    /// ReceiveMessage with no message; GetRecords with no record (kinesis-get).
    empty_receives: u64,
    connects: u64,
    drained: bool,
    latency: Histogram,
    /// lambda-invoke: the function's own time (`fn_ns` in its reply) and the
    /// latency minus it, per request.
    function: Histogram,
    overhead: Histogram,
    first_error: Option<String>,
    end: Option<Instant>,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.ok += o.ok;
        self.ok_all += o.ok_all;
        self.errors += o.errors;
        self.messages += o.messages;
        self.bytes += o.bytes;
        self.failed_entries += o.failed_entries;
        self.empty_receives += o.empty_receives;
        self.connects += o.connects;
        self.drained |= o.drained;
        self.latency.merge(&o.latency);
        self.function.merge(&o.function);
        self.overhead.merge(&o.overhead);
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.end = match (self.end, o.end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn note_error(&mut self, counted: bool, msg: impl FnOnce() -> String) {
        if counted {
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(msg());
        }
    }
}

struct Worker {
    /// 0-based worker number (S3 keys, Kinesis partition keys and shard).
    id: u32,
    /// Requests of this worker so far (S3 keys, Kinesis partition keys).
    seq: u64,
    /// kinesis-get: where this worker's next GetRecords reads (None: take a TRIM_HORIZON iterator).
    iterator: Option<String>,
    conn: Conn,
    shared: Arc<Shared>,
    stats: Stats,
}

impl Worker {
    /// Sends one SQS request; see `finish`.
    async fn request(&mut self, action: &str, body: Bytes) -> Option<Bytes> {
        let t0 = Instant::now();
        let result = self.conn.call(action, body).await;
        self.finish(action, t0, result).await
    }

    /// Records the outcome of a request sent at `t0`: latency and success if
    /// it was sent inside the measured window, the first error in any case.
    /// Returns the body of a 2xx reply.
    async fn finish(&mut self, action: &str, t0: Instant, result: Result<client::Reply, BoxError>) -> Option<Bytes> {
        let measured = t0 >= self.shared.measure_start;
        match result {
            Ok(reply) if reply.status.is_success() => {
                self.stats.ok_all += 1;
                if measured {
                    let ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    self.stats.latency.record(ns);
                    self.stats.ok += 1;
                }
                Some(reply.body)
            }
            Ok(reply) => {
                self.stats
                    .note_error(measured, || format!("{action}: HTTP {}: {}", reply.status, error_sample(&reply.body)));
                None
            }
            Err(e) => {
                self.stats.note_error(measured, || format!("{action}: {e}"));
                // Back off a little so a dead server does not spin the CPU.
                tokio::time::sleep(Duration::from_millis(20)).await;
                None
            }
        }
    }

    /// One request of an S3 or SNS workload.
    async fn push_request(&mut self, shared: &Shared) {
        match (shared.workload, shared.s3.as_deref(), shared.publish.as_ref()) {
            (Workload::S3Put, Some(plan), _) => self.s3_put(plan).await,
            (Workload::S3Get, Some(plan), _) => self.s3_get(plan).await,
            (Workload::SnsPublish, _, Some(body)) => self.publish(body.clone()).await,
            _ => {
                self.stats.note_error(true, || "internal: workload without its setup".into());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// One synchronous Invoke; a reply with `X-Amz-Function-Error` is an error.
    async fn invoke(&mut self) {
        let Some((path, payload)) = self.shared.invoke.as_ref() else {
            self.stats.note_error(true, || "internal: no invoke target".into());
            return;
        };
        let payload = payload.clone();
        let t0 = Instant::now();
        let result = self.conn.invoke(path, payload).await;
        let ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let measured = t0 >= self.shared.measure_start;
        match result {
            Ok(reply) if reply.status.is_success() && !reply.function_error => {
                self.stats.ok_all += 1;
                if measured {
                    self.stats.latency.record(ns);
                    self.stats.ok += 1;
                    self.stats.messages += 1;
                    if let Some(fn_ns) = reported_fn_ns(&reply.body) {
                        self.stats.function.record(fn_ns);
                        self.stats.overhead.record(ns.saturating_sub(fn_ns));
                    }
                }
            }
            Ok(reply) => {
                let what = if reply.function_error { " (function error)" } else { "" };
                self.stats.note_error(measured, || {
                    format!("Invoke: HTTP {}{what}: {}", reply.status, error_sample(&reply.body))
                });
            }
            Err(e) => {
                self.stats.note_error(measured, || format!("Invoke: {e}"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// http: one unsigned request; any 2xx counts.
    async fn http(&mut self) {
        let Some(plan) = self.shared.http.clone() else {
            self.stats.note_error(true, || "internal: no http request".into());
            return;
        };
        let t0 = Instant::now();
        let result = self.conn.plain(&plan).await;
        if self.finish("HTTP request", t0, result).await.is_some() {
            self.count_messages(1);
        }
    }

    fn count_messages(&mut self, n: u64) {
        if Instant::now() >= self.shared.measure_start {
            self.stats.messages += n;
        }
    }

    /// PutObject of the payload under this worker's next key.
    async fn s3_put(&mut self, plan: &S3Plan) {
        let path = plan.put_path(self.id, self.seq);
        self.seq += 1;
        let t0 = Instant::now();
        let result = self.conn.s3(Method::PUT, &path, plan.payload.clone(), Some(&plan.payload_sha256)).await;
        if self.finish("PutObject", t0, result).await.is_some() && t0 >= self.shared.measure_start {
            self.stats.messages += 1;
            self.stats.bytes += plan.payload.len() as u64;
        }
    }

    /// GetObject of the next object (round-robin over all workers); a body
    /// of the wrong length is an error.
    async fn s3_get(&mut self, plan: &S3Plan) {
        let i = plan.next_get.fetch_add(1, Ordering::Relaxed) % plan.objects;
        let path = plan.get_path(i);
        let want = plan.payload.len();
        let t0 = Instant::now();
        let result = self.conn.s3(Method::GET, &path, Bytes::new(), None).await.and_then(|reply| {
            if reply.status.is_success() && reply.body.len() != want {
                Err(format!("GET {path}: {} bytes, expected {want}", reply.body.len()).into())
            } else {
                Ok(reply)
            }
        });
        if let Some(body) = self.finish("GetObject", t0, result).await
            && t0 >= self.shared.measure_start
        {
            self.stats.messages += 1;
            self.stats.bytes += body.len() as u64;
        }
    }

    /// SNS Publish (query protocol).
    async fn publish(&mut self, body: Bytes) {
        let t0 = Instant::now();
        let result = self.conn.query("sns", body).await;
        if self.finish("Publish", t0, result).await.is_some() && t0 >= self.shared.measure_start {
            self.stats.messages += 1;
        }
    }

    /// One DynamoDB request of the workload (keys unique per worker and request for writes).
    async fn dynamodb(&mut self, workload: Workload) {
        let (op, body, items) = match workload {
            Workload::DdbPut => ("PutItem", ddb_put_body(self.id, self.seq), 1),
            Workload::DdbGet => ("GetItem", ddb_get_body(self.seq % 100), 1),
            Workload::DdbQuery => ("Query", ddb_query_body(), 1),
            _ => ("BatchWriteItem", ddb_batch_body(self.id, self.seq), 25),
        };
        self.seq += 1;
        let t0 = Instant::now();
        let result = self.conn.dynamodb(op, body).await;
        if self.finish(op, t0, result).await.is_some() && t0 >= self.shared.measure_start {
            self.stats.messages += items;
        }
    }

    /// One request of a Kinesis workload.
    async fn kinesis(&mut self, shared: &Shared) {
        let Some(plan) = shared.kinesis.as_deref() else {
            self.stats.note_error(true, || "internal: workload without its setup".into());
            tokio::time::sleep(Duration::from_millis(20)).await;
            return;
        };
        match shared.workload {
            Workload::KinesisPut => {
                let body = plan.put_body(self.id, self.seq);
                self.seq += 1;
                let t0 = Instant::now();
                let result = self.conn.kinesis("PutRecord", body).await;
                if self.finish("PutRecord", t0, result).await.is_some() && t0 >= shared.measure_start {
                    self.stats.messages += 1;
                }
            }
            Workload::KinesisPutBatch => {
                let body = plan.put_batch_body(self.id, self.seq);
                self.seq += 1;
                let t0 = Instant::now();
                let result = self.conn.kinesis("PutRecords", body).await;
                if let Some(reply) = self.finish("PutRecords", t0, result).await
                    && t0 >= shared.measure_start
                {
                    let (ok, failed) = put_records_result(&reply);
                    self.stats.messages += ok;
                    self.stats.failed_entries += failed;
                }
            }
            _ => self.kinesis_get(plan, shared.measure_start).await,
        }
    }

    /// kinesis-get: GetShardIterator (TRIM_HORIZON) on this worker's shard when it has no
    /// iterator, else GetRecords; a reply with fewer than `KINESIS_GET_LIMIT` records is the
    /// shard's tip, and the next request starts over from TRIM_HORIZON.
    async fn kinesis_get(&mut self, plan: &KinesisPlan, measure_start: Instant) {
        let Some(iterator) = self.iterator.take() else {
            let shard = &plan.shards[self.id as usize % plan.shards.len()];
            let t0 = Instant::now();
            let result = self.conn.kinesis("GetShardIterator", plan.iterator_body(shard)).await;
            if let Some(body) = self.finish("GetShardIterator", t0, result).await {
                self.iterator = json_string(&String::from_utf8_lossy(&body), "ShardIterator");
                if self.iterator.is_none() {
                    self.stats.note_error(t0 >= measure_start, || {
                        format!("GetShardIterator reply has no ShardIterator: {}", error_sample(&body))
                    });
                }
            }
            return;
        };
        let t0 = Instant::now();
        let result = self.conn.kinesis("GetRecords", KinesisPlan::get_body(&iterator)).await;
        if let Some(body) = self.finish("GetRecords", t0, result).await {
            let (records, next) = get_records_result(&body);
            if t0 >= measure_start {
                self.stats.messages += records;
                if records == 0 {
                    self.stats.empty_receives += 1;
                }
            }
            if records >= KINESIS_GET_LIMIT {
                self.iterator = next;
            }
        }
    }

    async fn run(mut self) -> Stats {
        let shared = Arc::clone(&self.shared);
        let mut consecutive_empty = 0u32;
        while shared.admit() {
            match shared.workload {
                Workload::LambdaInvoke => self.invoke().await,
                Workload::Http => self.http().await,
                Workload::S3Put | Workload::S3Get | Workload::SnsPublish => self.push_request(&shared).await,
                Workload::DdbPut | Workload::DdbGet | Workload::DdbQuery | Workload::DdbBatchWrite => {
                    self.dynamodb(shared.workload).await
                }
                Workload::KinesisPut | Workload::KinesisPutBatch | Workload::KinesisGet => self.kinesis(&shared).await,
                Workload::Send => {
                    if self.request("SendMessage", shared.bodies.send.clone()).await.is_some() {
                        self.count_messages(1);
                    }
                }
                Workload::SendBatch => {
                    if let Some(body) = self.request("SendMessageBatch", shared.bodies.send_batch.clone()).await {
                        let (ok, failed) = batch_result(&body);
                        self.count_messages(ok);
                        self.stats.failed_entries += failed;
                    }
                }
                Workload::ReceiveDelete => {
                    let Some(body) = self.request("ReceiveMessage", shared.bodies.receive.clone()).await else {
                        continue;
                    };
                    let handles = receipt_handles(&body);
                    if handles.is_empty() {
                        self.stats.empty_receives += 1;
                        consecutive_empty += 1;
                        if consecutive_empty >= 3 {
                            // The queue is drained: end the run for everyone.
                            self.stats.drained = true;
                            shared.stop.store(true, Ordering::Relaxed);
                            break;
                        }
                        continue;
                    }
                    consecutive_empty = 0;
                    let entries: Vec<Value> = handles
                        .iter()
                        .enumerate()
                        .map(|(i, h)| json!({ "Id": format!("d{i}"), "ReceiptHandle": h }))
                        .collect();
                    let delete = match serde_json::to_vec(&json!({ "QueueUrl": shared.queue_url, "Entries": entries }))
                    {
                        Ok(v) => Bytes::from(v),
                        Err(e) => {
                            self.stats.note_error(true, || format!("encode delete: {e}"));
                            continue;
                        }
                    };
                    // The delete belongs to the receive just done: it is sent
                    // even if the deadline passed meanwhile (one per worker).
                    shared.issued.fetch_add(1, Ordering::Relaxed);
                    if let Some(body) = self.request("DeleteMessageBatch", delete).await {
                        let (ok, failed) = batch_result(&body);
                        self.count_messages(ok);
                        self.stats.failed_entries += failed;
                    }
                }
            }
        }
        self.stats.end = Some(Instant::now());
        self.stats.connects = self.conn.connects;
        self.stats
    }
}

fn ddb_item(pk: &str, sk: u64) -> Value {
    json!({"pk": {"S": pk}, "sk": {"N": sk.to_string()}, "v": {"S": "x".repeat(180)}})
}

fn ddb_put_body(worker: u32, n: u64) -> Bytes {
    Bytes::from(json!({"TableName": "loadgen", "Item": ddb_item(&format!("w{worker}"), n)}).to_string())
}

fn ddb_get_body(n: u64) -> Bytes {
    Bytes::from(json!({"TableName": "loadgen", "Key": {"pk": {"S": "hot"}, "sk": {"N": n.to_string()}}}).to_string())
}

fn ddb_query_body() -> Bytes {
    Bytes::from(
        json!({"TableName": "loadgen", "KeyConditionExpression": "pk = :p",
               "ExpressionAttributeValues": {":p": {"S": "hot"}}})
        .to_string(),
    )
}

fn ddb_batch_body(worker: u32, n: u64) -> Bytes {
    let puts: Vec<Value> =
        (0..25).map(|k| json!({"PutRequest": {"Item": ddb_item(&format!("b{worker}"), n * 25 + k)}})).collect();
    Bytes::from(json!({"RequestItems": {"loadgen": puts}}).to_string())
}

/// Creates table `loadgen` (pk S, sk N; on demand) unless it exists, waits until it is active,
/// and stores the 100 items of partition `hot` that GetItem and Query read.
async fn create_table(conn: &mut Conn) -> Result<(), BoxError> {
    let create = json!({"TableName": "loadgen", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]});
    let reply = conn.dynamodb("CreateTable", Bytes::from(create.to_string())).await?;
    if !reply.status.is_success() && !String::from_utf8_lossy(&reply.body).contains("ResourceInUseException") {
        return Err(format!("CreateTable: HTTP {}: {}", reply.status, error_sample(&reply.body)).into());
    }
    let describe = Bytes::from(json!({"TableName": "loadgen"}).to_string());
    for _ in 0..200 {
        let reply = conn.dynamodb("DescribeTable", describe.clone()).await?;
        if String::from_utf8_lossy(&reply.body).contains("\"ACTIVE\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for chunk in 0..4u64 {
        let puts: Vec<Value> =
            (0..25).map(|k| json!({"PutRequest": {"Item": ddb_item("hot", chunk * 25 + k)}})).collect();
        let reply = conn
            .dynamodb("BatchWriteItem", Bytes::from(json!({"RequestItems": {"loadgen": puts}}).to_string()))
            .await?;
        if !reply.status.is_success() {
            return Err(format!("BatchWriteItem: HTTP {}: {}", reply.status, error_sample(&reply.body)).into());
        }
    }
    Ok(())
}

/// `fn_ns` of a function's JSON reply: the nanoseconds it says it spent.
fn reported_fn_ns(body: &[u8]) -> Option<u64> {
    if !body.starts_with(b"{") {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let n = v.get("fn_ns")?;
    n.as_u64().or_else(|| n.as_f64().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f as u64))
}

/// (successful, failed) entry counts of a *Batch reply.
fn batch_result(body: &[u8]) -> (u64, u64) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (0, 0);
    };
    let len = |key: &str| v.get(key).and_then(Value::as_array).map_or(0, |a| a.len() as u64);
    (len("Successful"), len("Failed"))
}

fn receipt_handles(body: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    v.get("Messages")
        .and_then(Value::as_array)
        .map(|msgs| {
            msgs.iter().filter_map(|m| m.get("ReceiptHandle").and_then(Value::as_str)).map(str::to_owned).collect()
        })
        .unwrap_or_default()
}

/// Fills the queue with `target` messages (SendMessageBatch over all
/// connections) or until `budget` runs out. Returns the number sent.
async fn prefill(
    target: Arc<Target>,
    shared: Arc<Shared>,
    connections: u32,
    wanted: u64,
    budget: Duration,
) -> Result<(u64, Duration), BoxError> {
    let started = Instant::now();
    let deadline = started + budget;
    let sent = Arc::new(AtomicU64::new(0));
    let claimed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let target = Arc::clone(&target);
        let shared = Arc::clone(&shared);
        let sent = Arc::clone(&sent);
        let claimed = Arc::clone(&claimed);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(target);
            let mut first_error: Option<String> = None;
            while Instant::now() < deadline
                && claimed.fetch_add(10, Ordering::Relaxed) < wanted
                && shared.issued.fetch_add(1, Ordering::Relaxed) < shared.max_requests
            {
                match conn.call("SendMessageBatch", shared.bodies.send_batch.clone()).await {
                    Ok(reply) if reply.status.is_success() => {
                        sent.fetch_add(batch_result(&reply.body).0, Ordering::Relaxed);
                    }
                    Ok(reply) => {
                        claimed.fetch_sub(10, Ordering::Relaxed);
                        first_error
                            .get_or_insert_with(|| format!("HTTP {}: {}", reply.status, error_sample(&reply.body)));
                    }
                    Err(e) => {
                        claimed.fetch_sub(10, Ordering::Relaxed);
                        first_error.get_or_insert_with(|| e.to_string());
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            first_error
        }));
    }
    let mut first_error = None;
    for t in tasks {
        if let Some(e) = t.await? {
            first_error.get_or_insert(e);
        }
    }
    let n = sent.load(Ordering::Relaxed);
    if n == 0 {
        return Err(
            format!("pre-fill sent no message: {}", first_error.unwrap_or_else(|| "no request made".into())).into()
        );
    }
    Ok((n, started.elapsed()))
}

struct Report {
    workload: Workload,
    /// The queue, function, bucket or topic ARN the run targeted.
    queue: String,
    connections: u32,
    elapsed: Duration,
    ok: u64,
    ok_all: u64,
    errors: u64,
    messages: u64,
    bytes: u64,
    failed_entries: u64,
    empty_receives: u64,
    connects: u64,
    drained: bool,
    prefilled: Option<(u64, Duration)>,
    latency: Histogram,
    function: Histogram,
    overhead: Histogram,
    first_error: Option<String>,
}

fn quantiles_json(h: &Histogram) -> Value {
    json!({
        "p50": round3(ms(h.quantile(0.50))),
        "p90": round3(ms(h.quantile(0.90))),
        "p99": round3(ms(h.quantile(0.99))),
        "max": round3(ms(h.max())),
        "mean": round3(h.mean() / 1e6),
    })
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Report {
    fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }
    fn ops_per_s(&self) -> f64 {
        self.ok as f64 / self.secs()
    }
    fn msgs_per_s(&self) -> f64 {
        self.messages as f64 / self.secs()
    }
    /// Megabytes (10^6 bytes) of object data per second.
    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.secs()
    }

    fn to_json(&self, args: &Args, threads: usize) -> Value {
        let h = &self.latency;
        let mut v = json!({
            "tool": "stratus-loadgen",
            "endpoint": args.endpoint,
            "workload": self.workload.name(),
            "queue": self.queue,
            "connections": self.connections,
            "threads": threads,
            "body_size": args.body_size,
            "duration_s": round3(self.secs()),
            "requests_ok": self.ok,
            "requests_ok_all": self.ok_all,
            "errors": self.errors,
            "messages": self.messages,
            "failed_entries": self.failed_entries,
            "empty_receives": self.empty_receives,
            "connects": self.connects,
            "drained": self.drained,
            "prefilled": self.prefilled.map(|(n, _)| n),
            "prefill_s": self.prefilled.map(|(_, d)| round3(d.as_secs_f64())),
            "ops_per_s": round3(self.ops_per_s()),
            "msgs_per_s": round3(self.msgs_per_s()),
            "latency_ms": {
                "p50": round3(ms(h.quantile(0.50))),
                "p90": round3(ms(h.quantile(0.90))),
                "p99": round3(ms(h.quantile(0.99))),
                "max": round3(ms(h.max())),
                "mean": round3(h.mean() / 1e6),
            },
            "first_error": self.first_error,
        });
        if let Some(o) = v.as_object_mut() {
            match self.workload {
                Workload::S3Put | Workload::S3Get => {
                    o.remove("queue");
                    o.insert("bucket".into(), json!(self.queue));
                    o.insert("object_size".into(), json!(args.object_size));
                    o.insert("bytes".into(), json!(self.bytes));
                    o.insert("mb_per_s".into(), json!(round3(self.mb_per_s())));
                    if self.workload == Workload::S3Get {
                        o.insert("objects".into(), json!(args.objects));
                    }
                }
                Workload::SnsPublish => {
                    o.remove("queue");
                    o.insert("topic_arn".into(), json!(self.queue));
                }
                Workload::KinesisPut | Workload::KinesisPutBatch | Workload::KinesisGet => {
                    o.remove("queue");
                    o.insert("stream".into(), json!(self.queue));
                    o.insert("record_size".into(), json!(args.record_size));
                    o.insert("records_per_s".into(), json!(round3(self.msgs_per_s())));
                }
                _ => {}
            }
        }
        if self.workload == Workload::LambdaInvoke
            && let Some(o) = v.as_object_mut()
        {
            o.insert("function".into(), json!(args.function));
            o.insert("reported".into(), json!(self.function.total()));
            if self.function.total() > 0 {
                o.insert("function_ms".into(), quantiles_json(&self.function));
                o.insert("overhead_ms".into(), quantiles_json(&self.overhead));
            }
        }
        v
    }

    fn to_text(&self, args: &Args, threads: usize) -> String {
        let h = &self.latency;
        let mut s = String::new();
        let unit = self.workload.unit();
        s.push_str(&format!(
            "stratus-loadgen  workload={}  endpoint={}  target={}  connections={}  threads={}  {}\n",
            self.workload.name(),
            args.endpoint,
            self.queue,
            self.connections,
            threads,
            if self.workload.is_s3() {
                format!("object={}B", args.object_size)
            } else if self.workload.is_kinesis() {
                format!("record={}B", args.record_size)
            } else {
                format!("body={}B", args.body_size)
            }
        ));
        if let Some((n, d)) = self.prefilled {
            s.push_str(&format!(
                "  pre-filled   {n} {unit} in {:.2}s ({:.0}/s)\n",
                d.as_secs_f64(),
                n as f64 / d.as_secs_f64().max(1e-9)
            ));
        }
        s.push_str(&format!(
            "  duration     {:.2}s{}\n",
            self.secs(),
            if self.drained { "  (queue drained: stopped early)" } else { "" }
        ));
        s.push_str(&format!(
            "  requests     {} ok ({} with warm-up), {} errors, {} connects\n",
            self.ok, self.ok_all, self.errors, self.connects
        ));
        s.push_str(&format!("  ops/s        {:.1}\n", self.ops_per_s()));
        s.push_str(&format!(
            "  {:<12} {:.1}  ({} {unit}{}{})\n",
            format!("{unit}/s"),
            self.msgs_per_s(),
            self.messages,
            if self.failed_entries > 0 {
                format!(", {} failed batch entries", self.failed_entries)
            } else {
                String::new()
            },
            if self.empty_receives > 0 { format!(", {} empty receives", self.empty_receives) } else { String::new() },
        ));
        if self.workload.is_s3() {
            s.push_str(&format!("  MB/s         {:.2}  ({} bytes)\n", self.mb_per_s(), self.bytes));
        }
        s.push_str(&format!(
            "  latency ms   p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}\n",
            ms(h.quantile(0.50)),
            ms(h.quantile(0.90)),
            ms(h.quantile(0.99)),
            ms(h.max()),
            h.mean() / 1e6
        ));
        for (label, h) in [("function ms ", &self.function), ("overhead ms ", &self.overhead)] {
            if h.total() > 0 {
                s.push_str(&format!(
                    "  {label} p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}  (fn_ns in {} replies)\n",
                    ms(h.quantile(0.50)),
                    ms(h.quantile(0.90)),
                    ms(h.quantile(0.99)),
                    ms(h.max()),
                    h.mean() / 1e6,
                    h.total()
                ));
            }
        }
        if let Some(e) = &self.first_error {
            s.push_str(&format!("  first error  {e}\n"));
        }
        s
    }
}

async fn run(args: &Args) -> Result<Report, BoxError> {
    let duration = secs(args.duration, "duration", 3600.0)?;
    let warmup = secs(args.warmup, "warmup", 3600.0)?;
    let prefill_budget = secs(args.prefill_secs, "prefill-secs", 3600.0)?;
    if duration.is_zero() {
        return Err("--duration must be > 0".into());
    }
    let target = Arc::new(resolve_target(args).await?);
    let mut setup = Conn::new(Arc::clone(&target));
    let (mut invoke, mut s3, mut publish, mut kinesis, mut http) = (None, None, None, None, None);
    let (queue, queue_url) = match args.workload {
        Workload::LambdaInvoke => {
            let function = args.function.clone().ok_or("--workload lambda-invoke needs --function NAME")?;
            serde_json::from_str::<Value>(&args.payload).map_err(|e| format!("--payload is not JSON: {e}"))?;
            invoke = Some((InvokePath::new(&target, &function)?, Bytes::from(args.payload.clone())));
            (function, String::new())
        }
        Workload::Http => {
            let host =
                args.http_host.clone().unwrap_or_else(|| target.authority.to_str().unwrap_or_default().to_string());
            let plan = client::PlainRequest::new(&args.http_method, &args.http_path, &host, args.http_body.clone())?;
            http = Some(Arc::new(plan));
            (args.http_path.clone(), String::new())
        }
        Workload::S3Put | Workload::S3Get => {
            check_bucket(&args.bucket)?;
            create_bucket(&mut setup, &args.bucket).await?;
            s3 = Some(Arc::new(S3Plan::new(&args.bucket, args.object_size as usize, args.objects)?));
            (args.bucket.clone(), String::new())
        }
        Workload::SnsPublish => {
            let arn = match &args.topic_arn {
                Some(arn) => arn.clone(),
                None => create_topic(&mut setup, "loadgen-sns-publish").await?,
            };
            let message = message_body(args.body_size as usize);
            publish = Some(query_body("Publish", SNS_VERSION, &[("TopicArn", &arn), ("Message", &message)]));
            (arn, String::new())
        }
        Workload::DdbPut | Workload::DdbGet | Workload::DdbQuery | Workload::DdbBatchWrite => {
            create_table(&mut setup).await?;
            ("loadgen".to_string(), String::new())
        }
        Workload::KinesisPut | Workload::KinesisPutBatch | Workload::KinesisGet => {
            check_stream(&args.stream)?;
            let shards = create_stream(&mut setup, &args.stream).await?;
            kinesis = Some(Arc::new(KinesisPlan::new(&args.stream, args.record_size as usize, shards)));
            (args.stream.clone(), String::new())
        }
        Workload::Send | Workload::SendBatch | Workload::ReceiveDelete => {
            let queue = args.queue.clone().unwrap_or_else(|| format!("loadgen-{}", args.workload.name()));
            let queue_url = create_queue(&mut setup, &queue).await?;
            (queue, queue_url)
        }
    };
    drop(setup);
    let bodies = Bodies::new(&queue_url, args.body_size as usize)?;

    let make_shared = |bodies: Bodies, invoke: Option<(InvokePath, Bytes)>, measure_start: Instant| {
        Arc::new(Shared {
            queue_url: queue_url.clone(),
            bodies,
            invoke,
            s3: s3.clone(),
            publish: publish.clone(),
            kinesis: kinesis.clone(),
            http: http.clone(),
            workload: args.workload,
            measure_start,
            deadline: measure_start + duration,
            issued: AtomicU64::new(0),
            max_requests: args.max_requests,
            stop: AtomicBool::new(false),
        })
    };

    let mut prefilled = None;
    let mut bodies = Some(bodies);
    if args.workload == Workload::ReceiveDelete && args.prefill > 0 {
        let b = bodies.take().ok_or("internal: bodies missing")?;
        let shared = make_shared(b, None, Instant::now());
        let result =
            prefill(Arc::clone(&target), Arc::clone(&shared), args.connections, args.prefill, prefill_budget).await?;
        prefilled = Some(result);
        // Only this function holds the Arc once the pre-fill tasks are done.
        let shared = Arc::try_unwrap(shared).map_err(|_| "internal: pre-fill still running")?;
        bodies = Some(shared.bodies);
    }
    let bodies = bodies.ok_or("internal: bodies missing")?;
    let mut setup_requests = 0;
    if let (Workload::S3Get, Some(plan)) = (args.workload, &s3) {
        let (n, d) = put_objects(Arc::clone(&target), Arc::clone(plan), args.connections, prefill_budget).await?;
        prefilled = Some((n, d));
        setup_requests = n;
    }
    if let (Workload::KinesisGet, Some(plan)) = (args.workload, &kinesis)
        && args.prefill > 0
    {
        let (n, requests, d) =
            put_records(Arc::clone(&target), Arc::clone(plan), args.connections, args.prefill, prefill_budget).await?;
        prefilled = Some((n, d));
        setup_requests = requests;
    }

    let measure_start = Instant::now() + warmup;
    let shared = make_shared(bodies, invoke.take(), measure_start);
    // The cap covers the s3-get uploads and the kinesis-get pre-fill too.
    shared.issued.fetch_add(setup_requests, Ordering::Relaxed);
    let mut tasks = Vec::with_capacity(args.connections as usize);
    for id in 0..args.connections {
        let worker = Worker {
            id,
            seq: 0,
            iterator: None,
            conn: Conn::new(Arc::clone(&target)),
            shared: Arc::clone(&shared),
            stats: Stats::default(),
        };
        tasks.push(tokio::spawn(worker.run()));
    }
    let mut total = Stats::default();
    for t in tasks {
        total.merge(t.await?);
    }
    let end = total.end.unwrap_or_else(Instant::now).max(measure_start);
    Ok(Report {
        workload: args.workload,
        queue,
        connections: args.connections,
        elapsed: end.duration_since(measure_start),
        ok: total.ok,
        ok_all: total.ok_all,
        errors: total.errors,
        messages: total.messages,
        bytes: total.bytes,
        failed_entries: total.failed_entries,
        empty_receives: total.empty_receives,
        connects: total.connects,
        drained: total.drained,
        prefilled,
        latency: total.latency,
        function: total.function,
        overhead: total.overhead,
        first_error: total.first_error,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert!(is_loopback("127.0.0.1".parse().unwrap()));
        assert!(is_loopback("127.3.2.1".parse().unwrap()));
        assert!(is_loopback("::1".parse().unwrap()));
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback("10.0.0.1".parse().unwrap()));
        assert!(!is_loopback("192.168.1.1".parse().unwrap()));
        assert!(!is_loopback("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn parses_batch_and_receive_replies() {
        let b = br#"{"Successful":[{"Id":"a"},{"Id":"b"}],"Failed":[{"Id":"c"}]}"#;
        assert_eq!(batch_result(b), (2, 1));
        assert_eq!(batch_result(b"{}"), (0, 0));
        assert_eq!(batch_result(b"not json"), (0, 0));
        let r = br#"{"Messages":[{"ReceiptHandle":"h1","Body":"x"},{"ReceiptHandle":"h2"}]}"#;
        assert_eq!(receipt_handles(r), vec!["h1".to_string(), "h2".to_string()]);
        assert!(receipt_handles(b"{}").is_empty());
        assert_eq!(reported_fn_ns(br#"{"fn_ns":1234,"x":1}"#), Some(1234));
        assert_eq!(reported_fn_ns(br#"{"fn_ns":12.7}"#), Some(12));
        assert_eq!(reported_fn_ns(br#"{"other":1}"#), None);
        assert_eq!(reported_fn_ns(b"null"), None);
    }

    #[test]
    fn query_and_s3_helpers() {
        assert_eq!(form_encode("arn:aws:sns:us-east-1:1:t-1_a.b~"), "arn%3Aaws%3Asns%3Aus-east-1%3A1%3At-1_a.b~");
        assert_eq!(form_encode("a b/c"), "a%20b%2Fc");
        let body = query_body("Publish", SNS_VERSION, &[("TopicArn", "arn:x"), ("Message", "hi")]);
        assert_eq!(&body[..], b"Action=Publish&Version=2010-03-31&TopicArn=arn%3Ax&Message=hi");
        let reply = "<CreateTopicResponse><CreateTopicResult><TopicArn> arn:aws:sns:r:1:t </TopicArn>";
        assert_eq!(xml_text(reply, "TopicArn"), Some("arn:aws:sns:r:1:t"));
        assert_eq!(xml_text("<TopicArn>unterminated", "TopicArn"), None);
        assert_eq!(xml_text(reply, "Missing"), None);
        assert!(check_bucket("stratus-loadgen").is_ok());
        assert!(check_bucket("a.b-c1").is_ok());
        assert!(check_bucket("ab").is_err());
        assert!(check_bucket("Upper").is_err());
        assert!(check_bucket("a/b").is_err());
        let plan = S3Plan::new("bkt", 3, 5).unwrap();
        assert_eq!(plan.put_path(2, 7), "/bkt/loadgen/2/7");
        assert_eq!(plan.get_path(4), "/bkt/loadgen/get/4");
        assert_eq!(
            plan.payload_sha256.to_str().unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn kinesis_helpers() {
        for (raw, b64) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(base64(raw.as_bytes()), b64);
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
        assert!(check_stream("loadgen-get_1.x").is_ok());
        assert!(check_stream("").is_err());
        assert!(check_stream("a b").is_err());
        assert!(check_stream("a\"b").is_err());
        let plan = KinesisPlan::new("s", 1024, vec!["shardId-000000000000".into()]);
        assert_eq!(plan.data.len(), 1368);
        let put: Value = serde_json::from_slice(&plan.put_body(3, 7)).unwrap();
        assert_eq!(put["PartitionKey"], "w3-7");
        assert_eq!(put["Data"].as_str().unwrap(), plan.data);
        let batch: Value = serde_json::from_slice(&plan.put_batch_body(2, 5)).unwrap();
        assert_eq!(batch["StreamName"], "s");
        let records = batch["Records"].as_array().unwrap();
        assert_eq!(records.len(), KINESIS_BATCH);
        assert_eq!(records[499]["PartitionKey"], "w2-5-499");
        assert_eq!(records[0]["Data"].as_str().unwrap(), plan.data);
        let get: Value = serde_json::from_slice(&KinesisPlan::get_body("it")).unwrap();
        assert_eq!(get["Limit"], 1000);
        assert_eq!(put_records_result(br#"{"FailedRecordCount":1,"Records":[{},{},{}]}"#), (2, 1));
        assert_eq!(put_records_result(b"nope"), (0, 0));
        // Compact (serde, Node) and spaced (Python) replies; an escaped iterator.
        let compact = br#"{"MillisBehindLatest":0,"NextShardIterator":"AAA/b+c=","Records":[{"Data":"eA==","PartitionKey":"k","SequenceNumber":"1"},{"Data":"eQ==","PartitionKey":"k","SequenceNumber":"2"}]}"#;
        assert_eq!(get_records_result(compact), (2, Some("AAA/b+c=".into())));
        let spaced = br#"{"Records": [{"SequenceNumber": "1", "Data": "eA=="}], "NextShardIterator" : "a\/b\"c", "MillisBehindLatest": 0}"#;
        assert_eq!(get_records_result(spaced), (1, Some("a/b\"c".into())));
        assert_eq!(get_records_result(br#"{"Records":[],"ChildShards":[]}"#), (0, None));
        assert_eq!(json_string(r#"{"ShardIterator": "x1"}"#, "ShardIterator"), Some("x1".into()));
        assert_eq!(json_string(r#"{"NextShardIterator":"x1"}"#, "ShardIterator"), None);
        assert_eq!(json_string(r#"{"ShardIterator":null}"#, "ShardIterator"), None);
    }

    #[test]
    fn message_body_has_requested_size() {
        assert_eq!(message_body(0).len(), 0);
        assert_eq!(message_body(1000).len(), 1000);
    }
}
