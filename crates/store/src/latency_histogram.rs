//! `LatencyHistogram`: a fixed-bucket histogram of durations updated with atomics only, cheap
//! enough for hot paths (no lock, no allocation) and read at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in microseconds (Prometheus `le` labels, 100 µs to 10 s).
pub const BUCKET_BOUNDS_MICROS: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// Counts of observations per bucket, their sum and total.
#[derive(Default)]
pub struct LatencyHistogram {
    /// Non-cumulative counts; the last slot holds observations above every bound.
    buckets: [AtomicU64; BUCKET_BOUNDS_MICROS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
}

/// A consistent-enough copy of a histogram, with cumulative bucket counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// `(upper bound in µs, observations <= bound)`, ascending.
    pub cumulative: Vec<(u64, u64)>,
    /// Every observation (the `+Inf` bucket).
    pub count: u64,
    /// Sum of the observations, µs.
    pub sum_micros: u64,
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let slot = BUCKET_BOUNDS_MICROS
            .iter()
            .position(|&b| micros <= b)
            .unwrap_or(BUCKET_BOUNDS_MICROS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Cumulative counts for exposition.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0;
        let cumulative = BUCKET_BOUNDS_MICROS
            .iter()
            .zip(self.buckets.iter())
            .map(|(&bound, n)| {
                running += n.load(Ordering::Relaxed);
                (bound, running)
            })
            .collect();
        let overflow = self.buckets[BUCKET_BOUNDS_MICROS.len()].load(Ordering::Relaxed);
        HistogramSnapshot {
            cumulative,
            // derived from the buckets so `+Inf` is never below the last bound's count
            count: running + overflow,
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let h = LatencyHistogram::new();
        h.observe(Duration::from_micros(50));
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.cumulative[0], (100, 1));
        assert_eq!(s.cumulative[1], (250, 1));
        assert_eq!(s.cumulative[2], (500, 2));
        assert_eq!(s.cumulative.last().unwrap().1, 2);
        assert_eq!(s.count, 3);
        assert_eq!(s.sum_micros, 50 + 300 + 60_000_000);
        assert_eq!(h.count(), 3);
    }
}
