//! The decoder and the Pipecat mapper on scripted traces: expected values are the script's,
//! never read back from the code under test.

use super::*;
use callscope_analysis::PriceTable;
use callscope_model::{Role, Timestamp};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::json;

const TRACE: [u8; 16] = [0xab; 16];
/// 2026-11-02T10:00:00Z.
const T0: u64 = 1_793_613_600_000_000_000;
const MS: u64 = 1_000_000;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn s(key: &str, text: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(text.into()))
}

fn f(key: &str, number: f64) -> KeyValue {
    kv(key, any_value::Value::DoubleValue(number))
}

fn i(key: &str, number: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(number))
}

fn b(key: &str, flag: bool) -> KeyValue {
    kv(key, any_value::Value::BoolValue(flag))
}

fn span(
    id: u8,
    parent: Option<u8>,
    name: &str,
    from_ms: u64,
    to_ms: u64,
    attributes: Vec<KeyValue>,
) -> Span {
    Span {
        trace_id: TRACE.to_vec(),
        span_id: vec![0, 0, 0, 0, 0, 0, 0, id],
        parent_span_id: parent
            .map(|p| vec![0, 0, 0, 0, 0, 0, 0, p])
            .unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: T0 + from_ms * MS,
        end_time_unix_nano: T0 + to_ms * MS,
        attributes,
        ..Span::default()
    }
}

/// The script: three turns of (user words, agent reply, stt/llm/tts ttfb in seconds,
/// user→bot latency in seconds, input and output tokens, characters spoken, audio seconds).
struct Turn {
    user: &'static str,
    agent: &'static str,
    ttfb: (f64, f64, f64),
    user_bot: f64,
    tokens: (i64, i64),
    audio_seconds: f64,
}

const TURNS: [Turn; 3] = [
    Turn {
        user: "Hi, I'd like to book a table.",
        agent: "Sure, for how many people?",
        ttfb: (0.12, 0.35, 0.20),
        user_bot: 0.9,
        tokens: (120, 9),
        audio_seconds: 2.5,
    },
    Turn {
        user: "Four, tonight at eight.",
        agent: "Booked: four people at 8 pm.",
        ttfb: (0.10, 0.41, 0.22),
        user_bot: 1.1,
        tokens: (150, 11),
        audio_seconds: 2.0,
    },
    Turn {
        user: "Thanks, bye.",
        agent: "Goodbye!",
        ttfb: (0.14, 0.30, 0.18),
        user_bot: 0.8,
        tokens: (170, 3),
        audio_seconds: 1.0,
    },
];

/// A Pipecat trace of the script: root `conversation`, a `turn` per turn, and its `stt`,
/// `llm` and `tts` spans (1.x names, or the older `*_<service>` ones with `ttfb_ms`).
fn pipecat_spans(old_names: bool, with_root: bool) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut clock = 0;
    for (n, turn) in TURNS.iter().enumerate() {
        let base = 10 * (n as u8 + 1);
        let turn_id = base;
        let (stt, llm, tts) = if old_names {
            (
                "stt_deepgramsttservice",
                "llm_openaillmservice",
                "tts_cartesiattsservice",
            )
        } else {
            ("stt", "llm", "tts")
        };
        let ttfb = |key_seconds: f64| {
            if old_names {
                f("metrics.ttfb_ms", key_seconds * 1000.0)
            } else {
                f("metrics.ttfb", key_seconds)
            }
        };
        let provider = if old_names {
            "gen_ai.system"
        } else {
            "gen_ai.provider.name"
        };
        spans.push(span(
            turn_id,
            Some(1),
            "turn",
            clock,
            clock + 4000,
            vec![
                i("turn.number", n as i64 + 1),
                s("conversation.id", "conv-42"),
                b("turn.was_interrupted", n == 1),
                f("turn.user_bot_latency_seconds", turn.user_bot),
            ],
        ));
        spans.push(span(
            base + 1,
            Some(turn_id),
            stt,
            clock + 100,
            clock + 1500,
            vec![
                s("transcript", turn.user),
                b("is_final", true),
                ttfb(turn.ttfb.0),
                f("metrics.audio_seconds", turn.audio_seconds),
                s(provider, "deepgram"),
                s("gen_ai.request.model", "nova-3"),
            ],
        ));
        // An interim transcript: never a transcript entry.
        spans.push(span(
            base + 4,
            Some(turn_id),
            stt,
            clock + 90,
            clock + 95,
            vec![
                s("transcript", "interim words"),
                b("is_final", false),
                s(provider, "deepgram"),
            ],
        ));
        spans.push(span(
            base + 2,
            Some(turn_id),
            llm,
            clock + 1600,
            clock + 2500,
            vec![
                s("output", turn.agent),
                ttfb(turn.ttfb.1),
                i("gen_ai.usage.input_tokens", turn.tokens.0),
                i("gen_ai.usage.output_tokens", turn.tokens.1),
                s(provider, "openai"),
                s("gen_ai.request.model", "gpt-4o-mini"),
            ],
        ));
        spans.push(span(
            base + 3,
            Some(turn_id),
            tts,
            clock + 2600,
            clock + 3900,
            vec![
                s("text", turn.agent),
                ttfb(turn.ttfb.2),
                i("metrics.character_count", turn.agent.len() as i64),
                s(provider, "cartesia"),
                s("gen_ai.request.model", "sonic-2"),
            ],
        ));
        clock += 5000;
    }
    if with_root {
        spans.push(span(
            1,
            None,
            "conversation",
            0,
            clock,
            vec![
                s("conversation.id", "conv-42"),
                s("conversation.type", "voice"),
            ],
        ));
    }
    spans
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![s("service.name", "table-booker")],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

