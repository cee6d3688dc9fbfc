//! `GET /calls.csv` and `GET /calls.ndjson`: the calls of a view (the same filters as the
//! calls page), streamed as they are read. The export walks the result with `search_after`
//! a page at a time, so it has no cap beyond the store's and holds one page in memory.

use super::search::CallFilters;
use super::{PageError, PageQuery, Viewer};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use callscope_model::{Call, Scope};
use serde_json::Value;

/// The columns of the CSV export, in order.
const CSV_COLUMNS: &[&str] = &[
    "id",
    "started_at",
    "ended_at",
    "agent_id",
    "agent_name",
    "campaign_id",
    "direction",
    "call_type",
    "from_number",
    "to_number",
    "status",
    "disconnection_reason",
    "duration_ms",
    "outcome",
    "sentiment",
    "cost_micro_usd",
    "summary",
];

/// Pages of the stream buffered ahead of a slow client.
const PAGES_AHEAD: usize = 2;

#[derive(Clone, Copy, Debug)]
enum Format {
    Csv,
    Ndjson,
}

/// `GET /calls.csv`.
pub(crate) async fn csv(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(filters): PageQuery<CallFilters>,
) -> Result<Response, PageError> {
    export(state, &viewer, filters, Format::Csv)
}

/// `GET /calls.ndjson`.
pub(crate) async fn ndjson(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(filters): PageQuery<CallFilters>,
) -> Result<Response, PageError> {
    export(state, &viewer, filters, Format::Ndjson)
}

fn export(
    state: AppState,
    viewer: &Viewer,
    mut filters: CallFilters,
    format: Format,
) -> Result<Response, PageError> {
    viewer.require(Scope::Read)?;
    filters.after.clear();
    let page_size = state.config.limits.max_page_size;
    // Parsed once here, so a bad view is refused before any byte is sent.
    let mut request = filters.page_request(page_size, &state.config.limits)?;
    request.search.highlight = None;
    request.search.track_total_hits = callscope_query::TrackTotalHits::UpTo(0);
    let organization = viewer.organization().to_owned();
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(PAGES_AHEAD);
    tokio::spawn(async move {
        if let Format::Csv = format {
            let header = csv_line(CSV_COLUMNS.iter().map(|c| (*c).to_owned()));
            if sender.send(Ok(Bytes::from(header))).await.is_err() {
                return;
            }
        }
        let mut search = request.search;
        loop {
            let result = match state.search(&organization, &search).await {
                Ok(result) => result,
                Err(error) => {
                    tracing::warn!(error = %error, "an export stopped: a page search failed");
                    // The body ends in an error, so the client sees a cut-off download, not a
                    // complete-looking short one.
                    let _ = sender
                        .send(Err(std::io::Error::other(error.to_string())))
                        .await;
                    return;
                }
            };
            let mut chunk = String::new();
            for call in &result.calls {
                match format {
                    Format::Csv => chunk.push_str(&csv_line(csv_row(call))),
                    Format::Ndjson => {
                        let line = serde_json::to_string(&crate::native::dto::CallView::new(call))
                            .unwrap_or_default();
                        chunk.push_str(&line);
                        chunk.push('\n');
                    }
                }
            }
            let next = result.calls.last().and_then(|call| {
                let values = result.positions.get(&call.id)?;
                Some((values.clone(), call.id.clone()))
            });
            if sender.send(Ok(Bytes::from(chunk))).await.is_err() {
                return; // The client went away.
            }
            // An empty page ends the walk (a short one may be short only because a call was
            // deleted between the index's answer and the read).
            let Some((values, id)) = next else {
                return;
            };
            match position(&search.sort, &values, id) {
                Some(after) => search.search_after = Some(after),
                None => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "calls.csv"),
        Format::Ndjson => ("application/x-ndjson", "calls.ndjson"),
    };
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The `search_after` position after a call: its sort values typed by the sort keys.
fn position(
    sort: &[callscope_query::SortKey],
    values: &[Value],
    id: String,
) -> Option<callscope_query::SearchAfter> {
    let typed = sort
        .iter()
        .zip(values)
        .map(|(key, value)| crate::native::dto::sort_value(key, value))
        .collect::<Option<Vec<_>>>()?;
    Some(callscope_query::SearchAfter { values: typed, id })
}

fn csv_row(call: &Call) -> impl Iterator<Item = String> {
    let analysis = call.analysis.as_ref();
    let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
    [
        call.id.clone(),
        call.started_at
            .map(|at| at.to_rfc3339())
            .unwrap_or_default(),
        call.ended_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
        text(call.agent.id.as_deref()),
        text(call.agent.name.as_deref()),
        text(call.campaign_id.as_deref()),
        text(call.direction.map(|d| d.as_str())),
        text(call.kind.map(|k| k.as_str())),
        text(call.from_number.as_deref()),
        text(call.to_number.as_deref()),
        call.status.as_str().to_owned(),
        text(call.disconnection_reason.map(|r| r.as_str())),
        call.duration_ms
            .map(|ms| ms.to_string())
            .unwrap_or_default(),
        text(analysis.and_then(|a| a.outcome.as_deref())),
        text(analysis.and_then(|a| a.sentiment).map(|s| s.as_str())),
        call.cost
            .as_ref()
            .and_then(|c| c.total_micro_usd)
            .map(|m| m.0.to_string())
            .unwrap_or_default(),
        text(analysis.and_then(|a| a.summary.as_deref())),
    ]
    .into_iter()
}

/// One CSV record (RFC 4180) ending in CRLF.
fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let mut line = fields
        .map(|field| csv_field(&field))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// A field quoted when it must be, and defused when a spreadsheet would run it as a
/// formula (a leading `=`, `@`, tab or carriage return, or a `+`/`-` not starting a number:
/// phone numbers like `+14155550100` stay as they are).
fn csv_field(field: &str) -> String {
    let formula = match field.as_bytes() {
        [b'=' | b'@' | b'\t' | b'\r', ..] => true,
        [b'+' | b'-', rest @ ..] => !rest.iter().all(u8::is_ascii_digit) || rest.is_empty(),
        _ => false,
    };
    let field = if formula {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("+14155550100"), "+14155550100");
        assert_eq!(csv_field("-5"), "-5");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("+cmd"), "'+cmd");
        assert_eq!(csv_field("-"), "'-");
    }

    #[test]
    fn a_line_ends_in_crlf() {
        assert_eq!(
            csv_line(["a".to_owned(), "b c".to_owned()].into_iter()),
            "a,b c\r\n"
        );
    }
}
