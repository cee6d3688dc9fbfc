//! The store conformance suite: one set of behaviour tests of the `Store` trait, run against
//! every backend through `conformance_suite!` (today the embedded SQLite backend; PostgreSQL
//! joins by adding one more invocation). Expected answers come from plain-Rust filters and
//! sorts over the fixtures, never from the store itself.

// Tests panic on purpose: an unwrap that fails is a failed test with its message.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

use callscope_model::{
    Analysis, Call, CallKind, CallStatus, Event, Object, Scope, Timestamp, TranscriptEntry,
    Transfer, TransferDraft, TransferReport, TransferStatus, TransferSummary, ValidationError,
    WebhookDraft, WebhookEvent, WriteContext, call_from_json,
};
use callscope_query::{Aggregations, Limits, SearchRequest, Surface, TrackTotalHits, parse_query};
use callscope_store::{
    AttemptVerdict, CallBuilder, CallRecord, Cursor, DeliveryAttempt, Durability, EmbeddedStore,
    ExpiredCall, ListCalls, Paging, Retention, RetentionScope, SortField, SortOrder, SpanRecord,
    Store, StoreError, TraceBuilder, WriteMode, Written,
};
use serde_json::{Value, json};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

// ---- the suite -------------------------------------------------------------------------------

/// Runs every conformance test against one backend. `$factory` is an async function returning
/// `(guard, store)`; the guard (a temporary directory, a scratch database) lives as long as
/// the test does.
macro_rules! conformance_suite {
    ($backend:ident, $factory:expr) => {
        mod $backend {
            use super::*;

            backend_tests!($factory;
                create_then_get_round_trips_the_whole_call,
                create_on_an_existing_id_conflicts_and_changes_nothing,
                upsert_creates_then_replaces,
                update_of_a_missing_call_is_not_found_and_never_builds,
                the_builder_receives_the_stored_call,
                a_refused_build_stores_nothing,
                a_builder_cannot_move_the_call_elsewhere,
                get_calls_keeps_request_order_once_each,
                another_organization_sees_nothing,
                the_same_id_lives_independently_in_two_organizations,
                list_filters_match_a_plain_filter_over_the_corpus,
                list_created_bounds_include_from_and_exclude_before,
                list_sorts_every_field_both_ways_with_missing_values_last,
                list_offset_pages_walk_the_whole_list,
                list_cursor_pages_walk_the_whole_list,
                list_cursor_for_another_sort_is_invalid,
                append_transcript_continues_and_skips_known_ids,
                append_transcript_to_a_finished_call_conflicts,
                append_transcript_that_fails_midway_changes_nothing,
                append_transcript_to_a_missing_call_is_not_found,
                events_list_by_occurrence_and_skip_known_ids,
                delete_removes_the_call_with_its_transcript_and_events,
                delete_calls_removes_exactly_the_named_calls_of_one_organization,
                retention_is_kept_per_organization_and_per_agent,
                expired_calls_are_the_scope_s_calls_before_the_cutoff_oldest_first,
                compacting_the_change_log_keeps_every_live_call_searchable,
                insert_calls_stores_calls_with_events_and_replaces,
                transfer_attempts_are_summarized_on_their_call,
                trace_spans_are_kept_once_and_make_one_call_per_trace,
                keys_authenticate_until_revoked,
                keys_are_listed_per_organization_without_secrets,
                sessions_last_until_expiry_sign_out_or_revocation,
                keys_refuse_bad_input,
                concurrent_creates_of_distinct_ids_all_land,
                concurrent_updates_do_not_lose_increments,
                concurrent_writes_to_one_new_id_create_it_once,
                a_panicking_builder_fails_only_its_own_write,
                search_matches_numbers_ignoring_ascii_case,
                delivery_claims_are_leased_until_recorded_or_expired,
                concurrent_delivery_claims_never_share_a_delivery,
                a_superseded_delivery_is_never_claimed_again,
                report_claims_count_attempts_and_wait_when_put_off,
            );
        }
    };
}

conformance_suite!(embedded, common::embedded_store);

// ---- fixtures --------------------------------------------------------------------------------

const ORG_A: &str = "org_a";
const ORG_B: &str = "org_b";
/// 2024-06-01T00:00:00Z.
const BASE: i64 = 1_717_200_000_000;
const SECOND: i64 = 1_000;
const HOUR: i64 = 3_600_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms).unwrap()
}

fn iso(ms: i64) -> String {
    at(ms).to_rfc3339()
}

/// A validated call of `org` built from a write body, written at `now_ms`.
fn call_at(org: &str, now_ms: i64, body: Value) -> Call {
    let context = WriteContext {
        organization_id: org,
        path_id: None,
        now: at(now_ms),
        existing_created_at: None,
    };
    let shown = body.to_string();
    call_from_json(body, &context).unwrap_or_else(|e| panic!("fixture {shown} refused: {e}"))
}

fn call(org: &str, body: Value) -> Call {
    call_at(org, BASE, body)
}

/// A builder that ignores the stored call and stores `call`.
fn ready(call: Call) -> CallBuilder {
    Box::new(move |_| Ok(call))
}

async fn create(store: &dyn Store, call: &Call) -> Written {
    store
        .write_call(
            &call.organization_id,
            &call.id,
            WriteMode::Create,
            ready(call.clone()),
        )
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", call.id))
}

/// What the search index holds for a query: the ids it answers, sorted, checked against
/// the total it counts (a deleted call still indexed would show in the total).
async fn indexed(store: &dyn Store, org: &str, query: Value) -> Vec<String> {
    store.refresh().await.unwrap();
    let request = SearchRequest {
        query: parse_query(Surface::Native, &query, &Limits::default()).unwrap(),
        sort: Vec::new(),
        offset: 0,
        limit: 1000,
        search_after: None,
        aggs: Aggregations::new(),
        track_total_hits: TrackTotalHits::Exact,
        highlight: None,
    };
    let result = store.search(org, &request).await.unwrap();
    let mut ids = ids_of(&result.calls);
    ids.sort();
    assert_eq!(
        result.total,
        ids.len() as u64,
        "{query}: the index counts other calls"
    );
    ids
}

async fn stored(store: &dyn Store, org: &str, id: &str) -> Option<Call> {
    store.get_call(org, id).await.unwrap()
}

fn entry(body: Value) -> TranscriptEntry {
    serde_json::from_value(body).unwrap()
}

fn event(id: &str, occurred_ms: i64, event_type: &str) -> Event {
    Event {
        id: id.into(),
        provider: Some("twilio".into()),
        event_type: event_type.into(),
        status: Some("ok".into()),
        failure_cause: None,
        sip_status_code: Some(180),
        sip_status: Some("Ringing".into()),
        occurred_at: at(occurred_ms),
        payload: json!({"leg": id, "n": [1, 2]}).as_object().cloned(),
        created_at: at(BASE),
    }
}

fn ids_of(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|call| call.id.clone()).collect()
}

fn transcript_ids(entries: &[TranscriptEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.id.as_str()).collect()
}

