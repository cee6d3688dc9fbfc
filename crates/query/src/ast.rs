//! The typed, validated form of a search request: what the parser produces and what every
//! store backend compiles. Field references here are already resolved to index fields, so a
//! backend never sees a surface's alias or an unknown name.

use crate::fields::IndexField;
use callscope_model::Timestamp;
use std::collections::BTreeMap;

/// A query clause (Elasticsearch's bool query subset of DESIGN §4).
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// Every call (an empty `filter_by`, or `{"match_all": {}}`).
    MatchAll,
    Bool(BoolQuery),
    /// Exact value. On an array field, matches when any element equals the value. On a text
    /// field, matches when the field contains the value's tokens as a phrase.
    Term {
        field: IndexField,
        value: Scalar,
    },
    /// Any of the values.
    Terms {
        field: IndexField,
        values: Vec<Scalar>,
    },
    /// Analysed full-text match on a text field: any token (`Or`) or all tokens (`And`).
    Match {
        field: IndexField,
        text: String,
        operator: Operator,
    },
    /// The tokens in order, adjacent, on a text field.
    MatchPhrase {
        field: IndexField,
        text: String,
    },
    /// Bounds on a number or date field; at least one bound is set.
    Range {
        field: IndexField,
        range: RangeBounds,
    },
    /// The field has at least one value.
    Exists {
        field: IndexField,
    },
    /// A keyword field starts with the text.
    Prefix {
        field: IndexField,
        prefix: String,
    },
}

/// `bool` with Elasticsearch's four occurrence lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BoolQuery {
    /// Must match (scores).
    pub must: Vec<Query>,
    /// Must match (no scoring).
    pub filter: Vec<Query>,
    /// When not empty, at least one must match, also beside `must`/`filter` (seed 001's
    /// documented semantics, which DESIGN adopts).
    pub should: Vec<Query>,
    /// Must not match.
    pub must_not: Vec<Query>,
}

/// How `match` combines its tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Operator {
    #[default]
    Or,
    And,
}

/// A literal compared with a field, typed by the field it is compared with.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Str(String),
    I64(i64),
    F64(f64),
    Bool(bool),
    Date(Timestamp),
}

/// Range bounds; each is a number for number fields and a date for date fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RangeBounds {
    pub gt: Option<Scalar>,
    pub gte: Option<Scalar>,
    pub lt: Option<Scalar>,
    pub lte: Option<Scalar>,
}

/// One sort key. The id is always the final tie-break, in the direction of the last key (or
/// ascending when there is no key), so pages are stable.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub field: IndexField,
    pub descending: bool,
}

/// Named aggregations, as in Elasticsearch's `aggs` object.
pub type Aggregations = BTreeMap<String, Aggregation>;

/// One aggregation with its sub-aggregations (only bucket kinds may have them).
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregation {
    pub kind: AggregationKind,
    pub aggs: Aggregations,
}

/// The aggregation kinds of DESIGN §4, with Elasticsearch's parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum AggregationKind {
    /// Most frequent values of a keyword, number or bool field.
    Terms {
        field: IndexField,
        size: u32,
    },
    /// Fixed-width numeric buckets.
    Histogram {
        field: IndexField,
        interval: f64,
        min_doc_count: u64,
    },
    /// Time buckets of a date field. `calendar_interval` of `month`/`quarter`/`year` and the
    /// fixed ones (`minute`, `hour`, `day`, `week` and `fixed_interval` like `90m`, `1d`) are
    /// all represented; the backend decides how to compute each.
    DateHistogram {
        field: IndexField,
        interval: DateInterval,
        min_doc_count: u64,
    },
    /// Explicit numeric or date ranges (`from` inclusive, `to` exclusive).
    Range {
        field: IndexField,
        ranges: Vec<RangeBucket>,
    },
    Avg {
        field: IndexField,
    },
    Sum {
        field: IndexField,
    },
    Min {
        field: IndexField,
    },
    Max {
        field: IndexField,
    },
    Stats {
        field: IndexField,
    },
    ValueCount {
        field: IndexField,
    },
    Cardinality {
        field: IndexField,
    },
    /// Percentiles (default 1, 5, 25, 50, 75, 95, 99 as Elasticsearch).
    Percentiles {
        field: IndexField,
        percents: Vec<f64>,
    },
}

