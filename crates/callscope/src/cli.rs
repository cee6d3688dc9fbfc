//! Command-line options. Every option can also come from a `CALLSCOPE_*` environment
//! variable; a flag wins over the environment.

use callscope_model::{Scope, TimeBound};
use callscope_query::Limits;
use callscope_store::{Durability, EmbeddedStore, IndexMode, StoreOptions};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Self-hosted call and session insights for voice AI agents.
#[derive(Debug, Parser)]
#[command(name = "callscope", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written to stderr: `text` for people, `json` (one object per line)
    /// for log collectors.
    #[arg(long, env = "CALLSCOPE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(Box<ServeArgs>),
    /// Create, list and revoke API keys.
    Keys(KeysArgs),
    /// Fill the store with realistic synthetic calls.
    Demo(DemoArgs),
    /// Search the index from the terminal and print a table.
    Search(SearchArgs),
    /// Write every call a query matches as NDJSON (importable) or CSV.
    Export(ExportArgs),
    /// Store calls from an export, or from seed-001/seed-004 documents, idempotent by id.
    Import(ImportArgs),
    /// Rebuild the search index from SQLite (with the server stopped).
    Reindex(StoreArgs),
    /// Measure ingest rate, index size and query latency on a generated corpus.
    Bench(BenchArgs),
    /// Print the OpenAPI 3.1 document the server serves at `/openapi.json`.
    Openapi,
}

/// Where the data lives and how it is written; shared by every command.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// A TOML file of options under the flags' names with underscores (`max_buckets = 1000`);
    /// `CALLSCOPE_*` variables and flags win over it, and an unknown key is refused.
    #[arg(long, env = "CALLSCOPE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Directory of the embedded store (SQLite database and, later, the search index).
    #[arg(
        long,
        env = "CALLSCOPE_DATA_DIR",
        default_value = "./callscope-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// `full` syncs every commit to disk (survives power loss); `normal` survives a crash of
    /// the process only, and writes faster.
    #[arg(long, env = "CALLSCOPE_DURABILITY", value_enum, default_value_t = DurabilityArg::Full, global = true)]
    pub durability: DurabilityArg,
    /// Memory of the search index writer, in MiB: more means fewer segments to merge.
    #[arg(
        long,
        env = "CALLSCOPE_INDEX_MEMORY_MB",
        default_value_t = 256,
        global = true
    )]
    pub index_memory_mb: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DurabilityArg {
    Full,
    Normal,
}

impl StoreArgs {
    /// Where recordings are kept: `<data-dir>/recordings`, for the server and the demo data
    /// alike.
    pub fn recordings_dir(&self) -> PathBuf {
        self.data_dir.join("recordings")
    }

