//! Statements of the call lifecycle: the webhook outbox, the post-call report queue,
//! transfers, agent settings and the organization's recording policy.
//!
//! Whatever a change makes due (a delivery, a report) is written by the same function, in
//! the same savepoint, as the change itself.

use super::sql::{existing_call, find_call_row, limit_param, load_docs, touch_call};
use crate::keys::random_hex;
use crate::{
    AttemptVerdict, Delivery, DeliveryAttempt, DueDelivery, ReportJob, Result, StoreError,
    WebhookEndpoint,
};
use callscope_model::{
    Analysis, Call, CallStatus, ChainStep, DeliveryStatus, FallbackAction, Timestamp, Transfer,
    TransferReport, TransferSummary, ValidationError, WebhookDraft, WebhookEvent, WebhookStatus,
    apply_report, new_id,
};
use callscope_redact::RedactionSettings;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::json;

// ---- lifecycle of a call -------------------------------------------------------------------

/// Queues what writing `call` over a call of status `previous` (`None`: a new call) sets off:
/// `call.started` for a new call; `call.ended` and the post-call report when the status
/// first becomes terminal.
pub(super) fn on_call_written(
    connection: &Connection,
    previous: Option<CallStatus>,
    call: &Call,
) -> Result<()> {
    let org = call.organization_id.as_str();
    let started = previous.is_none();
    let ended = call.status.is_terminal() && !previous.is_some_and(|status| status.is_terminal());
    if !started && !ended {
        return Ok(());
    }
    let snapshot = serde_json::to_string(call)?;
    if started {
        enqueue(
            connection,
            org,
            WebhookEvent::CallStarted,
            &call.id,
            &snapshot,
        )?;
    }
    if ended {
        enqueue(
            connection,
            org,
            WebhookEvent::CallEnded,
            &call.id,
            &snapshot,
        )?;
        queue_report(connection, org, &call.id)?;
    }
    Ok(())
}

/// Makes the post-call report of call `id` due now (once: a queued one stays as it is).
pub(super) fn queue_report(connection: &Connection, org: &str, id: &str) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT OR IGNORE INTO analysis_queue
                (organization_id, call_id, queued_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?3)",
        )?
        .execute(params![org, id, Timestamp::now().as_millis()])?;
    Ok(())
}

