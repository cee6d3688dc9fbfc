//! Request and response shapes of the native `/v1` surface.
//!
//! A call renders as seed 002's call resource (`report`, `transfers`, `transcript.entries`,
//! `span_tree`) plus the seed-003/004 fields DESIGN §3 names (`from_number`, `direction`,
//! `transcript_text`, latency averages, recording URLs, …). Money is a decimal string of
//! micro-USD; times are RFC 3339 with milliseconds.

use crate::error::ApiError;
use crate::params::{
    invalid, non_empty, page_size, parse_number, parse_time, within_page_size, within_window,
};
use callscope_analysis::Extractor;
use callscope_model::{
    Agent, Call, CallKind, CallStatus, Channel, CostItem, Direction, DisconnectionReason, Event,
    EventDraft, Flow, LatencyStats, Metrics, Object, Role, Sentiment, Timestamp, TranscriptEntry,
    Transfer, TransferSummary,
};
use callscope_model::{DeliveryStatus, WebhookEvent};
use callscope_query::{
    Aggregations, BoolQuery, Limits, Operator, Query, RangeBounds, Scalar, SearchAfter,
    SearchRequest, SortKey, Surface, TrackTotalHits, parse_aggs, parse_fields, parse_highlight,
    parse_query, parse_sort_json, project, resolve,
};
use callscope_store::{
    CallPage, Cursor, Delivery, ListCalls, Paging, SearchResult, SortField, SortOrder,
    WebhookEndpoint,
};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

/// `limit` when none is given, as seed 003 documents.
pub const DEFAULT_LIMIT: u32 = 10;

// ---- calls ---------------------------------------------------------------------------------

/// A call as the native surface renders it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallView<'a> {
    id: &'a str,
    call_id: &'a str,
    resource_uri: String,
    organization_id: &'a str,
    agent_id: Option<&'a str>,
    agent: &'a Agent,
    campaign_id: Option<&'a str>,
    status: CallStatus,
    kind: Option<CallKind>,
    channel: Option<Channel>,
    direction: Option<Direction>,
    from_number: Option<&'a str>,
    to_number: Option<&'a str>,
    status_code: Option<u16>,
    disconnection_reason: Option<DisconnectionReason>,
    room_name: Option<&'a str>,
    language: Option<&'a str>,
    pipeline_config: Option<&'a Object>,
    metadata: Option<&'a Object>,
    created_at: Timestamp,
    updated_at: Timestamp,
    started_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    #[schema(value_type = Option<f64>)]
    duration_seconds: Option<Number>,
    duration_ms: Option<u64>,
    recording_status: Option<&'static str>,
    recording_duration_ms: Option<u64>,
    recording_resource_uri: Option<String>,
    recording_url: Option<&'a str>,
    recording_dual_url: Option<&'a str>,
    summary: Option<&'a str>,
    sentiment: Option<Sentiment>,
    transcript_text: String,
    average_transcriber_latency: Option<f64>,
    average_agent_latency: Option<f64>,
    average_synthesizer_latency: Option<f64>,
    metrics: Option<&'a Metrics>,
    cost_micro_usd: Option<String>,
    credits: Option<f64>,
    report: ReportView<'a>,
    /// What the attempts in `transfers` came to.
    transfer: Option<&'a TransferSummary>,
    transfers: Vec<TransferView<'a>>,
    transcript: TranscriptView<'a>,
    span_tree: Option<&'a Object>,
    flow: Option<&'a Flow>,
    request_ids: &'a [String],
}

/// Seed 002's `report` object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView<'a> {
    session_id: &'a str,
    organization_id: &'a str,
    summary: Option<&'a str>,
    outcome: Option<&'a str>,
    structured_data: Option<&'a Object>,
    transcript: TranscriptView<'a>,
    cost_micro_usd: Option<String>,
    cost_breakdown: Vec<CostItemView<'a>>,
    metadata: Option<&'a Object>,
    scheduled_callback: Option<&'a Object>,
    analysis_status: Option<&'static str>,
    /// Why the configured LLM analyzer's report was not used.
    analysis_fallback_reason: Option<&'a str>,
    /// Why there is no report, when every attempt to make one failed.
    analysis_failure_reason: Option<&'a str>,
    post_call_webhook_status: Option<&'static str>,
    post_call_webhook_attempts: Option<u32>,
    post_call_webhook_next_retry_at: Option<Timestamp>,
    created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
}

/// Seed 002's `transcript` object; also the answer of a live transcript append.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TranscriptView<'a> {
    entries: Vec<EntryView<'a>>,
}

