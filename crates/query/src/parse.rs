//! Parses a query (`filter_by` on `/insights`, `query` on `/v1`) from Elasticsearch's bool
//! query JSON into [`Query`], checking each leaf against the kind of the field it names.

use crate::QueryError;
use crate::ast::{BoolQuery, Operator, Query, RangeBounds, Scalar};
use crate::fields::{FieldKind, IndexField, Surface, resolve};
use crate::json::{check_keys, describe, object, only_entry, unknown_key};
use crate::limits::{Limits, limit_note};
use callscope_model::{TimeBound, Timestamp};
use serde_json::{Map, Value};

/// The occurrence lists of `bool`, also the keys of seed 001's bare form.
const OCCURRENCES: [&str; 4] = ["must", "filter", "should", "must_not"];
/// The clause kinds a query object may hold.
const CLAUSES: [&str; 9] = [
    "bool",
    "match_all",
    "term",
    "terms",
    "match",
    "match_phrase",
    "range",
    "exists",
    "prefix",
];

/// Parses a query written with `surface`'s field names.
///
/// Accepts Elasticsearch's single-key clauses (`{"bool": {...}}`, `{"term": {...}}`,
/// `{"match_all": {}}`, …) and, at any level, seed 001's bare form: an object whose keys are
/// the bool occurrences themselves (`{"must": [...], "should": [...]}`), which is what
/// `filter_by` carries. `{}` matches every call. An occurrence holds one clause or a list.
///
/// Date bounds of `range`: `gte` and `lt` use the first instant their bound names, `gt` and
/// `lte` the last millisecond of it. For an exact time both are that time; a plain date names
/// a whole UTC day, so `lte: "2020-09-17"` includes all of the 17th and `gt: "2020-09-17"`
/// starts on the 18th. This is also what Elasticsearch does with a bound's missing time of
/// day ("missing date components": `gt` and `lte` round up, `gte` and `lt` round down).
///
/// Nesting, clause count and `terms` lists are bounded by `limits`, to bound the server's
/// work.
pub fn parse_query(surface: Surface, json: &Value, limits: &Limits) -> Result<Query, QueryError> {
    Parser {
        surface,
        limits,
        clauses: 0,
    }
    .clause(json, 1)
}

/// Walks the query, counting clauses against the limit.
struct Parser<'l> {
    surface: Surface,
    limits: &'l Limits,
    clauses: usize,
}

impl Parser<'_> {
    /// One clause object at nesting level `depth` (the top is 1).
    fn clause(&mut self, json: &Value, depth: usize) -> Result<Query, QueryError> {
        self.count(depth)?;
        let clause = object("a query clause", json)?;
        if clause.is_empty() {
            return Ok(Query::MatchAll);
        }
        if clause.keys().any(|key| OCCURRENCES.contains(&key.as_str())) {
            return self.bool_body(clause, depth).map(Query::Bool);
        }
        let (kind, body) = only_entry("a query clause", "clause such as term or bool", clause)?;
        match kind {
            "bool" => self
                .bool_body(object("bool", body)?, depth)
                .map(Query::Bool),
            "match_all" => match_all(body),
            "exists" => exists(self.surface, body),
            "term" => term(&self.leaf("term", body)?),
            "terms" => terms(&self.leaf("terms", body)?, self.limits.max_terms_values),
            "match" => match_text(&self.leaf("match", body)?),
            "match_phrase" => match_phrase(&self.leaf("match_phrase", body)?),
            "range" => range(&self.leaf("range", body)?),
            "prefix" => prefix(&self.leaf("prefix", body)?),
            other => Err(unknown_key("a query clause", other, &CLAUSES)),
        }
    }

    /// Refuses the clause that goes past either limit.
    fn count(&mut self, depth: usize) -> Result<(), QueryError> {
        let max_depth = self.limits.max_query_depth;
        if depth > max_depth {
            return Err(QueryError::new(format!(
                "the query nests deeper than {max_depth} levels {}; flatten its bool clauses",
                limit_note("max_query_depth", max_depth)
            )));
        }
        self.clauses += 1;
        let max_clauses = self.limits.max_query_clauses;
        if self.clauses > max_clauses {
            return Err(QueryError::new(format!(
                "the query has more than {max_clauses} clauses {}; use terms for lists of values",
                limit_note("max_query_clauses", max_clauses)
            )));
        }
        Ok(())
    }

    /// The body of a `bool`, or seed 001's bare form.
    fn bool_body(
        &mut self,
        body: &Map<String, Value>,
        depth: usize,
    ) -> Result<BoolQuery, QueryError> {
        let mut query = BoolQuery::default();
        for (key, value) in body {
            let list = match key.as_str() {
                "must" => &mut query.must,
                "filter" => &mut query.filter,
                "should" => &mut query.should,
                "must_not" => &mut query.must_not,
                other => return Err(unknown_key("bool", other, &OCCURRENCES)),
            };
            *list = match value {
                Value::Array(items) => items
                    .iter()
                    .map(|item| self.clause(item, depth + 1))
                    .collect::<Result<_, _>>()?,
                single => vec![self.clause(single, depth + 1)?],
            };
        }
        Ok(query)
    }

    /// The one field of a leaf's `{"field": value}` body, resolved on this surface.
    fn leaf<'a>(&self, clause: &'static str, body: &'a Value) -> Result<Leaf<'a>, QueryError> {
        let (name, value) = only_entry(clause, "field", object(clause, body)?)?;
        let field = resolve_in(clause, self.surface, name)?;
        Ok(Leaf {
            clause,
            name,
            field,
            value,
        })
    }
}

