//! The sorted top-k collector: orders matches by up to four sort keys (or by score), calls
//! without a value last in either direction, ties broken by the call's key.
//!
//! Within a segment, keyword values are compared by their ordinal in the segment's
//! dictionary, which orders exactly as the strings do, so only the survivors of a segment are
//! turned into strings. A missing column in a segment (a field new or rare) is simply "no
//! value", unlike tantivy's typed sort helpers, which fail the whole search then.

use std::cmp::Ordering;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnType, StrColumn};
use tantivy::query::Weight;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Most sort keys one search may use.
pub const MAX_SORT_KEYS: usize = 4;

/// Column of the unique call key (`<organization>/<id>`).
pub(crate) const KEY_FIELD: &str = "key";

/// One sort key as the collector needs it.
#[derive(Clone, Debug)]
pub(crate) enum SortBy {
    /// BM25 score of the query.
    Score { descending: bool },
    /// A fast column of the `kw` object (`kw.<path>`).
    Column {
        name: String,
        values: ColumnValues,
        descending: bool,
    },
}

/// Which columns of a path hold its sort values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColumnValues {
    /// Strings, compared as strings.
    Text,
    /// Numbers, booleans and times (epoch ms).
    Numbers,
    /// User-defined values: numbers where a call has one, else text (numbers sort first).
    Either,
}

impl SortBy {
    fn descending(&self) -> bool {
        match self {
            Self::Score { descending } | Self::Column { descending, .. } => *descending,
        }
    }
}

/// A sort value comparable across segments.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SortValue {
    Missing,
    Number(f64),
    Text(String),
}

impl SortValue {
    /// The value as a client sends it back in `search_after` (`null` when missing).
    pub(crate) fn into_json(self) -> serde_json::Value {
        match self {
            Self::Missing => serde_json::Value::Null,
            // Whole values (times in ms, counts) go back as integers, so they parse back
            // into the same typed bound.
            #[allow(clippy::cast_possible_truncation)]
            Self::Number(number) if number.fract() == 0.0 && number.abs() < 9.0e15 => {
                serde_json::Value::from(number as i64)
            }
            Self::Number(number) => serde_json::Number::from_f64(number)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Self::Text(text) => serde_json::Value::String(text),
        }
    }
}

/// One ranked call: its sort values and its key.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub values: Vec<SortValue>,
    pub key: String,
}

/// Collects the best `offset + limit` matches in the order of `sort`.
#[derive(Clone, Debug)]
pub(crate) struct TopCollector {
    pub sort: Vec<SortBy>,
    pub keep: usize,
}

/// Low mantissa bits of a score that ranking ignores.
const SCORE_NOISE_BITS: u32 = 11;

/// A score as the ranking compares it: cut to 12 of the mantissa's 23 bits (a relative step
/// of at most 1/4096). BM25 sums float terms in whatever order the scorer visits them, and block-max
/// WAND visits them in another order than a plain union, so two calls that score alike
/// could differ in their last bits and leave their order to chance instead of their keys.
fn ranked_score(score: Score) -> Score {
    if score.is_finite() && score > 0.0 {
        Score::from_bits(score.to_bits() & !((1 << SCORE_NOISE_BITS) - 1))
    } else {
        score
    }
}

/// The id tie-break follows the direction of the last field key; it is ascending when only
/// the score orders (as the query crate's `SortKey` documents).
fn tie_break_descending(sort: &[SortBy]) -> bool {
    matches!(
        sort.last(),
        Some(SortBy::Column {
            descending: true,
            ..
        })
    )
}

fn ordered(ordering: Ordering, descending: bool) -> Ordering {
    if descending {
        ordering.reverse()
    } else {
        ordering
    }
}

