//! The statements of the embedded backend, as plain functions of a SQLite connection.
//!
//! Write functions run on the writer thread inside a savepoint of the current batch; read
//! functions run on a pooled read connection. None of them knows about threads.

use crate::keys::{
    generate_key_id, generate_secret, hash_secret, random_hex, scopes_from_text, scopes_to_text,
};
use crate::list::check_cursor_matches;
use crate::{
    CallBuilder, CallPage, CallRecord, Cursor, KeyInfo, ListCalls, MetricsBuilder, NewKey,
    NewSession, Paging, Principal, Result, Session, SortField, SortOrder, StoreError, WriteMode,
    Written,
};
use callscope_model::{
    Call, Event, LatencySample, MetricsReport, Scope, Timestamp, TranscriptEntry, TransferSummary,
    UsageRecord, ValidationError, new_id, normalize_transcript, validate_id,
};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use std::collections::HashSet;

// ---- calls ---------------------------------------------------------------------------------

/// The primary key and stored form of a call, if it exists.
pub(super) fn find_call_row(
    connection: &Connection,
    org: &str,
    id: &str,
) -> Result<Option<(i64, String)>> {
    Ok(connection
        .prepare_cached("SELECT pk, doc FROM calls WHERE organization_id = ?1 AND id = ?2")?
        .query_row(params![org, id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// A row count as SQLite takes it (`LIMIT`), saturating.
pub(super) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The `doc` column of every row `statement` selects for a call (`?1`), parsed.
pub(super) fn load_docs<T: serde::de::DeserializeOwned>(
    connection: &Connection,
    statement: &str,
    call_pk: i64,
) -> Result<Vec<T>> {
    let mut statement = connection.prepare_cached(statement)?;
    let docs = statement.query_map([call_pk], |row| row.get::<_, String>(0))?;
    docs.map(|doc| Ok(serde_json::from_str(&doc?)?)).collect()
}

/// The primary key and stored document (without its transcript) of a call that must exist.
pub(super) fn existing_call(connection: &Connection, org: &str, id: &str) -> Result<(i64, Call)> {
    let (pk, doc) = find_call_row(connection, org, id)?
        .ok_or_else(|| StoreError::NotFound(format!("call `{id}`")))?;
    Ok((pk, serde_json::from_str(&doc)?))
}

fn load_transcript(connection: &Connection, call_pk: i64) -> Result<Vec<TranscriptEntry>> {
    load_docs(
        connection,
        "SELECT doc FROM transcript_entries WHERE call_pk = ?1 ORDER BY idx",
        call_pk,
    )
}

fn load_call(connection: &Connection, call_pk: i64, doc: &str) -> Result<Call> {
    let mut call: Call = serde_json::from_str(doc)?;
    call.transcript = load_transcript(connection, call_pk)?;
    Ok(call)
}

pub(super) fn get_call(connection: &Connection, org: &str, id: &str) -> Result<Option<Call>> {
    find_call_row(connection, org, id)?
        .map(|(pk, doc)| load_call(connection, pk, &doc))
        .transpose()
}

pub(super) fn get_calls(connection: &Connection, org: &str, ids: &[String]) -> Result<Vec<Call>> {
    let mut seen = HashSet::new();
    let mut calls = Vec::new();
    for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
        if let Some(call) = get_call(connection, org, id)? {
            calls.push(call);
        }
    }
    Ok(calls)
}

fn record_change(connection: &Connection, org: &str, id: &str, op: &str) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO changes (organization_id, call_id, op, at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![org, id, op, Timestamp::now().as_millis()])?;
    Ok(())
}

/// Inserts or replaces the call row and its transcript; returns the row's primary key.
fn store_call(connection: &Connection, existing_pk: Option<i64>, call: &mut Call) -> Result<i64> {
    let transcript = std::mem::take(&mut call.transcript);
    let doc = serde_json::to_string(&call);
    call.transcript = transcript;
    let doc = doc?;
    let millis = |at: Option<Timestamp>| at.map(|t| t.as_millis());
    let duration = call.duration_ms.and_then(|ms| i64::try_from(ms).ok());
    let columns = params![
        call.organization_id,
        call.id,
        call.agent.id,
        call.campaign_id,
        call.status.as_str(),
        call.kind.map(|kind| kind.as_str()),
        call.from_number,
        call.to_number,
        call.created_at.as_millis(),
        call.updated_at.as_millis(),
        millis(call.started_at),
        millis(call.ended_at),
        duration,
        doc,
    ];
    let pk = match existing_pk {
        Some(pk) => {
            connection
                .prepare_cached(
                    "UPDATE calls SET organization_id = ?1, id = ?2, agent_id = ?3,
                        campaign_id = ?4, status = ?5, kind = ?6, from_number = ?7,
                        to_number = ?8, created_at = ?9, updated_at = ?10, started_at = ?11,
                        ended_at = ?12, duration_ms = ?13, doc = ?14
                     WHERE pk = ?15",
                )?
                .execute(rusqlite::params_from_iter(
                    columns.iter().copied().chain([&pk as _]),
                ))?;
            connection
                .prepare_cached("DELETE FROM transcript_entries WHERE call_pk = ?1")?
                .execute([pk])?;
            pk
        }
        None => {
            connection
                .prepare_cached(
                    "INSERT INTO calls (organization_id, id, agent_id, campaign_id, status, kind,
                        from_number, to_number, created_at, updated_at, started_at, ended_at,
                        duration_ms, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )?
                .execute(columns)?;
            connection.last_insert_rowid()
        }
    };
    insert_transcript(connection, pk, &call.transcript)?;
    record_change(connection, &call.organization_id, &call.id, "upsert")?;
    Ok(pk)
}

fn insert_transcript(
    connection: &Connection,
    call_pk: i64,
    entries: &[TranscriptEntry],
) -> Result<()> {
    let mut statement = connection.prepare_cached(
        "INSERT INTO transcript_entries (call_pk, idx, id, doc) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for entry in entries {
        let index = entry.index.unwrap_or_default();
        match statement.execute(params![
            call_pk,
            index,
            entry.id,
            serde_json::to_string(entry)?
        ]) {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::Conflict(format!(
                    "transcript index {index} is already taken by another entry"
                )));
            }
            other => {
                other?;
            }
        }
    }
    Ok(())
}

