//! `GET /calls.csv` and `GET /calls.ndjson`: the calls of a view (the same filters and order
//! as the calls page), streamed as `GET /v1/calls/export` streams them.

use super::search::CallFilters;
use super::{PageError, PageQuery, Viewer};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use callscope_model::Scope;
use callscope_store::exchange::{ExportFormat, Walk};

/// `GET /calls.csv`.
pub(crate) async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(filters): PageQuery<CallFilters>,
) -> Result<Response, PageError> {
    export(state, &viewer, filters, ExportFormat::Csv)
}

/// `GET /calls.ndjson`.
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
