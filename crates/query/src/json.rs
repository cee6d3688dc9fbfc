//! JSON-shape checks shared by the query, sort and aggregation parsers, so every refusal of a
//! malformed request is worded the same way wherever it happens.

use crate::QueryError;
use serde_json::{Map, Value};

/// `value` as an object, or a refusal saying that `context` expects one.
pub(crate) fn object<'a>(
    context: &str,
    value: &'a Value,
) -> Result<&'a Map<String, Value>, QueryError> {
    value.as_object().ok_or_else(|| {
        QueryError::new(format!(
            "{context} expects an object, got {}",
            describe(value)
        ))
    })
}

/// Refuses the first key of `map` that is not in `accepted`: Elasticsearch options we do not
/// implement must not be ignored, or the caller would get a different answer than they asked.
pub(crate) fn check_keys(
    context: &str,
    map: &Map<String, Value>,
    accepted: &[&str],
) -> Result<(), QueryError> {
    match map.keys().find(|key| !accepted.contains(&key.as_str())) {
        Some(key) => Err(unknown_key(context, key, accepted)),
        None => Ok(()),
    }
}

/// The refusal of `key` in `context`, listing what is accepted there.
pub(crate) fn unknown_key(context: &str, key: &str, accepted: &[&str]) -> QueryError {
    if accepted.is_empty() {
        return QueryError::new(format!("{context} takes no keys, got `{key}`"));
    }
    QueryError::new(format!(
        "unknown key `{key}` in {context}; accepted: {}",
        accepted.join(", ")
    ))
}

/// The single `key: value` entry among `entries`, as in `{"term": {...}}` (one clause) or
/// `{"status": "ended"}` (one field); `what` names the kind of key in the refusal.
pub(crate) fn only_entry<'a>(
    context: &str,
    what: &str,
    entries: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> Result<(&'a str, &'a Value), QueryError> {
    let entries: Vec<_> = entries.into_iter().collect();
    match entries.as_slice() {
        [(key, value)] => Ok((key.as_str(), *value)),
        [] => Err(QueryError::new(format!(
            "{context} takes exactly one {what}, got none"
        ))),
        many => {
            let keys: Vec<String> = many.iter().map(|(key, _)| format!("`{key}`")).collect();
            Err(QueryError::new(format!(
                "{context} takes exactly one {what}, got {}: {}",
                many.len(),
                keys.join(", ")
            )))
        }
    }
}

/// What kind of JSON value this is, for refusals ("got a list").
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
