//! The command line: key management, demo data and `serve --demo`.

#![allow(clippy::unwrap_used)] // tests panic on purpose

mod common;

use common::{BINARY, Server, create_key, run_cli};
use serde_json::Value;
use std::process::Command;

#[test]
fn keys_are_created_listed_and_revoked_without_showing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let stdout = run_cli(&[
        "keys",
        "create",
        "--data-dir",
        data,
        "--org",
        "acme",
        "--scopes",
        "read,write",
        "--name",
        "ci",
    ]);
    let secret = stdout.lines().last().unwrap();
    assert!(secret.starts_with("cs_") && secret.len() == 43, "{stdout}");
    let other = create_key(dir.path().join("data").as_path(), "globex", "admin");

    let listed = run_cli(&["keys", "list", "--data-dir", data]);
    assert!(
        !listed.contains(secret) && !listed.contains(&other),
        "secrets never listed:\n{listed}"
    );
    assert!(
        listed.contains("acme") && listed.contains("globex") && listed.contains("read,write"),
        "{listed}"
    );
    let acme_only = run_cli(&["keys", "list", "--data-dir", data, "--org", "acme"]);
    assert_eq!(
        acme_only.lines().count(),
        2,
        "header and one key:\n{acme_only}"
    );
    let key_id = acme_only
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(key_id.starts_with("key_"));
    run_cli(&["keys", "revoke", "--data-dir", data, key_id]);
    let again = Command::new(BINARY)
        .args(["keys", "revoke", "--data-dir", data, key_id])
        .output()
        .unwrap();
    assert!(!again.status.success(), "revoking twice is an error");
    let bad = Command::new(BINARY)
        .args([
            "keys",
            "create",
            "--data-dir",
            data,
            "--org",
            "acme",
            "--scopes",
            "root",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("root"));
}

/// Every call of organization `default` in a data directory, through the API.
fn all_calls(data: &std::path::Path) -> Value {
    let key = create_key(data, "default", "read");
    let server = Server::start(data, &[]);
    let (status, page) = server
        .client(&key)
        .get("/v1/calls?limit=1000&sort=created_at:asc");
    assert_eq!(status, 200);
    page
}

#[test]
fn demo_data_is_realistic_and_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second, third) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for (data, seed) in [(&first, "7"), (&second, "7"), (&third, "8")] {
        run_cli(&[
            "demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--calls",
            "300",
            "--seed",
            seed,
            "--anchor",
            "2026-06-01",
            "--durability",
            "normal",
        ]);
    }
    let (a, b, c) = (all_calls(&first), all_calls(&second), all_calls(&third));
    assert_eq!(a["total"], 300);
    assert_eq!(a, b, "the same seed and anchor give the same calls");
    assert_ne!(a["calls"], c["calls"], "another seed gives other calls");

    let calls = a["calls"].as_array().unwrap();
    let distinct = |field: &str| {
        let mut values: Vec<String> = calls.iter().map(|c| c[field].to_string()).collect();
        values.sort();
        values.dedup();
        values.len()
    };
    assert!(distinct("agent_id") >= 5, "several agents");
    assert!(distinct("campaign_id") >= 3, "several campaigns");
    assert_eq!(distinct("direction"), 2, "inbound and outbound");
    assert!(distinct("kind") >= 3, "telephony both ways and chat or web");
    assert!(distinct("status") >= 5, "most statuses");
    let with_turns = calls
        .iter()
        .filter(|c| c["transcript"]["entries"].as_array().unwrap().len() >= 6)
        .count();
    assert!(
        with_turns > 150,
        "most calls have a real conversation ({with_turns})"
    );
    assert!(
        calls
            .iter()
            .any(|c| c["flow"]["path"].as_array().is_some_and(|p| !p.is_empty())),
        "some flow paths"
    );
    assert!(
        calls.iter().any(|c| c["average_agent_latency"].is_number()),
        "latency figures"
    );
    assert!(
        calls.iter().any(|c| c["cost_micro_usd"].is_string()),
        "cost figures"
    );
    // Every ended call has its report, as if the server had analysed it; a live one has none.
    let ended = |c: &&Value| !matches!(c["status"].as_str(), Some("in_progress"));
    let mut outcomes = std::collections::BTreeSet::new();
    let mut sentiments = std::collections::BTreeSet::new();
    for call in calls.iter().filter(ended) {
        assert_eq!(
            call["report"]["analysis_status"], "heuristic",
            "{}",
            call["id"]
        );
        assert!(
            call["summary"].as_str().is_some_and(|s| s.len() > 20),
            "{}",
            call["id"]
        );
        outcomes.insert(call["report"]["outcome"].as_str().unwrap().to_owned());
        sentiments.insert(call["sentiment"].as_str().unwrap().to_owned());
    }
    for call in calls.iter().filter(|c| !ended(c)) {
        assert!(call["summary"].is_null(), "{}", call["id"]);
    }
    assert!(outcomes.len() >= 6, "{outcomes:?}");
    assert_eq!(sentiments.len(), 3, "{sentiments:?}");
}

