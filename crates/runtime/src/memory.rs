//! Enforcing a function's memory size and measuring what it used.
//!
//! Preference: a memory cgroup per environment (v2 if the host's unified hierarchy has the
//! memory controller and lets us make a subtree, else v1's memory hierarchy), created under the
//! server's own cgroup; the child joins it before `exec` (see `sandbox.rs`), so everything it
//! starts is limited and counted, and killing the environment can reach processes that left the
//! process group. Without a writable cgroup, `RLIMIT_AS` bounds each process's address space.
//! Which one is used is logged once at start.

use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::sandbox;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CgroupVersion {
    V1,
    V2,
}

#[derive(Debug)]
pub(crate) enum MemoryLimiter {
    Cgroup { version: CgroupVersion, dir: PathBuf },
    Rlimit,
}

static INSTANCE: AtomicU64 = AtomicU64::new(0);

fn own_cgroup(controller: Option<&str>) -> Option<String> {
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = match controller {
            Some(c) => ctrls.split(',').any(|x| x == c),
            None => ctrls.is_empty(),
        };
        matches.then(|| path.to_string())
    })
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value)
}

impl MemoryLimiter {
    /// Finds a writable memory cgroup hierarchy and makes this instance's directory in it.
    pub(crate) fn detect() -> MemoryLimiter {
        let name = format!("stratus-runtime-{}-{}", std::process::id(), INSTANCE.fetch_add(1, Ordering::Relaxed));
        let v2 = || -> io::Result<PathBuf> {
            let controllers = fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")?;
            if !controllers.split_whitespace().any(|c| c == "memory") {
                return Err(io::Error::other("no memory controller"));
            }
            let own = own_cgroup(None).ok_or_else(|| io::Error::other("no v2 cgroup"))?;
            let parent = Path::new("/sys/fs/cgroup").join(own.trim_start_matches('/'));
            // Enabling the controller below our own cgroup fails while it has processes (unless
            // it is the root); then memory may already be delegated, which the check below sees.
            let _ = write(&parent.join("cgroup.subtree_control"), "+memory");
            clean_stale(&parent);
            let dir = parent.join(&name);
            fs::create_dir(&dir)?;
            let ok = fs::read_to_string(dir.join("cgroup.controllers"))
                .map(|c| c.split_whitespace().any(|c| c == "memory"))
                .unwrap_or(false)
                && write(&dir.join("cgroup.subtree_control"), "+memory").is_ok();
            if !ok {
                let _ = fs::remove_dir(&dir);
                return Err(io::Error::other("memory controller not delegated"));
            }
            Ok(dir)
        };
        let v1 = || -> io::Result<PathBuf> {
            let root = Path::new("/sys/fs/cgroup/memory");
            if !root.join("memory.limit_in_bytes").exists() {
                return Err(io::Error::other("no v1 memory hierarchy"));
            }
            let own = own_cgroup(Some("memory")).unwrap_or_default();
            let parent = root.join(own.trim_start_matches('/'));
            clean_stale(&parent);
            let dir = parent.join(&name);
            fs::create_dir(&dir)?;
            Ok(dir)
        };
        let limiter = match v2() {
            Ok(dir) => MemoryLimiter::Cgroup { version: CgroupVersion::V2, dir },
            Err(_) => match v1() {
                Ok(dir) => MemoryLimiter::Cgroup { version: CgroupVersion::V1, dir },
                Err(_) => MemoryLimiter::Rlimit,
            },
        };
        match &limiter {
            MemoryLimiter::Cgroup { version, dir } => {
                tracing::info!("function memory sizes are enforced with cgroup {version:?} under {}", dir.display())
            }
            MemoryLimiter::Rlimit => tracing::info!(
                "no writable memory cgroup: function memory sizes are enforced with RLIMIT_AS (Node.js: heap size only)"
            ),
        }
        limiter
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            MemoryLimiter::Cgroup { version: CgroupVersion::V1, .. } => "cgroup v1".into(),
            MemoryLimiter::Cgroup { version: CgroupVersion::V2, .. } => "cgroup v2".into(),
            MemoryLimiter::Rlimit => "rlimit".into(),
        }
    }

    /// A cgroup limited to `memory_mb` for one environment, or `None` (rlimits then).
    pub(crate) fn create(&self, env_id: u64, memory_mb: u32) -> Option<Cgroup> {
        let MemoryLimiter::Cgroup { version, dir } = self else { return None };
        let cg = dir.join(format!("env-{env_id}"));
        let bytes = (u64::from(memory_mb) * 1024 * 1024).to_string();
        let made = fs::create_dir(&cg).and_then(|_| match version {
            CgroupVersion::V1 => write(&cg.join("memory.limit_in_bytes"), &bytes),
            CgroupVersion::V2 => {
                write(&cg.join("memory.max"), &bytes)?;
                // No swap: a function over its size is killed, as on AWS.
                let _ = write(&cg.join("memory.swap.max"), "0");
                Ok(())
            }
        });
        if let Err(e) = made {
            tracing::warn!("cannot make memory cgroup {}: {e}", cg.display());
            let _ = fs::remove_dir(&cg);
            return None;
        }
        match fs::OpenOptions::new().write(true).open(cg.join("cgroup.procs")) {
            Ok(procs) => {
                // Read after every invocation (the REPORT line): kept open, read by offset.
                let peak_file = match version {
                    CgroupVersion::V1 => "memory.max_usage_in_bytes",
                    CgroupVersion::V2 => "memory.peak",
                };
                let peak = fs::File::open(cg.join(peak_file)).ok();
                Some(Cgroup { dir: cg, version: *version, procs, peak })
            }
            Err(e) => {
                tracing::warn!("cannot open {}/cgroup.procs: {e}", cg.display());
                let _ = fs::remove_dir(&cg);
                None
            }
        }
    }
}

