//! The crate's only unsafe code: what runs in the child between `fork` and `exec`, sending
//! signals, and asking a pipe how much it holds. std offers neither setrlimit nor joining a cgroup before exec (joining after spawn
//! would let the child allocate, or start processes, outside its limit), nor `kill(2)` on a
//! process group or an arbitrary pid; these are thin wrappers over libc with the invariants
//! written next to each call.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What the child does to itself before exec.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChildLimits {
    /// `cgroup.procs` of the environment's cgroup, opened by the parent.
    pub cgroup_procs: Option<RawFd>,
    /// `RLIMIT_AS` in bytes, when there is no cgroup.
    pub address_space: Option<u64>,
    /// `RLIMIT_NOFILE` (Lambda allows 1,024 descriptors).
    pub open_files: u64,
}

/// The file system an environment sees when mount namespaces are available (the process runs
/// as root): its package read-only at `/var/task`, its layers read-only at `/opt`, the runtime
/// clients at `/var/runtime`, and a private `/tmp` — AWS's layout. The runtime directory's
/// `hosts` file, when there is one, is the environment's `/etc/hosts` (this server's host
/// names, such as `{api}.execute-api.localhost`, resolve to it).
#[derive(Debug, Clone)]
pub(crate) struct Mounts {
    pub task: CString,
    pub opt: CString,
    pub runtime: CString,
    pub tmp: CString,
    pub hosts: Option<CString>,
}

/// Where things are inside the sandbox.
pub(crate) const TASK: &str = "/var/task";
pub(crate) const OPT: &str = "/opt";
pub(crate) const RUNTIME: &str = "/var/runtime";
pub(crate) const TMP: &str = "/tmp";
/// The hosts file environments see, in the runtime directory.
pub(crate) const HOSTS_FILE: &str = "hosts";
const ETC_HOSTS: &str = "/etc/hosts";

impl Mounts {
    pub(crate) fn new(task: &Path, opt: &Path, runtime: &Path, tmp: &Path) -> Option<Mounts> {
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).ok();
        let hosts = runtime.join(HOSTS_FILE);
        let hosts = (hosts.is_file() && Path::new(ETC_HOSTS).is_file()).then(|| c(&hosts)).flatten();
        Some(Mounts { task: c(task)?, opt: c(opt)?, runtime: c(runtime)?, tmp: c(tmp)?, hosts })
    }
}

/// Enters a new mount namespace and lays out the sandbox. Runs in the child before exec: only
/// syscalls, on strings built before the fork.
fn enter(m: &Mounts) -> io::Result<()> {
    let check = |rc: libc::c_int| if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) };
    let root = c"/";
    let (task, opt, runtime, tmp) = (c"/var/task", c"/opt", c"/var/runtime", c"/tmp");
    let none = std::ptr::null::<libc::c_char>();
    let bind = libc::MS_BIND | libc::MS_REC;
    let read_only = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
    // SAFETY: unshare(2), mount(2) and chdir(2) are async-signal-safe system calls; every
    // pointer is a NUL-terminated string owned by `m` or a static, alive for the call.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS))?;
        // Nothing mounted here may leak back to the host.
        check(libc::mount(none, root.as_ptr(), none, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()))?;
        for (source, target) in [(&m.task, task), (&m.opt, opt), (&m.runtime, runtime)] {
            check(libc::mount(source.as_ptr(), target.as_ptr(), none, bind, std::ptr::null()))?;
            check(libc::mount(none, target.as_ptr(), none, read_only, std::ptr::null()))?;
        }
        if let Some(hosts) = &m.hosts {
            check(libc::mount(hosts.as_ptr(), c"/etc/hosts".as_ptr(), none, libc::MS_BIND, std::ptr::null()))?;
            check(libc::mount(none, c"/etc/hosts".as_ptr(), none, read_only, std::ptr::null()))?;
        }
        // The package's own directory, reachable by its host path too, is read-only as well.
        check(libc::mount(m.task.as_ptr(), m.task.as_ptr(), none, bind, std::ptr::null()))?;
        check(libc::mount(none, m.task.as_ptr(), none, read_only, std::ptr::null()))?;
        // Last: the host's /tmp may hold the paths mounted above.
        check(libc::mount(m.tmp.as_ptr(), tmp.as_ptr(), none, bind, std::ptr::null()))?;
        check(libc::chdir(task.as_ptr()))?;
    }
    Ok(())
}

