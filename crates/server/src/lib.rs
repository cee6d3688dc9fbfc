//! The HTTP face of callscope: one router per API surface over the one canonical model,
//! API-key auth, and the `{"error", "code"}` rendering of every failure. Only this crate
//! knows HTTP; it reaches data only through `callscope_store::Store`.

mod error;
mod extract;
mod insights;
mod lifecycle;
mod native;
mod params;
mod recordings;
mod request_log;
mod signing;

pub use error::ApiError;
pub use lifecycle::{Backoff, ReportSettings, Signals, WebhookSettings, spawn_workers};
pub use recordings::RecordingSettings;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use callscope_store::Store;
use serde_json::json;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;

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
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Serves the application on `listener` until `shutdown` resolves, then lets requests in
/// flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The whole application: every surface, health, the error fallbacks and request logging.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .nest("/v1", native::router())
        .nest("/insights", insights::router())
        .route(
            "/recordings/{org}/{id}/{channels}",
            get(recordings::serve_file),
        )
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
        // A handler that panics is a bug; its caller still gets the one error shape, and the
        // connection stays up.
        .layer(CatchPanicLayer::custom(
            |_panic: Box<dyn std::any::Any + Send>| {
                ApiError::Internal("a request handler panicked".into()).into_response()
            },
        ))
        // Outermost, so the log sees every answer, the panic's included. `Router::layer`
        // wraps each route, so the route template is known here.
        .layer(axum::middleware::from_fn(request_log::log_request))
        .with_state(state)
}
