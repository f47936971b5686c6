//! Helpers shared by the runtime's integration tests: zips made in the test, a recording log
//! sink, a fresh work directory per test.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use stratus_runtime::{
    FunctionSpec, Invocation, InvokeResult, LogSink, Outcome, RuntimeConfig, Runtimes, StreamEvents,
};
use zip::write::SimpleFileOptions;

/// Every event delivered to the sink: (group, stream, timestamp ms, message).
#[derive(Default)]
pub struct RecordingSink {
    pub events: Mutex<Vec<(String, String, u64, String)>>,
}

impl LogSink for RecordingSink {
    fn append(&self, batch: Vec<StreamEvents>) {
        let mut all = self.events.lock().unwrap();
        for s in batch {
            for (ts, m) in s.events {
                all.push((s.group.to_string(), s.stream.to_string(), ts, m));
            }
        }
    }
}

impl RecordingSink {
    pub fn messages(&self, stream: &str) -> Vec<String> {
        self.events.lock().unwrap().iter().filter(|e| e.1 == stream).map(|e| e.3.clone()).collect()
    }
}

pub struct Fixture {
    pub runtimes: Runtimes,
    pub sink: Arc<RecordingSink>,
    pub dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static N: AtomicU64 = AtomicU64::new(0);

pub fn fixture_with(f: impl FnOnce(&mut RuntimeConfig)) -> Fixture {
    let dir = std::env::temp_dir().join(format!(
        "stratus-runtime-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = RuntimeConfig::new(&dir);
    f(&mut config);
    let sink = Arc::new(RecordingSink::default());
    let runtimes = Runtimes::new(config, sink.clone());
    Fixture { runtimes, sink, dir }
}

pub fn fixture() -> Fixture {
    fixture_with(|_| {})
}

/// A zip of (name, unix mode, content), deflated like the aws CLI's.
pub fn zip_modes(files: &[(&str, u32, &str)]) -> Arc<Vec<u8>> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, mode, content) in files {
        let opts =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).unix_permissions(*mode);
        w.start_file(*name, opts).unwrap();
        w.write_all(content.as_bytes()).unwrap();
    }
    Arc::new(w.finish().unwrap().into_inner())
}

/// A zip of (name, content), all files 0644 (a `bootstrap` loses its executable bit, as with
/// zips made on Windows: the runtime sets it).
pub fn zip_files(files: &[(&str, &str)]) -> Arc<Vec<u8>> {
    let with_modes: Vec<(&str, u32, &str)> = files.iter().map(|(n, c)| (*n, 0o644, *c)).collect();
    zip_modes(&with_modes)
}

static KEYS: AtomicU64 = AtomicU64::new(0);

pub fn spec(runtime: &str, handler: &str, code: Arc<Vec<u8>>) -> FunctionSpec {
    let n = KEYS.fetch_add(1, Ordering::Relaxed);
    let mut env = BTreeMap::new();
    env.insert("AWS_REGION".to_string(), "us-east-1".to_string());
    env.insert("MY_VARIABLE".to_string(), "my value".to_string());
    FunctionSpec {
        key: format!("000000000000:us-east-1:fn{n}:$LATEST:{handler}"),
        code_zip: code,
        layers: Vec::new(),
        runtime: runtime.to_string(),
        handler: handler.to_string(),
        env,
        memory_mb: 128,
        timeout: Duration::from_secs(5),
        max_concurrency: None,
        function_name: format!("fn{n}"),
        version: "$LATEST".to_string(),
        invoked_arn_base: format!("arn:aws:lambda:us-east-1:000000000000:function:fn{n}"),
        log_group: format!("/aws/lambda/fn{n}"),
    }
}

static REQUESTS: AtomicU64 = AtomicU64::new(0);

pub fn invocation(spec: &FunctionSpec, payload: &str) -> Invocation {
    let n = REQUESTS.fetch_add(1, Ordering::Relaxed);
    Invocation {
        request_id: format!("00000000-0000-4000-8000-{n:012x}"),
        payload: Bytes::from(payload.to_string()),
        invoked_function_arn: spec.invoked_arn_base.clone(),
        trace_id: None,
        client_context: None,
        cognito_identity: None,
    }
}

pub fn success_json(r: &InvokeResult) -> serde_json::Value {
    match &r.outcome {
        Outcome::Success(body) => serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}\nlog:\n{}", String::from_utf8_lossy(body), r.log_tail)),
        other => panic!("expected success, got {other:?}\nlog:\n{}", r.log_tail),
    }
}

pub fn error_json(r: &InvokeResult) -> (String, serde_json::Value) {
    match &r.outcome {
        Outcome::FunctionError { payload, error_type } => {
            (error_type.clone(), serde_json::from_slice(payload).unwrap())
        }
        other => panic!("expected a function error, got {other:?}\nlog:\n{}", r.log_tail),
    }
}

/// The host's real python3 (for `#!` lines of custom runtimes; the runtime's processes start
/// with a clean environment, without a version manager's shims).
pub fn host_python() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed by these tests");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
