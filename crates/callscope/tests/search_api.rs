//! The native query surface over real HTTP: `POST /v1/calls/query` (every clause, sort,
//! paging, projection and aggregation against answers computed here in plain Rust),
//! `GET /v1/calls?q=`, `GET /v1/fields`, near-real-time freshness, and the index catching up
//! after a crash or being rebuilt from the change log.

#![allow(clippy::unwrap_used)] // tests panic on purpose

mod common;

use common::{SortValue, assert_invalid, bucket_counts, call_ids, says, says_phrase};

use chrono::{DateTime, Datelike, SecondsFormat, TimeZone, Utc};
use common::{Client, Fixture, Server, create_key};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const DAY_MS: i64 = 86_400_000;

/// One call of the corpus, in the terms the expected answers are computed from.
struct Rec {
    id: String,
    agent: &'static str,
    status: &'static str,
    started: Option<i64>,
    created: i64,
    duration: Option<u64>,
    from: String,
    user: Vec<String>,
    said: Vec<String>,
    /// The tags of each flow node.
    nodes: Vec<Vec<&'static str>>,
}

fn ms(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> i64 {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
        .unwrap()
        .timestamp_millis()
}

fn rfc3339(millis: i64) -> String {
    DateTime::from_timestamp_millis(millis)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn owned(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|text| (*text).to_owned()).collect()
}

/// Forty calls: four agents with 16, 12, 8 and 4 calls, every status, starts in January,
/// March and April 2024 (none in February) and one that never started, durations with ties
/// and gaps, callers from three number prefixes, transcripts and flow tags to search.
fn corpus() -> Vec<Rec> {
    let statuses = [
        "completed",
        "completed",
        "failed",
        "no_answer",
        "completed",
        "in_progress",
        "busy",
    ];
    let user_lines: [&[&str]; 8] = [
        &["I want a refund for my order"],
        &["Please cancel my subscription today"],
        &["I love this agent"],
        &["My subscription invoice is wrong", "cancel it"],
        &["subscription renewal question"],
        &["I love", "this agent is slow"],
        &["hello"],
        &[],
    ];
    let agent_lines: [&[&str]; 4] = [
        &["How can I help?"],
        &["I can process a refund"],
        &["Thanks for calling"],
        &[],
    ];
    let start_of = |k: u32| match k {
        0..=23 => Some(ms(2024, 1, 3 + 2 * (k % 12), (3 * k) % 24, (7 * k) % 60)),
        // Two calls starting (and created) at the same instant.
        25 => Some(ms(2024, 3, 1, 10, 24)),
        24..=35 => Some(ms(2024, 3, 1 + 2 * (k - 24), 10, k)),
        36..=38 => Some(ms(2024, 4, k - 35, 9, 0)),
        _ => None,
    };
    (0..40_u32)
        .map(|k| {
            let index = k as usize;
            let status = if k == 39 {
                "in_progress"
            } else {
                statuses[index % statuses.len()]
            };
            let started = start_of(k);
            let nodes = if k % 6 == 0 {
                vec![vec!["vip"], vec![]]
            } else if k % 6 == 3 {
                vec![vec![], vec!["churn", "vip"]]
            } else if k % 5 == 1 {
                vec![vec!["churn"]]
            } else {
                Vec::new()
            };
            Rec {
                id: format!("c{k:02}"),
                agent: match k % 10 {
                    0..=3 => "agent-a",
                    4..=6 => "agent-b",
                    7 | 8 => "agent-c",
                    _ => "agent-d",
                },
                status,
                started,
                created: started.unwrap_or(ms(2024, 5, 1, 0, 0)),
                duration: (status != "in_progress").then(|| 5_000 + u64::from(k * 37 % 20) * 6_000),
                from: match k % 3 {
                    0 => format!("+4420{k:06}"),
                    1 => format!("+1415{k:06}"),
                    _ => format!("+4421{k:06}"),
                },
                user: owned(user_lines[index % 8]),
                said: owned(agent_lines[index % 4]),
                nodes,
            }
        })
        .collect()
}

impl Rec {
    /// The transcript as written: each agent line, then the caller's answer.
    fn transcript(&self) -> Vec<(&'static str, &str)> {
        let mut entries = Vec::new();
        for at in 0..self.user.len().max(self.said.len()) {
            if let Some(text) = self.said.get(at) {
                entries.push(("agent", text.as_str()));
            }
            if let Some(text) = self.user.get(at) {
                entries.push(("user", text.as_str()));
            }
        }
        entries
    }

    fn all_lines(&self) -> Vec<String> {
        self.transcript()
            .into_iter()
            .map(|(_, text)| text.to_owned())
            .collect()
    }

    fn has_tag(&self, tag: &str) -> bool {
        self.nodes.iter().flatten().any(|t| *t == tag)
    }

    /// The canonical write body.
    fn body(&self) -> Value {
        let transcript: Vec<Value> = self
            .transcript()
            .into_iter()
            .map(|(role, text)| json!({"role": role, "text": text}))
            .collect();
        let mut body = json!({
            "agent_id": self.agent,
            "status": self.status,
            "created_at": rfc3339(self.created),
            "from_number": self.from,
            "to_number": "+18005550100",
            "transcript": transcript,
        });
        if let Some(started) = self.started {
            body["started_at"] = json!(rfc3339(started));
        }
        if let Some(duration) = self.duration {
            body["duration_ms"] = json!(duration);
        }
        if !self.nodes.is_empty() {
            let path: Vec<Value> = self
                .nodes
                .iter()
                .enumerate()
                .map(|(at, tags)| {
                    let tags: Vec<Value> = tags
                        .iter()
                        .map(|tag| json!({"tag": tag, "category": "crm"}))
                        .collect();
                    json!({"type": "speak", "node_id": format!("n{at}"), "tags": tags})
                })
                .collect();
            body["flow"] = json!({"path": path});
        }
        body
    }
}

#[derive(Clone, Copy)]
enum Key {
    Agent,
    Status,
    Started,
    Created,
    Duration,
}

fn sort_value(rec: &Rec, key: Key) -> Option<SortValue> {
    match key {
        Key::Agent => Some(SortValue::Text(rec.agent.to_owned())),
        Key::Status => Some(SortValue::Text(rec.status.to_owned())),
        Key::Started => rec.started.map(SortValue::Number),
        Key::Created => Some(SortValue::Number(rec.created)),
        Key::Duration => rec
            .duration
            .map(|d| SortValue::Number(i64::try_from(d).unwrap())),
    }
}

/// The ids of the calls `keep` selects, in the order the server promises for `keys`.
fn expected(recs: &[Rec], keep: impl Fn(&Rec) -> bool, keys: &[(Key, bool)]) -> Vec<String> {
    let kept = recs.iter().filter(|rec| keep(rec)).collect();
    common::server_order(kept, keys, sort_value, |rec| rec.id.as_str())
}

const BY_ID: &[(Key, bool)] = &[];

fn write_corpus(client: &Client, recs: &[Rec]) {
    for rec in recs {
        let (status, body) = client.put(
            &format!("/v1/calls/{}?refresh=wait_for", rec.id),
            &rec.body(),
        );
        assert_eq!(status, 201, "{}: {body}", rec.id);
    }
}

fn query(client: &Client, body: &Value) -> Value {
    let (status, answer) = client.post("/v1/calls/query", body);
    assert_eq!(status, 200, "{body}: {answer}");
    answer
}

fn close(got: &Value, want: f64, what: &str) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {got}"));
    assert!(
        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// Polls `check` every 50 ms until it holds or `limit` passes; returns how long it took.
fn within(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if check() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- tests ---------------------------------------------------------------------------------

#[test]
fn every_query_clause_returns_exactly_the_expected_calls() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    type Keep = Box<dyn Fn(&Rec) -> bool>;
    let in_range = |low: i64, high: i64| {
        move |rec: &Rec| rec.started.is_some_and(|at| (low..high).contains(&at))
    };
    let cases: Vec<(Value, Keep)> = vec![
        (
            json!({"term": {"agent.id": "agent-b"}}),
            Box::new(|rec: &Rec| rec.agent == "agent-b"),
        ),
        (
            json!({"term": {"agent_id": "agent-c"}}),
            Box::new(|rec: &Rec| rec.agent == "agent-c"),
        ),
        (
            json!({"terms": {"status": ["failed", "no_answer"]}}),
            Box::new(|rec: &Rec| matches!(rec.status, "failed" | "no_answer")),
        ),
        (
            json!({"match": {"transcript.text": {"query": "cancel subscription", "operator": "and"}}}),
            Box::new(|rec: &Rec| {
                says(&rec.all_lines(), "cancel") && says(&rec.all_lines(), "subscription")
            }),
        ),
        (
            json!({"match": {"transcript.text": "cancel subscription"}}),
            Box::new(|rec: &Rec| {
                says(&rec.all_lines(), "cancel") || says(&rec.all_lines(), "subscription")
            }),
        ),
        (
            json!({"match": {"transcript.user": "REFUND invoice"}}),
            Box::new(|rec: &Rec| says(&rec.user, "refund") || says(&rec.user, "invoice")),
        ),
        (
            json!({"match": {"transcript.agent": "refund"}}),
            Box::new(|rec: &Rec| says(&rec.said, "refund")),
        ),
        (
            json!({"match_phrase": {"transcript.user": "love this agent"}}),
            Box::new(|rec: &Rec| says_phrase(&rec.user, "love this agent")),
        ),
        (
            json!({"range": {"duration_ms": {"gte": 29_000, "lt": 89_000}}}),
            Box::new(|rec: &Rec| rec.duration.is_some_and(|d| (29_000..89_000).contains(&d))),
        ),
        (
            json!({"range": {"duration_ms": {"gt": 29_000, "lte": 89_000}}}),
            Box::new(|rec: &Rec| rec.duration.is_some_and(|d| d > 29_000 && d <= 89_000)),
        ),
        (
            // A plain date as `lte` covers that whole day.
            json!({"range": {"started_at": {"gte": "2024-01-10", "lte": "2024-01-20"}}}),
            Box::new(in_range(ms(2024, 1, 10, 0, 0), ms(2024, 1, 21, 0, 0))),
        ),
        (
            json!({"range": {"started_at": {"gt": "2024-03-05T10:26:00Z", "lt": 1_711_929_600_000_i64}}}),
            Box::new(in_range(ms(2024, 3, 5, 10, 26) + 1, ms(2024, 4, 1, 0, 0))),
        ),
        (
            json!({"exists": {"field": "duration_ms"}}),
            Box::new(|rec: &Rec| rec.duration.is_some()),
        ),
        (
            json!({"bool": {"must_not": {"exists": {"field": "started_at"}}}}),
            Box::new(|rec: &Rec| rec.started.is_none()),
        ),
        (
            json!({"exists": {"field": "transcript.user"}}),
            Box::new(|rec: &Rec| !rec.user.is_empty()),
        ),
        (
            json!({"prefix": {"from_number": "+4420"}}),
            Box::new(|rec: &Rec| rec.from.starts_with("+4420")),
        ),
        (
            json!({"term": {"flow.path.tags.tag": "vip"}}),
            Box::new(|rec: &Rec| rec.has_tag("vip")),
        ),
        (
            json!({"bool": {
                "must": [{"match": {"transcript.text": "refund"}}],
                "filter": [{"range": {"duration_ms": {"gte": 20_000}}}],
                "should": [{"term": {"agent.id": "agent-a"}}, {"term": {"agent.id": "agent-c"}}],
                "must_not": [{"term": {"status": "failed"}}]
            }}),
            Box::new(|rec: &Rec| {
                says(&rec.all_lines(), "refund")
                    && rec.duration.is_some_and(|d| d >= 20_000)
                    && matches!(rec.agent, "agent-a" | "agent-c")
                    && rec.status != "failed"
            }),
        ),
        (
            json!({"bool": {
                "should": [
                    {"bool": {"must": [{"term": {"agent.id": "agent-d"}}]}},
                    {"term": {"flow.path.tags.tag": "churn"}}
                ],
                "must_not": {"terms": {"status": ["busy", "in_progress"]}}
            }}),
            Box::new(|rec: &Rec| {
                (rec.agent == "agent-d" || rec.has_tag("churn"))
                    && !matches!(rec.status, "busy" | "in_progress")
            }),
        ),
        (
            json!({"bool": {"filter": {"term": {"status": "completed"}},
                "must": {"prefix": {"from_number": "+1415"}}}}),
            Box::new(|rec: &Rec| rec.status == "completed" && rec.from.starts_with("+1415")),
        ),
    ];
    for (clause, keep) in &cases {
        let want = expected(&recs, keep, BY_ID);
        assert!(
            !want.is_empty() && want.len() < recs.len(),
            "corpus problem: {clause} selects {} of {}",
            want.len(),
            recs.len()
        );
        let answer = query(
            &client,
            &json!({"query": clause, "sort": [{"id": "asc"}], "size": 1000}),
        );
        assert_eq!(call_ids(&answer, "calls"), want, "{clause}");
        assert_eq!(answer["total"], want.len(), "{clause}");
    }
    // The phrase must sit in one utterance: "I love" | "this agent is slow" is no match.
    assert_eq!(
        expected(
            &recs,
            |rec| says_phrase(&rec.user, "love this agent"),
            BY_ID
        ),
        ["c02", "c10", "c18", "c26", "c34"]
    );
    // No query is every call.
    let answer = query(&client, &json!({"size": 1000, "track_total_hits": true}));
    assert_eq!(answer["total"], recs.len());
}

#[test]
fn sorts_order_every_call_and_break_ties_by_id() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    let cases: [(Value, &[(Key, bool)]); 5] = [
        (
            json!([{"agent.id": "asc"}, {"duration_ms": {"order": "desc"}}]),
            &[(Key::Agent, false), (Key::Duration, true)],
        ),
        (
            json!(["status", {"started_at": "asc"}]),
            &[(Key::Status, false), (Key::Started, false)],
        ),
        (json!([{"started_at": "desc"}]), &[(Key::Started, true)]),
        (json!({"duration_ms": "asc"}), &[(Key::Duration, false)]),
        (json!("created_at"), &[(Key::Created, false)]),
    ];
    for (sort, keys) in cases {
        let answer = query(&client, &json!({"sort": sort, "size": 100}));
        assert_eq!(
            call_ids(&answer, "calls"),
            expected(&recs, |_| true, keys),
            "sort {sort}"
        );
    }
    // What the corpus makes these orders prove.
    let started_desc = expected(&recs, |_| true, &[(Key::Started, true)]);
    let at = |id: &str| started_desc.iter().position(|x| x == id).unwrap();
    assert!(at("c25") < at("c24"), "same start: id descending");
    assert_eq!(started_desc.last().map(String::as_str), Some("c39"));
}

#[test]
fn from_and_size_page_through_everything_without_gaps_or_repeats() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    let sort = json!([{"status": "desc"}]);
    let want = expected(&recs, |_| true, &[(Key::Status, true)]);
    let mut walked = Vec::new();
    let mut from = 0;
    loop {
        let answer = query(&client, &json!({"sort": sort, "from": from, "size": 6}));
        assert_eq!(answer["total"], recs.len());
        assert_eq!(
            (answer["from"].as_u64(), answer["size"].as_u64()),
            (Some(from), Some(6))
        );
        let ids = call_ids(&answer, "calls");
        if ids.is_empty() {
            break;
        }
        assert!(ids.len() <= 6);
        walked.extend(ids);
        from += 6;
    }
    assert_eq!(walked, want);

    // The same walk with search_after: each page continues after the previous page's last
    // call, whatever the depth.
    let mut walked = Vec::new();
    let mut body = json!({"sort": sort, "size": 6});
    loop {
        let answer = query(&client, &body);
        assert_eq!(
            answer["total"],
            recs.len(),
            "total counts all matches, not what is left"
        );
        let ids = call_ids(&answer, "calls");
        let Some(last) = answer["calls"].as_array().and_then(|calls| calls.last()) else {
            break;
        };
        body["search_after"] = last["sort"].clone();
        walked.extend(ids);
    }
    assert_eq!(walked, want, "search_after pages");
}

