//! PII redaction at ingest: with an organization's redaction on, phone numbers, e-mail
//! addresses, card numbers and a configured pattern written through every write path never
//! reach the data directory (database, WAL, index), the server's log, an API answer, an
//! export or a webhook body; ordinary numbers and Luhn-invalid digit runs stay as written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::receiver::Receiver;
use common::{Fixture, LOCAL_RECEIVERS};
use serde_json::json;
use std::time::{Duration, Instant};

/// What callers say, each as written and in the forms its bytes could take once stored or
/// tokenized (digits alone): none of them may be found anywhere.
const SECRETS: &[(&str, &[&str])] = &[
    (
        "(415) 555-2671",
        &["(415) 555-2671", "4155552671", "555-2671"],
    ),
    ("212-555-0147", &["212-555-0147", "2125550147", "555-0147"]),
    (
        "+44 20 7946 0958",
        &["+44 20 7946 0958", "442079460958", "7946 0958"],
    ),
    (
        "six five zero five five five one two three four",
        &["six five zero five five five", "6505551234"],
    ),
    (
        "jane.doe@example.com",
        &["jane.doe@example.com", "jane.doe"],
    ),
    (
        "bob_smith+calls@mail.example.org",
        &["bob_smith", "smith+calls"],
    ),
    (
        "4111 1111 1111 1111",
        &["4111 1111 1111 1111", "4111111111111111"],
    ),
    (
        "5555-5555-5555-4444",
        &["5555-5555-5555-4444", "5555555555554444"],
    ),
    ("378282246310005", &["378282246310005"]),
    ("MBR-204815", &["MBR-204815", "204815"]),
];

/// The call's own numbers, masked too because the setting says so.
const CALLER: &str = "+14155550123";
const CALLEE: &str = "+16505550199";

/// Said alongside, and kept as said.
const ORDINARY: &[&str] = &[
    "ORD-2024-118",
    "10:30",
    "4111 1111 1111 1112",
    "zebracanary",
];

