//! LiveKit Agents itself, from PyPI, sending to the real binary what it sends LiveKit Cloud:
//! a livekit-agents 1.7 `AgentSession` in a real `JobContext` (LiveKit's own
//! `fake_job_context`, no LiveKit server) runs a three-turn call with `record=True`, its
//! VAD, STT, LLM, TTS and audio I/O scripted on LiveKit's base classes
//! (`python/livekit_session.py`). With `LIVEKIT_OBSERVABILITY_URL` pointing at Callscope,
//! LiveKit's own code exports the traces, logs and metrics over OTLP and uploads the session
//! report (header, chat history, Ogg/Opus recording), each with a JWT signed by the agent's
//! API secret. The call is read back over `/v1` and `/insights` and checked against the
//! script here and against what LiveKit measured.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Fixture;
use common::otlp::{expected_cost, price_table};
use common::python::{livekit_token, python};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

const API_KEY: &str = "APIcallscopeTest";
const API_SECRET: &str = "a-livekit-api-secret-for-the-test-agent";
const JOB: &str = "AJ_dentalFrontDesk1";
const ROOM: &str = "dental-front-desk";
const AGENT: &str = "front-desk";

/// Three turns: what the caller says and for how long, the reply, the scripted delays in
/// seconds (end of speech to final transcript, LLM time to first token, TTS time to first
/// byte) and the LLM's tokens.
fn turns() -> Value {
    json!([
        {"user": "Hello, I would like an appointment.", "agent": "Of course. What day suits you?",
         "speech": 1.6, "stt_delay": 0.2, "llm_ttft": 0.4, "tts_ttfb": 0.25,
         "input_tokens": 120, "output_tokens": 9},
        {"user": "Tuesday morning, if you can.", "agent": "Tuesday at nine is free. Shall I book it?",
         "speech": 1.4, "stt_delay": 0.3, "llm_ttft": 0.5, "tts_ttfb": 0.2,
         "input_tokens": 150, "output_tokens": 12},
        {"user": "Yes, book it please.", "agent": "Booked. See you on Tuesday!",
         "speech": 1.1, "stt_delay": 0.25, "llm_ttft": 0.35, "tts_ttfb": 0.3,
         "input_tokens": 175, "output_tokens": 8},
    ])
}

fn server() -> Fixture {
    let prices = tempfile::tempdir().unwrap();
    let table = price_table(prices.path());
    let livekit_key = format!("org_a={API_KEY}:{API_SECRET}");
    Fixture::with_args(&[
        "--price-table",
        table.to_str().unwrap(),
        "--livekit-key",
        &livekit_key,
    ])
}

/// Runs the session script against `base` with the agent's LiveKit key; its last stdout
/// line is what LiveKit sent and measured.
fn run_session(base: &str, script: &Value) -> Value {
    let output = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/livekit_session.py"
        ))
        .args([base, &script.to_string()])
        .env("LIVEKIT_API_KEY", API_KEY)
        .env("LIVEKIT_API_SECRET", API_SECRET)
        .output()
        .expect("run the LiveKit session");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the session script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: the script's last line is not its summary:\n{stdout}"))
}

