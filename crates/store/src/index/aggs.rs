//! Aggregations: the query crate's `Aggregations` as tantivy's Elasticsearch-like request,
//! and tantivy's answer reshaped into Elasticsearch's answer.
//!
//! Times are epoch milliseconds in the index, so a `date_histogram` with a fixed interval is
//! a `histogram` whose keys get `key_as_string`. Calendar months have no fixed width; they
//! become a `range` aggregation over month boundaries between the field's minimum and maximum
//! (found by a first pass), answered in `date_histogram`'s shape.

use callscope_model::Timestamp;
use callscope_query::{Aggregation, AggregationKind, Aggregations, DateInterval, IndexField};
use chrono::{Datelike, TimeZone, Utc};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The smallest and largest value of fields among a search's matches: of each date field
/// bucketed by calendar months, and of histogram fields checked against `max_buckets`.
pub(crate) type MonthBounds = BTreeMap<String, (i64, i64)>;

use super::document::column;

/// A histogram that fills in its empty buckets (`min_doc_count: 0`, the default): its answer
/// holds one bucket per interval between its smallest and its largest value, however few
/// calls there are, so its size follows from that span alone and can be checked before the
/// search runs.
#[derive(Debug)]
pub(crate) struct GapFilled {
    /// The aggregation's name, with its parents' (`by_agent>per_second`).
    pub name: String,
    pub field: IndexField,
    pub interval: f64,
}

/// The gap-filling histograms of `aggs`, at every level.
pub(crate) fn gap_filled(aggs: &Aggregations) -> Vec<GapFilled> {
    fn walk(aggs: &Aggregations, parent: &str, found: &mut Vec<GapFilled>) {
        for (name, aggregation) in aggs {
            let name = if parent.is_empty() {
                name.clone()
            } else {
                format!("{parent}>{name}")
            };
            #[allow(clippy::cast_precision_loss)] // intervals in ms are far below 2^53
            let histogram = match &aggregation.kind {
                AggregationKind::Histogram {
                    field,
                    interval,
                    min_doc_count: 0,
                } => Some((field, *interval)),
                AggregationKind::DateHistogram {
                    field,
                    interval: DateInterval::Fixed { millis },
                    min_doc_count: 0,
                } => Some((field, *millis as f64)),
                _ => None,
            };
            if let Some((field, interval)) = histogram {
                found.push(GapFilled {
                    name: name.clone(),
                    field: field.clone(),
                    interval,
                });
            }
            walk(&aggregation.aggs, &name, found);
        }
    }
    let mut found = Vec::new();
    walk(aggs, "", &mut found);
    found
}

/// Buckets of width `interval` (aligned on 0, as tantivy's) from `min` to `max`.
pub(crate) fn buckets_between(min: f64, max: f64, interval: f64) -> f64 {
    (max / interval).floor() - (min / interval).floor() + 1.0
}

/// Date fields that need a first pass for month bucketing.
pub(crate) fn month_fields(aggs: &Aggregations) -> Vec<IndexField> {
    let mut fields = Vec::new();
    for aggregation in aggs.values() {
        if let AggregationKind::DateHistogram {
            field,
            interval: DateInterval::Months { .. },
            ..
        } = &aggregation.kind
        {
            fields.push(field.clone());
        }
        fields.extend(month_fields(&aggregation.aggs));
    }
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    fields.dedup_by(|a, b| a.path == b.path);
    fields
}

/// The first pass: min and max of each month-bucketed field.
pub(crate) fn bounds_request(fields: &[IndexField]) -> Value {
    let mut request = Map::new();
    for (at, field) in fields.iter().enumerate() {
        request.insert(format!("min{at}"), json!({"min": {"field": column(field)}}));
        request.insert(format!("max{at}"), json!({"max": {"field": column(field)}}));
    }
    Value::Object(request)
}

/// Reads the first pass's answer.
#[allow(clippy::cast_possible_truncation)] // epoch milliseconds fit i64 with room to spare
pub(crate) fn bounds_from(fields: &[IndexField], answer: &Value) -> MonthBounds {
    fields
        .iter()
        .enumerate()
        .filter_map(|(at, field)| {
            let min = answer[format!("min{at}")]["value"].as_f64()?;
            let max = answer[format!("max{at}")]["value"].as_f64()?;
            Some((field.path.clone(), (min as i64, max as i64)))
        })
        .collect()
}

/// The first instant of each `count`-month bucket covering `min..=max`, and the end.
fn month_edges(min: i64, max: i64, count: u32) -> Vec<i64> {
    let Some(start) = Utc.timestamp_millis_opt(min).single() else {
        return Vec::new();
    };
    let mut year = start.year();
    let mut month = start.month0();
    month -= month % count.max(1);
    let mut edges = Vec::new();
    while let Some(edge) = Utc.with_ymd_and_hms(year, month + 1, 1, 0, 0, 0).single() {
        let edge = edge.timestamp_millis();
        edges.push(edge);
        if edge > max || edges.len() > 1200 {
            break;
        }
        month += count.max(1);
        year += i32::try_from(month / 12).unwrap_or(0);
        month %= 12;
    }
    edges
}

