//! LiveKit Agents' session report (`telemetry/traces.py`, `_upload_session_report`): the
//! multipart upload to `/observability/recordings/v0` of a `header` (livekit protocol's
//! `MetricsRecordingHeader`), `chat_history.json` (`ChatContext.to_dict(exclude_timestamp=
//! False)`) and `recording.ogg`, read as the call of the session's job.
//!
//! The same report also goes out as OTel log records of the `chat_history` logger, to
//! `/observability/logs/otlp/v0`: one `chat item` per item (what the upload carries again)
//! and one `session report` whose `usage` attribute is the session's whole usage per
//! provider and model (`metrics/usage.py`). That is the one account of speech-to-text
//! usage LiveKit gives (its spans carry none), so [`reported_usage`] reads it and it prices
//! the call from then on ([`with_reported_usage`], and `derive_call`).
//!
//! The report, its usage and the session's trace describe the same conversation and name it
//! alike (the job id): whichever comes first makes the call, and the others complete it. A
//! call a report made carries `metadata.otel` without a `trace_id`, which is what lets the
//! trace take it over when its spans arrive ([`report_call`], and the store's trace ingest).

use crate::conversation::priced_cost;
use crate::decode::{DecodeError, Encoding, attributes, parse, value};
use callscope_analysis::PriceTable;
use callscope_model::{
    Call, CostComponent, LatencySample, Timestamp, UsageRecord, UsageUnit, ValidationError,
    WriteContext, call_from_json, validate_id,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::{Map, Value, json};

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Message)]
pub struct ProtoTimestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// The fields of livekit protocol's `MetricsRecordingHeader` (`livekit_metrics.proto`) that
/// a call uses; the others (durations, room tags, a summary) are skipped by the decoder.
#[derive(Clone, PartialEq, Message)]
pub struct RecordingHeader {
    #[prost(string, tag = "1")]
    pub room_id: String,
    /// When the recording's first sample was taken.
    #[prost(message, optional, tag = "4")]
    pub start_time: Option<ProtoTimestamp>,
    #[prost(string, tag = "6")]
    pub room_name: String,
    #[prost(string, tag = "8")]
    pub job_id: String,
    #[prost(bool, tag = "9")]
    pub simulated: bool,
    #[prost(bool, tag = "10")]
    pub redaction_enabled: bool,
}

impl RecordingHeader {
    /// Decodes the upload's `header` part.
    pub fn decode_part(bytes: &[u8]) -> Result<Self, ValidationError> {
        let header = Self::decode(bytes).map_err(|e| {
            ValidationError::new("header", format!("not a MetricsRecordingHeader: {e}"))
        })?;
        validate_id("header.job_id", &header.job_id)?;
        Ok(header)
    }

    /// The recording's start, when the header gives one.
    fn started(&self) -> Option<f64> {
        self.start_time
            .filter(|t| t.seconds > 0)
            .map(|t| t.seconds as f64 + f64::from(t.nanos) / 1e9)
    }
}

/// What a report upload carries besides its audio.
#[derive(Debug)]
pub struct SessionReport<'a> {
    pub organization_id: &'a str,
    pub header: &'a RecordingHeader,
    /// `chat_history.json`, absent when the session kept no transcript.
    pub chat_history: Option<&'a Value>,
    pub now: Timestamp,
}

/// A chat item's time, seconds since the epoch.
fn seconds(item: &Value, key: &str) -> Option<f64> {
    item.get(key)
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s > 0.0)
}

fn timestamp(unix_seconds: f64) -> Timestamp {
    Timestamp::from_millis((unix_seconds * 1_000.0) as i64).unwrap_or_else(Timestamp::now)
}

