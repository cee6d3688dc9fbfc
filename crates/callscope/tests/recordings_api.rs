//! Recordings over HTTP: upload, duration from the audio, signed and expiring links, byte
//! ranges, public recordings, and deletion with the call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Fixture, wav};
use serde_json::json;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// GETs `url` with an optional Range: (status, Content-Range, body).
fn fetch(url: &str, range: Option<&str>) -> (u16, Option<String>, Vec<u8>) {
    let mut request = agent().get(url);
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    let mut response = request.call().unwrap();
    let content_range = response
        .headers()
        .get("content-range")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.body_mut().read_to_vec().unwrap();
    (response.status().as_u16(), content_range, body)
}

fn upload(fixture: &Fixture, id: &str, channels: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
    let mut response = agent()
        .put(&format!(
            "{}/v1/calls/{id}/recording?channels={channels}",
            fixture.server.base
        ))
        .header("Authorization", &format!("Bearer {}", fixture.key))
        .send(bytes)
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap())
}

#[test]
fn recordings_are_served_by_signed_links_with_ranges() {
    let fixture = Fixture::with_args(&["--max-recording-bytes", "200000"]);
    let client = fixture.client();
    client.post("/v1/calls", &json!({"id": "rec-1", "status": "completed"}));
    let audio = wav(8000, 20_000); // 2.5 s
    let (status, stored) = upload(&fixture, "rec-1", "mono", &audio);
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["recording_duration_ms"], 2500);
    assert_eq!(stored["content_type"], "audio/wav");
    let (_, call) = client.get("/v1/calls/rec-1");
    assert_eq!(call["recording_status"], "available");
    assert_eq!(call["recording_duration_ms"], 2500);
    assert_eq!(
        call["recording_url"],
        "/v1/calls/rec-1/recording?channels=mono"
    );

    let (status, link) = client.get("/v1/calls/rec-1/recording");
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.contains("signature="), "{url}");
    let (status, _, body) = fetch(&url, None);
    assert_eq!((status, body.len()), (200, audio.len()));
    assert_eq!(body, audio);
    let (status, range, body) = fetch(&url, Some("bytes=44-53"));
    assert_eq!(status, 206);
    assert_eq!(
        range.as_deref(),
        Some(format!("bytes 44-53/{}", audio.len()).as_str())
    );
    assert_eq!(body, audio[44..54]);
    let (status, _, body) = fetch(&url, Some("bytes=-4"));
    assert_eq!((status, body.as_slice()), (206, &audio[audio.len() - 4..]));
    let (status, range, _) = fetch(&url, Some(&format!("bytes={}-", audio.len())));
    assert_eq!(
        (status, range),
        (416, Some(format!("bytes */{}", audio.len())))
    );

    // Tampered, expired, unsigned or for another call: refused.
    let tampered = url.replace("signature=", "signature=00");
    assert_eq!(fetch(&tampered, None).0, 403);
    let expires: i64 = url
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let later = url.replace(
        &format!("expires={expires}"),
        &format!("expires={}", expires + 60),
    );
    assert_eq!(
        fetch(&later, None).0,
        403,
        "a longer expiry needs a new signature"
    );
    let signature = url.split("signature=").nth(1).unwrap();
    let base = url.split('?').next().unwrap();
    let past = format!("{base}?expires=1000&signature={signature}");
    assert_eq!(fetch(&past, None).0, 403);
    assert_eq!(fetch(base, None).0, 403);
    assert_eq!(fetch(&url.replace("rec-1", "rec-2"), None).0, 403);

    // Public recordings: permanent unsigned links.
    let (status, org) = client.patch("/v1/organization", &json!({"public_recordings": true}));
    assert_eq!((status, &org["public_recordings"]), (200, &json!(true)));
    let (_, link) = client.get("/v1/calls/rec-1/recording");
    let public = link["url"].as_str().unwrap();
    assert!(!public.contains('?'), "{public}");
    assert_eq!(fetch(public, None).2, audio);

    // Bad uploads change nothing; deleting the call deletes the file.
    let (status, refused) = upload(&fixture, "rec-1", "mono", b"<html>not audio</html>");
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("INVALID_PARAMETER"))
    );
    let (status, refused) = upload(&fixture, "rec-1", "mono", &wav(8000, 120_000));
    assert_eq!(
        (status, refused["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    let (status, _) = upload(&fixture, "nope", "mono", &audio);
    assert_eq!(status, 404);
    assert_eq!(
        fetch(public, None).2,
        audio,
        "the stored recording is unchanged"
    );
    assert_eq!(client.delete("/v1/calls/rec-1").0, 204);
    assert_eq!(fetch(public, None).0, 404);
    let leftovers: Vec<String> = common::files_under(&fixture.data_dir().join("recordings"))
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers,
        ["url-signing.key"],
        "only the signing key remains"
    );
}

/// Sends a recording upload by hand: the headers announce `announced` bytes, `sent` of them
/// follow, then the client waits `pause` (answering nothing) and hangs up. Returns the status
/// line the server answered with, if it answered before the client hung up.
fn partial_upload(
    fixture: &Fixture,
    id: &str,
    announced: usize,
    sent: &[u8],
    pause: std::time::Duration,
) -> Option<String> {
    use std::io::{BufRead, BufReader, Write};
    let address = fixture.server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "PUT /v1/calls/{id}/recording?channels=mono HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {}\r\nContent-Length: {announced}\r\n\r\n",
        fixture.key
    )
    .unwrap();
    stream.write_all(sent).unwrap();
    stream.set_read_timeout(Some(pause)).unwrap();
    let mut status = String::new();
    let answered = BufReader::new(&stream).read_line(&mut status).is_ok() && !status.is_empty();
    answered.then(|| status.trim().to_owned())
}