#[test]
fn track_total_hits_bounds_the_count_as_in_elasticsearch() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    let all = u64::try_from(recs.len()).unwrap();
    for (track, total, relation) in [
        (None, all, "eq"),
        (Some(json!(true)), all, "eq"),
        (Some(json!(all)), all, "eq"),
        (Some(json!(all - 1)), all - 1, "gte"),
        (Some(json!(3)), 3, "gte"),
        (Some(json!(false)), 0, "gte"),
    ] {
        let body = match &track {
            None => json!({"size": 2}),
            Some(track) => json!({"size": 2, "track_total_hits": track}),
        };
        let answer = query(&client, &body);
        assert_eq!(
            (&answer["total"], &answer["total_relation"]),
            (&json!(total), &json!(relation)),
            "{body}"
        );
        assert_eq!(call_ids(&answer, "calls").len(), 2, "{body}");
    }
}

#[test]
fn fields_keep_only_the_named_paths() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    let fields = json!([
        "id",
        "agent.id",
        "transcript.entries.text",
        "flow.path.tags.tag"
    ]);
    let want: Vec<Value> = recs
        .iter()
        .map(|rec| {
            // A sorted answer carries each call's position for `search_after`: its value of
            // every sort key, then its id.
            let mut call =
                json!({"id": rec.id, "agent": {"id": rec.agent}, "sort": [rec.id, rec.id]});
            let texts: Vec<Value> = rec
                .transcript()
                .into_iter()
                .map(|(_, text)| json!({"text": text}))
                .collect();
            if !texts.is_empty() {
                call["transcript"] = json!({"entries": texts});
            }
            // As Elasticsearch's source filtering: array elements left empty are dropped.
            let nodes: Vec<Value> = rec
                .nodes
                .iter()
                .filter(|tags| !tags.is_empty())
                .map(|tags| {
                    let tags: Vec<Value> = tags.iter().map(|tag| json!({"tag": tag})).collect();
                    json!({"tags": tags})
                })
                .collect();
            if !nodes.is_empty() {
                call["flow"] = json!({"path": nodes});
            }
            call
        })
        .collect();
    for name in ["fields", "_source"] {
        let mut body = json!({"sort": ["id"], "size": 100});
        body[name] = fields.clone();
        let answer = query(&client, &body);
        assert_eq!(answer["calls"], json!(want), "{name}");
    }
    let answer = query(
        &client,
        &json!({"query": {"term": {"id": "c05"}}, "fields": "duration_ms"}),
    );
    assert_eq!(answer["calls"], json!([{"duration_ms": recs[5].duration}]));
}