fn post_with_token(base: &str, path: &str, token: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    agent
        .post(&format!("{base}{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/x-protobuf")
        .send(&[][..])
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn a_livekit_agent_session_lands_with_its_transcript_latency_cost_and_recording() {
    let fixture = server();
    let script = json!({
        "job_id": JOB, "room": ROOM, "room_id": "RM_dental1", "agent_name": AGENT,
        "stt": {"provider": "deepgram", "model": "nova-3"},
        "llm": {"provider": "openai", "model": "gpt-4o-mini"},
        "tts": {"provider": "cartesia", "model": "sonic-2"},
        "turns": turns(),
    });
    let sent = run_session(&fixture.server.base, &script);
    let client = fixture.client();

    // The last spans (the root's among them) leave when the job shuts its telemetry down,
    // after the report: the call is whole once the trace has ended and the report is in.
    let deadline = Instant::now() + Duration::from_secs(15);
    let call = loop {
        let (status, call) = client.get(&format!("/v1/calls/{JOB}"));
        if status == 200
            && call["status"] == "completed"
            && call["metadata"]["otel"]["trace_id"].is_string()
            && call["recording_status"] == "available"
            && call["metadata"]["livekit"]["usage"].is_array()
        {
            break call;
        }
        assert!(
            Instant::now() < deadline,
            "{status} {call:#}\nsent: {sent:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let report = format!("{call:#}\nwhat LiveKit sent: {sent:#}");

    assert_eq!(call["agent"]["name"], AGENT, "{report}");
    assert_eq!(call["room_name"], ROOM, "{report}");
    assert_eq!(
        call["metadata"]["livekit"]["room_id"], "RM_dental1",
        "{report}"
    );
    assert_eq!(call["metadata"]["otel"]["runtime"], "livekit", "{report}");
    assert_eq!(
        call["metadata"]["otel"]["trace_id"], sent["trace_id"],
        "{report}"
    );

    let turns = turns();
    let turns = turns.as_array().unwrap();
    let expected: Vec<(&str, &str)> = turns
        .iter()
        .flat_map(|t| {
            [
                ("user", t["user"].as_str().unwrap()),
                ("agent", t["agent"].as_str().unwrap()),
            ]
        })
        .collect();
    let said: Vec<(&str, &str)> = call["transcript"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["role"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    assert_eq!(said, expected, "{report}");

    // LiveKit's clock is the script's (virtual time), so what it measures is what was
    // scripted, to the microsecond; end to end is as LiveKit measured it.
    let mean = |pick: &dyn Fn(&Value) -> f64, of: &[Value]| {
        of.iter().map(pick).sum::<f64>() / of.len() as f64 * 1_000.0
    };
    let scripted = |key: &'static str| move |t: &Value| t[key].as_f64().unwrap();
    let measured = sent["measured"].as_array().unwrap();
    assert_eq!(measured.len(), turns.len(), "{report}");
    for (stage, want) in [
        (
            "transcriber_latency_ms",
            mean(&scripted("stt_delay"), turns),
        ),
        ("agent_latency_ms", mean(&scripted("llm_ttft"), turns)),
        ("synthesizer_latency_ms", mean(&scripted("tts_ttfb"), turns)),
        (
            "end_to_end_latency_ms",
            mean(&scripted("e2e_latency"), measured),
        ),
    ] {
        let got = call["metrics"][stage]["avg"].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1.0,
            "{stage}: {got} ms, want {want} ms\n{report}"
        );
        assert_eq!(call["metrics"][stage]["samples"], turns.len(), "{report}");
    }

    // Priced from the session's own usage report: STT seconds (the spans carry none), LLM
    // tokens, TTS characters.
    let sum = |key: &str| turns.iter().map(|t| t[key].as_f64().unwrap()).sum::<f64>();
    let characters = turns
        .iter()
        .map(|t| t["agent"].as_str().unwrap().chars().count() as u64)
        .sum();
    let cost = expected_cost(
        sum("speech"),
        sum("input_tokens") as u64,
        sum("output_tokens") as u64,
        characters,
    );
    assert_eq!(call["cost_micro_usd"], cost.to_string(), "{report}");
    let components: Vec<&str> = call["report"]["cost_breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["component"].as_str().unwrap())
        .collect();
    for component in ["stt", "llm", "tts"] {
        assert!(components.contains(&component), "{component}\n{report}");
    }

    let tree = &call["span_tree"];
    assert_eq!(tree["span_count"], sent["spans"], "{report}");
    let roots = tree["spans"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "{report}");
    assert_eq!(roots[0]["name"], "agent_session", "{report}");
    let children: Vec<&str> = roots[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    for name in ["user_turn", "agent_turn"] {
        let count = children.iter().filter(|c| **c == name).count();
        assert_eq!(count, turns.len(), "{name}\n{report}");
    }

    // The recording is the Ogg/Opus LiveKit recorded, byte for byte, as long as its pages
    // say; caller left and agent right, so it is the call's dual recording.
    let audio_ms = sent["audio_ms"].as_f64().unwrap();
    let stored_ms = call["recording_duration_ms"].as_f64().unwrap();
    assert!(
        (stored_ms - audio_ms).abs() <= 20.0,
        "{stored_ms} vs {audio_ms}\n{report}"
    );
    assert_eq!(sent["audio_channels"], 2, "{report}");
    assert_eq!(
        call["recording_dual_url"],
        format!("/v1/calls/{JOB}/recording?channels=dual"),
        "{report}"
    );
    let (status, link) = client.get(&format!("/v1/calls/{JOB}/recording?channels=dual"));
    assert_eq!(status, 200, "{link}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(link["url"].as_str().unwrap()).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    assert_eq!(bytes.len() as u64, sent["audio_bytes"].as_u64().unwrap());
    assert!(bytes.starts_with(b"OggS"), "not an Ogg stream");

    let (status, session) = client.get(&format!("/insights/sessions/search/{JOB}"));
    assert_eq!(status, 200, "{session}");
    assert!(session.to_string().contains("Tuesday at nine"), "{session}");
}

#[test]
fn livekit_tokens_are_verified_with_the_organizations_secret() {
    let fixture = server();
    let base = &fixture.server.base;
    let good = livekit_token(API_KEY, API_SECRET, true);
    let forged = livekit_token(API_KEY, "not-the-secret-of-this-api-key", true);
    let ungranted = livekit_token(API_KEY, API_SECRET, false);
    for path in [
        "/observability/traces/otlp/v0",
        "/observability/logs/otlp/v0",
        "/observability/metrics/otlp/v0",
    ] {
        assert_eq!(post_with_token(base, path, &good), 200, "{path}");
        assert_eq!(post_with_token(base, path, &forged), 401, "{path}");
        assert_eq!(post_with_token(base, path, &ungranted), 403, "{path}");
        // An API key of Callscope's is not a LiveKit agent.
        assert_eq!(post_with_token(base, path, &fixture.key), 401, "{path}");
    }
    // Nothing was written by the refused ones (nor by the empty exports).
    let (_, calls) = fixture.client().get("/v1/calls");
    assert_eq!(calls["calls"].as_array().map(Vec::len), Some(0), "{calls}");
}

#[test]
fn a_session_whose_report_comes_before_its_trace_is_one_call() {
    // A short call: no span batch leaves before the job ends, so the report and its usage
    // make the call and the trace, exported at shutdown, takes it over.
    let fixture = server();
    let job = "AJ_shortCall2";
    let script = json!({
        "job_id": job, "room": ROOM, "agent_name": AGENT, "flush_each_turn": false,
        "turns": turns().as_array().unwrap()[..1],
    });
    let sent = run_session(&fixture.server.base, &script);
    let client = fixture.client();
    let deadline = Instant::now() + Duration::from_secs(15);
    let call = loop {
        let (_, call) = client.get(&format!("/v1/calls/{job}"));
        if call["metadata"]["otel"]["trace_id"].is_string() {
            break call;
        }
        assert!(Instant::now() < deadline, "{call:#}\nsent: {sent:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let (_, calls) = client.get("/v1/calls");
    assert_eq!(calls["calls"].as_array().map(Vec::len), Some(1), "{calls}");
    assert_eq!(call["metadata"]["otel"]["trace_id"], sent["trace_id"]);
    assert_eq!(call["span_tree"]["span_count"], sent["spans"], "{call:#}");
    assert_eq!(call["recording_status"], "available", "{call:#}");
    assert!(call["metadata"]["livekit"]["usage"].is_array(), "{call:#}");
    let said: Vec<&str> = call["transcript"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    let first = &turns()[0];
    assert_eq!(
        said,
        [
            first["user"].as_str().unwrap(),
            first["agent"].as_str().unwrap()
        ],
        "{call:#}"
    );
}