/// The integer `metadata.counter` of a call, 0 when absent.
fn counter(call: &Call) -> i64 {
    call.metadata
        .as_ref()
        .and_then(|m| m.get("counter"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// A builder that adds one to `metadata.counter`, starting a fresh call when there is none.
fn bump(org: &str, id: &str) -> CallBuilder {
    let (org, id) = (org.to_owned(), id.to_owned());
    Box::new(move |existing| {
        let mut next = match existing {
            Some(stored) => stored,
            None => call(&org, json!({"id": id, "metadata": {"counter": 0}})),
        };
        let count = counter(&next) + 1;
        next.metadata
            .get_or_insert_with(Object::new)
            .insert("counter".into(), json!(count));
        Ok(next)
    })
}

/// A call with everything the model can hold, so a round trip proves nothing is dropped.
fn rich_call(org: &str, id: &str) -> Call {
    call(
        org,
        json!({
            "id": id,
            "agent": {"id": "agent-x", "version_id": "v3", "name": "Sarah", "voice": "alloy",
                      "language": "en-US"},
            "campaign_id": "camp-9",
            "kind": "telephony_outbound",
            "from_number": "+14155550100",
            "to_number": "+442079460000",
            "status": "completed",
            "status_code": 100,
            "disconnection_reason": "user_hangup",
            "created_at": "2024-06-01T10:00:00.123Z",
            "started_at": "2024-06-01T10:00:01Z",
            "ended_at": "2024-06-01T10:02:06.500Z",
            "room_name": "room-1",
            "language": "en",
            "pipeline_config": {"llm": {"model": "gpt-4o", "temperature": 0.5}},
            "metadata": {"crm_id": 42, "nested": {"list": [1, "two", null, true]}},
            "span_tree": {"name": "call", "children": [{"name": "llm", "ms": 812}]},
            "transcript": [
                {"id": "t-b", "index": 1, "role": "user", "text": "I'd like to book.",
                 "start_ms": 1200, "end_ms": 1900},
                {"id": "t-a", "index": 0, "role": "agent", "text": "Hello, this is Sarah.",
                 "start_ms": 0, "end_ms": 1100, "provider": "openai", "model": "gpt-4o",
                 "metadata": {"k": "v"}},
                {"role": "agent", "text": "For when? ünïcode ✓"}
            ],
            "flow": {
                "path": [
                    {"type": "start", "node_id": "n1", "request_id": "r1",
                     "tags": [{"tag": "greet", "category": "intent"}], "execution_time": 12,
                     "synchronized": true},
                    {"type": "webhook", "node_id": "n2", "request_id": "r2",
                     "request": {"verb": "POST", "url": "https://crm"},
                     "response": {"code": 200, "payload": {"ok": true}},
                     "context": {"output": "ok"}}
                ],
                "collected_tags": [{"tag": "booked", "category": "outcome"}],
                "collected_parameters": [{"name": "first_name", "type": "sys.names",
                                          "value": "Ada", "completed": true}],
                "injected_parameters": [{"name": "tier", "value": 3}]
            },
            "recording": {"status": "available", "duration_ms": 125000,
                          "mono": "https://rec/m.wav", "dual": "https://rec/d.wav",
                          "public": false},
            "metrics": {
                "agent_latency_ms": {"avg": 812.5, "p50": 800.0, "p90": 1200.0, "p95": 1400.0,
                                     "p99": 1900.0, "samples": 14},
                "end_to_end_latency_ms": {"avg": 1500.25}
            },
            "cost": {"credits": 2.5, "breakdown": [
                {"component": "llm", "provider": "openai", "model": "gpt-4o", "units": 1234.0,
                 "unit": "tokens", "micro_usd": "1200"},
                {"component": "telephony", "micro_usd": 34}
            ]},
            "analysis": {"status": "completed", "summary": "Booked.", "outcome": "booked",
                         "sentiment": "positive", "structured_data": {"date": "2024-06-02"},
                         "webhook_status": "delivered"}
        }),
    )
}

// ---- the list corpus and its independent oracle ----------------------------------------------

/// 60 calls over two organizations with repeating (so tying) values and gaps in every nullable
/// field. Ids are a permutation of `c00..c59` unrelated to insertion or time order.
fn corpus() -> Vec<Call> {
    (0..60i64)
        .map(|i| {
            let org = if i % 5 == 4 { ORG_B } else { ORG_A };
            let created = BASE + ((i * 7) % 20) * HOUR;
            let mut body = json!({
                "id": format!("c{:02}", (i * 37) % 60),
                "created_at": iso(created),
                "status": CallStatus::ALL[usize::try_from((i * 5) % 6).unwrap()].as_str(),
            });
            let fields = body.as_object_mut().unwrap();
            let agent = ["agent-x", "agent-y", "agent-z"].get(usize::try_from(i % 4).unwrap());
            if let Some(agent) = agent {
                fields.insert("agent_id".into(), json!(agent));
            }
            if let Some(campaign) = ["camp-1", "camp-2"].get(usize::try_from(i % 3).unwrap()) {
                fields.insert("campaign_id".into(), json!(campaign));
            }
            if let Some(kind) = CallKind::ALL.get(usize::try_from((i / 2) % 5).unwrap()) {
                fields.insert("kind".into(), json!(kind.as_str()));
            }
            if i % 11 != 10 {
                let from = if i % 2 == 0 {
                    format!("+1415555{:04}", i * 17)
                } else {
                    format!("+4420794{:04}", i * 31)
                };
                fields.insert("from_number".into(), json!(from));
            }
            let to = match i {
                _ if i % 10 == 3 => Some("sip:bot_7@pbx".to_owned()),
                _ if i % 10 == 8 => Some("sip:botx7@pbx".to_owned()),
                _ if i % 7 == 0 => None,
                _ => Some(format!("+1800{:06}", i * 101)),
            };
            if let Some(to) = to {
                fields.insert("to_number".into(), json!(to));
            }
            if i % 6 != 5 {
                let started = created + (i % 3) * 10 * SECOND;
                fields.insert("started_at".into(), json!(iso(started)));
                if i % 4 != 1 {
                    let ended = started + ((i * 13) % 9 + 1) * 10 * SECOND;
                    fields.insert("ended_at".into(), json!(iso(ended)));
                }
            } else if i % 12 == 5 {
                fields.insert("duration_ms".into(), json!(42_000));
            }
            // `updated_at` comes from the write's clock; 30 values, so pairs tie.
            call_at(org, BASE + 30 * 24 * HOUR + ((i * 11) % 30) * SECOND, body)
        })
        .collect()
}

async fn store_corpus(store: &dyn Store) -> Vec<Call> {
    let corpus = corpus();
    for call in &corpus {
        let written = create(store, call).await;
        assert_eq!(&written.call, call);
    }
    corpus
}

fn everything() -> ListCalls {
    ListCalls {
        paging: Paging::Offset {
            offset: 0,
            limit: 1000,
        },
        ..ListCalls::default()
    }
}

fn sort_value(call: &Call, field: SortField) -> Option<i64> {
    match field {
        SortField::CreatedAt => Some(call.created_at.as_millis()),
        SortField::UpdatedAt => Some(call.updated_at.as_millis()),
        SortField::StartedAt => call.started_at.map(|t| t.as_millis()),
        SortField::EndedAt => call.ended_at.map(|t| t.as_millis()),
        SortField::DurationMs => call.duration_ms.map(|ms| i64::try_from(ms).unwrap()),
    }
}

fn is_match(call: &Call, org: &str, query: &ListCalls) -> bool {
    let number_contains = |number: &Option<String>, text: &str| {
        number
            .as_deref()
            .is_some_and(|number| number.contains(text))
    };
    call.organization_id == org
        && query
            .agent_id
            .as_ref()
            .is_none_or(|agent| call.agent.id.as_ref() == Some(agent))
        && query
            .campaign_id
            .as_ref()
            .is_none_or(|c| call.campaign_id.as_ref() == Some(c))
        && (query.statuses.is_empty() || query.statuses.contains(&call.status))
        && (query.kinds.is_empty() || call.kind.is_some_and(|kind| query.kinds.contains(&kind)))
        && query.search.as_deref().is_none_or(|text| {
            call.id == text
                || number_contains(&call.from_number, text)
                || number_contains(&call.to_number, text)
        })
        && query
            .created_from
            .is_none_or(|from| call.created_at >= from)
        && query
            .created_before
            .is_none_or(|before| call.created_at < before)
}

/// What `list_calls` must return for `query` (ignoring paging): a plain filter and sort.
fn expected(corpus: &[Call], org: &str, query: &ListCalls) -> Vec<Call> {
    let mut matches: Vec<Call> = corpus
        .iter()
        .filter(|call| is_match(call, org, query))
        .cloned()
        .collect();
    let directed = |ordering: Ordering| match query.order {
        SortOrder::Asc => ordering,
        SortOrder::Desc => ordering.reverse(),
    };
    matches.sort_by(|a, b| {
        match (sort_value(a, query.sort), sort_value(b, query.sort)) {
            (Some(x), Some(y)) => directed(x.cmp(&y).then_with(|| a.id.cmp(&b.id))),
            (None, None) => directed(a.id.cmp(&b.id)),
            // Missing values come last in either direction.
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
        }
    });
    matches
}

const SORTS: [SortField; 5] = [
    SortField::CreatedAt,
    SortField::UpdatedAt,
    SortField::StartedAt,
    SortField::EndedAt,
    SortField::DurationMs,
];
const ORDERS: [SortOrder; 2] = [SortOrder::Asc, SortOrder::Desc];

fn sorted(sort: SortField, order: SortOrder) -> ListCalls {
    ListCalls {
        sort,
        order,
        ..everything()
    }
}

/// Follows `next_cursor` from the first page to the end; returns the ids in page order.
async fn walk_with_cursor(
    store: &dyn Store,
    org: &str,
    query: &ListCalls,
    limit: u32,
    expected_total: usize,
) -> Vec<String> {
    let mut query = ListCalls {
        paging: Paging::Offset { offset: 0, limit },
        ..query.clone()
    };
    let mut ids = Vec::new();
    loop {
        let page = store.list_calls(org, &query).await.unwrap();
        let label = format!(
            "{:?} {:?} after {} calls",
            query.sort,
            query.order,
            ids.len()
        );
        assert_eq!(
            page.total, expected_total as u64,
            "total on every page: {label}"
        );
        assert!(page.calls.len() <= limit as usize, "{label}");
        ids.extend(ids_of(&page.calls));
        assert!(
            ids.len() <= expected_total,
            "more calls than match: {label}"
        );
        let Some(cursor) = page.next_cursor else {
            break;
        };
        assert_eq!(
            page.calls.len(),
            limit as usize,
            "a short page with a next cursor: {label}"
        );
        // Clients get the cursor as text and send it back; go through that form.
        let cursor = Cursor::decode(&cursor.encode()).unwrap();
        query.paging = Paging::After { cursor, limit };
    }
    ids
}

// ---- 1. writes -------------------------------------------------------------------------------

async fn create_then_get_round_trips_the_whole_call(store: &dyn Store) {
    let original = rich_call(ORG_A, "rich-1");
    // The fixture itself: transcript sorted by index, the unnamed entry got id and index 2.
    assert_eq!(&transcript_ids(&original.transcript)[..2], ["t-a", "t-b"]);
    assert_eq!(original.transcript[2].index, Some(2));
    assert_eq!(
        original
            .cost
            .as_ref()
            .and_then(|c| c.total_micro_usd)
            .map(|m| m.0),
        Some(1234)
    );

    let written = create(store, &original).await;
    assert!(written.created);
    assert_eq!(written.call, original);
    assert_eq!(stored(store, ORG_A, "rich-1").await, Some(original.clone()));
    let listed = store.list_calls(ORG_A, &everything()).await.unwrap();
    assert_eq!(
        listed.calls,
        vec![original],
        "a listed call is the whole call too"
    );
}

async fn create_on_an_existing_id_conflicts_and_changes_nothing(store: &dyn Store) {
    let original = rich_call(ORG_A, "dup");
    create(store, &original).await;
    let intruder = call(
        ORG_A,
        json!({"id": "dup", "status": "failed", "agent_id": "other"}),
    );
    let result = store
        .write_call(ORG_A, "dup", WriteMode::Create, ready(intruder))
        .await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(stored(store, ORG_A, "dup").await, Some(original));
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 1);
}

async fn upsert_creates_then_replaces(store: &dyn Store) {
    let first = rich_call(ORG_A, "up");
    let written = store
        .write_call(ORG_A, "up", WriteMode::Upsert, ready(first.clone()))
        .await;
    let written = written.unwrap();
    assert!(written.created);
    assert_eq!(written.call, first);

    let second = call_at(
        ORG_A,
        BASE + HOUR,
        json!({"id": "up", "status": "failed", "agent_id": "agent-y", "duration_ms": 7,
               "transcript": [{"id": "only", "role": "user", "text": "replaced"}]}),
    );
    let written = store
        .write_call(ORG_A, "up", WriteMode::Upsert, ready(second.clone()))
        .await;
    let written = written.unwrap();
    assert!(!written.created);
    assert_eq!(written.call, second);
    let now = stored(store, ORG_A, "up").await.unwrap();
    assert_eq!(
        now, second,
        "every field replaced, none kept from the first version"
    );
    assert_eq!(transcript_ids(&now.transcript), ["only"]);
    assert_eq!(now.campaign_id, None);
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 1);
}

async fn update_of_a_missing_call_is_not_found_and_never_builds(store: &dyn Store) {
    let built = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&built);
    let builder: CallBuilder = Box::new(move |_| {
        flag.store(true, AtomicOrdering::SeqCst);
        Ok(call(ORG_A, json!({"id": "ghost"})))
    });
    let result = store
        .write_call(ORG_A, "ghost", WriteMode::Update, builder)
        .await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    assert!(
        !built.load(AtomicOrdering::SeqCst),
        "the builder ran for a missing call"
    );
    assert_eq!(stored(store, ORG_A, "ghost").await, None);
}

