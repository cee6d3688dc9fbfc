//! OTLP/HTTP exports as a runtime's exporter sends them, for the ingest tests and the
//! ingest benchmark: spans in OTLP/JSON, the same request in protobuf, gzip, and the POST.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::{Value, json};
use std::io::Write as _;

/// 2026-11-02T10:00:00Z, in nanoseconds: the start of every scripted conversation.
pub const T0: u64 = 1_793_613_600_000_000_000;
const MS: u64 = 1_000_000;

/// The price table the server runs with, and the same prices for the expected cost:
/// micro-USD per unit (speech-to-text is priced per minute, 0.006 USD, so 100 per second).
pub const STT_PER_SECOND: u64 = 100;
pub const LLM_PER_MILLION_INPUT: u64 = 150_000;
pub const LLM_PER_MILLION_OUTPUT: u64 = 600_000;
pub const TTS_PER_CHARACTER: u64 = 30;

pub fn price_table(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("prices.json");
    let prices = json!({"prices": [
        {"component": "stt", "provider": "deepgram", "unit": "minutes", "usd": "0.006", "per": 1},
        {"component": "llm", "provider": "openai", "model": "gpt-4o-mini", "unit": "input_tokens", "usd": "0.15", "per": 1_000_000},
        {"component": "llm", "provider": "openai", "model": "gpt-4o-mini", "unit": "output_tokens", "usd": "0.60", "per": 1_000_000},
        {"component": "tts", "provider": "cartesia", "unit": "characters", "usd": "0.00003", "per": 1},
    ]});
    std::fs::write(&path, prices.to_string()).unwrap();
    path
}

/// What `price_table` charges, in micro-USD, for this usage: each line rounded half up once,
/// as a bill is.
pub fn expected_cost(
    audio_seconds: f64,
    input_tokens: u64,
    output_tokens: u64,
    characters: u64,
) -> u64 {
    (audio_seconds * STT_PER_SECOND as f64).round() as u64
        + (input_tokens * LLM_PER_MILLION_INPUT + 500_000) / 1_000_000
        + (output_tokens * LLM_PER_MILLION_OUTPUT + 500_000) / 1_000_000
        + characters * TTS_PER_CHARACTER
}

/// An attribute in OTLP/JSON.
pub fn attribute(key: &str, value: &Value) -> Value {
    let any = match value {
        Value::String(text) => json!({"stringValue": text}),
        Value::Bool(flag) => json!({"boolValue": flag}),
        Value::Number(n) if n.is_i64() => json!({"intValue": n.to_string()}),
        Value::Number(n) => json!({"doubleValue": n.as_f64()}),
        _ => json!({}),
    };
    json!({"key": key, "value": any})
}

/// A span of trace `trace` (32 hex digits) in OTLP/JSON; ids are small numbers.
pub fn span(
    trace: &str,
    id: u64,
    parent: Option<u64>,
    name: &str,
    from_ms: u64,
    to_ms: u64,
    attributes: &Value,
) -> Value {
    let mut span = json!({
        "traceId": trace,
        "spanId": format!("{id:016x}"),
        "name": name,
        "kind": 1,
        "startTimeUnixNano": (T0 + from_ms * MS).to_string(),
        "endTimeUnixNano": (T0 + to_ms * MS).to_string(),
        "attributes": attributes.as_object().unwrap().iter().map(|(k, v)| attribute(k, v)).collect::<Vec<_>>(),
    });
    if let Some(parent) = parent {
        span["parentSpanId"] = json!(format!("{parent:016x}"));
    }
    span
}

/// An export request of `spans`, from the resource `service.name = service`.
pub fn export_json(service: &str, spans: &[Value]) -> Value {
    json!({"resourceSpans": [{
        "resource": {"attributes": [attribute("service.name", &json!(service))]},
        "scopeSpans": [{"scope": {"name": "pipecat"}, "spans": spans}],
    }]})
}

pub fn protobuf(body: &Value) -> Vec<u8> {
    serde_json::from_value::<ExportTraceServiceRequest>(body.clone())
        .unwrap()
        .encode_to_vec()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// An HTTP client as an exporter is: one kept-alive connection, no error for a status.
pub fn exporter() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// A POST of `body` to `/v1/traces`: status, content type and body bytes.
pub fn export(
    agent: &ureq::Agent,
    base: &str,
    key: &str,
    body: &[u8],
    content_type: &str,
    gzipped: bool,
) -> (u16, String, Vec<u8>) {
    let mut request = agent
        .post(format!("{base}/v1/traces"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", content_type);
    if gzipped {
        request = request.header("content-encoding", "gzip");
    }
    let mut response = request.send(body).unwrap();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.body_mut().read_to_vec().unwrap();
    (response.status().as_u16(), kind, bytes)
}
