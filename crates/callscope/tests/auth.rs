//! Keys and tenancy over real HTTP: missing, wrong and revoked keys, scopes, both key headers,
//! and an organization never seeing another's calls.

#![allow(clippy::unwrap_used)] // tests panic on purpose

mod common;

use common::{Fixture, create_key, run_cli};
use serde_json::json;

#[test]
fn missing_wrong_and_revoked_keys_get_the_same_401() {
    let f = Fixture::new();
    let unauthorized = (
        401,
        json!({"error": "Unauthorized", "code": "UNAUTHORIZED"}),
    );
    assert_eq!(f.server.anonymous().get("/v1/calls"), unauthorized);
    assert_eq!(
        f.server
            .client("cs_0000000000000000000000000000000000000000")
            .get("/v1/calls"),
        unauthorized
    );
    assert_eq!(f.server.client("").get("/v1/calls/x"), unauthorized);
    assert_eq!(
        f.server.anonymous().post("/v1/calls", &json!({})),
        unauthorized
    );

    let data = f.data_dir();
    let key = create_key(&data, "org_a", "read");
    let client = f.server.client(&key);
    assert_eq!(client.get("/v1/calls").0, 200);
    let listed = run_cli(&[
        "keys",
        "list",
        "--data-dir",
        data.to_str().unwrap(),
        "--org",
        "org_a",
    ]);
    let key_id = listed
        .lines()
        .find(|line| line.contains(&key[..11]))
        .and_then(|line| line.split_whitespace().next())
        .unwrap()
        .to_owned();
    run_cli(&[
        "keys",
        "revoke",
        "--data-dir",
        data.to_str().unwrap(),
        &key_id,
    ]);
    assert_eq!(
        client.get("/v1/calls"),
        unauthorized,
        "a revoked key stops working at once"
    );
    assert_eq!(
        f.server.anonymous().get("/healthz").0,
        200,
        "health needs no key"
    );
}

#[test]
fn both_key_headers_work() {
    let f = Fixture::new();
    assert_eq!(f.client().post("/v1/calls", &json!({"id": "c1"})).0, 201);
    let (status, call) = f.client().with_vonage_header().get("/v1/calls/c1");
    assert_eq!((status, call["id"].as_str()), (200, Some("c1")));
}

#[test]
fn scopes_limit_what_a_key_may_do_and_a_refusal_changes_nothing() {
    let f = Fixture::new();
    let admin = f.client();
    assert_eq!(
        admin
            .post("/v1/calls", &json!({"id": "c1", "status": "in_progress"}))
            .0,
        201
    );
    let before = admin.get("/v1/calls/c1").1;

    let reader = f.server.client(&create_key(&f.data_dir(), "org_a", "read"));
    assert_eq!(reader.get("/v1/calls/c1").0, 200);
    assert_eq!(
        reader
            .post("/v1/calls/search", &json!({"call_ids": ["c1"]}))
            .0,
        200,
        "batch search is a read"
    );
    let writes = [
        reader.post("/v1/calls", &json!({"id": "c2"})),
        reader.put("/v1/calls/c1", &json!({"status": "failed"})),
        reader.patch("/v1/calls/c1", &json!({"status": "failed"})),
        reader.delete("/v1/calls/c1"),
        reader.post(
            "/v1/calls/c1/transcript",
            &json!({"entries": [{"role": "user", "text": "x"}]}),
        ),
        reader.post(
            "/v1/calls/c1/events",
            &json!({"events": [{"event_type": "x"}]}),
        ),
    ];
    for (status, body) in writes {
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "{body}"
        );
        assert!(body["error"].as_str().unwrap().contains("write"), "{body}");
    }
    assert_eq!(
        admin.get("/v1/calls/c1").1,
        before,
        "refused writes change nothing"
    );
    assert_eq!(admin.get("/v1/calls").1["total"], 1);

    let writer = f
        .server
        .client(&create_key(&f.data_dir(), "org_a", "write"));
    assert_eq!(writer.post("/v1/calls", &json!({"id": "c3"})).0, 201);
    assert_eq!(
        writer.get("/v1/calls/c3").0,
        403,
        "a write-only key cannot read"
    );
}

#[test]
fn an_organization_never_sees_another_organizations_calls() {
    let f = Fixture::new();
    let a = f.client();
    let b = f
        .server
        .client(&create_key(&f.data_dir(), "org_b", "read,write"));
    let call = json!({"id": "shared-id", "status": "in_progress", "agent_id": "agent_a", "from_number": "+15550001"});
    assert_eq!(a.post("/v1/calls", &call).0, 201);
    let before = a.get("/v1/calls/shared-id").1;

    assert_eq!(b.get("/v1/calls/shared-id").0, 404);
    assert_eq!(b.get("/v1/calls/shared-id/events").0, 404);
    let (_, list) = b.get("/v1/calls?search=shared-id");
    assert_eq!(
        (
            list["total"].as_u64(),
            list["calls"].as_array().unwrap().len()
        ),
        (Some(0), 0)
    );
    assert_eq!(b.get("/v1/calls?agent_id=agent_a").1["total"], 0);
    assert_eq!(b.get("/v1/calls").1["total"], 0);
    let (_, found) = b.post("/v1/calls/search", &json!({"call_ids": ["shared-id"]}));
    assert_eq!(found["calls"], json!([]));
    assert_eq!(
        b.patch("/v1/calls/shared-id", &json!({"status": "failed"}))
            .0,
        404
    );
    assert_eq!(b.delete("/v1/calls/shared-id").0, 404);
    assert_eq!(
        b.post(
            "/v1/calls/shared-id/transcript",
            &json!({"entries": [{"role": "user", "text": "x"}]})
        )
        .0,
        404
    );
    assert_eq!(
        b.post(
            "/v1/calls/shared-id/events",
            &json!({"events": [{"event_type": "x"}]})
        )
        .0,
        404
    );

    // The same id in B is B's own call, and A's stays as it was.
    let (status, own) = b.put("/v1/calls/shared-id", &json!({"status": "completed"}));
    assert_eq!(
        (status, own["organization_id"].as_str()),
        (201, Some("org_b"))
    );
    assert_eq!(a.get("/v1/calls/shared-id").1, before);
    assert_eq!(a.get("/v1/calls").1["total"], 1);
    assert_eq!(b.get("/v1/calls").1["total"], 1);
}
