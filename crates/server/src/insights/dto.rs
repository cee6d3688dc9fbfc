//! Request and response shapes of the Vonage-compatible `/insights` surface (seed 001).
//!
//! A call renders as seed 001's session document, field for field: Vonage's names
//! (`account_id`, `source`, `agent_information`, `channel_data`, …), the transcript as a
//! list of one-key objects, the flow as `flow_data` and `flow_path`, and the summaries
//! `tags`, `tags_list`, `params` and `params_list` derived from the collected flow data.
//! Search answers wrap the documents in seed 001's envelope, whose page figures are strings.

use crate::error::ApiError;
use crate::params::{invalid, non_empty, page_size, parse_number, parse_time, within_window};
use callscope_model::{Agent, Call, Channel, FlowNode, Parameter, Role, Tag, TimeBound, Timestamp};
use callscope_query::{
    BoolQuery, IndexField, Limits, Query, RangeBounds, Scalar, SearchRequest, SortKey, Surface,
    TrackTotalHits, parse_aggs, parse_fields, parse_query, parse_sort_list, resolve,
};
use callscope_store::MAX_SORT_KEYS;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `page_size` when none is given.
const DEFAULT_PAGE_SIZE: u32 = 10;
const DAY_MS: i64 = 86_400_000;

// ---- sessions ------------------------------------------------------------------------------

/// A call as seed 001's session document.
///
/// Keys whose value callscope does not know are left out rather than rendered as `null`,
/// except the lists and summaries, which are empty when there is nothing in them (seed 001
/// shows `"injected_parameters": []`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView<'a> {
    transcription: Vec<BTreeMap<&'a str, &'a str>>,
    account_id: &'a str,
    /// Seed 001 renders "N/A" here ("not yet implemented" there); callscope never exposes
    /// key material in a document, so it keeps the placeholder.
    api_key: &'static str,
    status: &'static str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    /// `{category: {tag: count}}`.
    tags: BTreeMap<&'a str, BTreeMap<&'a str, u32>>,
    /// `{name: {completed, value}}` of each parameter's last collected value.
    params: BTreeMap<&'a str, ParamSummary<'a>>,
    tags_list: Vec<TagCount<'a>>,
    params_list: Vec<&'a Parameter>,
    agent_information: &'a Agent,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<Channel>,
    session_start_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_end_time: Option<Timestamp>,
    request_ids: &'a [String],
    channel_data: ChannelData<'a>,
    flow_data: FlowData<'a>,
    flow_path: &'a [FlowNode],
}

/// One entry of `params`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ParamSummary<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    completed: Option<bool>,
    value: &'a Value,
}

/// One entry of `tags_list`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TagCount<'a> {
    count: u32,
    tag: &'a str,
    category: &'a str,
}

/// Seed 001's `channel_data`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ChannelData<'a> {
    /// Milliseconds, as seed 001 documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audio_url: Option<&'a str>,
    call_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
}

/// Seed 001's `flow_data`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FlowData<'a> {
    collected_tags: &'a [Tag],
    collected_parameters: &'a [Parameter],
    injected_parameters: &'a [Parameter],
}

impl<'a> SessionView<'a> {
    /// Renders `call`.
    pub fn new(call: &'a Call) -> Self {
        let flow = call.flow.as_ref();
        let last_parameters = call.last_parameters();
        let mut tags: BTreeMap<&str, BTreeMap<&str, u32>> = BTreeMap::new();
        let tags_list = call
            .distinct_tags()
            .into_iter()
            .map(|(tag, count)| {
                tags.entry(&tag.category)
                    .or_default()
                    .insert(&tag.tag, count);
                TagCount {
                    count,
                    tag: &tag.tag,
                    category: &tag.category,
                }
            })
            .collect();
        let params = last_parameters
            .iter()
            .map(|parameter| {
                let summary = ParamSummary {
                    completed: parameter.completed,
                    value: &parameter.value,
                };
                (parameter.name.as_str(), summary)
            })
            .collect();
        Self {
            transcription: call
                .transcript
                .iter()
                .map(|entry| BTreeMap::from([(speaker(&call.agent, entry.role), &*entry.text)]))
                .collect(),
            account_id: &call.organization_id,
            api_key: "N/A",
            status: call.session_status(),
            id: &call.id,
            language: call.language.as_deref(),
            tags,
            params,
            tags_list,
            params_list: last_parameters,
            agent_information: &call.agent,
            source: call.from_number.as_deref(),
            destination: call.to_number.as_deref(),
            channel: call.channel,
            session_start_time: call.session_start_time(),
            session_end_time: call.ended_at,
            request_ids: &call.request_ids,
            channel_data: ChannelData {
                duration: call.duration_ms,
                audio_url: call.recording.as_ref().and_then(|r| r.mono.as_deref()),
                call_status: call.session_status(),
                status_code: call.status_code,
            },
            flow_data: FlowData {
                collected_tags: flow.map_or(&[], |f| &f.collected_tags),
                collected_parameters: flow.map_or(&[], |f| &f.collected_parameters),
                injected_parameters: flow.map_or(&[], |f| &f.injected_parameters),
            },
            flow_path: flow.map_or(&[], |f| &f.path),
        }
    }
}

