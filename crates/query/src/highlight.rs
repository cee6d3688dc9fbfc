//! Elasticsearch's `highlight` of a search request: which text fields to show the matching
//! words of, and how. What the words are comes from the query itself
//! ([`Query::highlight_clauses`]); the store cuts the fragments.

use crate::QueryError;
use crate::ast::Query;
use crate::fields::{FieldKind, IndexField, Surface, resolve};
use crate::json::{check_keys, describe, object};
use serde_json::{Map, Value};

/// Most fields one request may highlight.
const MAX_FIELDS: usize = 16;
/// Most fragments per field.
const MAX_FRAGMENTS: u64 = 100;
/// Bounds of `fragment_size`, in characters.
const FRAGMENT_SIZES: std::ops::RangeInclusive<u64> = 10..=10_000;

/// What to highlight.
#[derive(Clone, Debug, PartialEq)]
pub struct Highlight {
    pub fields: Vec<HighlightField>,
    /// Put around each matching word (Elasticsearch's defaults: `<em>` and `</em>`).
    pub pre_tag: String,
    pub post_tag: String,
    /// Escape the text around the tags for HTML (`encoder: html`).
    pub escape_html: bool,
    /// Best fragments first (`order: score`), else in the order of the text.
    pub by_score: bool,
}

/// One highlighted field.
#[derive(Clone, Debug, PartialEq)]
pub struct HighlightField {
    /// As the request named it: the key of the answer's `highlight` object.
    pub name: String,
    pub field: IndexField,
    /// Characters per fragment, about; the whole value when `number_of_fragments` is 0.
    pub fragment_size: usize,
    /// Fragments to return; 0 returns each matching value whole.
    pub number_of_fragments: usize,
}

/// Options that may stand at the top and, to override, on each field.
struct Options {
    fragment_size: usize,
    number_of_fragments: usize,
}

impl Options {
    fn read(context: &str, params: &Map<String, Value>, base: &Self) -> Result<Self, QueryError> {
        let number = |key: &str, range: std::ops::RangeInclusive<u64>, default: usize| match params
            .get(key)
        {
            None => Ok(default),
            Some(value) => value
                .as_u64()
                .filter(|n| range.contains(n))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    QueryError::new(format!(
                        "{context}: {key} must be a whole number from {} to {}, got {value}",
                        range.start(),
                        range.end()
                    ))
                }),
        };
        Ok(Self {
            fragment_size: number("fragment_size", FRAGMENT_SIZES, base.fragment_size)?,
            number_of_fragments: number(
                "number_of_fragments",
                0..=MAX_FRAGMENTS,
                base.number_of_fragments,
            )?,
        })
    }
}

/// The first of a tag list (`pre_tags: ["<em>"]`), or the default.
fn tag(params: &Map<String, Value>, key: &str, default: &str) -> Result<String, QueryError> {
    match params.get(key) {
        None => Ok(default.to_owned()),
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::String(tag)] if tag.len() <= 100 => Ok(tag.clone()),
            _ => Err(QueryError::new(format!(
                "highlight: {key} must be a list of one string of at most 100 bytes, such as \
                 [\"<em>\"]"
            ))),
        },
        Some(other) => Err(QueryError::new(format!(
            "highlight: {key} must be a list of one string, got {}",
            describe(other)
        ))),
    }
}

/// Parses `highlight` with field names written as on `surface`: `{"fields": {"<text field>":
/// {...}} | [{"<field>": {...}}, ...], "pre_tags", "post_tags", "fragment_size",
/// "number_of_fragments", "encoder": "default" | "html", "order": "none" | "score"}`.
pub fn parse_highlight(surface: Surface, json: &Value) -> Result<Highlight, QueryError> {
    const ACCEPTED: [&str; 7] = [
        "fields",
        "pre_tags",
        "post_tags",
        "fragment_size",
        "number_of_fragments",
        "encoder",
        "order",
    ];
    let params = object("highlight", json)?;
    check_keys("highlight", params, &ACCEPTED)?;
    let defaults = Options::read(
        "highlight",
        params,
        &Options {
            fragment_size: 100,
            number_of_fragments: 5,
        },
    )?;
    let escape_html = match params.get("encoder").and_then(Value::as_str) {
        None if params.get("encoder").is_none() => false,
        Some("default") => false,
        Some("html") => true,
        _ => {
            return Err(QueryError::new(
                "highlight: encoder must be \"default\" or \"html\"",
            ));
        }
    };
    let by_score = match params.get("order").and_then(Value::as_str) {
        None if params.get("order").is_none() => false,
        Some("none") => false,
        Some("score") => true,
        _ => {
            return Err(QueryError::new(
                "highlight: order must be \"none\" or \"score\"",
            ));
        }
    };
    // Elasticsearch takes the fields as one object, or as a list of one-field objects to fix
    // their order.
    let entries: Vec<(&String, &Value)> = match params.get("fields") {
        Some(Value::Object(fields)) => fields.iter().collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| object("highlight.fields", item).map(|one| one.iter()))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
        _ => {
            return Err(QueryError::new(
                "highlight needs fields, such as {\"fields\": {\"transcript.text\": {}}}",
            ));
        }
    };
    if entries.is_empty() || entries.len() > MAX_FIELDS {
        return Err(QueryError::new(format!(
            "highlight: give 1 to {MAX_FIELDS} fields, got {}",
            entries.len()
        )));
    }
    let mut fields = Vec::with_capacity(entries.len());
    for (name, options) in entries {
        let context = format!("highlight field `{name}`");
        let options = object(&context, options)?;
        check_keys(&context, options, &["fragment_size", "number_of_fragments"])?;
        let field = resolve(surface, name)
            .map_err(|error| QueryError::new(format!("highlight: {error}")))?;
        if field.kind != FieldKind::Text {
            return Err(QueryError::new(format!(
                "highlight: `{name}` is not a full-text field; highlight transcript.text, \
                 transcript.user, transcript.agent, transcript.system, transcript.tool or \
                 analysis.summary"
            )));
        }
        let options = Options::read(&context, options, &defaults)?;
        fields.push(HighlightField {
            name: name.clone(),
            field,
            fragment_size: options.fragment_size,
            number_of_fragments: options.number_of_fragments,
        });
    }
    Ok(Highlight {
        fields,
        pre_tag: tag(params, "pre_tags", "<em>")?,
        post_tag: tag(params, "post_tags", "</em>")?,
        escape_html,
        by_score,
    })
}

