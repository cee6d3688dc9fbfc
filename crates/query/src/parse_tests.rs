//! Tests of [`parse_query`]: seed 001's `filter_by` examples, each leaf and value form, and
//! every refusal. Expected trees are written by hand from the seed and the field catalogue.

use super::*;
use serde_json::json;

fn field(path: &str, kind: FieldKind) -> IndexField {
    IndexField {
        path: path.to_owned(),
        kind,
    }
}

fn text(value: &str) -> Scalar {
    Scalar::Str(value.to_owned())
}

fn term(path: &str, kind: FieldKind, value: Scalar) -> Query {
    Query::Term {
        field: field(path, kind),
        value,
    }
}

fn keyword(path: &str, value: &str) -> Query {
    term(path, FieldKind::Keyword, text(value))
}

/// The instant `millis` after the epoch (a hand-computed constant in each test).
fn at(millis: i64) -> Scalar {
    match Timestamp::from_millis(millis) {
        Some(at) => Scalar::Date(at),
        None => panic!("{millis} is representable"),
    }
}

fn parsed(surface: Surface, json: &Value) -> Query {
    match parse_query(surface, json, &Limits::default()) {
        Ok(query) => query,
        Err(error) => panic!("refused {json}: {error}"),
    }
}

fn insights(json: &Value) -> Query {
    parsed(Surface::Insights, json)
}

fn native(json: &Value) -> Query {
    parsed(Surface::Native, json)
}

fn refusal(surface: Surface, json: &Value) -> String {
    match parse_query(surface, json, &Limits::default()) {
        Ok(query) => panic!("accepted {json} as {query:?}"),
        Err(error) => error.to_string(),
    }
}

/// Asserts the refusal of `json` on `/insights` mentions every one of `parts`.
fn refused_naming(json: &Value, parts: &[&str]) {
    let message = refusal(Surface::Insights, json);
    for part in parts {
        assert!(
            message.contains(part),
            "`{message}` should mention `{part}`"
        );
    }
}

// 2020-09-15 is day 18520 of the Unix epoch: 2020-01-01 is day 18262 (1577836800 s) and the
// 15th of September is 244 + 14 = 258 days later in the leap year 2020.
const SEPT_15_MS: i64 = 18_520 * 86_400_000;
const SEPT_17_MS: i64 = 18_522 * 86_400_000;
const SEPT_18_MS: i64 = 18_523 * 86_400_000;
const HOUR_MS: i64 = 3_600_000;

#[test]
fn seed_001_agent_and_what_the_client_said() {
    let query = insights(&json!({
        "must": [
            {"term": {"agent_information.id": "1234567"}},
            {"match": {"transcription.client": "shut up"}}
        ]
    }));
    let expected = Query::Bool(BoolQuery {
        must: vec![
            keyword("agent.id", "1234567"),
            Query::Match {
                field: field("transcript.user", FieldKind::Text),
                text: "shut up".to_owned(),
                operator: Operator::Or,
            },
        ],
        ..BoolQuery::default()
    });
    assert_eq!(query, expected);
}

#[test]
fn seed_001_three_tags() {
    let query = insights(&json!({
        "must": [
            {"term": {"flow_data.collected_tags.tag": "cat"}},
            {"term": {"flow_data.collected_tags.tag": "dog"}},
            {"term": {"flow_data.collected_tags.tag": "rat"}}
        ]
    }));
    let tag = |value| keyword("flow.collected_tags.tag", value);
    let expected = Query::Bool(BoolQuery {
        must: vec![tag("cat"), tag("dog"), tag("rat")],
        ..BoolQuery::default()
    });
    assert_eq!(query, expected);
}

#[test]
fn seed_001_source_with_either_request_id() {
    let query = insights(&json!({
        "must": [{"term": {"source": "9726666666"}}],
        "should": [
            {"term": {"request_ids": "22"}},
            {"term": {"request_ids": "44"}}
        ]
    }));
    let expected = Query::Bool(BoolQuery {
        must: vec![keyword("from_number", "9726666666")],
        should: vec![keyword("request_ids", "22"), keyword("request_ids", "44")],
        ..BoolQuery::default()
    });
    assert_eq!(query, expected);
}

#[test]
fn seed_001_all_but_invalid() {
    let query = insights(&json!({
        "must_not": [{"term": {"flow_data.collected_tags.tag": "invalid"}}]
    }));
    let expected = Query::Bool(BoolQuery {
        must_not: vec![keyword("flow.collected_tags.tag", "invalid")],
        ..BoolQuery::default()
    });
    assert_eq!(query, expected);
}

