//! A fault-injecting wrapper around any backend, for tests: fail the next writes before they
//! commit, after they commit (the client never hears of a commit that happened), or fail reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Backend, DoneFn, ReadFn, Result, StoreError, WriteFn};

pub struct FaultyBackend {
    inner: Arc<dyn Backend>,
    fail_writes: AtomicUsize,
    lose_acks: AtomicUsize,
    fail_reads: AtomicUsize,
}

fn take_one(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok()
}

impl FaultyBackend {
    pub fn new(inner: Arc<dyn Backend>) -> Self {
        Self {
            inner,
            fail_writes: AtomicUsize::new(0),
            lose_acks: AtomicUsize::new(0),
            fail_reads: AtomicUsize::new(0),
        }
    }

    /// The next `n` writes fail without committing anything.
    pub fn fail_next_writes(&self, n: usize) {
        self.fail_writes.store(n, Ordering::SeqCst);
    }

    /// The next `n` writes commit, but report a failure (a lost acknowledgement).
    pub fn lose_next_acks(&self, n: usize) {
        self.lose_acks.store(n, Ordering::SeqCst);
    }

    pub fn fail_next_reads(&self, n: usize) {
        self.fail_reads.store(n, Ordering::SeqCst);
    }
}

impl Backend for FaultyBackend {
    fn write(&self, f: WriteFn, done: DoneFn) {
        if take_one(&self.fail_writes) {
            return done(Err(StoreError::Injected));
        }
        if take_one(&self.lose_acks) {
            return self.inner.write(f, Box::new(move |_| done(Err(StoreError::Injected))));
        }
        self.inner.write(f, done)
    }

    fn read(&self, f: ReadFn) -> Result<()> {
        if take_one(&self.fail_reads) {
            return Err(StoreError::Injected);
        }
        self.inner.read(f)
    }

    fn catch_up(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        self.inner.catch_up()
    }

    fn reads_block(&self) -> bool {
        self.inner.reads_block()
    }

    fn short_reads_inline(&self) -> bool {
        self.inner.short_reads_inline()
    }

    fn close(&self) {
        self.inner.close()
    }

    fn name(&self) -> &'static str {
        "faulty"
    }
}
