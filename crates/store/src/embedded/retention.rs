//! SQL of the data's life: retention rules, the calls past them, and compaction of the
//! change log behind the index.

use super::sql::limit_param;
use crate::{Compacted, ExpiredCall, Result, Retention, RetentionScope, StoreError};
use callscope_model::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn retention(connection: &Connection, org: &str) -> Result<Retention> {
    let mut statement = connection
        .prepare_cached("SELECT agent_id, days FROM retention_rules WHERE organization_id = ?1")?;
    let rows = statement.query_map(params![org], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, u32>(1)?))
    })?;
    let mut retention = Retention::default();
    for row in rows {
        let (agent, days) = row?;
        if agent.is_empty() {
            retention.days = Some(days);
        } else {
            retention.agents.insert(agent, days);
        }
    }
    Ok(retention)
}

/// The organization's rule is kept under the empty agent id.
pub(super) fn set_retention(
    connection: &Connection,
    org: &str,
    agent: Option<&str>,
    days: Option<u32>,
) -> Result<()> {
    let agent = agent.unwrap_or_default();
    match days {
        Some(days) => connection
            .prepare_cached(
                "INSERT INTO retention_rules (organization_id, agent_id, days, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (organization_id, agent_id)
                 DO UPDATE SET days = excluded.days, updated_at = excluded.updated_at",
            )?
            .execute(params![org, agent, days, Timestamp::now().as_millis()])?,
        None => connection
            .prepare_cached(
                "DELETE FROM retention_rules WHERE organization_id = ?1 AND agent_id = ?2",
            )?
            .execute(params![org, agent])?,
    };
    Ok(())
}

pub(super) fn rules(connection: &Connection) -> Result<Vec<(String, Retention)>> {
    let mut statement =
        connection.prepare_cached("SELECT DISTINCT organization_id FROM retention_rules")?;
    let organizations = statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    organizations
        .into_iter()
        .map(|org| retention(connection, &org).map(|rules| (org, rules)))
        .collect()
}

pub(super) fn organizations_with_calls(connection: &Connection) -> Result<Vec<String>> {
    let mut statement = connection.prepare_cached("SELECT DISTINCT organization_id FROM calls")?;
    Ok(statement
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Walks the creation-time indexes from the oldest call, so a page costs its own rows plus
/// the calls of excepted agents between it and the last page, each skipped once a pass.
pub(super) fn expired_calls(
    connection: &Connection,
    org: &str,
    scope: &RetentionScope,
    before: Timestamp,
    after: Option<&ExpiredCall>,
    limit: usize,
) -> Result<Vec<ExpiredCall>> {
    let (after_at, after_id) = after.map_or((i64::MIN, ""), |call| {
        (call.created_at.as_millis(), call.id.as_str())
    });
    let mut statement;
    let rows = match scope {
        RetentionScope::Agent(agent) => {
            statement = connection.prepare_cached(
                "SELECT id, created_at FROM calls
                 WHERE organization_id = ?1 AND agent_id = ?2 AND created_at < ?3
                   AND (created_at, id) > (?4, ?5)
                 ORDER BY created_at, id LIMIT ?6",
            )?;
            statement.query_map(
                params![
                    org,
                    agent,
                    before.as_millis(),
                    after_at,
                    after_id,
                    limit_param(limit)
                ],
                expired_row,
            )?
        }
        RetentionScope::Organization { except } => {
            statement = connection.prepare_cached(
                "SELECT id, created_at FROM calls
                 WHERE organization_id = ?1 AND created_at < ?2
                   AND (created_at, id) > (?3, ?4)
                   AND (agent_id IS NULL OR agent_id NOT IN (SELECT value FROM json_each(?5)))
                 ORDER BY created_at, id LIMIT ?6",
            )?;
            statement.query_map(
                params![
                    org,
                    before.as_millis(),
                    after_at,
                    after_id,
                    serde_json::to_string(except)?,
                    limit_param(limit)
                ],
                expired_row,
            )?
        }
    };
    rows.map(|row| {
        let (id, millis) = row?;
        let created_at = Timestamp::from_millis(millis)
            .ok_or_else(|| StoreError::Internal(format!("call `{id}` has no valid time")))?;
        Ok(ExpiredCall { id, created_at })
    })
    .collect()
}

fn expired_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64)> {
    Ok((row.get(0)?, row.get(1)?))
}

/// Compacts the next `limit` entries of the log the index has applied (up to `indexed`):
/// for each call they touch, every entry before its latest goes, and the latest too when it
/// is a delete. The log keeps one entry per live call, which is what a rebuild replays.
pub(super) fn compact_changes(
    connection: &Connection,
    indexed: i64,
    limit: usize,
) -> Result<Compacted> {
    let through: i64 = connection.query_row(
        "SELECT through FROM change_log_compacted WHERE only = 1",
        [],
        |row| row.get(0),
    )?;
    let mut statement = connection.prepare_cached(
        "SELECT seq, organization_id, call_id FROM changes
         WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
    )?;
    let window = statement
        .query_map(params![through, indexed, limit_param(limit)], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let Some(to) = window.last().map(|(seq, _, _)| *seq) else {
        return Ok(Compacted::default());
    };
    let calls: std::collections::BTreeSet<(&str, &str)> = window
        .iter()
        .map(|(_, org, id)| (org.as_str(), id.as_str()))
        .collect();
    let mut removed = 0;
    for (org, id) in calls {
        let latest: Option<(i64, String)> = connection
            .prepare_cached(
                "SELECT seq, op FROM changes
                 WHERE organization_id = ?1 AND call_id = ?2 AND seq <= ?3
                 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![org, id, to], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let Some((latest, op)) = latest else {
            continue;
        };
        let keep_from = if op == "delete" { latest + 1 } else { latest };
        removed += connection
            .prepare_cached(
                "DELETE FROM changes WHERE organization_id = ?1 AND call_id = ?2 AND seq < ?3",
            )?
            .execute(params![org, id, keep_from])?;
    }
    connection
        .prepare_cached("UPDATE change_log_compacted SET through = ?1 WHERE only = 1")?
        .execute(params![to])?;
    Ok(Compacted {
        examined: window.len(),
        removed,
    })
}
