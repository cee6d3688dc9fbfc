//! Handlers of the native surface: each parses its input, asks the store, renders the answer.

use super::dto::{
    BatchRequest, CallView, CallsView, EventsAppend, EventsView, FieldsView, ListParams, ListView,
    QueryBody, QueryView, TranscriptAppend, TranscriptView, WriteParams,
};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, JsonBody, PathParams, QueryParams};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_analysis::{AnalysisError, latency_metrics};
use callscope_model::{
    Call, CallWrite, MetricsReport, Scope, Timestamp, ValidationError, WriteContext,
    call_from_json, merge_patch, new_id, validate_id,
};
use callscope_store::{CallBuilder, CallPage, MetricsBuilder, WriteMode};
use serde_json::Value;

/// Renders a call with the given status.
fn call_response(status: StatusCode, call: &Call) -> Response {
    (status, Json(CallView::new(call))).into_response()
}

/// Waits for the index when the write asked for `refresh=wait_for`.
async fn settle(state: &AppState, params: &WriteParams) -> Result<(), ApiError> {
    state.signals.wake();
    if params.wait_for_index()? {
        let bound = state.config.guards.refresh_timeout;
        tokio::time::timeout(bound, state.store.refresh())
            .await
            .map_err(|_| {
                ApiError::timed_out(format!(
                    "the write is stored, but the search index did not catch up within {} ms \
                     {}; searches may not show it yet",
                    bound.as_millis(),
                    callscope_query::limit_note("refresh_timeout_ms", bound.as_millis())
                ))
            })??;
    }
    Ok(())
}

/// A builder that makes the call from a full write body, keeping `created_at` of the call it
/// replaces unless the body sets one.
fn from_body(organization: &str, id: &str, body: Value) -> CallBuilder {
    let (organization, id) = (organization.to_owned(), id.to_owned());
    Box::new(move |existing| {
        let context = WriteContext {
            organization_id: &organization,
            path_id: Some(&id),
            now: Timestamp::now(),
            existing_created_at: existing.map(|call| call.created_at),
        };
        call_from_json(body, &context)
    })
}

/// Creates a call.
///
/// The body is the call as far as it is known: a call may be created when it starts and
/// completed later with `PUT`, `PATCH` and the live appends. Without an `id` one is
/// generated. Needs the `write` scope.
#[utoipa::path(
    post,
    path = "/calls",
    tag = "calls",
    operation_id = "create_call",
    params(WriteParams),
    request_body(content = CallWrite, example = json!({
        "id": "call_01HZX3K9Q8",
        "agent_id": "agent_dental_reception",
        "campaign_id": "spring_recall",
        "direction": "inbound",
        "from_number": "+14155550123",
        "to_number": "+14155550987",
        "status": "in_progress",
        "started_at": "2024-01-15T10:30:15Z",
        "metadata": {"crm_id": "A-1042"}
    })),
    responses(
        (status = 201, description = "The call as stored", body = CallView),
        (status = 409, description = "A call with this id exists", body = ErrorBody),
    ),
)]
pub async fn create_call(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<WriteParams>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    params.wait_for_index()?;
    let id = match body.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(other) => {
            return Err(ApiError::InvalidParameter(format!(
                "id: must be a string, got {other}"
            )));
        }
        None => new_id(),
    };
    validate_id("id", &id)?;
    let builder = from_body(caller.organization(), &id, body);
    let written = state
        .store
        .write_call(caller.organization(), &id, WriteMode::Create, builder)
        .await?;
    settle(&state, &params).await?;
    Ok(call_response(StatusCode::CREATED, &written.call))
}

/// Creates or replaces a call.
///
/// The same body twice leaves the same call, so a runtime can send the whole call again
/// after a retry. `created_at` is kept from the call it replaces unless the body sets it.
/// Needs the `write` scope.
#[utoipa::path(
    put,
    path = "/calls/{id}",
    tag = "calls",
    operation_id = "put_call",
    params(("id" = String, Path, description = "The call's id"), WriteParams),
    request_body = CallWrite,
    responses(
        (status = 200, description = "The call replaced", body = CallView),
        (status = 201, description = "The call created", body = CallView),
    ),
)]
pub async fn put_call(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<WriteParams>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    params.wait_for_index()?;
    validate_id("id", &id)?;
    let builder = from_body(caller.organization(), &id, body);
    let written = state
        .store
        .write_call(caller.organization(), &id, WriteMode::Upsert, builder)
        .await?;
    settle(&state, &params).await?;
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(call_response(status, &written.call))
}

