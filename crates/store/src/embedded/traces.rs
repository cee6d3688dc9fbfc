//! OpenTelemetry ingest (migration 7): the spans of each trace, kept once each, and the call
//! derived from all of them in the same savepoint as the spans that changed it.

use super::sql::{get_call, write_call};
use crate::{
    IngestedSpans, RefusedTrace, Result, SpanRecord, StoreError, TraceBuilder, TraceState,
    WriteMode,
};
use callscope_model::{Call, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

/// The trace's row, made when its first span arrives: `(pk, call_id, open)`.
fn trace_row(
    connection: &Connection,
    org: &str,
    trace_id: &str,
    now: Timestamp,
) -> Result<(i64, Option<String>, bool)> {
    connection
        .prepare_cached(
            "INSERT INTO traces (organization_id, trace_id, last_span_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (organization_id, trace_id) DO UPDATE SET last_span_at = ?3",
        )?
        .execute(params![org, trace_id, now.as_millis()])?;
    Ok(connection
        .prepare_cached(
            "SELECT pk, call_id, open FROM traces WHERE organization_id = ?1 AND trace_id = ?2",
        )?
        .query_row(params![org, trace_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get::<_, i64>(2)? != 0))
        })?)
}

fn trace_spans(connection: &Connection, trace_pk: i64) -> Result<Vec<String>> {
    let mut statement = connection
        .prepare_cached("SELECT doc FROM trace_spans WHERE trace_pk = ?1 ORDER BY span_id")?;
    let docs = statement
        .query_map([trace_pk], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(docs)
}

/// Derives the call of trace `pk` from all its spans and stores it: created or replaced, with
/// the lifecycle's webhooks and report as for any write. The trace closes once its call is
/// over.
fn derive_and_store(
    connection: &Connection,
    org: &str,
    (pk, trace_id, call_id): (i64, &str, Option<&str>),
    idle_closed: bool,
    derive: &TraceBuilder,
) -> Result<Call> {
    let spans = trace_spans(connection, pk)?;
    let existing = call_id
        .map(|id| get_call(connection, org, id))
        .transpose()?
        .flatten();
    let state = TraceState {
        trace_id,
        call_id,
        spans: &spans,
        existing: existing.as_ref(),
        idle_closed,
    };
    let mut call = derive(&state)?;
    // The id the builder chose for a new trace's call belongs to another call. A call made
    // for the same conversation without its trace (LiveKit's session report) is completed
    // by it; any other is not this trace's to replace, so this one is named by its trace id.
    if call_id.is_none()
        && let Some(taken) = get_call(connection, org, &call.id)?
    {
        call = if awaits_its_trace(connection, org, &taken)? {
            derive(&TraceState {
                call_id: Some(&taken.id),
                existing: Some(&taken),
                ..state
            })?
        } else {
            derive(&TraceState {
                call_id: Some(trace_id),
                ..state
            })?
        };
    }
    if call_id.is_some_and(|id| id != call.id) || call.organization_id != org {
        return Err(StoreError::Internal(
            "a trace builder changed the call's identity".into(),
        ));
    }
    let id = call.id.clone();
    let written = write_call(
        connection,
        org,
        &id,
        WriteMode::Upsert,
        Box::new(move |_| Ok(call)),
    )?;
    connection
        .prepare_cached("UPDATE traces SET call_id = ?1, open = ?2 WHERE pk = ?3")?
        .execute(params![id, !written.call.status.is_terminal(), pk])?;
    Ok(written.call)
}

/// Whether `call` was made for a runtime's conversation before any trace of it came: its
/// `metadata.otel` names the runtime but no trace, and no trace names it.
fn awaits_its_trace(connection: &Connection, org: &str, call: &Call) -> Result<bool> {
    let otel = call
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get("otel"));
    let unnamed =
        otel.is_some_and(|otel| otel.get("runtime").is_some() && otel.get("trace_id").is_none());
    if !unnamed {
        return Ok(false);
    }
    let claimed: Option<i64> = connection
        .prepare_cached("SELECT 1 FROM traces WHERE organization_id = ?1 AND call_id = ?2")?
        .query_row(params![org, call.id], |row| row.get(0))
        .optional()?;
    Ok(claimed.is_none())
}