#[test]
fn seed_001_ended_status_and_agent_list() {
    let ended = insights(&json!({"must": [{"term": {"status": "ended"}}]}));
    let expected = Query::Bool(BoolQuery {
        must: vec![keyword("session_status", "ended")],
        ..BoolQuery::default()
    });
    assert_eq!(ended, expected);

    let agents = insights(&json!({
        "should": [{"term": {"agent_id": "a1"}}, {"term": {"agent_id": "a2"}}]
    }));
    let expected = Query::Bool(BoolQuery {
        should: vec![keyword("agent.id", "a1"), keyword("agent.id", "a2")],
        ..BoolQuery::default()
    });
    assert_eq!(agents, expected);
}

#[test]
fn an_unquoted_phone_number_is_a_keyword_term() {
    let query = insights(&json!({"term": {"source": 9726666666_u64}}));
    assert_eq!(query, keyword("from_number", "9726666666"));
}

#[test]
fn empty_object_and_match_all_match_everything() {
    assert_eq!(insights(&json!({})), Query::MatchAll);
    assert_eq!(insights(&json!({"match_all": {}})), Query::MatchAll);
    assert_eq!(
        native(&json!({"bool": {}})),
        Query::Bool(BoolQuery::default())
    );
}

#[test]
fn bool_nests_and_an_occurrence_may_be_a_single_clause() {
    let query = native(&json!({
        "bool": {
            "filter": {"term": {"agent.id": "a"}},
            "should": [
                {"bool": {"must_not": [{"exists": {"field": "request_ids"}}]}},
                {"must": {"term": {"channel": "web"}}}
            ]
        }
    }));
    let expected = Query::Bool(BoolQuery {
        filter: vec![keyword("agent.id", "a")],
        should: vec![
            Query::Bool(BoolQuery {
                must_not: vec![Query::Exists {
                    field: field("request_ids", FieldKind::Keyword),
                }],
                ..BoolQuery::default()
            }),
            Query::Bool(BoolQuery {
                must: vec![keyword("channel", "web")],
                ..BoolQuery::default()
            }),
        ],
        ..BoolQuery::default()
    });
    assert_eq!(query, expected);
}

#[test]
fn match_takes_an_operator_and_match_phrase_a_query_object() {
    let and = native(&json!({
        "match": {"transcript.text": {"query": "refund please", "operator": "AND"}}
    }));
    let expected = Query::Match {
        field: field("transcript.text", FieldKind::Text),
        text: "refund please".to_owned(),
        operator: Operator::And,
    };
    assert_eq!(and, expected);

    let phrase = native(&json!({"match_phrase": {"transcript.agent": {"query": "thank you"}}}));
    let short = native(&json!({"match_phrase": {"transcript.agent": "thank you"}}));
    let expected = Query::MatchPhrase {
        field: field("transcript.agent", FieldKind::Text),
        text: "thank you".to_owned(),
    };
    assert_eq!(phrase, expected);
    assert_eq!(short, expected);
}

#[test]
fn range_on_duration_accepts_numbers_and_digit_strings() {
    let query = insights(&json!({
        "range": {"channel_data.duration": {"gte": 1000, "lt": "60000"}}
    }));
    let expected = Query::Range {
        field: field("duration_ms", FieldKind::Long),
        range: RangeBounds {
            gte: Some(Scalar::I64(1000)),
            lt: Some(Scalar::I64(60_000)),
            ..RangeBounds::default()
        },
    };
    assert_eq!(query, expected);
}

#[test]
fn range_on_a_double_field_accepts_numeric_strings() {
    let query = native(&json!({"range": {"metrics.agent_latency_ms.p95": {"gt": "850.5"}}}));
    let expected = Query::Range {
        field: field("metrics.agent_latency_ms.p95", FieldKind::Double),
        range: RangeBounds {
            gt: Some(Scalar::F64(850.5)),
            ..RangeBounds::default()
        },
    };
    assert_eq!(query, expected);
}

fn date_range(bounds: &Value) -> RangeBounds {
    match insights(&json!({"range": {"session_start_time": bounds}})) {
        Query::Range { field: f, range } => {
            assert_eq!(f, field("session_start_time", FieldKind::Date));
            range
        }
        other => panic!("not a range: {other:?}"),
    }
}

