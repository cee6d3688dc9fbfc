//! The call lifecycle over HTTP: post-call reports, signed webhooks with retries that survive
//! a restart, live transfers through their state machine, and the LLM analyzer against a
//! server speaking the chat/completions wire format.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::receiver::{Received, Receiver, tls_file};
use common::{Fixture, LOCAL_RECEIVERS, Server, assert_invalid, call_ids};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant};

/// Fast retries, so a test sees several within a second.
const FAST_RETRIES: &[&str] = &["--webhook-retry-base-ms", "200"];

/// A server whose webhooks may reach this machine's receivers, with `extra` arguments.
fn receiving(extra: &[&str]) -> Fixture {
    let args: Vec<&str> = LOCAL_RECEIVERS.iter().chain(extra).copied().collect();
    Fixture::with_args(&args)
}

fn hex_hmac(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks `Callscope-Signature` as a receiver would: a fresh timestamp and a `v1` that is
/// the HMAC-SHA256 of `"t.body"` under `secret`.
fn signed_with(request: &Received, secret: &str) -> bool {
    let header = request.header("callscope-signature").expect("a signature");
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = Some(t.to_owned()),
            Some(("v1", v)) => signatures.push(v.to_owned()),
            _ => panic!("unexpected signature part {part}"),
        }
    }
    let timestamp = timestamp.expect("t=");
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "signature timestamp {age} s old");
    let mut message = timestamp.into_bytes();
    message.push(b'.');
    message.extend_from_slice(&request.body);
    let expected = hex_hmac(secret, &message);
    signatures.contains(&expected)
}

fn create_endpoint(fixture: &Fixture, url: &str, events: &[&str]) -> (String, String) {
    let (status, endpoint) = fixture
        .client()
        .post("/v1/webhooks", &json!({"url": url, "events": events}));
    assert_eq!(status, 201, "{endpoint}");
    (
        endpoint["id"].as_str().unwrap().to_owned(),
        endpoint["secret"].as_str().unwrap().to_owned(),
    )
}

/// A call in progress with a short conversation.
fn call_body(id: &str) -> Value {
    json!({
        "id": id,
        "agent_id": "agent_support",
        "from_number": "+15551230000",
        "to_number": "+15559870000",
        "kind": "telephony_inbound",
        "status": "in_progress",
        "started_at": "2026-11-20T10:00:00Z",
        "transcript": [
            {"role": "agent", "text": "Thanks for calling Acme support, how can I help?"},
            {"role": "user", "text": "My router keeps dropping the connection every evening."},
            {"role": "agent", "text": "I reset your line and the connection is stable now."},
            {"role": "user", "text": "Great, that fixed it. Thank you so much!"}
        ]
    })
}

fn end_call(fixture: &Fixture, id: &str) {
    let (status, body) = fixture.client().patch(
        &format!("/v1/calls/{id}"),
        &json!({"status": "completed", "ended_at": "2026-11-20T10:04:00Z",
                "disconnection_reason": "user_hangup"}),
    );
    assert_eq!(status, 200, "{body}");
}