async fn the_builder_receives_the_stored_call(store: &dyn Store) {
    // Upsert of a missing id: the builder sees nothing and starts the counter.
    let first = store
        .write_call(ORG_A, "count", WriteMode::Upsert, bump(ORG_A, "count"))
        .await;
    let first = first.unwrap();
    assert!(first.created);
    assert_eq!(counter(&first.call), 1);
    // Update: the builder sees the stored call, including its transcript.
    let second = store
        .write_call(ORG_A, "count", WriteMode::Update, bump(ORG_A, "count"))
        .await;
    assert_eq!(counter(&second.unwrap().call), 2);
    let third = store
        .write_call(ORG_A, "count", WriteMode::Upsert, bump(ORG_A, "count"))
        .await;
    let third = third.unwrap();
    assert!(!third.created);
    assert_eq!(counter(&third.call), 3);
    assert_eq!(
        stored(store, ORG_A, "count").await.map(|c| counter(&c)),
        Some(3)
    );

    // The builder is handed the stored call whole, transcript included.
    let with_transcript = rich_call(ORG_A, "seen");
    create(store, &with_transcript).await;
    let handed = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&handed);
    let record: CallBuilder = Box::new(move |existing| {
        let rebuilt = existing
            .clone()
            .ok_or_else(|| ValidationError::new("id", "not handed"));
        *slot.lock().unwrap() = existing;
        rebuilt
    });
    store
        .write_call(ORG_A, "seen", WriteMode::Update, record)
        .await
        .unwrap();
    assert_eq!(handed.lock().unwrap().take(), Some(with_transcript));
}

async fn a_refused_build_stores_nothing(store: &dyn Store) {
    let original = rich_call(ORG_A, "keep");
    create(store, &original).await;
    let refuse: CallBuilder = Box::new(|_| Err(ValidationError::new("status", "no")));
    let result = store
        .write_call(ORG_A, "keep", WriteMode::Update, refuse)
        .await;
    assert!(
        matches!(result, Err(StoreError::Invalid(ref e)) if e.field == "status"),
        "{result:?}"
    );
    assert_eq!(stored(store, ORG_A, "keep").await, Some(original));

    let refuse: CallBuilder = Box::new(|_| Err(ValidationError::new("status", "no")));
    let result = store
        .write_call(ORG_A, "new", WriteMode::Upsert, refuse)
        .await;
    assert!(matches!(result, Err(StoreError::Invalid(_))), "{result:?}");
    assert_eq!(stored(store, ORG_A, "new").await, None);
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 1);
}

async fn a_builder_cannot_move_the_call_elsewhere(store: &dyn Store) {
    // The org and id of the write are the call's identity; a builder returning another
    // identity must not write into another organization or under another id.
    let elsewhere = [
        call(ORG_B, json!({"id": "mine"})),
        call(ORG_A, json!({"id": "other"})),
    ];
    for moved in elsewhere {
        let (org, id) = (moved.organization_id.clone(), moved.id.clone());
        let result = store
            .write_call(ORG_A, "mine", WriteMode::Upsert, ready(moved))
            .await;
        assert!(result.is_err(), "{org}/{id}: {result:?}");
        assert_eq!(stored(store, &org, &id).await, None, "{org}/{id}");
    }
    assert_eq!(stored(store, ORG_A, "mine").await, None);
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 0);
    assert_eq!(store.count_calls(ORG_B).await.unwrap(), 0);
}

async fn get_calls_keeps_request_order_once_each(store: &dyn Store) {
    for id in ["g1", "g2", "g3"] {
        create(store, &call(ORG_A, json!({"id": id}))).await;
    }
    let ask: Vec<String> = ["g3", "missing", "g1", "g3", "g2"]
        .iter()
        .map(|id| (*id).to_owned())
        .collect();
    let got = store.get_calls(ORG_A, &ask).await.unwrap();
    assert_eq!(ids_of(&got), ["g3", "g1", "g2"]);
    assert_eq!(got[0], stored(store, ORG_A, "g3").await.unwrap());
}

// ---- 2. tenancy ------------------------------------------------------------------------------

async fn another_organization_sees_nothing(store: &dyn Store) {
    let mine = rich_call(ORG_A, "private");
    create(store, &mine).await;
    store
        .add_events(ORG_A, "private", vec![event("e1", BASE, "sip.ringing")])
        .await
        .unwrap();
    let id = "private".to_owned();

    assert_eq!(stored(store, ORG_B, &id).await, None);
    assert!(
        store
            .get_calls(ORG_B, std::slice::from_ref(&id))
            .await
            .unwrap()
            .is_empty()
    );
    let page = store.list_calls(ORG_B, &everything()).await.unwrap();
    assert!(page.calls.is_empty());
    assert_eq!(page.total, 0);
    let search = ListCalls {
        search: Some(id.clone()),
        ..everything()
    };
    assert_eq!(store.list_calls(ORG_B, &search).await.unwrap().total, 0);
    assert_eq!(store.count_calls(ORG_B).await.unwrap(), 0);
    assert!(!store.delete_call(ORG_B, &id).await.unwrap());

    let append = store.append_transcript(
        ORG_B,
        &id,
        vec![entry(json!({"role": "user", "text": "x"}))],
    );
    let append = append.await;
    assert!(matches!(append, Err(StoreError::NotFound(_))), "{append:?}");
    let events = store
        .add_events(ORG_B, &id, vec![event("e2", BASE, "x")])
        .await;
    assert!(matches!(events, Err(StoreError::NotFound(_))), "{events:?}");
    assert_eq!(store.list_events(ORG_B, &id).await.unwrap(), None);
    let update = store
        .write_call(ORG_B, &id, WriteMode::Update, bump(ORG_B, &id))
        .await;
    assert!(matches!(update, Err(StoreError::NotFound(_))), "{update:?}");

    // A's call survived all of it untouched.
    assert_eq!(stored(store, ORG_A, &id).await, Some(mine));
    assert_eq!(
        store.list_events(ORG_A, &id).await.unwrap(),
        Some(vec![event("e1", BASE, "sip.ringing")])
    );
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 1);
}

async fn the_same_id_lives_independently_in_two_organizations(store: &dyn Store) {
    let a = call(
        ORG_A,
        json!({"id": "same", "agent_id": "agent-a", "status": "completed"}),
    );
    let b = call(
        ORG_B,
        json!({"id": "same", "agent_id": "agent-b",
                               "transcript": [{"id": "tb", "role": "user", "text": "b"}]}),
    );
    create(store, &a).await;
    let written = create(store, &b).await;
    assert!(
        written.created,
        "the id is taken only in the other organization"
    );
    store
        .add_events(ORG_B, "same", vec![event("eb", BASE, "b")])
        .await
        .unwrap();

    assert_eq!(stored(store, ORG_A, "same").await, Some(a.clone()));
    assert_eq!(stored(store, ORG_B, "same").await, Some(b));
    assert_eq!(
        store.list_events(ORG_A, "same").await.unwrap(),
        Some(vec![])
    );

    assert!(store.delete_call(ORG_B, "same").await.unwrap());
    assert_eq!(stored(store, ORG_B, "same").await, None);
    assert_eq!(stored(store, ORG_A, "same").await, Some(a));
}

// ---- 3. lists --------------------------------------------------------------------------------

async fn list_filters_match_a_plain_filter_over_the_corpus(store: &dyn Store) {
    let corpus = store_corpus(store).await;
    let id_in_a = corpus
        .iter()
        .find(|c| c.organization_id == ORG_A)
        .unwrap()
        .id
        .clone();
    let with = |f: fn(&mut ListCalls)| {
        let mut query = everything();
        f(&mut query);
        query
    };
    // (label, query, whether an empty answer is the point)
    let cases: Vec<(&str, ListCalls, bool)> = vec![
        ("no filter", everything(), false),
        (
            "agent",
            with(|q| q.agent_id = Some("agent-x".into())),
            false,
        ),
        (
            "campaign",
            with(|q| q.campaign_id = Some("camp-2".into())),
            false,
        ),
        (
            "one status",
            with(|q| q.statuses = vec![CallStatus::Completed]),
            false,
        ),
        (
            "two statuses",
            with(|q| q.statuses = vec![CallStatus::Failed, CallStatus::NoAnswer]),
            false,
        ),
        ("one kind", with(|q| q.kinds = vec![CallKind::Chat]), false),
        (
            "two kinds",
            with(|q| q.kinds = vec![CallKind::TelephonyInbound, CallKind::Web]),
            false,
        ),
        (
            "search: exact id",
            ListCalls {
                search: Some(id_in_a.clone()),
                ..everything()
            },
            false,
        ),
        (
            "search: part of an id",
            with(|q| q.search = Some("c3".into())),
            true,
        ),
        (
            "search: from number",
            with(|q| q.search = Some("+4420".into())),
            false,
        ),
        (
            "search: to number",
            with(|q| q.search = Some("+1800".into())),
            false,
        ),
        (
            "search: _ is literal",
            with(|q| q.search = Some("bot_7".into())),
            false,
        ),
        (
            "search: % is literal",
            with(|q| q.search = Some("%".into())),
            true,
        ),
        (
            "agent and status",
            with(|q| {
                q.agent_id = Some("agent-x".into());
                q.statuses = vec![CallStatus::InProgress];
            }),
            false,
        ),
        (
            "agent, campaign and kinds",
            with(|q| {
                q.agent_id = Some("agent-y".into());
                q.campaign_id = Some("camp-1".into());
                q.kinds = vec![CallKind::TelephonyOutbound, CallKind::Chat, CallKind::Web];
            }),
            false,
        ),
        (
            "statuses, time range and search",
            with(|q| {
                q.statuses = vec![
                    CallStatus::InProgress,
                    CallStatus::Completed,
                    CallStatus::Busy,
                ];
                q.created_from = Some(at(BASE + 3 * HOUR));
                q.created_before = Some(at(BASE + 15 * HOUR));
                q.search = Some("+1".into());
            }),
            false,
        ),
    ];
    let all_in_a = corpus.iter().filter(|c| c.organization_id == ORG_A).count();
    assert_eq!(all_in_a, 48, "fixture");
    for (label, query, empty_is_the_point) in cases {
        for org in [ORG_A, ORG_B] {
            let want = expected(&corpus, org, &query);
            if org == ORG_A && label != "no filter" {
                assert_eq!(
                    want.is_empty(),
                    empty_is_the_point,
                    "fixture for {label}: {want:?}"
                );
                assert!(want.len() < all_in_a, "fixture for {label} narrows nothing");
            }
            let page = store.list_calls(org, &query).await.unwrap();
            assert_eq!(ids_of(&page.calls), ids_of(&want), "{label} in {org}");
            assert_eq!(page.calls, want, "{label} in {org}: whole calls");
            assert_eq!(page.total, want.len() as u64, "{label} in {org}: total");
            assert_eq!(
                page.next_cursor, None,
                "{label} in {org}: one page holds all"
            );
        }
    }
}

