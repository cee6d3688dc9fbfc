//! The bounds on what one request may ask of the server, in one place: the query language's
//! (nesting, clauses, aggregations) and the search's (page size, window, buckets, memory).
//! Each has a default here and a configuration key of the same name (`serve --max-buckets`,
//! `max_buckets` in the config file); a request past one is refused with a message naming the
//! key and its value, so the caller knows what to change and the operator what to raise.

/// Every request-shape limit. The defaults keep one request well inside what a 2-core
/// server with a few GiB can give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest bool nesting of a query (the top level is 1).
    pub max_query_depth: usize,
    /// Most clauses in one query, counting every level.
    pub max_query_clauses: usize,
    /// Most values in one `terms` clause.
    pub max_terms_values: usize,
    /// Most aggregations in one request, sub-aggregations included.
    pub max_aggregations: usize,
    /// Deepest nesting of sub-aggregations (the top level is 1).
    pub max_aggregation_depth: usize,
    /// Largest `size` of a `terms` aggregation.
    pub max_terms_size: u32,
    /// Most buckets an aggregation answer may hold, over all aggregations and levels, as
    /// Elasticsearch's `search.max_buckets`. Also bounds the `ranges` of a range aggregation
    /// and the `percents` of a percentiles one.
    pub max_buckets: u32,
    /// Memory one search's aggregations may take, in MiB: estimated before the search runs,
    /// and counted by the search engine while it runs.
    pub max_search_memory_mb: u64,
    /// Largest page: `size` of a query, `limit` of a list, `page_size` on `/insights`.
    pub max_page_size: u32,
    /// Deepest a page may reach by offset (`from` + `size`); `search_after` and cursors
    /// page deeper.
    pub max_result_window: u64,
    /// Most ids in one batch lookup (seed 003: 100).
    pub max_batch_ids: usize,
    /// Most paths in one projection (`fields`, `project_fields`).
    pub max_project_fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_query_depth: 32,
            max_query_clauses: 1024,
            max_terms_values: 1024,
            max_aggregations: 100,
            max_aggregation_depth: 5,
            max_terms_size: 10_000,
            max_buckets: 65_536,
            max_search_memory_mb: 256,
            max_page_size: 1000,
            max_result_window: 100_000,
            max_batch_ids: 100,
            max_project_fields: 100,
        }
    }
}

/// How a refusal names the limit it hit: "(limit `max_buckets` is 65536)".
pub fn limit_note(key: &str, value: impl std::fmt::Display) -> String {
    format!("(limit `{key}` is {value})")
}
