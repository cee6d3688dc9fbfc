//! The field catalogue: every searchable field of a call, its index path and kind, and the
//! alias table of each API surface that maps the names users write onto it.
//!
//! Index paths are the paths of the index document the store builds from a call (see the
//! store's `index::document`); keeping both in step is what makes a name searchable. Names
//! that are not here are refused, never silently matched against nothing.

use crate::QueryError;
use serde::Serialize;

/// What kind of values a field holds, which decides the clauses it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Exact strings (ids, enums, numbers as text): `term`, `terms`, `prefix`, sort, aggs.
    Keyword,
    /// Analysed text: `match`, `match_phrase` (and `term`, as a phrase).
    Text,
    /// Whole numbers: `term`, `range`, sort, aggs.
    Long,
    /// Decimal numbers: `term`, `range`, sort, aggs.
    Double,
    /// Instants: `term`, `range` (any accepted time form), sort, date aggs.
    Date,
    Bool,
    /// User-defined values (`metadata.*`, flow parameters): keyword or number by value.
    Dynamic,
}

impl FieldKind {
    /// Whether the field can order results and feed aggregations.
    pub fn sortable(self) -> bool {
        !matches!(self, Self::Text)
    }

    /// Whether every value is a number (dates are epoch milliseconds): such fields are only
    /// ever compared by range, sorted and aggregated, never looked up as terms.
    pub fn numeric(self) -> bool {
        matches!(self, Self::Long | Self::Double | Self::Date)
    }
}

/// A field resolved to the index: its path there and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexField {
    /// The canonical name, which is also the path in the index document.
    pub path: String,
    pub kind: FieldKind,
}

/// An API surface, each with its own names for the same fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// `/v1`: the canonical names.
    Native,
    /// `/insights`: Vonage AI Studio's names (seed 001).
    Insights,
}

/// One catalogue entry.
#[derive(Clone, Copy, Debug)]
struct Spec {
    path: &'static str,
    kind: FieldKind,
    about: &'static str,
}

const fn spec(path: &'static str, kind: FieldKind, about: &'static str) -> Spec {
    Spec { path, kind, about }
}

use FieldKind::{Bool, Date, Double, Dynamic, Keyword, Long, Text};

