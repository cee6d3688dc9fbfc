//! `GET /v1/calls` and `POST /v1/calls/search` over real HTTP against a corpus whose expected
//! answers are computed here, by filtering and sorting the test's own records in plain Rust.

#![allow(clippy::unwrap_used)] // tests panic on purpose

mod common;

use common::{Client, Fixture};
use serde_json::{Value, json};
use std::cmp::Ordering;

const CORPUS: usize = 120;
const BASE_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const STATUSES: [&str; 6] = [
    "completed",
    "failed",
    "no_answer",
    "busy",
    "canceled",
    "in_progress",
];
const KINDS: [&str; 4] = ["telephony_inbound", "telephony_outbound", "chat", "web"];
const AGENTS: [&str; 3] = ["agent_a", "agent_b", "agent_c"];

/// A filter over the test's records: the expected answer of a query.
type Keep = Box<dyn Fn(&Record) -> bool>;
/// The value a record sorts by, if it has one.
type SortKey = fn(&Record) -> Option<i64>;

/// What the test knows about each call it wrote.
#[derive(Clone, Debug)]
struct Record {
    id: String,
    agent: &'static str,
    campaign: Option<&'static str>,
    status: &'static str,
    kind: &'static str,
    from: String,
    to: String,
    created_ms: i64,
    started_ms: Option<i64>,
    duration_ms: Option<i64>,
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn corpus() -> Vec<Record> {
    (0..CORPUS)
        .map(|i| {
            // A scrambled creation order, so id order and time order differ.
            let slot = (i * 47) % CORPUS;
            let created_ms = BASE_MS + slot as i64 * 3_600_000;
            Record {
                id: format!("call-{i:03}"),
                agent: AGENTS[i % 3],
                campaign: match i % 4 {
                    0 => None,
                    1 | 2 => Some("spring"),
                    _ => Some("summer"),
                },
                status: STATUSES[i % 6],
                kind: KINDS[(i / 2) % 4],
                from: format!("+1415555{:04}", 1000 + i),
                to: format!("+1604777{:04}", 2000 + i % 10),
                created_ms,
                started_ms: (i % 5 != 0).then_some(created_ms + 1500),
                // Few distinct values, so ties on duration are common and the id decides.
                duration_ms: (i % 7 != 0).then_some(((i % 9) as i64) * 10_000),
            }
        })
        .collect()
}

fn write_corpus(client: &Client, records: &[Record]) {
    for record in records {
        let mut body = json!({
            "agent_id": record.agent, "status": record.status, "kind": record.kind,
            "from_number": record.from, "to_number": record.to,
            "created_at": rfc3339(record.created_ms),
        });
        if let Some(campaign) = record.campaign {
            body["campaign_id"] = json!(campaign);
        }
        if let Some(started) = record.started_ms {
            body["started_at"] = json!(rfc3339(started));
        }
        if let Some(duration) = record.duration_ms {
            body["duration_ms"] = json!(duration);
        }
        let (status, answer) = client.put(&format!("/v1/calls/{}", record.id), &body);
        assert_eq!(status, 201, "{answer}");
    }
}

/// Sorts the way the API promises: by the field, calls without a value last in either
/// direction, ties by id in the same direction.
fn sorted(
    mut records: Vec<Record>,
    key: fn(&Record) -> Option<i64>,
    descending: bool,
) -> Vec<String> {
    records.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => {
            let order = x.cmp(&y).then_with(|| a.id.cmp(&b.id));
            if descending { order.reverse() } else { order }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => {
            if descending {
                b.id.cmp(&a.id)
            } else {
                a.id.cmp(&b.id)
            }
        }
    });
    records.into_iter().map(|r| r.id).collect()
}

fn newest_first(records: &[Record], keep: impl Fn(&Record) -> bool) -> Vec<String> {
    let kept = records.iter().filter(|r| keep(r)).cloned().collect();
    sorted(kept, |r| Some(r.created_ms), true)
}