    /// Opens the embedded store these options describe, doing `index` with its search index
    /// and answering searches within `limits`.
    pub fn open(&self, index: IndexMode, limits: Limits) -> anyhow::Result<EmbeddedStore> {
        let durability = match self.durability {
            DurabilityArg::Full => Durability::Full,
            DurabilityArg::Normal => Durability::Normal,
        };
        let options = StoreOptions {
            durability,
            index,
            index_memory_bytes: self.index_memory_mb.max(15) * 1024 * 1024,
            limits,
        };
        EmbeddedStore::open_with(&self.data_dir, options).map_err(|error| {
            anyhow::anyhow!(
                "cannot open the store in {}: {error}",
                self.data_dir.display()
            )
        })
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on; port 0 picks a free port (the chosen address is printed).
    #[arg(long, env = "CALLSCOPE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Fill an empty store with synthetic calls for organization `default` before serving.
    #[arg(long, env = "CALLSCOPE_DEMO")]
    pub demo: bool,
    /// How many synthetic calls `--demo` writes.
    #[arg(long, env = "CALLSCOPE_DEMO_CALLS", default_value_t = 2000)]
    pub demo_calls: usize,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CALLSCOPE_MAX_BODY_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Widest date range `/insights/sessions` accepts, in days (Vonage's service caps it at
    /// 60); unlimited when not set.
    #[arg(long, env = "CALLSCOPE_INSIGHTS_MAX_RANGE_DAYS")]
    pub insights_max_range_days: Option<u32>,
    /// A JSON file of prices that replace or add to the shipped ones, e.g.
    /// `{"credits_per_usd": 100, "prices": [{"component": "llm", "provider": "openai",
    /// "model": "gpt-4o-mini", "unit": "input_tokens", "usd": "0.15", "per": 1000000}]}`.
    #[arg(long, env = "CALLSCOPE_PRICE_TABLE")]
    pub price_table: Option<PathBuf>,
    /// Webhook attempts before a delivery is marked failed.
    #[arg(long, env = "CALLSCOPE_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub webhook_max_attempts: u32,
    /// Wait before the first webhook retry, in milliseconds; each later retry doubles it
    /// (up to an hour), with jitter.
    #[arg(
        long,
        env = "CALLSCOPE_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 10_000
    )]
    pub webhook_retry_base_ms: u64,
    /// Attempts at a call's post-call report before it is stored as failed.
    #[arg(long, env = "CALLSCOPE_REPORT_MAX_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub report_max_attempts: u32,
    /// Wait before the first retry of a failed report, in milliseconds; each later retry
    /// doubles it (up to an hour), with jitter.
    #[arg(long, env = "CALLSCOPE_REPORT_RETRY_BASE_MS", default_value_t = 30_000)]
    pub report_retry_base_ms: u64,
    /// PEM file of the certificate authorities outbound HTTPS trusts (webhook receivers, the
    /// LLM endpoint), instead of the bundled public roots: for receivers behind a private CA.
    #[arg(long, env = "CALLSCOPE_TLS_CA_FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// A network webhook receivers may be on although it is not public (loopback, private,
    /// link-local, …), as `address/prefix`: for on-premise receivers. Repeat for several.
    /// Without it only public addresses receive webhooks.
    #[arg(
        long = "webhook-allow-cidr",
        env = "CALLSCOPE_WEBHOOK_ALLOW_CIDR",
        value_delimiter = ','
    )]
    pub webhook_allow_cidr: Vec<callscope_analysis::outbound::Cidr>,
    /// Longest a webhook receiver may take to answer, in milliseconds.
    #[arg(long, env = "CALLSCOPE_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// Root of an OpenAI-compatible API (e.g. `https://api.openai.com/v1` or a local
    /// `http://localhost:11434/v1`); post-call reports ask its `chat/completions` first and
    /// fall back to the built-in analyzer on any failure.
    #[arg(long, env = "CALLSCOPE_LLM_BASE_URL", requires = "llm_model")]
    pub llm_base_url: Option<String>,
    /// The model the LLM analyzer asks.
    #[arg(long, env = "CALLSCOPE_LLM_MODEL", requires = "llm_base_url")]
    pub llm_model: Option<String>,
    /// Bearer key of the LLM API (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "CALLSCOPE_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    /// The address clients reach this server at (`https://calls.example.com`), the base of
    /// every link it hands out (recordings); by default `http://` and the request's `Host`,
    /// which is wrong behind a proxy that terminates TLS.
    #[arg(long, env = "CALLSCOPE_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Longest a recording upload or an import may send nothing before it is cut off, in
    /// seconds.
    #[arg(long, env = "CALLSCOPE_UPLOAD_IDLE_TIMEOUT_SECS", default_value_t = 30)]
    pub upload_idle_timeout_secs: u64,
    /// Days an organization keeps its calls unless it (`PATCH /v1/organization`) or the
    /// call's agent (`PUT /v1/agents/{id}/retention`) says otherwise; calls are kept for
    /// ever when unset.
    #[arg(long, env = "CALLSCOPE_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=i64::from(callscope_store::MAX_RETENTION_DAYS)))]
    pub retention_days: Option<u32>,
    /// How often the purge of calls past their retention runs, in seconds.
    #[arg(long, env = "CALLSCOPE_RETENTION_INTERVAL_SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub retention_interval_secs: u64,
    /// Largest recording upload accepted, in bytes.
    #[arg(long, env = "CALLSCOPE_MAX_RECORDING_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub max_recording_bytes: u64,
    /// How long a signed recording link works, in seconds.
    #[arg(
        long,
        env = "CALLSCOPE_RECORDING_LINK_TTL_SECS",
        default_value_t = 3600
    )]
    pub recording_link_ttl_secs: u64,
    /// How long a dashboard sign-in lasts, in seconds (at most 30 days).
    #[arg(
        long,
        env = "CALLSCOPE_SESSION_TTL_SECS",
        default_value_t = 12 * 3600,
        value_parser = clap::value_parser!(u64).range(1..=30 * 24 * 3600)
    )]
    pub session_ttl_secs: u64,
    /// Longest an LLM report may take, in milliseconds.
    #[arg(long, env = "CALLSCOPE_LLM_TIMEOUT_MS", default_value_t = 30_000)]
    pub llm_timeout_ms: u64,
    /// An OpenTelemetry trace whose root span has not come after this many milliseconds
    /// without any span is closed: its call ends with `disconnection_reason: timeout`.
    #[arg(
        long,
        env = "CALLSCOPE_OTLP_IDLE_TIMEOUT_MS",
        default_value_t = 300_000,
        value_parser = clap::value_parser!(u64).range(100..=7 * 24 * 3_600_000)
    )]
    pub otlp_idle_timeout_ms: u64,
    /// Largest OTLP export body once decompressed, in bytes.
    #[arg(
        long,
        env = "CALLSCOPE_OTLP_MAX_DECOMPRESSED_BYTES",
        default_value_t = 32 * 1024 * 1024,
        value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024)
    )]
    pub otlp_max_decompressed_bytes: u64,
    /// Most OTLP exports stored at once; past it an export gets 503 with `Retry-After`.
    #[arg(
        long,
        env = "CALLSCOPE_OTLP_MAX_CONCURRENT_EXPORTS",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=1024)
    )]
    pub otlp_max_concurrent_exports: u32,
    /// A LiveKit project whose agents send their traces and session reports here
    /// (`LIVEKIT_OBSERVABILITY_URL` pointed at this server): `ORG=API_KEY:API_SECRET`, the
    /// project's API key and secret, repeated or comma-separated. Their tokens are verified
    /// with the secret and land in ORG. Prefer the variable or the config file, since a
    /// flag's value shows in the process list.
    #[arg(
        long,
        env = "CALLSCOPE_LIVEKIT_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub livekit_key: Vec<String>,
    #[command(flatten)]
    pub limits: LimitsArgs,
    #[command(flatten)]
    pub guards: GuardArgs,
}

