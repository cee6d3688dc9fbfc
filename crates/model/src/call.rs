//! The canonical call (DESIGN §2): stored once, rendered by every API surface.
//!
//! Its JSON form is also the write format: a client sends the same field names, minus the
//! ones the server owns (`organization_id`, `updated_at`), plus `agent_id` as a shorthand for
//! `agent.id`. [`call_from_json`] turns such a body into a validated [`Call`].

use crate::ValidationError;
use crate::enums::{
    AnalysisStatus, CallKind, CallStatus, Channel, CostComponent, Direction, DisconnectionReason,
    RecordingStatus, Role, Sentiment, WebhookStatus,
};
use crate::id::{new_id, validate_id};
use crate::time::Timestamp;
use crate::transfer::TransferSummary;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// A JSON object with free-form content (`metadata`, `pipeline_config`, …).
pub type Object = Map<String, Value>;

/// Longest accepted phone number or address, in bytes.
const MAX_NUMBER_LEN: usize = 64;
/// Longest accepted short label (agent name, campaign id, room name, …), in bytes.
const MAX_LABEL_LEN: usize = 256;
/// The `status_code` values of seed 001: ok, warning, error.
const STATUS_CODES: [u16; 3] = [0, 100, 200];

/// One call or session, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub id: String,
    /// The tenant; set from the API key, never from the body.
    pub organization_id: String,
    #[serde(default, skip_serializing_if = "Agent::is_empty")]
    pub agent: Agent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CallKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_number: Option<String>,
    pub status: CallStatus,
    /// Seed 001's `channel_data.status_code`: 0 ok, 100 warning, 200 error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnection_reason: Option<DisconnectionReason>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_config: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_tree: Option<Object>,
    /// Ordered by `index`; every entry has an id and an index once validated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcript: Vec<TranscriptEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
    /// Seed 001's `request_ids`; derived from `flow.path` when not given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// What the call's live transfers came to; derived by the store from the attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferSummary>,
}

/// The agent that handled the call (seed 001's `agent_information`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Agent {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One utterance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranscriptEntry {
    /// Assigned when not given; a repeated id in a live append is taken as a retry.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Position in the conversation; assigned after the last one when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    pub role: Role,
    pub text: String,
    /// Offset from the call's `started_at`, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Object>,
}

/// What a flow-based agent did (seed 001's `flow_path` and `flow_data`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<FlowNode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collected_tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collected_parameters: Vec<Parameter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub injected_parameters: Vec<Parameter>,
}

/// One node execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowNode {
    #[serde(rename = "type")]
    pub node_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `{headers, payload, verb, url}` of a webhook node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Object>,
    /// `{code, payload}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Object>,
    /// `{output, user_input, execution_parameters, altered_parameters, url, status}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Object>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronized: Option<bool>,
}

/// A tag collected during the call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub tag: String,
    #[serde(default)]
    pub category: String,
}

/// A parameter collected or injected during the call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: String,
    /// Entity type, as seed 001's example (`sys.names`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub param_type: Option<String>,
    /// Entity, as seed 001's model template names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    #[serde(default)]
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_url: Option<String>,
}

/// Where the call's audio is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RecordingStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// URL of the mixed (mono) recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mono: Option<String>,
    /// URL of the two-channel (stereo) recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dual: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
}

/// Latency per pipeline stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcriber_latency_ms: Option<LatencyStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_latency_ms: Option<LatencyStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthesizer_latency_ms: Option<LatencyStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_latency_ms: Option<LatencyStats>,
}

/// Summary of one stage's latency samples, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyStats {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u32>,
}

/// What the call cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// Integer micro-USD; the sum of `breakdown` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_micro_usd: Option<MicroUsd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<CostItem>,
}

/// One priced line of usage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CostItem {
    pub component: CostComponent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<f64>,
    /// What `units` counts: `seconds`, `tokens`, `characters`, `minutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub micro_usd: MicroUsd,
}

/// Money: a non-negative whole number of micro-USD. Accepted as a JSON integer or as a
/// decimal string (seed 002 renders money as strings), never as a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MicroUsd(pub u64);

/// Written as an integer or a digit string; rendered as an integer.
impl utoipa::PartialSchema for MicroUsd {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]+$")),
            )
            .description(Some("A whole number of micro-USD"))
            .into()
    }
}

impl utoipa::ToSchema for MicroUsd {}

