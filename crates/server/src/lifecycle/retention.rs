//! The purge: every `interval`, deletes the calls past their retention (`purge.rs`), then
//! compacts the change log behind the index, both in bounded batches.

use super::nap;
use crate::AppState;
use crate::purge::purge_expired;
use callscope_model::Timestamp;
use std::time::Duration;

/// Change-log entries looked at per compaction step (one write transaction).
const COMPACTION_BATCH: usize = 1_000;

/// How long calls are kept when an organization says nothing, and how often the purge runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Days an organization without a retention of its own keeps its calls; `None` keeps
    /// them.
    pub default_days: Option<u32>,
    /// How often the purge looks.
    pub interval: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            default_days: None,
            interval: Duration::from_secs(3600),
        }
    }
}

pub(super) async fn run(state: AppState) {
    let settings = state.config.retention;
    while !state.signals.stopping() {
        match purge_expired(&state, Timestamp::now(), settings.default_days).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "deleted the calls past their retention"),
            Err(error) => tracing::error!(%error, "the retention purge failed; retrying later"),
        }
        let mut removed = 0;
        while !state.signals.stopping() {
            match state.store.compact_changes(COMPACTION_BATCH).await {
                Ok(step) if step.examined > 0 => {
                    removed += step.removed;
                    tokio::task::yield_now().await;
                }
                Ok(_) => break,
                Err(error) => {
                    tracing::error!(%error, "change-log compaction failed; retrying later");
                    break;
                }
            }
        }
        if removed > 0 {
            tracing::debug!(removed, "compacted the change log");
        }
        nap(&state.signals.purge, settings.interval).await;
    }
}
