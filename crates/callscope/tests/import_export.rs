//! Calls in and out in bulk: `callscope export`/`import` on data directories and
//! `GET /v1/calls/export`/`POST /v1/calls/import` on the running server, checked against what
//! the rest of the API says of the same calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, Fixture, Server, create_key, csv_rows, run_cli};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// The CSV columns the README documents, written out here as a user reads them there.
const DOCUMENTED_COLUMNS: [&str; 17] = [
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

fn path_text(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .expect("utf-8 export")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn ten_thousand_demo_calls_round_trip_exactly_through_export_and_import() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let source = dir.path().join("source");
    let target = dir.path().join("target");
    let exported = dir.path().join("calls.ndjson");
    run_cli(&[
        "demo",
        "--data-dir",
        path_text(&source),
        "--durability",
        "normal",
        "--org",
        "org_a",
        "--calls",
        "10000",
    ]);
    run_cli(&[
        "export",
        "--data-dir",
        path_text(&source),
        "--org",
        "org_a",
        "--output",
        path_text(&exported),
    ]);
    let file = std::fs::read(&exported).expect("the export was written");
    assert!(
        !dir.path().join("calls.ndjson.partial").exists(),
        "renamed into place"
    );
    let calls = lines(&file);
    assert_eq!(calls.len(), 10_000);
    let ids: BTreeSet<&str> = calls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 10_000, "each call once");
    // The lines carry what a call has beside its document.
    assert!(
        calls
            .iter()
            .any(|c| c["events"].as_array().is_some_and(|e| !e.is_empty()))
    );
    assert!(calls.iter().any(|c| c["transfers"].is_array()));
    assert!(calls.iter().all(|c| c["organization_id"] == "org_a"));

    // Into an empty store, from the command line.
    let key = create_key(&target, "org_a", "read,write");
    let imported = run_cli(&[
        "import",
        "--data-dir",
        path_text(&target),
        "--org",
        "org_a",
        path_text(&exported),
    ]);
    assert!(
        imported.contains("imported 10000 calls, updated 0, rejected 0,"),
        "{imported}"
    );

    // The server on the imported store exports the same bytes over HTTP.
    let server = Server::start(&target, &["--durability", "normal"]);
    let client = server.client(&key);
    common::wait_for_calls(&client, 10_000);
    let answer = client.exchange("GET", "/v1/calls/export", None);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/x-ndjson"));
    assert!(
        answer.raw == file,
        "the HTTP export of the import equals the export"
    );

    // What the export said of a call is what the API says of it: checked on a sample
    // against the call resource and its events.
    for call in calls.iter().step_by(500) {
        let id = call["id"].as_str().unwrap();
        let (status, view) = client.get(&format!("/v1/calls/{id}"));
        assert_eq!(status, 200);
        for field in [
            "status",
            "from_number",
            "to_number",
            "created_at",
            "duration_ms",
        ] {
            assert_eq!(view[field], call[field], "{id}: {field}");
        }
        assert_eq!(view["agent_id"], call["agent"]["id"], "{id}");
        let said: Vec<&Value> = view["transcript"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| &entry["text"])
            .collect();
        let exported: Vec<&Value> = call["transcript"]
            .as_array()
            .map(|entries| entries.iter().map(|entry| &entry["text"]).collect())
            .unwrap_or_default();
        assert_eq!(said, exported, "{id}: transcript");
        let (_, events) = client.get(&format!("/v1/calls/{id}/events"));
        let exported_events = call["events"].as_array().map_or(0, Vec::len);
        assert_eq!(
            events["events"].as_array().map_or(0, Vec::len),
            exported_events,
            "{id}: events"
        );
    }

    // Importing it again over HTTP changes nothing: every call is updated to itself.
    let answer = client
        .try_exchange_bytes("POST", "/v1/calls/import", Some(file.clone()))
        .expect("import exchange");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"imported": 0, "updated": 10000, "rejected": 0, "rejections": []})
    );
    let again = client.exchange("GET", "/v1/calls/export", None);
    assert!(again.raw == file, "idempotent by id");
}

/// One importable line: a call as an export writes it.
fn line(id: &str, status: &str) -> Value {
    json!({
        "id": id,
        "organization_id": "whoever_exported_it",
        "status": status,
        "agent": {"id": "agent_import", "name": "Imported agent"},
        "direction": "inbound",
        "from_number": "+14155550100",
        "to_number": "+14155550199",
        "created_at": "2026-10-01T09:00:00Z",
        "updated_at": "2026-10-01T09:03:00Z",
        "started_at": "2026-10-01T09:00:05Z",
        "ended_at": "2026-10-01T09:03:00Z",
        "transcript": [
            {"role": "agent", "text": "Thanks for calling, how can I help?", "start_ms": 0},
            {"role": "user", "text": "I would like to book a table for two.", "start_ms": 2500},
        ],
    })
}