/// One transcript entry: seed 002's names (`source`, `started_at`) beside the canonical
/// ones writers use (`role`, `start_ms`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView<'a> {
    id: &'a str,
    index: u32,
    source: Role,
    role: Role,
    text: &'a str,
    start_ms: Option<u64>,
    end_ms: Option<u64>,
    started_at: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    provider: Option<&'a str>,
    model: Option<&'a str>,
    metadata: Option<&'a Object>,
}

/// One line of `cost_breakdown`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CostItemView<'a> {
    component: &'static str,
    provider: Option<&'a str>,
    model: Option<&'a str>,
    units: Option<f64>,
    unit: Option<&'a str>,
    cost_micro_usd: String,
}

impl<'a> CallView<'a> {
    /// Renders `call`.
    pub fn new(call: &'a Call) -> Self {
        let analysis = call.analysis.as_ref();
        let recording = call.recording.as_ref();
        let latency = |stage: fn(&Metrics) -> &Option<LatencyStats>| {
            call.metrics
                .as_ref()
                .and_then(|m| stage(m).as_ref())
                .and_then(|s| s.avg)
        };
        let has_recording = recording.is_some_and(|r| r.mono.is_some() || r.dual.is_some());
        Self {
            id: &call.id,
            call_id: &call.id,
            resource_uri: format!("/v1/calls/{}", call.id),
            organization_id: &call.organization_id,
            agent_id: call.agent.id.as_deref(),
            agent: &call.agent,
            campaign_id: call.campaign_id.as_deref(),
            status: call.status,
            kind: call.kind,
            channel: call.channel,
            direction: call.direction,
            from_number: call.from_number.as_deref(),
            to_number: call.to_number.as_deref(),
            status_code: call.status_code,
            disconnection_reason: call.disconnection_reason,
            room_name: call.room_name.as_deref(),
            language: call.language.as_deref(),
            pipeline_config: call.pipeline_config.as_ref(),
            metadata: call.metadata.as_ref(),
            created_at: call.created_at,
            updated_at: call.updated_at,
            started_at: call.started_at,
            ended_at: call.ended_at,
            duration_seconds: call.duration_ms.map(seconds),
            duration_ms: call.duration_ms,
            recording_status: recording.and_then(|r| r.status).map(|s| s.as_str()),
            recording_duration_ms: recording.and_then(|r| r.duration_ms),
            recording_resource_uri: has_recording
                .then(|| format!("/v1/calls/{}/recording", call.id)),
            recording_url: recording.and_then(|r| r.mono.as_deref()),
            recording_dual_url: recording.and_then(|r| r.dual.as_deref()),
            summary: analysis.and_then(|a| a.summary.as_deref()),
            sentiment: analysis.and_then(|a| a.sentiment),
            transcript_text: transcript_text(&call.transcript),
            average_transcriber_latency: latency(|m| &m.transcriber_latency_ms),
            average_agent_latency: latency(|m| &m.agent_latency_ms),
            average_synthesizer_latency: latency(|m| &m.synthesizer_latency_ms),
            metrics: call.metrics.as_ref(),
            cost_micro_usd: total_cost(call),
            credits: call.cost.as_ref().and_then(|c| c.credits),
            report: ReportView::new(call),
            transfer: call.transfer.as_ref(),
            transfers: Vec::new(),
            transcript: TranscriptView::new(call.started_at, &call.transcript),
            span_tree: call.span_tree.as_ref(),
            flow: call.flow.as_ref(),
            request_ids: &call.request_ids,
        }
    }
}

impl<'a> CallView<'a> {
    /// The call with its transfer attempts, as its detail shows it.
    pub fn with_transfers(mut self, transfers: &'a [Transfer]) -> Self {
        self.transfers = transfers.iter().map(TransferView::new).collect();
        self
    }
}

impl<'a> ReportView<'a> {
    pub fn summary(&self) -> Option<&'a str> {
        self.summary
    }

    pub fn outcome(&self) -> Option<&'a str> {
        self.outcome
    }

    pub fn cost_micro_usd(&self) -> Option<&str> {
        self.cost_micro_usd.as_deref()
    }

    pub fn new(call: &'a Call) -> Self {
        let analysis = call.analysis.as_ref();
        Self {
            session_id: &call.id,
            organization_id: &call.organization_id,
            summary: analysis.and_then(|a| a.summary.as_deref()),
            outcome: analysis.and_then(|a| a.outcome.as_deref()),
            structured_data: analysis.and_then(|a| a.structured_data.as_ref()),
            transcript: TranscriptView::new(call.started_at, &call.transcript),
            cost_micro_usd: total_cost(call),
            cost_breakdown: call
                .cost
                .iter()
                .flat_map(|cost| &cost.breakdown)
                .map(CostItemView::new)
                .collect(),
            metadata: call.metadata.as_ref(),
            scheduled_callback: analysis.and_then(|a| a.scheduled_callback.as_ref()),
            analysis_status: analysis.and_then(|a| a.status).map(|s| s.as_str()),
            analysis_fallback_reason: analysis.and_then(|a| a.fallback_reason.as_deref()),
            analysis_failure_reason: analysis.and_then(|a| a.failure_reason.as_deref()),
            post_call_webhook_status: analysis.and_then(|a| a.webhook_status).map(|s| s.as_str()),
            post_call_webhook_attempts: analysis.and_then(|a| a.webhook_attempts),
            post_call_webhook_next_retry_at: analysis.and_then(|a| a.webhook_next_retry_at),
            created_at: analysis.and_then(|a| a.created_at),
            updated_at: analysis.and_then(|a| a.updated_at),
        }
    }
}

