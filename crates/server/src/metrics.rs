//! `GET /metrics` (DESIGN §7): Prometheus's text format (0.0.4), from the `prometheus-client`
//! crate. Requests by route template and status with their latency, webhook attempts by
//! result, requests and searches in flight, and on each scrape the store's own figures:
//! writer queue and commit times, index lag, queued reports and deliveries, sizes.
//!
//! Labels never carry a tenant or anything a caller sent: only route templates, methods,
//! statuses and fixed names, so the series stay few and the page is safe to expose.

use crate::AppState;
use crate::error::ApiError;
use crate::request_log::Finished;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use callscope_store::{HistogramSnapshot, StoreStatus};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Label pairs of a series.
type Labels = Vec<(&'static str, String)>;

/// Longest a scrape waits for the store's figures; past it they are left out.
const STORE_STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// The metrics the server records as it goes.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    webhook_attempts: Family<Labels, Counter>,
    reports: Family<Labels, Counter>,
    requests_in_flight: Gauge,
    searches_in_flight: Gauge,
    /// The store's figures of the scrape being encoded.
    store: Arc<Mutex<Option<StoreStatus>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("callscope");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by method and route template",
            latency.clone(),
        );
        let webhook_attempts = Family::<Labels, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts, by result (delivered, retry, failed: given up)",
            webhook_attempts.clone(),
        );
        let reports = Family::<Labels, Counter>::default();
        registry.register(
            "reports",
            "Post-call report attempts of the background worker, by result (stored, retry, failed)",
            reports.clone(),
        );
        let requests_in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being handled now",
            requests_in_flight.clone(),
        );
        let searches_in_flight = Gauge::default();
        registry.register(
            "searches_in_flight",
            "Searches running now",
            searches_in_flight.clone(),
        );
        let store = Arc::new(Mutex::new(None));
        registry.register_collector(Box::new(StoreCollector(Arc::clone(&store))));
        Self {
            registry,
            requests,
            latency,
            webhook_attempts,
            reports,
            requests_in_flight,
            searches_in_flight,
            store,
        }
    }

    /// Counts a finished request.
    pub(crate) fn observe(&self, finished: &Finished<'_>) {
        let route = || finished.route.to_owned();
        let method = || finished.method.to_owned();
        self.requests
            .get_or_create(&vec![
                ("method", method()),
                ("route", route()),
                ("status", finished.status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("method", method()), ("route", route())])
            .observe(finished.seconds);
    }

    /// Counts a webhook attempt: `delivered`, `retry` or `failed`.
    pub(crate) fn webhook_attempt(&self, result: &'static str) {
        self.webhook_attempts
            .get_or_create(&vec![("result", result.to_owned())])
            .inc();
    }

    /// Counts a post-call report attempt: `stored`, `retry` or `failed`.
    pub(crate) fn report(&self, result: &'static str) {
        self.reports
            .get_or_create(&vec![("result", result.to_owned())])
            .inc();
    }

    /// The page, with the store's figures of now.
    fn render(
        &self,
        status: Option<StoreStatus>,
        in_flight: (i64, i64),
    ) -> Result<String, ApiError> {
        self.requests_in_flight.set(in_flight.0);
        self.searches_in_flight.set(in_flight.1);
        let mut text = String::new();
        // One scrape at a time encodes the store's figures it put there.
        let mut slot = self
            .store
            .lock()
            .map_err(|_| ApiError::Internal("metrics lock poisoned".into()))?;
        *slot = status;
        drop(slot);
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .map_err(|e| ApiError::Internal(format!("encoding metrics: {e}")))?;
        Ok(text)
    }
}

/// The store's figures, encoded from the status read for the scrape.
#[derive(Debug)]
struct StoreCollector(Arc<Mutex<Option<StoreStatus>>>);

#[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)] // counts far below 2^53
impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(status) = self.0.lock().ok().and_then(|slot| slot.clone()) else {
            return Ok(());
        };
        let mut gauge = |name: &str, help: &str, value: f64| -> Result<(), std::fmt::Error> {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
        };
        gauge(
            "writer_queue_depth",
            "Writes waiting for the store's writer",
            status.writer_queue as f64,
        )?;
        gauge(
            "report_queue_depth",
            "Calls waiting for their post-call report",
            status.reports_queued as f64,
        )?;
        gauge(
            "webhook_outbox_depth",
            "Webhook deliveries neither delivered nor given up",
            status.deliveries_pending as f64,
        )?;
        gauge(
            "database_bytes",
            "Size of the database with its write-ahead log",
            status.database_bytes as f64,
        )?;
        gauge(
            "index_bytes",
            "Size of the search index",
            status.index_bytes as f64,
        )?;
        gauge(
            "disk_writable",
            "1 when the data directory takes a write",
            if status.disk.is_ok() { 1.0 } else { 0.0 },
        )?;
        if let Some(index) = status.index {
            gauge(
                "index_lag_changes",
                "Changes committed to the store and not yet searchable",
                index.lag_changes as f64,
            )?;
            gauge(
                "index_lag_seconds",
                "Age of the oldest change not yet searchable",
                index.lag_seconds,
            )?;
            gauge(
                "index_follower_running",
                "1 while the thread that follows the change log into the index runs",
                if index.follower_running { 1.0 } else { 0.0 },
            )?;
        }
        encode_histogram(
            &mut encoder,
            "writer_commit_duration_seconds",
            "Time the store's writer took to commit a batch of writes",
            &status.commits,
        )?;
        let commits = ConstCounter::new(status.commits.count);
        commits.encode(encoder.encode_descriptor(
            "writer_commits",
            "Batches the store's writer committed",
            None,
            commits.metric_type(),
        )?)
    }
}

fn encode_histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    snapshot: &HistogramSnapshot,
) -> Result<(), std::fmt::Error> {
    // prometheus-client adds the buckets up itself.
    let mut buckets = snapshot.buckets.clone();
    let counted: u64 = buckets.iter().map(|(_, n)| n).sum();
    buckets.push((f64::INFINITY, snapshot.count.saturating_sub(counted)));
    encoder
        .encode_descriptor(name, help, None, MetricType::Histogram)?
        .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            snapshot.sum_seconds,
            snapshot.count,
            &buckets,
            None,
        )
}

/// Prometheus metrics of the server.
///
/// No key, as Prometheus scrapes; nothing on it names a tenant.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    security(()),
    responses((
        status = 200,
        description = "Prometheus text exposition: requests by route and status, latency, store and index figures",
        content_type = "text/plain; version=0.0.4",
        body = String,
    )),
)]
pub(crate) async fn render(State(state): State<AppState>) -> Result<Response, ApiError> {
    let status = tokio::time::timeout(STORE_STATUS_TIMEOUT, state.store.status())
        .await
        .ok()
        .and_then(Result::ok);
    let text = state.metrics.render(status, state.guards.in_flight())?;
    Ok((
        [(
            header::CONTENT_TYPE,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        )],
        text,
    )
        .into_response())
}