impl<'de> Deserialize<'de> for MicroUsd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(deserializer)? {
            Value::Number(number) => number.as_u64().map(MicroUsd).ok_or_else(|| {
                D::Error::custom(format!(
                    "expected a non-negative whole number of micro-USD, got {number}"
                ))
            }),
            Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                text.parse().map(MicroUsd).map_err(|_| {
                    D::Error::custom(format!("micro-USD amount `{text}` is too large"))
                })
            }
            other => Err(D::Error::custom(format!(
                "expected a non-negative whole number of micro-USD (integer or digit string), \
                 got {other}"
            ))),
        }
    }
}

/// Every outcome label a report may carry (`Analysis::outcome`): what the analyzers produce
/// and what the demo corpus is labelled with.
pub const OUTCOMES: &[&str] = &[
    "appointment_confirmed",
    "appointment_rescheduled",
    "appointment_canceled",
    "transferred",
    "voicemail",
    "no_answer",
    "busy",
    "resolved",
    "unresolved",
    "sale_made",
    "not_interested",
    "callback_requested",
    "failed",
    "canceled",
    "in_progress",
];

/// The post-call report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AnalysisStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_data: Option<Object>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_callback: Option<Object>,
    /// Why the configured LLM analyzer's report was not used and the heuristic one stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// Why no report could be made, when every attempt failed (`status: failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_status: Option<WebhookStatus>,
    /// Delivery attempts of the post-call webhook so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_attempts: Option<u32>,
    /// When the post-call webhook is tried again, while it is pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_next_retry_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

impl Analysis {
    /// The report of a call whose analysis failed on every attempt: no content, the
    /// `failed` status and why, so the call is not left waiting for a report forever.
    pub fn failed(reason: impl Into<String>) -> Self {
        Self {
            status: Some(AnalysisStatus::Failed),
            failure_reason: Some(reason.into()),
            ..Self::default()
        }
    }
}

/// What the server knows about a write that the body does not say.
#[derive(Clone, Debug)]
pub struct WriteContext<'a> {
    /// The tenant of the API key.
    pub organization_id: &'a str,
    /// The id named in the URL path, for `PUT` and `PATCH`.
    pub path_id: Option<&'a str>,
    /// When the write happens; becomes `updated_at`.
    pub now: Timestamp,
    /// `created_at` of the call being replaced, kept when the body does not set one.
    pub existing_created_at: Option<Timestamp>,
}

/// Fields only the server may set.
const SERVER_OWNED: [&str; 3] = ["organization_id", "updated_at", "transfer"];

/// The body of a call write (`POST /v1/calls`, `PUT /v1/calls/{id}`): [`Call`]'s fields
/// but the server's own, every one optional, and `agent_id` as a shorthand for `agent.id`.
#[derive(Debug)]
pub struct CallWrite;

impl utoipa::PartialSchema for CallWrite {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        let mut schema = <Call as utoipa::PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            for owned in SERVER_OWNED {
                object.properties.remove(owned);
            }
            object.required.clear();
            object.properties.insert(
                "agent_id".into(),
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Shorthand for `agent.id`"))
                    .into(),
            );
            object.description = Some(
                "A call as a client writes it: every field optional (`id` is generated, \
                 `status` defaults to `in_progress`, `created_at` to now); `organization_id`, \
                 `updated_at` and `transfer` are the server's."
                    .into(),
            );
        }
        schema
    }
}

impl utoipa::ToSchema for CallWrite {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <Call as utoipa::ToSchema>::schemas(schemas);
    }
}