#[test]
fn an_http_import_lands_every_good_line_and_names_each_bad_one() {
    let fixture = Fixture::with_args(&["--max-body-bytes", "65536"]);
    let client = fixture.client();
    let mut live = line("imp-live", "in_progress");
    live["ended_at"] = Value::Null;
    live["events"] = json!([{
        "id": "evt-1", "provider": "vonage", "event_type": "call.ringing", "status": "ringing",
        "occurred_at": "2026-10-01T09:00:01Z", "created_at": "2026-10-01T09:00:01Z",
        "payload": {"sip_code": 180}
    }]);
    let mut wrong_transfer = line("imp-wrong", "completed");
    wrong_transfer["transfers"] = json!([{
        "id": "tr-1", "chain_id": "tr-1", "attempt": 0, "session_id": "another-call",
        "organization_id": "x", "kind": "blind", "status": "completed",
        "transfer_to": "+14155550111", "targets": ["+14155550111"],
        "created_at": "2026-10-01T09:01:00Z", "updated_at": "2026-10-01T09:01:30Z"
    }]);
    let mut long = line("imp-long", "completed");
    long["transcript"][0]["text"] = json!("word ".repeat(20_000));
    let body = [
        line("imp-done", "completed").to_string(),
        "{not json".to_owned(),
        live.to_string(),
        r#"{"id": "imp-nostatus"}"#.to_owned(),
        String::new(),
        long.to_string(),
        format!("{}\r", line("imp-crlf", "completed")),
        wrong_transfer.to_string(),
    ]
    .join("\n");

    // A key that may only read changes nothing.
    let reader = fixture
        .server
        .client(&create_key(&fixture.data_dir(), "org_a", "read"));
    let refused = reader
        .try_exchange_bytes("POST", "/v1/calls/import", Some(body.clone().into_bytes()))
        .expect("exchange");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(client.get("/v1/calls/imp-done").0, 404);

    let answer = client
        .try_exchange_bytes("POST", "/v1/calls/import", Some(body.into_bytes()))
        .expect("exchange");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let report = &answer.body;
    assert_eq!(report["imported"], 3, "{report}");
    assert_eq!(report["updated"], 0, "{report}");
    assert_eq!(report["rejected"], 4, "{report}");
    let rejected: Vec<(u64, &str)> = report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rejected.iter().map(|(line, _)| *line).collect::<Vec<_>>(),
        [2, 4, 6, 8]
    );
    assert!(rejected[0].1.contains("not JSON"), "{rejected:?}");
    assert!(
        rejected[1].1.starts_with("missing field `status`"),
        "{rejected:?}"
    );
    assert!(
        rejected[2].1.contains("max_body_bytes") && rejected[2].1.contains("65536"),
        "{rejected:?}"
    );
    assert!(
        rejected[3].1.contains("transfers[0].session_id"),
        "{rejected:?}"
    );

    // The good lines landed under the importer's organization, as written.
    let (status, done) = client.get("/v1/calls/imp-done");
    assert_eq!(status, 200);
    assert_eq!(done["organization_id"], "org_a");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["from_number"], "+14155550100");
    assert_eq!(done["agent"]["name"], "Imported agent");
    assert_eq!(done["created_at"], "2026-10-01T09:00:00.000Z");
    assert_eq!(
        done["transcript"]["entries"][1]["text"],
        "I would like to book a table for two."
    );
    assert_eq!(client.get("/v1/calls/imp-crlf").0, 200);
    for absent in ["imp-nostatus", "imp-long", "imp-wrong"] {
        assert_eq!(
            client.get(&format!("/v1/calls/{absent}")).0,
            404,
            "{absent}"
        );
    }
    let (_, events) = client.get("/v1/calls/imp-live/events");
    assert_eq!(
        events["events"][0]["event_type"], "call.ringing",
        "{events}"
    );

    // An imported completed call gets its report; one still in progress does not.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, call) = client.get("/v1/calls/imp-done");
        if call["report"]["summary"].is_string() {
            assert!(call["report"]["outcome"].is_string(), "{call}");
            break;
        }
        assert!(Instant::now() < deadline, "no report: {call}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        client.get("/v1/calls/imp-live").1["report"]["summary"].is_null(),
        "a live call has no report yet"
    );

    // Another organization sees none of it.
    let other = fixture
        .server
        .client(&create_key(&fixture.data_dir(), "org_b", "read,write"));
    assert_eq!(other.get("/v1/calls/imp-done").0, 404);

    // Importing a call again replaces it.
    let mut ended = line("imp-live", "completed");
    ended["duration_ms"] = json!(175_000);
    let answer = client
        .try_exchange_bytes(
            "POST",
            "/v1/calls/import",
            Some(ended.to_string().into_bytes()),
        )
        .expect("exchange");
    assert_eq!(
        answer.body,
        json!({"imported": 0, "updated": 1, "rejected": 0, "rejections": []})
    );
    let (_, call) = client.get("/v1/calls/imp-live");
    assert_eq!(call["status"], "completed");
    assert_eq!(call["duration_ms"], 175_000);
    let (_, events) = client.get("/v1/calls/imp-live/events");
    assert_eq!(
        events["events"],
        json!([]),
        "the line's events replace the call's"
    );
}

