//! Pipecat itself, from PyPI, sending to the real binary: a Pipecat 1.14 pipeline with
//! tracing on runs a three-turn call through its own worker, VAD processor, turn strategies,
//! aggregators, transports, service base classes and tracing decorators, with scripted
//! stand-ins where the caller and the providers would be (`python/pipecat_pipeline.py`),
//! and exports its spans with the OTLP/HTTP exporter. The call is read back over `/v1` and
//! `/insights` and checked against the script here.
//!
//! The interpreter is `CALLSCOPE_PYTHON`, else `target/python-venv/bin/python` under the
//! workspace, which `.ci/run` makes from `python/requirements.txt`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Fixture;
use common::otlp::{expected_cost, price_table};
use common::python::python;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CONVERSATION: &str = "pipecat-delivery-call";
const SERVICE: &str = "pipecat-delivery-bot";
/// The silence the VAD waits for before it calls the speech over. Pipecat measures the STT's
/// time to first byte, and the user-to-bot latency, from the end of speech, so both include it.
const VAD_STOP_SECS: f64 = 0.2;
/// The silence the segmented STT pads each segment with, which it reports as audio sent.
const STT_TRAILING_SILENCE_SECS: f64 = 0.5;
/// How much later than scripted a measured latency may come: Pipecat's frames hop through
/// asyncio queues and the audio is paced by the clock (about 30 ms end to end on an idle
/// machine). Nothing makes a latency shorter than scripted.
const SLACK_MS: f64 = 150.0;

/// Three turns: what the caller says and for how long, the reply, each service's scripted
/// time to first byte in seconds (STT after the end of speech, LLM, TTS) and the LLM's
/// prompt and completion tokens.
fn turns() -> Value {
    json!([
        {"user": "Can I change my delivery address?", "agent": "Yes. What is the new address?",
         "speech_secs": 0.6, "stt_delay": 0.12, "llm_ttfb": 0.30, "tts_ttfb": 0.15, "tokens": [300, 10]},
        {"user": "Twelve Elm Street, Springfield.", "agent": "Done: Twelve Elm Street it is.",
         "speech_secs": 0.8, "stt_delay": 0.10, "llm_ttfb": 0.25, "tts_ttfb": 0.20, "tokens": [340, 15]},
        {"user": "Thanks, that is all.", "agent": "You are welcome. Goodbye!",
         "speech_secs": 0.5, "stt_delay": 0.14, "llm_ttfb": 0.35, "tts_ttfb": 0.12, "tokens": [380, 8]},
    ])
}

/// The characters Pipecat's TTS is given for a reply: its text aggregator hands over one
/// sentence at a time, without the space that separated it from the one before.
fn spoken_characters(reply: &str) -> u64 {
    let boundaries = [". ", "! ", "? "]
        .iter()
        .map(|end| reply.matches(end).count())
        .sum::<usize>();
    (reply.len() - boundaries) as u64
}

