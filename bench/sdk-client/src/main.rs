//! `stratus-sdk-client`: the SQS workloads of `stratus-loadgen` (send, send-batch,
//! receive-delete), driven through the AWS SDK for Rust, so that a server is measured the way
//! a Rust application sees it: the SDK's serialisation, signing, retries and connection pool
//! included. Prints one JSON line in `stratus-loadgen`'s format.
//!
//! `--connections N` runs N closed-loop workers on one SDK client (its pool opens up to N
//! keep-alive connections). Only loopback endpoints are accepted; runs are bounded by
//! `--duration` and `--max-requests`.

use std::net::{IpAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, SendMessageBatchRequestEntry};
use serde_json::json;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    endpoint: String,
    workload: String,
    connections: usize,
    duration: f64,
    warmup: f64,
    queue: Option<String>,
    body_size: usize,
    max_requests: u64,
    prefill: u64,
    prefill_secs: f64,
    region: String,
}

const USAGE: &str = "usage: stratus-sdk-client --endpoint http://127.0.0.1:PORT --workload send|send-batch|receive-delete \
[--connections 32] [--duration 10] [--warmup 0] [--queue NAME] [--body-size 256] [--max-requests N] \
[--prefill N] [--prefill-secs S] [--region us-east-1] [--json]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        endpoint: String::new(),
        workload: String::new(),
        connections: 32,
        duration: 10.0,
        warmup: 0.0,
        queue: None,
        body_size: 256,
        max_requests: 20_000_000,
        prefill: 200_000,
        prefill_secs: 60.0,
        region: "us-east-1".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--json" {
            continue; // the only output format
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--endpoint" => a.endpoint = value,
            "--workload" => a.workload = value,
            "--connections" | "--threads" => a.connections = num(&value)? as usize,
            "--duration" => a.duration = num(&value)?,
            "--warmup" => a.warmup = num(&value)?,
            "--queue" => a.queue = Some(value),
            "--body-size" => a.body_size = num(&value)? as usize,
            "--max-requests" => a.max_requests = num(&value)? as u64,
            "--prefill" => a.prefill = num(&value)? as u64,
            "--prefill-secs" => a.prefill_secs = num(&value)?,
            "--region" => a.region = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.endpoint.is_empty() || !["send", "send-batch", "receive-delete"].contains(&a.workload.as_str()) {
        return Err(USAGE.into());
    }
    if !(1..=4096).contains(&a.connections) || !(1..=262_144).contains(&a.body_size) {
        return Err("--connections must be 1..4096, --body-size 1..262144".into());
    }
    if !(a.duration > 0.0 && a.duration <= 3600.0 && (0.0..=3600.0).contains(&a.warmup)) {
        return Err("--duration must be in (0, 3600], --warmup in [0, 3600]".into());
    }
    check_loopback(&a.endpoint)?;
    Ok(a)
}

fn check_loopback(endpoint: &str) -> Result<(), String> {
    let rest = endpoint.strip_prefix("http://").ok_or("--endpoint must be http://HOST:PORT")?;
    let hostport = rest.split('/').next().unwrap_or_default();
    let addrs = hostport.to_socket_addrs().map_err(|e| format!("--endpoint {hostport}: {e}"))?;
    for addr in addrs {
        let ip = addr.ip();
        let loopback = match ip {
            IpAddr::V4(v4) => v4.is_loopback(),
            IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        };
        if !loopback {
            return Err(format!("refusing non-loopback endpoint {ip}; only this machine is a target"));
        }
    }
    Ok(())
}