/// A message's text: its string contents, joined.
fn text_of(item: &Value) -> String {
    item.get("content")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The call a report makes on its own: completed, its transcript and latency from the chat
/// history, `metadata.livekit` from the header.
pub fn report_call(report: &SessionReport<'_>) -> Result<Call, ValidationError> {
    let header = report.header;
    let items: &[Value] = report
        .chat_history
        .and_then(|history| history.get("items"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let first = items
        .iter()
        .filter_map(|item| seconds(item, "created_at"))
        .reduce(f64::min);
    let origin = header.started().or(first).ok_or_else(|| {
        ValidationError::new(
            "header.start_time",
            "the report has neither a recording start nor a timed chat item",
        )
    })?;
    let offset_ms = |at: f64| ((at - origin).max(0.0) * 1_000.0).round() as u64;

    let mut transcript = Vec::new();
    let mut samples = Vec::new();
    let mut last = origin;
    let mut transcription_delay = None;
    let outputs: Map<String, Value> = items
        .iter()
        .filter(|item| item["type"] == "function_call_output")
        .filter_map(|item| Some((item["call_id"].as_str()?.to_owned(), item.clone())))
        .collect();
    for item in items {
        let Some(created) = seconds(item, "created_at") else {
            continue;
        };
        let metrics = &item["metrics"];
        let start = seconds(metrics, "started_speaking_at").unwrap_or(created);
        let end = seconds(metrics, "stopped_speaking_at").unwrap_or(start);
        last = last.max(end).max(created);
        let id = item["id"].as_str().unwrap_or_default();
        match (item["type"].as_str(), item["role"].as_str()) {
            (Some("message"), Some(role @ ("user" | "assistant"))) => {
                let text = text_of(item);
                if text.is_empty() {
                    continue;
                }
                let ms = |key| seconds(metrics, key).map(|s| s * 1_000.0);
                let mut entry = json!({
                    "id": id,
                    "role": if role == "user" { "user" } else { "agent" },
                    "text": text,
                    "start_ms": offset_ms(start),
                    "end_ms": offset_ms(end),
                });
                if item["interrupted"] == true {
                    entry["metadata"] = json!({"interrupted": true});
                }
                transcript.push(entry);
                if role == "user" {
                    transcription_delay = ms("transcription_delay");
                } else {
                    samples.push(LatencySample {
                        turn: u32::try_from(samples.len() + 1).unwrap_or(u32::MAX),
                        transcriber_ms: transcription_delay.take(),
                        agent_ms: ms("llm_node_ttft"),
                        synthesizer_ms: ms("tts_node_ttfb"),
                        end_to_end_ms: ms("e2e_latency"),
                    });
                }
            }
            (Some("function_call"), _) => {
                let name = item["name"].as_str().unwrap_or("function_call");
                let output = item["call_id"].as_str().and_then(|call| outputs.get(call));
                transcript.push(json!({
                    "id": id,
                    "role": "tool",
                    "text": name,
                    "start_ms": offset_ms(start),
                    "end_ms": offset_ms(end),
                    "metadata": {
                        "tool": name,
                        "arguments": item.get("arguments"),
                        "output": output.and_then(|o| o.get("output")),
                        "is_error": output.and_then(|o| o.get("is_error")).and_then(Value::as_bool).unwrap_or(false),
                    },
                }));
            }
            _ => {}
        }
    }
    samples.retain(LatencySample::measures_anything);
    let started = timestamp(origin);
    let mut body = json!({
        "id": header.job_id,
        "status": "completed",
        "started_at": started,
        "ended_at": timestamp(last),
        "transcript": transcript,
        "metadata": {
            "livekit": livekit_metadata(header),
            // A report names no trace: the session's trace, when it comes, takes this call.
            "otel": {"runtime": "livekit", "conversation_id": header.job_id},
        },
    });
    if !header.room_name.is_empty() {
        body["room_name"] = json!(header.room_name);
    }
    let context = WriteContext {
        organization_id: report.organization_id,
        path_id: Some(&header.job_id),
        now: report.now,
        existing_created_at: Some(started),
    };
    let mut call = call_from_json(body, &context)?;
    if !samples.is_empty() {
        call.metrics = Some(callscope_analysis::latency_metrics(&samples));
    }
    Ok(call)
}

fn livekit_metadata(header: &RecordingHeader) -> Value {
    json!({
        "room_id": header.room_id,
        "job_id": header.job_id,
        "simulated": header.simulated,
        "redaction_enabled": header.redaction_enabled,
        "session_report": true,
    })
}

/// `existing` (the trace's call, or an earlier upload's) completed by a report: what it
/// lacks (a transcript, latency) comes from `report`, and `metadata.livekit` says a report
/// came. What the trace said stays: its spans are the finer account.
pub fn complete_with_report(mut existing: Call, report: Call) -> Call {
    if existing.transcript.is_empty() {
        existing.transcript = report.transcript;
    }
    if existing.metrics.is_none() {
        existing.metrics = report.metrics;
    }
    if existing.room_name.is_none() {
        existing.room_name = report.room_name;
    }
    if let Some(Value::Object(livekit)) = report
        .metadata
        .and_then(|mut metadata| metadata.remove("livekit"))
    {
        merge_livekit(&mut existing, livekit);
    }
    existing
}

/// Adds `keys` to the call's `metadata.livekit`, keeping what is there under other keys.
fn merge_livekit(call: &mut Call, keys: Map<String, Value>) {
    let metadata = call.metadata.get_or_insert_with(Default::default);
    let livekit = metadata
        .entry("livekit")
        .or_insert_with(|| Value::Object(Map::new()));
    if !livekit.is_object() {
        *livekit = Value::Object(Map::new());
    }
    if let Value::Object(livekit) = livekit {
        livekit.extend(keys);
    }
}

/// What a `session report` log record says of its session.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedUsage {
    pub job_id: String,
    pub room_id: Option<String>,
    pub room_name: Option<String>,
    pub agent_name: Option<String>,
    /// The session's start (the record's time).
    pub started_unix_nano: u64,
    /// `session.report_timestamp`, seconds since the epoch.
    pub ended_unix_seconds: Option<f64>,
    /// `usage`, each entry's type, provider, model and positive figures (LiveKit leaves
    /// zeros out too).
    pub usage: Vec<Value>,
}

/// The figures of a usage entry that [`usage_records`] prices; the others (cached and audio
/// token details, request counts) are kept in `metadata.livekit.usage` but not priced.
const USAGE_FIGURES: &[&str] = &[
    "input_tokens",
    "output_tokens",
    "characters_count",
    "audio_duration",
    "input_cached_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "session_duration",
    "total_requests",
];

/// The `session report` records of a logs export body; other records (chat items,
/// evaluations, a runtime's own log lines) are read past and kept nowhere.
pub fn reported_usage(body: &[u8], encoding: Encoding) -> Result<Vec<ReportedUsage>, DecodeError> {
    let request: ExportLogsServiceRequest = parse(body, encoding, "ExportLogsServiceRequest")?;
    let mut reports = Vec::new();
    for resource_logs in request.resource_logs {
        let resource = resource_logs
            .resource
            .map(|resource| attributes(&resource.attributes))
            .unwrap_or_default();
        for scope_logs in resource_logs.scope_logs {
            let scope = scope_logs
                .scope
                .map(|scope| attributes(&scope.attributes))
                .unwrap_or_default();
            for record in scope_logs.log_records {
                if value(record.body.as_ref(), 0) != "session report" {
                    continue;
                }
                let own = attributes(&record.attributes);
                let text = |key: &str| {
                    [&own, &scope, &resource]
                        .iter()
                        .find_map(|map| map.get(key).and_then(Value::as_str))
                        .filter(|text| !text.is_empty())
                        .map(str::to_owned)
                };
                let Some(job_id) = text("job_id").filter(|id| validate_id("job_id", id).is_ok())
                else {
                    continue;
                };
                let usage = own
                    .get("usage")
                    .and_then(Value::as_array)
                    .map(|entries| entries.iter().filter_map(usage_entry).collect())
                    .unwrap_or_default();
                let time = if record.time_unix_nano > 0 {
                    record.time_unix_nano
                } else {
                    record.observed_time_unix_nano
                };
                reports.push(ReportedUsage {
                    room_id: text("room_id"),
                    room_name: text("room"),
                    agent_name: text("agent_name"),
                    started_unix_nano: time,
                    ended_unix_seconds: own
                        .get("session.report_timestamp")
                        .and_then(Value::as_f64)
                        .filter(|s| s.is_finite() && *s > 0.0),
                    usage,
                    job_id,
                });
            }
        }
    }
    Ok(reports)
}

/// A usage entry with its type, provider and model as short strings and its figures finite
/// and positive; none when it has no type.
fn usage_entry(entry: &Value) -> Option<Value> {
    let short = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .map(|text| text.chars().take(200).collect::<String>())
    };
    let mut kept = Map::new();
    kept.insert("type".into(), json!(short("type")?));
    for key in ["provider", "model"] {
        if let Some(text) = short(key) {
            kept.insert(key.into(), json!(text));
        }
    }
    for key in USAGE_FIGURES {
        if let Some(number) = entry
            .get(*key)
            .and_then(Value::as_f64)
            .filter(|n| n.is_finite() && *n > 0.0)
        {
            kept.insert((*key).into(), json!(number));
        }
    }
    Some(Value::Object(kept))
}

/// The priced usage of `metadata.livekit.usage` entries: LLM input and output tokens, TTS
/// characters (or, when a provider reports none, seconds of audio) and STT seconds of audio.
pub fn usage_records(entries: &[Value]) -> Vec<UsageRecord> {
    let mut records = Vec::new();
    for entry in entries {
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
        let figure = |key: &str| entry.get(key).and_then(Value::as_f64).filter(|n| *n > 0.0);
        let lines: &[(CostComponent, &str, UsageUnit)] = match entry["type"].as_str() {
            Some("llm_usage") => &[
                (CostComponent::Llm, "input_tokens", UsageUnit::InputTokens),
                (CostComponent::Llm, "output_tokens", UsageUnit::OutputTokens),
            ],
            Some("tts_usage") if figure("characters_count").is_some() => &[(
                CostComponent::Tts,
                "characters_count",
                UsageUnit::Characters,
            )],
            Some("tts_usage") => &[(CostComponent::Tts, "audio_duration", UsageUnit::Seconds)],
            Some("stt_usage") => &[(CostComponent::Stt, "audio_duration", UsageUnit::Seconds)],
            _ => &[],
        };
        for (component, key, unit) in lines {
            if let Some(units) = figure(key) {
                records.push(UsageRecord {
                    id: Some(format!(
                        "livekit.{}.{}.{}.{key}",
                        entry["type"].as_str().unwrap_or_default(),
                        text("provider").unwrap_or_default(),
                        text("model").unwrap_or_default(),
                    )),
                    component: *component,
                    provider: text("provider"),
                    model: text("model"),
                    units,
                    unit: *unit,
                });
            }
        }
    }
    records
}

/// The usage a session report gave `call`, if one has come.
pub(crate) fn reported_usage_of(call: &Call) -> Vec<UsageRecord> {
    call.metadata
        .as_ref()
        .and_then(|metadata| metadata.get("livekit"))
        .and_then(|livekit| livekit.get("usage"))
        .and_then(Value::as_array)
        .map(|entries| usage_records(entries))
        .unwrap_or_default()
}

/// `existing` (or, before anything else of the session has come, a call of its own) with
/// the session's reported usage in `metadata.livekit.usage`, priced by `prices`.
pub fn with_reported_usage(
    existing: Option<Call>,
    reported: &ReportedUsage,
    organization_id: &str,
    prices: &PriceTable,
    now: Timestamp,
) -> Result<Call, ValidationError> {
    let mut call = match existing {
        Some(mut call) => {
            call.updated_at = now;
            call
        }
        None => {
            let started = Timestamp::from_millis(
                i64::try_from(reported.started_unix_nano / 1_000_000).unwrap_or(i64::MAX),
            )
            .unwrap_or(now);
            let mut body = json!({
                "id": reported.job_id,
                "status": "completed",
                "started_at": started,
                "metadata": {
                    "livekit": {"job_id": reported.job_id, "room_id": reported.room_id},
                    "otel": {"runtime": "livekit", "conversation_id": reported.job_id},
                },
            });
            if let Some(ended) = reported.ended_unix_seconds {
                body["ended_at"] = json!(timestamp(ended).max(started));
            }
            if let Some(room) = &reported.room_name {
                body["room_name"] = json!(room);
            }
            if let Some(agent) = &reported.agent_name {
                body["agent"] = json!({"id": agent, "name": agent});
            }
            call_from_json(
                body,
                &WriteContext {
                    organization_id,
                    path_id: Some(&reported.job_id),
                    now,
                    existing_created_at: Some(started),
                },
            )?
        }
    };
    let mut keys = Map::new();
    keys.insert("usage".into(), Value::Array(reported.usage.clone()));
    merge_livekit(&mut call, keys);
    if let Some(cost) = priced_cost(prices, &usage_records(&reported.usage)) {
        call.cost = Some(cost);
    }
    Ok(call)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use callscope_analysis::PricingConfig;
    use callscope_model::Role;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
    };
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

    /// 2026-11-02T10:00:00Z, in seconds.
    const T0: f64 = 1_793_613_600.0;

    fn header() -> RecordingHeader {
        RecordingHeader {
            room_id: "RM_1".into(),
            start_time: Some(ProtoTimestamp {
                seconds: T0 as i64,
                nanos: 0,
            }),
            room_name: "front-desk-room".into(),
            job_id: "AJ_report1".into(),
            simulated: false,
            redaction_enabled: true,
        }
    }

    /// A chat history as `ChatContext.to_dict(exclude_timestamp=False)` writes it.
    fn chat_history() -> Value {
        json!({"items": [
            {"id": "item_sys", "type": "message", "role": "system", "content": ["Be brief."],
             "created_at": T0},
            {"id": "item_u1", "type": "message", "role": "user", "content": ["Are you open", "today?"],
             "created_at": T0 + 2.5,
             "metrics": {"started_speaking_at": T0 + 1.0, "stopped_speaking_at": T0 + 2.2,
                         "transcription_delay": 0.21}},
            {"id": "item_a1", "type": "message", "role": "assistant", "content": ["Until six."],
             "created_at": T0 + 3.0,
             "metrics": {"started_speaking_at": T0 + 3.4, "stopped_speaking_at": T0 + 4.4,
                         "llm_node_ttft": 0.33, "tts_node_ttfb": 0.12, "e2e_latency": 1.2}},
            {"id": "item_f1", "type": "function_call", "call_id": "c1", "name": "book_slot",
             "arguments": "{\"at\":\"17:00\"}", "created_at": T0 + 6.0},
            {"id": "item_o1", "type": "function_call_output", "call_id": "c1", "output": "booked",
             "is_error": false, "created_at": T0 + 6.1},
            {"id": "item_a2", "type": "message", "role": "assistant", "content": ["Booked."],
             "interrupted": true, "created_at": T0 + 6.5,
             "metrics": {"started_speaking_at": T0 + 6.6, "stopped_speaking_at": T0 + 7.0,
                         "llm_node_ttft": 0.41}},
        ]})
    }

    fn now() -> Timestamp {
        Timestamp::from_millis(1_793_613_700_000).unwrap()
    }

    fn report(history: Option<&Value>) -> Call {
        report_call(&SessionReport {
            organization_id: "org_a",
            header: &header(),
            chat_history: history,
            now: now(),
        })
        .unwrap()
    }

    #[test]
    fn a_report_alone_is_the_completed_call_of_its_job() {
        let history = chat_history();
        let call = report(Some(&history));
        assert_eq!(call.id, "AJ_report1");
        assert_eq!(call.status.as_str(), "completed");
        assert_eq!(call.room_name.as_deref(), Some("front-desk-room"));
        assert_eq!(call.started_at, Some(timestamp(T0)));
        assert_eq!(call.ended_at, Some(timestamp(T0 + 7.0)));
        let said: Vec<(Role, &str, Option<u64>)> = call
            .transcript
            .iter()
            .map(|e| (e.role, e.text.as_str(), e.start_ms))
            .collect();
        assert_eq!(
            said,
            [
                (Role::User, "Are you open today?", Some(1_000)),
                (Role::Agent, "Until six.", Some(3_400)),
                (Role::Tool, "book_slot", Some(6_000)),
                (Role::Agent, "Booked.", Some(6_600)),
            ]
        );
        let tool = call.transcript[2].metadata.as_ref().unwrap();
        assert_eq!(tool["output"], "booked");
        assert_eq!(tool["arguments"], "{\"at\":\"17:00\"}");
        assert_eq!(
            call.transcript[3].metadata.as_ref().unwrap()["interrupted"],
            true
        );
        let metrics = call.metrics.unwrap();
        let avg = |stats: Option<callscope_model::LatencyStats>| stats.unwrap().avg.unwrap();
        assert!((avg(metrics.transcriber_latency_ms) - 210.0).abs() < 0.01);
        assert!((avg(metrics.agent_latency_ms) - (330.0 + 410.0) / 2.0).abs() < 0.01);
        assert!((avg(metrics.synthesizer_latency_ms) - 120.0).abs() < 0.01);
        let metadata = call.metadata.unwrap();
        assert_eq!(metadata["livekit"]["redaction_enabled"], true);
        assert_eq!(metadata["otel"]["runtime"], "livekit");
        assert!(
            metadata["otel"].get("trace_id").is_none(),
            "a report names no trace"
        );
    }

    #[test]
    fn a_report_fills_only_what_the_trace_left_empty() {
        let history = chat_history();
        let mut traced = report(None);
        traced.transcript = report(Some(&history)).transcript[..1].to_vec();
        traced.room_name = Some("named-by-the-trace".into());
        traced.metadata = Some(
            json!({"livekit": {"usage": [{"type": "stt_usage"}]}, "otel": {"trace_id": "ab"}})
                .as_object()
                .unwrap()
                .clone(),
        );
        let done = complete_with_report(traced, report(Some(&history)));
        assert_eq!(done.transcript.len(), 1, "the trace's transcript stays");
        assert_eq!(done.room_name.as_deref(), Some("named-by-the-trace"));
        assert!(done.metrics.is_some(), "latency the trace lacked comes");
        let metadata = done.metadata.unwrap();
        assert_eq!(metadata["otel"]["trace_id"], "ab");
        assert_eq!(metadata["livekit"]["usage"][0]["type"], "stt_usage");
        assert_eq!(metadata["livekit"]["session_report"], true);
    }

    #[test]
    fn a_header_without_a_job_or_a_time_is_refused() {
        let mut bad = header();
        bad.job_id = String::new();
        assert!(RecordingHeader::decode_part(&bad.encode_to_vec()).is_err());
        assert!(RecordingHeader::decode_part(b"\xff\xff not protobuf").is_err());
        let mut untimed = header();
        untimed.start_time = None;
        let refused = report_call(&SessionReport {
            organization_id: "org_a",
            header: &untimed,
            chat_history: None,
            now: now(),
        });
        assert!(refused.is_err());
    }

    fn any(value: any_value::Value) -> Option<AnyValue> {
        Some(AnyValue { value: Some(value) })
    }

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: any(value),
            ..KeyValue::default()
        }
    }

    fn text(key: &str, value: &str) -> KeyValue {
        kv(key, any_value::Value::StringValue(value.into()))
    }

    fn usage_entry(pairs: Vec<KeyValue>) -> AnyValue {
        AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: pairs,
            })),
        }
    }

    /// A logs export as LiveKit's `_upload_session_report` makes it: the `chat_history`
    /// logger's scope names the job; a `chat item` record, then the `session report`.
    fn logs_export() -> ExportLogsServiceRequest {
        let usage = vec![
            usage_entry(vec![
                text("type", "llm_usage"),
                text("provider", "openai"),
                text("model", "gpt-4o-mini"),
                kv("input_tokens", any_value::Value::IntValue(2_000)),
                kv("output_tokens", any_value::Value::IntValue(300)),
            ]),
            usage_entry(vec![
                text("type", "tts_usage"),
                text("provider", "cartesia"),
                text("model", "sonic-2"),
                kv("characters_count", any_value::Value::IntValue(1_000)),
                kv("audio_duration", any_value::Value::DoubleValue(61.5)),
            ]),
            usage_entry(vec![
                text("type", "stt_usage"),
                text("provider", "deepgram"),
                text("model", "nova-3"),
                kv("audio_duration", any_value::Value::DoubleValue(90.0)),
            ]),
            usage_entry(vec![text("provider", "no type: skipped")]),
        ];
        let record = |body: &str, attributes: Vec<KeyValue>| LogRecord {
            time_unix_nano: (T0 * 1e9) as u64,
            body: any(any_value::Value::StringValue(body.into())),
            attributes,
            ..LogRecord::default()
        };
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "chat_history".into(),
                        attributes: vec![
                            text("job_id", "AJ_report1"),
                            text("room_id", "RM_1"),
                            text("room", "front-desk-room"),
                        ],
                        ..InstrumentationScope::default()
                    }),
                    log_records: vec![
                        record("chat item", vec![text("chat.item", "{\"role\": \"user\"}")]),
                        record(
                            "session report",
                            vec![
                                text("agent_name", "concierge"),
                                kv(
                                    "session.report_timestamp",
                                    any_value::Value::DoubleValue(T0 + 95.0),
                                ),
                                kv(
                                    "usage",
                                    any_value::Value::ArrayValue(ArrayValue { values: usage }),
                                ),
                            ],
                        ),
                    ],
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            }],
        }
    }

    fn prices() -> PriceTable {
        let config: PricingConfig = serde_json::from_value(json!({"prices": [
            {"component": "stt", "provider": "deepgram", "unit": "minutes", "usd": "0.006", "per": 1},
            {"component": "llm", "provider": "openai", "model": "gpt-4o-mini", "unit": "input_tokens", "usd": "0.15", "per": 1_000_000},
            {"component": "llm", "provider": "openai", "model": "gpt-4o-mini", "unit": "output_tokens", "usd": "0.60", "per": 1_000_000},
            {"component": "tts", "provider": "cartesia", "unit": "characters", "usd": "0.00003", "per": 1},
        ]}))
        .unwrap();
        PriceTable::new(&config).unwrap()
    }

    #[test]
    fn the_session_reports_usage_prices_its_call() {
        let body = logs_export().encode_to_vec();
        let reports = reported_usage(&body, Encoding::Protobuf).unwrap();
        assert_eq!(reports.len(), 1, "only the `session report` record counts");
        let reported = &reports[0];
        assert_eq!(reported.job_id, "AJ_report1");
        assert_eq!(reported.agent_name.as_deref(), Some("concierge"));
        assert_eq!(reported.usage.len(), 3);

        // Nothing of the session yet: the usage makes its call, which a trace may claim.
        let call = with_reported_usage(None, reported, "org_a", &prices(), now()).unwrap();
        assert_eq!(call.id, "AJ_report1");
        assert_eq!(call.room_name.as_deref(), Some("front-desk-room"));
        assert_eq!(call.ended_at, Some(timestamp(T0 + 95.0)));
        let metadata = call.metadata.as_ref().unwrap();
        assert!(metadata["otel"].get("trace_id").is_none());
        // 2,000 input tokens at 0.15 USD per million (300), 300 output tokens at 0.60 (180),
        // 1,000 characters at 0.00003 USD (30,000), 90 s at 0.006 USD a minute (9,000).
        let total = call.cost.as_ref().and_then(|cost| cost.total_micro_usd);
        assert_eq!(total.map(|usd| usd.0), Some(300 + 180 + 30_000 + 9_000));

        // A call already there (the upload's) keeps what it has and gains the usage.
        let history = chat_history();
        let uploaded = report(Some(&history));
        let priced =
            with_reported_usage(Some(uploaded.clone()), reported, "org_a", &prices(), now())
                .unwrap();
        assert_eq!(priced.transcript, uploaded.transcript);
        assert_eq!(priced.cost.and_then(|cost| cost.total_micro_usd), total);
        let livekit = &priced.metadata.unwrap()["livekit"];
        assert_eq!(livekit["session_report"], true);
        assert_eq!(livekit["usage"][2]["audio_duration"], 90.0);
    }

    #[test]
    fn logs_that_are_not_an_export_are_refused() {
        assert!(reported_usage(b"\x0a\xff\xff", Encoding::Protobuf).is_err());
        assert!(reported_usage(b"{\"resourceLogs\": 7}", Encoding::Json).is_err());
        assert_eq!(
            reported_usage(b"{}", Encoding::Json).unwrap(),
            Vec::<ReportedUsage>::new()
        );
    }
}
