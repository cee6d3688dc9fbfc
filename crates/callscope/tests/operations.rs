//! What an operator watches: `/metrics` parses as Prometheus text and its counters move
//! with requests; `/readyz` turns 503, naming the index, when the index can no longer follow
//! the store, and a write that waits for the index then gives up and says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Fixture;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// One sample line: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the Prometheus text format (0.0.4) strictly enough to refuse what a scraper would:
/// every line is a `# HELP`, a `# TYPE` or a sample `name{label="value",…} number`, and
/// every sample belongs to a declared family (a histogram's through `_bucket`, `_sum` and
/// `_count`).
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            families.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("a sample and its value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            number => number.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, BTreeMap::new()),
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("labels end with }");
                let mut parsed = BTreeMap::new();
                for pair in labels.split("\",").filter(|pair| !pair.is_empty()) {
                    let (key, value) = pair.split_once("=\"").expect("label=\"value\"");
                    assert!(
                        key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{line}"
                    );
                    parsed.insert(key.to_owned(), value.trim_end_matches('"').to_owned());
                }
                (name, parsed)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        let family = families.contains_key(name)
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .is_some_and(|base| families.get(base).is_some_and(|k| k == "histogram"))
            });
        assert!(family, "sample of no declared family: {line}");
        samples.push((name.to_owned(), labels, value));
    }
    samples
}

fn scrape(fixture: &Fixture) -> Vec<Sample> {
    let answer = fixture.server.anonymous().exchange("GET", "/metrics", None);
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        answer.headers
    );
    // The body is text, not JSON: fetch it again as text.
    let text = ureq::get(format!("{}/metrics", fixture.server.base))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    parse_prometheus(&text)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).is_some_and(|have| have == v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[test]
fn metrics_parse_as_prometheus_text_and_move_with_requests() {
    let fixture = Fixture::new();
    let client = fixture.client();
    client.post(
        "/v1/calls",
        &json!({"id": "secret-call-id", "status": "in_progress"}),
    );
    let before = scrape(&fixture);
    for _ in 0..3 {
        assert_eq!(client.get("/v1/calls/secret-call-id").0, 200);
    }
    assert_eq!(client.get("/v1/nothing-here").0, 404);
    let after = scrape(&fixture);

    let requests = "callscope_http_requests_total";
    let get_call = [("route", "/v1/calls/{id}"), ("status", "200")];
    assert_eq!(
        value(&after, requests, &get_call) - value(&before, requests, &get_call),
        3.0
    );
    let unmatched = [("route", "unmatched"), ("status", "404")];
    assert_eq!(
        value(&after, requests, &unmatched) - value(&before, requests, &unmatched),
        1.0
    );
    let latency = "callscope_http_request_duration_seconds_count";
    assert_eq!(
        value(&after, latency, &[("route", "/v1/calls/{id}")])
            - value(&before, latency, &[("route", "/v1/calls/{id}")]),
        3.0
    );
    // The store's figures are there, and no series names a tenant or a call.
    for name in [
        "callscope_writer_queue_depth",
        "callscope_writer_commit_duration_seconds_count",
        "callscope_index_lag_changes",
        "callscope_index_lag_seconds",
        "callscope_report_queue_depth",
        "callscope_webhook_outbox_depth",
        "callscope_database_bytes",
        "callscope_index_bytes",
    ] {
        assert!(after.iter().any(|(n, _, _)| n == name), "no {name}");
    }
    assert!(value(&after, "callscope_database_bytes", &[]) > 0.0);
    let labels: BTreeSet<&String> = after.iter().flat_map(|(_, l, _)| l.values()).collect();
    assert!(
        !labels
            .iter()
            .any(|v| v.contains("secret-call-id") || v.contains("org_a")),
        "{labels:?}"
    );
}

#[test]
fn readyz_turns_503_when_the_index_cannot_follow_and_waiting_writes_give_up() {
    let fixture = Fixture::with_args(&[
        "--ready-max-index-lag-ms",
        "500",
        "--refresh-timeout-ms",
        "1000",
    ]);
    let anonymous = fixture.server.anonymous();
    let (status, ready) = anonymous.get("/readyz");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["checks"]["index"], "ok");

    // The index directory vanishes under the server (a lost volume, an operator's
    // mistake): the follower can no longer commit what it applies.
    let index = fixture.data_dir().join("index");
    std::fs::rename(&index, fixture.data_dir().join("index.lost")).unwrap();
    std::fs::write(&index, b"not a directory").unwrap();
    let client = fixture.client();
    let (status, written) = client.post(
        "/v1/calls?refresh=wait_for",
        &json!({"id": "late", "status": "in_progress"}),
    );
    assert_eq!(status, 503, "{written}");
    assert_eq!(written["code"], "TIMEOUT");
    assert!(
        written["error"]
            .as_str()
            .is_some_and(|e| e.contains("stored") && e.contains("refresh_timeout_ms")),
        "{written}"
    );
    // Stored all the same, as the answer said.
    assert_eq!(client.get("/v1/calls/late").0, 200);

    let deadline = Instant::now() + Duration::from_secs(20);
    let not_ready = loop {
        let answer = anonymous.exchange("GET", "/readyz", None);
        if answer.status == 503 {
            break answer;
        }
        assert!(Instant::now() < deadline, "still ready: {}", answer.body);
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(not_ready.body["code"], "NOT_READY");
    assert!(not_ready.header("retry-after").is_some());
    let index_check = not_ready.body["checks"]["index"].as_str().unwrap();
    assert!(
        index_check.contains("trails the store"),
        "{}",
        not_ready.body
    );
    assert_eq!(not_ready.body["checks"]["writer"], "ok");
    // Liveness is another matter: the process still answers.
    assert_eq!(anonymous.get("/healthz").0, 200);
}