/// Turns a write body into a validated call.
pub fn call_from_json(body: Value, context: &WriteContext<'_>) -> Result<Call, ValidationError> {
    let Value::Object(mut fields) = body else {
        return Err(ValidationError::new("body", "must be a JSON object"));
    };
    for owned in SERVER_OWNED {
        if fields.contains_key(owned) {
            return Err(ValidationError::new(
                owned,
                "is set by the server and cannot be written",
            ));
        }
    }
    let id = match (context.path_id, fields.get("id")) {
        (Some(path), Some(Value::String(body_id))) if body_id != path => {
            return Err(ValidationError::new(
                "id",
                format!("`{body_id}` does not match the id `{path}` in the path"),
            ));
        }
        (Some(path), _) => path.to_owned(),
        (None, Some(Value::String(body_id))) => body_id.clone(),
        (None, Some(other)) => {
            return Err(ValidationError::new(
                "id",
                format!("must be a string, got {other}"),
            ));
        }
        (None, None) => new_id(),
    };
    fold_agent_id_shorthand(&mut fields)?;
    let now = Value::String(context.now.to_rfc3339());
    fields.insert("id".into(), Value::String(id));
    fields.insert(
        "organization_id".into(),
        Value::String(context.organization_id.to_owned()),
    );
    fields.insert("updated_at".into(), now.clone());
    if !fields.contains_key("created_at") {
        let created = context
            .existing_created_at
            .map(|at| Value::String(at.to_rfc3339()));
        fields.insert("created_at".into(), created.unwrap_or(now));
    }
    fields
        .entry("status")
        .or_insert_with(|| Value::String(CallStatus::InProgress.as_str().into()));
    let mut call: Call = serde_path_to_error::deserialize(Value::Object(fields))
        .map_err(|e| ValidationError::new(e.path().to_string(), e.into_inner().to_string()))?;
    call.normalize()?;
    Ok(call)
}

/// Moves `agent_id` into `agent.id`, refusing a contradiction.
fn fold_agent_id_shorthand(fields: &mut Object) -> Result<(), ValidationError> {
    let Some(shorthand) = fields.remove("agent_id") else {
        return Ok(());
    };
    let Value::String(agent_id) = shorthand else {
        return Err(ValidationError::new(
            "agent_id",
            format!("must be a string, got {shorthand}"),
        ));
    };
    let agent = fields
        .entry("agent")
        .or_insert_with(|| Value::Object(Object::new()));
    let Value::Object(agent) = agent else {
        return Err(ValidationError::new("agent", "must be an object"));
    };
    match agent.get("id") {
        Some(Value::String(existing)) if *existing != agent_id => Err(ValidationError::new(
            "agent_id",
            format!("`{agent_id}` contradicts agent.id `{existing}`"),
        )),
        _ => {
            agent.insert("id".into(), Value::String(agent_id));
            Ok(())
        }
    }
}

impl Call {
    /// When the session began, as seed 001 sees it: `started_at`, or `created_at` for a call
    /// that never connected.
    pub fn session_start_time(&self) -> Timestamp {
        self.started_at.unwrap_or(self.created_at)
    }

