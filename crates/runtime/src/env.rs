//! One execution environment: a process group running the function's runtime, its Runtime API
//! endpoint, its output and its log stream; and one invocation on it from event to REPORT.

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::api::{self, ApiState, Pending, Reply};
use crate::code::CodeDir;
use crate::kinds::{self, EnvVars, Interpreter, Kind};
use crate::logs::{self, EnvLog, LogShipper, Report, ReportStatus};
use crate::memory::{self, Cgroup, MemoryLimiter};
use crate::sandbox::{self, ChildLimits};
use crate::{FunctionSpec, InvokeResult, Outcome};

/// Lambda's file descriptor limit.
const OPEN_FILES: u64 = 1024;

/// How a process ended, written as Go's `os/exec` writes it (Lambda's messages come from there).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exit(Option<ExitStatus>);

impl Exit {
    pub(crate) fn describe(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        let Some(st) = self.0 else { return "signal: killed".into() };
        if let Some(code) = st.code() {
            return format!("exit status {code}");
        }
        let name = match st.signal() {
            Some(libc::SIGKILL) => "killed",
            Some(libc::SIGSEGV) => "segmentation fault",
            Some(libc::SIGABRT) => "aborted",
            Some(libc::SIGTERM) => "terminated",
            Some(libc::SIGINT) => "interrupt",
            Some(libc::SIGBUS) => "bus error",
            Some(libc::SIGFPE) => "floating point exception",
            Some(libc::SIGILL) => "illegal instruction",
            Some(libc::SIGHUP) => "hangup",
            Some(libc::SIGPIPE) => "broken pipe",
            Some(libc::SIGUSR1) => "user defined signal 1",
            Some(libc::SIGUSR2) => "user defined signal 2",
            Some(n) => return format!("signal: signal {n}"),
            None => "killed",
        };
        format!("signal: {name}")
    }
}

/// Everything needed to start an environment.
pub(crate) struct EnvSetup<'a> {
    pub id: u64,
    pub spec: &'a FunctionSpec,
    pub kind: &'a Kind,
    pub code: Arc<CodeDir>,
    pub interpreter: Option<&'a Interpreter>,
    pub ric_dir: PathBuf,
    pub env_root: PathBuf,
    pub memory: &'a MemoryLimiter,
    pub shipper: LogShipper,
    /// Run in a mount namespace with AWS's layout (see `sandbox::Mounts`).
    pub sandboxed: bool,
}

/// Why an environment could not be started; the invocation fails the way Lambda fails it.
pub(crate) struct StartFailure {
    pub error_type: &'static str,
    pub message: String,
}

pub(crate) struct Env {
    pub id: u64,
    pub pid: u32,
    pub started: Instant,
    /// Set once the environment has served an event (its next one is warm).
    warm: AtomicBool,
    queue: mpsc::Sender<Pending>,
    api: Arc<ApiState>,
    pub log: Arc<EnvLog>,
    exit: watch::Receiver<Option<Exit>>,
    drain: mpsc::Sender<oneshot::Sender<()>>,
    /// The function's output pipe, shared with the task that reads it.
    output: Option<Arc<Output>>,
    cgroup: Option<Cgroup>,
    tmp: PathBuf,
    tasks: Vec<JoinHandle<()>>,
    _code: Arc<CodeDir>,
    memory_mb: u32,
    version: String,
    /// Bumped whenever the environment goes back to its pool; the reaper compares.
    pub last_used: std::sync::Mutex<Instant>,
}

/// How an invocation on an environment went.
pub(crate) enum Run {
    /// It ran; `reusable` says whether the environment may take another event.
    Done { result: InvokeResult, reusable: bool },
    /// A warm environment died before taking the event: run it elsewhere.
    NotDelivered,
}