#[test]
fn an_http_export_streams_the_filtered_set_as_ndjson_or_the_documented_csv() {
    let fixture = Fixture::with_demo(400, &[]);
    let client = fixture.client();
    common::wait_for_calls(&client, 400);

    let completed = json!({"term": {"status": "completed"}});
    let (_, counted) = client.post(
        "/v1/calls/query",
        &json!({"query": completed, "size": 0, "track_total_hits": true}),
    );
    let expected = counted["total"].as_u64().expect("a total");
    assert!(expected > 0 && expected < 400, "{counted}");
    let query = common::encode(completed.to_string().as_bytes());

    let answer = client.exchange("GET", &format!("/v1/calls/export?query={query}"), None);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-disposition"),
        Some("attachment; filename=\"calls.ndjson\"")
    );
    let calls = lines(&answer.raw);
    assert_eq!(calls.len() as u64, expected);
    assert!(calls.iter().all(|call| call["status"] == "completed"));
    let created: Vec<&str> = calls
        .iter()
        .map(|c| c["created_at"].as_str().unwrap())
        .collect();
    assert!(created.is_sorted(), "in creation order");

    let answer = client.exchange(
        "GET",
        &format!("/v1/calls/export?format=csv&query={query}"),
        None,
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let rows = csv_rows(std::str::from_utf8(&answer.raw).unwrap());
    assert_eq!(rows[0], DOCUMENTED_COLUMNS);
    assert_eq!(rows.len() as u64, expected + 1, "header plus calls");
    for (row, call) in rows[1..].iter().zip(&calls) {
        assert_eq!(row[0], call["id"].as_str().unwrap());
        assert_eq!(row[10], "completed");
        assert_eq!(row[3], call["agent"]["id"].as_str().unwrap_or_default());
        assert_eq!(row[12], call["duration_ms"].to_string().trim_matches('"'));
        assert_eq!(
            row[16],
            call["analysis"]["summary"].as_str().unwrap_or_default()
        );
    }

    // Bad asks are refused before anything is streamed.
    for (path, words) in [
        ("/v1/calls/export?format=xml", vec!["format", "xml"]),
        ("/v1/calls/export?query=%7Bnope", vec!["query", "not JSON"]),
        (
            "/v1/calls/export?query=%7B%22term%22%3A%7B%22nonsense%22%3A1%7D%7D",
            vec!["query", "nonsense"],
        ),
        ("/v1/calls/export?size=10", vec!["size"]),
    ] {
        common::assert_invalid(client.get(path), &words, path);
    }
    assert_eq!(
        fixture.server.anonymous().get("/v1/calls/export").0,
        401,
        "a key is needed"
    );
}

/// The one line an HTTP export answers for the client's organization.
fn exported_call(client: &Client) -> Value {
    let answer = client.exchange("GET", "/v1/calls/export", None);
    assert_eq!(answer.status, 200);
    let mut calls = lines(&answer.raw);
    assert_eq!(calls.len(), 1, "one call");
    calls.remove(0)
}

