//! The function runtime (DESIGN.md §5): runs function code in OS processes that speak the
//! Lambda Runtime API.
//!
//! **Architecture invariant:** this crate knows no AWS service. The Lambda service hands it a
//! [`FunctionSpec`] and an [`Invocation`] and gets an [`InvokeResult`] back; everything between
//! (extracting code, starting, reusing and reaping execution environments, the Runtime API each
//! environment talks to, timeouts, memory limits, log lines) happens here.
//!
//! - An *execution environment* is one process group started from the extracted code
//!   (`LAMBDA_TASK_ROOT`, also its working directory) with its own Runtime API endpoint on
//!   `127.0.0.1:<port>` and its own temporary directory (`TMPDIR`). It handles one event at a time.
//! - `provided.al2023` / `provided.al2` run the package's `bootstrap` (or a layer's). `python3.*`
//!   and `nodejs*` run the runtime interface clients in `src/ric/`, written into the work
//!   directory at start and run by the host's `python3` / `node`.
//! - Layers are extracted in order into one `opt` directory per function key (later layers
//!   overwrite earlier ones). Without a mount namespace it cannot be `/opt`, so the function finds
//!   it through the variables AWS derives from `/opt`: `PATH` (`opt/bin`), `LD_LIBRARY_PATH`
//!   (`opt/lib`), `PYTHONPATH` (`opt/python`, `opt/python/lib/pythonX.Y/site-packages`) and
//!   `NODE_PATH` (`opt/nodejs/node_modules`, `opt/nodejs/nodeNN/node_modules`). Code that names
//!   `/opt/...` literally does not find its layers.
//! - Memory: cgroup v2 or v1 (whichever is writable) per environment, else `RLIMIT_AS` (not for
//!   Node, whose heap reservations exceed any address-space limit: there `--max-old-space-size`
//!   bounds the heap, as AWS's Node runtime does). See `memory.rs`.
//!
//! Time here is the machine's real time, not the `Clock` seam: processes run in real time, and
//! `Lambda-Runtime-Deadline-Ms` is wall-clock milliseconds the function compares with its own clock.

mod api;
mod code;
mod env;
mod kinds;
mod logs;
mod memory;
mod pool;
mod sandbox;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use logs::StreamEvents;
pub use pool::Runtimes;

/// How the runtime is set up. Build it with [`RuntimeConfig::new`] and change fields as needed.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where code is extracted, the runtime interface clients are written and environments get
    /// their temporary directories. The runtime owns it: its `code/` and `env/` are emptied at
    /// start.
    pub work_dir: PathBuf,
    /// Idle environments are stopped after this long (default 10 minutes).
    pub idle_timeout: Duration,
    /// The Python interpreter; default: `python3` on `PATH`.
    pub python: Option<PathBuf>,
    /// The Node.js interpreter; default: `node` on `PATH`.
    pub node: Option<PathBuf>,
    /// Concurrent environments per function key when the function reserves no concurrency
    /// (default 32).
    pub default_max_concurrency: u32,
    /// How long an environment may take to initialize before its first event (default 10 s, as
    /// AWS's init phase).
    pub init_timeout: Duration,
    /// Certificate authorities (PEM) that function environments trust, named to them by
    /// `AWS_CA_BUNDLE`, `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE` and `NODE_EXTRA_CA_CERTS`.
    pub ca_bundle: Option<String>,
}

impl RuntimeConfig {
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        // Environments change directory before they start, so a relative path would resolve
        // against the package instead (the binary already passes an absolute one).
        let work_dir = work_dir.into();
        RuntimeConfig {
            work_dir: std::path::absolute(&work_dir).unwrap_or(work_dir),
            idle_timeout: Duration::from_secs(600),
            python: None,
            node: None,
            default_max_concurrency: 32,
            init_timeout: Duration::from_secs(10),
            ca_bundle: None,
        }
    }
}

