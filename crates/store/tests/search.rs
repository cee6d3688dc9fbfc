//! The search suite: `Store::search` (DESIGN §4–§5) over a corpus of calls in two
//! organizations, run against every backend through `search_suite!` (today the embedded
//! SQLite + tantivy backend; PostgreSQL joins by adding one more invocation). Requests are
//! parsed from JSON with the query crate, as the server does, and every expected answer comes
//! from plain Rust over the corpus records, never from the store itself.

// Tests panic on purpose: an unwrap that fails is a failed test with its message.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use callscope_model::{Call, Role, TranscriptEntry, WriteContext, call_from_json};
use callscope_query::{
    Aggregations, Limits, Query, SearchRequest, SortKey, Surface, TotalRelation, TrackTotalHits,
    parse_aggs, parse_query, parse_sort_list,
};
use callscope_store::{
    CallBuilder, CallRecord, Durability, EmbeddedStore, INDEX_DIR, IndexMode, SearchResult, Store,
    StoreError, StoreOptions, WriteMode,
};
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

// ---- the suite -------------------------------------------------------------------------------

/// Runs every search test against one backend. `$factory` is an async function returning
/// `(guard, store)`; the guard (a temporary directory, a scratch database) lives as long as
/// the test does.
macro_rules! search_suite {
    ($backend:ident, $factory:expr) => {
        mod $backend {
            use super::*;

            backend_tests!($factory;
                seed_001_filter_examples_return_exactly_the_expected_calls,
                term_matches_any_element_of_arrays_of_objects,
                arrays_of_objects_are_flattened_across_elements,
                match_or_and_and_phrase_follow_the_analysed_text,
                match_is_limited_to_the_speaker_role,
                match_phrase_does_not_span_two_utterances,
                should_beside_must_needs_one_should,
                should_alone_needs_one_should,
                must_not_alone_excludes_from_all_calls,
                nested_bool_and_filter_combine,
                range_on_duration_respects_each_edge,
                range_on_times_accepts_every_time_form,
                range_on_seed_session_start_time_forms,
                exists_finds_only_calls_with_the_field,
                prefix_and_terms_match_exact_values,
                metadata_params_and_tag_counts,
                range_on_a_user_defined_field_mixing_whole_and_decimal_bounds,
                sort_on_several_keys_breaks_ties_by_id,
                sort_puts_missing_values_last_both_ways,
                sort_seed_001_sort_by_examples,
                sort_on_keywords_across_several_segments,
                sort_on_a_user_defined_keyword_field,
                sort_on_a_user_defined_number_field,
                no_sort_orders_by_relevance,
                without_sort_equal_scores_tie_break_by_ascending_id,
                ranking_by_score_skips_nothing_that_belongs_on_the_page,
                pruned_rankings_over_every_role_equal_exhaustive_ones,
                a_bounded_count_stops_at_its_bound,
                offset_pages_walk_the_whole_sorted_result,
                limit_zero_gives_the_total_and_no_calls,
                an_organization_never_sees_another_ones_calls,
                aggs_terms_count_calls_per_agent_with_sub_average,
                aggs_metrics_on_duration,
                aggs_percentiles_of_agent_latency,
                aggs_histogram_fills_empty_buckets,
                aggs_date_histogram_by_fixed_day,
                aggs_date_histogram_by_calendar_month,
                aggs_date_histogram_by_month_with_min_doc_count,
                aggs_over_several_segments,
                aggs_date_histogram_by_month_of_no_calls_is_empty,
                aggs_range_returns_exactly_the_requested_buckets,
                aggs_past_the_bucket_limit_are_refused_before_they_run,
                a_write_is_searchable_after_refresh,
                a_deleted_call_leaves_search_after_refresh,
                an_upsert_moves_the_call_between_filters,
                transcript_appends_are_searchable,
                highlight_marks_the_matched_words_of_each_field,
                highlight_fragments_cut_long_text_around_the_matches,
            );
        }
    };
}

search_suite!(embedded, common::embedded_store);

// ---- fixtures --------------------------------------------------------------------------------

const ORG_A: &str = "org_a";
const ORG_B: &str = "org_b";
const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Seed 001's example session and its agent.
const SEED_ID: &str = "8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36";
const SEED_AGENT: &str = "5f7f2e60a6034c9b5c79d16c";
const SEED_CATEGORY: &str = "ddbc05ccbc48431d898104ac5e5b561a";

const STATUS_CYCLE: [&str; 9] = [
    "completed",
    "in_progress",
    "completed",
    "failed",
    "completed",
    "no_answer",
    "busy",
    "completed",
    "canceled",
];
const TOPICS: [&str; 6] = [
    "billing",
    "refund",
    "delivery",
    "password",
    "appointment",
    "upgrade",
];
const AGENT_VERBS: [&str; 4] = ["schedule", "transfer", "confirm", "cancel"];
const NODE_TAGS: [(&str, &str); 5] = [
    ("greeting", "intent"),
    ("billing", "topic"),
    ("sales", "topic"),
    ("angry", "sentiment"),
    ("happy", "sentiment"),
];
const REQUESTS: [&str; 4] = ["22", "33", "44", "55"];
const NAMES: [&str; 5] = ["Benjamin", "Ada", "Grace", "Linus", "Ken"];
const REGIONS: [&str; 3] = ["north", "south", "east"];
const CAMPAIGNS: [&str; 3] = ["camp-b", "camp-a", "camp-c"];

fn ms(text: &str) -> i64 {
    callscope_model::Timestamp::parse(text).unwrap().as_millis()
}

/// 2024-01-20T00:00:00Z, the first day of the generated calls.
fn base() -> i64 {
    ms("2024-01-20T00:00:00Z")
}

fn iso(millis: i64) -> String {
    callscope_model::Timestamp::from_millis(millis)
        .unwrap()
        .to_rfc3339()
}

fn index(number: i64) -> usize {
    usize::try_from(number).unwrap()
}

/// A validated call of `org` from a write body, written at the first corpus day.
fn call_of(org: &str, body: Value) -> Call {
    let context = WriteContext {
        organization_id: org,
        path_id: None,
        now: callscope_model::Timestamp::from_millis(base()).unwrap(),
        existing_created_at: None,
    };
    let shown = body.to_string();
    call_from_json(body, &context).unwrap_or_else(|e| panic!("fixture {shown} refused: {e}"))
}

/// The `j`-th generated call of `org`: every nullable field has gaps, values repeat (so sorts
/// tie) and ids are a permutation unrelated to time or insertion order.
fn generated(org: &str, j: i64) -> Call {
    let in_b = org == ORG_B;
    let id = if in_b {
        format!("b-{:03}", (j * 7) % 20)
    } else {
        format!("a-{:03}", (j * 37) % 60)
    };
    let created = if in_b {
        base() + j * 70 * HOUR + 3 * HOUR
    } else {
        base() + j * 29 * HOUR + (j % 4) * 17 * MINUTE
    };
    let status = STATUS_CYCLE[index((j * 4) % 9)];
    let mut body = json!({"id": id, "created_at": iso(created), "status": status});
    let fields = body.as_object_mut().unwrap();

    let agent: Option<(&str, Option<&str>)> = if in_b {
        Some(match j % 5 {
            4 => (SEED_AGENT, Some("oriprod2")),
            0 | 1 => ("agent-nora", Some("Nora")),
            _ => ("agent-max", Some("Max")),
        })
    } else if j % 20 == 13 {
        None
    } else if j % 15 == 14 {
        Some(("agent-anon", None))
    } else {
        Some(match j % 10 {
            0..=3 => (SEED_AGENT, Some("oriprod2")),
            4..=6 => ("agent-bob", Some("Bob")),
            7 | 8 => ("agent-alice", Some("alice")),
            _ => ("agent-zed", Some("Zed")),
        })
    };
    if let Some((agent_id, name)) = agent {
        let mut agent = json!({"id": agent_id, "voice": "Salli", "language": "en-US"});
        if let Some(name) = name {
            agent["name"] = json!(name);
        }
        fields.insert("agent".into(), agent);
    }

    let connected = !matches!(status, "no_answer" | "busy") && j % 13 != 6;
    if connected {
        let started = created + 5 * SECOND + (j % 3) * SECOND;
        fields.insert("started_at".into(), json!(iso(started)));
        if status != "in_progress" {
            let duration = ((j * 13) % 7 + 1) * 15 * SECOND;
            fields.insert("ended_at".into(), json!(iso(started + duration)));
        }
    }
    if status != "in_progress" {
        let code = [0, 100, 200][index(j % 3)];
        fields.insert("status_code".into(), json!(code));
    }
    if j % 5 == 0 {
        fields.insert("channel".into(), json!("web"));
    } else {
        fields.insert("channel".into(), json!("telephony"));
        let direction = if j % 2 == 0 { "inbound" } else { "outbound" };
        fields.insert("direction".into(), json!(direction));
    }
    let from = if j % 5 == 1 {
        Some("9726666666".to_owned())
    } else if j % 11 == 10 {
        None
    } else if in_b {
        Some(format!("+3312345{:04}", j * 13))
    } else if j % 2 == 0 {
        Some(format!("+1415555{:04}", j * 17))
    } else {
        Some(format!("+4420794{:04}", j * 31))
    };
    if let Some(from) = from {
        fields.insert("from_number".into(), json!(from));
    }
    fields.insert(
        "to_number".into(),
        json!(format!("+18005550{:03}", (j % 4) * 111)),
    );

    let mut transcript = Vec::new();
    if j % 12 != 11 {
        transcript.push(json!({"role": "agent",
            "text": format!("certainly I can {} that", AGENT_VERBS[index(j % 4)])}));
        if j % 17 != 16 {
            transcript.push(json!({"role": "user", "text": format!(
                "I need help with {} and {}",
                TOPICS[index(j % 6)],
                TOPICS[index((j * 5 + 1) % 6)]
            )}));
            let extra = if j % 7 == 2 {
                Some("shut up")
            } else if j % 8 == 5 {
                Some("I love this agent!")
            } else if j % 9 == 4 {
                Some("please stop")
            } else {
                None
            };
            if let Some(extra) = extra {
                transcript.push(json!({"role": "user", "text": extra}));
            }
        }
        let closing = if j % 13 == 4 {
            "you said shut up"
        } else {
            "goodbye"
        };
        transcript.push(json!({"role": "agent", "text": closing}));
    }
    if !transcript.is_empty() {
        fields.insert("transcript".into(), Value::Array(transcript));
    }

    if j % 19 != 18 {
        let request = REQUESTS[index(j % 4)];
        let (tag, category) = NODE_TAGS[index(j % 5)];
        let end_tags = if j % 3 == 0 {
            let (tag, category) = NODE_TAGS[index((j + 2) % 5)];
            json!([{"tag": tag, "category": category}])
        } else {
            json!([])
        };
        let path = json!([
            {"type": "start", "node_id": "n-start", "request_id": request, "tags": []},
            {"type": "speak", "node_id": format!("n-speak-{}", j % 3), "request_id": request,
             "tags": [{"tag": tag, "category": category}], "execution_time": 100 + j},
            {"type": "end_call", "node_id": "n-end", "request_id": format!("r{j}"),
             "tags": end_tags},
        ]);
        let mut collected = Vec::new();
        let mut collect = |tag: &str, category: &str| {
            collected.push(json!({"tag": tag, "category": category}));
        };
        if j % 3 == 0 {
            collect("cat", "animal");
        }
        if j % 4 == 0 {
            collect("dog", "animal");
        }
        if j % 6 == 0 {
            collect("cat", "animal");
        }
        if j % 5 == 0 || j % 8 == 0 {
            collect("rat", "animal");
        }
        if j % 7 == 3 {
            collect("invalid", "quality");
        }
        if j % 11 == 0 {
            collect("vip", "tier");
        }
        let name = NAMES[index(j % 5)];
        let mut parameters = Vec::new();
        if j % 6 == 1 {
            parameters.push(
                json!({"name": "name", "type": "sys.names", "value": "Benjamin",
                "value_text": "Benjamin", "completed": false}),
            );
        }
        parameters.push(json!({"name": "name", "type": "sys.names", "value": name,
            "value_text": name, "completed": true}));
        if j % 2 == 0 {
            parameters.push(json!({"name": "age", "type": "sys.number", "value": 20 + j}));
        }
        fields.insert(
            "flow".into(),
            json!({"path": path, "collected_tags": collected, "collected_parameters": parameters}),
        );
    }

    if j % 10 != 9 {
        let score = if j % 4 == 0 {
            json!(j)
        } else {
            #[allow(clippy::cast_precision_loss)] // small whole numbers
            let score = j as f64 + 0.5;
            json!(score)
        };
        fields.insert(
            "metadata".into(),
            json!({"region": REGIONS[index(j % 3)], "score": score}),
        );
    } else if j % 20 == 9 {
        // A key that merely starts like `region` must not count as having `region`.
        fields.insert("metadata".into(), json!({"region_code": "x"}));
    }
    if j % 8 != 7 {
        #[allow(clippy::cast_precision_loss)] // small whole numbers
        let latency = 300.0 + ((j * 37) % 500) as f64 + 0.25;
        fields.insert(
            "metrics".into(),
            json!({"agent_latency_ms": {"avg": latency}}),
        );
    }
    if !in_b && j >= 30 {
        fields.insert("campaign_id".into(), json!(CAMPAIGNS[index(j % 3)]));
    }
    call_of(org, body)
}

