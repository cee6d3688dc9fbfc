//! The dashboard, end to end: the real server with demo data, driven by a real headless
//! Chromium over WebDriver for what a user does, and over plain HTTP for what an attacker
//! would try (other tenants, forged or expired cookies, forms without their CSRF token).
//! Expected answers come from the API's calls, filtered and counted here in plain Rust.
//! Screenshots of each page land in `target/dashboard-screenshots/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{Fixture, Server, create_key, csrf_in, csv_rows, run_cli, session_token};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Demo calls in the browser test's store.
const DEMO_CALLS: usize = 400;

/// Every call of the fixture's organization, read through `GET /v1/calls`.
fn all_calls(fixture: &Fixture) -> Vec<Value> {
    let client = fixture.client();
    let mut calls = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/v1/calls?limit=100&cursor={cursor}"),
            None => "/v1/calls?limit=100".to_owned(),
        };
        let (status, page) = client.get(&path);
        assert_eq!(status, 200, "{page}");
        calls.extend(page["calls"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return calls,
        }
    }
}

/// The day (`YYYY-MM-DD`) a call started, as the dashboard's date filter reads it.
fn start_day(call: &Value) -> Option<String> {
    call["started_at"].as_str().map(|at| at[..10].to_owned())
}

/// Checks the page has no console errors and no serious accessibility violations, and
/// saves its screenshot.
fn check_page(browser: &Browser, name: &str) {
    browser.screenshot(name);
    let errors = browser.console_errors();
    assert!(
        errors.is_empty(),
        "console errors on the {name} page: {errors:#?}"
    );
    let violations = browser.accessibility_violations();
    assert!(
        violations.is_empty(),
        "accessibility violations on the {name} page: {violations:#?}"
    );
}

fn sign_in(browser: &Browser, base: &str, key: &str) {
    browser.open(&format!("{base}/calls"));
    assert!(browser.url().contains("/sign-in"), "{}", browser.url());
    let field = browser.find("#key");
    browser.fill(&field, key);
    browser.click(&browser.find("form[action='/sign-in'] button[type=submit]"));
    browser.find("table#calls");
}