#[test]
fn the_seed_001_search_answer_imports_as_its_canonical_call_field_by_field() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    let seed = common::fixture_path("seed001_session_example.json");
    let key = create_key(&data, "org_a", "read,write");
    let imported = run_cli(&[
        "import",
        "--data-dir",
        path_text(&data),
        "--org",
        "org_a",
        "--format",
        "auto",
        path_text(&seed),
    ]);
    assert!(
        imported.contains("imported 1 calls, updated 0, rejected 0,"),
        "{imported}"
    );
    let server = Server::start(&data, &["--durability", "normal"]);
    let client = server.client(&key);
    common::wait_for_calls(&client, 1);

    let call = exported_call(&client);
    let id = "8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36";
    assert_eq!(call["id"], id);
    assert_eq!(
        call["organization_id"], "org_a",
        "the importer's, not account_id"
    );
    assert_eq!(
        call["agent"],
        json!({"id": "5f7f2e60a6034c9b5c79d16c", "version_id": "5f7f2f337340dc7249f81406",
               "name": "oriprod2", "voice": "Salli", "language": "en-US"})
    );
    assert_eq!(call["language"], "en-US");
    assert_eq!(call["from_number"], "9720014044002502");
    assert_eq!(call["to_number"], "972523656841");
    assert_eq!(call["channel"], "voice");
    assert_eq!(call["status"], "completed", "ended");
    assert_eq!(call["status_code"], 200);
    assert_eq!(call["duration_ms"], 27_000);
    assert_eq!(call["created_at"], "2020-10-08T17:09:27.758Z");
    assert_eq!(call["started_at"], "2020-10-08T17:09:27.758Z");
    assert_eq!(
        call["request_ids"],
        json!([
            "759a8938-c296-4ff5-9ec9-d3f0267893f9",
            "db2a0259-92fa-4067-a50c-728689276c58"
        ])
    );
    let turns: Vec<(&str, &str)> = call["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["role"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        turns,
        [
            ("agent", "sup?"),
            ("agent", "name?"),
            ("user", "Benjamin"),
            ("agent", "shut up Benjamin")
        ]
    );
    let tags: Vec<&str> = call["flow"]["collected_tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["two", "one", "three", "three"]);
    assert_eq!(call["flow"]["collected_parameters"][0]["name"], "name");
    assert_eq!(call["flow"]["collected_parameters"][0]["value"], "Benjamin");
    let nodes: Vec<&str> = call["flow"]["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        nodes,
        [
            "start",
            "speak",
            "speak",
            "param_completion",
            "speak",
            "end_call"
        ]
    );
    assert_eq!(call["flow"]["path"][1]["execution_time"], 168);
    assert_eq!(call["flow"]["path"][1]["response"]["code"], 201);

    // Rendered back as a session, it says what the seed said.
    let seed = common::fixture("seed001_session_example.json");
    let original = &seed["hits"][0];
    let (status, session) = client.get(&format!("/insights/sessions/search/{id}"));
    assert_eq!(status, 200, "{session}");
    for field in [
        "id",
        "transcription",
        "agent_information",
        "source",
        "destination",
        "channel",
        "request_ids",
        "tags",
        "params",
        "tags_list",
    ] {
        assert_eq!(session[field], original[field], "{field}: {session}");
    }
    assert_eq!(session["status"], "ended");
    assert_eq!(session["channel_data"]["duration"], 27_000);

    // The tags are searchable like any other call's.
    let (_, found) = client.post(
        "/v1/calls/query",
        &json!({"query": {"term": {"flow.collected_tags.tag": "three"}}, "size": 1}),
    );
    assert_eq!(found["calls"][0]["id"], id, "{found}");
}