impl<'a> TranscriptView<'a> {
    /// Renders `entries` of a call that started at `call_start` (absolute entry times need
    /// it).
    pub fn new(call_start: Option<Timestamp>, entries: &'a [TranscriptEntry]) -> Self {
        let entries = entries
            .iter()
            .enumerate()
            .map(|(position, entry)| EntryView::new(call_start, position, entry))
            .collect();
        Self { entries }
    }
}

impl<'a> EntryView<'a> {
    fn new(call_start: Option<Timestamp>, position: usize, entry: &'a TranscriptEntry) -> Self {
        let at = |offset: Option<u64>| {
            let offset = i64::try_from(offset?).ok()?;
            Some(call_start?.plus_millis(offset))
        };
        Self {
            id: &entry.id,
            index: entry
                .index
                .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX)),
            source: entry.role,
            role: entry.role,
            text: &entry.text,
            start_ms: entry.start_ms,
            end_ms: entry.end_ms,
            started_at: at(entry.start_ms),
            ended_at: at(entry.end_ms),
            provider: entry.provider.as_deref(),
            model: entry.model.as_deref(),
            metadata: entry.metadata.as_ref(),
        }
    }
}

impl<'a> CostItemView<'a> {
    fn new(item: &'a CostItem) -> Self {
        Self {
            component: item.component.as_str(),
            provider: item.provider.as_deref(),
            model: item.model.as_deref(),
            units: item.units,
            unit: item.unit.as_deref(),
            cost_micro_usd: item.micro_usd.0.to_string(),
        }
    }
}

/// Whole seconds as an integer, otherwise seconds with the milliseconds as a fraction.
fn seconds(ms: u64) -> Number {
    if ms.is_multiple_of(1000) {
        Number::from(ms / 1000)
    } else {
        // Precision: u64 milliseconds below 2^53 are exact in f64, far beyond any call.
        #[allow(clippy::cast_precision_loss)]
        let exact = ms as f64 / 1000.0;
        Number::from_f64(exact).unwrap_or_else(|| Number::from(ms / 1000))
    }
}

fn total_cost(call: &Call) -> Option<String> {
    call.cost
        .as_ref()
        .and_then(|c| c.total_micro_usd)
        .map(|total| total.0.to_string())
}

/// Seed 004's flat transcript: `Agent: …` and `Caller: …` paragraphs.
fn transcript_text(entries: &[TranscriptEntry]) -> String {
    entries
        .iter()
        .map(|entry| {
            let speaker = match entry.role {
                Role::Agent => "Agent",
                Role::User => "Caller",
                Role::System => "System",
                Role::Tool => "Tool",
            };
            format!("{speaker}: {}", entry.text)
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The answer of `GET /v1/calls`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListView<'a> {
    calls: Vec<CallView<'a>>,
    /// The page number asked for; `null` when paging by cursor.
    page: Option<u64>,
    limit: u32,
    total: u64,
    next_cursor: Option<String>,
}

impl<'a> ListView<'a> {
    pub fn new(result: &'a CallPage, page: Option<u64>, limit: u32) -> Self {
        Self {
            calls: result.calls.iter().map(CallView::new).collect(),
            page,
            limit,
            total: result.total,
            next_cursor: result.next_cursor.as_ref().map(Cursor::encode),
        }
    }
}

/// The answer of `POST /v1/calls/search`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallsView<'a> {
    calls: Vec<CallView<'a>>,
}

impl<'a> CallsView<'a> {
    pub fn new(calls: &'a [Call]) -> Self {
        Self {
            calls: calls.iter().map(CallView::new).collect(),
        }
    }
}

/// The answer of `GET /v1/fields`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldsView {
    pub fields: Vec<callscope_query::FieldInfo>,
}

// ---- events --------------------------------------------------------------------------------

/// Seed 002's event object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView<'a> {
    session_id: &'a str,
    organization_id: &'a str,
    #[serde(flatten)]
    event: &'a Event,
}