pub(super) fn claim_reports(
    connection: &Connection,
    now: Timestamp,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<ReportJob>> {
    let now_ms = now.as_millis();
    let mut statement = connection.prepare_cached(
        "SELECT organization_id, call_id, attempts FROM analysis_queue
         WHERE next_attempt_at <= ?1 AND (locked_until IS NULL OR locked_until <= ?1)
         ORDER BY next_attempt_at LIMIT ?2",
    )?;
    let rows = statement.query_map(params![now_ms, limit_param(limit)], |row| {
        Ok(ReportJob {
            organization_id: row.get(0)?,
            call_id: row.get(1)?,
            attempt: row.get::<_, u32>(2)?.saturating_add(1),
        })
    })?;
    let jobs: Vec<ReportJob> = rows.collect::<rusqlite::Result<_>>()?;
    let mut claim = connection.prepare_cached(
        "UPDATE analysis_queue SET locked_until = ?3, attempts = attempts + 1
         WHERE organization_id = ?1 AND call_id = ?2",
    )?;
    for job in &jobs {
        claim.execute(params![
            job.organization_id,
            job.call_id,
            now_ms.saturating_add(lease_ms)
        ])?;
    }
    Ok(jobs)
}

pub(super) fn retry_report(
    connection: &Connection,
    org: &str,
    id: &str,
    at: Timestamp,
    error: &str,
) -> Result<()> {
    connection
        .prepare_cached(
            "UPDATE analysis_queue SET next_attempt_at = ?3, locked_until = NULL, last_error = ?4
             WHERE organization_id = ?1 AND call_id = ?2",
        )?
        .execute(params![org, id, at.as_millis(), error])?;
    Ok(())
}

pub(super) fn store_report(
    connection: &Connection,
    org: &str,
    id: &str,
    mut analysis: Analysis,
) -> Result<Call> {
    let (pk, mut call) = existing_call(connection, org, id)?;
    let now = Timestamp::now();
    let previous = call.analysis.take().unwrap_or_default();
    if analysis.scheduled_callback.is_none() {
        analysis.scheduled_callback = previous.scheduled_callback;
    }
    analysis.created_at = Some(previous.created_at.unwrap_or(now));
    analysis.updated_at = Some(now);
    let subscribers = subscribed_endpoints(connection, org, WebhookEvent::CallAnalyzed)?;
    if subscribers.is_empty() {
        analysis.webhook_status = Some(WebhookStatus::NotConfigured);
        analysis.webhook_attempts = None;
        analysis.webhook_next_retry_at = None;
    } else {
        analysis.webhook_status = Some(WebhookStatus::Pending);
        analysis.webhook_attempts = Some(0);
        analysis.webhook_next_retry_at = Some(now);
    }
    call.analysis = Some(analysis);
    connection
        .prepare_cached("DELETE FROM analysis_queue WHERE organization_id = ?1 AND call_id = ?2")?
        .execute(params![org, id])?;
    let call = touch_call(connection, org, id, pk, call)?;
    insert_deliveries(
        connection,
        &subscribers,
        org,
        WebhookEvent::CallAnalyzed,
        id,
        &serde_json::to_string(&call)?,
    )?;
    Ok(call)
}

// ---- agent settings and organization policy ------------------------------------------------

pub(super) fn agent_settings(
    connection: &Connection,
    org: &str,
    agent_id: &str,
) -> Result<Option<serde_json::Value>> {
    let doc: Option<String> = connection
        .prepare_cached(
            "SELECT doc FROM agent_settings WHERE organization_id = ?1 AND agent_id = ?2",
        )?
        .query_row(params![org, agent_id], |row| row.get(0))
        .optional()?;
    doc.map(|doc| serde_json::from_str(&doc).map_err(StoreError::from))
        .transpose()
}

pub(super) fn put_agent_settings(
    connection: &Connection,
    org: &str,
    agent_id: &str,
    settings: &serde_json::Value,
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO agent_settings (organization_id, agent_id, doc, updated_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (organization_id, agent_id)
             DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
        )?
        .execute(params![
            org,
            agent_id,
            serde_json::to_string(settings)?,
            Timestamp::now().as_millis()
        ])?;
    Ok(())
}

pub(super) fn public_recordings(connection: &Connection, org: &str) -> Result<bool> {
    Ok(connection
        .prepare_cached("SELECT public_recordings FROM organizations WHERE id = ?1")?
        .query_row([org], |row| row.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

pub(super) fn set_public_recordings(
    connection: &Connection,
    org: &str,
    public: bool,
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO organizations (id, created_at, public_recordings) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET public_recordings = excluded.public_recordings",
        )?
        .execute(params![org, Timestamp::now().as_millis(), public])?;
    Ok(())
}

pub(super) fn redaction(connection: &Connection, org: &str) -> Result<RedactionSettings> {
    let text: Option<String> = connection
        .prepare_cached("SELECT redaction FROM organizations WHERE id = ?1")?
        .query_row([org], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(match text {
        Some(text) => serde_json::from_str(&text)?,
        None => RedactionSettings::default(),
    })
}

pub(super) fn set_redaction(
    connection: &Connection,
    org: &str,
    settings: &RedactionSettings,
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO organizations (id, created_at, public_recordings, redaction)
             VALUES (?1, ?2, 0, ?3)
             ON CONFLICT (id) DO UPDATE SET redaction = excluded.redaction",
        )?
        .execute(params![
            org,
            Timestamp::now().as_millis(),
            serde_json::to_string(settings)?
        ])?;
    Ok(())
}

// ---- transfers -----------------------------------------------------------------------------

pub(super) fn insert_transfer(
    connection: &Connection,
    call_pk: i64,
    transfer: &Transfer,
) -> Result<()> {
    let inserted = connection
        .prepare_cached(
            "INSERT OR IGNORE INTO transfers (call_pk, id, chain_id, attempt, doc)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            call_pk,
            transfer.id,
            transfer.chain_id,
            transfer.attempt,
            serde_json::to_string(transfer)?
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "transfer `{}` already exists on this call",
            transfer.id
        )));
    }
    Ok(())
}

fn load_transfers(connection: &Connection, call_pk: i64) -> Result<Vec<Transfer>> {
    load_docs(
        connection,
        "SELECT doc FROM transfers WHERE call_pk = ?1 ORDER BY pk",
        call_pk,
    )
}