/// Seed 001's "Example Output Document" session mapped by hand onto the canonical call.
fn seed_session() -> Call {
    let tag = |name: &str| json!({"tag": name, "category": SEED_CATEGORY});
    let parameter = |value: &str, completed: bool| {
        json!({"name": "name", "type": "sys.names", "value": value, "value_text": value,
               "completed": completed})
    };
    let first = "759a8938-c296-4ff5-9ec9-d3f0267893f9";
    let second = "db2a0259-92fa-4067-a50c-728689276c58";
    let speak = "http://telephony-connector.ai.vonage.com/api/actions/speak";
    call_of(
        ORG_A,
        json!({
            "id": SEED_ID,
            "agent": {"id": SEED_AGENT, "version_id": "5f7f2f337340dc7249f81406",
                      "name": "oriprod2", "voice": "Salli", "language": "en-US"},
            "from_number": "9720014044002502",
            "to_number": "972523656841",
            "channel": "voice",
            "status": "completed",
            "status_code": 200,
            "duration_ms": 27000,
            "created_at": "2020-10-08T17:09:27.758983",
            "started_at": "2020-10-08T17:09:27.758983",
            "language": "en-US",
            "recording": {"mono": "5f7f277cf090a7001116fabe/5f7f2f337340dc7249f81406/8ae433e8-7bc1-41a0-b0a6-0cccc30cbc36.mp3"},
            "transcript": [
                {"role": "agent", "text": "sup?"},
                {"role": "agent", "text": "name?"},
                {"role": "user", "text": "Benjamin"},
                {"role": "agent", "text": "shut up Benjamin"}
            ],
            "flow": {
                "path": [
                    {"type": "start", "node_id": "5f7f2e60a6034c9b5c79d16b", "request_id": first,
                     "tags": [], "execution_time": 0, "synchronized": true,
                     "request": {"payload": "", "headers": "", "verb": "POST", "url": ""},
                     "response": {"payload": "", "code": 200},
                     "context": {"execution_parameters": [parameter("", false)],
                                 "status": {"code": 200, "message": ""}, "output": null,
                                 "user_input": "", "url": ""}},
                    {"type": "speak", "node_id": "5f7f2e689ce1d4ecd57793c5", "request_id": first,
                     "tags": [tag("two")], "execution_time": 168, "synchronized": true,
                     "request": {"verb": "POST", "url": speak},
                     "response": {"code": 201},
                     "context": {"execution_parameters": [parameter("", false)],
                                 "url": speak, "status": {"code": 201}}},
                    {"type": "speak", "node_id": "7f99f590-437d-4e50-b985-196d419da71e",
                     "request_id": first, "tags": [], "execution_time": 4777,
                     "synchronized": true, "request": {"verb": "POST", "url": speak},
                     "response": {"code": 201},
                     "context": {"execution_parameters": [parameter("", false)],
                                 "url": speak, "status": {"code": 201}}},
                    {"type": "param_completion", "node_id": "5f7f2e6f7340dc7249f813fa",
                     "request_id": second, "tags": [tag("one")], "execution_time": 53,
                     "synchronized": true, "response": {"code": 200, "payload": ""},
                     "context": {"user_input": "Benjamin",
                                 "execution_parameters": [parameter("Benjamin", true)],
                                 "status": {"code": 200, "message": ""}}},
                    {"type": "speak", "node_id": "5f7f2eca35e7e1a6c42754e9", "request_id": second,
                     "tags": [tag("three")], "execution_time": 4727, "synchronized": true,
                     "request": {"verb": "POST", "url": speak}, "response": {"code": 201},
                     "context": {"execution_parameters": [parameter("Benjamin", true)],
                                 "url": speak, "status": {"code": 201}}},
                    {"type": "end_call", "node_id": "5f7f2eca35e7e1a6c42754e9",
                     "request_id": second, "tags": [tag("three")], "execution_time": 0,
                     "synchronized": true, "response": {"code": 200, "payload": ""},
                     "context": {"execution_parameters": [parameter("Benjamin", true)],
                                 "status": {"code": 200, "message": ""}}}
                ],
                "collected_tags": [tag("two"), tag("one"), tag("three"), tag("three")],
                "collected_parameters": [parameter("Benjamin", true)]
            },
            "request_ids": [first, second]
        }),
    )
}

/// Calls written for one purpose each.
fn special_calls() -> Vec<Call> {
    let scored = |id: &str, text: &str| {
        call_of(
            ORG_A,
            json!({"id": id, "status": "completed", "created_at": "2024-02-15T10:00:00Z",
                   "agent": {"id": "agent-bob", "name": "Bob"},
                   "transcript": [{"role": "user", "text": text}, {"role": "agent", "text": "noted"}]}),
        )
    };
    vec![
        seed_session(),
        // Same length and words, counts swapped: a word said twice ranks above once.
        scored("score-a", "xylophone xylophone tuba"),
        scored("score-b", "xylophone tuba tuba"),
        call_of(
            ORG_A,
            json!({"id": "phrase-gap", "created_at": "2024-02-16T10:00:00Z",
                   "transcript": [{"role": "user", "text": "my quokka"},
                                  {"role": "user", "text": "wombat appears"}]}),
        ),
        call_of(
            ORG_A,
            json!({"id": "shared-call", "status": "completed", "created_at": "2024-02-17T10:00:00Z",
                   "agent": {"id": "agent-bob", "name": "Bob"}, "duration_ms": 61000}),
        ),
        call_of(
            ORG_B,
            json!({"id": "shared-call", "created_at": "2024-02-17T11:00:00Z",
                   "agent": {"id": "agent-nora", "name": "Nora"}}),
        ),
    ]
}

/// 60 generated calls in `ORG_A`, 20 in `ORG_B`, and the special ones.
fn corpus() -> Vec<Call> {
    let mut calls: Vec<Call> = (0..60).map(|j| generated(ORG_A, j)).collect();
    calls.extend((0..20).map(|j| generated(ORG_B, j)));
    calls.extend(special_calls());
    calls
}

async fn insert(store: &dyn Store, calls: &[Call]) {
    let batch = calls
        .iter()
        .map(|call| CallRecord {
            call: call.clone(),
            events: Vec::new(),
            transfers: Vec::new(),
        })
        .collect();
    store.insert_calls(batch).await.unwrap();
}

/// Stores the corpus and waits until it is searchable.
async fn load(store: &dyn Store) -> Vec<Call> {
    let corpus = corpus();
    insert(store, &corpus).await;
    store.refresh().await.unwrap();
    corpus
}

/// Stores the corpus in `batches` parts with a refresh after each, so the index has several
/// segments (and fields missing from whole segments).
async fn load_in_batches(store: &dyn Store, batches: usize) -> Vec<Call> {
    let corpus = corpus();
    for chunk in corpus.chunks(corpus.len().div_ceil(batches)) {
        insert(store, chunk).await;
        store.refresh().await.unwrap();
    }
    corpus
}

fn ready(call: Call) -> CallBuilder {
    Box::new(move |_| Ok(call))
}

// ---- requests --------------------------------------------------------------------------------

fn query(surface: Surface, json: &Value) -> Query {
    parse_query(surface, json, &Limits::default())
        .unwrap_or_else(|e| panic!("query {json} refused: {e}"))
}

fn sort(surface: Surface, text: &str) -> Vec<SortKey> {
    parse_sort_list(surface, text).unwrap_or_else(|e| panic!("sort `{text}` refused: {e}"))
}

fn aggs(surface: Surface, json: &Value) -> Aggregations {
    parse_aggs(surface, json, &Limits::default())
        .unwrap_or_else(|e| panic!("aggs {json} refused: {e}"))
}

fn request(query: Query, sort: Vec<SortKey>, offset: u64, limit: u32) -> SearchRequest {
    SearchRequest {
        query,
        sort,
        offset,
        limit,
        search_after: None,
        aggs: Aggregations::new(),
        track_total_hits: TrackTotalHits::Exact,
        highlight: None,
    }
}

async fn run(store: &dyn Store, org: &str, request: &SearchRequest) -> SearchResult {
    let result = store
        .search(org, request)
        .await
        .unwrap_or_else(|e| panic!("search {request:?} failed: {e}"));
    for call in &result.calls {
        assert_eq!(call.organization_id, org, "a call of another organization");
    }
    result
}

fn ids_of(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|call| call.id.clone()).collect()
}

/// Ids found by an unsorted query, sorted by id, checked against the total.
async fn found(store: &dyn Store, org: &str, surface: Surface, json: &Value) -> Vec<String> {
    let result = run(
        store,
        org,
        &request(query(surface, json), Vec::new(), 0, 1000),
    )
    .await;
    let mut ids = ids_of(&result.calls);
    assert_eq!(
        result.total,
        ids.len() as u64,
        "total of {json} disagrees with the calls returned"
    );
    ids.sort();
    ids
}

/// Ids of the calls of `org` that satisfy `keep`, sorted.
fn expected(corpus: &[Call], org: &str, keep: impl Fn(&Call) -> bool) -> Vec<String> {
    let mut ids: Vec<String> = corpus
        .iter()
        .filter(|call| call.organization_id == org && keep(call))
        .map(|call| call.id.clone())
        .collect();
    ids.sort();
    ids
}

fn of_org<'a>(corpus: &'a [Call], org: &str) -> Vec<&'a Call> {
    corpus
        .iter()
        .filter(|call| call.organization_id == org)
        .collect()
}

/// Asserts that the query finds exactly the calls `keep` selects, that this is neither none
/// nor every call of the organization (so the check means something), and returns them.
async fn check(
    store: &dyn Store,
    corpus: &[Call],
    org: &str,
    surface: Surface,
    json: &Value,
    keep: impl Fn(&Call) -> bool,
) -> Vec<String> {
    let want = expected(corpus, org, keep);
    let all = of_org(corpus, org).len();
    assert!(
        !want.is_empty() && want.len() < all,
        "fixture problem: {json} selects {} of {all} calls",
        want.len()
    );
    assert_eq!(found(store, org, surface, json).await, want, "query {json}");
    want
}

// ---- oracle helpers --------------------------------------------------------------------------

/// The default analyser as the oracle sees it: split on anything not alphanumeric, lowercase.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|token| !token.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Tokens of each utterance of `role` (of every role for `None`).
fn utterances(call: &Call, role: Option<Role>) -> Vec<Vec<String>> {
    call.transcript
        .iter()
        .filter(|entry| role.is_none_or(|role| entry.role == role))
        .map(|entry| tokens(&entry.text))
        .collect()
}

fn said_any(call: &Call, role: Option<Role>, text: &str) -> bool {
    let wanted = tokens(text);
    utterances(call, role)
        .iter()
        .flatten()
        .any(|token| wanted.contains(token))
}

fn said_all(call: &Call, role: Option<Role>, text: &str) -> bool {
    let said: BTreeSet<String> = utterances(call, role).into_iter().flatten().collect();
    tokens(text).iter().all(|token| said.contains(token))
}

fn said_phrase(call: &Call, role: Option<Role>, text: &str) -> bool {
    let phrase = tokens(text);
    utterances(call, role)
        .iter()
        .any(|words| words.windows(phrase.len()).any(|window| window == phrase))
}

fn node_tags(call: &Call) -> Vec<(&str, &str)> {
    call.flow
        .iter()
        .flat_map(|flow| &flow.path)
        .flat_map(|node| &node.tags)
        .map(|tag| (tag.tag.as_str(), tag.category.as_str()))
        .collect()
}

fn collected_tags(call: &Call) -> Vec<&str> {
    call.flow
        .iter()
        .flat_map(|flow| &flow.collected_tags)
        .map(|tag| tag.tag.as_str())
        .collect()
}

fn has_collected(call: &Call, tag: &str) -> bool {
    collected_tags(call).contains(&tag)
}

fn tag_count(call: &Call, tag: &str) -> usize {
    collected_tags(call).iter().filter(|t| **t == tag).count()
}

fn metadata<'a>(call: &'a Call, key: &str) -> Option<&'a Value> {
    call.metadata.as_ref().and_then(|m| m.get(key))
}

/// The last collected value of parameter `name`.
fn last_parameter(call: &Call, name: &str) -> Option<Value> {
    call.flow
        .iter()
        .flat_map(|flow| &flow.collected_parameters)
        .rfind(|parameter| parameter.name == name)
        .map(|parameter| parameter.value.clone())
}

fn agent_id(call: &Call) -> Option<&str> {
    call.agent.id.as_deref()
}

fn millis_of(at: Option<callscope_model::Timestamp>) -> Option<i64> {
    at.map(|at| at.as_millis())
}

fn latency(call: &Call) -> Option<f64> {
    call.metrics
        .as_ref()
        .and_then(|m| m.agent_latency_ms.as_ref())
        .and_then(|l| l.avg)
}

#[allow(clippy::cast_precision_loss)] // durations are far below 2^53
fn duration(call: &Call) -> Option<f64> {
    call.duration_ms.map(|d| d as f64)
}

// ---- the sort oracle -------------------------------------------------------------------------

/// A sort value as the oracle compares it.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum Key {
    Num(f64),
    Text(String),
}

type KeyOf<'a> = &'a dyn Fn(&Call) -> Option<Key>;

/// Sorts by `keys` (missing values last in either direction), ties broken by id in the
/// direction of the last key.
fn oracle_sort(calls: &[&Call], keys: &[(KeyOf<'_>, bool)]) -> Vec<String> {
    let mut sorted = calls.to_vec();
    let last_descending = keys.last().is_some_and(|(_, descending)| *descending);
    sorted.sort_by(|a, b| {
        for (key, descending) in keys {
            let ordering = match (key(a), key(b)) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => {
                    let ordering = x.partial_cmp(&y).unwrap();
                    if *descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                }
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        let ordering = a.id.cmp(&b.id);
        if last_descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    sorted.iter().map(|call| call.id.clone()).collect()
}

fn by_agent_name(call: &Call) -> Option<Key> {
    call.agent.name.clone().map(Key::Text)
}

fn by_duration(call: &Call) -> Option<Key> {
    duration(call).map(Key::Num)
}

async fn sorted_ids(store: &dyn Store, org: &str, surface: Surface, sort_by: &str) -> Vec<String> {
    let result = run(
        store,
        org,
        &request(Query::MatchAll, sort(surface, sort_by), 0, 1000),
    )
    .await;
    ids_of(&result.calls)
}

// ---- 1. seed 001's filter_by examples --------------------------------------------------------

async fn seed_001_filter_examples_return_exactly_the_expected_calls(store: &dyn Store) {
    let corpus = load(store).await;
    let insights = Surface::Insights;

    // "all calls from agent id …, in which the client has said at one point 'shut up'"
    let shut_up = check(
        store,
        &corpus,
        ORG_A,
        insights,
        &json!({"must": [
            {"term": {"agent_information.id": SEED_AGENT}},
            {"match": {"transcription.client": "shut up"}}
        ]}),
        |c| agent_id(c) == Some(SEED_AGENT) && said_any(c, Some(Role::User), "shut up"),
    )
    .await;
    // The seed session's agent said "shut up Benjamin"; the client did not.
    assert!(!shut_up.contains(&SEED_ID.to_owned()));

    // "all calls that were tagged as tag cat, dog and rat"
    check(
        store,
        &corpus,
        ORG_A,
        insights,
        &json!({"must": [
            {"term": {"flow_data.collected_tags.tag": "cat"}},
            {"term": {"flow_data.collected_tags.tag": "dog"}},
            {"term": {"flow_data.collected_tags.tag": "rat"}}
        ]}),
        |c| has_collected(c, "cat") && has_collected(c, "dog") && has_collected(c, "rat"),
    )
    .await;

    // "all the calls from phone number … that had either request id 22 or request id 44"
    check(
        store,
        &corpus,
        ORG_A,
        insights,
        &json!({
            "must": [{"term": {"source": "9726666666"}}],
            "should": [{"term": {"request_ids": "22"}}, {"term": {"request_ids": "44"}}]
        }),
        |c| {
            c.from_number.as_deref() == Some("9726666666")
                && c.request_ids.iter().any(|r| r == "22" || r == "44")
        },
    )
    .await;

    // "all the calls except for calls that were tagged as invalid"
    let valid = check(
        store,
        &corpus,
        ORG_A,
        insights,
        &json!({"must_not": [{"term": {"flow_data.collected_tags.tag": "invalid"}}]}),
        |c| !has_collected(c, "invalid"),
    )
    .await;
    assert!(valid.contains(&SEED_ID.to_owned()));
    assert!(
        valid.contains(&"phrase-gap".to_owned()),
        "calls without a flow are kept"
    );
}

// ---- 2. arrays of objects --------------------------------------------------------------------

async fn term_matches_any_element_of_arrays_of_objects(store: &dyn Store) {
    let corpus = load(store).await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"term": {"flow.path.tags.tag": "angry"}}),
        |c| node_tags(c).iter().any(|(tag, _)| *tag == "angry"),
    )
    .await;
    let three = check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"flow_path.tags.tag": "three"}}),
        |c| node_tags(c).iter().any(|(tag, _)| *tag == "three"),
    )
    .await;
    assert_eq!(three, [SEED_ID]);
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"term": {"flow.collected_parameters.name": "age"}}),
        |c| {
            c.flow
                .iter()
                .flat_map(|f| &f.collected_parameters)
                .any(|p| p.name == "age")
        },
    )
    .await;
    // Any element: a call that collected "Benjamin" first and another name last matches.
    let any_benjamin = check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"flow_data.collected_parameters.value": "Benjamin"}}),
        |c| {
            c.flow
                .iter()
                .flat_map(|f| &f.collected_parameters)
                .any(|p| p.value == json!("Benjamin"))
        },
    )
    .await;
    let last_benjamin = expected(&corpus, ORG_A, |c| {
        last_parameter(c, "name") == Some(json!("Benjamin"))
    });
    assert!(any_benjamin.len() > last_benjamin.len(), "fixture problem");
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"flow_path.request_id": "44"}}),
        |c| {
            c.flow
                .iter()
                .flat_map(|f| &f.path)
                .any(|n| n.request_id.as_deref() == Some("44"))
        },
    )
    .await;
    let user_input = found(
        store,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"flow_path.context.user_input": "Benjamin"}}),
    )
    .await;
    assert_eq!(user_input, [SEED_ID]);
    // True/false values inside arrays of objects.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"flow_data.collected_parameters.completed": false}}),
        |c| {
            c.flow
                .iter()
                .flat_map(|f| &f.collected_parameters)
                .any(|p| p.completed == Some(false))
        },
    )
    .await;
}

