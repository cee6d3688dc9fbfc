//! Handlers of the call lifecycle on `/v1`: post-call reports, live transfers, webhook
//! endpoints and their deliveries, per-agent analysis settings and the organization's
//! recording policy. Each parses its input, asks the store, wakes the workers when it queued
//! something, and renders.

use super::dto::{
    AgentSettingsBody, DeliveriesParams, DeliveryView, EndpointView, OrganizationBody, ReportView,
    RotateParams, TransferStateView, TransferView,
};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, OptionalJsonBody, PathParams, QueryParams};
use crate::lifecycle::run_report;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_model::{
    Scope, Timestamp, TransferDraft, TransferReport, TransferStatus, WebhookDraft, validate_id,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn endpoint_not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("webhook endpoint `{id}` not found"))
}

/// Longest the check of a webhook URL may wait for its host to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Refuses a draft whose URL is malformed or whose host has an address webhooks may not
/// reach (loopback, private, link-local, … unless the operator allowed its range). The
/// dispatcher checks again at every delivery, against the addresses it connects to.
pub(crate) async fn check_destination(
    state: &AppState,
    draft: &WebhookDraft,
    creating: bool,
) -> Result<(), ApiError> {
    draft.validate(creating)?;
    let Some(url) = draft.url.clone() else {
        return Ok(());
    };
    let policy = Arc::clone(&state.config.webhooks.destinations);
    let resolved = tokio::time::timeout(
        RESOLVE_TIMEOUT,
        tokio::task::spawn_blocking(move || policy.check_url(&url)),
    )
    .await
    .map_err(|_| {
        ApiError::InvalidParameter(format!(
            "url: its host did not resolve within {} s",
            RESOLVE_TIMEOUT.as_secs()
        ))
    })?
    .map_err(|e| ApiError::Internal(format!("resolving a webhook host: {e}")))?;
    resolved.map_err(|refused| ApiError::InvalidParameter(format!("url: {refused}")))
}

// ---- reports -------------------------------------------------------------------------------

/// `GET /v1/calls/{id}/report`: seed 002's report object.
pub async fn get_report(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let call = state
        .store
        .get_call(caller.organization(), &id)
        .await?
        .ok_or_else(|| ApiError::call_not_found(&id))?;
    Ok(Json(ReportView::new(&call)).into_response())
}

/// `POST /v1/calls/{id}/report`: analyses the call now (again, if it has a report) and
/// stores the report; `call.analyzed` goes out to subscribed endpoints.
pub async fn create_report(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let call = state
        .store
        .get_call(caller.organization(), &id)
        .await?
        .ok_or_else(|| ApiError::call_not_found(&id))?;
    let call = run_report(&state, call).await?;
    let report = ReportView::new(&call);
    let analysis = call.analysis.as_ref();
    Ok(Json(json!({
        "session_id": call.id,
        "summary": report.summary(),
        "outcome": report.outcome(),
        "cost_micro_usd": report.cost_micro_usd(),
        "webhook": {
            "status": analysis.and_then(|a| a.webhook_status),
            "attempts": analysis.and_then(|a| a.webhook_attempts),
            "next_retry_at": analysis.and_then(|a| a.webhook_next_retry_at),
        },
    }))
    .into_response())
}

