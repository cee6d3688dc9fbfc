//! OTLP ingest throughput: `cargo bench -p callscope --bench otlp`.
//!
//! A load generator sends Pipecat-shaped traces to the real binary (release build, a fresh
//! data directory): each conversation has `TURNS` turns, each turn exported as its own batch
//! of four spans (`turn`, `stt`, `llm` with a 2 KB prompt, `tts`), as Pipecat's batch span
//! processor sends them while the conversation runs, then the root `conversation` span.
//! `SENDERS` threads each send their share of `CONVERSATIONS` conversations, protobuf and
//! gzip'd, over one kept-alive connection each. It prints spans per second, the export
//! latency percentiles, and how long after the last export the last conversation's words
//! are found by a full-text search (the index's refresh).
//!
//! `CALLSCOPE_BENCH_CONVERSATIONS` and `CALLSCOPE_BENCH_SENDERS` change the load.

#[path = "../tests/common/mod.rs"]
mod common;

use common::Fixture;
use common::otlp::{export, export_json, exporter, gzip, protobuf, span};
use serde_json::json;
use std::time::{Duration, Instant};

const TURNS: u64 = 10;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The batches of conversation `n`: one per turn, then the root.
fn conversation(n: usize) -> Vec<Vec<u8>> {
    let trace = format!("{:032x}", n as u128 + 1);
    let id = format!("bench-{n}");
    let prompt = "You are a helpful booking assistant. ".repeat(56);
    let mut batches = Vec::new();
    for turn in 0..TURNS {
        let at = turn * 6_000;
        let base = 10 * (turn + 1);
        let spans = vec![
            span(
                &trace,
                base + 1,
                Some(base),
                "stt",
                at + 100,
                at + 1_800,
                &json!({
                "transcript": format!("caller {n} turn {turn} asks about table {}", n * 31 + turn as usize),
                "is_final": true, "metrics.ttfb": 0.15, "metrics.audio_seconds": 1.7,
                "gen_ai.provider.name": "deepgram", "gen_ai.request.model": "nova-3"}),
            ),
            span(
                &trace,
                base + 2,
                Some(base),
                "llm",
                at + 1_900,
                at + 2_900,
                &json!({
                "input": prompt, "output": format!("Table {} is free at eight, conversation {n}.", turn),
                "metrics.ttfb": 0.42, "gen_ai.usage.input_tokens": 400 + turn as i64 * 30,
                "gen_ai.usage.output_tokens": 12,
                "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}),
            ),
            span(
                &trace,
                base + 3,
                Some(base),
                "tts",
                at + 3_000,
                at + 4_500,
                &json!({
                "text": format!("Table {} is free at eight, conversation {n}.", turn),
                "metrics.ttfb": 0.2, "metrics.character_count": 40,
                "gen_ai.provider.name": "cartesia", "gen_ai.request.model": "sonic-2"}),
            ),
            span(
                &trace,
                base,
                Some(1),
                "turn",
                at,
                at + 5_000,
                &json!({
                "turn.number": turn as i64 + 1, "conversation.id": id,
                "turn.was_interrupted": false, "turn.user_bot_latency_seconds": 1.1}),
            ),
        ];
        batches.push(gzip(&protobuf(&export_json("bench-bot", &spans))));
    }
    let root = span(
        &trace,
        1,
        None,
        "conversation",
        0,
        TURNS * 6_000,
        &json!({"conversation.id": id}),
    );
    batches.push(gzip(&protobuf(&export_json("bench-bot", &[root]))));
    batches
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1_000.0
}

fn main() {
    let conversations = setting("CALLSCOPE_BENCH_CONVERSATIONS", 400);
    let senders = setting("CALLSCOPE_BENCH_SENDERS", 4);
    let fixture = Fixture::with_args(&["--rate-limit", "0"]);
    let prepared: Vec<Vec<Vec<u8>>> = (0..conversations).map(conversation).collect();
    let spans_sent = conversations as u64 * (TURNS * 4 + 1);
    let started = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..senders)
            .map(|sender| {
                let (prepared, base, key) = (&prepared, &fixture.server.base, &fixture.key);
                scope.spawn(move || {
                    let agent = exporter();
                    let mut latencies = Vec::new();
                    for batches in prepared.iter().skip(sender).step_by(senders) {
                        for batch in batches {
                            let sent = Instant::now();
                            let (status, _, body) =
                                export(&agent, base, key, batch, "application/x-protobuf", true);
                            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                            latencies.push(sent.elapsed());
                        }
                    }
                    latencies
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a sender panicked"))
            .collect()
    });
    let elapsed = started.elapsed();
    let last = conversations - 1;
    let search = json!({"query": {"match_phrase": {"transcript.text": format!("conversation {last}")}},
                        "size": 1, "fields": ["id"]});
    let searchable = loop {
        let (_, found) = fixture.client().post("/v1/calls/query", &search);
        if found["total"].as_u64().unwrap_or(0) > 0 {
            break started.elapsed() - elapsed;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut sorted = latencies.clone();
    sorted.sort();
    let (_, total) = fixture.client().post(
        "/v1/calls/query",
        &json!({"size": 0, "track_total_hits": true}),
    );
    println!(
        "conversations: {conversations} × {TURNS} turns, {senders} senders, {} exports, {spans_sent} spans",
        latencies.len()
    );
    println!(
        "spans per second:   {:>8.0}",
        spans_sent as f64 / elapsed.as_secs_f64()
    );
    println!(
        "exports per second: {:>8.0}",
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "export latency ms:  p50 {:.1}  p95 {:.1}  p99 {:.1}",
        percentile(&sorted, 0.50),
        percentile(&sorted, 0.95),
        percentile(&sorted, 0.99)
    );
    println!(
        "last conversation searchable {:.0} ms after the last export",
        searchable.as_secs_f64() * 1_000.0
    );
    println!("calls stored: {}", total["total"]);
}
