//! Projection (`fields` on `/v1`, seed 001's `project_fields`): keeps only the named dotted
//! paths of a rendered document. It runs on the surface's output, so paths are output names
//! and are not resolved through the field catalogue.

use crate::QueryError;
use crate::json::describe;
use crate::limits::{Limits, limit_note};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Most names in one path: deeper than any rendered document goes, and the projection walks
/// a path by recursion.
const MAX_PATH_NAMES: usize = 32;

/// Parses a list of dotted paths (`["agent_information.name", "status"]`), or a single path;
/// at most `limits.max_project_fields` of them.
pub fn parse_fields(json: &Value, limits: &Limits) -> Result<Vec<String>, QueryError> {
    let items = match json {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let max = limits.max_project_fields;
    if items.len() > max {
        return Err(QueryError::new(format!(
            "{} paths are more than {max} {}",
            items.len(),
            limit_note("max_project_fields", max)
        )));
    }
    items.iter().map(checked_path).collect()
}

/// One path: a string of non-empty dot-separated names.
fn checked_path(item: &Value) -> Result<String, QueryError> {
    let Value::String(path) = item else {
        return Err(QueryError::new(format!(
            "fields must be dotted path strings such as \"agent_information.name\", got {}",
            describe(item)
        )));
    };
    let path = path.trim();
    if path.split('.').count() > MAX_PATH_NAMES {
        return Err(QueryError::new(format!(
            "field path `{path}` has more than {MAX_PATH_NAMES} names"
        )));
    }
    if path.split('.').any(str::is_empty) {
        return Err(QueryError::new(format!(
            "field path `{path}` has an empty name; write names separated by single dots"
        )));
    }
    Ok(path.to_owned())
}

/// Keeps only `paths` of `document`. A path keeps its whole subtree; through an array it
/// applies to each element, and elements left with nothing are dropped, as Elasticsearch's
/// source filtering does. Paths that do not exist are absent from the result, which is `{}`
/// when none exists. No paths means the whole document.
pub fn project(document: &Value, paths: &[String]) -> Value {
    if paths.is_empty() {
        return document.clone();
    }
    let mut tree = Tree::Children(BTreeMap::new());
    for path in paths {
        tree.insert(path.split('.'));
    }
    tree.apply(document)
        .unwrap_or_else(|| Value::Object(Map::new()))
}

/// The paths to keep as a tree of names; `Whole` ends a path and keeps all below it.
enum Tree<'a> {
    Whole,
    Children(BTreeMap<&'a str, Tree<'a>>),
}

impl<'a> Tree<'a> {
    /// Adds the path made of `names`; a shorter path already kept wins over a longer one.
    fn insert(&mut self, mut names: impl Iterator<Item = &'a str>) {
        let Tree::Children(children) = self else {
            return;
        };
        match names.next() {
            None => *self = Tree::Whole,
            Some(name) => children
                .entry(name)
                .or_insert_with(|| Tree::Children(BTreeMap::new()))
                .insert(names),
        }
    }