/// Deadlines, bounds on concurrent work and per-key rates: past them a request gets 503
/// `OVERLOADED`/`TIMEOUT` or 429 `RATE_LIMITED` with `Retry-After`, never a queue without end.
#[derive(Debug, Args)]
pub struct GuardArgs {
    /// Longest a client may take to send a request's headers, and to keep an idle
    /// connection open, in milliseconds.
    #[arg(
        long,
        env = "CALLSCOPE_HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub header_read_timeout_ms: u64,
    /// Longest a request may take to be answered, in milliseconds (uploads are bounded by
    /// their idle timeout instead).
    #[arg(long, env = "CALLSCOPE_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Most requests handled at once.
    #[arg(long, env = "CALLSCOPE_MAX_CONCURRENT_REQUESTS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_requests: u32,
    /// Most searches running at once (queries, full-text lists, `/insights/sessions`).
    #[arg(long, env = "CALLSCOPE_MAX_CONCURRENT_SEARCHES", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_searches: u32,
    /// Longest a search waits for a free slot before it is refused, in milliseconds.
    #[arg(
        long,
        env = "CALLSCOPE_SEARCH_QUEUE_TIMEOUT_MS",
        default_value_t = 1_000
    )]
    pub search_queue_timeout_ms: u64,
    /// Longest a write with `?refresh=wait_for` waits for the search index, in milliseconds.
    #[arg(long, env = "CALLSCOPE_REFRESH_TIMEOUT_MS", default_value_t = 10_000)]
    pub refresh_timeout_ms: u64,
    /// Requests per second each API key may send, as `RATE` or `RATE/BURST` (the burst
    /// defaults to twice the rate); 0 lifts the limit.
    #[arg(long, env = "CALLSCOPE_RATE_LIMIT", default_value = "1000/2000")]
    pub rate_limit: callscope_server::Rate,
    /// Another rate for the keys of one organization, as `ORG=RATE[/BURST]`; repeat for
    /// several.
    #[arg(long = "rate-limit-org", env = "CALLSCOPE_RATE_LIMIT_ORG", value_delimiter = ',',
          value_parser = parse_org_rate)]
    pub rate_limit_org: Vec<(String, callscope_server::Rate)>,
    /// How far the search index may trail the store, as the age of the oldest change not
    /// yet searchable, in milliseconds, while `/readyz` says ready.
    #[arg(
        long,
        env = "CALLSCOPE_READY_MAX_INDEX_LAG_MS",
        default_value_t = 30_000
    )]
    pub ready_max_index_lag_ms: u64,
    /// Longest a shutdown waits for requests in flight and background work, in
    /// milliseconds.
    #[arg(long, env = "CALLSCOPE_SHUTDOWN_TIMEOUT_MS", default_value_t = 30_000)]
    pub shutdown_timeout_ms: u64,
}

