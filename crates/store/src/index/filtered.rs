//! The query a search runs: the scoring clauses of the request and, apart from them, the
//! clauses that only filter (the request's `filter` and `must_not`, the tenant, a
//! `search_after` position), so a page can be narrowed without touching the count.
//!
//! Block-max pruning is deliberately not used for a search ranked by score: measured on this
//! index, tantivy 0.27 found no block maxima for the terms of the JSON `text` field (every
//! full block's bound scored 0), so `for_each_pruning` skipped matches that belonged on the
//! page. The store's ranking test (`ranking_by_score_skips_nothing_that_belongs_on_the_page`)
//! caught it; the collector's own cheap bar (`collect.rs`) is what remains.

use super::compile::Compiled;
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur};

#[derive(Debug)]
pub(crate) struct FilteredQuery {
    /// Must all match; their scores add up. Empty: every match scores the same.
    scoring: Vec<Compiled>,
    /// `Must` or `MustNot` clauses, never scored; there is always a `Must` (the tenant).
    filters: Vec<(Occur, Compiled)>,
}

impl FilteredQuery {
    pub(crate) fn new(scoring: Vec<Compiled>, filters: Vec<(Occur, Compiled)>) -> Self {
        Self { scoring, filters }
    }

    /// The query with one more filter.
    pub(crate) fn and(&self, filter: Compiled) -> BooleanQuery {
        self.build(Some(filter))
    }

    /// The query as tantivy runs it: `filters AND scoring`, scored by the scoring clauses.
    pub(crate) fn query(&self) -> BooleanQuery {
        self.build(None)
    }

    fn build(&self, extra: Option<Compiled>) -> BooleanQuery {
        let mut filters: Vec<(Occur, Compiled)> = self
            .filters
            .iter()
            .map(|(occur, query)| (*occur, query.box_clone()))
            .chain(extra.map(|filter| (Occur::Must, filter)))
            .collect();
        if filters.iter().all(|(occur, _)| *occur == Occur::MustNot) {
            filters.push((Occur::Must, Box::new(AllQuery)));
        }
        let mut clauses: Vec<(Occur, Compiled)> = vec![(
            Occur::Must,
            Box::new(ConstScoreQuery::new(
                Box::new(BooleanQuery::new(filters)),
                0.0,
            )),
        )];
        clauses.extend(
            self.scoring
                .iter()
                .map(|query| (Occur::Must, query.box_clone())),
        );
        BooleanQuery::new(clauses)
    }
}
