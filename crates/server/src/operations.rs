//! Liveness and readiness (DESIGN §7). `/healthz` says the process answers HTTP; `/readyz`
//! says it can do its work: the store's writer takes a job, the index follower runs and
//! trails the store by less than a bound, and the data directory takes a write. A load
//! balancer stops sending requests while `/readyz` answers 503; each failing check names
//! itself, so an operator knows where to look.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Longest the readiness check waits for the store's writer.
const WRITER_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`.
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: 200 with every check `ok`, or 503 with the failing ones named.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let mut checks = Map::new();
    let mut failing = Vec::new();
    let mut check = |name: &str, outcome: Result<(), String>| {
        let value = match outcome {
            Ok(()) => "ok".to_owned(),
            Err(why) => {
                failing.push(format!("{name}: {why}"));
                why
            }
        };
        checks.insert(name.to_owned(), Value::String(value));
    };
    match tokio::time::timeout(WRITER_TIMEOUT, state.store.status()).await {
        Err(_) => check(
            "writer",
            Err(format!(
                "the store's writer did not take a job within {} s",
                WRITER_TIMEOUT.as_secs()
            )),
        ),
        Ok(Err(error)) => {
            tracing::error!(%error, "readiness: the store cannot report its status");
            check("writer", Err("the store cannot take a job".into()));
        }
        Ok(Ok(status)) => {
            check("writer", Ok(()));
            let bound = state.config.ready_max_index_lag;
            let index = match status.index {
                None => Ok(()),
                Some(index) if !index.follower_running => Err(
                    "the index follower has stopped; searches no longer follow writes".to_owned(),
                ),
                Some(index) if index.lag_seconds > bound.as_secs_f64() => Err(format!(
                    "the index trails the store by {} changes, the oldest {:.1} s old \
                     (bound {} s)",
                    index.lag_changes,
                    index.lag_seconds,
                    bound.as_secs_f64()
                )),
                Some(_) => Ok(()),
            };
            check("index", index);
            check("disk", status.disk);
        }
    }
    if failing.is_empty() {
        return Json(json!({"status": "ready", "checks": checks})).into_response();
    }
    let body = json!({
        "error": format!("not ready: {}", failing.join("; ")),
        "code": "NOT_READY",
        "checks": checks,
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
