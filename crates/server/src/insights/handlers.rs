//! Handlers of the Vonage Insights surface: parse seed 001's parameters, ask the store,
//! render sessions.

use super::dto::{InsightsParams, envelope, project_session, session_document};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Caller, PathParams, QueryParams};
use crate::params::{invalid, non_empty, parse_time};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_model::{Call, Scope};
use serde::Deserialize;

/// `GET /insights/sessions`: search with `filter_by`, dates, paging, sort, projection and
/// aggregations.
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
    let body = envelope(
        result.total,
        hits,
        request.page_size,
        request.page_number,
        result.aggregations,
    );
    Ok(Json(body).into_response())
}

/// The query string of the get and delete endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionDay {
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

/// `GET /insights/sessions/{id}/parameters?session_start_time=…`
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

/// `GET /insights/sessions/search/{id}`: no date needed, and as fast as a get.
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

/// `DELETE /insights/sessions/{id}?session_start_time=…`
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
