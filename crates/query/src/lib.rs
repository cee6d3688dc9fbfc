//! The query language of callscope (DESIGN §4): Elasticsearch's bool query subset, sorts,
//! projections and aggregations, parsed from JSON into the typed [`ast`] and validated
//! against the field catalogue ([`fields`]) of the API surface that received them. No I/O:
//! the store compiles the AST for its backend.

mod aggs;
pub mod ast;
pub mod fields;
mod highlight;
mod json;
mod limits;
mod parse;
mod project;
mod sort;

pub use aggs::parse_aggs;
pub use ast::{
    Aggregation, AggregationKind, Aggregations, BoolQuery, DateInterval, Operator, Query,
    RangeBounds, RangeBucket, Scalar, SearchAfter, SearchRequest, SortKey, TotalRelation,
    TrackTotalHits,
};
pub use fields::{
    FieldInfo, FieldKind, IndexField, Surface, catalogue, kind_of, resolve, resolve_sort,
};
pub use highlight::{Highlight, HighlightField, TextClause, parse_highlight};
pub use limits::{Limits, limit_note};
pub use parse::parse_query;
pub use project::{parse_fields, project};
pub use sort::{parse_sort_json, parse_sort_list};

/// A query the caller must fix: the message names the field or clause and says what would
/// be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl QueryError {
    /// A refusal with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