/// `GET /v1/agents/{agent_id}/analysis`: the agent's report settings.
pub async fn get_agent_settings(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(agent_id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let settings = state
        .store
        .agent_settings(caller.organization(), &agent_id)
        .await?
        .unwrap_or_else(|| json!({"extractors": []}));
    Ok(Json(settings).into_response())
}

/// `PUT /v1/agents/{agent_id}/analysis`: replaces the agent's extractors; each is checked
/// (a bad regex is refused by name) before anything is stored.
pub async fn put_agent_settings(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(agent_id): PathParams<String>,
    JsonBody(body): JsonBody<AgentSettingsBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let settings = agent_settings_value(&agent_id, &body)?;
    state
        .store
        .put_agent_settings(caller.organization(), &agent_id, settings.clone())
        .await?;
    Ok(Json(settings).into_response())
}

/// An agent's report settings as stored, once the agent id and every extractor passed (a bad
/// regex is refused by its position): what the API and the dashboard store.
pub(crate) fn agent_settings_value(
    agent_id: &str,
    body: &AgentSettingsBody,
) -> Result<serde_json::Value, ApiError> {
    validate_id("agent_id", agent_id)?;
    for (position, extractor) in body.extractors.iter().enumerate() {
        extractor
            .validate()
            .map_err(|e| ApiError::InvalidParameter(format!("extractors[{position}]: {e}")))?;
    }
    serde_json::to_value(body).map_err(|e| ApiError::Internal(e.to_string()))
}

// ---- transfers -----------------------------------------------------------------------------

/// `POST /v1/calls/{id}/transfers`: asks the runtime (through `transfer.updated`) to
/// transfer the caller, to `transfer_to` or to each of `targets` in turn.
pub async fn create_transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(draft): JsonBody<TransferDraft>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let transfer = draft.into_transfer(caller.organization(), &id, Timestamp::now())?;
    let transfer = state
        .store
        .create_transfer(caller.organization(), transfer)
        .await?;
    state.signals.wake();
    let view = TransferStateView::new(&transfer, std::slice::from_ref(&transfer), None);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `GET /v1/calls/{id}/transfers`: every attempt, oldest first.
pub async fn list_transfers(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let transfers = state
        .store
        .list_transfers(caller.organization(), &id)
        .await?
        .ok_or_else(|| ApiError::call_not_found(&id))?;
    let views: Vec<TransferView<'_>> = transfers.iter().map(TransferView::new).collect();
    Ok(Json(json!({ "transfers": views })).into_response())
}

/// `GET /v1/calls/{id}/transfers/{tid}`: one attempt with its chain.
pub async fn get_transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, transfer_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let chain = state
        .store
        .list_transfers(caller.organization(), &id)
        .await?
        .ok_or_else(|| ApiError::call_not_found(&id))?;
    let transfer = chain
        .iter()
        .find(|t| t.id == transfer_id)
        .ok_or_else(|| ApiError::NotFound(format!("transfer `{transfer_id}` not found")))?;
    Ok(Json(TransferStateView::new(transfer, &chain, None)).into_response())
}

/// Applies a step to an attempt and renders the attempt with its chain.
async fn step(
    state: &AppState,
    caller: &Caller,
    id: &str,
    transfer_id: &str,
    report: TransferReport,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    let (step, chain) = state
        .store
        .report_transfer(caller.organization(), id, transfer_id, report)
        .await?;
    state.signals.wake();
    let view = TransferStateView::new(&step.transfer, &chain, step.next.as_ref());
    Ok(Json(view).into_response())
}

/// `POST /v1/calls/{id}/transfers/{tid}/status`: the runtime reports progress.
pub async fn report_transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, transfer_id)): PathParams<(String, String)>,
    JsonBody(report): JsonBody<TransferReport>,
) -> Result<Response, ApiError> {
    step(&state, &caller, &id, &transfer_id, report).await
}

/// A cancel or complete shortcut's body: everything a status report carries but the status.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShortcutBody {
    #[serde(default)]
    failure_cause: Option<String>,
    #[serde(default)]
    summary: Option<String>,
}

async fn shortcut(
    state: &AppState,
    caller: &Caller,
    id: &str,
    transfer_id: &str,
    status: TransferStatus,
    body: ShortcutBody,
) -> Result<Response, ApiError> {
    let report = TransferReport {
        status,
        failure_cause: body.failure_cause,
        recipient_participant_identity: None,
        consultation_room_name: None,
        summary: body.summary,
        metadata: None,
    };
    step(state, caller, id, transfer_id, report).await
}

/// `POST /v1/calls/{id}/transfers/{tid}/cancel`.
pub async fn cancel_transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, transfer_id)): PathParams<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<ShortcutBody>,
) -> Result<Response, ApiError> {
    shortcut(
        &state,
        &caller,
        &id,
        &transfer_id,
        TransferStatus::Canceled,
        body,
    )
    .await
}

/// `POST /v1/calls/{id}/transfers/{tid}/complete`.
pub async fn complete_transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, transfer_id)): PathParams<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<ShortcutBody>,
) -> Result<Response, ApiError> {
    shortcut(
        &state,
        &caller,
        &id,
        &transfer_id,
        TransferStatus::Completed,
        body,
    )
    .await
}

// ---- webhooks ------------------------------------------------------------------------------

