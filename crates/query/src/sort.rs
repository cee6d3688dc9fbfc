//! Parses sorts: seed 001's `sort_by` text (`session_start_time:desc,agent_information.id`)
//! and the native body's Elasticsearch `sort` JSON, both into [`SortKey`]s.

use crate::QueryError;
use crate::ast::SortKey;
use crate::fields::{Surface, resolve_sort};
use crate::json::{check_keys, describe, only_entry};
use serde_json::Value;

/// Parses `field[:asc|desc]` keys separated by commas; a key without a direction is
/// ascending, as in Elasticsearch. Blank text means no sort.
pub fn parse_sort_list(surface: Surface, text: &str) -> Result<Vec<SortKey>, QueryError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|item| match item.split_once(':') {
            Some((name, direction)) => sort_key(surface, name.trim(), Some(direction.trim())),
            None => sort_key(surface, item.trim(), None),
        })
        .collect()
}

/// Parses Elasticsearch's `sort`: `"field"`, `{"field": "desc"}`,
/// `{"field": {"order": "desc"}}`, or a list of those.
pub fn parse_sort_json(surface: Surface, json: &Value) -> Result<Vec<SortKey>, QueryError> {
    match json {
        Value::Array(items) => items.iter().map(|item| sort_entry(surface, item)).collect(),
        single => sort_entry(surface, single).map(|key| vec![key]),
    }
}

/// One entry of a JSON sort.
fn sort_entry(surface: Surface, json: &Value) -> Result<SortKey, QueryError> {
    match json {
        Value::String(name) => sort_key(surface, name, None),
        Value::Object(entry) => {
            // One field per object: a JSON object's keys have no order, so two of them could
            // not say which sorts first.
            let (name, order) =
                only_entry("a sort object", "field; use a list for several", entry)?;
            sort_key(surface, name, direction(name, order)?)
        }
        other => Err(QueryError::new(format!(
            "a sort entry is a field name or {{\"<field>\": \"asc\" | \"desc\"}}, got {}",
            describe(other)
        ))),
    }
}

/// The direction written for `name`: `"desc"` or `{"order": "desc"}` (without `order`,
/// ascending).
fn direction<'a>(name: &str, order: &'a Value) -> Result<Option<&'a str>, QueryError> {
    let context = format!("sort on `{name}`");
    match order {
        Value::String(direction) => Ok(Some(direction)),
        Value::Object(params) => {
            check_keys(&context, params, &["order"])?;
            match params.get("order") {
                None => Ok(None),
                Some(Value::String(direction)) => Ok(Some(direction)),
                Some(other) => Err(QueryError::new(format!(
                    "{context}: order must be \"asc\" or \"desc\", got {other}"
                ))),
            }
        }
        other => Err(QueryError::new(format!(
            "{context}: expected \"asc\", \"desc\" or {{\"order\": ...}}, got {}",
            describe(other)
        ))),
    }
}

