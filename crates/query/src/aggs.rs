//! Parses Elasticsearch's `aggs` object into [`Aggregations`], checking each aggregation's
//! parameters and the kind of the field it reads.

use crate::QueryError;
use crate::ast::{Aggregation, AggregationKind, Aggregations, DateInterval, RangeBucket};
use crate::fields::{FieldKind, IndexField, Surface, resolve};
use crate::json::{check_keys, describe, object, only_entry, unknown_key};
use crate::limits::{Limits, limit_note};
use crate::parse::kind_noun;
use callscope_model::TimeBound;
use serde_json::{Map, Value};

/// Elasticsearch's default `terms` size.
const DEFAULT_TERMS_SIZE: u32 = 10;
/// Elasticsearch's default `percents`.
const DEFAULT_PERCENTS: [f64; 7] = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0];

/// The kinds that make buckets, and so may hold sub-aggregations.
const BUCKET_KINDS: [&str; 4] = ["terms", "histogram", "date_histogram", "range"];
/// Every kind accepted.
const KINDS: [&str; 12] = [
    "terms",
    "histogram",
    "date_histogram",
    "range",
    "avg",
    "sum",
    "min",
    "max",
    "stats",
    "value_count",
    "cardinality",
    "percentiles",
];

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Parses the value of a request's `aggs` (or `aggregations`): `{name: {<kind>: {...},
/// "aggs": {...}}}`, with field names written as on `surface`; their number, nesting and
/// sizes are bounded by `limits`, to bound the server's work.
pub fn parse_aggs(
    surface: Surface,
    json: &Value,
    limits: &Limits,
) -> Result<Aggregations, QueryError> {
    Parser {
        surface,
        limits,
        seen: 0,
    }
    .aggs(json, 1)
}

/// Walks the aggregations, counting them against the limit.
struct Parser<'l> {
    surface: Surface,
    limits: &'l Limits,
    seen: usize,
}

impl Parser<'_> {
    /// An `aggs` object whose aggregations sit at nesting level `depth`.
    fn aggs(&mut self, json: &Value, depth: usize) -> Result<Aggregations, QueryError> {
        object("aggs", json)?
            .iter()
            .map(|(name, body)| Ok((name.clone(), self.aggregation(name, body, depth)?)))
            .collect()
    }

    /// One named aggregation: exactly one kind, plus sub-aggregations for bucket kinds.
    fn aggregation(
        &mut self,
        name: &str,
        body: &Value,
        depth: usize,
    ) -> Result<Aggregation, QueryError> {
        check_name(name)?;
        self.count(name, depth)?;
        let context = format!("aggregation `{name}`");
        let body = object(&context, body)?;
        let is_sub = |key: &str| key == "aggs" || key == "aggregations";
        let (kind_name, params) = only_entry(
            &context,
            "kind such as terms or avg",
            body.iter().filter(|(key, _)| !is_sub(key)),
        )?;
        let kind = self.kind(name, kind_name, params)?;
        let aggs = self.sub_aggs(&context, kind_name, body, depth)?;
        Ok(Aggregation { kind, aggs })
    }

    /// Refuses the aggregation that goes past either limit.
    fn count(&mut self, name: &str, depth: usize) -> Result<(), QueryError> {
        self.seen += 1;
        let max_aggregations = self.limits.max_aggregations;
        if self.seen > max_aggregations {
            return Err(QueryError::new(format!(
                "more than {max_aggregations} aggregations {}; ask for fewer",
                limit_note("max_aggregations", max_aggregations)
            )));
        }
        let max_depth = self.limits.max_aggregation_depth;
        if depth > max_depth {
            return Err(QueryError::new(format!(
                "aggregation `{name}` nests deeper than {max_depth} levels {}",
                limit_note("max_aggregation_depth", max_depth)
            )));
        }
        Ok(())
    }

    /// The sub-aggregations under `aggs` or `aggregations`, which only bucket kinds can have.
    fn sub_aggs(
        &mut self,
        context: &str,
        kind: &str,
        body: &Map<String, Value>,
        depth: usize,
    ) -> Result<Aggregations, QueryError> {
        let sub = match (body.get("aggs"), body.get("aggregations")) {
            (None, None) => return Ok(Aggregations::new()),
            (Some(sub), None) | (None, Some(sub)) => sub,
            (Some(_), Some(_)) => {
                return Err(QueryError::new(format!(
                    "{context}: give aggs or aggregations, not both"
                )));
            }
        };
        if !BUCKET_KINDS.contains(&kind) {
            let buckets = BUCKET_KINDS.join(", ");
            return Err(QueryError::new(format!(
                "{context}: {kind} is a metric and takes no sub-aggregations (only {buckets} do)"
            )));
        }
        self.aggs(sub, depth + 1)
    }

    /// The kind named `kind`, with its parameters checked.
    fn kind(&self, name: &str, kind: &str, params: &Value) -> Result<AggregationKind, QueryError> {
        let context = format!("{kind} aggregation `{name}`");
        let agg = Agg {
            surface: self.surface,
            limits: self.limits,
            params: object(&context, params)?,
            context,
            kind,
        };
        match kind {
            "terms" => agg.terms(),
            "histogram" => agg.histogram(),
            "date_histogram" => agg.date_histogram(),
            "range" => agg.range(),
            "avg" => agg.numeric().map(|field| AggregationKind::Avg { field }),
            "sum" => agg.numeric().map(|field| AggregationKind::Sum { field }),
            "min" => agg.numeric().map(|field| AggregationKind::Min { field }),
            "max" => agg.numeric().map(|field| AggregationKind::Max { field }),
            "stats" => agg.numeric().map(|field| AggregationKind::Stats { field }),
            "value_count" => agg
                .sortable()
                .map(|field| AggregationKind::ValueCount { field }),
            "cardinality" => agg
                .sortable()
                .map(|field| AggregationKind::Cardinality { field }),
            "percentiles" => agg.percentiles(),
            other => Err(unknown_key(&format!("aggregation `{name}`"), other, &KINDS)),
        }
    }
}