/// `{"match_all": {}}`.
fn match_all(body: &Value) -> Result<Query, QueryError> {
    check_keys("match_all", object("match_all", body)?, &[])?;
    Ok(Query::MatchAll)
}

/// `{"exists": {"field": "name"}}`.
fn exists(surface: Surface, body: &Value) -> Result<Query, QueryError> {
    let params = object("exists", body)?;
    check_keys("exists", params, &["field"])?;
    let Some(Value::String(name)) = params.get("field") else {
        return Err(QueryError::new(
            "exists needs the field name as a string: {\"exists\": {\"field\": \"<name>\"}}",
        ));
    };
    let field = resolve_in("exists", surface, name)?;
    Ok(Query::Exists { field })
}

/// Resolves a field named in `clause`, saying which clause named it when it is unknown.
fn resolve_in(clause: &str, surface: Surface, name: &str) -> Result<IndexField, QueryError> {
    if name.trim().is_empty() {
        return Err(QueryError::new(format!(
            "{clause}: the field name is empty"
        )));
    }
    resolve(surface, name).map_err(|error| QueryError::new(format!("{clause}: {error}")))
}

/// `{"term": {"f": v}}` or `{"term": {"f": {"value": v}}}`.
fn term(leaf: &Leaf) -> Result<Query, QueryError> {
    let value = leaf.main_value("value", &["value"])?;
    Ok(Query::Term {
        field: leaf.field.clone(),
        value: leaf.scalar(value)?,
    })
}

/// `{"terms": {"f": [v, ...]}}`.
fn terms(leaf: &Leaf, max_values: usize) -> Result<Query, QueryError> {
    let Value::Array(items) = leaf.value else {
        return Err(leaf.error(format!(
            "expected a list of values, got {}; use term for a single value",
            describe(leaf.value)
        )));
    };
    if items.is_empty() {
        return Err(leaf.error("the list of values is empty; give at least one value"));
    }
    if items.len() > max_values {
        return Err(leaf.error(format!(
            "more than {max_values} values {}; split the query",
            limit_note("max_terms_values", max_values)
        )));
    }
    let values = items
        .iter()
        .map(|item| leaf.scalar(item))
        .collect::<Result<_, _>>()?;
    Ok(Query::Terms {
        field: leaf.field.clone(),
        values,
    })
}

/// `{"match": {"f": "text"}}` or `{"match": {"f": {"query": "text", "operator": "and"}}}`.
fn match_text(leaf: &Leaf) -> Result<Query, QueryError> {
    leaf.require_text()?;
    let query = leaf.main_value("query", &["query", "operator"])?;
    // `get` finds nothing in the short form, where the value is the text itself.
    let operator = match leaf.value.get("operator") {
        None => Operator::Or,
        Some(Value::String(op)) if op.eq_ignore_ascii_case("or") => Operator::Or,
        Some(Value::String(op)) if op.eq_ignore_ascii_case("and") => Operator::And,
        Some(other) => {
            return Err(leaf.error(format!("operator must be \"and\" or \"or\", got {other}")));
        }
    };
    Ok(Query::Match {
        field: leaf.field.clone(),
        text: leaf.text(query)?,
        operator,
    })
}

