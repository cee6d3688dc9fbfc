//! The one storage seam of callscope (DESIGN §5): the [`Store`] trait, the types its methods
//! speak, and its backends. Only this crate knows SQL.
//!
//! Every call-level method takes the organization as its first argument and the backend puts
//! it into every statement, so tenancy does not depend on the HTTP layer remembering it.

pub mod embedded;
mod error;
pub mod exchange;
mod index;
mod keys;
mod list;
mod retention;
mod status;
mod webhooks;

pub use embedded::{Durability, EmbeddedStore, INDEX_DIR, IndexMode, StoreOptions};
pub use error::StoreError;
pub use index::MAX_SORT_KEYS;
pub use keys::{KeyInfo, NewKey, NewSession, Principal, Session};
pub use list::{CallPage, Cursor, ListCalls, Paging, SortField, SortOrder};
pub use retention::{
    Compacted, ExpiredCall, MAX_RETENTION_DAYS, Retention, RetentionScope, cutoff,
};
pub use status::{HistogramSnapshot, IndexStatus, StoreStatus};
pub use webhooks::{AttemptVerdict, Delivery, DeliveryAttempt, DueDelivery, WebhookEndpoint};

use async_trait::async_trait;
use callscope_model::{
    Analysis, Call, ChainStep, Event, LatencySample, MetricsReport, Scope, Timestamp,
    TranscriptEntry, Transfer, TransferReport, UsageRecord, ValidationError, WebhookDraft,
};
use callscope_query::SearchRequest;
use callscope_redact::RedactionSettings;
use std::time::Duration;

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How a call write treats an existing call with the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// `POST`: an existing call is a conflict.
    Create,
    /// `PUT`: create or replace.
    Upsert,
    /// `PATCH`: a missing call is not found.
    Update,
}

/// Builds the call to store from the stored one (if any). Runs inside the write transaction,
/// so a read-modify-write such as a merge patch cannot lose a concurrent update.
pub type CallBuilder =
    Box<dyn FnOnce(Option<Call>) -> std::result::Result<Call, ValidationError> + Send>;

/// Derives the call to store from the stored one and every usage record and latency sample
/// reported for it (in order of report; samples by turn). Runs inside the write transaction.
pub type MetricsBuilder = Box<
    dyn FnOnce(Call, &[UsageRecord], &[LatencySample]) -> std::result::Result<Call, ValidationError>
        + Send,
>;

/// A claimed post-call report job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportJob {
    pub organization_id: String,
    pub call_id: String,
    /// Which attempt this claim is, from 1.
    pub attempt: u32,
}

/// A whole call as bulk inserts take it: the call, its events and its transfer attempts
/// (oldest first). The call's `transfer` summary is derived from the attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    pub call: Call,
    pub events: Vec<Event>,
    pub transfers: Vec<Transfer>,
}

/// One span of a trace as the OpenTelemetry ingest keeps it: opaque JSON, kept once per
/// `(trace_id, span_id)` whatever the exporter repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRecord {
    pub trace_id: String,
    pub span_id: String,
    pub doc: String,
}

/// What a [`TraceBuilder`] sees of one trace.
#[derive(Debug)]
pub struct TraceState<'a> {
    pub trace_id: &'a str,
    /// The id the trace's call got when it was first made; it never changes.
    pub call_id: Option<&'a str>,
    /// Every span stored for the trace (the `doc`s), in span-id order.
    pub spans: &'a [String],
    /// The call as stored, unless it is new (or was deleted).
    pub existing: Option<&'a Call>,
    /// The idle timeout is closing the trace: its root span never came.
    pub idle_closed: bool,
}

/// Derives a trace's call from everything stored for it. Runs inside the write transaction,
/// once per trace that gained a span; an invalid result refuses that trace's spans.
pub type TraceBuilder =
    Box<dyn Fn(&TraceState<'_>) -> std::result::Result<Call, ValidationError> + Send>;

/// What `ingest_spans` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestedSpans {
    /// Spans stored for the first time.
    pub stored: usize,
    /// Spans already stored (an exporter's retry): they changed nothing.
    pub repeated: usize,
    /// The calls made or changed, by id.
    pub calls: Vec<String>,
    /// Traces whose call could not be made; none of their spans of this batch were kept.
    pub refused: Vec<RefusedTrace>,
}

/// A trace refused by `ingest_spans`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedTrace {
    pub trace_id: String,
    pub spans: usize,
    pub reason: String,
}

/// What a write did.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    /// The call as stored, with its transcript.
    pub call: Call,
    /// Whether the call did not exist before.
    pub created: bool,
}