/// One sentence with every secret in it, and the ordinary words.
fn sentence(lead: &str) -> String {
    let secrets: Vec<&str> = SECRETS.iter().map(|(said, _)| *said).collect();
    format!(
        "{lead}: {} and {}",
        secrets.join(", then "),
        ORDINARY.join(" ")
    )
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Fails naming the place where any secret, or a call number, is found.
fn assert_clean(place: &str, bytes: &[u8]) {
    for (said, forms) in SECRETS {
        for form in *forms {
            assert!(
                !contains(bytes, form),
                "{place} holds `{form}` (from `{said}`)"
            );
        }
    }
    for number in [CALLER, CALLEE, &CALLER[2..], &CALLEE[2..]] {
        assert!(
            !contains(bytes, number),
            "{place} holds the call number `{number}`"
        );
    }
}

#[test]
fn nothing_a_caller_says_of_their_numbers_or_addresses_is_kept_anywhere() {
    let mut args: Vec<&str> = LOCAL_RECEIVERS.to_vec();
    args.extend(["--otlp-idle-timeout-ms", "60000"]);
    let fixture = Fixture::with_args(&args);
    let client = fixture.client();

    // Refused settings change nothing.
    for (bad, words) in [
        (json!({"kinds": ["phone", "ssn"]}), vec!["redaction", "ssn"]),
        (
            json!({"patterns": [{"name": "bad name", "regex": "x"}]}),
            vec!["patterns[0].name"],
        ),
        (
            json!({"patterns": [{"name": "EMPTY", "regex": "a*"}]}),
            vec!["patterns[0].regex"],
        ),
        (
            json!({"patterns": [{"name": "LONG", "regex": "a".repeat(600)}]}),
            vec!["512"],
        ),
    ] {
        common::assert_invalid(
            client.patch("/v1/organization", &json!({"redaction": bad})),
            &words,
            "setting",
        );
    }
    assert_eq!(
        client.get("/v1/organization").1["redaction"]["kinds"],
        json!([])
    );
    let setting = json!({
        "kinds": ["phone", "email", "card"],
        "patterns": [{"name": "MEMBER", "regex": "MBR-[0-9]{6}"}],
        "mask_call_numbers": true,
    });
    let (status, org) = client.patch("/v1/organization", &json!({"redaction": setting}));
    assert_eq!((status, &org["redaction"]), (200, &setting), "{org}");

    let receiver = Receiver::start(vec![(200, String::new())]);
    let (status, hook) = client.post(
        "/v1/webhooks",
        &json!({"url": receiver.url, "events": ["call.started", "call.ended", "call.analyzed"]}),
    );
    assert_eq!(status, 201, "{hook}");

    // Create: transcript, metadata, flow parameters and payloads, the call's numbers.
    let (status, created) = client.post("/v1/calls", &json!({
        "id": "pii-1", "status": "in_progress", "agent_id": "agent_pii",
        "from_number": CALLER, "to_number": CALLEE, "started_at": "2026-11-20T10:00:00Z",
        "transcript": [{"role": "user", "text": sentence("create")}],
        "metadata": {"note": sentence("metadata"), "crm": {"contact": SECRETS[4].0}},
        "flow": {
            "collected_parameters": [{"name": "phone", "value": SECRETS[0].0, "value_text": SECRETS[0].0}],
            "path": [{"node_id": "n1", "type": "webhook", "request": {"payload": sentence("payload")}}]
        }
    }));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["from_number"], "[PHONE]");
    let said = created["transcript"]["entries"][0]["text"]
        .as_str()
        .unwrap();
    for kept in ORDINARY {
        assert!(said.contains(kept), "`{kept}` was masked: {said}");
    }
    for mask in ["[PHONE]", "[EMAIL]", "[CARD]", "[MEMBER]"] {
        assert!(said.contains(mask), "no {mask} in {said}");
    }
    // Live appends, events, a patch.
    let (status, body) = client.post(
        "/v1/calls/pii-1/transcript",
        &json!({"entries": [{"role": "user", "text": sentence("append")}]}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = client.post(
        "/v1/calls/pii-1/events",
        &json!({"events": [{
            "id": "ev-1", "provider": "vonage", "event_type": "call.dtmf", "status": "ok",
            "occurred_at": "2026-11-20T10:01:00Z", "payload": {"digits": sentence("event")}
        }]}),
    );
    assert!(status < 300, "{status} {body}");
    let (status, body) = client.patch(
        "/v1/calls/pii-1",
        &json!({"metadata": {"later": sentence("patch")}, "status": "completed",
                "ended_at": "2026-11-20T10:04:00Z"}),
    );
    assert_eq!(status, 200, "{body}");
    // A whole replacement.
    let (status, body) = client.put(
        "/v1/calls/pii-2",
        &json!({
            "status": "completed", "from_number": CALLER, "to_number": CALLEE,
            "transcript": [{"role": "user", "text": sentence("put")}],
            "analysis": {"summary": sentence("summary"), "structured_data": {"card": SECRETS[6].0}}
        }),
    );
    assert!(status < 300, "{status} {body}");
    // Imports, canonical and seed 004's.
    let line = json!({
        "id": "pii-3", "status": "completed", "created_at": "2026-11-01T09:00:00Z",
        "updated_at": "2026-11-01T09:03:00Z", "from_number": CALLER, "to_number": CALLEE,
        "transcript": [{"role": "user", "text": sentence("import")}],
        "events": [{"id": "e9", "provider": "x", "event_type": "note", "status": "ok",
                    "occurred_at": "2026-11-01T09:01:00Z", "created_at": "2026-11-01T09:01:00Z",
                    "payload": {"text": sentence("imported event")}}]
    });
    let seed004 = json!({
        "id": "pii-4", "status": "completed", "from_number": CALLER, "to_number": CALLEE,
        "duration": 60, "created_at": "2026-11-01T09:00:00Z",
        "transcript": format!("Caller: {}\n\nAgent: Thanks.", sentence("seed004")),
        "call_summary": sentence("seed004 summary"),
    });
    for (format, body) in [
        ("ndjson", line.to_string()),
        ("seed004", serde_json::to_string_pretty(&seed004).unwrap()),
    ] {
        let answer = client
            .try_exchange_bytes(
                "POST",
                &format!("/v1/calls/import?format={format}"),
                Some(body.into_bytes()),
            )
            .unwrap();
        assert_eq!(answer.body["rejected"], 0, "{format}: {}", answer.body);
    }
    // OpenTelemetry: a Pipecat turn whose transcription says it all.
    let trace = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let spans = vec![
        common::otlp::span(
            trace,
            1,
            None,
            "conversation",
            0,
            9_000,
            &json!({"conversation.id": "pii-otel", "conversation.type": "voice"}),
        ),
        common::otlp::span(
            trace,
            11,
            Some(10),
            "stt",
            100,
            1_800,
            &json!({"transcript": sentence("stt"), "is_final": true}),
        ),
        common::otlp::span(
            trace,
            12,
            Some(10),
            "llm",
            1_900,
            2_900,
            &json!({"output": sentence("llm")}),
        ),
        common::otlp::span(
            trace,
            10,
            Some(1),
            "turn",
            0,
            5_000,
            &json!({"turn.number": 1, "conversation.id": "pii-otel"}),
        ),
    ];
    let body = serde_json::to_vec(&common::otlp::export_json("bot", &spans)).unwrap();
    let (status, _, answer) = common::otlp::export(
        &common::otlp::exporter(),
        &fixture.server.base,
        &fixture.key,
        &body,
        "application/json",
        false,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));

    // Reports are written for the ended calls, and webhooks sent.
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in ["pii-1", "pii-3"] {
        while client.get(&format!("/v1/calls/{id}")).1["report"]["summary"].is_null() {
            assert!(Instant::now() < deadline, "{id}: no report");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let received = receiver.wait_until("the analyzed webhook", |got| {
        got.iter()
            .any(|r| r.header("callscope-event") == Some("call.analyzed"))
    });

    // Every answer of the API, the exports and the webhooks are clean.
    let mut answers: Vec<(String, Vec<u8>)> = Vec::new();
    for id in ["pii-1", "pii-2", "pii-3", "pii-4"] {
        for path in [
            format!("/v1/calls/{id}"),
            format!("/v1/calls/{id}/events"),
            format!("/insights/sessions/search/{id}"),
            format!("/v1/calls/{id}/report"),
        ] {
            let answer = client.exchange("GET", &path, None);
            assert_eq!(answer.status, 200, "{path}: {}", answer.body);
            answers.push((path, answer.raw));
        }
    }
    let (_, otel) = client.post(
        "/v1/calls/query?refresh=wait_for",
        &json!({"query": {"term": {"agent_id": "bot"}}}),
    );
    answers.push(("the OTLP call".into(), otel.to_string().into_bytes()));
    for path in [
        "/v1/calls?limit=100",
        "/v1/calls/export",
        "/v1/calls/export?format=csv",
        "/insights/sessions",
    ] {
        let answer = client.exchange("GET", path, None);
        assert_eq!(answer.status, 200, "{path}");
        answers.push((path.to_owned(), answer.raw));
    }
    let export = String::from_utf8(
        answers
            .iter()
            .find(|(p, _)| p == "/v1/calls/export")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert_eq!(export.lines().count(), 5, "every call exported: {export}");
    assert!(export.contains("zebracanary") && export.contains("4111 1111 1111 1112"));
    for received in &received {
        answers.push((
            format!(
                "webhook {}",
                received.header("callscope-event").unwrap_or("?")
            ),
            received.body.clone(),
        ));
    }
    for (place, bytes) in &answers {
        assert_clean(place, bytes);
    }
    // Search finds the masks, never the numbers.
    let (_, found) = client.post(
        "/v1/calls/query",
        &json!({"query": {"match": {"transcript.text": "4111111111111111"}}}),
    );
    assert_eq!(found["total"], 0, "{found}");

    // Then the disk and the log, once the server has stopped and checkpointed.
    let log = fixture.server.log();
    let data = fixture.data_dir();
    let Fixture { dir, server, .. } = fixture;
    assert!(server.terminate(), "a clean stop");
    assert_clean("the server log", log.as_bytes());
    let mut canary_in_database = false;
    let mut canary_in_index = false;
    for file in common::files_under(&data) {
        let bytes = std::fs::read(&file).unwrap();
        let name = file.strip_prefix(&data).unwrap().display().to_string();
        assert_clean(&name, &bytes);
        if contains(&bytes, "zebracanary") {
            canary_in_database |= name.starts_with("callscope.db");
            canary_in_index |= name.starts_with("index");
        }
    }
    // The scan can see what is written: the canary said beside the secrets is there.
    assert!(canary_in_database, "the scan never saw the database's text");
    assert!(canary_in_index, "the scan never saw the index's terms");
    drop(dir);
}
