//! The server under a slow client, a flood and a greedy key, and while it stops: a header
//! sent byte by byte is cut off, searches past their bound are shed with 503 `OVERLOADED`
//! while health and gets still answer, a key past its rate gets 429 with `Retry-After`, and a
//! SIGTERM lets the webhook in flight finish and be recorded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::receiver::Receiver;
use common::{Fixture, LOCAL_RECEIVERS, Server};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn a_client_sending_its_headers_one_byte_a_second_is_cut_off() {
    let fixture = Fixture::with_args(&["--header-read-timeout-ms", "1500"]);
    let address = fixture.server.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    // Thirty seconds of header at this pace; the server must not wait for all of it.
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {address}\r\nX-Slow: {}\r\n\r\n",
        "a".repeat(8)
    );
    let started = Instant::now();
    let mut cut_off = false;
    for byte in request.as_bytes() {
        if stream.write_all(std::slice::from_ref(byte)).is_err() {
            cut_off = true;
            break;
        }
        let mut answer = [0u8; 256];
        match stream.read(&mut answer) {
            // Closed without an answer, or answered early (a 408): either way, cut off.
            Ok(0) | Ok(_) => {
                cut_off = true;
                break;
            }
            Err(error)
                if error.kind() == std::io::ErrorKind::WouldBlock
                    || error.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                cut_off = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(900));
    }
    assert!(cut_off, "the server waited for the whole header");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "cut off only after {:?}",
        started.elapsed()
    );
    // Other clients are served meanwhile and after.
    assert_eq!(fixture.client().get("/healthz").0, 200);
}

/// A search heavy enough to take a while on a thousand calls.
fn heavy_query() -> String {
    json!({"size": 100, "query": {"match": {"transcript.text": "appointment refund order"}},
           "aggs": {"by_agent": {"terms": {"field": "agent.id", "size": 50},
                    "aggs": {"per_day": {"date_histogram": {"field": "started_at",
                                                            "calendar_interval": "day"},
                             "aggs": {"latency": {"percentiles":
                                 {"field": "metrics.agent_latency_ms.avg"}}}}}},
                    "cost": {"stats": {"field": "cost.total_micro_usd"}}}})
    .to_string()
}

#[test]
fn a_flood_of_searches_is_shed_while_health_and_gets_still_answer() {
    let fixture = Fixture::with_demo(
        1000,
        &[
            "--max-concurrent-searches",
            "1",
            "--search-queue-timeout-ms",
            "0",
            "--rate-limit",
            "0",
        ],
    );
    let (_, page) = fixture.client().get("/v1/calls?limit=1");
    let id = page["calls"][0]["id"].as_str().unwrap().to_owned();

    let flooding = Arc::new(AtomicBool::new(true));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let flood: Vec<_> = (0..16)
        .map(|_| {
            let client = fixture.client();
            let (flooding, answers) = (Arc::clone(&flooding), Arc::clone(&answers));
            std::thread::spawn(move || {
                let query = heavy_query();
                while flooding.load(Ordering::Relaxed) {
                    let answer = client.exchange("POST", "/v1/calls/query", Some(&query));
                    answers.lock().unwrap().push((
                        answer.status,
                        answer.body["code"].as_str().map(str::to_owned),
                        answer.header("retry-after").map(str::to_owned),
                    ));
                }
            })
        })
        .collect();

    // While the flood runs, health and a get by id are answered every time.
    let client = fixture.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut checked = 0;
    while checked < 40 || !answers.lock().unwrap().iter().any(|a| a.0 == 503) {
        assert!(Instant::now() < deadline, "no search was shed");
        assert_eq!(client.get("/healthz").0, 200);
        let (status, call) = client.get(&format!("/v1/calls/{id}"));
        assert_eq!(status, 200, "{call}");
        checked += 1;
    }
    flooding.store(false, Ordering::Relaxed);
    for thread in flood {
        thread.join().unwrap();
    }
    let answers = answers.lock().unwrap();
    assert!(answers.iter().any(|a| a.0 == 200), "no search got through");
    for (status, code, retry_after) in answers.iter() {
        match status {
            200 => {}
            503 => {
                assert_eq!(code.as_deref(), Some("OVERLOADED"));
                let seconds: u64 = retry_after.as_deref().unwrap().parse().unwrap();
                assert!(seconds >= 1);
            }
            other => panic!("a search answered {other} {code:?}"),
        }
    }
}

#[test]
fn a_key_past_its_rate_gets_429_with_retry_after() {
    let fixture = Fixture::with_args(&["--rate-limit", "2/3", "--rate-limit-org", "org_b=0"]);
    let client = fixture.client();
    let answers: Vec<_> = (0..8)
        .map(|_| client.exchange("GET", "/v1/calls", None))
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(&statuses[..3], [200, 200, 200], "the burst of three");
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(limited.len() >= 4, "{statuses:?}");
    for answer in limited {
        assert_eq!(answer.body["code"], "RATE_LIMITED");
        let seconds: u64 = answer.header("retry-after").unwrap().parse().unwrap();
        assert!(seconds >= 1, "{seconds}");
    }
    // Another key has a bucket of its own; an organization without a limit is not limited;
    // health needs no key and is never limited.
    let other = common::create_key(&fixture.data_dir(), "org_a", "read");
    assert_eq!(fixture.server.client(&other).get("/v1/calls").0, 200);
    let unlimited = common::create_key(&fixture.data_dir(), "org_b", "read");
    for _ in 0..20 {
        assert_eq!(fixture.server.client(&unlimited).get("/v1/calls").0, 200);
    }
    assert_eq!(fixture.server.anonymous().get("/healthz").0, 200);
    // The rate refills: after a second the first key gets through again.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(client.get("/v1/calls").0, 200);
}

#[test]
fn sigterm_lets_the_webhook_in_flight_finish_and_be_recorded() {
    let fixture = Fixture::with_args(LOCAL_RECEIVERS);
    let (receiver, release) = Receiver::start_held(vec![(200, String::new())]);
    let (_, endpoint) = fixture.client().post(
        "/v1/webhooks",
        &json!({"url": receiver.url, "events": ["call.started"]}),
    );
    let endpoint = endpoint["id"].as_str().unwrap().to_owned();
    fixture.client().post(
        "/v1/calls",
        &json!({"id": "call-stop", "status": "in_progress"}),
    );
    receiver.wait_until("the delivery, held", |r| r.len() == 1);

    // Stop the server while the receiver holds its answer; answer a little later.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        release.release();
    });
    let data = fixture.data_dir();
    let Fixture { dir, server, key } = fixture;
    assert!(server.terminate(), "the server did not exit cleanly");
    releaser.join().unwrap();

    // The attempt was recorded before the process ended: nothing is sent again.
    let server = Server::start(&data, &["--durability", "normal"]);
    let fixture = Fixture { dir, server, key };
    let (_, deliveries) = fixture
        .client()
        .get(&format!("/v1/webhooks/{endpoint}/deliveries"));
    let delivery = &deliveries["deliveries"][0];
    assert_eq!(delivery["status"], "delivered", "{deliveries}");
    assert_eq!(delivery["attempts"], 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.received().len(), 1);
}
