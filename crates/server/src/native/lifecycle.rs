//! Handlers of the call lifecycle on `/v1`: post-call reports, live transfers, webhook
//! endpoints and their deliveries, per-agent analysis settings and the organization's
//! recording policy. Each parses its input, asks the store, wakes the workers when it queued
//! something, and renders.

use super::dto::{
    AgentSettingsBody, DeliveriesParams, DeliveryView, EndpointView, OrganizationBody, ReportView,
    RotateParams, TransferStateView, TransferView,
};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, JsonBody, OptionalJsonBody, PathParams, QueryParams};
use crate::lifecycle::run_report;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_model::{
    Scope, Timestamp, TransferDraft, TransferReport, TransferStatus, WebhookDraft, WebhookStatus,
    validate_id,
};
use callscope_redact::RedactionSettings;
use std::collections::BTreeMap;
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

/// The post-call report of one call.
///
/// Seed 002's report object: summary, outcome, structured data, the transcript, cost in
/// micro-USD with its breakdown, the scheduled callback, where the analysis stands and the
/// delivery of the post-call webhook. Fields are `null` until the call has a report. Needs
/// the `read` scope.
#[utoipa::path(
    get,
    path = "/calls/{id}/report",
    tag = "reports",
    operation_id = "get_report",
    params(("id" = String, Path, description = "The call's id")),
    responses(
        (status = 200, description = "The call's report", body = ReportView),
        (status = 404, description = "No call with this id in the key's organization", body = ErrorBody),
    ),
)]
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

/// The answer of a report run (seed 002's): the new report's headline and where its
/// `call.analyzed` webhook stands. `GET /v1/calls/{id}/report` has the whole report.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReportRunView<'a> {
    /// The call's id.
    session_id: &'a str,
    summary: Option<&'a str>,
    /// The outcome label (`resolved`, `callback_requested`, `transferred`, …).
    outcome: Option<&'a str>,
    /// The call's total cost in micro-USD, as a decimal string.
    cost_micro_usd: Option<&'a str>,
    webhook: ReportWebhookView,
}

/// Where the delivery of a report's `call.analyzed` event stands.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReportWebhookView {
    /// `not_configured` when no endpoint subscribes to `call.analyzed`.
    status: Option<WebhookStatus>,
    /// Attempts made so far.
    attempts: Option<u32>,
    /// When the next attempt is due.
    next_retry_at: Option<Timestamp>,
}

/// Analyses a call now and stores its report.
///
/// Runs the configured LLM analyzer (the heuristic one when none is configured or it
/// fails) with the agent's extractors, again if the call already has a report, and queues
/// `call.analyzed` for the subscribed webhook endpoints. Answers once the report is stored.
/// Needs the `write` scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/report",
    tag = "reports",
    operation_id = "create_report",
    params(("id" = String, Path, description = "The call's id")),
    responses(
        (status = 200, description = "The report was made and stored", body = ReportRunView),
        (status = 404, description = "No call with this id in the key's organization", body = ErrorBody),
    ),
)]
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
    Ok(Json(ReportRunView {
        session_id: &call.id,
        summary: report.summary(),
        outcome: report.outcome(),
        cost_micro_usd: report.cost_micro_usd(),
        webhook: ReportWebhookView {
            status: analysis.and_then(|a| a.webhook_status),
            attempts: analysis.and_then(|a| a.webhook_attempts),
            next_retry_at: analysis.and_then(|a| a.webhook_next_retry_at),
        },
    })
    .into_response())
}