/// Changes some fields of a call.
///
/// An RFC 7396 merge patch over the stored call's write form: a field set to `null` is
/// removed, objects merge, arrays are replaced. Needs the `write` scope.
#[utoipa::path(
    patch,
    path = "/calls/{id}",
    tag = "calls",
    operation_id = "patch_call",
    params(("id" = String, Path, description = "The call's id"), WriteParams),
    request_body(
        content = Object,
        content_type = "application/merge-patch+json",
        description = "A merge patch of `CallWrite`'s fields",
        example = json!({"status": "completed", "ended_at": "2024-01-15T10:34:02Z", "disconnection_reason": "user_hangup"}),
    ),
    responses(
        (status = 200, description = "The call after the patch", body = CallView),
        (status = 404, description = "No call with this id", body = ErrorBody),
    ),
)]
pub async fn patch_call(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<WriteParams>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    params.wait_for_index()?;
    if !patch.is_object() {
        return Err(ApiError::InvalidParameter(
            "body: a merge patch must be a JSON object".into(),
        ));
    }
    let (organization, path_id) = (caller.organization().to_owned(), id.clone());
    let builder: CallBuilder = Box::new(move |existing| {
        let existing_created_at = existing.as_ref().map(|call| call.created_at);
        let mut merged = existing
            .map(|call| call.to_write_json())
            .unwrap_or_default();
        merge_patch(&mut merged, &patch);
        let context = WriteContext {
            organization_id: &organization,
            path_id: Some(&path_id),
            now: Timestamp::now(),
            existing_created_at,
        };
        call_from_json(merged, &context)
    });
    let written = state
        .store
        .write_call(caller.organization(), &id, WriteMode::Update, builder)
        .await?;
    settle(&state, &params).await?;
    Ok(call_response(StatusCode::OK, &written.call))
}

/// One call by id, with its transfers.
///
/// Found by id alone, whatever its date.
#[utoipa::path(
    get,
    path = "/calls/{id}",
    tag = "calls",
    operation_id = "get_call",
    params(("id" = String, Path, description = "The call's id")),
    responses(
        (status = 200, description = "The call (the example is seed 002's call detail)", body = CallView, example = json!(crate::openapi::seed::call())),
        (status = 404, description = "No call with this id in the key's organization", body = ErrorBody),
    ),
)]
pub async fn get_call(
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
    let transfers = state
        .store
        .list_transfers(caller.organization(), &id)
        .await?
        .unwrap_or_default();
    Ok(Json(CallView::new(&call).with_transfers(&transfers)).into_response())
}

/// Deletes a call with its transcript, events, transfers, report and recordings.
///
/// Gone from search, lists, exports and aggregations once answered. Needs the `write` scope.
#[utoipa::path(
    delete,
    path = "/calls/{id}",
    tag = "calls",
    operation_id = "delete_call",
    params(("id" = String, Path, description = "The call's id"), WriteParams),
    responses(
        (status = 204, description = "The call is deleted"),
        (status = 404, description = "No call with this id", body = ErrorBody),
    ),
)]
pub async fn delete_call(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<WriteParams>,
    PathParams(id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    params.wait_for_index()?;
    if crate::purge::delete_call(&state, caller.organization(), &id).await? {
        settle(&state, &params).await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::call_not_found(&id))
    }
}

/// Lists calls, newest first, with seed 003's filters.
///
/// Beyond seed 003: `from`/`to` date ranges of any width, `sort`, a `cursor` that pages
/// without repeating or skipping a call, and `q`, a full-text search over transcripts that
/// combines with every filter. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/calls",
    tag = "calls",
    operation_id = "list_calls",
    params(ListParams),
    responses((status = 200, description = "A page of calls", body = ListView)),
)]
pub async fn list_calls(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let request = params.into_request(&state.config.limits)?;
    let page = match &request.search {
        Some(search) => {
            let found = state.search(caller.organization(), search).await?;
            CallPage {
                calls: found.calls,
                total: found.total,
                next_cursor: None,
            }
        }
        None => {
            state
                .store
                .list_calls(caller.organization(), &request.query)
                .await?
        }
    };
    Ok(Json(ListView::new(&page, request.page, request.limit)).into_response())
}

