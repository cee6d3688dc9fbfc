//! The native call resource over real HTTP: seed-002 and seed-004 examples survive a
//! create → get round trip, and create, upsert, patch, delete, live transcript and events
//! behave as documented.

#![allow(clippy::unwrap_used)] // tests panic on purpose

mod common;

use chrono::{DateTime, Utc};
use common::{Fixture, fixture};
use serde_json::{Value, json};

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn millis_between(from: &Value, to: &Value) -> i64 {
    (instant(to).unwrap() - instant(from).unwrap()).num_milliseconds()
}

/// Asserts that every leaf of `expected` is in `actual` at the same path: times compare as
/// instants, numbers as numbers; extra fields in `actual` are fine.
fn assert_contains(expected: &Value, actual: &Value, path: &str) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                let child = format!("{path}.{key}");
                let Some(found) = got.get(key) else {
                    panic!("{child} is missing")
                };
                assert_contains(value, found, &child);
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            assert_eq!(want.len(), got.len(), "{path}: length");
            for (index, (value, found)) in want.iter().zip(got).enumerate() {
                assert_contains(value, found, &format!("{path}[{index}]"));
            }
        }
        (Value::Number(want), Value::Number(got)) => {
            assert_eq!(want.as_f64(), got.as_f64(), "{path}");
        }
        (Value::String(_), Value::String(_)) if instant(expected).is_some() => {
            assert_eq!(
                instant(expected),
                instant(actual),
                "{path}: {expected} vs {actual}"
            );
        }
        _ => assert_eq!(expected, actual, "{path}"),
    }
}

#[test]
fn seed_004_get_call_fields_survive_a_round_trip() {
    let fixture_call = fixture("seed004_get_call.json");
    let f = Fixture::new();
    let client = f.client();
    // Seed 004's names mapped to the canonical write format (DESIGN §2, last column).
    let segments = fixture_call["transcript_segments"].as_array().unwrap();
    let transcript: Vec<Value> = segments
        .iter()
        .map(|segment| {
            let ms = |key: &str| (segment[key].as_f64().unwrap() * 1000.0).round() as u64;
            let role = if segment["speaker"] == "caller" { "user" } else { "agent" };
            json!({"role": role, "text": segment["text"], "start_ms": ms("start_time"), "end_ms": ms("end_time")})
        })
        .collect();
    let body = json!({
        "id": fixture_call["id"], "agent_id": fixture_call["agent_id"],
        "from_number": fixture_call["from_number"], "to_number": fixture_call["to_number"],
        "direction": fixture_call["direction"], "status": fixture_call["status"],
        "recording": {"status": "available", "mono": fixture_call["recording_url"]},
        "transcript": transcript,
        "analysis": {"sentiment": fixture_call["sentiment"], "summary": fixture_call["call_summary"]},
        "metadata": fixture_call["metadata"], "campaign_id": fixture_call["metadata"]["campaign"],
        "started_at": fixture_call["started_at"], "ended_at": fixture_call["ended_at"],
        "created_at": fixture_call["created_at"],
    });
    let (status, created) = client.post("/v1/calls", &body);
    assert_eq!(status, 201, "{created}");
    let id = fixture_call["id"].as_str().unwrap();
    let (status, call) = client.get(&format!("/v1/calls/{id}"));
    assert_eq!(status, 200);
    assert_eq!(created, call, "POST answers with the stored call");

    for same_name in [
        "id",
        "agent_id",
        "from_number",
        "to_number",
        "direction",
        "status",
        "recording_url",
        "sentiment",
        "metadata",
    ] {
        assert_eq!(call[same_name], fixture_call[same_name], "{same_name}");
    }
    for time in ["started_at", "ended_at", "created_at"] {
        assert_eq!(instant(&call[time]), instant(&fixture_call[time]), "{time}");
    }
    assert_eq!(call["duration_seconds"], fixture_call["duration"]);
    assert_eq!(call["transcript_text"], fixture_call["transcript"]);
    assert_eq!(call["summary"], fixture_call["call_summary"]);
    assert_eq!(call["campaign_id"], fixture_call["metadata"]["campaign"]);
    assert_eq!(call["kind"], "telephony_outbound");
    let entries = call["transcript"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), segments.len());
    for (entry, segment) in entries.iter().zip(segments) {
        let speaker = if entry["source"] == "user" {
            "caller"
        } else {
            "agent"
        };
        assert_eq!(speaker, segment["speaker"]);
        assert_eq!(entry["text"], segment["text"]);
        assert_eq!(
            entry["start_ms"].as_f64(),
            segment["start_time"].as_f64().map(|s| s * 1000.0)
        );
        assert_eq!(
            entry["end_ms"].as_f64(),
            segment["end_time"].as_f64().map(|s| s * 1000.0)
        );
        // Absolute times are the call's start plus the offset.
        assert_eq!(
            millis_between(&fixture_call["started_at"], &entry["started_at"]),
            entry["start_ms"].as_i64().unwrap()
        );
    }
}

