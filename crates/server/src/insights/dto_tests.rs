//! Tests of the `/insights` shapes: the session document against seed 001's example, the
//! query-string parameters, and the envelope.

use super::*;
use callscope_model::{WriteContext, call_from_json};
use serde_json::json;

/// Seed 001's "Example Output Document", copied from the seed (see the fixture README).
const SEED_EXAMPLE: &str = include_str!("../../../../testdata/seeds/seed001_session_example.json");

fn call(organization_id: &str, body: Value) -> Call {
    let context = WriteContext {
        organization_id,
        path_id: None,
        now: Timestamp::parse("2020-10-08T17:10:00Z").unwrap_or_else(|_| Timestamp::now()),
        existing_created_at: None,
    };
    match call_from_json(body, &context) {
        Ok(call) => call,
        Err(error) => panic!("test call refused: {error}"),
    }
}

/// The canonical call behind seed 001's example hit, written by hand in callscope's write
/// format (the names of DESIGN §2's first column).
fn seed_001_call() -> Call {
    let speak_headers = "{\"Content-Type\": \"application/json\"}";
    let speak_url = "http://telephony-connector.ai.vonage.com/api/actions/speak";
    let registered = "{\"message\": \"Succesfully registered SPEAK action for session_id: \
                      8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36\"}";
    // The seed's last speak node spells "Successfully" right; both texts are kept as given.
    let registered_spelled = "{\"message\": \"Successfully registered SPEAK action for \
                            session_id: 8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36\"}";
    let speak_payload = |action: &str, collect: bool, text: &str| {
        format!(
            "{{\"session_id\": \"8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36\", \"action_id\": \
             \"{action}\", \"is_collect_input\": {collect}, \"type\": \"speak\", \"text\": \
             \"{text}\", \"audio\": null, \"voice_id\": \"Salli\", \"language_code\": \"en-US\"}}"
        )
    };
    let name = |value: &str, completed: bool| {
        json!({"name": "name", "type": "sys.names", "value": value, "value_text": value,
               "completed": completed})
    };
    let tag = |tag: &str| json!({"tag": tag, "category": "ddbc05ccbc48431d898104ac5e5b561a"});
    let (first, second) = (
        "759a8938-c296-4ff5-9ec9-d3f0267893f9",
        "db2a0259-92fa-4067-a50c-728689276c58",
    );
    let quiet_node = |node_type: &str,
                      node_id: &str,
                      request_id: &str,
                      user_input: &str,
                      parameter: Value,
                      tags: Value| {
        json!({
            "type": node_type, "node_id": node_id, "request_id": request_id,
            "request": {"headers": "", "payload": "", "verb": "POST", "url": ""},
            "response": {"code": 200, "payload": ""},
            "context": {
                "output": null, "user_input": user_input, "execution_parameters": [parameter],
                "url": "", "status": {"code": 200, "message": ""}
            },
            "tags": tags, "execution_time": 0, "synchronized": true
        })
    };
    let speak_node = |node_id: &str,
                      request_id: &str,
                      payload: String,
                      message: &str,
                      parameter: Value,
                      tags: Value,
                      execution_time: u64| {
        json!({
            "type": "speak", "node_id": node_id, "request_id": request_id,
            "request": {"headers": speak_headers, "payload": payload, "verb": "POST",
                        "url": speak_url},
            "response": {"code": 201, "payload": message},
            "context": {
                "output": null, "user_input": "", "execution_parameters": [parameter],
                "url": speak_url, "status": {"code": 201, "message": message}
            },
            "tags": tags, "execution_time": execution_time, "synchronized": true
        })
    };
    let mut param_completion = quiet_node(
        "param_completion",
        "5f7f2e6f7340dc7249f813fa",
        second,
        "Benjamin",
        name("Benjamin", true),
        json!([tag("one")]),
    );
    param_completion["execution_time"] = json!(53);
    call(
        "5f7f277cf090a7001116fabe",
        json!({
            "id": "8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36",
            "agent": {
                "id": "5f7f2e60a6034c9b5c79d16c", "version_id": "5f7f2f337340dc7249f81406",
                "name": "oriprod2", "voice": "Salli", "language": "en-US"
            },
            // Vonage's own name for its phone channel, which the canonical enum keeps.
            "channel": "voice",
            "from_number": "9720014044002502",
            "to_number": "972523656841",
            "status": "completed",
            "status_code": 200,
            // Seed 001's naive form, accepted as UTC and cut to milliseconds.
            "started_at": "2020-10-08T17:09:27.758983",
            "duration_ms": 27000,
            "language": "en-US",
            "recording": {"mono": "5f7f277cf090a7001116fabe/5f7f2f337340dc7249f81406/\
                                   8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36.mp3"},
            "request_ids": [first, second],
            "transcript": [
                {"role": "agent", "text": "sup?"},
                {"role": "agent", "text": "name?"},
                {"role": "user", "text": "Benjamin"},
                {"role": "agent", "text": "shut up Benjamin"}
            ],
            "flow": {
                "path": [
                    quiet_node("start", "5f7f2e60a6034c9b5c79d16b", first, "",
                               name("", false), json!([])),
                    speak_node("5f7f2e689ce1d4ecd57793c5", first,
                               speak_payload("5f7f2e689ce1d4ecd57793c5", false, "sup?"),
                               registered, name("", false), json!([tag("two")]), 168),
                    speak_node("7f99f590-437d-4e50-b985-196d419da71e", first,
                               speak_payload("7f99f590-437d-4e50-b985-196d419da71e", true,
                                             "name?"),
                               registered, name("", false), json!([]), 4777),
                    param_completion,
                    speak_node("5f7f2eca35e7e1a6c42754e9", second,
                               speak_payload("5f7f2eca35e7e1a6c42754e9", false,
                                             "shut up Benjamin"),
                               registered_spelled, name("Benjamin", true),
                               json!([tag("three")]), 4727),
                    quiet_node("end_call", "5f7f2eca35e7e1a6c42754e9", second, "",
                               name("Benjamin", true), json!([tag("three")]))
                ],
                "collected_tags": [tag("two"), tag("one"), tag("three"), tag("three")],
                "collected_parameters": [name("Benjamin", true)]
            }
        }),
    )
}

