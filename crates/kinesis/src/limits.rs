//! AWS's per-shard throughput limits, for streams that ask for them: tag a stream
//! `stratus:shard-limits` (any value; at CreateStream or with AddTagsToStream) and its shards
//! take at most 1,000 records and 1 MiB of writes and 5 GetRecords calls per second, answering
//! `ProvisionedThroughputExceededException` beyond — so an application's retry code can be
//! tested. Other streams are not limited. Counts are kept in memory per shard and second.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::stream::StreamRecord;

pub const TAG: &str = "stratus:shard-limits";
const WRITE_RECORDS: u32 = 1_000;
const WRITE_BYTES: u64 = 1 << 20;
const READS: u32 = 5;

#[derive(Default, Clone, Copy)]
struct Window {
    second: u64,
    records: u32,
    bytes: u64,
    reads: u32,
}

#[derive(Default)]
pub struct Limits {
    windows: Mutex<HashMap<(u64, u32), Window>>,
}

impl Limits {
    pub fn apply_to(st: &StreamRecord) -> bool {
        st.tags.contains_key(TAG)
    }

    fn with<T>(&self, stream: u64, shard: u32, now_ms: u64, f: impl FnOnce(&mut Window) -> T) -> T {
        let second = now_ms / 1000;
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > 10_000 {
            windows.retain(|_, w| w.second == second);
        }
        let w = windows.entry((stream, shard)).or_default();
        if w.second != second {
            *w = Window { second, ..Window::default() };
        }
        f(w)
    }

    /// Takes room for one record of `bytes` in the shard this second; false when its write
    /// limit is reached.
    pub fn write(&self, stream: u64, shard: u32, bytes: usize, now_ms: u64) -> bool {
        self.with(stream, shard, now_ms, |w| {
            let fits = w.records < WRITE_RECORDS && w.bytes + bytes as u64 <= WRITE_BYTES;
            if fits {
                w.records += 1;
                w.bytes += bytes as u64;
            }
            fits
        })
    }

    /// Takes room for one GetRecords call on the shard this second.
    pub fn read(&self, stream: u64, shard: u32, now_ms: u64) -> bool {
        self.with(stream, shard, now_ms, |w| {
            w.reads += 1;
            w.reads <= READS
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_shard_and_second() {
        let l = Limits::default();
        assert!((0..1000).all(|_| l.write(1, 0, 10, 5_000)));
        assert!(!l.write(1, 0, 10, 5_999));
        assert!(l.write(1, 1, 10, 5_999), "another shard has its own limit");
        assert!(l.write(1, 0, 10, 6_000), "a new second starts afresh");
        assert!(l.write(2, 0, 1 << 20, 0));
        assert!(!l.write(2, 0, 1, 0), "1 MiB per second");
        assert!((0..5).all(|_| l.read(3, 0, 0)));
        assert!(!l.read(3, 0, 0));
    }
}
