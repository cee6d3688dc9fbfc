//! Properties every generated corpus must have: determinism, coverage of the model's
//! vocabularies, calls the model accepts unchanged, consistent times, and labels that agree
//! with what the call shows.

use super::*;
use callscope_model::{OUTCOMES, validate_id};
use std::collections::{BTreeMap, BTreeSet};

fn config(seed: u64, calls: usize) -> DemoConfig {
    let Some(anchor) = Timestamp::from_millis(1_773_921_600_000) else {
        panic!("2026-03-19T12:00:00Z is representable")
    };
    DemoConfig {
        seed,
        organization_id: "org_demo".to_owned(),
        calls,
        anchor,
        days: 30,
    }
}

fn corpus(seed: u64, calls: usize) -> Vec<LabelledCall> {
    generate(&config(seed, calls)).collect()
}

fn json(call: &LabelledCall) -> String {
    let call_json = serde_json::to_string(&call.call).unwrap_or_default();
    let events_json = serde_json::to_string(&call.events).unwrap_or_default();
    let transfers_json = serde_json::to_string(&call.transfers).unwrap_or_default();
    format!(
        "{call_json}\n{events_json}\n{transfers_json}\n{:?}",
        call.label
    )
}

fn user_text(call: &Call) -> String {
    call.transcript
        .iter()
        .filter(|t| t.role == Role::User)
        .map(|t| t.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" \n ")
}

#[test]
fn the_same_config_gives_the_same_bytes_and_another_seed_does_not() {
    let first: Vec<String> = corpus(7, 300).iter().map(json).collect();
    let second: Vec<String> = corpus(7, 300).iter().map(json).collect();
    assert_eq!(first, second);
    let other: Vec<String> = corpus(8, 300).iter().map(json).collect();
    assert_ne!(first, other);
    // Skipping ahead gives the same call as walking there.
    let Some(skipped) = generate(&config(7, 300)).nth(123) else {
        panic!("call 123 exists")
    };
    assert_eq!(json(&skipped), first[123]);
    // So does walking back from the end, and both ends meet without repeating a call.
    let mut both_ends = generate(&config(7, 300));
    let Some(newest) = both_ends.next_back() else {
        panic!("call 299 exists")
    };
    assert_eq!(json(&newest), first[299]);
    let reversed: Vec<String> = both_ends.by_ref().rev().skip(1).map(|c| json(&c)).collect();
    assert_eq!(reversed.len(), 298);
    assert_eq!(reversed[0], first[297]);
    assert_eq!(both_ends.len(), 0);
}

#[test]
fn a_thousand_calls_cover_every_status_and_disconnection_reason() {
    let calls = corpus(1, 1000);
    let statuses: BTreeSet<CallStatus> = calls.iter().map(|c| c.call.status).collect();
    for status in CallStatus::ALL {
        assert!(statuses.contains(status), "no {status} call");
    }
    let reasons: BTreeSet<DisconnectionReason> = calls
        .iter()
        .filter_map(|c| c.call.disconnection_reason)
        .collect();
    for reason in DisconnectionReason::ALL {
        assert!(reasons.contains(reason), "no {reason} call");
    }
    let kinds: BTreeSet<CallKind> = calls.iter().filter_map(|c| c.call.kind).collect();
    assert_eq!(kinds.len(), CallKind::ALL.len());
    let agents: BTreeSet<&str> = calls
        .iter()
        .filter_map(|c| c.call.agent.id.as_deref())
        .collect();
    assert_eq!(agents.len(), catalog::AGENTS.len());
    let campaigns: BTreeSet<&str> = calls
        .iter()
        .filter_map(|c| c.call.campaign_id.as_deref())
        .collect();
    assert!(campaigns.len() >= 8, "{campaigns:?}");
}