fn seed_example() -> Value {
    match serde_json::from_str(SEED_EXAMPLE) {
        Ok(example) => example,
        Err(error) => panic!("the seed 001 fixture is not JSON: {error}"),
    }
}

#[test]
fn seed_001_call_renders_as_the_seed_example_document() {
    let Value::Object(mut expected) = seed_example()["hits"][0].clone() else {
        panic!("the seed example has no hit")
    };
    // The one accepted difference: callscope renders every time as RFC 3339 with
    // milliseconds and `Z` (DESIGN §2); the seed's naive microsecond form is an input form.
    expected.insert(
        "session_start_time".into(),
        json!("2020-10-08T17:09:27.758Z"),
    );
    let rendered = session_document(&seed_001_call());
    let Value::Object(rendered) = rendered else {
        panic!("a session renders as an object")
    };
    // Key by key first, so a failure names the field that differs.
    for (key, value) in &expected {
        assert_eq!(rendered.get(key), Some(value), "`{key}` differs");
    }
    assert_eq!(rendered, expected);
}

#[test]
fn an_in_progress_call_without_flow_renders_empty_lists_and_summaries() {
    let session = session_document(&call(
        "org_a",
        json!({"id": "c1", "agent": {"id": "a1"}, "channel": "telephony"}),
    ));
    assert_eq!(session["status"], "in_progress");
    assert_eq!(
        session["channel_data"],
        json!({"call_status": "in_progress"})
    );
    // A call that never started is placed at its creation.
    assert_eq!(session["session_start_time"], "2020-10-08T17:10:00.000Z");
    assert!(session.get("session_end_time").is_none());
    assert_eq!(
        session["flow_data"],
        json!({"collected_tags": [], "collected_parameters": [], "injected_parameters": []})
    );
    assert_eq!(session["flow_path"], json!([]));
    assert_eq!(session["tags"], json!({}));
    assert_eq!(session["tags_list"], json!([]));
    assert_eq!(session["params"], json!({}));
    assert_eq!(session["params_list"], json!([]));
    assert_eq!(session["transcription"], json!([]));
    assert_eq!(session["request_ids"], json!([]));
    // Unknown values are left out, not rendered as null.
    assert_eq!(session["agent_information"], json!({"id": "a1"}));
    for absent in ["language", "source", "destination"] {
        assert!(session.get(absent).is_none(), "{absent} should be absent");
    }
}

