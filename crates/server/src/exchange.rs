//! Calls in and out in bulk over HTTP (issue 14): `GET /v1/calls/export` streams a filtered
//! set as Callscope NDJSON or CSV, `POST /v1/calls/import` stores an NDJSON body line by
//! line. Both stream: an export holds a page or two, an import a batch, never the whole set.
//! The formats and the walk are `callscope_store::exchange`'s.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Caller, QueryParams};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use callscope_model::Scope;
use callscope_query::{Query, Surface, limit_note, parse_query};
use callscope_store::exchange::{
    ExportFormat, ImportFormat, ImportReport, Importer, Walk, render_page,
};
use serde::Deserialize;

/// Pages of an export buffered ahead of a slow client.
const PAGES_AHEAD: usize = 2;

/// Query string of `GET /v1/calls/export`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `ndjson` (the default) or `csv`.
    #[serde(default)]
    #[param(value_type = Option<String>, pattern = "^(ndjson|csv)$")]
    format: Option<String>,
    /// A query of DESIGN §4 as JSON, `/v1` field names; every call when absent.
    #[serde(default)]
    query: Option<String>,
}

/// Exports every call a query matches, streamed.
///
/// In creation order, as Callscope NDJSON (one call a line, the form `POST /v1/calls/import`
/// reads back exactly) or CSV (a fixed column set, documented in the README). The set is
/// never held in memory, so any size streams. A bad format or query is refused before any
/// byte is sent. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/calls/export",
    tag = "data",
    operation_id = "export_calls",
    params(ExportParams),
    responses((
        status = 200,
        description = "The calls, one a line (NDJSON) or a header and one row a call (CSV)",
        content(
            (String = "application/x-ndjson"),
            (String = "text/csv"),
        ),
    )),
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ExportParams>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let format = ExportFormat::parse(params.format.as_deref().unwrap_or("ndjson"))
        .map_err(|reason| ApiError::InvalidParameter(format!("format: {reason}")))?;
    let query = match params.query.as_deref() {
        None => Query::MatchAll,
        Some(text) => {
            let json: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| ApiError::InvalidParameter(format!("query: not JSON: {e}")))?;
            parse_query(Surface::Native, &json, &state.config.limits)
                .map_err(|e| ApiError::InvalidParameter(format!("query: {e}")))?
        }
    };
    let walk = Walk::new(query, Vec::new(), state.config.limits.max_page_size);
    Ok(stream_export(
        state,
        caller.organization().to_owned(),
        walk,
        format,
    ))
}

/// The response streaming `walk`'s calls in `format`, produced a page at a time on a task of
/// its own as fast as the client reads. A failure midway ends the body in an error, so the
/// client sees a cut-off download rather than a complete-looking short one.
pub(crate) fn stream_export(
    state: AppState,
    organization: String,
    mut walk: Walk,
    format: ExportFormat,
) -> Response {
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(PAGES_AHEAD);
    tokio::spawn(async move {
        let preamble = format.preamble();
        if !preamble.is_empty() && sender.send(Ok(Bytes::from(preamble))).await.is_err() {
            return;
        }
        while let Some(search) = walk.next_request() {
            let page = match state.search(&organization, search).await {
                Ok(result) => {
                    walk.advance(&result);
                    render_page(&state.store, &organization, format, result.calls)
                        .await
                        .map_err(ApiError::from)
                }
                Err(error) => Err(error),
            };
            let chunk = page.map(Bytes::from).map_err(|error| {
                tracing::warn!(error = %error, "an export stopped: a page failed");
                std::io::Error::other(error.to_string())
            });
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                return; // The client went away, or the body ends in the error.
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"calls.{}\"",
        format.extension()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Query string of `POST /v1/calls/import`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `auto` (the default), `ndjson`, `vonage` or `seed004`.
    #[serde(default)]
    #[param(value_type = Option<String>, pattern = "^(auto|ndjson|vonage|seed004)$")]
    format: Option<String>,
}

/// Imports calls in bulk, streamed, idempotent by id.
///
/// The body is call documents: Callscope's NDJSON (what the export writes), seed-001 session
/// documents alone or in a `{"hits": [...]}` answer, or seed-004 calls; one a line, or
/// pretty-printed over several. They are stored as they arrive under the key's organization.
/// A document that is not a call is reported with its line number and why, and the others
/// land; a line or document longer than `max_body_bytes` is refused. Needs the `write`
/// scope.
#[utoipa::path(
    post,
    path = "/calls/import",
    tag = "data",
    operation_id = "import_calls",
    params(ImportParams),
    request_body(
        content = String,
        content_type = "application/x-ndjson",
        description = "Call documents, one a line or pretty-printed (the example is seed 004's call)",
        example = json!(crate::openapi::seed::seed004_import()),
    ),
    responses((status = 200, description = "What was imported, updated and rejected", body = ImportReport)),
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ImportParams>,
    body: Body,
) -> Result<Response, ApiError> {
    use futures_util::StreamExt;
    caller.require(Scope::Write)?;
    let format = ImportFormat::parse(params.format.as_deref().unwrap_or("auto"))
        .map_err(|reason| ApiError::InvalidParameter(format!("format: {reason}")))?;
    let max_line = state.config.max_body_bytes;
    let idle = state.config.import_idle_timeout;
    let mut importer = Importer::new(
        std::sync::Arc::clone(&state.store),
        caller.organization(),
        format,
        (max_line, "max_body_bytes"),
    );
    let mut chunks = std::pin::pin!(body.into_data_stream());
    let mut line: Vec<u8> = Vec::new();
    // Whether the current line passed the limit: its bytes are skipped up to its newline.
    let mut oversized = false;
    loop {
        let Ok(next) = tokio::time::timeout(idle, chunks.next()).await else {
            return Err(ApiError::RequestTimeout(format!(
                "the import sent nothing for {} s after line {}; send the body without pauses",
                idle.as_secs_f64(),
                importer.lines()
            )));
        };
        let Some(chunk) = next else { break };
        let chunk = chunk
            .map_err(|e| ApiError::InvalidParameter(format!("cannot read the import: {e}")))?;
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let (part, ended) = match rest.iter().position(|byte| *byte == b'\n') {
                Some(at) => (&rest[..at], true),
                None => (rest, false),
            };
            rest = if ended { &rest[part.len() + 1..] } else { &[] };
            if !oversized {
                if line.len() + part.len() > max_line {
                    oversized = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(part);
                }
            }
            if ended {
                take_line(&mut importer, &mut line, &mut oversized, max_line).await?;
            }
        }
    }
    if !line.is_empty() || oversized {
        take_line(&mut importer, &mut line, &mut oversized, max_line).await?;
    }
    Ok(Json(importer.finish().await?).into_response())
}

/// Hands the line gathered in `line` to the importer and starts the next.
async fn take_line(
    importer: &mut Importer,
    line: &mut Vec<u8>,
    oversized: &mut bool,
    max_line: usize,
) -> Result<(), ApiError> {
    if std::mem::take(oversized) {
        let reason = format!(
            "the line is longer than the {max_line} bytes this server accepts {}",
            limit_note("max_body_bytes", max_line)
        );
        return Ok(importer.refuse_line(reason).await?);
    }
    importer.line(&std::mem::take(line)).await?;
    Ok(())
}

/// Whether `request` is an import: its body is streamed by its handler, so the layers that
/// read bodies whole or bound a request's time leave it to its own line limit and idle
/// timeout.
pub(crate) fn is_import(request: &axum::extract::Request) -> bool {
    request.method() == axum::http::Method::POST
        && request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|path| path.as_str() == "/v1/calls/import")
}