/// One function version's code and configuration: everything needed to start an environment.
#[derive(Clone)]
pub struct FunctionSpec {
    /// Identifies function + version + code + configuration: environments are reused only for
    /// the same key, and code is extracted once per key.
    pub key: String,
    /// The deployment package (zip).
    pub code_zip: Arc<Vec<u8>>,
    /// (layer version ARN, zip) in order.
    pub layers: Vec<(String, Arc<Vec<u8>>)>,
    /// `provided.al2023`, `provided.al2`, `python3.x`, `nodejsNN.x`.
    pub runtime: String,
    pub handler: String,
    /// The function's variables and the `AWS_*` ones the caller supplies (credentials,
    /// `AWS_ENDPOINT_URL`, `AWS_REGION`, …). They override the runtime's defaults, except the
    /// values that belong to one environment (`AWS_LAMBDA_RUNTIME_API`,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`, `LAMBDA_TASK_ROOT`, `LAMBDA_RUNTIME_DIR`, `_HANDLER`, `TMPDIR`).
    pub env: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// Reserved concurrency; `None` = [`RuntimeConfig::default_max_concurrency`]. Counted per key.
    pub max_concurrency: Option<u32>,
    pub function_name: String,
    pub version: String,
    pub invoked_arn_base: String,
    pub log_group: String,
}

/// One event for a function.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Bytes,
    pub invoked_function_arn: String,
    /// `X-Amzn-Trace-Id`; one is made up when absent, as Lambda always passes one.
    pub trace_id: Option<String>,
    /// The client context JSON (already base64-decoded).
    pub client_context: Option<String>,
    /// The Cognito identity JSON.
    pub cognito_identity: Option<String>,
}

/// What the function answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success(Bytes),
    /// The function reported an error through `/invocation/{id}/error` or `/init/error`, or the
    /// runtime failed (timeout, exit, response too large). `payload` is the JSON AWS returns
    /// (`{"errorMessage","errorType","stackTrace"}`, Node.js runtimes say `trace`); `error_type` is
    /// its errorType (`Runtime.ExitError`, `Sandbox.Timedout`, …). The caller answers with
    /// `X-Amz-Function-Error: Unhandled`.
    FunctionError {
        payload: Bytes,
        error_type: String,
    },
}

#[derive(Debug, Clone)]
pub struct InvokeResult {
    pub outcome: Outcome,
    /// This invocation's log text including START/END/REPORT lines (and the init output on a
    /// cold start); at most the last 64 KiB.
    pub log_tail: String,
    pub duration: Duration,
    /// Set on a cold start: process start to the runtime's first `/next`.
    pub init_duration: Option<Duration>,
    pub max_memory_mb: u32,
    /// The environment's log stream (`YYYY/MM/DD/[version]<32 hex>`).
    pub log_stream: String,
}

/// Where function output goes (CloudWatch Logs). Called from a dedicated thread with what
/// several environments wrote in the last moments (in order per stream), behind the
/// invocations; a slow sink slows down the functions writing to it rather than losing lines.
pub trait LogSink: Send + Sync + 'static {
    fn append(&self, batch: Vec<StreamEvents>);
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The concurrency limit is reached: the caller answers 429.
    #[error("Rate Exceeded.")]
    Throttled,
    /// The runtime's interpreter is not installed here.
    #[error("{0}")]
    MissingInterpreter(String),
    /// The runtime is not one this machine can run (`java21`, `ruby3.3`, …).
    #[error("The runtime parameter of {0} is not supported.")]
    UnsupportedRuntime(String),
    /// The deployment package or a layer is not a usable zip (unreadable, zip-slip, too large).
    #[error("{0}")]
    InvalidCode(String),
    #[error("{0}")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers spawn invocations on tokio: the future and the handle must cross threads.
    #[test]
    fn runtimes_and_invocations_are_send() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        fn check(r: &Runtimes, s: &FunctionSpec, i: Invocation) {
            send_sync(r);
            let fut = r.invoke(s, i);
            send(&fut);
            let shutdown = r.shutdown();
            send(&shutdown);
        }
        let _ = check;
    }
}