async fn list_created_bounds_include_from_and_exclude_before(store: &dyn Store) {
    let corpus = store_corpus(store).await;
    let boundary = at(BASE + 10 * HOUR);
    let on_boundary: HashSet<String> = corpus
        .iter()
        .filter(|c| c.organization_id == ORG_A && c.created_at == boundary)
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(
        on_boundary.len(),
        3,
        "fixture: three calls created exactly at the boundary"
    );

    let from = ListCalls {
        created_from: Some(boundary),
        ..everything()
    };
    let before = ListCalls {
        created_before: Some(boundary),
        ..everything()
    };
    let window = ListCalls {
        created_from: Some(boundary),
        created_before: Some(boundary.plus_millis(3 * HOUR)),
        ..everything()
    };
    let same_instant = ListCalls {
        created_from: Some(boundary),
        created_before: Some(boundary),
        ..everything()
    };
    for (label, query) in [
        ("from", from),
        ("before", before),
        ("window", window),
        ("empty window", same_instant),
    ] {
        let page = store.list_calls(ORG_A, &query).await.unwrap();
        let got: Vec<String> = ids_of(&page.calls);
        assert_eq!(got, ids_of(&expected(&corpus, ORG_A, &query)), "{label}");
        assert_eq!(page.total, got.len() as u64, "{label}");
        let boundary_included = got.iter().filter(|id| on_boundary.contains(*id)).count();
        let want_included = match label {
            "from" | "window" => 3,
            _ => 0,
        };
        assert_eq!(boundary_included, want_included, "{label}: boundary calls");
    }
}

async fn list_sorts_every_field_both_ways_with_missing_values_last(store: &dyn Store) {
    let corpus = store_corpus(store).await;
    let in_a: Vec<&Call> = corpus
        .iter()
        .filter(|c| c.organization_id == ORG_A)
        .collect();
    for sort in [
        SortField::StartedAt,
        SortField::EndedAt,
        SortField::DurationMs,
    ] {
        let missing = in_a
            .iter()
            .filter(|c| sort_value(c, sort).is_none())
            .count();
        assert!(
            missing > 0 && missing < in_a.len(),
            "fixture: {sort:?} missing in some calls"
        );
    }
    for sort in SORTS {
        for order in ORDERS {
            let query = sorted(sort, order);
            let want = ids_of(&expected(&corpus, ORG_A, &query));
            let page = store.list_calls(ORG_A, &query).await.unwrap();
            assert_eq!(ids_of(&page.calls), want, "sort {sort:?} {order:?}");
            assert_eq!(page.total, 48);
        }
    }
    // The default is newest first.
    let page = store.list_calls(ORG_A, &everything()).await.unwrap();
    assert_eq!(
        ids_of(&page.calls),
        ids_of(&expected(
            &corpus,
            ORG_A,
            &sorted(SortField::CreatedAt, SortOrder::Desc)
        ))
    );
}

async fn list_offset_pages_walk_the_whole_list(store: &dyn Store) {
    let corpus = store_corpus(store).await;
    for sort in SORTS {
        for order in ORDERS {
            let want = ids_of(&expected(&corpus, ORG_A, &sorted(sort, order)));
            let mut got = Vec::new();
            let mut offset = 0u64;
            loop {
                let paging = Paging::Offset { offset, limit: 7 };
                let query = ListCalls {
                    paging,
                    ..sorted(sort, order)
                };
                let page = store.list_calls(ORG_A, &query).await.unwrap();
                assert_eq!(page.total, want.len() as u64);
                let last = offset as usize + page.calls.len() >= want.len();
                assert_eq!(
                    page.next_cursor.is_none(),
                    last,
                    "{sort:?} {order:?} at {offset}"
                );
                got.extend(ids_of(&page.calls));
                if last {
                    break;
                }
                offset += 7;
            }
            assert_eq!(got, want, "offset pages of {sort:?} {order:?}");
        }
    }
    // A page that ends exactly at the last call has no next page; one call earlier it has.
    let query = ListCalls {
        paging: Paging::Offset {
            offset: 0,
            limit: 48,
        },
        ..everything()
    };
    assert_eq!(
        store.list_calls(ORG_A, &query).await.unwrap().next_cursor,
        None
    );
    let query = ListCalls {
        paging: Paging::Offset {
            offset: 0,
            limit: 47,
        },
        ..everything()
    };
    assert!(
        store
            .list_calls(ORG_A, &query)
            .await
            .unwrap()
            .next_cursor
            .is_some()
    );
    let query = ListCalls {
        paging: Paging::Offset {
            offset: 100,
            limit: 7,
        },
        ..everything()
    };
    let beyond = store.list_calls(ORG_A, &query).await.unwrap();
    assert!(beyond.calls.is_empty() && beyond.next_cursor.is_none() && beyond.total == 48);
}

async fn list_cursor_pages_walk_the_whole_list(store: &dyn Store) {
    let corpus = store_corpus(store).await;
    let filtered = ListCalls {
        statuses: vec![
            CallStatus::InProgress,
            CallStatus::Completed,
            CallStatus::Failed,
        ],
        ..everything()
    };
    for sort in SORTS {
        for order in ORDERS {
            for (label, base, limit) in
                [("all", everything(), 7), ("filtered", filtered.clone(), 3)]
            {
                let query = ListCalls {
                    sort,
                    order,
                    ..base
                };
                let want = ids_of(&expected(&corpus, ORG_A, &query));
                let got = walk_with_cursor(store, ORG_A, &query, limit, want.len()).await;
                assert_eq!(got, want, "cursor pages of {label} by {sort:?} {order:?}");
            }
        }
    }
    // Page size 1 steps over every tie and every missing value one at a time.
    for sort in [SortField::DurationMs, SortField::UpdatedAt] {
        let query = sorted(sort, SortOrder::Asc);
        let want = ids_of(&expected(&corpus, ORG_A, &query));
        assert_eq!(
            walk_with_cursor(store, ORG_A, &query, 1, want.len()).await,
            want
        );
    }
}

async fn list_cursor_for_another_sort_is_invalid(store: &dyn Store) {
    store_corpus(store).await;
    let first = ListCalls {
        paging: Paging::Offset {
            offset: 0,
            limit: 5,
        },
        ..sorted(SortField::StartedAt, SortOrder::Desc)
    };
    let cursor = store
        .list_calls(ORG_A, &first)
        .await
        .unwrap()
        .next_cursor
        .unwrap();
    for (sort, order) in [
        (SortField::CreatedAt, SortOrder::Desc),
        (SortField::StartedAt, SortOrder::Asc),
        (SortField::DurationMs, SortOrder::Desc),
    ] {
        let query = ListCalls {
            paging: Paging::After {
                cursor: cursor.clone(),
                limit: 5,
            },
            ..sorted(sort, order)
        };
        let result = store.list_calls(ORG_A, &query).await;
        assert!(
            matches!(result, Err(StoreError::Invalid(_))),
            "{sort:?} {order:?}: {result:?}"
        );
    }
}

// ---- 4. transcript appends -------------------------------------------------------------------

async fn append_transcript_continues_and_skips_known_ids(store: &dyn Store) {
    let live = call(
        ORG_A,
        json!({"id": "live", "status": "in_progress", "transcript": [
            {"id": "t0", "role": "agent", "text": "hello"},
            {"id": "t1", "role": "user", "text": "hi"}
        ]}),
    );
    create(store, &live).await;
    let t2 = entry(json!({"id": "t2", "role": "agent", "text": "how can I help"}));
    let t3 = entry(json!({"id": "t3", "role": "user", "text": "a refund", "start_ms": 5000}));
    let after = store
        .append_transcript(ORG_A, "live", vec![t2.clone(), t3.clone()])
        .await;
    let after = after.unwrap().transcript;
    assert_eq!(transcript_ids(&after), ["t0", "t1", "t2", "t3"]);
    let indexes: Vec<Option<u32>> = after.iter().map(|e| e.index).collect();
    assert_eq!(indexes, [Some(0), Some(1), Some(2), Some(3)]);
    assert_eq!(after[3].text, "a refund");
    assert_eq!(after[3].start_ms, Some(5000));

    // A retry of the same batch with one more entry: the known ids are skipped.
    let t4 = entry(json!({"id": "t4", "role": "agent", "text": "sure"}));
    let retried = store
        .append_transcript(ORG_A, "live", vec![t2, t3, t4])
        .await
        .unwrap()
        .transcript;
    assert_eq!(transcript_ids(&retried), ["t0", "t1", "t2", "t3", "t4"]);
    assert_eq!(retried[4].index, Some(4));

    // An entry without id gets one.
    let anonymous = entry(json!({"role": "user", "text": "thanks"}));
    let last = store
        .append_transcript(ORG_A, "live", vec![anonymous])
        .await
        .unwrap()
        .transcript;
    assert_eq!(last.len(), 6);
    assert!(!last[5].id.is_empty() && last[5].index == Some(5));

    let now = stored(store, ORG_A, "live").await.unwrap();
    assert_eq!(
        now.transcript, last,
        "get_call shows the appended transcript"
    );
    assert_eq!(now.status, CallStatus::InProgress);
}

async fn append_transcript_to_a_finished_call_conflicts(store: &dyn Store) {
    let done = call(
        ORG_A,
        json!({"id": "done", "status": "completed", "transcript": [
            {"id": "t0", "role": "agent", "text": "bye"}
        ]}),
    );
    create(store, &done).await;
    let late = entry(json!({"id": "t1", "role": "user", "text": "wait"}));
    let result = store.append_transcript(ORG_A, "done", vec![late]).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(stored(store, ORG_A, "done").await, Some(done));
}

async fn append_transcript_that_fails_midway_changes_nothing(store: &dyn Store) {
    let live = call(
        ORG_A,
        json!({"id": "live", "transcript": [{"id": "t0", "role": "agent", "text": "hello"}]}),
    );
    create(store, &live).await;
    // The second entry claims an index that is taken: the whole append is refused.
    let fine = entry(json!({"id": "t1", "role": "user", "text": "hi"}));
    let clash = entry(json!({"id": "t2", "index": 0, "role": "user", "text": "clash"}));
    let result = store
        .append_transcript(ORG_A, "live", vec![fine, clash])
        .await;
    assert!(
        matches!(
            result,
            Err(StoreError::Conflict(_) | StoreError::Invalid(_))
        ),
        "{result:?}"
    );
    let now = stored(store, ORG_A, "live").await.unwrap();
    assert_eq!(
        transcript_ids(&now.transcript),
        ["t0"],
        "nothing of the refused append stays"
    );
}

async fn append_transcript_to_a_missing_call_is_not_found(store: &dyn Store) {
    let result = store
        .append_transcript(
            ORG_A,
            "nope",
            vec![entry(json!({"role": "user", "text": "x"}))],
        )
        .await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    assert_eq!(stored(store, ORG_A, "nope").await, None);
}

// ---- 5. events -------------------------------------------------------------------------------