/// Whether environments can be sandboxed here: the mount points exist (or can be made) and a
/// child can enter a mount namespace and lay it out.
pub(crate) fn probe(scratch: &Path) -> Result<(), String> {
    for dir in [TASK, OPT, RUNTIME] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
    }
    let sub = |n: &str| {
        let p = scratch.join(n);
        std::fs::create_dir_all(&p).map(|_| p)
    };
    let dirs = (|| Ok::<_, io::Error>((sub("task")?, sub("opt")?, sub("runtime")?, sub("tmp")?)))()
        .map_err(|e| format!("cannot prepare {}: {e}", scratch.display()))?;
    let mounts = Mounts::new(&dirs.0, &dirs.1, &dirs.2, &dirs.3).ok_or("bad path")?;
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", "test \"$(pwd)\" = /var/task && ! touch /var/task/x 2>/dev/null && touch /tmp/x"]);
    // SAFETY: as in `apply`: the hook only makes system calls on strings it owns.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || enter(&mounts));
    }
    let status = cmd.status().map_err(|e| format!("a sandboxed process did not start: {e}"))?;
    let _ = std::fs::remove_dir_all(scratch);
    if status.success() { Ok(()) } else { Err(format!("a sandboxed process failed its checks ({status})")) }
}

pub(crate) fn apply(cmd: &mut tokio::process::Command, limits: ChildLimits, mounts: Option<Mounts>) {
    let hook = move || -> io::Result<()> {
        if let Some(m) = &mounts {
            enter(m)?;
        }
        if let Some(fd) = limits.cgroup_procs {
            // SAFETY: write(2) is async-signal-safe; `fd` stays open in the parent until spawn
            // returns (the `Cgroup` owning it outlives the call), and the buffer is a static.
            // Writing "0" moves the writing process. A failure leaves the child unlimited rather
            // than not started; the parent has logged that the cgroup exists.
            let _ = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
        }
        // Best effort: a limit the parent already holds lower stays lower.
        let nofile = rlimit(limits.open_files);
        let core = rlimit(0);
        // SAFETY: setrlimit(2) is async-signal-safe; the rlimit values live on this stack.
        unsafe {
            libc::setrlimit(libc::RLIMIT_NOFILE, &nofile);
            libc::setrlimit(libc::RLIMIT_CORE, &core);
        }
        if let Some(bytes) = limits.address_space {
            let lim = rlimit(bytes);
            // SAFETY: as above.
            unsafe {
                libc::setrlimit(libc::RLIMIT_AS, &lim);
            }
        }
        Ok(())
    };
    // SAFETY: the hook only calls async-signal-safe functions (write, setrlimit) and touches
    // nothing but values copied into it; it allocates nothing.
    unsafe {
        cmd.pre_exec(hook);
    }
}

fn rlimit(value: u64) -> libc::rlimit {
    libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t }
}

/// SIGKILLs a process group. `pgid` is an environment's leader pid; 0 and 1 are refused, since
/// `kill(0)`/`kill(-1)` would reach the server itself or every process.
pub(crate) fn kill_group(pgid: u32) {
    if pgid > 1 && pgid <= i32::MAX as u32 {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(-(pgid as i32), libc::SIGKILL);
        }
    }
}

/// SIGKILLs one process (a member of an environment's cgroup). Refuses 0, 1 and the server.
pub(crate) fn kill_pid(pid: u32) {
    if pid > 1 && pid <= i32::MAX as u32 && pid != std::process::id() {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
    }
}

/// Whether a pipe holds no unread bytes (`FIONREAD`); false when it cannot be asked.
pub(crate) fn pipe_is_empty(pipe: &impl std::os::fd::AsRawFd) -> bool {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n` on this
    // stack; the descriptor is borrowed from a live pipe for the duration of the call.
    let rc = unsafe { libc::ioctl(pipe.as_raw_fd(), libc::FIONREAD, &mut n) };
    rc == 0 && n == 0
}
