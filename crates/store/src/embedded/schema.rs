//! The SQLite schema, as migrations embedded in the binary and applied in order on open.
//!
//! `PRAGMA user_version` records how many have run. A migration is never edited once it has
//! shipped; a change is a new entry at the end.

use crate::{Result, StoreError};
use rusqlite::Connection;

/// Each entry moves the schema one version forward.
const MIGRATIONS: &[&str] = &[
    // 1: organizations, keys, calls with their transcript and events, and the change log.
    r#"
    CREATE TABLE organizations (
        id          TEXT PRIMARY KEY,
        created_at  INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE api_keys (
        id               TEXT PRIMARY KEY,
        organization_id  TEXT NOT NULL REFERENCES organizations (id),
        name             TEXT,
        prefix           TEXT NOT NULL,
        secret_hash      BLOB NOT NULL UNIQUE,
        scopes           TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        revoked_at       INTEGER
    );

    -- One row per call. `doc` is the canonical JSON without the transcript; the other
    -- columns are copies of its fields that lists filter and sort on (times in ms).
    CREATE TABLE calls (
        pk               INTEGER PRIMARY KEY,
        organization_id  TEXT NOT NULL,
        id               TEXT NOT NULL,
        agent_id         TEXT,
        campaign_id      TEXT,
        status           TEXT NOT NULL,
        kind             TEXT,
        from_number      TEXT,
        to_number        TEXT,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        started_at       INTEGER,
        ended_at         INTEGER,
        duration_ms      INTEGER,
        doc              TEXT NOT NULL,
        UNIQUE (organization_id, id)
    );
    CREATE INDEX calls_by_created  ON calls (organization_id, created_at, id);
    CREATE INDEX calls_by_agent    ON calls (organization_id, agent_id, created_at, id);
    CREATE INDEX calls_by_campaign ON calls (organization_id, campaign_id, created_at, id);
    CREATE INDEX calls_by_status   ON calls (organization_id, status, created_at, id);

    -- Kept apart from the call row so a live append is one insert, not a rewrite of a
    -- document that grows with every turn.
    CREATE TABLE transcript_entries (
        call_pk  INTEGER NOT NULL REFERENCES calls (pk) ON DELETE CASCADE,
        idx      INTEGER NOT NULL,
        id       TEXT NOT NULL,
        doc      TEXT NOT NULL,
        PRIMARY KEY (call_pk, idx)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX transcript_entry_ids ON transcript_entries (call_pk, id);

    CREATE TABLE events (
        pk           INTEGER PRIMARY KEY,
        call_pk      INTEGER NOT NULL REFERENCES calls (pk) ON DELETE CASCADE,
        id           TEXT NOT NULL,
        occurred_at  INTEGER NOT NULL,
        doc          TEXT NOT NULL,
        UNIQUE (call_pk, id)
    );
    CREATE INDEX events_by_time ON events (call_pk, occurred_at, pk);

    -- Every change to a call, in commit order: what a search index replays to follow the
    -- store and to catch up after a crash.
    CREATE TABLE changes (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        organization_id  TEXT NOT NULL,
        call_id          TEXT NOT NULL,
        op               TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
        at               INTEGER NOT NULL
    );
    "#,
    // 2: fixed planner statistics. Without statistics SQLite may pick the status index for
    // `agent_id = ? AND status = ?` (measured at 100k calls: 110 ms instead of 13 ms);
    // sampled ANALYZE reads the first rows of one tenant and misjudges the same way, and a
    // full ANALYZE stalls the writer for seconds at a million calls. These figures describe
    // the data's shape instead (per tenant: status is barely selective, campaign more, agent
    // most), which is what the choice between these indexes depends on. Nothing runs ANALYZE
    // or `PRAGMA optimize`, which would overwrite them.
    r#"
    ANALYZE sqlite_schema;
    DELETE FROM sqlite_stat1 WHERE tbl = 'calls';
    INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
        ('calls', 'calls_by_created',         '1000000 100000 1 1'),
        ('calls', 'calls_by_agent',           '1000000 100000 1000 1 1'),
        ('calls', 'calls_by_campaign',        '1000000 100000 2000 1 1'),
        ('calls', 'calls_by_status',          '1000000 100000 20000 1 1'),
        ('calls', 'sqlite_autoindex_calls_1', '1000000 100000 1');
    ANALYZE sqlite_schema;
    "#,
    // 3: what runtimes report about a call's consumption (`Store::record_metrics`), kept as
    // reported so the call's cost and latency statistics can be derived again from all of it.
    r#"
    CREATE TABLE usage_records (
        pk       INTEGER PRIMARY KEY,
        call_pk  INTEGER NOT NULL REFERENCES calls (pk) ON DELETE CASCADE,
        id       TEXT NOT NULL,
        doc      TEXT NOT NULL,
        UNIQUE (call_pk, id)
    );

    CREATE TABLE latency_samples (
        call_pk  INTEGER NOT NULL REFERENCES calls (pk) ON DELETE CASCADE,
        turn     INTEGER NOT NULL,
        doc      TEXT NOT NULL,
        PRIMARY KEY (call_pk, turn)
    ) WITHOUT ROWID;
    "#,
    // 4: the call lifecycle. Webhook endpoints and a durable outbox of deliveries (each
    // attempt logged), calls waiting for their post-call report, transfer attempts, the
    // per-agent analysis settings, and the organization's recording policy. Outbox and
    // queue rows are written in the same transaction as the change that causes them, so a
    // crash between the two cannot lose a webhook or a report.
    r#"
    ALTER TABLE organizations ADD COLUMN public_recordings INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE webhook_endpoints (
        pk                          INTEGER PRIMARY KEY,
        organization_id             TEXT NOT NULL,
        id                          TEXT NOT NULL UNIQUE,
        url                         TEXT NOT NULL,
        events                      TEXT NOT NULL,
        description                 TEXT,
        enabled                     INTEGER NOT NULL,
        secret                      TEXT NOT NULL,
        previous_secret             TEXT,
        previous_secret_expires_at  INTEGER,
        created_at                  INTEGER NOT NULL,
        updated_at                  INTEGER NOT NULL
    );
    CREATE INDEX webhook_endpoints_by_org ON webhook_endpoints (organization_id, created_at);

    -- One row per event and endpoint. `snapshot` is the canonical JSON of the call or
    -- transfer as it was when the event happened; the dispatcher renders the body from it.
    CREATE TABLE webhook_deliveries (
        pk               INTEGER PRIMARY KEY,
        id               TEXT NOT NULL UNIQUE,
        event_id         TEXT NOT NULL,
        organization_id  TEXT NOT NULL,
        endpoint_pk      INTEGER NOT NULL REFERENCES webhook_endpoints (pk) ON DELETE CASCADE,
        event            TEXT NOT NULL,
        subject_id       TEXT NOT NULL,
        snapshot         TEXT NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER,
        last_status_code INTEGER,
        last_error       TEXT,
        redelivery_of    TEXT,
        superseded       INTEGER NOT NULL DEFAULT 0,
        created_at       INTEGER NOT NULL,
        delivered_at     INTEGER
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
        WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_pk, pk);
    CREATE INDEX webhook_deliveries_by_subject
        ON webhook_deliveries (organization_id, subject_id, event);

    CREATE TABLE webhook_attempts (
        delivery_pk  INTEGER NOT NULL REFERENCES webhook_deliveries (pk) ON DELETE CASCADE,
        number       INTEGER NOT NULL,
        at           INTEGER NOT NULL,
        status_code  INTEGER,
        error        TEXT,
        duration_ms  INTEGER NOT NULL,
        PRIMARY KEY (delivery_pk, number)
    ) WITHOUT ROWID;

    CREATE TABLE analysis_queue (
        organization_id  TEXT NOT NULL,
        call_id          TEXT NOT NULL,
        queued_at        INTEGER NOT NULL,
        PRIMARY KEY (organization_id, call_id)
    ) WITHOUT ROWID;

    CREATE TABLE transfers (
        pk          INTEGER PRIMARY KEY,
        call_pk     INTEGER NOT NULL REFERENCES calls (pk) ON DELETE CASCADE,
        id          TEXT NOT NULL,
        chain_id    TEXT NOT NULL,
        attempt     INTEGER NOT NULL,
        doc         TEXT NOT NULL,
        UNIQUE (call_pk, id)
    );

    CREATE TABLE agent_settings (
        organization_id  TEXT NOT NULL,
        agent_id         TEXT NOT NULL,
        doc              TEXT NOT NULL,
        updated_at       INTEGER NOT NULL,
        PRIMARY KEY (organization_id, agent_id)
    ) WITHOUT ROWID;
    "#,
    // 5: leases and attempts. A worker claims a delivery or a report job by setting
    // `locked_until`; if it dies mid-send or mid-analysis the lease runs out and the job is
    // claimed again, and two workers never hold the same job. Report jobs count their
    // attempts and wait between them, so a call whose analysis always fails no longer holds
    // up the reports behind it. A superseded delivery (one redelivered) is never due again.
    r#"
    ALTER TABLE webhook_deliveries ADD COLUMN locked_until INTEGER;
    DROP INDEX webhook_deliveries_due;
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
        WHERE status = 'pending' AND superseded = 0;

    ALTER TABLE analysis_queue ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE analysis_queue ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE analysis_queue ADD COLUMN locked_until INTEGER;
    ALTER TABLE analysis_queue ADD COLUMN last_error TEXT;
    UPDATE analysis_queue SET next_attempt_at = queued_at;
    CREATE INDEX analysis_queue_due ON analysis_queue (next_attempt_at);
    "#,
    // 6: dashboard sign-in sessions. A session is a row, not a signed token, so signing out
    // (or revoking the key it was opened with) ends it at once; only the token's SHA-256 is
    // kept, as for keys.
    r#"
    CREATE TABLE dashboard_sessions (
        token_hash  BLOB PRIMARY KEY,
        key_id      TEXT NOT NULL REFERENCES api_keys (id),
        csrf_token  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
    "#,
    // 7: OpenTelemetry ingest. A trace's spans, each kept once whatever the exporter
    // repeats, and the call derived from them (`call_id` once it has one). `open` traces
    // are swept by the idle timeout, oldest `last_span_at` first.
    r#"
    CREATE TABLE traces (
        pk              INTEGER PRIMARY KEY,
        organization_id TEXT NOT NULL,
        trace_id        TEXT NOT NULL,
        call_id         TEXT,
        last_span_at    INTEGER NOT NULL,
        open            INTEGER NOT NULL DEFAULT 1,
        UNIQUE (organization_id, trace_id)
    );
    CREATE INDEX traces_open ON traces (open, last_span_at);
    CREATE INDEX traces_call ON traces (organization_id, call_id);
    CREATE TABLE trace_spans (
        trace_pk INTEGER NOT NULL REFERENCES traces (pk) ON DELETE CASCADE,
        span_id  TEXT NOT NULL,
        doc      TEXT NOT NULL,
        PRIMARY KEY (trace_pk, span_id)
    ) WITHOUT ROWID;
    "#,
    // 8: the data's life. Retention per organization (`agent_id` empty) and per agent, read
    // by the purge. The change log is compacted behind the index (`compact_changes`): its
    // index by call finds a call's earlier entries, and `change_log_compacted` keeps how far
    // compaction has come so a restart does not walk the log again.
    r#"
    CREATE TABLE retention_rules (
        organization_id  TEXT NOT NULL,
        agent_id         TEXT NOT NULL,
        days             INTEGER NOT NULL CHECK (days > 0),
        updated_at       INTEGER NOT NULL,
        PRIMARY KEY (organization_id, agent_id)
    ) WITHOUT ROWID;

    CREATE INDEX changes_by_call ON changes (organization_id, call_id, seq);

    CREATE TABLE change_log_compacted (
        only     INTEGER PRIMARY KEY CHECK (only = 1),
        through  INTEGER NOT NULL
    );
    INSERT INTO change_log_compacted (only, through) VALUES (1, 0);
    "#,
    // 9: PII redaction at ingest: an organization's `RedactionSettings` as JSON (NULL: off).
    r#"
    ALTER TABLE organizations ADD COLUMN redaction TEXT;
    "#,
];

/// Brings the schema of `connection` up to date.
pub(super) fn migrate(connection: &mut Connection) -> Result<()> {
    let applied: usize = connection
        .query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))?
        .try_into()
        .map_err(|_| StoreError::Internal("negative schema version".into()))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "the data directory has schema version {applied}, newer than this binary's {}; \
             upgrade callscope",
            MIGRATIONS.len()
        )));
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(
            None,
            "user_version",
            i64::try_from(version + 1).unwrap_or(i64::MAX),
        )?;
        transaction.commit()?;
        tracing::info!(version = version + 1, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps of the plan SQLite picks for `sql`, bound to `values`, on a migrated
    /// connection configured as the store's are.
    fn plan(sql: &str, values: &[&str]) -> Vec<String> {
        let mut connection = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        super::super::configure(&connection).unwrap_or_else(|e| panic!("{e}"));
        migrate(&mut connection).unwrap_or_else(|e| panic!("{e}"));
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap_or_else(|e| panic!("{e}"));
        statement
            .query_map(rusqlite::params_from_iter(values), |row| {
                row.get::<_, String>(3)
            })
            .and_then(Iterator::collect)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_agent_and_status_list_uses_the_agent_index() {
        let sql = "SELECT id FROM calls WHERE organization_id = ? AND agent_id = ? \
                   AND status = ? ORDER BY created_at DESC, id DESC LIMIT 50";
        for values in [["o", "a", "completed"], ["tenant", "agent_x", "failed"]] {
            let steps = plan(sql, &values);
            assert!(
                steps.iter().any(|step| step.contains("calls_by_agent")),
                "{values:?}: {steps:?}"
            );
        }
    }
}
