//! The native `/v1` surface (DESIGN §3): seed 002's call resource with the seed-003/004
//! fields, the seed-003 list filters and batch search, live transcript and event ingestion.

pub(crate) mod dto;
mod handlers;
pub(crate) mod lifecycle;
mod retention;
#[cfg(test)]
mod tests;

use crate::AppState;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// Routes under `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create_call, handlers::list_calls))
        .routes(routes!(handlers::search_calls))
        .routes(routes!(handlers::query_calls))
        .routes(routes!(crate::exchange::export))
        .routes(routes!(retention::delete_by_query))
        .routes(
            routes!(crate::exchange::import)
                // Streamed line by line under its own line limit (`exchange::is_import`).
                .layer(DefaultBodyLimit::disable()),
        )
        .routes(routes!(handlers::list_fields))
        .routes(routes!(
            handlers::get_call,
            handlers::put_call,
            handlers::patch_call,
            handlers::delete_call
        ))
        .routes(routes!(handlers::append_transcript))
        .routes(
            routes!(crate::otlp::export_traces)
                // Read whole under the OTLP limit instead (`otlp::is_export`).
                .layer(DefaultBodyLimit::disable()),
        )
        .routes(routes!(handlers::record_metrics))
        .routes(routes!(handlers::add_events, handlers::list_events))
        .routes(
            routes!(crate::recordings::link, crate::recordings::upload)
                // Uploads are streamed to disk under their own limit.
                .layer(DefaultBodyLimit::disable()),
        )
        .routes(routes!(lifecycle::get_report, lifecycle::create_report))
        .routes(routes!(
            lifecycle::create_transfer,
            lifecycle::list_transfers
        ))
        .routes(routes!(lifecycle::get_transfer))
        .routes(routes!(lifecycle::report_transfer))
        .routes(routes!(lifecycle::cancel_transfer))
        .routes(routes!(lifecycle::complete_transfer))
        .routes(routes!(
            lifecycle::get_agent_settings,
            lifecycle::put_agent_settings
        ))
        .routes(routes!(
            retention::get_agent_retention,
            retention::put_agent_retention,
            retention::delete_agent_retention
        ))
        .routes(routes!(lifecycle::create_webhook, lifecycle::list_webhooks))
        .routes(routes!(
            lifecycle::get_webhook,
            lifecycle::update_webhook,
            lifecycle::delete_webhook
        ))
        .routes(routes!(lifecycle::rotate_webhook_secret))
        .routes(routes!(lifecycle::list_deliveries))
        .routes(routes!(lifecycle::redeliver))
        .routes(routes!(
            lifecycle::get_organization,
            lifecycle::update_organization
        ))
}
