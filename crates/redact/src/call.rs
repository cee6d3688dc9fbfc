//! Redaction of stored things: every free-text place of a call or an event, and every
//! string leaf of a JSON value.

use crate::Redactor;
use crate::settings::PiiKind;
use callscope_model::{
    Analysis, Call, Event, Flow, Object, Parameter, TranscriptEntry, Transfer, TransferReport,
};
use serde_json::Value;
use std::borrow::Cow;

/// Masks every free-text field of `call` (the list is in the crate documentation) and, when
/// the redactor says so, its `from_number` and `to_number`. Returns whether anything changed.
pub fn redact_call(call: &mut Call, redactor: &Redactor) -> bool {
    if redactor.is_off() {
        return false;
    }
    let mut changed = false;
    if redactor.masks_call_numbers() {
        for number in [&mut call.from_number, &mut call.to_number]
            .into_iter()
            .flatten()
        {
            let mask = PiiKind::Phone.mask();
            if !number.is_empty() && number != mask {
                *number = mask.to_owned();
                changed = true;
            }
        }
    }
    for entry in &mut call.transcript {
        changed |= redact_entry(entry, redactor);
    }
    changed |= redact_optional_object(&mut call.metadata, redactor);
    changed |= redact_optional_object(&mut call.span_tree, redactor);
    if let Some(flow) = &mut call.flow {
        changed |= redact_flow(flow, redactor);
    }
    if let Some(analysis) = &mut call.analysis {
        changed |= redact_analysis(analysis, redactor);
    }
    changed
}

/// Masks a transcript entry's text and every string leaf of its metadata.
pub fn redact_entry(entry: &mut TranscriptEntry, redactor: &Redactor) -> bool {
    redact_string(&mut entry.text, redactor) | redact_optional_object(&mut entry.metadata, redactor)
}

/// Masks a report's summary, reasons, structured data and scheduled callback.
pub fn redact_analysis(analysis: &mut Analysis, redactor: &Redactor) -> bool {
    let mut changed = false;
    for text in [
        &mut analysis.summary,
        &mut analysis.fallback_reason,
        &mut analysis.failure_reason,
    ]
    .into_iter()
    .flatten()
    {
        changed |= redact_string(text, redactor);
    }
    changed |= redact_optional_object(&mut analysis.structured_data, redactor);
    changed | redact_optional_object(&mut analysis.scheduled_callback, redactor)
}

/// Masks what a transfer says of the call (`summary`, `screening_prompt`, `failure_cause`,
/// `metadata`); its targets are the business's numbers to dial and stay.
pub fn redact_transfer(transfer: &mut Transfer, redactor: &Redactor) -> bool {
    let mut changed = false;
    for text in [
        &mut transfer.summary,
        &mut transfer.screening_prompt,
        &mut transfer.failure_cause,
    ]
    .into_iter()
    .flatten()
    {
        changed |= redact_string(text, redactor);
    }
    changed | redact_optional_object(&mut transfer.metadata, redactor)
}

/// Masks what a runtime's transfer report says (`summary`, `failure_cause`, `metadata`).
pub fn redact_transfer_report(report: &mut TransferReport, redactor: &Redactor) -> bool {
    let mut changed = false;
    for text in [&mut report.summary, &mut report.failure_cause]
        .into_iter()
        .flatten()
    {
        changed |= redact_string(text, redactor);
    }
    changed | redact_optional_object(&mut report.metadata, redactor)
}

/// Masks every string leaf of the event's `payload`, and its `failure_cause`. Returns
/// whether anything changed.
pub fn redact_event(event: &mut Event, redactor: &Redactor) -> bool {
    let mut changed = redact_optional_object(&mut event.payload, redactor);
    if let Some(cause) = &mut event.failure_cause {
        changed |= redact_string(cause, redactor);
    }
    changed
}