pub(super) fn write_call(
    connection: &Connection,
    org: &str,
    id: &str,
    mode: WriteMode,
    build: CallBuilder,
) -> Result<Written> {
    let existing = find_call_row(connection, org, id)?;
    let (existing_pk, existing_call) = match existing {
        Some((pk, doc)) => (Some(pk), Some(load_call(connection, pk, &doc)?)),
        None => (None, None),
    };
    match (mode, &existing_call) {
        (WriteMode::Create, Some(_)) => {
            return Err(StoreError::Conflict(format!("call `{id}` already exists")));
        }
        (WriteMode::Update, None) => return Err(StoreError::NotFound(format!("call `{id}`"))),
        _ => {}
    }
    let previous_status = existing_call.as_ref().map(|call| call.status);
    // Derived from the transfer attempts, which a rewrite of the call leaves alone.
    let transfer = existing_call
        .as_ref()
        .and_then(|call| call.transfer.clone());
    let mut call = build(existing_call)?;
    if call.id != id || call.organization_id != org {
        return Err(StoreError::Internal(
            "a call builder changed the call's identity".into(),
        ));
    }
    call.transfer = transfer;
    store_call(connection, existing_pk, &mut call)?;
    super::lifecycle::on_call_written(connection, previous_status, &call)?;
    Ok(Written {
        call,
        created: existing_pk.is_none(),
    })
}

