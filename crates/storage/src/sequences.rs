//! Sequence numbers handed out from blocks: the hot counters (a queue's message numbers, a
//! shard's record numbers) would otherwise write their counter in every transaction.
//!
//! A block is reserved by advancing the durable counter (the same key [`crate::next_sequence`]
//! uses) by the block's size in a transaction; numbers are then taken from memory while the
//! counter still reads exactly the block's end. Anything that moves the counter — a rolled-back
//! reservation, [`crate::next_sequence`] on the same name, another node's reservation, a
//! restart — makes the next call reserve a fresh block above it. Numbers are therefore unique
//! and increasing in commit order, never reused; a restart leaves a gap.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{Result, StoreError, Txn, sys_key};

/// Per-name blocks (see the module documentation).
pub struct SequenceBlocks {
    size: u64,
    /// name → (reserved end, next number to hand out).
    held: Mutex<HashMap<String, (u64, u64)>>,
}

impl SequenceBlocks {
    /// Blocks of `size` numbers (at least 1).
    pub fn new(size: u64) -> Self {
        Self { size: size.max(1), held: Mutex::new(HashMap::new()) }
    }

    /// The next number of sequence `name`, inside a transaction.
    pub fn next(&self, txn: &mut dyn Txn, name: &str) -> Result<u64> {
        let key = sys_key("seq", name);
        let current = match txn.get(&key)? {
            Some(v) => {
                u64::from_be_bytes(v.as_slice().try_into().map_err(|_| StoreError::Io("corrupt sequence".into()))?)
            }
            None => 0,
        };
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((end, next)) = held.get_mut(name)
            && *end == current
            && *next <= *end
        {
            let n = *next;
            *next += 1;
            return Ok(n);
        }
        let end = current + self.size;
        txn.put(&key, &end.to_be_bytes())?;
        held.insert(name.to_string(), (end, current + 2));
        Ok(current + 1)
    }

    /// Forgets every block (the store was wiped).
    pub fn clear(&self) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
