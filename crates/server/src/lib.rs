//! The HTTP face of callscope: one router per API surface over the one canonical model,
//! API-key auth, and the `{"error", "code"}` rendering of every failure. Only this crate
//! knows HTTP; it reaches data only through `callscope_store::Store`.

mod dashboard;
mod error;
mod exchange;
mod extract;
mod guard;
mod insights;
mod lifecycle;
mod livekit;
mod metrics;
mod native;
mod openapi;
mod operations;
mod otlp;
mod params;
mod purge;
mod recordings;
mod request_log;
mod signing;

pub use error::ApiError;
pub use guard::{GuardSettings, Rate, RateSettings};
pub use lifecycle::{
    Backoff, ReportSettings, RetentionSettings, Signals, WebhookSettings, Workers, spawn_workers,
};
pub use livekit::LiveKitKeys;
pub use otlp::OtlpSettings;
pub use recordings::{Channels, RecordingSettings, recording_folder, recording_resource};

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use callscope_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest request body accepted; larger ones get 413 `PAYLOAD_TOO_LARGE`.
    pub max_body_bytes: usize,
    /// Widest `from_date`..`to_date` range `/insights/sessions` accepts, in days; `None`
    /// (the default) lifts seed 001's 60-day cap.
    pub insights_max_range_days: Option<u32>,
    /// Prices usage reported through `POST /v1/calls/{id}/metrics`.
    pub prices: callscope_analysis::PriceTable,
    /// How webhooks are sent and retried.
    pub webhooks: WebhookSettings,
    /// How post-call reports are retried.
    pub reports: ReportSettings,
    /// The OpenAI-compatible endpoint post-call reports ask first, when configured.
    pub llm: Option<callscope_analysis::LlmConfig>,
    /// Where uploaded recordings are kept; `None` refuses uploads.
    pub recordings: Option<RecordingSettings>,
    /// What one request may ask for (the store enforces the same values on searches).
    pub limits: callscope_query::Limits,
    /// The base of the links the server hands out (`https://calls.example.com`), without a
    /// trailing slash; `None` builds them from the request's `Host`.
    pub public_url: Option<String>,
    /// Deadlines, bounds on concurrent work and per-key rates.
    pub guards: GuardSettings,
    /// Longest a client may take to send a request's headers (also how long an idle
    /// keep-alive connection stays open).
    pub header_read_timeout: Duration,
    /// Longest a shutdown waits for requests in flight and the background workers.
    pub shutdown_timeout: Duration,
    /// How far (in age of its oldest missing change) the index may trail the store while
    /// `/readyz` says ready.
    pub ready_max_index_lag: Duration,
    /// How long a dashboard sign-in lasts.
    pub session_ttl: Duration,
    /// The OTLP trace receiver's bounds and idle timeout.
    pub otlp: OtlpSettings,
    /// Longest an import (`POST /v1/calls/import`) may send nothing before it is cut off.
    pub import_idle_timeout: Duration,
    /// The default retention and how often the purge runs.
    pub retention: RetentionSettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            insights_max_range_days: None,
            prices: callscope_analysis::PriceTable::default(),
            webhooks: WebhookSettings::default(),
            reports: ReportSettings::default(),
            llm: None,
            recordings: None,
            limits: callscope_query::Limits::default(),
            public_url: None,
            guards: GuardSettings::default(),
            header_read_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(30),
            ready_max_index_lag: Duration::from_secs(30),
            session_ttl: Duration::from_secs(12 * 3600),
            otlp: OtlpSettings::default(),
            import_idle_timeout: Duration::from_secs(30),
            retention: RetentionSettings::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    /// Wakes the background workers when a write queued work for them.
    pub signals: Arc<Signals>,
    /// The slots and buckets behind `config.guards`.
    guards: Arc<guard::Guards>,
    /// What `/metrics` shows.
    metrics: Arc<metrics::Metrics>,
    /// The dashboard's filter lists, reused between pages.
    facets: Arc<dashboard::FacetCache>,
    /// Turns true when the server starts shutting down, so that streams that would never
    /// end by themselves (the live page's) end and let the shutdown finish.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// The slots behind `config.otlp.max_concurrent_exports`.
    export_slots: Arc<otlp::ExportSlots>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        Self {
            store,
            guards: Arc::new(guard::Guards::new(config.guards.clone())),
            export_slots: Arc::new(otlp::ExportSlots::new(&config.otlp)),
            config: Arc::new(config),
            signals: Arc::default(),
            metrics: Arc::new(metrics::Metrics::new()),
            facets: Arc::default(),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    /// Runs a search within the bound on searches at once. The search runs on a task of its
    /// own that holds its slot until it ends, so a client that goes away (or a request that
    /// times out) does not free the slot while the work goes on.
    pub(crate) async fn search(
        &self,
        organization: &str,
        request: &callscope_query::SearchRequest,
    ) -> Result<callscope_store::SearchResult, ApiError> {
        let slot = self.guards.search_slot().await?;
        let (store, organization, request) = (
            Arc::clone(&self.store),
            organization.to_owned(),
            request.clone(),
        );
        let task = tokio::spawn(async move {
            let _slot = slot;
            store.search(&organization, &request).await
        });
        task.await
            .map_err(|e| ApiError::Internal(format!("search task failed: {e}")))?
            .map_err(ApiError::from)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Serves the application on `listener` until `shutdown` resolves, then stops accepting and
/// lets requests in flight finish, for at most `shutdown_timeout`.
///
/// Connections are HTTP/1 with a header-read timeout: a client that sends its headers one
/// byte at a time, or holds an idle connection open, is cut off after
/// `header_read_timeout`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.config.header_read_timeout);
    let app = TowerToHyperService::new(router(state.clone()));
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = http.serve_connection(TokioIo::new(stream), app.clone());
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            // A connection that ends in an error (a client gone, a header timeout) is the
            // client's business; it is not logged with what it sent.
            let _ = connection.await;
        });
    }
    drop(listener);
    state.closing.send_replace(true);
    let deadline = state.config.shutdown_timeout;
    if tokio::time::timeout(deadline, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            deadline_ms = deadline.as_millis() as u64,
            "requests still in flight at the shutdown deadline were cut off"
        );
    }
    Ok(())
}

