//! What a runtime reports about a call's consumption while it runs
//! (`POST /v1/calls/{id}/metrics`): usage to be priced, and per-turn latency samples.
//!
//! Both are kept as reported, beside the call, so the call's `cost` and `metrics` can be
//! derived again from all of them whenever more arrive.

use crate::enums::{CostComponent, UsageUnit};
use crate::{ValidationError, id::validate_id};
use serde::{Deserialize, Serialize};

/// One request to `POST /v1/calls/{id}/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsReport {
    #[serde(default)]
    pub usage: Vec<UsageRecord>,
    #[serde(default)]
    pub latency: Vec<LatencySample>,
}

/// Usage of one component, such as 1,200 LLM input tokens or 42 seconds of speech-to-text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageRecord {
    /// Makes a retried report harmless: a record whose id is already stored is skipped.
    /// Assigned when not given (then a retry counts twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub component: CostComponent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub units: f64,
    pub unit: UsageUnit,
}

/// The latency of one turn, per stage, in milliseconds. A turn reported again replaces the
/// earlier report of that turn.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySample {
    pub turn: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcriber_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthesizer_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_ms: Option<f64>,
}

impl LatencySample {
    /// Whether the sample measures any stage.
    pub fn measures_anything(&self) -> bool {
        self.transcriber_ms.is_some()
            || self.agent_ms.is_some()
            || self.synthesizer_ms.is_some()
            || self.end_to_end_ms.is_some()
    }
}

/// Largest amount one usage record may report, in its unit: far above any call, low enough
/// that priced sums stay exact.
pub const MAX_UNITS: f64 = 1e12;
/// Longest latency a sample may report (an hour).
const MAX_LATENCY_MS: f64 = 3.6e6;

impl MetricsReport {
    /// Checks what serde cannot; `Err` names the offending field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.usage.is_empty() && self.latency.is_empty() {
            return Err(ValidationError::new(
                "usage",
                "a report needs at least one usage record or latency sample",
            ));
        }
        for (at, record) in self.usage.iter().enumerate() {
            if let Some(id) = &record.id {
                validate_id(&format!("usage[{at}].id"), id)?;
            }
            if !(record.units.is_finite() && (0.0..=MAX_UNITS).contains(&record.units)) {
                return Err(ValidationError::new(
                    format!("usage[{at}].units"),
                    format!(
                        "must be a number from 0 to {MAX_UNITS}, got {}",
                        record.units
                    ),
                ));
            }
        }
        for (at, sample) in self.latency.iter().enumerate() {
            let stages = [
                ("transcriber_ms", sample.transcriber_ms),
                ("agent_ms", sample.agent_ms),
                ("synthesizer_ms", sample.synthesizer_ms),
                ("end_to_end_ms", sample.end_to_end_ms),
            ];
            if stages.iter().all(|(_, value)| value.is_none()) {
                return Err(ValidationError::new(
                    format!("latency[{at}]"),
                    "a sample needs at least one of transcriber_ms, agent_ms, synthesizer_ms, \
                     end_to_end_ms",
                ));
            }
            for (name, value) in stages {
                if let Some(ms) = value
                    && !(ms.is_finite() && (0.0..=MAX_LATENCY_MS).contains(&ms))
                {
                    return Err(ValidationError::new(
                        format!("latency[{at}].{name}"),
                        format!("must be from 0 to {MAX_LATENCY_MS} ms, got {ms}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(body: serde_json::Value) -> MetricsReport {
        serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (json!({}), "usage"),
            (
                json!({"usage": [{"component": "llm", "units": -1, "unit": "tokens"}]}),
                "usage[0].units",
            ),
            (json!({"latency": [{"turn": 1}]}), "latency[0]"),
            (
                json!({"latency": [{"turn": 1, "agent_ms": 1e9}]}),
                "latency[0].agent_ms",
            ),
            (
                json!({"usage": [{"id": "a b", "component": "tts", "units": 1, "unit": "characters"}]}),
                "usage[0].id",
            ),
        ];
        for (body, field) in cases {
            let Err(error) = report(body.clone()).validate() else {
                panic!("{body} was accepted")
            };
            assert_eq!(error.field, field, "{body}");
        }
        assert!(
            report(json!({"latency": [{"turn": 0, "agent_ms": 0}]}))
                .validate()
                .is_ok()
        );
    }
}