pub(super) fn create_transfer(
    connection: &Connection,
    org: &str,
    transfer: &Transfer,
) -> Result<Transfer> {
    let (pk, call) = existing_call(connection, org, &transfer.session_id)?;
    if call.status.is_terminal() {
        return Err(StoreError::Conflict(format!(
            "call `{}` is {}; only a call in progress can be transferred",
            call.id, call.status
        )));
    }
    if let Some(live) = load_transfers(connection, pk)?
        .into_iter()
        .find(|t| !t.status.is_terminal())
    {
        return Err(StoreError::Conflict(format!(
            "transfer `{}` of this call is still {}; cancel it first",
            live.id, live.status
        )));
    }
    insert_transfer(connection, pk, transfer)?;
    summarize_transfers(connection, org, pk, call)?;
    enqueue(
        connection,
        org,
        WebhookEvent::TransferUpdated,
        &transfer.id,
        &serde_json::to_string(transfer)?,
    )?;
    Ok(transfer.clone())
}

/// Stores on `call` what its transfer attempts came to, so the index sees it.
fn summarize_transfers(connection: &Connection, org: &str, pk: i64, mut call: Call) -> Result<()> {
    call.transfer = TransferSummary::of(&load_transfers(connection, pk)?);
    let id = call.id.clone();
    touch_call(connection, org, &id, pk, call)?;
    Ok(())
}

pub(super) fn report_transfer(
    connection: &Connection,
    org: &str,
    call_id: &str,
    transfer_id: &str,
    report: TransferReport,
) -> Result<(ChainStep, Vec<Transfer>)> {
    let (pk, call) = existing_call(connection, org, call_id)?;
    let chain = load_transfers(connection, pk)?;
    let transfer = chain
        .iter()
        .find(|t| t.id == transfer_id)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(format!("transfer `{transfer_id}`")))?;
    let now = Timestamp::now();
    let step =
        apply_report(transfer, report, now).map_err(|e| StoreError::Conflict(e.to_string()))?;
    if step.changed {
        connection
            .prepare_cached("UPDATE transfers SET doc = ?1 WHERE call_pk = ?2 AND id = ?3")?
            .execute(params![
                serde_json::to_string(&step.transfer)?,
                pk,
                step.transfer.id
            ])?;
        enqueue(
            connection,
            org,
            WebhookEvent::TransferUpdated,
            &step.transfer.id,
            &serde_json::to_string(&step.transfer)?,
        )?;
        if let Some(next) = &step.next {
            insert_transfer(connection, pk, next)?;
            enqueue(
                connection,
                org,
                WebhookEvent::TransferUpdated,
                &next.id,
                &serde_json::to_string(next)?,
            )?;
        }
        let mut call = call;
        if let Some(fallback) = step
            .fallback_applied
            .as_ref()
            .filter(|f| f.action == FallbackAction::ScheduledCallback)
        {
            let mut callback = fallback.details.clone();
            callback.insert("reason".into(), json!("transfer_failed"));
            callback.insert("transfer_id".into(), json!(step.transfer.chain_id));
            callback.insert("requested_at".into(), json!(now));
            callback.insert("targets".into(), json!(step.transfer.targets));
            call.analysis
                .get_or_insert_with(Analysis::default)
                .scheduled_callback = Some(callback);
        }
        summarize_transfers(connection, org, pk, call)?;
    }
    let chain = load_transfers(connection, pk)?;
    Ok((step, chain))
}

pub(super) fn list_transfers(
    connection: &Connection,
    org: &str,
    call_id: &str,
) -> Result<Option<Vec<Transfer>>> {
    find_call_row(connection, org, call_id)?
        .map(|(pk, _)| load_transfers(connection, pk))
        .transpose()
}

// ---- webhook endpoints ---------------------------------------------------------------------

const ENDPOINT_COLUMNS: &str = "e.id, e.organization_id, e.url, e.events, e.description, \
     e.enabled, e.secret, e.previous_secret, e.previous_secret_expires_at, e.created_at, \
     e.updated_at";

fn timestamp(millis: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_millis(millis)
        .ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(0, millis))
}

fn optional_timestamp(millis: Option<i64>) -> rusqlite::Result<Option<Timestamp>> {
    millis.map(timestamp).transpose()
}