/// Compares two values of one key: missing values last in either direction.
fn compare_values(a: &SortValue, b: &SortValue, descending: bool) -> Ordering {
    match (a, b) {
        (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
        (SortValue::Missing, _) => Ordering::Greater,
        (_, SortValue::Missing) => Ordering::Less,
        (SortValue::Number(x), SortValue::Number(y)) => ordered(x.total_cmp(y), descending),
        (SortValue::Text(x), SortValue::Text(y)) => ordered(x.cmp(y), descending),
        // A dynamic field holding numbers in some calls and text in others: numbers first.
        (SortValue::Number(_), SortValue::Text(_)) => Ordering::Less,
        (SortValue::Text(_), SortValue::Number(_)) => Ordering::Greater,
    }
}

pub(crate) fn compare_hits(a: &Hit, b: &Hit, sort: &[SortBy]) -> Ordering {
    sort.iter()
        .zip(a.values.iter().zip(&b.values))
        .map(|(key, (x, y))| compare_values(x, y, key.descending()))
        .find(|ordering| ordering.is_ne())
        .unwrap_or_else(|| ordered(a.key.cmp(&b.key), tie_break_descending(sort)))
}

/// A value local to one segment: keyword values as dictionary ordinals.
#[derive(Clone, Copy, Debug)]
enum Local {
    Missing,
    Number(f64),
    Ordinal(u64),
}

fn compare_local(a: Local, b: Local, descending: bool) -> Ordering {
    match (a, b) {
        (Local::Missing, Local::Missing) => Ordering::Equal,
        (Local::Missing, _) => Ordering::Greater,
        (_, Local::Missing) => Ordering::Less,
        (Local::Number(x), Local::Number(y)) => ordered(x.total_cmp(&y), descending),
        (Local::Ordinal(x), Local::Ordinal(y)) => ordered(x.cmp(&y), descending),
        (Local::Number(_), Local::Ordinal(_)) => Ordering::Less,
        (Local::Ordinal(_), Local::Number(_)) => Ordering::Greater,
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    values: [Local; MAX_SORT_KEYS],
    key_ordinal: u64,
}

/// How one key is read in one segment.
enum SegmentColumn {
    Score,
    Values {
        numbers: Vec<(Column<u64>, ColumnType)>,
        text: Option<StrColumn>,
    },
}

impl SegmentColumn {
    fn open(by: &SortBy, segment: &SegmentReader) -> tantivy::Result<Self> {
        let SortBy::Column { name, values, .. } = by else {
            return Ok(Self::Score);
        };
        let numeric = [
            ColumnType::I64,
            ColumnType::U64,
            ColumnType::F64,
            ColumnType::Bool,
        ];
        let numbers = if *values == ColumnValues::Text {
            Vec::new()
        } else {
            segment
                .fast_fields()
                .u64_lenient_for_type_all(Some(&numeric), name)?
        };
        let text = if *values == ColumnValues::Numbers {
            None
        } else {
            segment.fast_fields().str(name)?
        };
        Ok(Self::Values { numbers, text })
    }

    fn read(&self, doc: DocId, score: Score) -> Local {
        match self {
            Self::Score => Local::Number(f64::from(ranked_score(score))),
            Self::Values { numbers, text } => numbers
                .iter()
                .find_map(|(column, kind)| {
                    column
                        .first(doc)
                        .map(|raw| Local::Number(as_f64(raw, *kind)))
                })
                .or_else(|| {
                    let ordinal = text
                        .as_ref()
                        .and_then(|column| column.term_ords(doc).next());
                    ordinal.map(Local::Ordinal)
                })
                .unwrap_or(Local::Missing),
        }
    }
}

/// Undoes tantivy's order-preserving u64 mapping of a numeric column.
#[allow(clippy::cast_precision_loss)] // sort keys tolerate f64's 53-bit precision
fn as_f64(raw: u64, kind: ColumnType) -> f64 {
    match kind {
        ColumnType::I64 => tantivy::u64_to_i64(raw) as f64,
        ColumnType::F64 => tantivy::u64_to_f64(raw),
        _ => raw as f64,
    }
}

pub(crate) struct TopSegmentCollector {
    sort: Vec<SortBy>,
    columns: Vec<SegmentColumn>,
    keys: StrColumn,
    keep: usize,
    entries: Vec<Entry>,
    /// The worst entry kept by the last shrink: a match that ranks after it cannot enter
    /// the top, so its key is never read (reading the key column is most of the cost of a
    /// match that does not make the page).
    worst: Option<Entry>,
}

impl TopSegmentCollector {
    /// Compares the sort values only, not the tie-breaking key.
    fn compare_values(&self, a: &[Local; MAX_SORT_KEYS], b: &[Local; MAX_SORT_KEYS]) -> Ordering {
        self.sort
            .iter()
            .enumerate()
            .map(|(at, key)| compare_local(a[at], b[at], key.descending()))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    fn compare_keys(&self, a: u64, b: u64) -> Ordering {
        ordered(a.cmp(&b), tie_break_descending(&self.sort))
    }

    fn compare(&self, a: &Entry, b: &Entry) -> Ordering {
        self.compare_values(&a.values, &b.values)
            .then_with(|| self.compare_keys(a.key_ordinal, b.key_ordinal))
    }

    /// The score a match must exceed to be offered when ranking by score alone: just below
    /// the worst kept score, so a tie still reaches the key comparison. (A kept score is
    /// already cut by `ranked_score`, and every score that cuts to it is at least as large.)
    #[allow(clippy::cast_possible_truncation)] // the score came from an f32
    fn score_floor(&self) -> Score {
        match self.worst.as_ref().map(|worst| &worst.values[0]) {
            Some(Local::Number(score)) => (*score as Score).next_down(),
            _ => Score::MIN,
        }
    }

    /// Keeps the best `keep` entries; run when the buffer doubles, so it costs O(n) overall.
    fn shrink(&mut self) {
        if self.keep == 0 {
            self.entries.clear();
            return;
        }
        if self.entries.len() > self.keep {
            let mut entries = std::mem::take(&mut self.entries);
            entries.select_nth_unstable_by(self.keep - 1, |a, b| self.compare(a, b));
            entries.truncate(self.keep);
            self.worst = entries.get(self.keep - 1).copied();
            self.entries = entries;
        }
    }
}

impl SegmentCollector for TopSegmentCollector {
    type Fruit = Vec<Hit>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let mut values = [Local::Missing; MAX_SORT_KEYS];
        for (slot, column) in values.iter_mut().zip(&self.columns) {
            *slot = column.read(doc, score);
        }
        let against_worst = self.worst.map(|worst| {
            (
                self.compare_values(&values, &worst.values),
                worst.key_ordinal,
            )
        });
        if matches!(against_worst, Some((Ordering::Greater, _))) {
            return;
        }
        let Some(key_ordinal) = self.keys.term_ords(doc).next() else {
            return;
        };
        if let Some((Ordering::Equal, worst_key)) = against_worst
            && self.compare_keys(key_ordinal, worst_key).is_gt()
        {
            return;
        }
        self.entries.push(Entry {
            values,
            key_ordinal,
        });
        if self.entries.len() >= (2 * self.keep).max(256) {
            self.shrink();
        }
    }

    fn harvest(mut self) -> Vec<Hit> {
        self.shrink();
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_by(|a, b| self.compare(a, b));
        let text = |column: &StrColumn, ordinal: u64| {
            let mut out = String::new();
            match column.ord_to_str(ordinal, &mut out) {
                Ok(true) => Some(out),
                _ => None,
            }
        };
        entries
            .iter()
            .filter_map(|entry| {
                let values = self
                    .columns
                    .iter()
                    .zip(entry.values)
                    .map(|(column, local)| match (column, local) {
                        (_, Local::Missing) => SortValue::Missing,
                        (_, Local::Number(number)) => SortValue::Number(number),
                        (
                            SegmentColumn::Values {
                                text: Some(column), ..
                            },
                            Local::Ordinal(ordinal),
                        ) => text(column, ordinal).map_or(SortValue::Missing, SortValue::Text),
                        (_, Local::Ordinal(_)) => SortValue::Missing,
                    })
                    .collect();
                Some(Hit {
                    values,
                    key: text(&self.keys, entry.key_ordinal)?,
                })
            })
            .collect()
    }
}

impl Collector for TopCollector {
    type Fruit = Vec<Hit>;
    type Child = TopSegmentCollector;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let columns = self
            .sort
            .iter()
            .map(|by| SegmentColumn::open(by, segment))
            .collect::<tantivy::Result<_>>()?;
        let keys = segment.fast_fields().str(KEY_FIELD)?.ok_or_else(|| {
            tantivy::TantivyError::SchemaError(format!(
                "the index lacks the fast field `{KEY_FIELD}`"
            ))
        })?;
        Ok(TopSegmentCollector {
            sort: self.sort.clone(),
            columns,
            keys,
            keep: self.keep,
            entries: Vec::new(),
            worst: None,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort
            .iter()
            .any(|by| matches!(by, SortBy::Score { .. }))
    }

    /// Tantivy's default, except that a ranking by score alone lets the weight skip what
    /// cannot beat the page (`Weight::for_each_pruning`, see `filtered.rs`).
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment_ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<Hit>> {
        let mut segment = self.for_segment(segment_ord, reader)?;
        let alive = reader.alive_bitset();
        let is_alive = |doc: DocId| alive.is_none_or(|alive| alive.is_alive(doc));
        if matches!(self.sort.as_slice(), [SortBy::Score { descending: true }]) {
            weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
                if is_alive(doc) {
                    segment.collect(doc, score);
                }
                segment.score_floor()
            })?;
        } else if self.requires_scoring() {
            weight.for_each(reader, &mut |doc, score| {
                if is_alive(doc) {
                    segment.collect(doc, score);
                }
            })?;
        } else {
            weight.for_each_no_score(reader, &mut |docs| {
                for &doc in docs {
                    if is_alive(doc) {
                        segment.collect(doc, 0.0);
                    }
                }
            })?;
        }
        Ok(segment.harvest())
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Hit>>) -> tantivy::Result<Vec<Hit>> {
        let mut hits: Vec<Hit> = fruits.into_iter().flatten().collect();
        hits.sort_by(|a, b| compare_hits(a, b, &self.sort));
        hits.truncate(self.keep);
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(value: SortValue, key: &str) -> Hit {
        Hit {
            values: vec![value],
            key: key.into(),
        }
    }

    #[test]
    fn scores_that_differ_only_by_rounding_tie_and_others_keep_their_order() {
        let sum = |terms: &[Score]| terms.iter().fold(0.0, |total, term| total + term);
        let (a, b, c) = (0.1_f32, 1.7_f32, 2.9e-3_f32);
        // The same three terms summed in two orders are not always the same float.
        let (forward, backward) = (sum(&[a, b, c]), sum(&[c, b, a]));
        assert_eq!(ranked_score(forward), ranked_score(backward));
        let mut previous = ranked_score(0.01);
        for step in 1..10_000 {
            let score = 0.01 * (1.0 + 0.001 * step as Score);
            let ranked = ranked_score(score);
            assert!(ranked >= previous, "order kept at {score}");
            assert!(score - ranked <= score / 4096.0, "close to {score}");
            previous = ranked;
        }
        assert!(
            ranked_score(1.0) < ranked_score(1.001),
            "a real difference stays"
        );
        assert_eq!(ranked_score(0.0), 0.0);
    }

    #[test]
    fn missing_values_come_last_in_both_directions_and_keys_break_ties() {
        for descending in [false, true] {
            let sort = [SortBy::Column {
                name: "kw.x".into(),
                values: ColumnValues::Numbers,
                descending,
            }];
            let mut hits = [
                hit(SortValue::Missing, "o/a"),
                hit(SortValue::Number(2.0), "o/b"),
                hit(SortValue::Number(1.0), "o/c"),
                hit(SortValue::Number(2.0), "o/d"),
            ];
            hits.sort_by(|a, b| compare_hits(a, b, &sort));
            let keys: Vec<_> = hits.iter().map(|h| h.key.as_str()).collect();
            let expected = if descending {
                ["o/d", "o/b", "o/c", "o/a"]
            } else {
                ["o/c", "o/b", "o/d", "o/a"]
            };
            assert_eq!(keys, expected, "descending: {descending}");
        }
    }
}
