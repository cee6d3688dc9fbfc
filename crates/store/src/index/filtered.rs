//! The query a search runs: the scoring clauses of the request and, apart from them, the
//! clauses that only filter (the request's `filter` and `must_not`, the tenant, a
//! `search_after` position).
//!
//! It matches and scores exactly as `scoring AND filter` does. What the split buys is
//! `for_each_pruning`, which a search ranked by score alone uses: there the scoring clauses
//! drive the search by themselves, so tantivy's block-max WAND skips every block of postings
//! whose best score cannot reach the page, and the filter is only checked for the candidates
//! that survive. Driven by the plain intersection instead, every match of a common word is
//! scored and offered to the collector.
//!
//! Block-max pruning is exact only because every scored posting list has true block maxima:
//! analysed text lives in plain text fields with field norms (tantivy computes no block
//! maxima for JSON fields, see `document::TEXT_FIELDS`), and keyword postings keep no
//! frequencies, so their matches and their blocks both score 0.

use super::compile::{Compiled, Split};
use tantivy::query::{EnableScoring, Explanation, Occur, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader};

#[derive(Clone, Debug)]
pub(crate) struct FilteredQuery {
    /// There is always a `Must` filter (the tenant).
    split: Split,
}

impl FilteredQuery {
    /// The query of `split`, with `tenant` as one more filter.
    pub(crate) fn new(mut split: Split, tenant: Compiled) -> Self {
        split.filters.push((Occur::Must, tenant));
        Self { split }
    }

    /// The same query with one more filter.
    pub(crate) fn and(&self, filter: Compiled) -> Self {
        let mut narrowed = self.clone();
        narrowed.split.filters.push((Occur::Must, filter));
        narrowed
    }
}

impl Query for FilteredQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let plain = self.split.query().weight(enable_scoring)?;
        let pruning = match self.split.scoring_query() {
            Some(scoring) if enable_scoring.is_scoring_enabled() => Some(Pruning {
                scoring: scoring.weight(enable_scoring)?,
                filter: self
                    .split
                    .filter_query()
                    .weight(EnableScoring::disabled_from_schema(enable_scoring.schema()))?,
            }),
            _ => None,
        };
        Ok(Box::new(FilteredWeight { plain, pruning }))
    }
}

struct Pruning {
    scoring: Box<dyn Weight>,
    filter: Box<dyn Weight>,
}

struct FilteredWeight {
    /// `filter AND scoring` as one boolean query: everything but pruning goes through it.
    plain: Box<dyn Weight>,
    pruning: Option<Pruning>,
}

impl Weight for FilteredWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        self.plain.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.plain.explain(reader, doc)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.plain.count(reader)
    }

    fn for_each(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score),
    ) -> tantivy::Result<()> {
        self.plain.for_each(reader, callback)
    }

    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        self.plain.for_each_no_score(reader, callback)
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        let Some(pruning) = &self.pruning else {
            return self.plain.for_each_pruning(threshold, reader, callback);
        };
        let mut filter = pruning.filter.scorer(reader, 1.0)?;
        let mut current = threshold;
        // The scoring clauses offer their candidates in doc order, so the filter only ever
        // moves forward.
        pruning
            .scoring
            .for_each_pruning(threshold, reader, &mut |doc, score| {
                let at = if filter.doc() < doc {
                    filter.seek(doc)
                } else {
                    filter.doc()
                };
                if at == doc {
                    current = callback(doc, score);
                }
                current
            })
    }
}
