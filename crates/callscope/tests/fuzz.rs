//! A seeded fuzz test of every route, as a hostile tenant would drive it: a few thousand
//! requests with generated bodies (call writes, bool queries, aggregation trees, live
//! appends, transfers, webhooks, raw garbage), query strings (every parameter with wrong,
//! huge and malformed values, unknown parameters, invalid UTF-8) and path segments (other
//! tenants' ids, `%FF`, very long ids), against the real binary on a store of 1,000 demo
//! calls. Every answer must come over a live connection, be below 500, and, when it is an
//! error, be the `{"error", "code"}` shape; a second organization's calls must be
//! byte-identical afterwards.
//!
//! A second test drives the dashboard the same way with signed-in sessions (an admin's, a
//! reader's, a forged one): every page with generated filters (bool queries in the advanced
//! box, cursors, dates), and every form with and without its CSRF token. No answer is a 5xx,
//! an error is a page or the error shape, a forged session is sent to sign in, a write
//! without the token never succeeds, and the second organization is unchanged.
//!
//! `CALLSCOPE_FUZZ_SEED` and `CALLSCOPE_FUZZ_CASES` replay or widen a run; a failure prints
//! the seed, the case and the request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, Fixture, create_key, csrf_in, encode, run_cli, session_token};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// SplitMix64: small, and the same stream on every platform and version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Every route of the router, with its methods: what the fuzzer aims at.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/calls"),
    ("GET", "/v1/calls"),
    ("POST", "/v1/calls/search"),
    ("POST", "/v1/calls/query"),
    ("GET", "/v1/fields"),
    ("GET", "/v1/calls/export"),
    ("POST", "/v1/calls/import"),
    ("POST", "/v1/calls/delete_by_query"),
    ("GET", "/v1/calls/{id}"),
    ("PUT", "/v1/calls/{id}"),
    ("PATCH", "/v1/calls/{id}"),
    ("DELETE", "/v1/calls/{id}"),
    ("POST", "/v1/calls/{id}/transcript"),
    ("POST", "/v1/traces"),
    ("POST", "/v1/calls/{id}/metrics"),
    ("POST", "/v1/calls/{id}/events"),
    ("GET", "/v1/calls/{id}/events"),
    ("GET", "/v1/calls/{id}/recording"),
    ("PUT", "/v1/calls/{id}/recording"),
    ("GET", "/v1/calls/{id}/report"),
    ("POST", "/v1/calls/{id}/report"),
    ("POST", "/v1/calls/{id}/transfers"),
    ("GET", "/v1/calls/{id}/transfers"),
    ("GET", "/v1/calls/{id}/transfers/{tid}"),
    ("POST", "/v1/calls/{id}/transfers/{tid}/status"),
    ("POST", "/v1/calls/{id}/transfers/{tid}/cancel"),
    ("POST", "/v1/calls/{id}/transfers/{tid}/complete"),
    ("GET", "/v1/agents/{id}/analysis"),
    ("PUT", "/v1/agents/{id}/analysis"),
    ("GET", "/v1/agents/{id}/retention"),
    ("PUT", "/v1/agents/{id}/retention"),
    ("DELETE", "/v1/agents/{id}/retention"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{id}"),
    ("PATCH", "/v1/webhooks/{id}"),
    ("DELETE", "/v1/webhooks/{id}"),
    ("POST", "/v1/webhooks/{id}/rotate-secret"),
    ("GET", "/v1/webhooks/{id}/deliveries"),
    ("POST", "/v1/webhooks/{id}/deliveries/{tid}/redeliver"),
    ("GET", "/v1/organization"),
    ("PATCH", "/v1/organization"),
    ("GET", "/insights/sessions"),
    ("GET", "/insights/sessions/search/{id}"),
    ("DELETE", "/insights/sessions/{id}"),
    ("GET", "/insights/sessions/{id}/parameters"),
    ("GET", "/recordings/{org}/{id}/{channels}"),
];

/// Query-string parameters the routes know, and a few they do not.
const PARAMETERS: &[&str] = &[
    "agent_id",
    "campaign_id",
    "status",
    "call_type",
    "search",
    "from",
    "to",
    "q",
    "sort",
    "page",
    "limit",
    "cursor",
    "refresh",
    "channels",
    "expires",
    "signature",
    "grace_seconds",
    "from_date",
    "to_date",
    "page_number",
    "page_size",
    "sort_by",
    "project_fields",
    "filter_by",
    "aggs",
    "session_start_time",
    "format",
    "query",
    "bogus",
];

/// What the generator draws ids and field names from.
struct World {
    org_a_ids: Vec<String>,
    org_b_ids: Vec<String>,
    native_fields: Vec<String>,
    /// Native fields aggregations compute on: numbers and dates.
    numeric_fields: Vec<String>,
    date_fields: Vec<String>,
    insights_fields: Vec<String>,
    agents: Vec<String>,
}

struct Gen<'w> {
    rng: Rng,
    world: &'w World,
}