#[test]
fn status_shares_are_roughly_as_designed() {
    let calls = corpus(2, 5000);
    let mut counts: BTreeMap<CallStatus, usize> = BTreeMap::new();
    for call in &calls {
        *counts.entry(call.call.status).or_default() += 1;
    }
    let share = |status| counts.get(&status).copied().unwrap_or(0) as f64 / calls.len() as f64;
    let expected = [
        (CallStatus::Completed, 0.62, 0.82),
        (CallStatus::NoAnswer, 0.07, 0.16),
        (CallStatus::Busy, 0.025, 0.07),
        (CallStatus::Failed, 0.03, 0.07),
        (CallStatus::Canceled, 0.02, 0.06),
        (CallStatus::InProgress, 0.009, 0.011),
    ];
    for (status, low, high) in expected {
        let got = share(status);
        assert!((low..=high).contains(&got), "{status}: {got:.3}");
    }
    let outcomes: BTreeSet<&str> = calls.iter().map(|c| c.label.outcome).collect();
    for outcome in OUTCOMES {
        assert!(outcomes.contains(outcome), "no {outcome} call");
    }
    let use_cases: BTreeSet<&str> = calls.iter().map(|c| c.label.use_case).collect();
    assert_eq!(use_cases.len(), USE_CASES.len());
}

#[test]
fn outcome_labels_are_the_published_list() {
    let labels: Vec<&str> = Outcome::ALL.iter().map(|o| o.label()).collect();
    assert_eq!(labels, OUTCOMES);
}

#[test]
fn every_call_is_already_normalized_and_round_trips_through_json() {
    for labelled in corpus(3, 1000) {
        let call = &labelled.call;
        let mut normalized = call.clone();
        let result = normalized.normalize();
        assert!(result.is_ok(), "{}: {result:?}", call.id);
        assert_eq!(&normalized, call, "normalize changed {}", call.id);
        let text = serde_json::to_string(call).unwrap_or_default();
        let back: Result<Call, _> = serde_json::from_str(&text);
        assert_eq!(back.as_ref().ok(), Some(call), "{}: {back:?}", call.id);
        let events = serde_json::to_string(&labelled.events).unwrap_or_default();
        let back: Result<Vec<Event>, _> = serde_json::from_str(&events);
        assert_eq!(back.ok().as_ref(), Some(&labelled.events));
    }
}

#[test]
fn compact_calls_keep_the_prototype_shape_and_stay_valid() {
    let full = corpus(5, 500);
    let mut full_bytes = 0;
    let mut compact_bytes = 0;
    for labelled in full {
        full_bytes += serde_json::to_string(&labelled.call)
            .unwrap_or_default()
            .len();
        let id = labelled.call.id.clone();
        let compact = labelled.compact();
        let call = &compact.call;
        assert_eq!(call.id, id);
        assert!(
            call.transcript.len() <= 8,
            "{id}: {} turns",
            call.transcript.len()
        );
        let path = call.flow.as_ref().map_or(&[][..], |flow| &flow.path[..]);
        assert!(path.len() <= 8, "{id}: {} nodes", path.len());
        assert!(
            path.iter()
                .all(|node| node.request.is_none() && node.response.is_none()),
            "{id} kept a payload"
        );
        assert!(compact.events.is_empty());
        let mut normalized = call.clone();
        assert!(normalized.normalize().is_ok(), "{id}");
        assert_eq!(&normalized, call, "a compact call is not normalized: {id}");
        compact_bytes += serde_json::to_string(call).unwrap_or_default().len();
    }
    // Payloads and long calls are most of the bytes; metrics, cost and recording stay.
    assert!(
        compact_bytes * 3 < full_bytes * 2,
        "compact calls average {} bytes, full ones {}",
        compact_bytes / 500,
        full_bytes / 500
    );
}

#[test]
fn ids_are_valid_and_uuid_v7_shaped() {
    for labelled in corpus(4, 500) {
        let call = &labelled.call;
        assert!(validate_id("id", &call.id).is_ok());
        let bytes = call.id.as_bytes();
        assert_eq!(bytes.len(), 36);
        assert_eq!(bytes[14], b'7', "{}", call.id);
        assert!(
            matches!(bytes[19], b'8' | b'9' | b'a' | b'b'),
            "{}",
            call.id
        );
        let started = call.started_at.map_or(0, |t| t.as_millis());
        let time_hex = format!("{}{}", &call.id[..8], &call.id[9..13]);
        assert_eq!(i64::from_str_radix(&time_hex, 16).ok(), Some(started));
        for entry in &call.transcript {
            assert!(validate_id("transcript.id", &entry.id).is_ok());
        }
        for event in &labelled.events {
            assert!(validate_id("event.id", &event.id).is_ok());
        }
        for id in &call.request_ids {
            assert!(validate_id("request_id", id).is_ok());
        }
    }
}