/// Masks every string leaf of `value`, at any depth; object keys are left as they are.
/// Returns whether anything changed.
pub fn redact_json(value: &mut Value, redactor: &Redactor) -> bool {
    match value {
        Value::String(text) => redact_string(text, redactor),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| redact_json(item, redactor) | changed),
        Value::Object(fields) => redact_object(fields, redactor),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn redact_flow(flow: &mut Flow, redactor: &Redactor) -> bool {
    let mut changed = false;
    for node in &mut flow.path {
        for object in [&mut node.request, &mut node.response, &mut node.context] {
            changed |= redact_optional_object(object, redactor);
        }
    }
    let parameters = flow
        .collected_parameters
        .iter_mut()
        .chain(&mut flow.injected_parameters);
    for parameter in parameters {
        changed |= redact_parameter(parameter, redactor);
    }
    changed
}

fn redact_parameter(parameter: &mut Parameter, redactor: &Redactor) -> bool {
    let mut changed = redact_json(&mut parameter.value, redactor);
    if let Some(text) = &mut parameter.value_text {
        changed |= redact_string(text, redactor);
    }
    changed
}

fn redact_object(fields: &mut Object, redactor: &Redactor) -> bool {
    fields.values_mut().fold(false, |changed, value| {
        redact_json(value, redactor) | changed
    })
}

fn redact_optional_object(fields: &mut Option<Object>, redactor: &Redactor) -> bool {
    fields
        .as_mut()
        .is_some_and(|fields| redact_object(fields, redactor))
}

fn redact_string(text: &mut String, redactor: &Redactor) -> bool {
    match redactor.redact(text) {
        Cow::Borrowed(_) => false,
        Cow::Owned(masked) => {
            *text = masked;
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RedactionSettings;
    use callscope_model::{EventDraft, Timestamp, WriteContext, call_from_json};
    use serde_json::json;

    fn redactor(mask_call_numbers: bool) -> Redactor {
        let settings = RedactionSettings {
            kinds: vec![PiiKind::Phone, PiiKind::Email, PiiKind::Card],
            patterns: Vec::new(),
            mask_call_numbers,
        };
        Redactor::new(&settings).unwrap_or_else(|error| panic!("{error}"))
    }

    fn call() -> Call {
        let body = json!({
            "id": "call_1",
            "agent": {"id": "agent_4155552671", "name": "Front desk"},
            "campaign_id": "spring-2026",
            "from_number": "+14155552671",
            "to_number": "+16505550199",
            "status": "completed",
            "room_name": "room-7",
            "pipeline_config": {"prompt": "Transfer to 415-555-0100 when asked"},
            "metadata": {"note": "card 4111 1111 1111 1111", "customer_id": "cus_123", "tries": 2},
            "span_tree": {"spans": [{"name": "llm", "attributes": {"input": "mail jane@example.org"}}]},
            "transcript": [
                {"role": "agent", "text": "How can I help?"},
                {"role": "user", "text": "Call me back at 415-555-2671.",
                 "metadata": {"alternatives": ["four one five five five five two six seven one"]}}
            ],
            "flow": {
                "path": [{
                    "type": "webhook", "node_id": "n1", "request_id": "r1",
                    "request": {"url": "https://hooks.example/crm", "verb": "POST",
                                "headers": {"X-Caller": "+14155552671"},
                                "payload": {"email": "jane@example.org"}},
                    "response": {"code": 200, "payload": {"card": "5555555555554444"}},
                    "context": {"user_input": "my email is jane at example dot com"}
                }],
                "collected_parameters": [
                    {"name": "phone", "value": "415 555 2671", "value_text": "four one five five five five two six seven one"},
                    {"name": "zip", "value": "94105"}
                ]
            },
            "recording": {"mono": "https://media.example/rec/4155552671.wav"},
            "analysis": {
                "summary": "Caller (jane@example.org, 415-555-2671) wants a callback.",
                "outcome": "callback_requested",
                "structured_data": {"callback": {"number": "4155552671", "count": 1}},
                "scheduled_callback": {"to": "+1 415 555 2671", "at": "2026-12-04T10:30:00Z"}
            }
        });
        let context = WriteContext {
            organization_id: "org_a",
            path_id: None,
            now: Timestamp::now(),
            existing_created_at: None,
        };
        call_from_json(body, &context).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn every_free_text_field_is_masked_and_structure_is_kept() {
        let original = call();
        let mut masked = original.clone();
        assert!(redact_call(&mut masked, &redactor(false)));

        assert_eq!(masked.transcript[0].text, "How can I help?");
        assert_eq!(masked.transcript[1].text, "Call me back at [PHONE].");
        assert_eq!(
            masked.transcript[1].metadata,
            Some(
                json!({"alternatives": ["[PHONE]"]})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            )
        );
        let node = &masked.flow.as_ref().map(|flow| flow.path[0].clone());
        let Some(node) = node else {
            panic!("the flow is gone")
        };
        assert_eq!(
            node.request.as_ref().map(|r| Value::Object(r.clone())),
            Some(json!({"url": "https://hooks.example/crm", "verb": "POST",
                        "headers": {"X-Caller": "[PHONE]"}, "payload": {"email": "[EMAIL]"}}))
        );
        assert_eq!(
            node.response.as_ref().map(|r| Value::Object(r.clone())),
            Some(json!({"code": 200, "payload": {"card": "[CARD]"}}))
        );
        assert_eq!(
            node.context.as_ref().map(|r| Value::Object(r.clone())),
            Some(json!({"user_input": "my email is [EMAIL]"}))
        );
        let parameters = masked
            .flow
            .as_ref()
            .map(|flow| flow.collected_parameters.clone());
        let Some(parameters) = parameters else {
            panic!("the flow is gone")
        };
        assert_eq!(parameters[0].value, json!("[PHONE]"));
        assert_eq!(parameters[0].value_text.as_deref(), Some("[PHONE]"));
        assert_eq!(parameters[1].value, json!("94105"));
        assert_eq!(
            masked.metadata.as_ref().map(|m| Value::Object(m.clone())),
            Some(json!({"note": "card [CARD]", "customer_id": "cus_123", "tries": 2}))
        );
        assert_eq!(
            masked.span_tree.as_ref().map(|m| Value::Object(m.clone())),
            Some(json!({"spans": [{"name": "llm", "attributes": {"input": "mail [EMAIL]"}}]}))
        );
        let Some(analysis) = &masked.analysis else {
            panic!("the analysis is gone")
        };
        assert_eq!(
            analysis.summary.as_deref(),
            Some("Caller ([EMAIL], [PHONE]) wants a callback.")
        );
        assert_eq!(
            analysis
                .structured_data
                .as_ref()
                .map(|m| Value::Object(m.clone())),
            Some(json!({"callback": {"number": "[PHONE]", "count": 1}}))
        );
        assert_eq!(
            analysis
                .scheduled_callback
                .as_ref()
                .map(|m| Value::Object(m.clone())),
            Some(json!({"to": "[PHONE]", "at": "2026-12-04T10:30:00Z"}))
        );
        assert_eq!(analysis.outcome.as_deref(), Some("callback_requested"));

        // Structure, configuration and the call's own numbers (not asked for) stay.
        assert_eq!(masked.from_number, original.from_number);
        assert_eq!(masked.to_number, original.to_number);
        assert_eq!(masked.agent, original.agent);
        assert_eq!(masked.pipeline_config, original.pipeline_config);
        assert_eq!(masked.recording, original.recording);
        assert_eq!(masked.room_name, original.room_name);
        assert_eq!(masked.id, original.id);
        assert_eq!(masked.transcript[1].id, original.transcript[1].id);
        assert_eq!(masked.request_ids, original.request_ids);
    }

    #[test]
    fn call_numbers_are_masked_only_when_asked_and_a_second_pass_changes_nothing() {
        let mut masked = call();
        assert!(redact_call(&mut masked, &redactor(true)));
        assert_eq!(masked.from_number.as_deref(), Some("[PHONE]"));
        assert_eq!(masked.to_number.as_deref(), Some("[PHONE]"));
        let once = masked.clone();
        assert!(!redact_call(&mut masked, &redactor(true)));
        assert_eq!(masked, once);
    }

    #[test]
    fn an_off_redactor_changes_nothing() {
        let off = Redactor::new(&RedactionSettings::default()).unwrap_or_else(|e| panic!("{e}"));
        let original = call();
        let mut untouched = original.clone();
        assert!(!redact_call(&mut untouched, &off));
        assert_eq!(untouched, original);
    }

    #[test]
    fn json_string_leaves_are_masked_and_keys_are_not() {
        let mut value = json!({
            "415-555-2671": ["jane@example.org", 4155552671_u64, null, true, {"deep": ["4111111111111111"]}],
            "plain": "nothing here"
        });
        assert!(redact_json(&mut value, &redactor(false)));
        assert_eq!(
            value,
            json!({
                "415-555-2671": ["[EMAIL]", 4155552671_u64, null, true, {"deep": ["[CARD]"]}],
                "plain": "nothing here"
            })
        );
        assert!(!redact_json(&mut value, &redactor(false)));
    }

    #[test]
    fn event_payload_and_failure_cause_are_masked() {
        let draft: EventDraft = serde_json::from_value(json!({
            "event_type": "sip.failed",
            "failure_cause": "no answer from +14155552671",
            "sip_status_code": 480,
            "payload": {"From": "+14155552671", "CallSid": "CA5f7f2f337340dc7249f81406", "n": 3}
        }))
        .unwrap_or_else(|error| panic!("{error}"));
        let mut event = draft
            .into_event(0, Timestamp::now())
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(redact_event(&mut event, &redactor(false)));
        assert_eq!(
            event.failure_cause.as_deref(),
            Some("no answer from [PHONE]")
        );
        assert_eq!(
            event.payload.map(Value::Object),
            Some(json!({"From": "[PHONE]", "CallSid": "CA5f7f2f337340dc7249f81406", "n": 3}))
        );
        assert_eq!(event.event_type, "sip.failed");
    }
}