/// Every fixed field. Paths under `flow.path`, `flow.*_parameters`, `tags_list`,
/// `params_list` and `request_ids` are arrays: a clause matches when any element does.
const CATALOGUE: &[Spec] = &[
    spec("id", Keyword, "call id"),
    spec("organization_id", Keyword, "tenant (always your own)"),
    spec("agent.id", Keyword, "agent id"),
    spec("agent.version_id", Keyword, "published agent version"),
    spec("agent.name", Keyword, "agent name"),
    spec("agent.voice", Keyword, "voice name"),
    spec("agent.language", Keyword, "agent language"),
    spec("campaign_id", Keyword, "campaign"),
    spec(
        "channel",
        Keyword,
        "telephony, voice, whatsapp, http, web, chat",
    ),
    spec("direction", Keyword, "inbound, outbound"),
    spec(
        "kind",
        Keyword,
        "telephony_inbound, telephony_outbound, chat, web",
    ),
    spec("from_number", Keyword, "caller number or address"),
    spec("to_number", Keyword, "called number or address"),
    spec(
        "status",
        Keyword,
        "in_progress, completed, failed, no_answer, busy, canceled",
    ),
    spec(
        "session_status",
        Keyword,
        "in_progress or ended (seed 001's status)",
    ),
    spec("status_code", Long, "0 ok, 100 warning, 200 error"),
    spec("disconnection_reason", Keyword, "why the call ended"),
    spec("created_at", Date, "when the call was recorded"),
    spec("updated_at", Date, "last write"),
    spec("started_at", Date, "when the conversation started"),
    spec("ended_at", Date, "when it ended"),
    spec(
        "session_start_time",
        Date,
        "started_at, or created_at when the call never started",
    ),
    spec("duration_ms", Long, "length in milliseconds"),
    spec("room_name", Keyword, "media room"),
    spec("language", Keyword, "conversation language"),
    spec("request_ids", Keyword, "request ids of the flow path"),
    spec("transcript.text", Text, "everything said, any role"),
    spec("transcript.user", Text, "what the caller said"),
    spec("transcript.agent", Text, "what the agent said"),
    spec("transcript.system", Text, "system messages"),
    spec("transcript.tool", Text, "tool output"),
    spec(
        "transcript.role",
        Keyword,
        "roles present in the transcript",
    ),
    spec(
        "transcript.provider",
        Keyword,
        "speech or model provider of an entry",
    ),
    spec("transcript.model", Keyword, "model of an entry"),
    spec("flow.path.type", Keyword, "node type"),
    spec("flow.path.node_id", Keyword, "node id"),
    spec(
        "flow.path.request_id",
        Keyword,
        "request id made by the node",
    ),
    spec("flow.path.tags.tag", Keyword, "tag collected by the node"),
    spec(
        "flow.path.tags.category",
        Keyword,
        "category of a node's tag",
    ),
    spec("flow.path.execution_time", Long, "node execution time (ms)"),
    spec("flow.path.synchronized", Bool, "node ran synchronously"),
    spec(
        "flow.path.request.headers",
        Keyword,
        "webhook request headers",
    ),
    spec(
        "flow.path.request.payload",
        Keyword,
        "webhook request payload",
    ),
    spec("flow.path.request.verb", Keyword, "webhook verb"),
    spec("flow.path.request.url", Keyword, "webhook URL"),
    spec("flow.path.response.code", Long, "webhook response status"),
    spec(
        "flow.path.response.payload",
        Keyword,
        "webhook response payload",
    ),
    spec("flow.path.context.url", Keyword, "webhook URL of the node"),
    spec(
        "flow.path.context.user_input",
        Keyword,
        "what the user answered at the node",
    ),
    spec("flow.path.context.status.code", Long, "node status code"),
    spec(
        "flow.path.context.status.message",
        Keyword,
        "node status message",
    ),
    spec(
        "flow.path.context.output",
        Keyword,
        "what the node produced",
    ),
    spec(
        "flow.path.context.execution_parameters.completed",
        Bool,
        "whether the parameter was filled",
    ),
    spec(
        "flow.path.context.execution_parameters.name",
        Keyword,
        "parameter name",
    ),
    spec(
        "flow.path.context.execution_parameters.type",
        Keyword,
        "parameter entity type",
    ),
    spec(
        "flow.path.context.execution_parameters.entity",
        Keyword,
        "parameter entity",
    ),
    spec(
        "flow.path.context.execution_parameters.value",
        Dynamic,
        "parameter value",
    ),
    spec(
        "flow.path.context.execution_parameters.value_text",
        Keyword,
        "parameter as said",
    ),
    spec(
        "flow.path.context.execution_parameters.audio_url",
        Keyword,
        "parameter recording",
    ),
    spec(
        "flow.path.context.altered_parameters.alteration_source",
        Keyword,
        "injected, completed or classified",
    ),
    spec(
        "flow.path.context.altered_parameters.audio_duration",
        Long,
        "altered parameter audio length",
    ),
    spec(
        "flow.path.context.altered_parameters.audio_url",
        Keyword,
        "altered parameter recording",
    ),
    spec(
        "flow.path.context.altered_parameters.entity",
        Keyword,
        "altered parameter entity",
    ),
    spec(
        "flow.path.context.altered_parameters.name",
        Keyword,
        "altered parameter name",
    ),
    spec(
        "flow.path.context.altered_parameters.value",
        Dynamic,
        "altered parameter value",
    ),
    spec(
        "flow.path.context.altered_parameters.value_text",
        Keyword,
        "altered parameter as said",
    ),
    spec(
        "flow.collected_tags.tag",
        Keyword,
        "tag collected during the call, repeats kept",
    ),
    spec(
        "flow.collected_tags.category",
        Keyword,
        "category of a collected tag",
    ),
    spec(
        "flow.collected_parameters.name",
        Keyword,
        "collected parameter name",
    ),
    spec(
        "flow.collected_parameters.type",
        Keyword,
        "collected parameter entity type",
    ),
    spec(
        "flow.collected_parameters.entity",
        Keyword,
        "collected parameter entity",
    ),
    spec(
        "flow.collected_parameters.value",
        Dynamic,
        "collected parameter value",
    ),
    spec(
        "flow.collected_parameters.value_text",
        Keyword,
        "collected parameter as said",
    ),
    spec(
        "flow.collected_parameters.completed",
        Bool,
        "collected parameter completed",
    ),
    spec(
        "flow.collected_parameters.audio_url",
        Keyword,
        "collected parameter recording",
    ),
    spec(
        "flow.injected_parameters.name",
        Keyword,
        "injected parameter name",
    ),
    spec(
        "flow.injected_parameters.value",
        Dynamic,
        "injected parameter value",
    ),
    spec(
        "flow.injected_parameters.type",
        Keyword,
        "injected parameter entity type",
    ),
    spec(
        "flow.injected_parameters.value_text",
        Keyword,
        "injected parameter as said",
    ),
    spec(
        "flow.injected_parameters.completed",
        Bool,
        "whether the injected parameter is filled",
    ),
    spec("tags_list.tag", Keyword, "distinct tag of the call"),
    spec("tags_list.category", Keyword, "category of a distinct tag"),
    spec("tags_list.count", Long, "times the tag was collected"),
    spec(
        "params_list.name",
        Keyword,
        "distinct parameter of the call",
    ),
    spec("params_list.type", Keyword, "its entity type"),
    spec("params_list.value", Dynamic, "its last value"),
    spec("params_list.value_text", Keyword, "its last value as said"),
    spec("params_list.completed", Bool, "whether it was completed"),
    spec("params_list.audio_url", Keyword, "its recording"),
    spec("recording.status", Keyword, "recording state"),
    spec("recording.duration_ms", Long, "recording length"),
    spec("recording.mono", Keyword, "mono recording URL"),
    spec("recording.dual", Keyword, "stereo recording URL"),
    spec("recording.public", Bool, "recording URL is public"),
    spec(
        "metrics.transcriber_latency_ms.avg",
        Double,
        "speech-to-text latency, mean",
    ),
    spec(
        "metrics.transcriber_latency_ms.p50",
        Double,
        "speech-to-text latency, median",
    ),
    spec(
        "metrics.transcriber_latency_ms.p95",
        Double,
        "speech-to-text latency, p95",
    ),
    spec(
        "metrics.transcriber_latency_ms.p90",
        Double,
        "speech-to-text latency, p90",
    ),
    spec(
        "metrics.transcriber_latency_ms.p99",
        Double,
        "speech-to-text latency, p99",
    ),
    spec(
        "metrics.transcriber_latency_ms.samples",
        Long,
        "speech-to-text latency, samples measured",
    ),
    spec("metrics.agent_latency_ms.avg", Double, "LLM latency, mean"),
    spec(
        "metrics.agent_latency_ms.p50",
        Double,
        "LLM latency, median",
    ),
    spec("metrics.agent_latency_ms.p95", Double, "LLM latency, p95"),
    spec("metrics.agent_latency_ms.p90", Double, "LLM latency, p90"),
    spec("metrics.agent_latency_ms.p99", Double, "LLM latency, p99"),
    spec(
        "metrics.agent_latency_ms.samples",
        Long,
        "LLM latency, samples measured",
    ),
    spec(
        "metrics.synthesizer_latency_ms.avg",
        Double,
        "text-to-speech latency, mean",
    ),
    spec(
        "metrics.synthesizer_latency_ms.p50",
        Double,
        "text-to-speech latency, median",
    ),
    spec(
        "metrics.synthesizer_latency_ms.p95",
        Double,
        "text-to-speech latency, p95",
    ),
    spec(
        "metrics.synthesizer_latency_ms.p90",
        Double,
        "text-to-speech latency, p90",
    ),
    spec(
        "metrics.synthesizer_latency_ms.p99",
        Double,
        "text-to-speech latency, p99",
    ),
    spec(
        "metrics.synthesizer_latency_ms.samples",
        Long,
        "text-to-speech latency, samples measured",
    ),
    spec(
        "metrics.end_to_end_latency_ms.avg",
        Double,
        "turn latency, mean",
    ),
    spec(
        "metrics.end_to_end_latency_ms.p50",
        Double,
        "turn latency, median",
    ),
    spec(
        "metrics.end_to_end_latency_ms.p95",
        Double,
        "turn latency, p95",
    ),
    spec(
        "metrics.end_to_end_latency_ms.p90",
        Double,
        "turn latency, p90",
    ),
    spec(
        "metrics.end_to_end_latency_ms.p99",
        Double,
        "turn latency, p99",
    ),
    spec(
        "metrics.end_to_end_latency_ms.samples",
        Long,
        "turn latency, samples measured",
    ),
    spec("cost.total_micro_usd", Long, "total cost in micro-USD"),
    spec("cost.credits", Double, "cost in credits"),
    spec(
        "cost.stt_micro_usd",
        Long,
        "speech-to-text cost in micro-USD",
    ),
    spec("cost.llm_micro_usd", Long, "LLM cost in micro-USD"),
    spec(
        "cost.tts_micro_usd",
        Long,
        "text-to-speech cost in micro-USD",
    ),
    spec(
        "cost.telephony_micro_usd",
        Long,
        "telephony cost in micro-USD",
    ),
    spec(
        "cost.platform_micro_usd",
        Long,
        "platform cost in micro-USD",
    ),
    spec("analysis.status", Keyword, "how the report was made"),
    spec("analysis.outcome", Keyword, "outcome label"),
    spec("analysis.sentiment", Keyword, "positive, neutral, negative"),
    spec("analysis.summary", Text, "report summary"),
    spec(
        "analysis.webhook_status",
        Keyword,
        "post-call webhook delivery",
    ),
    spec("transfer.chain_id", Keyword, "the latest transfer request"),
    spec(
        "transfer.status",
        Keyword,
        "where the latest transfer stands: completed, failed, canceled or under way",
    ),
    spec(
        "transfer.attempts",
        Long,
        "targets tried by the latest transfer",
    ),
    spec(
        "transfer.connected_to",
        Keyword,
        "the target that took the transferred call",
    ),
];

