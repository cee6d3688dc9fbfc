//! The Vonage AI Studio Insights compatibility surface, `/insights` (DESIGN §3, seed 001):
//! the same calls rendered as Vonage session documents, searched with `filter_by`.

mod dto;
mod handlers;

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes under `/insights`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::search_sessions))
        .routes(routes!(handlers::find_session))
        .routes(routes!(handlers::delete_session))
        .routes(routes!(handlers::get_session))
}