    /// Seed 001's two-valued session status.
    pub fn session_status(&self) -> &'static str {
        if self.status.is_terminal() {
            "ended"
        } else {
            "in_progress"
        }
    }

    /// Each distinct collected tag with how many times it was collected, in order of first
    /// collection (seed 001's `tags_list`).
    pub fn distinct_tags(&self) -> Vec<(&Tag, u32)> {
        let mut counted: Vec<(&Tag, u32)> = Vec::new();
        for tag in self.flow.iter().flat_map(|flow| &flow.collected_tags) {
            match counted.iter_mut().find(|(seen, _)| *seen == tag) {
                Some((_, count)) => *count += 1,
                None => counted.push((tag, 1)),
            }
        }
        counted
    }

    /// The last collected value of each parameter, in order of first collection (seed 001's
    /// `params_list`).
    pub fn last_parameters(&self) -> Vec<&Parameter> {
        let mut last: Vec<&Parameter> = Vec::new();
        for parameter in self.flow.iter().flat_map(|flow| &flow.collected_parameters) {
            match last.iter_mut().find(|seen| seen.name == parameter.name) {
                Some(slot) => *slot = parameter,
                None => last.push(parameter),
            }
        }
        last
    }

    /// The call as a write body: what `PATCH` merges into. Server-owned fields are left out.
    pub fn to_write_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(fields) = &mut value {
            for owned in SERVER_OWNED {
                fields.remove(owned);
            }
        }
        value
    }

    /// Checks the invariants serde cannot express and fills the fields derivable from others.
    pub fn normalize(&mut self) -> Result<(), ValidationError> {
        validate_id("id", &self.id)?;
        self.check_lengths()?;
        if let Some(code) = self.status_code.filter(|code| !STATUS_CODES.contains(code)) {
            return Err(ValidationError::new(
                "status_code",
                format!("{code} is not one of 0 (ok), 100 (warning), 200 (error)"),
            ));
        }
        if let (Some(start), Some(end)) = (self.started_at, self.ended_at) {
            if end < start {
                return Err(ValidationError::new(
                    "ended_at",
                    format!("{end} is before started_at {start}"),
                ));
            }
            if self.duration_ms.is_none() {
                self.duration_ms = u64::try_from(end.as_millis() - start.as_millis()).ok();
            }
        }
        self.reconcile_kind()?;
        normalize_transcript(&mut self.transcript, &[])?;
        self.transcript.sort_by_key(|entry| entry.index);
        if self.request_ids.is_empty() {
            self.request_ids = self.derived_request_ids();
        }
        if let Some(cost) = &mut self.cost {
            cost.fill_total()?;
        }
        Ok(())
    }

    fn check_lengths(&self) -> Result<(), ValidationError> {
        check_len("from_number", self.from_number.as_deref(), MAX_NUMBER_LEN)?;
        check_len("to_number", self.to_number.as_deref(), MAX_NUMBER_LEN)?;
        let labels = [
            ("agent.id", &self.agent.id),
            ("agent.version_id", &self.agent.version_id),
            ("agent.name", &self.agent.name),
            ("agent.voice", &self.agent.voice),
            ("agent.language", &self.agent.language),
            ("campaign_id", &self.campaign_id),
            ("room_name", &self.room_name),
            ("language", &self.language),
        ];
        for (field, value) in labels {
            check_len(field, value.as_deref(), MAX_LABEL_LEN)?;
        }
        Ok(())
    }

    /// Keeps `kind`, `direction` and `channel` in agreement, filling whichever can be derived.
    fn reconcile_kind(&mut self) -> Result<(), ValidationError> {
        let telephone = matches!(
            self.channel,
            None | Some(Channel::Telephony | Channel::Voice)
        );
        if self.kind.is_none() {
            self.kind = match (self.channel, self.direction) {
                (_, Some(Direction::Inbound)) if telephone => Some(CallKind::TelephonyInbound),
                (_, Some(Direction::Outbound)) if telephone => Some(CallKind::TelephonyOutbound),
                (Some(Channel::Chat | Channel::Whatsapp), _) => Some(CallKind::Chat),
                (Some(Channel::Web), _) => Some(CallKind::Web),
                _ => None,
            };
        }
        let implied_direction = match self.kind {
            Some(CallKind::TelephonyInbound) => Some(Direction::Inbound),
            Some(CallKind::TelephonyOutbound) => Some(Direction::Outbound),
            _ => None,
        };
        match (implied_direction, self.direction) {
            (Some(implied), Some(given)) if implied != given => {
                return Err(ValidationError::new(
                    "direction",
                    format!(
                        "`{given}` contradicts kind `{}`",
                        self.kind.map(|k| k.as_str()).unwrap_or_default()
                    ),
                ));
            }
            (Some(implied), None) => self.direction = Some(implied),
            _ => {}
        }
        if self.channel.is_none() {
            self.channel = match self.kind {
                Some(CallKind::TelephonyInbound | CallKind::TelephonyOutbound) => {
                    Some(Channel::Telephony)
                }
                Some(CallKind::Chat) => Some(Channel::Chat),
                Some(CallKind::Web) => Some(Channel::Web),
                None => None,
            };
        }
        Ok(())
    }

    /// The distinct request ids of the flow path, in order of first appearance.
    fn derived_request_ids(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.flow
            .iter()
            .flat_map(|flow| &flow.path)
            .filter_map(|node| node.request_id.clone())
            .filter(|id| seen.insert(id.clone()))
            .collect()
    }
}

impl Cost {
    /// Sets the total from the breakdown when the writer gave only the lines.
    fn fill_total(&mut self) -> Result<(), ValidationError> {
        if self.total_micro_usd.is_none() && !self.breakdown.is_empty() {
            let total = self
                .breakdown
                .iter()
                .try_fold(0u64, |sum, item| sum.checked_add(item.micro_usd.0))
                .ok_or_else(|| ValidationError::new("cost.breakdown", "amounts overflow"))?;
            self.total_micro_usd = Some(MicroUsd(total));
        }
        Ok(())
    }
}