#[test]
fn plain_date_bounds_cover_whole_days() {
    let range = date_range(&json!({"gte": "2020-09-15", "lte": "2020-09-17"}));
    let expected = RangeBounds {
        gte: Some(at(SEPT_15_MS)),
        lte: Some(at(SEPT_18_MS - 1)),
        ..RangeBounds::default()
    };
    assert_eq!(range, expected);

    let range = date_range(&json!({"gt": "2020-09-17", "lt": "2020-09-17"}));
    let expected = RangeBounds {
        gt: Some(at(SEPT_18_MS - 1)),
        lt: Some(at(SEPT_17_MS)),
        ..RangeBounds::default()
    };
    assert_eq!(range, expected);
}

#[test]
fn exact_time_bounds_are_the_time_itself_in_each_form() {
    let range = date_range(&json!({
        "gte": "2020-09-17T10:00:00+02:00",
        "gt": "2020-09-17T08:00:00.5",
        "lte": "2020-09-17T08:00:00Z",
        "lt": SEPT_15_MS
    }));
    let expected = RangeBounds {
        gte: Some(at(SEPT_17_MS + 8 * HOUR_MS)),
        gt: Some(at(SEPT_17_MS + 8 * HOUR_MS + 500)),
        lte: Some(at(SEPT_17_MS + 8 * HOUR_MS)),
        lt: Some(at(SEPT_15_MS)),
    };
    assert_eq!(range, expected);
}

#[test]
fn term_on_a_date_is_the_instant_named() {
    let query = insights(&json!({"term": {"session_start_time": "2020-09-15"}}));
    assert_eq!(
        query,
        term("session_start_time", FieldKind::Date, at(SEPT_15_MS))
    );
}

#[test]
fn exists_prefix_and_terms() {
    assert_eq!(
        insights(&json!({"exists": {"field": "channel_data.audio_url"}})),
        Query::Exists {
            field: field("recording.mono", FieldKind::Keyword)
        }
    );
    let prefix = |json: Value| insights(&json!({"prefix": {"destination": json}}));
    let expected = Query::Prefix {
        field: field("to_number", FieldKind::Keyword),
        prefix: "9725".to_owned(),
    };
    assert_eq!(prefix(json!("9725")), expected);
    assert_eq!(prefix(json!({"value": "9725"})), expected);

    let agents = insights(&json!({"terms": {"agent_information.id": ["a", 7]}}));
    let expected = Query::Terms {
        field: field("agent.id", FieldKind::Keyword),
        values: vec![text("a"), text("7")],
    };
    assert_eq!(agents, expected);
    let codes = insights(&json!({"terms": {"channel_data.status_code": [0, "100"]}}));
    let expected = Query::Terms {
        field: field("status_code", FieldKind::Long),
        values: vec![Scalar::I64(0), Scalar::I64(100)],
    };
    assert_eq!(codes, expected);
}

#[test]
fn term_accepts_the_value_object_form() {
    let query = insights(&json!({"term": {"status": {"value": "ended"}}}));
    assert_eq!(query, keyword("session_status", "ended"));
}

#[test]
fn native_surface_uses_canonical_names() {
    assert_eq!(
        native(&json!({"term": {"from_number": "+15550100"}})),
        keyword("from_number", "+15550100")
    );
    assert_eq!(
        native(&json!({"term": {"agent_id": "a"}})),
        keyword("agent.id", "a")
    );
    refused_naming(
        &json!({"term": {"from_number": "+15550100"}}),
        &["`from_number`"],
    );
    let message = refusal(Surface::Native, &json!({"term": {"source": "1"}}));
    assert!(
        message.contains("term") && message.contains("`source`"),
        "{message}"
    );
}

#[test]
fn values_are_typed_by_field_kind() {
    let public = native(&json!({"term": {"recording.public": "true"}}));
    assert_eq!(
        public,
        term("recording.public", FieldKind::Bool, Scalar::Bool(true))
    );
    let dynamic = |value: Value| native(&json!({"term": {"metadata.crm": value}}));
    let meta = |value| term("metadata.crm", FieldKind::Dynamic, value);
    assert_eq!(dynamic(json!(42)), meta(Scalar::I64(42)));
    assert_eq!(dynamic(json!(4.5)), meta(Scalar::F64(4.5)));
    assert_eq!(dynamic(json!("x")), meta(text("x")));
    assert_eq!(dynamic(json!(false)), meta(Scalar::Bool(false)));
    let parameter = insights(&json!({"term": {"parameters.name": "Benjamin"}}));
    assert_eq!(
        parameter,
        term("params.name", FieldKind::Dynamic, text("Benjamin"))
    );
}

