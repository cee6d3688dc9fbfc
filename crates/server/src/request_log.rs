//! The request log: one line per request with what an operator needs (method, route
//! template, status, latency, organization, key id) and nothing a caller sent. Query strings
//! carry `filter_by` values, `q=` words and recording-link signatures, paths carry call ids,
//! bodies and headers carry transcripts and keys: none of them is logged (DESIGN §7).

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Route reported for a request no route matched (the 404 fallback).
const UNMATCHED: &str = "unmatched";

/// Who made the request, filled in by the `Caller` extractor once the key is known; the log
/// line is written after the handler, so it reads this slot then.
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestOwner(Arc<Mutex<Option<Owner>>>);

#[derive(Clone, Debug)]
struct Owner {
    organization: String,
    key_id: String,
}

impl RequestOwner {
    /// Records the authenticated key of the request.
    pub(crate) fn set(&self, organization: &str, key_id: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(Owner {
                organization: organization.to_owned(),
                key_id: key_id.to_owned(),
            });
        }
    }

    fn get(&self) -> Option<Owner> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }
}

/// What the log (and the metrics) know of a finished request.
#[derive(Debug)]
pub(crate) struct Finished<'a> {
    pub method: &'a str,
    /// The route template (`/v1/calls/{id}`), never the path itself.
    pub route: &'a str,
    pub status: u16,
    pub seconds: f64,
}

/// Middleware: times the request, and logs and counts it when the response is ready.
pub(crate) async fn log_request(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |path| path.as_str().to_owned());
    let owner = RequestOwner::default();
    request.extensions_mut().insert(owner.clone());
    let response = next.run(request).await;
    let finished = Finished {
        method: method.as_str(),
        route: &route,
        status: response.status().as_u16(),
        seconds: started.elapsed().as_secs_f64(),
    };
    state.metrics.observe(&finished);
    let owner = owner.get();
    tracing::info!(
        target: "callscope::request",
        method = finished.method,
        route = finished.route,
        status = finished.status,
        latency_ms = (finished.seconds * 1000.0).round() as u64,
        organization = owner.as_ref().map(|o| o.organization.as_str()),
        key_id = owner.as_ref().map(|o| o.key_id.as_str()),
        "request"
    );
    response
}