fn rfc3339(ms: i64) -> String {
    Timestamp::from_millis(ms)
        .map(|at| at.to_rfc3339())
        .unwrap_or_default()
}

/// The `[from, to)` month buckets of `field` (`count` months each) between its minimum and
/// maximum as the first pass found them; none when no call has the field.
fn month_buckets(bounds: &MonthBounds, field: &str, count: u32) -> Vec<(i64, i64)> {
    let edges = bounds
        .get(field)
        .map(|(min, max)| month_edges(*min, *max, count))
        .unwrap_or_default();
    edges.windows(2).map(|pair| (pair[0], pair[1])).collect()
}

/// Keeps the buckets of a range answer that were asked for, in the order asked. Tantivy
/// adds open-ended buckets before the first range, after the last and in any gap.
#[allow(clippy::float_cmp)] // bounds come back exactly as they were sent
fn keep_requested(result: &mut Value, requested: &[(Option<f64>, Option<f64>)]) {
    let buckets = result["buckets"].as_array().cloned().unwrap_or_default();
    let kept: Vec<Value> = requested
        .iter()
        .filter_map(|(from, to)| {
            buckets
                .iter()
                .find(|bucket| bucket["from"].as_f64() == *from && bucket["to"].as_f64() == *to)
                .cloned()
        })
        .collect();
    *result = json!({ "buckets": kept });
}

/// Values each segment contributes to a terms aggregation of `size`: Elasticsearch's
/// `shard_size` default, `size × 1.5 + 10`. Tantivy's own default, ten times `size`, kept up to
/// 100,000 values per segment for a size of 10,000 (every id of a million calls, in 17
/// segments), and their merge took 318 MiB, 1.1 GiB with a `stats` under each term.
pub(crate) fn segment_size(size: u32) -> u32 {
    size.saturating_add(size / 2).saturating_add(10)
}

/// Tantivy's request for `aggs`.
pub(crate) fn to_request(aggs: &Aggregations, bounds: &MonthBounds) -> Value {
    Value::Object(
        aggs.iter()
            .map(|(name, aggregation)| (name.clone(), one_request(aggregation, bounds)))
            .collect(),
    )
}

#[allow(clippy::cast_precision_loss)] // bucket widths in ms are far below 2^53
fn one_request(aggregation: &Aggregation, bounds: &MonthBounds) -> Value {
    let body = match &aggregation.kind {
        AggregationKind::Terms { field, size } => {
            json!({"terms": {"field": column(field), "size": size,
                             "segment_size": segment_size(*size)}})
        }
        AggregationKind::Histogram {
            field,
            interval,
            min_doc_count,
        } => json!({"histogram": {
            "field": column(field), "interval": interval, "min_doc_count": min_doc_count,
        }}),
        AggregationKind::DateHistogram {
            field,
            interval: DateInterval::Fixed { millis },
            min_doc_count,
        } => {
            json!({"histogram": {
                "field": column(field), "interval": *millis as f64, "min_doc_count": min_doc_count,
            }})
        }
        AggregationKind::DateHistogram {
            field,
            interval: DateInterval::Months { count },
            ..
        } => {
            let mut ranges: Vec<Value> = month_buckets(bounds, &field.path, *count)
                .into_iter()
                .map(|(from, to)| json!({"key": rfc3339(from), "from": from as f64, "to": to as f64}))
                .collect();
            if ranges.is_empty() {
                // No call has the field: tantivy needs one range, and this one is empty
                // (times are never negative) and is dropped from the answer.
                ranges.push(json!({"to": -1.0}));
            }
            json!({"range": {"field": column(field), "ranges": ranges}})
        }
        AggregationKind::Range { field, ranges } => {
            let ranges: Vec<Value> = ranges
                .iter()
                .map(|bucket| {
                    let mut range = Map::new();
                    if let Some(key) = &bucket.key {
                        range.insert("key".into(), json!(key));
                    }
                    if let Some(from) = bucket.from {
                        range.insert("from".into(), json!(from));
                    }
                    if let Some(to) = bucket.to {
                        range.insert("to".into(), json!(to));
                    }
                    Value::Object(range)
                })
                .collect();
            json!({"range": {"field": column(field), "ranges": ranges}})
        }
        AggregationKind::Avg { field } => json!({"avg": {"field": column(field)}}),
        AggregationKind::Sum { field } => json!({"sum": {"field": column(field)}}),
        AggregationKind::Min { field } => json!({"min": {"field": column(field)}}),
        AggregationKind::Max { field } => json!({"max": {"field": column(field)}}),
        AggregationKind::Stats { field } => json!({"stats": {"field": column(field)}}),
        AggregationKind::ValueCount { field } => {
            json!({"value_count": {"field": column(field)}})
        }
        AggregationKind::Cardinality { field } => {
            json!({"cardinality": {"field": column(field)}})
        }
        AggregationKind::Percentiles { field, percents } => {
            json!({"percentiles": {"field": column(field), "percents": percents}})
        }
    };
    let mut body = body;
    if !aggregation.aggs.is_empty() {
        body["aggs"] = to_request(&aggregation.aggs, bounds);
    }
    body
}

