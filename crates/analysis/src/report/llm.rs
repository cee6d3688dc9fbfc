//! The optional LLM analyzer: one blocking `POST {base_url}/chat/completions` to an
//! OpenAI-compatible endpoint, asking for the report as a JSON object.
//!
//! This is the crate's only I/O. It is bounded by `LlmConfig::timeout` (connect, send and
//! read together) and every failure is an `AnalysisError`, which [`super::analyze`] turns into
//! the heuristic report with a `fallback_reason`.

use super::extract::{Extractor, ExtractorKind, collected_parameters};
use crate::AnalysisError;
use crate::outbound::{self, TrustedRoots};
use callscope_model::{Analysis, AnalysisStatus, Call, OUTCOMES, Object, Role, Sentiment};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::time::Duration;

/// Where and how to ask an LLM for the report.
#[derive(Clone)]
pub struct LlmConfig {
    /// The API root, e.g. `http://localhost:11434/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// The model name sent in each request.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// The whole request's limit: connecting, sending and reading the answer.
    pub timeout: Duration,
    /// Whom an `https://` endpoint's certificate must come from.
    pub trusted_roots: TrustedRoots,
}

/// Hand-written so the API key never reaches a log line.
impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("trusted_roots", &self.trusted_roots)
            .finish()
    }
}

/// Longest error body quoted in an error, in characters; enough to see the server's reason.
const MAX_QUOTED_BODY: usize = 300;
/// Largest answer read, in bytes; a report is a few kilobytes.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

/// The LLM's report (`status: completed`), or why there is none.
pub fn llm_report(
    call: &Call,
    extractors: &[Extractor],
    config: &LlmConfig,
) -> Result<Analysis, AnalysisError> {
    let content = complete(config, &request_body(call, extractors, config))?;
    parse_report(call, &content)
}

/// Sends the request and returns `choices[0].message.content`.
fn complete(config: &LlmConfig, body: &Value) -> Result<String, AnalysisError> {
    let agent = outbound::agent(config.timeout, &config.trusted_roots, None);
    let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
    let mut request = agent.post(&url).header("Content-Type", "application/json");
    if let Some(key) = &config.api_key {
        request = request.header("Authorization", &format!("Bearer {key}"));
    }
    let mut response = request
        .send_json(body)
        .map_err(|e| AnalysisError::LlmUnreachable(e.to_string()))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .map_err(|e| AnalysisError::LlmUnreachable(format!("reading the answer: {e}")))?;
    if !(200..300).contains(&status) {
        return Err(AnalysisError::LlmStatus {
            status,
            body: text.chars().take(MAX_QUOTED_BODY).collect(),
        });
    }
    let envelope: Value = serde_json::from_str(&text)
        .map_err(|e| AnalysisError::LlmAnswer(format!("the response is not JSON: {e}")))?;
    envelope
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            AnalysisError::LlmAnswer("the response has no choices[0].message.content".into())
        })
}

/// The instructions: the label set, the fields and their types. The answer is checked
/// against the same rules, so what is asked and what is accepted cannot drift apart.
fn system_prompt(extractors: &[Extractor]) -> String {
    let mut prompt = format!(
        "You analyse a finished phone or chat call between an AI agent and a caller. Answer \
         with one JSON object with exactly these fields: \"summary\" (two or three sentences: \
         who called, why, and how the call ended), \"outcome\" (exactly one of: {}), \
         \"sentiment\" (the caller's tone: \"positive\", \"neutral\" or \"negative\"; \
         \"neutral\" when the caller said nothing) and \"structured_data\" (an object).",
        OUTCOMES.join(", ")
    );
    if extractors.is_empty() {
        prompt.push_str(" Leave \"structured_data\" empty: {}.");
    } else {
        prompt.push_str(
            " In \"structured_data\" give these keys, each null when the call does not say:",
        );
        for extractor in extractors {
            let role = extractor.role.unwrap_or(Role::User);
            let what = match &extractor.kind {
                ExtractorKind::Regex { pattern } => {
                    format!("the text matching the regex {pattern:?}")
                }
                ExtractorKind::Date => "a date as YYYY-MM-DD".to_owned(),
                ExtractorKind::Phone => {
                    "a phone number, digits with a leading + if international".to_owned()
                }
                ExtractorKind::Email => "an email address".to_owned(),
                ExtractorKind::Number => "a JSON number".to_owned(),
                ExtractorKind::YesNo => "true for yes, false for no".to_owned(),
            };
            let _ = write!(
                prompt,
                " \"{}\": {what}, said by the {role}",
                extractor.name
            );
            if let Some(question) = &extractor.question {
                let _ = write!(prompt, " in answer to a question matching {question:?}");
            }
            prompt.push(';');
        }
    }
    prompt
}

