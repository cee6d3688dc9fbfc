//! The idle sweeper of OpenTelemetry traces: a trace whose root span has not come after
//! `otlp.idle_timeout` without any span (the runtime crashed, or lost its exporter) is closed,
//! and its call ends with `disconnection_reason: timeout` and gets its report.

use super::nap;
use crate::AppState;
use crate::otlp::trace_builder;
use callscope_model::Timestamp;
use std::time::Duration;

/// Traces closed per look.
const BATCH: usize = 100;

/// How often the sweeper looks: a tenth of the timeout, between 100 ms and 10 s.
fn interval(idle_timeout: Duration) -> Duration {
    (idle_timeout / 10).clamp(Duration::from_millis(100), Duration::from_secs(10))
}

pub(super) async fn run(state: AppState) {
    let timeout = state.config.otlp.idle_timeout;
    let every = interval(timeout);
    while !state.signals.stopping() {
        let millis = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let before = Timestamp::now().plus_millis(-millis);
        let idle = match state.store.idle_traces(before, BATCH).await {
            Ok(idle) => idle,
            Err(error) => {
                tracing::error!(%error, "cannot list idle traces");
                Vec::new()
            }
        };
        for (organization, trace_id) in &idle {
            if state.signals.stopping() {
                break;
            }
            let builder = trace_builder(organization, state.config.prices.clone());
            match state
                .store
                .close_trace(organization, trace_id, before, builder)
                .await
            {
                Ok(Some(_)) => state.signals.wake(),
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "cannot close an idle trace"),
            }
        }
        if idle.len() < BATCH {
            nap(&state.signals.sweep, every).await;
        }
    }
}