#[test]
fn unknown_fields_are_refused_naming_the_clause_and_field() {
    refused_naming(&json!({"term": {"colour": "red"}}), &["term", "`colour`"]);
    refused_naming(
        &json!({"exists": {"field": "colour"}}),
        &["exists", "`colour`"],
    );
    refused_naming(
        &json!({"term": {"": "red"}}),
        &["term", "field name is empty"],
    );
}

#[test]
fn match_on_an_exact_field_says_to_use_term() {
    assert_eq!(
        refusal(
            Surface::Insights,
            &json!({"match": {"agent_information.id": "x"}})
        ),
        "match on `agent_information.id`: it is an ID field searched exactly; use term"
    );
    refused_naming(
        &json!({"match_phrase": {"flow_data.collected_tags.tag": "cat"}}),
        &["match_phrase on `flow_data.collected_tags.tag`", "use term"],
    );
    refused_naming(
        &json!({"match": {"channel_data.duration": "27000"}}),
        &["`channel_data.duration`", "number field", "use term"],
    );
}

#[test]
fn range_needs_a_number_or_date_field() {
    assert_eq!(
        refusal(
            Surface::Insights,
            &json!({"range": {"transcription": {"gte": "a"}}})
        ),
        "range on `transcription`: it is a full-text field; range needs a number or date field"
    );
    refused_naming(
        &json!({"range": {"source": {"gte": "972"}}}),
        &["range on `source`", "ID field", "number or date"],
    );
}

#[test]
fn prefix_needs_a_keyword_field() {
    refused_naming(
        &json!({"prefix": {"transcription.agent": "hel"}}),
        &["prefix on `transcription.agent`", "keyword field"],
    );
    refused_naming(
        &json!({"prefix": {"source": ""}}),
        &["prefix on `source`", "empty"],
    );
}

#[test]
fn unknown_clauses_and_keys_are_refused_listing_what_is_accepted() {
    refused_naming(
        &json!({"wildcard": {"source": "97*"}}),
        &["`wildcard`", "term", "prefix"],
    );
    refused_naming(
        &json!({"bool": {"must": [], "minimum_should_match": 1}}),
        &["`minimum_should_match`", "must_not"],
    );
    refused_naming(&json!({"must": [], "sort": "x"}), &["`sort`", "should"]);
    refused_naming(
        &json!({"term": {"source": "1"}, "match": {"transcription": "hi"}}),
        &["exactly one clause", "`term`", "`match`"],
    );
    refused_naming(
        &json!({"term": {"source": "1", "destination": "2"}}),
        &["term takes exactly one field", "`source`", "`destination`"],
    );
    refused_naming(
        &json!({"match": {"transcription": {"query": "hi", "fuzziness": 2}}}),
        &["`fuzziness`", "match on `transcription`", "query, operator"],
    );
    refused_naming(
        &json!({"match": {"transcription": {"query": "hi", "operator": "xor"}}}),
        &["match on `transcription`", "operator"],
    );
    refused_naming(
        &json!({"match_all": {"boost": 2}}),
        &["match_all", "`boost`"],
    );
    refused_naming(
        &json!({"exists": {"field": "id", "boost": 2}}),
        &["exists", "`boost`"],
    );
    refused_naming(
        &json!({"term": {"status": {"values": "x"}}}),
        &["`values`", "value"],
    );
    refused_naming(
        &json!({"term": {"status": {}}}),
        &["term on `status`", "missing `value`"],
    );
    refused_naming(
        &json!([{"term": {"status": "ended"}}]),
        &["query clause", "a list"],
    );
    refused_naming(&json!({"must": ["status"]}), &["query clause", "a string"]);
}