#[test]
fn times_are_consistent_and_inside_the_window() {
    let config = config(5, 2000);
    let anchor = config.anchor;
    let earliest = anchor.plus_millis(-(i64::from(config.days) * 86_400_000));
    let mut previous_start = earliest;
    for labelled in generate(&config) {
        let call = &labelled.call;
        let Some(started) = call.started_at else {
            panic!("{} has no start", call.id)
        };
        assert!(call.created_at <= started, "{}", call.id);
        assert!(call.created_at >= earliest, "{}", call.id);
        assert!(started <= anchor, "{}", call.id);
        assert!(started >= previous_start, "starts grow with the index");
        previous_start = started;
        match call.status {
            CallStatus::InProgress => {
                assert!(call.ended_at.is_none() && call.duration_ms.is_none());
                assert_eq!(call.updated_at, started);
            }
            _ => {
                let (Some(ended), Some(duration)) = (call.ended_at, call.duration_ms) else {
                    panic!("{} is over but has no end", call.id)
                };
                assert_eq!(
                    ended.as_millis() - started.as_millis(),
                    duration as i64,
                    "{}",
                    call.id
                );
                assert!(ended <= anchor, "{}", call.id);
                assert_eq!(call.updated_at, ended);
                for entry in &call.transcript {
                    assert!(entry.end_ms.unwrap_or(0) <= duration, "{}", call.id);
                }
            }
        }
        let mut last_start = 0;
        for (index, entry) in call.transcript.iter().enumerate() {
            assert_eq!(entry.index, Some(index as u32));
            let (Some(start), Some(end)) = (entry.start_ms, entry.end_ms) else {
                panic!("{} has an untimed entry", call.id)
            };
            assert!(start <= end && start >= last_start, "{}", call.id);
            last_start = end;
            if call.status == CallStatus::InProgress {
                assert!(started.plus_millis(end as i64) <= anchor);
            }
        }
        let ceiling = call.ended_at.unwrap_or(anchor);
        let mut last_event = call.created_at;
        for (n, event) in labelled.events.iter().enumerate() {
            assert_eq!(event.created_at, event.occurred_at);
            assert!(event.occurred_at >= call.created_at, "{}", event.id);
            assert!(event.occurred_at <= ceiling, "{}", event.id);
            if n > 0 {
                assert!(event.occurred_at > last_event, "{}", event.id);
            }
            last_event = event.occurred_at;
        }
    }
}

#[test]
fn labels_agree_with_status_and_reason() {
    for labelled in corpus(6, 3000) {
        let call = &labelled.call;
        let label = labelled.label;
        let expected = match call.status {
            CallStatus::NoAnswer => Some("no_answer"),
            CallStatus::Busy => Some("busy"),
            CallStatus::Failed => Some("failed"),
            CallStatus::Canceled => Some("canceled"),
            CallStatus::InProgress => Some("in_progress"),
            CallStatus::Completed => None,
        };
        if let Some(expected) = expected {
            assert_eq!(label.outcome, expected, "{}", call.id);
        }
        if call.disconnection_reason == Some(DisconnectionReason::Transfer) {
            assert_eq!(label.outcome, "transferred");
        }
        if label.outcome == "voicemail" {
            assert_eq!(call.status, CallStatus::Completed);
            assert_eq!(
                call.disconnection_reason,
                Some(DisconnectionReason::AgentHangup)
            );
            let said = user_text(call);
            assert!(
                said.contains("message") || said.contains("mensaje"),
                "{}: {:?}",
                call.id,
                user_text(call)
            );
        }
        if call.disconnection_reason == Some(DisconnectionReason::Timeout) {
            assert_eq!(label.outcome, "unresolved");
        }
        match call.status {
            CallStatus::NoAnswer | CallStatus::Busy | CallStatus::Canceled => {
                assert!(call.transcript.is_empty() && call.metrics.is_none());
                assert_eq!(label.sentiment, Sentiment::Neutral);
            }
            CallStatus::Completed => {
                assert!(call.transcript.len() >= 2, "{}", call.id);
            }
            _ => {}
        }
        assert!(OUTCOMES.contains(&label.outcome));
        assert!(USE_CASES.contains(&label.use_case));
    }
}

