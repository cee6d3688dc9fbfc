//! The data's life over HTTP: retention purges exactly what has outlived it, recordings
//! included, and `POST /v1/calls/delete_by_query` removes exactly what it matches from every
//! read path (or, dry, nothing at all).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, Fixture, wav};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Where a call's recordings live on disk: the folder names are the hex of the
/// organization and of the call id (the README's layout).
fn recording_dir(data: &Path, org: &str, id: &str) -> PathBuf {
    let hex = |text: &str| text.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    data.join("recordings").join(hex(org)).join(hex(id))
}

fn import(client: &Client, lines: &[Value]) {
    let body: Vec<String> = lines.iter().map(Value::to_string).collect();
    let answer = client
        .try_exchange_bytes(
            "POST",
            "/v1/calls/import",
            Some(body.join("\n").into_bytes()),
        )
        .expect("import");
    assert_eq!(answer.body["rejected"], 0, "{}", answer.body);
}

/// Ids of the exported calls of the client's organization.
fn exported_ids(client: &Client) -> BTreeSet<String> {
    let answer = client.exchange("GET", "/v1/calls/export", None);
    assert_eq!(answer.status, 200);
    std::str::from_utf8(&answer.raw)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Ids the search index answers for every call, with its total checked against them.
fn searched_ids(client: &Client) -> BTreeSet<String> {
    let (status, body) = client.post(
        "/v1/calls/query?refresh=wait_for",
        &json!({"size": 1000, "track_total_hits": true, "fields": ["id"]}),
    );
    assert_eq!(status, 200, "{body}");
    let ids: BTreeSet<String> = body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(body["total"], ids.len(), "{body}");
    ids
}

/// Every read path agrees the organization holds exactly `expected`.
fn assert_holds(client: &Client, expected: &BTreeSet<String>, what: &str) {
    assert_eq!(&exported_ids(client), expected, "{what}: export");
    assert_eq!(&searched_ids(client), expected, "{what}: search");
    let (_, listed) = client.get("/v1/calls?limit=1000");
    assert_eq!(listed["total"], expected.len(), "{what}: list {listed}");
    let (_, aggs) = client.post(
        "/v1/calls/query",
        &json!({"size": 0, "aggs": {"by_status": {"terms": {"field": "status", "size": 10}}}}),
    );
    let counted: u64 = common::bucket_counts(&aggs["aggregations"]["by_status"])
        .iter()
        .map(|(_, count)| count)
        .sum();
    assert_eq!(
        counted,
        expected.len() as u64,
        "{what}: aggregations {aggs}"
    );
}

#[test]
fn retention_purges_exactly_the_calls_past_their_limit_with_their_recordings() {
    let fixture = Fixture::with_args(&["--retention-interval-secs", "1"]);
    let client = fixture.client();
    let now = now_ms();
    // Ages on both sides of each limit, by agent: the organization keeps 30 days, agent
    // `short` 7, agent `long` 365; `none` has no agent.
    let ages_h: [i64; 7] = [
        1,
        6 * 24 + 22,
        7 * 24 + 2,
        29 * 24 + 22,
        30 * 24 + 2,
        200 * 24,
        400 * 24,
    ];
    let mut calls = Vec::new();
    for agent in ["short", "long", "plain", "none"] {
        for (n, hours) in ages_h.iter().enumerate() {
            let id = format!("{agent}-{n}");
            let created = now - hours * 3_600_000;
            let mut line = json!({
                "id": id, "status": "completed",
                "created_at": rfc3339(created), "updated_at": rfc3339(created + 60_000),
                "started_at": rfc3339(created), "ended_at": rfc3339(created + 60_000),
                "transcript": [{"role": "user", "text": "hello there"}],
                "analysis": {"summary": "kept or not"},
            });
            if agent != "none" {
                line["agent"] = json!({"id": agent});
            }
            calls.push((id, agent, *hours));
            import(&client, &[line]);
        }
    }
    // A recording on every call that has one hour or 400 days behind it.
    for (id, _, hours) in &calls {
        if *hours == 1 || *hours == 400 * 24 {
            let answer = client
                .try_exchange_bytes(
                    "PUT",
                    &format!("/v1/calls/{id}/recording?channels=mono"),
                    Some(wav(8000, 800)),
                )
                .unwrap();
            assert_eq!(answer.status, 200, "{id}: {}", answer.body);
            assert!(recording_dir(&fixture.data_dir(), "org_a", id).is_dir());
        }
    }
    // Another organization's old calls, under no rule, stay whatever org_a sets.
    let other = fixture.server.client(&common::create_key(
        &fixture.data_dir(),
        "org_b",
        "read,write,admin",
    ));
    import(
        &other,
        &[json!({
            "id": "short-6", "status": "completed", "agent": {"id": "short"},
            "created_at": rfc3339(now - 400 * DAY_MS), "updated_at": rfc3339(now - 400 * DAY_MS),
        })],
    );
    let everything: BTreeSet<String> = calls.iter().map(|(id, _, _)| id.clone()).collect();
    // Nothing is purged while no retention is set (the purge runs every second).
    std::thread::sleep(Duration::from_millis(2500));
    assert_holds(&client, &everything, "before any retention");

    // Settings: refused ones change nothing.
    for bad in [
        json!({"retention_days": 0}),
        json!({"retention_days": 36_501}),
        json!({"retention_days": "x"}),
    ] {
        let (status, body) = client.patch("/v1/organization", &bad);
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = client.patch("/v1/organization", &json!({"retention_days": 0}));
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("max_retention_days"),
        "{status} {body}"
    );
    let reader = fixture.server.client(&common::create_key(
        &fixture.data_dir(),
        "org_a",
        "read,write",
    ));
    assert_eq!(
        reader
            .put("/v1/agents/short/retention", &json!({"retention_days": 1}))
            .0,
        403
    );
    assert_eq!(
        reader
            .patch("/v1/organization", &json!({"retention_days": 1}))
            .0,
        403
    );
    assert_eq!(
        client.get("/v1/organization").1["retention_days"],
        Value::Null
    );

    let (status, body) = client.put("/v1/agents/short/retention", &json!({"retention_days": 7}));
    assert_eq!(
        (status, &body["effective_retention_days"]),
        (200, &json!(7)),
        "{body}"
    );
    assert_eq!(
        client
            .put("/v1/agents/long/retention", &json!({"retention_days": 365}))
            .0,
        200
    );
    let (status, org) = client.patch("/v1/organization", &json!({"retention_days": 30}));
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["retention_days"], 30);
    assert_eq!(
        org["agent_retention_days"],
        json!({"long": 365, "short": 7})
    );
    assert_eq!(
        client.get("/v1/agents/plain/retention").1["effective_retention_days"],
        30
    );

    // What should remain, worked out from the ages alone.
    let limit_h = |agent: &str| match agent {
        "short" => 7 * 24,
        "long" => 365 * 24,
        _ => 30 * 24,
    };
    let kept: BTreeSet<String> = calls
        .iter()
        .filter(|(_, agent, hours)| *hours < limit_h(agent))
        .map(|(id, _, _)| id.clone())
        .collect();
    assert_eq!(
        kept.len(),
        2 + 6 + 4 + 4,
        "short 2, long 6, plain and none 4 each"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while exported_ids(&client) != kept {
        assert!(
            Instant::now() < deadline,
            "the purge did not converge: {:?}",
            exported_ids(&client)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_holds(&client, &kept, "after the purge");
    for (id, _, hours) in &calls {
        let expected = if kept.contains(id) { 200 } else { 404 };
        assert_eq!(client.get(&format!("/v1/calls/{id}")).0, expected, "{id}");
        if *hours == 1 || *hours == 400 * 24 {
            assert_eq!(
                recording_dir(&fixture.data_dir(), "org_a", id).exists(),
                kept.contains(id),
                "{id}: its recording goes with it"
            );
        }
    }
    assert_eq!(other.get("/v1/calls/short-6").0, 200, "org_b has no rule");

    // Clearing the agent's rule puts its calls under the organization's 30 days.
    assert_eq!(client.delete("/v1/agents/long/retention").0, 204);
    let kept: BTreeSet<String> = kept
        .into_iter()
        .filter(|id| {
            !id.starts_with("long-") || ages_h[id[5..].parse::<usize>().unwrap()] < 30 * 24
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while exported_ids(&client) != kept {
        assert!(
            Instant::now() < deadline,
            "no purge after clearing: {:?}",
            exported_ids(&client)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn delete_by_query_dry_runs_change_nothing_and_real_ones_remove_exactly_the_matches() {
    let fixture = Fixture::with_demo(300, &[]);
    let client = fixture.client();
    common::wait_for_calls(&client, 300);
    let before = exported_ids(&client);
    assert_eq!(before.len(), 300);
    let query = json!({"bool": {
        "must": [{"term": {"status": "completed"}}],
        "must_not": [{"term": {"direction": "inbound"}}]
    }});
    // The matches, found by reading every call rather than by the query.
    let answer = client.exchange("GET", "/v1/calls/export", None);
    let matching: BTreeSet<String> = std::str::from_utf8(&answer.raw)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|call| call["status"] == "completed" && call["direction"] != "inbound")
        .map(|call| call["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !matching.is_empty() && matching.len() < 300,
        "{}",
        matching.len()
    );
    let before_bytes = answer.raw;

    // Refused asks change nothing.
    let writer = fixture.server.client(&common::create_key(
        &fixture.data_dir(),
        "org_a",
        "read,write",
    ));
    assert_eq!(
        writer
            .post("/v1/calls/delete_by_query", &json!({"query": query}))
            .0,
        403
    );
    common::assert_invalid(
        client.post("/v1/calls/delete_by_query", &json!({})),
        &["query"],
        "no query",
    );
    common::assert_invalid(
        client.post(
            "/v1/calls/delete_by_query",
            &json!({"query": {"term": {"nonsense": 1}}}),
        ),
        &["query", "nonsense"],
        "bad field",
    );
    common::assert_invalid(
        client.post(
            "/v1/calls/delete_by_query",
            &json!({"query": query, "dry": true}),
        ),
        &["dry"],
        "unknown key",
    );

    let (status, dry) = client.post(
        "/v1/calls/delete_by_query",
        &json!({"query": query, "dry_run": true}),
    );
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        dry,
        json!({"dry_run": true, "matched": matching.len(), "deleted": 0})
    );
    assert!(
        client.exchange("GET", "/v1/calls/export", None).raw == before_bytes,
        "a dry run changes nothing"
    );

    // Another organization's calls are not reached by the same query.
    let other = fixture.server.client(&common::create_key(
        &fixture.data_dir(),
        "org_b",
        "read,write,admin",
    ));
    let (_, nothing) = other.post("/v1/calls/delete_by_query", &json!({"query": query}));
    assert_eq!(
        nothing,
        json!({"dry_run": false, "matched": 0, "deleted": 0})
    );

    let demo_recordings: Vec<&String> = matching
        .iter()
        .filter(|id| recording_dir(&fixture.data_dir(), "org_a", id).exists())
        .collect();
    assert!(
        !demo_recordings.is_empty(),
        "the demo gives some of them recordings"
    );
    let (status, done) = client.post("/v1/calls/delete_by_query", &json!({"query": query}));
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done,
        json!({"dry_run": false, "matched": matching.len(), "deleted": matching.len()})
    );
    let rest: BTreeSet<String> = before.difference(&matching).cloned().collect();
    assert_holds(&client, &rest, "after delete_by_query");
    for id in &matching {
        assert_eq!(client.get(&format!("/v1/calls/{id}")).0, 404, "{id}");
        assert_eq!(
            client.get(&format!("/insights/sessions/search/{id}")).0,
            404,
            "{id}"
        );
        assert!(
            !recording_dir(&fixture.data_dir(), "org_a", id).exists(),
            "{id}"
        );
    }
    let (_, counted) = client.post(
        "/v1/calls/query",
        &json!({"query": query, "size": 0, "track_total_hits": true}),
    );
    assert_eq!(counted["total"], 0, "{counted}");
    // The rest are untouched, byte for byte.
    let after = client.exchange("GET", "/v1/calls/export", None);
    let kept_before: Vec<&str> = std::str::from_utf8(&before_bytes)
        .unwrap()
        .lines()
        .filter(|line| {
            let id = serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            rest.contains(&id)
        })
        .collect();
    assert_eq!(
        std::str::from_utf8(&after.raw)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        kept_before
    );
    // Again: nothing left to match.
    let (_, again) = client.post("/v1/calls/delete_by_query", &json!({"query": query}));
    assert_eq!(again, json!({"dry_run": false, "matched": 0, "deleted": 0}));
}

#[test]
fn the_server_default_retention_covers_every_organization_without_its_own() {
    let fixture = Fixture::with_args(&["--retention-days", "10", "--retention-interval-secs", "1"]);
    let now = now_ms();
    let line = |id: &str, days: i64| {
        let created = rfc3339(now - days * DAY_MS);
        json!({"id": id, "status": "completed", "created_at": created, "updated_at": created})
    };
    let org_a = fixture.client();
    let org_b = fixture.server.client(&common::create_key(
        &fixture.data_dir(),
        "org_b",
        "read,write,admin",
    ));
    // org_b keeps its calls 20 days: the default does not apply to it.
    assert_eq!(
        org_b
            .patch("/v1/organization", &json!({"retention_days": 20}))
            .0,
        200
    );
    let (_, org) = org_a.get("/v1/organization");
    assert_eq!(
        (
            &org["retention_days"],
            &org["default_retention_days"],
            &org["effective_retention_days"]
        ),
        (&Value::Null, &json!(10), &json!(10))
    );
    for client in [&org_a, &org_b] {
        import(
            client,
            &[line("fresh", 5), line("middle", 15), line("old", 25)],
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let expected_a: BTreeSet<String> = ["fresh".to_owned()].into();
    let expected_b: BTreeSet<String> = ["fresh".to_owned(), "middle".to_owned()].into();
    while exported_ids(&org_a) != expected_a || exported_ids(&org_b) != expected_b {
        assert!(
            Instant::now() < deadline,
            "{:?} {:?}",
            exported_ids(&org_a),
            exported_ids(&org_b)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