#[test]
fn an_ended_call_renders_its_end_and_the_last_value_of_each_parameter() {
    let session = session_document(&call(
        "org_a",
        json!({
            "id": "c2", "status": "no_answer",
            "started_at": "2024-01-15T10:30:15Z", "ended_at": "2024-01-15T10:30:45.5Z",
            "flow": {
                "collected_tags": [
                    {"tag": "vip", "category": "tier"}, {"tag": "late", "category": "time"},
                    {"tag": "vip", "category": "tier"}
                ],
                "collected_parameters": [
                    {"name": "zip", "value": "10115", "completed": false},
                    {"name": "name", "value": "Ben", "type": "sys.names"},
                    {"name": "zip", "value": "10117", "completed": true, "audio_url": "z.mp3"}
                ]
            }
        }),
    ));
    assert_eq!(session["status"], "ended");
    assert_eq!(session["session_end_time"], "2024-01-15T10:30:45.500Z");
    assert_eq!(
        session["channel_data"],
        json!({"call_status": "ended", "duration": 30_500})
    );
    assert_eq!(
        session["tags"],
        json!({"tier": {"vip": 2}, "time": {"late": 1}})
    );
    assert_eq!(
        session["tags_list"],
        json!([
            {"count": 2, "tag": "vip", "category": "tier"},
            {"count": 1, "tag": "late", "category": "time"}
        ])
    );
    assert_eq!(
        session["params_list"],
        json!([
            {"name": "zip", "value": "10117", "completed": true, "audio_url": "z.mp3"},
            {"name": "name", "value": "Ben", "type": "sys.names"}
        ])
    );
    assert_eq!(
        session["params"],
        json!({"zip": {"completed": true, "value": "10117"}, "name": {"value": "Ben"}})
    );
}

#[test]
fn transcription_keys_follow_the_role_and_the_agent_identity() {
    let transcript = json!([
        {"role": "user", "text": "hi"},
        {"role": "agent", "text": "hello"},
        {"role": "system", "text": "call transferred"},
        {"role": "tool", "text": "{\"ok\": true}"}
    ]);
    let keys = |agent: Value| {
        let session = session_document(&call(
            "org_a",
            json!({"id": "c3", "agent": agent, "transcript": transcript}),
        ));
        let Value::Array(lines) = &session["transcription"] else {
            panic!("transcription is a list")
        };
        lines
            .iter()
            .map(|line| match line {
                Value::Object(line) if line.len() == 1 => line.keys().cloned().collect(),
                other => panic!("{other} is not a one-key object"),
            })
            .collect::<Vec<String>>()
    };
    assert_eq!(
        keys(json!({"id": "a1", "version_id": "v7"})),
        ["user", "v7", "system", "tool"]
    );
    assert_eq!(keys(json!({"id": "a1"})), ["user", "a1", "system", "tool"]);
    assert_eq!(keys(json!({})), ["user", "agent", "system", "tool"]);
    let session = session_document(&call(
        "org_a",
        json!({"id": "c4", "transcript": transcript}),
    ));
    assert_eq!(session["transcription"][1], json!({"agent": "hello"}));
}

