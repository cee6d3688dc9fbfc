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
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Longest the readiness check waits for the store's writer.
const WRITER_TIMEOUT: Duration = Duration::from_secs(2);

/// The answer of `/healthz`.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// `/readyz`: `checks` holds `ok` or why not, by check (`writer`, `index`, `disk`).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Readiness {
    /// `ready`.
    status: &'static str,
    checks: BTreeMap<String, String>,
}

/// `/readyz` when a check fails: the error body with the checks.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct NotReady {
    /// Each failing check with why.
    error: String,
    /// `NOT_READY`.
    code: &'static str,
    checks: BTreeMap<String, String>,
}

/// Liveness: the process answers HTTP.
///
/// No key needed, and never shed by the server's bounds.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The process answers", body = Health)),
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: whether the server can do its work.
///
/// 200 with every check `ok` (the store's writer takes a job, the index trails the store by
/// less than its bound, the data directory takes a write), or 503 with the failing ones
/// named. No key needed, and never shed by the server's bounds.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Every check passes", body = Readiness),
        (status = 503, description = "A check fails; `Retry-After: 5`", body = NotReady),
    ),
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let mut checks = BTreeMap::new();
    let mut failing = Vec::new();
    let mut check = |name: &str, outcome: Result<(), String>| {
        let value = match outcome {
            Ok(()) => "ok".to_owned(),
            Err(why) => {
                failing.push(format!("{name}: {why}"));
                why
            }
        };
        checks.insert(name.to_owned(), value);
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
        return Json(Readiness {
            status: "ready",
            checks,
        })
        .into_response();
    }
    let body = NotReady {
        error: format!("not ready: {}", failing.join("; ")),
        code: "NOT_READY",
        checks,
    };
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}