impl Gen<'_> {
    fn text(&mut self) -> String {
        match self.rng.below(12) {
            0 => String::new(),
            1 => "x".repeat(5000),
            2 => "ümlaut ✓ 通话 \u{0} \u{202e}".into(),
            3 => "2026-11-01".into(),
            4 => "2026-13-45T99:99:99Z".into(),
            5 => "1e309".into(),
            6 => "refund order appointment".into(),
            7 => "{\"must\": [".into(),
            8 => self.rng.pick(&self.world.agents).clone(),
            9 => self.rng.pick(&self.world.org_b_ids).clone(),
            10 => "%FF%FE".into(),
            _ => format!("w{}", self.rng.below(1000)),
        }
    }

    fn number(&mut self) -> Value {
        match self.rng.below(10) {
            0 => json!(0),
            1 => json!(-1),
            2 => json!(u64::MAX),
            3 => json!(i64::MIN),
            4 => json!(1e300),
            5 => json!(1e-300),
            6 => json!(0.5),
            7 => json!(65_537),
            8 => json!(1_790_000_000_000_i64),
            _ => json!(self.rng.below(100_000)),
        }
    }

    fn scalar(&mut self) -> Value {
        match self.rng.below(6) {
            0 | 1 => Value::String(self.text()),
            2 | 3 => self.number(),
            4 => Value::Bool(self.rng.chance(50)),
            _ => Value::Null,
        }
    }

    fn any(&mut self, depth: usize) -> Value {
        if depth == 0 || self.rng.chance(50) {
            return self.scalar();
        }
        if self.rng.chance(50) {
            Value::Array(
                (0..self.rng.below(4))
                    .map(|_| self.any(depth - 1))
                    .collect(),
            )
        } else {
            let mut object = Map::new();
            for _ in 0..self.rng.below(4) {
                object.insert(self.text(), self.any(depth - 1));
            }
            Value::Object(object)
        }
    }

    fn field(&mut self, insights: bool) -> String {
        if self.rng.chance(8) {
            return self.text();
        }
        let fields = if insights {
            &self.world.insights_fields
        } else {
            &self.world.native_fields
        };
        self.rng.pick(fields).clone()
    }

    /// A bool query, mostly well formed.
    fn query(&mut self, depth: usize, insights: bool) -> Value {
        if depth == 0 || self.rng.chance(40) {
            let field = self.field(insights);
            let value = self.scalar();
            return match self.rng.below(10) {
                0 => json!({"term": {field: value}}),
                1 => json!({"terms": {field: [value, self.scalar()]}}),
                2 => json!({"match": {field: self.text()}}),
                3 => json!({"match_phrase": {field: {"query": self.text()}}}),
                4 => json!({"range": {field: {"gte": value, "lt": self.scalar()}}}),
                5 => json!({"exists": {"field": field}}),
                6 => json!({"prefix": {field: value}}),
                7 => json!({"match_all": {}}),
                8 => json!({"term": {field: value, "other": 1}}),
                _ => self.any(2),
            };
        }
        let mut body = Map::new();
        for occurrence in ["must", "filter", "should", "must_not"] {
            if self.rng.chance(40) {
                let clauses: Vec<Value> = (0..self.rng.below(4))
                    .map(|_| self.query(depth - 1, insights))
                    .collect();
                body.insert(occurrence.into(), Value::Array(clauses));
            }
        }
        if insights && self.rng.chance(50) {
            Value::Object(body)
        } else {
            json!({"bool": body})
        }
    }

    /// A field of the kind an aggregation wants, most of the time (on `/v1`).
    fn field_of(&mut self, fields: fn(&World) -> &Vec<String>, insights: bool) -> String {
        if insights || self.rng.chance(20) {
            return self.field(insights);
        }
        self.rng.pick(fields(self.world)).clone()
    }

    /// An aggregation tree, with intervals and sizes from sensible to absurd.
    fn aggs(&mut self, depth: usize, insights: bool) -> Value {
        let mut aggs = Map::new();
        for n in 0..1 + self.rng.below(3) {
            let kind = self.rng.below(13);
            let field = match kind {
                0 => self.field(insights),
                2 | 3 => self.field_of(|w| &w.date_fields, insights),
                _ => self.field_of(|w| &w.numeric_fields, insights),
            };
            let interval = self.number();
            let kind = match kind {
                0 => json!({"terms": {"field": field, "size": self.number()}}),
                1 => json!({"histogram": {"field": field, "interval": interval,
                                          "min_doc_count": self.rng.below(2)}}),
                2 => {
                    let fixed = *self
                        .rng
                        .pick(&["1ms", "1s", "0s", "90m", "999999999d", "x"]);
                    json!({"date_histogram": {"field": field, "fixed_interval": fixed}})
                }
                3 => {
                    let calendar = *self.rng.pick(&["day", "month", "year", "1q", "fortnight"]);
                    json!({"date_histogram": {"field": field, "calendar_interval": calendar}})
                }
                4 => {
                    let ranges: Vec<Value> = (0..self.rng.below(5))
                        .map(|_| json!({"from": self.number(), "to": self.number()}))
                        .collect();
                    json!({"range": {"field": field, "ranges": ranges}})
                }
                5 => json!({"avg": {"field": field}}),
                6 => json!({"sum": {"field": field}}),
                7 => json!({"min": {"field": field}}),
                8 => json!({"stats": {"field": field}}),
                9 => json!({"cardinality": {"field": field}}),
                10 => json!({"value_count": {"field": field}}),
                11 => json!({"percentiles": {"field": field, "percents": [self.number()]}}),
                _ => self.any(2),
            };
            let mut agg = kind;
            if depth > 0 && self.rng.chance(40) && agg.is_object() {
                agg["aggs"] = self.aggs(depth - 1, insights);
            }
            aggs.insert(format!("a{n}"), agg);
        }
        Value::Object(aggs)
    }

    fn call_body(&mut self) -> Value {
        let mut body = json!({
            "agent_id": self.rng.pick(&self.world.agents).clone(),
            "status": *self.rng.pick(&["in_progress", "completed", "failed", "busy", "nope"]),
            "from_number": "+15550001111",
            "transcript": [{"role": "user", "text": self.text()}],
        });
        for _ in 0..self.rng.below(3) {
            let key = *self.rng.pick(&[
                "id",
                "direction",
                "kind",
                "started_at",
                "ended_at",
                "duration_ms",
                "metadata",
                "transcript",
                "flow",
                "cost",
                "analysis",
                "recording",
                "unknown_field",
                "organization_id",
            ]);
            body[key] = self.any(3);
        }
        body
    }

    fn body(&mut self, template: &str) -> Vec<u8> {
        if self.rng.chance(12) {
            return self.garbage();
        }
        if template == "/v1/calls/import" {
            return self.import_body();
        }
        let insights = template.starts_with("/insights");
        let value = match template {
            "/v1/calls" | "/v1/calls/{id}" => self.call_body(),
            "/v1/calls/search" => {
                let count = *self.rng.pick(&[0, 1, 100, 101, 5000]);
                let ids: Vec<Value> = (0..count)
                    .map(|_| json!(self.rng.pick(&self.world.org_b_ids)))
                    .collect();
                json!({"call_ids": ids})
            }
            "/v1/calls/query" => {
                let mut body = json!({"query": self.query(4, insights)});
                if self.rng.chance(50) {
                    body["aggs"] = self.aggs(3, insights);
                }
                if self.rng.chance(30) {
                    body["sort"] = json!([{ self.field(false): "desc" }]);
                }
                if self.rng.chance(30) {
                    body["size"] = self.number();
                }
                if self.rng.chance(20) {
                    body["from"] = self.number();
                }
                if self.rng.chance(20) {
                    body["search_after"] = json!([self.scalar(), self.text()]);
                }
                if self.rng.chance(20) {
                    body["fields"] = json!([self.text(), "id"]);
                }
                if self.rng.chance(15) {
                    body["track_total_hits"] = self.scalar();
                }
                if self.rng.chance(25) {
                    let field = if self.rng.chance(70) {
                        (*self.rng.pick(&[
                            "transcript.text",
                            "transcript.user",
                            "analysis.summary",
                        ]))
                        .to_owned()
                    } else {
                        self.field(false)
                    };
                    body["highlight"] = json!({
                        "fields": {field: {"fragment_size": self.number(),
                                           "number_of_fragments": self.number()}},
                        "pre_tags": [self.text()],
                        "encoder": *self.rng.pick(&["html", "default", "x"]),
                        "order": *self.rng.pick(&["score", "none"]),
                    });
                }
                body
            }
            "/v1/calls/{id}/transcript" => {
                json!({"entries": [{"role": *self.rng.pick(&["user", "agent", "robot"]),
                                    "text": self.text(), "start_ms": self.number()}]})
            }
            "/v1/calls/{id}/events" => {
                json!({"events": [{"type": self.text(), "occurred_at": self.scalar(),
                                   "data": self.any(2)}]})
            }
            "/v1/calls/{id}/metrics" => json!({
                "usage": [{"component": *self.rng.pick(&["llm", "stt", "tts", "telephony", "x"]),
                           "provider": "openai", "model": "gpt-4o-mini",
                           "unit": *self.rng.pick(&["input_tokens", "seconds", "bananas"]),
                           "units": self.number()}],
                "latency": [{"turn": self.number(), "agent_ms": self.number()}]
            }),
            "/v1/calls/{id}/transfers" => json!({
                "kind": *self.rng.pick(&["blind", "warm", "teleport"]),
                "transfer_to": "+15550002222",
                "targets": if self.rng.chance(30) { self.any(2) } else { json!(null) },
            }),
            "/v1/calls/{id}/transfers/{tid}/status" => json!({
                "status": *self.rng.pick(&["dialing", "ringing", "completed", "failed", "x"]),
            }),
            "/v1/agents/{id}/analysis" => json!({"extractors": [
                {"name": self.text(), "kind": *self.rng.pick(&["regex", "date", "phone", "x"]),
                 "pattern": *self.rng.pick(&["(", "[a-z]+", "(?P<x>\\d{4})", ".*"])}]}),
            "/v1/webhooks" | "/v1/webhooks/{id}" => json!({
                "url": *self.rng.pick(&[
                    "http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://169.254.169.254/",
                    "http://[::1]/", "http://localhost/x", "http://93.184.216.34:9/hook",
                    "ftp://x", "http://", "not a url",
                ]),
                "events": [*self.rng.pick(&["call.started", "call.ended", "call.analyzed", "x"])],
                "enabled": self.rng.chance(50),
            }),
            "/v1/organization" => {
                let mut body = json!({"public_recordings": self.scalar()});
                if self.rng.chance(50) {
                    body["retention_days"] = self.retention_days();
                }
                if self.rng.chance(30) {
                    body["redaction"] = match self.rng.below(3) {
                        0 => json!({"kinds": ["phone", "email", "card"],
                                    "patterns": [{"name": "ID", "regex": "[A-Z]{2}-[0-9]{4}"}]}),
                        1 => {
                            json!({"kinds": [self.text()], "patterns": [{"name": self.text(), "regex": self.text()}]})
                        }
                        _ => self.any(3),
                    };
                }
                body
            }
            "/v1/agents/{id}/retention" => json!({"retention_days": self.retention_days()}),
            "/v1/calls/delete_by_query" => {
                json!({"query": self.query(4, false), "dry_run": self.rng.chance(70)})
            }
            _ => self.any(3),
        };
        serde_json::to_vec(&value).unwrap()
    }

    /// NDJSON of calls as an export writes them, some whole, some broken: ids of the other
    /// organization (an import is the caller's, and must not reach them), blank lines, CRs.
    fn import_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        for _ in 0..self.rng.below(6) {
            let mut line = self.call_body();
            line["id"] = if self.rng.chance(50) {
                json!(self.rng.pick(&self.world.org_b_ids).clone())
            } else {
                json!(self.text())
            };
            for key in ["created_at", "updated_at"] {
                line[key] = if self.rng.chance(80) {
                    json!("2026-11-01T10:00:00Z")
                } else {
                    self.scalar()
                };
            }
            if self.rng.chance(20) {
                line["events"] = self.any(2);
            }
            if self.rng.chance(20) {
                line["transfers"] = self.any(2);
            }
            if self.rng.chance(25) {
                line = self.foreign_document();
            }
            let mut bytes = if self.rng.chance(10) {
                self.garbage()
            } else if self.rng.chance(15) {
                // Pretty-printed over many lines, as a seed's example is; now and then cut off.
                let mut pretty = serde_json::to_vec_pretty(&line).unwrap();
                if self.rng.chance(30) {
                    pretty.truncate(self.rng.below(pretty.len() + 1));
                }
                pretty
            } else {
                serde_json::to_vec(&line).unwrap()
            };
            bytes.extend_from_slice(if self.rng.chance(20) { b"\r\n" } else { b"\n" });
            body.extend(bytes);
        }
        body
    }

    /// A seed-001 search answer or a seed-004 call with one field made anything.
    fn foreign_document(&mut self) -> Value {
        let mut document = if self.rng.chance(50) {
            common::fixture("seed001_session_example.json")
        } else {
            common::fixture("seed004_get_call.json")
        };
        let target = match document.get_mut("hits") {
            Some(hits) => &mut hits[0],
            None => &mut document,
        };
        if let Some(object) = target.as_object_mut() {
            let keys: Vec<String> = object.keys().cloned().collect();
            let key = self.rng.pick(&keys).clone();
            let value = self.any(3);
            object.insert(key, value);
        }
        document
    }

    /// A retention in days: in range, at its bounds, past them, or not a number.
    fn retention_days(&mut self) -> Value {
        match self.rng.below(4) {
            0 => json!(
                *self
                    .rng
                    .pick(&[0, 1, 36_500, 36_501, -1, 4_294_967_296_i64])
            ),
            1 => self.scalar(),
            _ => json!(self.rng.below(400) + 1),
        }
    }

    /// Bytes no JSON parser should take calmly.
    fn garbage(&mut self) -> Vec<u8> {
        match self.rng.below(7) {
            0 => vec![0xFF, 0xFE, 0xC3, 0x28, b'{'],
            1 => "[".repeat(100_000).into_bytes(),
            2 => format!("{}1{}", "{\"a\":".repeat(300), "}".repeat(300)).into_bytes(),
            3 => b"{\"query\": 1e999999}".to_vec(),
            4 => b"{\"entries\": [{\"text\": \"\\ud800\"}]}".to_vec(),
            5 => Vec::new(),
            _ => (0..self.rng.below(200))
                .map(|_| self.rng.next() as u8)
                .collect(),
        }
    }

    fn segment(&mut self, template_part: &str) -> String {
        match self.rng.below(10) {
            0 => "%FF".into(),
            1 => encode("x".repeat(3000).as_bytes()),
            2 => encode(self.rng.pick(&self.world.org_b_ids).as_bytes()),
            3 => encode(self.text().as_bytes()),
            4 => "..%2F..%2Fetc%2Fpasswd".into(),
            _ if template_part == "{channels}" => {
                (*self.rng.pick(&["mono", "dual", "quad"])).to_owned()
            }
            _ if template_part == "{org}" => (*self.rng.pick(&["org_a", "org_b"])).to_owned(),
            _ => encode(self.rng.pick(&self.world.org_a_ids).as_bytes()),
        }
    }

    fn path(&mut self, template: &str) -> String {
        template
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    self.segment(part)
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    fn query_value(&mut self, parameter: &str) -> String {
        let value = match (parameter, self.rng.below(4)) {
            ("filter_by", 0 | 1) => self.query(4, true).to_string(),
            ("query", 0 | 1) => self.query(4, false).to_string(),
            ("format", 0 | 1) => (*self
                .rng
                .pick(&["ndjson", "csv", "auto", "vonage", "seed004"]))
            .to_owned(),
            ("aggs", 0 | 1) => self.aggs(3, true).to_string(),
            ("project_fields", 0 | 1) => json!([self.field(true), self.text()]).to_string(),
            ("sort_by" | "sort", 0) => format!("{}:desc", self.field(parameter == "sort_by")),
            (_, 2) => self.number().to_string(),
            _ => self.text(),
        };
        self.encoded(&value)
    }

    /// `value` percent-encoded, or now and then bytes that are invalid UTF-8 once decoded.
    fn encoded(&mut self, value: &str) -> String {
        if self.rng.chance(5) {
            return "%C3%28%FF".into();
        }
        encode(value.as_bytes())
    }

    /// Up to four `name=value` pairs of `parameters`, each value from `value`.
    fn pairs(&mut self, parameters: &[&str], value: fn(&mut Self, &str) -> String) -> Vec<String> {
        (0..self.rng.below(5))
            .map(|_| {
                let parameter = *self.rng.pick(parameters);
                format!("{parameter}={}", value(self, parameter))
            })
            .collect()
    }

    fn query_string(&mut self) -> String {
        let mut pairs = self.pairs(PARAMETERS, Self::query_value);
        if self.rng.chance(5) {
            pairs.push("=&&%zz=1".into());
        }
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }
}

