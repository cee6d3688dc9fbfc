//! What a runtime's mapper reads out of a trace ([`Conversation`]), and the canonical call
//! made of it ([`derive_call`]): the same spans always make the same call, whatever order
//! and however many times they arrived, because the call is derived from all of them at once.

use crate::span::TraceSpan;
use crate::tree::span_tree;
use callscope_analysis::{PriceTable, latency_metrics};
use callscope_model::{
    Call, Cost, LatencySample, MAX_UNITS, Role, Timestamp, UsageRecord, ValidationError,
    WriteContext, call_from_json, validate_id,
};
use serde_json::{Map, Value, json};

/// One utterance, with the span it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Utterance {
    /// The span's id, which becomes the transcript entry's: a repeated span adds nothing.
    pub span_id: String,
    pub role: Role,
    pub text: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub metadata: Option<Value>,
}

impl Utterance {
    pub(crate) fn of(
        span: &TraceSpan,
        role: Role,
        text: &str,
        provider: Option<String>,
        model: Option<String>,
    ) -> Self {
        Self {
            span_id: span.span_id.clone(),
            role,
            text: text.trim().to_owned(),
            start_unix_nano: span.start_unix_nano,
            end_unix_nano: span.end_unix_nano,
            provider,
            model,
            metadata: None,
        }
    }
}

/// What a runtime's trace says about its conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    /// Which mapper read it: `pipecat`, `livekit`, or `otel` for a trace no mapper knows.
    pub runtime: &'static str,
    /// The runtime's own id of the conversation, when the trace carries one.
    pub conversation_id: Option<String>,
    pub agent_name: Option<String>,
    pub room_name: Option<String>,
    pub started_unix_nano: u64,
    /// Set once the root span has arrived: the conversation is over.
    pub ended_unix_nano: Option<u64>,
    pub utterances: Vec<Utterance>,
    pub latency: Vec<LatencySample>,
    pub usage: Vec<UsageRecord>,
}

impl Conversation {
    /// When a conversation with root span `root` (once it has come) started and ended: the
    /// root's times, or the earliest span's start while the root is still to come.
    pub(crate) fn bounds(spans: &[TraceSpan], root: Option<&TraceSpan>) -> (u64, Option<u64>) {
        let started = root.map_or_else(
            || spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0),
            |root| root.start_unix_nano,
        );
        (started, root.map(|root| root.end_unix_nano))
    }
}

/// What [`derive_call`] works from.
#[derive(Debug)]
pub struct TraceInput<'a> {
    pub organization_id: &'a str,
    /// 32 hex digits.
    pub trace_id: &'a str,
    /// The id the trace's call already has, once it has one: it never changes.
    pub call_id: Option<&'a str>,
    /// Every span stored for the trace.
    pub spans: &'a [TraceSpan],
    /// The call as stored, when there is one.
    pub existing: Option<&'a Call>,
    /// The trace went quiet without its root span: the call is closed as timed out.
    pub idle_closed: bool,
    pub now: Timestamp,
    pub prices: &'a PriceTable,
}

/// Attributes that name the agent, first found wins (span, then resource): Callscope's own,
/// then OpenTelemetry's service name unless the SDK defaulted it.
const AGENT_ID: &[&str] = &[
    "callscope.agent_id",
    "agent.id",
    "lk.agent_name",
    "service.name",
];
const AGENT_NAME: &[&str] = &["callscope.agent_name", "agent.name", "lk.agent_name"];

/// The runtime's mapper for these spans.
pub fn read(spans: &[TraceSpan]) -> Conversation {
    if crate::pipecat::recognizes(spans) {
        return crate::pipecat::read(spans);
    }
    if crate::livekit::recognizes(spans) {
        return crate::livekit::read(spans);
    }
    let root = spans.iter().find(|span| span.parent_span_id.is_none());
    let (started_unix_nano, ended_unix_nano) = Conversation::bounds(spans, root);
    Conversation {
        runtime: "otel",
        conversation_id: None,
        agent_name: None,
        room_name: None,
        started_unix_nano,
        ended_unix_nano,
        utterances: Vec::new(),
        latency: Vec::new(),
        usage: Vec::new(),
    }
}

