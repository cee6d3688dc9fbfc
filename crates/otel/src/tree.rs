//! The call's `span_tree`: every span of the trace as a tree (children by start time), with
//! names, times, status and attributes, bounded so that a long call's tree stays a small
//! part of its document.

use crate::span::{TraceSpan, cut};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

/// Most spans the tree shows; the rest are counted in `omitted_spans`.
pub const MAX_TREE_SPANS: usize = 2_000;
/// Longest string attribute shown in the tree, in bytes (the transcript has the words).
const MAX_TREE_STRING: usize = 1_024;

/// The tree of `spans`: `{"trace_id", "spans": [roots…], "span_count", "omitted_spans"}`,
/// each node `{"name", "span_id", "start", "end", "duration_ms", "status"?, "attributes"?,
/// "children"?}`. A span whose parent never arrived is a root.
pub fn span_tree(spans: &[TraceSpan]) -> Value {
    let mut ordered: Vec<&TraceSpan> = spans.iter().collect();
    ordered.sort_by(|a, b| (a.start_unix_nano, &a.span_id).cmp(&(b.start_unix_nano, &b.span_id)));
    let shown: Vec<&TraceSpan> = ordered.into_iter().take(MAX_TREE_SPANS).collect();
    let ids: HashSet<&str> = shown.iter().map(|span| span.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<&TraceSpan>> = HashMap::new();
    let mut roots = Vec::new();
    for span in &shown {
        match span
            .parent_span_id
            .as_deref()
            .filter(|parent| ids.contains(parent))
        {
            Some(parent) => children.entry(parent).or_default().push(span),
            None => roots.push(*span),
        }
    }
    let trace_id = spans
        .first()
        .map(|span| span.trace_id.clone())
        .unwrap_or_default();
    json!({
        "trace_id": trace_id,
        "span_count": spans.len(),
        "omitted_spans": spans.len() - shown.len(),
        "spans": roots.iter().map(|root| node(root, &children, 0)).collect::<Vec<_>>(),
    })
}

fn node(span: &TraceSpan, children: &HashMap<&str, Vec<&TraceSpan>>, depth: usize) -> Value {
    let mut object = Map::new();
    object.insert("name".into(), json!(span.name));
    object.insert("span_id".into(), json!(span.span_id));
    object.insert("start_unix_nano".into(), json!(span.start_unix_nano));
    object.insert("end_unix_nano".into(), json!(span.end_unix_nano));
    let nanos = span.end_unix_nano.saturating_sub(span.start_unix_nano);
    object.insert("duration_ms".into(), json!(nanos as f64 / 1e6));
    if let Some(status) = &span.status {
        object.insert("status".into(), json!(status));
    }
    if !span.attributes.is_empty() {
        let attributes: Map<String, Value> = span
            .attributes
            .iter()
            .map(|(key, value)| (key.clone(), shorten(value)))
            .collect();
        object.insert("attributes".into(), Value::Object(attributes));
    }
    if let Some(kids) = children.get(span.span_id.as_str()) {
        // Parent links come from the exporter: a cycle would recurse forever.
        if depth < 64 {
            let nodes: Vec<Value> = kids
                .iter()
                .map(|kid| node(kid, children, depth + 1))
                .collect();
            object.insert("children".into(), Value::Array(nodes));
        }
    }
    Value::Object(object)
}

/// `value` with every string cut to [`MAX_TREE_STRING`] bytes.
fn shorten(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(cut(text, MAX_TREE_STRING)),
        Value::Array(items) => Value::Array(items.iter().map(shorten).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), shorten(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