async fn events_list_by_occurrence_and_skip_known_ids(store: &dyn Store) {
    create(store, &call(ORG_A, json!({"id": "ev"}))).await;
    assert_eq!(store.list_events(ORG_A, "ev").await.unwrap(), Some(vec![]));
    let (late, early, middle) = (
        event("late", BASE + 30 * SECOND, "sip.bye"),
        event("early", BASE + 10 * SECOND, "sip.invite"),
        event("middle", BASE + 20 * SECOND, "sip.ringing"),
    );
    store
        .add_events(ORG_A, "ev", vec![late.clone(), early.clone()])
        .await
        .unwrap();
    store
        .add_events(ORG_A, "ev", vec![middle.clone()])
        .await
        .unwrap();
    let listed = store.list_events(ORG_A, "ev").await.unwrap();
    assert_eq!(
        listed,
        Some(vec![early.clone(), middle.clone(), late.clone()])
    );

    // A resent event with a known id is skipped, whatever it now says.
    let resent = event("middle", BASE, "changed");
    let first = event("first", BASE + SECOND, "sip.trying");
    store
        .add_events(ORG_A, "ev", vec![resent, first.clone()])
        .await
        .unwrap();
    let listed = store.list_events(ORG_A, "ev").await.unwrap();
    assert_eq!(listed, Some(vec![first, early, middle, late]));

    let missing = store
        .add_events(ORG_A, "nope", vec![event("x", BASE, "x")])
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(store.list_events(ORG_A, "nope").await.unwrap(), None);
}

// ---- 6. deletes ------------------------------------------------------------------------------

async fn delete_removes_the_call_with_its_transcript_and_events(store: &dyn Store) {
    let other = call(ORG_A, json!({"id": "other"}));
    create(store, &other).await;
    // Created last, so a backend that reuses row ids would hand its id to the re-created call.
    let doomed = call(
        ORG_A,
        json!({"id": "doomed", "transcript": [{"id": "t0", "role": "user", "text": "hi"}]}),
    );
    create(store, &doomed).await;
    store
        .add_events(ORG_A, "doomed", vec![event("e0", BASE, "sip.invite")])
        .await
        .unwrap();
    let t1 = entry(json!({"id": "t1", "role": "agent", "text": "hello"}));
    store
        .append_transcript(ORG_A, "doomed", vec![t1])
        .await
        .unwrap();

    assert!(store.delete_call(ORG_A, "doomed").await.unwrap());
    assert_eq!(stored(store, ORG_A, "doomed").await, None);
    assert_eq!(store.list_events(ORG_A, "doomed").await.unwrap(), None);
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 1);
    assert_eq!(
        ids_of(&store.list_calls(ORG_A, &everything()).await.unwrap().calls),
        ["other"]
    );
    assert!(
        !store.delete_call(ORG_A, "doomed").await.unwrap(),
        "a second delete finds nothing"
    );

    let again = call(ORG_A, json!({"id": "doomed"}));
    let written = create(store, &again).await;
    assert!(written.created);
    let now = stored(store, ORG_A, "doomed").await.unwrap();
    assert!(
        now.transcript.is_empty(),
        "old transcript came back: {:?}",
        now.transcript
    );
    assert_eq!(
        store.list_events(ORG_A, "doomed").await.unwrap(),
        Some(vec![])
    );
    assert_eq!(stored(store, ORG_A, "other").await, Some(other));
}

async fn delete_calls_removes_exactly_the_named_calls_of_one_organization(store: &dyn Store) {
    for id in ["a", "b", "c"] {
        create(store, &call(ORG_A, json!({"id": id}))).await;
    }
    create(store, &call(ORG_B, json!({"id": "a"}))).await;
    store
        .add_events(ORG_A, "b", vec![event("e0", BASE, "sip.invite")])
        .await
        .unwrap();
    let ids = ["a", "b", "missing", "a"].map(String::from);
    assert_eq!(
        store.delete_calls(ORG_A, &ids).await.unwrap(),
        2,
        "each existing call once"
    );
    assert_eq!(
        ids_of(&store.list_calls(ORG_A, &everything()).await.unwrap().calls),
        ["c"]
    );
    assert_eq!(store.list_events(ORG_A, "b").await.unwrap(), None);
    assert!(
        stored(store, ORG_B, "a").await.is_some(),
        "another organization's same id stays"
    );
    assert_eq!(store.delete_calls(ORG_A, &[]).await.unwrap(), 0);
    assert_eq!(
        indexed(store, ORG_A, json!({"match_all": {}})).await,
        ["c"],
        "gone from search"
    );
    assert_eq!(indexed(store, ORG_B, json!({"match_all": {}})).await, ["a"]);
}

async fn retention_is_kept_per_organization_and_per_agent(store: &dyn Store) {
    assert_eq!(store.retention(ORG_A).await.unwrap(), Retention::default());
    store.set_retention(ORG_A, None, Some(30)).await.unwrap();
    store
        .set_retention(ORG_A, Some("agent-long"), Some(365))
        .await
        .unwrap();
    store
        .set_retention(ORG_A, Some("agent-short"), Some(7))
        .await
        .unwrap();
    store
        .set_retention(ORG_A, Some("agent-short"), Some(3))
        .await
        .unwrap();
    store
        .set_retention(ORG_B, Some("agent-long"), Some(1))
        .await
        .unwrap();
    let expected = Retention {
        days: Some(30),
        agents: [
            ("agent-long".to_owned(), 365),
            ("agent-short".to_owned(), 3),
        ]
        .into(),
    };
    assert_eq!(store.retention(ORG_A).await.unwrap(), expected);
    let mut rules = store.retention_rules().await.unwrap();
    rules.sort_by(|a, b| a.0.cmp(&b.0));
    let org_b = Retention {
        days: None,
        agents: [("agent-long".to_owned(), 1)].into(),
    };
    assert_eq!(
        rules,
        [(ORG_A.to_owned(), expected), (ORG_B.to_owned(), org_b)]
    );
    // Clearing one rule leaves the others.
    store.set_retention(ORG_A, None, None).await.unwrap();
    store
        .set_retention(ORG_A, Some("agent-short"), None)
        .await
        .unwrap();
    store
        .set_retention(ORG_A, Some("never-set"), None)
        .await
        .unwrap();
    assert_eq!(
        store.retention(ORG_A).await.unwrap(),
        Retention {
            days: None,
            agents: [("agent-long".to_owned(), 365)].into()
        }
    );
}

async fn expired_calls_are_the_scope_s_calls_before_the_cutoff_oldest_first(store: &dyn Store) {
    // Calls an hour apart, agents in turn; one without an agent; one of another organization.
    let agents = [Some("agent-x"), Some("agent-y"), None];
    let mut corpus = Vec::new();
    for n in 0..30_i64 {
        let mut body = json!({"id": format!("c{n:02}")});
        if let Some(agent) = agents[(n % 3) as usize] {
            body["agent_id"] = json!(agent);
        }
        let made = call_at(ORG_A, BASE + n * HOUR, body);
        create(store, &made).await;
        corpus.push(made);
    }
    create(
        store,
        &call_at(ORG_B, BASE, json!({"id": "b0", "agent_id": "agent-x"})),
    )
    .await;
    let mut orgs = store.organizations_with_calls().await.unwrap();
    orgs.sort();
    assert_eq!(orgs, [ORG_A, ORG_B]);

    let before = at(BASE + 20 * HOUR);
    let walk = |scope: RetentionScope, page: usize| async move {
        let mut seen: Vec<String> = Vec::new();
        let mut after: Option<ExpiredCall> = None;
        loop {
            let batch = store
                .expired_calls(ORG_A, &scope, before, after.as_ref(), page)
                .await
                .unwrap();
            assert!(batch.len() <= page);
            let Some(last) = batch.last().cloned() else {
                return seen;
            };
            seen.extend(batch.into_iter().map(|c| c.id));
            after = Some(last);
        }
    };
    let expected = |keep: &dyn Fn(&Call) -> bool| -> Vec<String> {
        corpus
            .iter()
            .filter(|c| c.created_at < before && keep(c))
            .map(|c| c.id.clone())
            .collect()
    };
    let agent_x = expected(&|c| c.agent.id.as_deref() == Some("agent-x"));
    assert_eq!(agent_x.len(), 7);
    assert_eq!(
        walk(RetentionScope::Agent("agent-x".into()), 3).await,
        agent_x
    );
    let rest = expected(&|c| c.agent.id.as_deref() != Some("agent-x"));
    assert_eq!(rest.len(), 13, "agent-y's and the agentless calls");
    let scope = RetentionScope::Organization {
        except: vec!["agent-x".into()],
    };
    assert_eq!(walk(scope, 4).await, rest);
    let everything_old = expected(&|_| true);
    let scope = RetentionScope::Organization { except: vec![] };
    assert_eq!(walk(scope, 100).await, everything_old);
}

async fn compacting_the_change_log_keeps_every_live_call_searchable(store: &dyn Store) {
    for id in ["kept", "bumped", "doomed"] {
        create(
            store,
            &call(ORG_A, json!({"id": id, "agent_id": "agent-z"})),
        )
        .await;
    }
    for _ in 0..3 {
        store
            .write_call(ORG_A, "bumped", WriteMode::Update, bump(ORG_A, "bumped"))
            .await
            .unwrap();
    }
    assert!(store.delete_call(ORG_A, "doomed").await.unwrap());
    store.refresh().await.unwrap();
    let mut removed = 0;
    loop {
        let step = store.compact_changes(2).await.unwrap();
        assert!(step.examined <= 2);
        removed += step.removed;
        if step.examined == 0 {
            break;
        }
    }
    // Backends without a change log have nothing to drop; one with a log drops what the
    // index has applied: three earlier entries of `bumped` and both of `doomed`.
    assert!(removed == 0 || removed == 5, "{removed}");
    assert_eq!(
        indexed(store, ORG_A, json!({"term": {"agent_id": "agent-z"}})).await,
        ["bumped", "kept"]
    );
    assert_eq!(counter(&stored(store, ORG_A, "bumped").await.unwrap()), 3);
}

// ---- 7. bulk inserts -------------------------------------------------------------------------