/// The call of a trace, from all of its spans.
pub fn derive_call(input: &TraceInput<'_>) -> Result<Call, ValidationError> {
    let conversation = read(input.spans);
    let id = match input.call_id {
        Some(id) => id.to_owned(),
        None => conversation
            .conversation_id
            .clone()
            .filter(|id| validate_id("id", id).is_ok())
            .unwrap_or_else(|| input.trace_id.to_owned()),
    };
    let origin = conversation.started_unix_nano;
    let started = timestamp(origin);
    let last_end = input
        .spans
        .iter()
        .map(|s| s.end_unix_nano)
        .max()
        .unwrap_or(origin);
    let (status, ended, reason) = match conversation.ended_unix_nano {
        Some(end) => ("completed", Some(timestamp(end)), None),
        None if input.idle_closed => ("completed", Some(timestamp(last_end)), Some("timeout")),
        None => ("in_progress", None, None),
    };
    let mut utterances = conversation.utterances.clone();
    utterances.sort_by(|a, b| {
        (a.start_unix_nano, a.role != Role::User, &a.span_id).cmp(&(
            b.start_unix_nano,
            b.role != Role::User,
            &b.span_id,
        ))
    });
    let transcript: Vec<Value> = utterances
        .iter()
        .map(|utterance| {
            let mut entry = json!({
                "id": utterance.span_id,
                "role": utterance.role,
                "text": utterance.text,
                "start_ms": utterance.start_unix_nano.saturating_sub(origin) / 1_000_000,
                "end_ms": utterance.end_unix_nano.saturating_sub(origin) / 1_000_000,
            });
            for (key, value) in [
                ("provider", &utterance.provider),
                ("model", &utterance.model),
            ] {
                if let Some(value) = value {
                    entry[key] = json!(value);
                }
            }
            if let Some(metadata) = &utterance.metadata {
                entry["metadata"] = metadata.clone();
            }
            entry
        })
        .collect();
    let agent_id =
        first_text(input.spans, AGENT_ID).filter(|name| !name.starts_with("unknown_service"));
    let agent_name = first_text(input.spans, AGENT_NAME)
        .or(conversation.agent_name.as_deref())
        .filter(|name| !name.starts_with("unknown_service"))
        .or(agent_id);
    let mut metadata = input
        .existing
        .and_then(|call| call.metadata.clone())
        .unwrap_or_default();
    let mut trace = Map::new();
    trace.insert("trace_id".into(), json!(input.trace_id));
    trace.insert("runtime".into(), json!(conversation.runtime));
    if let Some(conversation_id) = &conversation.conversation_id {
        trace.insert("conversation_id".into(), json!(conversation_id));
    }
    metadata.insert("otel".into(), Value::Object(trace));
    let mut body = json!({
        "id": id,
        "agent": {"id": agent_id, "name": agent_name},
        "status": status,
        "started_at": started,
        "transcript": transcript,
        "metadata": metadata,
        "span_tree": span_tree(input.spans),
    });
    if let Some(ended) = ended {
        body["ended_at"] = json!(ended);
    }
    if let Some(reason) = reason {
        body["disconnection_reason"] = json!(reason);
    }
    if let Some(room) = &conversation.room_name {
        body["room_name"] = json!(room);
    }
    let context = WriteContext {
        organization_id: input.organization_id,
        path_id: Some(&id),
        now: input.now,
        existing_created_at: Some(input.existing.map_or(started, |call| call.created_at)),
    };
    let mut call = call_from_json(body, &context)?;
    // The report and what the store derives stay as they were.
    if let Some(existing) = input.existing {
        call.analysis.clone_from(&existing.analysis);
        call.recording.clone_from(&existing.recording);
        // Spans without content (a runtime that redacts them) never erase the transcript
        // and latency another source gave, such as LiveKit's session report.
        if conversation.utterances.is_empty() {
            call.transcript.clone_from(&existing.transcript);
        }
        if conversation.latency.is_empty() {
            call.metrics.clone_from(&existing.metrics);
        }
    }
    // A session's own account of its usage (LiveKit's session report) covers what its spans
    // do not (speech-to-text), so it prices the call once it has come.
    let reported = input
        .existing
        .map(crate::livekit_report::reported_usage_of)
        .unwrap_or_default();
    let usage = if reported.is_empty() {
        &conversation.usage
    } else {
        &reported
    };
    if let Some(cost) = priced_cost(input.prices, usage) {
        call.cost = Some(cost);
    }
    if !conversation.latency.is_empty() {
        call.metrics = Some(latency_metrics(&conversation.latency));
    }
    Ok(call)
}

/// The cost of `usage`, leaving out what no price covers, and figures past the bound the
/// usage API holds writers to, rather than refusing them; none when nothing is priced.
pub(crate) fn priced_cost(prices: &PriceTable, usage: &[UsageRecord]) -> Option<Cost> {
    let priced: Vec<UsageRecord> = usage
        .iter()
        .filter(|record| record.units.is_finite() && (0.0..=MAX_UNITS).contains(&record.units))
        .filter(|record| prices.cost(std::slice::from_ref(record)).is_ok())
        .cloned()
        .collect();
    if priced.is_empty() {
        None
    } else {
        prices.cost(&priced).ok()
    }
}

fn first_text<'a>(spans: &'a [TraceSpan], keys: &[&str]) -> Option<&'a str> {
    spans.iter().find_map(|span| span.text(keys))
}

fn timestamp(unix_nano: u64) -> Timestamp {
    let millis = i64::try_from(unix_nano / 1_000_000).unwrap_or(i64::MAX);
    Timestamp::from_millis(millis).unwrap_or_else(Timestamp::now)
}