/// Families of fields named by their user-chosen last segment.
const DYNAMIC_PREFIXES: &[(&str, FieldKind, &str)] = &[
    ("metadata.", Dynamic, "a key of the call's metadata"),
    (
        "params.",
        Dynamic,
        "the last value of a flow parameter, by name",
    ),
    (
        "tag_counts.",
        Long,
        "how many times a tag was collected, by tag",
    ),
];

/// `/insights` names (seed 001) and the canonical names they stand for.
const INSIGHTS_NAMES: &[(&str, &str)] = &[
    ("id", "id"),
    ("account_id", "organization_id"),
    ("source", "from_number"),
    ("destination", "to_number"),
    ("channel", "channel"),
    ("agent_id", "agent.id"),
    ("agent_information.id", "agent.id"),
    ("agent_information.version_id", "agent.version_id"),
    ("agent_information.name", "agent.name"),
    ("agent_information.voice", "agent.voice"),
    ("agent_information.language", "agent.language"),
    ("status", "session_status"),
    ("channel_data.call_status", "session_status"),
    ("channel_data.duration", "duration_ms"),
    ("channel_data.status_code", "status_code"),
    ("channel_data.audio_url", "recording.mono"),
    ("session_start_time", "session_start_time"),
    ("session_end_time", "ended_at"),
    ("language", "language"),
    ("request_ids", "request_ids"),
    ("transcription", "transcript.text"),
    ("transcription.client", "transcript.user"),
    ("transcription.user", "transcript.user"),
    ("transcription.agent", "transcript.agent"),
];