/// `{"match_phrase": {"f": "text"}}` or `{"match_phrase": {"f": {"query": "text"}}}`.
fn match_phrase(leaf: &Leaf) -> Result<Query, QueryError> {
    leaf.require_text()?;
    let query = leaf.main_value("query", &["query"])?;
    Ok(Query::MatchPhrase {
        field: leaf.field.clone(),
        text: leaf.text(query)?,
    })
}

/// `{"range": {"f": {"gte": a, "lt": b}}}`; see [`parse_query`] for how date bounds are read.
fn range(leaf: &Leaf) -> Result<Query, QueryError> {
    if !matches!(
        leaf.field.kind,
        FieldKind::Long | FieldKind::Double | FieldKind::Date | FieldKind::Dynamic
    ) {
        return Err(leaf.error(format!(
            "it is {}; range needs a number or date field",
            kind_noun(leaf.field.kind)
        )));
    }
    let bounds = object(&leaf.context(), leaf.value)?;
    let mut range = RangeBounds::default();
    for (op, value) in bounds {
        let slot = match op.as_str() {
            "gt" => &mut range.gt,
            "gte" => &mut range.gte,
            "lt" => &mut range.lt,
            "lte" => &mut range.lte,
            "time_zone" => {
                return Err(leaf.error(
                    "time_zone is not supported: all times are UTC; write the offset in the \
                     time itself, e.g. 2020-09-17T00:00:00+02:00",
                ));
            }
            "format" => {
                return Err(leaf.error(
                    "format is not supported: write times as RFC 3339, ISO date-times, dates or \
                     epoch milliseconds",
                ));
            }
            other => {
                return Err(unknown_key(
                    &leaf.context(),
                    other,
                    &["gt", "gte", "lt", "lte"],
                ));
            }
        };
        *slot = Some(leaf.bound(op, value)?);
    }
    if range == RangeBounds::default() {
        return Err(leaf.error("give at least one of gt, gte, lt, lte"));
    }
    Ok(Query::Range {
        field: leaf.field.clone(),
        range,
    })
}

/// `{"prefix": {"f": "abc"}}` or `{"prefix": {"f": {"value": "abc"}}}`.
fn prefix(leaf: &Leaf) -> Result<Query, QueryError> {
    if !matches!(leaf.field.kind, FieldKind::Keyword | FieldKind::Dynamic) {
        return Err(leaf.error(format!(
            "it is {}; prefix needs an ID or keyword field",
            kind_noun(leaf.field.kind)
        )));
    }
    let value = leaf.main_value("value", &["value"])?;
    Ok(Query::Prefix {
        field: leaf.field.clone(),
        prefix: leaf.text(value)?,
    })
}

/// How a field kind reads in a refusal ("it is an ID field").
pub(crate) fn kind_noun(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Keyword => "an ID field",
        FieldKind::Text => "a full-text field",
        FieldKind::Long | FieldKind::Double => "a number field",
        FieldKind::Date => "a date field",
        FieldKind::Bool => "a true/false field",
        FieldKind::Dynamic => "a user-defined field",
    }
}

/// A leaf clause with its resolved field and the value written beside the field.
struct Leaf<'a> {
    clause: &'static str,
    /// The name as written, so refusals use the caller's words.
    name: &'a str,
    field: IndexField,
    value: &'a Value,
}