async fn insert_calls_stores_calls_with_events_and_replaces(store: &dyn Store) {
    let one = rich_call(ORG_A, "bulk-1");
    let two = call(ORG_A, json!({"id": "bulk-2", "status": "failed"}));
    let three = call(ORG_B, json!({"id": "bulk-3"}));
    let (e1, e2) = (
        event("e1", BASE + 2 * SECOND, "b"),
        event("e2", BASE + SECOND, "a"),
    );
    store
        .insert_calls(vec![
            record(one.clone(), vec![e1.clone(), e2.clone()]),
            record(two.clone(), vec![]),
            record(three.clone(), vec![event("e3", BASE, "c")]),
        ])
        .await
        .unwrap();
    assert_eq!(stored(store, ORG_A, "bulk-1").await, Some(one.clone()));
    assert_eq!(stored(store, ORG_A, "bulk-2").await, Some(two));
    assert_eq!(stored(store, ORG_B, "bulk-3").await, Some(three));
    assert_eq!(stored(store, ORG_A, "bulk-3").await, None);
    assert_eq!(
        store.list_events(ORG_A, "bulk-1").await.unwrap(),
        Some(vec![e2.clone(), e1.clone()])
    );
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 2);

    // Re-running the same import changes nothing and duplicates nothing.
    store
        .insert_calls(vec![record(one.clone(), vec![e1.clone(), e2.clone()])])
        .await
        .unwrap();
    assert_eq!(stored(store, ORG_A, "bulk-1").await, Some(one));
    assert_eq!(
        store.list_events(ORG_A, "bulk-1").await.unwrap(),
        Some(vec![e2.clone(), e1.clone()])
    );

    // A new version of the call replaces it, transcript included.
    let replaced = call(
        ORG_A,
        json!({"id": "bulk-1", "status": "busy",
               "transcript": [{"id": "n0", "role": "user", "text": "new"}]}),
    );
    let e4 = event("e4", BASE, "d");
    store
        .insert_calls(vec![record(replaced.clone(), vec![e4.clone()])])
        .await
        .unwrap();
    assert_eq!(stored(store, ORG_A, "bulk-1").await, Some(replaced));
    assert_eq!(
        store.list_events(ORG_A, "bulk-1").await.unwrap(),
        Some(vec![e4]),
        "the new version's events replace the old ones"
    );
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 2);
}

/// A bulk record of `call` with `events` and no transfer attempts.
fn record(call: Call, events: Vec<Event>) -> CallRecord {
    CallRecord {
        call,
        events,
        transfers: Vec::new(),
    }
}

/// The first attempt of a blind transfer of `call_id` to `targets`, requested at `BASE`.
fn transfer_request(org: &str, call_id: &str, id: &str, targets: &[&str]) -> Transfer {
    let draft: TransferDraft =
        serde_json::from_value(json!({"id": id, "kind": "blind", "targets": targets})).unwrap();
    draft.into_transfer(org, call_id, at(BASE)).unwrap()
}

fn step(status: &str) -> TransferReport {
    serde_json::from_value(json!({"status": status})).unwrap()
}

async fn transfer_attempts_are_summarized_on_their_call(store: &dyn Store) {
    // Through the lifecycle: each step of the chain shows on the call.
    let live = call(ORG_A, json!({"id": "xfer-live", "status": "in_progress"}));
    create(store, &live).await;
    let first = transfer_request(ORG_A, "xfer-live", "t1", &["+15550001", "+15550002"]);
    store.create_transfer(ORG_A, first).await.unwrap();
    let summary = |status, attempts, connected_to: Option<&str>| TransferSummary {
        chain_id: "t1".into(),
        status,
        attempts,
        connected_to: connected_to.map(str::to_owned),
    };
    let transfer_of = |id: &'static str| async move {
        stored(store, ORG_A, id)
            .await
            .and_then(|call| call.transfer)
    };
    assert_eq!(
        transfer_of("xfer-live").await,
        Some(summary(TransferStatus::Requested, 1, None))
    );
    let (failed, _) = store
        .report_transfer(ORG_A, "xfer-live", "t1", step("failed"))
        .await
        .unwrap();
    let second = failed.next.expect("the second target is dialled").id;
    assert_eq!(
        transfer_of("xfer-live").await,
        Some(summary(TransferStatus::Requested, 2, None))
    );
    // Rewriting the call (a runtime's PUT) keeps what the attempts say.
    store
        .write_call(ORG_A, "xfer-live", WriteMode::Upsert, ready(live.clone()))
        .await
        .unwrap();
    assert_eq!(
        transfer_of("xfer-live").await,
        Some(summary(TransferStatus::Requested, 2, None))
    );
    for status in ["dialing", "ringing", "completed"] {
        store
            .report_transfer(ORG_A, "xfer-live", &second, step(status))
            .await
            .unwrap();
    }
    assert_eq!(
        transfer_of("xfer-live").await,
        Some(summary(TransferStatus::Completed, 2, Some("+15550002")))
    );

    // Through a bulk insert: the attempts are stored and summarized the same way; a new
    // version without attempts drops both.
    let mut attempts = vec![transfer_request(ORG_A, "xfer-bulk", "t1", &["+15550001"])];
    attempts[0].status = TransferStatus::Failed;
    let bulk = call(ORG_A, json!({"id": "xfer-bulk", "status": "completed"}));
    store
        .insert_calls(vec![CallRecord {
            call: bulk.clone(),
            events: Vec::new(),
            transfers: attempts.clone(),
        }])
        .await
        .unwrap();
    assert_eq!(
        transfer_of("xfer-bulk").await,
        Some(summary(TransferStatus::Failed, 1, None))
    );
    assert_eq!(
        store.list_transfers(ORG_A, "xfer-bulk").await.unwrap(),
        Some(attempts)
    );
    store
        .insert_calls(vec![record(bulk, Vec::new())])
        .await
        .unwrap();
    assert_eq!(transfer_of("xfer-bulk").await, None);
    assert_eq!(
        store.list_transfers(ORG_A, "xfer-bulk").await.unwrap(),
        Some(Vec::new())
    );
}

fn span(trace: &str, id: &str, text: &str) -> SpanRecord {
    SpanRecord {
        trace_id: trace.into(),
        span_id: id.into(),
        doc: text.into(),
    }
}

/// A trace builder for the test: the call `call-<trace>` says each span's text in span-id
/// order, ends at a span `end` (or when closed as idle), and cannot be made of a span `bad`.
fn spoken_trace() -> TraceBuilder {
    Box::new(|state| {
        if state.spans.iter().any(|text| text == "bad") {
            return Err(ValidationError::new("spans", "a bad span"));
        }
        let ended = state.idle_closed || state.spans.iter().any(|text| text == "end");
        let transcript: Vec<Value> = state
            .spans
            .iter()
            .enumerate()
            .map(|(at, text)| json!({"id": format!("s{at}"), "role": "user", "text": text}))
            .collect();
        let id = state
            .call_id
            .map_or_else(|| format!("call-{}", state.trace_id), str::to_owned);
        Ok(call(
            ORG_A,
            json!({"id": id, "status": if ended { "completed" } else { "in_progress" },
                   "transcript": transcript}),
        ))
    })
}

async fn said(store: &dyn Store, id: &str) -> Option<Vec<String>> {
    stored(store, ORG_A, id).await.map(|call| {
        call.transcript
            .into_iter()
            .map(|entry| entry.text)
            .collect()
    })
}

async fn trace_spans_are_kept_once_and_make_one_call_per_trace(store: &dyn Store) {
    let first = store
        .ingest_spans(
            ORG_A,
            vec![span("t1", "b", "world"), span("t1", "a", "hello")],
            spoken_trace(),
        )
        .await
        .unwrap();
    assert_eq!((first.stored, first.repeated), (2, 0));
    assert_eq!(first.calls, ["call-t1"]);
    assert_eq!(said(store, "call-t1").await.unwrap(), ["hello", "world"]);
    let before = stored(store, ORG_A, "call-t1").await;

    // An exporter's retry changes nothing.
    let again = store
        .ingest_spans(
            ORG_A,
            vec![span("t1", "a", "hello"), span("t1", "b", "world")],
            spoken_trace(),
        )
        .await
        .unwrap();
    assert_eq!((again.stored, again.repeated), (0, 2));
    assert!(again.calls.is_empty());
    assert_eq!(stored(store, ORG_A, "call-t1").await, before);

    // A trace the builder refuses is refused whole; the batch's other traces land.
    let mixed = store
        .ingest_spans(
            ORG_A,
            vec![
                span("t2", "a", "bad"),
                span("t3", "a", "still"),
                span("t1", "c", "end"),
            ],
            spoken_trace(),
        )
        .await
        .unwrap();
    assert_eq!(mixed.refused.len(), 1);
    assert_eq!(
        (mixed.refused[0].trace_id.as_str(), mixed.refused[0].spans),
        ("t2", 1)
    );
    assert_eq!(mixed.stored, 2);
    assert_eq!(stored(store, ORG_A, "call-t2").await, None);
    assert_eq!(
        said(store, "call-t1").await.unwrap(),
        ["hello", "world", "end"]
    );
    let ended = stored(store, ORG_A, "call-t1").await.unwrap();
    assert_eq!(ended.status, CallStatus::Completed);
    // Another organization has none of it.
    assert_eq!(stored(store, ORG_B, "call-t1").await, None);

    // Only the open trace goes idle; closing it ends its call, once.
    let later = Timestamp::from_millis(Timestamp::now().as_millis() + 60_000).unwrap();
    let idle = store.idle_traces(later, 10).await.unwrap();
    assert_eq!(idle, [(ORG_A.to_owned(), "t3".to_owned())]);
    let closed = store
        .close_trace(ORG_A, "t3", later, spoken_trace())
        .await
        .unwrap()
        .expect("closed");
    assert_eq!(closed.status, CallStatus::Completed);
    assert!(store.idle_traces(later, 10).await.unwrap().is_empty());
    assert_eq!(
        store
            .close_trace(ORG_A, "t3", later, spoken_trace())
            .await
            .unwrap(),
        None
    );
    // Not idle yet: left alone.
    let earlier = Timestamp::from_millis(Timestamp::now().as_millis() - 60_000).unwrap();
    store
        .ingest_spans(ORG_A, vec![span("t4", "a", "fresh")], spoken_trace())
        .await
        .unwrap();
    assert_eq!(
        store
            .close_trace(ORG_A, "t4", earlier, spoken_trace())
            .await
            .unwrap(),
        None
    );

    // A new trace never takes over a call it did not make: its call is named by the trace.
    let mine = call(ORG_A, json!({"id": "call-t9", "status": "completed"}));
    create(store, &mine).await;
    store
        .ingest_spans(ORG_A, vec![span("t9", "a", "intruder")], spoken_trace())
        .await
        .unwrap();
    assert_eq!(said(store, "call-t9").await.unwrap(), Vec::<String>::new());
    assert_eq!(said(store, "t9").await.unwrap(), ["intruder"]);

    // Deleting a call forgets its spans: a late span starts afresh.
    assert!(store.delete_call(ORG_A, "call-t1").await.unwrap());
    store
        .ingest_spans(ORG_A, vec![span("t1", "d", "late")], spoken_trace())
        .await
        .unwrap();
    assert_eq!(said(store, "call-t1").await.unwrap(), ["late"]);
}

