//! The LLM analyzer against a real HTTP server on 127.0.0.1 speaking the chat/completions
//! wire format, one canned answer per test.

use super::*;
use crate::report::tests::call_with;
use crate::report::{analyze, heuristic_report};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

/// What the server received: the request line, the headers (names lowercased) and the body.
#[derive(Debug)]
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves one request with `status` and `body`, and reports what it received. Returns the
/// base URL and the channel the request arrives on.
fn serve_once(status: u16, body: String) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let address = listener.local_addr().expect("local address");
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        if let Some(received) = read_request(&stream) {
            let _ = sender.send(received);
        }
        let mut stream = stream;
        let reply = format!(
            "HTTP/1.1 {status} Canned\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(reply.as_bytes());
    });
    (format!("http://{address}/v1"), receiver)
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body: serde_json::from_slice(&body).ok()?,
    })
}

/// A chat/completions answer whose message content is `content`.
fn completion(content: &str) -> String {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}]
    })
    .to_string()
}

fn config(base_url: String) -> LlmConfig {
    LlmConfig {
        base_url,
        model: "test-model".into(),
        api_key: Some("sk-test".into()),
        timeout: Duration::from_secs(5),
        trusted_roots: crate::TrustedRoots::Public,
    }
}

fn sample_call() -> Call {
    let mut call = call_with(&[
        (Role::Agent, "Hi, this is Acme Dental. How can I help?"),
        (
            Role::User,
            "I need to move my cleaning to March 3rd. My email is ann@example.com.",
        ),
        (Role::Agent, "Done, your appointment is now on March 3rd."),
    ]);
    call.flow = serde_json::from_value(json!({"collected_parameters": [
        {"name": "patient", "value": "Ann"}
    ]}))
    .ok();
    call
}