#[test]
fn values_of_the_wrong_type_are_refused_naming_the_field() {
    assert_eq!(
        refusal(
            Surface::Insights,
            &json!({"term": {"channel_data.duration": "abc"}})
        ),
        "term on `channel_data.duration`: expected a whole number, got \"abc\""
    );
    refused_naming(
        &json!({"term": {"channel_data.duration": 2.5}}),
        &["`channel_data.duration`", "whole number", "2.5"],
    );
    refused_naming(
        &json!({"range": {"session_start_time": {"gte": "yesterday"}}}),
        &[
            "range on `session_start_time`",
            "expected a time",
            "yesterday",
        ],
    );
    let message = refusal(
        Surface::Native,
        &json!({"term": {"recording.public": "yes"}}),
    );
    assert!(
        message.contains("`recording.public`") && message.contains("true or false"),
        "{message}"
    );
    let message = refusal(
        Surface::Native,
        &json!({"range": {"metadata.score": {"gt": "high"}}}),
    );
    assert!(
        message.contains("`metadata.score`") && message.contains("number"),
        "{message}"
    );
    let message = refusal(
        Surface::Native,
        &json!({"range": {"cost.credits": {"lt": "NaN"}}}),
    );
    assert!(message.contains("`cost.credits`"), "{message}");
}

#[test]
fn null_lists_and_blank_text_are_refused_with_the_fix() {
    refused_naming(
        &json!({"term": {"source": null}}),
        &["term on `source`", "null", "exists"],
    );
    refused_naming(
        &json!({"term": {"source": ["1", "2"]}}),
        &["term on `source`", "use terms"],
    );
    refused_naming(
        &json!({"terms": {"source": [["1"]]}}),
        &["terms on `source`", "a list"],
    );
    refused_naming(
        &json!({"match": {"transcription": "  "}}),
        &["match on `transcription`", "empty"],
    );
    refused_naming(
        &json!({"exists": {"field": null}}),
        &["exists", "field name"],
    );
}

#[test]
fn terms_needs_a_bounded_non_empty_list() {
    refused_naming(
        &json!({"terms": {"source": []}}),
        &["terms on `source`", "empty"],
    );
    refused_naming(
        &json!({"terms": {"source": "1"}}),
        &["terms on `source`", "list", "use term"],
    );
    let values: Vec<usize> = (0..=1024).collect();
    refused_naming(
        &json!({"terms": {"source": values}}),
        &["terms on `source`", "1024", "`max_terms_values`"],
    );
}

#[test]
fn range_needs_a_bound_and_refuses_time_zone_and_format() {
    refused_naming(
        &json!({"range": {"channel_data.duration": {}}}),
        &["range on", "gte"],
    );
    refused_naming(
        &json!({"range": {"session_start_time": {"gte": "2020-09-15", "time_zone": "+01:00"}}}),
        &["range on `session_start_time`", "time_zone", "UTC"],
    );
    refused_naming(
        &json!({"range": {"session_start_time": {"gte": "15/09/2020", "format": "dd/MM/yyyy"}}}),
        &["range on `session_start_time`", "format"],
    );
    refused_naming(
        &json!({"range": {"channel_data.duration": {"from": 1}}}),
        &["`from`", "gt, gte, lt, lte"],
    );
}

/// `levels` bools nested around one term: the term sits at depth `levels + 1`.
fn nested(levels: usize) -> Value {
    (0..levels).fold(
        json!({"term": {"status": "ended"}}),
        |inner, _| json!({"bool": {"must": [inner]}}),
    )
}

#[test]
fn nesting_is_limited_to_32_levels() {
    let limits = Limits::default();
    assert!(parse_query(Surface::Insights, &nested(31), &limits).is_ok());
    refused_naming(&nested(32), &["deeper than 32", "`max_query_depth` is 32"]);
    let shallow = Limits {
        max_query_depth: 3,
        ..limits
    };
    assert!(parse_query(Surface::Insights, &nested(2), &shallow).is_ok());
    let refusal = parse_query(Surface::Insights, &nested(3), &shallow).err();
    assert!(
        refusal
            .as_ref()
            .is_some_and(|e| e.0.contains("`max_query_depth` is 3")),
        "{refusal:?}"
    );
}

#[test]
fn clauses_are_limited_to_1024() {
    // The bare bool counts as one clause besides its `should` list.
    let terms = |count: usize| -> Value {
        let clauses: Vec<Value> = (0..count)
            .map(|n| json!({"term": {"request_ids": n.to_string()}}))
            .collect();
        json!({"should": clauses})
    };
    assert!(parse_query(Surface::Insights, &terms(1023), &Limits::default()).is_ok());
    refused_naming(
        &terms(1024),
        &["more than 1024 clauses", "`max_query_clauses` is 1024"],
    );
}
