//! The native `/v1` surface (DESIGN §3): seed 002's call resource with the seed-003/004
//! fields, the seed-003 list filters and batch search, live transcript and event ingestion.

mod dto;
mod handlers;
#[cfg(test)]
mod tests;

use crate::AppState;
use axum::Router;
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
        .route("/fields", get(handlers::list_fields))
        .route(
            "/calls/{id}",
            get(handlers::get_call)
                .put(handlers::put_call)
                .patch(handlers::patch_call)
                .delete(handlers::delete_call),
        )
        .route("/calls/{id}/transcript", post(handlers::append_transcript))
        .route("/calls/{id}/metrics", post(handlers::record_metrics))
        .route(
            "/calls/{id}/events",
            post(handlers::add_events).get(handlers::list_events),
        )
}
