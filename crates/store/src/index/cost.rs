//! What an aggregation request will take in memory, estimated before it runs.
//!
//! Tantivy's aggregation guard counts only part of what an aggregation holds: at a million
//! calls, `terms` on `id` of size 10,000 with a `stats` under it took 510 MiB of heap while
//! the guard counted under 128 MiB, because the per-segment results converted for merging
//! (a key string and a sub-aggregation state per term) are not counted. So before the search
//! runs, the buckets each segment will hand over are estimated from the index's own
//! statistics (distinct values of a column, the span of its values, the documents), and
//! priced per bucket as measured on the demo corpus; a request estimated past
//! `max_search_memory_mb` is refused. The guard still bounds what it counts while the search
//! runs.
//!
//! The estimate assumes every document of a segment matches; when that is too much, the
//! caller counts the matches per segment and asks again with those counts.

use super::aggs::segment_size;
use super::document::column;
use callscope_query::{Aggregation, AggregationKind, Aggregations, DateInterval, IndexField};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::DynamicColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Bytes per bucket, measured on 1,000,000 demo calls in 17 segments (heap growth over the
/// search, `bench/memory`): a `terms` bucket (its key and count, merged across segments)
/// 500; a histogram or range bucket 400; a metric's state under a `terms` bucket 1,500 (each
/// term carries its own sub-aggregation collector), under another bucket 600.
const TERMS_BUCKET: f64 = 500.0;
const OTHER_BUCKET: f64 = 400.0;
const METRIC_UNDER_TERMS: f64 = 1500.0;
const METRIC_UNDER_BUCKET: f64 = 600.0;

/// Average days of a month, to count the months of a span.
const MONTH_MS: f64 = 30.4 * 86_400_000.0;

/// One segment as the estimate sees it.
pub(crate) struct SegmentShape<'r> {
    pub reader: &'r SegmentReader,
    /// Documents that may match: the segment's, or the count of its matches.
    pub docs: f64,
}

/// Estimated bytes the aggregations take over `segments`.
pub(crate) fn estimate(aggs: &Aggregations, segments: &[SegmentShape<'_>]) -> f64 {
    segments
        .iter()
        .map(|segment| level(aggs, segment, 1.0, false))
        .sum()
}

/// The aggregations of one level, each bucket of the level above (`parents` of them, terms
/// buckets if `under_terms`) holding one of each.
fn level(aggs: &Aggregations, segment: &SegmentShape<'_>, parents: f64, under_terms: bool) -> f64 {
    aggs.values()
        .map(|aggregation| node(aggregation, segment, parents, under_terms))
        .sum()
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^53
fn node(
    aggregation: &Aggregation,
    segment: &SegmentShape<'_>,
    parents: f64,
    under_terms: bool,
) -> f64 {
    // Buckets hold documents: a level never has more buckets than matching documents.
    let buckets = |own: f64| (parents * own).min(segment.docs.max(1.0));
    let (entries, unit, terms) = match &aggregation.kind {
        AggregationKind::Terms { field, size } => {
            let own = distinct(segment, field).min(f64::from(segment_size(*size)));
            (buckets(own), TERMS_BUCKET, true)
        }
        AggregationKind::Histogram {
            field, interval, ..
        } => (
            buckets(span(segment, field) / interval + 1.0),
            OTHER_BUCKET,
            false,
        ),
        AggregationKind::DateHistogram {
            field,
            interval: DateInterval::Fixed { millis },
            ..
        } => (
            buckets(span(segment, field) / *millis as f64 + 1.0),
            OTHER_BUCKET,
            false,
        ),
        AggregationKind::DateHistogram {
            field,
            interval: DateInterval::Months { count },
            ..
        } => (
            buckets(span(segment, field) / (MONTH_MS * f64::from(*count)) + 2.0),
            OTHER_BUCKET,
            false,
        ),
        AggregationKind::Range { ranges, .. } => {
            (parents * ranges.len() as f64, OTHER_BUCKET, false)
        }
        _ => {
            let unit = if under_terms {
                METRIC_UNDER_TERMS
            } else {
                METRIC_UNDER_BUCKET
            };
            (parents, unit, false)
        }
    };
    entries * unit + level(&aggregation.aggs, segment, entries, terms)
}

/// Distinct values of `field` in the segment: a text column's dictionary size, else (numbers
/// and dates) at most one per document.
#[allow(clippy::cast_precision_loss)] // counts far below 2^53
fn distinct(segment: &SegmentShape<'_>, field: &IndexField) -> f64 {
    let handles = segment
        .reader
        .fast_fields()
        .dynamic_column_handles(&column(field))
        .unwrap_or_default();
    let mut values = 0.0;
    for handle in handles {
        values += match handle.open() {
            Ok(DynamicColumn::Str(column)) => column.dictionary().num_terms() as f64,
            Ok(DynamicColumn::Bytes(column)) => column.dictionary().num_terms() as f64,
            Ok(DynamicColumn::Bool(_)) => 2.0,
            Ok(_) => segment.docs,
            Err(_) => 0.0,
        };
    }
    values.min(segment.docs.max(0.0) * 16.0)
}

/// Largest minus smallest value of a number or date `field` in the segment (0 without any).
fn span(segment: &SegmentShape<'_>, field: &IndexField) -> f64 {
    value_bounds(segment.reader, field).map_or(0.0, |(lo, hi)| (hi - lo).max(0.0))
}

/// The smallest and largest value of a number or date `field` in a segment, from its columns'
/// statistics (deleted calls and every organization included); `None` when it has none.
#[allow(clippy::cast_precision_loss)] // an estimate
pub(crate) fn value_bounds(reader: &SegmentReader, field: &IndexField) -> Option<(f64, f64)> {
    let handles = reader
        .fast_fields()
        .dynamic_column_handles(&column(field))
        .unwrap_or_default();
    let mut bounds: Option<(f64, f64)> = None;
    for handle in handles {
        let (min, max) = match handle.open() {
            Ok(DynamicColumn::I64(c)) if c.num_docs() > 0 => {
                (c.min_value() as f64, c.max_value() as f64)
            }
            Ok(DynamicColumn::U64(c)) if c.num_docs() > 0 => {
                (c.min_value() as f64, c.max_value() as f64)
            }
            Ok(DynamicColumn::F64(c)) if c.num_docs() > 0 => (c.min_value(), c.max_value()),
            _ => continue,
        };
        bounds = Some(widen(bounds, (min, max)));
    }
    bounds
}

/// `bounds` widened to take in `more`.
pub(crate) fn widen(bounds: Option<(f64, f64)>, more: (f64, f64)) -> (f64, f64) {
    bounds.map_or(more, |(lo, hi)| (lo.min(more.0), hi.max(more.1)))
}

/// Counts the matches of each segment: `(segment ordinal, matches)`.
pub(crate) struct SegmentCounts;

pub(crate) struct SegmentCounter {
    segment: SegmentOrdinal,
    matches: u64,
}

impl Collector for SegmentCounts {
    type Fruit = Vec<(SegmentOrdinal, u64)>;
    type Child = SegmentCounter;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        _reader: &SegmentReader,
    ) -> tantivy::Result<SegmentCounter> {
        Ok(SegmentCounter {
            segment,
            matches: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentCounter {
    type Fruit = Vec<(SegmentOrdinal, u64)>;

    fn collect(&mut self, _doc: DocId, _score: Score) {
        self.matches += 1;
    }

    fn harvest(self) -> Self::Fruit {
        vec![(self.segment, self.matches)]
    }
}