/// The report settings of one agent.
///
/// The extractors that fill `structured_data` in the reports of the agent's calls; none
/// (`{"extractors": []}`) when the agent has no settings. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/agents/{agent_id}/analysis",
    tag = "reports",
    operation_id = "get_agent_settings",
    params(("agent_id" = String, Path, description = "The agent's id (`agent.id` of its calls)")),
    responses(
        (status = 200, description = "The agent's report settings", body = AgentSettingsBody),
    ),
)]
pub async fn get_agent_settings(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(agent_id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    // What is stored is an `AgentSettingsBody` as `agent_settings_value` rendered it.
    let stored = state
        .store
        .agent_settings(caller.organization(), &agent_id)
        .await?;
    Ok(match stored {
        Some(settings) => Json(settings).into_response(),
        None => Json(AgentSettingsBody {
            extractors: Vec::new(),
        })
        .into_response(),
    })
}

/// Replaces the report settings of one agent.
///
/// The extractors apply to the reports made from now on (`POST /v1/calls/{id}/report`
/// makes one again). Each is checked before anything is stored: a bad regex, or a
/// `pattern` on a type other than `regex`, is refused with its position. Needs the `write`
/// scope.
#[utoipa::path(
    put,
    path = "/agents/{agent_id}/analysis",
    tag = "reports",
    operation_id = "put_agent_settings",
    params(("agent_id" = String, Path, description = "The agent's id (`agent.id` of its calls)")),
    request_body(content = AgentSettingsBody, example = json!({"extractors": [
        {"name": "order_number", "type": "regex", "pattern": "order (?:number )?#?([A-Z0-9]{6,})"},
        {"name": "callback_date", "type": "date", "question": "when .* call you back"},
        {"name": "email", "type": "email"},
        {"name": "wants_newsletter", "type": "yes_no", "question": "newsletter"}
    ]})),
    responses(
        (status = 200, description = "The settings as stored", body = AgentSettingsBody),
        (status = 400, description = "An invalid agent id, or an extractor refused (named by its position in `extractors`)", body = ErrorBody),
    ),
)]
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

/// Starts a live transfer of the call to a person or another agent.
///
/// Asks the runtime holding the call (through the `transfer.updated` webhook) to hand the
/// caller over, `blind` or `warm` (after a consultation), to `transfer_to` or to each of
/// `targets` in turn (1 to 10): when an attempt fails the next target gets a new attempt,
/// and when none is left the `fallback` applies. The answer is the first attempt, in status
/// `requested`. Only a call in progress with no live transfer can be transferred. Needs the
/// `write` scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/transfers",
    tag = "transfers",
    operation_id = "create_transfer",
    params(("id" = String, Path, description = "The call's id")),
    request_body(content = TransferDraft, example = json!({
        "kind": "warm",
        "targets": ["+15551230001", "sip:frontdesk@pbx.example.com"],
        "summary": "Caller wants to move Tuesday's appointment; prefers mornings.",
        "fallback": {"action": "scheduled_callback", "after_minutes": 30}
    })),
    responses(
        (status = 201, description = "The first attempt, with its chain", body = TransferStateView),
        (status = 400, description = "An invalid request: no target or both `transfer_to` and `targets`, more than 10 targets, an empty target or an invalid `id`", body = ErrorBody),
        (status = 404, description = "No call with this id in the key's organization", body = ErrorBody),
        (status = 409, description = "The call has ended, a transfer of the call is still live, or the transfer id is taken", body = ErrorBody),
    ),
)]
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

/// A call's transfer attempts.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TransfersView<'a> {
    /// Every attempt of every transfer of the call, oldest first.
    transfers: Vec<TransferView<'a>>,
}

/// Lists the transfer attempts of a call.
///
/// Every attempt of every transfer request of the call, oldest first; the attempts of one
/// request share `chain_id`. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/calls/{id}/transfers",
    tag = "transfers",
    operation_id = "list_transfers",
    params(("id" = String, Path, description = "The call's id")),
    responses(
        (status = 200, description = "The call's transfer attempts", body = TransfersView),
        (status = 404, description = "No call with this id in the key's organization", body = ErrorBody),
    ),
)]
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
    let transfers = transfers.iter().map(TransferView::new).collect();
    Ok(Json(TransfersView { transfers }).into_response())
}

/// One transfer attempt, with its chain.
///
/// `routing_attempts` are the earlier attempts of the same request, `next_transfer` the
/// attempt that followed this one when it failed with targets left. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/calls/{id}/transfers/{tid}",
    tag = "transfers",
    operation_id = "get_transfer",
    params(
        ("id" = String, Path, description = "The call's id"),
        ("tid" = String, Path, description = "The transfer attempt's id"),
    ),
    responses(
        (status = 200, description = "The attempt with its chain", body = TransferStateView),
        (status = 404, description = "No call with this id in the key's organization, or no attempt with this id on the call", body = ErrorBody),
    ),
)]
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