/// Validates transcript entries and assigns missing ids and indexes.
///
/// `existing` are the entries already stored for the call (for a live append): new indexes
/// continue after the highest one there, and ids must not repeat within `entries`.
pub fn normalize_transcript(
    entries: &mut [TranscriptEntry],
    existing: &[TranscriptEntry],
) -> Result<(), ValidationError> {
    let mut next_index = existing
        .iter()
        .chain(entries.iter())
        .filter_map(|entry| entry.index)
        .max()
        .map_or(0, |max| max.saturating_add(1));
    let mut ids = HashSet::new();
    for (position, entry) in entries.iter_mut().enumerate() {
        let field = |name: &str| format!("transcript[{position}].{name}");
        if let (Some(start), Some(end)) = (entry.start_ms, entry.end_ms)
            && end < start
        {
            return Err(ValidationError::new(
                field("end_ms"),
                format!("{end} is before start_ms {start}"),
            ));
        }
        if entry.id.is_empty() {
            entry.id = new_id();
        } else {
            validate_id(&field("id"), &entry.id)?;
        }
        if !ids.insert(entry.id.clone()) {
            return Err(ValidationError::new(
                field("id"),
                format!("`{}` appears twice", entry.id),
            ));
        }
        if entry.index.is_none() {
            entry.index = Some(next_index);
            next_index = next_index.saturating_add(1);
        }
    }
    Ok(())
}

fn check_len(field: &str, value: Option<&str>, max: usize) -> Result<(), ValidationError> {
    match value {
        Some(text) if text.len() > max => Err(ValidationError::new(
            field,
            format!("is {} bytes long; at most {max} are allowed", text.len()),
        )),
        Some(text) if text.chars().any(char::is_control) => Err(ValidationError::new(
            field,
            "must not contain control characters",
        )),
        _ => Ok(()),
    }
}