fn ids(page: &Value) -> Vec<String> {
    page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of a query, followed by `next_cursor`, concatenated.
fn walk_cursor(client: &Client, query: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let (status, mut page) = client.get(&format!("/v1/calls?{query}&limit={limit}"));
    assert_eq!(status, 200, "{page}");
    loop {
        let batch = ids(&page);
        assert!(batch.len() <= limit);
        seen.extend(batch);
        let Some(cursor) = page["next_cursor"].as_str().map(str::to_owned) else {
            break;
        };
        let (status, next) =
            client.get(&format!("/v1/calls?{query}&limit={limit}&cursor={cursor}"));
        assert_eq!(status, 200, "{next}");
        assert_eq!(next["page"], Value::Null);
        page = next;
    }
    seen
}

#[test]
fn every_filter_alone_and_combined_returns_exactly_the_expected_calls() {
    let records = corpus();
    let f = Fixture::new();
    let client = f.client();
    write_corpus(&client, &records);

    let day = |d: i64| BASE_MS + d * 86_400_000;
    let cases: Vec<(&str, Keep)> = vec![
        ("", Box::new(|_| true)),
        ("agent_id=agent_b", Box::new(|r| r.agent == "agent_b")),
        (
            "campaign_id=spring",
            Box::new(|r| r.campaign == Some("spring")),
        ),
        ("status=completed", Box::new(|r| r.status == "completed")),
        (
            "status=no_answer,busy",
            Box::new(|r| matches!(r.status, "no_answer" | "busy")),
        ),
        ("call_type=chat", Box::new(|r| r.kind == "chat")),
        (
            "call_type=telephony_inbound,telephony_outbound",
            Box::new(|r| r.kind.starts_with("telephony")),
        ),
        ("search=call-042", Box::new(|r| r.id == "call-042")),
        (
            "search=4155551050",
            Box::new(|r| r.from.contains("4155551050")),
        ),
        (
            "search=%2B16047772003",
            Box::new(|r| r.to == "+16047772003"),
        ),
        (
            "search=5551",
            Box::new(|r| r.from.contains("5551") || r.to.contains("5551")),
        ),
        ("from=2026-01-02", Box::new(move |r| r.created_ms >= day(1))),
        ("to=2026-01-02", Box::new(move |r| r.created_ms < day(2))),
        (
            "from=2026-01-02&to=2026-01-03",
            Box::new(move |r| r.created_ms >= day(1) && r.created_ms < day(3)),
        ),
        // An exact instant is inclusive at both ends.
        (
            "from=2026-01-01T05:00:00Z&to=2026-01-01T07:00:00.000Z",
            Box::new(|r| {
                r.created_ms >= BASE_MS + 5 * 3_600_000 && r.created_ms <= BASE_MS + 7 * 3_600_000
            }),
        ),
        (
            "agent_id=agent_a&status=completed",
            Box::new(|r| r.agent == "agent_a" && r.status == "completed"),
        ),
        (
            "agent_id=agent_c&campaign_id=summer&call_type=chat,web",
            Box::new(|r| {
                r.agent == "agent_c"
                    && r.campaign == Some("summer")
                    && matches!(r.kind, "chat" | "web")
            }),
        ),
        (
            "campaign_id=spring&status=failed,in_progress&from=2026-01-03",
            Box::new(move |r| {
                r.campaign == Some("spring")
                    && matches!(r.status, "failed" | "in_progress")
                    && r.created_ms >= day(2)
            }),
        ),
        ("agent_id=nobody", Box::new(|_| false)),
    ];
    for (query, keep) in cases {
        let expected = newest_first(&records, keep);
        let (status, page) = client.get(&format!("/v1/calls?{query}&limit=1000"));
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(ids(&page), expected, "{query}");
        assert_eq!(
            page["total"].as_u64(),
            Some(expected.len() as u64),
            "{query}: total"
        );
        assert!(
            !expected.is_empty() || query.contains("nobody"),
            "{query} should match something"
        );
    }
}

#[test]
fn sorting_on_each_field_puts_missing_values_last_and_breaks_ties_by_id() {
    let records = corpus();
    let f = Fixture::new();
    let client = f.client();
    write_corpus(&client, &records);
    let keys: [(&str, SortKey); 3] = [
        ("created_at", |r| Some(r.created_ms)),
        ("started_at", |r| r.started_ms),
        ("duration_ms", |r| r.duration_ms),
    ];
    for (field, key) in keys {
        for (order, descending) in [("asc", false), ("desc", true)] {
            let expected = sorted(records.clone(), key, descending);
            let query = format!("sort={field}:{order}");
            let (status, page) = client.get(&format!("/v1/calls?{query}&limit=1000"));
            assert_eq!(status, 200);
            assert_eq!(ids(&page), expected, "{query}");
            // Deep paging by cursor visits the same calls in the same order.
            assert_eq!(
                walk_cursor(&client, &query, 7),
                expected,
                "{query} by cursor"
            );
        }
    }
    let (_, default) = client.get("/v1/calls?limit=1000");
    assert_eq!(
        ids(&default),
        sorted(records, |r| Some(r.created_ms), true),
        "default is newest first"
    );
}

#[test]
fn page_and_limit_edges() {
    let records = corpus();
    let f = Fixture::new();
    let client = f.client();
    write_corpus(&client, &records);
    let all = newest_first(&records, |_| true);

    let (_, first) = client.get("/v1/calls");
    assert_eq!(
        (first["page"].as_u64(), first["limit"].as_u64()),
        (Some(1), Some(10)),
        "defaults"
    );
    assert_eq!(ids(&first), all[..10]);

    let (_, one) = client.get("/v1/calls?limit=1&page=120");
    assert_eq!(ids(&one), [all[119].clone()]);
    assert_eq!(
        one["next_cursor"],
        Value::Null,
        "the last page has no next cursor"
    );

    let (_, beyond) = client.get("/v1/calls?limit=50&page=4");
    assert_eq!(
        (ids(&beyond).len(), beyond["total"].as_u64()),
        (0, Some(120))
    );

    let (_, third) = client.get("/v1/calls?limit=7&page=3");
    assert_eq!(ids(&third), all[14..21]);
    assert_eq!(third["page"], 3);

    // Walking pages by number covers the corpus with no gap and no repeat.
    let mut walked = Vec::new();
    for page in 1.. {
        let (_, answer) = client.get(&format!("/v1/calls?limit=13&page={page}"));
        let batch = ids(&answer);
        if batch.is_empty() {
            break;
        }
        walked.extend(batch);
    }
    assert_eq!(walked, all);

    let (_, max) = client.get("/v1/calls?limit=1000");
    assert_eq!(ids(&max).len(), 120);
    for bad in ["limit=0", "limit=1001", "page=0", "page=-1", "limit=ten"] {
        let (status, answer) = client.get(&format!("/v1/calls?{bad}"));
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("INVALID_PARAMETER")),
            "{bad}"
        );
        let parameter = bad.split('=').next().unwrap();
        assert!(
            answer["error"].as_str().unwrap().contains(parameter),
            "{bad}: {answer}"
        );
    }
    let (status, answer) = client.get(&format!(
        "/v1/calls?page=2&cursor={}",
        first["next_cursor"].as_str().unwrap()
    ));
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("INVALID_PARAMETER"))
    );
    let (status, _) = client.get(&format!(
        "/v1/calls?sort=duration_ms:asc&cursor={}",
        first["next_cursor"].as_str().unwrap()
    ));
    assert_eq!(status, 400, "a cursor only continues the sort it came from");
}

