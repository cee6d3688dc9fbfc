//! Router-level tests of the native surface: requests through `tower::ServiceExt::oneshot`
//! against a real embedded store in a temporary directory.

use crate::{AppState, ServerConfig, router};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use callscope_model::Scope;
use callscope_store::{Durability, EmbeddedStore, Store};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

struct Harness {
    app: axum::Router,
    key: String,
    _dir: tempfile::TempDir,
}

async fn harness(scopes: &[Scope]) -> Harness {
    let Ok(dir) = tempfile::tempdir() else {
        panic!("no temporary directory")
    };
    let Ok(store) = EmbeddedStore::open(dir.path(), Durability::Normal) else {
        panic!("open")
    };
    let Ok(key) = store.create_key("org_test", None, scopes).await else {
        panic!("key")
    };
    let state = AppState::new(
        Arc::new(store),
        ServerConfig {
            max_body_bytes: 64 * 1024,
            ..ServerConfig::default()
        },
    );
    Harness {
        app: router(state),
        key: key.secret,
        _dir: dir,
    }
}

impl Harness {
    async fn send(&self, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.key))
            .body(body.map_or_else(Body::empty, |text| Body::from(text.to_owned())));
        let Ok(request) = request else {
            panic!("request")
        };
        let Ok(response) = self.app.clone().oneshot(request).await;
        let status = response.status();
        let Ok(bytes) = axum::body::to_bytes(response.into_body(), usize::MAX).await else {
            panic!("body")
        };
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn create_then_get_renders_seed_002_and_004_fields() {
    let h = harness(&[Scope::Read, Scope::Write]).await;
    let body = json!({
        "id": "c1", "agent_id": "a1", "direction": "outbound", "status": "completed",
        "started_at": "2024-01-15T10:30:15Z", "ended_at": "2024-01-15T10:32:20Z",
        "transcript": [
            {"role": "agent", "text": "Hello", "start_ms": 500, "end_ms": 5200},
            {"role": "user", "text": "Hi", "start_ms": 5800, "end_ms": 8300}
        ],
        "cost": {"total_micro_usd": 12345}
    });
    let (status, created) = h.send("POST", "/v1/calls", Some(&body.to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, call) = h.send("GET", "/v1/calls/c1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(call["call_id"], "c1");
    assert_eq!(call["kind"], "telephony_outbound");
    assert_eq!(call["duration_seconds"], 125);
    assert_eq!(call["cost_micro_usd"], "12345");
    assert_eq!(call["report"]["cost_micro_usd"], "12345");
    assert_eq!(call["transcript"]["entries"][1]["source"], "user");
    assert_eq!(
        call["transcript"]["entries"][0]["started_at"],
        "2024-01-15T10:30:15.500Z"
    );
    assert_eq!(call["transcript_text"], "Agent: Hello\n\nCaller: Hi");
}

#[tokio::test]
async fn errors_have_the_error_and_code_shape() {
    let h = harness(&[Scope::Read, Scope::Write]).await;
    let cases = [
        (
            "POST",
            "/v1/calls",
            Some("{not json"),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
        ),
        (
            "POST",
            "/v1/calls",
            Some(""),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
        ),
        (
            "GET",
            "/v1/calls/nope",
            None,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            "GET",
            "/v1/calls?limit=0",
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
        ),
        (
            "GET",
            "/v1/calls?colour=red",
            None,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
        ),
        (
            "GET",
            "/v2/anything",
            None,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            "PATCH",
            "/v1/calls",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
        ),
    ];
    for (method, uri, body, status, code) in cases {
        let (got, answer) = h.send(method, uri, body).await;
        assert_eq!(got, status, "{method} {uri}: {answer}");
        assert_eq!(answer["code"], code, "{method} {uri}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let oversize = format!(
        "{{\"metadata\": {{\"pad\": \"{}\"}}}}",
        "x".repeat(70 * 1024)
    );
    let (got, answer) = h.send("POST", "/v1/calls", Some(&oversize)).await;
    assert_eq!(
        (got, answer["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("PAYLOAD_TOO_LARGE"))
    );
}

#[tokio::test]
async fn a_read_only_key_cannot_write() {
    let h = harness(&[Scope::Read]).await;
    let (status, answer) = h.send("POST", "/v1/calls", Some("{}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(answer["code"], "FORBIDDEN");
    let (status, list) = h.send("GET", "/v1/calls", None).await;
    assert_eq!((status, &list["total"]), (StatusCode::OK, &json!(0)));
}