/// Stores ready calls, replacing any of the same id with its events and attempts; an
/// `imported` completed call without a report gets its report queued. Answers how many
/// replaced a call.
pub(super) fn insert_calls(
    connection: &Connection,
    records: Vec<CallRecord>,
    imported: bool,
) -> Result<usize> {
    let mut replaced = 0;
    for CallRecord {
        mut call,
        events,
        transfers,
    } in records
    {
        let existing_pk =
            find_call_row(connection, &call.organization_id, &call.id)?.map(|row| row.0);
        if let Some(pk) = existing_pk {
            replaced += 1;
            for table in ["events", "transfers"] {
                connection
                    .prepare_cached(&format!("DELETE FROM {table} WHERE call_pk = ?1"))?
                    .execute([pk])?;
            }
        }
        call.transfer = TransferSummary::of(&transfers);
        let pk = store_call(connection, existing_pk, &mut call)?;
        insert_events(connection, pk, &events)?;
        for transfer in &transfers {
            super::lifecycle::insert_transfer(connection, pk, transfer)?;
        }
        if imported && call.status.is_terminal() && call.analysis.is_none() {
            super::lifecycle::queue_report(connection, &call.organization_id, &call.id)?;
        }
    }
    Ok(replaced)
}

/// `calls` with their events and transfer attempts; a call deleted meanwhile has none.
pub(super) fn call_records(
    connection: &Connection,
    org: &str,
    calls: Vec<Call>,
) -> Result<Vec<CallRecord>> {
    calls
        .into_iter()
        .map(|call| {
            Ok(CallRecord {
                events: list_events(connection, org, &call.id)?.unwrap_or_default(),
                transfers: super::lifecycle::list_transfers(connection, org, &call.id)?
                    .unwrap_or_default(),
                call,
            })
        })
        .collect()
}

/// Deletes the calls among `ids` with everything that hangs off them (transcript, events,
/// transfers, usage and latency by cascade; their traces and queued report here), logging
/// each delete for the index; answers how many there were.
pub(super) fn delete_calls(connection: &Connection, org: &str, ids: &[String]) -> Result<usize> {
    let mut deleted = 0;
    for id in ids {
        let removed = connection
            .prepare_cached("DELETE FROM calls WHERE organization_id = ?1 AND id = ?2")?
            .execute(params![org, id])?;
        if removed == 0 {
            continue;
        }
        deleted += 1;
        record_change(connection, org, id, "delete")?;
        super::traces::forget_call(connection, org, id)?;
        connection
            .prepare_cached(
                "DELETE FROM analysis_queue WHERE organization_id = ?1 AND call_id = ?2",
            )?
            .execute(params![org, id])?;
    }
    Ok(deleted)
}

pub(super) fn append_transcript(
    connection: &Connection,
    org: &str,
    id: &str,
    mut entries: Vec<TranscriptEntry>,
) -> Result<Call> {
    let (pk, call) = existing_call(connection, org, id)?;
    if call.status.is_terminal() {
        return Err(StoreError::Conflict(format!(
            "call `{id}` is {}; its transcript is closed",
            call.status
        )));
    }
    let existing = load_transcript(connection, pk)?;
    let known: HashSet<&str> = existing.iter().map(|entry| entry.id.as_str()).collect();
    entries.retain(|entry| !known.contains(entry.id.as_str()));
    normalize_transcript(&mut entries, &existing)?;
    insert_transcript(connection, pk, &entries)?;
    touch_call(connection, org, id, pk, call)
}

/// Stores `call`'s document (whose copied columns did not change) with a new `updated_at`,
/// logs the change, and returns it with its transcript.
pub(super) fn touch_call(
    connection: &Connection,
    org: &str,
    id: &str,
    pk: i64,
    mut call: Call,
) -> Result<Call> {
    call.updated_at = Timestamp::now();
    connection
        .prepare_cached("UPDATE calls SET updated_at = ?1, doc = ?2 WHERE pk = ?3")?
        .execute(params![
            call.updated_at.as_millis(),
            serde_json::to_string(&call)?,
            pk
        ])?;
    record_change(connection, org, id, "upsert")?;
    call.transcript = load_transcript(connection, pk)?;
    Ok(call)
}

// ---- usage and latency ---------------------------------------------------------------------

