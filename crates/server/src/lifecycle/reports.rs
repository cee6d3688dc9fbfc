//! Post-call reports: the worker that writes one for every call that ended, and the one
//! function the worker and `POST /v1/calls/{id}/report` share.

use super::{Backoff, POLL_INTERVAL, lease_ms, nap};
use crate::AppState;
use crate::error::ApiError;
use crate::native::dto::AgentSettingsBody;
use callscope_analysis::Extractor;
use callscope_model::{Analysis, Call, Timestamp};
use callscope_store::ReportJob;
use std::time::Duration;

/// Calls taken from the queue per round.
const BATCH: usize = 16;

/// The extractors configured for the call's agent (none when unset).
async fn agent_extractors(state: &AppState, call: &Call) -> Result<Vec<Extractor>, ApiError> {
    let Some(agent) = call.agent.id.as_deref() else {
        return Ok(Vec::new());
    };
    let Some(settings) = state
        .store
        .agent_settings(&call.organization_id, agent)
        .await?
    else {
        return Ok(Vec::new());
    };
    serde_json::from_value::<AgentSettingsBody>(settings)
        .map(|settings| settings.extractors)
        .map_err(|e| ApiError::Internal(format!("stored settings of agent `{agent}`: {e}")))
}

/// Analyses `call` (the configured LLM first, the heuristic analyzer as the fallback) and
/// stores the report, queueing `call.analyzed`. Returns the call with its report.
pub async fn run_report(state: &AppState, call: Call) -> Result<Call, ApiError> {
    let extractors = agent_extractors(state, &call).await?;
    let llm = state.config.llm.clone();
    let (organization, id) = (call.organization_id.clone(), call.id.clone());
    // The LLM client blocks, and a heuristic pass over a long call is CPU work.
    let analysis = tokio::task::spawn_blocking(move || {
        callscope_analysis::analyze(&call, &extractors, llm.as_ref())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("analysis task failed: {e}")))?;
    let call = state
        .store
        .store_report(&organization, &id, analysis)
        .await?;
    state.signals.wake();
    Ok(call)
}

/// How post-call reports are retried when they fail.
#[derive(Clone, Copy, Debug)]
pub struct ReportSettings {
    /// Attempts per call and the waits between them; after the last, the call's report is
    /// stored as `failed` with the reason.
    pub retry: Backoff,
    /// Longest one analysis may take (the LLM's timeout, when one is configured): what a
    /// claimed job's lease is sized by.
    pub timeout: Duration,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            retry: Backoff {
                max_attempts: 5,
                base: Duration::from_secs(30),
                max: Duration::from_secs(3600),
            },
            timeout: Duration::from_secs(30),
        }
    }
}

/// Writes the report of every call in the queue, forever. Jobs are claimed with a lease, so
/// a crash mid-analysis retries the call once the lease runs out; a call whose analysis
/// fails is put off with back-off, and after its last attempt gets a `failed` report, so it
/// never holds up the calls queued after it.
pub(super) async fn run(state: AppState) {
    let lease = lease_ms(state.config.reports.timeout);
    while !state.signals.stopping() {
        let claimed = match state
            .store
            .claim_reports(Timestamp::now(), lease, BATCH)
            .await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "cannot claim post-call reports");
                Vec::new()
            }
        };
        for job in &claimed {
            // Stopping: the jobs not begun go back to the queue when their leases run out.
            if state.signals.stopping() {
                break;
            }
            report_job(&state, job).await;
        }
        if claimed.len() < BATCH {
            nap(&state.signals.reports, POLL_INTERVAL).await;
        }
    }
}

/// One claimed job: the report, or what follows its failure.
async fn report_job(state: &AppState, job: &ReportJob) {
    let (organization, id) = (job.organization_id.as_str(), job.call_id.as_str());
    let Err(reason) = report_one(state, organization, id).await else {
        state.metrics.report("stored");
        return;
    };
    let settings = &state.config.reports;
    let now = Timestamp::now();
    let outcome = match settings.retry.retry_at(job.attempt, now) {
        Some(at) => {
            state.metrics.report("retry");
            tracing::warn!(call = %id, attempt = job.attempt, %reason, "post-call report failed; retrying later");
            state
                .store
                .retry_report(organization, id, at, &reason)
                .await
        }
        None => {
            state.metrics.report("failed");
            tracing::error!(call = %id, attempt = job.attempt, %reason, "post-call report failed on its last attempt; storing it as failed");
            let failed = format!(
                "analysis failed {} times; the last error: {reason}",
                job.attempt
            );
            match state
                .store
                .store_report(organization, id, Analysis::failed(failed))
                .await
            {
                Ok(_) => {
                    state.signals.wake();
                    Ok(())
                }
                // Not even the failure could be stored: put the call off as long as a retry
                // ever waits, so it cannot spin.
                Err(error) => {
                    let at = now.plus_millis(
                        i64::try_from(settings.retry.max.as_millis()).unwrap_or(i64::MAX / 2),
                    );
                    tracing::error!(call = %id, %error, "cannot store a failed post-call report");
                    state
                        .store
                        .retry_report(organization, id, at, &error.to_string())
                        .await
                }
            }
        }
    };
    if let Err(error) = outcome {
        // The lease runs out and the job is claimed again.
        tracing::error!(call = %id, %error, "cannot record a failed post-call report");
    }
}

/// Reports one call; `Err` says why it could not.
async fn report_one(state: &AppState, organization: &str, id: &str) -> Result<(), String> {
    let call = state
        .store
        .get_call(organization, id)
        .await
        .map_err(|e| e.to_string())?;
    // A call deleted after it ended leaves nothing to report (its queue row went with it).
    let Some(call) = call else { return Ok(()) };
    match run_report(state, call).await {
        Ok(_) | Err(ApiError::NotFound(_)) => Ok(()),
        Err(error) => Err(error.to_string()),
    }
}