/// The call as the model sees it: its facts, then the transcript one turn per line.
fn user_prompt(call: &Call) -> String {
    let mut text = String::new();
    let mut fact = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            let _ = writeln!(text, "{name}: {value}");
        }
    };
    fact("agent", call.agent.name.as_deref());
    fact("direction", call.direction.as_ref().map(|d| d.as_str()));
    fact("channel", call.channel.as_ref().map(|c| c.as_str()));
    fact("from", call.from_number.as_deref());
    fact("to", call.to_number.as_deref());
    fact("status", Some(call.status.as_str()));
    fact(
        "disconnection_reason",
        call.disconnection_reason.as_ref().map(|r| r.as_str()),
    );
    let started = call.started_at.unwrap_or(call.created_at).to_rfc3339();
    fact("started_at", Some(&started));
    text.push_str("transcript:\n");
    for entry in &call.transcript {
        let _ = writeln!(text, "{}: {}", entry.role, entry.text);
    }
    text
}

fn request_body(call: &Call, extractors: &[Extractor], config: &LlmConfig) -> Value {
    json!({
        "model": config.model,
        "messages": [
            {"role": "system", "content": system_prompt(extractors)},
            {"role": "user", "content": user_prompt(call)},
        ],
        "response_format": {"type": "json_object"},
        "temperature": 0,
    })
}

/// Checks the model's JSON against the contract and builds the report. The collected flow
/// parameters are facts, so they stay; the model's structured data is laid over them.
fn parse_report(call: &Call, content: &str) -> Result<Analysis, AnalysisError> {
    let answer = |message: String| AnalysisError::LlmAnswer(message);
    // Some models wrap JSON in a Markdown fence even when asked not to.
    let trimmed = content
        .trim()
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    let value: Value = serde_json::from_str(trimmed)
        .map_err(|e| answer(format!("the content is not JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(answer("the content is not a JSON object".into()));
    };
    let text_field = |name: &str| -> Result<String, AnalysisError> {
        match fields.get(name) {
            Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
            Some(other) => Err(answer(format!(
                "`{name}` must be a non-empty string, got {other}"
            ))),
            None => Err(answer(format!("`{name}` is missing"))),
        }
    };
    let summary = text_field("summary")?;
    let outcome = text_field("outcome")?;
    if !OUTCOMES.contains(&outcome.as_str()) {
        return Err(answer(format!(
            "`outcome` is `{outcome}`, not one of: {}",
            OUTCOMES.join(", ")
        )));
    }
    let sentiment: Sentiment = text_field("sentiment")?
        .parse()
        .map_err(|e| answer(format!("`sentiment`: {e}")))?;
    let mut data: Object = collected_parameters(call);
    match fields.get("structured_data") {
        Some(Value::Object(extracted)) => {
            data.extend(extracted.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Some(Value::Null) | None => {}
        Some(other) => {
            return Err(answer(format!(
                "`structured_data` must be an object, got {other}"
            )));
        }
    }
    let scheduled_callback = (outcome == "callback_requested").then(|| {
        let mut callback = Object::new();
        callback.insert("requested".into(), Value::Bool(true));
        callback
    });
    Ok(Analysis {
        status: Some(AnalysisStatus::Completed),
        summary: Some(summary),
        outcome: Some(outcome),
        sentiment: Some(sentiment),
        structured_data: (!data.is_empty()).then_some(data),
        scheduled_callback,
        ..Analysis::default()
    })
}

#[cfg(test)]
mod tests;
