//! Pipecat's traces (`src/pipecat/utils/tracing/`: `turn_trace_observer.py`,
//! `service_decorators.py`, `service_attributes.py`), read as a conversation.
//!
//! A pipeline worker with `enable_tracing=True` makes one trace per conversation: the root
//! span `conversation` (`conversation.id`, ended last), a `turn` span per turn
//! (`turn.number`, `turn.was_interrupted`, `turn.user_bot_latency_seconds`), and under each
//! turn the service spans `stt`, `llm` and `tts` (named `stt_<service>`, `llm_<service>`,
//! `tts_<service>` before 1.x). What each carries:
//! - `stt`: `transcript` with `is_final`, `metrics.ttfb` (seconds), `metrics.audio_seconds`;
//! - `llm`: `output` (the reply's text), `metrics.ttfb`, `gen_ai.usage.input_tokens` and
//!   `output_tokens`;
//! - `tts`: `text`, `metrics.ttfb`, `metrics.character_count`;
//! - all three: `gen_ai.provider.name` (`gen_ai.system` before) and `gen_ai.request.model`.
//!
//! Older releases sent `metrics.ttfb_ms` in milliseconds; both are read.

use crate::conversation::{Conversation, Utterance};
use crate::span::{Ancestry, TraceSpan, by_start};
use callscope_model::{CostComponent, LatencySample, Role, UsageRecord, UsageUnit};
use serde_json::json;
use std::collections::BTreeMap;

/// A service stage of a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Stt,
    Llm,
    Tts,
}

impl Stage {
    /// The stage a span's name says, in either naming.
    fn of(name: &str) -> Option<Self> {
        let stage = |prefix: &str| name == prefix || name.starts_with(&format!("{prefix}_"));
        if stage("stt") {
            Some(Self::Stt)
        } else if stage("llm") {
            Some(Self::Llm)
        } else if stage("tts") {
            Some(Self::Tts)
        } else {
            None
        }
    }
}

/// Whether a trace is Pipecat's.
pub(crate) fn recognizes(spans: &[TraceSpan]) -> bool {
    spans.iter().any(|span| {
        matches!(span.name.as_str(), "conversation" | "turn")
            || span.attributes.contains_key("conversation.id")
            || span.attributes.contains_key("turn.number")
    })
}

const PROVIDER: &[&str] = &["gen_ai.provider.name", "gen_ai.system"];
const MODEL: &[&str] = &["gen_ai.request.model", "gen_ai.response.model"];

/// Time to first byte of a service span, in milliseconds.
fn ttfb_ms(span: &TraceSpan) -> Option<f64> {
    span.number(&["metrics.ttfb"])
        .map(|seconds| seconds * 1_000.0)
        .or_else(|| span.number(&["metrics.ttfb_ms"]))
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
}

