//! `GET /calls`: the call log. Filters, full-text search with the matching words marked,
//! the advanced bool query, sortable columns and keyset paging, all in the URL.

use super::layout::{self, Section};
use super::search::{CallFilters, SORTS};
use super::{PageError, PageQuery, Viewer};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::State;
use axum::response::Response;
use callscope_model::{Call, CallKind, CallStatus, Direction, OUTCOMES, Scope, Sentiment};
use maud::{Markup, PreEscaped, html};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Calls per page of the table.
const PAGE_SIZE: u32 = 50;
/// How long the lists of agents, campaigns and tags offered as filters are reused.
const FACETS_TTL: Duration = Duration::from_secs(60);
/// Values offered per facet.
const FACET_SIZE: u32 = 200;

/// The calls page: filters, search and a table of calls.
///
/// The filters, the sort and the page are all in the URL, so a view can be bookmarked or
/// shared. A query the search refuses (a bad date, a malformed advanced query) is shown on
/// the page under the filters. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/calls",
    tag = "dashboard",
    operation_id = "dashboard_calls",
    security(("session" = [])),
    params(CallFilters),
    responses(
        (status = 200, description = "The calls page", content_type = "text/html", body = String),
        (status = 400, description = "An unknown or malformed query parameter, named on a page", content_type = "text/html", body = String),
        (status = 403, description = "The session's key lacks the `read` scope", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(filters): PageQuery<CallFilters>,
) -> Result<Response, PageError> {
    viewer.require(Scope::Read)?;
    let facets = state.facets.facets(&state, viewer.organization()).await?;
    let search = async {
        let request = filters.page_request(PAGE_SIZE, &state.config.limits)?;
        state.search(viewer.organization(), &request.search).await
    };
    // A refused view is shown inline, under the filters that made it.
    let results = match search.await {
        Ok(result) => Ok(result),
        Err(ApiError::InvalidParameter(message)) => Err(message),
        Err(other) => return Err(other.into()),
    };
    let body = html! {
        h1 { "Calls" }
        (filter_form(&filters, &facets, "/calls"))
        @match &results {
            Err(message) => {
                p #query-error .error role="alert" { "The query was refused: " (message) }
            }
            Ok(result) => (table(&filters, result))
        }
    };
    Ok(layout::page(&viewer, Section::Calls, "Calls", &body))
}

/// The filters of a view, submitted to `action` (the calls page or analytics).
pub(crate) fn filter_form(filters: &CallFilters, facets: &Facets, action: &str) -> Markup {
    let select = |name: &str, label: &str, current: &str, options: &[(String, String)]| {
        html! {
            div .field {
                label for=(name) { (label) }
                select #(name) name=(name) {
                    option value="" { "Any" }
                    @for (value, text) in options {
                        option value=(value) selected[value == current] { (text) }
                    }
                    @if !current.is_empty() && !options.iter().any(|(value, _)| value == current) {
                        option value=(current) selected { (current) }
                    }
                }
            }
        }
    };
    let names = |values: &[&str]| {
        values
            .iter()
            .map(|value| ((*value).to_owned(), value.replace('_', " ")))
            .collect::<Vec<_>>()
    };
    let statuses = names(
        &CallStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    );
    let kinds = names(&CallKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>());
    let directions = names(
        &Direction::ALL
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>(),
    );
    let sentiments = names(
        &Sentiment::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    );
    let outcomes = names(OUTCOMES);
    html! {
        form #filters .filters method="get" action=(action) role="search" aria-label="Filter calls" {
            div .field .wide {
                label for="q" { "Transcript contains" }
                input #q type="search" name="q" value=(filters.q) placeholder="refund, cancel my appointment…";
            }
            div .field {
                label for="from" { "From date" }
                input #from type="date" name="from" value=(filters.from);
            }
            div .field {
                label for="to" { "To date" }
                input #to type="date" name="to" value=(filters.to);
            }
            (select("agent", "Agent", &filters.agent, &facets.agents))
            (select("campaign", "Campaign", &filters.campaign, &facets.campaigns))
            (select("status", "Status", &filters.status, &statuses))
            (select("call_type", "Call type", &filters.call_type, &kinds))
            (select("direction", "Direction", &filters.direction, &directions))
            (select("outcome", "Outcome", &filters.outcome, &outcomes))
            (select("sentiment", "Sentiment", &filters.sentiment, &sentiments))
            (select("tag", "Tag", &filters.tag, &facets.tags))
            details .field .wide open[!filters.advanced.is_empty()] {
                summary { "Advanced query" }
                label for="advanced" { "Bool query (the " code { "filter_by" } " JSON), combined with the filters above" }
                textarea #advanced name="advanced" rows="3" spellcheck="false"
                    placeholder=r#"{"must": [{"range": {"duration_ms": {"gte": 60000}}}]}"# { (filters.advanced) }
            }
            input type="hidden" name="sort" value=(filters.sort);
            input type="hidden" name="order" value=(filters.order);
            div .actions {
                button type="submit" { "Apply" }
                a href=(action) { "Clear" }
            }
        }
    }
}

