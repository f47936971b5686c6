//! The crate's only unsafe code: what runs in the child between `fork` and `exec`, and sending
//! signals. std offers neither setrlimit nor joining a cgroup before exec (joining after spawn
//! would let the child allocate, or start processes, outside its limit), nor `kill(2)` on a
//! process group or an arbitrary pid; these are thin wrappers over libc with the invariants
//! written next to each call.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::RawFd;

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

pub(crate) fn apply(cmd: &mut tokio::process::Command, limits: ChildLimits) {
    let hook = move || -> io::Result<()> {
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
