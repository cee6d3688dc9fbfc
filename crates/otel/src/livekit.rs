//! LiveKit Agents' traces (`livekit-agents/livekit/agents/telemetry/trace_types.py`, and the
//! spans of `voice/agent_session.py`, `voice/audio_recognition.py`, `voice/agent_activity.py`,
//! `voice/generation.py`, `llm/llm.py`, `tts/tts.py`), read as a conversation.
//!
//! One trace per session: the root `agent_session` (`lk.job_id`, `lk.agent_name`,
//! `lk.pii.room_name`), a `user_turn` per committed user turn (`lk.pii.user_transcript`,
//! `lk.transcription_delay` in seconds), an `agent_turn` per reply (`lk.pii.response.text`,
//! `lk.e2e_latency` in seconds, `lk.interrupted`) holding `llm_node` (`lk.response.ttft`),
//! `llm_request` (`gen_ai.usage.*`, `gen_ai.provider.name`, `gen_ai.request.model`),
//! `tts_node` (`lk.response.ttfb`, and the TTS's `gen_ai.provider.name` and model),
//! `tts_request` (`lk.pii.input_text`) and `function_tool`
//! (`lk.function_tool.name`, `lk.pii.function_tool.arguments`, `…output`) spans. Releases
//! before 1.7 named the content keys without `pii.` (`lk.user_transcript`, …): both are read.
//! No span carries speech-to-text usage; the session report's usage does
//! (`livekit_report.rs`).

use crate::conversation::{Conversation, Utterance};
use crate::span::{Ancestry, TraceSpan, by_start};
use callscope_model::{CostComponent, LatencySample, Role, UsageRecord, UsageUnit};
use serde_json::json;
use std::collections::HashMap;

/// Whether a trace is LiveKit Agents'.
pub(crate) fn recognizes(spans: &[TraceSpan]) -> bool {
    spans.iter().any(|span| {
        matches!(
            span.name.as_str(),
            "agent_session" | "user_turn" | "agent_turn"
        ) || span.attributes.keys().any(|key| key.starts_with("lk."))
    })
}

const USER_TRANSCRIPT: &[&str] = &["lk.pii.user_transcript", "lk.user_transcript"];
const RESPONSE_TEXT: &[&str] = &["lk.pii.response.text", "lk.response.text"];
const TTS_INPUT: &[&str] = &["lk.pii.input_text", "lk.input_text"];
/// `job_id` is what LiveKit's own exporter (`_setup_cloud_tracer`) stamps on every span.
const JOB_ID: &[&str] = &["lk.job_id", "job_id"];
const ROOM: &[&str] = &["lk.pii.room_name", "lk.room_name"];
const TOOL_ARGUMENTS: &[&str] = &[
    "lk.pii.function_tool.arguments",
    "lk.function_tool.arguments",
];
const TOOL_OUTPUT: &[&str] = &["lk.pii.function_tool.output", "lk.function_tool.output"];
const PROVIDER: &[&str] = &["gen_ai.provider.name", "gen_ai.system"];
const MODEL: &[&str] = &["gen_ai.request.model"];

/// Seconds as milliseconds, when they are a sane duration.
fn seconds_ms(span: &TraceSpan, keys: &[&str]) -> Option<f64> {
    span.number(keys)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s * 1_000.0)
}