pub(super) fn record_metrics(
    connection: &Connection,
    org: &str,
    id: &str,
    report: MetricsReport,
    derive: MetricsBuilder,
) -> Result<Call> {
    let (pk, call) = existing_call(connection, org, id)?;
    let mut insert = connection.prepare_cached(
        "INSERT OR IGNORE INTO usage_records (call_pk, id, doc) VALUES (?1, ?2, ?3)",
    )?;
    for mut record in report.usage {
        let record_id = record.id.get_or_insert_with(new_id).clone();
        insert.execute(params![pk, record_id, serde_json::to_string(&record)?])?;
    }
    let mut upsert = connection.prepare_cached(
        "INSERT INTO latency_samples (call_pk, turn, doc) VALUES (?1, ?2, ?3) \
         ON CONFLICT (call_pk, turn) DO UPDATE SET doc = excluded.doc",
    )?;
    for sample in &report.latency {
        upsert.execute(params![pk, sample.turn, serde_json::to_string(sample)?])?;
    }
    let usage: Vec<UsageRecord> = load_docs(
        connection,
        "SELECT doc FROM usage_records WHERE call_pk = ?1 ORDER BY pk",
        pk,
    )?;
    let samples: Vec<LatencySample> = load_docs(
        connection,
        "SELECT doc FROM latency_samples WHERE call_pk = ?1 ORDER BY turn",
        pk,
    )?;
    let call = derive(call, &usage, &samples).map_err(StoreError::Invalid)?;
    touch_call(connection, org, id, pk, call)
}

// ---- events --------------------------------------------------------------------------------

fn insert_events(connection: &Connection, call_pk: i64, events: &[Event]) -> Result<()> {
    let mut statement = connection.prepare_cached(
        "INSERT OR IGNORE INTO events (call_pk, id, occurred_at, doc) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for event in events {
        statement.execute(params![
            call_pk,
            event.id,
            event.occurred_at.as_millis(),
            serde_json::to_string(event)?
        ])?;
    }
    Ok(())
}

pub(super) fn add_events(
    connection: &Connection,
    org: &str,
    id: &str,
    events: &[Event],
) -> Result<()> {
    let (pk, _) = find_call_row(connection, org, id)?
        .ok_or_else(|| StoreError::NotFound(format!("call `{id}`")))?;
    insert_events(connection, pk, events)
}

pub(super) fn list_events(
    connection: &Connection,
    org: &str,
    id: &str,
) -> Result<Option<Vec<Event>>> {
    let Some((pk, _)) = find_call_row(connection, org, id)? else {
        return Ok(None);
    };
    load_docs(
        connection,
        "SELECT doc FROM events WHERE call_pk = ?1 ORDER BY occurred_at, pk",
        pk,
    )
    .map(Some)
}

// ---- lists ---------------------------------------------------------------------------------

impl SortField {
    /// The column holding this field; only these fixed names ever reach the SQL text.
    fn column(&self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::StartedAt => "started_at",
            Self::EndedAt => "ended_at",
            Self::DurationMs => "duration_ms",
        }
    }

    /// Whether some calls have no value, so missing values need ordering too.
    fn nullable(&self) -> bool {
        !matches!(self, Self::CreatedAt | Self::UpdatedAt)
    }

    /// The cursor value of `call` for this field.
    fn value_of(&self, call: &Call) -> Option<i64> {
        let millis = |at: Option<Timestamp>| at.map(|t| t.as_millis());
        match self {
            Self::CreatedAt => Some(call.created_at.as_millis()),
            Self::UpdatedAt => Some(call.updated_at.as_millis()),
            Self::StartedAt => millis(call.started_at),
            Self::EndedAt => millis(call.ended_at),
            Self::DurationMs => call.duration_ms.and_then(|ms| i64::try_from(ms).ok()),
        }
    }
}

/// A WHERE clause under construction with its positional parameters.
struct Clause {
    conditions: Vec<String>,
    values: Vec<SqlValue>,
}

impl Clause {
    fn new(org: &str) -> Self {
        Self {
            conditions: vec!["organization_id = ?".into()],
            values: vec![org.to_owned().into()],
        }
    }

