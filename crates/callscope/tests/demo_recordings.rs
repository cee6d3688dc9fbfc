//! Demo recordings end to end: `serve --demo` and `callscope demo` give the most recent
//! ended calls real WAV files, served by the signed links of the recording endpoint, whose
//! audio is as long as the call and sounds where its transcript says someone speaks.
//!
//! Expectations come from the API's own view of the calls and from the rules stated in the
//! code map (a few dozen of the newest eligible calls, at most three minutes each, 64 MiB in
//! all), not from the generator: the WAV files are parsed here from the RIFF layout and
//! measured by the analysis crate's symphonia reader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, Fixture, Server};
use serde_json::Value;
use std::path::Path;

const MAX_CALLS: usize = 200;
const MAX_DURATION_MS: u64 = 180_000;
const MAX_BYTES: u64 = 64 << 20;

/// A 16-bit PCM WAV file as read from its bytes.
struct Wav {
    channels: usize,
    rate: u32,
    /// Samples of each channel.
    tracks: Vec<Vec<i16>>,
}

fn le16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn parse_wav(bytes: &[u8]) -> Wav {
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(le32(bytes, 4) as usize + 8, bytes.len());
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(le16(bytes, 20), 1, "PCM");
    assert_eq!(le16(bytes, 34), 16, "16 bits");
    assert_eq!(&bytes[36..40], b"data");
    assert_eq!(le32(bytes, 40) as usize, bytes.len() - 44);
    let channels = usize::from(le16(bytes, 22));
    let mut tracks = vec![Vec::new(); channels];
    for (i, pair) in bytes[44..].chunks_exact(2).enumerate() {
        tracks[i % channels].push(i16::from_le_bytes([pair[0], pair[1]]));
    }
    Wav {
        channels,
        rate: le32(bytes, 24),
        tracks,
    }
}

fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn all_calls(client: &Client) -> Vec<Value> {
    let (status, page) = client.get("/v1/calls?limit=1000&sort=started_at:desc");
    assert_eq!(status, 200, "{page}");
    page["calls"].as_array().unwrap().clone()
}

fn entries(call: &Value) -> &Vec<Value> {
    call["transcript"]["entries"].as_array().unwrap()
}

/// `[start, end)` in samples at 8 kHz of the entries of `roles`.
fn spans(call: &Value, roles: &[&str]) -> Vec<(usize, usize)> {
    entries(call)
        .iter()
        .filter(|e| roles.contains(&e["role"].as_str().unwrap()))
        .map(|e| {
            let ms = |field: &str| e[field].as_u64().unwrap() as usize;
            (ms("start_ms") * 8, ms("end_ms") * 8)
        })
        .collect()
}

/// Whether the demo can give `call` a file: it ended, its recording is available, someone
/// speaks in it, and it lasts at most three minutes.
fn eligible(call: &Value) -> bool {
    call["status"] != "in_progress"
        && call["recording_status"] == "available"
        && call["duration_ms"].as_u64().unwrap() <= MAX_DURATION_MS
        && entries(call)
            .iter()
            .any(|e| matches!(e["role"].as_str(), Some("user" | "agent")))
}

fn wav_size(duration_ms: u64, channels: u64) -> u64 {
    44 + duration_ms * 8 * 2 * channels
}

fn files_size(call: &Value) -> u64 {
    let duration = call["duration_ms"].as_u64().unwrap();
    let dual = if call["recording_dual_url"].is_null() {
        0
    } else {
        wav_size(duration, 2)
    };
    wav_size(duration, 1) + dual
}