#[test]
fn the_call_does_not_carry_its_label() {
    // Outcome names that no field of a call has any business containing.
    let giveaways = [
        "appointment_confirmed",
        "appointment_rescheduled",
        "appointment_canceled",
        "sale_made",
        "not_interested",
        "callback_requested",
        "\"sentiment\"",
        "\"outcome\"",
        "\"label\"",
    ];
    for labelled in corpus(9, 2000) {
        let text = serde_json::to_string(&labelled.call).unwrap_or_default();
        for giveaway in giveaways {
            assert!(
                !text.contains(giveaway),
                "{} contains {giveaway}",
                labelled.call.id
            );
        }
        assert!(labelled.call.analysis.is_none());
    }
}

#[test]
fn sentiment_labels_match_the_callers_words() {
    const POSITIVE: &[&str] = &[
        "thank",
        "great",
        "perfect",
        "wonderful",
        "awesome",
        "appreciate",
        "lovely",
        "brilliant",
        "cheers",
        "love",
        "nice",
        "gracias",
        "genial",
        "amables",
    ];
    const NEGATIVE: &[&str] = &[
        "ridiculous",
        "third time",
        "fourth call",
        "frustrat",
        "unacceptable",
        "terrible",
        "annoy",
        "unbelievable",
        "not happy",
        "wast",
        "worst",
        "sick of",
        "useless",
        "vergüenza",
        "harto",
        "desastre",
        "ridículo",
        "molesto",
    ];
    let mentions = |text: &str, words: &[&str]| words.iter().any(|w| text.contains(w));
    let mut seen = BTreeSet::new();
    for labelled in corpus(10, 3000) {
        let said = user_text(&labelled.call);
        let id = &labelled.call.id;
        seen.insert(labelled.label.sentiment);
        match labelled.label.sentiment {
            Sentiment::Positive => assert!(mentions(&said, POSITIVE), "{id}: {said}"),
            Sentiment::Negative => assert!(mentions(&said, NEGATIVE), "{id}: {said}"),
            Sentiment::Neutral => {
                assert!(!mentions(&said, NEGATIVE), "{id}: {said}");
                let thanked = [
                    "thank",
                    "great",
                    "perfect",
                    "wonderful",
                    "appreciate",
                    "gracias",
                ];
                assert!(!mentions(&said, &thanked), "{id}: {said}");
            }
        }
    }
    assert_eq!(seen.len(), 3);
}

#[test]
fn transcripts_are_filled_in_and_varied() {
    let calls = corpus(11, 2000);
    let mut texts = BTreeSet::new();
    let mut words = BTreeSet::new();
    for labelled in &calls {
        let call = &labelled.call;
        for entry in &call.transcript {
            if entry.role != Role::Tool {
                assert!(
                    !entry.text.contains('{') && !entry.text.contains('}'),
                    "{}: unfilled template {:?}",
                    call.id,
                    entry.text
                );
            }
            texts.insert(entry.text.clone());
            for word in entry
                .text
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
            {
                words.insert(word.to_owned());
            }
        }
        if call.status == CallStatus::Completed && labelled.label.outcome != "voicemail" {
            let n = call.transcript.len();
            assert!((4..=24).contains(&n), "{}: {n} entries", call.id);
        }
    }
    assert!(texts.len() > 3000, "only {} distinct lines", texts.len());
    for word in [
        "appointment",
        "confirm",
        "reschedule",
        "refund",
        "outage",
        "invoice",
        "cancel",
        "agent",
        "human",
        "thank",
        "ridiculous",
    ] {
        assert!(words.contains(word), "nobody says {word}");
    }
}

#[test]
fn flow_agents_record_seed_001_shaped_paths() {
    let mut flows = 0;
    for labelled in corpus(12, 2000) {
        let call = &labelled.call;
        let Some(flow) = &call.flow else {
            continue;
        };
        flows += 1;
        assert!(
            (3..=8).contains(&flow.path.len()),
            "{}: {}",
            call.id,
            flow.path.len()
        );
        assert!((2..=3).contains(&call.request_ids.len()), "{}", call.id);
        assert_eq!(flow.path[0].node_type, "start");
        let node_tags: Vec<_> = flow.path.iter().flat_map(|n| n.tags.clone()).collect();
        assert_eq!(node_tags, flow.collected_tags);
        for node in &flow.path {
            let Some(context) = &node.context else {
                panic!("{}: node without context", call.id)
            };
            for key in [
                "output",
                "user_input",
                "execution_parameters",
                "url",
                "status",
            ] {
                assert!(
                    context.contains_key(key),
                    "{}: context lacks {key}",
                    call.id
                );
            }
            if node.node_type == "webhook" {
                let Some(request) = &node.request else {
                    panic!("{}: webhook without request", call.id)
                };
                for key in ["headers", "payload", "verb", "url"] {
                    assert!(request.contains_key(key));
                }
                assert!(
                    node.response
                        .as_ref()
                        .is_some_and(|r| r.contains_key("code"))
                );
            }
        }
    }
    assert!(flows > 300, "only {flows} flow calls");
}