impl Env {
    pub(crate) async fn start(setup: EnvSetup<'_>) -> Result<Arc<Env>, StartFailure> {
        let internal =
            |what: &str, e: io::Error| StartFailure { error_type: "Runtime.Unknown", message: format!("{what}: {e}") };
        let spec = setup.spec;
        let launch =
            kinds::launch(setup.kind, &setup.code, setup.interpreter, &setup.ric_dir, spec.memory_mb, setup.sandboxed)
                .map_err(|message| StartFailure { error_type: "Runtime.InvalidEntrypoint", message })?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| internal("bind", e))?;
        let api_addr = listener.local_addr().map_err(|e| internal("bind", e))?.to_string();
        let tmp = setup.env_root.join(setup.id.to_string()).join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| internal("tmp", e))?;
        let stream = logs::stream_name(&spec.version, logs::now_ms());
        let vars = EnvVars {
            spec,
            kind: setup.kind,
            code: &setup.code,
            interpreter: setup.interpreter,
            ric_dir: &setup.ric_dir,
            tmp: &tmp,
            api: &api_addr,
            log_stream: &stream,
            sandboxed: setup.sandboxed,
        }
        .build();
        let mounts = if setup.sandboxed {
            sandbox::Mounts::new(&setup.code.task, &setup.code.opt, &setup.ric_dir, &tmp)
        } else {
            None
        };

        let (reader, writer) = io::pipe().map_err(|e| internal("pipe", e))?;
        let writer2 = writer.try_clone().map_err(|e| internal("pipe", e))?;
        let cgroup = setup.memory.create(setup.id, spec.memory_mb);
        let address_space = match (&cgroup, setup.kind) {
            (Some(_), _) | (None, Kind::Node { .. }) => None,
            (None, _) => Some(u64::from(spec.memory_mb) * 1024 * 1024),
        };
        let mut cmd = tokio::process::Command::new(&launch.program);
        cmd.args(&launch.args)
            .current_dir(&setup.code.task)
            .env_clear()
            .envs(&vars)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(writer2))
            .process_group(0)
            .kill_on_drop(true);
        sandbox::apply(
            &mut cmd,
            ChildLimits { cgroup_procs: cgroup.as_ref().map(Cgroup::procs_fd), address_space, open_files: OPEN_FILES },
            mounts,
        );
        let started = Instant::now();
        let spawned = cmd.spawn();
        // The parent's copies of the pipe's write end must go, or the reader never sees EOF.
        drop(cmd);
        let mut child = spawned.map_err(|e| StartFailure {
            error_type: "Runtime.InvalidEntrypoint",
            message: format!("fork/exec {}: {}", launch.program.display(), spawn_error(&e)),
        })?;
        let pid = child.id().unwrap_or(0);

        let log = Arc::new(EnvLog::new(&spec.log_group, &stream, setup.shipper));
        log.line(format!("INIT_START Runtime Version: {}", setup.kind.version_label())).await;
        let (queue_tx, queue_rx) = mpsc::channel(1);
        let api = Arc::new(ApiState::new(queue_rx, log.clone()));
        let (exit_tx, exit_rx) = watch::channel(None);
        let (drain_tx, drain_rx) = mpsc::channel(4);
        let mut tasks = Vec::with_capacity(3);
        tasks.push(tokio::spawn(api::serve(listener, api.clone())));
        tasks.push(tokio::spawn(async move {
            let status = child.wait().await.ok();
            let _ = exit_tx.send(Some(Exit(status)));
        }));
        let reader: OwnedFd = reader.into();
        let output = match pipe::Receiver::from_owned_fd(reader) {
            Ok(rx) => {
                let output = Arc::new(Output { rx, busy: AtomicBool::new(false) });
                tasks.push(tokio::spawn(read_output(output.clone(), log.clone(), drain_rx)));
                Some(output)
            }
            Err(e) => {
                tracing::warn!("function output of environment {} is lost: {e}", setup.id);
                None
            }
        };

        Ok(Arc::new(Env {
            id: setup.id,
            pid,
            started,
            warm: AtomicBool::new(false),
            queue: queue_tx,
            api,
            log,
            exit: exit_rx,
            drain: drain_tx,
            output,
            cgroup,
            tmp,
            tasks,
            _code: setup.code,
            memory_mb: spec.memory_mb,
            version: spec.version.clone(),
            last_used: std::sync::Mutex::new(Instant::now()),
        }))
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.exit.borrow().is_none()
    }

    pub(crate) fn log_stream(&self) -> &str {
        self.log.stream()
    }

    /// Kills every process of the environment.
    pub(crate) fn kill(&self) {
        sandbox::kill_group(self.pid);
        if let Some(cg) = &self.cgroup {
            cg.kill_all();
        }
    }

    fn max_memory_mb(&self) -> u32 {
        let bytes = match &self.cgroup {
            Some(cg) => cg.peak_bytes(),
            None => memory::process_peak_bytes(self.pid),
        };
        bytes.map(|b| b.div_ceil(1024 * 1024) as u32).unwrap_or(0)
    }

    /// Waits (briefly) until everything the function wrote so far is logged.
    async fn drain_output(&self) {
        // Most invocations end with nothing left to read: then there is no need to ask the
        // reading task (a round trip between two tasks on every invoke).
        if self.output.as_ref().is_some_and(|o| o.settled()) {
            return;
        }
        let (tx, rx) = oneshot::channel();
        if self.drain.send(tx).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_millis(500), rx).await;
        }
    }

    async fn wait_exit(&self) -> Exit {
        let mut rx = self.exit.clone();
        loop {
            if let Some(e) = *rx.borrow_and_update() {
                return e;
            }
            if rx.changed().await.is_err() {
                return Exit(None);
            }
        }
    }

    /// Runs one event on this environment.
    pub(crate) async fn run(&self, inv: crate::Invocation, timeout: Duration, init_timeout: Duration) -> Run {
        let cold = !self.warm.swap(true, Ordering::AcqRel);
        let request_id = inv.request_id.clone();
        let (delivered_tx, delivered_rx) = oneshot::channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        let pending = Pending {
            request_id: inv.request_id,
            payload: inv.payload,
            invoked_function_arn: inv.invoked_function_arn,
            trace_id: inv.trace_id.unwrap_or_else(new_trace_id),
            client_context: inv.client_context,
            cognito_identity: inv.cognito_identity,
            timeout,
            start_line: logs::start_line(&request_id, &self.version),
            delivered: delivered_tx,
            reply: reply_tx,
        };
        if self.queue.send(pending).await.is_err() {
            return Run::NotDelivered;
        }

        // Until the runtime takes the event: initialization on a cold start.
        let wait_limit = if cold { init_timeout } else { timeout };
        // Biased: an event taken just before the process died counts as delivered, so it is
        // never run twice.
        let delivered = tokio::select! {
            biased;
            d = delivered_rx => d.ok(),
            exit = self.wait_exit() => {
                if !cold {
                    return Run::NotDelivered;
                }
                return self.init_failed(&request_id, InitFailure::Exit(exit)).await;
            }
            _ = self.api.init_error_posted.notified() => {
                return self.init_failed(&request_id, InitFailure::Posted).await;
            }
            _ = tokio::time::sleep(wait_limit) => {
                self.kill();
                return self.init_failed(&request_id, InitFailure::Timeout(wait_limit)).await;
            }
        };
        let Some(t0) = delivered else { return Run::NotDelivered };
        let init_duration =
            if cold { Some(self.api.ready_at.get().copied().unwrap_or(t0) - self.started) } else { None };

        enum End {
            Reply(Reply),
            Exit(Exit),
            Timeout,
        }
        let deadline = t0.checked_add(timeout).unwrap_or(t0 + Duration::from_secs(366 * 86_400));
        // Biased: an answer that arrived just before the process exited is the answer.
        let end = tokio::select! {
            biased;
            r = reply_rx => match r {
                Ok(reply) => End::Reply(reply),
                Err(_) => End::Exit(self.wait_exit().await),
            },
            exit = self.wait_exit() => End::Exit(exit),
            _ = tokio::time::sleep_until(deadline.into()) => End::Timeout,
        };
        let elapsed = t0.elapsed();
        let failure = |t: &str, message: String| {
            let payload = serde_json::json!({ "errorMessage": message, "errorType": t });
            Outcome::FunctionError { payload: Bytes::from(payload.to_string()), error_type: t.to_string() }
        };
        // (outcome, REPORT status, may the environment take another event, billed duration)
        let (outcome, status, reusable, duration) = match end {
            End::Reply(Reply::Response(body)) => (Outcome::Success(body), Status::Success, true, elapsed),
            End::Reply(Reply::Error { error_type, payload }) => {
                (Outcome::FunctionError { payload, error_type }, Status::Success, true, elapsed)
            }
            End::Reply(Reply::TooLarge) => {
                let message = format!(
                    "Response payload size exceeded maximum allowed payload size ({} bytes).",
                    api::MAX_RESPONSE
                );
                (failure("Function.ResponseSizeTooLarge", message), Status::Success, true, elapsed)
            }
            End::Reply(Reply::Truncated) => {
                let t = "Runtime.TruncatedResponse";
                let message = format!("RequestId: {request_id} Error: the runtime's response was cut short");
                (failure(t, message), Status::Error(t.to_string()), false, elapsed)
            }
            End::Exit(exit) => {
                self.drain_output().await;
                let oom = self.cgroup.as_ref().is_some_and(Cgroup::oom_killed);
                let t = if oom { "Runtime.OutOfMemory" } else { "Runtime.ExitError" };
                let message = format!("RequestId: {request_id} Error: Runtime exited with error: {}", exit.describe());
                self.log.line(format!("{message}\n{t}")).await;
                (failure(t, message), Status::Error(t.to_string()), false, elapsed)
            }
            End::Timeout => {
                self.kill();
                self.drain_output().await;
                let message = format!(
                    "{} {request_id} Task timed out after {:.2} seconds",
                    logs::iso8601_millis(logs::now_ms()),
                    timeout.as_secs_f64()
                );
                self.log.line(message.clone()).await;
                let payload = serde_json::json!({ "errorMessage": message });
                let outcome = Outcome::FunctionError {
                    payload: Bytes::from(payload.to_string()),
                    error_type: "Sandbox.Timedout".into(),
                };
                (outcome, Status::Timeout, false, timeout)
            }
        };
        self.drain_output().await;
        let max_memory_mb = self.max_memory_mb();
        let status = match &status {
            Status::Success => ReportStatus::Success,
            Status::Error(t) => ReportStatus::Error(t),
            Status::Timeout => ReportStatus::Timeout,
        };
        let report = Report {
            request_id: &request_id,
            duration,
            memory_mb: self.memory_mb,
            max_memory_mb,
            init: init_duration,
            status,
        }
        .line();
        self.log.lines(vec![logs::end_line(&request_id), report]).await;
        let result = InvokeResult {
            outcome,
            log_tail: self.log.take_tail(),
            duration,
            init_duration,
            max_memory_mb,
            log_stream: self.log_stream().to_string(),
        };
        Run::Done { result, reusable: reusable && self.is_alive() }
    }

    /// The runtime never took the event: it exited, reported an init error or took too long.
    async fn init_failed(&self, request_id: &str, why: InitFailure) -> Run {
        let init = self.started.elapsed();
        // A runtime that posted its error and exited: the posted error is what Lambda reports.
        let posted = match why {
            InitFailure::Posted => self.api.init_error(),
            InitFailure::Exit(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                self.api.init_error()
            }
            InitFailure::Timeout(_) => None,
        };
        self.kill();
        self.drain_output().await;
        let (error_type, payload, status) = match (posted, why) {
            (Some(e), _) => (e.error_type, e.payload, "error"),
            (None, InitFailure::Exit(exit)) => {
                let t = "Runtime.ExitError";
                let message = format!("RequestId: {request_id} Error: Runtime exited with error: {}", exit.describe());
                self.log.line(format!("{message}\n{t}")).await;
                let v = serde_json::json!({ "errorMessage": message, "errorType": t });
                (t.to_string(), Bytes::from(v.to_string()), "error")
            }
            (None, InitFailure::Timeout(limit)) => {
                let message = format!(
                    "{} {request_id} Task timed out after {:.2} seconds",
                    logs::iso8601_millis(logs::now_ms()),
                    limit.as_secs_f64()
                );
                self.log.line(message.clone()).await;
                let v = serde_json::json!({ "errorMessage": message });
                ("Sandbox.Timedout".to_string(), Bytes::from(v.to_string()), "timeout")
            }
            (None, InitFailure::Posted) => {
                ("Runtime.Unknown".to_string(), Bytes::from_static(br#"{"errorType":"Runtime.Unknown"}"#), "error")
            }
        };
        let max_memory_mb = self.max_memory_mb();
        let report_status = if status == "timeout" { ReportStatus::Timeout } else { ReportStatus::Error(&error_type) };
        let report = Report {
            request_id,
            duration: init,
            memory_mb: self.memory_mb,
            max_memory_mb,
            init: None,
            status: report_status,
        }
        .line();
        self.log
            .lines(vec![
                logs::init_report_line(init, status, (status == "error").then_some(error_type.as_str())),
                logs::start_line(request_id, &self.version),
                logs::end_line(request_id),
                report,
            ])
            .await;
        let result = InvokeResult {
            outcome: Outcome::FunctionError { payload, error_type },
            log_tail: self.log.take_tail(),
            duration: init,
            init_duration: Some(init),
            max_memory_mb,
            log_stream: self.log_stream().to_string(),
        };
        Run::Done { result, reusable: false }
    }
}

enum Status {
    Success,
    Error(String),
    Timeout,
}

#[derive(Clone, Copy)]
enum InitFailure {
    Exit(Exit),
    Posted,
    Timeout(Duration),
}

impl Drop for Env {
    fn drop(&mut self) {
        self.kill();
        for t in &self.tasks {
            t.abort();
        }
        if let Some(parent) = self.tmp.parent() {
            crate::code::remove_in_background(parent.to_path_buf());
        }
    }
}

fn spawn_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::NotFound => "no such file or directory".into(),
        _ if e.raw_os_error() == Some(libc::ENOEXEC) => "exec format error".into(),
        _ => e.to_string(),
    }
}