/// The conversation of a LiveKit Agents trace.
pub(crate) fn read(spans: &[TraceSpan]) -> Conversation {
    let ancestry = Ancestry::of(spans);
    let root = spans.iter().find(|span| span.name == "agent_session");
    let agent_turn_of = |span: &TraceSpan| {
        ancestry
            .nearest(span, "agent_turn")
            .map(|turn| turn.span_id.as_str())
    };
    let ordered = by_start(spans);

    // Agent turns in order are the conversation's turns: turn n is the nth reply, with the
    // user turn before it.
    let agent_turns: Vec<&TraceSpan> = ordered
        .iter()
        .copied()
        .filter(|s| s.name == "agent_turn")
        .collect();
    let number_of: HashMap<&str, u32> = agent_turns
        .iter()
        .enumerate()
        .map(|(at, span)| {
            (
                span.span_id.as_str(),
                u32::try_from(at + 1).unwrap_or(u32::MAX),
            )
        })
        .collect();
    let mut samples: Vec<LatencySample> = agent_turns
        .iter()
        .enumerate()
        .map(|(at, turn)| LatencySample {
            turn: u32::try_from(at + 1).unwrap_or(u32::MAX),
            end_to_end_ms: seconds_ms(turn, &["lk.e2e_latency"]),
            ..LatencySample::default()
        })
        .collect();

    let mut utterances = Vec::new();
    let mut usage = Vec::new();
    for span in &ordered {
        let provider = span.text(PROVIDER).map(str::to_owned);
        let model = span.text(MODEL).map(str::to_owned);
        let turn = agent_turn_of(span)
            .and_then(|id| number_of.get(id))
            .copied();
        let slot = turn.and_then(|n| (n as usize).checked_sub(1));
        match span.name.as_str() {
            "user_turn" => {
                if let Some(text) = span.text(USER_TRANSCRIPT) {
                    utterances.push(Utterance::of(span, Role::User, text, None, None));
                }
                // Its transcription delay is the transcriber's part of the next reply.
                let next = agent_turns
                    .iter()
                    .position(|turn| turn.start_unix_nano >= span.start_unix_nano);
                if let (Some(next), Some(ms)) =
                    (next, seconds_ms(span, &["lk.transcription_delay"]))
                {
                    samples[next].transcriber_ms.get_or_insert(ms);
                }
            }
            "agent_turn" => {
                if let Some(text) = span.text(RESPONSE_TEXT) {
                    let mut reply = Utterance::of(span, Role::Agent, text, None, None);
                    // Said when its speech starts, after any tool the turn called.
                    if let Some(speech) = ordered.iter().find(|s| {
                        s.name == "tts_node" && agent_turn_of(s) == Some(span.span_id.as_str())
                    }) {
                        reply.start_unix_nano = speech.start_unix_nano;
                    }
                    if span.flag("lk.interrupted") {
                        reply.metadata = Some(json!({"interrupted": true}));
                    }
                    utterances.push(reply);
                }
            }
            "llm_node" => {
                if let (Some(sample), Some(ms)) = (
                    slot.and_then(|at| samples.get_mut(at)),
                    seconds_ms(span, &["lk.response.ttft"]),
                ) {
                    sample.agent_ms.get_or_insert(ms);
                }
            }
            "tts_node" => {
                if let (Some(sample), Some(ms)) = (
                    slot.and_then(|at| samples.get_mut(at)),
                    seconds_ms(span, &["lk.response.ttfb"]),
                ) {
                    sample.synthesizer_ms.get_or_insert(ms);
                }
            }
            "llm_request" => {
                for (keys, unit, suffix) in [
                    (
                        &["gen_ai.usage.input_tokens"][..],
                        UsageUnit::InputTokens,
                        "input",
                    ),
                    (
                        &["gen_ai.usage.output_tokens"][..],
                        UsageUnit::OutputTokens,
                        "output",
                    ),
                ] {
                    if let Some(tokens) = span.number(keys).filter(|n| n.is_finite() && *n > 0.0) {
                        usage.push(UsageRecord {
                            id: Some(format!("{}.{suffix}", span.span_id)),
                            component: CostComponent::Llm,
                            provider: provider.clone(),
                            model: model.clone(),
                            units: tokens,
                            unit,
                        });
                    }
                }
            }
            "tts_request" => {
                if let Some(text) = span.text(TTS_INPUT) {
                    // 1.7 names the provider and model on the node, not on each request.
                    let node = ancestry.nearest(span, "tts_node");
                    let of_node = |keys| node.and_then(|node| node.text(keys)).map(str::to_owned);
                    usage.push(UsageRecord {
                        id: Some(format!("{}.characters", span.span_id)),
                        component: CostComponent::Tts,
                        provider: provider.or_else(|| of_node(PROVIDER)),
                        model: model.or_else(|| of_node(MODEL)),
                        units: text.chars().count() as f64,
                        unit: UsageUnit::Characters,
                    });
                }
            }
            "function_tool" => {
                let name = span
                    .text(&["lk.function_tool.name"])
                    .unwrap_or("function_tool");
                let mut call = Utterance::of(span, Role::Tool, name, None, None);
                let detail = |keys| span.text(keys).map(str::to_owned);
                call.metadata = Some(json!({
                    "tool": name,
                    "arguments": detail(TOOL_ARGUMENTS),
                    "output": detail(TOOL_OUTPUT),
                    "is_error": span.flag("lk.function_tool.is_error"),
                }));
                utterances.push(call);
            }
            _ => {}
        }
    }
    samples.retain(LatencySample::measures_anything);
    let (started_unix_nano, ended_unix_nano) = Conversation::bounds(spans, root);
    Conversation {
        runtime: "livekit",
        conversation_id: spans
            .iter()
            .find_map(|span| span.text(JOB_ID))
            .map(str::to_owned),
        agent_name: spans
            .iter()
            .find_map(|span| span.text(&["lk.agent_name"]))
            .map(str::to_owned),
        room_name: spans
            .iter()
            .find_map(|span| span.text(ROOM))
            .map(str::to_owned),
        started_unix_nano,
        ended_unix_nano,
        utterances,
        latency: samples,
        usage,
    }
}
