//! The index document of a call: the shape the query crate's field catalogue names.
//!
//! Three parts are fed from the same call (see `../shared/notes/tantivy-and-sqlite.md`): the
//! `kw` JSON object with every exact value (raw tokenizer, inverted and fast: `term`,
//! `prefix`, sort, aggregations), the `num` JSON object with the values of number and date
//! fields (fast only: `range`, sort, aggregations), and one analysed text field per path of
//! `TEXT_FIELDS` (`match`, `match_phrase`). Long free text stays out of `kw`. Times are epoch
//! milliseconds, so ranges, sorts and histograms are plain integer work and tantivy's JSON
//! date detection (RFC 3339 with an offset only) never matters.
//!
//! Numbers have their own object because they are never looked up as terms (JSON numbers
//! keep their type in the inverted index, so exact numbers are compared as `[v, v]` ranges
//! on the fast columns) and most are unique per call (times, durations, latencies): in the
//! inverted index they only cost term-dictionary work at every flush and merge.

use callscope_model::{Call, Cost, Role, Timestamp};
use callscope_query::{FieldKind, IndexField};
use serde_json::{Map, Value, json};

/// The JSON field of exact values.
pub(crate) const KW: &str = "kw";
/// The JSON field of number and date values (fast columns only).
pub(crate) const NUM: &str = "num";

/// The object holding the values of fields of `kind`: user-defined fields may hold text or
/// numbers in the same path, so they stay whole in `kw`.
pub(crate) fn object_of(kind: FieldKind) -> &'static str {
    if kind.numeric() { NUM } else { KW }
}

/// The fast column of `field`, as tantivy's aggregations and sorts name it.
pub(crate) fn column(field: &IndexField) -> String {
    format!("{}.{}", object_of(field.kind), field.path)
}

/// The analysed text fields, named by their catalogue paths. Each is its own tantivy text
/// field rather than a path of one JSON object: tantivy keeps no field norms for JSON fields,
/// so BM25 would ignore how long a transcript is and every full postings block would claim a
/// best score of 0, which makes block-max pruning drop matches that belong on the page.
pub(crate) const TEXT_FIELDS: [&str; 5] = [
    "transcript.user",
    "transcript.agent",
    "transcript.system",
    "transcript.tool",
    SUMMARY_FIELD,
];

/// The fields of `TEXT_FIELDS` that hold transcript entries, one per role.
const ROLE_FIELDS: &[&str] = TEXT_FIELDS.split_at(4).0;

const SUMMARY_FIELD: &str = "analysis.summary";

/// The catalogue's text of every role. It has no field of its own: each entry is indexed
/// once, under its role, and a search of this path searches every role's field
/// (`fields_of`). Indexing the transcript twice cost an eighth of the ingest rate.
pub(crate) const WHOLE_TRANSCRIPT: &str = "transcript.text";

/// The fields of `TEXT_FIELDS` a search of the text path `path` looks in.
pub(crate) fn fields_of(path: &str) -> &'static [&'static str] {
    if path == WHOLE_TRANSCRIPT {
        ROLE_FIELDS
    } else {
        TEXT_FIELDS
            .iter()
            .position(|field| *field == path)
            .map_or(&[], |at| &TEXT_FIELDS[at..=at])
    }
}

/// The text field of what `role` says.
fn role_field(role: Role) -> &'static str {
    match role {
        Role::User => "transcript.user",
        Role::Agent => "transcript.agent",
        Role::System => "transcript.system",
        Role::Tool => "transcript.tool",
    }
}

/// What the index holds of one call.
pub(crate) struct IndexDocument<'a> {
    /// The `kw` object.
    pub kw: Map<String, Value>,
    /// The `num` object.
    pub num: Map<String, Value>,
    /// Analysed text as `(field of TEXT_FIELDS, one value)`, in order.
    pub texts: Vec<(&'static str, &'a str)>,
}

/// Paths of text fields that hold something, listed under `kw.present` so that `exists` on
/// a text field (which is not fast) is a term lookup.
pub(crate) const PRESENT: &str = "present";

/// The unique key of a call in the index: tenant and id (neither may contain `/`).
pub(crate) fn key(organization_id: &str, id: &str) -> String {
    format!("{organization_id}/{id}")
}