/// Reports the progress of a transfer attempt.
///
/// What the runtime sends as the attempt goes: `requested` → `dialing` → `ringing` →
/// (`consulting`, warm transfers only) → `completed`, or out to `failed` or `canceled` from
/// any live status. Reporting the status the attempt already has changes nothing, so a
/// report may be retried. A `failed` attempt with targets left starts the next attempt
/// (`next_transfer`); the last one applies the fallback. Each change goes out as
/// `transfer.updated`. Needs the `write` scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/transfers/{tid}/status",
    tag = "transfers",
    operation_id = "report_transfer",
    params(
        ("id" = String, Path, description = "The call's id"),
        ("tid" = String, Path, description = "The transfer attempt's id"),
    ),
    request_body(content = TransferReport, example = json!({
        "status": "ringing",
        "recipient_participant_identity": "sip_+15551230001"
    })),
    responses(
        (status = 200, description = "The attempt after the report, with its chain", body = TransferStateView),
        (status = 404, description = "No call with this id in the key's organization, or no attempt with this id on the call", body = ErrorBody),
        (status = 409, description = "The attempt cannot move to this status from the one it is in (`error` lists the statuses it may move to)", body = ErrorBody),
    ),
)]
pub async fn report_transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, transfer_id)): PathParams<(String, String)>,
    JsonBody(report): JsonBody<TransferReport>,
) -> Result<Response, ApiError> {
    step(&state, &caller, &id, &transfer_id, report).await
}

/// A cancel or complete shortcut's body: everything a status report carries but the status.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortcutBody {
    /// Why the attempt ended, kept on the attempt.
    #[serde(default)]
    failure_cause: Option<String>,
    /// What the agent hands the human (warm transfers).
    #[serde(default)]
    summary: Option<String>,
}

async fn shortcut(
    state: &AppState,
    caller: &Caller,
    id: &str,
    transfer_id: &str,
    status: TransferStatus,
    body: Option<ShortcutBody>,
) -> Result<Response, ApiError> {
    // No body, or `null`, is a step without detail.
    let body = body.unwrap_or_default();
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

/// Cancels a live transfer attempt.
///
/// The same as reporting the status `canceled`; the body, optional, adds a reason.
/// Canceling an attempt already canceled changes nothing; one that completed or failed
/// cannot be canceled. Needs the `write` scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/transfers/{tid}/cancel",
    tag = "transfers",
    operation_id = "cancel_transfer",
    params(
        ("id" = String, Path, description = "The call's id"),
        ("tid" = String, Path, description = "The transfer attempt's id"),
    ),
    request_body(
        content = Option<ShortcutBody>,
        description = "Optional: an empty body (or `null`) cancels without a reason",
        example = json!({"failure_cause": "caller_hung_up"}),
    ),
    responses(
        (status = 200, description = "The canceled attempt, with its chain", body = TransferStateView),
        (status = 404, description = "No call with this id in the key's organization, or no attempt with this id on the call", body = ErrorBody),
        (status = 409, description = "The attempt is over (completed or failed)", body = ErrorBody),
    ),
)]
pub async fn cancel_transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, transfer_id)): PathParams<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<Option<ShortcutBody>>,
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

/// Marks a transfer attempt as completed: the target took the call.
///
/// The same as reporting the status `completed`, allowed from `ringing` for a blind
/// transfer and from `consulting` for a warm one; the body, optional, adds the summary
/// handed over. Completing an attempt already completed changes nothing. Needs the `write`
/// scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/transfers/{tid}/complete",
    tag = "transfers",
    operation_id = "complete_transfer",
    params(
        ("id" = String, Path, description = "The call's id"),
        ("tid" = String, Path, description = "The transfer attempt's id"),
    ),
    request_body(
        content = Option<ShortcutBody>,
        description = "Optional: an empty body (or `null`) completes the attempt as it is",
        example = json!({"summary": "Briefed the front desk: reschedule to Tuesday morning."}),
    ),
    responses(
        (status = 200, description = "The completed attempt, with its chain", body = TransferStateView),
        (status = 404, description = "No call with this id in the key's organization, or no attempt with this id on the call", body = ErrorBody),
        (status = 409, description = "The attempt cannot complete from the status it is in (`error` lists the statuses it may move to)", body = ErrorBody),
    ),
)]
pub async fn complete_transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((id, transfer_id)): PathParams<(String, String)>,
    OptionalJsonBody(body): OptionalJsonBody<Option<ShortcutBody>>,
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