async fn arrays_of_objects_are_flattened_across_elements(store: &dyn Store) {
    let corpus = load(store).await;
    // Documented flattening (as Elasticsearch's default object mapping): tag and category
    // may match in different elements of flow.path[].tags.
    let across = check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"bool": {"must": [
            {"term": {"flow.path.tags.tag": "billing"}},
            {"term": {"flow.path.tags.category": "sentiment"}}
        ]}}),
        |c| {
            let tags = node_tags(c);
            tags.iter().any(|(tag, _)| *tag == "billing")
                && tags.iter().any(|(_, category)| *category == "sentiment")
        },
    )
    .await;
    for id in &across {
        let call = corpus
            .iter()
            .find(|c| c.organization_id == ORG_A && &c.id == id)
            .unwrap();
        assert!(
            !node_tags(call).contains(&("billing", "sentiment")),
            "no element holds both, so every match is across elements"
        );
    }
    // Within one element, too.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"must": [
            {"term": {"flow_path.tags.tag": "angry"}},
            {"term": {"flow_path.tags.category": "sentiment"}}
        ]}),
        |c| node_tags(c).contains(&("angry", "sentiment")),
    )
    .await;
}

// ---- 3. match and term -----------------------------------------------------------------------

async fn match_or_and_and_phrase_follow_the_analysed_text(store: &dyn Store) {
    let corpus = load(store).await;
    let user = Some(Role::User);
    // OR of analysed tokens; case and punctuation do not matter.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"match": {"transcript.user": "Refund, DELIVERY!"}}),
        |c| said_any(c, user, "refund delivery"),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"match": {"transcript.user": {"query": "refund delivery", "operator": "or"}}}),
        |c| said_any(c, user, "refund delivery"),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"match": {"transcript.user": {"query": "refund billing", "operator": "and"}}}),
        |c| said_all(c, user, "refund billing"),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"match": {"transcription.client": {"query": "i love this agent!", "operator": "and"}}}),
        |c| said_all(c, user, "i love this agent"),
    )
    .await;
    // Phrases: order and adjacency matter.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"match_phrase": {"transcript.user": "billing and refund"}}),
        |c| said_phrase(c, user, "billing and refund"),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"match_phrase": {"transcript.user": {"query": "refund and billing"}}}),
        |c| said_phrase(c, user, "refund and billing"),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"match_phrase": {"transcription": "i can confirm"}}),
        |c| said_phrase(c, None, "i can confirm"),
    )
    .await;
    // `term` on a text field is a phrase of its tokens.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"term": {"transcript.agent": "Certainly I can Cancel"}}),
        |c| said_phrase(c, Some(Role::Agent), "certainly i can cancel"),
    )
    .await;
}

async fn match_is_limited_to_the_speaker_role(store: &dyn Store) {
    let corpus = load(store).await;
    let by_user = check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"match_phrase": {"transcription.user": "shut up"}}),
        |c| said_phrase(c, Some(Role::User), "shut up"),
    )
    .await;
    let by_agent = check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"match_phrase": {"transcription.agent": "shut up"}}),
        |c| said_phrase(c, Some(Role::Agent), "shut up"),
    )
    .await;
    assert!(by_agent.contains(&SEED_ID.to_owned()));
    assert!(!by_user.contains(&SEED_ID.to_owned()));
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"match_phrase": {"transcript.text": "shut up"}}),
        |c| said_phrase(c, None, "shut up"),
    )
    .await;
}

async fn match_phrase_does_not_span_two_utterances(store: &dyn Store) {
    load(store).await;
    let within = found(
        store,
        ORG_A,
        Surface::Native,
        &json!({"match_phrase": {"transcript.user": "my quokka"}}),
    )
    .await;
    assert_eq!(within, ["phrase-gap"]);
    // "quokka" ends one utterance and "wombat" starts the next: not a phrase.
    let across = found(
        store,
        ORG_A,
        Surface::Native,
        &json!({"match_phrase": {"transcript.user": "quokka wombat"}}),
    )
    .await;
    assert_eq!(across, Vec::<String>::new());
    let both = found(
        store,
        ORG_A,
        Surface::Native,
        &json!({"match": {"transcript.user": {"query": "quokka wombat", "operator": "and"}}}),
    )
    .await;
    assert_eq!(both, ["phrase-gap"]);
}

#[test]
fn match_on_an_id_field_is_refused_naming_the_field() {
    for (surface, name) in [
        (Surface::Insights, "agent_information.id"),
        (Surface::Insights, "source"),
        (Surface::Insights, "flow_data.collected_tags.tag"),
        (Surface::Native, "agent.id"),
    ] {
        for clause in ["match", "match_phrase"] {
            let json = json!({clause: {name: "shut up"}});
            let message = match parse_query(surface, &json, &Limits::default()) {
                Ok(parsed) => panic!("{json} was accepted as {parsed:?}"),
                Err(error) => error.to_string(),
            };
            assert!(
                message.contains(&format!("`{name}`")) && message.contains("term"),
                "{json}: {message}"
            );
        }
    }
}

// ---- 4. bool ---------------------------------------------------------------------------------

async fn should_beside_must_needs_one_should(store: &dyn Store) {
    let corpus = load(store).await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"bool": {
            "must": [{"term": {"agent.id": "agent-bob"}}],
            "should": [{"term": {"metadata.region": "north"}}, {"term": {"status": "failed"}}]
        }}),
        |c| {
            agent_id(c) == Some("agent-bob")
                && (metadata(c, "region") == Some(&json!("north")) || c.status.as_str() == "failed")
        },
    )
    .await;
    // Also beside `filter` only.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"bool": {
            "filter": [{"term": {"channel": "telephony"}}],
            "should": [{"term": {"flow.collected_tags.tag": "vip"}}]
        }}),
        |c| c.channel.is_some_and(|ch| ch.as_str() == "telephony") && has_collected(c, "vip"),
    )
    .await;
}

async fn should_alone_needs_one_should(store: &dyn Store) {
    let corpus = load(store).await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"should": [{"term": {"agent_id": "agent-zed"}}, {"term": {"agent_id": "agent-alice"}}]}),
        |c| matches!(agent_id(c), Some("agent-zed" | "agent-alice")),
    )
    .await;
    // A single clause, not in a list.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"bool": {"should": {"term": {"status": "busy"}}}}),
        |c| c.status.as_str() == "busy",
    )
    .await;
}

async fn must_not_alone_excludes_from_all_calls(store: &dyn Store) {
    let corpus = load(store).await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"bool": {"must_not": [{"term": {"status": "completed"}}]}}),
        |c| c.status.as_str() != "completed",
    )
    .await;
    // Calls without the field are kept.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"bool": {"must_not": [
            {"term": {"metadata.region": "north"}},
            {"term": {"agent.id": SEED_AGENT}}
        ]}}),
        |c| metadata(c, "region") != Some(&json!("north")) && agent_id(c) != Some(SEED_AGENT),
    )
    .await;
}

async fn nested_bool_and_filter_combine(store: &dyn Store) {
    let corpus = load(store).await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"bool": {
            "filter": [{"exists": {"field": "duration_ms"}}],
            "must": [{"bool": {"should": [
                {"bool": {"must": [
                    {"term": {"metadata.region": "south"}},
                    {"match": {"transcript.user": "billing"}}
                ]}},
                {"term": {"flow.collected_tags.tag": "dog"}}
            ]}}],
            "must_not": [{"bool": {"should": [
                {"term": {"status": "failed"}},
                {"term": {"agent.id": "agent-alice"}}
            ]}}]
        }}),
        |c| {
            c.duration_ms.is_some()
                && ((metadata(c, "region") == Some(&json!("south"))
                    && said_any(c, Some(Role::User), "billing"))
                    || has_collected(c, "dog"))
                && !(c.status.as_str() == "failed" || agent_id(c) == Some("agent-alice"))
        },
    )
    .await;
    // Seed 001's bare form nests too.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"must": [{"should": [{"term": {"status": "in_progress"}},
                                     {"term": {"channel_data.status_code": 200}}]}],
                "must_not": {"term": {"channel": "web"}}}),
        |c| {
            (!c.status.is_terminal() || c.status_code == Some(200))
                && c.channel.is_none_or(|ch| ch.as_str() != "web")
        },
    )
    .await;
}

// ---- 5. range, exists, prefix, terms ---------------------------------------------------------

async fn range_on_duration_respects_each_edge(store: &dyn Store) {
    let corpus = load(store).await;
    let edge = 45_000_u64;
    assert!(
        corpus.iter().any(|c| c.duration_ms == Some(edge)),
        "fixture problem: no call lasts {edge} ms"
    );
    let d = |c: &Call| c.duration_ms;
    type Keep<'a> = &'a dyn Fn(&Call) -> bool;
    let cases: [(Value, Keep<'_>); 6] = [
        (json!({"gt": edge}), &|c| d(c).is_some_and(|v| v > edge)),
        (json!({"gte": edge}), &|c| d(c).is_some_and(|v| v >= edge)),
        (json!({"lt": edge}), &|c| d(c).is_some_and(|v| v < edge)),
        (json!({"lte": edge}), &|c| d(c).is_some_and(|v| v <= edge)),
        (json!({"gt": 30_000, "lte": 75_000}), &|c| {
            d(c).is_some_and(|v| v > 30_000 && v <= 75_000)
        }),
        (json!({"gte": "30000", "lt": 75_000}), &|c| {
            d(c).is_some_and(|v| (30_000..75_000).contains(&v))
        }),
    ];
    for (bounds, keep) in cases {
        check(
            store,
            &corpus,
            ORG_A,
            Surface::Native,
            &json!({"range": {"duration_ms": bounds}}),
            keep,
        )
        .await;
    }
    // The seed's name for it, and an exact number as a term.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"range": {"channel_data.duration": {"gte": 90_000}}}),
        |c| d(c).is_some_and(|v| v >= 90_000),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"channel_data.duration": edge}}),
        |c| d(c) == Some(edge),
    )
    .await;
    // A decimal field with whole-number bounds.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"range": {"metrics.agent_latency_ms.avg": {"gte": 500, "lt": 700}}}),
        |c| latency(c).is_some_and(|v| (500.0..700.0).contains(&v)),
    )
    .await;
}

async fn range_on_times_accepts_every_time_form(store: &dyn Store) {
    let corpus = load(store).await;
    // An edge exactly at a stored instant, and its whole day.
    let pivot = corpus
        .iter()
        .find(|c| c.organization_id == ORG_A && c.id == "a-000")
        .unwrap();
    let at = pivot.started_at.unwrap().as_millis();
    let rfc = iso(at);
    let naive = rfc.trim_end_matches('Z').to_owned();
    let date = pivot.started_at.unwrap().date();
    let day = date.format("%Y-%m-%d").to_string();
    let day_start = Utc
        .from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
        .timestamp_millis();
    let day_end = day_start + DAY;
    let s = |c: &Call| millis_of(c.started_at);
    type Case<'a> = (Value, Box<dyn Fn(&Call) -> bool + 'a>);
    let mut cases: Vec<Case<'_>> = Vec::new();
    for text in [&rfc, &naive] {
        cases.push((
            json!({"gte": text}),
            Box::new(move |c| s(c).is_some_and(|v| v >= at)),
        ));
        cases.push((
            json!({"gt": text}),
            Box::new(move |c| s(c).is_some_and(|v| v > at)),
        ));
        cases.push((
            json!({"lte": text}),
            Box::new(move |c| s(c).is_some_and(|v| v <= at)),
        ));
        cases.push((
            json!({"lt": text}),
            Box::new(move |c| s(c).is_some_and(|v| v < at)),
        ));
    }
    // A plain date names the whole UTC day.
    cases.push((
        json!({"lte": day}),
        Box::new(move |c| s(c).is_some_and(|v| v < day_end)),
    ));
    cases.push((
        json!({"gt": day}),
        Box::new(move |c| s(c).is_some_and(|v| v >= day_end)),
    ));
    cases.push((
        json!({"gte": day}),
        Box::new(move |c| s(c).is_some_and(|v| v >= day_start)),
    ));
    cases.push((
        json!({"lt": day}),
        Box::new(move |c| s(c).is_some_and(|v| v < day_start)),
    ));
    cases.push((
        json!({"gte": "2024-02-01", "lte": "2024-02-29"}),
        Box::new(move |c| {
            s(c).is_some_and(|v| v >= ms("2024-02-01T00:00:00Z") && v < ms("2024-03-01T00:00:00Z"))
        }),
    ));
    cases.push((
        json!({"gte": "2024-02-01T00:00:00+02:00", "lt": "2024-02-10T12:00:00"}),
        Box::new(move |c| {
            s(c).is_some_and(|v| v >= ms("2024-01-31T22:00:00Z") && v < ms("2024-02-10T12:00:00Z"))
        }),
    ));
    for (bounds, keep) in cases {
        check(
            store,
            &corpus,
            ORG_A,
            Surface::Native,
            &json!({"range": {"started_at": bounds}}),
            keep,
        )
        .await;
    }
    let on_the_day = found(
        store,
        ORG_A,
        Surface::Native,
        &json!({"range": {"started_at": {"gte": day, "lte": day}}}),
    )
    .await;
    assert!(on_the_day.contains(&pivot.id), "{on_the_day:?}");
    // Epoch milliseconds too.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"range": {"created_at": {"gte": at - 5 * SECOND, "lt": at + 20 * DAY}}}),
        |c| {
            let v = c.created_at.as_millis();
            v >= at - 5 * SECOND && v < at + 20 * DAY
        },
    )
    .await;
}