impl Drop for MemoryLimiter {
    /// Removes this instance's cgroups, waiting briefly for killed processes to finish exiting
    /// (the kernel keeps a cgroup until they have): a server that stops leaves nothing behind.
    fn drop(&mut self) {
        let MemoryLimiter::Cgroup { dir, .. } = self else { return };
        let deadline = std::time::Instant::now() + Duration::from_millis(500);
        loop {
            if let Ok(children) = fs::read_dir(&*dir) {
                for child in children.flatten().filter(|c| c.path().is_dir()) {
                    if let Ok(text) = fs::read_to_string(child.path().join("cgroup.procs")) {
                        for pid in text.lines().filter_map(|l| l.trim().parse().ok()) {
                            sandbox::kill_pid(pid);
                        }
                    }
                    let _ = fs::remove_dir(child.path());
                }
            }
            if fs::remove_dir(&*dir).is_ok() || !dir.exists() {
                return;
            }
            if std::time::Instant::now() > deadline {
                remove_later(dir.clone(), None);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// One environment's memory cgroup.
#[derive(Debug)]
pub(crate) struct Cgroup {
    dir: PathBuf,
    version: CgroupVersion,
    /// Opened by the parent; the child writes "0" (itself) to it before exec.
    procs: fs::File,
    /// The peak usage file, when the kernel has one.
    peak: Option<fs::File>,
}

impl Cgroup {
    pub(crate) fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }

    fn read_u64(&self, file: &str) -> Option<u64> {
        fs::read_to_string(self.dir.join(file)).ok()?.trim().parse().ok()
    }

    /// The most memory the environment has used, in bytes.
    pub(crate) fn peak_bytes(&self) -> Option<u64> {
        if let Some(f) = &self.peak {
            let mut buf = [0u8; 32];
            let n = std::os::unix::fs::FileExt::read_at(f, &mut buf, 0).ok()?;
            return std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok();
        }
        match self.version {
            CgroupVersion::V1 => self.read_u64("memory.max_usage_in_bytes"),
            CgroupVersion::V2 => self.read_u64("memory.peak").or_else(|| self.read_u64("memory.current")),
        }
    }

    /// Whether the kernel killed something in this cgroup for lack of memory.
    pub(crate) fn oom_killed(&self) -> bool {
        let (file, key) = match self.version {
            CgroupVersion::V1 => ("memory.oom_control", "oom_kill"),
            CgroupVersion::V2 => ("memory.events", "oom_kill"),
        };
        let Ok(text) = fs::read_to_string(self.dir.join(file)) else { return false };
        text.lines().any(|l| {
            let mut it = l.split_whitespace();
            it.next() == Some(key) && it.next().and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n > 0)
        })
    }

    /// SIGKILLs every process in the cgroup, including those that left the process group.
    pub(crate) fn kill_all(&self) {
        if self.version == CgroupVersion::V2 && write(&self.dir.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        for _ in 0..8 {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                sandbox::kill_pid(pid);
            }
        }
    }

    fn pids(&self) -> Vec<u32> {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(self.dir.join("cgroup.procs")) {
            let _ = f.read_to_string(&mut text);
        }
        text.lines().filter_map(|l| l.trim().parse().ok()).collect()
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.kill_all();
        remove_later(self.dir.clone(), Some(self.version));
    }
}

/// Removes what a server that died without cleaning up left: its environments' cgroups (and
/// the function processes still in them).
fn clean_stale(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("stratus-runtime-").and_then(|r| r.split('-').next()) else { continue };
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        let dir = entry.path();
        if let Ok(children) = fs::read_dir(&dir) {
            for child in children.flatten().filter(|c| c.path().is_dir()) {
                if let Ok(text) = fs::read_to_string(child.path().join("cgroup.procs")) {
                    for pid in text.lines().filter_map(|l| l.trim().parse().ok()) {
                        sandbox::kill_pid(pid);
                    }
                }
                remove_later(child.path(), Some(CgroupVersion::V1));
            }
        }
        remove_later(dir, None);
    }
}

/// Removes a cgroup directory once its processes are gone (the kernel refuses before), from a
/// short-lived thread so that dropping an environment never waits.
fn remove_later(dir: PathBuf, version: Option<CgroupVersion>) {
    if fs::remove_dir(&dir).is_ok() {
        return;
    }
    let _ = std::thread::Builder::new().name("stratus-cgroup-rm".into()).spawn(move || {
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(20));
            if version.is_some()
                && let Ok(text) = fs::read_to_string(dir.join("cgroup.procs"))
            {
                for pid in text.lines().filter_map(|l| l.trim().parse().ok()) {
                    sandbox::kill_pid(pid);
                }
            }
            if fs::remove_dir(&dir).is_ok() || !dir.exists() {
                return;
            }
        }
        tracing::warn!("cannot remove cgroup {}", dir.display());
    });
}

/// Peak resident memory of one process (`VmHWM`), for when there is no cgroup.
pub(crate) fn process_peak_bytes(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
