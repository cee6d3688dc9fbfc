//! The native `/v1` surface (DESIGN §3): seed 002's call resource with the seed-003/004
//! fields, the seed-003 list filters and batch search, live transcript and event ingestion.

pub(crate) mod dto;
mod handlers;
pub(crate) mod lifecycle;
mod retention;
#[cfg(test)]
mod tests;

use crate::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// Routes under `/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/calls",
            post(handlers::create_call).get(handlers::list_calls),
        )
        .route("/calls/search", post(handlers::search_calls))
        .route("/calls/query", post(handlers::query_calls))
        .route("/calls/export", get(crate::exchange::export))
        .route("/calls/delete_by_query", post(retention::delete_by_query))
        .route(
            "/calls/import",
            post(crate::exchange::import)
                // Streamed line by line under its own line limit (`exchange::is_import`).
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/fields", get(handlers::list_fields))
        .route(
            "/calls/{id}",
            get(handlers::get_call)
                .put(handlers::put_call)
                .patch(handlers::patch_call)
                .delete(handlers::delete_call),
        )
        .route("/calls/{id}/transcript", post(handlers::append_transcript))
        .route(
            "/traces",
            post(crate::otlp::export_traces)
                // Read whole under the OTLP limit instead (`otlp::is_export`).
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/calls/{id}/metrics", post(handlers::record_metrics))
        .route(
            "/calls/{id}/events",
            post(handlers::add_events).get(handlers::list_events),
        )
        .route(
            "/calls/{id}/recording",
            get(crate::recordings::link)
                .put(crate::recordings::upload)
                // Uploads are streamed to disk under their own limit.
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/calls/{id}/report",
            get(lifecycle::get_report).post(lifecycle::create_report),
        )
        .route(
            "/calls/{id}/transfers",
            post(lifecycle::create_transfer).get(lifecycle::list_transfers),
        )
        .route("/calls/{id}/transfers/{tid}", get(lifecycle::get_transfer))
        .route(
            "/calls/{id}/transfers/{tid}/status",
            post(lifecycle::report_transfer),
        )
        .route(
            "/calls/{id}/transfers/{tid}/cancel",
            post(lifecycle::cancel_transfer),
        )
        .route(
            "/calls/{id}/transfers/{tid}/complete",
            post(lifecycle::complete_transfer),
        )
        .route(
            "/agents/{agent_id}/analysis",
            get(lifecycle::get_agent_settings).put(lifecycle::put_agent_settings),
        )
        .route(
            "/agents/{agent_id}/retention",
            get(retention::get_agent_retention)
                .put(retention::put_agent_retention)
                .delete(retention::delete_agent_retention),
        )
        .route(
            "/webhooks",
            post(lifecycle::create_webhook).get(lifecycle::list_webhooks),
        )
        .route(
            "/webhooks/{id}",
            get(lifecycle::get_webhook)
                .patch(lifecycle::update_webhook)
                .delete(lifecycle::delete_webhook),
        )
        .route(
            "/webhooks/{id}/rotate-secret",
            post(lifecycle::rotate_webhook_secret),
        )
        .route("/webhooks/{id}/deliveries", get(lifecycle::list_deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(lifecycle::redeliver),
        )
        .route(
            "/organization",
            get(lifecycle::get_organization).patch(lifecycle::update_organization),
        )
}