/// `/insights` name prefixes and the canonical prefixes they stand for.
const INSIGHTS_PREFIXES: &[(&str, &str)] = &[
    ("flow_path.", "flow.path."),
    ("flow_data.", "flow."),
    ("tags_list.", "tags_list."),
    ("params_list.", "params_list."),
    ("parameters.", "params."),
    ("tags.", "tag_counts."),
];

/// `/v1` shorthands beside the canonical names.
const NATIVE_NAMES: &[(&str, &str)] = &[("agent_id", "agent.id")];

/// Seed 001 sorts by `agent_information` to mean the agent's name.
const INSIGHTS_SORT_NAMES: &[(&str, &str)] = &[("agent_information", "agent.name")];

/// The index field a canonical name denotes.
fn canonical(name: &str) -> Option<IndexField> {
    kind_of(name).map(|kind| IndexField {
        path: name.to_owned(),
        kind,
    })
}

/// The kind of the field at index path `path`, when the catalogue has one there.
pub fn kind_of(path: &str) -> Option<FieldKind> {
    if let Some(spec) = CATALOGUE.iter().find(|spec| spec.path == path) {
        return Some(spec.kind);
    }
    DYNAMIC_PREFIXES.iter().find_map(|(prefix, kind, _)| {
        let rest = path.strip_prefix(prefix)?;
        (!rest.is_empty()).then_some(*kind)
    })
}

/// An alias table: (surface name or prefix, canonical name or prefix).
type Aliases = [(&'static str, &'static str)];

/// Maps a surface name to its canonical name, if the surface knows it.
fn to_canonical(surface: Surface, name: &str) -> Option<String> {
    let (names, prefixes): (&Aliases, &Aliases) = match surface {
        Surface::Native => (NATIVE_NAMES, &[]),
        Surface::Insights => (INSIGHTS_NAMES, INSIGHTS_PREFIXES),
    };
    if let Some((_, target)) = names.iter().find(|(alias, _)| *alias == name) {
        return Some((*target).to_owned());
    }
    if let Some(mapped) = prefixes.iter().find_map(|(alias, target)| {
        name.strip_prefix(alias)
            .map(|rest| format!("{target}{rest}"))
    }) {
        return Some(mapped);
    }
    (surface == Surface::Native).then(|| name.to_owned())
}

