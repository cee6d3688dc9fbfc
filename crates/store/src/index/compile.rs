//! Compiles the query AST into tantivy queries over the index document of `document.rs`.
//!
//! Exact clauses go to the `kw` object, number and date clauses to the `num` object
//! (`document::object_of`). Numbers are compared through `[v, v]` ranges on the fast columns,
//! because JSON numbers keep their own type in the inverted index (an i64 term misses a u64
//! or f64 one) while ranges coerce, and `num` has fast columns only. Text clauses are
//! analysed with the same tokenizer the text fields were indexed with.

use super::Fields;
use super::document::{self, PRESENT};
use crate::{Result, StoreError};
use callscope_query::{
    BoolQuery, FieldKind, IndexField, Operator, Query, RangeBounds, Scalar, SearchAfter, SortKey,
};
use std::ops::Bound;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, EmptyQuery, ExistsQuery, Occur, PhraseQuery,
    Query as TantivyQuery, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

/// One query matching what any of `queries` matches.
fn any_of(mut queries: Vec<Compiled>) -> Compiled {
    if queries.len() == 1 {
        return queries.remove(0);
    }
    Box::new(BooleanQuery::new(
        queries
            .into_iter()
            .map(|query| (Occur::Should, query))
            .collect(),
    ))
}

/// Compiles queries for one index.
pub(crate) struct Compiler {
    pub fields: Fields,
    pub analyzer: TextAnalyzer,
}

pub(crate) type Compiled = Box<dyn TantivyQuery>;

/// `clauses` as one boolean query. One of only exclusions excludes from every call: tantivy
/// matches nothing for it.
fn boolean_of(mut clauses: Vec<(Occur, Compiled)>) -> BooleanQuery {
    if clauses.iter().all(|(occur, _)| *occur == Occur::MustNot) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    BooleanQuery::new(clauses)
}

/// A query as the clauses that score (all must match; their scores add up) and the clauses
/// that only filter (`Must` or `MustNot`, scoring nothing).
#[derive(Debug)]
pub(crate) struct Split {
    pub scoring: Vec<Compiled>,
    pub filters: Vec<(Occur, Compiled)>,
}

impl Clone for Split {
    fn clone(&self) -> Self {
        Self {
            scoring: self.scoring.iter().map(|query| query.box_clone()).collect(),
            filters: self
                .filters
                .iter()
                .map(|(occur, query)| (*occur, query.box_clone()))
                .collect(),
        }
    }
}

impl Split {
    /// The whole query: every scoring clause and every filter, the filters scoring nothing.
    pub(crate) fn query(&self) -> BooleanQuery {
        let scoring = self
            .scoring
            .iter()
            .map(|clause| (Occur::Must, clause.box_clone()));
        let filters = self
            .filters
            .iter()
            .map(|(occur, clause)| -> (Occur, Compiled) {
                match occur {
                    Occur::MustNot => (*occur, clause.box_clone()),
                    _ => (
                        *occur,
                        Box::new(ConstScoreQuery::new(clause.box_clone(), 0.0)),
                    ),
                }
            });
        boolean_of(scoring.chain(filters).collect())
    }

    /// The scoring clauses alone, or `None` when nothing scores.
    pub(crate) fn scoring_query(&self) -> Option<Compiled> {
        match self.scoring.as_slice() {
            [] => None,
            [only] => Some(only.box_clone()),
            many => Some(Box::new(BooleanQuery::new(
                many.iter()
                    .map(|query| (Occur::Must, query.box_clone()))
                    .collect(),
            ))),
        }
    }

    /// The filters alone.
    pub(crate) fn filter_query(&self) -> BooleanQuery {
        boolean_of(
            self.filters
                .iter()
                .map(|(occur, query)| (*occur, query.box_clone()))
                .collect(),
        )
    }
}

fn invalid(message: String) -> StoreError {
    StoreError::Invalid(callscope_model::ValidationError::new("query", message))
}