/// The three aggregations that once answered 500: they are refused by name now.
const NAMED_AGGREGATIONS: [&str; 3] = [
    r#"{"size":0,"aggs":{"h":{"histogram":{"field":"duration_ms","interval":1e-9}}}}"#,
    r#"{"size":0,"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1ms"}}}}"#,
    r#"{"size":0,"aggs":{"t":{"terms":{"field":"agent.id","size":10000},"aggs":{"h":{"date_histogram":{"field":"started_at","fixed_interval":"1s"}}}}}}"#,
];

/// Everything organization B can see of itself, as bytes.
fn snapshot(client: &Client, ids: &[String]) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    for id in ids {
        for path in [
            format!("/v1/calls/{id}"),
            format!("/v1/calls/{id}/events"),
            format!("/v1/calls/{id}/report"),
            format!("/v1/calls/{id}/transfers"),
            format!("/insights/sessions/search/{id}"),
        ] {
            let answer = client.exchange("GET", &path, None);
            seen.push((path, answer.body.to_string()));
        }
    }
    for path in ["/v1/webhooks", "/v1/organization"] {
        seen.push((
            path.to_owned(),
            client.exchange("GET", path, None).body.to_string(),
        ));
    }
    seen
}

fn ids_of(client: &Client) -> Vec<String> {
    let (status, page) = client.get("/v1/calls?limit=1000");
    assert_eq!(status, 200, "{page}");
    page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| call["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A second tenant with 40 demo calls, whose calls the fuzzer knows by id and must never
/// change: its admin client and its call ids.
fn second_tenant(fixture: &Fixture) -> (Client, Vec<String>) {
    let data = fixture.data_dir();
    run_cli(&[
        "demo",
        "--data-dir",
        data.to_str().unwrap(),
        "--org",
        "org_b",
        "--calls",
        "40",
        "--seed",
        "7",
    ]);
    let org_b = fixture
        .server
        .client(&create_key(&data, "org_b", "read,write,admin"));
    // The demo calls were written behind the server's back: let it index them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ids = ids_of(&org_b);
        let (_, found) = org_b.post("/v1/calls/query", &json!({"size": 0}));
        if ids.len() == 40 && found["total"] == 40 {
            return (org_b, ids);
        }
        assert!(std::time::Instant::now() < deadline, "org_b never indexed");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The seed and the number of cases: `CALLSCOPE_FUZZ_SEED` and `CALLSCOPE_FUZZ_CASES`, or
/// the defaults CI runs.
fn seed_and_cases() -> (u64, usize) {
    let seed = std::env::var("CALLSCOPE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_203);
    let cases = std::env::var("CALLSCOPE_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    (seed, cases)
}

fn is_error_shape(body: &Value) -> bool {
    body.get("error").is_some_and(Value::is_string)
        && body.get("code").is_some_and(Value::is_string)
}

#[test]
fn no_request_a_key_can_send_breaks_the_server_or_reaches_another_tenant() {
    let (seed, cases) = seed_and_cases();
    let fixture = Fixture::with_demo(
        1000,
        &["--rate-limit", "0", "--max-concurrent-searches", "8"],
    );
    let data = fixture.data_dir();
    let (org_b, org_b_ids) = second_tenant(&fixture);
    let client = fixture.client();
    let before = snapshot(&org_b, &org_b_ids);

    let (_, fields) = client.get("/v1/fields");
    let of_types = |types: &[&str]| -> Vec<String> {
        fields["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| types.iter().any(|t| f["type"] == *t))
            .filter_map(|f| f["name"].as_str().map(str::to_owned))
            .collect()
    };
    let native_fields = of_types(&[
        "keyword", "text", "long", "double", "date", "bool", "dynamic",
    ]);
    assert!(native_fields.len() > 50, "{fields}");
    let world = World {
        org_a_ids: ids_of(&client),
        org_b_ids: org_b_ids.clone(),
        native_fields,
        numeric_fields: of_types(&["long", "double", "date"]),
        date_fields: of_types(&["date"]),
        insights_fields: [
            "source",
            "destination",
            "status",
            "agent_information.id",
            "agent_id",
            "channel_data.duration",
            "transcription.client",
            "transcription.agent",
            "session_start_time",
            "flow_path.type",
            "flow_path.tags.tag",
            "parameters.city",
            "tags.vip",
            "language",
            "id",
        ]
        .map(str::to_owned)
        .to_vec(),
        agents: vec!["agent_1".into(), "support-bot".into(), String::new()],
    };
    let mut generator = Gen {
        rng: Rng(seed),
        world: &world,
    };
    let keys = [
        client,
        fixture.server.anonymous(),
        fixture.server.client(&create_key(&data, "org_a", "read")),
        fixture
            .server
            .client("cs_0000000000000000000000000000000000000000"),
    ];

    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    // The exchange before, which shares the connection: a server that closes it without
    // saying so fails the next request, not its own.
    let mut previous = String::new();
    for case in 0..cases {
        let named = NAMED_AGGREGATIONS.get(case);
        let (method, path, body) = if let Some(named) = named {
            (
                "POST".to_owned(),
                "/v1/calls/query".to_owned(),
                Some(named.as_bytes().to_vec()),
            )
        } else {
            let (method, template) = *generator.rng.pick(ROUTES);
            let method = if generator.rng.chance(4) {
                (*generator
                    .rng
                    .pick(&["GET", "POST", "PUT", "PATCH", "DELETE"]))
                .to_owned()
            } else {
                method.to_owned()
            };
            let path = if generator.rng.chance(3) {
                format!("/{}", encode(generator.text().as_bytes()))
            } else {
                generator.path(template)
            };
            let path = format!("{path}{}", generator.query_string());
            let body = matches!(method.as_str(), "POST" | "PUT" | "PATCH")
                .then(|| generator.body(template));
            (method, path, body)
        };
        let key = if named.is_some() || generator.rng.chance(85) {
            &keys[0]
        } else {
            generator.rng.pick(&keys[1..])
        };
        let shown_body = body
            .as_deref()
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
            .unwrap_or_default();
        let after = std::mem::take(&mut previous);
        let context =
            || format!("seed {seed}, case {case}: {method} {path} {shown_body}\n  after {after}");
        let answer = key
            .try_exchange_bytes(&method, &path, body)
            .unwrap_or_else(|error| panic!("{}: the connection failed: {error}", context()));
        *statuses.entry(answer.status).or_default() += 1;
        previous = format!(
            "{method} {path} {shown_body} -> {} {:?}",
            answer.status, answer.headers
        );
        // The cause of a 5xx is in the server's log (the answer says nothing internal).
        let log = || {
            let log = fixture.server.log();
            log[log.len().saturating_sub(2000)..].to_owned()
        };
        assert!(
            answer.status < 500,
            "{}: answered {} {}\nserver log: {}",
            context(),
            answer.status,
            answer.body,
            log()
        );
        // OTLP's receiver answers failures as `google.rpc.Status`, as exporters expect.
        let otlp = path.starts_with("/v1/traces");
        if answer.status >= 400 && !otlp {
            assert!(
                is_error_shape(&answer.body),
                "{}: {} without the error shape: {}",
                context(),
                answer.status,
                answer.body
            );
        }
        if named.is_some() {
            assert_eq!(answer.status, 400, "{}: {}", context(), answer.body);
            let message = answer.body["error"].as_str().unwrap_or_default();
            assert!(message.contains("max_buckets"), "{}: {message}", context());
        }
    }
    eprintln!("seed {seed}: {cases} cases, statuses {statuses:?}");
    assert!(
        statuses.get(&200).is_some_and(|n| *n > cases / 20),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&400).is_some_and(|n| *n > cases / 10),
        "{statuses:?}"
    );

    // The other tenant saw nothing of it.
    assert_eq!(ids_of(&org_b).len(), org_b_ids.len());
    let after = snapshot(&org_b, &org_b_ids);
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{path} of org_b changed");
    }
    // And the server is still whole.
    assert_eq!(keys[0].get("/healthz").0, 200);
    assert_eq!(keys[1].get("/readyz").0, 200);
}

/// The dashboard's routes a signed-in user can reach, with their methods. The live stream
/// is left out (it never ends) and so is sign-out (it would end the fuzzer's session).
const PAGES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/calls"),
    ("GET", "/calls.csv"),
    ("GET", "/calls.ndjson"),
    ("GET", "/calls/{id}"),
    ("POST", "/calls/{id}/delete"),
    ("POST", "/calls/{id}/analyze"),
    ("GET", "/analytics"),
    ("GET", "/live"),
    ("GET", "/settings"),
    ("POST", "/settings/keys"),
    ("POST", "/settings/keys/{id}/revoke"),
    ("POST", "/settings/recordings"),
    ("POST", "/settings/agents/{id}/extractors"),
    ("POST", "/settings/webhooks"),
    ("GET", "/settings/webhooks/{id}"),
    ("POST", "/settings/webhooks/{id}"),
    ("POST", "/settings/webhooks/{id}/delete"),
    ("POST", "/settings/webhooks/{id}/deliveries/{tid}/redeliver"),
    ("GET", "/assets/app.css"),
];

/// The parameters of the call filters every list page takes, and one it does not.
const FILTERS: &[&str] = &[
    "from",
    "to",
    "agent",
    "campaign",
    "status",
    "call_type",
    "direction",
    "outcome",
    "sentiment",
    "tag",
    "q",
    "advanced",
    "sort",
    "order",
    "after",
    "page",
    "bogus",
];

/// The fields of the dashboard's forms.
const FORM_FIELDS: &[&str] = &[
    "key",
    "next",
    "confirm",
    "name",
    "read",
    "write",
    "admin",
    "public",
    "extractors",
    "url",
    "description",
    "enabled",
    "event.call.ended",
    "event.bogus",
];

impl Gen<'_> {
    fn filter_value(&mut self, name: &str) -> String {
        let value = match (name, self.rng.below(4)) {
            ("advanced", 0 | 1) => self.query(3, false).to_string(),
            ("sort", 0 | 1) => self.field(false),
            ("order", 0) => (*self.rng.pick(&["asc", "desc"])).to_owned(),
            ("after", 0 | 1) => json!([self.scalar(), self.text()]).to_string(),
            ("from" | "to", 0 | 1) => {
                (*self
                    .rng
                    .pick(&["2026-11-20", "2026-11-20T10:00", "1970-01-01", "9999-12-31"]))
                .to_owned()
            }
            (_, 2) => self.number().to_string(),
            _ => self.text(),
        };
        self.encoded(&value)
    }

    fn filters(&mut self) -> String {
        let pairs = self.pairs(FILTERS, Self::filter_value);
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }

    /// A form body: the session's CSRF token most of the time, then fields of the forms
    /// with values from sensible to hostile.
    fn form(&mut self, csrf: &str) -> (Vec<u8>, bool) {
        if self.rng.chance(8) {
            return (self.garbage(), false);
        }
        let mut pairs = Vec::new();
        let with_token = self.rng.chance(80);
        if with_token {
            pairs.push(format!("csrf={csrf}"));
        } else if self.rng.chance(50) {
            pairs.push(format!("csrf={}", encode(self.text().as_bytes())));
        }
        for _ in 0..self.rng.below(4) {
            let field = *self.rng.pick(FORM_FIELDS);
            let value = match (field, self.rng.below(3)) {
                ("extractors", 0) => json!([{"name": self.text(), "type": "regex",
                                             "pattern": *self.rng.pick(&["(", "\\d+", ".*"])}])
                .to_string(),
                ("extractors", 1) => self.any(3).to_string(),
                ("url", 0 | 1) => (*self.rng.pick(&[
                    "http://127.0.0.1:9/x",
                    "http://169.254.169.254/",
                    "http://93.184.216.34:9/hook",
                    "ftp://x",
                    "http://",
                ]))
                .to_owned(),
                ("read" | "write" | "admin" | "public" | "enabled" | "confirm", 0 | 1) => {
                    "yes".to_owned()
                }
                (name, 0 | 1) if name.starts_with("event.") => "yes".to_owned(),
                _ => self.text(),
            };
            pairs.push(format!("{field}={}", encode(value.as_bytes())));
        }
        (pairs.join("&").into_bytes(), with_token)
    }
}

/// Signs in with `key`; the session token and the CSRF token of its forms.
fn session_of(fixture: &Fixture, key: &str) -> (String, String) {
    let answer = fixture
        .server
        .anonymous()
        .try_exchange_bytes("POST", "/sign-in", Some(format!("key={key}").into_bytes()))
        .unwrap();
    // The plain client sends no form content type, and the sign-in form must say so.
    assert_eq!(answer.status, 400, "{answer:?}");
    let signed_in = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .new_agent()
        .post(format!("{}/sign-in", fixture.server.base))
        .content_type("application/x-www-form-urlencoded")
        .send(format!("key={key}"))
        .unwrap();
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .expect("a session cookie");
    let token = session_token(cookie);
    let page = ureq::Agent::config_builder()
        .build()
        .new_agent()
        .get(format!("{}/calls", fixture.server.base))
        .header("cookie", format!("callscope_session={token}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    (token, csrf_in(&page))
}

#[test]
fn no_page_or_form_a_session_can_send_breaks_the_server_or_reaches_another_tenant() {
    // Pages are heavier than API calls: a third as many cases.
    let (seed, cases) = seed_and_cases();
    let cases = cases / 3;
    let fixture = Fixture::with_demo(400, &["--rate-limit", "0"]);
    let (org_b, org_b_ids) = second_tenant(&fixture);
    let before = snapshot(&org_b, &org_b_ids);
    let client = fixture.client();
    let world = World {
        org_a_ids: ids_of(&client),
        org_b_ids: org_b_ids.clone(),
        native_fields: client.get("/v1/fields").1["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["name"].as_str().map(str::to_owned))
            .collect(),
        numeric_fields: Vec::new(),
        date_fields: Vec::new(),
        insights_fields: Vec::new(),
        agents: vec!["agent_1".into(), "support-bot".into(), String::new()],
    };
    let mut generator = Gen {
        rng: Rng(seed),
        world: &world,
    };
    let (admin_token, admin_csrf) = session_of(&fixture, &fixture.key);
    let data = fixture.data_dir();
    let (reader_token, reader_csrf) = session_of(&fixture, &create_key(&data, "org_a", "read"));
    let base = fixture.server.base.clone();
    let sessions = [
        (
            Client::with_session(&base, &admin_token),
            admin_csrf.as_str(),
        ),
        (
            Client::with_session(&base, &reader_token),
            reader_csrf.as_str(),
        ),
        (Client::with_session(&base, "forged"), "forged"),
    ];

    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for case in 0..cases {
        let (method, template) = *generator.rng.pick(PAGES);
        let path = if generator.rng.chance(3) {
            format!("/{}", encode(generator.text().as_bytes()))
        } else {
            generator.path(template)
        };
        let route = path.clone();
        let path = format!("{path}{}", generator.filters());
        let who = if generator.rng.chance(85) {
            0
        } else {
            1 + generator.rng.below(2)
        };
        let (session, csrf) = &sessions[who];
        let (body, with_token) = if method == "POST" {
            let (body, with_token) = generator.form(csrf);
            (Some(body), with_token)
        } else {
            (None, false)
        };
        let shown_body = body
            .as_deref()
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
            .unwrap_or_default();
        let shown_path = path.get(..path.len().min(400)).unwrap_or(&path);
        let context = || format!("seed {seed}, case {case}: {method} {shown_path} {shown_body}");
        let answer = session
            .try_exchange_bytes(method, &path, body)
            .unwrap_or_else(|error| panic!("{}: the connection failed: {error}", context()));
        *statuses.entry(answer.status).or_default() += 1;
        assert!(
            answer.status < 500,
            "{}: answered {}\nserver log: {}",
            context(),
            answer.status,
            fixture.server.log()
        );
        if answer.status >= 400 {
            let html = answer
                .header("content-type")
                .is_some_and(|kind| kind.starts_with("text/html"));
            assert!(
                html || is_error_shape(&answer.body),
                "{}: {} is neither a page nor the error shape: {:?}",
                context(),
                answer.status,
                answer.headers
            );
        }
        // A forged session is sent to sign in, and a write without the session's token
        // never succeeds.
        let signs_in = answer.status == 303
            && answer
                .header("location")
                .is_some_and(|to| to.starts_with("/sign-in"));
        let forged = who == 2;
        // (`/` only points at `/calls`, and the sign-in page and the assets are public.)
        let public = matches!(route.as_str(), "/" | "/sign-in") || route.starts_with("/assets/");
        if forged && !public {
            assert!(
                signs_in || answer.status >= 400,
                "{}: {}",
                context(),
                answer.status
            );
        }
        if method == "POST" && route != "/sign-in" && !with_token && !forged {
            assert!(answer.status >= 400, "{}: {}", context(), answer.status);
        }
    }
    eprintln!("seed {seed}: {cases} dashboard cases, statuses {statuses:?}");
    assert!(
        statuses.get(&200).is_some_and(|n| *n > cases / 5),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&303).is_some_and(|n| *n > 0),
        "some forms went through: {statuses:?}"
    );

    // The other tenant saw nothing of it, and the fuzzer's own session still works.
    assert_eq!(ids_of(&org_b).len(), org_b_ids.len());
    let after = snapshot(&org_b, &org_b_ids);
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{path} of org_b changed");
    }
    assert_eq!(sessions[0].0.exchange("GET", "/calls", None).status, 200);
}

/// A protobuf `MetricsRecordingHeader` with `job_id` (field 8) and a recording start
/// (field 4, a `Timestamp` of `seconds`), encoded by hand from the wire format.
fn recording_header(job_id: &str, seconds: u64) -> Vec<u8> {
    fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }
    let mut timestamp = vec![0x08];
    varint(seconds, &mut timestamp);
    let mut header = vec![0x22];
    varint(timestamp.len() as u64, &mut header);
    header.extend(timestamp);
    header.push(0x42);
    varint(job_id.len() as u64, &mut header);
    header.extend_from_slice(job_id.as_bytes());
    header
}

impl Gen<'_> {
    /// A session report upload as LiveKit makes it, or something like it: parts missing,
    /// repeated, unknown or mangled, headers and chat histories of every shape.
    fn session_report(&mut self, boundary: &str, now: u64) -> Vec<u8> {
        let job = (*self
            .rng
            .pick(&["AJ_fuzz1", "AJ_fuzz2", "", "bad id/with slash", "AJ_x"]))
        .to_owned();
        let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
        if self.rng.chance(90) {
            let header = match self.rng.below(5) {
                0 => self.garbage(),
                1 => recording_header(&job, 0),
                _ => recording_header(&job, now - self.rng.below(3600) as u64),
            };
            parts.push(("header".into(), header));
        }
        if self.rng.chance(80) {
            let item = |role: &str, text: Value, at: Value| {
                json!({"id": "item_1", "type": "message", "role": role, "content": [text],
                       "created_at": at,
                       "metrics": {"started_speaking_at": at, "llm_node_ttft": 0.3}})
            };
            let role = *self.rng.pick(&["assistant", "system", "x"]);
            let history = match self.rng.below(6) {
                0 => self.garbage(),
                1 => serde_json::to_vec(&json!({"items": self.any(3)})).unwrap(),
                2 => serde_json::to_vec(&self.any(3)).unwrap(),
                _ => serde_json::to_vec(&json!({"items": [
                    item("user", json!(self.text()), json!(now as f64 + 1.5)),
                    item(role, self.scalar(), self.number()),
                    {"type": "function_call", "call_id": "c1", "name": self.text(),
                     "arguments": self.any(2), "created_at": self.number()},
                    {"type": "function_call_output", "call_id": "c1", "output": self.any(2),
                     "is_error": self.scalar(), "created_at": now},
                ]}))
                .unwrap(),
            };
            parts.push(("chat_history".into(), history));
        }
        if self.rng.chance(50) {
            let audio = if self.rng.chance(60) {
                common::wav(8000, 400 + self.rng.below(8000) as u32)
            } else {
                self.garbage()
            };
            parts.push(("audio".into(), audio));
        }
        if self.rng.chance(15) {
            parts.push((self.text(), self.garbage()));
        }
        if self.rng.chance(10) && !parts.is_empty() {
            let again = parts[self.rng.below(parts.len())].clone();
            parts.push(again);
        }
        let mut body = Vec::new();
        for (name, bytes) in parts {
            write!(
                Buffer(&mut body),
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{name}.bin\"\r\n\r\n"
            )
            .unwrap();
            body.extend(bytes);
            body.extend_from_slice(b"\r\n");
        }
        if self.rng.chance(90) {
            write!(Buffer(&mut body), "--{boundary}--\r\n").unwrap();
        }
        if self.rng.chance(15) && !body.is_empty() {
            for _ in 0..1 + self.rng.below(4) {
                let at = self.rng.below(body.len());
                match self.rng.below(3) {
                    0 => body[at] ^= 1 << self.rng.below(8),
                    1 => body.truncate(at.max(1)),
                    _ => body.insert(at, self.rng.next() as u8),
                }
            }
        }
        body
    }

    /// An OTLP/JSON logs export with a `session report` record whose usage is of any shape.
    fn session_usage_logs(&mut self) -> Vec<u8> {
        let usage: Vec<Value> = (0..self.rng.below(4))
            .map(|_| {
                let figure = |g: &mut Self| match g.rng.below(3) {
                    0 => json!({"doubleValue": g.number()}),
                    1 => json!({"intValue": g.text()}),
                    _ => json!({"stringValue": g.text()}),
                };
                json!({"kvlistValue": {"values": [
                    {"key": "type", "value": {"stringValue":
                        *self.rng.pick(&["llm_usage", "tts_usage", "stt_usage", "x"])}},
                    {"key": "provider", "value": {"stringValue": "deepgram"}},
                    {"key": *self.rng.pick(&["input_tokens", "audio_duration", "characters_count"]),
                     "value": figure(self)},
                ]}})
            })
            .collect();
        let job = *self
            .rng
            .pick(&["AJ_fuzz1", "AJ_fuzz3", "", "bad id/with slash"]);
        let body = json!({"resourceLogs": [{"scopeLogs": [{
            "scope": {"name": "chat_history",
                      "attributes": [{"key": "job_id", "value": {"stringValue": job}}]},
            "logRecords": [{
                "timeUnixNano": self.number(),
                "body": {"stringValue": *self.rng.pick(&["session report", "chat item"])},
                "attributes": [
                    {"key": "usage", "value": {"arrayValue": {"values": usage}}},
                    {"key": "session.report_timestamp", "value": {"doubleValue": self.number()}},
                ],
            }],
        }]}]});
        if self.rng.chance(20) {
            return self.garbage();
        }
        serde_json::to_vec(&body).unwrap()
    }
}

/// `write!` into a byte buffer.
struct Buffer<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Buffer<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

#[test]
fn no_session_report_a_livekit_agent_can_send_breaks_the_server() {
    let (seed, cases) = seed_and_cases();
    let cases = cases / 10;
    let livekit_key = "org_a=APIfuzz:a-livekit-secret-for-fuzzing";
    let fixture = Fixture::with_args(&["--rate-limit", "0", "--livekit-key", livekit_key]);
    let token = common::python::livekit_token("APIfuzz", "a-livekit-secret-for-fuzzing", true);
    let names = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let world = World {
        org_a_ids: names(&["AJ_fuzz1"]),
        org_b_ids: names(&["AJ_fuzz2"]),
        native_fields: names(&["id"]),
        numeric_fields: names(&["duration_ms"]),
        date_fields: names(&["started_at"]),
        insights_fields: names(&["id"]),
        agents: names(&["front-desk", ""]),
    };
    let mut generator = Gen {
        rng: Rng(seed),
        world: &world,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for case in 0..cases {
        let upload = generator.rng.chance(70);
        let (path, body, content_type) = if upload {
            let boundary = "fuzzBoundary7";
            let content_type = if generator.rng.chance(90) {
                format!("multipart/form-data; boundary={boundary}")
            } else {
                (*generator
                    .rng
                    .pick(&["multipart/form-data", "application/json", ""]))
                .to_owned()
            };
            let body = generator.session_report(boundary, now);
            ("/observability/recordings/v0", body, content_type)
        } else {
            let body = generator.session_usage_logs();
            (
                "/observability/logs/otlp/v0",
                body,
                "application/json".to_owned(),
            )
        };
        let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        let mut answer = agent
            .post(&format!("{}{path}", fixture.server.base))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", &content_type)
            .send(&body[..])
            .unwrap_or_else(|e| {
                panic!(
                    "seed {seed}, case {case}: {path} {shown:?} ({} bytes): {e}",
                    body.len()
                )
            });
        let status = answer.status().as_u16();
        *statuses.entry(status).or_default() += 1;
        let text = answer.body_mut().read_to_string().unwrap_or_default();
        assert!(
            status < 500,
            "seed {seed}, case {case}: {path} {shown}\nanswered {status} {text}\nlog: {}",
            fixture.server.log()
        );
        if upload && status >= 400 {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert!(
                is_error_shape(&body),
                "seed {seed}, case {case}: {status} without the error shape: {text}"
            );
        }
    }
    eprintln!("seed {seed}: {cases} cases, statuses {statuses:?}");
    assert!(
        statuses.get(&200).is_some_and(|n| *n > cases / 10),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&400).is_some_and(|n| *n > cases / 10),
        "{statuses:?}"
    );
    // Every call is one of the jobs the uploads named, and readable.
    let client = fixture.client();
    let (status, calls) = client.get("/v1/calls?limit=100");
    assert_eq!(status, 200, "{calls}");
    for call in calls["calls"].as_array().unwrap() {
        let id = call["id"].as_str().unwrap();
        assert!(
            ["AJ_fuzz1", "AJ_fuzz2", "AJ_fuzz3", "AJ_x"].contains(&id),
            "{id}"
        );
        assert_eq!(client.get(&format!("/v1/calls/{id}")).0, 200);
    }
    assert_eq!(client.get("/healthz").0, 200);
}