/// An endpoint from the `ENDPOINT_COLUMNS` starting at column `at`.
fn endpoint_at(row: &Row<'_>, at: usize) -> rusqlite::Result<WebhookEndpoint> {
    let events: String = row.get(at + 3)?;
    Ok(WebhookEndpoint {
        id: row.get(at)?,
        organization_id: row.get(at + 1)?,
        url: row.get(at + 2)?,
        events: events
            .split(',')
            .filter_map(|name| name.parse().ok())
            .collect(),
        description: row.get(at + 4)?,
        enabled: row.get(at + 5)?,
        secret: row.get(at + 6)?,
        previous_secret: row.get(at + 7)?,
        previous_secret_expires_at: optional_timestamp(row.get(at + 8)?)?,
        created_at: timestamp(row.get(at + 9)?)?,
        updated_at: timestamp(row.get(at + 10)?)?,
    })
}

fn events_text(events: &[WebhookEvent]) -> String {
    let mut names: Vec<&str> = events.iter().map(WebhookEvent::as_str).collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

fn new_secret() -> Result<String> {
    Ok(format!("whsec_{}", random_hex(24)?))
}

pub(super) fn create_webhook(
    connection: &Connection,
    org: &str,
    draft: WebhookDraft,
) -> Result<WebhookEndpoint> {
    draft.validate(true)?;
    let now = Timestamp::now();
    let endpoint = WebhookEndpoint {
        id: new_id(),
        organization_id: org.to_owned(),
        url: draft.url.unwrap_or_default(),
        events: draft.events.unwrap_or_default(),
        description: draft.description,
        enabled: draft.enabled.unwrap_or(true),
        secret: new_secret()?,
        previous_secret: None,
        previous_secret_expires_at: None,
        created_at: now,
        updated_at: now,
    };
    save_endpoint(connection, &endpoint, true)?;
    Ok(endpoint)
}

fn save_endpoint(connection: &Connection, endpoint: &WebhookEndpoint, new: bool) -> Result<()> {
    let values = params![
        endpoint.id,
        endpoint.organization_id,
        endpoint.url,
        events_text(&endpoint.events),
        endpoint.description,
        endpoint.enabled,
        endpoint.secret,
        endpoint.previous_secret,
        endpoint.previous_secret_expires_at.map(|t| t.as_millis()),
        endpoint.created_at.as_millis(),
        endpoint.updated_at.as_millis(),
    ];
    let statement = if new {
        "INSERT INTO webhook_endpoints (id, organization_id, url, events, description, enabled,
            secret, previous_secret, previous_secret_expires_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    } else {
        "UPDATE webhook_endpoints SET url = ?3, events = ?4, description = ?5, enabled = ?6,
            secret = ?7, previous_secret = ?8, previous_secret_expires_at = ?9,
            created_at = ?10, updated_at = ?11
         WHERE id = ?1 AND organization_id = ?2"
    };
    connection.prepare_cached(statement)?.execute(values)?;
    Ok(())
}

pub(super) fn list_webhooks(connection: &Connection, org: &str) -> Result<Vec<WebhookEndpoint>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.organization_id = ?1
         ORDER BY e.created_at, e.pk"
    ))?;
    let rows = statement.query_map([org], |row| endpoint_at(row, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn get_webhook(
    connection: &Connection,
    org: &str,
    id: &str,
) -> Result<Option<WebhookEndpoint>> {
    Ok(connection
        .prepare_cached(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e
             WHERE e.organization_id = ?1 AND e.id = ?2"
        ))?
        .query_row(params![org, id], |row| endpoint_at(row, 0))
        .optional()?)
}

fn existing_webhook(connection: &Connection, org: &str, id: &str) -> Result<WebhookEndpoint> {
    get_webhook(connection, org, id)?
        .ok_or_else(|| StoreError::NotFound(format!("webhook endpoint `{id}`")))
}

pub(super) fn update_webhook(
    connection: &Connection,
    org: &str,
    id: &str,
    draft: WebhookDraft,
) -> Result<WebhookEndpoint> {
    draft.validate(false)?;
    let mut endpoint = existing_webhook(connection, org, id)?;
    if let Some(url) = draft.url {
        endpoint.url = url;
    }
    if let Some(events) = draft.events {
        endpoint.events = events;
    }
    if draft.description.is_some() {
        endpoint.description = draft.description;
    }
    if let Some(enabled) = draft.enabled {
        endpoint.enabled = enabled;
    }
    endpoint.updated_at = Timestamp::now();
    save_endpoint(connection, &endpoint, false)?;
    existing_webhook(connection, org, id)
}

pub(super) fn rotate_webhook_secret(
    connection: &Connection,
    org: &str,
    id: &str,
    grace_ms: i64,
) -> Result<WebhookEndpoint> {
    if grace_ms < 0 {
        return Err(ValidationError::new("grace_seconds", "must not be negative").into());
    }
    let mut endpoint = existing_webhook(connection, org, id)?;
    let now = Timestamp::now();
    let old = std::mem::replace(&mut endpoint.secret, new_secret()?);
    endpoint.previous_secret = Some(old);
    endpoint.previous_secret_expires_at = Some(now.plus_millis(grace_ms));
    endpoint.updated_at = now;
    save_endpoint(connection, &endpoint, false)?;
    Ok(endpoint)
}

pub(super) fn delete_webhook(connection: &Connection, org: &str, id: &str) -> Result<bool> {
    Ok(connection
        .prepare_cached("DELETE FROM webhook_endpoints WHERE organization_id = ?1 AND id = ?2")?
        .execute(params![org, id])?
        > 0)
}

// ---- the outbox ----------------------------------------------------------------------------

/// The organization's enabled endpoints subscribed to `event`, as (pk, id).
fn subscribed_endpoints(
    connection: &Connection,
    org: &str,
    event: WebhookEvent,
) -> Result<Vec<i64>> {
    let mut statement = connection.prepare_cached(
        "SELECT pk, events FROM webhook_endpoints WHERE organization_id = ?1 AND enabled = 1",
    )?;
    let rows = statement.query_map([org], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
    })?;
    let mut subscribed = Vec::new();
    for row in rows {
        let (pk, events) = row?;
        if events.split(',').any(|name| name == event.as_str()) {
            subscribed.push(pk);
        }
    }
    Ok(subscribed)
}

