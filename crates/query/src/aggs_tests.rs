//! Tests of [`parse_aggs`]: each kind, the date histogram intervals, sub-aggregations and the
//! refusals. Expected values are written by hand.

use super::*;
use serde_json::json;

fn field(path: &str, kind: FieldKind) -> IndexField {
    IndexField {
        path: path.to_owned(),
        kind,
    }
}

fn duration() -> IndexField {
    field("duration_ms", FieldKind::Long)
}

fn agent() -> IndexField {
    field("agent.id", FieldKind::Keyword)
}

fn aggs(surface: Surface, json: &Value) -> Aggregations {
    match parse_aggs(surface, json, &Limits::default()) {
        Ok(aggs) => aggs,
        Err(error) => panic!("refused {json}: {error}"),
    }
}

/// The kind of the one aggregation named `one` in `json` on `/v1`, which has no sub-aggs.
fn kind(body: &Value) -> AggregationKind {
    let mut parsed = aggs(Surface::Native, &json!({ "one": body }));
    match parsed.remove("one") {
        Some(Aggregation { kind, aggs }) if aggs.is_empty() && parsed.is_empty() => kind,
        other => panic!("unexpected {other:?}"),
    }
}

fn leaf(kind: AggregationKind) -> Aggregation {
    Aggregation {
        kind,
        aggs: Aggregations::new(),
    }
}

fn refusal(json: &Value) -> String {
    match parse_aggs(Surface::Insights, json, &Limits::default()) {
        Ok(aggs) => panic!("accepted {json} as {aggs:?}"),
        Err(error) => error.to_string(),
    }
}

fn refused_naming(json: &Value, parts: &[&str]) {
    let message = refusal(json);
    for part in parts {
        assert!(
            message.contains(part),
            "`{message}` should mention `{part}`"
        );
    }
}

#[test]
fn terms_with_default_and_given_size_and_sub_aggregations() {
    let parsed = aggs(
        Surface::Insights,
        &json!({
            "by_agent": {
                "terms": {"field": "agent_information.id"},
                "aggs": {"mean": {"avg": {"field": "channel_data.duration"}}}
            },
            "by_channel": {"terms": {"field": "channel", "size": 25}}
        }),
    );
    let mut expected = Aggregations::new();
    expected.insert(
        "by_agent".to_owned(),
        Aggregation {
            kind: AggregationKind::Terms {
                field: agent(),
                size: 10,
            },
            aggs: Aggregations::from([(
                "mean".to_owned(),
                leaf(AggregationKind::Avg { field: duration() }),
            )]),
        },
    );
    expected.insert(
        "by_channel".to_owned(),
        leaf(AggregationKind::Terms {
            field: field("channel", FieldKind::Keyword),
            size: 25,
        }),
    );
    assert_eq!(parsed, expected);
}

#[test]
fn aggregations_is_a_synonym_of_aggs() {
    let parsed = aggs(
        Surface::Native,
        &json!({"per": {"terms": {"field": "agent.id"}, "aggregations": {"n": {"sum": {"field": "duration_ms"}}}}}),
    );
    let sub = parsed.get("per").map(|agg| agg.aggs.clone());
    assert_eq!(
        sub,
        Some(Aggregations::from([(
            "n".to_owned(),
            leaf(AggregationKind::Sum { field: duration() })
        )]))
    );
}

#[test]
fn histogram_with_defaults_and_min_doc_count() {
    assert_eq!(
        kind(&json!({"histogram": {"field": "duration_ms", "interval": 60000}})),
        AggregationKind::Histogram {
            field: duration(),
            interval: 60_000.0,
            min_doc_count: 0
        }
    );
    assert_eq!(
        kind(&json!({"histogram": {"field": "cost.credits", "interval": 0.5, "min_doc_count": 1}})),
        AggregationKind::Histogram {
            field: field("cost.credits", FieldKind::Double),
            interval: 0.5,
            min_doc_count: 1
        }
    );
}