impl Compiler {
    pub(crate) fn compile(&mut self, query: &Query) -> Result<Compiled> {
        Ok(match query {
            Query::MatchAll => Box::new(AllQuery),
            Query::Bool(bool_query) => self.boolean(bool_query)?,
            Query::Term { field, value } => self.term(field, value)?,
            Query::Terms { field, values } => {
                let clauses = values
                    .iter()
                    .map(|value| Ok((Occur::Should, self.term(field, value)?)))
                    .collect::<Result<Vec<_>>>()?;
                Box::new(BooleanQuery::new(clauses))
            }
            Query::Match {
                field,
                text,
                operator,
            } => self.matching(field, text, *operator)?,
            Query::MatchPhrase { field, text } => self.phrase(field, text)?,
            Query::Range { field, range } => self.range(field, range)?,
            Query::Exists { field } => self.exists(field),
            Query::Prefix { field, prefix } => self.prefix(field, prefix),
        })
    }

    fn boolean(&mut self, query: &BoolQuery) -> Result<Compiled> {
        Ok(Box::new(self.split_bool(query)?.query()))
    }

    /// Splits a query into the clauses that score and those that only filter, so that a
    /// search ranked by score can let the scoring clauses alone drive it (`filtered.rs`).
    pub(crate) fn split(&mut self, query: &Query) -> Result<Split> {
        match query {
            Query::Bool(bool_query) => self.split_bool(bool_query),
            other => Ok(Split {
                scoring: vec![self.compile(other)?],
                filters: Vec::new(),
            }),
        }
    }

    fn split_bool(&mut self, query: &BoolQuery) -> Result<Split> {
        let mut scoring = query
            .must
            .iter()
            .map(|clause| self.compile(clause))
            .collect::<Result<Vec<_>>>()?;
        if !query.should.is_empty() {
            let should = query
                .should
                .iter()
                .map(|clause| Ok((Occur::Should, self.compile(clause)?)))
                .collect::<Result<Vec<_>>>()?;
            // At least one `should` must match, also beside `must` (seed 001's semantics).
            scoring.push(Box::new(BooleanQuery::new(should)));
        }
        let mut filters = Vec::new();
        for clause in &query.filter {
            filters.push((Occur::Must, self.compile(clause)?));
        }
        for clause in &query.must_not {
            filters.push((Occur::MustNot, self.compile(clause)?));
        }
        Ok(Split { scoring, filters })
    }

    fn kw_term(&self, path: &str) -> Term {
        Term::from_field_json_path(self.fields.kw, path, false)
    }

    /// The analysed fields a search of the text path `path` looks in.
    fn text_fields(&self, path: &str) -> Result<Vec<Field>> {
        let fields: Vec<Field> = document::fields_of(path)
            .iter()
            .filter_map(|name| self.fields.text(name))
            .collect();
        if fields.is_empty() {
            return Err(StoreError::Internal(format!(
                "the text path `{path}` has no index field"
            )));
        }
        Ok(fields)
    }

    fn str_term(&self, path: &str, value: &str) -> Term {
        let mut term = self.kw_term(path);
        term.append_type_and_str(value);
        term
    }

    /// A numeric or date bound as a term on the fast column.
    fn number_term(&self, field: &IndexField, value: &Scalar) -> Result<Term> {
        let mut term =
            Term::from_field_json_path(self.fields.object(field.kind), &field.path, false);
        match value {
            Scalar::I64(number) => term.append_type_and_fast_value(*number),
            Scalar::F64(number) => term.append_type_and_fast_value(*number),
            Scalar::Date(at) => term.append_type_and_fast_value(at.as_millis()),
            other => {
                return Err(invalid(format!(
                    "`{}` needs a number, got {other:?}",
                    field.path
                )));
            }
        }
        Ok(term)
    }

