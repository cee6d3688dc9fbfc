//! What a store reports about itself for readiness and metrics (DESIGN §7): whether its
//! writer answers and its index keeps up, how much work is queued, how large it is.

use std::sync::atomic::{AtomicU64, Ordering};

/// A store's state at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreStatus {
    /// Writes waiting for the writer.
    pub writer_queue: u64,
    /// How long the writer's commits took, since the store opened.
    pub commits: HistogramSnapshot,
    /// The search index, when this store maintains one.
    pub index: Option<IndexStatus>,
    /// Whether the data directory takes a write, and why not.
    pub disk: Result<(), String>,
    /// Bytes of the database (with its write-ahead log) and of the search index.
    pub database_bytes: u64,
    pub index_bytes: u64,
    /// Calls waiting for their post-call report.
    pub reports_queued: u64,
    /// Webhook deliveries not yet delivered nor given up.
    pub deliveries_pending: u64,
}

/// How far the search index trails the store.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndexStatus {
    /// Whether the thread that follows the change log runs.
    pub follower_running: bool,
    /// Changes committed but not yet searchable.
    pub lag_changes: u64,
    /// Age of the oldest of them, in seconds (0 when there is none).
    pub lag_seconds: f64,
}

/// Observations counted by the bucket they fell in.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramSnapshot {
    pub count: u64,
    pub sum_seconds: f64,
    /// `(upper bound in seconds, observations above the bound before it and at or below
    /// this one)`, bounds ascending; the observations above the last bound are the rest of
    /// `count`.
    pub buckets: Vec<(f64, u64)>,
}

/// Bounds of the commit-time histogram, in seconds.
const COMMIT_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A histogram of durations that threads record into without a lock.
#[derive(Debug, Default)]
pub(crate) struct DurationHistogram {
    /// Observations per bound of `COMMIT_BOUNDS` (not cumulative), then above the last.
    counts: [AtomicU64; COMMIT_BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

impl DurationHistogram {
    pub(crate) fn record(&self, duration: std::time::Duration) {
        let seconds = duration.as_secs_f64();
        let at = COMMIT_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(COMMIT_BOUNDS.len());
        self.counts[at].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    #[allow(clippy::cast_precision_loss)] // a sum of nanoseconds, shown in seconds
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let buckets: Vec<(f64, u64)> = COMMIT_BOUNDS
            .iter()
            .zip(&self.counts)
            .map(|(bound, count)| (*bound, count.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum::<u64>()
            + self.counts[COMMIT_BOUNDS.len()].load(Ordering::Relaxed);
        HistogramSnapshot {
            count,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn observations_count_in_the_bucket_they_fall_in() {
        let histogram = DurationHistogram::default();
        histogram.record(Duration::from_micros(300));
        histogram.record(Duration::from_millis(3));
        histogram.record(Duration::from_secs(10));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 3);
        assert!((snapshot.sum_seconds - 10.0033).abs() < 1e-9);
        let at = |bound: f64| {
            snapshot
                .buckets
                .iter()
                .find(|(b, _)| (*b - bound).abs() < 1e-12)
                .map(|(_, n)| *n)
        };
        assert_eq!(at(0.0005), Some(1));
        assert_eq!(at(0.0025), Some(0));
        assert_eq!(at(0.005), Some(1));
        assert_eq!(at(2.5), Some(0));
    }
}