    /// The part of `value` this tree keeps, or `None` when nothing of it is kept.
    fn apply(&self, value: &Value) -> Option<Value> {
        let Tree::Children(children) = self else {
            return Some(value.clone());
        };
        match value {
            Value::Object(object) => {
                let kept: Map<String, Value> = object
                    .iter()
                    .filter_map(|(key, child)| {
                        let tree = children.get(key.as_str())?;
                        Some((key.clone(), tree.apply(child)?))
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items.iter().filter_map(|item| self.apply(item)).collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            // A path that continues below a scalar names nothing.
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(json: &Value) -> Vec<String> {
        match parse_fields(json, &Limits::default()) {
            Ok(paths) => paths,
            Err(error) => panic!("refused {json}: {error}"),
        }
    }

    fn keep(document: &Value, paths: &[&str]) -> Value {
        let paths: Vec<String> = paths.iter().map(|path| (*path).to_owned()).collect();
        project(document, &paths)
    }

    #[test]
    fn parses_a_list_or_one_path() {
        assert_eq!(
            fields(&json!(["agent_information.name", " status "])),
            vec!["agent_information.name", "status"]
        );
        assert_eq!(fields(&json!("flow_data")), vec!["flow_data"]);
        assert_eq!(fields(&json!([])), Vec::<String>::new());
    }

    #[test]
    fn refuses_what_is_not_a_dotted_path() {
        for (json, part) in [
            (json!([1]), "a number"),
            (json!({"a": 1}), "an object"),
            (json!(["a..b"]), "`a..b`"),
            (json!([""]), "empty name"),
            (json!([".a"]), "`.a`"),
        ] {
            let message = parse_fields(&json, &Limits::default())
                .err()
                .map(|error| error.to_string());
            assert!(
                message
                    .as_deref()
                    .is_some_and(|message| message.contains(part)),
                "{json}: {message:?}"
            );
        }
    }

    #[test]
    fn a_path_through_arrays_applies_to_each_element() {
        let document = json!({
            "id": "c1",
            "flow_data": {
                "collected_tags": [
                    {"tag": "a", "category": "c"},
                    {"category": "no tag here"},
                    {"tag": "b", "category": "c"}
                ],
                "injected_parameters": []
            },
            "matrix": [[{"x": 1, "y": 2}], [{"y": 3}]]
        });
        assert_eq!(
            keep(&document, &["flow_data.collected_tags.tag"]),
            json!({"flow_data": {"collected_tags": [{"tag": "a"}, {"tag": "b"}]}})
        );
        assert_eq!(
            keep(&document, &["matrix.x"]),
            json!({"matrix": [[{"x": 1}]]})
        );
        assert_eq!(
            keep(&document, &["flow_data.injected_parameters", "id"]),
            json!({"id": "c1", "flow_data": {"injected_parameters": []}})
        );
    }

    #[test]
    fn missing_paths_are_absent_and_no_paths_keep_everything() {
        let document = json!({"status": "ended", "agent": {"name": "n", "id": "a"}});
        assert_eq!(
            keep(&document, &["nothing", "status.code", "agent.voice"]),
            json!({})
        );
        assert_eq!(
            keep(&document, &["agent.name", "nothing"]),
            json!({"agent": {"name": "n"}})
        );
        // A shorter path keeps the whole subtree whatever longer paths say.
        assert_eq!(
            keep(&document, &["agent.name", "agent"]),
            json!({"agent": {"name": "n", "id": "a"}})
        );
        assert_eq!(keep(&document, &[]), document);
    }

    /// Part of seed 001's example hit, copied from the seed.
    fn seed_001_hit() -> Value {
        json!({
            "account_id": "5f7f277cf090a7001116fabe",
            "status": "ended",
            "id": "8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36",
            "agent_information": {
                "version_id": "5f7f2f337340dc7249f81406",
                "id": "5f7f2e60a6034c9b5c79d16c",
                "name": "oriprod2",
                "voice": "Salli",
                "language": "en-US"
            },
            "source": "9720014044002502",
            "channel_data": {"duration": 27000, "call_status": "ended", "status_code": 200},
            "flow_data": {
                "collected_tags": [
                    {"tag": "two", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "one", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "three", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "three", "category": "ddbc05ccbc48431d898104ac5e5b561a"}
                ],
                "collected_parameters": [{
                    "value_text": "Benjamin",
                    "name": "name",
                    "completed": true,
                    "type": "sys.names",
                    "value": "Benjamin"
                }],
                "injected_parameters": []
            }
        })
    }

    #[test]
    fn seed_001_agent_information_and_flow_data() {
        let hit = seed_001_hit();
        let expected = json!({
            "agent_information": {
                "version_id": "5f7f2f337340dc7249f81406",
                "id": "5f7f2e60a6034c9b5c79d16c",
                "name": "oriprod2",
                "voice": "Salli",
                "language": "en-US"
            },
            "flow_data": {
                "collected_tags": [
                    {"tag": "two", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "one", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "three", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "three", "category": "ddbc05ccbc48431d898104ac5e5b561a"}
                ],
                "collected_parameters": [{
                    "value_text": "Benjamin",
                    "name": "name",
                    "completed": true,
                    "type": "sys.names",
                    "value": "Benjamin"
                }],
                "injected_parameters": []
            }
        });
        let paths = fields(&json!(["agent_information", "flow_data"]));
        assert_eq!(project(&hit, &paths), expected);
    }

    #[test]
    fn seed_001_agent_name_collected_tags_and_status() {
        let hit = seed_001_hit();
        let expected = json!({
            "agent_information": {"name": "oriprod2"},
            "flow_data": {
                "collected_tags": [
                    {"tag": "two", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "one", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "three", "category": "ddbc05ccbc48431d898104ac5e5b561a"},
                    {"tag": "three", "category": "ddbc05ccbc48431d898104ac5e5b561a"}
                ]
            },
            "status": "ended"
        });
        let paths = fields(&json!([
            "agent_information.name",
            "flow_data.collected_tags",
            "status"
        ]));
        assert_eq!(project(&hit, &paths), expected);
    }
}