/// An X-Ray trace header: Lambda always passes one.
fn new_trace_id() -> String {
    let secs = logs::now_ms() / 1000;
    let root: u128 = rand::random::<u128>() >> 32;
    let parent: u64 = rand::random();
    format!("Root=1-{secs:08x}-{root:024x};Parent={parent:016x};Sampled=0;Lineage=1:0a1b2c3d:0")
}

/// The function's stdout and stderr (one pipe).
struct Output {
    rx: pipe::Receiver,
    /// Set while the reading task holds output it has not yet logged (from before it reads
    /// until it has handed the lines on, or while an unfinished line waits for its end).
    busy: AtomicBool,
}

impl Output {
    /// Whether everything written to the pipe so far is logged: the pipe is empty and the
    /// reader holds nothing. `busy` is set before the reader empties the pipe, so an empty pipe
    /// seen here with `busy` clear means its bytes were handed on.
    fn settled(&self) -> bool {
        sandbox::pipe_is_empty(&self.rx) && !self.busy.load(Ordering::SeqCst)
    }
}

/// Forwards the function's output to its log line by line. A drain request is answered once
/// everything written before it has been read, so lines precede the END that follows them.
async fn read_output(out: Arc<Output>, log: Arc<EnvLog>, mut drains: mpsc::Receiver<oneshot::Sender<()>>) {
    let rx = &out.rx;
    let mut buf = vec![0u8; 64 * 1024];
    let mut partial: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut drains_open = true;
    loop {
        if eof && !drains_open {
            return;
        }
        tokio::select! {
            biased;
            ack = drains.recv(), if drains_open => {
                let Some(ack) = ack else {
                    drains_open = false;
                    continue;
                };
                out.busy.store(true, Ordering::SeqCst);
                if !eof {
                    eof = read_available(rx, &mut buf, &mut partial);
                }
                let mut lines = split_lines(&mut partial);
                if !partial.is_empty() {
                    lines.push(String::from_utf8_lossy(&partial).into_owned());
                    partial.clear();
                }
                log.lines(lines).await;
                out.busy.store(false, Ordering::SeqCst);
                let _ = ack.send(());
            }
            ready = rx.readable(), if !eof => {
                if ready.is_err() {
                    eof = true;
                    continue;
                }
                out.busy.store(true, Ordering::SeqCst);
                eof = read_available(rx, &mut buf, &mut partial);
                if eof && !partial.is_empty() {
                    partial.push(b'\n');
                }
                log.lines(split_lines(&mut partial)).await;
                // A line longer than any event is cut rather than held.
                if partial.len() > logs::MAX_EVENT {
                    log.line(String::from_utf8_lossy(&partial).into_owned()).await;
                    partial.clear();
                }
                out.busy.store(!partial.is_empty(), Ordering::SeqCst);
            }
        }
    }
}

/// Reads what the pipe holds now; true at end of file.
fn read_available(rx: &pipe::Receiver, buf: &mut [u8], out: &mut Vec<u8>) -> bool {
    loop {
        match rx.try_read(buf) {
            Ok(0) => return true,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.len() > 4 * 1024 * 1024 {
                    return false;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

fn split_lines(partial: &mut Vec<u8>) -> Vec<String> {
    let Some(last) = partial.iter().rposition(|&b| b == b'\n') else { return Vec::new() };
    let rest = partial.split_off(last + 1);
    let complete = std::mem::replace(partial, rest);
    complete[..complete.len() - 1]
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_complete_lines_only() {
        let mut p = b"a\nb\nc".to_vec();
        assert_eq!(split_lines(&mut p), vec!["a", "b"]);
        assert_eq!(p, b"c");
        let mut p = b"x\r\n\ny\n".to_vec();
        assert_eq!(split_lines(&mut p), vec!["x", "", "y"]);
        assert!(p.is_empty());
    }
}
