//! Bad input over real HTTP: each gets a 4xx `{"error", "code"}` that names the problem, and
//! the store is exactly as it was afterwards.

#![allow(clippy::unwrap_used)] // tests panic on purpose

mod common;

use common::{Server, create_key};
use serde_json::{Value, json};

/// A refused request: method, path, body, expected status and code, and words the message
/// must contain.
type Case = (
    &'static str,
    &'static str,
    String,
    u16,
    &'static str,
    Vec<&'static str>,
);

#[test]
fn bad_input_is_refused_by_name_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = create_key(&data, "org_a", "read,write");
    let server = Server::start(&data, &["--max-body-bytes", "65536"]);
    let client = server.client(&key);
    let existing = json!({"id": "c1", "status": "in_progress", "agent_id": "a1", "metadata": {"k": "v"},
        "transcript": [{"id": "t0", "role": "agent", "text": "Hello"}]});
    assert_eq!(client.post("/v1/calls", &existing).0, 201);
    let snapshot = |client: &common::Client| {
        (
            client.get("/v1/calls/c1").1,
            client.get("/v1/calls?limit=1000").1,
        )
    };
    let before = snapshot(&client);

    let oversize = format!("{{\"metadata\": {{\"pad\": \"{}\"}}}}", "x".repeat(70_000));
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/v1/calls",
            "{\"status\": ".into(),
            400,
            "INVALID_PARAMETER",
            vec!["malformed JSON"],
        ),
        (
            "POST",
            "/v1/calls",
            "[1, 2]".into(),
            400,
            "INVALID_PARAMETER",
            vec!["body"],
        ),
        (
            "POST",
            "/v1/calls",
            "".into(),
            400,
            "INVALID_PARAMETER",
            vec!["empty"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"duration_ms": "long"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["duration_ms"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"duration_ms": -5}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["duration_ms"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"agent": {"id": 7}}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["agent.id"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"status": "done"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["status", "done", "completed"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"kind": "fax"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["kind", "fax"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"started_at": "2024-13-45"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["started_at", "2024-13-45"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"created_at": "yesterday"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["created_at"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"started_at": "2024-01-02T00:00:00Z", "ended_at": "2024-01-01T00:00:00Z"})
                .to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["ended_at"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"transcript": [{"role": "caller", "text": "x"}]}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["transcript[0].role", "caller"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"colour": "red"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["colour"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"organization_id": "org_b"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["organization_id"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"id": "c1"}).to_string(),
            409,
            "CONFLICT",
            vec!["c1"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"id": "has space"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["id"],
        ),
        (
            "POST",
            "/v1/calls",
            json!({"cost": {"total_micro_usd": 1.25}}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["total_micro_usd"],
        ),
        (
            "POST",
            "/v1/calls",
            oversize.clone(),
            413,
            "PAYLOAD_TOO_LARGE",
            vec!["large"],
        ),
        (
            "PUT",
            "/v1/calls/c1",
            json!({"status": "finished"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["status"],
        ),
        (
            "PUT",
            "/v1/calls/c1",
            json!({"id": "c2"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["id"],
        ),
        (
            "PUT",
            "/v1/calls/c1",
            oversize,
            413,
            "PAYLOAD_TOO_LARGE",
            vec!["large"],
        ),
        (
            "PATCH",
            "/v1/calls/c1",
            json!({"direction": "sideways"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["direction"],
        ),
        (
            "PATCH",
            "/v1/calls/c1",
            json!({"metadata": "flat"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["metadata"],
        ),
        (
            "PATCH",
            "/v1/calls/c1",
            "[]".into(),
            400,
            "INVALID_PARAMETER",
            vec!["object"],
        ),
        (
            "POST",
            "/v1/calls/c1/transcript",
            json!({"entries": []}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["entries"],
        ),
        (
            "POST",
            "/v1/calls/c1/transcript",
            json!({"entries": [{"role": "user"}]}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["text"],
        ),
        (
            "POST",
            "/v1/calls/c1/transcript",
            json!({"entries": [{"role": "user", "text": "a", "start_ms": 10, "end_ms": 2}]})
                .to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["end_ms"],
        ),
        (
            "POST",
            "/v1/calls/c1/events",
            json!({"events": [{"event_type": "sip", "sip_status_code": 1000}]}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["sip_status_code"],
        ),
        (
            "POST",
            "/v1/calls/c1/events",
            json!({"events": [{"event_type": "x", "occurred_at": "later"}]}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["occurred_at"],
        ),
        (
            "POST",
            "/v1/calls/search",
            json!({"call_ids": "c1"}).to_string(),
            400,
            "INVALID_PARAMETER",
            vec!["call_ids"],
        ),
    ];
    for (method, path, body, status, code, words) in cases {
        let (got, answer) = client.send_raw(method, path, &body);
        let shown: String = body.chars().take(80).collect();
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{method} {path} {shown}: {answer}"
        );
        let message = answer["error"].as_str().unwrap_or_default();
        for word in words {
            assert!(
                message.contains(word),
                "{method} {path} {shown}: `{message}` should mention `{word}`"
            );
        }
    }
    for (query, parameter) in [
        ("from=soon", "from"),
        ("to=2024-02-30", "to"),
        ("status=bogus", "status"),
        ("limit=abc", "limit"),
        ("sort=colour", "sort"),
        ("cursor=nonsense", "cursor"),
        ("agentid=a1", "agentid"),
    ] {
        let (got, answer) = client.get(&format!("/v1/calls?{query}"));
        assert_eq!(
            (got, answer["code"].as_str()),
            (400, Some("INVALID_PARAMETER")),
            "{query}"
        );
        assert!(
            answer["error"].as_str().unwrap().contains(parameter),
            "{query}: {answer}"
        );
    }
    assert_eq!(
        snapshot(&client),
        before,
        "no refused request changed the store"
    );
    assert_eq!(before.1["total"], Value::from(1));
}
