//! A span as Callscope keeps it: OTLP's span flattened to plain JSON (ids in lower-case hex,
//! times in Unix nanoseconds, attribute values as JSON), with the attributes of its resource
//! beside it, so each span can be stored alone and a trace re-read from its spans in any
//! order.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One span of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSpan {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub span_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    pub name: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SpanStatus>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<SpanEvent>,
    /// The attributes of the resource that produced the span (`service.name`, …).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub resource: Map<String, Value>,
    /// The instrumentation scope's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A span's status, when it was set: `ok` or `error`, with the error's message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanStatus {
    pub code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// A timed event inside a span.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanEvent {
    pub name: String,
    pub time_unix_nano: u64,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

impl TraceSpan {
    /// The first of `keys` the span (or its resource) has as a non-empty string.
    pub fn text(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|key| {
            self.attributes
                .get(*key)
                .or_else(|| self.resource.get(*key))
                .and_then(Value::as_str)
                .filter(|text| !text.trim().is_empty())
        })
    }

    /// The first of `keys` the span has as a number (an integer, a double, or a string
    /// holding one, as some SDKs send).
    pub fn number(&self, keys: &[&str]) -> Option<f64> {
        keys.iter()
            .find_map(|key| match self.attributes.get(*key)? {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => text.trim().parse().ok(),
                _ => None,
            })
    }

    /// Whether the span has `key` set to true.
    pub fn flag(&self, key: &str) -> bool {
        match self.attributes.get(key) {
            Some(Value::Bool(set)) => *set,
            Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// Milliseconds from `origin_unix_nano` to the span's start (0 when before it).
    pub fn start_offset_ms(&self, origin_unix_nano: u64) -> u64 {
        self.start_unix_nano.saturating_sub(origin_unix_nano) / 1_000_000
    }

    /// Milliseconds from `origin_unix_nano` to the span's end (0 when before it).
    pub fn end_offset_ms(&self, origin_unix_nano: u64) -> u64 {
        self.end_unix_nano.saturating_sub(origin_unix_nano) / 1_000_000
    }
}

/// At most `max` bytes of `text`, cut at a character boundary and marked with `…`.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The spans of a trace by id, to walk from a span up through its ancestors.
pub(crate) struct Ancestry<'a>(HashMap<&'a str, &'a TraceSpan>);

impl<'a> Ancestry<'a> {
    pub(crate) fn of(spans: &'a [TraceSpan]) -> Self {
        Self(
            spans
                .iter()
                .map(|span| (span.span_id.as_str(), span))
                .collect(),
        )
    }

    /// The nearest ancestor of `span` named `name`. Parent links are the exporter's: the walk
    /// stops after 32 steps, so a cycle cannot hold it.
    pub(crate) fn nearest(&self, span: &TraceSpan, name: &str) -> Option<&'a TraceSpan> {
        let mut parent = span.parent_span_id.as_deref();
        for _ in 0..32 {
            let candidate = self.0.get(parent?)?;
            if candidate.name == name {
                return Some(candidate);
            }
            parent = candidate.parent_span_id.as_deref();
        }
        None
    }
}

/// The spans by start time, then id: the same order whatever order they came in.
pub(crate) fn by_start(spans: &[TraceSpan]) -> Vec<&TraceSpan> {
    let mut ordered: Vec<&TraceSpan> = spans.iter().collect();
    ordered.sort_by(|a, b| (a.start_unix_nano, &a.span_id).cmp(&(b.start_unix_nano, &b.span_id)));
    ordered
}
