//! [`Runtimes`]: the execution environments of every function key, reused while warm, started
//! when all are busy (up to the key's concurrency), reaped when idle, retired on update.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::code::{self, CodeDir};
use crate::env::{Env, EnvSetup, Run};
use crate::kinds::{self, Interpreters, Kind};
use crate::logs::{self, EnvLog, LogShipper, Report, ReportStatus};
use crate::memory::MemoryLimiter;
use crate::{FunctionSpec, Invocation, InvokeResult, LogSink, Outcome, RuntimeConfig, RuntimeError};

/// The environments of one function key.
struct Pool {
    /// Distinguishes a pool from the one that replaces it after `retire`.
    id: u64,
    /// Warm and waiting, most recently used last.
    idle: Vec<Arc<Env>>,
    /// Idle, busy and starting environments: what the concurrency limit counts.
    total: u32,
}

type CodeCell = Arc<tokio::sync::OnceCell<Arc<CodeDir>>>;

struct Inner {
    config: RuntimeConfig,
    ric_dir: PathBuf,
    code_root: PathBuf,
    env_root: PathBuf,
    interpreters: Interpreters,
    shipper: LogShipper,
    /// Whether environments run in a mount namespace with AWS's file layout: probed once, in
    /// the background at start so that start-up does not wait for it.
    sandboxed: Arc<std::sync::OnceLock<bool>>,
    probe_dir: PathBuf,
    pools: Mutex<HashMap<String, Pool>>,
    code: Mutex<HashMap<String, CodeCell>>,
    /// Every live environment, busy ones included, for `shutdown`.
    all: Mutex<HashMap<u64, Weak<Env>>>,
    next_id: AtomicU64,
    reaper_started: AtomicBool,
    shut_down: AtomicBool,
    /// The host names already in the environments' hosts file.
    host_names: Mutex<std::collections::HashSet<String>>,
    /// Last: fields drop in order, and the environments' cgroups go before their parent.
    memory: MemoryLimiter,
}

/// Runs functions. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Runtimes {
    inner: Arc<Inner>,
}

/// The right to use one environment; gives it back (or discards it) when dropped, also when
/// the invoking future is cancelled midway (then the environment is discarded: its event may
/// still be running).
struct Lease {
    inner: Arc<Inner>,
    key: String,
    pool_id: u64,
    env: Option<Arc<Env>>,
    reusable: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let env = self.env.take();
        let mut discard = None;
        if let Ok(mut pools) = self.inner.pools.lock() {
            match pools.get_mut(&self.key) {
                Some(pool) if pool.id == self.pool_id => match env {
                    Some(env) if self.reusable && env.is_alive() && !self.inner.shut_down.load(Ordering::Acquire) => {
                        if let Ok(mut t) = env.last_used.lock() {
                            *t = Instant::now();
                        }
                        pool.idle.push(env);
                    }
                    other => {
                        pool.total = pool.total.saturating_sub(1);
                        discard = other;
                    }
                },
                _ => discard = env,
            }
        }
        // Killing happens outside the lock.
        drop(discard);
    }
}

enum Acquired {
    Warm(Arc<Env>),
    /// A slot was reserved: start an environment in it.
    Cold,
}

/// Decides (once) whether environments can be sandboxed, and says so in the log.
fn probe_sandbox(dir: &std::path::Path) -> bool {
    match crate::sandbox::probe(dir) {
        Ok(()) => {
            tracing::info!(
                "functions run in mount namespaces: package read-only at /var/task, layers at /opt, private /tmp"
            );
            true
        }
        Err(e) => {
            tracing::warn!("functions run without a file-system sandbox (host paths, shared /tmp): {e}");
            false
        }
    }
}