#[test]
fn a_good_answer_becomes_the_completed_report() {
    let canned = json!({
        "summary": "Ann called Acme Dental to move her cleaning; it was moved to March 3.",
        "outcome": "appointment_rescheduled",
        "sentiment": "neutral",
        "structured_data": {"email": "ann@example.com"}
    });
    let (url, received) = serve_once(200, completion(&canned.to_string()));
    let call = sample_call();
    let extractors = [Extractor::new("email", ExtractorKind::Email)];
    let report = analyze(&call, &extractors, Some(&config(url)));

    assert_eq!(report.status, Some(AnalysisStatus::Completed));
    assert_eq!(report.summary.as_deref(), canned["summary"].as_str());
    assert_eq!(report.outcome.as_deref(), Some("appointment_rescheduled"));
    assert_eq!(report.sentiment, Some(Sentiment::Neutral));
    assert_eq!(
        report.structured_data.map(Value::Object),
        Some(json!({"patient": "Ann", "email": "ann@example.com"}))
    );
    assert_eq!(report.fallback_reason, None);

    let request = received.recv().expect("the server saw the request");
    assert_eq!(request.request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.body["model"], "test-model");
    assert_eq!(request.body["temperature"], 0);
    assert_eq!(
        request.body["response_format"],
        json!({"type": "json_object"})
    );
    let messages = request.body["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "system");
    let system = messages[0]["content"].as_str().unwrap_or_default();
    assert!(
        system.contains("appointment_canceled, transferred"),
        "{system}"
    );
    assert!(system.contains("\"email\": an email address"), "{system}");
    assert_eq!(messages[1]["role"], "user");
    let user = messages[1]["content"].as_str().unwrap_or_default();
    assert!(
        user.contains("user: I need to move my cleaning to March 3rd."),
        "{user}"
    );
    assert!(user.contains("status: completed"), "{user}");
}

#[test]
fn no_key_means_no_authorization_header_and_a_fenced_answer_is_accepted() {
    let canned = "```json\n{\"summary\": \"s\", \"outcome\": \"resolved\", \
                  \"sentiment\": \"positive\", \"structured_data\": {}}\n```";
    let (url, received) = serve_once(200, completion(canned));
    let config = LlmConfig {
        api_key: None,
        ..config(url)
    };
    let report = llm_report(&call_with(&[]), &[], &config);
    assert_eq!(report.ok().and_then(|r| r.outcome), Some("resolved".into()));
    let request = received.recv().expect("the server saw the request");
    assert_eq!(request.header("authorization"), None);
}

/// `analyze` against an endpoint answering `status` with `body`: the heuristic report with a
/// fallback reason, which is returned.
fn fallback_reason(status: u16, body: String) -> String {
    let (url, _received) = serve_once(status, body);
    let call = sample_call();
    let report = analyze(&call, &[], Some(&config(url)));
    let reason = report.fallback_reason.clone().unwrap_or_default();
    assert_eq!(
        Analysis {
            fallback_reason: None,
            ..report
        },
        heuristic_report(&call, &[])
    );
    reason
}

#[test]
fn a_server_error_falls_back_to_the_heuristic_report() {
    let reason = fallback_reason(500, r#"{"error": "model overloaded"}"#.into());
    assert!(reason.contains("test-model"), "{reason}");
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert!(reason.contains("model overloaded"), "{reason}");
}

#[test]
fn content_that_is_not_json_falls_back() {
    let reason = fallback_reason(200, completion("Sure! The caller wanted to reschedule."));
    assert!(reason.contains("the content is not JSON"), "{reason}");
    let reason = fallback_reason(200, "not a completion".into());
    assert!(reason.contains("the response is not JSON"), "{reason}");
    let reason = fallback_reason(200, json!({"choices": []}).to_string());
    assert!(reason.contains("no choices[0].message.content"), "{reason}");
}

#[test]
fn an_unknown_outcome_or_a_missing_field_falls_back() {
    let unknown = json!({"summary": "s", "outcome": "happy", "sentiment": "neutral",
                         "structured_data": {}});
    let reason = fallback_reason(200, completion(&unknown.to_string()));
    assert!(
        reason.contains("`outcome` is `happy`, not one of"),
        "{reason}"
    );
    let missing = json!({"summary": "s", "outcome": "resolved", "structured_data": {}});
    let reason = fallback_reason(200, completion(&missing.to_string()));
    assert!(reason.contains("`sentiment` is missing"), "{reason}");
    let bad_data = json!({"summary": "s", "outcome": "resolved", "sentiment": "neutral",
                          "structured_data": [1]});
    let reason = fallback_reason(200, completion(&bad_data.to_string()));
    assert!(
        reason.contains("`structured_data` must be an object"),
        "{reason}"
    );
    let bad_sentiment = json!({"summary": "s", "outcome": "resolved", "sentiment": "meh"});
    let reason = fallback_reason(200, completion(&bad_sentiment.to_string()));
    assert!(reason.contains("unknown value `meh`"), "{reason}");
}

#[test]
fn an_unreachable_endpoint_falls_back() {
    // A port that was just free: nothing listens there once the listener is dropped.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let call = sample_call();
    let report = analyze(
        &call,
        &[],
        Some(&config(format!("http://127.0.0.1:{port}/v1"))),
    );
    assert_eq!(report.status, Some(AnalysisStatus::Heuristic));
    let reason = report.fallback_reason.unwrap_or_default();
    assert!(reason.contains("could not be reached"), "{reason}");
}

#[test]
fn a_slow_endpoint_times_out_and_falls_back() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let address = listener.local_addr().expect("local address");
    // Accept and hold the connection without answering.
    let holder = thread::spawn(move || listener.accept().map(|(stream, _)| stream).ok());
    let config = LlmConfig {
        timeout: Duration::from_millis(300),
        ..config(format!("http://{address}/v1"))
    };
    let started = std::time::Instant::now();
    let report = analyze(&sample_call(), &[], Some(&config));
    assert!(started.elapsed() < Duration::from_secs(3));
    let reason = report.fallback_reason.unwrap_or_default();
    assert!(reason.contains("could not be reached"), "{reason}");
    assert!(
        reason.to_lowercase().contains("timeout") || reason.contains("timed out"),
        "{reason}"
    );
    drop(holder.join());
}

#[test]
fn the_api_key_is_not_in_the_debug_form() {
    let debug = format!("{:?}", config("http://x".into()));
    assert!(!debug.contains("sk-test"), "{debug}");
}