pub(super) fn ingest_spans(
    connection: &Connection,
    org: &str,
    spans: Vec<SpanRecord>,
    derive: &TraceBuilder,
) -> Result<IngestedSpans> {
    let now = Timestamp::now();
    let mut by_trace: BTreeMap<String, Vec<SpanRecord>> = BTreeMap::new();
    for span in spans {
        by_trace
            .entry(span.trace_id.clone())
            .or_default()
            .push(span);
    }
    let mut outcome = IngestedSpans::default();
    for (trace_id, spans) in by_trace {
        // Each trace in a savepoint of its own: a trace whose call cannot be made is refused
        // with its reason, and the other traces of the batch land.
        connection.execute_batch("SAVEPOINT trace_ingest")?;
        let attempt = (|| -> Result<(usize, Option<Call>)> {
            let (pk, call_id, _) = trace_row(connection, org, &trace_id, now)?;
            let mut stored = 0;
            for span in &spans {
                stored += connection
                    .prepare_cached(
                        "INSERT OR IGNORE INTO trace_spans (trace_pk, span_id, doc) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![pk, span.span_id, span.doc])?;
            }
            // Nothing new (an exporter's retry): the call stays exactly as it was.
            if stored == 0 {
                return Ok((0, None));
            }
            let call = derive_and_store(
                connection,
                org,
                (pk, &trace_id, call_id.as_deref()),
                false,
                derive,
            )?;
            Ok((stored, Some(call)))
        })();
        match attempt {
            Ok((stored, call)) => {
                connection.execute_batch("RELEASE trace_ingest")?;
                outcome.stored += stored;
                outcome.repeated += spans.len() - stored;
                outcome.calls.extend(call.map(|call| call.id));
            }
            Err(StoreError::Invalid(reason)) => {
                connection.execute_batch("ROLLBACK TO trace_ingest; RELEASE trace_ingest")?;
                outcome.refused.push(RefusedTrace {
                    trace_id,
                    spans: spans.len(),
                    reason: reason.to_string(),
                });
            }
            Err(other) => {
                connection.execute_batch("ROLLBACK TO trace_ingest; RELEASE trace_ingest")?;
                return Err(other);
            }
        }
    }
    Ok(outcome)
}

pub(super) fn idle_traces(
    connection: &Connection,
    before: Timestamp,
    limit: usize,
) -> Result<Vec<(String, String)>> {
    let mut statement = connection.prepare_cached(
        "SELECT organization_id, trace_id FROM traces
         WHERE open = 1 AND last_span_at < ?1 ORDER BY last_span_at LIMIT ?2",
    )?;
    let traces = statement
        .query_map(
            params![before.as_millis(), super::sql::limit_param(limit)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(traces)
}

pub(super) fn close_trace(
    connection: &Connection,
    org: &str,
    trace_id: &str,
    before: Timestamp,
    derive: &TraceBuilder,
) -> Result<Option<Call>> {
    let row: Option<(i64, Option<String>)> = connection
        .prepare_cached(
            "SELECT pk, call_id FROM traces
             WHERE organization_id = ?1 AND trace_id = ?2 AND open = 1 AND last_span_at < ?3",
        )?
        .query_row(params![org, trace_id, before.as_millis()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    // A span arrived meanwhile, or another sweep closed it.
    let Some((pk, call_id)) = row else {
        return Ok(None);
    };
    let call = derive_and_store(
        connection,
        org,
        (pk, trace_id, call_id.as_deref()),
        true,
        derive,
    )?;
    // Closed even if the builder left the call running: the sweep must not return to it.
    connection
        .prepare_cached("UPDATE traces SET open = 0 WHERE pk = ?1")?
        .execute([pk])?;
    Ok(Some(call))
}

/// Forgets the traces of a deleted call, spans included.
pub(super) fn forget_call(connection: &Connection, org: &str, call_id: &str) -> Result<()> {
    connection
        .prepare_cached("DELETE FROM traces WHERE organization_id = ?1 AND call_id = ?2")?
        .execute(params![org, call_id])?;
    Ok(())
}
