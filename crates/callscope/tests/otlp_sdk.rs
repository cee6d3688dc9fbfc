//! The OpenTelemetry Python SDK, from PyPI, sending to the real binary: its OTLP/HTTP
//! exporter (protobuf, plain and gzip'd) and its OTLP encoder turned into JSON, each with
//! a Pipecat-shaped conversation built with the SDK's tracer (`python/otel_sdk_export.py`).
//! The calls are read back over `/v1` and `/insights` and checked against the script here.
//!
//! The interpreter is `CALLSCOPE_PYTHON`, else `target/python-venv/bin/python` under the
//! workspace, which `.ci/run` makes from `python/requirements.txt`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Fixture;
use common::otlp::{T0, expected_cost, price_table};
use common::python::python;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Two turns: (user, agent, ttfb of stt/llm/tts in seconds, user-to-bot seconds, tokens,
/// audio seconds).
fn turns() -> Value {
    json!([
        {"user": "Can I change my delivery address?", "agent": "Yes. What is the new address?",
         "ttfb": [0.140, 0.400, 0.220], "user_bot": 1.100, "tokens": [300, 10], "audio_seconds": 2.0},
        {"user": "Twelve Elm Street, Springfield.", "agent": "Done: Twelve Elm Street it is.",
         "ttfb": [0.120, 0.360, 0.180], "user_bot": 0.900, "tokens": [340, 15], "audio_seconds": 3.0},
    ])
}

#[test]
fn the_python_sdk_exporter_and_encoder_deliver_conversations_as_calls() {
    let prices = tempfile::tempdir().unwrap();
    let table = price_table(prices.path());
    let fixture = Fixture::with_args(&["--price-table", table.to_str().unwrap()]);
    let modes = ["protobuf", "protobuf-gzip", "json"];
    let script = json!({
        "t0_unix_nano": T0,
        "conversations": modes.iter().map(|mode| json!({"id": format!("sdk-{mode}"), "mode": mode, "turns": turns()})).collect::<Vec<_>>(),
    });
    let output = std::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/otel_sdk_export.py"
        ))
        .args([&fixture.server.base, &fixture.key, &script.to_string()])
        .output()
        .expect("run the Python exporter");
    assert!(
        output.status.success(),
        "the exporter script failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let turns = turns();
    let turns = turns.as_array().unwrap();
    let expected: Vec<(String, String)> = turns
        .iter()
        .flat_map(|t| {
            [
                ("user".to_owned(), t["user"].as_str().unwrap().to_owned()),
                ("agent".to_owned(), t["agent"].as_str().unwrap().to_owned()),
            ]
        })
        .collect();
    let mean = |pick: &dyn Fn(&Value) -> f64| {
        turns.iter().map(pick).sum::<f64>() / turns.len() as f64 * 1_000.0
    };
    let sum = |pick: &dyn Fn(&Value) -> f64| turns.iter().map(pick).sum::<f64>();
    let cost = expected_cost(
        sum(&|t| t["audio_seconds"].as_f64().unwrap()),
        sum(&|t| t["tokens"][0].as_f64().unwrap()) as u64,
        sum(&|t| t["tokens"][1].as_f64().unwrap()) as u64,
        turns
            .iter()
            .map(|t| t["agent"].as_str().unwrap().len() as u64)
            .sum(),
    );
    for mode in modes {
        let id = format!("sdk-{mode}");
        let deadline = Instant::now() + Duration::from_secs(15);
        let call = loop {
            let (status, call) = fixture.client().get(&format!("/v1/calls/{id}"));
            if status == 200 && call["status"] == "completed" {
                break call;
            }
            assert!(Instant::now() < deadline, "{id}: {status} {call}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let said: Vec<(String, String)> = call["transcript"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["role"].as_str().unwrap().to_owned(),
                    e["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(said, expected, "{id}");
        assert_eq!(call["agent"]["id"], "sdk-bot", "{id}");
        for (stage, want) in [
            (
                "transcriber_latency_ms",
                mean(&|t| t["ttfb"][0].as_f64().unwrap()),
            ),
            (
                "agent_latency_ms",
                mean(&|t| t["ttfb"][1].as_f64().unwrap()),
            ),
            (
                "synthesizer_latency_ms",
                mean(&|t| t["ttfb"][2].as_f64().unwrap()),
            ),
            (
                "end_to_end_latency_ms",
                mean(&|t| t["user_bot"].as_f64().unwrap()),
            ),
        ] {
            let got = call["metrics"][stage]["avg"].as_f64().unwrap();
            assert!((got - want).abs() <= 0.05, "{id} {stage}: {got} vs {want}");
        }
        assert_eq!(call["cost_micro_usd"], cost.to_string(), "{id}");
        let tree = &call["span_tree"];
        assert_eq!(tree["span_count"], 1 + 4 * turns.len(), "{id}");
        assert_eq!(tree["spans"][0]["name"], "conversation", "{id}");
        let (status, session) = fixture
            .client()
            .get(&format!("/insights/sessions/search/{id}"));
        assert_eq!(status, 200, "{id}: {session}");
        assert!(
            session.to_string().contains("Twelve Elm Street"),
            "{id}: {session}"
        );
    }
}