/// Queues `event` about `subject_id` for every endpoint of `org` subscribed to it.
fn enqueue(
    connection: &Connection,
    org: &str,
    event: WebhookEvent,
    subject_id: &str,
    snapshot: &str,
) -> Result<()> {
    let endpoints = subscribed_endpoints(connection, org, event)?;
    insert_deliveries(connection, &endpoints, org, event, subject_id, snapshot)
}

fn insert_deliveries(
    connection: &Connection,
    endpoints: &[i64],
    org: &str,
    event: WebhookEvent,
    subject_id: &str,
    snapshot: &str,
) -> Result<()> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let event_id = new_id();
    let now = Timestamp::now().as_millis();
    let mut statement = connection.prepare_cached(
        "INSERT INTO webhook_deliveries (id, event_id, organization_id, endpoint_pk, event,
            subject_id, snapshot, status, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8)",
    )?;
    for endpoint in endpoints {
        statement.execute(params![
            new_id(),
            event_id,
            org,
            endpoint,
            event.as_str(),
            subject_id,
            snapshot,
            now
        ])?;
    }
    Ok(())
}

const DELIVERY_COLUMNS: &str = "d.id, d.event_id, e.id, d.organization_id, d.event, \
     d.subject_id, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, \
     d.redelivery_of, d.created_at, d.delivered_at";

/// A delivery from the `DELIVERY_COLUMNS` at the start of the row (attempt log empty).
fn delivery(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    fn parse<T: std::str::FromStr<Err = callscope_model::UnknownVariant>>(
        row: &Row<'_>,
        at: usize,
    ) -> rusqlite::Result<T> {
        row.get::<_, String>(at)?
            .parse()
            .map_err(|e: callscope_model::UnknownVariant| {
                rusqlite::Error::FromSqlConversionFailure(at, rusqlite::types::Type::Text, e.into())
            })
    }
    Ok(Delivery {
        id: row.get(0)?,
        event_id: row.get(1)?,
        endpoint_id: row.get(2)?,
        organization_id: row.get(3)?,
        event: parse(row, 4)?,
        subject_id: row.get(5)?,
        status: parse(row, 6)?,
        attempts: row.get(7)?,
        next_attempt_at: optional_timestamp(row.get(8)?)?,
        last_status_code: row.get(9)?,
        last_error: row.get(10)?,
        redelivery_of: row.get(11)?,
        created_at: timestamp(row.get(12)?)?,
        delivered_at: optional_timestamp(row.get(13)?)?,
        log: Vec::new(),
    })
}

