//! Handlers of the Vonage Insights surface: parse seed 001's parameters, ask the store,
//! render sessions.

use super::dto::{InsightsParams, SessionView, SessionsPage, project_session, session_document};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, PathParams, QueryParams};
use crate::params::{invalid, non_empty, parse_time};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_model::{Call, Scope};
use serde::Deserialize;

/// Searches sessions with seed 001's `filter_by`.
///
/// Vonage AI Studio's Insights search: `filter_by` a JSON bool query over the session
/// document's paths, `from_date`/`to_date` (no 60-day cap unless the server sets one),
/// paging, `sort_by`, `project_fields`, and `aggs` (callscope's extension). Needs the `read`
/// scope.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "insights",
    operation_id = "search_sessions",
    params(InsightsParams),
    responses((status = 200, description = "A page of session documents (the example is seed 001's)", body = SessionsPage, example = json!(crate::openapi::seed::sessions_page()))),
)]
pub async fn search_sessions(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<InsightsParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let request =
        params.into_request(state.config.insights_max_range_days, &state.config.limits)?;
    let result = state.search(caller.organization(), &request.search).await?;
    let hits = result
        .calls
        .iter()
        .map(|call| project_session(&session_document(call), &request.fields))
        .collect();
    let body = SessionsPage::new(
        result.total,
        hits,
        request.page_size,
        request.page_number,
        result.aggregations,
    );
    Ok(Json(body).into_response())
}

/// The query string of the get and delete endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionDay {
    /// The day the session started (a date is enough; any accepted time form). Required, as
    /// seed 001 asks; `GET /insights/sessions/search/{id}` needs none.
    session_start_time: Option<String>,
}

/// The call `id` if it started on the UTC day `session_start_time` names (seed 001: "if you
/// know the day in which the session occurred, you can use that day").
async fn session_on_day(
    state: &AppState,
    caller: &Caller,
    id: &str,
    day: SessionDay,
) -> Result<Call, ApiError> {
    let Some(bound) = parse_time("session_start_time", non_empty(day.session_start_time))? else {
        return Err(invalid(
            "session_start_time",
            "is required (a date is enough); without it use GET /insights/sessions/search/{id}",
        ));
    };
    let call = state.store.get_call(caller.organization(), id).await?;
    call.filter(|call| call.session_start_time().date() == bound.start().date())
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "session `{id}` not found on {}",
                bound.start().date()
            ))
        })
}

/// One session by id and the day it started.
///
/// Seed 001's get: the session must have started on the UTC day `session_start_time`
/// names. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/sessions/{id}/parameters",
    tag = "insights",
    operation_id = "get_session",
    params(("id" = String, Path, description = "The session's (call's) id"), SessionDay),
    responses(
        (status = 200, description = "The session document (the example is seed 001's)", body = SessionView, example = json!(crate::openapi::seed::session())),
        (status = 404, description = "No such session on that day", body = ErrorBody),
    ),
)]
pub async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(day): QueryParams<SessionDay>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let call = session_on_day(&state, &caller, &id, day).await?;
    Ok(Json(session_document(&call)).into_response())
}

/// One session by id alone.
///
/// No date needed, and as fast as a get. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/sessions/search/{id}",
    tag = "insights",
    operation_id = "find_session",
    params(("id" = String, Path, description = "The session's (call's) id")),
    responses(
        (status = 200, description = "The session document (the example is seed 001's)", body = SessionView, example = json!(crate::openapi::seed::session())),
        (status = 404, description = "No such session", body = ErrorBody),
    ),
)]
pub async fn find_session(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let call = state
        .store
        .get_call(caller.organization(), &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session `{id}` not found")))?;
    Ok(Json(session_document(&call)).into_response())
}

/// Deletes a session by id and the day it started.
///
/// The call with everything it holds, as `DELETE /v1/calls/{id}` does. Needs the `write`
/// scope.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "insights",
    operation_id = "delete_session",
    params(("id" = String, Path, description = "The session's (call's) id"), SessionDay),
    responses(
        (status = 204, description = "The session is deleted"),
        (status = 404, description = "No such session on that day", body = ErrorBody),
    ),
)]
pub async fn delete_session(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    QueryParams(day): QueryParams<SessionDay>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Write)?;
    session_on_day(&state, &caller, &id, day).await?;
    if crate::purge::delete_call(&state, caller.organization(), &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("session `{id}` not found")))
    }
}