/// Reshapes tantivy's answer for `aggs` into Elasticsearch's.
pub(crate) fn to_response(aggs: &Aggregations, bounds: &MonthBounds, mut answer: Value) -> Value {
    for (name, aggregation) in aggs {
        if let Some(result) = answer.get_mut(name) {
            reshape(aggregation, bounds, result);
        }
    }
    answer
}

#[allow(clippy::cast_possible_truncation)] // bucket keys are epoch milliseconds
fn reshape(aggregation: &Aggregation, bounds: &MonthBounds, result: &mut Value) {
    let date_keys = matches!(
        aggregation.kind,
        AggregationKind::DateHistogram {
            interval: DateInterval::Fixed { .. },
            ..
        }
    );
    if let AggregationKind::Range { ranges, .. } = &aggregation.kind {
        let requested: Vec<_> = ranges.iter().map(|range| (range.from, range.to)).collect();
        keep_requested(result, &requested);
    }
    if let AggregationKind::DateHistogram {
        field,
        interval: DateInterval::Months { count },
        min_doc_count,
    } = &aggregation.kind
    {
        let requested: Vec<_> = month_buckets(bounds, &field.path, *count)
            .into_iter()
            .map(|(from, to)| (Some(from as f64), Some(to as f64)))
            .collect();
        keep_requested(result, &requested);
        let min_doc_count = *min_doc_count;
        let mut buckets = result["buckets"].as_array().cloned().unwrap_or_default();
        // The month edges span the whole result; inside a parent bucket (a terms bucket, say)
        // Elasticsearch covers only that bucket's own first to last month, so trim the
        // empty months at both ends.
        let empty = |bucket: &Value| bucket["doc_count"].as_u64().unwrap_or(0) == 0;
        let first = buckets
            .iter()
            .position(|bucket| !empty(bucket))
            .unwrap_or(buckets.len());
        let last = buckets
            .iter()
            .rposition(|bucket| !empty(bucket))
            .map_or(first, |at| at + 1);
        buckets.truncate(last);
        buckets.drain(..first.min(buckets.len()));
        let reshaped: Vec<Value> = buckets
            .into_iter()
            .filter(|bucket| bucket["doc_count"].as_u64().unwrap_or(0) >= min_doc_count)
            .map(|mut bucket| {
                let from = bucket["from"].as_f64().unwrap_or_default() as i64;
                if let Value::Object(fields) = &mut bucket {
                    fields.remove("from");
                    fields.remove("to");
                    fields.remove("from_as_string");
                    fields.remove("to_as_string");
                    fields.insert("key".into(), json!(from));
                    fields.insert("key_as_string".into(), json!(rfc3339(from)));
                }
                bucket
            })
            .collect();
        *result = json!({"buckets": reshaped});
    }
    let Some(buckets) = result.get_mut("buckets").and_then(Value::as_array_mut) else {
        return;
    };
    for bucket in buckets {
        if date_keys && let Some(key) = bucket["key"].as_f64() {
            bucket["key"] = json!(key as i64);
            bucket["key_as_string"] = json!(rfc3339(key as i64));
        }
        for (name, sub) in &aggregation.aggs {
            if let Some(result) = bucket.get_mut(name) {
                reshape(sub, bounds, result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_edges_cover_the_range_on_calendar_boundaries() {
        // 2026-01-15 to 2026-03-02, one-month buckets: Jan 1, Feb 1, Mar 1, Apr 1.
        let jan15 = 1_768_435_200_000;
        let mar02 = 1_772_409_600_000;
        let edges: Vec<String> = month_edges(jan15, mar02, 1)
            .into_iter()
            .map(rfc3339)
            .collect();
        assert_eq!(
            edges,
            [
                "2026-01-01T00:00:00.000Z",
                "2026-02-01T00:00:00.000Z",
                "2026-03-01T00:00:00.000Z",
                "2026-04-01T00:00:00.000Z"
            ]
        );
        let quarters: Vec<String> = month_edges(mar02, mar02, 3)
            .into_iter()
            .map(rfc3339)
            .collect();
        assert_eq!(
            quarters,
            ["2026-01-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"]
        );
    }
}
