//! Webhook destinations as a hostile tenant admin would try them: loopback, private,
//! link-local and IPv6 forms of them, a host name that resolves to loopback, a redirect to
//! an internal address. Each is refused at creation (a 400 naming the rule) and again at
//! delivery, unless the operator allows the range with `--webhook-allow-cidr`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::receiver::Receiver;
use common::{Client, Fixture, LOCAL_RECEIVERS, Server, assert_invalid};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Internal destinations and the rule that refuses each.
const INTERNAL: &[(&str, &str)] = &[
    ("http://127.0.0.1:9/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]:9/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]:9/hook", "loopback"),
    ("http://localhost:9/hook", "loopback"),
];

fn endpoint(url: &str) -> Value {
    json!({"url": url, "events": ["call.started"]})
}

fn webhook_count(client: &Client) -> usize {
    let (status, list) = client.get("/v1/webhooks");
    assert_eq!(status, 200, "{list}");
    list["webhooks"].as_array().unwrap().len()
}

#[test]
fn internal_destinations_are_refused_naming_the_rule() {
    let fixture = Fixture::new();
    let client = fixture.client();
    for (url, rule) in INTERNAL {
        assert_invalid(
            client.post("/v1/webhooks", &endpoint(url)),
            &["url", rule, "--webhook-allow-cidr"],
            url,
        );
    }
    assert_eq!(webhook_count(&client), 0, "nothing was created");

    // A public receiver may be created, but not moved onto an internal address.
    let (status, created) = client.post("/v1/webhooks", &endpoint("http://93.184.216.34/hook"));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_invalid(
        client.patch(
            &format!("/v1/webhooks/{id}"),
            &json!({"url": "http://169.254.169.254/latest"}),
        ),
        &["url", "link-local"],
        "a move to the metadata address",
    );
    let (_, kept) = client.get(&format!("/v1/webhooks/{id}"));
    assert_eq!(kept["url"], "http://93.184.216.34/hook");
}

#[test]
fn the_allow_option_opens_only_the_ranges_it_names() {
    let fixture = Fixture::with_args(LOCAL_RECEIVERS);
    let client = fixture.client();
    for (url, rule) in INTERNAL {
        let answer = client.post("/v1/webhooks", &endpoint(url));
        if *rule == "loopback" {
            assert_eq!(answer.0, 201, "{url}: {}", answer.1);
        } else {
            assert_invalid(answer, &["url", rule], url);
        }
    }
    let loopbacks = INTERNAL.iter().filter(|(_, rule)| *rule == "loopback");
    assert_eq!(webhook_count(&client), loopbacks.count());
}

/// The delivery log of `endpoint` once it has `attempts` attempts, up to 20 seconds.
fn delivery_log(client: &Client, endpoint: &str, attempts: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, answer) = client.get(&format!("/v1/webhooks/{endpoint}/deliveries"));
        let log = answer["deliveries"][0]["log"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if log.len() >= attempts {
            return log;
        }
        assert!(Instant::now() < deadline, "no attempt logged: {answer}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_redirect_to_an_internal_address_is_not_followed() {
    let fixture = Fixture::with_args(LOCAL_RECEIVERS);
    let internal = Receiver::start(vec![(200, "secret".into())]);
    let redirect = Receiver::start_redirect(&format!("{}/admin", internal.url));
    let client = fixture.client();
    let (_, created) = client.post("/v1/webhooks", &endpoint(&redirect.url));
    let id = created["id"].as_str().unwrap().to_owned();
    client.post(
        "/v1/calls",
        &json!({"id": "call-1", "status": "in_progress"}),
    );

    redirect.wait_until("the delivery", |r| !r.is_empty());
    let log = delivery_log(&client, &id, 1);
    assert_eq!(log[0]["status_code"], 302, "{log:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(internal.received().is_empty(), "the redirect was followed");
}

#[test]
fn every_delivery_checks_the_destination_again() {
    // An endpoint on this machine, created while the operator allowed it.
    let fixture = Fixture::with_args(LOCAL_RECEIVERS);
    let receiver = Receiver::start(vec![(200, String::new())]);
    let (_, created) = fixture
        .client()
        .post("/v1/webhooks", &endpoint(&receiver.url));
    let id = created["id"].as_str().unwrap().to_owned();

    // Restarted without the allowance, the server still holds the endpoint but may not
    // reach it: the attempt is logged as refused and nothing arrives.
    let data = fixture.data_dir();
    let Fixture { dir, server, key } = fixture;
    server.kill();
    let server = Server::start(&data, &["--durability", "normal"]);
    let fixture = Fixture { dir, server, key };
    let client = fixture.client();
    client.post(
        "/v1/calls",
        &json!({"id": "call-2", "status": "in_progress"}),
    );
    let log = delivery_log(&client, &id, 1);
    let error = log[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("destination refused") && error.contains("loopback"),
        "{log:?}"
    );
    assert!(log[0]["status_code"].is_null(), "{log:?}");
    assert!(receiver.received().is_empty());
}