/// `POST /v1/webhooks`: a new endpoint; the answer is the only one that shows the secret
/// besides a rotation's.
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(draft): JsonBody<WebhookDraft>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    check_destination(&state, &draft, true).await?;
    let endpoint = state
        .store
        .create_webhook(caller.organization(), draft)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EndpointView::with_secret(&endpoint)),
    )
        .into_response())
}

/// `GET /v1/webhooks`.
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let endpoints = state.store.list_webhooks(caller.organization()).await?;
    let views: Vec<EndpointView<'_>> = endpoints.iter().map(EndpointView::new).collect();
    Ok(Json(json!({ "webhooks": views })).into_response())
}

/// `GET /v1/webhooks/{id}`.
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let endpoint = state
        .store
        .get_webhook(caller.organization(), &id)
        .await?
        .ok_or_else(|| endpoint_not_found(&id))?;
    Ok(Json(EndpointView::new(&endpoint)).into_response())
}

/// `PATCH /v1/webhooks/{id}`: url, events, description, enabled.
pub async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(draft): JsonBody<WebhookDraft>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    check_destination(&state, &draft, false).await?;
    let endpoint = state
        .store
        .update_webhook(caller.organization(), &id, draft)
        .await?;
    state.signals.wake();
    Ok(Json(EndpointView::new(&endpoint)).into_response())
}

/// `DELETE /v1/webhooks/{id}`: the endpoint and its delivery log.
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    if state
        .store
        .delete_webhook(caller.organization(), &id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(endpoint_not_found(&id))
    }
}

/// `POST /v1/webhooks/{id}/rotate-secret?grace_seconds=`: a new secret; the old one keeps
/// signing (beside the new) for the grace period, 24 hours by default.
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<RotateParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let endpoint = state
        .store
        .rotate_webhook_secret(caller.organization(), &id, params.grace_ms()?)
        .await?;
    Ok(Json(EndpointView::with_secret(&endpoint)).into_response())
}

/// `GET /v1/webhooks/{id}/deliveries?limit=`: newest first, each with its attempts.
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<DeliveriesParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let deliveries = state
        .store
        .list_deliveries(
            caller.organization(),
            &id,
            params.limit(&state.config.limits)?,
        )
        .await?
        .ok_or_else(|| endpoint_not_found(&id))?;
    let views: Vec<DeliveryView<'_>> = deliveries.iter().map(DeliveryView::new).collect();
    Ok(Json(json!({ "deliveries": views })).into_response())
}

/// `POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver`: sends the event again.
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, delivery_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let delivery = state
        .store
        .redeliver(caller.organization(), &id, &delivery_id)
        .await?;
    state.signals.wake();
    Ok((StatusCode::ACCEPTED, Json(DeliveryView::new(&delivery))).into_response())
}

// ---- organization --------------------------------------------------------------------------

/// `GET /v1/organization`: the caller's organization settings.
pub async fn get_organization(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let organization = caller.organization();
    let public = state.store.public_recordings(organization).await?;
    let retention = state.store.retention(organization).await?;
    let redaction = state.store.redaction(organization).await?;
    let default = state.config.retention.default_days;
    Ok(Json(json!({
        "id": organization,
        "public_recordings": public,
        "retention_days": retention.days,
        "default_retention_days": default,
        "effective_retention_days": crate::purge::effective_days(&retention, None, default),
        "agent_retention_days": retention.agents,
        "redaction": redaction,
    }))
    .into_response())
}

/// `PATCH /v1/organization`: seed 001's "Public Recordings" switch, the retention of the
/// organization's calls and its redaction.
pub async fn update_organization(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<OrganizationBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    // Checked before anything changes, so a bad value leaves the switch as it was too.
    let retention = body
        .retention_days
        .map(super::retention::checked_days)
        .transpose()?;
    // First, so a refused setting (the store compiles it, naming the field) changes nothing.
    if let Some(redaction) = body.redaction {
        state
            .store
            .set_redaction(caller.organization(), redaction)
            .await?;
    }
    if let Some(days) = retention {
        state
            .store
            .set_retention(caller.organization(), None, days)
            .await?;
    }
    if let Some(public) = body.public_recordings {
        state
            .store
            .set_public_recordings(caller.organization(), public)
            .await?;
    }
    get_organization(State(state), caller).await
}
