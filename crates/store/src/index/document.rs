//! The index document of a call: the shape the query crate's field catalogue names.
//!
//! Two JSON objects are fed from the same call (see `../shared/notes/tantivy-and-sqlite.md`):
//! `kw` with every exact value (raw tokenizer, fast: `term`, `range`, sort, aggregations) and
//! `text` with the analysed text (`match`, `match_phrase`). Long free text stays out of `kw`.
//! Times are epoch milliseconds, so ranges, sorts and histograms are plain integer work and
//! tantivy's JSON date detection (RFC 3339 with an offset only) never matters.

use callscope_model::{Call, Role, Timestamp};
use serde_json::{Map, Value, json};

/// Paths of `text` fields that hold something, listed under `kw.present` so that `exists` on
/// a text field (which is not fast) is a term lookup.
pub(crate) const PRESENT: &str = "present";

/// The unique key of a call in the index: tenant and id (neither may contain `/`).
pub(crate) fn key(organization_id: &str, id: &str) -> String {
    format!("{organization_id}/{id}")
}

/// The `kw` and `text` objects of `call`.
pub(crate) fn build(call: &Call) -> (Map<String, Value>, Map<String, Value>) {
    let millis = |at: Option<Timestamp>| at.map(|t| t.as_millis());
    let mut kw = json!({
        "id": call.id,
        "organization_id": call.organization_id,
        "agent": call.agent,
        "campaign_id": call.campaign_id,
        "channel": call.channel,
        "direction": call.direction,
        "kind": call.kind,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "status": call.status,
        "session_status": call.session_status(),
        "status_code": call.status_code,
        "disconnection_reason": call.disconnection_reason,
        "created_at": call.created_at.as_millis(),
        "updated_at": call.updated_at.as_millis(),
        "started_at": millis(call.started_at),
        "ended_at": millis(call.ended_at),
        "session_start_time": call.session_start_time().as_millis(),
        "duration_ms": call.duration_ms,
        "room_name": call.room_name,
        "language": call.language,
        "request_ids": call.request_ids,
        "metadata": call.metadata,
        "flow": call.flow,
        "recording": call.recording,
        "metrics": call.metrics,
        "cost": call.cost.as_ref().map(|cost| json!({
            "total_micro_usd": cost.total_micro_usd.map(|total| total.0),
            "credits": cost.credits,
        })),
        "analysis": call.analysis.as_ref().map(|analysis| json!({
            "status": analysis.status,
            "outcome": analysis.outcome,
            "sentiment": analysis.sentiment,
            "webhook_status": analysis.webhook_status,
        })),
        "transcript": {
            "role": distinct(call.transcript.iter().map(|e| Some(e.role.as_str().to_owned()))),
            "provider": distinct(call.transcript.iter().map(|e| e.provider.clone())),
            "model": distinct(call.transcript.iter().map(|e| e.model.clone())),
        },
        "tags_list": call.distinct_tags().into_iter().map(|(tag, count)| json!({
            "tag": tag.tag, "category": tag.category, "count": count,
        })).collect::<Vec<_>>(),
        "params_list": call.last_parameters(),
        "params": call.last_parameters().into_iter()
            .map(|parameter| (parameter.name.clone(), parameter.value.clone()))
            .collect::<Map<_, _>>(),
        "tag_counts": tag_counts(call),
    });

    let mut text = Map::new();
    let mut present = Vec::new();
    let mut by_role = |path: &'static str, keep: &dyn Fn(Role) -> bool| {
        let texts: Vec<Value> = call
            .transcript
            .iter()
            .filter(|entry| keep(entry.role))
            .map(|entry| Value::String(entry.text.clone()))
            .collect();
        if !texts.is_empty() {
            present.push(Value::String(format!("transcript.{path}")));
            text.insert(path.to_owned(), Value::Array(texts));
        }
    };
    by_role("text", &|_| true);
    by_role("user", &|role| role == Role::User);
    by_role("agent", &|role| role == Role::Agent);
    by_role("system", &|role| role == Role::System);
    by_role("tool", &|role| role == Role::Tool);
    let mut text = Map::from_iter([("transcript".to_owned(), Value::Object(text))]);
    if let Some(summary) = call.analysis.as_ref().and_then(|a| a.summary.clone()) {
        present.push(Value::String("analysis.summary".into()));
        text.insert("analysis".into(), json!({ "summary": summary }));
    }
    if let Value::Object(fields) = &mut kw {
        fields.insert(PRESENT.into(), Value::Array(present));
        strip_nulls(fields);
    }
    let Value::Object(kw) = kw else {
        return (Map::new(), text);
    };
    (kw, text)
}

fn distinct(values: impl Iterator<Item = Option<String>>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for value in values.flatten() {
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen
}

/// `tag_counts.<tag>`: seed 001's `tags.<tag_name>`, summed over categories.
fn tag_counts(call: &Call) -> Map<String, Value> {
    let mut counts: Map<String, Value> = Map::new();
    for (tag, count) in call.distinct_tags() {
        let total = counts.get(&tag.tag).and_then(Value::as_u64).unwrap_or(0) + u64::from(count);
        counts.insert(tag.tag.clone(), Value::from(total));
    }
    counts
}

/// Nulls index nothing but would still create empty paths; leave them out.
fn strip_nulls(fields: &mut Map<String, Value>) {
    fields.retain(|_, value| !value.is_null());
    for value in fields.values_mut() {
        if let Value::Object(inner) = value {
            strip_nulls(inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_model::{WriteContext, call_from_json};

    #[test]
    fn the_document_carries_every_catalogue_family() {
        let context = WriteContext {
            organization_id: "o",
            path_id: None,
            now: Timestamp::from_millis(1_700_000_000_000).unwrap_or_else(Timestamp::now),
            existing_created_at: None,
        };
        let call = call_from_json(
            json!({"id": "c", "status": "completed", "agent": {"id": "a"},
                "transcript": [{"role": "user", "text": "shut up"}, {"role": "agent", "text": "sorry"}],
                "flow": {"collected_tags": [{"tag": "t", "category": "k"}, {"tag": "t", "category": "k"}]},
                "analysis": {"summary": "Rude caller."}}),
            &context,
        );
        let Ok(call) = call else { panic!("{call:?}") };
        let (kw, text) = build(&call);
        assert_eq!(kw["session_status"], "ended");
        assert_eq!(kw["created_at"], 1_700_000_000_000_i64);
        assert_eq!(
            kw["tags_list"],
            json!([{"tag": "t", "category": "k", "count": 2}])
        );
        assert_eq!(kw["tag_counts"], json!({"t": 2}));
        assert_eq!(kw["transcript"]["role"], json!(["user", "agent"]));
        assert!(!kw.contains_key("started_at"), "nulls are left out");
        assert_eq!(text["transcript"]["user"], json!(["shut up"]));
        assert_eq!(text["transcript"]["text"], json!(["shut up", "sorry"]));
        assert_eq!(
            kw[PRESENT],
            json!([
                "transcript.text",
                "transcript.user",
                "transcript.agent",
                "analysis.summary"
            ])
        );
    }
}
