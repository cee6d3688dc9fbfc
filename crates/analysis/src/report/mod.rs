//! The post-call report (`Analysis`): summary, outcome label, caller sentiment and structured
//! data.
//!
//! Two analyzers make it. The heuristic one (`heuristic.rs`, `sentiment.rs`, `extract.rs`)
//! always works and needs no network. The optional LLM one (`llm.rs`) asks an
//! OpenAI-compatible endpoint; [`analyze`] uses its answer when it is well formed and falls
//! back to the heuristic report, saying why, when it is not. Neither sets the webhook fields
//! or the report's timestamps: the caller owns those.

mod extract;
mod heuristic;
mod llm;
mod sentiment;
mod text;

pub use extract::{Extractor, ExtractorKind, structured_data};
pub use heuristic::outcome;
pub use llm::{LlmConfig, llm_report};
pub use sentiment::caller_sentiment;

use callscope_model::{Analysis, AnalysisStatus, Call, Object, Sentiment};
use serde_json::Value;

/// The heuristic report (`status: heuristic`): no network, always available.
pub fn heuristic_report(call: &Call, extractors: &[Extractor]) -> Analysis {
    let outcome = heuristic::outcome(call);
    Analysis {
        status: Some(AnalysisStatus::Heuristic),
        summary: Some(heuristic::summary(call, outcome)),
        outcome: Some(outcome.to_owned()),
        // An answering machine's greeting is not the caller speaking.
        sentiment: Some(if outcome == "voicemail" {
            Sentiment::Neutral
        } else {
            sentiment::caller_sentiment(call)
        }),
        structured_data: extract::structured_data(call, extractors),
        scheduled_callback: scheduled_callback(call, outcome),
        ..Analysis::default()
    }
}

/// The report to store: the LLM's when one is configured and it answers well, else the
/// heuristic one, with `fallback_reason` saying why the LLM's was not used.
pub fn analyze(call: &Call, extractors: &[Extractor], llm: Option<&LlmConfig>) -> Analysis {
    let Some(config) = llm else {
        return heuristic_report(call, extractors);
    };
    match llm_report(call, extractors, config) {
        Ok(report) => report,
        Err(error) => Analysis {
            fallback_reason: Some(format!(
                "The LLM analyzer ({} at {}) failed, so the heuristic report was stored: {error}.",
                config.model, config.base_url
            )),
            ..heuristic_report(call, extractors)
        },
    }
}

/// For a call that ended with a callback request: when, if a date was said (by either side,
/// the last one said wins, as later turns settle earlier ones).
fn scheduled_callback(call: &Call, outcome: &str) -> Option<Object> {
    if outcome != "callback_requested" {
        return None;
    }
    let mut callback = Object::new();
    callback.insert("requested".into(), Value::Bool(true));
    let date = [callscope_model::Role::User, callscope_model::Role::Agent]
        .into_iter()
        .filter_map(|role| {
            Extractor {
                role: Some(role),
                ..Extractor::new("date", ExtractorKind::Date)
            }
            .extract_last(call)
        })
        .next_back();
    if let Some(date) = date {
        callback.insert("date".into(), date);
    }
    Some(callback)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use callscope_model::{CallStatus, Role, Timestamp, TranscriptEntry};

    /// A completed call with these turns, started on 2025-09-10.
    pub(crate) fn call_with(turns: &[(Role, &str)]) -> Call {
        let created_at = Timestamp::from_millis(1_757_500_000_000).unwrap_or_else(Timestamp::now);
        Call {
            id: "c1".into(),
            organization_id: "org".into(),
            agent: callscope_model::Agent::default(),
            campaign_id: None,
            channel: None,
            direction: None,
            kind: None,
            from_number: None,
            to_number: None,
            status: CallStatus::Completed,
            status_code: None,
            disconnection_reason: None,
            created_at,
            updated_at: created_at,
            started_at: None,
            ended_at: None,
            duration_ms: None,
            room_name: None,
            language: None,
            pipeline_config: None,
            metadata: None,
            span_tree: None,
            transcript: turns
                .iter()
                .enumerate()
                .map(|(index, (role, text))| TranscriptEntry {
                    id: format!("t{index}"),
                    index: u32::try_from(index).ok(),
                    role: *role,
                    text: (*text).to_owned(),
                    start_ms: None,
                    end_ms: None,
                    provider: None,
                    model: None,
                    metadata: None,
                })
                .collect(),
            flow: None,
            request_ids: Vec::new(),
            recording: None,
            metrics: None,
            cost: None,
            analysis: None,
            transfer: None,
        }
    }

    #[test]
    fn the_heuristic_report_fills_every_derived_field_and_no_owned_one() {
        let call = call_with(&[
            (
                Role::User,
                "I can't talk now, could you call me back tomorrow?",
            ),
            (Role::Agent, "Of course, I'll call you back tomorrow."),
        ]);
        let report = heuristic_report(&call, &[]);
        assert_eq!(report.status, Some(AnalysisStatus::Heuristic));
        assert_eq!(report.outcome.as_deref(), Some("callback_requested"));
        assert_eq!(report.sentiment, Some(Sentiment::Neutral));
        assert_eq!(
            report.scheduled_callback.map(Value::Object),
            Some(serde_json::json!({"requested": true, "date": "2025-09-11"}))
        );
        assert!(
            report
                .summary
                .is_some_and(|s| s.contains("could you call me back"))
        );
        assert_eq!(report.structured_data, None);
        assert_eq!(report.fallback_reason, None);
        assert_eq!(report.webhook_status, None);
        assert_eq!(report.created_at, None);
        assert_eq!(report.updated_at, None);
    }

    #[test]
    fn without_an_llm_analyze_is_the_heuristic_report() {
        let call = call_with(&[(Role::User, "Hello?")]);
        assert_eq!(analyze(&call, &[], None), heuristic_report(&call, &[]));
    }
}
