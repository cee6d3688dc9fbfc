//! OTLP/HTTP ingest against the real binary: Pipecat-shaped traces sent as an exporter sends
//! them (in batches, JSON and protobuf, gzip or not, repeated, out of order) become one live
//! call each, read back over `/v1` and `/insights`. Expected transcripts, latencies and costs
//! come from the script below and the test's own price table, never from the server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::otlp::{
    expected_cost, export, export_json, exporter, gzip, price_table, protobuf, span,
};
use common::{Fixture, create_key};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The agent every scripted conversation is from.
const SERVICE: &str = "order-status-bot";

/// One turn of the script: what the caller said, the reply, time to first byte of STT, LLM
/// and TTS (seconds), user-to-bot latency (seconds), tokens in and out, and audio seconds.
struct Turn {
    user: &'static str,
    agent: &'static str,
    ttfb: [f64; 3],
    user_bot: f64,
    tokens: (i64, i64),
    audio_seconds: f64,
}

const SCRIPT: [Turn; 3] = [
    Turn {
        user: "Hello, is my order on its way?",
        agent: "Let me check. What is the order number?",
        ttfb: [0.150, 0.420, 0.210],
        user_bot: 1.200,
        tokens: (200, 10),
        audio_seconds: 3.0,
    },
    Turn {
        user: "It's A B 1 2 3.",
        agent: "Order AB123 arrives tomorrow before noon.",
        ttfb: [0.130, 0.380, 0.190],
        user_bot: 0.950,
        tokens: (240, 10),
        audio_seconds: 2.0,
    },
    Turn {
        user: "Great, thanks!",
        agent: "You're welcome, goodbye.",
        ttfb: [0.110, 0.300, 0.170],
        user_bot: 0.800,
        tokens: (260, 5),
        audio_seconds: 1.0,
    },
];

