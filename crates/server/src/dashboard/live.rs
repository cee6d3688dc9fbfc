//! `GET /live`: the calls in progress, whose transcripts grow as the runtime appends to them.
//!
//! The page holds the calls as they are now; `GET /live/stream` (Server-Sent Events) sends
//! the same fragment again whenever it changes, checked every second. A fragment is the
//! page's own rendering, so what streams is exactly what a reload would show. The stream
//! checks the session on every tick and ends when it expires, is signed out or its key is
//! revoked, and when the server shuts down.

use super::layout::{self, Section};
use super::{PageError, Viewer};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use callscope_model::{Call, Scope};
use maud::{Markup, html};
use serde_json::json;
use std::time::Duration;

/// Calls shown at once.
const LIVE_CALLS: u32 = 20;
/// How often a stream looks for changes.
const TICK: Duration = Duration::from_secs(1);

/// The live page: the calls in progress, with transcripts that grow as they happen.
///
/// The page shows the newest 20 calls in progress and follows `/live/stream` for changes.
/// Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/live",
    tag = "dashboard",
    operation_id = "dashboard_live",
    security(("session" = [])),
    responses(
        (status = 200, description = "The live page", content_type = "text/html", body = String),
        (status = 403, description = "The session's key lacks the `read` scope", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    viewer.require(Scope::Read)?;
    let fragment = live_calls(&state, viewer.organization()).await?;
    let body = html! {
        h1 { "Live calls" }
        p .hint #live-status aria-live="polite" { "Calls in progress, updated as they happen." }
        div #live data-stream="/live/stream" { (fragment) }
    };
    Ok(layout::page(&viewer, Section::Live, "Live calls", &body))
}

/// The calls in progress of an organization, newest first, with their transcripts.
async fn live_calls(state: &AppState, organization: &str) -> Result<Markup, ApiError> {
    let body = json!({
        "query": {"bool": {"filter": [{"term": {"status": "in_progress"}}]}},
        "sort": [{"started_at": "desc"}],
        "size": LIVE_CALLS,
        "track_total_hits": true,
    });
    let request = super::search::parse(body, &state.config.limits)?;
    let result = state.search(organization, &request.search).await?;
    Ok(html! {
        p #live-count { (result.total) " in progress" }
        @if result.calls.is_empty() {
            p .hint { "No call is in progress right now." }
        }
        @for call in &result.calls { (card(call)) }
    })
}

fn card(call: &Call) -> Markup {
    let agent = layout::agent_label(&call.agent);
    html! {
        article .live-call data-call=(call.id) aria-labelledby={ "live-" (call.id) } {
            h2 #{ "live-" (call.id) } {
                a href={ "/calls/" (layout::encode_component(&call.id)) } { (agent) }
                span .hint { " · " (call.from_number.as_deref().unwrap_or("—")) " → " (call.to_number.as_deref().unwrap_or("—")) }
                @if let Some(started) = call.started_at { span .hint { " · since " (layout::time(started)) } }
            }
            ol .transcript {
                @for entry in &call.transcript {
                    li class={ "turn role-" (entry.role.as_str()) } {
                        div .turn-meta { span .role { (entry.role.as_str()) }
                            @if let Some(start) = entry.start_ms { span { (layout::clock(start)) } } }
                        p { (entry.text) }
                    }
                }
            }
        }
    }
}

/// The calls in progress as Server-Sent Events, sent again whenever they change.
///
/// Each `calls` event's data is the HTML fragment of the live page's list, exactly what a
/// reload would show; changes are looked for every second. The stream ends when the session
/// ends (expired, signed out, its key revoked) and when the server shuts down. Needs the
/// `read` scope.
#[utoipa::path(
    get,
    path = "/live/stream",
    tag = "dashboard",
    operation_id = "dashboard_live_stream",
    security(("session" = [])),
    responses(
        (status = 200, description = "The stream of `calls` events", content_type = "text/event-stream", body = String),
        (status = 403, description = "The session's key lacks the `read` scope", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn stream(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    viewer.require(Scope::Read)?;
    let organization = viewer.organization().to_owned();
    let token = viewer.token().to_owned();
    let closing = state.closing.subscribe();
    let start = (state, organization, token, closing, String::new());
    let events = futures_util::stream::unfold(
        start,
        |(state, organization, token, mut closing, mut last)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                // A session that ended ends its stream.
                match state.store.session(&token).await {
                    Ok(Some(_)) => {}
                    _ => return None,
                }
                let fragment = match live_calls(&state, &organization).await {
                    Ok(fragment) => fragment.into_string(),
                    // A moment of overload skips a tick rather than ending the page.
                    Err(_) => last.clone(),
                };
                if fragment != last {
                    last.clone_from(&fragment);
                    let event = Event::default().event("calls").data(fragment);
                    return Some((
                        Ok::<_, std::convert::Infallible>(event),
                        (state, organization, token, closing, last),
                    ));
                }
                tokio::select! {
                    () = tokio::time::sleep(TICK) => {}
                    _ = closing.changed() => return None,
                }
            }
        },
    );
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