/// The answer of the events endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsView<'a> {
    events: Vec<EventView<'a>>,
}

impl<'a> EventsView<'a> {
    pub fn new(organization_id: &'a str, call_id: &'a str, events: &'a [Event]) -> Self {
        let events = events
            .iter()
            .map(|event| EventView {
                session_id: call_id,
                organization_id,
                event,
            })
            .collect();
        Self { events }
    }
}

// ---- requests ------------------------------------------------------------------------------

/// Body of `POST /v1/calls/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(utoipa::ToSchema)]
pub struct BatchRequest {
    pub call_ids: Vec<String>,
}

/// Body of `POST /v1/calls/{id}/transcript`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(utoipa::ToSchema)]
pub struct TranscriptAppend {
    pub entries: Vec<TranscriptEntry>,
}

/// Body of `POST /v1/calls/{id}/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(utoipa::ToSchema)]
pub struct EventsAppend {
    pub events: Vec<EventDraft>,
}

/// Query string of `GET /v1/calls`. Every value arrives as text and is parsed here, so each
/// error names its parameter.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    agent_id: Option<String>,
    campaign_id: Option<String>,
    /// One status or several separated by commas.
    status: Option<String>,
    /// One kind or several separated by commas (seed 003's name for `kind`).
    call_type: Option<String>,
    search: Option<String>,
    /// From 1.
    page: Option<String>,
    limit: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// `field` or `field:asc|desc`.
    sort: Option<String>,
    cursor: Option<String>,
    /// Full-text search over every transcript line; switches the list to the search index.
    q: Option<String>,
}

/// A parsed list request with the paging figures the answer echoes.
#[derive(Debug)]
pub struct ListRequest {
    pub query: ListCalls,
    pub page: Option<u64>,
    pub limit: u32,
    /// Set when `q` asks for full-text search: the same list as a search of the index.
    pub search: Option<SearchRequest>,
}

fn parse_list<T: std::str::FromStr>(
    parameter: &str,
    value: Option<String>,
) -> Result<Vec<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    non_empty(value)
        .iter()
        .flat_map(|text| text.split(','))
        .map(|part| part.trim().parse().map_err(|e| invalid(parameter, e)))
        .collect()
}

fn parse_sort(value: Option<String>) -> Result<(SortField, SortOrder), ApiError> {
    let Some(text) = non_empty(value) else {
        return Ok((SortField::default(), SortOrder::default()));
    };
    let (name, order) = text.split_once(':').unwrap_or((text.as_str(), "desc"));
    let order = match order {
        "asc" => SortOrder::Asc,
        "desc" => SortOrder::Desc,
        other => {
            return Err(invalid(
                "sort",
                format!("order `{other}` is neither asc nor desc"),
            ));
        }
    };
    Ok((SortField::parse(name.trim())?, order))
}

impl ListParams {
    /// Parses and checks every parameter.
    pub fn into_request(self, limits: &Limits) -> Result<ListRequest, ApiError> {
        let limit = page_size("limit", self.limit, DEFAULT_LIMIT, limits)?;
        let page = parse_number("page", self.page, 1..=u64::MAX / u64::from(limit))?;
        if let Some(page) = page {
            within_window(
                "page",
                (page - 1) * u64::from(limit),
                limit,
                limits,
                "page deeper with `cursor`",
            )?;
        }
        let (sort, order) = parse_sort(self.sort)?;
        let from = parse_time("from", self.from)?;
        let to = parse_time("to", self.to)?;
        if let (Some(from), Some(to)) = (from, to)
            && from.start() >= to.end_exclusive()
        {
            return Err(invalid("from", "is after `to`; the range is empty"));
        }
        let paging = match (non_empty(self.cursor), page) {
            (Some(_), Some(_)) => {
                return Err(invalid("cursor", "use either `page` or `cursor`, not both"));
            }
            (Some(cursor), None) => Paging::After {
                cursor: Cursor::decode(&cursor)?,
                limit,
            },
            (None, page) => {
                let page = page.unwrap_or(1);
                Paging::Offset {
                    offset: (page - 1) * u64::from(limit),
                    limit,
                }
            }
        };
        let page = match paging {
            Paging::Offset { offset, limit } => Some(offset / u64::from(limit) + 1),
            Paging::After { .. } => None,
        };
        let text = non_empty(self.q);
        let query = ListCalls {
            agent_id: non_empty(self.agent_id),
            campaign_id: non_empty(self.campaign_id),
            statuses: parse_list("status", self.status)?,
            kinds: parse_list("call_type", self.call_type)?,
            search: non_empty(self.search).map(|text| text.trim().to_owned()),
            created_from: from.map(|bound| bound.start()),
            created_before: to.map(|bound| bound.end_exclusive()),
            sort,
            order,
            paging,
        };
        let search = text.map(|text| list_as_search(&query, text)).transpose()?;
        Ok(ListRequest {
            query,
            page,
            limit,
            search,
        })
    }
}