#[test]
fn batch_search_takes_up_to_one_hundred_ids() {
    let records = corpus();
    let f = Fixture::new();
    let client = f.client();
    write_corpus(&client, &records);
    let search = |ids: &[String]| client.post("/v1/calls/search", &json!({"call_ids": ids}));

    let (status, none) = search(&[]);
    assert_eq!((status, ids(&none).len()), (200, 0));

    let (status, one) = search(&["call-007".to_owned()]);
    assert_eq!(status, 200);
    assert_eq!(ids(&one), ["call-007"]);
    assert_eq!(one["calls"][0]["agent_id"], records[7].agent);

    // 100 ids in a chosen order, a few unknown and one repeated: found ones come back once,
    // in the order asked.
    let mut asked: Vec<String> = (0..97).rev().map(|i| format!("call-{i:03}")).collect();
    asked.extend([
        "ghost-1".to_owned(),
        "call-050".to_owned(),
        "ghost-2".to_owned(),
    ]);
    assert_eq!(asked.len(), 100);
    let (status, hundred) = search(&asked);
    assert_eq!(status, 200);
    let expected: Vec<String> = (0..97).rev().map(|i| format!("call-{i:03}")).collect();
    assert_eq!(ids(&hundred), expected);

    asked.push("call-100".to_owned());
    let (status, refused) = search(&asked);
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("INVALID_PARAMETER"))
    );
    assert!(
        refused["error"].as_str().unwrap().contains("101"),
        "{refused}"
    );
}