#[test]
fn connected_calls_have_metrics_cost_and_recordings() {
    for labelled in corpus(13, 1500) {
        let call = &labelled.call;
        let connected = !call.transcript.is_empty();
        if !connected {
            assert!(call.metrics.is_none() && call.cost.is_none() && call.recording.is_none());
            continue;
        }
        if let Some(cost) = &call.cost {
            let sum: u64 = cost.breakdown.iter().map(|i| i.micro_usd.0).sum();
            assert_eq!(cost.total_micro_usd.map(|m| m.0), Some(sum));
            assert!(sum > 0);
        } else {
            assert_eq!(call.status, CallStatus::InProgress);
        }
        let Some(metrics) = &call.metrics else {
            continue;
        };
        let agent_turns = call
            .transcript
            .iter()
            .filter(|t| t.role == Role::Agent)
            .count();
        let Some(end_to_end) = &metrics.end_to_end_latency_ms else {
            panic!("{}: no end-to-end latency", call.id)
        };
        assert_eq!(end_to_end.samples, Some(agent_turns as u32));
        let avg = end_to_end.avg.unwrap_or_default();
        assert!((400.0..=2500.0).contains(&avg), "{}: {avg}", call.id);
        if call.channel != Some(Channel::Chat) {
            assert!(call.recording.is_some());
        }
    }
}

#[test]
fn a_large_corpus_streams() {
    // Large enough to exercise every path many times, small enough for a debug build (20,000
    // take about 2 s there, 100,000 about 9 s); the million-call case is the same code with a
    // bigger count, and nothing accumulates between calls.
    let count = generate(&config(14, 20_000)).count();
    assert_eq!(count, 20_000);
    assert_eq!(generate(&config(14, 20_000)).len(), 20_000);
}

/// Transferred calls carry one blind chain the state machine could have produced: attempts
/// in order through the targets, each failed but the last, which reached someone or applied
/// the fallback; no other call has any. Enough fail for a success rate to mean something.
#[test]
fn transferred_calls_carry_a_chain_of_attempts() {
    use callscope_model::{TransferKind, TransferStatus};
    let calls = corpus(11, 3000);
    let mut chains = 0;
    let mut reached = 0;
    for labelled in &calls {
        let transferred = labelled.call.disconnection_reason == Some(DisconnectionReason::Transfer);
        if !transferred {
            assert!(labelled.transfers.is_empty(), "{}", labelled.call.id);
            continue;
        }
        chains += 1;
        let attempts = &labelled.transfers;
        assert!(!attempts.is_empty(), "{}", labelled.call.id);
        let first = &attempts[0];
        assert_eq!(first.id, first.chain_id);
        for (at, attempt) in attempts.iter().enumerate() {
            assert_eq!(attempt.attempt as usize, at);
            assert_eq!(attempt.chain_id, first.chain_id);
            assert_eq!(attempt.session_id, labelled.call.id);
            assert_eq!(attempt.kind, TransferKind::Blind);
            assert_eq!(attempt.transfer_to, attempt.targets[at]);
            assert!(attempt.created_at <= attempt.updated_at);
            if at + 1 < attempts.len() {
                assert_eq!(attempt.status, TransferStatus::Failed);
                assert!(attempt.failure_cause.is_some());
                assert!(attempt.updated_at <= attempts[at + 1].created_at);
            }
        }
        let last = &attempts[attempts.len() - 1];
        match last.status {
            TransferStatus::Completed => {
                reached += 1;
                assert!(last.fallback_applied_at.is_none());
            }
            TransferStatus::Failed => {
                assert_eq!(attempts.len(), last.targets.len(), "every target was tried");
                assert!(last.fallback_applied_at.is_some());
            }
            other => panic!("a chain of a finished call ended {other}"),
        }
    }
    assert!(chains > 30, "{chains} transferred calls");
    let rate = f64::from(reached) / f64::from(chains);
    assert!((0.75..0.98).contains(&rate), "success rate {rate}");
}