    fn term(&mut self, field: &IndexField, value: &Scalar) -> Result<Compiled> {
        Ok(match (field.kind, value) {
            (FieldKind::Text, Scalar::Str(text)) => self.phrase(field, text)?,
            (_, Scalar::I64(_) | Scalar::F64(_) | Scalar::Date(_)) => {
                let term = self.number_term(field, value)?;
                Box::new(RangeQuery::new(
                    Bound::Included(term.clone()),
                    Bound::Included(term),
                ))
            }
            (_, Scalar::Bool(flag)) => {
                let mut term = self.kw_term(&field.path);
                term.append_type_and_fast_value(*flag);
                Box::new(TermQuery::new(term, IndexRecordOption::Basic))
            }
            (_, Scalar::Str(text)) => Box::new(TermQuery::new(
                self.str_term(&field.path, text),
                IndexRecordOption::Basic,
            )),
        })
    }

    fn tokens(&mut self, text: &str) -> Vec<String> {
        let mut stream = self.analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        tokens
    }

    fn matching(&mut self, field: &IndexField, text: &str, operator: Operator) -> Result<Compiled> {
        let fields = self.text_fields(&field.path)?;
        let tokens = self.tokens(text);
        let term = |field: Field, token: &str| -> Compiled {
            Box::new(TermQuery::new(
                Term::from_field_text(field, token),
                IndexRecordOption::WithFreqs,
            ))
        };
        let clauses: Vec<(Occur, Compiled)> = if operator == Operator::And && tokens.len() > 1 {
            // Every token, each in any of the fields.
            tokens
                .iter()
                .map(|token| {
                    let each = fields.iter().map(|field| term(*field, token)).collect();
                    (Occur::Must, any_of(each))
                })
                .collect()
        } else {
            // Any token in any field, as one flat union: block-max WAND can drive that.
            tokens
                .iter()
                .flat_map(|token| {
                    fields
                        .iter()
                        .map(|field| (Occur::Should, term(*field, token)))
                })
                .collect()
        };
        if clauses.is_empty() {
            // Nothing searchable in the text (only punctuation): nothing matches, as in ES.
            return Ok(Box::new(EmptyQuery));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// The tokens of `text` in a row, within one value of one of the path's fields.
    fn phrase(&mut self, field: &IndexField, text: &str) -> Result<Compiled> {
        let fields = self.text_fields(&field.path)?;
        let tokens = self.tokens(text);
        if tokens.is_empty() {
            return Ok(Box::new(EmptyQuery));
        }
        let each = fields
            .iter()
            .map(|field| -> Compiled {
                let terms: Vec<Term> = tokens
                    .iter()
                    .map(|token| Term::from_field_text(*field, token))
                    .collect();
                match terms.as_slice() {
                    [only] => Box::new(TermQuery::new(only.clone(), IndexRecordOption::WithFreqs)),
                    _ => Box::new(PhraseQuery::new(terms)),
                }
            })
            .collect();
        Ok(any_of(each))
    }

    fn range(&self, field: &IndexField, range: &RangeBounds) -> Result<Compiled> {
        // Tantivy compares both bounds in one numeric type: a whole bound beside a decimal
        // one (`{"gte": 10, "lt": 30.5}`) is compared as a decimal.
        let decimal = [&range.gt, &range.gte, &range.lt, &range.lte]
            .iter()
            .any(|bound| matches!(bound, Some(Scalar::F64(_))));
        let bound = |value: &Option<Scalar>, inclusive: bool| -> Result<Bound<Term>> {
            Ok(match value {
                Some(value) => {
                    #[allow(clippy::cast_precision_loss)] // bounds beyond 2^53 are not calls
                    let value = match value {
                        Scalar::I64(whole) if decimal => &Scalar::F64(*whole as f64),
                        other => other,
                    };
                    let term = self.number_term(field, value)?;
                    if inclusive {
                        Bound::Included(term)
                    } else {
                        Bound::Excluded(term)
                    }
                }
                None => Bound::Unbounded,
            })
        };
        let lower = match (&range.gte, &range.gt) {
            (Some(_), _) => bound(&range.gte, true)?,
            (None, gt) => bound(gt, false)?,
        };
        let upper = match (&range.lte, &range.lt) {
            (Some(_), _) => bound(&range.lte, true)?,
            (None, lt) => bound(lt, false)?,
        };
        Ok(Box::new(RangeQuery::new(lower, upper)))
    }

    /// Calls after `after` in the order of `sort` (missing values last, then the key in the
    /// direction of the last sort key): for some key i, every earlier key equals its value
    /// and key i lies beyond its value.
    pub(crate) fn after(
        &mut self,
        sort: &[SortKey],
        after: &SearchAfter,
        key_field: Field,
        organization: &str,
    ) -> Result<Compiled> {
        if sort.is_empty() || after.values.len() != sort.len() {
            return Err(invalid(format!(
                "search_after needs an explicit sort and one value per sort key ({} keys) plus the id",
                sort.len()
            )));
        }
        let mut disjuncts: Vec<(Occur, Compiled)> = Vec::new();
        for (at, key) in sort.iter().enumerate() {
            let mut clauses = self.equal_prefix(&sort[..at], &after.values[..at])?;
            let Some(beyond) = self.beyond(key, after.values[at].as_ref())? else {
                continue;
            };
            clauses.push((Occur::Must, beyond));
            disjuncts.push((Occur::Should, Box::new(BooleanQuery::new(clauses))));
        }
        let mut clauses = self.equal_prefix(sort, &after.values)?;
        let cursor =
            Term::from_field_text(key_field, &super::document::key(organization, &after.id));
        let (lower, upper) = if sort.last().is_some_and(|key| key.descending) {
            (Bound::Unbounded, Bound::Excluded(cursor))
        } else {
            (Bound::Excluded(cursor), Bound::Unbounded)
        };
        clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        disjuncts.push((Occur::Should, Box::new(BooleanQuery::new(clauses))));
        Ok(Box::new(BooleanQuery::new(disjuncts)))
    }

    /// Each key equals its value (a missing value: the field is absent).
    fn equal_prefix(
        &mut self,
        sort: &[SortKey],
        values: &[Option<Scalar>],
    ) -> Result<Vec<(Occur, Compiled)>> {
        let mut clauses: Vec<(Occur, Compiled)> = vec![(Occur::Must, Box::new(AllQuery))];
        for (key, value) in sort.iter().zip(values) {
            match value {
                Some(value) => clauses.push((Occur::Must, self.term(&key.field, value)?)),
                None => clauses.push((Occur::MustNot, self.exists(&key.field))),
            }
        }
        Ok(clauses)
    }

    /// Values after `value` in the key's direction, and calls without the field (they come
    /// last); nothing comes after a missing value.
    fn beyond(&self, key: &SortKey, value: Option<&Scalar>) -> Result<Option<Compiled>> {
        let Some(value) = value else { return Ok(None) };
        let bound = match value {
            Scalar::Str(text) => self.str_term(&key.field.path, text),
            other => self.number_term(&key.field, other)?,
        };
        let (lower, upper) = if key.descending {
            (Bound::Unbounded, Bound::Excluded(bound))
        } else {
            (Bound::Excluded(bound), Bound::Unbounded)
        };
        let missing: Compiled = Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Compiled),
            (Occur::MustNot, self.exists(&key.field)),
        ]));
        Ok(Some(Box::new(BooleanQuery::new(vec![
            (
                Occur::Should,
                Box::new(RangeQuery::new(lower, upper)) as Compiled,
            ),
            (Occur::Should, missing),
        ]))))
    }

    fn exists(&self, field: &IndexField) -> Compiled {
        if field.kind == FieldKind::Text {
            let present = self.str_term(PRESENT, &field.path);
            return Box::new(TermQuery::new(present, IndexRecordOption::Basic));
        }
        Box::new(ExistsQuery::new(document::column(field), true))
    }

    /// Every keyword from `prefix` up to, not including, the next string that does not start
    /// with it.
    fn prefix(&self, field: &IndexField, prefix: &str) -> Compiled {
        let lower = self.str_term(&field.path, prefix);
        let upper = self.str_term(&field.path, &format!("{prefix}{}", char::MAX));
        Box::new(RangeQuery::new(
            Bound::Included(lower),
            Bound::Excluded(upper),
        ))
    }
}
