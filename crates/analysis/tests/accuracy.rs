//! Accuracy of the heuristic analyzer on 1,000 labelled demo calls.
//!
//! The demo generator writes each call's ground truth (outcome and caller sentiment) beside
//! the call, never inside it, so the analyzer sees only what a runtime would send. Run with
//! `cargo test -p callscope-analysis --test accuracy -- --nocapture` to see the figures and
//! the most frequent confusions.

use callscope_analysis::heuristic_report;
use callscope_demo::{DemoConfig, generate};
use callscope_model::{Sentiment, Timestamp};
use std::collections::BTreeMap;

/// Measured floors, a few points under what the analyzer achieves (see the printed figures),
/// so a regression fails the test while small wording changes do not.
const OUTCOME_FLOOR: f64 = 0.95;
const SENTIMENT_FLOOR: f64 = 0.90;

/// The evaluation corpus; `ACCURACY_SEED` picks another one for looking at mistakes without
/// tuning to the evaluated calls.
fn corpus() -> DemoConfig {
    let seed = std::env::var("ACCURACY_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(2024);
    DemoConfig {
        seed,
        organization_id: "org_eval".into(),
        calls: 1000,
        anchor: Timestamp::parse("2025-10-01T12:00:00Z").expect("a valid anchor"),
        days: 30,
    }
}

#[test]
fn heuristic_accuracy_on_1000_demo_calls() {
    let mut outcomes: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let mut sentiments: BTreeMap<(Sentiment, Sentiment), usize> = BTreeMap::new();
    let (mut total, mut outcome_hits, mut sentiment_hits) = (0usize, 0usize, 0usize);
    let verbose = std::env::var_os("ACCURACY_VERBOSE").is_some();
    for labelled in generate(&corpus()) {
        let report = heuristic_report(&labelled.call, &[]);
        let outcome = report.outcome.unwrap_or_default();
        let sentiment = report.sentiment.unwrap_or(Sentiment::Neutral);
        total += 1;
        outcome_hits += usize::from(outcome == labelled.label.outcome);
        sentiment_hits += usize::from(sentiment == labelled.label.sentiment);
        if verbose && (outcome != labelled.label.outcome || sentiment != labelled.label.sentiment) {
            println!(
                "--- expected {} / {}, got {outcome} / {sentiment}",
                labelled.label.outcome, labelled.label.sentiment
            );
            for entry in &labelled.call.transcript {
                println!("  {}: {}", entry.role, entry.text);
            }
        }
        *outcomes
            .entry((labelled.label.outcome, outcome))
            .or_default() += 1;
        *sentiments
            .entry((labelled.label.sentiment, sentiment))
            .or_default() += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = |hits: usize| hits as f64 / total as f64;
    println!(
        "heuristic analyzer on {total} demo calls: outcome {:.1} %, sentiment {:.1} %",
        rate(outcome_hits) * 100.0,
        rate(sentiment_hits) * 100.0
    );
    let mut confusions: Vec<_> = outcomes
        .iter()
        .filter(|((expected, got), _)| expected != got)
        .collect();
    confusions.sort_by(|a, b| b.1.cmp(a.1));
    println!("most frequent outcome confusions (expected -> got: calls):");
    for ((expected, got), count) in confusions.iter().take(12) {
        println!("  {expected} -> {got}: {count}");
    }
    println!("sentiment (expected -> got: calls):");
    for ((expected, got), count) in &sentiments {
        println!("  {expected} -> {got}: {count}");
    }
    assert!(
        rate(outcome_hits) >= OUTCOME_FLOOR,
        "outcome accuracy {:.3} fell below {OUTCOME_FLOOR}",
        rate(outcome_hits)
    );
    assert!(
        rate(sentiment_hits) >= SENTIMENT_FLOOR,
        "sentiment accuracy {:.3} fell below {SENTIMENT_FLOOR}",
        rate(sentiment_hits)
    );
}