impl GuardArgs {
    pub fn settings(&self) -> callscope_server::GuardSettings {
        callscope_server::GuardSettings {
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_concurrent_requests: self.max_concurrent_requests as usize,
            max_concurrent_searches: self.max_concurrent_searches as usize,
            search_queue_timeout: Duration::from_millis(self.search_queue_timeout_ms),
            refresh_timeout: Duration::from_millis(self.refresh_timeout_ms),
            rates: callscope_server::RateSettings {
                default: self.rate_limit,
                per_organization: self.rate_limit_org.iter().cloned().collect(),
            },
        }
    }
}

fn parse_org_rate(text: &str) -> Result<(String, callscope_server::Rate), String> {
    let (org, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not ORG=RATE[/BURST]"))?;
    Ok((org.trim().to_owned(), rate.parse()?))
}

/// What one request may ask for; past a limit the request is refused with a 400 that names
/// it. Defaults are `callscope_query::Limits::default()`.
#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// Deepest bool nesting of a query.
    #[arg(long, env = "CALLSCOPE_MAX_QUERY_DEPTH", default_value_t = Limits::default().max_query_depth)]
    pub max_query_depth: usize,
    /// Most clauses in one query.
    #[arg(long, env = "CALLSCOPE_MAX_QUERY_CLAUSES", default_value_t = Limits::default().max_query_clauses)]
    pub max_query_clauses: usize,
    /// Most values in one `terms` clause.
    #[arg(long, env = "CALLSCOPE_MAX_TERMS_VALUES", default_value_t = Limits::default().max_terms_values)]
    pub max_terms_values: usize,
    /// Most aggregations in one request, sub-aggregations included.
    #[arg(long, env = "CALLSCOPE_MAX_AGGREGATIONS", default_value_t = Limits::default().max_aggregations)]
    pub max_aggregations: usize,
    /// Deepest nesting of sub-aggregations.
    #[arg(long, env = "CALLSCOPE_MAX_AGGREGATION_DEPTH", default_value_t = Limits::default().max_aggregation_depth)]
    pub max_aggregation_depth: usize,
    /// Largest `size` of a terms aggregation.
    #[arg(long, env = "CALLSCOPE_MAX_TERMS_SIZE", default_value_t = Limits::default().max_terms_size)]
    pub max_terms_size: u32,
    /// Most buckets one aggregation answer may hold (Elasticsearch's `search.max_buckets`).
    #[arg(long, env = "CALLSCOPE_MAX_BUCKETS", default_value_t = Limits::default().max_buckets)]
    pub max_buckets: u32,
    /// Memory one search's aggregations may take, in MiB.
    #[arg(long, env = "CALLSCOPE_MAX_SEARCH_MEMORY_MB", default_value_t = Limits::default().max_search_memory_mb)]
    pub max_search_memory_mb: u64,
    /// Largest page (`size`, `limit`, `page_size`).
    #[arg(long, env = "CALLSCOPE_MAX_PAGE_SIZE", default_value_t = Limits::default().max_page_size)]
    pub max_page_size: u32,
    /// Deepest a page may reach by offset; cursors and `search_after` go deeper.
    #[arg(long, env = "CALLSCOPE_MAX_RESULT_WINDOW", default_value_t = Limits::default().max_result_window)]
    pub max_result_window: u64,
    /// Most ids in one batch lookup.
    #[arg(long, env = "CALLSCOPE_MAX_BATCH_IDS", default_value_t = Limits::default().max_batch_ids)]
    pub max_batch_ids: usize,
    /// Most paths in one projection.
    #[arg(long, env = "CALLSCOPE_MAX_PROJECT_FIELDS", default_value_t = Limits::default().max_project_fields)]
    pub max_project_fields: usize,
}