/// The index document of `call`.
pub(crate) fn build(call: &Call) -> IndexDocument<'_> {
    let millis = |at: Option<Timestamp>| at.map(|t| t.as_millis());
    let kw = json!({
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
        "cost": call.cost.as_ref().map(cost_fields),
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
        "transfer": call.transfer,
    });

    let texts = texts(call);
    let mut present = Vec::new();
    if !texts.is_empty() {
        present.push(Value::String(WHOLE_TRANSCRIPT.into()));
    }
    for field in ROLE_FIELDS {
        if texts.iter().any(|(path, _)| path == field) {
            present.push(Value::String((*field).into()));
        }
    }
    if texts.iter().any(|(path, _)| *path == SUMMARY_FIELD) {
        present.push(Value::String(SUMMARY_FIELD.into()));
    }
    let mut kw = match kw {
        Value::Object(mut fields) => {
            fields.insert(PRESENT.into(), Value::Array(present));
            fields
        }
        _ => Map::new(),
    };
    let num = take_numbers(&mut kw, &mut String::new());
    IndexDocument { kw, num, texts }
}

/// The cost fields of the catalogue: the total, credits and the sum of each component's
/// lines (`cost.llm_micro_usd`), so cost per component is a plain `sum` aggregation.
fn cost_fields(cost: &Cost) -> Value {
    let mut fields = json!({
        "total_micro_usd": cost.total_micro_usd.map(|total| total.0),
        "credits": cost.credits,
    });
    for item in &cost.breakdown {
        let path = format!("{}_micro_usd", item.component.as_str());
        let sum = fields[&path]
            .as_u64()
            .unwrap_or(0)
            .saturating_add(item.micro_usd.0);
        fields[&path] = json!(sum);
    }
    fields
}