#[test]
fn a_real_pipecat_pipeline_delivers_its_conversation_as_a_call() {
    let prices = tempfile::tempdir().unwrap();
    let table = price_table(prices.path());
    let fixture = Fixture::with_args(&["--price-table", table.to_str().unwrap()]);
    let script = json!({
        "conversation_id": CONVERSATION,
        "service_name": SERVICE,
        "vad_stop_secs": VAD_STOP_SECS,
        "stt_trailing_silence_secs": STT_TRAILING_SILENCE_SECS,
        "turns": turns(),
    });
    let output = std::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/pipecat_pipeline.py"
        ))
        .args([&fixture.server.base, &fixture.key, &script.to_string()])
        .output()
        .expect("run the Pipecat pipeline");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the pipeline script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let made: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: the script's last line is not its spans:\n{stdout}"));

    let deadline = Instant::now() + Duration::from_secs(15);
    let call = loop {
        let (status, call) = fixture.client().get(&format!("/v1/calls/{CONVERSATION}"));
        if status == 200 && call["status"] == "completed" {
            break call;
        }
        assert!(Instant::now() < deadline, "{status} {call}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let report = format!("{call:#}\nwhat Pipecat made: {made:#}");

    let turns = turns();
    let turns = turns.as_array().unwrap();
    let text = |turn: &Value, key: &str| turn[key].as_str().unwrap().to_owned();
    let expected: Vec<(String, String)> = turns
        .iter()
        .flat_map(|t| {
            [
                ("user".into(), text(t, "user")),
                ("agent".into(), text(t, "agent")),
            ]
        })
        .collect();
    let entries = call["transcript"]["entries"].as_array().unwrap();
    let said: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["role"].as_str().unwrap().to_owned(),
                e["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(said, expected, "{report}");
    // Every turn ended with the caller speaking again or the bot falling quiet, none with
    // the caller cutting the bot off.
    assert!(
        entries
            .iter()
            .all(|e| e["metadata"]["interrupted"].is_null()),
        "{report}"
    );
    assert_eq!(call["agent"]["id"], SERVICE, "{report}");
    assert_eq!(call["metadata"]["otel"]["runtime"], "pipecat", "{report}");
    assert_eq!(
        json!([call["metadata"]["otel"]["trace_id"]]),
        made["trace_ids"],
        "{report}"
    );

    let seconds = |turn: &Value, key: &str| turn[key].as_f64().unwrap();
    let mean_ms = |pick: &dyn Fn(&Value) -> f64| {
        turns.iter().map(pick).sum::<f64>() / turns.len() as f64 * 1_000.0
    };
    let stt = |t: &Value| VAD_STOP_SECS + seconds(t, "stt_delay");
    for (stage, want) in [
        ("transcriber_latency_ms", mean_ms(&stt)),
        ("agent_latency_ms", mean_ms(&|t| seconds(t, "llm_ttfb"))),
        (
            "synthesizer_latency_ms",
            mean_ms(&|t| seconds(t, "tts_ttfb")),
        ),
        (
            "end_to_end_latency_ms",
            mean_ms(&|t| stt(t) + seconds(t, "llm_ttfb") + seconds(t, "tts_ttfb")),
        ),
    ] {
        let got = call["metrics"][stage]["avg"].as_f64().unwrap();
        assert!(
            want - 1.0 <= got && got <= want + SLACK_MS,
            "{stage}: {got} ms, scripted {want} ms\n{report}"
        );
    }

    let sum = |pick: &dyn Fn(&Value) -> f64| turns.iter().map(pick).sum::<f64>();
    let cost = expected_cost(
        sum(&|t| seconds(t, "speech_secs") + VAD_STOP_SECS + STT_TRAILING_SILENCE_SECS),
        sum(&|t| t["tokens"][0].as_f64().unwrap()) as u64,
        sum(&|t| t["tokens"][1].as_f64().unwrap()) as u64,
        turns
            .iter()
            .map(|t| spoken_characters(t["agent"].as_str().unwrap()))
            .sum(),
    );
    assert_eq!(call["cost_micro_usd"], cost.to_string(), "{report}");

    let tree = &call["span_tree"];
    assert_eq!(tree["span_count"], made["span_count"], "{report}");
    assert_eq!(tree["spans"].as_array().unwrap().len(), 1, "{report}");
    let root = &tree["spans"][0];
    assert_eq!(root["name"], "conversation", "{report}");
    let children = |node: &Value| -> Vec<String> {
        node["children"]
            .as_array()
            .map(|c| {
                c.iter()
                    .map(|n| n["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(children(root), vec!["turn"; turns.len()], "{report}");
    for turn in root["children"].as_array().unwrap() {
        assert_eq!(children(turn), ["stt", "llm", "tts"], "{report}");
    }

    let (status, session) = fixture
        .client()
        .get(&format!("/insights/sessions/search/{CONVERSATION}"));
    assert_eq!(status, 200, "{session}");
    assert!(
        session.to_string().contains("Twelve Elm Street"),
        "{session}"
    );
}