/// The conversation of a Pipecat trace.
pub(crate) fn read(spans: &[TraceSpan]) -> Conversation {
    let ancestry = Ancestry::of(spans);
    let root = spans.iter().find(|span| span.name == "conversation");
    let turn_of = |span: &TraceSpan| ancestry.nearest(span, "turn");
    let turn_number = |turn: &TraceSpan| -> u32 {
        turn.number(&["turn.number"])
            .filter(|n| *n >= 0.0 && *n < f64::from(u32::MAX))
            .map_or(0, |n| n as u32)
    };

    let ordered = by_start(spans);

    let mut utterances = Vec::new();
    let mut usage = Vec::new();
    // Per turn (by number): the first time to first byte of each stage, and whether the
    // turn's reply came from an LLM span (then its TTS text is the same words again).
    let mut samples: BTreeMap<u32, LatencySample> = BTreeMap::new();
    let mut replied: BTreeMap<u32, bool> = BTreeMap::new();
    let mut spoken: Vec<(Option<u32>, &TraceSpan)> = Vec::new();
    for span in &ordered {
        let Some(stage) = Stage::of(&span.name) else {
            continue;
        };
        let turn = turn_of(span);
        let number = turn.map(turn_number);
        let provider = span.text(PROVIDER).map(str::to_owned);
        let model = span.text(MODEL).map(str::to_owned);
        if let (Some(number), Some(ms)) = (number, ttfb_ms(span)) {
            let sample = samples.entry(number).or_insert_with(|| LatencySample {
                turn: number,
                ..LatencySample::default()
            });
            let slot = match stage {
                Stage::Stt => &mut sample.transcriber_ms,
                Stage::Llm => &mut sample.agent_ms,
                Stage::Tts => &mut sample.synthesizer_ms,
            };
            slot.get_or_insert(ms);
        }
        let record = |component, units: f64, unit, suffix: &str| UsageRecord {
            id: Some(format!("{}.{suffix}", span.span_id)),
            component,
            provider: provider.clone(),
            model: model.clone(),
            units,
            unit,
        };
        let positive = |keys: &[&str]| span.number(keys).filter(|n| n.is_finite() && *n > 0.0);
        match stage {
            Stage::Stt => {
                if let Some(seconds) = positive(&["metrics.audio_seconds"]) {
                    usage.push(record(
                        CostComponent::Stt,
                        seconds,
                        UsageUnit::Seconds,
                        "audio",
                    ));
                }
                let final_text = span
                    .attributes
                    .get("is_final")
                    .is_none_or(|_| span.flag("is_final"));
                if let Some(text) = span.text(&["transcript"]).filter(|_| final_text) {
                    utterances.push(Utterance::of(span, Role::User, text, provider, model));
                }
            }
            Stage::Llm => {
                if let Some(tokens) =
                    positive(&["gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"])
                {
                    usage.push(record(
                        CostComponent::Llm,
                        tokens,
                        UsageUnit::InputTokens,
                        "input",
                    ));
                }
                if let Some(tokens) = positive(&[
                    "gen_ai.usage.output_tokens",
                    "gen_ai.usage.completion_tokens",
                ]) {
                    usage.push(record(
                        CostComponent::Llm,
                        tokens,
                        UsageUnit::OutputTokens,
                        "output",
                    ));
                }
                if let Some(text) = span.text(&["output"]) {
                    if let Some(number) = number {
                        replied.insert(number, true);
                    }
                    let mut reply = Utterance::of(span, Role::Agent, text, provider, model);
                    if turn.is_some_and(|turn| turn.flag("turn.was_interrupted")) {
                        reply.metadata = Some(json!({"interrupted": true}));
                    }
                    utterances.push(reply);
                }
            }
            Stage::Tts => {
                if let Some(characters) = positive(&["metrics.character_count"]) {
                    usage.push(record(
                        CostComponent::Tts,
                        characters,
                        UsageUnit::Characters,
                        "characters",
                    ));
                }
                spoken.push((number, span));
            }
        }
    }
    // A turn without an LLM reply (a scripted greeting, a flow's fixed prompt) still said
    // what its TTS spans spoke.
    for (number, span) in spoken {
        if number.is_some_and(|n| replied.contains_key(&n)) {
            continue;
        }
        if let Some(text) = span.text(&["text"]) {
            let provider = span.text(PROVIDER).map(str::to_owned);
            let model = span.text(MODEL).map(str::to_owned);
            utterances.push(Utterance::of(span, Role::Agent, text, provider, model));
        }
    }
    for turn in spans.iter().filter(|span| span.name == "turn") {
        if let Some(seconds) = turn
            .number(&["turn.user_bot_latency_seconds"])
            .filter(|s| s.is_finite() && *s >= 0.0)
        {
            let number = turn_number(turn);
            samples
                .entry(number)
                .or_insert_with(|| LatencySample {
                    turn: number,
                    ..LatencySample::default()
                })
                .end_to_end_ms = Some(seconds * 1_000.0);
        }
    }

    let conversation_id = root
        .and_then(|span| span.text(&["conversation.id"]))
        .or_else(|| {
            spans
                .iter()
                .find_map(|span| span.text(&["conversation.id"]))
        })
        .map(str::to_owned);
    let (started_unix_nano, ended_unix_nano) = Conversation::bounds(spans, root);
    Conversation {
        runtime: "pipecat",
        conversation_id,
        agent_name: spans
            .iter()
            .find_map(|span| span.text(&["service.name"]))
            .map(str::to_owned),
        room_name: spans
            .iter()
            .find_map(|span| span.text(&["room.name", "room_name"]))
            .map(str::to_owned),
        started_unix_nano,
        ended_unix_nano,
        utterances,
        latency: samples.into_values().collect(),
        usage,
    }
}