fn decoded(spans: Vec<Span>) -> Vec<TraceSpan> {
    let batch = decode(&request(spans).encode_to_vec(), Encoding::Protobuf)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(batch.refused.is_empty(), "{:?}", batch.refused);
    batch.spans
}

fn call_of(spans: &[TraceSpan], idle_closed: bool) -> callscope_model::Call {
    let prices = PriceTable::default();
    derive_call(&TraceInput {
        organization_id: "org_a",
        trace_id: &"ab".repeat(16),
        call_id: None,
        spans,
        existing: None,
        idle_closed,
        now: Timestamp::from_millis(1_793_613_700_000).unwrap_or_else(Timestamp::now),
        prices: &prices,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_pipecat_trace_becomes_its_conversation() {
    for old_names in [false, true] {
        let call = call_of(&decoded(pipecat_spans(old_names, true)), false);
        assert_eq!(call.id, "conv-42");
        assert_eq!(call.status.as_str(), "completed");
        assert_eq!(call.agent.id.as_deref(), Some("table-booker"));
        assert_eq!(
            call.started_at.map(|t| t.as_millis()),
            Some((T0 / MS) as i64)
        );
        assert_eq!(
            call.ended_at.map(|t| t.as_millis()),
            Some((T0 / MS) as i64 + 15_000)
        );
        let said: Vec<(Role, &str)> = call
            .transcript
            .iter()
            .map(|e| (e.role, e.text.as_str()))
            .collect();
        let expected: Vec<(Role, &str)> = TURNS
            .iter()
            .flat_map(|t| [(Role::User, t.user), (Role::Agent, t.agent)])
            .collect();
        assert_eq!(said, expected, "old names: {old_names}");
        // The second turn was interrupted; its reply says so.
        assert_eq!(
            call.transcript[3]
                .metadata
                .as_ref()
                .map(|m| m["interrupted"].clone()),
            Some(json!(true))
        );
        assert_eq!(call.transcript[0].start_ms, Some(100));
        let metrics = call.metrics.as_ref().unwrap_or_else(|| panic!("metrics"));
        let mean = |pick: fn(&Turn) -> f64| TURNS.iter().map(pick).sum::<f64>() / 3.0 * 1000.0;
        // Latency statistics are kept to a tenth of a millisecond.
        let close = |got: Option<f64>, want: f64| {
            assert!(
                got.is_some_and(|g| (g - want).abs() <= 0.05),
                "{got:?} vs {want}"
            );
        };
        close(
            metrics.transcriber_latency_ms.as_ref().and_then(|s| s.avg),
            mean(|t| t.ttfb.0),
        );
        close(
            metrics.agent_latency_ms.as_ref().and_then(|s| s.avg),
            mean(|t| t.ttfb.1),
        );
        close(
            metrics.synthesizer_latency_ms.as_ref().and_then(|s| s.avg),
            mean(|t| t.ttfb.2),
        );
        close(
            metrics.end_to_end_latency_ms.as_ref().and_then(|s| s.avg),
            mean(|t| t.user_bot),
        );
        // Cost: the default price table's, line by line.
        let cost = call.cost.as_ref().unwrap_or_else(|| panic!("cost"));
        let units = |component: &str, unit: &str| -> f64 {
            cost.breakdown
                .iter()
                .filter(|line| {
                    line.component.as_str() == component && line.unit.as_deref() == Some(unit)
                })
                .filter_map(|line| line.units)
                .sum()
        };
        assert_eq!(
            units("llm", "input_tokens"),
            TURNS.iter().map(|t| t.tokens.0 as f64).sum::<f64>()
        );
        assert_eq!(
            units("llm", "output_tokens"),
            TURNS.iter().map(|t| t.tokens.1 as f64).sum::<f64>()
        );
        assert_eq!(
            units("tts", "characters"),
            TURNS.iter().map(|t| t.agent.len() as f64).sum::<f64>()
        );
        assert_eq!(units("stt", "seconds"), 5.5);
        let tree = call
            .span_tree
            .as_ref()
            .unwrap_or_else(|| panic!("span tree"));
        assert_eq!(tree["span_count"], json!(16));
        assert_eq!(tree["spans"][0]["name"], "conversation");
        assert_eq!(
            tree["spans"][0]["children"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(
            tree["spans"][0]["children"][0]["children"]
                .as_array()
                .map(Vec::len),
            Some(4)
        );
    }
}

#[test]
fn the_same_spans_in_any_order_or_repeated_make_the_same_call() {
    let spans = decoded(pipecat_spans(false, true));
    let once = call_of(&spans, false);
    let mut shuffled = spans.clone();
    shuffled.reverse();
    shuffled.rotate_left(5);
    let mut doubled = spans.clone();
    doubled.extend(spans.iter().take(7).cloned());
    assert_eq!(call_of(&shuffled, false), once);
    // The store keeps a span once; a repeat seen here must not add a transcript entry.
    let mut seen = std::collections::HashSet::new();
    doubled.retain(|span| seen.insert(span.span_id.clone()));
    assert_eq!(call_of(&doubled, false), once);
}

#[test]
fn a_conversation_without_its_root_is_in_progress_until_closed_as_timed_out() {
    let spans = decoded(pipecat_spans(false, false));
    let live = call_of(&spans, false);
    assert_eq!(live.status.as_str(), "in_progress");
    assert_eq!(live.ended_at, None);
    assert_eq!(live.transcript.len(), 6);
    let closed = call_of(&spans, true);
    assert_eq!(closed.status.as_str(), "completed");
    assert_eq!(
        closed.disconnection_reason.map(|r| r.as_str()),
        Some("timeout")
    );
    // Ended when the last span did: the third turn.
    assert_eq!(
        closed.ended_at.map(|t| t.as_millis()),
        Some((T0 / MS) as i64 + 10_000 + 4_000)
    );
}

#[test]
fn a_malformed_span_is_refused_alone() {
    let mut spans = pipecat_spans(false, true);
    spans[0].trace_id = vec![1, 2, 3];
    spans[1].span_id = vec![0; 8];
    spans[2].end_time_unix_nano = spans[2].start_time_unix_nano - 1;
    spans[3].name = String::new();
    let batch = decode(&request(spans).encode_to_vec(), Encoding::Protobuf)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(batch.spans.len(), 12);
    assert_eq!(batch.refused.len(), 4, "{:?}", batch.refused);
    assert!(batch.refused[0].contains("trace_id"), "{:?}", batch.refused);
    assert!(batch.refused[1].contains("span_id"));
    assert!(batch.refused[2].contains("end_time_unix_nano"));
    assert!(batch.refused[3].contains("name"));
    assert!(matches!(
        decode(b"\xff\xff\xff", Encoding::Protobuf),
        Err(DecodeError(_))
    ));
}

#[test]
fn otlp_json_decodes_like_protobuf_and_keeps_empty_values() {
    let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "table-booker"}}]},
        "scopeSpans": [{"scope": {"name": "pipecat"}, "spans": [{
            "traceId": "abababababababababababababababab",
            "spanId": "0000000000000001",
            "name": "conversation",
            "kind": 1,
            "startTimeUnixNano": T0.to_string(),
            "endTimeUnixNano": (T0 + 5 * MS).to_string(),
            "attributes": [
                {"key": "conversation.id", "value": {"stringValue": "conv-42"}},
                {"key": "empty", "value": {}},
                {"key": "count", "value": {"intValue": "7"}},
                {"key": "list", "value": {"arrayValue": {"values": [{"boolValue": true}, {"doubleValue": 0.5}]}}}
            ],
            "status": {"code": 2, "message": "boom"}
        }]}]
    }]});
    let batch =
        decode(body.to_string().as_bytes(), Encoding::Json).unwrap_or_else(|e| panic!("{e}"));
    assert!(batch.refused.is_empty());
    let span = &batch.spans[0];
    assert_eq!(span.trace_id, "ab".repeat(16));
    assert_eq!(span.span_id, "0000000000000001");
    assert_eq!(span.parent_span_id, None);
    assert_eq!(span.attributes["empty"], json!(null));
    assert_eq!(span.attributes["count"], json!(7));
    assert_eq!(span.attributes["list"], json!([true, 0.5]));
    assert_eq!(span.resource["service.name"], json!("table-booker"));
    assert_eq!(span.scope.as_deref(), Some("pipecat"));
    assert_eq!(
        span.status
            .as_ref()
            .map(|s| (s.code.as_str(), s.message.as_str())),
        Some(("error", "boom"))
    );
    assert!(decode(b"{\"resourceSpans\": 5}", Encoding::Json).is_err());
}

