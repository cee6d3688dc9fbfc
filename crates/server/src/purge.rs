//! Deleting calls in bulk (issue 14): by query (`POST /v1/calls/delete_by_query`) and by
//! age (the retention purge the background worker runs). Both delete a call's recordings
//! before the call, in bounded batches, so a crash between leaves a call without its audio
//! (the next pass finishes it), never audio of a call already gone, and a long purge leaves
//! room for the writes in between.

use crate::AppState;
use crate::error::ApiError;
use callscope_model::Timestamp;
use callscope_query::Query;
use callscope_store::exchange::Walk;
use callscope_store::{ExpiredCall, Retention, RetentionScope, cutoff};

/// Calls deleted per batch: one write transaction each.
const BATCH: usize = 500;

/// Deletes the calls among `ids` of `organization` with their recordings; answers how many
/// there were.
pub async fn delete_calls(
    state: &AppState,
    organization: &str,
    ids: &[String],
) -> Result<usize, ApiError> {
    if let Some(recordings) = state.config.recordings.clone() {
        let (organization, ids) = (organization.to_owned(), ids.to_vec());
        tokio::task::spawn_blocking(move || {
            for id in &ids {
                recordings.remove(&organization, id);
            }
        })
        .await
        .map_err(|e| ApiError::Internal(format!("recording removal failed: {e}")))?;
    }
    Ok(state.store.delete_calls(organization, ids).await?)
}

/// Deletes a call and its recordings: what every surface's DELETE does.
pub async fn delete_call(state: &AppState, organization: &str, id: &str) -> Result<bool, ApiError> {
    Ok(delete_calls(state, organization, &[id.to_owned()]).await? > 0)
}

/// What a delete by query found and did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Deleted {
    /// Whether this was a dry run, which deletes nothing.
    pub dry_run: bool,
    /// Calls the query matched when the request began.
    pub matched: u64,
    /// Calls deleted; 0 on a dry run.
    pub deleted: u64,
}

/// Deletes every call of `organization` that `query` matches, walking the index in
/// creation order a page at a time; with `dry_run`, only counts them. On a task of its
/// own, so a client that goes away does not stop it halfway; answers once the deletes are
/// out of search too.
pub async fn delete_matching(
    state: &AppState,
    organization: &str,
    query: Query,
    dry_run: bool,
) -> Result<Deleted, ApiError> {
    let (state, organization) = (state.clone(), organization.to_owned());
    let task = tokio::spawn(async move {
        // Every write acknowledged before the request is in the walk.
        state.store.refresh().await?;
        let count = callscope_store::exchange::count_request(query.clone());
        let matched = state.search(&organization, &count).await?.total;
        if dry_run {
            return Ok(Deleted {
                dry_run,
                matched,
                deleted: 0,
            });
        }
        let page = state.config.limits.max_page_size.min(BATCH as u32);
        let mut walk = Walk::new(query, Vec::new(), page);
        let mut deleted = 0;
        while let Some(search) = walk.next_request() {
            let result = state.search(&organization, search).await?;
            walk.advance(&result);
            let ids: Vec<String> = result.calls.into_iter().map(|call| call.id).collect();
            deleted += delete_calls(&state, &organization, &ids).await? as u64;
        }
        state.store.refresh().await?;
        Ok(Deleted {
            dry_run,
            matched,
            deleted,
        })
    });
    task.await
        .map_err(|e| ApiError::Internal(format!("delete by query failed: {e}")))?
}

/// The retention that applies to one agent's calls: its own, or else its organization's,
/// or else the server's default.
pub fn effective_days(
    retention: &Retention,
    agent: Option<&str>,
    default: Option<u32>,
) -> Option<u32> {
    agent
        .and_then(|agent| retention.agents.get(agent).copied())
        .or(retention.days)
        .or(default)
}

/// Deletes, in batches, every call that has outlived its retention at `now`: each agent
/// rule over its agent's calls, and the organization's (or the server's `default`) over
/// the others. Answers how many calls went.
pub async fn purge_expired(
    state: &AppState,
    now: Timestamp,
    default: Option<u32>,
) -> Result<u64, ApiError> {
    let mut organizations: std::collections::BTreeMap<String, Retention> =
        state.store.retention_rules().await?.into_iter().collect();
    if default.is_some() {
        for organization in state.store.organizations_with_calls().await? {
            organizations.entry(organization).or_default();
        }
    }
    let mut purged = 0;
    for (organization, retention) in &organizations {
        for (agent, days) in &retention.agents {
            let scope = RetentionScope::Agent(agent.clone());
            purged += purge_scope(state, organization, &scope, cutoff(now, *days)).await?;
        }
        if let Some(days) = retention.days.or(default) {
            let scope = RetentionScope::Organization {
                except: retention.agents.keys().cloned().collect(),
            };
            purged += purge_scope(state, organization, &scope, cutoff(now, days)).await?;
        }
    }
    Ok(purged)
}

async fn purge_scope(
    state: &AppState,
    organization: &str,
    scope: &RetentionScope,
    before: Timestamp,
) -> Result<u64, ApiError> {
    let mut purged = 0;
    let mut after: Option<ExpiredCall> = None;
    while !state.signals.stopping() {
        let expired = state
            .store
            .expired_calls(organization, scope, before, after.as_ref(), BATCH)
            .await?;
        let Some(last) = expired.last().cloned() else {
            break;
        };
        let ids: Vec<String> = expired.into_iter().map(|call| call.id).collect();
        purged += delete_calls(state, organization, &ids).await? as u64;
        after = Some(last);
        // Each batch is one transaction; the writes queued meanwhile go first.
        tokio::task::yield_now().await;
    }
    Ok(purged)
}
