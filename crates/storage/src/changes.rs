//! A version that moves whenever a service committed writes that readers may wait for (new
//! stream records), with a way to wait for it to move: readers (event source pollers, long
//! reads) sleep on it instead of polling the store.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

#[derive(Default)]
pub struct Changes {
    version: AtomicU64,
    notify: Notify,
}

impl Changes {
    /// Called after a commit that readers may want to see.
    pub fn bump(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// Returns once the version is no longer `since`.
    pub async fn changed_since(&self, since: u64) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.version() != since {
                return;
            }
            notified.await;
        }
    }
}
