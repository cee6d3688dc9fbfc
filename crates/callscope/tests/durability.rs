//! Durability over a real process: an acknowledged write survives SIGKILL, and the bootstrap
//! admin key is printed on the first start only.

#![allow(clippy::unwrap_used)] // tests panic on purpose

mod common;

use common::Server;
use serde_json::json;

#[test]
fn an_acknowledged_call_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Default durability (full), as a user would run it.
    let server = Server::start(&data, &[]);
    let key = server
        .bootstrap_key
        .clone()
        .expect("the first start prints an admin key");
    let client = server.client(&key);
    let body = json!({"id": "precious", "status": "in_progress", "agent_id": "a1",
        "transcript": [{"role": "agent", "text": "This call must not be lost."}]});
    let (status, created) = client.post("/v1/calls", &body);
    assert_eq!(status, 201);
    // Many writes in flight at once, each acknowledged before the kill.
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let client = server.client(&key);
            std::thread::spawn(move || {
                client
                    .put(
                        &format!("/v1/calls/burst-{i}"),
                        &json!({"status": "completed"}),
                    )
                    .0
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), 201);
    }
    let (status, appended) = client.post(
        "/v1/calls/precious/transcript",
        &json!({"entries": [{"role": "user", "text": "Still here?"}]}),
    );
    assert_eq!(status, 200);
    server.kill();

    let restarted = Server::start(&data, &[]);
    assert_eq!(
        restarted.bootstrap_key, None,
        "the admin key is printed only on the first start"
    );
    let client = restarted.client(&key);
    let (status, found) = client.get("/v1/calls/precious");
    assert_eq!(status, 200);
    assert_eq!(found["transcript"]["entries"], appended["entries"]);
    let mut expected = created;
    expected["transcript"] = found["transcript"].clone();
    expected["transcript_text"] = found["transcript_text"].clone();
    expected["report"]["transcript"] = found["transcript"].clone();
    expected["updated_at"] = found["updated_at"].clone();
    assert_eq!(found, expected);
    assert_eq!(client.get("/v1/calls?limit=1000").1["total"], 41);
}