/// Elasticsearch's naming rule: `[`, `]` and `>` would be ambiguous in bucket paths.
fn check_name(name: &str) -> Result<(), QueryError> {
    if name.is_empty() || name.contains(['[', ']', '>']) {
        return Err(QueryError::new(format!(
            "aggregation name `{name}` is invalid: it must not be empty or contain [, ] or >"
        )));
    }
    Ok(())
}

/// One aggregation's parameters, with what refusals need.
struct Agg<'a> {
    surface: Surface,
    limits: &'a Limits,
    params: &'a Map<String, Value>,
    /// "terms aggregation `by_agent`".
    context: String,
    kind: &'a str,
}

impl Agg<'_> {
    fn error(&self, message: impl std::fmt::Display) -> QueryError {
        QueryError::new(format!("{}: {message}", self.context))
    }

    fn accept(&self, accepted: &[&str]) -> Result<(), QueryError> {
        check_keys(&self.context, self.params, accepted)
    }

    /// `terms`: most frequent values.
    fn terms(&self) -> Result<AggregationKind, QueryError> {
        self.accept(&["field", "size"])?;
        let field = self.sortable_field()?;
        let max_size = self.limits.max_terms_size;
        let size = match self.params.get("size") {
            None => DEFAULT_TERMS_SIZE.min(max_size),
            Some(size) => size
                .as_u64()
                .and_then(|size| u32::try_from(size).ok())
                .filter(|size| (1..=max_size).contains(size))
                .ok_or_else(|| {
                    self.error(format!(
                        "size must be a whole number from 1 to {max_size} {}, got {size}",
                        limit_note("max_terms_size", max_size)
                    ))
                })?,
        };
        Ok(AggregationKind::Terms { field, size })
    }

    /// `histogram`: fixed-width numeric buckets.
    fn histogram(&self) -> Result<AggregationKind, QueryError> {
        self.accept(&["field", "interval", "min_doc_count"])?;
        let field = self.numeric_field()?;
        let interval = self
            .params
            .get("interval")
            .and_then(Value::as_f64)
            .filter(|interval| interval.is_finite() && *interval > 0.0)
            .ok_or_else(|| self.error("interval must be a number above 0"))?;
        Ok(AggregationKind::Histogram {
            field,
            interval,
            min_doc_count: self.min_doc_count()?,
        })
    }

    /// `date_histogram` with exactly one of `calendar_interval` and `fixed_interval`.
    fn date_histogram(&self) -> Result<AggregationKind, QueryError> {
        self.accept(&[
            "field",
            "calendar_interval",
            "fixed_interval",
            "min_doc_count",
        ])?;
        let field = self.field_where(|kind| kind == FieldKind::Date, "a date field")?;
        let interval = match (
            self.params.get("calendar_interval"),
            self.params.get("fixed_interval"),
        ) {
            (Some(calendar), None) => self.calendar_interval(calendar)?,
            (None, Some(fixed)) => self.fixed_interval(fixed)?,
            _ => {
                return Err(self.error("give exactly one of calendar_interval and fixed_interval"));
            }
        };
        Ok(AggregationKind::DateHistogram {
            field,
            interval,
            min_doc_count: self.min_doc_count()?,
        })
    }

    /// Elasticsearch's calendar units, by name or as a single unit.
    fn calendar_interval(&self, value: &Value) -> Result<DateInterval, QueryError> {
        let interval = match value.as_str().unwrap_or_default() {
            "minute" | "1m" => DateInterval::Fixed { millis: MINUTE_MS },
            "hour" | "1h" => DateInterval::Fixed { millis: HOUR_MS },
            "day" | "1d" => DateInterval::Fixed { millis: DAY_MS },
            "week" | "1w" => DateInterval::Fixed { millis: 7 * DAY_MS },
            "month" | "1M" => DateInterval::Months { count: 1 },
            "quarter" | "1q" => DateInterval::Months { count: 3 },
            "year" | "1y" => DateInterval::Months { count: 12 },
            _ => {
                return Err(self.error(format!(
                    "calendar_interval must be minute, hour, day, week, month, quarter or \
                     year (or 1m, 1h, 1d, 1w, 1M, 1q, 1y), got {value}; multiples such as 2d \
                     go in fixed_interval"
                )));
            }
        };
        Ok(interval)
    }

    /// A whole number of `ms`, `s`, `m`, `h` or `d`, such as `90m`.
    fn fixed_interval(&self, value: &Value) -> Result<DateInterval, QueryError> {
        let text = value.as_str().unwrap_or_default();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (count, unit) = text.split_at(split);
        let unit_ms = match unit {
            "ms" => Some(1),
            "s" => Some(1000),
            "m" => Some(MINUTE_MS),
            "h" => Some(HOUR_MS),
            "d" => Some(DAY_MS),
            _ => None,
        };
        unit_ms
            .zip(count.parse::<u64>().ok().filter(|count| *count > 0))
            .and_then(|(unit_ms, count)| count.checked_mul(unit_ms))
            .map(|millis| DateInterval::Fixed { millis })
            .ok_or_else(|| {
                self.error(format!(
                    "fixed_interval must be a whole number above 0 and a unit of ms, s, m, h or \
                     d, such as 30s, 90m, 12h or 2d, got {value}"
                ))
            })
    }

    /// `range`: explicit buckets, `from` inclusive and `to` exclusive.
    fn range(&self) -> Result<AggregationKind, QueryError> {
        self.accept(&["field", "ranges"])?;
        let field = self.numeric_field()?;
        let items = match self.params.get("ranges") {
            Some(Value::Array(items)) if !items.is_empty() => items,
            _ => {
                return Err(self.error(
                    "ranges must be a non-empty list such as [{\"to\": 1000}, {\"from\": 1000}]",
                ));
            }
        };
        self.within_buckets("ranges", items.len())?;
        let ranges: Vec<RangeBucket> = items
            .iter()
            .map(|item| self.range_bucket(&field, item))
            .collect::<Result<_, _>>()?;
        self.disjoint(&ranges)?;
        Ok(AggregationKind::Range { field, ranges })
    }

    /// One `{key?, from?, to?}` of a range aggregation.
    fn range_bucket(&self, field: &IndexField, item: &Value) -> Result<RangeBucket, QueryError> {
        let bucket = object(&self.context, item)?;
        check_keys(&self.context, bucket, &["key", "from", "to"])?;
        let key = match bucket.get("key") {
            None => None,
            Some(Value::String(key)) => Some(key.clone()),
            Some(other) => return Err(self.error(format!("key must be a string, got {other}"))),
        };
        let bound = |name| {
            bucket
                .get(name)
                .map(|value| self.range_bound(field, value))
                .transpose()
        };
        let (from, to) = (bound("from")?, bound("to")?);
        if from.is_none() && to.is_none() {
            return Err(self.error("each range needs from, to or both"));
        }
        Ok(RangeBucket { key, from, to })
    }

    /// A number, or on a date field also a time, as epoch milliseconds.
    fn range_bound(&self, field: &IndexField, value: &Value) -> Result<f64, QueryError> {
        let bound = match value {
            Value::Number(number) => number.as_f64(),
            Value::String(text) if field.kind == FieldKind::Date => TimeBound::parse(text)
                .ok()
                .map(|bound| bound.start().as_millis() as f64),
            _ => None,
        };
        bound.ok_or_else(|| {
            let expected = match field.kind {
                FieldKind::Date => "a time or epoch milliseconds",
                _ => "a number",
            };
            self.error(format!("from and to must be {expected}, got {value}"))
        })
    }

    /// `percentiles`, with Elasticsearch's default percents.
    fn percentiles(&self) -> Result<AggregationKind, QueryError> {
        self.accept(&["field", "percents"])?;
        let field = self.numeric_field()?;
        let percents = match self.params.get("percents") {
            None => DEFAULT_PERCENTS.to_vec(),
            Some(Value::Array(items)) if !items.is_empty() => {
                self.within_buckets("percents", items.len())?;
                items
                    .iter()
                    .map(|item| {
                        item.as_f64()
                            .filter(|percent| (0.0..=100.0).contains(percent))
                            .ok_or_else(|| {
                                self.error(format!(
                                    "each percent must be a number from 0 to 100, got {item}"
                                ))
                            })
                    })
                    .collect::<Result<_, _>>()?
            }
            Some(other) => {
                return Err(self.error(format!(
                    "percents must be a non-empty list of numbers, got {}",
                    describe(other)
                )));
            }
        };
        Ok(AggregationKind::Percentiles { field, percents })
    }

    /// Refuses an empty range (`from` not below `to`) and ranges that overlap: the index
    /// computes ranges that partition the values (Elasticsearch would also take overlapping
    /// ones; they are refused here rather than answered wrongly).
    fn disjoint(&self, ranges: &[RangeBucket]) -> Result<(), QueryError> {
        let shown =
            |bound: Option<f64>| bound.map_or_else(|| "unbounded".to_owned(), |b| b.to_string());
        for range in ranges {
            if let (Some(from), Some(to)) = (range.from, range.to)
                && from >= to
            {
                return Err(self.error(format!("from {from} is not below to {to}")));
            }
        }
        let mut sorted: Vec<&RangeBucket> = ranges.iter().collect();
        sorted.sort_by(|a, b| {
            a.from
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&b.from.unwrap_or(f64::NEG_INFINITY))
        });
        for pair in sorted.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            let end = before.to.unwrap_or(f64::INFINITY);
            let start = after.from.unwrap_or(f64::NEG_INFINITY);
            if start < end {
                return Err(self.error(format!(
                    "ranges [{}, {}) and [{}, {}) overlap; give ranges that do not",
                    shown(before.from),
                    shown(before.to),
                    shown(after.from),
                    shown(after.to)
                )));
            }
        }
        Ok(())
    }

    /// Refuses a list of `what` longer than an answer may hold buckets.
    fn within_buckets(&self, what: &str, count: usize) -> Result<(), QueryError> {
        let max = self.limits.max_buckets;
        if u32::try_from(count).map_or(true, |count| count > max) {
            return Err(self.error(format!(
                "{count} {what} are more than {max} {}",
                limit_note("max_buckets", max)
            )));
        }
        Ok(())
    }

    /// `min_doc_count`, 0 by default so empty buckets are kept, as Elasticsearch's histograms.
    fn min_doc_count(&self) -> Result<u64, QueryError> {
        match self.params.get("min_doc_count") {
            None => Ok(0),
            Some(count) => count.as_u64().ok_or_else(|| {
                self.error(format!("min_doc_count must be a whole number, got {count}"))
            }),
        }
    }

    /// The field of a metric that computes on values: avg, sum, min, max, stats.
    fn numeric(&self) -> Result<IndexField, QueryError> {
        self.accept(&["field"])?;
        self.numeric_field()
    }

    /// The field of a metric that only counts values: value_count, cardinality.
    fn sortable(&self) -> Result<IndexField, QueryError> {
        self.accept(&["field"])?;
        self.sortable_field()
    }

    /// A number or date field (dates compute as epoch milliseconds).
    fn numeric_field(&self) -> Result<IndexField, QueryError> {
        let numeric = |kind| {
            matches!(
                kind,
                FieldKind::Long | FieldKind::Double | FieldKind::Date | FieldKind::Dynamic
            )
        };
        self.field_where(numeric, "a number or date field")
    }

    /// Any field with whole values, which is every field but full text.
    fn sortable_field(&self) -> Result<IndexField, QueryError> {
        self.field_where(FieldKind::sortable, "a keyword, number or date field")
    }

    /// The `field` parameter, resolved on this surface; its kind must pass `accepts`, else the
    /// refusal says this aggregation needs `needed`.
    fn field_where(
        &self,
        accepts: impl Fn(FieldKind) -> bool,
        needed: &str,
    ) -> Result<IndexField, QueryError> {
        let name = match self.params.get("field") {
            Some(Value::String(name)) if !name.trim().is_empty() => name,
            _ => return Err(self.error("needs a field: {\"field\": \"<name>\"}")),
        };
        let field = resolve(self.surface, name).map_err(|error| self.error(error))?;
        if !accepts(field.kind) {
            return Err(self.error(format!(
                "`{name}` is {}; {} needs {needed}",
                kind_noun(field.kind),
                self.kind
            )));
        }
        Ok(field)
    }
}

#[cfg(test)]
#[path = "aggs_tests.rs"]
mod tests;