async fn search_matches_numbers_ignoring_ascii_case(store: &dyn Store) {
    let sip = call(
        ORG_A,
        json!({"id": "sip-1", "from_number": "sip:Alice@Example.COM", "to_number": "+15550100"}),
    );
    let other = call(ORG_A, json!({"id": "Sip-2", "from_number": "+15550199"}));
    create(store, &sip).await;
    create(store, &other).await;
    let search = |text: &str| ListCalls {
        search: Some(text.into()),
        ..everything()
    };
    for text in ["alice@example.com", "ALICE", "sip:alice"] {
        let page = store.list_calls(ORG_A, &search(text)).await.unwrap();
        assert_eq!(ids_of(&page.calls), ["sip-1"], "{text}");
    }
    // Ids are matched exactly, case included.
    let page = store.list_calls(ORG_A, &search("sip-2")).await.unwrap();
    assert_eq!(page.total, 0);
    let page = store.list_calls(ORG_A, &search("Sip-2")).await.unwrap();
    assert_eq!(ids_of(&page.calls), ["Sip-2"]);
}

// ---- 8. keys ---------------------------------------------------------------------------------

async fn keys_authenticate_until_revoked(store: &dyn Store) {
    assert_eq!(
        store.count_keys().await.unwrap(),
        0,
        "a fresh store has no keys"
    );
    let key = store
        .create_key("org_k", Some("ci"), &[Scope::Read, Scope::Write])
        .await
        .unwrap();
    assert!(key.secret.starts_with("cs_"), "{}", key.secret);
    assert!(
        key.secret.len() > 20,
        "a secret long enough to be unguessable"
    );
    assert!(key.secret.starts_with(&key.info.prefix) && key.info.prefix.len() < key.secret.len());
    assert_eq!(key.info.organization_id, "org_k");
    assert_eq!(key.info.name.as_deref(), Some("ci"));
    assert_eq!(key.info.scopes, [Scope::Read, Scope::Write]);
    assert_eq!(key.info.revoked_at, None);

    let principal = store.authenticate(&key.secret).await.unwrap().unwrap();
    assert_eq!(principal.organization_id, "org_k");
    assert_eq!(principal.key_id, key.info.id);
    assert_eq!(principal.scopes, [Scope::Read, Scope::Write]);

    let mut wrong = key.secret.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    for bad in [
        wrong.as_str(),
        "",
        "cs_",
        key.info.prefix.as_str(),
        &key.secret.to_uppercase(),
    ] {
        assert_eq!(store.authenticate(bad).await.unwrap(), None, "{bad:?}");
    }

    let other = store
        .create_key("org_k", None, &[Scope::Admin])
        .await
        .unwrap();
    assert_ne!(other.secret, key.secret);
    assert_ne!(other.info.id, key.info.id);

    assert!(store.revoke_key(&key.info.id).await.unwrap());
    assert_eq!(store.authenticate(&key.secret).await.unwrap(), None);
    assert!(
        !store.revoke_key(&key.info.id).await.unwrap(),
        "already revoked"
    );
    assert!(
        !store.revoke_key("key_000000000000").await.unwrap(),
        "no such key"
    );
    let still = store.authenticate(&other.secret).await.unwrap().unwrap();
    assert_eq!(
        (still.organization_id.as_str(), still.scopes),
        ("org_k", vec![Scope::Admin])
    );
    assert_eq!(
        store.count_keys().await.unwrap(),
        2,
        "revoked keys still count"
    );
}

async fn sessions_last_until_expiry_sign_out_or_revocation(store: &dyn Store) {
    use std::time::Duration;
    let key = store
        .create_key("org_s", None, &[Scope::Read])
        .await
        .unwrap();
    let hour = Duration::from_secs(3600);
    assert_eq!(
        store.open_session("cs_not_a_key", hour).await.unwrap(),
        None
    );

    let opened = store
        .open_session(&key.secret, hour)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(opened.token, key.secret);
    assert_ne!(opened.token, opened.session.csrf_token);
    assert_eq!(opened.session.principal.organization_id, "org_s");
    assert_eq!(opened.session.principal.scopes, [Scope::Read]);
    let expected_expiry = Timestamp::now().as_millis() + 3_600_000;
    assert!((opened.session.expires_at.as_millis() - expected_expiry).abs() < 60_000);
    let found = store.session(&opened.token).await.unwrap().unwrap();
    assert_eq!(found, opened.session);
    assert_eq!(
        store.session(&key.secret).await.unwrap(),
        None,
        "a key is no session"
    );
    assert_eq!(store.session("").await.unwrap(), None);

    // Two sessions of one key are independent: closing one leaves the other.
    let second = store
        .open_session(&key.secret, hour)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second.token, opened.token);
    assert!(store.close_session(&opened.token).await.unwrap());
    assert!(!store.close_session(&opened.token).await.unwrap());
    assert_eq!(store.session(&opened.token).await.unwrap(), None);
    assert!(store.session(&second.token).await.unwrap().is_some());

    // An expired session is gone.
    let brief = store
        .open_session(&key.secret, Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(store.session(&brief.token).await.unwrap(), None);

    // Revoking the key ends every session opened with it.
    assert!(store.revoke_key(&key.info.id).await.unwrap());
    assert_eq!(store.session(&second.token).await.unwrap(), None);
    assert_eq!(store.open_session(&key.secret, hour).await.unwrap(), None);
}

async fn keys_are_listed_per_organization_without_secrets(store: &dyn Store) {
    let mut created = Vec::new();
    for (org, name) in [("org_k", "one"), ("org_l", "two"), ("org_k", "three")] {
        created.push(
            store
                .create_key(org, Some(name), &[Scope::Read])
                .await
                .unwrap(),
        );
    }
    store.revoke_key(&created[2].info.id).await.unwrap();

    let listed = store.list_keys(Some("org_k")).await.unwrap();
    let listed_ids: HashSet<&str> = listed.iter().map(|k| k.id.as_str()).collect();
    let want: HashSet<&str> = [created[0].info.id.as_str(), created[2].info.id.as_str()].into();
    assert_eq!(listed_ids, want);
    for info in &listed {
        assert_eq!(info.organization_id, "org_k");
        let new = created.iter().find(|k| k.info.id == info.id).unwrap();
        assert!(new.secret.starts_with(&info.prefix) && info.prefix.len() < new.secret.len());
        assert_eq!(info.name, new.info.name);
        assert_eq!(info.scopes, [Scope::Read]);
        assert_eq!(
            info.revoked_at.is_some(),
            info.id == created[2].info.id,
            "{info:?}"
        );
    }
    assert!(
        listed
            .windows(2)
            .all(|pair| pair[0].created_at >= pair[1].created_at),
        "newest first: {listed:?}"
    );
    let only_l = store.list_keys(Some("org_l")).await.unwrap();
    assert_eq!(only_l.len(), 1);
    assert_eq!(only_l[0].id, created[1].info.id);
    assert!(store.list_keys(Some("org_none")).await.unwrap().is_empty());
    assert_eq!(store.list_keys(None).await.unwrap().len(), 3);
    assert_eq!(store.count_keys().await.unwrap(), 3);
}

async fn keys_refuse_bad_input(store: &dyn Store) {
    let no_scopes = store.create_key("org_k", None, &[]).await;
    assert!(
        matches!(no_scopes, Err(StoreError::Invalid(_))),
        "{no_scopes:?}"
    );
    for org in ["a b", "", "a/b"] {
        let bad_org = store.create_key(org, None, &[Scope::Read]).await;
        assert!(
            matches!(bad_org, Err(StoreError::Invalid(_))),
            "{org:?}: {bad_org:?}"
        );
    }
    assert_eq!(
        store.count_keys().await.unwrap(),
        0,
        "refused keys leave nothing behind"
    );
    assert!(store.list_keys(None).await.unwrap().is_empty());
}

// ---- 10. concurrency -------------------------------------------------------------------------

async fn concurrent_creates_of_distinct_ids_all_land<S: Store + Clone>(store: &S) {
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = format!("par-{i:03}");
                let fresh = call(ORG_A, json!({"id": id, "metadata": {"i": i}}));
                store
                    .write_call(ORG_A, &id, WriteMode::Create, ready(fresh))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let written = task.await.unwrap().unwrap();
        assert!(written.created, "{}", written.call.id);
    }
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 200);
    let page = store.list_calls(ORG_A, &everything()).await.unwrap();
    assert_eq!(page.total, 200);
    let ids: HashSet<String> = ids_of(&page.calls).into_iter().collect();
    assert_eq!(
        ids,
        (0..200)
            .map(|i| format!("par-{i:03}"))
            .collect::<HashSet<_>>()
    );
}

async fn concurrent_updates_do_not_lose_increments<S: Store + Clone>(store: &S) {
    create(
        store,
        &call(ORG_A, json!({"id": "hot", "metadata": {"counter": 0}})),
    )
    .await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write_call(ORG_A, "hot", WriteMode::Update, bump(ORG_A, "hot"))
                    .await
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        let written = task.await.unwrap().unwrap();
        assert!(!written.created);
        seen.push(counter(&written.call));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=50).collect::<Vec<i64>>(),
        "each update saw the one before it"
    );
    assert_eq!(
        stored(store, ORG_A, "hot").await.map(|c| counter(&c)),
        Some(50)
    );
}

async fn concurrent_writes_to_one_new_id_create_it_once<S: Store + Clone>(store: &S) {
    let upserts: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write_call(ORG_A, "race", WriteMode::Upsert, bump(ORG_A, "race"))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in upserts {
        created += usize::from(task.await.unwrap().unwrap().created);
    }
    assert_eq!(created, 1, "exactly one upsert created the call");
    assert_eq!(
        stored(store, ORG_A, "race").await.map(|c| counter(&c)),
        Some(20)
    );

    let creates: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let fresh = call(ORG_A, json!({"id": "first", "metadata": {"by": i}}));
                store
                    .write_call(ORG_A, "first", WriteMode::Create, ready(fresh))
                    .await
            })
        })
        .collect();
    let (mut won, mut conflicts) = (Vec::new(), 0);
    for task in creates {
        match task.await.unwrap() {
            Ok(written) => won.push(written.call),
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(other) => panic!("a racing create failed oddly: {other}"),
        }
    }
    assert_eq!((won.len(), conflicts), (1, 19));
    assert_eq!(stored(store, ORG_A, "first").await, won.pop());
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 2);
}

/// A builder is caller code; if it panics, that write fails and the store keeps working.
async fn a_panicking_builder_fails_only_its_own_write<S: Store + Clone>(store: &S) {
    let doomed = store.clone();
    let outcome = tokio::spawn(async move {
        let builder: CallBuilder = Box::new(|_| panic!("a builder bug (this panic is expected)"));
        doomed
            .write_call(ORG_A, "boom", WriteMode::Upsert, builder)
            .await
    })
    .await;
    // Either the task panicked or the write reported an error; it must not have succeeded.
    assert!(!matches!(outcome, Ok(Ok(_))), "{outcome:?}");
    assert_eq!(stored(store, ORG_A, "boom").await, None);

    let after = store
        .write_call(ORG_A, "after", WriteMode::Create, bump(ORG_A, "after"))
        .await;
    assert!(
        after.is_ok(),
        "the store stopped writing after a builder panicked: {after:?}"
    );
    assert_eq!(
        stored(store, ORG_A, "after").await.map(|c| counter(&c)),
        Some(1)
    );
}