/// Creates a webhook endpoint that receives call events.
///
/// Every event the endpoint subscribes to (`call.started`, `call.ended`, `call.analyzed`,
/// `transfer.updated`) is sent to `url`, signed with the endpoint's secret and retried until
/// delivered. This answer is the only one that shows the secret, besides a rotation's. The
/// URL's host must resolve to an address webhooks may reach (not loopback, private or
/// link-local, unless the operator allowed it). Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    operation_id = "create_webhook",
    request_body(content = WebhookDraft, example = json!({
        "url": "https://hooks.example.com/callscope",
        "events": ["call.ended", "call.analyzed"],
        "description": "CRM sync"
    })),
    responses(
        (status = 201, description = "The endpoint, with its secret", body = EndpointView),
        (status = 400, description = "No `url` or `events`, a malformed URL, or a host webhooks may not reach", body = ErrorBody),
    ),
)]
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

/// The organization's webhook endpoints.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhooksView<'a> {
    /// Oldest first, without their secrets.
    webhooks: Vec<EndpointView<'a>>,
}

/// Lists the organization's webhook endpoints.
///
/// Oldest first; secrets are not shown. Needs the `admin` scope.
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    operation_id = "list_webhooks",
    responses(
        (status = 200, description = "The endpoints", body = WebhooksView),
    ),
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let endpoints = state.store.list_webhooks(caller.organization()).await?;
    let webhooks = endpoints.iter().map(EndpointView::new).collect();
    Ok(Json(WebhooksView { webhooks }).into_response())
}

/// One webhook endpoint.
///
/// Its secret is not shown. Needs the `admin` scope.
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    operation_id = "get_webhook",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint", body = EndpointView),
        (status = 404, description = "No webhook endpoint with this id in the key's organization", body = ErrorBody),
    ),
)]
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

/// Changes a webhook endpoint.
///
/// Sets what the body gives of `url`, `events`, `description` and `enabled`, and leaves the
/// rest. A disabled endpoint gets no new events, and the deliveries already queued for it
/// wait until it is enabled again. Needs the `admin` scope.
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    operation_id = "update_webhook",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body(content = WebhookDraft, example = json!({
        "events": ["call.ended", "call.analyzed", "transfer.updated"],
        "enabled": true
    })),
    responses(
        (status = 200, description = "The endpoint after the change", body = EndpointView),
        (status = 400, description = "A malformed URL, a host webhooks may not reach, or an empty `events`", body = ErrorBody),
        (status = 404, description = "No webhook endpoint with this id in the key's organization", body = ErrorBody),
    ),
)]
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

/// Deletes a webhook endpoint and its delivery log.
///
/// Deliveries still queued for it are dropped. Needs the `admin` scope.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    operation_id = "delete_webhook",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "The endpoint is deleted"),
        (status = 404, description = "No webhook endpoint with this id in the key's organization", body = ErrorBody),
    ),
)]
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

/// Gives a webhook endpoint a new signing secret.
///
/// The answer shows the new secret. For the grace period (`grace_seconds`, 24 hours by
/// default, 0 to end it now) deliveries are signed with both the old and the new secret,
/// so the receiver can switch without missing one; `previous_secret_expires_at` says when
/// the old one stops. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    operation_id = "rotate_webhook_secret",
    params(("id" = String, Path, description = "The endpoint's id"), RotateParams),
    responses(
        (status = 200, description = "The endpoint, with its new secret", body = EndpointView),
        (status = 400, description = "`grace_seconds` is not a whole number from 0 to 2592000", body = ErrorBody),
        (status = 404, description = "No webhook endpoint with this id in the key's organization", body = ErrorBody),
    ),
)]
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