#[test]
fn long_values_are_cut_and_the_tree_is_bounded() {
    let long = "é".repeat(MAX_STRING_BYTES);
    let mut spans = vec![span(
        1,
        None,
        "conversation",
        0,
        10,
        vec![s("input", &long)],
    )];
    spans.extend((0..MAX_TREE_SPANS as u64 + 5).map(|n| {
        let mut child = span(2, Some(1), "llm", n, n + 1, Vec::new());
        child.span_id = (n + 2).to_be_bytes().to_vec();
        child
    }));
    let spans = decoded(spans);
    let kept = spans[0].attributes["input"].as_str().unwrap_or_default();
    assert!(kept.len() <= MAX_STRING_BYTES + '…'.len_utf8() && kept.ends_with('…'));
    let tree = span_tree(&spans);
    assert_eq!(tree["omitted_spans"], json!(6));
    let root_text = tree["spans"][0]["attributes"]["input"]
        .as_str()
        .unwrap_or_default();
    assert!(root_text.len() < 1_100, "{}", root_text.len());
}

/// Seeded fuzz of the decoder and the mapper: byte flips, cuts and splices of a real export
/// (protobuf and JSON) never panic, and whatever decodes derives a call or a clear refusal.
#[test]
fn mangled_exports_never_panic() {
    let seed: u64 = std::env::var("CALLSCOPE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_203);
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let export = request(pipecat_spans(false, true));
    let protobuf = export.encode_to_vec();
    let json_body = serde_json::to_vec(&export).unwrap_or_default();
    let prices = PriceTable::default();
    let mut decoded = 0;
    for case in 0..3_000 {
        let (original, encoding) = if case % 2 == 0 {
            (&protobuf, Encoding::Protobuf)
        } else {
            (&json_body, Encoding::Json)
        };
        let mut bytes = original.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % bytes.len().max(1);
            match next() % 4 {
                0 => bytes[at] ^= 1 << (next() % 8),
                1 => bytes.truncate(at),
                2 => bytes.insert(at, next() as u8),
                _ => {
                    let from = (next() as usize) % original.len();
                    let run = &original[from..original.len().min(from + 16)];
                    bytes.splice(at..at, run.iter().copied());
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        let Ok(batch) = decode(&bytes, encoding) else {
            continue;
        };
        decoded += 1;
        let mut traces: std::collections::BTreeMap<&str, Vec<TraceSpan>> = Default::default();
        for span in &batch.spans {
            traces.entry(&span.trace_id).or_default().push(span.clone());
        }
        for (trace_id, spans) in traces {
            // A refusal is fine; a panic is not.
            let _ = derive_call(&TraceInput {
                organization_id: "org_a",
                trace_id,
                call_id: None,
                spans: &spans,
                existing: None,
                idle_closed: case % 3 == 0,
                now: Timestamp::now(),
                prices: &prices,
            });
        }
    }
    assert!(
        decoded > 100,
        "only {decoded} cases decoded: the mutations are too harsh"
    );
}

/// A LiveKit Agents session of two turns, the second calling a tool, in 1.7's attribute
/// names or the older ones without `pii.`.
fn livekit_spans(old_names: bool) -> Vec<Span> {
    let pii = |key: &str| {
        if old_names {
            key.replace("lk.pii.", "lk.")
        } else {
            key.to_owned()
        }
    };
    let mut spans = vec![span(
        1,
        None,
        "agent_session",
        0,
        20_000,
        vec![
            s("lk.job_id", "AJ_9kQ2"),
            s("lk.agent_name", "concierge"),
            s(&pii("lk.pii.room_name"), "room-7"),
        ],
    )];
    let turns = [
        (
            "What time do you open?",
            "We open at nine.",
            0.21,
            0.33,
            0.12,
            1.05,
            180,
            6,
        ),
        (
            "Book me for ten tomorrow.",
            "You're booked for ten tomorrow.",
            0.18,
            0.41,
            0.15,
            1.30,
            240,
            9,
        ),
    ];
    for (n, (user, agent, delay, ttft, ttfb, e2e, input, output)) in turns.into_iter().enumerate() {
        let at = n as u64 * 10_000;
        let base = 10 * (n as u8 + 1);
        spans.push(span(
            base,
            Some(1),
            "user_turn",
            at,
            at + 2_000,
            vec![
                s(&pii("lk.pii.user_transcript"), user),
                f("lk.transcription_delay", delay),
                f("lk.transcript_confidence", 0.9),
            ],
        ));
        spans.push(span(
            base + 1,
            Some(1),
            "agent_turn",
            at + 2_100,
            at + 6_000,
            vec![
                s(&pii("lk.pii.response.text"), agent),
                f("lk.e2e_latency", e2e),
                b("lk.interrupted", false),
            ],
        ));
        spans.push(span(
            base + 2,
            Some(base + 1),
            "llm_node",
            at + 2_150,
            at + 2_900,
            vec![f("lk.response.ttft", ttft)],
        ));
        spans.push(span(
            base + 3,
            Some(base + 2),
            "llm_request",
            at + 2_160,
            at + 2_880,
            vec![
                i("gen_ai.usage.input_tokens", input),
                i("gen_ai.usage.output_tokens", output),
                s("gen_ai.provider.name", "openai"),
                s("gen_ai.request.model", "gpt-4o-mini"),
            ],
        ));
        if n == 1 {
            spans.push(span(
                base + 6,
                Some(base + 1),
                "function_tool",
                at + 2_950,
                at + 3_050,
                vec![
                    s("lk.function_tool.name", "book_slot"),
                    s(
                        &pii("lk.pii.function_tool.arguments"),
                        "{\"time\": \"10:00\"}",
                    ),
                    s(&pii("lk.pii.function_tool.output"), "booked"),
                ],
            ));
        }
        spans.push(span(
            base + 4,
            Some(base + 1),
            "tts_node",
            at + 3_100,
            at + 5_900,
            vec![f("lk.response.ttfb", ttfb)],
        ));
        spans.push(span(
            base + 5,
            Some(base + 4),
            "tts_request",
            at + 3_110,
            at + 5_800,
            vec![
                s(&pii("lk.pii.input_text"), agent),
                s("gen_ai.provider.name", "cartesia"),
            ],
        ));
    }
    spans
}

#[test]
fn a_livekit_session_becomes_its_conversation() {
    for old_names in [false, true] {
        let call = call_of(&decoded(livekit_spans(old_names)), false);
        assert_eq!(call.id, "AJ_9kQ2", "old names: {old_names}");
        assert_eq!(call.status.as_str(), "completed");
        assert_eq!(call.agent.id.as_deref(), Some("concierge"));
        assert_eq!(call.room_name.as_deref(), Some("room-7"));
        let said: Vec<(Role, &str)> = call
            .transcript
            .iter()
            .map(|e| (e.role, e.text.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                (Role::User, "What time do you open?"),
                (Role::Agent, "We open at nine."),
                (Role::User, "Book me for ten tomorrow."),
                (Role::Tool, "book_slot"),
                (Role::Agent, "You're booked for ten tomorrow."),
            ]
        );
        let tool = call.transcript[3]
            .metadata
            .as_ref()
            .unwrap_or_else(|| panic!("tool details"));
        assert_eq!(tool["arguments"], json!("{\"time\": \"10:00\"}"));
        assert_eq!(tool["output"], json!("booked"));
        let metrics = call.metrics.as_ref().unwrap_or_else(|| panic!("metrics"));
        let avg = |stats: &Option<callscope_model::LatencyStats>| {
            stats.as_ref().and_then(|s| s.avg).unwrap_or(-1.0)
        };
        let close = |got: f64, want: f64| assert!((got - want).abs() <= 0.05, "{got} vs {want}");
        close(avg(&metrics.transcriber_latency_ms), (210.0 + 180.0) / 2.0);
        close(avg(&metrics.agent_latency_ms), (330.0 + 410.0) / 2.0);
        close(avg(&metrics.synthesizer_latency_ms), (120.0 + 150.0) / 2.0);
        close(avg(&metrics.end_to_end_latency_ms), (1050.0 + 1300.0) / 2.0);
        let cost = call.cost.as_ref().unwrap_or_else(|| panic!("cost"));
        let units = |unit: &str| -> f64 {
            cost.breakdown
                .iter()
                .filter(|line| line.unit.as_deref() == Some(unit))
                .filter_map(|line| line.units)
                .sum()
        };
        assert_eq!(units("input_tokens"), 420.0);
        assert_eq!(units("output_tokens"), 15.0);
        assert_eq!(
            units("characters"),
            ("We open at nine.".len() + "You're booked for ten tomorrow.".len()) as f64
        );
    }
}