/// Fetches up to 100 calls by id.
///
/// Seed 003's batch search: the calls in the order asked, unknown ids left out. More ids
/// than `max_batch_ids` (100) is refused. Needs the `read` scope.
#[utoipa::path(
    post,
    path = "/calls/search",
    tag = "calls",
    operation_id = "search_calls",
    request_body(content = BatchRequest, example = json!({"call_ids": ["call_01HZX3K9Q8", "call_01HZX3M2T4"]})),
    responses((status = 200, description = "The calls found", body = CallsView)),
)]
pub async fn search_calls(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<BatchRequest>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let max = state.config.limits.max_batch_ids;
    if request.call_ids.len() > max {
        return Err(ApiError::InvalidParameter(format!(
            "call_ids: {} ids given; at most {max} per request {}",
            request.call_ids.len(),
            callscope_query::limit_note("max_batch_ids", max)
        )));
    }
    let calls = state
        .store
        .get_calls(caller.organization(), &request.call_ids)
        .await?;
    Ok(Json(CallsView::new(&calls)).into_response())
}

/// Appends transcript lines while the call happens.
///
/// Lines land in order of `index` (or after the last when it is absent); a line sent twice
/// with the same `id` is stored once. Needs the `write` scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/transcript",
    tag = "ingest",
    operation_id = "append_transcript",
    params(("id" = String, Path, description = "The call's id"), WriteParams),
    request_body(content = TranscriptAppend, example = json!({"entries": [
        {"role": "agent", "text": "Thanks for calling Bright Smiles, how can I help?", "start_ms": 0, "end_ms": 2400},
        {"role": "user", "text": "I'd like to move my appointment to Friday.", "start_ms": 2900, "end_ms": 5100}
    ]})),
    responses(
        (status = 200, description = "The whole transcript after the append", body = TranscriptView),
        (status = 404, description = "No call with this id", body = ErrorBody),
        (status = 409, description = "The call has ended and takes no more live lines", body = ErrorBody),
    ),
)]
pub async fn append_transcript(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<WriteParams>,
    JsonBody(request): JsonBody<TranscriptAppend>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    params.wait_for_index()?;
    if request.entries.is_empty() {
        return Err(ApiError::InvalidParameter(
            "entries: must hold at least one entry".into(),
        ));
    }
    let call = state
        .store
        .append_transcript(caller.organization(), &id, request.entries)
        .await?;
    settle(&state, &params).await?;
    Ok(Json(TranscriptView::new(call.started_at, &call.transcript)).into_response())
}

/// A pricing refusal as the field it concerns.
fn unpriced(error: AnalysisError) -> ValidationError {
    match error {
        AnalysisError::NoPrice { record, message } => {
            ValidationError::new(format!("usage[{record}]"), message)
        }
        other => ValidationError::new("usage", other.to_string()),
    }
}

/// Reports usage and per-turn latency of a call.
///
/// Sent while the call runs or after. The call's `cost` is derived from all usage reported
/// for it under the server's price table, and its `metrics` (averages and percentiles) from
/// all latency samples. Usage the price table cannot price is refused. Needs the `write`
/// scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/metrics",
    tag = "ingest",
    operation_id = "record_metrics",
    params(("id" = String, Path, description = "The call's id"), WriteParams),
    request_body = MetricsReport,
    responses(
        (status = 200, description = "The call with its cost and metrics", body = CallView),
        (status = 404, description = "No call with this id", body = ErrorBody),
    ),
)]
pub async fn record_metrics(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(params): QueryParams<WriteParams>,
    JsonBody(report): JsonBody<MetricsReport>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    params.wait_for_index()?;
    report.validate()?;
    // Unpriced usage is refused before anything is stored, naming the record in this report.
    state.config.prices.cost(&report.usage).map_err(unpriced)?;
    let prices = state.config.prices.clone();
    let derive: MetricsBuilder = Box::new(move |mut call, usage, samples| {
        if !usage.is_empty() {
            call.cost = Some(prices.cost(usage).map_err(unpriced)?);
        }
        if !samples.is_empty() {
            call.metrics = Some(latency_metrics(samples));
        }
        Ok(call)
    });
    let call = state
        .store
        .record_metrics(caller.organization(), &id, report, derive)
        .await?;
    settle(&state, &params).await?;
    Ok(call_response(StatusCode::OK, &call))
}

