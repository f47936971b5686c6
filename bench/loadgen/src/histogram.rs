//! A small log-bucketed latency histogram (HdrHistogram-style, fixed memory).
//!
//! Values are nanoseconds. Every power-of-two range is split into
//! `2^SUB_BITS` linear sub-buckets, so a recorded value is reported with a
//! relative error below `1 / 2^SUB_BITS` (< 0.8 %). Values below
//! `2^(SUB_BITS + 1)` are stored exactly.

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS + 1) as usize) * (SUB as usize);

#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

fn index_of(value: u64) -> usize {
    let msb = 63 - (value | 1).leading_zeros();
    let shift = msb.saturating_sub(SUB_BITS);
    // `value >> shift` is in [SUB, 2*SUB) once shift > 0, so buckets of
    // consecutive octaves never overlap.
    (u64::from(shift) * SUB + (value >> shift)) as usize
}

/// Smallest and largest value that map to bucket `index`.
fn bounds_of(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < 2 * SUB {
        (index, index)
    } else {
        let shift = index / SUB - 1;
        let top = index - shift * SUB;
        let low = top << shift;
        (low, low + ((1u64 << shift) - 1))
    }
}

impl Histogram {
    pub fn new() -> Self {
        Self { counts: vec![0; BUCKETS], total: 0, sum: 0, min: u64::MAX, max: 0 }
    }

    pub fn record(&mut self, value: u64) {
        let idx = index_of(value);
        if let Some(slot) = self.counts.get_mut(idx) {
            *slot += 1;
        }
        self.total += 1;
        self.sum += u128::from(value);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Samples recorded.
    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        if self.total == 0 { 0 } else { self.max }
    }

    pub fn mean(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.sum as f64 / self.total as f64 }
    }

    /// Value at quantile `q` (0.0..=1.0): the upper bound of the bucket that
    /// holds the `ceil(q * n)`-th smallest sample, clamped to the exact
    /// min/max seen.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (idx, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (_, high) = bounds_of(idx);
                return high.clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut prev_high: Option<u64> = None;
        for idx in 0..BUCKETS {
            let (low, high) = bounds_of(idx);
            if idx < 2 * SUB as usize {
                // identity region: small values are stored exactly
                assert_eq!((low, high), (idx as u64, idx as u64));
            }
            if let Some(p) = prev_high {
                assert_eq!(low, p + 1, "gap before bucket {idx}");
            }
            assert!(high >= low);
            assert_eq!(index_of(low), idx);
            assert_eq!(index_of(high), idx);
            prev_high = Some(high);
        }
        assert_eq!(index_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn relative_error_is_small() {
        for v in [1u64, 77, 255, 256, 1000, 123_456, 9_999_999, 1 << 40] {
            let (low, high) = bounds_of(index_of(v));
            assert!(low <= v && v <= high);
            assert!((high - low) as f64 <= v as f64 / 100.0 + 1.0);
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.01, "{p50}");
        let p99 = h.quantile(0.99) as f64;
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.01, "{p99}");
        assert_eq!(h.quantile(1.0), 1_000_000);
        assert_eq!(h.max(), 1_000_000);
        let mut other = Histogram::new();
        other.record(5);
        h.merge(&other);
        assert_eq!(h.count(), 1001);
        assert_eq!(h.quantile(0.0), 5);
    }
}