/// Applies an RFC 7396 JSON merge patch: objects merge key by key, `null` removes a key,
/// anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Object::new());
    }
    if let Value::Object(target_fields) = target {
        for (key, value) in patch_fields {
            if value.is_null() {
                target_fields.remove(key);
            } else {
                merge_patch(
                    target_fields.entry(key.clone()).or_insert(Value::Null),
                    value,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context(path_id: Option<&str>) -> WriteContext<'_> {
        WriteContext {
            organization_id: "org_a",
            path_id,
            now: Timestamp::from_millis(1_700_000_000_000).unwrap_or_else(Timestamp::now),
            existing_created_at: None,
        }
    }

    fn write(body: Value) -> Result<Call, ValidationError> {
        call_from_json(body, &context(None))
    }

    #[test]
    fn an_empty_body_makes_an_in_progress_call_with_an_assigned_id() {
        let Ok(call) = write(json!({})) else {
            panic!("{{}} is a valid call")
        };
        assert_eq!(call.status, CallStatus::InProgress);
        assert_eq!(call.organization_id, "org_a");
        assert_eq!(call.created_at.as_millis(), 1_700_000_000_000);
        assert!(uuid::Uuid::parse_str(&call.id).is_ok());
    }

    #[test]
    fn derives_kind_direction_channel_duration_and_request_ids() {
        let call = write(json!({
            "channel": "telephony", "direction": "outbound",
            "started_at": "2024-01-15T10:30:15Z", "ended_at": "2024-01-15T10:32:20Z",
            "flow": {"path": [
                {"type": "start", "request_id": "r1"},
                {"type": "speak", "request_id": "r1"},
                {"type": "end_call", "request_id": "r2"}
            ]}
        }));
        let Ok(call) = call else {
            panic!("valid call refused: {call:?}")
        };
        assert_eq!(call.kind, Some(CallKind::TelephonyOutbound));
        assert_eq!(call.duration_ms, Some(125_000));
        assert_eq!(call.request_ids, ["r1", "r2"]);

        let Ok(chat) = write(json!({"kind": "telephony_inbound"})) else {
            panic!()
        };
        assert_eq!(chat.direction, Some(Direction::Inbound));
        assert_eq!(chat.channel, Some(Channel::Telephony));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (json!({"status": "done"}), "status"),
            (json!({"agent": {"id": 5}}), "agent.id"),
            (json!({"started_at": "last tuesday"}), "started_at"),
            (json!({"colour": "red"}), "colour"),
            (json!({"organization_id": "org_b"}), "organization_id"),
            (
                json!({"kind": "telephony_inbound", "direction": "outbound"}),
                "direction",
            ),
            (json!({"status_code": 7}), "status_code"),
            (json!({"transcript": [{"role": "user"}]}), "transcript[0]"),
            (
                json!({"transcript": [{"role": "caller", "text": "hi"}]}),
                "transcript[0].role",
            ),
            (
                json!({"cost": {"total_micro_usd": 1.5}}),
                "cost.total_micro_usd",
            ),
            (json!({"agent_id": "a", "agent": {"id": "b"}}), "agent_id"),
            (json!({"id": "a/b"}), "id"),
            (
                json!({"started_at": "2024-01-02", "ended_at": "2024-01-01"}),
                "ended_at",
            ),
        ];
        for (body, field) in cases {
            let result = write(body.clone());
            let Err(error) = result else {
                panic!("{body} was accepted")
            };
            assert!(
                error.field.starts_with(field),
                "{body}: {error} should name {field}"
            );
        }
    }

    #[test]
    fn agent_id_shorthand_fills_agent() {
        let Ok(call) = write(json!({"agent_id": "a1", "agent": {"name": "Sarah"}})) else {
            panic!()
        };
        assert_eq!(call.agent.id.as_deref(), Some("a1"));
        assert_eq!(call.agent.name.as_deref(), Some("Sarah"));
    }

    #[test]
    fn money_accepts_integers_and_digit_strings_and_sums_the_breakdown() {
        let call = write(json!({"cost": {"breakdown": [
            {"component": "llm", "micro_usd": "1200"},
            {"component": "tts", "micro_usd": 34}
        ]}}));
        let Ok(call) = call else { panic!("{call:?}") };
        assert_eq!(
            call.cost.and_then(|c| c.total_micro_usd),
            Some(MicroUsd(1234))
        );
    }

    #[test]
    fn transcript_entries_get_ids_and_indexes_after_existing_ones() {
        let existing = vec![TranscriptEntry {
            id: "e0".into(),
            index: Some(4),
            role: Role::Agent,
            text: "hello".into(),
            start_ms: None,
            end_ms: None,
            provider: None,
            model: None,
            metadata: None,
        }];
        let mut added = vec![TranscriptEntry {
            id: String::new(),
            index: None,
            ..existing[0].clone()
        }];
        assert!(normalize_transcript(&mut added, &existing).is_ok());
        assert_eq!(added[0].index, Some(5));
        assert!(!added[0].id.is_empty());
    }

    #[test]
    fn path_id_wins_and_a_contradicting_body_id_is_refused() {
        let Ok(call) = call_from_json(json!({}), &context(Some("c1"))) else {
            panic!()
        };
        assert_eq!(call.id, "c1");
        assert!(call_from_json(json!({"id": "c2"}), &context(Some("c1"))).is_err());
    }

    #[test]
    fn tags_and_parameters_are_summarised_as_seed_001_does() {
        let Ok(call) = write(json!({"flow": {
            "collected_tags": [
                {"tag": "two", "category": "c"}, {"tag": "one", "category": "c"},
                {"tag": "three", "category": "c"}, {"tag": "three", "category": "c"}
            ],
            "collected_parameters": [
                {"name": "name", "value": "Ben"}, {"name": "zip", "value": "10115"},
                {"name": "name", "value": "Benjamin"}
            ]
        }})) else {
            panic!()
        };
        let tags: Vec<_> = call
            .distinct_tags()
            .iter()
            .map(|(t, n)| (t.tag.clone(), *n))
            .collect();
        assert_eq!(
            tags,
            [
                ("two".into(), 1),
                ("one".into(), 1),
                ("three".to_owned(), 2)
            ]
        );
        let last: Vec<_> = call
            .last_parameters()
            .iter()
            .map(|p| p.value.clone())
            .collect();
        assert_eq!(last, [json!("Benjamin"), json!("10115")]);
        assert_eq!(call.session_status(), "in_progress");
        assert_eq!(call.session_start_time(), call.created_at);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut target, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(target, json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn a_stored_call_round_trips_through_json() {
        let Ok(call) = write(json!({
            "agent": {"id": "a", "name": "n"}, "status": "completed",
            "transcript": [{"role": "agent", "text": "hi", "start_ms": 0, "end_ms": 900}],
            "metrics": {"agent_latency_ms": {"avg": 812.5, "p95": 1400.0}},
            "flow": {"collected_tags": [{"tag": "t", "category": "c"}]}
        })) else {
            panic!()
        };
        let text = serde_json::to_string(&call).unwrap_or_default();
        let back: Result<Call, _> = serde_json::from_str(&text);
        assert_eq!(back.ok(), Some(call));
    }
}