fn interval(params: &Value) -> DateInterval {
    let mut body = json!({"field": "created_at"});
    if let (Some(body), Some(params)) = (body.as_object_mut(), params.as_object()) {
        body.extend(params.clone());
    }
    match kind(&json!({ "date_histogram": body })) {
        AggregationKind::DateHistogram {
            field: f,
            interval,
            min_doc_count: 0,
        } if f == field("created_at", FieldKind::Date) => interval,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn date_histogram_calendar_intervals() {
    let calendar = |unit: &str| interval(&json!({ "calendar_interval": unit }));
    let fixed = |millis| DateInterval::Fixed { millis };
    let months = |count| DateInterval::Months { count };
    for (names, expected) in [
        (["minute", "1m"], fixed(60_000)),
        (["hour", "1h"], fixed(3_600_000)),
        (["day", "1d"], fixed(86_400_000)),
        (["week", "1w"], fixed(604_800_000)),
        (["month", "1M"], months(1)),
        (["quarter", "1q"], months(3)),
        (["year", "1y"], months(12)),
    ] {
        for name in names {
            assert_eq!(calendar(name), expected, "{name}");
        }
    }
}

#[test]
fn date_histogram_fixed_intervals() {
    let fixed = |text: &str| interval(&json!({ "fixed_interval": text }));
    assert_eq!(fixed("90m"), DateInterval::Fixed { millis: 5_400_000 });
    assert_eq!(fixed("30s"), DateInterval::Fixed { millis: 30_000 });
    assert_eq!(fixed("12h"), DateInterval::Fixed { millis: 43_200_000 });
    assert_eq!(
        fixed("2d"),
        DateInterval::Fixed {
            millis: 172_800_000
        }
    );
    assert_eq!(fixed("250ms"), DateInterval::Fixed { millis: 250 });
}

#[test]
fn range_buckets_on_numbers_and_dates() {
    assert_eq!(
        kind(&json!({"range": {"field": "duration_ms", "ranges": [
            {"to": 60000},
            {"key": "long", "from": 60000}
        ]}})),
        AggregationKind::Range {
            field: duration(),
            ranges: vec![
                RangeBucket {
                    key: None,
                    from: None,
                    to: Some(60_000.0)
                },
                RangeBucket {
                    key: Some("long".to_owned()),
                    from: Some(60_000.0),
                    to: None
                },
            ]
        }
    );
    // 2020-09-15T00:00:00Z is 1600128000 s after the epoch (day 18520).
    assert_eq!(
        kind(&json!({"range": {"field": "created_at", "ranges": [
            {"from": "2020-09-15", "to": 1_600_214_400_000_u64}
        ]}})),
        AggregationKind::Range {
            field: field("created_at", FieldKind::Date),
            ranges: vec![RangeBucket {
                key: None,
                from: Some(1_600_128_000_000.0),
                to: Some(1_600_214_400_000.0)
            }]
        }
    );
}

#[test]
fn metrics_read_their_field() {
    let on_duration = |name: &str| kind(&json!({ name: {"field": "duration_ms"} }));
    assert_eq!(
        on_duration("avg"),
        AggregationKind::Avg { field: duration() }
    );
    assert_eq!(
        on_duration("sum"),
        AggregationKind::Sum { field: duration() }
    );
    assert_eq!(
        on_duration("min"),
        AggregationKind::Min { field: duration() }
    );
    assert_eq!(
        on_duration("max"),
        AggregationKind::Max { field: duration() }
    );
    assert_eq!(
        on_duration("stats"),
        AggregationKind::Stats { field: duration() }
    );
    let on_agent = |name: &str| kind(&json!({ name: {"field": "agent.id"} }));
    assert_eq!(
        on_agent("value_count"),
        AggregationKind::ValueCount { field: agent() }
    );
    assert_eq!(
        on_agent("cardinality"),
        AggregationKind::Cardinality { field: agent() }
    );
}

#[test]
fn percentiles_default_to_elasticsearch_percents() {
    assert_eq!(
        kind(&json!({"percentiles": {"field": "duration_ms"}})),
        AggregationKind::Percentiles {
            field: duration(),
            percents: vec![1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0]
        }
    );
    assert_eq!(
        kind(&json!({"percentiles": {"field": "duration_ms", "percents": [0, 99.9, 100]}})),
        AggregationKind::Percentiles {
            field: duration(),
            percents: vec![0.0, 99.9, 100.0]
        }
    );
}

#[test]
fn metrics_take_no_sub_aggregations() {
    refused_naming(
        &json!({"mean": {"avg": {"field": "channel_data.duration"}, "aggs": {"n": {"sum": {"field": "channel_data.duration"}}}}}),
        &["aggregation `mean`", "avg is a metric", "sub-aggregations"],
    );
}

#[test]
fn bad_intervals_are_refused() {
    let histogram = |params: Value| {
        let mut body = json!({"field": "session_start_time"});
        if let (Some(body), Some(params)) = (body.as_object_mut(), params.as_object()) {
            body.extend(params.clone());
        }
        json!({"per": {"date_histogram": body}})
    };
    refused_naming(
        &histogram(json!({"calendar_interval": "2d"})),
        &[
            "date_histogram aggregation `per`",
            "calendar_interval",
            "fixed_interval",
        ],
    );
    for bad in ["1w", "0m", "m", "90", "1.5h", "-1d"] {
        refused_naming(
            &histogram(json!({ "fixed_interval": bad })),
            &["aggregation `per`", "fixed_interval", bad],
        );
    }
    refused_naming(
        &histogram(json!({"calendar_interval": "day", "fixed_interval": "1d"})),
        &["exactly one of calendar_interval and fixed_interval"],
    );
    refused_naming(&histogram(json!({})), &["exactly one of"]);
    refused_naming(
        &histogram(json!({"interval": "day"})),
        &["`interval`", "calendar_interval"],
    );
    refused_naming(
        &json!({"per": {"histogram": {"field": "channel_data.duration", "interval": 0}}}),
        &["histogram aggregation `per`", "interval", "above 0"],
    );
}

#[test]
fn percents_must_be_between_0_and_100() {
    refused_naming(
        &json!({"p": {"percentiles": {"field": "channel_data.duration", "percents": [50, 101]}}}),
        &["percentiles aggregation `p`", "101"],
    );
    refused_naming(
        &json!({"p": {"percentiles": {"field": "channel_data.duration", "percents": []}}}),
        &["percents", "non-empty"],
    );
}

#[test]
fn fields_must_suit_the_kind() {
    refused_naming(
        &json!({"words": {"terms": {"field": "transcription"}}}),
        &[
            "terms aggregation `words`",
            "`transcription` is a full-text field",
            "terms needs",
        ],
    );
    refused_naming(
        &json!({"mean": {"avg": {"field": "source"}}}),
        &[
            "avg aggregation `mean`",
            "`source` is an ID field",
            "number or date",
        ],
    );
    refused_naming(
        &json!({"per": {"date_histogram": {"field": "channel_data.duration", "calendar_interval": "day"}}}),
        &["`channel_data.duration`", "a date field"],
    );
    refused_naming(
        &json!({"n": {"value_count": {"field": "colour"}}}),
        &["value_count aggregation `n`", "`colour`"],
    );
    refused_naming(
        &json!({"n": {"cardinality": {}}}),
        &["cardinality aggregation `n`", "needs a field"],
    );
}

#[test]
fn kinds_names_and_parameters_are_checked() {
    refused_naming(
        &json!({"x": {"geo_bounds": {"field": "id"}}}),
        &["`geo_bounds`", "date_histogram"],
    );
    refused_naming(
        &json!({"x": {"avg": {"field": "channel_data.duration"}, "sum": {"field": "channel_data.duration"}}}),
        &["aggregation `x`", "exactly one kind"],
    );
    refused_naming(&json!({"x": {}}), &["aggregation `x`", "got none"]);
    refused_naming(
        &json!({"a>b": {"avg": {"field": "channel_data.duration"}}}),
        &["`a>b`"],
    );
    refused_naming(
        &json!({"": {"avg": {"field": "channel_data.duration"}}}),
        &["aggregation name"],
    );
    refused_naming(
        &json!({"t": {"terms": {"field": "source", "order": {"_count": "asc"}}}}),
        &["`order`", "field, size"],
    );
    refused_naming(
        &json!({"t": {"terms": {"field": "source", "size": 0}}}),
        &["size", "10000"],
    );
    refused_naming(
        &json!({"t": {"terms": {"field": "source", "size": 10_001}}}),
        &["size", "10000"],
    );
    refused_naming(
        &json!({"t": {"terms": {"field": "source"}, "aggs": {}, "aggregations": {}}}),
        &["not both"],
    );
    refused_naming(
        &json!({"r": {"range": {"field": "channel_data.duration", "ranges": []}}}),
        &["ranges"],
    );
    refused_naming(
        &json!({"r": {"range": {"field": "channel_data.duration", "ranges": [{"key": "all"}]}}}),
        &["range aggregation `r`", "from, to or both"],
    );
    refused_naming(
        &json!({"r": {"range": {"field": "channel_data.duration", "ranges": [{"from": "2020-09-15"}]}}}),
        &["range aggregation `r`", "a number"],
    );
    refused_naming(&json!([]), &["aggs expects an object"]);
}

/// `levels` terms aggregations, each the only sub-aggregation of the one above.
fn nested(levels: usize) -> Value {
    (0..levels).fold(Value::Null, |inner, _| {
        let mut agg = json!({"terms": {"field": "source"}});
        if let (Some(agg), false) = (agg.as_object_mut(), inner.is_null()) {
            agg.insert("aggs".to_owned(), json!({ "inner": inner }));
        }
        agg
    })
}

#[test]
fn depth_and_count_are_limited() {
    let limits = Limits::default();
    assert!(parse_aggs(Surface::Insights, &json!({ "top": nested(5) }), &limits).is_ok());
    refused_naming(
        &json!({ "top": nested(6) }),
        &["deeper than 5", "`max_aggregation_depth` is 5"],
    );
    let many = |count: usize| -> Value {
        (0..count)
            .map(|n| {
                (
                    format!("a{n}"),
                    json!({"max": {"field": "channel_data.duration"}}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    assert!(parse_aggs(Surface::Insights, &many(100), &limits).is_ok());
    refused_naming(
        &many(101),
        &["more than 100 aggregations", "`max_aggregations` is 100"],
    );
    let few = Limits {
        max_aggregations: 2,
        ..limits
    };
    assert!(parse_aggs(Surface::Insights, &many(2), &few).is_ok());
    assert!(parse_aggs(Surface::Insights, &many(3), &few).is_err());
}

#[test]
fn range_buckets_must_be_non_empty_and_disjoint() {
    let range = |ranges: Value| json!({"r": {"range": {"field": "channel_data.duration", "ranges": ranges}}});
    refused_naming(
        &range(json!([{"from": 10, "to": 1}])),
        &["from 10 is not below to 1"],
    );
    refused_naming(&range(json!([{"from": 5, "to": 5}])), &["not below"]);
    refused_naming(
        &range(json!([{"to": 100}, {"from": 50, "to": 200}])),
        &["[unbounded, 100) and [50, 200) overlap"],
    );
    refused_naming(
        &range(json!([{"from": 0}, {"from": 10, "to": 20}])),
        &["overlap"],
    );
    assert!(
        parse_aggs(
            Surface::Insights,
            &range(json!([{"from": 100}, {"to": 50}, {"from": 50, "to": 100}])),
            &Limits::default()
        )
        .is_ok()
    );
}
