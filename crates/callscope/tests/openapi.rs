//! The published contract: `/openapi.json` and `/docs` on the real binary.
//!
//! - The document and the router are one list: every operation the document names reaches a
//!   handler on the live server (not the fallback's 404 or 405), every method a path of the
//!   document lacks is answered 405, and no route is added to the router except through the
//!   document (`no_route_is_registered_outside_the_document`).
//! - Schemathesis, from PyPI, calls every operation with generated inputs and a real key and
//!   finds no 5xx and no answer outside its documented status, media type or schema.
//!
//! Schemathesis is `target/python-venv/bin/schemathesis`, which `.ci/run` installs from
//! `python/requirements.txt` (or `CALLSCOPE_SCHEMATHESIS`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Fixture, files_under};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document(fixture: &Fixture) -> Value {
    let (status, document) = fixture.server.anonymous().get("/openapi.json");
    assert_eq!(status, 200, "{document}");
    document
}

/// (method, path template, operation) of every operation, in document order.
fn operations(document: &Value) -> Vec<(&'static str, String, Value)> {
    let mut listed = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                listed.push((method, path.clone(), operation.clone()));
            }
        }
    }
    listed
}

/// A concrete path for `template`: every `{name}` filled with a value its schema accepts.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{channels}" => "mono".to_owned(),
            s if s.starts_with('{') => "probe-1".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether an answer is the router's own: no route, or no such method on a route.
fn unrouted(status: u16, body: &Value) -> bool {
    let error = body["error"].as_str().unwrap_or_default();
    (status == 404 && error.starts_with("no route for"))
        || (status == 405 && error.contains("is not allowed on"))
}

#[test]
fn the_document_describes_every_operation_with_its_parameters_answers_and_schemas() {
    let fixture = Fixture::new();
    let document = document(&fixture);
    assert_eq!(document["openapi"], "3.1.0");
    let tags: BTreeSet<&str> = document["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag["name"].as_str().unwrap())
        .collect();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let operations = operations(&document);
    // The surfaces the server has: the API, the seeds' compatibility routes, the OTLP and
    // LiveKit receivers, the dashboard and the operator's routes.
    for path in [
        "/v1/calls",
        "/v1/calls/{id}",
        "/v1/calls/query",
        "/v1/traces",
        "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        "/insights/sessions",
        "/observability/recordings/v0",
        "/calls/{id}",
        "/recordings/{org}/{id}/{channels}",
        "/healthz",
        "/openapi.json",
        "/docs",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is missing from the document"
        );
    }
    let mut ids = BTreeSet::new();
    for (method, path, operation) in &operations {
        let what = format!("{} {path}", method.to_uppercase());
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{what} has no operationId");
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        let tag = operation["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(tag), "{what} has the unknown tag `{tag}`");
        assert!(
            operation["summary"]
                .as_str()
                .is_some_and(|s| !s.is_empty() && !s.starts_with('`')),
            "{what} has no summary a reader can use: {}",
            operation["summary"]
        );
        // Path parameters: exactly the template's names.
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(in_template, declared, "{what}: path parameters");
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .any(|status| status.starts_with('2') || status.starts_with('3')),
            "{what} documents no success"
        );
        for (status, response) in responses {
            assert!(
                response["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{what} {status} has no description"
            );
        }
        // An operation a key opens documents the answers to a bad or missing key.
        let keyed = operation["security"]
            .as_array()
            .unwrap()
            .iter()
            .any(|requirement| requirement.get("api_key").is_some());
        if keyed {
            for status in ["401", "403", "429"] {
                assert!(responses.contains_key(status), "{what} lacks {status}");
            }
        }
        // A dashboard operation answers its refusals as pages: a redirect to sign-in, and
        // HTML for a key over its rate or a page whose searches found no slot.
        let paged = operation["security"]
            .as_array()
            .unwrap()
            .iter()
            .any(|requirement| requirement.get("session").is_some());
        if paged {
            assert!(responses.contains_key("303"), "{what} lacks 303");
            for status in ["429", "503"] {
                assert!(
                    responses[status]["content"].get("text/html").is_some(),
                    "{what} lacks an HTML {status}"
                );
            }
        }
    }
    // Every reference names a schema of the document.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or(target);
        assert!(schemas.contains_key(name), "{target} names no schema");
    }
    // The seeds' shapes are there under the names the handlers give them.
    let call = &schemas["CallView"]["properties"];
    for field in [
        "call_id",
        "recording_url",
        "disconnection_reason",
        "report",
        "transcript",
    ] {
        assert!(call.get(field).is_some(), "CallView lacks {field}");
    }
    let write = &schemas["CallWrite"]["properties"];
    assert!(write.get("agent_id").is_some() && write.get("organization_id").is_none());
    assert!(schemas.contains_key("SessionView") && schemas.contains_key("ErrorBody"));
    // The seeds' examples, as the seeds give them, on the operations that speak their shape.
    let answer = |path: &str| {
        document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["example"]
            .clone()
    };
    let sessions = common::fixture("seed001_session_example.json");
    assert_eq!(answer("/insights/sessions"), sessions);
    assert_eq!(
        answer("/insights/sessions/search/{id}"),
        sessions["hits"][0]
    );
    assert_eq!(
        answer("/v1/calls/{id}"),
        common::fixture("seed002_call_filled.json")
    );
    let import = &document["paths"]["/v1/calls/import"]["post"]["requestBody"]["content"]["application/x-ndjson"]
        ["example"];
    let line: Value = serde_json::from_str(import.as_str().unwrap().trim_end()).unwrap();
    assert_eq!(line, common::fixture("seed004_get_call.json"));
}

