//! The embedded backend: SQLite in WAL mode under the data directory.
//!
//! **Threads.** One dedicated thread owns the only writing connection. Writes reach it as
//! jobs over a channel; it runs every job waiting at that moment inside one transaction
//! (group commit), each job in its own savepoint so one job's failure undoes only its own
//! changes, and answers each caller only after the transaction has committed. Reads run on
//! tokio's blocking pool with connections from a small pool, each job in one read
//! transaction (one consistent snapshot), so they never wait for writes.
//!
//! **Durability.** A write is acknowledged after its transaction commits. With
//! [`Durability::Full`] (the default) SQLite syncs the WAL on every commit, so an
//! acknowledged write survives power loss; with [`Durability::Normal`] it survives a crash
//! or kill of the process but the last commits may be lost on power loss.

mod follower;
mod lifecycle;
mod retention;
mod schema;
mod sql;
mod traces;

use crate::index::SearchIndex;
use crate::status::{DurationHistogram, IndexStatus, StoreStatus};
use crate::{
    AttemptVerdict, CallBuilder, CallPage, CallRecord, Compacted, Delivery, DeliveryAttempt,
    DueDelivery, ExpiredCall, IngestedSpans, KeyInfo, ListCalls, MetricsBuilder, NewKey,
    NewSession, Principal, ReportJob, Result, Retention, RetentionScope, SearchResult, Session,
    SpanRecord, Store, StoreError, TraceBuilder, WebhookEndpoint, WriteMode, Written,
};
use async_trait::async_trait;
use callscope_model::{
    Analysis, Call, ChainStep, Event, MetricsReport, Scope, Timestamp, TranscriptEntry, Transfer,
    TransferReport, WebhookDraft,
};
use callscope_query::SearchRequest;
use callscope_redact::{RedactionSettings, Redactor};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use tokio::sync::{oneshot, watch};

/// File name of the database inside the data directory.
const DATABASE_FILE: &str = "callscope.db";
/// Folder of the search index inside the data directory.
pub const INDEX_DIR: &str = "index";
/// Memory the index writer buffers by default before it flushes a segment. Larger budgets
/// mean fewer, larger segments and less merging (measured: building the term dictionaries of
/// flushes and merges dominates indexing).
pub const DEFAULT_INDEX_MEMORY_BYTES: usize = 256 * 1024 * 1024;
/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 256;
/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// How hard a commit tries to reach the disk (SQLite's `synchronous`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Survives power loss: the WAL is synced at every commit.
    #[default]
    Full,
    /// Survives a process crash; the last commits may be lost on power loss. Faster.
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// What the writer thread calls after the batch's commit, with the commit's outcome.
type Completion = Box<dyn FnOnce(std::result::Result<(), String>) + Send>;
/// A unit of work for the writer thread.
type Job = Box<dyn FnOnce(&mut Transaction<'_>) -> Completion + Send>;

/// What this process does with the search index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IndexMode {
    /// Own the index writer and keep the index in step with every write (the server; one
    /// process per data directory).
    #[default]
    Maintain,
    /// Search a committed index that another process maintains (`callscope search`).
    Read,
    /// No search (key management, bulk writes from the command line): whoever maintains the
    /// index picks the writes up from the change log.
    Off,
}

/// How to open the embedded store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    pub durability: Durability,
    pub index: IndexMode,
    /// Memory of the index writer when maintaining the index (at least 15 MB).
    pub index_memory_bytes: usize,
    /// What one search may ask for: result window, aggregation buckets and memory.
    pub limits: callscope_query::Limits,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::default(),
            index: IndexMode::default(),
            index_memory_bytes: DEFAULT_INDEX_MEMORY_BYTES,
            limits: callscope_query::Limits::default(),
        }
    }
}