fn events_of(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `path` until `done` holds for its body, up to 20 seconds.
fn poll(fixture: &Fixture, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = fixture.client().get(path);
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "timed out polling {path}: {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_call_ending_writes_a_report_and_sends_signed_webhooks() {
    let fixture = receiving(FAST_RETRIES);
    let receiver = Receiver::start(vec![(200, String::new())]);
    let (_, secret) = create_endpoint(
        &fixture,
        &format!("{}/hooks", receiver.url),
        &["call.started", "call.ended", "call.analyzed"],
    );
    let (status, _) = fixture.client().post("/v1/calls", &call_body("call-1"));
    assert_eq!(status, 201);
    // Before the call ends there is no report.
    let (_, report) = fixture.client().get("/v1/calls/call-1/report");
    assert_eq!(report["analysis_status"], Value::Null);
    end_call(&fixture, "call-1");

    let received = receiver.wait_until("three events", |r| r.len() >= 3);
    let mut events = events_of(&received);
    events.sort();
    assert_eq!(events, ["call.analyzed", "call.ended", "call.started"]);
    for request in &received {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/hooks")
        );
        assert!(
            signed_with(request, &secret),
            "bad signature on {:?}",
            request.headers
        );
        assert!(!signed_with(request, "whsec_someone_else"));
        let body = request.json();
        assert_eq!(request.header("callscope-event"), body["type"].as_str());
        assert_eq!(body["organization_id"], "org_a");
        assert_eq!(body["data"]["id"], "call-1");
    }
    let analyzed = received
        .iter()
        .map(Received::json)
        .find(|body| body["type"] == "call.analyzed")
        .unwrap();
    assert_eq!(analyzed["data"]["report"]["analysis_status"], "heuristic");
    assert_eq!(analyzed["data"]["report"]["outcome"], "resolved");

    let report = poll(&fixture, "/v1/calls/call-1/report", |r| {
        r["post_call_webhook_status"] == "delivered"
    });
    assert_eq!(report["session_id"], "call-1");
    assert_eq!(report["organization_id"], "org_a");
    assert_eq!(report["analysis_status"], "heuristic");
    assert_eq!(report["outcome"], "resolved");
    let summary = report["summary"].as_str().unwrap();
    assert!(summary.contains("+15551230000"), "{summary}");
    assert!(summary.contains("router"), "{summary}");
    assert_eq!(report["transcript"]["entries"].as_array().unwrap().len(), 4);
    let (_, call) = fixture.client().get("/v1/calls/call-1");
    assert_eq!(call["sentiment"], "positive");

    // Re-running the report on demand answers seed 002's shape and queues another event.
    let (status, answer) = fixture.client().post("/v1/calls/call-1/report", &json!({}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["session_id"], "call-1");
    assert_eq!(answer["outcome"], "resolved");
    assert_eq!(answer["webhook"]["status"], "pending");
    receiver.wait_until("a second call.analyzed", |r| r.len() >= 4);
}

#[test]
fn retries_reach_a_failing_receiver_and_a_restart_loses_nothing() {
    let fixture = receiving(&["--webhook-retry-base-ms", "400"]);
    let failure = (500, r#"{"error":"down for maintenance"}"#.to_owned());
    let receiver = Receiver::start(vec![
        failure.clone(),
        failure.clone(),
        failure,
        (200, String::new()),
    ]);
    let (endpoint, secret) = create_endpoint(&fixture, &receiver.url, &["call.analyzed"]);
    fixture.client().post("/v1/calls", &call_body("call-r"));
    end_call(&fixture, "call-r");
    receiver.wait_until("two failed attempts", |r| r.len() >= 2);
    let report = fixture.client().get("/v1/calls/call-r/report").1;
    assert_eq!(report["post_call_webhook_status"], "pending");

    // Kill the server between retries; the next process picks the delivery up.
    let data = fixture.data_dir();
    let Fixture { dir, server, key } = fixture;
    server.kill();
    let server = Server::start(
        &data,
        &[
            "--durability",
            "normal",
            "--webhook-retry-base-ms",
            "400",
            LOCAL_RECEIVERS[0],
            LOCAL_RECEIVERS[1],
        ],
    );
    let fixture = Fixture { dir, server, key };

    let received = receiver.wait_until("a delivered attempt", |r| r.len() >= 4);
    let event_ids: Vec<Value> = received.iter().map(|r| r.json()["id"].clone()).collect();
    assert!(
        event_ids.iter().all(|id| *id == event_ids[0]),
        "{event_ids:?}"
    );
    assert!(received.iter().all(|r| signed_with(r, &secret)));

    let report = poll(&fixture, "/v1/calls/call-r/report", |r| {
        r["post_call_webhook_status"] == "delivered"
    });
    assert_eq!(report["post_call_webhook_status"], "delivered");
    let (_, deliveries) = fixture
        .client()
        .get(&format!("/v1/webhooks/{endpoint}/deliveries"));
    let deliveries = deliveries["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery["status"], "delivered");
    let log = delivery["log"].as_array().unwrap();
    let codes: Vec<u64> = log
        .iter()
        .map(|a| a["status_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [500, 500, 500, 200]);
    assert_eq!(delivery["attempts"], 4);
    assert!(log[0]["error"].as_str().unwrap().contains("maintenance"));
    // Back-off: each retry waited longer than the one before (within jitter).
    let at = |i: usize| {
        chrono::DateTime::parse_from_rfc3339(log[i]["at"].as_str().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    assert!(at(1) - at(0) >= 300, "{log:?}");

    // A redelivery sends the same event again, as a new delivery.
    let delivery_id = delivery["id"].as_str().unwrap();
    let (status, again) = fixture.client().post(
        &format!("/v1/webhooks/{endpoint}/deliveries/{delivery_id}/redeliver"),
        &json!({}),
    );
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["redelivery_of"], delivery_id);
    let received = receiver.wait_until("the redelivery", |r| r.len() >= 5);
    assert_eq!(received[4].json()["id"], event_ids[0]);
}

#[test]
fn a_slow_receiver_does_not_hold_up_deliveries_to_the_others() {
    let fixture = receiving(&["--webhook-timeout-ms", "60000"]);
    let (slow, release) = Receiver::start_held(vec![(200, String::new())]);
    let fast = Receiver::start(vec![(200, String::new())]);
    create_endpoint(&fixture, &slow.url, &["call.started"]);
    create_endpoint(&fixture, &fast.url, &["call.started"]);
    fixture.client().post("/v1/calls", &call_body("call-a"));
    slow.wait_until("the first event, unanswered", |r| r.len() == 1);

    // While the slow receiver sits on its first request, later events reach the fast one.
    fixture.client().post("/v1/calls", &call_body("call-b"));
    fixture.client().post("/v1/calls", &call_body("call-c"));
    let received = fast.wait_until("three events", |r| r.len() >= 3);
    let mut calls: Vec<String> = received
        .iter()
        .map(|r| r.json()["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    calls.sort();
    assert_eq!(calls, ["call-a", "call-b", "call-c"]);
    assert_eq!(slow.received().len(), 1, "the slow receiver is still held");

    release.release();
    slow.wait_until("the other two, once it answers", |r| r.len() >= 3);
}

#[test]
fn https_receivers_are_verified_against_the_trusted_authorities() {
    // Trusted through `--tls-ca-file`: delivered over TLS, signed.
    let ca = tls_file("ca.pem");
    let fixture = receiving(&[
        "--webhook-retry-base-ms",
        "200",
        "--tls-ca-file",
        ca.to_str().unwrap(),
    ]);
    let receiver = Receiver::start_tls(vec![(200, String::new())]);
    assert!(receiver.url.starts_with("https://localhost:"));
    let (_, secret) = create_endpoint(&fixture, &receiver.url, &["call.started"]);
    fixture.client().post("/v1/calls", &call_body("call-tls"));
    let received = receiver.wait_until("call.started over HTTPS", |r| !r.is_empty());
    assert_eq!(events_of(&received), ["call.started"]);
    assert!(signed_with(&received[0], &secret));

    // With the bundled public roots the test authority is unknown: the handshake fails, the
    // receiver records nothing, and the delivery log says why.
    let fixture = receiving(&[
        "--webhook-retry-base-ms",
        "200",
        "--webhook-max-attempts",
        "2",
    ]);
    let untrusted = Receiver::start_tls(vec![(200, String::new())]);
    let (endpoint, _) = create_endpoint(&fixture, &untrusted.url, &["call.started"]);
    fixture
        .client()
        .post("/v1/calls", &call_body("call-untrusted"));
    let deliveries = poll(
        &fixture,
        &format!("/v1/webhooks/{endpoint}/deliveries"),
        |d| d["deliveries"][0]["status"] == "failed",
    );
    let log = deliveries["deliveries"][0]["log"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    let error = log[0]["error"].as_str().unwrap();
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(untrusted.received().is_empty());
}

#[test]
fn a_file_without_certificates_stops_the_server_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let key = tls_file("localhost-key.pem");
    let stderr = common::serve_refusal(
        &dir.path().join("data"),
        &["--tls-ca-file".as_ref(), key.as_os_str()],
    );
    assert!(stderr.contains("localhost-key.pem"), "{stderr}");
    assert!(stderr.contains("no PEM certificate"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing was created before the certificates were read"
    );
}

#[test]
fn a_rotated_secret_signs_beside_the_new_one_during_its_grace() {
    let fixture = receiving(FAST_RETRIES);
    let receiver = Receiver::start(vec![(200, String::new())]);
    let (endpoint, old) = create_endpoint(&fixture, &receiver.url, &["call.started"]);
    let (status, rotated) = fixture.client().post(
        &format!("/v1/webhooks/{endpoint}/rotate-secret?grace_seconds=600"),
        &json!({}),
    );
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap();
    assert_ne!(new, old);
    fixture.client().post("/v1/calls", &call_body("call-s"));
    let received = receiver.wait_until("call.started", |r| !r.is_empty());
    assert!(signed_with(&received[0], new));
    assert!(signed_with(&received[0], &old));

    // Without grace, only the new secret signs.
    let (_, rotated) = fixture.client().post(
        &format!("/v1/webhooks/{endpoint}/rotate-secret?grace_seconds=0"),
        &json!({}),
    );
    let newest = rotated["secret"].as_str().unwrap();
    fixture.client().post("/v1/calls", &call_body("call-t"));
    let received = receiver.wait_until("a second call.started", |r| r.len() >= 2);
    assert!(signed_with(&received[1], newest));
    assert!(!signed_with(&received[1], new));
    // The listing never shows a secret.
    let (_, list) = fixture.client().get("/v1/webhooks");
    assert!(list["webhooks"][0].get("secret").is_none());
}

#[test]
fn webhook_endpoints_refuse_bad_input_and_need_admin() {
    let fixture = receiving(&[]);
    let client = fixture.client();
    assert_invalid(
        client.post(
            "/v1/webhooks",
            &json!({"url": "ftp://x", "events": ["call.ended"]}),
        ),
        &["url", "http"],
        "a non-HTTP URL",
    );
    assert_invalid(
        client.post(
            "/v1/webhooks",
            &json!({"url": "http://h/x", "events": ["call.done"]}),
        ),
        &["call.done", "call.analyzed"],
        "an unknown event",
    );
    assert_invalid(
        client.post("/v1/webhooks", &json!({"url": "http://h/x", "events": []})),
        &["events"],
        "no events",
    );
    assert_invalid(
        client.post(
            "/v1/webhooks/nope/rotate-secret?grace_seconds=-1",
            &json!({}),
        ),
        &["grace_seconds"],
        "a negative grace",
    );
    let (_, list) = client.get("/v1/webhooks");
    assert_eq!(list["webhooks"], json!([]), "nothing was created");
    let reader = common::create_key(&fixture.data_dir(), "org_a", "read,write");
    let (status, body) = fixture.server.client(&reader).post(
        "/v1/webhooks",
        &json!({"url": "http://h/x", "events": ["call.ended"]}),
    );
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
}

fn transfer_status(fixture: &Fixture, call: &str, transfer: &str, body: &Value) -> (u16, Value) {
    fixture.client().post(
        &format!("/v1/calls/{call}/transfers/{transfer}/status"),
        body,
    )
}

#[test]
fn a_blind_transfer_moves_through_its_targets_until_one_answers() {
    let fixture = receiving(FAST_RETRIES);
    let runtime = Receiver::start(vec![(200, String::new())]);
    create_endpoint(&fixture, &runtime.url, &["transfer.updated"]);
    fixture.client().post("/v1/calls", &call_body("call-x"));
    let (status, first) = fixture.client().post(
        "/v1/calls/call-x/transfers",
        &json!({
            "kind": "blind",
            "targets": ["+15550000001", "+15550000002", "+15550000003"],
            "outbound_trunk_id": "trunk-1",
            "from_room_name": "room-x",
            "fallback": {"action": "scheduled_callback", "after_minutes": 30}
        }),
    );
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "requested");
    assert_eq!(first["transfer_to"], "+15550000001");
    assert_eq!(first["session_id"], "call-x");
    assert_eq!(first["routing_attempts"], json!([]));
    // The runtime holding the media is told to dial.
    let told = runtime.wait_until("transfer.updated", |r| !r.is_empty());
    assert_eq!(told[0].json()["data"]["transfer_to"], "+15550000001");

    let mut current = first["id"].as_str().unwrap().to_owned();
    for failing in ["+15550000001", "+15550000002"] {
        for status in ["dialing", "ringing"] {
            let (code, body) =
                transfer_status(&fixture, "call-x", &current, &json!({"status": status}));
            assert_eq!(code, 200, "{body}");
            assert_eq!(body["status"], status);
        }
        let (code, failed) = transfer_status(
            &fixture,
            "call-x",
            &current,
            &json!({"status": "failed", "failure_cause": "no_answer"}),
        );
        assert_eq!(code, 200, "{failed}");
        assert_eq!(failed["transfer_to"], failing);
        assert_eq!(failed["failure_cause"], "no_answer");
        assert!(failed["completed_at"].is_string());
        let next = &failed["next_transfer"];
        assert_eq!(next["status"], "requested");
        assert_ne!(next["id"], failed["id"]);
        current = next["id"].as_str().unwrap().to_owned();
    }
    for status in ["dialing", "ringing", "completed"] {
        let (code, body) =
            transfer_status(&fixture, "call-x", &current, &json!({"status": status}));
        assert_eq!(code, 200, "{body}");
    }
    let (_, last) = fixture
        .client()
        .get(&format!("/v1/calls/call-x/transfers/{current}"));
    assert_eq!(last["status"], "completed");
    assert_eq!(last["transfer_to"], "+15550000003");
    assert_eq!(last["next_transfer"], Value::Null);
    let attempts = last["routing_attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    let dialed: Vec<&str> = attempts
        .iter()
        .map(|a| a["transfer_to"].as_str().unwrap())
        .collect();
    assert_eq!(dialed, ["+15550000001", "+15550000002"]);
    assert!(attempts.iter().all(|a| a["status"] == "failed"));
    // The call detail lists every attempt; no fallback was needed.
    let (_, call) = fixture.client().get("/v1/calls/call-x");
    assert_eq!(call["transfers"].as_array().unwrap().len(), 3);
    assert_eq!(call["report"]["scheduled_callback"], Value::Null);
    // The call keeps what the chain came to, and search sees it.
    assert_eq!(
        call["transfer"],
        json!({"chain_id": first["id"], "status": "completed", "attempts": 3,
               "connected_to": "+15550000003"})
    );
    let search = json!({"query": {"bool": {"filter": [
        {"term": {"transfer.status": "completed"}},
        {"range": {"transfer.attempts": {"gte": 3}}}]}},
        "fields": ["id"]});
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, found) = fixture.client().post("/v1/calls/query", &search);
        if call_ids(&found, "calls") == ["call-x"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never found by its transfer: {found}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // It is the server's: a write body cannot set it.
    assert_invalid(
        fixture.client().patch(
            "/v1/calls/call-x",
            &json!({"transfer": {"chain_id": "x", "status": "failed", "attempts": 1}}),
        ),
        &["transfer", "set by the server"],
        "a written transfer summary",
    );
    // The runtime heard of every attempt that changed: 1 create + 3 steps each for 3
    // attempts + 2 next attempts.
    runtime.wait_until("every transfer.updated", |r| r.len() >= 12);
}

#[test]
fn an_illegal_transfer_step_is_a_conflict_and_changes_nothing() {
    let fixture = receiving(&[]);
    fixture.client().post("/v1/calls", &call_body("call-i"));
    let (_, transfer) = fixture.client().post(
        "/v1/calls/call-i/transfers",
        &json!({"kind": "blind", "transfer_to": "+15550000009"}),
    );
    let id = transfer["id"].as_str().unwrap();
    let path = format!("/v1/calls/call-i/transfers/{id}");
    let (_, before) = fixture.client().get(&path);
    // Skipping dialing and ringing, and consulting on a blind transfer, are refused.
    for status in ["completed", "consulting", "ringing"] {
        let (code, body) = transfer_status(&fixture, "call-i", id, &json!({"status": status}));
        assert_eq!(
            (code, body["code"].as_str()),
            (409, Some("CONFLICT")),
            "{body}"
        );
        assert!(
            body["error"].as_str().unwrap().contains("dialing"),
            "{body}"
        );
    }
    assert_eq!(fixture.client().get(&path).1, before);
    // A second live transfer on the same call is refused too.
    let (code, _) = fixture.client().post(
        "/v1/calls/call-i/transfers",
        &json!({"kind": "warm", "transfer_to": "+15550000010"}),
    );
    assert_eq!(code, 409);
    // Repeating the current status is harmless; an unknown one is a 400.
    let (code, same) = transfer_status(&fixture, "call-i", id, &json!({"status": "requested"}));
    assert_eq!(
        (code, same["updated_at"].clone()),
        (200, before["updated_at"].clone())
    );
    assert_invalid(
        transfer_status(&fixture, "call-i", id, &json!({"status": "teleported"})),
        &["status", "teleported", "dialing"],
        "an unknown status",
    );
    assert_invalid(
        fixture
            .client()
            .post("/v1/calls/call-i/transfers", &json!({"kind": "blind"})),
        &["transfer_to"],
        "no target",
    );
    // Cancel ends it; the attempt is over after that.
    let (code, canceled) = fixture.client().post(&format!("{path}/cancel"), &json!({}));
    assert_eq!((code, canceled["status"].as_str()), (200, Some("canceled")));
    let (code, _) = fixture
        .client()
        .post(&format!("{path}/complete"), &json!({}));
    assert_eq!(code, 409);
}

#[test]
fn when_every_target_fails_the_fallback_schedules_a_callback() {
    let fixture = receiving(&[]);
    fixture.client().post("/v1/calls", &call_body("call-f"));
    let (_, transfer) = fixture.client().post(
        "/v1/calls/call-f/transfers",
        &json!({"kind": "warm", "targets": ["+15550000001", "+15550000002"],
                "consultation_room_name": "consult-f",
                "summary": "Caller's router drops every evening",
                "fallback": {"action": "scheduled_callback", "after_minutes": 30}}),
    );
    let mut id = transfer["id"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let (code, failed) = transfer_status(
            &fixture,
            "call-f",
            &id,
            &json!({"status": "failed", "failure_cause": "busy"}),
        );
        assert_eq!(code, 200, "{failed}");
        if let Some(next) = failed["next_transfer"]["id"].as_str() {
            id = next.to_owned();
        } else {
            assert_eq!(failed["fallback"]["action"], "scheduled_callback");
            assert!(failed["fallback_applied_at"].is_string());
        }
    }
    let (_, report) = fixture.client().get("/v1/calls/call-f/report");
    let callback = &report["scheduled_callback"];
    assert_eq!(callback["reason"], "transfer_failed");
    assert_eq!(callback["after_minutes"], 30);
    assert_eq!(callback["transfer_id"], transfer["id"]);
    // A report written later keeps the callback.
    end_call(&fixture, "call-f");
    let report = poll(&fixture, "/v1/calls/call-f/report", |r| {
        r["analysis_status"] == "heuristic"
    });
    assert_eq!(report["scheduled_callback"]["reason"], "transfer_failed");
}

#[test]
fn the_llm_analyzer_is_asked_first_and_the_heuristic_one_stands_in_when_it_fails() {
    let answer = json!({
        "summary": "The caller's router dropped nightly; the agent reset the line.",
        "outcome": "resolved",
        "sentiment": "positive",
        "structured_data": {"issue": "router"}
    });
    let completion = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": answer.to_string()}}]
    });
    let llm = Receiver::start(vec![(200, completion.to_string()), (503, "busy".into())]);
    let base = format!("{}/v1", llm.url);
    let fixture = receiving(&["--llm-base-url", &base, "--llm-model", "test-model"]);
    fixture.client().post("/v1/calls", &call_body("call-l"));
    end_call(&fixture, "call-l");
    let report = poll(&fixture, "/v1/calls/call-l/report", |r| {
        r["analysis_status"] != Value::Null
    });
    assert_eq!(report["analysis_status"], "completed");
    assert_eq!(report["summary"], answer["summary"]);
    assert_eq!(report["structured_data"]["issue"], "router");
    let asked = &llm.received()[0];
    assert_eq!(asked.path, "/v1/chat/completions");
    assert_eq!(asked.json()["model"], "test-model");

    // The second ask gets a 503: the heuristic report stands, saying why.
    let (status, _) = fixture.client().post("/v1/calls/call-l/report", &json!({}));
    assert_eq!(status, 200);
    let (_, report) = fixture.client().get("/v1/calls/call-l/report");
    assert_eq!(report["analysis_status"], "heuristic");
    assert_eq!(report["outcome"], "resolved");
    let reason = report["analysis_fallback_reason"].as_str().unwrap();
    assert!(reason.contains("503"), "{reason}");
}

/// Overwrites an agent's stored analysis settings behind the server's back, as a damaged
/// database or an older release's row would leave them: the report of every call of that
/// agent fails for as long as the row stays so.
fn corrupt_agent_settings(fixture: &Fixture, agent: &str) {
    let connection = rusqlite::Connection::open(fixture.data_dir().join("callscope.db")).unwrap();
    connection.busy_timeout(Duration::from_secs(10)).unwrap();
    let changed = connection
        .execute(
            "UPDATE agent_settings SET doc = '{\"extractors\": \"not a list\"}' WHERE agent_id = ?1",
            [agent],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn calls_whose_report_always_fails_end_as_failed_without_holding_up_the_others() {
    let fixture = receiving(&[
        "--report-max-attempts",
        "3",
        "--report-retry-base-ms",
        "100",
    ]);
    let client = fixture.client();
    let (status, body) = client.put(
        "/v1/agents/agent_poison/analysis",
        &json!({"extractors": []}),
    );
    assert_eq!(status, 200, "{body}");
    corrupt_agent_settings(&fixture, "agent_poison");
    // More poisoned calls than the worker takes in one round, queued before the good ones.
    let poisoned: Vec<String> = (0..20).map(|n| format!("poison-{n:02}")).collect();
    for id in &poisoned {
        let mut call = call_body(id);
        call["agent_id"] = json!("agent_poison");
        client.post("/v1/calls", &call);
        end_call(&fixture, id);
    }
    for id in ["good-1", "good-2", "good-3"] {
        client.post("/v1/calls", &call_body(id));
        end_call(&fixture, id);
    }
    for id in ["good-1", "good-2", "good-3"] {
        let report = poll(&fixture, &format!("/v1/calls/{id}/report"), |r| {
            r["analysis_status"] == "heuristic"
        });
        assert!(report["summary"].as_str().is_some_and(|s| !s.is_empty()));
    }
    for id in &poisoned {
        let report = poll(&fixture, &format!("/v1/calls/{id}/report"), |r| {
            r["analysis_status"] == "failed"
        });
        let reason = report["analysis_failure_reason"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.contains("3 times") && reason.contains("agent_poison"),
            "{report}"
        );
        assert!(report["summary"].is_null(), "{report}");
    }
}

#[test]
fn a_redelivered_event_goes_out_once_even_while_its_original_waits_to_retry() {
    let fixture = receiving(&["--webhook-retry-base-ms", "1000"]);
    let receiver = Receiver::start(vec![(500, "down".into()), (200, String::new())]);
    let (endpoint, _) = create_endpoint(&fixture, &receiver.url, &["call.started"]);
    fixture.client().post("/v1/calls", &call_body("call-once"));
    receiver.wait_until("the failed first attempt", |r| r.len() == 1);
    let (_, listed) = fixture
        .client()
        .get(&format!("/v1/webhooks/{endpoint}/deliveries"));
    let original = listed["deliveries"][0]["id"].as_str().unwrap().to_owned();
    let (status, again) = fixture.client().post(
        &format!("/v1/webhooks/{endpoint}/deliveries/{original}/redeliver"),
        &json!({}),
    );
    assert_eq!(status, 202, "{again}");
    receiver.wait_until("the redelivery", |r| r.len() == 2);
    // Past the original's retry time (1 s, +20 % jitter at most): nothing more arrives.
    std::thread::sleep(Duration::from_millis(2000));
    let received = receiver.received();
    assert_eq!(received.len(), 2, "the event went out again");
    assert_eq!(received[0].json()["id"], received[1].json()["id"]);
}