#[test]
fn a_seed_004_call_imports_over_http_as_its_canonical_call_field_by_field() {
    let fixture = Fixture::with_args(&[]);
    let client = fixture.client();
    let seed = std::fs::read(common::fixture_path("seed004_get_call.json")).expect("the seed");
    let answer = client
        .try_exchange_bytes(
            "POST",
            "/v1/calls/import?format=seed004",
            Some(seed.clone()),
        )
        .expect("exchange");
    assert_eq!(
        answer.body,
        json!({"imported": 1, "updated": 0, "rejected": 0, "rejections": []}),
        "a pretty-printed document over several lines is one call"
    );
    common::wait_for_calls(&client, 1);
    let call = exported_call(&client);
    assert_eq!(call["id"], "7f3d8e00-a1b2-4c3d-9e4f-567890abcdef");
    assert_eq!(call["organization_id"], "org_a");
    assert_eq!(call["agent"]["id"], "550e8400-e29b-41d4-a716-446655440000");
    assert_eq!(call["from_number"], "+16045551234");
    assert_eq!(call["to_number"], "+14155551234");
    assert_eq!(call["direction"], "outbound");
    assert_eq!(call["status"], "completed");
    assert_eq!(call["duration_ms"], 125_000, "125 seconds");
    assert_eq!(
        call["campaign_id"], "appointment_reminder",
        "metadata.campaign"
    );
    assert_eq!(
        call["metadata"],
        json!({"customer_id": "cust_123", "campaign": "appointment_reminder"})
    );
    assert_eq!(call["created_at"], "2024-01-15T10:30:00.000Z");
    assert_eq!(call["started_at"], "2024-01-15T10:30:15.000Z");
    assert_eq!(call["ended_at"], "2024-01-15T10:32:20.000Z");
    assert_eq!(call["analysis"]["sentiment"], "positive");
    assert_eq!(
        call["analysis"]["summary"],
        "Appointment confirmation call. Customer confirmed their dental appointment for tomorrow at 2pm."
    );
    let turns: Vec<(&str, &str, u64, u64)> = call["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["role"].as_str().unwrap(),
                e["text"].as_str().unwrap(),
                e["start_ms"].as_u64().unwrap(),
                e["end_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        turns,
        [
            (
                "agent",
                "Hello, this is Sarah from Acme Dental. I'm calling to confirm your appointment tomorrow at 2pm.",
                500,
                5200
            ),
            (
                "user",
                "Yes, I'll be there. Thank you for the reminder.",
                5800,
                8300
            ),
        ]
    );

    let (status, rendered) = client.get("/v1/calls/7f3d8e00-a1b2-4c3d-9e4f-567890abcdef");
    assert_eq!(status, 200);
    // The call resource says what the seed said, its imported summary kept (no heuristic
    // report replaces an imported analysis).
    let original: Value = serde_json::from_slice(&seed).unwrap();
    for (field, seed_field) in [
        ("from_number", "from_number"),
        ("to_number", "to_number"),
        ("direction", "direction"),
        ("metadata", "metadata"),
        ("sentiment", "sentiment"),
        ("summary", "call_summary"),
        ("recording_url", "recording_url"),
        ("duration_seconds", "duration"),
    ] {
        assert_eq!(rendered[field], original[seed_field], "{field}: {rendered}");
    }

    // Importing the same document again updates it; a wrong format is refused up front.
    let again = client
        .try_exchange_bytes("POST", "/v1/calls/import", Some(seed))
        .expect("exchange");
    assert_eq!(
        again.body,
        json!({"imported": 0, "updated": 1, "rejected": 0, "rejections": []}),
        "auto knows the shape"
    );
    let refused = client
        .try_exchange_bytes("POST", "/v1/calls/import?format=xml", Some(b"{}".to_vec()))
        .expect("exchange");
    common::assert_invalid(
        (refused.status, refused.body),
        &["format", "xml"],
        "format=xml",
    );
}

#[test]
fn a_cut_off_line_costs_only_itself_in_every_format() {
    let fixture = Fixture::with_args(&[]);
    let client = fixture.client();
    for format in ["auto", "ndjson"] {
        let whole = line(&format!("cut-{format}-whole"), "completed").to_string();
        let cut = &line(&format!("cut-{format}-cut"), "completed").to_string()[..120];
        let last = line(&format!("cut-{format}-last"), "completed").to_string();
        let body = format!("{whole}\n{cut}\n{last}\n{last}");
        let answer = client
            .try_exchange_bytes(
                "POST",
                &format!("/v1/calls/import?format={format}"),
                Some(body.into_bytes()),
            )
            .expect("exchange");
        assert_eq!(answer.body["imported"], 2, "{format}: {}", answer.body);
        assert_eq!(answer.body["updated"], 1, "{format}: the repeated line");
        assert_eq!(answer.body["rejected"], 1, "{format}");
        assert_eq!(answer.body["rejections"][0]["line"], 2, "{format}");
        assert!(
            answer.body["rejections"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("not JSON"),
            "{format}: {}",
            answer.body
        );
        for (suffix, status) in [("whole", 200), ("cut", 404), ("last", 200)] {
            assert_eq!(
                client.get(&format!("/v1/calls/cut-{format}-{suffix}")).0,
                status,
                "{format} {suffix}"
            );
        }
    }
    // A seed-001 document in the canonical format is refused by its first foreign key.
    let seed =
        std::fs::read(common::fixture_path("seed001_session_example.json")).expect("the seed");
    let answer = client
        .try_exchange_bytes("POST", "/v1/calls/import?format=ndjson", Some(seed))
        .expect("exchange");
    assert_eq!(answer.body["imported"], 0, "{}", answer.body);
    assert_eq!(answer.body["rejections"][0]["line"], 1, "{}", answer.body);
}