/// The analysed text of `call` as `(field of TEXT_FIELDS, one value)`: each transcript entry
/// under its role, in order, then the summary.
pub(crate) fn texts(call: &Call) -> Vec<(&'static str, &str)> {
    let mut texts: Vec<(&'static str, &str)> = call
        .transcript
        .iter()
        .map(|entry| (role_field(entry.role), entry.text.as_str()))
        .collect();
    if let Some(summary) = call.analysis.as_ref().and_then(|a| a.summary.as_deref()) {
        texts.push((SUMMARY_FIELD, summary));
    }
    texts
}

/// Moves the numbers of `fields` (at `path`) out into an object of the same shape, except
/// those of paths the catalogue calls keyword, boolean or user-defined. Nulls, and objects
/// and arrays left empty, go too: they index nothing but would still create empty paths.
fn take_numbers(fields: &mut Map<String, Value>, path: &mut String) -> Map<String, Value> {
    let mut numbers = Map::new();
    fields.retain(|name, value| {
        let parent = path.len();
        if parent > 0 {
            path.push('.');
        }
        path.push_str(name);
        let taken = take_numbers_of(value, path);
        path.truncate(parent);
        if let Some(taken) = taken {
            numbers.insert(name.clone(), taken);
        }
        !is_empty(value)
    });
    numbers
}

/// The numbers of `value` (at `path`), taken out of it.
fn take_numbers_of(value: &mut Value, path: &mut String) -> Option<Value> {
    match value {
        Value::Number(_) => {
            let numeric = callscope_query::kind_of(path).is_none_or(FieldKind::numeric);
            numeric.then(|| value.take())
        }
        Value::Object(fields) => {
            let taken = take_numbers(fields, path);
            (!taken.is_empty()).then_some(Value::Object(taken))
        }
        Value::Array(items) => {
            let taken: Vec<Value> = items
                .iter_mut()
                .filter_map(|item| take_numbers_of(item, path))
                .collect();
            items.retain(|item| !is_empty(item));
            (!taken.is_empty()).then_some(Value::Array(taken))
        }
        _ => None,
    }
}

/// A value that indexes nothing: taken, or an empty object or array.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(fields) => fields.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use callscope_model::{WriteContext, call_from_json};

    fn context() -> WriteContext<'static> {
        WriteContext {
            organization_id: "o",
            path_id: None,
            now: Timestamp::from_millis(1_700_000_000_000).unwrap_or_else(Timestamp::now),
            existing_created_at: None,
        }
    }

    #[test]
    fn the_document_carries_every_catalogue_family() {
        let call = call_from_json(
            json!({"id": "c", "status": "completed", "agent": {"id": "a"},
                "transcript": [{"role": "user", "text": "shut up"}, {"role": "agent", "text": "sorry"}],
                "flow": {"collected_tags": [{"tag": "t", "category": "k"}, {"tag": "t", "category": "k"}]},
                "analysis": {"summary": "Rude caller."}}),
            &context(),
        );
        let Ok(call) = call else { panic!("{call:?}") };
        let IndexDocument { kw, num, texts } = build(&call);
        assert_eq!(kw["session_status"], "ended");
        assert_eq!(num["created_at"], 1_700_000_000_000_i64);
        assert!(!kw.contains_key("created_at"), "numbers are in `num` only");
        assert_eq!(kw["tags_list"], json!([{"tag": "t", "category": "k"}]));
        assert_eq!(num["tags_list"], json!([{"count": 2}]));
        assert_eq!(num["tag_counts"], json!({"t": 2}));
        assert!(!kw.contains_key("tag_counts"), "objects left empty go");
        assert_eq!(kw["transcript"]["role"], json!(["user", "agent"]));
        assert!(!kw.contains_key("started_at"), "nulls are left out");
        assert_eq!(
            texts,
            [
                ("transcript.user", "shut up"),
                ("transcript.agent", "sorry"),
                ("analysis.summary", "Rude caller."),
            ]
        );
        assert!(
            texts.iter().all(|(path, _)| TEXT_FIELDS.contains(path)),
            "every text has its field"
        );
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

    #[test]
    fn numbers_of_user_defined_fields_stay_beside_their_text() {
        let call = call_from_json(
            json!({"id": "c", "status": "completed", "agent": {"id": "a"},
                "metadata": {"crm": 42, "tier": "gold", "note": null}, "duration_ms": 9000,
                "flow": {"path": [{"type": "webhook", "execution_time": 120,
                    "context": {"execution_parameters": [{"name": "n", "value": 7}]}}]}}),
            &context(),
        );
        let Ok(call) = call else { panic!("{call:?}") };
        let IndexDocument { kw, num, .. } = build(&call);
        assert_eq!(kw["metadata"], json!({"crm": 42, "tier": "gold"}));
        assert!(!num.contains_key("metadata"));
        assert_eq!(num["duration_ms"], 9000);
        assert_eq!(num["flow"]["path"], json!([{"execution_time": 120}]));
        assert_eq!(kw["flow"]["path"][0]["type"], "webhook");
        assert_eq!(
            kw["flow"]["path"][0]["context"]["execution_parameters"][0]["value"],
            7
        );
        assert!(kw["flow"]["path"][0].get("execution_time").is_none());
    }

    /// Every leaf path of `value` (array elements share their array's path).
    fn leaf_paths(value: &Value, path: &str, paths: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(fields) => {
                for (name, inner) in fields {
                    let inner_path = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    leaf_paths(inner, &inner_path, paths);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| leaf_paths(item, path, paths)),
            _ => {
                paths.insert(path.to_owned());
            }
        }
    }

    #[test]
    fn every_path_of_a_demo_call_is_in_the_catalogue() {
        let config = callscope_demo::DemoConfig {
            seed: 7,
            organization_id: "o".into(),
            calls: 300,
            anchor: Timestamp::from_millis(1_700_000_000_000).unwrap_or_else(Timestamp::now),
            days: 30,
        };
        let mut paths = std::collections::BTreeSet::new();
        for labelled in callscope_demo::generate(&config) {
            let IndexDocument { kw, num, .. } = build(&labelled.call);
            let mut kw = Value::Object(kw);
            if let Value::Object(fields) = &mut kw {
                fields.remove(PRESENT);
            }
            leaf_paths(&kw, "", &mut paths);
            leaf_paths(&Value::Object(num), "", &mut paths);
        }
        assert!(paths.len() > 60, "{paths:?}");
        let unknown: Vec<&String> = paths
            .iter()
            .filter(|path| callscope_query::kind_of(path).is_none())
            .collect();
        assert!(
            unknown.is_empty(),
            "indexed but not searchable (add them to the catalogue): {unknown:?}"
        );
    }
}