#[test]
fn a_user_signs_in_searches_listens_reanalyses_exports_and_deletes_in_a_real_browser() {
    let fixture = Fixture::with_demo(DEMO_CALLS, &[]);
    let base = fixture.server.base.clone();
    let client = fixture.client();
    let calls = all_calls(&fixture);
    assert_eq!(calls.len(), DEMO_CALLS);
    let browser = Browser::start();

    // Signing in: the sign-in page first, then the call log.
    browser.open(&format!("{base}/calls"));
    browser.find("#key");
    check_page(&browser, "sign-in");
    sign_in(&browser, &base, &fixture.key);
    assert_eq!(browser.find_all("table#calls tbody tr").len(), 50);
    assert_eq!(
        browser.text(&browser.find("#total")),
        DEMO_CALLS.to_string()
    );
    check_page(&browser, "calls");

    // Filtering by agent and date: the table's total is the count of calls that match in
    // plain Rust.
    let agent = calls[7]["agent"]["id"].as_str().unwrap().to_owned();
    let day = start_day(&calls[7]).unwrap();
    let expected = calls
        .iter()
        .filter(|call| call["agent"]["id"] == agent.as_str())
        .filter(|call| start_day(call).is_some_and(|d| d >= day))
        .count();
    browser.run(
        "document.getElementById('agent').value = arguments[0];",
        &json!([agent]),
    );
    browser.fill(&browser.find("#from"), "");
    browser.run(
        "document.getElementById('from').value = arguments[0]; document.getElementById('filters').submit();",
        &json!([day]),
    );
    browser.wait_for(
        "the filtered page",
        "return location.search.includes('agent=');",
    );
    let total: usize = browser.text(&browser.find("#total")).parse().unwrap();
    assert_eq!(total, expected, "agent {agent} from {day}");
    let shown_agents: BTreeSet<String> = browser
        .find_all("table#calls tbody tr:not(.snippet) td:nth-child(2)")
        .iter()
        .map(|cell| browser.text(cell))
        .collect();
    let agent_name = calls[7]["agent"]["name"]
        .as_str()
        .unwrap_or(&agent)
        .to_owned();
    assert_eq!(shown_agents, BTreeSet::from([agent_name]));
    check_page(&browser, "calls-filtered");

    // Full-text search: every row has a snippet whose marked words are the word searched.
    let word = "appointment";
    // The list leaves transcripts out: each call is read whole.
    let matching = calls
        .iter()
        .filter(|call| {
            let (_, whole) = client.get(&format!("/v1/calls/{}", call["id"].as_str().unwrap()));
            let texts: Vec<String> = whole["transcript"]["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|entry| entry["text"].as_str().map(str::to_owned))
                .collect();
            common::says(&texts, word)
        })
        .count();
    assert!(matching > 0, "the demo's transcripts mention `{word}`");
    browser.open(&format!("{base}/calls?q={word}"));
    let total: usize = browser.text(&browser.find("#total")).parse().unwrap();
    assert_eq!(total, matching);
    let marks = browser.find_all("tr.snippet mark");
    assert!(!marks.is_empty(), "no highlighted words");
    for mark in &marks {
        assert_eq!(browser.text(mark).to_lowercase(), word);
    }
    assert_eq!(
        browser.find_all("tr.snippet").len(),
        browser.find_all("table#calls tbody tr:not(.snippet)").len(),
        "one snippet per row"
    );
    check_page(&browser, "calls-search");

    // The advanced box: an error from the server's parser shows inline.
    browser.open(&format!(
        "{base}/calls?advanced={}",
        "%7B%22match%22%3A%7B%22agent.id%22%3A%22x%22%7D%7D"
    ));
    let error = browser.text(&browser.find("#query-error"));
    assert!(error.contains("term"), "{error}");

    // A call with a recording: clicking a turn seeks the player to it.
    let with_recording = calls
        .iter()
        .filter_map(|call| call["id"].as_str())
        .find(|id| client.get(&format!("/v1/calls/{id}/recording")).0 == 200)
        .expect("a demo call with a recording")
        .to_owned();
    browser.open(&format!("{base}/calls/{with_recording}"));
    browser.wait_for(
        "the recording's metadata",
        "return document.getElementById('player').readyState >= 1;",
    );
    let seeks = browser.find_all("button[data-seek]");
    assert!(seeks.len() >= 3, "the conversation has turns with times");
    let target = &seeks[2];
    let start_ms: f64 = browser.attribute(target, "data-seek").parse().unwrap();
    browser.click(target);
    let position = browser
        .run(
            "return document.getElementById('player').currentTime;",
            &json!([]),
        )
        .as_f64()
        .unwrap();
    assert!(
        (position - start_ms / 1000.0).abs() < 0.5,
        "the player is at {position} s, the turn starts at {start_ms} ms"
    );
    browser.wait_for(
        "the spoken turn to be marked",
        "return document.querySelector('.turn[aria-current=true]') !== null;",
    );
    check_page(&browser, "call-detail");

    // Re-running the analysis makes a new report.
    let report_before = client.get(&format!("/v1/calls/{with_recording}/report")).1;
    std::thread::sleep(Duration::from_millis(1100));
    browser.click(&browser.find("#rerun"));
    browser.wait_for("the report section", "return location.hash === '#report';");
    let report_after = client.get(&format!("/v1/calls/{with_recording}/report")).1;
    assert_ne!(
        report_before["updated_at"], report_after["updated_at"],
        "{report_after}"
    );

    // Export: the CSV of a filtered view has one record per call the API counts.
    let completed = calls
        .iter()
        .filter(|call| call["status"] == "completed")
        .count();
    let csv = browser.run_async(
        "const done = arguments[arguments.length - 1];\
         fetch('/calls.csv?status=completed').then(r => r.text()).then(done);",
        &json!([]),
    );
    assert_eq!(
        csv_rows(csv.as_str().unwrap()).len(),
        completed + 1,
        "header plus calls"
    );
    let ndjson = browser.run_async(
        "const done = arguments[arguments.length - 1];\
         fetch('/calls.ndjson?status=completed').then(r => r.text()).then(done);",
        &json!([]),
    );
    let exported: Vec<Value> = ndjson
        .as_str()
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(exported.len(), completed);
    assert!(exported.iter().all(|call| call["status"] == "completed"));

    // Deleting, as a key that may write, after ticking the confirmation.
    let doomed = calls[3]["id"].as_str().unwrap().to_owned();
    browser.open(&format!("{base}/calls/{doomed}"));
    browser.click(&browser.find("#delete-confirm"));
    browser.click(&browser.find("#delete"));
    browser.wait_for("the call log", "return location.pathname === '/calls';");
    assert_eq!(client.get(&format!("/v1/calls/{doomed}")).0, 404);

    // Live: a call the runtime creates appears, and grows as it appends, without a reload.
    browser.open(&format!("{base}/live"));
    browser.find("#live");
    browser.run("window.notReloaded = true;", &json!([]));
    let live_id = "live-call-under-test";
    let (status, created) = client.post(
        "/v1/calls",
        &json!({
            "id": live_id,
            "agent_id": "agent_live",
            "status": "in_progress",
            "direction": "inbound",
            "from_number": "+14155550199",
            "started_at": chrono::Utc::now().to_rfc3339(),
            "transcript": [{"role": "agent", "text": "Hello, this is the live agent."}],
        }),
    );
    assert_eq!(status, 201, "{created}");
    let card = format!("article[data-call='{live_id}'] li");
    browser.wait_for(
        "the new call on the live page",
        &format!("return document.querySelectorAll(\"{card}\").length === 1;"),
    );
    let (status, appended) = client.post(
        &format!("/v1/calls/{live_id}/transcript"),
        &json!({"entries": [{"role": "user", "text": "I would like to move my appointment."}]}),
    );
    assert_eq!(status, 200, "{appended}");
    browser.wait_for(
        "the appended turn on the live page",
        &format!("return document.querySelectorAll(\"{card}\").length === 2;"),
    );
    assert!(
        browser
            .text(&browser.find(&format!("article[data-call='{live_id}']")))
            .contains("move my appointment")
    );
    assert_eq!(
        browser.run("return window.notReloaded === true;", &json!([])),
        json!(true)
    );
    check_page(&browser, "live");

    // Analytics: every chart is drawn, and every table's numbers are the API's answer to
    // the query the page shows.
    browser.open(&format!("{base}/analytics?from=2000-01-01"));
    let charts = browser.find_all("section.chart");
    assert_eq!(charts.len(), 9, "every chart");
    let empty: Vec<String> = browser
        .run(
            "return [...document.querySelectorAll('section.chart')]\
             .filter(c => c.querySelectorAll('svg rect').length === 0).map(c => c.id);",
            &json!([]),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    assert!(empty.is_empty(), "charts without data: {empty:?}");
    let shown = browser.run(
        "return document.getElementById('analytics-request').textContent;",
        &json!([]),
    );
    let request: Value = serde_json::from_str(shown.as_str().unwrap()).unwrap();
    let (status, answer) = client.post("/v1/calls/query", &request);
    assert_eq!(status, 200, "{answer}");
    let tables = browser.run(
        "const out = {};\
         document.querySelectorAll('table[data-agg]').forEach(t => {\
           out[t.dataset.agg] = [...t.querySelectorAll('tbody tr')].map(r =>\
             [...r.querySelectorAll('td')].map(td => Number(td.dataset.value)));\
         });\
         return out;",
        &json!([]),
    );
    assert_tables_match(&tables, &answer["aggregations"]);
    assert_eq!(
        browser
            .text(&browser.find("#analytics-total"))
            .split(' ')
            .next(),
        Some(answer["total"].to_string().as_str())
    );
    check_page(&browser, "analytics");

    // Settings: a key made here works, its secret shown once; the recordings switch and an
    // agent's extractors are the API's settings.
    browser.open(&format!("{base}/settings"));
    check_page(&browser, "settings");
    browser.fill(&browser.find("#key-name"), "read-only reviewer");
    browser.click(&browser.find("#create-key button[type=submit]"));
    let reader = browser.text(&browser.find("#new-secret"));
    assert!(reader.starts_with("cs_"), "{reader}");
    assert_eq!(
        fixture.server.client(&reader).get("/v1/calls?limit=1").0,
        200
    );
    assert_eq!(
        fixture
            .server
            .client(&reader)
            .post("/v1/calls", &json!({}))
            .0,
        403,
        "the new key only reads"
    );
    browser.click(&browser.find("#public-recordings"));
    browser.click(&browser.find("#recordings button[type=submit]"));
    browser.wait_for(
        "the saved switch",
        "return location.hash === '#recordings';",
    );
    assert_eq!(client.get("/v1/organization").1["public_recordings"], true);
    browser.open(&format!("{base}/settings?agent={agent}"));
    browser.fill(&browser.find("#extractors-json"), "[{\"name\": \"zip\"");
    browser.click(&browser.find("#save-extractors"));
    assert!(
        browser
            .text(&browser.find("#extractors .error"))
            .starts_with("extractors:")
    );
    // The refused form answers 400, which the console reports; nothing else may.
    let errors = browser.console_errors();
    assert!(
        errors.len() == 1 && errors[0].contains("400"),
        "{errors:#?}"
    );
    let extractor = r#"[{"name": "zip_code", "type": "regex", "pattern": "\\b(\\d{5})\\b"}]"#;
    browser.fill(&browser.find("#extractors-json"), extractor);
    browser.click(&browser.find("#save-extractors"));
    browser.wait_for(
        "the saved extractors",
        "return location.hash === '#extractors';",
    );
    let (_, settings) = client.get(&format!("/v1/agents/{agent}/analysis"));
    assert_eq!(settings["extractors"][0]["name"], "zip_code", "{settings}");

    // Webhooks: a destination webhooks may not reach comes back as typed with the reason;
    // one added here is the API's, its signing secret shown once; an edit and a delete
    // reach the API too.
    browser.open(&format!("{base}/settings"));
    browser.fill(&browser.find("#webhook-url"), "http://127.0.0.1:9/hook");
    browser.click(&browser.find("#webhook-form button[type=submit]"));
    assert!(
        browser
            .text(&browser.find("#webhook-form .error"))
            .starts_with("url:")
    );
    assert_eq!(
        browser.attribute(&browser.find("#webhook-url"), "value"),
        "http://127.0.0.1:9/hook"
    );
    let errors = browser.console_errors();
    assert!(
        errors.len() == 1 && errors[0].contains("400"),
        "{errors:#?}"
    );
    let hook_url = "http://93.184.216.34:9/callscope";
    browser.fill(&browser.find("#webhook-url"), hook_url);
    browser.fill(&browser.find("#webhook-description"), "CRM sync");
    browser.click(&browser.find("#webhook-form button[type=submit]"));
    let signing = browser.text(&browser.find("#new-webhook-secret"));
    let (_, hooks) = client.get("/v1/webhooks");
    let hook = &hooks["webhooks"][0];
    assert_eq!(hook["url"], hook_url, "{hooks}");
    assert_eq!(hook["description"], "CRM sync");
    assert_eq!(hook["enabled"], true);
    let subscribed: Vec<&str> = hook["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        !subscribed.is_empty() && subscribed.iter().all(|e| e.starts_with("call.")),
        "{subscribed:?}"
    );
    assert!(
        hook.get("secret")
            .is_none_or(|secret| secret != signing.as_str())
    );
    check_page(&browser, "settings-new-webhook");
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    browser.open(&format!("{base}/settings/webhooks/{hook_id}"));
    browser.click(&browser.find("#webhook-enabled"));
    browser.click(&browser.find("input[name='event.transfer.updated']"));
    browser.click(&browser.find("#webhook-form button[type=submit]"));
    // The edit page shows the deliveries before the save too: wait for the saved state.
    browser.wait_for(
        "the saved webhook's page",
        "return document.querySelector('p.hint')?.textContent.includes('disabled')",
    );
    let (_, edited) = client.get(&format!("/v1/webhooks/{hook_id}"));
    assert_eq!(edited["enabled"], false, "{edited}");
    assert!(
        edited["events"]
            .as_array()
            .unwrap()
            .contains(&json!("transfer.updated")),
        "{edited}"
    );
    check_page(&browser, "webhook");
    browser.click(&browser.find("#delete-webhook-confirm"));
    browser.click(&browser.find("#delete-webhook button[type=submit]"));
    browser.find("#webhooks");
    assert_eq!(
        client.get(&format!("/v1/webhooks/{hook_id}")).0,
        404,
        "deleted"
    );

    // A read-only key sees no control that writes, and no settings.
    browser.click(&browser.find("form[action='/sign-out'] button"));
    browser.find("#key");
    sign_in(&browser, &base, &reader);
    assert!(browser.try_find("a[href='/settings']").is_none());
    browser.open(&format!("{base}/calls/{with_recording}"));
    browser.find("#transcript");
    assert!(browser.try_find("#delete").is_none());
    assert!(browser.try_find("#rerun").is_none());
    check_page(&browser, "call-detail-read-only");
    browser.open(&format!("{base}/settings"));
    assert!(browser.text(&browser.find("main h1")).starts_with("403"));
    // The refusal is the console's only complaint.
    let errors = browser.console_errors();
    assert!(
        errors.len() == 1 && errors[0].contains("403"),
        "{errors:#?}"
    );
}

/// Compares each analytics table (rows of numbers, in order) with the buckets of the
/// aggregation its `data-agg` names.
fn assert_tables_match(tables: &Value, aggs: &Value) {
    let rows = |name: &str| -> Vec<Vec<f64>> {
        tables[name]
            .as_array()
            .unwrap_or_else(|| panic!("no table for {name}"))
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            })
            .collect()
    };
    let buckets = |value: &Value| value["buckets"].as_array().cloned().unwrap_or_default();
    let counts = |value: &Value| -> Vec<Vec<f64>> {
        buckets(value)
            .iter()
            .map(|bucket| vec![bucket["doc_count"].as_f64().unwrap()])
            .collect()
    };
    for name in ["duration", "outcomes", "tags", "parameters"] {
        assert_eq!(rows(name), counts(&aggs[name]), "{name}");
    }
    let days = buckets(&aggs["per_day"]);
    assert!(!days.is_empty());
    let components = ["stt", "llm", "tts", "telephony", "platform"];
    let costs: Vec<Vec<f64>> = days
        .iter()
        .map(|day| {
            components
                .iter()
                .map(|c| day[format!("cost_{c}")]["value"].as_f64().unwrap_or(0.0))
                .collect()
        })
        .collect();
    assert_eq!(rows("per_day.cost"), costs);
    assert!(
        costs.iter().flatten().any(|cost| *cost > 0.0),
        "some cost is charted"
    );
    // Transfers: per day with an ended transfer, the share completed, then the counts of
    // completed, failed and canceled.
    let transfers: Vec<Vec<f64>> = days
        .iter()
        .filter_map(|day| {
            let count = |status: &str| {
                buckets(&day["transfer"])
                    .iter()
                    .find(|bucket| bucket["key"] == status)
                    .map_or(0.0, |bucket| bucket["doc_count"].as_f64().unwrap())
            };
            let ended = [count("completed"), count("failed"), count("canceled")];
            let total: f64 = ended.iter().sum();
            (total > 0.0).then(|| {
                let mut row = vec![ended[0] / total * 100.0];
                row.extend(ended);
                row
            })
        })
        .collect();
    assert!(!transfers.is_empty(), "the demo has transfers");
    assert_eq!(rows("per_day.transfer"), transfers);
    for sub in ["status", "sentiment"] {
        // Columns are the sub-buckets' keys in sorted order; absent means 0.
        let keys: BTreeSet<String> = days
            .iter()
            .flat_map(|day| buckets(&day[sub]))
            .map(|bucket| bucket["key"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<Vec<f64>> = days
            .iter()
            .map(|day| {
                keys.iter()
                    .map(|key| {
                        buckets(&day[sub])
                            .iter()
                            .find(|bucket| bucket["key"] == key.as_str())
                            .map_or(0.0, |bucket| bucket["doc_count"].as_f64().unwrap())
                    })
                    .collect()
            })
            .collect();
        assert_eq!(rows(&format!("per_day.{sub}")), expected, "per_day.{sub}");
    }
    let latency: Vec<Vec<f64>> = buckets(&aggs["agents"])
        .iter()
        .map(|agent| {
            ["transcriber", "agent", "synthesizer"]
                .iter()
                .flat_map(|stage| {
                    let values = &agent[*stage]["values"];
                    [
                        values["50.0"].as_f64().unwrap_or(0.0),
                        values["95.0"].as_f64().unwrap_or(0.0),
                    ]
                })
                .collect()
        })
        .collect();
    assert_eq!(rows("agents"), latency);
}

// ---- sessions, tenancy and forms, over plain HTTP -------------------------------------------

/// An HTTP exchange that carries cookies and form bodies, and follows no redirect.
fn send(
    base: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    origin: Option<&str>,
) -> (u16, Vec<(String, String)>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("callscope_session={cookie}"));
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let mut response = match form {
        Some(form) => agent.run(
            request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.as_bytes().to_vec())
                .unwrap(),
        ),
        None => agent.run(request.body(()).unwrap()),
    }
    .expect("HTTP exchange");
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Signs in with `key` and returns the session token and the page's CSRF token.
fn session_of(base: &str, key: &str) -> (String, String) {
    let (status, headers, _) = send(
        base,
        "POST",
        "/sign-in",
        None,
        Some(&format!("key={key}")),
        None,
    );
    assert_eq!(status, 303);
    let cookie = header(&headers, "set-cookie").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let token = session_token(cookie);
    let (status, _, page) = send(base, "GET", "/calls", Some(&token), None, None);
    assert_eq!(status, 200);
    (token, csrf_in(&page))
}

#[test]
fn pages_show_only_the_keys_organization_and_refuse_forged_sessions_and_bare_forms() {
    let fixture = Fixture::with_demo(60, &[]);
    let base = fixture.server.base.clone();
    let calls = all_calls(&fixture);
    let victim = calls[0]["id"].as_str().unwrap().to_owned();

    // Another organization's key sees none of org_a's calls, on any page or export.
    let other = create_key(&fixture.data_dir(), "org_b", "read,write,admin");
    let (other_session, other_csrf) = session_of(&base, &other);
    let (_, _, page) = send(&base, "GET", "/calls", Some(&other_session), None, None);
    assert!(page.contains("No calls match."), "org_b sees calls");
    assert!(!page.contains(&victim));
    let (status, _, _) = send(
        &base,
        "GET",
        &format!("/calls/{victim}"),
        Some(&other_session),
        None,
        None,
    );
    assert_eq!(status, 404);
    let (_, _, csv) = send(&base, "GET", "/calls.csv", Some(&other_session), None, None);
    assert_eq!(csv_rows(&csv).len(), 1, "only the header: {csv}");
    let (_, _, ndjson) = send(
        &base,
        "GET",
        "/calls.ndjson",
        Some(&other_session),
        None,
        None,
    );
    assert_eq!(ndjson, "");
    let (status, _, _) = send(
        &base,
        "POST",
        &format!("/calls/{victim}/delete"),
        Some(&other_session),
        Some(&format!("csrf={other_csrf}&confirm=yes")),
        None,
    );
    assert_eq!(status, 404, "another tenant's call is not there to delete");
    assert_eq!(fixture.client().get(&format!("/v1/calls/{victim}")).0, 200);
    // Nor its webhooks: not on a page, not to edit, not to delete.
    let (_, hook) = fixture.client().post(
        "/v1/webhooks",
        &json!({"url": "http://93.184.216.34:9/a", "events": ["call.ended"]}),
    );
    let hook_path = format!("/settings/webhooks/{}", hook["id"].as_str().unwrap());
    let (_, _, settings) = send(&base, "GET", "/settings", Some(&other_session), None, None);
    assert!(
        !settings.contains("93.184.216.34"),
        "org_b sees the webhook"
    );
    for (method, path, form) in [
        ("GET", hook_path.clone(), None),
        (
            "POST",
            hook_path.clone(),
            Some(format!(
                "csrf={other_csrf}&url=http%3A%2F%2F93.184.216.34%2Fb&event.call.ended=yes"
            )),
        ),
        (
            "POST",
            format!("{hook_path}/delete"),
            Some(format!("csrf={other_csrf}&confirm=yes")),
        ),
    ] {
        let (status, _, _) = send(
            &base,
            method,
            &path,
            Some(&other_session),
            form.as_deref(),
            None,
        );
        assert_eq!(status, 404, "{method} {path}");
    }
    assert_eq!(
        fixture
            .client()
            .get(&format!("/v1/webhooks/{}", hook["id"].as_str().unwrap()))
            .1["url"],
        "http://93.184.216.34:9/a"
    );

    // A forged cookie, a key instead of a session, and no cookie at all: the sign-in page.
    for forged in [Some("00".repeat(32)), Some(fixture.key.clone()), None] {
        let (status, headers, _) = send(
            &base,
            "GET",
            "/calls?agent=x",
            forged.as_deref(),
            None,
            None,
        );
        assert_eq!(status, 303);
        assert_eq!(
            header(&headers, "location"),
            Some("/sign-in?next=%2Fcalls%3Fagent%3Dx")
        );
    }
    // A wrong key: the sign-in page again, with why, and no cookie.
    let (status, headers, page) = send(&base, "POST", "/sign-in", None, Some("key=cs_0000"), None);
    assert_eq!(status, 401);
    assert!(header(&headers, "set-cookie").is_none());
    assert!(page.contains("not a live API key"));

    // Forms that write need the session's CSRF token, from this site.
    let (session, csrf) = session_of(&base, &fixture.key);
    let delete = format!("/calls/{victim}/delete");
    for (form, origin) in [
        ("confirm=yes".to_owned(), None),
        (format!("csrf={}&confirm=yes", "a".repeat(64)), None),
        (format!("csrf={other_csrf}&confirm=yes"), None),
        (
            format!("csrf={csrf}&confirm=yes"),
            Some("https://evil.example"),
        ),
    ] {
        let (status, _, page) = send(&base, "POST", &delete, Some(&session), Some(&form), origin);
        assert_eq!(status, 403, "{form} from {origin:?}: {page}");
        assert_eq!(fixture.client().get(&format!("/v1/calls/{victim}")).0, 200);
    }
    let (status, _, _) = send(
        &base,
        "POST",
        "/sign-out",
        Some(&session),
        Some("csrf=nope"),
        None,
    );
    assert_eq!(status, 403, "signing out needs the token too");
    let (status, _, _) = send(
        &base,
        "POST",
        "/settings/webhooks",
        Some(&session),
        Some("url=http%3A%2F%2F93.184.216.34%2Fc&event.call.ended=yes"),
        None,
    );
    assert_eq!(status, 403, "adding a webhook needs the token");
    assert_eq!(
        fixture.client().get("/v1/webhooks").1["webhooks"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let (status, headers, _) = send(
        &base,
        "POST",
        &delete,
        Some(&session),
        Some(&format!("csrf={csrf}&confirm=yes")),
        Some(&base),
    );
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), Some("/calls"));
    assert_eq!(fixture.client().get(&format!("/v1/calls/{victim}")).0, 404);

    // Signing out ends the session on the server, not only in the browser.
    let (status, headers, _) = send(
        &base,
        "POST",
        "/sign-out",
        Some(&session),
        Some(&format!("csrf={csrf}")),
        None,
    );
    assert_eq!(status, 303);
    assert!(header(&headers, "set-cookie").is_some_and(|c| c.contains("Max-Age=0")));
    let (status, _, _) = send(&base, "GET", "/calls", Some(&session), None, None);
    assert_eq!(status, 303);

    // Revoking the key ends its sessions.
    let (session, _) = session_of(&base, &other);
    let listed = run_cli(&[
        "keys",
        "list",
        "--data-dir",
        fixture.data_dir().to_str().unwrap(),
    ]);
    let other_id = listed
        .lines()
        .find(|line| line.contains("org_b"))
        .and_then(|line| {
            line.split_whitespace()
                .find(|word| word.starts_with("key_"))
        })
        .expect("org_b's key in the list")
        .to_owned();
    run_cli(&[
        "keys",
        "revoke",
        "--data-dir",
        fixture.data_dir().to_str().unwrap(),
        &other_id,
    ]);
    let (status, _, _) = send(&base, "GET", "/calls", Some(&session), None, None);
    assert_eq!(status, 303);

    // Nothing of the sign-in (the key, the session) is in the log.
    let log = fixture.server.log();
    assert!(
        !log.contains(&fixture.key) && !log.contains(&session),
        "the log holds a secret"
    );
}

#[test]
fn a_session_expires_and_is_secure_behind_https() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = create_key(&data, "org_a", "read");
    let server = Server::start(
        &data,
        &[
            "--session-ttl-secs",
            "1",
            "--public-url",
            "https://calls.example.com",
        ],
    );
    let (status, headers, _) = send(
        &server.base,
        "POST",
        "/sign-in",
        None,
        Some(&format!("key={key}")),
        None,
    );
    assert_eq!(status, 303);
    let cookie = header(&headers, "set-cookie").unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("Max-Age=1"), "{cookie}");
    let token = session_token(&cookie);
    assert_eq!(
        send(&server.base, "GET", "/calls", Some(&token), None, None).0,
        200
    );
    std::thread::sleep(Duration::from_millis(1500));
    let (status, headers, _) = send(&server.base, "GET", "/calls", Some(&token), None, None);
    assert_eq!(status, 303, "an expired session signs in again");
    assert!(header(&headers, "location").is_some_and(|l| l.starts_with("/sign-in")));
}