impl LimitsArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_query_depth: self.max_query_depth,
            max_query_clauses: self.max_query_clauses,
            max_terms_values: self.max_terms_values,
            max_aggregations: self.max_aggregations,
            max_aggregation_depth: self.max_aggregation_depth,
            max_terms_size: self.max_terms_size,
            max_buckets: self.max_buckets,
            max_search_memory_mb: self.max_search_memory_mb,
            max_page_size: self.max_page_size,
            max_result_window: self.max_result_window,
            max_batch_ids: self.max_batch_ids,
            max_project_fields: self.max_project_fields,
        }
    }
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key; its secret is printed once, alone on the last line of stdout.
    Create {
        /// Organization the key belongs to (created if new).
        #[arg(long)]
        org: String,
        /// Comma-separated scopes: read, write, admin.
        #[arg(long, value_delimiter = ',', default_value = "read")]
        scopes: Vec<Scope>,
        /// A label to recognise the key by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List keys (never their secrets).
    List {
        /// Only this organization's keys.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke a key by its id (`key_…`); requests with it get 401 from then on.
    Revoke { key_id: String },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Number of calls to write.
    #[arg(long, default_value_t = 2000)]
    pub calls: usize,
    /// Seed of the generator; the same seed and anchor give the same calls.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Organization the calls belong to.
    #[arg(long, default_value = "default")]
    pub org: String,
    /// Latest possible call start (a date or time); defaults to the start of today, UTC.
    #[arg(long, value_parser = parse_anchor)]
    pub anchor: Option<TimeBound>,
    /// Number of days the calls spread over, before the anchor.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The query: Elasticsearch bool JSON with `/v1` field names, e.g.
    /// '{"must": [{"match": {"transcript.user": "refund"}}]}'.
    pub filter: String,
    /// Organization to search.
    #[arg(long, default_value = "default")]
    pub org: String,
    /// Sort keys, `field:asc|desc` separated by commas; by relevance when empty.
    #[arg(long, default_value = "")]
    pub sort: String,
    /// Extra columns: dotted paths of the call, separated by commas.
    #[arg(long, value_delimiter = ',')]
    pub fields: Vec<String>,
    /// Most rows to print.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Organization whose calls to write.
    #[arg(long, default_value = "default")]
    pub org: String,
    /// Which calls: a query of DESIGN §4 as JSON, `/v1` field names (every call by default).
    #[arg(long)]
    pub query: Option<String>,
    /// `ndjson`: one call a line, every field, importable; `csv`: the fixed columns of the
    /// README, for spreadsheets.
    #[arg(long, value_enum, default_value_t = ExportFormatArg::Ndjson)]
    pub format: ExportFormatArg,
    /// The file to write (in full or not at all); standard output by default.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Ndjson,
    Csv,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Organization the calls are stored under (whatever the file says).
    #[arg(long, default_value = "default")]
    pub org: String,
    /// What the file holds: `auto` tells each document by its keys; `ndjson` is
    /// Callscope's export; `vonage` seed 001's session documents (alone, NDJSON of them, or
    /// a `{"hits": [...]}` search answer); `seed004` seed 004's calls.
    #[arg(long, value_enum, default_value_t = ImportFormatArg::Auto)]
    pub format: ImportFormatArg,
    /// Longest document read, in bytes (a pretty-printed `{"hits": [...]}` answer is one).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub max_document_bytes: usize,
    /// The file, or `-` for standard input.
    pub file: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImportFormatArg {
    Auto,
    Ndjson,
    Vonage,
    Seed004,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Calls to generate when the data directory has none yet.
    #[arg(long, default_value_t = 100_000)]
    pub calls: usize,
    /// Seed of the generated corpus.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Timed runs of each query.
    #[arg(long, default_value_t = 200)]
    pub iterations: usize,
    /// The generated calls as they are, or compact (8 turns, 8 flow nodes, no payloads or
    /// events) to compare with lighter corpora.
    #[arg(long, value_enum, default_value_t = CorpusShape::Full)]
    pub shape: CorpusShape,
}

/// What `fill` writes of each generated call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CorpusShape {
    Full,
    Compact,
}

/// An absolute http(s) URL without its trailing slash.
fn parse_public_url(text: &str) -> Result<String, String> {
    let base = text.trim().trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
        .ok_or_else(|| format!("`{text}` is not an absolute http:// or https:// URL"))?;
    if rest.is_empty() || rest.contains(['?', '#']) {
        return Err(format!(
            "`{text}` must be a scheme, a host and at most a path, like https://calls.example.com"
        ));
    }
    Ok(base.to_owned())
}

fn parse_anchor(text: &str) -> Result<TimeBound, String> {
    TimeBound::parse(text).map_err(|error| error.to_string())
}

/// Logs go to stderr, filtered by `CALLSCOPE_LOG` (or `RUST_LOG`), `info` by default.
pub fn init_logging(format: LogFormat) {
    let filter = std::env::var("CALLSCOPE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}