// ---- 11. the call lifecycle: leased background jobs ------------------------------------------

/// A minute: the lease of the claims below.
const LEASE: i64 = 60 * SECOND;

/// An endpoint of `org` that takes `call.started`, so every created call queues a delivery.
async fn subscribe(store: &dyn Store, org: &str) {
    let draft = WebhookDraft {
        url: Some("https://receiver.example/hook".into()),
        events: Some(vec![WebhookEvent::CallStarted]),
        ..WebhookDraft::default()
    };
    store.create_webhook(org, draft).await.unwrap();
}

/// Creates calls `ids` of `org`, each queueing its `call.started`.
async fn start_calls(store: &dyn Store, org: &str, ids: &[String]) {
    for id in ids {
        create(
            store,
            &call(org, json!({"id": id, "status": "in_progress"})),
        )
        .await;
    }
}

fn later(ms: i64) -> Timestamp {
    Timestamp::now().plus_millis(ms)
}

/// The ids of the deliveries a claim at `at` gets.
async fn claim_ids(store: &dyn Store, at: Timestamp) -> Vec<String> {
    let claimed = store.claim_deliveries(at, LEASE, 10).await.unwrap();
    claimed.into_iter().map(|due| due.delivery.id).collect()
}

fn failed_attempt(number: u32) -> DeliveryAttempt {
    DeliveryAttempt {
        number,
        at: Timestamp::now(),
        status_code: Some(503),
        error: Some("unavailable".into()),
        duration_ms: 1,
    }
}

async fn delivery_claims_are_leased_until_recorded_or_expired(store: &dyn Store) {
    subscribe(store, ORG_A).await;
    start_calls(store, ORG_A, &["c1".into()]).await;
    let claimed = store
        .claim_deliveries(Timestamp::now(), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let delivery = claimed[0].delivery.id.clone();
    assert_eq!(claimed[0].delivery.subject_id, "c1");

    // Leased: no second claim gets it, and it is due again when the lease ends.
    assert!(claim_ids(store, Timestamp::now()).await.is_empty());
    let next = store.next_delivery_at().await.unwrap().unwrap();
    assert!(
        next.as_millis() >= later(LEASE - 5 * SECOND).as_millis(),
        "{next:?}"
    );
    // Its sender died: once the lease has run out, it is claimed again.
    let again = store
        .claim_deliveries(later(LEASE + SECOND), LEASE, 10)
        .await
        .unwrap();
    assert_eq!(
        again
            .iter()
            .map(|d| d.delivery.id.as_str())
            .collect::<Vec<_>>(),
        [delivery.as_str()]
    );

    // A recorded attempt ends the lease; the delivery is due at its retry time, not before.
    let retry = later(10 * SECOND);
    store
        .record_attempt(&delivery, failed_attempt(1), AttemptVerdict::RetryAt(retry))
        .await
        .unwrap();
    assert_eq!(store.next_delivery_at().await.unwrap(), Some(retry));
    assert!(claim_ids(store, Timestamp::now()).await.is_empty());
    let retried = store.claim_deliveries(retry, LEASE, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].delivery.attempts, 1);
}

async fn concurrent_delivery_claims_never_share_a_delivery<S: Store + Clone>(store: &S) {
    subscribe(store, ORG_A).await;
    let ids: Vec<String> = (0..40).map(|n| format!("c{n}")).collect();
    start_calls(store, ORG_A, &ids).await;
    let claims: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_deliveries(Timestamp::now(), LEASE, 15)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for claim in claims {
        claimed.extend(
            claim
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.delivery.subject_id),
        );
    }
    let distinct: HashSet<&String> = claimed.iter().collect();
    assert_eq!(
        distinct.len(),
        claimed.len(),
        "a delivery was claimed twice"
    );
    assert_eq!(distinct, ids.iter().collect::<HashSet<_>>());
}

async fn a_superseded_delivery_is_never_claimed_again(store: &dyn Store) {
    subscribe(store, ORG_A).await;
    start_calls(store, ORG_A, &["c1".into()]).await;
    let claimed = store
        .claim_deliveries(Timestamp::now(), LEASE, 10)
        .await
        .unwrap();
    let original = claimed[0].delivery.clone();
    // It failed and is due for a retry now, when it is redelivered by hand.
    store
        .record_attempt(
            &original.id,
            failed_attempt(1),
            AttemptVerdict::RetryAt(Timestamp::now()),
        )
        .await
        .unwrap();
    let redelivery = store
        .redeliver(ORG_A, &original.endpoint_id, &original.id)
        .await
        .unwrap();
    let due = store
        .claim_deliveries(later(SECOND), LEASE, 10)
        .await
        .unwrap();
    let ids: Vec<&str> = due.iter().map(|d| d.delivery.id.as_str()).collect();
    assert_eq!(ids, [redelivery.id.as_str()], "the event goes out once");
    assert_eq!(due[0].delivery.event_id, original.event_id);
}

async fn report_claims_count_attempts_and_wait_when_put_off(store: &dyn Store) {
    let ended = |id: &str| call(ORG_A, json!({"id": id, "status": "completed"}));
    create(store, &ended("r1")).await;
    create(store, &ended("r2")).await;
    let claimed = store
        .claim_reports(Timestamp::now(), LEASE, 10)
        .await
        .unwrap();
    let mut got: Vec<(&str, u32)> = claimed
        .iter()
        .map(|job| (job.call_id.as_str(), job.attempt))
        .collect();
    got.sort_unstable();
    assert_eq!(got, [("r1", 1), ("r2", 1)]);
    assert!(
        store
            .claim_reports(Timestamp::now(), LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed jobs are leased"
    );

    // r1 failed: put off, it waits; r2 got its report and leaves the queue.
    let retry = later(5 * SECOND);
    store
        .retry_report(ORG_A, "r1", retry, "the analyzer broke")
        .await
        .unwrap();
    store
        .store_report(ORG_A, "r2", Analysis::failed("test"))
        .await
        .unwrap();
    assert!(
        store
            .claim_reports(Timestamp::now(), LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let second = store.claim_reports(retry, LEASE, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].call_id.as_str(), second[0].attempt), ("r1", 2));
    // Its worker died mid-analysis: the lease runs out and it comes back as attempt 3.
    let third = store
        .claim_reports(retry.plus_millis(LEASE + SECOND), LEASE, 10)
        .await
        .unwrap();
    assert_eq!((third[0].call_id.as_str(), third[0].attempt), ("r1", 3));
    let report = stored(store, ORG_A, "r2").await.unwrap().analysis.unwrap();
    assert_eq!(report.failure_reason.as_deref(), Some("test"));
}

// ---- 9. embedded only: durability across reopening -------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_after_compaction_indexes_exactly_the_live_calls() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path(), Durability::Normal).unwrap();
        for n in 0..50 {
            create(
                &store,
                &call(ORG_A, json!({"id": format!("r{n}"), "agent_id": "agent-r"})),
            )
            .await;
        }
        for n in 0..50 {
            store
                .write_call(
                    ORG_A,
                    &format!("r{n}"),
                    WriteMode::Update,
                    bump(ORG_A, &format!("r{n}")),
                )
                .await
                .unwrap();
        }
        let doomed: Vec<String> = (0..10).map(|n| format!("r{n}")).collect();
        assert_eq!(store.delete_calls(ORG_A, &doomed).await.unwrap(), 10);
        store.refresh().await.unwrap();
        let mut removed = 0;
        while let step = store.compact_changes(7).await.unwrap()
            && step.examined > 0
        {
            removed += step.removed;
        }
        assert_eq!(
            removed,
            50 + 2 * 10,
            "the first of each live call's two entries (40), all three of each deleted one's (30)"
        );
    }
    std::fs::remove_dir_all(dir.path().join(callscope_store::INDEX_DIR)).unwrap();
    let store = EmbeddedStore::open(dir.path(), Durability::Normal).unwrap();
    let ids = indexed(&store, ORG_A, json!({"term": {"agent_id": "agent-r"}})).await;
    let mut expected: Vec<String> = (10..50).map(|n| format!("r{n}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_data_survives_reopening_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let rich = rich_call(ORG_B, "rich");
    let (call_then, events_then, live_key, revoked_key) = {
        let store = EmbeddedStore::open(dir.path(), Durability::Normal).unwrap();
        let live = call(
            ORG_A,
            json!({"id": "kept", "agent_id": "agent-x",
                   "transcript": [{"id": "t0", "role": "agent", "text": "hello"}]}),
        );
        create(&store, &live).await;
        let t1 = entry(json!({"id": "t1", "role": "user", "text": "hi"}));
        store
            .append_transcript(ORG_A, "kept", vec![t1])
            .await
            .unwrap();
        let events = vec![event("e1", BASE + SECOND, "a"), event("e2", BASE, "b")];
        store.add_events(ORG_A, "kept", events).await.unwrap();
        create(&store, &rich).await;
        let live_key = store
            .create_key(ORG_A, Some("live"), &[Scope::Write])
            .await
            .unwrap();
        let revoked_key = store
            .create_key(ORG_A, Some("old"), &[Scope::Read])
            .await
            .unwrap();
        assert!(store.revoke_key(&revoked_key.info.id).await.unwrap());
        let call_then = stored(&store, ORG_A, "kept").await.unwrap();
        let events_then = store.list_events(ORG_A, "kept").await.unwrap().unwrap();
        (call_then, events_then, live_key, revoked_key)
    };

    let store = EmbeddedStore::open(dir.path(), Durability::Normal).unwrap();
    assert_eq!(transcript_ids(&call_then.transcript), ["t0", "t1"]);
    assert_eq!(stored(&store, ORG_A, "kept").await, Some(call_then));
    assert_eq!(stored(&store, ORG_B, "rich").await, Some(rich));
    let event_ids: Vec<&str> = events_then.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(event_ids, ["e2", "e1"]);
    assert_eq!(
        store.list_events(ORG_A, "kept").await.unwrap(),
        Some(events_then)
    );
    let principal = store.authenticate(&live_key.secret).await.unwrap().unwrap();
    assert_eq!(
        (principal.key_id, principal.scopes),
        (live_key.info.id, vec![Scope::Write])
    );
    assert_eq!(store.authenticate(&revoked_key.secret).await.unwrap(), None);
    assert_eq!(store.count_keys().await.unwrap(), 2);
    assert_eq!(store.count_calls(ORG_A).await.unwrap(), 1);
    // The reopened store writes as well as it reads.
    let t2 = entry(json!({"id": "t2", "role": "agent", "text": "again"}));
    let call = store
        .append_transcript(ORG_A, "kept", vec![t2])
        .await
        .unwrap();
    assert_eq!(transcript_ids(&call.transcript), ["t0", "t1", "t2"]);
}
