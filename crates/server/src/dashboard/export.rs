//! `GET /calls.csv` and `GET /calls.ndjson`: the calls of a view (the same filters and order
//! as the calls page), streamed as `GET /v1/calls/export` streams them.

use super::search::CallFilters;
use super::{PageError, PageQuery, Viewer};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use callscope_model::Scope;
use callscope_store::exchange::{ExportFormat, Walk};

/// The calls of a view as CSV.
///
/// Every call of the calls page's filters, in its order, streamed as
/// `GET /v1/calls/export?format=csv` streams them: a download, `calls.csv`. Needs the
/// `read` scope.
#[utoipa::path(
    get,
    path = "/calls.csv",
    tag = "dashboard",
    operation_id = "dashboard_export_csv",
    security(("session" = [])),
    params(CallFilters),
    responses(
        (status = 200, description = "The calls, one row each, as an attachment", content_type = "text/csv", body = String),
        (status = 400, description = "An unknown or malformed query parameter, or a view the search refuses, named on a page", content_type = "text/html", body = String),
        (status = 403, description = "The session's key lacks the `read` scope", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(filters): PageQuery<CallFilters>,
) -> Result<Response, PageError> {
    export(state, &viewer, filters, ExportFormat::Csv)
}

/// The calls of a view as NDJSON.
///
/// Every call of the calls page's filters, in its order, streamed as `GET /v1/calls/export`
/// streams them: one call a line, a download, `calls.ndjson`. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/calls.ndjson",
    tag = "dashboard",
    operation_id = "dashboard_export_ndjson",
    security(("session" = [])),
    params(CallFilters),
    responses(
        (status = 200, description = "The calls, one JSON object a line, as an attachment", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "An unknown or malformed query parameter, or a view the search refuses, named on a page", content_type = "text/html", body = String),
        (status = 403, description = "The session's key lacks the `read` scope", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn ndjson(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(filters): PageQuery<CallFilters>,
) -> Result<Response, PageError> {
    export(state, &viewer, filters, ExportFormat::Ndjson)
}

fn export(
    state: AppState,
    viewer: &Viewer,
    mut filters: CallFilters,
    format: ExportFormat,
) -> Result<Response, PageError> {
    viewer.require(Scope::Read)?;
    filters.after.clear();
    let page_size = state.config.limits.max_page_size;
    // Parsed here, so a bad view is refused before any byte is sent.
    let search = filters
        .page_request(page_size, &state.config.limits)?
        .search;
    let walk = Walk::new(search.query, search.sort, page_size);
    let organization = viewer.organization().to_owned();
    Ok(crate::exchange::stream_export(
        state,
        organization,
        walk,
        format,
    ))
}
