//! The background side of the call lifecycle (DESIGN §6): the worker that writes post-call
//! reports and the dispatcher that delivers webhooks. Both drain queues the store keeps in
//! the same transactions as the writes that fill them, so a restart resumes where the last
//! process stopped; a notification only saves waiting for the next poll.

mod reports;
mod webhooks;

pub use reports::run_report;
pub use webhooks::WebhookSettings;

use crate::AppState;
use std::time::Duration;
use tokio::sync::Notify;

/// How often the workers look at their queues when nobody woke them.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Wake-ups for the workers.
#[derive(Debug, Default)]
pub struct Signals {
    reports: Notify,
    deliveries: Notify,
}

impl Signals {
    /// Something may have queued a report or a delivery.
    pub fn wake(&self) {
        self.reports.notify_one();
        self.deliveries.notify_one();
    }
}

/// Starts the report worker and the webhook dispatcher on the current tokio runtime. They
/// run until the runtime stops; anything unfinished stays queued in the store.
pub fn spawn_workers(state: &AppState) {
    tokio::spawn(reports::run(state.clone()));
    tokio::spawn(webhooks::run(state.clone()));
}

/// Waits for `notify` or for `timeout`, whichever comes first.
async fn nap(notify: &Notify, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, notify.notified()).await;
}