/// A list with `q` as a search: the filters become exact clauses beside a `match` on the
/// transcript. Substring `search` and cursors have no index equivalent and are refused.
fn list_as_search(list: &ListCalls, text: String) -> Result<SearchRequest, ApiError> {
    if list.search.is_some() {
        return Err(invalid(
            "search",
            "cannot be combined with `q`; use POST /v1/calls/query",
        ));
    }
    let Paging::Offset { offset, limit } = list.paging else {
        return Err(invalid(
            "cursor",
            "cannot be combined with `q`; page with `page`",
        ));
    };
    let field = |name: &str| resolve(Surface::Native, name).map_err(ApiError::from);
    let term = |name: &str, value: &str| -> Result<Query, ApiError> {
        Ok(Query::Term {
            field: field(name)?,
            value: Scalar::Str(value.to_owned()),
        })
    };
    let terms = |name: &str, values: Vec<&str>| -> Result<Query, ApiError> {
        let values = values
            .into_iter()
            .map(|v| Scalar::Str(v.to_owned()))
            .collect();
        Ok(Query::Terms {
            field: field(name)?,
            values,
        })
    };
    let mut filter = Vec::new();
    if let Some(agent) = &list.agent_id {
        filter.push(term("agent.id", agent)?);
    }
    if let Some(campaign) = &list.campaign_id {
        filter.push(term("campaign_id", campaign)?);
    }
    if !list.statuses.is_empty() {
        filter.push(terms(
            "status",
            list.statuses.iter().map(|s| s.as_str()).collect(),
        )?);
    }
    if !list.kinds.is_empty() {
        filter.push(terms(
            "kind",
            list.kinds.iter().map(|k| k.as_str()).collect(),
        )?);
    }
    if list.created_from.is_some() || list.created_before.is_some() {
        let range = RangeBounds {
            gte: list.created_from.map(Scalar::Date),
            lt: list.created_before.map(Scalar::Date),
            ..RangeBounds::default()
        };
        filter.push(Query::Range {
            field: field("created_at")?,
            range,
        });
    }
    let must = vec![Query::Match {
        field: field("transcript.text")?,
        text,
        operator: Operator::Or,
    }];
    Ok(SearchRequest {
        query: Query::Bool(BoolQuery {
            must,
            filter,
            ..BoolQuery::default()
        }),
        sort: vec![SortKey {
            field: field(list.sort.name())?,
            descending: list.order == SortOrder::Desc,
        }],
        offset,
        limit,
        search_after: None,
        aggs: Aggregations::new(),
        // The list's `total` is a count, as without `q`.
        track_total_hits: TrackTotalHits::Exact,
        highlight: None,
    })
}

/// Body of `POST /v1/calls/query`: Elasticsearch's search body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(utoipa::ToSchema)]
pub struct QueryBody {
    #[serde(default)]
    query: Option<Value>,
    #[serde(default)]
    sort: Option<Value>,
    #[serde(default, alias = "_source")]
    fields: Option<Value>,
    #[serde(default)]
    size: Option<u32>,
    #[serde(default)]
    from: Option<u64>,
    #[serde(default)]
    search_after: Option<Value>,
    #[serde(default, alias = "aggregations")]
    aggs: Option<Value>,
    /// Elasticsearch's: `true` counts every match, a number counts up to it, `false` counts
    /// none; by default up to 10,000. Beyond the bound `total_relation` is `gte`.
    #[serde(default)]
    track_total_hits: Option<Value>,
    /// Elasticsearch's `highlight`: the matching words of text fields, per returned call.
    #[serde(default)]
    highlight: Option<Value>,
}

/// A parsed query body: the search and the projection of its answer.
#[derive(Debug)]
pub struct QueryRequest {
    pub search: SearchRequest,
    pub fields: Vec<String>,
}

