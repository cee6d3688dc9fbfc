//! The background side of the call lifecycle (DESIGN §6): the worker that writes post-call
//! reports, the dispatcher that delivers webhooks, and the sweeper that closes idle traces. Both drain queues the store keeps in
//! the same transactions as the writes that fill them, so a restart resumes where the last
//! process stopped; a notification only saves waiting for the next poll.

mod reports;
mod retention;
mod traces;
mod webhooks;

pub use reports::{ReportSettings, run_report};
pub use retention::RetentionSettings;
pub use webhooks::WebhookSettings;

use crate::AppState;
use callscope_model::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How often the workers look at their queues when nobody woke them.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Wake-ups for the workers, and the request to stop.
#[derive(Debug, Default)]
pub struct Signals {
    reports: Notify,
    deliveries: Notify,
    /// Only the stop wakes the idle sweeper and the purge: they have nothing to do sooner.
    sweep: Notify,
    purge: Notify,
    stopping: AtomicBool,
}

impl Signals {
    /// Something may have queued a report or a delivery.
    pub fn wake(&self) {
        self.reports.notify_one();
        self.deliveries.notify_one();
    }

    /// Whether the workers were asked to stop: they take no new job.
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

/// The running background workers.
#[derive(Debug)]
pub struct Workers {
    signals: Arc<Signals>,
    handles: Vec<JoinHandle<()>>,
}

/// Starts the report worker and the webhook dispatcher on the current tokio runtime. They
/// run until [`Workers::stop`] (or the runtime's end); anything unfinished stays queued in the
/// store, and a job claimed but not finished is claimed again when its lease runs out.
pub fn spawn_workers(state: &AppState) -> Workers {
    Workers {
        signals: Arc::clone(&state.signals),
        handles: vec![
            tokio::spawn(reports::run(state.clone())),
            tokio::spawn(webhooks::run(state.clone())),
            tokio::spawn(traces::run(state.clone())),
            tokio::spawn(retention::run(state.clone())),
        ],
    }
}

impl Workers {
    /// Asks the workers to stop and waits, up to `deadline`, for the jobs in hand to end and
    /// be recorded; past it they are cut off, and their leases bring the jobs back later.
    pub async fn stop(self, deadline: Duration) {
        self.signals.stopping.store(true, Ordering::Release);
        self.signals.wake();
        self.signals.sweep.notify_one();
        self.signals.purge.notify_one();
        let mut handles = self.handles;
        let all = async {
            for handle in &mut handles {
                let _ = handle.await;
            }
        };
        if tokio::time::timeout(deadline, all).await.is_err() {
            tracing::warn!("background work still running at the shutdown deadline was cut off");
            for handle in &handles {
                handle.abort();
            }
        }
    }
}

/// How a background job is retried: up to `max_attempts` attempts (the first included), the
/// wait before each retry doubling from `base` up to `max`, with ±20 % jitter so jobs that
/// failed together are not all retried at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// When to try again after attempt `number` (from 1) failed at `now`, or `None` when the
    /// attempts are used up.
    pub fn retry_at(&self, number: u32, now: Timestamp) -> Option<Timestamp> {
        if number >= self.max_attempts {
            return None;
        }
        let doubled = self
            .base
            .saturating_mul(1 << number.saturating_sub(1).min(20))
            .min(self.max);
        // Jitter in [0.8, 1.2).
        let jitter = 0.8 + 0.4 * (f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX));
        let delay = doubled.as_secs_f64() * jitter * 1000.0;
        Some(now.plus_millis(delay as i64))
    }
}

/// How long a claimed job stays leased to its worker: past the longest the work may take
/// (`timeout`), twice over, so a lease runs out only when the worker is gone.
fn lease_ms(timeout: Duration) -> i64 {
    i64::try_from(timeout.saturating_mul(2).as_millis())
        .unwrap_or(i64::MAX / 2)
        .saturating_add(30_000)
}

/// Waits for `notify` or for `timeout`, whichever comes first.
async fn nap(notify: &Notify, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, notify.notified()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_within_jitter_and_stop_at_the_limit() {
        let backoff = Backoff {
            max_attempts: 4,
            base: Duration::from_secs(10),
            max: Duration::from_secs(30),
        };
        let now = Timestamp::now();
        let delay = |n| {
            backoff
                .retry_at(n, now)
                .map(|at| at.as_millis() - now.as_millis())
        };
        let first = delay(1).expect("retry");
        assert!((8_000..12_000).contains(&first), "{first}");
        let second = delay(2).expect("retry");
        assert!((16_000..24_000).contains(&second), "{second}");
        let capped = delay(3).expect("retry");
        assert!((24_000..36_000).contains(&capped), "{capped}");
        assert_eq!(delay(4), None);
    }
}
