//! Bookkeeping for a consumer that scans an outbox and hands records to concurrent tasks.
//!
//! A record is *claimed* when a task takes it, so later scans skip it while it runs. Once the
//! task has acknowledged (removed) it, the claim must still outlive every scan that began
//! before the acknowledgement committed: such a scan may read the record from its snapshot,
//! and would run it a second time. So scans are numbered (rounds), an acknowledged claim
//! remembers the round during which it was acknowledged, and is forgotten only at the end of a
//! later round.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct OutboxClaims {
    /// Sequence → `None` while its task runs, or the round during which it was acknowledged.
    claims: Arc<Mutex<HashMap<u64, Option<u64>>>>,
    round: Arc<AtomicU64>,
}

impl OutboxClaims {
    /// Starts a scan; pass the result to [`OutboxClaims::end_round`] when it is over.
    pub fn begin_round(&self) -> u64 {
        self.round.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Whether a task has the record (or had it, recently enough to matter).
    pub fn is_claimed(&self, seq: u64) -> bool {
        self.claims.lock().map(|c| c.contains_key(&seq)).unwrap_or(true)
    }

    /// Claims the record for a task; false if it is claimed already.
    pub fn claim(&self, seq: u64) -> bool {
        match self.claims.lock() {
            Ok(mut c) => match c.entry(seq) {
                Entry::Occupied(_) => false,
                Entry::Vacant(v) => {
                    v.insert(None);
                    true
                }
            },
            Err(_) => false,
        }
    }

    /// The task is done: `acknowledged` says whether the record left the outbox. If it did not
    /// (the acknowledgement failed), the next scan takes it again.
    pub fn release(&self, seq: u64, acknowledged: bool) {
        if let Ok(mut c) = self.claims.lock() {
            if acknowledged {
                c.insert(seq, Some(self.round.load(Ordering::SeqCst)));
            } else {
                c.remove(&seq);
            }
        }
    }

    /// Ends a scan: claims acknowledged before it began can no longer be read by any scan.
    pub fn end_round(&self, round: u64) {
        if let Ok(mut c) = self.claims.lock() {
            c.retain(|_, acked_in| acked_in.is_none_or(|r| r >= round));
        }
    }

    /// Forgets every claim (the outbox was wiped).
    pub fn clear(&self) {
        if let Ok(mut c) = self.claims.lock() {
            c.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acknowledged_record_is_skipped_until_a_later_scan_has_begun() {
        let c = OutboxClaims::default();
        let r1 = c.begin_round();
        assert!(c.claim(7));
        assert!(!c.claim(7), "one task per record");
        // Acknowledged while scan r1 may still be reading its snapshot.
        c.release(7, true);
        c.end_round(r1);
        assert!(c.is_claimed(7), "a scan that began before the acknowledgement may still see it");
        let r2 = c.begin_round();
        assert!(c.is_claimed(7));
        c.end_round(r2);
        let r3 = c.begin_round();
        c.end_round(r3);
        assert!(!c.is_claimed(7), "forgotten once no scan can read it");
        // A failed acknowledgement leaves the record to be taken again.
        assert!(c.claim(8));
        c.release(8, false);
        assert!(c.claim(8));
        c.clear();
        assert!(!c.is_claimed(8));
    }
}