fn attempts_of(connection: &Connection, delivery_id: &str) -> Result<Vec<DeliveryAttempt>> {
    let mut statement = connection.prepare_cached(
        "SELECT a.number, a.at, a.status_code, a.error, a.duration_ms
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.pk = a.delivery_pk
         WHERE d.id = ?1 ORDER BY a.number",
    )?;
    let rows = statement.query_map([delivery_id], |row| {
        Ok(DeliveryAttempt {
            number: row.get(0)?,
            at: timestamp(row.get(1)?)?,
            status_code: row.get(2)?,
            error: row.get(3)?,
            duration_ms: u64::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn list_deliveries(
    connection: &Connection,
    org: &str,
    endpoint_id: &str,
    limit: usize,
) -> Result<Option<Vec<Delivery>>> {
    if get_webhook(connection, org, endpoint_id)?.is_none() {
        return Ok(None);
    }
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
         JOIN webhook_endpoints e ON e.pk = d.endpoint_pk
         WHERE e.organization_id = ?1 AND e.id = ?2 ORDER BY d.pk DESC LIMIT ?3"
    ))?;
    let rows = statement.query_map(params![org, endpoint_id, limit_param(limit)], delivery)?;
    let mut deliveries: Vec<Delivery> = rows.collect::<rusqlite::Result<_>>()?;
    for delivery in &mut deliveries {
        delivery.log = attempts_of(connection, &delivery.id)?;
    }
    Ok(Some(deliveries))
}

pub(super) fn redeliver(
    connection: &Connection,
    org: &str,
    endpoint_id: &str,
    delivery_id: &str,
) -> Result<Delivery> {
    let original: Option<(i64, String, i64, String, String, String)> = connection
        .prepare_cached(
            "SELECT d.pk, d.event_id, d.endpoint_pk, d.event, d.subject_id, d.snapshot
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.pk = d.endpoint_pk
             WHERE e.organization_id = ?1 AND e.id = ?2 AND d.id = ?3",
        )?
        .query_row(params![org, endpoint_id, delivery_id], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })
        .optional()?;
    let (pk, event_id, endpoint_pk, event, subject_id, snapshot) =
        original.ok_or_else(|| StoreError::NotFound(format!("delivery `{delivery_id}`")))?;
    let id = new_id();
    let now = Timestamp::now().as_millis();
    connection
        .prepare_cached(
            "INSERT INTO webhook_deliveries (id, event_id, organization_id, endpoint_pk, event,
                subject_id, snapshot, status, next_attempt_at, redelivery_of, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?8)",
        )?
        .execute(params![
            id,
            event_id,
            org,
            endpoint_pk,
            event,
            subject_id,
            snapshot,
            now,
            delivery_id
        ])?;
    connection
        .prepare_cached("UPDATE webhook_deliveries SET superseded = 1 WHERE pk = ?1")?
        .execute([pk])?;
    if event == WebhookEvent::CallAnalyzed.as_str() {
        refresh_post_call_status(connection, org, &subject_id)?;
    }
    Ok(connection
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.pk = d.endpoint_pk WHERE d.id = ?1"
        ))?
        .query_row([&id], delivery)?)
}

pub(super) fn claim_deliveries(
    connection: &Connection,
    now: Timestamp,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<DueDelivery>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS}, d.snapshot, {ENDPOINT_COLUMNS}, d.pk
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.pk = d.endpoint_pk
         WHERE d.status = 'pending' AND d.superseded = 0 AND d.next_attempt_at <= ?1
           AND (d.locked_until IS NULL OR d.locked_until <= ?1) AND e.enabled = 1
         ORDER BY d.next_attempt_at, d.pk LIMIT ?2"
    ))?;
    let rows = statement.query_map(params![now.as_millis(), limit_param(limit)], |row| {
        let due = DueDelivery {
            delivery: delivery(row)?,
            snapshot: row.get(14)?,
            endpoint: endpoint_at(row, 15)?,
        };
        Ok((row.get::<_, i64>(26)?, due))
    })?;
    let claimed: Vec<(i64, DueDelivery)> = rows.collect::<rusqlite::Result<_>>()?;
    let mut lock = connection
        .prepare_cached("UPDATE webhook_deliveries SET locked_until = ?2 WHERE pk = ?1")?;
    for (pk, _) in &claimed {
        lock.execute(params![pk, now.as_millis().saturating_add(lease_ms)])?;
    }
    Ok(claimed.into_iter().map(|(_, due)| due).collect())
}