/// Records telephony and runtime events of a call.
///
/// Accepted at any time, since telephony providers report some (the final SIP status, a
/// recording being ready) after the call ends. Needs the `write` scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/events",
    tag = "ingest",
    operation_id = "add_events",
    params(("id" = String, Path, description = "The call's id")),
    request_body(content = EventsAppend, example = json!({"events": [
        {"provider": "twilio", "event_type": "call.answered", "status": "in-progress", "occurred_at": "2024-01-15T10:30:16Z"}
    ]})),
    responses(
        (status = 201, description = "The events recorded", body = EventsView),
        (status = 404, description = "No call with this id", body = ErrorBody),
    ),
)]
pub async fn add_events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    JsonBody(request): JsonBody<EventsAppend>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Write)?;
    if request.events.is_empty() {
        return Err(ApiError::InvalidParameter(
            "events: must hold at least one event".into(),
        ));
    }
    let now = Timestamp::now();
    let events = request
        .events
        .into_iter()
        .enumerate()
        .map(|(position, draft)| draft.into_event(position, now))
        .collect::<Result<Vec<_>, _>>()?;
    state
        .store
        .add_events(caller.organization(), &id, events.clone())
        .await?;
    let view = EventsView::new(caller.organization(), &id, &events);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Lists a call's events in the order they happened.
///
/// Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/calls/{id}/events",
    tag = "ingest",
    operation_id = "list_events",
    params(("id" = String, Path, description = "The call's id")),
    responses(
        (status = 200, description = "The events", body = EventsView),
        (status = 404, description = "No call with this id", body = ErrorBody),
    ),
)]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let events = state
        .store
        .list_events(caller.organization(), &id)
        .await?
        .ok_or_else(|| ApiError::call_not_found(&id))?;
    Ok(Json(EventsView::new(caller.organization(), &id, &events)).into_response())
}

/// Searches calls with the full query language.
///
/// Elasticsearch's search body: a bool `query` (`term`, `terms`, `match`, `match_phrase`,
/// `range`, `exists`, `prefix`, nested `bool`), `sort`, `fields` projection, `size`/`from`,
/// `search_after`, `aggs` (`terms`, `date_histogram`, `histogram`, `range`, `stats`,
/// `avg`/`sum`/`min`/`max`, `percentiles`, `cardinality`) and `highlight`. `GET /v1/fields`
/// lists what can be searched. Needs the `read` scope.
#[utoipa::path(
    post,
    path = "/calls/query",
    tag = "search",
    operation_id = "query_calls",
    request_body(content = QueryBody, example = json!({
        "query": {"bool": {
            "must": [{"match": {"transcript.user": "reschedule"}}],
            "filter": [{"term": {"status": "completed"}}, {"range": {"started_at": {"gte": "2024-01-01"}}}]
        }},
        "sort": [{"started_at": "desc"}],
        "size": 20,
        "aggs": {"by_outcome": {"terms": {"field": "report.outcome"}}}
    })),
    responses((status = 200, description = "The matching calls and aggregations", body = QueryView)),
)]
pub async fn query_calls(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<QueryBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let request = body.into_request(&state.config.limits)?;
    let result = state.search(caller.organization(), &request.search).await?;
    Ok(Json(QueryView::new(&result, &request)).into_response())
}

/// Lists the searchable fields under their `/v1` names.
///
/// Each with its type, whether it is searched by term or as full text, and whether it
/// sorts and aggregates. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/fields",
    tag = "search",
    operation_id = "list_fields",
    responses((status = 200, description = "The fields", body = FieldsView)),
)]
pub async fn list_fields(caller: Caller) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let fields = callscope_query::catalogue();
    Ok(Json(FieldsView { fields }).into_response())
}