/// Fetches the `channels` recording of `call` through its link, checks the file is the
/// call's length, and returns it parsed.
fn fetch_recording(client: &Client, call: &Value, channels: &str) -> Wav {
    let id = call["id"].as_str().unwrap();
    let (status, link) = client.get(&format!("/v1/calls/{id}/recording?channels={channels}"));
    assert_eq!(status, 200, "{id} {channels}: {link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.contains("signature="), "{url}");
    let mut response = ureq::get(url).call().unwrap();
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "audio/wav",
        "{id}"
    );
    let bytes = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    let duration = call["duration_ms"].as_u64().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fetched.wav");
    std::fs::write(&path, &bytes).unwrap();
    let measured =
        callscope_analysis::audio::inspect(&path, callscope_analysis::AudioFormat::Wav).unwrap();
    assert_eq!(
        measured.duration_ms, duration,
        "{id} {channels}: symphonia's duration"
    );
    let wav = parse_wav(&bytes);
    assert_eq!(wav.rate, 8000);
    assert_eq!(wav.tracks[0].len() as u64, duration * 8, "{id} {channels}");
    wav
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

/// Each span sounds and nothing outside the spans does.
fn assert_lines_up(track: &[i16], spans: &[(usize, usize)], what: &str) {
    let mut inside = vec![false; track.len()];
    for &(start, end) in spans {
        assert!(
            rms(&track[start..end]) > 300.0,
            "{what}: {start}..{end} is silent"
        );
        inside[start..end].fill(true);
    }
    let outside = track
        .iter()
        .zip(&inside)
        .filter(|(_, inside)| !**inside)
        .map(|(s, _)| s.unsigned_abs())
        .max()
        .unwrap_or(0);
    assert!(outside <= 1, "{what}: {outside} outside the spoken turns");
}

#[test]
fn serve_demo_gives_the_newest_calls_recordings_that_line_up_with_their_transcripts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(
        &data,
        &["--demo", "--demo-calls", "300", "--durability", "normal"],
    );
    let client = server.client(server.bootstrap_key.as_deref().unwrap());
    let calls = all_calls(&client);
    assert_eq!(calls.len(), 300);

    // Which calls have files, by the rule: the newest eligible ones, within the bounds.
    let candidates: Vec<&Value> = calls.iter().filter(|c| eligible(c)).collect();
    let recorded: Vec<&Value> = calls
        .iter()
        .filter(|c| !c["recording_url"].is_null())
        .collect();
    assert!(!recorded.is_empty(), "no demo call has a recording");
    assert!(
        recorded.len() < candidates.len(),
        "the corpus is too small to bound"
    );
    let recorded_ids: Vec<&Value> = recorded.iter().map(|c| &c["id"]).collect();
    let newest: Vec<&Value> = candidates
        .iter()
        .take(recorded.len())
        .map(|c| &c["id"])
        .collect();
    assert_eq!(recorded_ids, newest, "the newest eligible calls have files");
    let bytes: u64 = recorded.iter().map(|c| files_size(c)).sum();
    assert!(
        recorded.len() <= MAX_CALLS && bytes <= MAX_BYTES,
        "{bytes} bytes"
    );
    let next = candidates[recorded.len()];
    let next_duration = next["duration_ms"].as_u64().unwrap();
    assert!(
        recorded.len() == MAX_CALLS
            || bytes + wav_size(next_duration, 1) + wav_size(next_duration, 2) > MAX_BYTES,
        "the next eligible call would have fitted"
    );

    // The files are where the server keeps uploads, and take what their headers say.
    let org_dir = data.join("recordings").join(hex("default"));
    let mut on_disk = 0;
    for call in &recorded {
        let id = call["id"].as_str().unwrap();
        let expected = format!("/v1/calls/{id}/recording?channels=mono");
        assert_eq!(call["recording_url"], expected.as_str());
        assert_eq!(call["recording_duration_ms"], call["duration_ms"], "{id}");
        assert!(!call["recording_resource_uri"].is_null(), "{id}");
        let folder = org_dir.join(hex(id));
        on_disk += file_len(&folder.join("mono.wav"));
        if !call["recording_dual_url"].is_null() {
            assert_eq!(
                call["recording_dual_url"],
                format!("/v1/calls/{id}/recording?channels=dual").as_str()
            );
            on_disk += file_len(&folder.join("dual.wav"));
        }
    }
    assert_eq!(on_disk, bytes);

    // A call without a file offers no link that leads nowhere.
    for call in calls.iter().filter(|c| c["recording_url"].is_null()) {
        assert!(call["recording_dual_url"].is_null(), "{}", call["id"]);
        assert!(call["recording_resource_uri"].is_null(), "{}", call["id"]);
    }
    let (status, _) = client.get(&format!(
        "/v1/calls/{}/recording",
        next["id"].as_str().unwrap()
    ));
    assert_eq!(status, 404);

    // The audio through the signed links: mixed, then each party on its own channel.
    let mono_call = recorded[0];
    let mono = fetch_recording(&client, mono_call, "mono");
    assert_eq!(mono.channels, 1);
    assert_lines_up(
        &mono.tracks[0],
        &spans(mono_call, &["user", "agent"]),
        "mono",
    );
    let dual_call = recorded
        .iter()
        .find(|c| !c["recording_dual_url"].is_null())
        .expect("a recorded call with a dual recording");
    let dual = fetch_recording(&client, dual_call, "dual");
    assert_eq!(dual.channels, 2);
    assert_lines_up(
        &dual.tracks[0],
        &spans(dual_call, &["user"]),
        "left (caller)",
    );
    assert_lines_up(
        &dual.tracks[1],
        &spans(dual_call, &["agent"]),
        "right (agent)",
    );
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len()
}

#[test]
fn callscope_demo_writes_recordings_where_the_server_serves_them() {
    let fixture = Fixture::with_demo(150, &[]);
    let client = fixture.client();
    let calls = all_calls(&client);
    let call = calls
        .iter()
        .find(|c| !c["recording_url"].is_null())
        .expect("a demo call with a recording");
    let mono = fetch_recording(&client, call, "mono");
    assert_lines_up(&mono.tracks[0], &spans(call, &["user", "agent"]), "mono");
}