/// The key of a transcription line. Seed 001 keys the agent's lines by the published
/// version id of the agent; callscope falls back to the agent id, then to the role, so a
/// line never loses its speaker.
fn speaker(agent: &Agent, role: Role) -> &str {
    match role {
        Role::Agent => agent
            .version_id
            .as_deref()
            .or(agent.id.as_deref())
            .unwrap_or("agent"),
        Role::User | Role::System | Role::Tool => role.as_str(),
    }
}

/// `call` as seed 001's session document, ready for projection.
pub fn session_document(call: &Call) -> Value {
    // `to_value` fails only on maps with non-string keys, and every map here is keyed by
    // strings, so the fallback is never taken.
    serde_json::to_value(SessionView::new(call)).unwrap_or(Value::Null)
}

// ---- search request ------------------------------------------------------------------------

/// Query string of `GET /insights/sessions`, seed 001's parameters plus `aggs`. Every value
/// arrives as text and is parsed in [`InsightsParams::into_request`], so each error names
/// its parameter.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InsightsParams {
    /// Start of the range of `session_start_time`, inclusive; any accepted time form.
    from_date: Option<String>,
    /// End of the range, inclusive; a plain date covers that whole day.
    to_date: Option<String>,
    /// From 0.
    page_number: Option<String>,
    page_size: Option<String>,
    /// `field:asc|desc` keys separated by commas.
    sort_by: Option<String>,
    /// A JSON list of dotted paths of the session document.
    project_fields: Option<String>,
    /// A JSON object of bool occurrences (`must`, `should`, `must_not`, `filter`).
    filter_by: Option<String>,
    /// Elasticsearch `aggs` JSON; callscope's extension of seed 001.
    aggs: Option<String>,
}

/// A parsed `GET /insights/sessions`, with the paging figures the envelope echoes.
#[derive(Debug)]
pub struct InsightsRequest {
    pub search: SearchRequest,
    pub page_number: u64,
    pub page_size: u32,
    /// Paths of the session document to keep; empty keeps it whole.
    pub fields: Vec<String>,
}

impl InsightsParams {
    /// Parses and checks every parameter. `max_range_days`, when set, is the configured cap
    /// on how far apart `from_date` and `to_date` may be (seed 001's service allows 60 days);
    /// both dates are then required.
    pub fn into_request(
        self,
        max_range_days: Option<u32>,
        limits: &Limits,
    ) -> Result<InsightsRequest, ApiError> {
        let page_size = page_size("page_size", self.page_size, DEFAULT_PAGE_SIZE, limits)?;
        let page_number = parse_number("page_number", self.page_number, 0..=u64::MAX)?.unwrap_or(0);
        let offset = page_number
            .checked_mul(u64::from(page_size))
            .ok_or_else(|| {
                invalid(
                    "page_number",
                    format!(
                        "{page_number} is too large: {page_number} pages of {page_size} overflow"
                    ),
                )
            })?;
        within_window(
            "page_number",
            offset,
            page_size,
            limits,
            "narrow the dates or the filter",
        )?;
        let from = parse_time("from_date", self.from_date)?;
        let to = parse_time("to_date", self.to_date)?;
        check_range(from, to, max_range_days)?;

        let start_time = session_start_time()?;
        let mut sort = match non_empty(self.sort_by) {
            Some(text) => {
                parse_sort_list(Surface::Insights, &text).map_err(|e| invalid("sort_by", e))?
            }
            None => Vec::new(),
        };
        if sort.len() > MAX_SORT_KEYS {
            return Err(invalid(
                "sort_by",
                format!("at most {MAX_SORT_KEYS} keys are supported"),
            ));
        }
        if sort.is_empty() {
            // Newest first, as seed 001's examples ask for.
            sort.push(SortKey {
                field: start_time.clone(),
                descending: true,
            });
        }
        let filter_by = non_empty(self.filter_by)
            .map(|text| {
                parse_query(
                    Surface::Insights,
                    &parse_json("filter_by", &text, FILTER_BY_SHAPE)?,
                    limits,
                )
                .map_err(|e| invalid("filter_by", e))
            })
            .transpose()?;
        let fields = non_empty(self.project_fields)
            .map(|text| {
                parse_fields(
                    &parse_json("project_fields", &text, PROJECT_FIELDS_SHAPE)?,
                    limits,
                )
                .map_err(|e| invalid("project_fields", e))
            })
            .transpose()?
            .unwrap_or_default();
        let aggs = non_empty(self.aggs)
            .map(|text| {
                parse_aggs(
                    Surface::Insights,
                    &parse_json("aggs", &text, AGGS_SHAPE)?,
                    limits,
                )
                .map_err(|e| invalid("aggs", e))
            })
            .transpose()?
            .unwrap_or_default();

        let range = (from.is_some() || to.is_some()).then(|| Query::Range {
            field: start_time,
            range: RangeBounds {
                gte: from.map(|bound| Scalar::Date(bound.start())),
                lt: to.map(|bound| Scalar::Date(bound.end_exclusive())),
                ..RangeBounds::default()
            },
        });
        // `{}` parses as match-all, which adds nothing beside the range.
        let filter_by = filter_by.filter(|query| *query != Query::MatchAll);
        let query = if range.is_none() && filter_by.is_none() {
            Query::MatchAll
        } else {
            Query::Bool(BoolQuery {
                filter: range.into_iter().collect(),
                must: filter_by.into_iter().collect(),
                ..BoolQuery::default()
            })
        };
        Ok(InsightsRequest {
            search: SearchRequest {
                query,
                sort,
                offset,
                limit: page_size,
                search_after: None,
                aggs,
                track_total_hits: TrackTotalHits::Exact,
                highlight: None,
            },
            page_number,
            page_size,
            fields,
        })
    }
}

