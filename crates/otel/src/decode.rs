//! OTLP/HTTP trace export bodies (`ExportTraceServiceRequest`, opentelemetry-proto's prost
//! messages), in protobuf or in OTLP/JSON, turned into [`TraceSpan`]s. A span that breaks
//! the specification (ids of the wrong length or all zero, no name, no start, an end before
//! its start) is refused alone, with its reason, so the rest of its batch lands: that is
//! what OTLP's `partial_success` is for.

use crate::span::{SpanEvent, SpanStatus, TraceSpan, cut};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use prost::Message;
use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

/// Longest string attribute value kept, in bytes; longer ones are cut (at a character
/// boundary) and end with `…`. LLM spans carry whole prompts, which a call never needs twice.
pub const MAX_STRING_BYTES: usize = 32 * 1024;
/// Most attributes kept per span (the OpenTelemetry SDKs' default limit is 128).
pub const MAX_ATTRIBUTES: usize = 256;
/// Deepest nesting of array and map values kept; deeper values become null.
const MAX_VALUE_DEPTH: usize = 8;

/// How an export body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`: the OTLP/JSON mapping (hex ids, lowerCamelCase names).
    Json,
}

/// The spans of one export request, and why any were refused.
#[derive(Debug, Default)]
pub struct Batch {
    pub spans: Vec<TraceSpan>,
    /// One reason per refused span.
    pub refused: Vec<String>,
}

/// A body that is not an export request at all.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Decodes an export request and checks each of its spans.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<Batch, DecodeError> {
    let request = match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|e| DecodeError(format!("not an OTLP ExportTraceServiceRequest: {e}")))?,
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| DecodeError(format!("not an OTLP/JSON ExportTraceServiceRequest: {e}")))?,
    };
    let mut batch = Batch::default();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|resource| attributes(&resource.attributes))
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .map(|scope| scope.name)
                .filter(|name| !name.is_empty());
            for span in scope_spans.spans {
                match convert(span, &resource, scope.as_deref()) {
                    Ok(span) => batch.spans.push(span),
                    Err(reason) => batch.refused.push(reason),
                }
            }
        }
    }
    Ok(batch)
}

/// The span in Callscope's form, or why it breaks the specification.
fn convert(
    span: Span,
    resource: &Map<String, Value>,
    scope: Option<&str>,
) -> Result<TraceSpan, String> {
    let name = span.name.trim().to_owned();
    let label = if name.is_empty() {
        "a span".to_owned()
    } else {
        format!("span `{}`", cut(&name, 80))
    };
    let trace_id = id(&span.trace_id, 16)
        .ok_or_else(|| format!("{label}: trace_id must be 16 bytes, not all zero"))?;
    let span_id = id(&span.span_id, 8)
        .ok_or_else(|| format!("{label}: span_id must be 8 bytes, not all zero"))?;
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(
            id(&span.parent_span_id, 8)
                .ok_or_else(|| format!("{label}: parent_span_id must be empty or 8 bytes"))?,
        )
    };
    if name.is_empty() {
        return Err(format!("span {span_id}: name is required"));
    }
    if span.start_time_unix_nano == 0 {
        return Err(format!("{label}: start_time_unix_nano is required"));
    }
    if span.end_time_unix_nano < span.start_time_unix_nano {
        return Err(format!(
            "{label}: end_time_unix_nano is before start_time_unix_nano"
        ));
    }
    let status = span.status.and_then(|status| {
        let code = match StatusCode::try_from(status.code).unwrap_or(StatusCode::Unset) {
            StatusCode::Unset => return None,
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        };
        Some(SpanStatus {
            code: code.to_owned(),
            message: cut(&status.message, MAX_STRING_BYTES),
        })
    });
    Ok(TraceSpan {
        trace_id,
        span_id,
        parent_span_id,
        name,
        start_unix_nano: span.start_time_unix_nano,
        end_unix_nano: span.end_time_unix_nano,
        status,
        attributes: attributes(&span.attributes),
        events: span
            .events
            .into_iter()
            .map(|event| SpanEvent {
                name: event.name,
                time_unix_nano: event.time_unix_nano,
                attributes: attributes(&event.attributes),
            })
            .collect(),
        resource: resource.clone(),
        scope: scope.map(str::to_owned),
    })
}

/// `bytes` in lower-case hex when it is `len` bytes long and not all zero.
fn id(bytes: &[u8], len: usize) -> Option<String> {
    (bytes.len() == len && bytes.iter().any(|b| *b != 0)).then(|| hex(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// Key-value pairs as a JSON object: the first [`MAX_ATTRIBUTES`] keys, the last value of a
/// repeated key.
pub(crate) fn attributes(pairs: &[KeyValue]) -> Map<String, Value> {
    let mut object = Map::new();
    for pair in pairs {
        if object.len() >= MAX_ATTRIBUTES && !object.contains_key(&pair.key) {
            continue;
        }
        object.insert(pair.key.clone(), value(pair.value.as_ref(), 0));
    }
    object
}

/// An attribute value as JSON; an empty value (which OTLP allows) is null.
pub(crate) fn value(value: Option<&AnyValue>, depth: usize) -> Value {
    let Some(inner) = value.and_then(|v| v.value.as_ref()) else {
        return Value::Null;
    };
    if depth >= MAX_VALUE_DEPTH {
        return Value::Null;
    }
    match inner {
        any_value::Value::StringValue(text) => Value::String(cut(text, MAX_STRING_BYTES)),
        any_value::Value::BoolValue(flag) => Value::Bool(*flag),
        any_value::Value::IntValue(number) => Value::Number((*number).into()),
        any_value::Value::DoubleValue(number) => {
            Number::from_f64(*number).map_or(Value::Null, Value::Number)
        }
        any_value::Value::ArrayValue(array) => Value::Array(
            array
                .values
                .iter()
                .map(|item| self::value(Some(item), depth + 1))
                .collect(),
        ),
        any_value::Value::KvlistValue(list) => Value::Object(
            list.values
                .iter()
                .map(|pair| {
                    (
                        pair.key.clone(),
                        self::value(pair.value.as_ref(), depth + 1),
                    )
                })
                .collect(),
        ),
        any_value::Value::BytesValue(bytes) => Value::String(cut(&hex(bytes), MAX_STRING_BYTES)),
        // A reference into a profiles dictionary, which traces do not have.
        any_value::Value::StringValueStrindex(_) => Value::Null,
    }
}

/// An export request of another signal than traces, in `encoding`.
pub(crate) fn parse<M: Message + Default + serde::de::DeserializeOwned>(
    body: &[u8],
    encoding: Encoding,
    name: &str,
) -> Result<M, DecodeError> {
    match encoding {
        Encoding::Protobuf => {
            M::decode(body).map_err(|e| DecodeError(format!("not an OTLP {name}: {e}")))
        }
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| DecodeError(format!("not an OTLP/JSON {name}: {e}"))),
    }
}

/// Checks that `body` is a metrics export request, and counts its metrics. Callscope keeps
/// none: a call's latency comes from its spans, which carry the same figures per turn.
pub fn count_metrics(body: &[u8], encoding: Encoding) -> Result<usize, DecodeError> {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    Ok(
        parse::<ExportMetricsServiceRequest>(body, encoding, "ExportMetricsServiceRequest")?
            .resource_metrics
            .iter()
            .flat_map(|resource| &resource.scope_metrics)
            .map(|scope| scope.metrics.len())
            .sum(),
    )
}
