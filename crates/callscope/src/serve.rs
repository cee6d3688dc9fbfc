//! `callscope serve`: opens the store, bootstraps the first key, optionally fills demo data,
//! and serves HTTP until SIGINT or SIGTERM.

use crate::cli::{CorpusShape, ServeArgs};
use crate::demo;
use anyhow::Context;
use callscope_analysis::outbound::DestinationPolicy;
use callscope_analysis::{LlmConfig, PriceTable, PricingConfig, TrustedRoots};
use callscope_model::{Scope, Timestamp};
use callscope_server::{
    AppState, Backoff, LiveKitKeys, OtlpSettings, RecordingSettings, ReportSettings,
    RetentionSettings, ServerConfig, WebhookSettings,
};
use callscope_store::IndexMode;
use callscope_store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Organization of the bootstrap key and of `--demo` data.
const DEFAULT_ORGANIZATION: &str = "default";

/// The price table: the shipped prices with the file's applied.
fn price_table(file: Option<&Path>) -> anyhow::Result<PriceTable> {
    let Some(file) = file else {
        return Ok(PriceTable::default());
    };
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let config: PricingConfig = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a price table", file.display()))?;
    PriceTable::new(&config).with_context(|| format!("in {}", file.display()))
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    // Refuse a bad price table or certificate file before touching the store.
    let prices = price_table(args.price_table.as_deref())?;
    let livekit_keys = LiveKitKeys::parse(args.livekit_key.iter().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("--livekit-key: {e}"))?;
    let trusted_roots = match &args.tls_ca_file {
        Some(file) => TrustedRoots::from_pem_file(file)?,
        None => TrustedRoots::Public,
    };
    let limits = args.limits.limits();
    let shutdown_timeout = Duration::from_millis(args.guards.shutdown_timeout_ms);
    let store = args.store.open(IndexMode::Maintain, limits)?;
    if store.count_keys().await? == 0 {
        let key = store
            .create_key(
                DEFAULT_ORGANIZATION,
                Some("bootstrap admin"),
                &[Scope::Admin],
            )
            .await?;
        println!(
            "created an admin API key for organization `{DEFAULT_ORGANIZATION}` ({}); it is \
             shown only this once:",
            key.info.id
        );
        println!("{}", key.secret);
    }
    if args.demo && store.count_calls(DEFAULT_ORGANIZATION).await? == 0 {
        let anchor = Timestamp::now();
        demo::fill(
            &store,
            DEFAULT_ORGANIZATION,
            args.demo_calls,
            42,
            anchor,
            30,
            CorpusShape::Full,
            demo::Reports::Heuristic,
            demo::Recordings::Write(&args.store.recordings_dir()),
        )
        .await?;
    }
    let llm = match (args.llm_base_url, args.llm_model) {
        (Some(base_url), Some(model)) => Some(LlmConfig {
            base_url,
            model,
            api_key: args.llm_api_key,
            timeout: Duration::from_millis(args.llm_timeout_ms),
            trusted_roots: trusted_roots.clone(),
        }),
        _ => None,
    };
    let recordings = RecordingSettings::open(
        &args.store.recordings_dir(),
        args.max_recording_bytes,
        Duration::from_secs(args.recording_link_ttl_secs),
        Duration::from_secs(args.upload_idle_timeout_secs),
    )
    .context("cannot open the recordings folder")?;
    let state = AppState::new(
        Arc::new(store),
        ServerConfig {
            max_body_bytes: args.max_body_bytes,
            insights_max_range_days: args.insights_max_range_days,
            prices,
            webhooks: WebhookSettings {
                retry: Backoff {
                    max_attempts: args.webhook_max_attempts,
                    base: Duration::from_millis(args.webhook_retry_base_ms),
                    ..WebhookSettings::default().retry
                },
                timeout: Duration::from_millis(args.webhook_timeout_ms),
                trusted_roots,
                destinations: Arc::new(DestinationPolicy::new(args.webhook_allow_cidr.clone())),
            },
            reports: ReportSettings {
                retry: Backoff {
                    max_attempts: args.report_max_attempts,
                    base: Duration::from_millis(args.report_retry_base_ms),
                    ..ReportSettings::default().retry
                },
                timeout: Duration::from_millis(args.llm_timeout_ms),
            },
            llm,
            recordings: Some(recordings),
            limits,
            public_url: args.public_url.clone(),
            guards: args.guards.settings(),
            header_read_timeout: Duration::from_millis(args.guards.header_read_timeout_ms),
            shutdown_timeout,
            ready_max_index_lag: Duration::from_millis(args.guards.ready_max_index_lag_ms),
            session_ttl: Duration::from_secs(args.session_ttl_secs),
            otlp: OtlpSettings {
                max_decompressed_bytes: usize::try_from(args.otlp_max_decompressed_bytes)
                    .unwrap_or(usize::MAX),
                max_concurrent_exports: args.otlp_max_concurrent_exports as usize,
                idle_timeout: Duration::from_millis(args.otlp_idle_timeout_ms),
                livekit_keys,
            },
            import_idle_timeout: Duration::from_secs(args.upload_idle_timeout_secs),
            retention: RetentionSettings {
                default_days: args.retention_days,
                interval: Duration::from_secs(args.retention_interval_secs),
            },
        },
    );
    // Reports and deliveries left queued by the last process resume here.
    let workers = callscope_server::spawn_workers(&state);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, data_dir = %args.store.data_dir.display(), "callscope listening");
    println!("callscope listening on http://{address}");
    let began = Arc::new(std::sync::OnceLock::new());
    let signal = {
        let began = Arc::clone(&began);
        async move {
            shutdown_signal().await;
            let _ = began.set(std::time::Instant::now());
            tracing::info!("stopping: finishing requests in flight and background work");
        }
    };
    callscope_server::serve(listener, state, signal).await?;
    // One deadline for the whole shutdown: what the requests left of it is the workers'.
    let spent = began
        .get()
        .map_or(Duration::ZERO, std::time::Instant::elapsed);
    workers.stop(shutdown_timeout.saturating_sub(spent)).await;
    tracing::info!("callscope stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM. Nothing needs flushing on the way out: every acknowledged
/// write is already committed.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