/// A webhook endpoint's deliveries.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveriesView<'a> {
    /// Newest first, each with the log of its attempts.
    deliveries: Vec<DeliveryView<'a>>,
}

/// Lists the deliveries of a webhook endpoint.
///
/// Newest first, each with its status (`pending`, `delivered`, `failed`), the log of its
/// attempts (status code or error, duration) and when the next attempt is due. Needs the
/// `admin` scope.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    operation_id = "list_deliveries",
    params(("id" = String, Path, description = "The endpoint's id"), DeliveriesParams),
    responses(
        (status = 200, description = "The endpoint's deliveries", body = DeliveriesView),
        (status = 400, description = "`limit` is not a whole number from 1 to the server's `max_page_size`", body = ErrorBody),
        (status = 404, description = "No webhook endpoint with this id in the key's organization", body = ErrorBody),
    ),
)]
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
    let deliveries = deliveries.iter().map(DeliveryView::new).collect();
    Ok(Json(DeliveriesView { deliveries }).into_response())
}

/// Sends the event of one delivery to the webhook endpoint again.
///
/// Queues a new delivery of the same event (same `event_id`, `redelivery_of` naming the
/// original, which is no longer retried) and answers at once; the dispatcher sends it
/// shortly, whether or not the original was delivered. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    operation_id = "redeliver",
    params(
        ("id" = String, Path, description = "The endpoint's id"),
        ("delivery_id" = String, Path, description = "The id of the delivery to send again"),
    ),
    responses(
        (status = 202, description = "The new delivery, queued", body = DeliveryView),
        (status = 404, description = "No webhook endpoint with this id in the key's organization, or no delivery with this id to it", body = ErrorBody),
    ),
)]
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

/// The settings of the key's organization.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OrganizationView<'a> {
    /// The organization's id.
    id: &'a str,
    /// Whether recording links are served without a signature (seed 001's "Public
    /// Recordings").
    public_recordings: bool,
    /// Days the organization's calls are kept; `null` when it set none.
    retention_days: Option<u32>,
    /// The server's retention for organizations that set none; `null` keeps calls forever.
    default_retention_days: Option<u32>,
    /// The retention in force for calls of agents without their own: `retention_days`, else
    /// `default_retention_days`; `null` keeps them.
    effective_retention_days: Option<u32>,
    /// The agents with a retention of their own, by agent id, in days.
    agent_retention_days: &'a BTreeMap<String, u32>,
    /// What is masked at ingest.
    redaction: RedactionSettings,
}

/// The settings of the key's organization.
///
/// Whether recordings are public, how long calls are kept (the organization's own
/// retention, the server's default, the one in force, and the agents' own) and what PII
/// is masked at ingest. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/organization",
    tag = "data",
    operation_id = "get_organization",
    responses(
        (status = 200, description = "The organization's settings", body = OrganizationView),
    ),
)]
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
    Ok(Json(OrganizationView {
        id: organization,
        public_recordings: public,
        retention_days: retention.days,
        default_retention_days: default,
        effective_retention_days: crate::purge::effective_days(&retention, None, default),
        agent_retention_days: &retention.agents,
        redaction,
    })
    .into_response())
}

/// Changes the settings of the key's organization.
///
/// Sets what the body gives and leaves the rest: seed 001's "Public Recordings" switch,
/// the retention of the organization's calls in days (1 to 36500; `null` clears it, so the
/// server's default applies) and the PII redaction applied at ingest from now on (replaced
/// whole). A refused value changes nothing. Answers the settings after the change. Needs
/// the `admin` scope.
#[utoipa::path(
    patch,
    path = "/organization",
    tag = "data",
    operation_id = "update_organization",
    request_body(content = OrganizationBody, example = json!({
        "public_recordings": false,
        "retention_days": 90,
        "redaction": {"kinds": ["phone", "email"], "patterns": [{"name": "ACCOUNT", "regex": "ACC-[0-9]{8}"}]}
    })),
    responses(
        (status = 200, description = "The organization's settings after the change", body = OrganizationView),
        (status = 400, description = "`retention_days` outside 1 to 36500, or a redaction setting refused (named in `error`)", body = ErrorBody),
    ),
)]
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