/// A sort key from a field name and an optional direction.
fn sort_key(surface: Surface, name: &str, direction: Option<&str>) -> Result<SortKey, QueryError> {
    if name.is_empty() {
        return Err(QueryError::new(
            "sort: a key has no field name; write field:asc or field:desc separated by commas",
        ));
    }
    let descending = match direction {
        None => false,
        Some(direction) if direction.eq_ignore_ascii_case("asc") => false,
        Some(direction) if direction.eq_ignore_ascii_case("desc") => true,
        Some(other) => {
            return Err(QueryError::new(format!(
                "sort on `{name}`: unknown direction `{other}`; use asc or desc"
            )));
        }
    };
    let field =
        resolve_sort(surface, name).map_err(|error| QueryError::new(format!("sort: {error}")))?;
    Ok(SortKey { field, descending })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{FieldKind, IndexField};
    use serde_json::json;

    fn key(path: &str, kind: FieldKind, descending: bool) -> SortKey {
        SortKey {
            field: IndexField {
                path: path.to_owned(),
                kind,
            },
            descending,
        }
    }

    fn list(surface: Surface, text: &str) -> Vec<SortKey> {
        match parse_sort_list(surface, text) {
            Ok(keys) => keys,
            Err(error) => panic!("refused `{text}`: {error}"),
        }
    }

    fn body(json: &Value) -> Vec<SortKey> {
        match parse_sort_json(Surface::Native, json) {
            Ok(keys) => keys,
            Err(error) => panic!("refused {json}: {error}"),
        }
    }

    fn refused(result: Result<Vec<SortKey>, QueryError>) -> String {
        match result {
            Ok(keys) => panic!("accepted as {keys:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn seed_001_sort_by_examples() {
        let start_desc = key("session_start_time", FieldKind::Date, true);
        assert_eq!(
            list(Surface::Insights, "session_start_time:desc"),
            vec![start_desc.clone()]
        );
        assert_eq!(
            list(Surface::Insights, "agent_information:asc,status:desc"),
            vec![
                key("agent.name", FieldKind::Keyword, false),
                key("session_status", FieldKind::Keyword, true),
            ]
        );
        assert_eq!(
            list(
                Surface::Insights,
                "session_start_time:desc,agent_information.id:asc"
            ),
            vec![start_desc, key("agent.id", FieldKind::Keyword, false)]
        );
        assert_eq!(
            list(Surface::Insights, "channel_data.duration:desc"),
            vec![key("duration_ms", FieldKind::Long, true)]
        );
    }

    #[test]
    fn no_direction_is_ascending_and_whitespace_is_tolerated() {
        assert_eq!(
            list(Surface::Native, " duration_ms , created_at : DESC "),
            vec![
                key("duration_ms", FieldKind::Long, false),
                key("created_at", FieldKind::Date, true),
            ]
        );
        assert_eq!(list(Surface::Native, ""), Vec::new());
        assert_eq!(list(Surface::Native, "   "), Vec::new());
    }

    #[test]
    fn bad_sort_lists_are_refused_naming_the_key() {
        let message = refused(parse_sort_list(
            Surface::Insights,
            "session_start_time:down",
        ));
        assert!(
            message.contains("`session_start_time`") && message.contains("`down`"),
            "{message}"
        );
        let message = refused(parse_sort_list(Surface::Insights, "colour:asc"));
        assert!(message.contains("`colour`"), "{message}");
        let message = refused(parse_sort_list(Surface::Insights, "transcription:asc"));
        assert!(message.contains("full-text"), "{message}");
        let message = refused(parse_sort_list(
            Surface::Insights,
            "session_start_time:desc,",
        ));
        assert!(message.contains("no field name"), "{message}");
    }

    #[test]
    fn elasticsearch_sort_forms() {
        let duration_desc = key("duration_ms", FieldKind::Long, true);
        assert_eq!(
            body(&json!("duration_ms")),
            vec![key("duration_ms", FieldKind::Long, false)]
        );
        assert_eq!(
            body(&json!({"duration_ms": "desc"})),
            vec![duration_desc.clone()]
        );
        assert_eq!(
            body(&json!([{"duration_ms": {"order": "desc"}}, "agent_id", {"created_at": {}}])),
            vec![
                duration_desc,
                key("agent.id", FieldKind::Keyword, false),
                key("created_at", FieldKind::Date, false),
            ]
        );
        assert_eq!(body(&json!([])), Vec::new());
    }

    #[test]
    fn bad_sort_json_is_refused() {
        let refusal = |json: Value| refused(parse_sort_json(Surface::Native, &json));
        let message = refusal(json!({"duration_ms": "desc", "created_at": "asc"}));
        assert!(message.contains("exactly one field"), "{message}");
        let message = refusal(json!({"duration_ms": {"order": "desc", "mode": "avg"}}));
        assert!(
            message.contains("`mode`") && message.contains("`duration_ms`"),
            "{message}"
        );
        let message = refusal(json!({"duration_ms": "sideways"}));
        assert!(message.contains("`sideways`"), "{message}");
        let message = refusal(json!({"duration_ms": {"order": 1}}));
        assert!(message.contains("order"), "{message}");
        let message = refusal(json!(5));
        assert!(message.contains("a number"), "{message}");
        let message = refusal(json!(["source"]));
        assert!(message.contains("`source`"), "{message}");
    }
}