/// Resolves a field name written on `surface`.
pub fn resolve(surface: Surface, name: &str) -> Result<IndexField, QueryError> {
    to_canonical(surface, name)
        .and_then(|canonical_name| canonical(&canonical_name))
        .ok_or_else(|| {
            let catalogue = match surface {
                Surface::Native => "GET /v1/fields",
                Surface::Insights => "seed 001's model (GET /v1/fields lists the canonical names)",
            };
            QueryError::new(format!(
                "unknown field `{name}`; the searchable fields are in {catalogue}"
            ))
        })
}

/// Resolves a field named in a sort, where seed 001 also allows `agent_information`.
pub fn resolve_sort(surface: Surface, name: &str) -> Result<IndexField, QueryError> {
    let alias = (surface == Surface::Insights)
        .then(|| INSIGHTS_SORT_NAMES.iter().find(|(alias, _)| *alias == name))
        .flatten();
    let field = match alias {
        Some((_, target)) => resolve(Surface::Native, target)?,
        None => resolve(surface, name)?,
    };
    if !field.kind.sortable() {
        return Err(QueryError::new(format!(
            "cannot sort on `{name}`: it is a full-text field; sort on a keyword, number or date"
        )));
    }
    Ok(field)
}

/// One row of `GET /v1/fields`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FieldInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// `term` for exact fields, `full_text` for analysed ones.
    pub search: &'static str,
    pub sortable: bool,
    pub aggregatable: bool,
    pub description: &'static str,
}

/// The catalogue as `/v1` names it; dynamic families appear as `prefix.*`.
pub fn catalogue() -> Vec<FieldInfo> {
    let info = |name: String, kind: FieldKind, description: &'static str| FieldInfo {
        name,
        kind,
        search: if kind == Text { "full_text" } else { "term" },
        sortable: kind.sortable(),
        aggregatable: kind.sortable(),
        description,
    };
    CATALOGUE
        .iter()
        .map(|spec| info(spec.path.to_owned(), spec.kind, spec.about))
        .chain(
            DYNAMIC_PREFIXES
                .iter()
                .map(|(prefix, kind, about)| info(format!("{prefix}*"), *kind, about)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(surface: Surface, name: &str) -> Option<String> {
        resolve(surface, name).ok().map(|field| field.path)
    }

    #[test]
    fn insights_names_map_onto_canonical_fields() {
        let cases = [
            ("source", "from_number"),
            ("agent_information.id", "agent.id"),
            ("agent_id", "agent.id"),
            ("transcription.client", "transcript.user"),
            ("channel_data.duration", "duration_ms"),
            ("flow_data.collected_tags.tag", "flow.collected_tags.tag"),
            ("flow_path.tags.category", "flow.path.tags.category"),
            ("parameters.name", "params.name"),
            ("tags.three", "tag_counts.three"),
            ("status", "session_status"),
        ];
        for (vonage, canonical_name) in cases {
            assert_eq!(
                path(Surface::Insights, vonage).as_deref(),
                Some(canonical_name),
                "{vonage}"
            );
        }
    }

    #[test]
    fn each_surface_refuses_the_other_surfaces_names_and_unknown_ones() {
        assert_eq!(path(Surface::Native, "source"), None);
        assert_eq!(path(Surface::Insights, "from_number"), None);
        assert_eq!(path(Surface::Native, "colour"), None);
        assert_eq!(path(Surface::Native, "metadata."), None);
        assert_eq!(
            path(Surface::Native, "metadata.crm_ref").as_deref(),
            Some("metadata.crm_ref")
        );
        let message = resolve(Surface::Native, "colour")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("`colour`"), "{message}");
    }

    #[test]
    fn sorting_on_agent_information_means_the_agent_name_and_text_is_refused() {
        assert_eq!(
            resolve_sort(Surface::Insights, "agent_information")
                .ok()
                .map(|f| f.path)
                .as_deref(),
            Some("agent.name")
        );
        assert!(resolve_sort(Surface::Native, "transcript.text").is_err());
    }

    #[test]
    fn every_catalogue_path_is_unique() {
        let mut paths: Vec<_> = CATALOGUE.iter().map(|spec| spec.path).collect();
        paths.sort_unstable();
        let before = paths.len();
        paths.dedup();
        assert_eq!(before, paths.len());
    }
}