/// The SQLite-backed store.
#[derive(Clone, Debug)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    /// Jobs sent to the writer and not yet taken up by it.
    queued: Arc<AtomicU64>,
    /// How long the writer's commits take.
    commit_times: Arc<DurationHistogram>,
    readers: Mutex<Vec<Connection>>,
    index: Option<Arc<SearchIndex>>,
    /// The change-log sequence the committed index includes.
    indexed: watch::Receiver<i64>,
    /// Wakes the follower (the writer holds a clone and wakes it after each commit).
    wake: mpsc::SyncSender<()>,
    stop: Arc<AtomicBool>,
    follower: Mutex<Option<JoinHandle<()>>>,
    /// Each organization's compiled redaction, read on its first write and replaced when
    /// it changes through this store.
    redactors: Mutex<HashMap<String, Arc<Redactor>>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    /// Lets the follower commit what it has applied and release the index lock, so the
    /// directory can be reopened at once; a backlog is indexed on the next start.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.wake.try_send(());
        let follower = self.follower.lock().ok().and_then(|mut slot| slot.take());
        if let Some(follower) = follower {
            let _ = follower.join();
        }
    }
}

impl EmbeddedStore {
    /// Opens the store in `data_dir` maintaining its search index: what a server does.
    pub fn open(data_dir: &Path, durability: Durability) -> Result<Self> {
        Self::open_with(
            data_dir,
            StoreOptions {
                durability,
                ..StoreOptions::default()
            },
        )
    }

