//! The Vonage AI Studio Insights compatibility surface, `/insights` (DESIGN §3, seed 001):
//! the same calls rendered as Vonage session documents, searched with `filter_by`.

mod dto;
mod handlers;

use crate::AppState;
use axum::Router;
use axum::routing::get;

/// Routes under `/insights`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(handlers::search_sessions))
        .route("/sessions/search/{id}", get(handlers::find_session))
        .route(
            "/sessions/{id}",
            axum::routing::delete(handlers::delete_session),
        )
        .route("/sessions/{id}/parameters", get(handlers::get_session))
}