    fn push(&mut self, condition: impl Into<String>, values: impl IntoIterator<Item = SqlValue>) {
        self.conditions.push(condition.into());
        self.values.extend(values);
    }

    fn any_of(&mut self, column: &str, texts: impl IntoIterator<Item = &'static str>) {
        let values: Vec<SqlValue> = texts
            .into_iter()
            .map(|text| text.to_owned().into())
            .collect();
        if !values.is_empty() {
            let marks = vec!["?"; values.len()].join(", ");
            self.push(format!("{column} IN ({marks})"), values);
        }
    }

    fn sql(&self) -> String {
        self.conditions.join(" AND ")
    }
}

fn filters(org: &str, query: &ListCalls) -> Clause {
    let mut clause = Clause::new(org);
    if let Some(agent) = &query.agent_id {
        clause.push("agent_id = ?", [agent.clone().into()]);
    }
    if let Some(campaign) = &query.campaign_id {
        clause.push("campaign_id = ?", [campaign.clone().into()]);
    }
    clause.any_of(
        "status",
        query.statuses.iter().map(|status| status.as_str()),
    );
    clause.any_of("kind", query.kinds.iter().map(|kind| kind.as_str()));
    if let Some(search) = &query.search {
        let escaped = search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        clause.push(
            "(id = ? OR from_number LIKE ? ESCAPE '\\' OR to_number LIKE ? ESCAPE '\\')",
            [
                search.clone().into(),
                pattern.clone().into(),
                pattern.into(),
            ],
        );
    }
    if let Some(from) = query.created_from {
        clause.push("created_at >= ?", [from.as_millis().into()]);
    }
    if let Some(before) = query.created_before {
        clause.push("created_at < ?", [before.as_millis().into()]);
    }
    clause
}

/// The condition "after the cursor" in the list's order, missing values last.
fn after_cursor(clause: &mut Clause, cursor: &Cursor) {
    let column = cursor.sort.column();
    let beyond = if cursor.order == SortOrder::Asc {
        ">"
    } else {
        "<"
    };
    let id: SqlValue = cursor.id.clone().into();
    match cursor.value {
        Some(value) => {
            let tail = if cursor.sort.nullable() {
                format!(" OR {column} IS NULL")
            } else {
                String::new()
            };
            clause.push(
                format!("({column} {beyond} ? OR ({column} = ? AND id {beyond} ?){tail})"),
                [value.into(), value.into(), id],
            );
        }
        None => clause.push(format!("({column} IS NULL AND id {beyond} ?)"), [id]),
    }
}