#[test]
fn every_aggregation_answers_as_computed_from_the_corpus() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    let durations: Vec<f64> = recs
        .iter()
        .filter_map(|rec| rec.duration)
        .map(|d| d as f64)
        .collect();
    assert!(durations.len() < recs.len(), "corpus problem");
    let answer = query(
        &client,
        &json!({"size": 0, "aggs": {
            "by_agent": {"terms": {"field": "agent.id"},
                         "aggs": {"avg_duration": {"avg": {"field": "duration_ms"}}}},
            "durations": {"histogram": {"field": "duration_ms", "interval": 30_000}},
            "per_month": {"date_histogram": {"field": "started_at", "calendar_interval": "month"}},
            "bands": {"range": {"field": "duration_ms", "ranges": [
                {"key": "short", "to": 30_000},
                {"key": "medium", "from": 30_000, "to": 90_000},
                {"key": "long", "from": 90_000}]}},
            "avg": {"avg": {"field": "duration_ms"}},
            "sum": {"sum": {"field": "duration_ms"}},
            "min": {"min": {"field": "duration_ms"}},
            "max": {"max": {"field": "duration_ms"}},
            "stats": {"stats": {"field": "duration_ms"}},
            "pct": {"percentiles": {"field": "duration_ms", "percents": [50, 90]}},
            "agents": {"cardinality": {"field": "agent.id"}},
            "timed": {"value_count": {"field": "duration_ms"}}
        }}),
    );
    assert_eq!(answer["total"], recs.len());
    assert_eq!(answer["calls"], json!([]));
    let aggs = &answer["aggregations"];

    // terms, most frequent first, each with the mean duration of its calls.
    let mut per_agent: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for rec in &recs {
        *counts.entry(rec.agent).or_default() += 1;
        let slot = per_agent.entry(rec.agent).or_default();
        slot.extend(rec.duration.map(|d| d as f64));
    }
    let mut want: Vec<(&str, u64)> = counts.clone().into_iter().collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let buckets = aggs["by_agent"]["buckets"].as_array().unwrap();
    let got: Vec<(&str, u64)> = buckets
        .iter()
        .map(|b| (b["key"].as_str().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        got.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        [16, 12, 8, 4]
    );
    for bucket in buckets {
        let values = &per_agent[bucket["key"].as_str().unwrap()];
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        close(&bucket["avg_duration"]["value"], mean, "avg_duration");
    }

    // histogram: every 30 s slot from the first to the last, empty ones included.
    let mut slots: BTreeMap<i64, u64> = BTreeMap::new();
    for d in &durations {
        *slots.entry((d / 30_000.0).floor() as i64).or_default() += 1;
    }
    let (first, last) = (*slots.keys().next().unwrap(), *slots.keys().last().unwrap());
    let want: Vec<(f64, u64)> = (first..=last)
        .map(|slot| {
            (
                slot as f64 * 30_000.0,
                slots.get(&slot).copied().unwrap_or(0),
            )
        })
        .collect();
    let got: Vec<(f64, u64)> = aggs["durations"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_f64().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, want);

    // date_histogram by calendar month: January to April, February empty.
    let mut months: BTreeMap<(i32, u32), u64> = BTreeMap::new();
    for at in recs.iter().filter_map(|rec| rec.started) {
        let at = DateTime::from_timestamp_millis(at).unwrap();
        *months.entry((at.year(), at.month())).or_default() += 1;
    }
    months.entry((2024, 2)).or_default();
    assert_eq!(months.len(), 4, "corpus problem: {months:?}");
    let want: Vec<(i64, String, u64)> = months
        .into_iter()
        .map(|((year, month), n)| {
            let key = ms(year, month, 1, 0, 0);
            (key, rfc3339(key), n)
        })
        .collect();
    assert_eq!(want[1].2, 0);
    assert_eq!(date_buckets(&aggs["per_month"]), want);

    // range: the requested buckets, in order, `from` inclusive and `to` exclusive.
    let got: Vec<(&str, u64)> = aggs["bands"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_str().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    let band = |low: f64, high: f64| {
        durations
            .iter()
            .filter(|d| (low..high).contains(*d))
            .count() as u64
    };
    assert_eq!(
        got,
        [
            ("short", band(0.0, 30_000.0)),
            ("medium", band(30_000.0, 90_000.0)),
            ("long", band(90_000.0, f64::INFINITY)),
        ]
    );

    // metrics.
    let sum: f64 = durations.iter().sum();
    let count = durations.len() as f64;
    let min = durations.iter().copied().fold(f64::INFINITY, f64::min);
    let max = durations.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    close(&aggs["avg"]["value"], sum / count, "avg");
    close(&aggs["sum"]["value"], sum, "sum");
    close(&aggs["min"]["value"], min, "min");
    close(&aggs["max"]["value"], max, "max");
    close(&aggs["stats"]["count"], count, "stats.count");
    close(&aggs["stats"]["sum"], sum, "stats.sum");
    close(&aggs["stats"]["min"], min, "stats.min");
    close(&aggs["stats"]["max"], max, "stats.max");
    close(&aggs["stats"]["avg"], sum / count, "stats.avg");
    close(&aggs["agents"]["value"], 4.0, "cardinality");
    close(&aggs["timed"]["value"], count, "value_count");
    let mut sorted = durations.clone();
    sorted.sort_by(f64::total_cmp);
    for (percent, key) in [(50.0, "50.0"), (90.0, "90.0")] {
        let got = aggs["pct"]["values"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("no percentile {key} in {}", aggs["pct"]));
        // Any estimate between the two ranks around the percentile, within 2 %.
        let rank = percent / 100.0 * (sorted.len() - 1) as f64;
        let (low, high) = (sorted[rank.floor() as usize], sorted[rank.ceil() as usize]);
        assert!(
            got >= low * 0.98 && got <= high * 1.02,
            "p{percent}: got {got}, want within 2 % of [{low}, {high}]"
        );
    }

    // date_histogram by day, over January only: every day from the first to the last.
    let january = json!({"range": {"started_at": {"gte": "2024-01-01", "lt": "2024-02-01"}}});
    let mut days: BTreeMap<i64, u64> = BTreeMap::new();
    for at in recs.iter().filter_map(|rec| rec.started) {
        if (ms(2024, 1, 1, 0, 0)..ms(2024, 2, 1, 0, 0)).contains(&at) {
            *days.entry(at - at.rem_euclid(DAY_MS)).or_default() += 1;
        }
    }
    let (first, last) = (*days.keys().next().unwrap(), *days.keys().last().unwrap());
    let want: Vec<(i64, String, u64)> = (0..=(last - first) / DAY_MS)
        .map(|n| first + n * DAY_MS)
        .map(|day| (day, rfc3339(day), days.get(&day).copied().unwrap_or(0)))
        .collect();
    assert!(want.iter().any(|(_, _, n)| *n == 0), "corpus problem");
    for interval in [
        json!({"calendar_interval": "day"}),
        json!({"fixed_interval": "1d"}),
    ] {
        let mut histogram = json!({"field": "started_at"});
        histogram
            .as_object_mut()
            .unwrap()
            .extend(interval.as_object().unwrap().clone());
        let answer = query(
            &client,
            &json!({"query": january, "size": 0, "aggs": {"per_day": {"date_histogram": histogram}}}),
        );
        assert_eq!(
            date_buckets(&answer["aggregations"]["per_day"]),
            want,
            "{interval}"
        );
    }

    // terms with a size: the most frequent, and how many calls the rest hold.
    let answer = query(
        &client,
        &json!({"size": 0, "aggs": {
            "top2": {"terms": {"field": "agent.id", "size": 2}},
            "halves": {"range": {"field": "started_at", "ranges": [
                {"to": "2024-02-01"}, {"from": "2024-02-01T00:00:00Z"}]}}
        }}),
    );
    let top2 = &answer["aggregations"]["top2"];
    let got: Vec<(&str, u64)> = top2["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_str().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, [("agent-a", 16), ("agent-b", 12)]);
    assert_eq!(top2["sum_other_doc_count"], 12);
    let february = ms(2024, 2, 1, 0, 0);
    let got: Vec<u64> = answer["aggregations"]["halves"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .collect();
    let before = recs
        .iter()
        .filter(|rec| rec.started.is_some_and(|at| at < february))
        .count() as u64;
    let after = recs
        .iter()
        .filter(|rec| rec.started.is_some_and(|at| at >= february))
        .count() as u64;
    assert_eq!(got, [before, after]);

    // Aggregations follow the query.
    let answer = query(
        &client,
        &json!({"query": {"term": {"status": "completed"}}, "size": 0,
            "aggs": {"by_agent": {"terms": {"field": "agent.id"}}}}),
    );
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for rec in recs.iter().filter(|rec| rec.status == "completed") {
        *want.entry(rec.agent.to_owned()).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = bucket_counts(&answer["aggregations"]["by_agent"])
        .into_iter()
        .collect();
    assert_eq!(got, want);
}

/// `(key, key_as_string, doc_count)` of each bucket of a date histogram.
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

#[test]
fn bad_queries_are_refused_by_name() {
    let f = Fixture::new();
    let client = f.client();
    write_corpus(&client, &corpus()[..3]);
    let cases = [
        (
            json!({"query": {"term": {"colour": "red"}}}),
            vec!["colour"],
        ),
        (
            json!({"query": {"match": {"agent.id": "agent-a"}}}),
            vec!["agent.id", "term"],
        ),
        (
            json!({"query": {"match_phrase": {"from_number": "+4420"}}}),
            vec!["from_number", "term"],
        ),
        (
            json!({"query": {"term": {"source": "+4420"}}}),
            vec!["source"],
        ),
        (json!({"size": 1001}), vec!["size", "1000"]),
        (
            json!({"search_after": ["c05"], "sort": ["id"]}),
            vec!["search_after", "2 values"],
        ),
        (
            json!({"sort": [{"transcript.text": "asc"}]}),
            vec!["full-text"],
        ),
        (json!({"sort": [{"colour": "asc"}]}), vec!["colour"]),
        (
            json!({"query": {"range": {"duration_ms": {"gte": "soon"}}}}),
            vec!["duration_ms"],
        ),
        (
            json!({"query": {"range": {"agent.id": {"gte": 1}}}}),
            vec!["agent.id"],
        ),
        (
            json!({"aggs": {"x": {"avg": {"field": "agent.id"}}}}),
            vec!["agent.id"],
        ),
        (
            json!({"aggs": {"x": {"date_histogram": {"field": "started_at"}}}}),
            vec!["calendar_interval"],
        ),
        (json!({"fields": [""]}), vec!["empty"]),
        (json!({"colour": 1}), vec!["colour"]),
        (json!({"track_total_hits": "yes"}), vec!["track_total_hits"]),
    ];
    for (body, words) in cases {
        let what = body.to_string();
        assert_invalid(client.post("/v1/calls/query", &body), &words, &what);
    }
    assert_invalid(
        client.send_raw("POST", "/v1/calls/query", "{\"query\": "),
        &["malformed JSON"],
        "malformed body",
    );
}

#[test]
fn q_finds_exactly_the_calls_whose_transcript_says_the_word() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    let newest = &[(Key::Created, true)];
    let list = |query: &str| {
        let (status, body) = client.get(&format!("/v1/calls?{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        body
    };
    type Keep = Box<dyn Fn(&Rec) -> bool>;
    let cases: Vec<(&str, Keep)> = vec![
        (
            "q=refund&limit=100",
            Box::new(|rec: &Rec| says(&rec.all_lines(), "refund")),
        ),
        (
            "q=Subscription&limit=100",
            Box::new(|rec: &Rec| says(&rec.all_lines(), "subscription")),
        ),
        (
            "q=refund&agent_id=agent-a&limit=100",
            Box::new(|rec: &Rec| says(&rec.all_lines(), "refund") && rec.agent == "agent-a"),
        ),
        (
            "q=refund&status=completed&limit=100",
            Box::new(|rec: &Rec| says(&rec.all_lines(), "refund") && rec.status == "completed"),
        ),
        (
            "q=refund&from=2024-03-01&to=2024-03-20&limit=100",
            Box::new(|rec: &Rec| {
                says(&rec.all_lines(), "refund")
                    && (ms(2024, 3, 1, 0, 0)..ms(2024, 3, 21, 0, 0)).contains(&rec.created)
            }),
        ),
        (
            "q=refund%20invoice&limit=100",
            Box::new(|rec: &Rec| {
                says(&rec.all_lines(), "refund") || says(&rec.all_lines(), "invoice")
            }),
        ),
        (
            "q=cancel&status=completed,failed&agent_id=agent-b&limit=100",
            Box::new(|rec: &Rec| {
                says(&rec.all_lines(), "cancel")
                    && matches!(rec.status, "completed" | "failed")
                    && rec.agent == "agent-b"
            }),
        ),
    ];
    for (query, keep) in &cases {
        let want = expected(&recs, keep, newest);
        assert!(
            !want.is_empty() && want.len() < recs.len(),
            "corpus problem: {query} selects {}",
            want.len()
        );
        let body = list(query);
        assert_eq!(call_ids(&body, "calls"), want, "{query}");
        assert_eq!(body["total"], want.len(), "{query}");
    }
    let refund = expected(&recs, |rec| says(&rec.all_lines(), "refund"), newest);
    let at = |id: &str| refund.iter().position(|x| x == id).unwrap();
    assert!(at("c25") < at("c24"), "same created_at: id descending");
    // Pages of a q search are slices of the same order.
    let want = expected(&recs, |rec| says(&rec.all_lines(), "refund"), newest);
    assert!(want.len() > 6, "corpus problem");
    let body = list("q=refund&limit=3&page=2");
    assert_eq!(call_ids(&body, "calls"), want[3..6]);
    assert_eq!(
        (body["page"].as_u64(), body["limit"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(body["total"], want.len());
    // A word nobody said.
    let body = list("q=zebra");
    assert_eq!(
        (body["total"].as_u64(), body["calls"].clone()),
        (Some(0), json!([]))
    );

    assert_invalid(
        client.get("/v1/calls?q=refund&search=%2B4420"),
        &["search", "q"],
        "q with search",
    );
}

#[test]
fn the_field_catalogue_says_how_each_field_is_searched() {
    let f = Fixture::new();
    let (status, body) = f.client().get("/v1/fields");
    assert_eq!(status, 200, "{body}");
    let fields = body["fields"].as_array().unwrap();
    let field = |name: &str| {
        fields
            .iter()
            .find(|field| field["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in {body}"))
    };
    assert_eq!(field("transcript.text")["search"], "full_text");
    assert_eq!(field("transcript.user")["search"], "full_text");
    assert_eq!(field("agent.id")["search"], "term");
    assert_eq!(field("duration_ms")["search"], "term");
    assert_eq!(field("transcript.text")["sortable"], false);
    assert_eq!(field("duration_ms")["sortable"], true);
    assert_eq!(f.server.anonymous().get("/v1/fields").0, 401);
}

#[test]
fn writes_are_searchable_as_soon_as_refresh_says_and_soon_without_it() {
    let f = Fixture::new();
    let client = f.client();
    let found = |id: &str| {
        query(&client, &json!({"query": {"term": {"id": id}}}))["total"]
            .as_u64()
            .unwrap()
    };
    let said = |word: &str| {
        let (status, body) = client.get(&format!("/v1/calls?q={word}"));
        assert_eq!(status, 200);
        call_ids(&body, "calls")
    };
    for n in 0..5 {
        let id = format!("fresh-{n}");
        let body = json!({"agent_id": "agent-f", "status": "completed",
            "transcript": [{"role": "user", "text": format!("zebra{n} crossing")}]});
        let (status, _) = client.put(&format!("/v1/calls/{id}?refresh=wait_for"), &body);
        assert_eq!(status, 201);
        assert_eq!(found(&id), 1, "{id} right after PUT ?refresh=wait_for");
        assert_eq!(said(&format!("zebra{n}")), [id.as_str()]);
    }
    let (status, _) = client.patch(
        "/v1/calls/fresh-1?refresh=wait_for",
        &json!({"status": "failed"}),
    );
    assert_eq!(status, 200);
    let answer = query(&client, &json!({"query": {"term": {"status": "failed"}}}));
    assert_eq!(call_ids(&answer, "calls"), ["fresh-1"]);
    let (status, _) = client.delete("/v1/calls/fresh-0?refresh=wait_for");
    assert_eq!(status, 204);
    assert_eq!(found("fresh-0"), 0, "right after DELETE ?refresh=wait_for");
    assert_eq!(said("zebra0"), Vec::<String>::new());

    // Without refresh: near-real-time, within about a second (5 s allowed).
    let (status, _) = client.put(
        "/v1/calls/late",
        &json!({"status": "completed", "transcript": [{"role": "user", "text": "okapi"}]}),
    );
    assert_eq!(status, 201);
    let took = within(Duration::from_secs(5), "PUT without refresh", || {
        found("late") == 1
    });
    eprintln!("a write without refresh became searchable after {took:?}");
    let (status, _) = client.delete("/v1/calls/late");
    assert_eq!(status, 204);
    within(Duration::from_secs(5), "DELETE without refresh", || {
        found("late") == 0
    });
    assert_invalid(
        client.put("/v1/calls/x?refresh=soon", &json!({})),
        &["refresh"],
        "refresh=soon",
    );
}

#[test]
fn the_index_catches_up_after_sigkill_and_is_rebuilt_when_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = create_key(&data, "org_a", "read,write");
    // Default durability, as a user would run it.
    let server = Server::start(&data, &[]);
    let client = server.client(&key);
    let ids: Vec<String> = (0..20).map(|n| format!("crash-{n:02}")).collect();
    for (n, id) in ids.iter().enumerate() {
        // In progress: an ended call would also get a report, a second change whose timing
        // would make the change-log positions below vary.
        let body = json!({"agent_id": if n % 2 == 0 { "agent-even" } else { "agent-odd" },
            "status": "in_progress", "duration_ms": 1000 * n,
            "transcript": [{"role": "user", "text": "kiwi smoothie"}]});
        // No refresh: the kill comes before the index has committed (most of) these.
        assert_eq!(client.put(&format!("/v1/calls/{id}"), &body).0, 201);
    }
    server.kill();
    // Whether the kill landed between the SQLite commits and the index commit is up to the
    // scheduler; say which case this run exercised.
    eprintln!(
        "at SIGKILL the index had committed changes up to {} of 20",
        index_position(&data)
    );

    let server = Server::start(&data, &[]);
    let client = server.client(&key);
    let all = json!({"query": {"terms": {"id": ids}}, "size": 100, "sort": ["id"]});
    let kiwi =
        json!({"query": {"match": {"transcript.text": "kiwi"}}, "size": 100, "sort": ["id"]});
    within(
        Duration::from_secs(5),
        "calls written before SIGKILL",
        || query(&client, &all)["total"] == 20,
    );
    assert_eq!(call_ids(&query(&client, &all), "calls"), ids);
    assert_eq!(call_ids(&query(&client, &kiwi), "calls"), ids);

    // More calls, these searchable before the kill; then the index goes away entirely.
    for n in 20..25 {
        let body = json!({"agent_id": "agent-late", "status": "in_progress", "duration_ms": 500,
            "transcript": [{"role": "agent", "text": "kiwi season"}]});
        let (status, _) = client.put(&format!("/v1/calls/crash-{n:02}?refresh=wait_for"), &body);
        assert_eq!(status, 201);
    }
    server.kill();

    // The index's last commits lost, its documents kept: the follower replays the change log
    // from the start again, replacing each call's document rather than adding a second one.
    assert_eq!(index_position(&data), "25");
    set_index_position(&data, "0");
    let server = Server::start(&data, &[]);
    let client = server.client(&key);
    within(Duration::from_secs(5), "replay from sequence 0", || {
        index_position(&data) == "25"
    });
    let replayed = query(&client, &json!({"size": 100, "sort": ["id"]}));
    assert_eq!(replayed["total"], 25, "no call is counted twice");
    assert_eq!(call_ids(&query(&client, &kiwi), "calls").len(), 25);
    server.kill();

    let index = data.join("index");
    assert!(index.is_dir(), "the index lives in {}", index.display());
    std::fs::remove_dir_all(&index).unwrap();

    let server = Server::start(&data, &[]);
    let client = server.client(&key);
    let every = json!({"size": 100, "sort": ["id"],
        "aggs": {"by_agent": {"terms": {"field": "agent.id"}}, "total_ms": {"sum": {"field": "duration_ms"}}}});
    within(Duration::from_secs(10), "the rebuilt index", || {
        query(&client, &every)["total"] == 25
    });
    let answer = query(&client, &every);
    let want: Vec<String> = (0..25).map(|n| format!("crash-{n:02}")).collect();
    assert_eq!(call_ids(&answer, "calls"), want);
    let buckets: BTreeMap<String, u64> = bucket_counts(&answer["aggregations"]["by_agent"])
        .into_iter()
        .collect();
    let expected_buckets: BTreeMap<String, u64> =
        [("agent-even", 10), ("agent-odd", 10), ("agent-late", 5)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    assert_eq!(buckets, expected_buckets);
    close(
        &answer["aggregations"]["total_ms"]["value"],
        (0..20).map(|n| 1000.0 * f64::from(n)).sum::<f64>() + 2500.0,
        "sum of durations",
    );
    assert_eq!(call_ids(&query(&client, &kiwi), "calls"), want);
    let late = query(
        &client,
        &json!({"query": {"term": {"agent.id": "agent-late"}}, "sort": ["id"]}),
    );
    assert_eq!(call_ids(&late, "calls"), want[20..]);
}

/// Calendar buckets covering `times` from the first to the last, empty ones between
/// included, as `(key, key_as_string, doc_count)`; `edge` maps an instant to its bucket.
fn calendar(
    times: &[i64],
    edge: impl Fn(i64) -> i64,
    next: impl Fn(i64) -> i64,
) -> Vec<(i64, String, u64)> {
    let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
    for at in times {
        *counts.entry(edge(*at)).or_default() += 1;
    }
    let (Some(first), Some(last)) = (counts.keys().next().copied(), counts.keys().last().copied())
    else {
        return Vec::new();
    };
    let mut buckets = Vec::new();
    let mut key = first;
    while key <= last {
        buckets.push((key, rfc3339(key), counts.get(&key).copied().unwrap_or(0)));
        key = next(key);
    }
    buckets
}

#[test]
fn date_histograms_inside_terms_cover_each_buckets_own_span() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    let answer = query(
        &client,
        &json!({"size": 0, "aggs": {"by_agent": {"terms": {"field": "agent.id"}, "aggs": {
            "per_week": {"date_histogram": {"field": "started_at", "fixed_interval": "7d"}},
            "per_month": {"date_histogram": {"field": "started_at", "calendar_interval": "month"}}
        }}}}),
    );
    let week = 7 * DAY_MS;
    let month_start = |at: i64| {
        let at = DateTime::from_timestamp_millis(at).unwrap();
        ms(at.year(), at.month(), 1, 0, 0)
    };
    let next_month = |at: i64| month_start(at + 32 * DAY_MS);
    let buckets = answer["aggregations"]["by_agent"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(buckets.len(), 4);
    // As in Elasticsearch, each agent's histograms are computed over that agent's calls:
    // with min_doc_count 0 they fill the gaps between its own first and last bucket, with
    // nothing before or after (agent-a's calls are in January and March only).
    let mut months_differ = false;
    for bucket in buckets {
        let agent = bucket["key"].as_str().unwrap();
        let times: Vec<i64> = recs
            .iter()
            .filter(|rec| rec.agent == agent)
            .filter_map(|rec| rec.started)
            .collect();
        let weeks = calendar(&times, |at| at - at.rem_euclid(week), |key| key + week);
        assert_eq!(
            date_buckets(&bucket["per_week"]),
            weeks,
            "{agent}: per_week"
        );
        let months = calendar(&times, month_start, next_month);
        months_differ |= months.len() != 4;
        assert_eq!(
            date_buckets(&bucket["per_month"]),
            months,
            "{agent}: per_month"
        );
    }
    assert!(
        months_differ,
        "corpus problem: every agent spans January to April"
    );
}

/// The change-log sequence the index's last commit includes (the payload of tantivy's
/// `meta.json`, see `crates/store/src/index/mod.rs`).
fn index_position(data: &std::path::Path) -> String {
    let meta = std::fs::read_to_string(data.join("index/meta.json")).unwrap_or_default();
    let meta: Value = serde_json::from_str(&meta).unwrap_or(Value::Null);
    let payload = meta["payload"].as_str().unwrap_or("none");
    // `<format>:<sequence>`; the format mark is the store's business.
    payload
        .rsplit_once(':')
        .map_or(payload, |(_, sequence)| sequence)
        .to_owned()
}

/// Rewrites the index's recorded position, as if its later commits had been lost.
fn set_index_position(data: &std::path::Path, position: &str) {
    let path = data.join("index/meta.json");
    let mut meta: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let payload = meta["payload"].as_str().unwrap().to_owned();
    let (format, _) = payload.rsplit_once(':').unwrap();
    meta["payload"] = json!(format!("{format}:{position}"));
    std::fs::write(&path, serde_json::to_vec(&meta).unwrap()).unwrap();
}

#[test]
fn highlight_marks_the_query_words_in_each_returned_call() {
    let f = Fixture::new();
    let client = f.client();
    let recs = corpus();
    write_corpus(&client, &recs);
    let answer = query(
        &client,
        &json!({"query": {"match": {"transcript.user": "subscription refund"}},
                "size": 100, "fields": ["id"],
                "highlight": {"fields": {"transcript.user": {}},
                              "pre_tags": ["<<"], "post_tags": [">>"]}}),
    );
    let calls = answer["calls"].as_array().unwrap();
    let wanted = ["subscription", "refund"];
    let matching: Vec<&Rec> = recs
        .iter()
        .filter(|rec| wanted.iter().any(|word| says(&rec.user, word)))
        .collect();
    assert_eq!(calls.len(), matching.len());
    for call in calls {
        let id = call["id"].as_str().unwrap();
        let rec = recs.iter().find(|rec| rec.id == id).unwrap();
        // Each of the caller's lines that says a word, the word wrapped, the rest as said.
        let expected: Vec<String> = rec
            .user
            .iter()
            .filter(|line| {
                wanted
                    .iter()
                    .any(|word| says(std::slice::from_ref(line), word))
            })
            .map(|line| {
                line.split(' ')
                    .map(|word| {
                        if wanted.contains(&word.to_lowercase().as_str()) {
                            format!("<<{word}>>")
                        } else {
                            word.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            call["highlight"]["transcript.user"],
            json!(expected),
            "{call}"
        );
    }
    // Only full-text fields highlight, and the refusal names the field.
    assert_invalid(
        client.post(
            "/v1/calls/query",
            &json!({"query": {"match_all": {}}, "highlight": {"fields": {"status": {}}}}),
        ),
        &["highlight", "`status`", "full-text"],
        "a keyword field",
    );
}