/// The spans of turn `n` (0-based) of conversation `conversation` in trace `trace`.
fn turn_spans(trace: &str, conversation: &str, n: usize) -> Vec<Value> {
    let turn = &SCRIPT[n];
    let at = 6_000 * n as u64;
    let id = 10 * (n as u64 + 1);
    vec![
        span(
            trace,
            id + 1,
            Some(id),
            "stt",
            at + 100,
            at + 1_800,
            &json!({
            "transcript": turn.user, "is_final": true, "metrics.ttfb": turn.ttfb[0],
            "metrics.audio_seconds": turn.audio_seconds,
            "gen_ai.provider.name": "deepgram", "gen_ai.request.model": "nova-3"}),
        ),
        span(
            trace,
            id + 2,
            Some(id),
            "llm",
            at + 1_900,
            at + 2_900,
            &json!({
            "output": turn.agent, "metrics.ttfb": turn.ttfb[1],
            "gen_ai.usage.input_tokens": turn.tokens.0, "gen_ai.usage.output_tokens": turn.tokens.1,
            "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}),
        ),
        span(
            trace,
            id + 3,
            Some(id),
            "tts",
            at + 3_000,
            at + 4_500,
            &json!({
            "text": turn.agent, "metrics.ttfb": turn.ttfb[2],
            "metrics.character_count": turn.agent.len() as i64,
            "gen_ai.provider.name": "cartesia", "gen_ai.request.model": "sonic-2"}),
        ),
        span(
            trace,
            id,
            Some(1),
            "turn",
            at,
            at + 5_000,
            &json!({
            "turn.number": n as i64 + 1, "conversation.id": conversation,
            "turn.was_interrupted": false, "turn.user_bot_latency_seconds": turn.user_bot}),
        ),
    ]
}

fn root_span(trace: &str, conversation: &str) -> Value {
    span(
        trace,
        1,
        None,
        "conversation",
        0,
        18_000,
        &json!({"conversation.id": conversation, "conversation.type": "voice"}),
    )
}

fn ok_export(
    fixture: &Fixture,
    body: &Value,
    protobuf_encoded: bool,
    gzipped: bool,
) -> ExportTraceServiceResponse {
    let (bytes, kind) = if protobuf_encoded {
        (protobuf(body), "application/x-protobuf")
    } else {
        (body.to_string().into_bytes(), "application/json")
    };
    let bytes = if gzipped { gzip(&bytes) } else { bytes };
    let (status, answered_kind, answer) = export(
        &exporter(),
        &fixture.server.base,
        &fixture.key,
        &bytes,
        kind,
        gzipped,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(
        answered_kind, kind,
        "the answer is in the request's encoding"
    );
    if protobuf_encoded {
        ExportTraceServiceResponse::decode(&answer[..]).unwrap()
    } else {
        serde_json::from_slice(&answer).unwrap()
    }
}

/// The call, once `done` holds of it (the index catches up within its refresh).
fn call_when(fixture: &Fixture, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, call) = fixture.client().get(&format!("/v1/calls/{id}"));
        if status == 200 && done(&call) {
            return call;
        }
        assert!(
            Instant::now() < deadline,
            "call {id} never got there: {status} {call}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn texts(call: &Value) -> Vec<(String, String)> {
    call["transcript"]["entries"]
        .as_array()
        .or_else(|| call["transcript"].as_array())
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["role"].as_str().unwrap().to_owned(),
                e["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expected_texts(turns: usize) -> Vec<(String, String)> {
    SCRIPT[..turns]
        .iter()
        .flat_map(|t| {
            [
                ("user".to_owned(), t.user.to_owned()),
                ("agent".to_owned(), t.agent.to_owned()),
            ]
        })
        .collect()
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[test]
fn a_pipecat_conversation_exported_in_batches_becomes_a_live_call() {
    let prices = tempfile::tempdir().unwrap();
    let table = price_table(prices.path());
    let fixture = Fixture::with_args(&["--price-table", table.to_str().unwrap()]);

    // Turn one as JSON: the call is live with what was said so far.
    let answer = ok_export(
        &fixture,
        &export_json(SERVICE, &turn_spans(TRACE, "conv-77", 0)),
        false,
        false,
    );
    assert_eq!(answer.partial_success, None);
    let live = call_when(&fixture, "conv-77", |call| call["status"] == "in_progress");
    assert_eq!(texts(&live), expected_texts(1));

    // Turns two and three as gzip'd protobuf, then the root span as protobuf: it ends.
    let mut later = turn_spans(TRACE, "conv-77", 1);
    later.extend(turn_spans(TRACE, "conv-77", 2));
    ok_export(&fixture, &export_json(SERVICE, &later), true, true);
    let grown = call_when(&fixture, "conv-77", |call| texts(call).len() == 6);
    assert_eq!(grown["status"], "in_progress");
    ok_export(
        &fixture,
        &export_json(SERVICE, &[root_span(TRACE, "conv-77")]),
        true,
        false,
    );
    let call = call_when(&fixture, "conv-77", |call| call["status"] == "completed");

    assert_eq!(texts(&call), expected_texts(3));
    assert_eq!(call["agent"]["id"], "order-status-bot");
    assert_eq!(call["started_at"], "2026-11-02T10:00:00.000Z");
    assert_eq!(call["ended_at"], "2026-11-02T10:00:18.000Z");
    // Latency: the mean of the script's per-turn values (kept to 0.1 ms).
    let mean = |pick: fn(&Turn) -> f64| SCRIPT.iter().map(pick).sum::<f64>() / 3.0 * 1_000.0;
    let metrics = &call["metrics"];
    for (stage, want) in [
        ("transcriber_latency_ms", mean(|t| t.ttfb[0])),
        ("agent_latency_ms", mean(|t| t.ttfb[1])),
        ("synthesizer_latency_ms", mean(|t| t.ttfb[2])),
        ("end_to_end_latency_ms", mean(|t| t.user_bot)),
    ] {
        let got = metrics[stage]["avg"]
            .as_f64()
            .unwrap_or_else(|| panic!("{stage}: {metrics}"));
        assert!((got - want).abs() <= 0.05, "{stage}: {got} vs {want}");
    }
    // Cost: the script's usage at the test's prices.
    let seconds: f64 = SCRIPT.iter().map(|t| t.audio_seconds).sum();
    let input: i64 = SCRIPT.iter().map(|t| t.tokens.0).sum();
    let output: i64 = SCRIPT.iter().map(|t| t.tokens.1).sum();
    let characters: usize = SCRIPT.iter().map(|t| t.agent.len()).sum();
    let expected = expected_cost(seconds, input as u64, output as u64, characters as u64);
    assert_eq!(
        call["cost_micro_usd"],
        expected.to_string(),
        "{}",
        call["report"]["cost_breakdown"]
    );
    // Every span is in the tree: the root, its three turns, each turn's three services.
    let tree = &call["span_tree"];
    assert_eq!(tree["span_count"], 13);
    assert_eq!(tree["spans"][0]["name"], "conversation");
    let turns = tree["spans"][0]["children"].as_array().unwrap();
    assert_eq!(turns.len(), 3);
    let services: Vec<&str> = turns[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["stt", "llm", "tts"]);
    assert_eq!(
        turns[1]["children"][1]["attributes"]["gen_ai.usage.input_tokens"],
        SCRIPT[1].tokens.0
    );

    // The same call through seed 001's API, and by full-text search.
    let (status, session) = fixture.client().get("/insights/sessions/search/conv-77");
    assert_eq!(status, 200, "{session}");
    assert!(session.to_string().contains("AB123"), "{session}");
    let search =
        json!({"query": {"match": {"transcript.text": "AB123 tomorrow"}}, "fields": ["id"]});
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, found) = fixture.client().post("/v1/calls/query", &search);
        if common::call_ids(&found, "calls") == ["conv-77"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never found by its words: {found}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn repeated_and_reordered_batches_give_the_same_call() {
    let fixture = Fixture::new();
    let mut all: Vec<Value> = (0..3)
        .flat_map(|n| turn_spans(TRACE, "conv-a", n))
        .collect();
    all.push(root_span(TRACE, "conv-a"));
    for chunk in all.chunks(4) {
        ok_export(&fixture, &export_json(SERVICE, chunk), true, false);
    }
    // Ended, and its post-call report written.
    let first = call_when(&fixture, "conv-a", |call| {
        !call["report"]["analysis_status"].is_null()
    });
    // A retry of every batch changes nothing, not even `updated_at`.
    for chunk in all.chunks(4) {
        ok_export(&fixture, &export_json(SERVICE, chunk), false, true);
    }
    let (_, again) = fixture.client().get("/v1/calls/conv-a");
    assert_eq!(again, first);

    // The same spans under another trace, newest batch first: the same call but for ids.
    let other = "0af7651916cd43dd8448eb211c80319c";
    let mut reversed: Vec<Value> = (0..3)
        .flat_map(|n| turn_spans(other, "conv-b", n))
        .collect();
    reversed.push(root_span(other, "conv-b"));
    reversed.reverse();
    for chunk in reversed.chunks(3) {
        ok_export(&fixture, &export_json(SERVICE, chunk), true, true);
    }
    let second = call_when(&fixture, "conv-b", |call| {
        !call["report"]["analysis_status"].is_null()
    });
    for field in [
        "status",
        "started_at",
        "ended_at",
        "metrics",
        "cost_micro_usd",
        "agent",
    ] {
        assert_eq!(second[field], first[field], "{field}");
    }
    assert_eq!(texts(&second), texts(&first));
}

#[test]
fn a_malformed_span_is_refused_alone_with_partial_success() {
    let fixture = Fixture::new();
    let mut spans = turn_spans(TRACE, "conv-p", 0);
    spans[0]["spanId"] = json!("abcd");
    spans[2]["endTimeUnixNano"] = json!("5");
    let answer = ok_export(&fixture, &export_json(SERVICE, &spans), false, false);
    let partial = answer.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("span_id"),
        "{}",
        partial.error_message
    );
    assert!(
        partial.error_message.contains("end_time_unix_nano"),
        "{}",
        partial.error_message
    );
    // The turn and the LLM span landed: the reply is there, the refused STT words are not.
    let call = call_when(&fixture, "conv-p", |_| true);
    assert_eq!(
        texts(&call),
        [("agent".to_owned(), SCRIPT[0].agent.to_owned())]
    );
}

/// A refusal's `google.rpc.Status`, from either encoding.
fn status_of(kind: &str, body: &[u8]) -> (i64, String) {
    if kind == "application/json" {
        let value: Value = serde_json::from_slice(body).unwrap();
        (
            value["code"].as_i64().unwrap(),
            value["message"].as_str().unwrap().to_owned(),
        )
    } else {
        // google.rpc.Status: code (1, varint) and message (2, string).
        #[derive(Clone, PartialEq, prost::Message)]
        struct Status {
            #[prost(int32, tag = "1")]
            code: i32,
            #[prost(string, tag = "2")]
            message: String,
        }
        let status = Status::decode(body).unwrap();
        (i64::from(status.code), status.message)
    }
}

#[test]
fn bad_keys_and_bad_bodies_get_otlp_statuses_and_store_nothing() {
    let fixture = Fixture::with_args(&["--otlp-max-decompressed-bytes", "4096"]);
    let base = fixture.server.base.clone();
    let body = export_json(SERVICE, &turn_spans(TRACE, "conv-x", 0));
    let reader = create_key(&fixture.data_dir(), "org_a", "read");
    // (key, body, content type, gzip'd, status, gRPC code, what the message says)
    type Case<'a> = (&'a str, Vec<u8>, &'a str, bool, u16, i64, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "cs_0000000000000000000000000000000000000000",
            protobuf(&body),
            "application/x-protobuf",
            false,
            401,
            16,
            "nauthorized",
        ),
        (
            reader.as_str(),
            body.to_string().into_bytes(),
            "application/json",
            false,
            403,
            7,
            "write",
        ),
        (
            fixture.key.as_str(),
            b"\x0a\xff\xff".to_vec(),
            "application/x-protobuf",
            false,
            400,
            3,
            "ExportTraceServiceRequest",
        ),
        (
            fixture.key.as_str(),
            b"{\"resourceSpans\": 7}".to_vec(),
            "application/json",
            false,
            400,
            3,
            "OTLP/JSON",
        ),
        (
            fixture.key.as_str(),
            protobuf(&body),
            "text/plain",
            false,
            415,
            3,
            "Content-Type",
        ),
        (
            fixture.key.as_str(),
            b"not gzip".to_vec(),
            "application/json",
            true,
            400,
            3,
            "gzip",
        ),
        (
            fixture.key.as_str(),
            gzip(&vec![b' '; 100_000]),
            "application/json",
            true,
            413,
            8,
            "otlp_max_decompressed_bytes",
        ),
    ];
    for (key, bytes, kind, gzipped, want_status, want_code, says) in cases {
        let (status, answered, answer) = export(&exporter(), &base, key, &bytes, kind, gzipped);
        assert_eq!(
            status,
            want_status,
            "{kind}: {}",
            String::from_utf8_lossy(&answer)
        );
        let (code, message) = status_of(&answered, &answer);
        assert_eq!(code, want_code, "{message}");
        assert!(message.contains(says), "{message}");
    }
    assert_eq!(fixture.client().get("/v1/calls/conv-x").0, 404);
}

#[test]
fn a_conversation_that_stops_exporting_is_closed_by_the_idle_timeout() {
    let fixture = Fixture::with_args(&["--otlp-idle-timeout-ms", "500"]);
    ok_export(
        &fixture,
        &export_json(SERVICE, &turn_spans(TRACE, "conv-idle", 0)),
        true,
        false,
    );
    let closed = call_when(&fixture, "conv-idle", |call| call["status"] == "completed");
    assert_eq!(closed["disconnection_reason"], "timeout");
    assert_eq!(
        closed["ended_at"], "2026-11-02T10:00:05.000Z",
        "when its last span ended"
    );
    assert_eq!(texts(&closed), expected_texts(1));
}

#[test]
fn an_uncompressed_export_past_the_api_body_limit_is_taken() {
    // Exporters send uncompressed by default, and LLM spans carry whole prompts: 200 of them
    // with 30 KB each is past the 4 MiB of other routes, within the OTLP limit.
    let fixture = Fixture::new();
    let prompt = "Answer briefly and politely. ".repeat(1_050);
    let trace = "1234567890abcdef1234567890abcdef";
    let spans: Vec<Value> = (0..200)
        .map(|n| {
            span(
                trace,
                100 + n,
                None,
                "llm",
                n * 10,
                n * 10 + 5,
                &json!({
                "input": prompt, "output": format!("reply {n}"), "conversation.id": "conv-big"}),
            )
        })
        .collect();
    let body = protobuf(&export_json(SERVICE, &spans));
    assert!(body.len() > 4 * 1024 * 1024, "{}", body.len());
    let (status, _, answer) = export(
        &exporter(),
        &fixture.server.base,
        &fixture.key,
        &body,
        "application/x-protobuf",
        false,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let call = call_when(&fixture, "conv-big", |call| texts(call).len() == 200);
    assert_eq!(texts(&call)[199].1, "reply 199");
}