impl Runtimes {
    pub fn new(config: RuntimeConfig, sink: Arc<dyn LogSink>) -> Self {
        let ric_dir = config.work_dir.join("runtime");
        let code_root = config.work_dir.join("code");
        let env_root = config.work_dir.join("env");
        // Left by an earlier run: nothing in them is in use.
        let _ = std::fs::remove_dir_all(&code_root);
        let _ = std::fs::remove_dir_all(&env_root);
        let mut prepared = std::fs::create_dir_all(&ric_dir);
        for (name, text) in [(kinds::PYTHON_RIC_FILE, kinds::PYTHON_RIC), (kinds::NODE_RIC_FILE, kinds::NODE_RIC)] {
            prepared = prepared.and_then(|_| std::fs::write(ric_dir.join(name), text));
        }
        let bundle = ric_dir.join(kinds::CA_BUNDLE_FILE);
        prepared = prepared.and_then(|_| match &config.ca_bundle {
            Some(pem) => std::fs::write(&bundle, pem),
            None => std::fs::remove_file(&bundle).or(Ok(())),
        });
        // The environments' /etc/hosts: the host's, then this server's names as they appear.
        let host_file = std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| "127.0.0.1 localhost\n".into());
        prepared = prepared.and_then(|_| {
            std::fs::write(
                ric_dir.join(crate::sandbox::HOSTS_FILE),
                format!("{}\n# Host names of this server\n", host_file.trim_end()),
            )
        });
        if let Err(e) = prepared {
            tracing::error!("cannot prepare the function runtime in {}: {e}", config.work_dir.display());
        }
        let sandboxed: Arc<std::sync::OnceLock<bool>> = Arc::default();
        let probe_dir = config.work_dir.join("probe");
        {
            let (cell, dir) = (sandboxed.clone(), probe_dir.clone());
            std::thread::spawn(move || {
                cell.get_or_init(|| probe_sandbox(&dir));
            });
        }
        let inner = Inner {
            sandboxed,
            probe_dir,
            ric_dir,
            code_root,
            env_root,
            interpreters: Interpreters::default(),
            memory: MemoryLimiter::detect(),
            shipper: LogShipper::start(sink),
            pools: Mutex::new(HashMap::new()),
            code: Mutex::new(HashMap::new()),
            all: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            reaper_started: AtomicBool::new(false),
            shut_down: AtomicBool::new(false),
            host_names: Mutex::new(Default::default()),
            config,
        };
        Runtimes { inner: Arc::new(inner) }
    }

    /// Makes `name` resolve to this machine (127.0.0.1) in sandboxed environments, those
    /// running and those to come: a line appended to the hosts file they see as `/etc/hosts`
    /// (appended in place, so that the file mounted in running environments sees it too).
    pub fn add_host_name(&self, name: &str) {
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid {
            return;
        }
        let Ok(mut known) = self.inner.host_names.lock() else { return };
        if known.contains(name) {
            return;
        }
        let path = self.inner.ric_dir.join(crate::sandbox::HOSTS_FILE);
        let written = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("127.0.0.1 {name}\n").as_bytes()));
        match written {
            Ok(()) => {
                known.insert(name.to_string());
            }
            Err(e) => tracing::warn!("cannot add {name} to {}: {e}", path.display()),
        }
    }

    /// How memory sizes are enforced here: `cgroup v2`, `cgroup v1` or `rlimit`.
    pub fn memory_enforcement(&self) -> String {
        self.inner.memory.describe()
    }

    /// Validates a deployment package or layer: a readable zip, no entry outside, within AWS's
    /// unzipped size limit.
    pub fn check_code(zip: &[u8]) -> Result<(), RuntimeError> {
        code::check(zip)
    }

    /// Whether functions of `runtime` can run here.
    pub fn check_runtime(&self, runtime: &str) -> Result<(), RuntimeError> {
        let kind = Kind::parse(runtime).ok_or_else(|| RuntimeError::UnsupportedRuntime(runtime.to_string()))?;
        let c = &self.inner.config;
        self.inner.interpreters.for_kind(&kind, c.python.as_deref(), c.node.as_deref()).map(|_| ())
    }

    /// Runs one event: on a warm environment of `spec.key` if one is idle, else on a new one
    /// (up to the concurrency limit, beyond which it is [`RuntimeError::Throttled`]).
    pub async fn invoke(&self, spec: &FunctionSpec, inv: Invocation) -> Result<InvokeResult, RuntimeError> {
        let inner = &self.inner;
        if inner.shut_down.load(Ordering::Acquire) {
            return Err(RuntimeError::Internal("the function runtime is shutting down".into()));
        }
        self.start_reaper();
        let kind = Kind::parse(&spec.runtime).ok_or_else(|| RuntimeError::UnsupportedRuntime(spec.runtime.clone()))?;
        let interpreter =
            inner.interpreters.for_kind(&kind, inner.config.python.as_deref(), inner.config.node.as_deref())?;
        let max = spec.max_concurrency.unwrap_or(inner.config.default_max_concurrency);
        // A warm environment that died between events gets the event back undelivered; it is
        // tried once more elsewhere.
        for _attempt in 0..2 {
            let (acquired, pool_id) = self.acquire(&spec.key, max)?;
            let mut lease = Lease { inner: inner.clone(), key: spec.key.clone(), pool_id, env: None, reusable: false };
            let env = match acquired {
                Acquired::Warm(env) => env,
                Acquired::Cold => {
                    let code = self.code_for(spec).await?;
                    let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
                    let setup = EnvSetup {
                        id,
                        spec,
                        kind: &kind,
                        code,
                        interpreter: interpreter.as_ref(),
                        ric_dir: inner.ric_dir.clone(),
                        env_root: inner.env_root.clone(),
                        memory: &inner.memory,
                        shipper: inner.shipper.clone(),
                        sandboxed: *inner.sandboxed.get_or_init(|| probe_sandbox(&inner.probe_dir)),
                    };
                    match Env::start(setup).await {
                        Ok(env) => {
                            if let Ok(mut all) = inner.all.lock() {
                                all.retain(|_, w| w.strong_count() > 0);
                                all.insert(env.id, Arc::downgrade(&env));
                            }
                            env
                        }
                        Err(failure) => {
                            // The slot goes back with the lease.
                            return Ok(self.start_failed(spec, &inv.request_id, failure).await);
                        }
                    }
                }
            };
            lease.env = Some(env.clone());
            match env.run(inv.clone(), spec.timeout, inner.config.init_timeout).await {
                Run::Done { result, reusable } => {
                    lease.reusable = reusable;
                    return Ok(result);
                }
                Run::NotDelivered => continue,
            }
        }
        Err(RuntimeError::Internal("no execution environment could take the event".into()))
    }

    fn acquire(&self, key: &str, max: u32) -> Result<(Acquired, u64), RuntimeError> {
        let inner = &self.inner;
        let mut dead = Vec::new();
        let result = {
            let mut pools = inner.pools.lock().map_err(|_| RuntimeError::Internal("pool lock poisoned".into()))?;
            let pool = pools.entry(key.to_string()).or_insert_with(|| Pool {
                id: inner.next_id.fetch_add(1, Ordering::Relaxed),
                idle: Vec::new(),
                total: 0,
            });
            let mut found = None;
            while let Some(env) = pool.idle.pop() {
                if env.is_alive() {
                    found = Some(env);
                    break;
                }
                pool.total = pool.total.saturating_sub(1);
                dead.push(env);
            }
            match found {
                Some(env) => Ok((Acquired::Warm(env), pool.id)),
                None if pool.total < max => {
                    pool.total += 1;
                    Ok((Acquired::Cold, pool.id))
                }
                None => Err(RuntimeError::Throttled),
            }
        };
        drop(dead);
        result
    }

    /// The key's extracted code, extracting it once however many environments start at once.
    async fn code_for(&self, spec: &FunctionSpec) -> Result<Arc<CodeDir>, RuntimeError> {
        let inner = &self.inner;
        let cell = {
            let mut code = inner.code.lock().map_err(|_| RuntimeError::Internal("code lock poisoned".into()))?;
            code.entry(spec.key.clone()).or_default().clone()
        };
        let dir = cell
            .get_or_try_init(|| async {
                let n = inner.next_id.fetch_add(1, Ordering::Relaxed);
                let tag: String =
                    spec.key.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).take(48).collect();
                let root = inner.code_root.join(format!("{n}-{tag}"));
                let zip = spec.code_zip.clone();
                let layers = spec.layers.clone();
                let extracted = tokio::task::spawn_blocking(move || {
                    let layers: Vec<(String, &[u8])> = layers.iter().map(|(a, z)| (a.clone(), z.as_slice())).collect();
                    CodeDir::extract(root, &zip, &layers)
                })
                .await
                .map_err(|e| RuntimeError::Internal(format!("extracting code: {e}")))??;
                Ok::<_, RuntimeError>(Arc::new(extracted))
            })
            .await?;
        Ok(dir.clone())
    }

    /// The environment could not even start (no bootstrap, not executable): the invocation
    /// fails as on Lambda, with the log lines of a failed init.
    async fn start_failed(
        &self,
        spec: &FunctionSpec,
        request_id: &str,
        failure: crate::env::StartFailure,
    ) -> InvokeResult {
        let stream = logs::stream_name(&spec.version, logs::now_ms());
        let log = EnvLog::new(&spec.log_group, &stream, self.inner.shipper.clone());
        let message = format!("RequestId: {request_id} Error: {}", failure.message);
        let error_type = failure.error_type;
        let report = Report {
            request_id,
            duration: Duration::ZERO,
            memory_mb: spec.memory_mb,
            max_memory_mb: 0,
            init: None,
            status: ReportStatus::Error(error_type),
        }
        .line();
        log.lines(vec![
            format!("{message}\n{error_type}"),
            logs::init_report_line(Duration::ZERO, "error", Some(error_type)),
            logs::start_line(request_id, &spec.version),
            logs::end_line(request_id),
            report,
        ])
        .await;
        let payload = serde_json::json!({ "errorMessage": message, "errorType": error_type });
        InvokeResult {
            outcome: Outcome::FunctionError { payload: payload.to_string().into(), error_type: error_type.to_string() },
            log_tail: log.take_tail(),
            duration: Duration::ZERO,
            init_duration: None,
            max_memory_mb: 0,
            log_stream: stream,
        }
    }

    /// Code or configuration changed, or the function is gone: idle environments of every key
    /// starting with `key_prefix` stop now, busy ones when their event is done; the extracted
    /// code goes with the last of them.
    pub fn retire(&self, key_prefix: &str) {
        let mut stopped = Vec::new();
        if let Ok(mut pools) = self.inner.pools.lock() {
            pools.retain(|k, pool| {
                if k.starts_with(key_prefix) {
                    stopped.append(&mut pool.idle);
                    false
                } else {
                    true
                }
            });
        }
        if let Ok(mut code) = self.inner.code.lock() {
            code.retain(|k, _| !k.starts_with(key_prefix));
        }
        drop(stopped);
    }

    /// Kills every environment, busy ones included; later invocations fail.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.shut_down.store(true, Ordering::Release);
        let idle: Vec<Arc<Env>> = match inner.pools.lock() {
            Ok(mut pools) => pools.drain().flat_map(|(_, p)| p.idle).collect(),
            Err(_) => Vec::new(),
        };
        drop(idle);
        let busy: Vec<Arc<Env>> = match inner.all.lock() {
            Ok(mut all) => all.drain().filter_map(|(_, w)| w.upgrade()).collect(),
            Err(_) => Vec::new(),
        };
        for env in &busy {
            env.kill();
        }
        drop(busy);
        if let Ok(mut code) = inner.code.lock() {
            code.clear();
        }
        // Function output waits briefly to be written in batches: write what is left.
        inner.shipper.flush().await;
    }

    /// Starts the idle reaper on first use (there is a tokio runtime then).
    fn start_reaper(&self) {
        if self.inner.reaper_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let idle_timeout = self.inner.config.idle_timeout;
        let period = (idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(30));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(inner) = weak.upgrade() else { return };
                reap(&inner, idle_timeout);
            }
        });
    }

    /// Environments alive now (idle and busy), for tests and metrics.
    pub fn environment_count(&self) -> usize {
        self.inner.all.lock().map(|all| all.values().filter(|w| w.strong_count() > 0).count()).unwrap_or(0)
    }
}

fn reap(inner: &Inner, idle_timeout: Duration) {
    let mut stopped = Vec::new();
    if let Ok(mut pools) = inner.pools.lock() {
        for pool in pools.values_mut() {
            let before = pool.idle.len();
            let (keep, old): (Vec<_>, Vec<_>) = pool.idle.drain(..).partition(|env| {
                env.is_alive() && env.last_used.lock().map(|t| t.elapsed() < idle_timeout).unwrap_or(false)
            });
            pool.idle = keep;
            pool.total = pool.total.saturating_sub((before - pool.idle.len()) as u32);
            stopped.extend(old);
        }
        pools.retain(|_, p| p.total > 0 || !p.idle.is_empty());
    }
    drop(stopped);
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut all) = self.all.lock() {
            for env in all.drain().filter_map(|(_, w)| w.upgrade()) {
                env.kill();
            }
        }
    }
}