impl Leaf<'_> {
    /// "term on `source`".
    fn context(&self) -> String {
        format!("{} on `{}`", self.clause, self.name)
    }

    fn error(&self, message: impl std::fmt::Display) -> QueryError {
        QueryError::new(format!("{}: {message}", self.context()))
    }

    /// Elasticsearch's two leaf forms: the value itself, or an object of parameters (checked
    /// against `accepted`) holding it under `main`.
    fn main_value(&self, main: &str, accepted: &[&str]) -> Result<&Value, QueryError> {
        let Value::Object(params) = self.value else {
            return Ok(self.value);
        };
        check_keys(&self.context(), params, accepted)?;
        params
            .get(main)
            .ok_or_else(|| self.error(format!("missing `{main}`")))
    }

    /// `match` and `match_phrase` analyse text, which only full-text fields hold; seed 001:
    /// "any ID field can only be searched using term searches".
    fn require_text(&self) -> Result<(), QueryError> {
        if self.field.kind == FieldKind::Text {
            return Ok(());
        }
        Err(self.error(format!(
            "it is {} searched exactly; use term",
            kind_noun(self.field.kind)
        )))
    }

    /// Refuses what cannot be one value, with the fix for each shape.
    fn single(&self, value: &Value) -> Result<(), QueryError> {
        match value {
            Value::Null => Err(self.error(
                "null is not a value; to find calls without the field use exists in must_not",
            )),
            Value::Array(_) if self.clause == "term" => {
                Err(self.error("expected one value, got a list; use terms for several values"))
            }
            Value::Array(_) | Value::Object(_) => {
                Err(self.error(format!("expected one value, got {}", describe(value))))
            }
            _ => Ok(()),
        }
    }

    /// Text to analyse or match the start of; blank text would silently match nothing (or
    /// everything, for prefix), so it is refused.
    fn text(&self, value: &Value) -> Result<String, QueryError> {
        self.single(value)?;
        match as_text(value) {
            Some(text) if !text.trim().is_empty() => Ok(text),
            _ => Err(self.error("the text is empty")),
        }
    }

    /// `value` typed by the field's kind.
    fn scalar(&self, value: &Value) -> Result<Scalar, QueryError> {
        self.single(value)?;
        let scalar = match self.field.kind {
            FieldKind::Keyword | FieldKind::Text => as_text(value).map(Scalar::Str),
            FieldKind::Long => as_long(value).map(Scalar::I64),
            FieldKind::Double => as_double(value).map(Scalar::F64),
            FieldKind::Date => as_time(value).map(|bound| Scalar::Date(bound.start())),
            FieldKind::Bool => as_bool(value).map(Scalar::Bool),
            FieldKind::Dynamic => as_dynamic(value),
        };
        scalar.ok_or_else(|| self.expected(value))
    }

    /// One `range` bound: a date bound is widened by `op` (see [`parse_query`]); a
    /// user-defined field's bounds must be numbers, as comparing text by range is not offered.
    fn bound(&self, op: &str, value: &Value) -> Result<Scalar, QueryError> {
        match self.field.kind {
            FieldKind::Date => {
                self.single(value)?;
                let bound = as_time(value).ok_or_else(|| self.expected(value))?;
                let at = match op {
                    "gt" | "lte" => bound.end_exclusive().plus_millis(-1),
                    _ => bound.start(),
                };
                Ok(Scalar::Date(at))
            }
            FieldKind::Dynamic if !value.is_number() => Err(self.error(format!(
                "{op} must be a number on a user-defined field, got {value}"
            ))),
            _ => self.scalar(value),
        }
    }

    /// The refusal of a value of the wrong type for the field.
    fn expected(&self, value: &Value) -> QueryError {
        let expected = match self.field.kind {
            FieldKind::Keyword | FieldKind::Text => "a string",
            FieldKind::Long => "a whole number",
            FieldKind::Double => "a number",
            FieldKind::Date => {
                "a time: RFC 3339 (2024-01-15T10:30:15Z), an ISO date-time taken as UTC, a \
                 date (2024-01-15) or epoch milliseconds"
            }
            FieldKind::Bool => "true or false",
            FieldKind::Dynamic => "a string, number or true/false",
        };
        self.error(format!("expected {expected}, got {value}"))
    }
}

/// Keyword values: numbers and booleans are taken as their text, since ids such as phone
/// numbers are often written unquoted (`{"term": {"source": 9726666666}}`).
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Whole numbers, as JSON integers or digit strings.
fn as_long(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Finite numbers, as JSON numbers or numeric strings.
fn as_double(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    };
    number.filter(|number: &f64| number.is_finite())
}

/// Times as any string form [`TimeBound::parse`] accepts, or integer epoch milliseconds.
fn as_time(value: &Value) -> Option<TimeBound> {
    match value {
        Value::String(text) => TimeBound::parse(text).ok(),
        Value::Number(number) => number
            .as_i64()
            .and_then(Timestamp::from_millis)
            .map(TimeBound::Instant),
        _ => None,
    }
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// User-defined values keep their JSON type, since the same key may hold text in one call and
/// a number in another.
fn as_dynamic(value: &Value) -> Option<Scalar> {
    match value {
        Value::String(text) => Some(Scalar::Str(text.clone())),
        Value::Number(number) => number
            .as_i64()
            .map(Scalar::I64)
            .or_else(|| number.as_f64().map(Scalar::F64)),
        Value::Bool(flag) => Some(Scalar::Bool(*flag)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