// ---- query string ------------------------------------------------------------------------

/// Percent-encodes every byte outside the unreserved set, as a careful client does.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Parses `pairs` the way the server's query-string layer does: through a real URI.
fn params(pairs: &[(&str, &str)]) -> Result<InsightsParams, String> {
    let query: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    let uri = format!("/insights/sessions?{}", query.join("&"));
    let Ok(uri) = uri.parse::<axum::http::Uri>() else {
        panic!("bad test URI {uri}")
    };
    axum::extract::Query::<InsightsParams>::try_from_uri(&uri)
        .map(|axum::extract::Query(params)| params)
        .map_err(|rejection| rejection.body_text())
}

fn request(pairs: &[(&str, &str)], max_range_days: Option<u32>) -> InsightsRequest {
    let parsed = params(pairs).unwrap_or_else(|message| panic!("{message}"));
    match parsed.into_request(max_range_days, &Limits::default()) {
        Ok(request) => request,
        Err(error) => panic!("{pairs:?} refused: {error:?}"),
    }
}

fn refusal(pairs: &[(&str, &str)], max_range_days: Option<u32>) -> String {
    let parsed = params(pairs).unwrap_or_else(|message| panic!("{message}"));
    match parsed.into_request(max_range_days, &Limits::default()) {
        Err(ApiError::InvalidParameter(message)) => message,
        other => panic!("{pairs:?}: expected INVALID_PARAMETER, got {other:?}"),
    }
}

fn date_millis(text: &str) -> i64 {
    match Timestamp::parse(text) {
        Ok(at) => at.as_millis(),
        Err(error) => panic!("{error}"),
    }
}

/// The `session_start_time` range of a request's query, as (gte, lt) in milliseconds.
fn start_range(query: &Query) -> (Option<i64>, Option<i64>) {
    let Query::Bool(bool_query) = query else {
        panic!("expected a bool query, got {query:?}")
    };
    let [Query::Range { field, range }] = bool_query.filter.as_slice() else {
        panic!("expected one range filter, got {:?}", bool_query.filter)
    };
    assert_eq!(field.path, "session_start_time");
    assert_eq!((&range.gt, &range.lte), (&None, &None));
    let millis = |bound: &Option<Scalar>| match bound {
        Some(Scalar::Date(at)) => Some(at.as_millis()),
        None => None,
        Some(other) => panic!("{other:?} is not a date"),
    };
    (millis(&range.gte), millis(&range.lt))
}

fn sort_keys(request: &InsightsRequest) -> Vec<(&str, bool)> {
    request
        .search
        .sort
        .iter()
        .map(|key| (key.field.path.as_str(), key.descending))
        .collect()
}

