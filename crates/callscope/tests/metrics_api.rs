//! Cost and latency over real HTTP: usage priced under a configured price table gives the
//! exact micro-USD, latency samples become per-stage statistics, retries count once, and bad
//! reports change nothing.

#![allow(clippy::unwrap_used)] // tests panic on purpose

mod common;

use common::{Server, assert_invalid, create_key};
use serde_json::{Value, json};

/// A price table whose figures the expected costs below are computed from by hand.
fn price_table() -> Value {
    json!({
        "credits_per_usd": 1000,
        "prices": [
            {"component": "llm", "provider": "acme", "model": "m1", "unit": "input_tokens",
             "usd": "0.15", "per": 1000000},
            {"component": "stt", "unit": "minutes", "usd": "0.0043"}
        ]
    })
}

struct Setup {
    _dir: tempfile::TempDir,
    _server: Server,
    client: common::Client,
}

fn start() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, price_table().to_string()).unwrap();
    let key = create_key(&data, "org_a", "read,write");
    let server = Server::start(
        &data,
        &[
            "--durability",
            "normal",
            "--price-table",
            prices.to_str().unwrap(),
        ],
    );
    let client = server.client(&key);
    Setup {
        _dir: dir,
        _server: server,
        client,
    }
}

/// Nearest-rank percentile, computed here independently of the server.
fn nearest_rank(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

#[test]
fn usage_is_priced_exactly_and_latency_becomes_statistics() {
    let setup = start();
    let client = &setup.client;
    let (status, _) = client.post(
        "/v1/calls",
        &json!({"id": "c1", "status": "in_progress", "agent_id": "a"}),
    );
    assert_eq!(status, 201);

    let first = json!({
        "usage": [
            {"id": "u1", "component": "llm", "provider": "acme", "model": "m1",
             "units": 1234, "unit": "input_tokens"},
            {"id": "u2", "component": "stt", "provider": "deepgram", "units": 90, "unit": "seconds"}
        ],
        "latency": [
            {"turn": 1, "agent_ms": 400, "end_to_end_ms": 900},
            {"turn": 2, "agent_ms": 9999, "transcriber_ms": 120}
        ]
    });
    assert_eq!(client.post("/v1/calls/c1/metrics", &first).0, 200);
    // A retry of the same report adds nothing.
    assert_eq!(client.post("/v1/calls/c1/metrics", &first).0, 200);
    let second = json!({
        "usage": [
            {"id": "u3", "component": "llm", "provider": "acme", "model": "m1",
             "units": 766, "unit": "input_tokens"},
            {"id": "u4", "component": "stt", "provider": "deepgram", "units": 0.5, "unit": "minutes"}
        ],
        "latency": [
            {"turn": 2, "agent_ms": 500, "transcriber_ms": 120},
            {"turn": 3, "agent_ms": 650},
            {"turn": 4, "agent_ms": 300, "end_to_end_ms": 700}
        ]
    });
    let (status, call) = client.post("/v1/calls/c1/metrics", &second);
    assert_eq!(status, 200, "{call}");

    // llm: 1,234 + 766 = 2,000 tokens at 0.15 USD per million = 300 micro-USD.
    // stt: 90 s + 30 s = 2 minutes at 0.0043 USD = 8,600 micro-USD.
    let (_, fetched) = client.get("/v1/calls/c1");
    assert_eq!(fetched, call, "the answer is the stored call");
    assert_eq!(call["cost_micro_usd"], "8900");
    assert_eq!(call["report"]["cost_micro_usd"], "8900");
    assert_eq!(call["credits"], 8.9, "0.0089 USD at 1,000 credits per USD");
    let lines: Vec<(String, f64, String, String)> = call["report"]["cost_breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["component"].as_str().unwrap().to_owned(),
                line["units"].as_f64().unwrap(),
                line["unit"].as_str().unwrap().to_owned(),
                line["cost_micro_usd"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("llm".into(), 2000.0, "input_tokens".into(), "300".into()),
            ("stt".into(), 120.0, "seconds".into(), "8600".into()),
        ]
    );

    // Turn 2 was reported again: its second report replaced the first.
    let agent = [400.0, 500.0, 650.0, 300.0];
    let stats = &call["metrics"]["agent_latency_ms"];
    assert_eq!(stats["samples"], 4);
    assert_eq!(stats["avg"], 462.5);
    for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0)] {
        assert_eq!(stats[name], nearest_rank(&agent, p), "{name}");
    }
    assert_eq!(call["average_agent_latency"], 462.5);
    assert_eq!(call["average_transcriber_latency"], 120.0);
    assert_eq!(call["metrics"]["end_to_end_latency_ms"]["p50"], 700.0);
    assert_eq!(call["average_synthesizer_latency"], Value::Null);
}