    /// Opens (creating if needed) the store in `data_dir`, migrates its schema, opens the
    /// search index beside it as `options.index` says, and starts the writer thread (and the
    /// follower thread when maintaining the index).
    pub fn open_with(data_dir: &Path, options: StoreOptions) -> Result<Self> {
        let durability = options.durability;
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Internal(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DATABASE_FILE);
        let mut writer = Connection::open(&path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", durability.pragma())?;
        writer.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        configure(&writer)?;
        schema::migrate(&mut writer)?;
        let index_dir = data_dir.join(INDEX_DIR);
        let index = match options.index {
            IndexMode::Maintain => Some(Arc::new(SearchIndex::open(
                &index_dir,
                Some(options.index_memory_bytes),
                options.limits,
            )?)),
            IndexMode::Read => Some(Arc::new(SearchIndex::open(
                &index_dir,
                None,
                options.limits,
            )?)),
            IndexMode::Off => None,
        };
        let (wake, woken) = mpsc::sync_channel(1);
        let (indexed_sender, indexed) = watch::channel(0);
        let stop = Arc::new(AtomicBool::new(false));
        let follower = match (&index, options.index) {
            (Some(index), IndexMode::Maintain) => {
                let follower = follower::Follower {
                    database: path.clone(),
                    index: Arc::clone(index),
                    wake: woken,
                    indexed: indexed_sender,
                    stop: Arc::clone(&stop),
                };
                let thread = std::thread::Builder::new()
                    .name("callscope-index-follower".into())
                    .spawn(move || follower.run())
                    .map_err(|e| {
                        StoreError::Internal(format!("cannot start the index follower: {e}"))
                    })?;
                Some(thread)
            }
            _ => None,
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let writer_wake = wake.clone();
        let queued = Arc::new(AtomicU64::new(0));
        let commit_times = Arc::new(DurationHistogram::default());
        let writer_gauges = WriterGauges {
            queued: Arc::clone(&queued),
            commit_times: Arc::clone(&commit_times),
        };
        std::thread::Builder::new()
            .name("callscope-sqlite-writer".into())
            .spawn(move || run_writer(writer, &queue, &writer_wake, &writer_gauges))
            .map_err(|e| StoreError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                jobs,
                queued,
                commit_times,
                readers: Mutex::new(Vec::new()),
                index,
                indexed,
                wake,
                stop,
                follower: Mutex::new(follower),
                redactors: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// How far the index has followed the change log: (sequence indexed, newest sequence).
    /// For progress bars while a rebuild or a bulk load catches up.
    pub async fn index_progress(&self) -> Result<(i64, i64)> {
        let latest = self.read(sql::last_change).await?;
        Ok((*self.inner.indexed.borrow(), latest))
    }

    /// Runs `work` on the writer thread inside a savepoint of the next batch and returns its
    /// result once the batch has committed.
    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |transaction| {
            // A panic in one job (a builder is caller code) must fail that job only: the
            // savepoint's drop during unwinding rolls back its changes, and the writer
            // thread lives on for everyone else.
            let outcome =
                std::panic::catch_unwind(AssertUnwindSafe(|| run_in_savepoint(transaction, work)))
                    .unwrap_or_else(|_| Err(StoreError::Internal("a write job panicked".into())));
            Box::new(move |committed| {
                let result = committed.map_err(StoreError::Internal).and(outcome);
                // The caller may have gone away (request canceled); the write stands anyway.
                let _ = reply.send(result);
            })
        });
        self.inner.queued.fetch_add(1, Ordering::Relaxed);
        self.inner
            .jobs
            .send(job)
            .map_err(|_| StoreError::Internal("the writer thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Internal("the writer thread dropped a job".into()))?
    }

    /// Runs `work` on a pooled read connection on the blocking pool, inside one read
    /// transaction.
    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().ok().and_then(|mut idle| idle.pop());
            let connection = match pooled {
                Some(connection) => connection,
                None => open_reader(&inner.path)?,
            };
            // One read transaction per job: a list's count and page, or a call and its
            // transcript, come from the same snapshot even while the writer commits.
            let result = connection
                .unchecked_transaction()
                .map_err(StoreError::from)
                .and_then(|snapshot| work(&snapshot));
            if let Ok(mut idle) = inner.readers.lock()
                && idle.len() < MAX_IDLE_READERS
            {
                idle.push(connection);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }
}

/// Page cache of the writer: 128 MiB (a negative `cache_size` is in KiB). Each call written
/// lands at a random place in four secondary indexes (by created, agent, campaign, status);
/// with SQLite's 2 MiB default, at a million calls most of those pages were read again
/// from the OS for every write. Measured at 1M full-shape calls: 7,172 -> 8,177 calls/s
/// into SQLite.
const WRITER_CACHE_KIB: i64 = -131_072;

fn configure(connection: &Connection) -> Result<()> {
    connection.pragma_update(None, "foreign_keys", "ON")?;
    // Plans come from the fixed statistics alone (see ARCHITECTURE.md): with STAT4 compiled
    // in, a cached statement is otherwise re-parsed whenever a parameter its plan looked at
    // is bound again, which the follower paid for every call it read back.
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// Whether `dir` takes a small synced write (a full or read-only disk does not).
fn probe_disk(dir: &Path) -> std::result::Result<(), String> {
    use std::io::Write;
    let probe = dir.join(".ready-probe");
    let written = std::fs::File::create(&probe)
        .and_then(|mut file| {
            file.write_all(b"ok")?;
            file.sync_all()
        })
        .and_then(|()| std::fs::remove_file(&probe));
    written.map_err(|e| format!("cannot write to {}: {e}", dir.display()))
}

/// Bytes of the files in `dir` and below.
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(std::result::Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => folder_bytes(&entry.path()),
            _ => entry.metadata().map_or(0, |meta| meta.len()),
        })
        .sum()
}

fn open_reader(path: &Path) -> Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&connection)?;
    Ok(connection)
}

fn run_in_savepoint<T>(
    transaction: &mut Transaction<'_>,
    work: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    let savepoint = transaction.savepoint()?;
    let value = work(&savepoint)?;
    savepoint.commit()?;
    Ok(value)
}

/// What the writer thread reports as it goes.
struct WriterGauges {
    queued: Arc<AtomicU64>,
    commit_times: Arc<DurationHistogram>,
}

/// The writer thread: batches waiting jobs into one transaction until the channel closes.
fn run_writer(
    mut connection: Connection,
    queue: &mpsc::Receiver<Job>,
    wake: &mpsc::SyncSender<()>,
    gauges: &WriterGauges,
) {
    let taken = || {
        gauges.queued.fetch_sub(1, Ordering::Relaxed);
    };
    while let Ok(first) = queue.recv() {
        taken();
        let mut transaction = match connection.transaction() {
            Ok(transaction) => transaction,
            Err(error) => {
                // Dropping the job drops its reply channel: the caller gets an internal error.
                tracing::error!(%error, "cannot begin a write transaction");
                drop(first);
                continue;
            }
        };
        let mut completions = vec![first(&mut transaction)];
        for job in queue.try_iter().take(MAX_BATCH - 1) {
            taken();
            completions.push(job(&mut transaction));
        }
        let started = std::time::Instant::now();
        let committed = transaction.commit().map_err(|error| {
            tracing::error!(%error, "write transaction failed to commit");
            error.to_string()
        });
        gauges.commit_times.record(started.elapsed());
        if committed.is_ok() {
            // A full channel means a wake-up is already pending; nothing is lost.
            let _ = wake.try_send(());
        }
        for completion in completions {
            completion(committed.clone());
        }
    }
    tracing::debug!("sqlite writer stopped");
}

impl EmbeddedStore {
    fn redactors_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Redactor>>> {
        // A panic while the map was held leaves it whole: entries are replaced, never edited.
        self.inner
            .redactors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The organization's redaction, compiled once and kept.
    async fn redactor(&self, organization_id: &str) -> Result<Arc<Redactor>> {
        if let Some(redactor) = self.redactors_cache().get(organization_id) {
            return Ok(Arc::clone(redactor));
        }
        let settings = self.redaction(organization_id).await?;
        let redactor =
            Arc::new(Redactor::new(&settings).map_err(|e| StoreError::Internal(e.to_string()))?);
        self.redactors_cache()
            .insert(organization_id.to_owned(), Arc::clone(&redactor));
        Ok(redactor)
    }

    /// Bulk records masked by their organizations' redactions.
    async fn redact_records(&self, mut records: Vec<CallRecord>) -> Result<Vec<CallRecord>> {
        for record in &mut records {
            let redactor = self.redactor(&record.call.organization_id).await?;
            if redactor.is_off() {
                continue;
            }
            callscope_redact::redact_call(&mut record.call, &redactor);
            for event in &mut record.events {
                callscope_redact::redact_event(event, &redactor);
            }
            for transfer in &mut record.transfers {
                callscope_redact::redact_transfer(transfer, &redactor);
            }
        }
        Ok(records)
    }
}

/// `build` with its call masked by `redactor` before it is stored.
fn redacting(build: CallBuilder, redactor: Arc<Redactor>) -> CallBuilder {
    if redactor.is_off() {
        return build;
    }
    Box::new(move |existing| {
        let mut call = build(existing)?;
        callscope_redact::redact_call(&mut call, &redactor);
        Ok(call)
    })
}

/// `derive` with its call masked by `redactor` before it is stored.
fn redacting_trace(derive: TraceBuilder, redactor: Arc<Redactor>) -> TraceBuilder {
    if redactor.is_off() {
        return derive;
    }
    Box::new(move |state| {
        let mut call = derive(state)?;
        callscope_redact::redact_call(&mut call, &redactor);
        Ok(call)
    })
}

/// A stored JSON document (a span) with every string leaf masked.
fn redact_document(doc: &str, redactor: &Redactor) -> Result<String> {
    let mut value: serde_json::Value = serde_json::from_str(doc)?;
    callscope_redact::redact_json(&mut value, redactor);
    Ok(serde_json::to_string(&value)?)
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn write_call(
        &self,
        organization_id: &str,
        id: &str,
        mode: WriteMode,
        build: CallBuilder,
    ) -> Result<Written> {
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        let build = redacting(build, self.redactor(organization_id).await?);
        self.write(move |c| sql::write_call(c, &org, &id, mode, build))
            .await
    }

    async fn insert_calls(&self, calls: Vec<CallRecord>) -> Result<()> {
        let calls = self.redact_records(calls).await?;
        self.write(move |c| sql::insert_calls(c, calls, false).map(drop))
            .await
    }

    async fn import_calls(&self, calls: Vec<CallRecord>) -> Result<usize> {
        let calls = self.redact_records(calls).await?;
        self.write(move |c| sql::insert_calls(c, calls, true)).await
    }

    async fn call_records(
        &self,
        organization_id: &str,
        calls: Vec<Call>,
    ) -> Result<Vec<CallRecord>> {
        let org = organization_id.to_owned();
        self.read(move |c| sql::call_records(c, &org, calls)).await
    }

    async fn get_call(&self, organization_id: &str, id: &str) -> Result<Option<Call>> {
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.read(move |c| sql::get_call(c, &org, &id)).await
    }

    async fn get_calls(&self, organization_id: &str, ids: &[String]) -> Result<Vec<Call>> {
        let (org, ids) = (organization_id.to_owned(), ids.to_vec());
        self.read(move |c| sql::get_calls(c, &org, &ids)).await
    }

    async fn delete_calls(&self, organization_id: &str, ids: &[String]) -> Result<usize> {
        let (org, ids) = (organization_id.to_owned(), ids.to_vec());
        self.write(move |c| sql::delete_calls(c, &org, &ids)).await
    }

    async fn retention(&self, organization_id: &str) -> Result<Retention> {
        let org = organization_id.to_owned();
        self.read(move |c| retention::retention(c, &org)).await
    }

    async fn set_retention(
        &self,
        organization_id: &str,
        agent_id: Option<&str>,
        days: Option<u32>,
    ) -> Result<()> {
        let (org, agent) = (organization_id.to_owned(), agent_id.map(str::to_owned));
        self.write(move |c| retention::set_retention(c, &org, agent.as_deref(), days))
            .await
    }

    async fn retention_rules(&self) -> Result<Vec<(String, Retention)>> {
        self.read(retention::rules).await
    }

    async fn organizations_with_calls(&self) -> Result<Vec<String>> {
        self.read(retention::organizations_with_calls).await
    }

    async fn expired_calls(
        &self,
        organization_id: &str,
        scope: &RetentionScope,
        before: Timestamp,
        after: Option<&ExpiredCall>,
        limit: usize,
    ) -> Result<Vec<ExpiredCall>> {
        let (org, scope, after) = (organization_id.to_owned(), scope.clone(), after.cloned());
        self.read(move |c| retention::expired_calls(c, &org, &scope, before, after.as_ref(), limit))
            .await
    }

    async fn compact_changes(&self, limit: usize) -> Result<Compacted> {
        // Only what the committed index already holds may go: the rest is its to-do list.
        let indexed = *self.inner.indexed.borrow();
        self.write(move |c| retention::compact_changes(c, indexed, limit))
            .await
    }

    async fn list_calls(&self, organization_id: &str, query: &ListCalls) -> Result<CallPage> {
        let (org, query) = (organization_id.to_owned(), query.clone());
        self.read(move |c| sql::list_calls(c, &org, &query)).await
    }

    async fn count_calls(&self, organization_id: &str) -> Result<u64> {
        let org = organization_id.to_owned();
        self.read(move |c| sql::count_calls(c, &org)).await
    }

    async fn append_transcript(
        &self,
        organization_id: &str,
        id: &str,
        mut entries: Vec<TranscriptEntry>,
    ) -> Result<Call> {
        let redactor = self.redactor(organization_id).await?;
        for entry in &mut entries {
            callscope_redact::redact_entry(entry, &redactor);
        }
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.write(move |c| sql::append_transcript(c, &org, &id, entries))
            .await
    }

    async fn record_metrics(
        &self,
        organization_id: &str,
        id: &str,
        report: MetricsReport,
        derive: MetricsBuilder,
    ) -> Result<Call> {
        let redactor = self.redactor(organization_id).await?;
        let derive: MetricsBuilder = Box::new(move |call, usage, latency| {
            let mut call = derive(call, usage, latency)?;
            callscope_redact::redact_call(&mut call, &redactor);
            Ok(call)
        });
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.write(move |c| sql::record_metrics(c, &org, &id, report, derive))
            .await
    }

    async fn add_events(
        &self,
        organization_id: &str,
        id: &str,
        mut events: Vec<Event>,
    ) -> Result<()> {
        let redactor = self.redactor(organization_id).await?;
        for event in &mut events {
            callscope_redact::redact_event(event, &redactor);
        }
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.write(move |c| sql::add_events(c, &org, &id, &events))
            .await
    }

    async fn list_events(&self, organization_id: &str, id: &str) -> Result<Option<Vec<Event>>> {
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.read(move |c| sql::list_events(c, &org, &id)).await
    }

    async fn claim_reports(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ReportJob>> {
        self.write(move |c| lifecycle::claim_reports(c, now, lease_ms, limit))
            .await
    }

    async fn retry_report(
        &self,
        organization_id: &str,
        id: &str,
        at: Timestamp,
        error: &str,
    ) -> Result<()> {
        let (org, id, error) = (organization_id.to_owned(), id.to_owned(), error.to_owned());
        self.write(move |c| lifecycle::retry_report(c, &org, &id, at, &error))
            .await
    }

    async fn store_report(
        &self,
        organization_id: &str,
        id: &str,
        mut analysis: Analysis,
    ) -> Result<Call> {
        callscope_redact::redact_analysis(&mut analysis, &*self.redactor(organization_id).await?);
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.write(move |c| lifecycle::store_report(c, &org, &id, analysis))
            .await
    }

    async fn agent_settings(
        &self,
        organization_id: &str,
        agent_id: &str,
    ) -> Result<Option<serde_json::Value>> {
        let (org, agent) = (organization_id.to_owned(), agent_id.to_owned());
        self.read(move |c| lifecycle::agent_settings(c, &org, &agent))
            .await
    }

    async fn put_agent_settings(
        &self,
        organization_id: &str,
        agent_id: &str,
        settings: serde_json::Value,
    ) -> Result<()> {
        let (org, agent) = (organization_id.to_owned(), agent_id.to_owned());
        self.write(move |c| lifecycle::put_agent_settings(c, &org, &agent, &settings))
            .await
    }

    async fn create_transfer(
        &self,
        organization_id: &str,
        mut transfer: Transfer,
    ) -> Result<Transfer> {
        callscope_redact::redact_transfer(&mut transfer, &*self.redactor(organization_id).await?);
        let org = organization_id.to_owned();
        self.write(move |c| lifecycle::create_transfer(c, &org, &transfer))
            .await
    }

    async fn report_transfer(
        &self,
        organization_id: &str,
        call_id: &str,
        transfer_id: &str,
        mut report: TransferReport,
    ) -> Result<(ChainStep, Vec<Transfer>)> {
        let redactor = self.redactor(organization_id).await?;
        callscope_redact::redact_transfer_report(&mut report, &redactor);
        let (org, call, transfer) = (
            organization_id.to_owned(),
            call_id.to_owned(),
            transfer_id.to_owned(),
        );
        self.write(move |c| lifecycle::report_transfer(c, &org, &call, &transfer, report))
            .await
    }

    async fn list_transfers(
        &self,
        organization_id: &str,
        call_id: &str,
    ) -> Result<Option<Vec<Transfer>>> {
        let (org, call) = (organization_id.to_owned(), call_id.to_owned());
        self.read(move |c| lifecycle::list_transfers(c, &org, &call))
            .await
    }

    async fn ingest_spans(
        &self,
        organization_id: &str,
        mut spans: Vec<SpanRecord>,
        derive: TraceBuilder,
    ) -> Result<IngestedSpans> {
        let redactor = self.redactor(organization_id).await?;
        if !redactor.is_off() {
            for span in &mut spans {
                span.doc = redact_document(&span.doc, &redactor)?;
            }
        }
        let derive = redacting_trace(derive, redactor);
        let org = organization_id.to_owned();
        self.write(move |c| traces::ingest_spans(c, &org, spans, &derive))
            .await
    }

    async fn idle_traces(&self, before: Timestamp, limit: usize) -> Result<Vec<(String, String)>> {
        self.read(move |c| traces::idle_traces(c, before, limit))
            .await
    }

    async fn close_trace(
        &self,
        organization_id: &str,
        trace_id: &str,
        before: Timestamp,
        derive: TraceBuilder,
    ) -> Result<Option<Call>> {
        let derive = redacting_trace(derive, self.redactor(organization_id).await?);
        let (org, trace) = (organization_id.to_owned(), trace_id.to_owned());
        self.write(move |c| traces::close_trace(c, &org, &trace, before, &derive))
            .await
    }

    async fn create_webhook(
        &self,
        organization_id: &str,
        draft: WebhookDraft,
    ) -> Result<WebhookEndpoint> {
        let org = organization_id.to_owned();
        self.write(move |c| lifecycle::create_webhook(c, &org, draft))
            .await
    }

    async fn list_webhooks(&self, organization_id: &str) -> Result<Vec<WebhookEndpoint>> {
        let org = organization_id.to_owned();
        self.read(move |c| lifecycle::list_webhooks(c, &org)).await
    }

    async fn get_webhook(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<Option<WebhookEndpoint>> {
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.read(move |c| lifecycle::get_webhook(c, &org, &id))
            .await
    }

    async fn update_webhook(
        &self,
        organization_id: &str,
        id: &str,
        draft: WebhookDraft,
    ) -> Result<WebhookEndpoint> {
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.write(move |c| lifecycle::update_webhook(c, &org, &id, draft))
            .await
    }

    async fn rotate_webhook_secret(
        &self,
        organization_id: &str,
        id: &str,
        grace_ms: i64,
    ) -> Result<WebhookEndpoint> {
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.write(move |c| lifecycle::rotate_webhook_secret(c, &org, &id, grace_ms))
            .await
    }

    async fn delete_webhook(&self, organization_id: &str, id: &str) -> Result<bool> {
        let (org, id) = (organization_id.to_owned(), id.to_owned());
        self.write(move |c| lifecycle::delete_webhook(c, &org, &id))
            .await
    }

    async fn list_deliveries(
        &self,
        organization_id: &str,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Option<Vec<Delivery>>> {
        let (org, endpoint) = (organization_id.to_owned(), endpoint_id.to_owned());
        self.read(move |c| lifecycle::list_deliveries(c, &org, &endpoint, limit))
            .await
    }

    async fn redeliver(
        &self,
        organization_id: &str,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery> {
        let (org, endpoint, delivery) = (
            organization_id.to_owned(),
            endpoint_id.to_owned(),
            delivery_id.to_owned(),
        );
        self.write(move |c| lifecycle::redeliver(c, &org, &endpoint, &delivery))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>> {
        self.write(move |c| lifecycle::claim_deliveries(c, now, lease_ms, limit))
            .await
    }

    async fn next_delivery_at(&self) -> Result<Option<Timestamp>> {
        self.read(lifecycle::next_delivery_at).await
    }

    async fn record_attempt(
        &self,
        delivery_id: &str,
        attempt: DeliveryAttempt,
        verdict: AttemptVerdict,
    ) -> Result<()> {
        let delivery = delivery_id.to_owned();
        self.write(move |c| lifecycle::record_attempt(c, &delivery, &attempt, verdict))
            .await
    }

    async fn public_recordings(&self, organization_id: &str) -> Result<bool> {
        let org = organization_id.to_owned();
        self.read(move |c| lifecycle::public_recordings(c, &org))
            .await
    }

    async fn redaction(&self, organization_id: &str) -> Result<RedactionSettings> {
        let org = organization_id.to_owned();
        self.read(move |c| lifecycle::redaction(c, &org)).await
    }

    async fn set_redaction(
        &self,
        organization_id: &str,
        settings: RedactionSettings,
    ) -> Result<()> {
        let redactor = Arc::new(Redactor::new(&settings).map_err(|e| {
            let field = format!("redaction.{}", e.field());
            StoreError::Invalid(callscope_model::ValidationError::new(field, e.message()))
        })?);
        let org = organization_id.to_owned();
        self.write(move |c| lifecycle::set_redaction(c, &org, &settings))
            .await?;
        self.redactors_cache()
            .insert(organization_id.to_owned(), redactor);
        Ok(())
    }

    async fn set_public_recordings(&self, organization_id: &str, public: bool) -> Result<()> {
        let org = organization_id.to_owned();
        self.write(move |c| lifecycle::set_public_recordings(c, &org, public))
            .await
    }

    async fn create_key(
        &self,
        organization_id: &str,
        name: Option<&str>,
        scopes: &[Scope],
    ) -> Result<NewKey> {
        let (org, name, scopes) = (
            organization_id.to_owned(),
            name.map(str::to_owned),
            scopes.to_vec(),
        );
        self.write(move |c| sql::create_key(c, &org, name.as_deref(), &scopes))
            .await
    }

    async fn list_keys(&self, organization_id: Option<&str>) -> Result<Vec<KeyInfo>> {
        let org = organization_id.map(str::to_owned);
        self.read(move |c| sql::list_keys(c, org.as_deref())).await
    }

    async fn revoke_key(&self, key_id: &str) -> Result<bool> {
        let key_id = key_id.to_owned();
        self.write(move |c| sql::revoke_key(c, &key_id)).await
    }

    async fn authenticate(&self, secret: &str) -> Result<Option<Principal>> {
        let secret = secret.to_owned();
        self.read(move |c| sql::authenticate(c, &secret)).await
    }

    async fn count_keys(&self) -> Result<u64> {
        self.read(sql::count_keys).await
    }

    async fn open_session(
        &self,
        secret: &str,
        ttl: std::time::Duration,
    ) -> Result<Option<NewSession>> {
        let secret = secret.to_owned();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.write(move |c| sql::open_session(c, &secret, ttl_ms))
            .await
    }

    async fn session(&self, token: &str) -> Result<Option<Session>> {
        let token = token.to_owned();
        self.read(move |c| sql::session(c, &token)).await
    }

    async fn close_session(&self, token: &str) -> Result<bool> {
        let token = token.to_owned();
        self.write(move |c| sql::close_session(c, &token)).await
    }

    async fn search(&self, organization_id: &str, request: &SearchRequest) -> Result<SearchResult> {
        let index = self.inner.index.clone().ok_or_else(|| {
            StoreError::Internal("this process opened the store without its search index".into())
        })?;
        let (org, owned, searching) = (
            organization_id.to_owned(),
            request.clone(),
            Arc::clone(&index),
        );
        let answer = tokio::task::spawn_blocking(move || searching.search(&org, &owned))
            .await
            .map_err(|e| StoreError::Internal(format!("search task failed: {e}")))??;
        // A call deleted between the index's answer and this read is simply left out.
        let mut calls = self.get_calls(organization_id, &answer.ids).await?;
        let mut highlights = std::collections::HashMap::new();
        if request.highlight.is_some() {
            // Cutting fragments analyses text: CPU work, off the async threads. The calls go
            // to the task and come back, rather than being copied.
            let request = request.clone();
            let (read, marked) = tokio::task::spawn_blocking(move || {
                let marked = index.highlights(&calls, &request);
                (calls, marked)
            })
            .await
            .map_err(|e| StoreError::Internal(format!("highlight task failed: {e}")))?;
            calls = read;
            highlights = marked?;
        }
        Ok(SearchResult {
            calls,
            total: answer.total,
            total_relation: answer.total_relation,
            aggregations: answer.aggregations,
            positions: answer.positions,
            highlights,
        })
    }

    async fn status(&self) -> Result<StoreStatus> {
        // A job through the writer: it answers only if the writer thread lives and takes work.
        self.write(|_| Ok(())).await?;
        let indexed = *self.inner.indexed.borrow();
        let follower_running = self
            .inner
            .follower
            .lock()
            .ok()
            .and_then(|slot| slot.as_ref().map(|handle| !handle.is_finished()));
        let counts = self.read(move |c| sql::status_counts(c, indexed)).await?;
        let path = self.inner.path.clone();
        let (disk, database_bytes, index_bytes) = tokio::task::spawn_blocking(move || {
            let dir = path.parent().unwrap_or_else(|| Path::new("."));
            let database = ["", "-wal", "-shm"]
                .iter()
                .filter_map(|suffix| {
                    let mut name = path.clone().into_os_string();
                    name.push(suffix);
                    std::fs::metadata(name).ok()
                })
                .map(|meta| meta.len())
                .sum();
            (
                probe_disk(dir),
                database,
                folder_bytes(&dir.join(INDEX_DIR)),
            )
        })
        .await
        .map_err(|e| StoreError::Internal(format!("status task failed: {e}")))?;
        let now = callscope_model::Timestamp::now().as_millis();
        #[allow(clippy::cast_precision_loss)] // an age in ms, shown in seconds
        let index = follower_running.map(|follower_running| IndexStatus {
            follower_running,
            lag_changes: u64::try_from(counts.latest - indexed).unwrap_or(0),
            lag_seconds: counts
                .oldest_unindexed_at
                .map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0),
        });
        Ok(StoreStatus {
            writer_queue: self.inner.queued.load(Ordering::Relaxed),
            commits: self.inner.commit_times.snapshot(),
            index,
            disk,
            database_bytes,
            index_bytes,
            reports_queued: counts.reports_queued,
            deliveries_pending: counts.deliveries_pending,
        })
    }

    async fn refresh(&self) -> Result<()> {
        let maintained = self
            .inner
            .follower
            .lock()
            .map(|slot| slot.is_some())
            .unwrap_or(false);
        if !maintained {
            return Err(StoreError::Internal(
                "this process does not maintain the search index".into(),
            ));
        }
        let target = self.read(sql::last_change).await?;
        let _ = self.inner.wake.try_send(());
        let mut indexed = self.inner.indexed.clone();
        indexed
            .wait_for(|sequence| *sequence >= target)
            .await
            .map_err(|_| StoreError::Internal("the index follower has stopped".into()))?;
        Ok(())
    }
}