#[test]
fn the_reference_page_shows_every_operation_and_fetches_nothing_from_elsewhere() {
    let fixture = Fixture::new();
    let document = document(&fixture);
    let page = fixture.server.anonymous().exchange("GET", "/docs", None);
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = String::from_utf8(page.raw.clone()).unwrap();
    for (_, path, operation) in operations(&document) {
        let id = operation["operationId"].as_str().unwrap();
        assert!(
            html.contains(&format!("id=\"op-{id}\"")),
            "{id} is not on the page"
        );
        assert!(
            html.contains(&path.replace('&', "&amp;")),
            "{path} is not on the page"
        );
    }
    for name in document["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            html.contains(&format!("id=\"schema-{name}\"")),
            "schema {name} is not on the page"
        );
    }
    // Nothing loaded from another host, and no script at all: it works offline.
    for marker in [
        "src=\"http",
        "href=\"http",
        "<script",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(marker), "the page loads `{marker}…`");
    }
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
}

#[test]
fn every_operation_of_the_document_reaches_its_handler_and_no_other_method_is_routed() {
    let fixture = Fixture::new();
    let document = document(&fixture);
    let client = fixture.client();
    let mut probed = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let url = concrete(path);
        for method in METHODS {
            let body = matches!(method, "post" | "put" | "patch").then_some("{}");
            let answer = client.exchange(&method.to_uppercase(), &url, body);
            if item.get(method).is_some() {
                assert!(
                    !unrouted(answer.status, &answer.body),
                    "{} {path} is in the document but not routed: {} {}",
                    method.to_uppercase(),
                    answer.status,
                    answer.body
                );
                probed += 1;
            } else {
                assert_eq!(
                    answer.status,
                    405,
                    "{} {url} is routed but not in the document: {}",
                    method.to_uppercase(),
                    answer.body
                );
            }
        }
    }
    assert_eq!(probed, operations(&document).len());
}

/// A route added with axum's own `.route(` (or a service, or a plain router merged in)
/// would be served without being in the document: only `routes!` may register one.
#[test]
fn no_route_is_registered_outside_the_document() {
    let sources = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let forbidden = [
        ".route(",
        ".route_service(",
        ".nest_service(",
        ".fallback_service(",
        "Router::new()",
        "axum::Router::new",
    ];
    let mut found = Vec::new();
    for file in files_under(&sources) {
        if file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for pattern in forbidden {
                if code.contains(pattern) && !code.contains("OpenApiRouter::new()") {
                    found.push(format!("{}:{}: {code}", file.display(), number + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "routes registered without the document (use `routes!` with a `#[utoipa::path]`):\n{}",
        found.join("\n")
    );
}

fn schemathesis() -> PathBuf {
    if let Ok(path) = std::env::var("CALLSCOPE_SCHEMATHESIS") {
        return path.into();
    }
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/python-venv/bin/schemathesis");
    assert!(
        venv.exists(),
        "no Schemathesis at {}: run .ci/run, or `target/python-venv/bin/pip install -r \
         crates/callscope/tests/python/requirements.txt`",
        venv.display()
    );
    venv
}

/// The figures of the summary Schemathesis prints under `Test cases:` (`6280 generated,
/// 6280 passed` gives `generated` and `passed`).
fn summary(output: &str) -> BTreeMap<String, u64> {
    let line = output
        .lines()
        .skip_while(|line| line.trim() != "Test cases:")
        .nth(1)
        .unwrap_or_default();
    line.split(',')
        .filter_map(|part| {
            let mut words = part.split_whitespace();
            let count = words.next()?.parse().ok()?;
            Some((words.collect::<Vec<_>>().join(" "), count))
        })
        .collect()
}

#[test]
fn schemathesis_finds_no_server_error_or_broken_answer_in_any_operation() {
    let fixture = Fixture::with_demo(40, &[]);
    let document = document(&fixture);
    let operations = operations(&document);
    let report = fixture.dir.path().join("schemathesis");
    let output = std::process::Command::new(schemathesis())
        // Where it keeps its own files.
        .current_dir(fixture.dir.path())
        .args(["run", &format!("{}/openapi.json", fixture.server.base)])
        .args([
            "--header",
            &format!("Authorization: Bearer {}", fixture.key),
        ])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "25", "--seed", "20261204"])
        .args(["--generation-database", "none", "--workers", "2"])
        .args(["--request-timeout", "30", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&report)
        .env(
            "SCHEMATHESIS_HOOKS",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/python/schemathesis_hooks.py"
            ),
        )
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "Schemathesis failed:\n{text}");
    let figures = summary(&text);
    let generated = figures.get("generated").copied().unwrap_or(0);
    // Every operation was called, but the document's own, which Schemathesis reads rather
    // than tests (the first test here checks it).
    let junit = files_under(&report)
        .into_iter()
        .find(|file| file.extension().is_some_and(|e| e == "xml"))
        .expect("the JUnit report");
    let junit = std::fs::read_to_string(junit).unwrap();
    let tested: BTreeSet<String> = junit
        .split("<testcase ")
        .skip(1)
        .filter_map(|case| case.split("name=\"").nth(1)?.split('"').next())
        .map(str::to_owned)
        .collect();
    let expected: BTreeSet<String> = operations
        .iter()
        .map(|(method, path, _)| format!("{} {path}", method.to_uppercase()))
        .filter(|operation| operation != "GET /openapi.json")
        .collect();
    assert_eq!(tested, expected, "operations Schemathesis did not test");
    assert!(
        generated >= 10 * operations.len() as u64,
        "only {generated} cases:\n{text}"
    );
    eprintln!("schemathesis: {} operations, {figures:?}", operations.len());
}