#[test]
fn serve_demo_fills_an_empty_store_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(
        &data,
        &["--demo", "--demo-calls", "150", "--durability", "normal"],
    );
    let key = server.bootstrap_key.clone().unwrap();
    assert_eq!(server.client(&key).get("/v1/calls").1["total"], 150);
    drop(server);
    let again = Server::start(&data, &["--demo", "--demo-calls", "150"]);
    assert_eq!(
        again.client(&key).get("/v1/calls").1["total"],
        150,
        "a second start adds nothing"
    );
}

/// The ids of the table rows `callscope search` printed, and its closing count line.
fn search_rows(data: &str, query: &str) -> (Vec<String>, String) {
    let stdout = run_cli(&[
        "search",
        "--data-dir",
        data,
        "--org",
        "acme",
        query,
        "--sort",
        "started_at:desc",
        "--fields",
        "agent.name",
    ]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|header| header.starts_with("ID") && header.contains("AGENT.NAME")),
        "{stdout}"
    );
    let rows = lines[1..lines.len() - 1]
        .iter()
        .map(|row| row.split_whitespace().next().unwrap().to_owned())
        .collect();
    (rows, lines.last().unwrap().to_string())
}

#[test]
fn search_prints_a_table_beside_a_running_server_and_reindex_rebuilds_what_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("data");
    let data = data_path.to_str().unwrap();
    let key = create_key(&data_path, "acme", "read,write");
    let server = Server::start(&data_path, &["--durability", "normal"]);
    let client = server.client(&key);
    let calls = [
        (
            "older-refund",
            "2026-05-01T10:00:00Z",
            "I want a refund please",
        ),
        (
            "newer-refund",
            "2026-05-02T10:00:00Z",
            "Refund my last invoice",
        ),
        (
            "no-match",
            "2026-05-03T10:00:00Z",
            "Just checking my balance",
        ),
    ];
    for (id, started, said) in calls {
        let body = serde_json::json!({"status": "completed", "started_at": started, "agent": {"name": "Ava"},
            "transcript": [{"role": "user", "text": said}]});
        assert_eq!(
            client
                .put(&format!("/v1/calls/{id}?refresh=wait_for"), &body)
                .0,
            201
        );
    }
    let query = r#"{"must": [{"match": {"transcript.user": "refund"}}]}"#;
    let (rows, count) = search_rows(data, query);
    assert_eq!(
        rows,
        ["newer-refund", "older-refund"],
        "newest first, non-matching left out"
    );
    assert_eq!(count, "2 of 2 matching calls");
    let bad = Command::new(BINARY)
        .args([
            "search",
            "--data-dir",
            data,
            r#"{"match": {"agent.id": "x"}}"#,
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("use term"));

    drop(server);
    let stdout = run_cli(&["reindex", "--data-dir", data]);
    assert!(data_path.join(callscope_store::INDEX_DIR).is_dir());
    // Three writes, plus one per post-call report the server had written by then.
    let changes: u32 = stdout
        .split("rebuilt the search index from ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no change count in {stdout}"));
    assert!((3..=6).contains(&changes), "{stdout}");
    assert_eq!(
        search_rows(data, query).0,
        ["newer-refund", "older-refund"],
        "the rebuilt index answers the same"
    );
}

#[test]
fn a_config_file_sets_options_under_the_environment_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = create_key(&data, "org_a", "read");
    let config = dir.path().join("callscope.toml");
    std::fs::write(
        &config,
        "durability = \"normal\"\nmax_page_size = 5\nrate_limit = \"0\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();

    // From the file: pages of at most 5.
    let server = Server::start(&data, &["--config", config]);
    let (status, body) = server.client(&key).get("/v1/calls?limit=10");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("`max_page_size` is 5"),
        "{body}"
    );
    drop(server);

    // A flag wins over the file.
    let server = Server::start(&data, &["--config", config, "--max-page-size", "20"]);
    assert_eq!(server.client(&key).get("/v1/calls?limit=10").0, 200);
    drop(server);

    // So does the environment.
    let server = Server::start_with_env(
        &data,
        &["--config", config],
        &[("CALLSCOPE_LOG", "warn"), ("CALLSCOPE_MAX_PAGE_SIZE", "20")],
    );
    assert_eq!(server.client(&key).get("/v1/calls?limit=10").0, 200);
}

#[test]
fn a_config_file_with_an_unknown_key_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("callscope.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nmax_bucket = 10\n").unwrap();
    let stderr = common::serve_refusal(
        &dir.path().join("data"),
        &["--config".as_ref(), config.as_os_str()],
    );
    assert!(stderr.contains("unknown key `max_bucket`"), "{stderr}");
    std::fs::write(&config, "webhook_allow_cidr = [\"10.0.0.0/33\"]\n").unwrap();
    let stderr = common::serve_refusal(
        &dir.path().join("data"),
        &["--config".as_ref(), config.as_os_str()],
    );
    assert!(stderr.contains("`webhook_allow_cidr`"), "{stderr}");
}