async fn range_on_seed_session_start_time_forms(store: &dyn Store) {
    let corpus = load(store).await;
    let insights = Surface::Insights;
    let session = |c: &Call| c.session_start_time().as_millis();
    // Seed 001's example: "between the 15th and 17th" as dates, the last day included.
    check(
        store,
        &corpus,
        ORG_A,
        insights,
        &json!({"range": {"session_start_time": {"gte": "2024-02-15", "lte": "2024-02-17"}}}),
        |c| {
            let v = session(c);
            v >= ms("2024-02-15T00:00:00Z") && v < ms("2024-02-18T00:00:00Z")
        },
    )
    .await;
    // The seed session's own time, with microseconds and no offset.
    let day = found(
        store,
        ORG_A,
        insights,
        &json!({"range": {"session_start_time": {"gte": "2020-10-08", "lte": "2020-10-08"}}}),
    )
    .await;
    assert_eq!(day, [SEED_ID]);
    let upto = found(
        store,
        ORG_A,
        insights,
        &json!({"range": {"session_start_time": {"lte": "2020-10-08T17:09:27.758983"}}}),
    )
    .await;
    assert_eq!(upto, [SEED_ID]);
    let before = found(
        store,
        ORG_A,
        insights,
        &json!({"range": {"session_start_time": {"lt": "2020-10-08T17:09:27.758983"}}}),
    )
    .await;
    assert_eq!(before, Vec::<String>::new());
    // A call that never started counts from its creation.
    check(
        store,
        &corpus,
        ORG_A,
        insights,
        &json!({"must": [{"range": {"session_start_time": {"gte": "2024-01-25T00:00:00Z"}}}],
                "must_not": [{"exists": {"field": "session_end_time"}}]}),
        |c| session(c) >= ms("2024-01-25T00:00:00Z") && c.ended_at.is_none(),
    )
    .await;
}

async fn exists_finds_only_calls_with_the_field(store: &dyn Store) {
    let corpus = load(store).await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"exists": {"field": "ended_at"}}),
        |c| c.ended_at.is_some(),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"must_not": {"exists": {"field": "session_end_time"}}}),
        |c| c.ended_at.is_none(),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"exists": {"field": "duration_ms"}}),
        |c| c.duration_ms.is_some(),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"exists": {"field": "metadata.region"}}),
        |c| metadata(c, "region").is_some(),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"exists": {"field": "transcript.user"}}),
        |c| c.transcript.iter().any(|e| e.role == Role::User),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"must_not": [{"exists": {"field": "transcription.client"}}]}),
        |c| c.transcript.iter().all(|e| e.role != Role::User),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"exists": {"field": "metrics.agent_latency_ms.avg"}}),
        |c| latency(c).is_some(),
    )
    .await;
}

async fn prefix_and_terms_match_exact_values(store: &dyn Store) {
    let corpus = load(store).await;
    let from = |c: &Call| c.from_number.clone().unwrap_or_default();
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"prefix": {"from_number": "+1415"}}),
        |c| from(c).starts_with("+1415"),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"prefix": {"source": {"value": "972"}}}),
        |c| from(c).starts_with("972"),
    )
    .await;
    // Ids written as unquoted numbers are their text.
    assert_eq!(
        found(
            store,
            ORG_A,
            Surface::Insights,
            &json!({"term": {"source": 9726666666_u64}})
        )
        .await,
        found(
            store,
            ORG_A,
            Surface::Insights,
            &json!({"term": {"source": "9726666666"}})
        )
        .await,
    );
    // Prefixes are exact: case matters.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"prefix": {"agent.name": "a"}}),
        |c| c.agent.name.as_deref().is_some_and(|n| n.starts_with('a')),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"terms": {"status": ["failed", "busy", "nonexistent"]}}),
        |c| matches!(c.status.as_str(), "failed" | "busy"),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"terms": {"duration_ms": [15_000, 45_000]}}),
        |c| matches!(c.duration_ms, Some(15_000 | 45_000)),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"terms": {"request_ids": ["22", "r7", "r8"]}}),
        |c| {
            c.request_ids
                .iter()
                .any(|r| ["22", "r7", "r8"].contains(&r.as_str()))
        },
    )
    .await;
}

// ---- 6. user-defined fields ------------------------------------------------------------------

async fn metadata_params_and_tag_counts(store: &dyn Store) {
    let corpus = load(store).await;
    let score = |c: &Call| metadata(c, "score").and_then(Value::as_f64);
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"term": {"metadata.region": "north"}}),
        |c| metadata(c, "region") == Some(&json!("north")),
    )
    .await;
    // Scores are whole numbers in some calls and decimals in others.
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"range": {"metadata.score": {"gte": 10, "lt": 30}}}),
        |c| score(c).is_some_and(|v| (10.0..30.0).contains(&v)),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"range": {"metadata.score": {"gt": 12.0, "lte": 20.5}}}),
        |c| score(c).is_some_and(|v| v > 12.0 && v <= 20.5),
    )
    .await;
    let twelve = check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"term": {"metadata.score": 12}}),
        |c| score(c) == Some(12.0),
    )
    .await;
    assert_eq!(twelve.len(), 1);
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"term": {"metadata.score": 13.5}}),
        |c| score(c) == Some(13.5),
    )
    .await;
    // parameters.<name>: the last value of the parameter.
    let benjamin = check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"parameters.name": "Benjamin"}}),
        |c| last_parameter(c, "name") == Some(json!("Benjamin")),
    )
    .await;
    assert!(benjamin.contains(&SEED_ID.to_owned()));
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"range": {"parameters.age": {"gte": 50}}}),
        |c| last_parameter(c, "age").and_then(|v| v.as_i64()) >= Some(50),
    )
    .await;
    // tags.<tag>: how many times the tag was collected.
    let three = found(
        store,
        ORG_A,
        Surface::Insights,
        &json!({"range": {"tags.three": {"gte": 2}}}),
    )
    .await;
    assert_eq!(three, [SEED_ID]);
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"tags.cat": 2}}),
        |c| tag_count(c, "cat") == 2,
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"term": {"tag_counts.cat": 1}}),
        |c| tag_count(c, "cat") == 1,
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"exists": {"field": "tags.vip"}}),
        |c| has_collected(c, "vip"),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Insights,
        &json!({"term": {"tags_list.tag": "rat"}}),
        |c| has_collected(c, "rat"),
    )
    .await;
}

async fn range_on_a_user_defined_field_mixing_whole_and_decimal_bounds(store: &dyn Store) {
    let corpus = load(store).await;
    let score = |c: &Call| metadata(c, "score").and_then(Value::as_f64);
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"range": {"metadata.score": {"gte": 10, "lt": 30.5}}}),
        |c| score(c).is_some_and(|v| (10.0..30.5).contains(&v)),
    )
    .await;
    check(
        store,
        &corpus,
        ORG_A,
        Surface::Native,
        &json!({"range": {"metadata.score": {"gt": 12.5, "lte": 20}}}),
        |c| score(c).is_some_and(|v| v > 12.5 && v <= 20.0),
    )
    .await;
}

// ---- 7. sorting ------------------------------------------------------------------------------

async fn sort_on_several_keys_breaks_ties_by_id(store: &dyn Store) {
    let corpus = load(store).await;
    let calls = of_org(&corpus, ORG_A);
    let got = sorted_ids(
        store,
        ORG_A,
        Surface::Native,
        "agent.name:asc,duration_ms:desc",
    )
    .await;
    let want = oracle_sort(&calls, &[(&by_agent_name, false), (&by_duration, true)]);
    assert_eq!(got, want);
    let got = sorted_ids(
        store,
        ORG_A,
        Surface::Native,
        "agent.name:desc,duration_ms:asc",
    )
    .await;
    let want = oracle_sort(&calls, &[(&by_agent_name, true), (&by_duration, false)]);
    assert_eq!(got, want);
    let status = |c: &Call| Some(Key::Text(c.status.as_str().to_owned()));
    let started = |c: &Call| millis_of(c.started_at).map(|v| Key::Num(v as f64));
    let got = sorted_ids(store, ORG_A, Surface::Native, "status,started_at:desc").await;
    let want = oracle_sort(&calls, &[(&status, false), (&started, true)]);
    assert_eq!(got, want);
    // A single key with many ties: the id decides, in the key's direction.
    let code = |c: &Call| c.status_code.map(|v| Key::Num(f64::from(v)));
    for (text, descending) in [("status_code:asc", false), ("status_code:desc", true)] {
        let got = sorted_ids(store, ORG_A, Surface::Native, text).await;
        assert_eq!(got, oracle_sort(&calls, &[(&code, descending)]), "{text}");
    }
}