/// Latencies in microseconds, kept whole (a run is at most a few million requests).
#[derive(Default)]
struct Stats {
    latencies_us: Vec<u32>,
    ok: u64,
    errors: u64,
    messages: u64,
    failed_entries: u64,
    empty_receives: u64,
    first_error: Option<String>,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.latencies_us.extend(o.latencies_us);
        self.ok += o.ok;
        self.errors += o.errors;
        self.messages += o.messages;
        self.failed_entries += o.failed_entries;
        self.empty_receives += o.empty_receives;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }

    fn error(&mut self, measured: bool, e: impl std::fmt::Display) {
        if measured {
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

struct Run {
    client: Client,
    queue_url: String,
    body: String,
    workload: String,
    measure_start: Instant,
    deadline: Instant,
    issued: AtomicU64,
    max_requests: u64,
    stop: AtomicBool,
    drained: AtomicBool,
}

impl Run {
    fn admit(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
            && Instant::now() < self.deadline
            && self.issued.fetch_add(1, Ordering::Relaxed) < self.max_requests
    }
}

async fn worker(run: Arc<Run>) -> Stats {
    let mut s = Stats::default();
    let mut empty_in_a_row = 0;
    while run.admit() {
        let start = Instant::now();
        let measured = start >= run.measure_start;
        let c = &run.client;
        let moved: Result<(u64, u64), BoxError> = match run.workload.as_str() {
            "send" => c
                .send_message()
                .queue_url(&run.queue_url)
                .message_body(&run.body)
                .send()
                .await
                .map(|_| (1, 0))
                .map_err(Into::into),
            "send-batch" => {
                let mut req = c.send_message_batch().queue_url(&run.queue_url);
                for i in 0..10 {
                    match SendMessageBatchRequestEntry::builder().id(format!("m{i}")).message_body(&run.body).build() {
                        Ok(e) => req = req.entries(e),
                        Err(e) => return fatal(s, e),
                    }
                }
                req.send().await.map(|o| (o.successful.len() as u64, o.failed.len() as u64)).map_err(Into::into)
            }
            _ => receive_delete(&run, &mut empty_in_a_row).await,
        };
        match moved {
            Ok((0, 0)) if run.workload == "receive-delete" => {
                s.empty_receives += 1;
                if empty_in_a_row >= 3 {
                    run.drained.store(true, Ordering::Relaxed);
                    run.stop.store(true, Ordering::Relaxed);
                }
            }
            Ok((n, failed)) => {
                if measured {
                    s.ok += 1;
                    s.messages += n;
                    s.failed_entries += failed;
                    s.latencies_us.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
            }
            Err(e) => s.error(measured, aws_sdk_sqs::error::DisplayErrorContext(e.as_ref())),
        }
    }
    s
}

fn fatal(mut s: Stats, e: impl std::fmt::Display) -> Stats {
    s.error(true, e);
    s
}

/// One ReceiveMessage (10) and the DeleteMessageBatch of what it got, timed as one operation.
async fn receive_delete(run: &Run, empty_in_a_row: &mut u32) -> Result<(u64, u64), BoxError> {
    let got = run
        .client
        .receive_message()
        .queue_url(&run.queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(120)
        .wait_time_seconds(0)
        .send()
        .await?;
    let messages = got.messages.unwrap_or_default();
    if messages.is_empty() {
        *empty_in_a_row += 1;
        return Ok((0, 0));
    }
    *empty_in_a_row = 0;
    let mut req = run.client.delete_message_batch().queue_url(&run.queue_url);
    for (i, m) in messages.iter().enumerate() {
        let handle = m.receipt_handle.clone().unwrap_or_default();
        req =
            req.entries(DeleteMessageBatchRequestEntry::builder().id(format!("d{i}")).receipt_handle(handle).build()?);
    }
    run.issued.fetch_add(1, Ordering::Relaxed);
    let out = req.send().await?;
    Ok((out.successful.len() as u64, out.failed.len() as u64))
}

async fn prefill(
    client: &Client,
    queue_url: &str,
    body: &str,
    workers: usize,
    n: u64,
    budget: Duration,
) -> Result<u64, BoxError> {
    let deadline = Instant::now() + budget;
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (client, url, body, sent) = (client.clone(), queue_url.to_string(), body.to_string(), Arc::clone(&sent));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline && sent.fetch_add(10, Ordering::Relaxed) < n {
                let mut req = client.send_message_batch().queue_url(&url);
                for i in 0..10 {
                    req = req.entries(
                        SendMessageBatchRequestEntry::builder().id(format!("p{i}")).message_body(&body).build()?,
                    );
                }
                req.send().await?;
            }
            Ok::<_, BoxError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(sent.load(Ordering::Relaxed).min(n))
}

fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

async fn main_async(a: Args) -> Result<serde_json::Value, BoxError> {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(a.region.clone()))
        .endpoint_url(&a.endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "stratus-sdk-client"))
        .build();
    let client = Client::from_conf(config);
    let name = a.queue.clone().unwrap_or_else(|| format!("sdk-{}", a.workload));
    let queue_url = client.create_queue().queue_name(&name).send().await?.queue_url.unwrap_or_default();
    let body = "x".repeat(a.body_size);
    let mut prefilled = None;
    if a.workload == "receive-delete" && a.prefill > 0 {
        let t = Instant::now();
        let n = prefill(&client, &queue_url, &body, a.connections, a.prefill, Duration::from_secs_f64(a.prefill_secs))
            .await?;
        prefilled = Some((n, t.elapsed()));
    }
    let start = Instant::now();
    let measure_start = start + Duration::from_secs_f64(a.warmup);
    let run = Arc::new(Run {
        client,
        queue_url,
        body,
        workload: a.workload.clone(),
        measure_start,
        deadline: measure_start + Duration::from_secs_f64(a.duration),
        issued: AtomicU64::new(0),
        max_requests: a.max_requests,
        stop: AtomicBool::new(false),
        drained: AtomicBool::new(false),
    });
    let tasks: Vec<_> = (0..a.connections).map(|_| tokio::spawn(worker(Arc::clone(&run)))).collect();
    let mut s = Stats::default();
    for t in tasks {
        s.merge(t.await?);
    }
    let elapsed = Instant::now().saturating_duration_since(measure_start).as_secs_f64().max(1e-9);
    s.latencies_us.sort_unstable();
    let l = &s.latencies_us;
    let mean = if l.is_empty() { 0.0 } else { l.iter().map(|&v| v as f64).sum::<f64>() / l.len() as f64 / 1000.0 };
    Ok(json!({
        "tool": "aws-sdk-rust",
        "endpoint": a.endpoint,
        "workload": a.workload,
        "queue": name,
        "connections": a.connections,
        "body_size": a.body_size,
        "duration_s": round3(elapsed),
        "requests_ok": s.ok,
        "errors": s.errors,
        "messages": s.messages,
        "failed_entries": s.failed_entries,
        "empty_receives": s.empty_receives,
        "drained": run.drained.load(Ordering::Relaxed),
        "prefilled": prefilled.map(|(n, _)| n),
        "prefill_s": prefilled.map(|(_, d)| round3(d.as_secs_f64())),
        "ops_per_s": round3(s.ok as f64 / elapsed),
        "msgs_per_s": round3(s.messages as f64 / elapsed),
        "latency_ms": {
            "p50": round3(quantile(l, 0.50)),
            "p90": round3(quantile(l, 0.90)),
            "p99": round3(quantile(l, 0.99)),
            "max": round3(quantile(l, 1.0)),
            "mean": round3(mean),
        },
        "first_error": s.first_error,
    }))
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("stratus-sdk-client: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stratus-sdk-client: cannot start runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(main_async(a)) {
        Ok(report) => {
            let ok = report["requests_ok"].as_u64().unwrap_or(0);
            println!("{report}");
            if ok == 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
        }
        Err(e) => {
            eprintln!("stratus-sdk-client: {}", aws_sdk_sqs::error::DisplayErrorContext(e.as_ref()));
            ExitCode::from(2)
        }
    }
}