pub(super) fn next_delivery_at(connection: &Connection) -> Result<Option<Timestamp>> {
    // A claimed delivery falls due again only when its lease runs out.
    let next: Option<i64> = connection
        .prepare_cached(
            "SELECT min(max(d.next_attempt_at, coalesce(d.locked_until, 0)))
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.pk = d.endpoint_pk
             WHERE d.status = 'pending' AND d.superseded = 0 AND e.enabled = 1",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(optional_timestamp(next)?)
}

pub(super) fn record_attempt(
    connection: &Connection,
    delivery_id: &str,
    attempt: &DeliveryAttempt,
    verdict: AttemptVerdict,
) -> Result<()> {
    let found: Option<(i64, String, String, String)> = connection
        .prepare_cached(
            "SELECT pk, organization_id, event, subject_id FROM webhook_deliveries WHERE id = ?1",
        )?
        .query_row([delivery_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    // The endpoint (and so the delivery) may have been deleted while the attempt ran.
    let Some((pk, org, event, subject_id)) = found else {
        return Ok(());
    };
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO webhook_attempts
                (delivery_pk, number, at, status_code, error, duration_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            pk,
            attempt.number,
            attempt.at.as_millis(),
            attempt.status_code,
            attempt.error,
            i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX)
        ])?;
    let (status, next, delivered) = match verdict {
        AttemptVerdict::Delivered => (DeliveryStatus::Delivered, None, Some(attempt.at)),
        AttemptVerdict::RetryAt(at) => (DeliveryStatus::Pending, Some(at), None),
        AttemptVerdict::GiveUp => (DeliveryStatus::Failed, None, None),
    };
    connection
        .prepare_cached(
            "UPDATE webhook_deliveries SET status = ?1, attempts = ?2, next_attempt_at = ?3,
                last_status_code = ?4, last_error = ?5, delivered_at = ?6, locked_until = NULL
             WHERE pk = ?7",
        )?
        .execute(params![
            status.as_str(),
            attempt.number,
            next.map(|t| t.as_millis()),
            attempt.status_code,
            attempt.error,
            delivered.map(|t| t.as_millis()),
            pk
        ])?;
    if event == WebhookEvent::CallAnalyzed.as_str() {
        refresh_post_call_status(connection, &org, &subject_id)?;
    }
    Ok(())
}

/// Sets the call's post-call webhook status from the deliveries of its latest
/// `call.analyzed` event: pending while any is, else failed if any failed, else delivered.
fn refresh_post_call_status(connection: &Connection, org: &str, call_id: &str) -> Result<()> {
    let Some((pk, doc)) = find_call_row(connection, org, call_id)? else {
        return Ok(());
    };
    let mut statement = connection.prepare_cached(
        "SELECT status, attempts, next_attempt_at FROM webhook_deliveries
         WHERE organization_id = ?1 AND subject_id = ?2 AND event = 'call.analyzed'
           AND superseded = 0
           AND event_id = (SELECT event_id FROM webhook_deliveries
                           WHERE organization_id = ?1 AND subject_id = ?2
                             AND event = 'call.analyzed'
                           ORDER BY pk DESC LIMIT 1)",
    )?;
    let rows = statement.query_map(params![org, call_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, u32>(1)?,
            row.get::<_, Option<i64>>(2)?,
        ))
    })?;
    let (mut pending, mut failed, mut attempts, mut next) = (false, false, 0, None::<i64>);
    for row in rows {
        let (status, tried, due) = row?;
        pending |= status == "pending";
        failed |= status == "failed";
        attempts = attempts.max(tried);
        if let Some(due) = due {
            next = Some(next.map_or(due, |n| n.min(due)));
        }
    }
    let mut call: Call = serde_json::from_str(&doc)?;
    let analysis = call.analysis.get_or_insert_with(Analysis::default);
    analysis.webhook_status = Some(if pending {
        WebhookStatus::Pending
    } else if failed {
        WebhookStatus::Failed
    } else {
        WebhookStatus::Delivered
    });
    analysis.webhook_attempts = Some(attempts);
    analysis.webhook_next_retry_at = if pending {
        optional_timestamp(next)?
    } else {
        None
    };
    touch_call(connection, org, call_id, pk, call)?;
    Ok(())
}