impl QueryBody {
    /// Parses every part against the native catalogue.
    pub fn into_request(self, limits: &Limits) -> Result<QueryRequest, ApiError> {
        let size = within_page_size("size", self.size.unwrap_or(DEFAULT_LIMIT), limits)?;
        let track_total_hits = match &self.track_total_hits {
            None => TrackTotalHits::DEFAULT,
            Some(Value::Bool(true)) => TrackTotalHits::Exact,
            Some(Value::Bool(false)) => TrackTotalHits::UpTo(0),
            Some(track) => track.as_u64().map(TrackTotalHits::UpTo).ok_or_else(|| {
                invalid(
                    "track_total_hits",
                    format!("expected true, false or a count, got {track}"),
                )
            })?,
        };

        let query = match &self.query {
            Some(query) => {
                parse_query(Surface::Native, query, limits).map_err(|e| invalid("query", e))?
            }
            None => Query::MatchAll,
        };
        let sort = match &self.sort {
            Some(sort) => parse_sort_json(Surface::Native, sort).map_err(|e| invalid("sort", e))?,
            None => Vec::new(),
        };
        let aggs = match &self.aggs {
            Some(aggs) => {
                parse_aggs(Surface::Native, aggs, limits).map_err(|e| invalid("aggs", e))?
            }
            None => Aggregations::new(),
        };
        let fields = match &self.fields {
            Some(fields) => parse_fields(fields, limits).map_err(|e| invalid("fields", e))?,
            None => Vec::new(),
        };
        let search_after = self
            .search_after
            .as_ref()
            .map(|values| search_after(&sort, values))
            .transpose()?;
        let highlight = self
            .highlight
            .as_ref()
            .map(|json| parse_highlight(Surface::Native, json).map_err(|e| invalid("highlight", e)))
            .transpose()?;
        if search_after.is_some() && self.from.is_some_and(|from| from > 0) {
            return Err(invalid(
                "search_after",
                "cannot be combined with `from`; it replaces it",
            ));
        }
        let search = SearchRequest {
            query,
            sort,
            offset: self.from.unwrap_or(0),
            limit: size,
            search_after,
            aggs,
            track_total_hits,
            highlight,
        };
        Ok(QueryRequest { search, fields })
    }
}

/// Reads `search_after`: the `sort` array of the last call of the previous page (one value
/// per sort key, `null` where the call had none, then its id).
fn search_after(sort: &[SortKey], values: &Value) -> Result<SearchAfter, ApiError> {
    let refuse = |why: String| invalid("search_after", why);
    let Value::Array(values) = values else {
        return Err(refuse(
            "must be the `sort` array of the last call of the previous page".into(),
        ));
    };
    if sort.is_empty() || values.len() != sort.len() + 1 {
        return Err(refuse(format!(
            "needs an explicit sort and {} values (one per sort key, then the id), got {}",
            sort.len() + 1,
            values.len()
        )));
    }
    let Some(Value::String(id)) = values.last() else {
        return Err(refuse("must end with the call id".into()));
    };
    let typed = sort
        .iter()
        .zip(values)
        .map(|(key, value)| {
            SearchAfter::typed(key, value)
                .ok_or_else(|| refuse(format!("{value} does not fit `{}`", key.field.path)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SearchAfter {
        values: typed,
        id: id.clone(),
    })
}

/// The answer of `POST /v1/calls/query`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueryView {
    total: u64,
    /// `eq` when `total` is the count, `gte` when counting stopped at `track_total_hits`.
    total_relation: &'static str,
    from: u64,
    size: u32,
    calls: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregations: Option<Value>,
}

impl QueryView {
    pub fn new(result: &SearchResult, request: &QueryRequest) -> Self {
        let sorted = !request.search.sort.is_empty();
        let calls = result
            .calls
            .iter()
            .map(|call| {
                let view = serde_json::to_value(CallView::new(call)).unwrap_or_default();
                let mut view = project(&view, &request.fields);
                // The position to pass back as `search_after` to continue after this call.
                if let (true, Some(values), Value::Object(fields)) =
                    (sorted, result.positions.get(&call.id), &mut view)
                {
                    let mut position = values.clone();
                    position.push(Value::String(call.id.clone()));
                    fields.insert("sort".into(), Value::Array(position));
                }
                if let (Some(marked), Value::Object(fields)) =
                    (result.highlights.get(&call.id), &mut view)
                {
                    fields.insert("highlight".into(), serde_json::json!(marked));
                }
                view
            })
            .collect();
        Self {
            total: result.total,
            total_relation: result.total_relation.as_str(),
            from: request.search.offset,
            size: request.search.limit,
            calls,
            aggregations: result.aggregations.clone(),
        }
    }
}

// ---- lifecycle -----------------------------------------------------------------------------

/// A transfer attempt: seed 002's transfer object, plus the routing fields (`chain_id`,
/// `attempt`, `targets`, `fallback`, `fallback_applied_at`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct TransferView<'a>(&'a Transfer);

impl<'a> TransferView<'a> {
    pub fn new(transfer: &'a Transfer) -> Self {
        Self(transfer)
    }
}

/// A transfer attempt with its chain, as seed 002's create and status answers show it:
/// `routing_attempts` are the chain's earlier attempts, `next_transfer` the one that follows
/// this attempt (created when it failed with targets left).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransferStateView<'a> {
    #[serde(flatten)]
    transfer: TransferView<'a>,
    routing_attempts: Vec<TransferView<'a>>,
    next_transfer: Option<TransferView<'a>>,
}

impl<'a> TransferStateView<'a> {
    /// `transfer` within `chain` (every attempt of the call); `next` overrides the lookup of
    /// the following attempt.
    pub fn new(transfer: &'a Transfer, chain: &'a [Transfer], next: Option<&'a Transfer>) -> Self {
        let same_chain = |t: &&Transfer| t.chain_id == transfer.chain_id;
        let routing_attempts = chain
            .iter()
            .filter(same_chain)
            .filter(|t| t.attempt < transfer.attempt)
            .map(TransferView::new)
            .collect();
        let next = next.or_else(|| {
            chain
                .iter()
                .filter(same_chain)
                .find(|t| t.attempt == transfer.attempt + 1)
        });
        Self {
            transfer: TransferView::new(transfer),
            routing_attempts,
            next_transfer: next.map(TransferView::new),
        }
    }
}

/// A webhook endpoint; the secret only right after it was made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView<'a> {
    id: &'a str,
    organization_id: &'a str,
    url: &'a str,
    events: &'a [WebhookEvent],
    description: Option<&'a str>,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    /// Until when the secret before the last rotation still signs deliveries.
    previous_secret_expires_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl<'a> EndpointView<'a> {
    pub fn new(endpoint: &'a WebhookEndpoint) -> Self {
        Self {
            id: &endpoint.id,
            organization_id: &endpoint.organization_id,
            url: &endpoint.url,
            events: &endpoint.events,
            description: endpoint.description.as_deref(),
            enabled: endpoint.enabled,
            secret: None,
            previous_secret_expires_at: endpoint.previous_secret_expires_at,
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }

    pub fn with_secret(endpoint: &'a WebhookEndpoint) -> Self {
        Self {
            secret: Some(&endpoint.secret),
            ..Self::new(endpoint)
        }
    }
}

/// One attempt in a delivery's log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AttemptView<'a> {
    number: u32,
    at: Timestamp,
    status_code: Option<u16>,
    error: Option<&'a str>,
    duration_ms: u64,
}

/// A delivery with its attempts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView<'a> {
    id: &'a str,
    event_id: &'a str,
    endpoint_id: &'a str,
    event: WebhookEvent,
    subject_id: &'a str,
    status: DeliveryStatus,
    attempts: u32,
    next_attempt_at: Option<Timestamp>,
    last_status_code: Option<u16>,
    last_error: Option<&'a str>,
    redelivery_of: Option<&'a str>,
    created_at: Timestamp,
    delivered_at: Option<Timestamp>,
    log: Vec<AttemptView<'a>>,
}

