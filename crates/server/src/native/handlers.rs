//! Handlers of the native surface: each parses its input, asks the store, renders the answer.

use super::dto::{
    BatchRequest, CallView, CallsView, EventsAppend, EventsView, ListParams, ListView, QueryBody,
    QueryView, TranscriptAppend, TranscriptView, WriteParams,
};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, PathParams, QueryParams};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_analysis::{AnalysisError, latency_metrics};
use callscope_model::{
    Call, MetricsReport, Scope, Timestamp, ValidationError, WriteContext, call_from_json,
    merge_patch, new_id, validate_id,
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

/// `POST /v1/calls`: creates a call; an id already in use is a conflict.
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

/// `PUT /v1/calls/{id}`: creates or replaces; the same body twice leaves the same call.
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

/// `PATCH /v1/calls/{id}`: an RFC 7396 merge patch over the stored call's write form.
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

/// `GET /v1/calls/{id}`.
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

/// `DELETE /v1/calls/{id}`: the call, its transcript and its events.
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

/// `GET /v1/calls`: seed 003's filters plus dates, sort and cursor.
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

/// `POST /v1/calls/search`: up to 100 calls by id, in the order asked, missing ones left out.
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

/// `POST /v1/calls/{id}/transcript`: live append while the call is in progress.
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

/// `POST /v1/calls/{id}/metrics`: usage and per-turn latency while the call runs (or after).
/// The call's `cost` is derived from all usage reported for it, under the price table, and its
/// `metrics` from all latency samples; the answer is the call.
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

/// `POST /v1/calls/{id}/events`: records events; accepted at any time, since telephony
/// providers report some (the final SIP status, a recording being ready) after the call ends.
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

/// `GET /v1/calls/{id}/events`: ordered by when they happened.
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

/// `POST /v1/calls/query`: the full query language, with sort, projection, paging and
/// aggregations.
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

/// `GET /v1/fields`: the searchable fields under their `/v1` names.
pub async fn list_fields(caller: Caller) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    Ok(Json(serde_json::json!({ "fields": callscope_query::catalogue() })).into_response())
}