pub(super) fn list_calls(
    connection: &Connection,
    org: &str,
    query: &ListCalls,
) -> Result<CallPage> {
    let counted = filters(org, query);
    let total: i64 = connection
        .prepare_cached(&format!(
            "SELECT count(*) FROM calls WHERE {}",
            counted.sql()
        ))?
        .query_row(params_from_iter(counted.values.iter()), |row| row.get(0))?;

    let mut selected = filters(org, query);
    let (offset, limit) = match &query.paging {
        Paging::Offset { offset, limit } => (*offset, *limit),
        Paging::After { cursor, limit } => {
            check_cursor_matches(cursor, query)?;
            after_cursor(&mut selected, cursor);
            (0, *limit)
        }
    };
    let column = query.sort.column();
    let direction = if query.order == SortOrder::Asc {
        "ASC"
    } else {
        "DESC"
    };
    let nulls_last = if query.sort.nullable() {
        format!("{column} IS NULL, ")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT pk, doc FROM calls WHERE {} ORDER BY {nulls_last}{column} {direction}, id {direction} \
         LIMIT ? OFFSET ?",
        selected.sql()
    );
    // One row past the page tells whether a next page exists.
    let fetch = i64::from(limit) + 1;
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    selected.values.extend([fetch.into(), offset.into()]);
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement
        .query_map(params_from_iter(selected.values.iter()), |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let more = rows.len() > limit as usize;
    let calls = rows
        .into_iter()
        .take(limit as usize)
        .map(|(pk, doc)| load_call(connection, pk, &doc))
        .collect::<Result<Vec<_>>>()?;
    let next_cursor = calls.last().filter(|_| more).map(|last| Cursor {
        sort: query.sort,
        order: query.order,
        value: query.sort.value_of(last),
        id: last.id.clone(),
    });
    Ok(CallPage {
        calls,
        total: u64::try_from(total).unwrap_or_default(),
        next_cursor,
    })
}

pub(super) fn count_calls(connection: &Connection, org: &str) -> Result<u64> {
    let count: i64 = connection
        .prepare_cached("SELECT count(*) FROM calls WHERE organization_id = ?1")?
        .query_row([org], |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or_default())
}

// ---- keys ----------------------------------------------------------------------------------

fn key_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<(KeyInfo, String)> {
    let millis = |ms: i64| Timestamp::from_millis(ms).unwrap_or_else(Timestamp::now);
    Ok((
        KeyInfo {
            id: row.get("id")?,
            organization_id: row.get("organization_id")?,
            name: row.get("name")?,
            prefix: row.get("prefix")?,
            scopes: Vec::new(),
            created_at: millis(row.get("created_at")?),
            revoked_at: row.get::<_, Option<i64>>("revoked_at")?.map(millis),
        },
        row.get("scopes")?,
    ))
}

fn with_scopes((mut info, scopes): (KeyInfo, String)) -> Result<KeyInfo> {
    info.scopes = scopes_from_text(&scopes)?;
    Ok(info)
}

pub(super) fn create_key(
    connection: &Connection,
    org: &str,
    name: Option<&str>,
    scopes: &[Scope],
) -> Result<NewKey> {
    validate_id("organization", org)?;
    if scopes.is_empty() {
        return Err(ValidationError::new("scopes", "a key needs at least one scope").into());
    }
    let now = Timestamp::now();
    connection
        .prepare_cached("INSERT OR IGNORE INTO organizations (id, created_at) VALUES (?1, ?2)")?
        .execute(params![org, now.as_millis()])?;
    let (secret, prefix) = generate_secret()?;
    let id = generate_key_id()?;
    connection
        .prepare_cached(
            "INSERT INTO api_keys (id, organization_id, name, prefix, secret_hash, scopes, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![id, org, name, prefix, hash_secret(&secret), scopes_to_text(scopes), now.as_millis()])?;
    let info = KeyInfo {
        id,
        organization_id: org.to_owned(),
        name: name.map(str::to_owned),
        prefix,
        scopes: scopes.to_vec(),
        created_at: now,
        revoked_at: None,
    };
    Ok(NewKey { info, secret })
}

pub(super) fn list_keys(connection: &Connection, org: Option<&str>) -> Result<Vec<KeyInfo>> {
    let mut statement = connection.prepare_cached(
        "SELECT * FROM api_keys WHERE ?1 IS NULL OR organization_id = ?1
         ORDER BY created_at DESC, id",
    )?;
    let rows = statement
        .query_map([org], key_info)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(with_scopes).collect()
}

pub(super) fn revoke_key(connection: &Connection, key_id: &str) -> Result<bool> {
    let changed = connection
        .prepare_cached("UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL")?
        .execute(params![Timestamp::now().as_millis(), key_id])?;
    Ok(changed > 0)
}

pub(super) fn authenticate(connection: &Connection, secret: &str) -> Result<Option<Principal>> {
    let row = connection
        .prepare_cached(
            "SELECT id, organization_id, scopes FROM api_keys
             WHERE secret_hash = ?1 AND revoked_at IS NULL",
        )?
        .query_row([hash_secret(secret)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    row.map(|(key_id, organization_id, scopes)| {
        Ok(Principal {
            organization_id,
            key_id,
            scopes: scopes_from_text(&scopes)?,
        })
    })
    .transpose()
}

// ---- dashboard sessions --------------------------------------------------------------------

pub(super) fn open_session(
    connection: &Connection,
    secret: &str,
    ttl_ms: i64,
) -> Result<Option<NewSession>> {
    let Some(principal) = authenticate(connection, secret)? else {
        return Ok(None);
    };
    let now = Timestamp::now().as_millis();
    connection
        .prepare_cached("DELETE FROM dashboard_sessions WHERE expires_at <= ?1")?
        .execute([now])?;
    let token = random_hex(32)?;
    let csrf_token = random_hex(32)?;
    let expires = now.saturating_add(ttl_ms);
    connection
        .prepare_cached(
            "INSERT INTO dashboard_sessions (token_hash, key_id, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![hash_secret(&token), principal.key_id, csrf_token, now, expires])?;
    let expires_at = Timestamp::from_millis(expires)
        .ok_or_else(|| StoreError::Internal(format!("session expiry {expires} ms is no time")))?;
    Ok(Some(NewSession {
        token,
        session: Session {
            principal,
            csrf_token,
            expires_at,
        },
    }))
}

pub(super) fn session(connection: &Connection, token: &str) -> Result<Option<Session>> {
    let row = connection
        .prepare_cached(
            "SELECT k.id, k.organization_id, k.scopes, s.csrf_token, s.expires_at
             FROM dashboard_sessions s JOIN api_keys k ON k.id = s.key_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND k.revoked_at IS NULL",
        )?
        .query_row(
            params![hash_secret(token), Timestamp::now().as_millis()],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()?;
    row.map(|(key_id, organization_id, scopes, csrf_token, expires)| {
        Ok(Session {
            principal: Principal {
                organization_id,
                key_id,
                scopes: scopes_from_text(&scopes)?,
            },
            csrf_token,
            expires_at: Timestamp::from_millis(expires).ok_or_else(|| {
                StoreError::Internal(format!("stored session expiry {expires} ms is no time"))
            })?,
        })
    })
    .transpose()
}

pub(super) fn close_session(connection: &Connection, token: &str) -> Result<bool> {
    let deleted = connection
        .prepare_cached("DELETE FROM dashboard_sessions WHERE token_hash = ?1")?
        .execute([hash_secret(token)])?;
    Ok(deleted > 0)
}

pub(super) fn count_keys(connection: &Connection) -> Result<u64> {
    let count: i64 = connection.query_row("SELECT count(*) FROM api_keys", [], |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or_default())
}

// ---- change log ----------------------------------------------------------------------------

/// One entry of the change log.
#[derive(Debug)]
pub(super) struct Change {
    pub sequence: i64,
    pub organization_id: String,
    pub call_id: String,
    pub deleted: bool,
}

pub(super) fn changes_after(
    connection: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<Change>> {
    let mut statement = connection.prepare_cached(
        "SELECT seq, organization_id, call_id, op FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = statement.query_map(params![after, limit_param(limit)], |row| {
        Ok(Change {
            sequence: row.get(0)?,
            organization_id: row.get(1)?,
            call_id: row.get(2)?,
            deleted: row.get::<_, String>(3)? == "delete",
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The sequence number of the newest change (0 for an empty log).
pub(super) fn last_change(connection: &Connection) -> Result<i64> {
    Ok(
        connection.query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |row| {
            row.get(0)
        })?,
    )
}

/// Counts for the store's status, all from one snapshot.
pub(super) struct StatusCounts {
    pub latest: i64,
    /// When the oldest change after `indexed` was committed (epoch ms).
    pub oldest_unindexed_at: Option<i64>,
    pub reports_queued: u64,
    pub deliveries_pending: u64,
}

pub(super) fn status_counts(connection: &Connection, indexed: i64) -> Result<StatusCounts> {
    let count = |sql: &str| -> Result<u64> {
        let n: i64 = connection
            .prepare_cached(sql)?
            .query_row([], |row| row.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let oldest_unindexed_at = connection
        .prepare_cached("SELECT at FROM changes WHERE seq > ?1 ORDER BY seq LIMIT 1")?
        .query_row([indexed], |row| row.get(0))
        .optional()?;
    Ok(StatusCounts {
        latest: last_change(connection)?,
        oldest_unindexed_at,
        reports_queued: count("SELECT count(*) FROM analysis_queue")?,
        deliveries_pending: count(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND superseded = 0",
        )?,
    })
}