/// Every route, each registered through `routes!` with its handler's `#[utoipa::path]`, so
/// that the router and the OpenAPI document are built from this one list.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(operations::healthz))
        .routes(routes!(operations::readyz))
        .routes(routes!(metrics::render))
        .routes(routes!(openapi::document))
        .routes(routes!(openapi::page::reference_page))
        .nest("/v1", native::router())
        .nest("/insights", insights::router())
        .nest("/observability", livekit::router())
        .merge(dashboard::router())
        .routes(routes!(recordings::serve_file))
}

/// The OpenAPI document `/openapi.json` serves, without starting a server.
pub fn openapi_json() -> String {
    serde_json::to_string_pretty(&openapi::finish(routes().into_openapi())).unwrap_or_default()
}

/// The whole application: every surface, health, the error fallbacks and request logging.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let (routes, api) = routes().split_for_parts();
    let document = openapi::Document::new(&openapi::finish(api));
    routes
        .fallback(|method: Method, request: Request| async move {
            ApiError::NotFound(format!("no route for {method} {}", request.uri().path()))
        })
        .method_not_allowed_fallback(|method: Method, request: Request| async move {
            ApiError::MethodNotAllowed(format!(
                "{method} is not allowed on {}",
                request.uri().path()
            ))
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(Extension(document))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extract::read_whole_body,
        ))
        // A handler that panics is a bug; its caller still gets the one error shape, and the
        // connection stays up.
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                ApiError::Internal("a request handler panicked".into()).into_response()
            },
        ))
        // Deadlines and the bound on requests at once; inside the log, which records what
        // they answer.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard_request,
        ))
        // Outermost, so the log sees every answer, the panic's included. `Router::layer`
        // wraps each route, so the route template is known here.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_log::log_request,
        ))
        .with_state(state)
}