fn table(filters: &CallFilters, result: &callscope_store::SearchResult) -> Markup {
    let page = filters.page.unwrap_or(1).max(1);
    let first = u64::from(page - 1) * u64::from(PAGE_SIZE) + 1;
    let last = first + result.calls.len() as u64 - 1;
    let total = match result.total_relation {
        callscope_query::TotalRelation::Equal => format!("{}", result.total),
        callscope_query::TotalRelation::AtLeast => format!("{}+", result.total),
    };
    let export = layout::query_string(filters.view_pairs());
    let next = result.calls.last().and_then(|call| {
        let mut position = result.positions.get(&call.id)?.clone();
        position.push(Value::String(call.id.clone()));
        Some(position)
    });
    let (sort_name, _, ascending) = filters.sort().unwrap_or(("started", "started_at", false));
    html! {
        div .summary-bar {
            p #result-count aria-live="polite" {
                @if result.calls.is_empty() { "No calls match." }
                @else { "Calls " (first) "–" (last) " of " span #total { (total) } }
            }
            p .exports {
                "Export this view: "
                a #export-csv href={ "/calls.csv" (export) } download { "CSV" }
                " · "
                a #export-ndjson href={ "/calls.ndjson" (export) } download { "NDJSON" }
            }
        }
        div .table-wrap {
            table #calls {
                caption .visually-hidden { "Calls, sorted by " (sort_name) }
                thead { tr {
                    @for (name, _, label) in SORTS {
                        @let current = *name == sort_name;
                        @let order = if current && !ascending { "asc" } else { "desc" };
                        th scope="col" aria-sort=[current.then_some(if ascending { "ascending" } else { "descending" })] {
                            a href={ "/calls" (link(filters.pairs(), [("sort", *name), ("order", order)])) } { (label)
                                @if current { span aria-hidden="true" { (if ascending { " ▲" } else { " ▼" }) } }
                            }
                        }
                    }
                } }
                tbody {
                    @for call in &result.calls {
                        (row(call, result.highlights.get(&call.id)))
                    }
                }
            }
        }
        nav .pager aria-label="Pages" {
            @if page > 1 {
                a href={ "/calls" (layout::query_string(filters.view_pairs())) } { "← First page" }
            }
            @if let Some(next) = next.filter(|_| last < result.total || result.total_relation == callscope_query::TotalRelation::AtLeast) {
                @let position = json!(next).to_string();
                @let page_text = (page + 1).to_string();
                a #next-page rel="next" href={ "/calls" (link(filters.view_pairs(), [("after", position.as_str()), ("page", page_text.as_str())])) } { "Next page →" }
            }
        }
    }
}

/// The query string of `pairs` with `extra` after them.
fn link<'a>(mut pairs: Vec<(&'a str, &'a str)>, extra: [(&'a str, &'a str); 2]) -> String {
    pairs.extend(extra);
    layout::query_string(pairs)
}