/// A clause whose words a highlight shows: a `match` (any of its words) or a
/// `match_phrase` (its words one after the other).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextClause<'q> {
    pub field: &'q IndexField,
    pub text: &'q str,
    pub phrase: bool,
}

impl Query {
    /// The `match` and `match_phrase` clauses a call matching this query may match by:
    /// every one outside a `must_not`.
    pub fn highlight_clauses(&self) -> Vec<TextClause<'_>> {
        let mut found = Vec::new();
        self.collect_text(&mut found);
        found
    }

    fn collect_text<'q>(&'q self, found: &mut Vec<TextClause<'q>>) {
        match self {
            Self::Match { field, text, .. } => found.push(TextClause {
                field,
                text,
                phrase: false,
            }),
            Self::MatchPhrase { field, text } => found.push(TextClause {
                field,
                text,
                phrase: true,
            }),
            Self::Bool(bool) => {
                for clause in bool.must.iter().chain(&bool.filter).chain(&bool.should) {
                    clause.collect_text(found);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use serde_json::json;

    fn parsed(json: &Value) -> Highlight {
        parse_highlight(Surface::Native, json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    fn refused(json: &Value) -> String {
        match parse_highlight(Surface::Native, json) {
            Ok(highlight) => panic!("{json} was accepted: {highlight:?}"),
            Err(error) => error.0,
        }
    }

    #[test]
    fn fields_take_elasticsearch_options_with_defaults() {
        let highlight = parsed(&json!({
            "fields": {"transcript.user": {"number_of_fragments": 1}, "analysis.summary": {}},
            "pre_tags": ["<mark>"], "post_tags": ["</mark>"], "fragment_size": 60,
            "encoder": "html", "order": "score"
        }));
        assert_eq!(highlight.pre_tag, "<mark>");
        assert!(highlight.escape_html && highlight.by_score);
        let field = |name: &str| {
            highlight
                .fields
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let user = field("transcript.user");
        assert_eq!(
            (
                user.name.as_str(),
                user.fragment_size,
                user.number_of_fragments
            ),
            ("transcript.user", 60, 1)
        );
        assert_eq!(field("analysis.summary").number_of_fragments, 5);
        let listed = parsed(&json!({"fields": [{"transcript.text": {}}]}));
        assert_eq!(
            (listed.pre_tag.as_str(), listed.fields[0].fragment_size),
            ("<em>", 100)
        );
    }

    #[test]
    fn refuses_what_it_cannot_highlight() {
        for (json, part) in [
            (json!({"fields": {"status": {}}}), "not a full-text field"),
            (json!({"fields": {"colour": {}}}), "unknown field"),
            (json!({"fields": {}}), "1 to 16"),
            (json!({}), "needs fields"),
            (
                json!({"fields": {"transcript.text": {"type": "fvh"}}}),
                "unknown key `type`",
            ),
            (
                json!({"fields": {"transcript.text": {}}, "fragment_size": 5}),
                "fragment_size",
            ),
            (
                json!({"fields": {"transcript.text": {}}, "number_of_fragments": 1000}),
                "number_of_fragments",
            ),
            (
                json!({"fields": {"transcript.text": {}}, "pre_tags": ["a", "b"]}),
                "pre_tags",
            ),
            (
                json!({"fields": {"transcript.text": {}}, "encoder": "xml"}),
                "encoder",
            ),
        ] {
            let message = refused(&json);
            assert!(message.contains(part), "{json}: {message}");
        }
    }

    #[test]
    fn the_words_come_from_match_clauses_outside_must_not() {
        let query = crate::parse_query(
            Surface::Native,
            &json!({"bool": {
                "must": [{"match": {"transcript.user": "refund"}}],
                "should": [{"match_phrase": {"transcript.text": "late order"}}],
                "filter": [{"term": {"status": "completed"}}],
                "must_not": [{"match": {"transcript.agent": "sorry"}}]
            }}),
            &Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let clauses: Vec<(&str, &str, bool)> = query
            .highlight_clauses()
            .iter()
            .map(|c| (c.field.path.as_str(), c.text, c.phrase))
            .collect();
        assert_eq!(
            clauses,
            [
                ("transcript.user", "refund", false),
                ("transcript.text", "late order", true)
            ]
        );
    }
}