/// Seed 002's call example (placeholders filled) as a canonical write body.
fn seed_002_write_body(example: &Value) -> Value {
    let started_at = &example["started_at"];
    let entries: Vec<Value> = example["transcript"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            json!({
                "id": entry["id"], "index": entry["index"], "role": entry["source"], "text": entry["text"],
                "start_ms": millis_between(started_at, &entry["started_at"]),
                "end_ms": millis_between(started_at, &entry["ended_at"]),
                "provider": entry["provider"], "model": entry["model"], "metadata": entry["metadata"],
            })
        })
        .collect();
    let report = &example["report"];
    let breakdown: Vec<Value> = report["cost_breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            let mut line = line.clone();
            let amount = line
                .as_object_mut()
                .unwrap()
                .remove("cost_micro_usd")
                .unwrap();
            line["micro_usd"] = amount;
            line
        })
        .collect();
    json!({
        "id": example["id"], "agent_id": example["agent_id"], "status": example["status"],
        "kind": example["kind"], "room_name": example["room_name"], "language": example["language"],
        "pipeline_config": example["pipeline_config"], "metadata": example["metadata"],
        "created_at": example["created_at"], "started_at": started_at, "ended_at": example["ended_at"],
        "duration_ms": (example["duration_seconds"].as_f64().unwrap() * 1000.0).round() as u64,
        "recording": {
            "status": example["recording_status"], "duration_ms": example["recording_duration_ms"],
            "mono": "https://recordings.example.com/call_7Hq2LkP9.wav",
        },
        "transcript": entries,
        "cost": {"total_micro_usd": report["cost_micro_usd"], "breakdown": breakdown},
        "analysis": {
            "status": report["analysis_status"], "summary": report["summary"],
            "outcome": report["outcome"], "structured_data": report["structured_data"],
            "scheduled_callback": report["scheduled_callback"],
            "webhook_status": report["post_call_webhook_status"],
            "created_at": report["created_at"], "updated_at": report["updated_at"],
        },
        "span_tree": example["span_tree"],
    })
}

#[test]
fn seed_002_call_fields_survive_a_round_trip() {
    let example = fixture("seed002_call_filled.json");
    let f = Fixture::new();
    let client = f.client();
    let (status, created) = client.post("/v1/calls", &seed_002_write_body(&example));
    assert_eq!(status, 201, "{created}");
    let (status, call) = client.get("/v1/calls/call_7Hq2LkP9");
    assert_eq!(status, 200);
    let mut expected = example;
    // `updated_at` is the server's: it is the time of the write, not the example's.
    expected.as_object_mut().unwrap().remove("updated_at");
    assert_contains(&expected, &call, "call");
    let updated = instant(&call["updated_at"]).unwrap();
    assert!(
        (Utc::now() - updated).num_seconds().abs() < 60,
        "updated_at is the write time"
    );
}