/// Width of a date histogram bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateInterval {
    /// A fixed number of milliseconds (`minute`, `hour`, `day`, `week`, `fixed_interval`).
    Fixed { millis: u64 },
    /// Calendar months, UTC (`month` = 1, `quarter` = 3, `year` = 12).
    Months { count: u32 },
}

/// One bucket of a range aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeBucket {
    pub key: Option<String>,
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// A whole search: what to match, how to order, which slice, what to aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRequest {
    pub query: Query,
    pub sort: Vec<SortKey>,
    /// Calls to skip (page_number × page_size, or `from`).
    pub offset: u64,
    /// Calls to return; 0 returns only the total and aggregations.
    pub limit: u32,
    /// Continue after this position instead of skipping `offset` (native `search_after`):
    /// one value per sort key (`None` where the call had no value) followed by the id.
    pub search_after: Option<SearchAfter>,
    pub aggs: Aggregations,
    pub track_total_hits: TrackTotalHits,
    /// The matching words of text fields to mark in each returned call.
    pub highlight: Option<crate::Highlight>,
}

/// How far matches are counted (Elasticsearch's `track_total_hits`). A bounded count stops
/// once the bound is passed instead of visiting every match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackTotalHits {
    /// Count every match.
    Exact,
    /// Count up to this many; beyond it the total is a lower bound.
    UpTo(u64),
}

impl TrackTotalHits {
    /// Elasticsearch's default: exact up to 10,000.
    pub const DEFAULT: Self = Self::UpTo(10_000);
}

/// Whether a total is the exact count or a lower bound (Elasticsearch's `eq` and `gte`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TotalRelation {
    Equal,
    AtLeast,
}

impl TotalRelation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "eq",
            Self::AtLeast => "gte",
        }
    }
}

/// A position in a sorted result.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchAfter {
    pub values: Vec<Option<Scalar>>,
    pub id: String,
}

impl SearchAfter {
    /// The position of call `id`, whose sort values (as JSON, one per key of `sort`) a
    /// search gave; none when a value does not fit its key.
    pub fn of(sort: &[SortKey], values: &[serde_json::Value], id: String) -> Option<Self> {
        let values = sort
            .iter()
            .zip(values)
            .map(|(key, value)| Self::typed(key, value))
            .collect::<Option<Vec<_>>>()?;
        Some(Self { values, id })
    }

    /// A sort value typed by its key: `Some(None)` for a call without a value, none when it
    /// does not fit.
    pub fn typed(key: &SortKey, value: &serde_json::Value) -> Option<Option<Scalar>> {
        use crate::fields::FieldKind;
        use serde_json::Value;
        if value.is_null() {
            return Some(None);
        }
        let scalar = match (key.field.kind, value) {
            (FieldKind::Keyword, Value::String(text)) => Scalar::Str(text.clone()),
            (FieldKind::Date, Value::Number(ms)) => {
                Scalar::Date(Timestamp::from_millis(ms.as_i64()?)?)
            }
            (FieldKind::Date, Value::String(text)) => Scalar::Date(Timestamp::parse(text).ok()?),
            (FieldKind::Long, Value::Number(number)) => Scalar::I64(number.as_i64()?),
            (FieldKind::Bool, Value::Number(number)) => Scalar::Bool(number.as_i64()? != 0),
            (FieldKind::Double | FieldKind::Dynamic, Value::Number(number)) => {
                match number.as_i64() {
                    Some(whole) if key.field.kind == FieldKind::Dynamic => Scalar::I64(whole),
                    _ => Scalar::F64(number.as_f64()?),
                }
            }
            (FieldKind::Dynamic, Value::String(text)) => Scalar::Str(text.clone()),
            _ => return None,
        };
        Some(Some(scalar))
    }
}
