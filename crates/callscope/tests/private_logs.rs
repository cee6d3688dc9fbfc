//! The server's log holds what an operator needs and none of the callers' data: a fixed
//! script of requests carrying a phone number, a `q=` word, a `filter_by` value and a signed
//! recording link runs against the real binary at debug level, in text and in JSON, and the
//! whole log is searched for each of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, create_key, wav};
use serde_json::json;

const PHONE: &str = "+14155550123";
const WORD: &str = "zebrafish";
const FILTER_VALUE: &str = "agent_quokka";

/// Runs the script against a fresh server started with `format`; returns its whole log and
/// the recording link's signature.
fn run_script(format: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = create_key(&data, "org_a", "read,write,admin");
    let server = Server::start_with_env(
        &data,
        &["--durability", "normal", "--log-format", format],
        &[("CALLSCOPE_LOG", "debug")],
    );
    let client = server.client(&key);
    let (status, _) = client.post(
        "/v1/calls?refresh=wait_for",
        &json!({"id": "call-private", "agent_id": FILTER_VALUE, "from_number": PHONE,
                "to_number": "+18005550199", "status": "completed",
                "transcript": [{"role": "user", "text": format!("my {WORD} order is late")}]}),
    );
    assert_eq!(status, 201);
    let (status, found) = client.get(&format!("/v1/calls?q={WORD}"));
    assert_eq!((status, found["total"].as_u64()), (200, Some(1)));
    let (status, _) = client.get(&format!("/v1/calls?search={}", &PHONE[1..]));
    assert_eq!(status, 200);
    let filter = format!(r#"{{"must": [{{"term": {{"agent_id": "{FILTER_VALUE}"}}}}]}}"#);
    let encoded: String = filter
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    let (status, sessions) = client.get(&format!("/insights/sessions?filter_by={encoded}"));
    assert_eq!(
        (status, sessions["total"].as_u64()),
        (200, Some(1)),
        "{sessions}"
    );
    // Refused requests carry the data too: in the path, the query and the body.
    assert_eq!(client.get(&format!("/v1/calls/{PHONE}")).0, 404);
    assert_eq!(
        client.get(&format!("/v1/calls?q={WORD}&bogus={PHONE}")).0,
        400
    );
    assert_eq!(
        client
            .send_raw(
                "POST",
                "/v1/calls",
                &format!("{{\"from_number\": \"{PHONE}\"")
            )
            .0,
        400
    );

    let upload = ureq::put(format!("{}/v1/calls/call-private/recording", server.base))
        .header("Authorization", &format!("Bearer {key}"))
        .send(&wav(8000, 8000)[..])
        .unwrap();
    assert_eq!(upload.status().as_u16(), 200);
    let (_, link) = client.get("/v1/calls/call-private/recording");
    let url = link["url"].as_str().unwrap().to_owned();
    let signature = url.split("signature=").nth(1).unwrap().to_owned();
    let fetched = ureq::get(&url).call().unwrap();
    assert_eq!(fetched.status().as_u16(), 200);
    let tampered = url.replace("signature=", "signature=ab");
    let refused = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
        .get(&tampered)
        .call()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);

    let log = server.log();
    drop(server);
    (log, signature)
}

fn assert_private(log: &str, signature: &str, format: &str) {
    assert!(
        log.contains("/v1/calls/{id}") && log.contains("/insights/sessions"),
        "{format}: the request log is missing:\n{log}"
    );
    for (what, secret) in [
        ("the phone number", &PHONE[2..]),
        ("the q= word", WORD),
        ("the filter_by value", FILTER_VALUE),
        ("the recording signature", signature),
    ] {
        let at = log.find(secret);
        assert!(
            at.is_none(),
            "{format}: {what} is in the log: {}",
            at.map(|at| &log[at.saturating_sub(200)..(at + 100).min(log.len())])
                .unwrap_or_default()
        );
    }
}

#[test]
fn the_log_holds_no_phone_number_search_word_filter_value_or_signature() {
    for format in ["text", "json"] {
        let (log, signature) = run_script(format);
        assert_private(&log, &signature, format);
        if format == "json" {
            for line in log.lines() {
                let parsed: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                assert!(parsed["level"].is_string(), "{line}");
            }
        }
    }
}