/// What a search found.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchResult {
    /// The page of calls, in the requested order.
    pub calls: Vec<Call>,
    /// Calls matching the query, over all pages: exact, or a lower bound when the request
    /// bounded the count and more matched.
    pub total: u64,
    pub total_relation: callscope_query::TotalRelation,
    /// Elasticsearch-shaped answers of the requested aggregations.
    pub aggregations: Option<serde_json::Value>,
    /// Each returned call's sort values by id (numbers, strings, `null` when missing): with
    /// the id appended, what `search_after` takes to continue after that call.
    pub positions: std::collections::HashMap<String, Vec<serde_json::Value>>,
    /// The request's highlights of each returned call that has any, by id: fragments by
    /// field, as the request named the fields.
    pub highlights:
        std::collections::HashMap<String, std::collections::BTreeMap<String, Vec<String>>>,
}

/// The storage backend.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- calls -------------------------------------------------------------------------

    /// Writes one call of `organization_id`, keyed by `id`, as `mode` says.
    async fn write_call(
        &self,
        organization_id: &str,
        id: &str,
        mode: WriteMode,
        build: CallBuilder,
    ) -> Result<Written>;

    /// Stores many ready calls with their events and transfer attempts in few transactions
    /// (demo data, imports). An existing call with the same id is replaced, events and
    /// attempts included, so re-running an import leaves the same state.
    async fn insert_calls(&self, calls: Vec<CallRecord>) -> Result<()>;

    /// Stores imported calls as [`Store::insert_calls`] does, and queues the post-call report
    /// of each completed call that has none; answers how many replaced a call already there.
    /// No webhook fires: an import is history, not news.
    async fn import_calls(&self, calls: Vec<CallRecord>) -> Result<usize>;

    /// `calls` of `organization_id` with their events and transfer attempts (exports).
    async fn call_records(
        &self,
        organization_id: &str,
        calls: Vec<Call>,
    ) -> Result<Vec<CallRecord>>;

    /// One call with its transcript.
    async fn get_call(&self, organization_id: &str, id: &str) -> Result<Option<Call>>;

    /// The calls among `ids` that exist, in the order of `ids`, each once.
    async fn get_calls(&self, organization_id: &str, ids: &[String]) -> Result<Vec<Call>>;

    /// Deletes a call with everything it has (transcript, events, transfers, usage, traces,
    /// a queued report); `false` when there was none.
    async fn delete_call(&self, organization_id: &str, id: &str) -> Result<bool> {
        Ok(self.delete_calls(organization_id, &[id.to_owned()]).await? > 0)
    }

    /// Deletes the calls among `ids` as `delete_call` does, in one transaction; answers how
    /// many there were. Each delete is logged, so the index drops the call too.
    async fn delete_calls(&self, organization_id: &str, ids: &[String]) -> Result<usize>;

    // ---- the data's life -------------------------------------------------------------------

    /// How long the organization keeps its calls.
    async fn retention(&self, organization_id: &str) -> Result<Retention>;

    /// Sets (or, with `None`, clears) the retention of the organization's calls, or of one
    /// agent's calls when `agent_id` is given.
    async fn set_retention(
        &self,
        organization_id: &str,
        agent_id: Option<&str>,
        days: Option<u32>,
    ) -> Result<()>;

    /// Every organization that has set a retention, with it.
    async fn retention_rules(&self) -> Result<Vec<(String, Retention)>>;

    /// Every organization that has calls.
    async fn organizations_with_calls(&self) -> Result<Vec<String>>;

    /// Up to `limit` of the organization's calls in `scope` created before `before`, oldest
    /// first, after `after` (the last of the previous page) when given.
    async fn expired_calls(
        &self,
        organization_id: &str,
        scope: &RetentionScope,
        before: Timestamp,
        after: Option<&ExpiredCall>,
        limit: usize,
    ) -> Result<Vec<ExpiredCall>>;

    /// Drops up to `limit` entries of the change log the committed index no longer needs:
    /// every change of a call but its latest, and all of a deleted call's. What remains is
    /// what a rebuild replays (one entry per live call).
    async fn compact_changes(&self, limit: usize) -> Result<Compacted>;

    /// A filtered, sorted page of calls.
    async fn list_calls(&self, organization_id: &str, query: &ListCalls) -> Result<CallPage>;

    /// Number of calls of the organization.
    async fn count_calls(&self, organization_id: &str) -> Result<u64>;

    /// Appends entries to the transcript of a call that is in progress. Entries whose id is
    /// already stored are skipped, so a retried append is harmless. Returns the call with its
    /// whole transcript after the append.
    async fn append_transcript(
        &self,
        organization_id: &str,
        id: &str,
        entries: Vec<TranscriptEntry>,
    ) -> Result<Call>;

    /// Records a report of usage and latency for a call, then stores the call `derive`
    /// builds from all reports so far. A usage record whose id is stored is skipped; a
    /// sample of a turn already reported replaces it. Returns the call as stored.
    async fn record_metrics(
        &self,
        organization_id: &str,
        id: &str,
        report: MetricsReport,
        derive: MetricsBuilder,
    ) -> Result<Call>;

    /// Records events of a call; an event whose id is already stored is skipped.
    async fn add_events(&self, organization_id: &str, id: &str, events: Vec<Event>) -> Result<()>;

    /// The events of a call ordered by `occurred_at`; `None` when the call does not exist.
    async fn list_events(&self, organization_id: &str, id: &str) -> Result<Option<Vec<Event>>>;

    // ---- the call lifecycle: reports and transfers ---------------------------------------
    //
    // A call written through `write_call` queues `call.started` when it is created, and
    // `call.ended` plus its post-call report when its status first becomes terminal; bulk
    // `insert_calls` (demo data, imports) queues nothing.

    /// Claims up to `limit` calls whose post-call report is due at `now`, across
    /// organizations, oldest due first: each is leased for `lease_ms` (no other claim gets it
    /// meanwhile) and counts one more attempt. A job whose lease runs out (its worker died) is
    /// claimed again; `store_report` ends it and `retry_report` puts it off.
    async fn claim_reports(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ReportJob>>;

    /// Releases a claimed report job after a failed attempt, due again at `at`; `error` is
    /// kept with the job.
    async fn retry_report(
        &self,
        organization_id: &str,
        id: &str,
        at: Timestamp,
        error: &str,
    ) -> Result<()>;

    /// Stores `analysis` as the call's post-call report (keeping a scheduled callback a
    /// transfer fallback set), takes the call off the report queue and queues
    /// `call.analyzed`; the report's webhook status says whether any endpoint will get it.
    async fn store_report(
        &self,
        organization_id: &str,
        id: &str,
        analysis: Analysis,
    ) -> Result<Call>;

    /// An agent's analysis settings, kept as the JSON given; `None` when never set.
    async fn agent_settings(
        &self,
        organization_id: &str,
        agent_id: &str,
    ) -> Result<Option<serde_json::Value>>;

    /// Replaces an agent's analysis settings.
    async fn put_agent_settings(
        &self,
        organization_id: &str,
        agent_id: &str,
        settings: serde_json::Value,
    ) -> Result<()>;

    /// Starts a transfer (its first attempt) on a call in progress and queues
    /// `transfer.updated` so the runtime dials.
    async fn create_transfer(&self, organization_id: &str, transfer: Transfer) -> Result<Transfer>;

    /// Applies a runtime's report to one transfer attempt of a call (see
    /// `callscope_model::apply_report`), storing the next attempt or applying the fallback,
    /// and queues `transfer.updated` for every attempt that changed. An illegal step is a
    /// conflict and changes nothing. Returns the step and the whole chain after it.
    async fn report_transfer(
        &self,
        organization_id: &str,
        call_id: &str,
        transfer_id: &str,
        report: TransferReport,
    ) -> Result<(ChainStep, Vec<Transfer>)>;

    /// The transfer attempts of a call, oldest first; `None` when the call does not exist.
    async fn list_transfers(
        &self,
        organization_id: &str,
        call_id: &str,
    ) -> Result<Option<Vec<Transfer>>>;

    // ---- OpenTelemetry traces ---------------------------------------------------------

    /// Stores spans of traces and, for every trace that gained one, stores the call `derive`
    /// makes of all its spans (created, or replaced with the lifecycle's webhooks and report
    /// as for `write_call`), each trace in its own savepoint. A trace closes once its call is
    /// over. Spans already stored are skipped, so a repeated batch changes nothing.
    async fn ingest_spans(
        &self,
        organization_id: &str,
        spans: Vec<SpanRecord>,
        derive: TraceBuilder,
    ) -> Result<IngestedSpans>;

    /// Open traces whose last span arrived before `before`, oldest first, across
    /// organizations: `(organization_id, trace_id)`.
    async fn idle_traces(&self, before: Timestamp, limit: usize) -> Result<Vec<(String, String)>>;

    /// Closes an open trace still idle since `before`: stores the call `derive` makes with
    /// `idle_closed` set. `None` when a span arrived meanwhile or it is closed already.
    async fn close_trace(
        &self,
        organization_id: &str,
        trace_id: &str,
        before: Timestamp,
        derive: TraceBuilder,
    ) -> Result<Option<Call>>;

    // ---- webhooks ----------------------------------------------------------------------

    /// Creates an endpoint with a fresh signing secret from a validated draft.
    async fn create_webhook(
        &self,
        organization_id: &str,
        draft: WebhookDraft,
    ) -> Result<WebhookEndpoint>;

    /// The organization's endpoints, oldest first.
    async fn list_webhooks(&self, organization_id: &str) -> Result<Vec<WebhookEndpoint>>;

    async fn get_webhook(&self, organization_id: &str, id: &str)
    -> Result<Option<WebhookEndpoint>>;

    /// Changes what a validated draft sets.
    async fn update_webhook(
        &self,
        organization_id: &str,
        id: &str,
        draft: WebhookDraft,
    ) -> Result<WebhookEndpoint>;

    /// Gives an endpoint a new secret; the old one keeps signing for `grace_ms`.
    async fn rotate_webhook_secret(
        &self,
        organization_id: &str,
        id: &str,
        grace_ms: i64,
    ) -> Result<WebhookEndpoint>;

    /// Deletes an endpoint with its deliveries; `false` when there was none.
    async fn delete_webhook(&self, organization_id: &str, id: &str) -> Result<bool>;

    /// An endpoint's deliveries, newest first, each with its attempts; `None` when the
    /// endpoint does not exist.
    async fn list_deliveries(
        &self,
        organization_id: &str,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Option<Vec<Delivery>>>;

    /// Queues a delivery again, as a new delivery of the same event due now.
    async fn redeliver(
        &self,
        organization_id: &str,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery>;

    /// Claims up to `limit` pending deliveries due at `now` to enabled endpoints, oldest due
    /// first, each leased for `lease_ms`: no other claim gets it until `record_attempt` or the
    /// lease's end (its sender died; it is sent again). A superseded delivery is never due.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>>;

    /// When the next pending delivery falls due (a claimed one at its lease's end), if any is
    /// pending.
    async fn next_delivery_at(&self) -> Result<Option<Timestamp>>;

    /// Logs an attempt, releases the delivery's lease and moves it on as `verdict` says; a
    /// `call.analyzed` delivery also updates the call's post-call webhook status.
    async fn record_attempt(
        &self,
        delivery_id: &str,
        attempt: DeliveryAttempt,
        verdict: AttemptVerdict,
    ) -> Result<()>;

    // ---- organizations and keys ----------------------------------------------------------

    /// Whether the organization serves recordings at permanent unsigned URLs.
    async fn public_recordings(&self, organization_id: &str) -> Result<bool>;

    async fn set_public_recordings(&self, organization_id: &str, public: bool) -> Result<()>;

    /// What the organization masks in what it sends, before anything is stored or indexed.
    async fn redaction(&self, organization_id: &str) -> Result<RedactionSettings>;

    /// Replaces the organization's redaction; writes from then on are masked by it (what is
    /// stored already stays as it is). Settings are checked before they are stored.
    async fn set_redaction(&self, organization_id: &str, settings: RedactionSettings)
    -> Result<()>;

    /// Creates a key for `organization_id` (creating the organization when new). The secret
    /// is returned once and only its hash is stored.
    async fn create_key(
        &self,
        organization_id: &str,
        name: Option<&str>,
        scopes: &[Scope],
    ) -> Result<NewKey>;

    /// Keys, newest first, of one organization or of all.
    async fn list_keys(&self, organization_id: Option<&str>) -> Result<Vec<KeyInfo>>;

    /// Revokes a key by its id; `false` when there is no such live key.
    async fn revoke_key(&self, key_id: &str) -> Result<bool>;

    /// The principal of a presented secret, if it is a live key.
    async fn authenticate(&self, secret: &str) -> Result<Option<Principal>>;

    /// Number of keys ever created, revoked ones included; zero means a fresh store.
    async fn count_keys(&self) -> Result<u64>;

    // ---- dashboard sessions --------------------------------------------------------------

    /// Opens a session for a presented secret lasting `ttl`, or `None` when the secret is
    /// not a live key. Sessions that have expired are dropped on the way.
    async fn open_session(&self, secret: &str, ttl: Duration) -> Result<Option<NewSession>>;

    /// The session of a token, if it has not expired and its key is still live.
    async fn session(&self, token: &str) -> Result<Option<Session>>;

    /// Ends a session; `false` when there was none.
    async fn close_session(&self, token: &str) -> Result<bool>;

    // ---- search ------------------------------------------------------------------------

    /// Runs a validated search for one organization. Results reflect writes up to about a
    /// second old; call `refresh` first to include every write acknowledged so far.
    async fn search(&self, organization_id: &str, request: &SearchRequest) -> Result<SearchResult>;

    /// Returns once every write acknowledged before the call is visible to `search`.
    async fn refresh(&self) -> Result<()>;

    // ---- operations ----------------------------------------------------------------------

    /// The store's state for readiness and metrics. Answers only when the writer takes a job,
    /// so a caller bounds it with a timeout to tell a stuck writer.
    async fn status(&self) -> Result<StoreStatus>;
}