#[test]
fn create_refuses_a_taken_id_and_put_is_an_idempotent_upsert() {
    let f = Fixture::new();
    let client = f.client();
    let (status, first) = client.post("/v1/calls", &json!({"id": "c1", "status": "in_progress"}));
    assert_eq!(status, 201);
    let (status, conflict) = client.post("/v1/calls", &json!({"id": "c1", "status": "failed"}));
    assert_eq!((status, conflict["code"].as_str()), (409, Some("CONFLICT")));
    assert_eq!(
        client.get("/v1/calls/c1").1["status"],
        "in_progress",
        "a conflict changes nothing"
    );

    let body = json!({"agent_id": "a1", "status": "completed", "duration_ms": 61000});
    let (status, created) = client.put("/v1/calls/c2", &body);
    assert_eq!(status, 201, "{created}");
    let (status, replaced) = client.put("/v1/calls/c2", &body);
    assert_eq!(status, 200);
    assert_eq!(
        created["created_at"], replaced["created_at"],
        "created_at is kept on replace"
    );
    let strip = |mut call: Value| {
        call.as_object_mut().unwrap().remove("updated_at");
        call
    };
    assert_eq!(
        strip(created),
        strip(replaced),
        "the same body twice is the same call"
    );

    let (status, replaced) = client.put("/v1/calls/c1", &json!({"status": "completed"}));
    assert_eq!(status, 200);
    assert_eq!(replaced["created_at"], first["created_at"]);
    assert_eq!(replaced["status"], "completed");
}

#[test]
fn patch_merges_and_delete_removes() {
    let f = Fixture::new();
    let client = f.client();
    let body = json!({
        "id": "c1", "agent_id": "a1", "status": "in_progress",
        "metadata": {"crm": "x1", "region": "eu"},
        "transcript": [{"role": "agent", "text": "Hello"}]
    });
    assert_eq!(client.post("/v1/calls", &body).0, 201);
    let patch = json!({"status": "completed", "disconnection_reason": "user_hangup", "metadata": {"region": null, "tier": "gold"}});
    let (status, patched) = client.patch("/v1/calls/c1", &patch);
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["status"], "completed");
    assert_eq!(patched["disconnection_reason"], "user_hangup");
    assert_eq!(patched["metadata"], json!({"crm": "x1", "tier": "gold"}));
    assert_eq!(patched["agent_id"], "a1", "untouched fields stay");
    assert_eq!(patched["transcript"]["entries"][0]["text"], "Hello");

    let (status, missing) = client.patch("/v1/calls/nope", &patch);
    assert_eq!((status, missing["code"].as_str()), (404, Some("NOT_FOUND")));

    assert_eq!(client.delete("/v1/calls/c1").0, 204);
    assert_eq!(client.get("/v1/calls/c1").0, 404);
    assert_eq!(client.get("/v1/calls/c1/events").0, 404);
    assert_eq!(client.delete("/v1/calls/c1").0, 404);
    assert_eq!(client.get("/v1/calls").1["total"], 0);
}

