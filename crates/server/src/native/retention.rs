//! The data's life over `/v1` (issue 14): retention per agent (the organization's is part
//! of `/v1/organization`) and `POST /v1/calls/delete_by_query`. Both change what is kept,
//! so both need the admin scope.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, JsonBody, PathParams};
use crate::purge::{Deleted, delete_matching, effective_days};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_model::{Scope, validate_id};
use callscope_query::{Surface, parse_query};
use callscope_store::MAX_RETENTION_DAYS;
use serde::{Deserialize, Serialize};

/// `PUT /v1/agents/{agent_id}/retention`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionBody {
    /// Days the agent's calls are kept, 1 to 36500; `null` clears it (the organization's
    /// applies).
    #[schema(minimum = 1, maximum = 36500)]
    pub retention_days: Option<u32>,
}

/// `POST /v1/calls/delete_by_query`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteByQueryBody {
    /// DESIGN §4's query with `/v1` names (`term`, `terms`, `match`, `range`, `exists`,
    /// `prefix`, `bool`…, as in `POST /v1/calls/query`); required, so an empty body never
    /// deletes all. `{"match_all": {}}` deletes every call.
    #[schema(value_type = Object)]
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

/// How long one agent's calls are kept.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentRetentionView<'a> {
    agent_id: &'a str,
    /// The agent's own retention in days; `null` when it has none (its organization's
    /// applies).
    retention_days: Option<u32>,
    /// The retention in force for the agent's calls: its own, else its organization's, else
    /// the server's default; `null` keeps them.
    effective_retention_days: Option<u32>,
}

/// How long one agent's calls are kept.
///
/// The agent's own retention, if it has one, and the one in force for its calls (its own,
/// else its organization's, else the server's default). Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/agents/{agent_id}/retention",
    tag = "data",
    operation_id = "get_agent_retention",
    params(("agent_id" = String, Path, description = "The agent's id (`agent.id` of its calls)")),
    responses(
        (status = 200, description = "The agent's retention", body = AgentRetentionView),
        (status = 400, description = "An invalid agent id: empty, too long, or with a character other than ASCII letters, digits and `-`, `_`, `.`, `:`", body = ErrorBody),
    ),
)]
pub async fn get_agent_retention(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(agent_id): PathParams<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    validate_id("agent_id", &agent_id)?;
    let retention = state.store.retention(caller.organization()).await?;
    let default = state.config.retention.default_days;
    Ok(Json(AgentRetentionView {
        agent_id: &agent_id,
        retention_days: retention.agents.get(&agent_id).copied(),
        effective_retention_days: effective_days(&retention, Some(&agent_id), default),
    })
    .into_response())
}

/// Sets how long one agent's calls are kept.
///
/// The agent's calls are kept this many days (1 to 36500), whatever its organization's
/// retention says; `null` clears the agent's own retention, as `DELETE` does. Calls past
/// it are deleted by the retention worker. Needs the `admin` scope.
#[utoipa::path(
    put,
    path = "/agents/{agent_id}/retention",
    tag = "data",
    operation_id = "put_agent_retention",
    params(("agent_id" = String, Path, description = "The agent's id (`agent.id` of its calls)")),
    request_body(content = RetentionBody, example = json!({"retention_days": 30})),
    responses(
        (status = 200, description = "The agent's retention after the change", body = AgentRetentionView),
        (status = 400, description = "An invalid agent id, or `retention_days` outside 1 to 36500", body = ErrorBody),
    ),
)]
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

/// Clears one agent's own retention: its calls follow its organization's again.
///
/// Clearing a retention the agent does not have is not an error. Needs the `admin` scope.
#[utoipa::path(
    delete,
    path = "/agents/{agent_id}/retention",
    tag = "data",
    operation_id = "delete_agent_retention",
    params(("agent_id" = String, Path, description = "The agent's id (`agent.id` of its calls)")),
    responses(
        (status = 204, description = "The agent has no retention of its own"),
        (status = 400, description = "An invalid agent id: empty, too long, or with a character other than ASCII letters, digits and `-`, `_`, `.`, `:`", body = ErrorBody),
    ),
)]
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

/// Deletes every call a query matches, with its recordings.
///
/// The query is the one `POST /v1/calls/query` takes (without `sort`, `size` or the other
/// parts of the search body). With `dry_run` it only counts the matches. Answers once the
/// deleted calls are gone from every read, search included; calls written while it runs
/// may be left. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/calls/delete_by_query",
    tag = "data",
    operation_id = "delete_by_query",
    request_body(content = DeleteByQueryBody, example = json!({
        "query": {"bool": {"filter": [
            {"term": {"agent.id": "agent_support"}},
            {"range": {"started_at": {"lt": "2024-01-01T00:00:00Z"}}}
        ]}},
        "dry_run": true
    })),
    responses(
        (status = 200, description = "What the query matched and what was deleted", body = Deleted),
        (status = 400, description = "No `query`, or a query refused (the part at fault named in `error`)", body = ErrorBody),
    ),
)]
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