#[test]
fn a_failed_re_upload_leaves_the_stored_recording_playable() {
    let fixture = Fixture::with_args(&["--upload-idle-timeout-secs", "1"]);
    let client = fixture.client();
    client.post(
        "/v1/calls",
        &json!({"id": "rec-keep", "status": "completed"}),
    );
    let audio = wav(8000, 20_000);
    assert_eq!(upload(&fixture, "rec-keep", "mono", &audio).0, 200);
    let playable = || {
        let (_, link) = client.get("/v1/calls/rec-keep/recording");
        let (status, _, body) = fetch(link["url"].as_str().unwrap(), None);
        assert_eq!(status, 200);
        assert!(body == audio, "the stored recording changed");
        let (_, call) = client.get("/v1/calls/rec-keep");
        assert_eq!(call["recording_duration_ms"], 2500);
    };

    // An MP3 by its first bytes that is not audio: refused after it was received whole.
    let mut not_audio = b"ID3\x04\x00\x00\x00\x00\x00\x00".to_vec();
    not_audio.extend(std::iter::repeat_n(0x55u8, 4000));
    let (status, body) = upload(&fixture, "rec-keep", "mono", &not_audio);
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_PARAMETER"))
    );
    playable();

    // A client that stops sending halfway: cut off by the idle timeout.
    let another = wav(8000, 40_000);
    let status = partial_upload(
        &fixture,
        "rec-keep",
        another.len(),
        &another[..another.len() / 2],
        std::time::Duration::from_secs(5),
    );
    assert!(
        status.as_deref().is_some_and(|s| s.contains(" 408 ")),
        "{status:?}"
    );
    playable();

    // A client that hangs up halfway.
    partial_upload(
        &fixture,
        "rec-keep",
        another.len(),
        &another[..another.len() / 3],
        std::time::Duration::from_millis(50),
    );
    playable();

    // Nothing half-written is left beside the recording (the hung-up upload's partial file
    // goes once the server has seen the connection close).
    let files = || {
        std::fs::read_dir(fixture.data_dir().join("recordings"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_dir())
            .flat_map(|org| std::fs::read_dir(org).unwrap())
            .flat_map(|call| std::fs::read_dir(call.unwrap().path()).unwrap())
            .map(|file| file.unwrap().file_name().into_string().unwrap())
            .collect::<Vec<_>>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while files() != ["mono.wav"] && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(files(), ["mono.wav"]);
}

#[test]
fn links_start_with_the_public_url_when_one_is_set() {
    let fixture = Fixture::with_args(&["--public-url", "https://calls.example.com/"]);
    let client = fixture.client();
    client.post(
        "/v1/calls",
        &json!({"id": "rec-pub", "status": "completed"}),
    );
    let audio = wav(8000, 8000);
    assert_eq!(upload(&fixture, "rec-pub", "mono", &audio).0, 200);
    let (_, link) = client.get("/v1/calls/rec-pub/recording");
    let url = link["url"].as_str().unwrap();
    let path = url
        .strip_prefix("https://calls.example.com/recordings/")
        .unwrap_or_else(|| panic!("{url}"));
    // The proxy in front forwards the path as it is; the link works through it.
    let (status, _, body) = fetch(&format!("{}/recordings/{path}", fixture.server.base), None);
    assert_eq!((status, body == audio), (200, true));
}
