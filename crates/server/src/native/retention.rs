//! The data's life over `/v1` (issue 14): retention per agent (the organization's is part
//! of `/v1/organization`) and `POST /v1/calls/delete_by_query`. Both change what is kept,
//! so both need the admin scope.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, PathParams};
use crate::purge::{delete_matching, effective_days};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_model::{Scope, validate_id};
use callscope_query::{Surface, parse_query};
use callscope_store::MAX_RETENTION_DAYS;
use serde::Deserialize;
use serde_json::json;

/// `PUT /v1/agents/{agent_id}/retention`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    /// Days the agent's calls are kept; `null` clears it (the organization's applies).
    pub retention_days: Option<u32>,
}

/// `POST /v1/calls/delete_by_query`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteByQueryBody {
    /// DESIGN §4's query with `/v1` names; required, so an empty body never deletes all.
    pub query: serde_json::Value,
    /// Count what would go and delete nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A retention in days, refused outside 1..=`MAX_RETENTION_DAYS` with the bound named.
pub(crate) fn checked_days(days: Option<u32>) -> Result<Option<u32>, ApiError> {
    match days {
        Some(days) if days == 0 || days > MAX_RETENTION_DAYS => {
            Err(ApiError::InvalidParameter(format!(
                "retention_days: {days} is outside 1..={MAX_RETENTION_DAYS} (max_retention_days)"
            )))
        }
        days => Ok(days),
    }
}

/// `GET /v1/agents/{agent_id}/retention`: the agent's own retention and the one in force.
pub async fn get_agent_retention(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(agent_id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    validate_id("agent_id", &agent_id)?;
    let retention = state.store.retention(caller.organization()).await?;
    let default = state.config.retention.default_days;
    Ok(Json(json!({
        "agent_id": agent_id,
        "retention_days": retention.agents.get(&agent_id),
        "effective_retention_days": effective_days(&retention, Some(&agent_id), default),
    }))
    .into_response())
}

/// `PUT /v1/agents/{agent_id}/retention`: the agent's calls are kept this many days,
/// whatever the organization's retention says.
pub async fn put_agent_retention(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(agent_id): PathParams<String>,
    JsonBody(body): JsonBody<RetentionBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    validate_id("agent_id", &agent_id)?;
    let days = checked_days(body.retention_days)?;
    state
        .store
        .set_retention(caller.organization(), Some(&agent_id), days)
        .await?;
    get_agent_retention(State(state), caller, PathParams(agent_id)).await
}

/// `DELETE /v1/agents/{agent_id}/retention`: the agent follows its organization again.
pub async fn delete_agent_retention(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(agent_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Scope::Admin)?;
    validate_id("agent_id", &agent_id)?;
    state
        .store
        .set_retention(caller.organization(), Some(&agent_id), None)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/calls/delete_by_query`: deletes every call the query matches, with its
/// recordings, or with `dry_run` counts them; answers once they are gone from every read.
pub async fn delete_by_query(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<DeleteByQueryBody>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let query = parse_query(Surface::Native, &body.query, &state.config.limits)
        .map_err(|e| ApiError::InvalidParameter(format!("query: {e}")))?;
    let deleted = delete_matching(&state, caller.organization(), query, body.dry_run).await?;
    Ok(Json(deleted).into_response())
}