#[test]
fn bad_reports_are_refused_and_change_nothing() {
    let setup = start();
    let client = &setup.client;
    client.post("/v1/calls", &json!({"id": "c2", "status": "in_progress"}));
    let priced =
        json!({"usage": [{"id": "u1", "component": "stt", "units": 60, "unit": "seconds"}]});
    assert_eq!(client.post("/v1/calls/c2/metrics", &priced).0, 200);
    let (_, before) = client.get("/v1/calls/c2");
    assert_eq!(before["cost_micro_usd"], "4300");

    let unpriced = json!({"usage": [
        {"id": "u2", "component": "stt", "units": 60, "unit": "seconds"},
        {"id": "u3", "component": "tts", "units": 10, "unit": "tokens"}
    ]});
    assert_invalid(
        client.post("/v1/calls/c2/metrics", &unpriced),
        &["usage[1]", "no price for tts usage in tokens", "characters"],
        "unpriced usage",
    );
    for (body, words) in [
        (json!({}), vec!["usage", "at least one"]),
        (
            json!({"usage": [{"component": "llm", "units": -3, "unit": "tokens"}]}),
            vec!["usage[0].units"],
        ),
        (
            json!({"usage": [{"component": "llm", "units": 3, "unit": "words"}]}),
            vec!["unit", "words"],
        ),
        (json!({"latency": [{"turn": 1}]}), vec!["latency[0]"]),
        (
            json!({"latency": [{"turn": 1, "agent_ms": 1}], "extra": 1}),
            vec!["extra"],
        ),
    ] {
        assert_invalid(
            client.post("/v1/calls/c2/metrics", &body),
            &words,
            &body.to_string(),
        );
    }
    let (_, after) = client.get("/v1/calls/c2");
    assert_eq!(after["cost_micro_usd"], before["cost_micro_usd"]);
    assert_eq!(
        after["updated_at"], before["updated_at"],
        "nothing was written"
    );

    let (status, body) = client.post("/v1/calls/nope/metrics", &priced);
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));

    // A deleted call takes its reports with it: the same id starts from nothing.
    assert_eq!(client.delete("/v1/calls/c2").0, 204);
    client.post("/v1/calls", &json!({"id": "c2", "status": "in_progress"}));
    let (_, fresh) = client.post(
        "/v1/calls/c2/metrics",
        &json!({"usage": [{"id": "u9", "component": "stt", "units": 30, "unit": "seconds"}]}),
    );
    assert_eq!(fresh["cost_micro_usd"], "2150");
}

#[test]
fn a_bad_price_table_stops_the_server_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let prices = dir.path().join("prices.json");
    std::fs::write(
        &prices,
        json!({"prices": [{"component": "llm", "unit": "tokens", "usd": "0,15"}]}).to_string(),
    )
    .unwrap();
    let stderr = common::serve_refusal(
        &dir.path().join("data"),
        &["--price-table".as_ref(), prices.as_os_str()],
    );
    assert!(stderr.contains("`usd` must be a decimal"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing was created before the price table was read"
    );
}