#[test]
fn seed_001_first_example_query() {
    let request = request(
        &[
            ("from_date", "2020-09-15"),
            ("to_date", "2020-09-17"),
            ("page_number", "0"),
            ("page_size", "100"),
            ("sort_by", "session_start_time:desc"),
            ("filter_by", r#"{"must": [{"term": {"status":"ended"}}]}"#),
            ("project_fields", r#"["agent_information"]"#),
        ],
        Some(60),
    );
    assert_eq!((request.search.offset, request.search.limit), (0, 100));
    assert_eq!((request.page_number, request.page_size), (0, 100));
    assert_eq!(sort_keys(&request), [("session_start_time", true)]);
    assert_eq!(request.fields, ["agent_information"]);
    assert!(request.search.aggs.is_empty());
    assert_eq!(
        start_range(&request.search.query),
        (
            Some(date_millis("2020-09-15")),
            Some(date_millis("2020-09-18"))
        ),
        "the 15th through the whole of the 17th"
    );
    let Query::Bool(bool_query) = &request.search.query else {
        panic!()
    };
    let Ok(filter_by) = parse_query(
        Surface::Insights,
        &json!({"must": [{"term": {"status": "ended"}}]}),
        &Limits::default(),
    ) else {
        panic!("the seed's filter is valid")
    };
    assert_eq!(bool_query.must, [filter_by]);
    assert!(bool_query.should.is_empty() && bool_query.must_not.is_empty());
}

#[test]
fn seed_001_second_example_query_is_results_30_to_40_of_one_day() {
    let request = request(
        &[
            ("from_date", "2020-08-20"),
            ("to_date", "2020-08-20"),
            ("page_number", "3"),
            ("page_size", "10"),
        ],
        None,
    );
    assert_eq!((request.search.offset, request.search.limit), (30, 10));
    assert_eq!(
        start_range(&request.search.query),
        (
            Some(date_millis("2020-08-20")),
            Some(date_millis("2020-08-21"))
        )
    );
    let Query::Bool(bool_query) = &request.search.query else {
        panic!()
    };
    assert!(bool_query.must.is_empty(), "no filter_by, no must");
}

#[test]
fn defaults_are_the_first_ten_newest_sessions_of_all_time() {
    let defaults = request(&[], None);
    assert_eq!(defaults.search.query, Query::MatchAll);
    assert_eq!((defaults.search.offset, defaults.search.limit), (0, 10));
    assert_eq!((defaults.page_number, defaults.page_size), (0, 10));
    assert_eq!(sort_keys(&defaults), [("session_start_time", true)]);
    assert!(defaults.fields.is_empty());
    assert!(defaults.search.aggs.is_empty());
    assert!(defaults.search.search_after.is_none());
    // Blank values count as absent, and `{}` as no filter.
    let blank = request(
        &[
            ("from_date", ""),
            ("page_size", " "),
            ("sort_by", ""),
            ("filter_by", "{}"),
            ("project_fields", ""),
        ],
        None,
    );
    assert_eq!(blank.search.query, Query::MatchAll);
    assert_eq!(sort_keys(&blank), [("session_start_time", true)]);
}

#[test]
fn open_ranges_sorts_projections_and_aggregations() {
    let sorted = request(
        &[
            ("from_date", "2021-01-15T08:09:43.377776"),
            ("sort_by", "agent_information:asc,status:desc"),
            (
                "project_fields",
                r#"["session_start_time","source","channel_data.duration"]"#,
            ),
            (
                "aggs",
                r#"{"by_agent": {"terms": {"field": "agent_information.id"}}}"#,
            ),
        ],
        None,
    );
    assert_eq!(
        start_range(&sorted.search.query),
        (Some(date_millis("2021-01-15T08:09:43.377Z")), None)
    );
    assert_eq!(
        sort_keys(&sorted),
        [("agent.name", false), ("session_status", true)]
    );
    assert_eq!(
        sorted.fields,
        ["session_start_time", "source", "channel_data.duration"]
    );
    assert!(sorted.search.aggs.contains_key("by_agent"));
    let to_only = request(&[("to_date", "2020-08-20T10:00:00Z")], None);
    assert_eq!(
        start_range(&to_only.search.query),
        (None, Some(date_millis("2020-08-20T10:00:00.001Z")))
    );
}

#[test]
fn a_configured_range_cap_is_enforced() {
    let cap = Some(2);
    let within = request(
        &[("from_date", "2020-09-15"), ("to_date", "2020-09-17")],
        cap,
    );
    assert_eq!(within.search.limit, 10);
    let wide = refusal(
        &[("from_date", "2020-09-15"), ("to_date", "2020-09-18")],
        cap,
    );
    assert!(wide.starts_with("to_date:"), "{wide}");
    assert!(wide.contains("at most 2 days"), "{wide}");
    let open = refusal(&[("from_date", "2020-09-15")], cap);
    assert!(
        open.starts_with("to_date:") && open.contains("at most 2 days"),
        "{open}"
    );
    let open = refusal(&[("to_date", "2020-09-15")], cap);
    assert!(
        open.starts_with("from_date:") && open.contains("at most 2 days"),
        "{open}"
    );
    // Without a cap, a year is fine.
    request(
        &[("from_date", "2020-01-01"), ("to_date", "2020-12-31")],
        None,
    );
}

#[test]
fn each_bad_parameter_is_refused_by_name() {
    let cases: [(&str, &str, &str); 16] = [
        ("page_number", "-1", "page_number:"),
        ("page_number", "first", "page_number:"),
        ("page_number", "1.5", "page_number:"),
        ("page_size", "0", "page_size:"),
        ("page_size", "1001", "page_size:"),
        ("page_size", "ten", "page_size:"),
        ("from_date", "yesterday", "from_date:"),
        ("to_date", "2020-02-30", "to_date:"),
        ("sort_by", "colour:asc", "sort_by:"),
        ("sort_by", "session_start_time:up", "sort_by:"),
        (
            "filter_by",
            r#"{"must": [{"term": {"colour": "red"}}]}"#,
            "filter_by:",
        ),
        ("filter_by", r#"["must"]"#, "filter_by:"),
        ("project_fields", "agent_information", "project_fields:"),
        ("project_fields", "[1]", "project_fields:"),
        ("aggs", r#"{"a": {"terms": {"field": "colour"}}}"#, "aggs:"),
        ("aggs", "terms", "aggs:"),
    ];
    for (parameter, value, prefix) in cases {
        let message = refusal(&[(parameter, value)], None);
        assert!(
            message.starts_with(prefix),
            "{parameter}={value}: {message}"
        );
    }
    let huge = refusal(
        &[("page_number", &u64::MAX.to_string()), ("page_size", "10")],
        None,
    );
    assert!(huge.starts_with("page_number:"), "{huge}");
    let backwards = refusal(
        &[("from_date", "2020-09-17"), ("to_date", "2020-09-15")],
        None,
    );
    assert!(backwards.starts_with("from_date:"), "{backwards}");
    // One day as both bounds is not backwards.
    request(
        &[("from_date", "2020-09-17"), ("to_date", "2020-09-17")],
        None,
    );
}

#[test]
fn invalid_json_with_braces_explains_their_encoding() {
    // What a client's unencoded `#` leaves of the text: everything before it.
    let cut = refusal(&[("filter_by", r#"{"must": [{"term": {"id": "a"#)], None);
    assert!(cut.starts_with("filter_by: is not valid JSON"), "{cut}");
    assert!(cut.contains("%7B") && cut.contains("%7D"), "{cut}");
    let plain = refusal(&[("filter_by", "must")], None);
    assert!(plain.starts_with("filter_by: is not valid JSON"), "{plain}");
    assert!(!plain.contains("%7B"), "no braces, no brace hint: {plain}");
}

#[test]
fn unknown_parameters_are_refused_by_name() {
    let Err(message) = params(&[("from", "2020-01-01")]) else {
        panic!("`from` is not an insights parameter")
    };
    assert!(message.contains("unknown field `from`"), "{message}");
}

// ---- envelope ----------------------------------------------------------------------------

#[test]
fn the_envelope_is_seed_001s_with_page_figures_as_strings() {
    let mut expected = seed_example();
    expected["hits"][0]["session_start_time"] = json!("2020-10-08T17:09:27.758Z");
    let hit = session_document(&seed_001_call());
    let page = |total, hits, size, number, aggs| {
        serde_json::to_value(SessionsPage::new(total, hits, size, number, aggs)).unwrap_or_default()
    };
    assert_eq!(page(1, vec![hit], 10, 0, None), expected);

    let with_aggs = page(42, Vec::new(), 100, 3, Some(json!({"n": {"value": 42}})));
    assert_eq!(
        with_aggs,
        json!({
            "total": 42, "hits": [], "page_size": "100", "page_number": "3",
            "aggregations": {"n": {"value": 42}}
        })
    );
}