impl<'a> DeliveryView<'a> {
    pub fn new(delivery: &'a Delivery) -> Self {
        Self {
            id: &delivery.id,
            event_id: &delivery.event_id,
            endpoint_id: &delivery.endpoint_id,
            event: delivery.event,
            subject_id: &delivery.subject_id,
            status: delivery.status,
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            last_status_code: delivery.last_status_code,
            last_error: delivery.last_error.as_deref(),
            redelivery_of: delivery.redelivery_of.as_deref(),
            created_at: delivery.created_at,
            delivered_at: delivery.delivered_at,
            log: delivery
                .log
                .iter()
                .map(|a| AttemptView {
                    number: a.number,
                    at: a.at,
                    status_code: a.status_code,
                    error: a.error.as_deref(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

/// `PUT /v1/agents/{agent_id}/analysis`.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSettingsBody {
    pub extractors: Vec<Extractor>,
}

/// `PATCH /v1/organization`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationBody {
    #[serde(default)]
    pub public_recordings: Option<bool>,
    /// Absent leaves it; `null` clears it (the server's default applies); days set it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 36500)]
    pub retention_days: Option<Option<u32>>,
    /// What is masked at ingest from now on (`{"kinds": [...], "patterns": [...],
    /// "mask_call_numbers": false}`); replaces the whole setting.
    #[serde(default)]
    pub redaction: Option<callscope_redact::RedactionSettings>,
}

/// A field that may be absent (`None`, by `default`) or present, `null` included.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Query string of a secret rotation.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RotateParams {
    /// How long the old secret keeps signing beside the new one, in seconds: 0 to
    /// 2,592,000 (30 days); 86,400 when absent.
    #[param(value_type = Option<u32>, maximum = 2592000)]
    grace_seconds: Option<String>,
}

/// How long a rotated-out secret keeps signing when the request does not say.
const DEFAULT_GRACE_SECONDS: i64 = 24 * 3600;
/// Longest grace period: 30 days.
const MAX_GRACE_SECONDS: i64 = 30 * 24 * 3600;

impl RotateParams {
    pub fn grace_ms(&self) -> Result<i64, ApiError> {
        let seconds = parse_number(
            "grace_seconds",
            self.grace_seconds.clone(),
            0..=MAX_GRACE_SECONDS,
        )?
        .unwrap_or(DEFAULT_GRACE_SECONDS);
        Ok(seconds * 1000)
    }
}

/// Query string of a delivery listing.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesParams {
    /// Most deliveries to list, newest first.
    #[param(value_type = Option<u32>, minimum = 1)]
    limit: Option<String>,
}

impl DeliveriesParams {
    pub fn limit(&self, limits: &Limits) -> Result<usize, ApiError> {
        let limit = page_size("limit", self.limit.clone(), 50, limits)?;
        Ok(usize::try_from(limit).unwrap_or(usize::MAX))
    }
}

/// Query string of every write: `refresh=wait_for` (or `true`) answers only once the write
/// is searchable, for scripts and tests that search right after writing.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WriteParams {
    /// `wait_for` (or `true`): answer once the write is searchable; `false` (the default):
    /// answer once it is durable.
    #[param(value_type = Option<String>, pattern = "^(wait_for|true|false)$")]
    refresh: Option<String>,
}

impl WriteParams {
    /// Whether the answer must wait for the index.
    pub fn wait_for_index(&self) -> Result<bool, ApiError> {
        match self.refresh.as_deref() {
            None | Some("false") => Ok(false),
            Some("wait_for" | "true") => Ok(true),
            Some(other) => Err(invalid(
                "refresh",
                format!("`{other}` is not one of wait_for, true, false"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Result<ListRequest, ApiError> {
        let query: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let parsed: ListParams = serde_urlencoded_from(&query);
        parsed.into_request(&Limits::default())
    }

    fn serde_urlencoded_from(query: &str) -> ListParams {
        let mut map = serde_json::Map::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(k.to_owned(), Value::String(v.to_owned()));
        }
        serde_json::from_value(Value::Object(map)).unwrap_or_default()
    }

    fn message(result: Result<ListRequest, ApiError>) -> String {
        match result {
            Err(ApiError::InvalidParameter(message)) => message,
            other => panic!("expected INVALID_PARAMETER, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_page_one_of_ten_newest_first() {
        let Ok(request) = params(&[]) else { panic!() };
        assert_eq!(request.limit, 10);
        assert_eq!(request.page, Some(1));
        assert_eq!(request.query.sort, SortField::CreatedAt);
        assert_eq!(request.query.order, SortOrder::Desc);
    }

    #[test]
    fn a_plain_date_as_to_covers_that_day() {
        let Ok(request) = params(&[("from", "2020-08-20"), ("to", "2020-08-20")]) else {
            panic!()
        };
        let (Some(from), Some(before)) = (request.query.created_from, request.query.created_before)
        else {
            panic!()
        };
        assert_eq!(before.as_millis() - from.as_millis(), 86_400_000);
    }

    #[test]
    fn each_bad_parameter_is_named() {
        assert!(message(params(&[("limit", "0")])).starts_with("limit:"));
        assert!(message(params(&[("limit", "1001")])).starts_with("limit:"));
        assert!(message(params(&[("page", "0")])).starts_with("page:"));
        assert!(message(params(&[("page", "two")])).starts_with("page:"));
        assert!(message(params(&[("status", "done")])).starts_with("status:"));
        assert!(message(params(&[("call_type", "fax")])).starts_with("call_type:"));
        assert!(message(params(&[("from", "soon")])).starts_with("from:"));
        assert!(message(params(&[("sort", "colour:asc")])).starts_with("sort:"));
        assert!(message(params(&[("sort", "created_at:up")])).starts_with("sort:"));
        assert!(message(params(&[("cursor", "zz")])).starts_with("cursor:"));
        assert!(
            message(params(&[("from", "2024-02-01"), ("to", "2024-01-01")])).starts_with("from:")
        );
    }

    #[test]
    fn status_and_call_type_take_comma_separated_lists() {
        let Ok(request) = params(&[("status", "completed,no_answer"), ("call_type", "chat")])
        else {
            panic!()
        };
        assert_eq!(
            request.query.statuses,
            [CallStatus::Completed, CallStatus::NoAnswer]
        );
        assert_eq!(request.query.kinds, [CallKind::Chat]);
    }

    #[test]
    fn durations_render_as_whole_or_fractional_seconds() {
        assert_eq!(seconds(125_000).to_string(), "125");
        assert_eq!(seconds(27_500).to_string(), "27.5");
    }
}