#[test]
fn live_transcript_appends_continue_the_conversation_until_the_call_ends() {
    let f = Fixture::new();
    let client = f.client();
    let start = json!({"id": "live", "status": "in_progress", "started_at": "2026-03-01T09:00:00Z",
        "transcript": [{"id": "t0", "role": "agent", "text": "Hi, how can I help?", "start_ms": 0, "end_ms": 1500}]});
    assert_eq!(client.post("/v1/calls", &start).0, 201);

    let turn = json!({"entries": [
        {"id": "t1", "role": "user", "text": "My internet is down.", "start_ms": 2000, "end_ms": 3900},
        {"id": "t2", "role": "agent", "text": "Sorry to hear that.", "start_ms": 4200, "end_ms": 5600}
    ]});
    let (status, appended) = client.post("/v1/calls/live/transcript", &turn);
    assert_eq!(status, 200, "{appended}");
    let indexes: Vec<_> = appended["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [0, 1, 2]);
    assert_eq!(
        appended["entries"][1]["started_at"],
        "2026-03-01T09:00:02.000Z"
    );

    // A retried append (same entry ids) adds nothing.
    let (status, retried) = client.post("/v1/calls/live/transcript", &turn);
    assert_eq!(status, 200);
    assert_eq!(retried["entries"].as_array().unwrap().len(), 3);

    let (status, _) = client.post(
        "/v1/calls/live/transcript",
        &json!({"entries": [{"role": "user", "text": "Thanks"}]}),
    );
    assert_eq!(status, 200);
    let (_, call) = client.get("/v1/calls/live");
    let texts: Vec<_> = call["transcript"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        [
            "Hi, how can I help?",
            "My internet is down.",
            "Sorry to hear that.",
            "Thanks"
        ]
    );
    assert_eq!(call["transcript"]["entries"][3]["index"], 3);

    assert_eq!(
        client
            .patch("/v1/calls/live", &json!({"status": "completed"}))
            .0,
        200
    );
    let (status, closed) = client.post(
        "/v1/calls/live/transcript",
        &json!({"entries": [{"role": "user", "text": "late"}]}),
    );
    assert_eq!((status, closed["code"].as_str()), (409, Some("CONFLICT")));
    assert_eq!(
        client.get("/v1/calls/live").1["transcript"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let (status, missing) = client.post(
        "/v1/calls/ghost/transcript",
        &json!({"entries": [{"role": "user", "text": "x"}]}),
    );
    assert_eq!((status, missing["code"].as_str()), (404, Some("NOT_FOUND")));
}

#[test]
fn events_are_listed_in_the_order_they_happened() {
    let f = Fixture::new();
    let client = f.client();
    assert_eq!(client.post("/v1/calls", &json!({"id": "c1"})).0, 201);
    let events = json!({"events": [
        {"id": "e3", "provider": "twilio", "event_type": "sip.answered", "sip_status_code": 200, "sip_status": "OK", "occurred_at": "2026-03-01T09:00:07Z"},
        {"id": "e1", "provider": "twilio", "event_type": "call.initiated", "occurred_at": "2026-03-01T09:00:00Z", "payload": {"trunk": "tr_1"}},
        {"id": "e2", "provider": "twilio", "event_type": "sip.ringing", "sip_status_code": 180, "status": "ringing", "occurred_at": "2026-03-01T09:00:02Z"}
    ]});
    let (status, created) = client.post("/v1/calls/c1/events", &events);
    assert_eq!(status, 201, "{created}");
    // A retried post of an event adds nothing; the call may already be over.
    assert_eq!(
        client
            .patch("/v1/calls/c1", &json!({"status": "completed"}))
            .0,
        200
    );
    let late = json!({"events": [{"id": "e1", "event_type": "call.initiated"}, {"id": "e4", "event_type": "call.ended", "occurred_at": "2026-03-01T09:02:00Z"}]});
    assert_eq!(client.post("/v1/calls/c1/events", &late).0, 201);

    let (status, listed) = client.get("/v1/calls/c1/events");
    assert_eq!(status, 200);
    let listed = listed["events"].as_array().unwrap();
    let ids: Vec<_> = listed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["e1", "e2", "e3", "e4"]);
    assert_eq!(listed[0]["payload"], json!({"trunk": "tr_1"}));
    assert_eq!(listed[1]["sip_status_code"], 180);
    assert_eq!(listed[2]["sip_status"], "OK");
    assert_eq!(listed[0]["session_id"], "c1");
    assert_eq!(listed[0]["organization_id"], "org_a");
    assert_eq!(listed[0]["occurred_at"], "2026-03-01T09:00:00.000Z");

    let (status, missing) = client.post(
        "/v1/calls/ghost/events",
        &json!({"events": [{"event_type": "x"}]}),
    );
    assert_eq!((status, missing["code"].as_str()), (404, Some("NOT_FOUND")));
}