fn row(
    call: &Call,
    highlights: Option<&std::collections::BTreeMap<String, Vec<String>>>,
) -> Markup {
    let href = format!("/calls/{}", layout::encode_component(&call.id));
    let agent = layout::agent_label(&call.agent);
    let analysis = call.analysis.as_ref();
    let snippet = highlights
        .and_then(|fields| fields.get("transcript.text"))
        .and_then(|fragments| fragments.first());
    html! {
        tr {
            td { a href=(href) { @if let Some(at) = call.started_at.or(Some(call.created_at)) { (layout::time(at)) } } }
            td { (agent) }
            td { (call.direction.map_or("—", |d| d.as_str())) }
            td .numbers { (call.from_number.as_deref().unwrap_or("—")) " → " (call.to_number.as_deref().unwrap_or("—")) }
            td .num { (call.duration_ms.map(layout::clock).unwrap_or_else(|| "—".into())) }
            td { (layout::badge("status", call.status.as_str())) }
            td { @if let Some(outcome) = analysis.and_then(|a| a.outcome.as_deref()) { (layout::badge("outcome", outcome)) } @else { "—" } }
            td { @if let Some(sentiment) = analysis.and_then(|a| a.sentiment) { (layout::badge("sentiment", sentiment.as_str())) } @else { "—" } }
            td .num { (call.cost.as_ref().and_then(|c| c.total_micro_usd).map(layout::usd).unwrap_or_else(|| "—".into())) }
        }
        @if let Some(snippet) = snippet {
            // The fragment was HTML-escaped by the highlighter (`encoder: html`); only its
            // own <mark> tags are markup.
            tr .snippet { td colspan=(SORTS.len()) { "“" (PreEscaped(snippet)) "”" } }
        }
    }
}

/// The values offered in the filter lists of one organization.
#[derive(Debug, Default)]
pub(crate) struct Facets {
    /// (value, label) pairs: agents by id, labelled with their name.
    pub agents: Vec<(String, String)>,
    campaigns: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

/// The facets of each organization, reused for a minute: the lists are an aggregation over
/// every call, and the calls page should cost one search, not four.
#[derive(Debug, Default)]
pub(crate) struct FacetCache {
    by_organization: Mutex<HashMap<String, (Instant, Arc<Facets>)>>,
}

impl FacetCache {
    pub(crate) async fn facets(
        &self,
        state: &AppState,
        organization: &str,
    ) -> Result<Arc<Facets>, ApiError> {
        if let Ok(cache) = self.by_organization.lock()
            && let Some((at, facets)) = cache.get(organization)
            && at.elapsed() < FACETS_TTL
        {
            return Ok(Arc::clone(facets));
        }
        let terms = |field: &str| json!({"terms": {"field": field, "size": FACET_SIZE}});
        let body = json!({
            "size": 0,
            "track_total_hits": false,
            "aggs": {
                "agents": {
                    "terms": {"field": "agent.id", "size": FACET_SIZE},
                    "aggs": {"name": {"terms": {"field": "agent.name", "size": 1}}},
                },
                "campaigns": terms("campaign_id"),
                "tags": terms("tags_list.tag"),
            },
        });
        let request = super::search::parse(body, &state.config.limits)?;
        let result = state.search(organization, &request.search).await?;
        // Each bucket's key, labelled with its first sub-bucket's key when it has one (an
        // agent's name), sorted by label.
        let keys = |name: &str| -> Vec<(String, String)> {
            let buckets = result
                .aggregations
                .as_ref()
                .and_then(|aggs| aggs[name]["buckets"].as_array());
            let mut keys: Vec<(String, String)> = buckets
                .into_iter()
                .flatten()
                .filter_map(|bucket| {
                    let key = bucket["key"].as_str()?.to_owned();
                    let label = bucket["name"]["buckets"][0]["key"]
                        .as_str()
                        .map_or_else(|| key.clone(), str::to_owned);
                    Some((key, label))
                })
                .collect();
            keys.sort_unstable_by(|a, b| a.1.cmp(&b.1));
            keys
        };
        let facets = Arc::new(Facets {
            agents: keys("agents"),
            campaigns: keys("campaigns"),
            tags: keys("tags"),
        });
        if let Ok(mut cache) = self.by_organization.lock() {
            cache.insert(
                organization.to_owned(),
                (Instant::now(), Arc::clone(&facets)),
            );
        }
        Ok(facets)
    }
}