/// Refuses an empty range and, when a cap is configured, a range wider than the cap or one
/// left open.
fn check_range(
    from: Option<TimeBound>,
    to: Option<TimeBound>,
    max_range_days: Option<u32>,
) -> Result<(), ApiError> {
    if let (Some(from), Some(to)) = (from, to)
        && from.start() >= to.end_exclusive()
    {
        return Err(invalid("from_date", "is after to_date; the range is empty"));
    }
    let Some(days) = max_range_days else {
        return Ok(());
    };
    let limit = format!("this server allows date ranges of at most {days} days");
    match (from, to) {
        (None, _) => Err(invalid("from_date", format!("is required: {limit}"))),
        (_, None) => Err(invalid("to_date", format!("is required: {limit}"))),
        // "Apart" as seed 001 words its own limit: the distance between the two bounds as
        // written, so `to_date` may name the last allowed day as a plain date.
        (Some(from), Some(to))
            if to.start().as_millis() - from.start().as_millis() > i64::from(days) * DAY_MS =>
        {
            Err(invalid(
                "to_date",
                format!("is more than {days} days after from_date; {limit}"),
            ))
        }
        _ => Ok(()),
    }
}

/// The field the date range and the default sort apply to.
fn session_start_time() -> Result<IndexField, ApiError> {
    resolve(Surface::Insights, "session_start_time").map_err(|e| {
        ApiError::Internal(format!("the field catalogue lost session_start_time: {e}"))
    })
}

/// What each JSON parameter holds, for the refusal of text that is not JSON.
const FILTER_BY_SHAPE: &str = r#"a JSON object such as {"must": [{"term": {"status": "ended"}}]}"#;
const PROJECT_FIELDS_SHAPE: &str = r#"a JSON list such as ["agent_information", "status"]"#;
const AGGS_SHAPE: &str =
    r#"a JSON object such as {"by_agent": {"terms": {"field": "agent_information.id"}}}"#;

/// Parses the JSON text of `parameter`, which should be `shape`. Seed 001 warns that curly
/// braces in a query string must be URL-encoded; when they were not, clients and proxies may
/// cut or mangle the text, so the refusal says how to send them.
fn parse_json(parameter: &str, text: &str, shape: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|error| {
        let hint = if text.contains(['{', '}']) {
            "; if you sent curly braces unencoded, URL-encode them (%7B and %7D)"
        } else {
            ""
        };
        invalid(
            parameter,
            format!("is not valid JSON ({error}); send {shape}{hint}"),
        )
    })
}

// ---- envelope ------------------------------------------------------------------------------

/// Seed 001's call-log examples project `agent_id`, which names `agent_information.id` in
/// filters but is no field of the session document: when asked for, it is filled in.
const PROJECTION_ALIASES: [(&str, &str); 1] = [("agent_id", "id")];

/// `document` keeping only `paths`, with the projection aliases filled in.
pub fn project_session(document: &Value, paths: &[String]) -> Value {
    let mut projected = callscope_query::project(document, paths);
    for (alias, agent_key) in PROJECTION_ALIASES {
        if paths.iter().any(|path| path == alias)
            && let (Some(value), Value::Object(fields)) = (
                document["agent_information"].get(agent_key).cloned(),
                &mut projected,
            )
        {
            fields.insert(alias.to_owned(), value);
        }
    }
    projected
}

/// Seed 001's search answer: `{"total", "hits", "page_size", "page_number"}`, the two page
/// figures as strings as its example shows them, plus `aggregations` when the request asked
/// for some (callscope's extension).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionsPage {
    total: u64,
    /// Session documents (`SessionView`), or of each the fields `project_fields` names.
    #[schema(value_type = Vec<Object>)]
    hits: Vec<Value>,
    page_size: String,
    page_number: String,
    /// Elasticsearch's aggregation answers, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    aggregations: Option<Value>,
}

impl SessionsPage {
    pub fn new(
        total: u64,
        hits: Vec<Value>,
        page_size: u32,
        page_number: u64,
        aggregations: Option<Value>,
    ) -> Self {
        Self {
            total,
            hits,
            page_size: page_size.to_string(),
            page_number: page_number.to_string(),
            aggregations,
        }
    }
}

#[cfg(test)]
#[path = "dto_tests.rs"]
mod tests;