async fn sort_puts_missing_values_last_both_ways(store: &dyn Store) {
    let corpus = load(store).await;
    let calls = of_org(&corpus, ORG_A);
    let latency_key = |c: &Call| latency(c).map(Key::Num);
    let ended = |c: &Call| millis_of(c.ended_at).map(|v| Key::Num(v as f64));
    let from = |c: &Call| c.from_number.clone().map(Key::Text);
    let keys: [(&str, KeyOf<'_>); 5] = [
        ("duration_ms", &by_duration),
        ("agent.name", &by_agent_name),
        ("metrics.agent_latency_ms.avg", &latency_key),
        ("ended_at", &ended),
        ("from_number", &from),
    ];
    for (field, key) in keys {
        let missing = calls.iter().filter(|c| key(c).is_none()).count();
        assert!(missing > 0, "fixture problem: every call has {field}");
        for (direction, descending) in [("asc", false), ("desc", true)] {
            let text = format!("{field}:{direction}");
            let got = sorted_ids(store, ORG_A, Surface::Native, &text).await;
            let want = oracle_sort(&calls, &[(key, descending)]);
            assert_eq!(got, want, "{text}");
        }
    }
}

async fn sort_seed_001_sort_by_examples(store: &dyn Store) {
    let corpus = load(store).await;
    let calls = of_org(&corpus, ORG_A);
    let session = |c: &Call| Some(Key::Num(c.session_start_time().as_millis() as f64));
    let session_status = |c: &Call| Some(Key::Text(c.session_status().to_owned()));
    let agent = |c: &Call| c.agent.id.clone().map(Key::Text);
    let insights = Surface::Insights;
    let got = sorted_ids(store, ORG_A, insights, "session_start_time:desc").await;
    assert_eq!(got, oracle_sort(&calls, &[(&session, true)]));
    assert_eq!(got.last().map(String::as_str), Some(SEED_ID));
    let got = sorted_ids(store, ORG_A, insights, "agent_information:asc,status:desc").await;
    assert_eq!(
        got,
        oracle_sort(&calls, &[(&by_agent_name, false), (&session_status, true)])
    );
    let got = sorted_ids(
        store,
        ORG_A,
        insights,
        "session_start_time:desc,agent_information.id:asc",
    )
    .await;
    assert_eq!(
        got,
        oracle_sort(&calls, &[(&session, true), (&agent, false)])
    );
    let got = sorted_ids(store, ORG_A, insights, "channel_data.duration:desc").await;
    assert_eq!(got, oracle_sort(&calls, &[(&by_duration, true)]));
}

async fn sort_on_keywords_across_several_segments(store: &dyn Store) {
    let corpus = load_in_batches(store, 4).await;
    let calls = of_org(&corpus, ORG_A);
    // The first batch has no campaign at all, so its segment lacks the column.
    assert!(corpus[..20].iter().all(|c| c.campaign_id.is_none()));
    let campaign = |c: &Call| c.campaign_id.clone().map(Key::Text);
    let from = |c: &Call| c.from_number.clone().map(Key::Text);
    let latency_key = |c: &Call| latency(c).map(Key::Num);
    for (text, keys) in [
        ("campaign_id:asc", vec![(&campaign as KeyOf<'_>, false)]),
        ("campaign_id:desc", vec![(&campaign as KeyOf<'_>, true)]),
        (
            "campaign_id:asc,agent.name:desc",
            vec![(&campaign as KeyOf<'_>, false), (&by_agent_name, true)],
        ),
        (
            "agent.name:asc,from_number:desc",
            vec![(&by_agent_name as KeyOf<'_>, false), (&from, true)],
        ),
        (
            "metrics.agent_latency_ms.avg:desc",
            vec![(&latency_key as KeyOf<'_>, true)],
        ),
    ] {
        let got = sorted_ids(store, ORG_A, Surface::Native, text).await;
        assert_eq!(got, oracle_sort(&calls, &keys), "{text}");
    }
    // Pages of a keyword sort across segments are consistent too.
    let want = oracle_sort(&calls, &[(&by_agent_name, false)]);
    let mut walked = Vec::new();
    for page in 0..want.len().div_ceil(5) {
        let offset = u64::try_from(page * 5).unwrap();
        let result = run(
            store,
            ORG_A,
            &request(
                Query::MatchAll,
                sort(Surface::Native, "agent.name"),
                offset,
                5,
            ),
        )
        .await;
        walked.extend(ids_of(&result.calls));
    }
    assert_eq!(walked, want);
}

async fn sort_on_a_user_defined_keyword_field(store: &dyn Store) {
    let corpus = load(store).await;
    let calls = of_org(&corpus, ORG_A);
    // DESIGN §4: any scalar field sorts; metadata.region holds text.
    let region = |c: &Call| {
        metadata(c, "region")
            .and_then(Value::as_str)
            .map(|r| Key::Text(r.to_owned()))
    };
    for (text, descending) in [
        ("metadata.region:asc", false),
        ("metadata.region:desc", true),
    ] {
        let got = sorted_ids(store, ORG_A, Surface::Native, text).await;
        assert_eq!(got, oracle_sort(&calls, &[(&region, descending)]), "{text}");
    }
}

async fn sort_on_a_user_defined_number_field(store: &dyn Store) {
    let corpus = load(store).await;
    let calls = of_org(&corpus, ORG_A);
    // Whole numbers in some calls, decimals in others.
    let score = |c: &Call| metadata(c, "score").and_then(Value::as_f64).map(Key::Num);
    for (text, descending) in [("metadata.score:asc", false), ("metadata.score:desc", true)] {
        let got = sorted_ids(store, ORG_A, Surface::Native, text).await;
        assert_eq!(got, oracle_sort(&calls, &[(&score, descending)]), "{text}");
    }
    let age = |c: &Call| {
        last_parameter(c, "age")
            .and_then(|v| v.as_f64())
            .map(Key::Num)
    };
    let got = sorted_ids(store, ORG_A, Surface::Native, "params.age:desc").await;
    assert_eq!(got, oracle_sort(&calls, &[(&age, true)]));
}

async fn no_sort_orders_by_relevance(store: &dyn Store) {
    load(store).await;
    // One word favours each call, so an id tie-break in either direction cannot pass both.
    for (word, order) in [
        ("xylophone", ["score-a", "score-b"]),
        ("tuba", ["score-b", "score-a"]),
    ] {
        let result = run(
            store,
            ORG_A,
            &request(
                query(
                    Surface::Native,
                    &json!({"match": {"transcript.user": word}}),
                ),
                Vec::new(),
                0,
                10,
            ),
        )
        .await;
        assert_eq!(ids_of(&result.calls), order, "{word}");
    }
}

/// Enough calls that the top-k collector's bar comes into play (it is set after a few hundred
/// candidates per segment), each said "zebra" `tf` times in a transcript of always
/// the same length: BM25 then orders by `tf`, and equal `tf` ties break by ascending id.
async fn ranking_by_score_skips_nothing_that_belongs_on_the_page(store: &dyn Store) {
    const CALLS: i64 = 3_000;
    const WORDS: usize = 8;
    let ranked_call = |org: &str, j: i64| {
        let tf = usize::try_from(j * 7 % 6).unwrap();
        let mut words = vec!["zebra"; tf];
        words.resize(WORDS, "meadow");
        let status = if j % 3 == 0 { "failed" } else { "completed" };
        let agent = if j % 5 == 0 { "agent-x" } else { "agent-y" };
        let call = call_of(
            org,
            json!({"id": format!("rank-{:04}", (j * 389) % CALLS), "status": status,
                   "agent": {"id": agent},
                   "transcript": [{"role": "user", "text": words.join(" ")}]}),
        );
        (call, tf)
    };
    let calls: Vec<(Call, usize)> = (0..CALLS)
        .map(|j| ranked_call(ORG_A, j))
        .chain((0..200).map(|j| ranked_call(ORG_B, j)))
        .collect();
    let plain: Vec<Call> = calls.iter().map(|(call, _)| call.clone()).collect();
    // Two segments, each with well over a few hundred matches.
    for half in plain.chunks(plain.len().div_ceil(2)) {
        insert(store, half).await;
        store.refresh().await.unwrap();
    }
    let mut ranked: Vec<(usize, String)> = calls
        .iter()
        .filter(|(call, tf)| {
            call.organization_id == ORG_A
                && *tf > 0
                && call.status.as_str() == "completed"
                && agent_id(call) != Some("agent-x")
        })
        .map(|(call, tf)| (*tf, call.id.clone()))
        .collect();
    ranked.sort_by(|(tf_a, id_a), (tf_b, id_b)| tf_b.cmp(tf_a).then_with(|| id_a.cmp(id_b)));
    // The best five go; the page must close up behind them.
    let deleted: Vec<String> = ranked.drain(..5).map(|(_, id)| id).collect();
    for id in &deleted {
        assert!(store.delete_call(ORG_A, id).await.unwrap());
    }
    store.refresh().await.unwrap();
    let expected: Vec<String> = ranked.into_iter().map(|(_, id)| id).collect();
    assert!(
        expected.len() > 1_000,
        "fixture problem: {} matches",
        expected.len()
    );

    let with = |must: Value| {
        json!({"bool": {"must": [must],
                        "filter": [{"term": {"status": "completed"}}],
                        "must_not": [{"term": {"agent.id": "agent-x"}}]}})
    };
    let zebra_or_absent = json!({"match": {"transcript.text": {"query": "zebra quokka"}}});
    // One word, and two where one is in no call: the shapes tantivy's block-max pruning got
    // wrong (see `collect.rs`).
    let rankings = [
        with(json!({"match": {"transcript.text": "zebra"}})),
        with(zebra_or_absent),
    ];
    // A bounded count (the default) lets the page pass prune; an exact one counts in the
    // same pass and visits every match. Both must rank alike.
    for ranking in rankings {
        let ranking = query(Surface::Native, &ranking);
        for track in [TrackTotalHits::DEFAULT, TrackTotalHits::Exact] {
            for (offset, limit) in [(0, 1), (0, 10), (10, 10), (0, 37), (250, 25), (1000, 100)] {
                let search = SearchRequest {
                    track_total_hits: track,
                    highlight: None,
                    ..request(ranking.clone(), Vec::new(), offset, limit)
                };
                let result = run(store, ORG_A, &search).await;
                let start = usize::try_from(offset).unwrap();
                let end = (start + usize::try_from(limit).unwrap()).min(expected.len());
                assert_eq!(
                    ids_of(&result.calls),
                    expected[start..end],
                    "{ranking:?} from {offset}, size {limit}, {track:?}"
                );
                assert_eq!(result.total, expected.len() as u64);
            }
        }
    }
    // A keyword term as the only scoring clause: its postings have no frequencies, and these
    // calls' keyword objects all have the same number of values, so every match scores
    // alike and the order is the ids'.
    let by_keyword = query(
        Surface::Native,
        &json!({"bool": {"must": [{"term": {"agent.id": "agent-y"}}],
                         "filter": [{"term": {"status": "completed"}}]}}),
    );
    let keyword_matches: Vec<String> = {
        let mut ids: Vec<String> = calls
            .iter()
            .filter(|(call, _)| {
                call.organization_id == ORG_A
                    && call.status.as_str() == "completed"
                    && agent_id(call) == Some("agent-y")
            })
            .map(|(call, _)| call.id.clone())
            .filter(|id| !deleted.contains(id))
            .collect();
        ids.sort();
        ids
    };
    for (offset, limit) in [(0, 10), (500, 20)] {
        let result = run(
            store,
            ORG_A,
            &request(by_keyword.clone(), Vec::new(), offset, limit),
        )
        .await;
        let start = usize::try_from(offset).unwrap();
        assert_eq!(
            ids_of(&result.calls),
            keyword_matches[start..start + usize::try_from(limit).unwrap()],
            "equal scores from {offset}"
        );
    }
}

async fn pruned_rankings_over_every_role_equal_exhaustive_ones(store: &dyn Store) {
    // Words in both roles, with lengths and frequencies that vary, so scores are sums over
    // fields with different norms: a ranking no plain-Rust model reproduces exactly, but one
    // that must not change when the page pass prunes (a bounded count) instead of visiting
    // every match (an exact count).
    let utterance = |hits: i64, length: i64, filler: &str| {
        let mut words = vec!["zebra"; usize::try_from(hits).unwrap()];
        words.resize(usize::try_from(length.max(hits)).unwrap(), filler);
        words.join(" ")
    };
    let calls: Vec<Call> = (0..2_400_i64)
        .map(|j| {
            let user = utterance(j * 7 % 5, 3 + j % 9, "meadow");
            let agent = utterance(
                j * 5 % 3,
                2 + j % 11,
                if j % 4 == 0 { "meadow" } else { "river" },
            );
            call_of(
                ORG_A,
                json!({"id": format!("role-{:04}", (j * 389) % 2_400),
                       "status": if j % 3 == 0 { "failed" } else { "completed" },
                       "transcript": [{"role": "user", "text": user},
                                      {"role": "agent", "text": agent}]}),
            )
        })
        .collect();
    for half in calls.chunks(calls.len().div_ceil(2)) {
        insert(store, half).await;
        store.refresh().await.unwrap();
    }
    for id in ["role-0000", "role-0389", "role-1111"] {
        assert!(store.delete_call(ORG_A, id).await.unwrap());
    }
    store.refresh().await.unwrap();

    let rankings = [
        json!({"match": {"transcript.text": "zebra"}}),
        json!({"match": {"transcript.text": "zebra meadow"}}),
        json!({"match": {"transcript.text": {"query": "zebra meadow", "operator": "and"}}}),
        json!({"match": {"transcript.agent": "zebra river"}}),
        json!({"match_phrase": {"transcript.text": "zebra meadow"}}),
    ];
    for ranking in rankings {
        let ranking = query(
            Surface::Native,
            &json!({"bool": {"must": [ranking], "filter": [{"term": {"status": "completed"}}]}}),
        );
        for (offset, limit) in [(0, 1), (0, 10), (10, 10), (300, 50)] {
            let page = |track| SearchRequest {
                track_total_hits: track,
                highlight: None,
                ..request(ranking.clone(), Vec::new(), offset, limit)
            };
            let pruned = run(store, ORG_A, &page(TrackTotalHits::DEFAULT)).await;
            let exhaustive = run(store, ORG_A, &page(TrackTotalHits::Exact)).await;
            assert!(
                !exhaustive.calls.is_empty(),
                "fixture problem: {ranking:?} from {offset} is empty"
            );
            assert_eq!(
                ids_of(&pruned.calls),
                ids_of(&exhaustive.calls),
                "{ranking:?} from {offset}, size {limit}"
            );
            assert_eq!(pruned.total, exhaustive.total);
        }
    }
}

async fn a_bounded_count_stops_at_its_bound(store: &dyn Store) {
    let corpus = load_in_batches(store, 3).await;
    let everything = expected(&corpus, ORG_A, |_| true).len() as u64;
    let seed_agent = json!({"term": {"agent.id": SEED_AGENT}});
    let of_agent = expected(&corpus, ORG_A, |call| agent_id(call) == Some(SEED_AGENT)).len() as u64;
    for (filter, matches) in [(json!({}), everything), (seed_agent, of_agent)] {
        for (track, want) in [
            (TrackTotalHits::Exact, (matches, TotalRelation::Equal)),
            (
                TrackTotalHits::UpTo(matches),
                (matches, TotalRelation::Equal),
            ),
            (
                TrackTotalHits::UpTo(matches + 50),
                (matches, TotalRelation::Equal),
            ),
            (
                TrackTotalHits::UpTo(matches - 1),
                (matches - 1, TotalRelation::AtLeast),
            ),
            (TrackTotalHits::UpTo(0), (0, TotalRelation::AtLeast)),
        ] {
            let request = SearchRequest {
                track_total_hits: track,
                highlight: None,
                ..request(query(Surface::Native, &filter), Vec::new(), 0, 5)
            };
            let result = run(store, ORG_A, &request).await;
            assert_eq!(
                (result.total, result.total_relation),
                want,
                "{filter} counted with {track:?}"
            );
            // The page does not depend on how far the matches were counted.
            assert_eq!(result.calls.len(), 5, "{filter} counted with {track:?}");
        }
    }
}

async fn without_sort_equal_scores_tie_break_by_ascending_id(store: &dyn Store) {
    let corpus = load(store).await;
    // The query AST documents the id tie-break as ascending when no sort key is given; with
    // match_all and with a filter-only bool, every call scores the same.
    let everything = expected(&corpus, ORG_A, |_| true);
    let result = run(store, ORG_A, &request(Query::MatchAll, Vec::new(), 0, 1000)).await;
    assert_eq!(ids_of(&result.calls), everything);
    let filter = json!({"bool": {"filter": [{"term": {"agent.id": SEED_AGENT}}]}});
    let result = run(
        store,
        ORG_A,
        &request(query(Surface::Native, &filter), Vec::new(), 0, 1000),
    )
    .await;
    assert_eq!(
        ids_of(&result.calls),
        expected(&corpus, ORG_A, |c| agent_id(c) == Some(SEED_AGENT))
    );
    // Pages without a sort still walk every call once.
    let mut walked = Vec::new();
    for page in 0..everything.len().div_ceil(7) {
        let offset = u64::try_from(page * 7).unwrap();
        let result = run(
            store,
            ORG_A,
            &request(Query::MatchAll, Vec::new(), offset, 7),
        )
        .await;
        walked.extend(ids_of(&result.calls));
    }
    let distinct: BTreeSet<&String> = walked.iter().collect();
    assert_eq!(
        distinct.len(),
        everything.len(),
        "gaps or repeats: {walked:?}"
    );
}

// ---- 8. paging -------------------------------------------------------------------------------

async fn offset_pages_walk_the_whole_sorted_result(store: &dyn Store) {
    let corpus = load(store).await;
    let calls = of_org(&corpus, ORG_A);
    for (text, keys) in [
        ("duration_ms:desc", vec![(&by_duration as KeyOf<'_>, true)]),
        (
            "agent.name:asc,duration_ms:asc",
            vec![(&by_agent_name as KeyOf<'_>, false), (&by_duration, false)],
        ),
    ] {
        let want = oracle_sort(&calls, &keys);
        let mut walked: Vec<String> = Vec::new();
        let mut offset = 0;
        loop {
            let result = run(
                store,
                ORG_A,
                &request(Query::MatchAll, sort(Surface::Native, text), offset, 7),
            )
            .await;
            assert_eq!(result.total, want.len() as u64, "{text} at {offset}");
            if result.calls.is_empty() {
                break;
            }
            assert!(result.calls.len() <= 7);
            walked.extend(ids_of(&result.calls));
            offset += 7;
        }
        assert_eq!(walked, want, "{text}");
        let distinct: BTreeSet<&String> = walked.iter().collect();
        assert_eq!(distinct.len(), walked.len(), "a call repeats in {text}");
    }
    // A filtered walk: every page's total counts every match.
    let filter = json!({"term": {"agent.id": SEED_AGENT}});
    let matching: Vec<&Call> = calls
        .iter()
        .copied()
        .filter(|c| agent_id(c) == Some(SEED_AGENT))
        .collect();
    let want = oracle_sort(&matching, &[(&by_duration, false)]);
    let mut walked = Vec::new();
    for page in 0..=want.len() / 7 {
        let offset = u64::try_from(page * 7).unwrap();
        let result = run(
            store,
            ORG_A,
            &request(
                query(Surface::Native, &filter),
                sort(Surface::Native, "duration_ms"),
                offset,
                7,
            ),
        )
        .await;
        assert_eq!(result.total, want.len() as u64);
        walked.extend(ids_of(&result.calls));
    }
    assert_eq!(walked, want);
}

async fn limit_zero_gives_the_total_and_no_calls(store: &dyn Store) {
    let corpus = load(store).await;
    let result = run(
        store,
        ORG_A,
        &request(Query::MatchAll, sort(Surface::Native, "duration_ms"), 0, 0),
    )
    .await;
    assert!(result.calls.is_empty());
    assert_eq!(result.total, of_org(&corpus, ORG_A).len() as u64);
    let filter = json!({"term": {"status": "completed"}});
    let want = expected(&corpus, ORG_A, |c| c.status.as_str() == "completed");
    let result = run(
        store,
        ORG_A,
        &request(query(Surface::Native, &filter), Vec::new(), 3, 0),
    )
    .await;
    assert!(result.calls.is_empty());
    assert_eq!(result.total, want.len() as u64);
    // A page past the end is empty but still counts.
    let result = run(
        store,
        ORG_A,
        &request(query(Surface::Native, &filter), Vec::new(), 500, 10),
    )
    .await;
    assert!(result.calls.is_empty());
    assert_eq!(result.total, want.len() as u64);
    // A short first page still counts every match.
    let result = run(
        store,
        ORG_A,
        &request(
            query(Surface::Native, &filter),
            sort(Surface::Native, "id"),
            0,
            2,
        ),
    )
    .await;
    assert_eq!(ids_of(&result.calls), want[..2]);
    assert_eq!(result.total, want.len() as u64);
}

// ---- 9. tenancy ------------------------------------------------------------------------------

async fn an_organization_never_sees_another_ones_calls(store: &dyn Store) {
    let corpus = load(store).await;
    for org in [ORG_A, ORG_B] {
        let everything = found(store, org, Surface::Native, &json!({"match_all": {}})).await;
        assert_eq!(everything, expected(&corpus, org, |_| true), "{org}");
        let bare = found(store, org, Surface::Insights, &json!({})).await;
        assert_eq!(bare, everything, "{org}");
        // The seed agent works for both organizations.
        let seed_agent = found(
            store,
            org,
            Surface::Insights,
            &json!({"must": [{"term": {"agent_id": SEED_AGENT}}]}),
        )
        .await;
        assert_eq!(
            seed_agent,
            expected(&corpus, org, |c| agent_id(c) == Some(SEED_AGENT)),
            "{org}"
        );
        assert!(!seed_agent.is_empty());
        let excluded = found(
            store,
            org,
            Surface::Native,
            &json!({"bool": {"must_not": [{"term": {"status": "completed"}}]}}),
        )
        .await;
        assert_eq!(
            excluded,
            expected(&corpus, org, |c| c.status.as_str() != "completed"),
            "{org}"
        );
    }
    // The same id in both organizations: each sees its own.
    for (org, agent) in [(ORG_A, "agent-bob"), (ORG_B, "agent-nora")] {
        let result = run(
            store,
            org,
            &request(
                query(Surface::Native, &json!({"term": {"id": "shared-call"}})),
                Vec::new(),
                0,
                10,
            ),
        )
        .await;
        assert_eq!(result.total, 1);
        assert_eq!(result.calls[0].agent.id.as_deref(), Some(agent));
    }
    // Agents of A are invisible from B, in hits and in aggregations.
    let bob = found(
        store,
        ORG_B,
        Surface::Native,
        &json!({"term": {"agent.id": "agent-bob"}}),
    )
    .await;
    assert_eq!(bob, Vec::<String>::new());
    let mut counting = request(Query::MatchAll, Vec::new(), 0, 0);
    counting.aggs = aggs(
        Surface::Native,
        &json!({"agents": {"terms": {"field": "agent.id", "size": 100}},
                "durations": {"value_count": {"field": "duration_ms"}}}),
    );
    let result = run(store, ORG_B, &counting).await;
    let answer = result.aggregations.unwrap();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for call in of_org(&corpus, ORG_B) {
        if let Some(agent) = agent_id(call) {
            *want.entry(agent.to_owned()).or_default() += 1;
        }
    }
    assert_eq!(terms_buckets(&answer["agents"]), want);
    let with_duration = of_org(&corpus, ORG_B)
        .iter()
        .filter(|c| c.duration_ms.is_some())
        .count();
    assert_eq!(
        answer["durations"]["value"].as_f64(),
        Some(with_duration as f64)
    );
}

// ---- 10. aggregations ------------------------------------------------------------------------

fn close(got: Option<f64>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: no number in the answer"));
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// The key → doc_count map of a terms answer, checking the buckets come most frequent first.
fn terms_buckets(answer: &Value) -> BTreeMap<String, u64> {
    let buckets = answer["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets in {answer}"));
    let counts: Vec<u64> = buckets
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .collect();
    assert!(
        counts.windows(2).all(|pair| pair[0] >= pair[1]),
        "terms buckets are not most frequent first: {answer}"
    );
    buckets
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_owned(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn aggregate(store: &dyn Store, org: &str, query_json: &Value, aggs_json: &Value) -> Value {
    let mut search = request(query(Surface::Native, query_json), Vec::new(), 0, 0);
    search.aggs = aggs(Surface::Native, aggs_json);
    let result = run(store, org, &search).await;
    result
        .aggregations
        .unwrap_or_else(|| panic!("no aggregations for {aggs_json}"))
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

async fn aggs_terms_count_calls_per_agent_with_sub_average(store: &dyn Store) {
    let corpus = load(store).await;
    let answer = aggregate(
        store,
        ORG_A,
        &json!({}),
        &json!({"by_agent": {"terms": {"field": "agent.id"},
                             "aggs": {"avg_duration": {"avg": {"field": "duration_ms"}}}}}),
    )
    .await;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut durations: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for call in of_org(&corpus, ORG_A) {
        if let Some(agent) = agent_id(call) {
            *counts.entry(agent.to_owned()).or_default() += 1;
            durations
                .entry(agent.to_owned())
                .or_default()
                .extend(duration(call));
        }
    }
    assert!(counts.len() >= 5 && counts.len() <= 10, "fixture problem");
    assert_eq!(terms_buckets(&answer["by_agent"]), counts);
    for bucket in answer["by_agent"]["buckets"].as_array().unwrap() {
        let key = bucket["key"].as_str().unwrap();
        let values = &durations[key];
        assert!(!values.is_empty(), "fixture problem: {key} has no duration");
        close(
            bucket["avg_duration"]["value"].as_f64(),
            mean(values),
            &format!("avg_duration of {key}"),
        );
    }
    // size keeps the most frequent.
    let answer = aggregate(
        store,
        ORG_A,
        &json!({}),
        &json!({"top": {"terms": {"field": "agent.id", "size": 1}}}),
    )
    .await;
    let top = counts.values().max().copied().unwrap();
    let buckets = answer["top"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 1, "{answer}");
    assert_eq!(buckets[0]["doc_count"].as_u64(), Some(top));
    assert_eq!(
        counts.get(buckets[0]["key"].as_str().unwrap()),
        Some(&top),
        "{answer}"
    );
}

async fn aggs_metrics_on_duration(store: &dyn Store) {
    let corpus = load(store).await;
    // Over a filtered set, to prove aggregations follow the query.
    let filter = json!({"bool": {"must_not": {"term": {"agent.id": "agent-zed"}}}});
    let calls: Vec<&Call> = of_org(&corpus, ORG_A)
        .into_iter()
        .filter(|c| agent_id(c) != Some("agent-zed"))
        .collect();
    let values: Vec<f64> = calls.iter().filter_map(|c| duration(c)).collect();
    assert!(
        values.len() < calls.len(),
        "fixture problem: no call lacks a duration"
    );
    let answer = aggregate(
        store,
        ORG_A,
        &filter,
        &json!({
            "avg": {"avg": {"field": "duration_ms"}},
            "sum": {"sum": {"field": "duration_ms"}},
            "min": {"min": {"field": "duration_ms"}},
            "max": {"max": {"field": "duration_ms"}},
            "stats": {"stats": {"field": "duration_ms"}},
            "count": {"value_count": {"field": "duration_ms"}},
            "agents": {"cardinality": {"field": "agent.id"}}
        }),
    )
    .await;
    let sum: f64 = values.iter().sum();
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let count = values.len() as f64;
    close(answer["avg"]["value"].as_f64(), sum / count, "avg");
    close(answer["sum"]["value"].as_f64(), sum, "sum");
    close(answer["min"]["value"].as_f64(), min, "min");
    close(answer["max"]["value"].as_f64(), max, "max");
    close(answer["stats"]["count"].as_f64(), count, "stats.count");
    close(answer["stats"]["sum"].as_f64(), sum, "stats.sum");
    close(answer["stats"]["min"].as_f64(), min, "stats.min");
    close(answer["stats"]["max"].as_f64(), max, "stats.max");
    close(answer["stats"]["avg"].as_f64(), sum / count, "stats.avg");
    close(answer["count"]["value"].as_f64(), count, "value_count");
    let agents: BTreeSet<&str> = calls.iter().filter_map(|c| agent_id(c)).collect();
    close(
        answer["agents"]["value"].as_f64(),
        agents.len() as f64,
        "cardinality",
    );
}

async fn aggs_percentiles_of_agent_latency(store: &dyn Store) {
    let corpus = load(store).await;
    let mut values: Vec<f64> = of_org(&corpus, ORG_A)
        .iter()
        .filter_map(|c| latency(c))
        .collect();
    values.sort_by(f64::total_cmp);
    let answer = aggregate(
        store,
        ORG_A,
        &json!({}),
        &json!({
            "chosen": {"percentiles": {"field": "metrics.agent_latency_ms.avg",
                                       "percents": [50, 95, 99]}},
            "default": {"percentiles": {"field": "metrics.agent_latency_ms.avg"}}
        }),
    )
    .await;
    // DDSketch answers within ~1 % of a value between the two ranks around the percentile.
    let check_percentile = |name: &str, percent: f64, key: &str| {
        let got = answer[name]["values"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: no value for {key} in {answer}"));
        let rank = percent / 100.0 * (values.len() - 1) as f64;
        let low = values[index(rank.floor() as i64)];
        let high = values[index(rank.ceil() as i64)];
        assert!(
            got >= low * 0.98 && got <= high * 1.02,
            "{name} p{percent}: got {got}, want within 2 % of [{low}, {high}]"
        );
    };
    for (percent, key) in [(50.0, "50.0"), (95.0, "95.0"), (99.0, "99.0")] {
        check_percentile("chosen", percent, key);
    }
    let keys = answer["default"]["values"].as_object().unwrap();
    assert_eq!(keys.len(), 7, "{answer}");
    for (percent, key) in [
        (1.0, "1.0"),
        (5.0, "5.0"),
        (25.0, "25.0"),
        (50.0, "50.0"),
        (75.0, "75.0"),
        (95.0, "95.0"),
        (99.0, "99.0"),
    ] {
        check_percentile("default", percent, key);
    }
}

async fn aggs_histogram_fills_empty_buckets(store: &dyn Store) {
    let corpus = load(store).await;
    let interval = 10_000.0;
    let values: Vec<f64> = of_org(&corpus, ORG_A)
        .iter()
        .filter_map(|c| duration(c))
        .collect();
    let mut want: BTreeMap<i64, u64> = BTreeMap::new();
    for value in &values {
        *want.entry((value / interval).floor() as i64).or_default() += 1;
    }
    let (first, last) = (
        *want.keys().next().unwrap(),
        *want.keys().next_back().unwrap(),
    );
    for slot in first..=last {
        want.entry(slot).or_default();
    }
    assert!(want.values().any(|n| *n == 0), "fixture problem: no gap");
    let answer = aggregate(
        store,
        ORG_A,
        &json!({}),
        &json!({"durations": {"histogram": {"field": "duration_ms", "interval": interval}}}),
    )
    .await;
    let got: Vec<(f64, u64)> = answer["durations"]["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets in {answer}"))
        .iter()
        .map(|b| (b["key"].as_f64().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    let want: Vec<(f64, u64)> = want
        .into_iter()
        .map(|(slot, n)| (slot as f64 * interval, n))
        .collect();
    assert_eq!(got, want);
    // min_doc_count drops the empty ones.
    let answer = aggregate(
        store,
        ORG_A,
        &json!({}),
        &json!({"durations": {"histogram": {"field": "duration_ms", "interval": interval,
                                            "min_doc_count": 1}}}),
    )
    .await;
    let kept = answer["durations"]["buckets"].as_array().unwrap().len();
    assert_eq!(kept, want.iter().filter(|(_, n)| *n > 0).count());
}

fn rendered(millis: i64) -> String {
    Utc.timestamp_millis_opt(millis)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `(key, key_as_string, doc_count)` of each bucket of a date histogram answer.
fn date_buckets(answer: &Value) -> Vec<(i64, String, u64)> {
    answer["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets in {answer}"))
        .iter()
        .map(|b| {
            (
                b["key"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("key is not whole epoch ms in {b}")),
                b["key_as_string"].as_str().unwrap_or_default().to_owned(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn aggs_date_histogram_by_fixed_day(store: &dyn Store) {
    let corpus = load(store).await;
    let february = json!({"range": {"started_at": {"gte": "2024-02-01", "lt": "2024-03-01"}}});
    let (from, to) = (ms("2024-02-01T00:00:00Z"), ms("2024-03-01T00:00:00Z"));
    let mut want: BTreeMap<i64, u64> = BTreeMap::new();
    for call in of_org(&corpus, ORG_A) {
        if let Some(at) = millis_of(call.started_at).filter(|at| (from..to).contains(at)) {
            *want.entry(at - at.rem_euclid(DAY)).or_default() += 1;
        }
    }
    let (first, last) = (
        *want.keys().next().unwrap(),
        *want.keys().next_back().unwrap(),
    );
    let mut day = first;
    while day <= last {
        want.entry(day).or_default();
        day += DAY;
    }
    assert!(
        want.values().any(|n| *n == 0),
        "fixture problem: no empty day"
    );
    let want: Vec<(i64, String, u64)> = want
        .into_iter()
        .map(|(key, n)| (key, rendered(key), n))
        .collect();
    for interval in [
        json!({"calendar_interval": "day"}),
        json!({"fixed_interval": "1d"}),
    ] {
        let mut body = json!({"field": "started_at"});
        body.as_object_mut()
            .unwrap()
            .extend(interval.as_object().unwrap().clone());
        let answer = aggregate(
            store,
            ORG_A,
            &february,
            &json!({"per_day": {"date_histogram": body}}),
        )
        .await;
        assert_eq!(date_buckets(&answer["per_day"]), want, "{interval}");
    }
}

async fn aggs_date_histogram_by_calendar_month(store: &dyn Store) {
    let corpus = load(store).await;
    let month_of = |millis: i64| {
        let at = Utc.timestamp_millis_opt(millis).unwrap();
        (at.year(), at.month())
    };
    let month_start = |(year, month): (i32, u32)| {
        Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(year, month, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        )
        .timestamp_millis()
    };
    let mut counts: BTreeMap<(i32, u32), u64> = BTreeMap::new();
    for call in of_org(&corpus, ORG_A) {
        *counts
            .entry(month_of(call.session_start_time().as_millis()))
            .or_default() += 1;
    }
    // Every month from the first to the last, empty ones included (2020-10 to 2024).
    let (mut month, last) = (
        *counts.keys().next().unwrap(),
        *counts.keys().next_back().unwrap(),
    );
    let mut want = Vec::new();
    while month <= last {
        let key = month_start(month);
        want.push((key, rendered(key), counts.get(&month).copied().unwrap_or(0)));
        month = if month.1 == 12 {
            (month.0 + 1, 1)
        } else {
            (month.0, month.1 + 1)
        };
    }
    assert!(want.len() > 40, "fixture problem");
    let mut search = request(Query::MatchAll, Vec::new(), 0, 0);
    search.aggs = aggs(
        Surface::Insights,
        &json!({"per_month": {"date_histogram": {"field": "session_start_time",
                                                 "calendar_interval": "month"}}}),
    );
    let answer = run(store, ORG_A, &search).await.aggregations.unwrap();
    assert_eq!(date_buckets(&answer["per_month"]), want);
}

async fn aggs_date_histogram_by_month_with_min_doc_count(store: &dyn Store) {
    let corpus = load(store).await;
    let mut counts: BTreeMap<(i32, u32), u64> = BTreeMap::new();
    for call in of_org(&corpus, ORG_A) {
        let at = Utc
            .timestamp_millis_opt(call.session_start_time().as_millis())
            .unwrap();
        if at.year() == 2024 {
            *counts.entry((at.year(), at.month())).or_default() += 1;
        }
    }
    let want: Vec<(i64, String, u64)> = counts
        .into_iter()
        .map(|((year, month), n)| {
            let key = ms(&format!("{year}-{month:02}-01T00:00:00Z"));
            (key, rendered(key), n)
        })
        .collect();
    // Only the non-empty months with min_doc_count 1, over the months of 2024.
    let answer = aggregate(
        store,
        ORG_A,
        &json!({"range": {"session_start_time": {"gte": "2024-01-01"}}}),
        &json!({"per_month": {"date_histogram": {"field": "session_start_time",
                                                 "calendar_interval": "1M",
                                                 "min_doc_count": 1}}}),
    )
    .await;
    assert!(want.len() >= 3, "fixture problem");
    assert_eq!(date_buckets(&answer["per_month"]), want);
    // Quarters and years, over every call (the seed session is in 2020).
    for (interval, months) in [("quarter", 3), ("year", 12)] {
        let mut counts: BTreeMap<(i32, u32), u64> = BTreeMap::new();
        for call in of_org(&corpus, ORG_A) {
            let at = Utc
                .timestamp_millis_opt(call.session_start_time().as_millis())
                .unwrap();
            let first = at.month0() / months * months + 1;
            *counts.entry((at.year(), first)).or_default() += 1;
        }
        let want: Vec<(i64, String, u64)> = counts
            .into_iter()
            .map(|((year, month), n)| {
                let key = ms(&format!("{year}-{month:02}-01T00:00:00Z"));
                (key, rendered(key), n)
            })
            .collect();
        let answer = aggregate(
            store,
            ORG_A,
            &json!({}),
            &json!({"buckets": {"date_histogram": {"field": "session_start_time",
                                                   "calendar_interval": interval,
                                                   "min_doc_count": 1}}}),
        )
        .await;
        assert_eq!(date_buckets(&answer["buckets"]), want, "{interval}");
    }
}

async fn aggs_over_several_segments(store: &dyn Store) {
    let corpus = load_in_batches(store, 4).await;
    let answer = aggregate(
        store,
        ORG_A,
        &json!({}),
        &json!({"by_agent": {"terms": {"field": "agent.id"},
                             "aggs": {"longest": {"max": {"field": "duration_ms"}}}},
                "durations": {"stats": {"field": "duration_ms"}}}),
    )
    .await;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut longest: BTreeMap<String, f64> = BTreeMap::new();
    for call in of_org(&corpus, ORG_A) {
        if let Some(agent) = agent_id(call) {
            *counts.entry(agent.to_owned()).or_default() += 1;
            if let Some(value) = duration(call) {
                let slot = longest.entry(agent.to_owned()).or_insert(value);
                *slot = slot.max(value);
            }
        }
    }
    assert_eq!(terms_buckets(&answer["by_agent"]), counts);
    for bucket in answer["by_agent"]["buckets"].as_array().unwrap() {
        let key = bucket["key"].as_str().unwrap();
        close(bucket["longest"]["value"].as_f64(), longest[key], key);
    }
    let values: Vec<f64> = of_org(&corpus, ORG_A)
        .iter()
        .filter_map(|c| duration(c))
        .collect();
    close(
        answer["durations"]["count"].as_f64(),
        values.len() as f64,
        "count",
    );
    close(
        answer["durations"]["sum"].as_f64(),
        values.iter().sum(),
        "sum",
    );
}

async fn aggs_date_histogram_by_month_of_no_calls_is_empty(store: &dyn Store) {
    load(store).await;
    let search = || {
        let mut search = request(
            query(Surface::Native, &json!({"term": {"agent.id": "nobody"}})),
            Vec::new(),
            0,
            0,
        );
        search.aggs = aggs(
            Surface::Native,
            &json!({"per_month": {"date_histogram": {"field": "created_at",
                                                     "calendar_interval": "month"}}}),
        );
        search
    };
    let result = store.search(ORG_A, &search()).await;
    let answer = match result {
        Ok(result) => result.aggregations.unwrap(),
        Err(error) => panic!("a month histogram of no calls failed: {error}"),
    };
    assert_eq!(answer["per_month"]["buckets"], json!([]), "{answer}");
}

async fn aggs_range_returns_exactly_the_requested_buckets(store: &dyn Store) {
    let corpus = load(store).await;
    let values: Vec<f64> = of_org(&corpus, ORG_A)
        .iter()
        .filter_map(|c| duration(c))
        .collect();
    let count = |from: f64, to: f64| values.iter().filter(|v| **v >= from && **v < to).count();
    let answer = aggregate(
        store,
        ORG_A,
        &json!({}),
        &json!({"lengths": {"range": {"field": "duration_ms", "ranges": [
            {"key": "short", "to": 30000},
            {"key": "medium", "from": 30000, "to": 60000},
            {"from": 60000, "to": 90000}
        ]}}}),
    )
    .await;
    let buckets = answer["lengths"]["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets in {answer}"));
    let find = |from: Option<f64>, to: Option<f64>| {
        buckets
            .iter()
            .find(|b| b["from"].as_f64() == from && b["to"].as_f64() == to)
            .unwrap_or_else(|| panic!("no bucket {from:?}..{to:?} in {answer}"))
    };
    let short = find(None, Some(30_000.0));
    assert_eq!(short["key"], "short");
    assert_eq!(
        short["doc_count"].as_u64(),
        Some(count(f64::MIN, 30_000.0) as u64)
    );
    let medium = find(Some(30_000.0), Some(60_000.0));
    assert_eq!(medium["key"], "medium");
    assert_eq!(
        medium["doc_count"].as_u64(),
        Some(count(30_000.0, 60_000.0) as u64)
    );
    let long = find(Some(60_000.0), Some(90_000.0));
    assert_eq!(
        long["doc_count"].as_u64(),
        Some(count(60_000.0, 90_000.0) as u64)
    );
    assert!(values.iter().any(|v| *v >= 90_000.0), "fixture problem");
    // Elasticsearch answers the requested ranges only, in order: no bucket for the values
    // above 90000 that no range asked for.
    let keys: Vec<&Value> = buckets.iter().map(|b| &b["key"]).collect();
    assert_eq!(buckets.len(), 3, "buckets: {keys:?}");
    assert_eq!(buckets[0]["key"], "short");
    assert_eq!(buckets[1]["key"], "medium");
}

// ---- 11. freshness and deletes ---------------------------------------------------------------

async fn write(store: &dyn Store, call: Call, mode: WriteMode) {
    let (org, id) = (call.organization_id.clone(), call.id.clone());
    store
        .write_call(&org, &id, mode, ready(call))
        .await
        .unwrap_or_else(|e| panic!("write {id}: {e}"));
}

async fn a_write_is_searchable_after_refresh(store: &dyn Store) {
    let pineapple = json!({"match": {"transcript.user": "pineapple"}});
    for (number, id) in ["fresh-1", "fresh-2", "fresh-3"].iter().enumerate() {
        let call = call_of(
            ORG_A,
            json!({"id": id, "transcript": [{"role": "user", "text": "a pineapple please"}]}),
        );
        write(store, call, WriteMode::Create).await;
        store.refresh().await.unwrap();
        let ids = found(store, ORG_A, Surface::Native, &pineapple).await;
        assert_eq!(ids.len(), number + 1, "{ids:?}");
        assert!(ids.contains(&(*id).to_owned()));
    }
    // Twice in a row with nothing new returns at once.
    store.refresh().await.unwrap();
    store.refresh().await.unwrap();
}

async fn a_deleted_call_leaves_search_after_refresh(store: &dyn Store) {
    let mut corpus = load(store).await;
    let bob = json!({"term": {"agent.id": "agent-bob"}});
    let victim = expected(&corpus, ORG_A, |c| agent_id(c) == Some("agent-bob"))[0].clone();
    assert!(store.delete_call(ORG_A, &victim).await.unwrap());
    store.refresh().await.unwrap();
    corpus.retain(|c| !(c.organization_id == ORG_A && c.id == victim));
    check(store, &corpus, ORG_A, Surface::Native, &bob, |c| {
        agent_id(c) == Some("agent-bob")
    })
    .await;
    let everything = found(store, ORG_A, Surface::Native, &json!({})).await;
    assert_eq!(everything, expected(&corpus, ORG_A, |_| true));
    // Deleting the shared id in A leaves B's.
    assert!(store.delete_call(ORG_A, "shared-call").await.unwrap());
    store.refresh().await.unwrap();
    let id = json!({"term": {"id": "shared-call"}});
    assert!(found(store, ORG_A, Surface::Native, &id).await.is_empty());
    assert_eq!(
        found(store, ORG_B, Surface::Native, &id).await,
        ["shared-call"]
    );
    // A new call with a deleted id is found under its new values only.
    let reborn = call_of(
        ORG_A,
        json!({"id": victim, "agent": {"id": "agent-new"}, "status": "completed"}),
    );
    write(store, reborn, WriteMode::Create).await;
    store.refresh().await.unwrap();
    let new_agent = json!({"term": {"agent.id": "agent-new"}});
    assert_eq!(
        found(store, ORG_A, Surface::Native, &new_agent).await,
        [victim.as_str()]
    );
    assert!(
        !found(store, ORG_A, Surface::Native, &bob)
            .await
            .contains(&victim)
    );
}

async fn an_upsert_moves_the_call_between_filters(store: &dyn Store) {
    load(store).await;
    let id = "moving";
    let first = call_of(
        ORG_A,
        json!({"id": id, "agent": {"id": "agent-bob"}, "metadata": {"region": "west"}}),
    );
    write(store, first, WriteMode::Upsert).await;
    store.refresh().await.unwrap();
    let in_progress =
        json!({"must": [{"term": {"status": "in_progress"}}, {"term": {"agent_id": "agent-bob"}}]});
    let ended =
        json!({"must": [{"term": {"status": "ended"}}, {"term": {"agent_id": "agent-alice"}}]});
    let west = json!({"term": {"metadata.region": "west"}});
    let long = json!({"range": {"duration_ms": {"gte": 4_242_000}}});
    let has = |ids: &[String]| ids.contains(&id.to_owned());
    assert!(has(
        &found(store, ORG_A, Surface::Insights, &in_progress).await
    ));
    assert!(!has(&found(store, ORG_A, Surface::Insights, &ended).await));
    assert_eq!(found(store, ORG_A, Surface::Native, &west).await, [id]);
    assert!(found(store, ORG_A, Surface::Native, &long).await.is_empty());

    let second = call_of(
        ORG_A,
        json!({"id": id, "agent": {"id": "agent-alice"}, "status": "completed",
               "duration_ms": 4_242_000, "metadata": {"region": "east"}}),
    );
    write(store, second, WriteMode::Upsert).await;
    store.refresh().await.unwrap();
    assert!(!has(
        &found(store, ORG_A, Surface::Insights, &in_progress).await
    ));
    assert!(has(&found(store, ORG_A, Surface::Insights, &ended).await));
    assert!(found(store, ORG_A, Surface::Native, &west).await.is_empty());
    assert_eq!(found(store, ORG_A, Surface::Native, &long).await, [id]);
}

async fn transcript_appends_are_searchable(store: &dyn Store) {
    load(store).await;
    let id = "live";
    let call = call_of(
        ORG_A,
        json!({"id": id, "status": "in_progress",
               "transcript": [{"role": "agent", "text": "hello there"}]}),
    );
    write(store, call, WriteMode::Create).await;
    store.refresh().await.unwrap();
    let user_exists = json!({"exists": {"field": "transcript.user"}});
    assert!(
        !found(store, ORG_A, Surface::Native, &user_exists)
            .await
            .contains(&id.to_owned())
    );

    let entry = |text: &str| -> TranscriptEntry {
        serde_json::from_value(json!({"role": "user", "text": text})).unwrap()
    };
    store
        .append_transcript(ORG_A, id, vec![entry("a kumquat please")])
        .await
        .unwrap();
    store.refresh().await.unwrap();
    let kumquat = json!({"match": {"transcript.user": "kumquat"}});
    assert_eq!(found(store, ORG_A, Surface::Native, &kumquat).await, [id]);
    assert!(
        found(store, ORG_A, Surface::Native, &user_exists)
            .await
            .contains(&id.to_owned())
    );

    store
        .append_transcript(ORG_A, id, vec![entry("and a durian")])
        .await
        .unwrap();
    store.refresh().await.unwrap();
    let both =
        json!({"match": {"transcript.user": {"query": "durian kumquat", "operator": "and"}}});
    assert_eq!(found(store, ORG_A, Surface::Native, &both).await, [id]);
    let agent_still = json!({"match_phrase": {"transcript.agent": "hello there"}});
    assert_eq!(
        found(store, ORG_A, Surface::Native, &agent_still).await,
        [id]
    );
}

/// The refusal of a search the caller must change, whose message names every one of `words`.
async fn refused(store: &dyn Store, org: &str, search: &SearchRequest, words: &[&str]) {
    match store.search(org, search).await {
        Err(StoreError::Invalid(error)) => {
            let message = error.to_string();
            for word in words {
                assert!(message.contains(word), "`{word}` not in {message:?}");
            }
        }
        other => panic!(
            "{:?}: expected a refusal naming {words:?}, got {other:?}",
            search.aggs
        ),
    }
}

fn aggs_request(json: &Value) -> SearchRequest {
    let mut search = request(Query::MatchAll, Vec::new(), 0, 0);
    search.aggs = aggs(Surface::Native, json);
    search
}

async fn aggs_past_the_bucket_limit_are_refused_before_they_run(store: &dyn Store) {
    let corpus = load(store).await;
    // Histograms that fill empty buckets hold one per interval from the smallest value to the
    // largest, however few calls there are: far past the default 65,536 here.
    for (json, words) in [
        (
            json!({"h": {"histogram": {"field": "duration_ms", "interval": 1e-9}}}),
            vec!["histogram `h`", "`max_buckets` is 65536"],
        ),
        (
            json!({"h": {"date_histogram": {"field": "created_at", "fixed_interval": "1ms"}}}),
            vec!["histogram `h`", "`max_buckets` is 65536"],
        ),
        (
            json!({"by_agent": {"terms": {"field": "agent.id", "size": 10000},
                   "aggs": {"per_second": {"date_histogram":
                       {"field": "created_at", "fixed_interval": "1s"}}}}}),
            vec!["histogram `by_agent>per_second`", "`max_buckets` is 65536"],
        ),
    ] {
        refused(store, ORG_A, &aggs_request(&json), &words).await;
    }
    // The same seconds where calls are (`min_doc_count: 1`) are few, and answered.
    let answer = aggregate(
        store,
        ORG_A,
        &json!({}),
        &json!({"by_agent": {"terms": {"field": "agent.id", "size": 10000},
                 "aggs": {"per_second": {"date_histogram":
                     {"field": "created_at", "fixed_interval": "1s", "min_doc_count": 1}}}}}),
    )
    .await;
    let mut per_agent: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for call in of_org(&corpus, ORG_A) {
        if let Some(agent) = agent_id(call) {
            let second = call.created_at.as_millis().div_euclid(SECOND) * SECOND;
            *per_agent
                .entry(agent.to_owned())
                .or_default()
                .entry(second)
                .or_default() += 1;
        }
    }
    let mut got: BTreeMap<String, BTreeMap<i64, u64>> = BTreeMap::new();
    for bucket in answer["by_agent"]["buckets"].as_array().unwrap() {
        let seconds = bucket["per_second"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["key"].as_i64().unwrap(), b["doc_count"].as_u64().unwrap()))
            .collect();
        got.insert(bucket["key"].as_str().unwrap().to_owned(), seconds);
    }
    assert_eq!(got, per_agent);
}

// ---- highlighting -------------------------------------------------------------------------

/// The `highlight` of each returned call, by id.
async fn highlights(
    store: &dyn Store,
    query_json: &Value,
    highlight_json: &Value,
) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut search = request(query(Surface::Native, query_json), Vec::new(), 0, 100);
    search.highlight = Some(
        callscope_query::parse_highlight(Surface::Native, highlight_json)
            .unwrap_or_else(|e| panic!("{highlight_json}: {e}")),
    );
    let result = run(store, ORG_A, &search).await;
    result.highlights.into_iter().collect()
}

async fn highlight_marks_the_matched_words_of_each_field(store: &dyn Store) {
    for (id, transcript) in [
        (
            "hl-1",
            json!([
                {"role": "user", "text": "I want a refund, please. REFUND now! Refunded twice?"},
                {"role": "agent", "text": "A refund takes three days <b>maybe</b>."},
                {"role": "user", "text": "Three days is fine."}
            ]),
        ),
        (
            "hl-2",
            json!([{"role": "user", "text": "Where is my parcel?"}]),
        ),
    ] {
        write(
            store,
            call_of(
                ORG_A,
                json!({"id": id, "status": "completed", "transcript": transcript}),
            ),
            WriteMode::Create,
        )
        .await;
    }
    store.refresh().await.unwrap();
    let refund = json!({"bool": {
        "must": [{"match": {"transcript.user": "refund"}}],
        "should": [{"match_phrase": {"transcript.agent": "three days"}}],
        "must_not": [{"match": {"transcript.user": "parcel"}}]
    }});
    let got = highlights(
        store,
        &refund,
        &json!({"fields": {"transcript.user": {}, "transcript.agent": {}, "transcript.text": {}},
                "encoder": "html"}),
    )
    .await;
    let fields = &got["hl-1"];
    // Only the caller's words for the caller's field; `Refunded` is another word.
    assert_eq!(
        fields["transcript.user"],
        ["I want a <em>refund</em>, please. <em>REFUND</em> now! Refunded twice?"]
    );
    // The phrase, in a row, and only in the agent's field: the caller's "Three days" was
    // asked of the agent only. The agent's markup is escaped.
    assert_eq!(
        fields["transcript.agent"],
        ["A refund takes <em>three days</em> &lt;b&gt;maybe&lt;/b&gt;."]
    );
    // The whole transcript shares both fields: each entry with a word of either clause.
    assert_eq!(
        fields["transcript.text"],
        [
            "I want a <em>refund</em>, please. <em>REFUND</em> now! Refunded twice?",
            "A <em>refund</em> takes <em>three days</em> &lt;b&gt;maybe&lt;/b&gt;.",
            "<em>Three days</em> is fine."
        ]
    );
    // A call returned without a marked word has no highlight; must_not words are not marked.
    assert_eq!(got.len(), 1, "{got:?}");
    let parcel = highlights(
        store,
        &json!({"bool": {"must": [{"match": {"transcript.text": "parcel"}}]}}),
        &json!({"fields": {"transcript.user": {}}, "pre_tags": ["["], "post_tags": ["]"]}),
    )
    .await;
    assert_eq!(parcel["hl-2"]["transcript.user"], ["Where is my [parcel]?"]);
}

async fn highlight_fragments_cut_long_text_around_the_matches(store: &dyn Store) {
    let filler = "the quick brown fox jumps over the lazy dog ";
    let text = format!(
        "{}my kumquat order {}kumquat again",
        filler.repeat(6),
        filler.repeat(4)
    );
    write(
        store,
        call_of(
            ORG_A,
            json!({"id": "hl-long", "status": "completed",
                   "transcript": [{"role": "user", "text": text}]}),
        ),
        WriteMode::Create,
    )
    .await;
    store.refresh().await.unwrap();
    let kumquat = json!({"match": {"transcript.user": "kumquat"}});
    let got = highlights(
        store,
        &kumquat,
        &json!({"fields": {"transcript.user": {"fragment_size": 40}}}),
    )
    .await;
    let fragments = &got["hl-long"]["transcript.user"];
    assert_eq!(fragments.len(), 2, "{fragments:?}");
    for fragment in fragments {
        assert_eq!(
            fragment.matches("<em>kumquat</em>").count(),
            1,
            "{fragment}"
        );
        let plain = fragment.replace("<em>", "").replace("</em>", "");
        assert!(
            plain.len() <= 40,
            "{plain:?} is longer than the fragment size"
        );
        // Cut at word boundaries: every word of the fragment is a word of the text.
        for word in plain.split_whitespace() {
            assert!(
                text.split_whitespace().any(|w| w == word),
                "{word:?} in {plain:?}"
            );
        }
    }
    // One fragment at most, the best; and the whole value with number_of_fragments 0.
    let one = highlights(
        store,
        &kumquat,
        &json!({"fields": {"transcript.user": {"number_of_fragments": 1, "fragment_size": 40}}}),
    )
    .await;
    assert_eq!(one["hl-long"]["transcript.user"].len(), 1);
    let whole = highlights(
        store,
        &kumquat,
        &json!({"fields": {"transcript.user": {"number_of_fragments": 0}}}),
    )
    .await;
    let expected = text.replace("kumquat", "<em>kumquat</em>");
    assert_eq!(whole["hl-long"]["transcript.user"], [expected.trim()]);
}

// ---- 12. crash and catch-up (embedded) -------------------------------------------------------

fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(dir, Durability::Normal).expect("the store opens")
}

/// Asserts that search finds every call of the corpus, per organization, with a filter too.
async fn assert_all_found(store: &dyn Store, corpus: &[Call]) {
    for org in [ORG_A, ORG_B] {
        assert_eq!(
            found(store, org, Surface::Native, &json!({})).await,
            expected(corpus, org, |_| true),
            "{org}"
        );
        assert_eq!(
            found(
                store,
                org,
                Surface::Native,
                &json!({"match": {"transcript.user": "refund"}}),
            )
            .await,
            expected(corpus, org, |c| said_any(c, Some(Role::User), "refund")),
            "{org}"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_rebuilds_a_lost_index_from_the_change_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let corpus = load(&store).await;
    assert_all_found(&store, &corpus).await;
    drop(store);
    // SQLite kept everything; the index is gone.
    std::fs::remove_dir_all(dir.path().join(INDEX_DIR)).unwrap();
    let store = open(dir.path());
    store.refresh().await.unwrap();
    assert_all_found(&store, &corpus).await;
}

/// A read-only store cannot rebuild the index in `data_dir`, and says what will.
fn assert_read_only_refuses(data_dir: &Path) {
    let read_only = EmbeddedStore::open_with(
        data_dir,
        StoreOptions {
            index: IndexMode::Read,
            ..StoreOptions::default()
        },
    );
    let Err(error) = read_only else {
        panic!("a read-only store opened an index of another version")
    };
    assert!(error.to_string().contains("callscope reindex"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_rebuilds_an_index_built_by_another_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let corpus = load(&store).await;
    drop(store);
    // An index with another schema, as an older release would have left it.
    let index_dir = dir.path().join(INDEX_DIR);
    std::fs::remove_dir_all(&index_dir).unwrap();
    std::fs::create_dir_all(&index_dir).unwrap();
    let mut schema = tantivy::schema::Schema::builder();
    schema.add_text_field("text", tantivy::schema::TEXT);
    tantivy::Index::create_in_dir(&index_dir, schema.build()).unwrap();

    assert_read_only_refuses(dir.path());

    // The process that maintains the index rebuilds it from the change log.
    let store = open(dir.path());
    store.refresh().await.unwrap();
    assert_all_found(&store, &corpus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_rebuilds_an_index_of_another_format() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let corpus = load(&store).await;
    store.refresh().await.unwrap();
    drop(store);
    // The same schema, committed by a build that wrote FST term dictionaries: its commits
    // carry the bare change-log sequence.
    let meta_path = dir.path().join(INDEX_DIR).join("meta.json");
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let payload = meta["payload"].as_str().unwrap().to_owned();
    let (format, sequence) = payload.split_once(':').unwrap();
    assert!(sequence.parse::<i64>().unwrap() > 0, "{payload}");
    meta["payload"] = Value::from(sequence);
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();

    assert_read_only_refuses(dir.path());

    let store = open(dir.path());
    store.refresh().await.unwrap();
    assert_all_found(&store, &corpus).await;
    let meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    let rebuilt = meta["payload"].as_str().unwrap();
    assert!(rebuilt.starts_with(&format!("{format}:")), "{rebuilt}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_indexes_writes_acknowledged_before_a_drop() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let corpus = corpus();
    insert(&store, &corpus).await;
    drop(store);
    let store = open(dir.path());
    store.refresh().await.unwrap();
    assert_all_found(&store, &corpus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_resumes_a_stale_index_with_later_updates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let backup = tempfile::tempdir().unwrap();
    let mut corpus = corpus();
    let (early, late) = corpus.split_at(40);
    let store = open(dir.path());
    insert(&store, early).await;
    store.refresh().await.unwrap();
    drop(store);
    // The index as it was after the first writes.
    copy_dir(&dir.path().join(INDEX_DIR), backup.path());

    let store = open(dir.path());
    insert(&store, late).await;
    let (deleted, updated) = (early[0].clone(), early[1].clone());
    assert!(
        store
            .delete_call(&deleted.organization_id, &deleted.id)
            .await
            .unwrap()
    );
    let mut changed = updated.clone();
    changed.agent.id = Some("agent-after-crash".into());
    write(&store, changed.clone(), WriteMode::Upsert).await;
    store.refresh().await.unwrap();
    drop(store);

    // The index lost everything after the first writes; SQLite did not.
    std::fs::remove_dir_all(dir.path().join(INDEX_DIR)).unwrap();
    copy_dir(backup.path(), &dir.path().join(INDEX_DIR));
    let store = open(dir.path());
    store.refresh().await.unwrap();
    corpus.retain(|c| !(c.organization_id == deleted.organization_id && c.id == deleted.id));
    for call in &mut corpus {
        if call.organization_id == changed.organization_id && call.id == changed.id {
            call.agent.id = changed.agent.id.clone();
        }
    }
    assert_all_found(&store, &corpus).await;
    let moved = json!({"term": {"agent.id": "agent-after-crash"}});
    assert_eq!(
        found(&store, &changed.organization_id, Surface::Native, &moved).await,
        [changed.id.clone()]
    );
    let old_agent = updated.agent.id.clone().unwrap();
    assert!(
        !found(
            &store,
            &changed.organization_id,
            Surface::Native,
            &json!({"term": {"agent.id": old_agent}}),
        )
        .await
        .contains(&changed.id)
    );
}

/// Limits set by the operator hold: buckets that can only be counted while the search runs,
/// and memory, estimated before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_configured_limits_refuse_searches_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let open_with = |limits: Limits| {
        EmbeddedStore::open_with(
            dir.path(),
            StoreOptions {
                durability: Durability::Normal,
                limits,
                ..StoreOptions::default()
            },
        )
        .unwrap()
    };
    let store = open_with(Limits::default());
    let corpus = load(&store).await;
    drop(store);
    let agents: BTreeSet<&str> = of_org(&corpus, ORG_A)
        .into_iter()
        .filter_map(agent_id)
        .collect();
    assert!(agents.len() > 3, "{agents:?}");
    let by_agent = aggs_request(&json!({"a": {"terms": {"field": "agent.id", "size": 100}}}));

    // More agents than three buckets: known only once the terms are collected.
    let store = open_with(Limits {
        max_buckets: 3,
        ..Limits::default()
    });
    refused(
        &store,
        ORG_A,
        &by_agent,
        &[&format!("{} buckets", agents.len()), "`max_buckets` is 3"],
    )
    .await;
    drop(store);

    // No memory at all for aggregations: any bucket is too much.
    let store = open_with(Limits {
        max_search_memory_mb: 0,
        ..Limits::default()
    });
    refused(&store, ORG_A, &by_agent, &["`max_search_memory_mb` is 0"]).await;
    drop(store);

    // A MiB: a sub-aggregation under each of 3,000 ids is estimated past it before it runs;
    // the same over the few calls of one status is not, once the matches are counted.
    let store = open_with(Limits {
        max_search_memory_mb: 1,
        ..Limits::default()
    });
    let many: Vec<Call> = (0..3000)
        .map(|n| {
            call_of(
                ORG_A,
                json!({"id": format!("bulk-{n:05}"), "status": "completed", "duration_ms": n}),
            )
        })
        .collect();
    insert(&store, &many).await;
    store.refresh().await.unwrap();
    let per_id = json!({"t": {"terms": {"field": "id", "size": 10000},
                              "aggs": {"s": {"stats": {"field": "duration_ms"}}}}});
    refused(
        &store,
        ORG_A,
        &aggs_request(&per_id),
        &["estimated", "`max_search_memory_mb` is 1"],
    )
    .await;
    let busy = json!({"term": {"status": "busy"}});
    let answer = aggregate(&store, ORG_A, &busy, &per_id).await;
    let expected = of_org(&corpus, ORG_A)
        .into_iter()
        .filter(|call| call.status.as_str() == "busy")
        .count();
    assert!(expected > 0);
    assert_eq!(answer["t"]["buckets"].as_array().unwrap().len(), expected);
}
