//! Post-call reports: the worker that writes one for every call that ended, and the one
//! function the worker and `POST /v1/calls/{id}/report` share.

use super::{POLL_INTERVAL, nap};
use crate::AppState;
use crate::error::ApiError;
use crate::native::dto::AgentSettingsBody;
use callscope_analysis::Extractor;
use callscope_model::Call;

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

/// Writes the report of every call in the queue, forever.
pub(super) async fn run(state: AppState) {
    loop {
        let queued = match state.store.pending_reports(BATCH).await {
            Ok(queued) => queued,
            Err(error) => {
                tracing::error!(%error, "cannot read the report queue");
                Vec::new()
            }
        };
        let mut failed = false;
        for (organization, id) in &queued {
            if let Err(error) = report_one(&state, organization, id).await {
                tracing::error!(%error, call = %id, "post-call report failed; retrying later");
                failed = true;
            }
        }
        if queued.len() < BATCH || failed {
            nap(&state.signals.reports, POLL_INTERVAL).await;
        }
    }
}

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
        Err(error) => Err(format!("{error:?}")),
    }
}
