//! `GET /analytics`: the trends of the chosen date range and filters, drawn from one
//! aggregation query (shown on the page, so the same numbers can be asked of the API) and a
//! search for the slowest calls. Each chart is an SVG drawn here, with a tooltip per bar and
//! its numbers as a table beside it.

use super::layout::{self, Section};
use super::search::CallFilters;
use super::{PageError, PageQuery, Viewer};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use callscope_model::{CostComponent, MicroUsd, Scope, Timestamp, TransferStatus};
use maud::{Markup, html};
use serde_json::{Value, json};

/// Days shown when the filters name no date.
const DEFAULT_DAYS: i64 = 30;
/// Width of a duration bucket, in milliseconds.
const DURATION_BUCKET_MS: u64 = 30_000;
/// The latency stages charted per agent: (label, field of the call's per-stage average).
const STAGES: &[(&str, &str)] = &[
    ("transcriber", "metrics.transcriber_latency_ms.avg"),
    ("agent", "metrics.agent_latency_ms.avg"),
    ("synthesizer", "metrics.synthesizer_latency_ms.avg"),
];

/// The cost components charted per day, as `CostComponent` names them; each has its
/// `cost.<component>_micro_usd` field and its `cost_<component>` sum in a day's bucket.
const COMPONENTS: [CostComponent; 5] = [
    CostComponent::Stt,
    CostComponent::Llm,
    CostComponent::Tts,
    CostComponent::Telephony,
    CostComponent::Platform,
];
/// How a transfer ended, as `transfer.status` says: success first, then the failures.
const TRANSFER_ENDS: [TransferStatus; 3] = [
    TransferStatus::Completed,
    TransferStatus::Failed,
    TransferStatus::Canceled,
];

/// The aggregations of the page, as `POST /v1/calls/query` takes them.
pub(crate) fn request_body(filters: &CallFilters) -> Result<Value, crate::error::ApiError> {
    let latency: serde_json::Map<String, Value> = STAGES
        .iter()
        .map(|(name, field)| {
            (
                (*name).to_owned(),
                json!({"percentiles": {"field": field, "percents": [50, 95]}}),
            )
        })
        .collect();
    let mut per_day = json!({
        "status": {"terms": {"field": "status", "size": 10}},
        "sentiment": {"terms": {"field": "analysis.sentiment", "size": 10}},
        "transfer": {"terms": {"field": "transfer.status", "size": 10}},
    });
    for component in COMPONENTS {
        per_day[format!("cost_{component}")] =
            json!({"sum": {"field": format!("cost.{component}_micro_usd")}});
    }
    Ok(json!({
        "query": filters.query()?,
        "size": 0,
        "track_total_hits": true,
        "aggs": {
            "per_day": {
                "date_histogram": {"field": "started_at", "calendar_interval": "day"},
                "aggs": per_day,
            },
            "duration": {"histogram": {"field": "duration_ms", "interval": DURATION_BUCKET_MS}},
            "outcomes": {"terms": {"field": "analysis.outcome", "size": 30}},
            "agents": {"terms": {"field": "agent.id", "size": 25}, "aggs": latency},
            "tags": {"terms": {"field": "tags_list.tag", "size": 15}},
            "parameters": {"terms": {"field": "params_list.name", "size": 15}},
        },
    }))
}

/// The search for the calls whose slowest turns were slowest.
fn slowest_body(filters: &CallFilters) -> Result<Value, crate::error::ApiError> {
    Ok(json!({
        "query": {"bool": {
            "filter": [filters.query()?, {"exists": {"field": "metrics.end_to_end_latency_ms.p99"}}],
        }},
        "sort": [{"metrics.end_to_end_latency_ms.p99": "desc"}],
        "size": 10,
        "track_total_hits": false,
    }))
}

/// The analytics page: the trends of a date range and filters, charted.
///
/// Calls and sentiment per day, durations, outcomes, cost per component, latency per agent,
/// transfers, tags and collected parameters, from one aggregation query shown on the page
/// (so the same numbers can be asked of the API), and the calls with the slowest turns. The
/// last 30 days when no date is given. Needs the `read` scope.
#[utoipa::path(
    get,
    path = "/analytics",
    tag = "dashboard",
    operation_id = "dashboard_analytics",
    security(("session" = [])),
    params(CallFilters),
    responses(
        (status = 200, description = "The analytics page", content_type = "text/html", body = String),
        (status = 400, description = "An unknown or malformed query parameter, or filters the search refuses, named on a page", content_type = "text/html", body = String),
        (status = 403, description = "The session's key lacks the `read` scope", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(mut filters): PageQuery<CallFilters>,
) -> Result<Response, PageError> {
    viewer.require(Scope::Read)?;
    if filters.from.trim().is_empty() && filters.to.trim().is_empty() {
        let from = Timestamp::now().plus_millis(-(DEFAULT_DAYS - 1) * 86_400_000);
        filters.from = from.date().to_string();
    }
    let facets = state.facets.facets(&state, viewer.organization()).await?;
    let body_json = request_body(&filters)?;
    let limits = &state.config.limits;
    let aggs_request = super::search::parse(body_json.clone(), limits)?;
    let slowest_request = super::search::parse(slowest_body(&filters)?, limits)?;
    let (answer, slowest) = tokio::try_join!(
        state.search(viewer.organization(), &aggs_request.search),
        state.search(viewer.organization(), &slowest_request.search),
    )?;
    let aggs = answer.aggregations.clone().unwrap_or(Value::Null);
    let body = html! {
        h1 { "Analytics" }
        (super::calls::filter_form(&filters, &facets, "/analytics"))
        p #analytics-total { (answer.total) " calls from " (filters.from) @if !filters.to.is_empty() { " to " (filters.to) } }
        div .charts {
            (per_day_chart(&aggs, "status", "calls-per-day", "Calls per day by status"))
            (duration_chart(&aggs))
            (terms_chart(&aggs, "outcomes", "Outcome mix"))
            (per_day_chart(&aggs, "sentiment", "sentiment-per-day", "Sentiment per day"))
            (cost_chart(&aggs))
            (latency_chart(&aggs))
            (transfer_chart(&aggs))
            (terms_chart(&aggs, "tags", "Top tags"))
            (terms_chart(&aggs, "parameters", "Top collected parameters"))
        }
        section #slowest aria-labelledby="slowest-heading" {
            h2 #slowest-heading { "Calls with the slowest turns" }
            p .hint { "Ranked by each call's p99 end-to-end latency (user stops speaking → agent audio)." }
            table {
                thead { tr { th scope="col" { "Call" } th scope="col" { "Agent" } th scope="col" .num { "p99 (ms)" } th scope="col" .num { "p50 (ms)" } } }
                tbody { @for call in &slowest.calls {
                    @let stats = call.metrics.as_ref().and_then(|m| m.end_to_end_latency_ms.as_ref());
                    tr {
                        td { a href={ "/calls/" (layout::encode_component(&call.id)) } { @if let Some(at) = call.started_at { (layout::minute(at)) } @else { (call.id) } } }
                        td { (layout::agent_label(&call.agent)) }
                        td .num { (stats.and_then(|s| s.p99).map_or_else(|| "—".into(), |v| format!("{v:.0}"))) }
                        td .num { (stats.and_then(|s| s.p50).map_or_else(|| "—".into(), |v| format!("{v:.0}"))) }
                    }
                } }
            }
        }
        section aria-labelledby="query-heading" {
            h2 #query-heading { "The query behind these charts" }
            details {
                summary { "Send it to " code { "POST /v1/calls/query" } " for the same numbers" }
                pre #analytics-request { (serde_json::to_string_pretty(&body_json).unwrap_or_default()) }
            }
        }
    };
    Ok(layout::page(
        &viewer,
        Section::Analytics,
        "Analytics",
        &body,
    ))
}

/// One chart: categories along the bottom, one value per series in each (stacked, or side
/// by side when `grouped`).
struct Chart<'a> {
    id: &'a str,
    title: &'a str,
    /// Which aggregation of the query the numbers come from.
    source: &'a str,
    series: Vec<String>,
    rows: Vec<(String, Vec<f64>)>,
    grouped: bool,
    /// How the drawn series' values read.
    format: fn(f64) -> String,
    /// How many of the last series are counts shown only in the table, such as the
    /// numbers a rate is made of.
    table_only: usize,
}

impl Chart<'_> {
    /// How many of the series are drawn.
    fn drawn(&self) -> usize {
        self.series.len().saturating_sub(self.table_only)
    }

    /// How the value of series `at` reads.
    fn show(&self, at: usize, value: f64) -> String {
        if at < self.drawn() {
            (self.format)(value)
        } else {
            count(value)
        }
    }
}

fn count(value: f64) -> String {
    format!("{value:.0}")
}

fn percent(value: f64) -> String {
    format!("{value:.1}%")
}

fn millis(value: f64) -> String {
    format!("{value:.0} ms")
}

fn dollars(value: f64) -> String {
    layout::usd(MicroUsd(value.max(0.0) as u64))
}

fn buckets<'a>(aggs: &'a Value, path: &str) -> &'a [Value] {
    aggs[path]["buckets"].as_array().map_or(&[], Vec::as_slice)
}

/// The key of a bucket as shown: a day for a date bucket, else the key.
fn bucket_label(bucket: &Value) -> String {
    match (&bucket["key_as_string"], &bucket["key"]) {
        (Value::String(text), _) => text.get(..10).unwrap_or(text).to_owned(),
        (_, Value::String(key)) => key.clone(),
        (_, key) => key.to_string(),
    }
}

fn per_day_chart(aggs: &Value, sub: &str, id: &str, title: &str) -> Markup {
    let days = buckets(aggs, "per_day");
    let mut series: Vec<String> = days
        .iter()
        .flat_map(|day| buckets(day, sub).iter().map(bucket_label))
        .collect();
    series.sort_unstable();
    series.dedup();
    let rows = days
        .iter()
        .map(|day| {
            let values = series
                .iter()
                .map(|name| {
                    buckets(day, sub)
                        .iter()
                        .find(|bucket| bucket_label(bucket) == *name)
                        .and_then(|bucket| bucket["doc_count"].as_f64())
                        .unwrap_or(0.0)
                })
                .collect();
            (bucket_label(day), values)
        })
        .collect();
    let source = format!("per_day.{sub}");
    render(&Chart {
        id,
        title,
        source: &source,
        series,
        rows,
        grouped: false,
        format: count,
        table_only: 0,
    })
}

fn duration_chart(aggs: &Value) -> Markup {
    let rows = buckets(aggs, "duration")
        .iter()
        .map(|bucket| {
            let from = bucket["key"].as_f64().unwrap_or(0.0) as u64;
            let label = format!(
                "{}–{}",
                layout::clock(from),
                layout::clock(from + DURATION_BUCKET_MS)
            );
            (label, vec![bucket["doc_count"].as_f64().unwrap_or(0.0)])
        })
        .collect();
    render(&Chart {
        id: "duration",
        title: "Call length",
        source: "duration",
        series: vec!["calls".into()],
        rows,
        grouped: false,
        format: count,
        table_only: 0,
    })
}

fn terms_chart(aggs: &Value, name: &str, title: &str) -> Markup {
    let rows = buckets(aggs, name)
        .iter()
        .map(|bucket| {
            (
                bucket_label(bucket),
                vec![bucket["doc_count"].as_f64().unwrap_or(0.0)],
            )
        })
        .collect();
    render(&Chart {
        id: name,
        title,
        source: name,
        series: vec!["calls".into()],
        rows,
        grouped: false,
        format: count,
        table_only: 0,
    })
}

fn cost_chart(aggs: &Value) -> Markup {
    let rows = buckets(aggs, "per_day")
        .iter()
        .map(|day| {
            let values = COMPONENTS
                .iter()
                .map(|component| {
                    day[format!("cost_{component}")]["value"]
                        .as_f64()
                        .unwrap_or(0.0)
                })
                .collect();
            (bucket_label(day), values)
        })
        .collect();
    render(&Chart {
        id: "cost-per-day",
        title: "Cost per day by component",
        source: "per_day.cost",
        series: COMPONENTS.iter().map(ToString::to_string).collect(),
        rows,
        grouped: false,
        format: dollars,
        table_only: 0,
    })
}

/// The share of ended transfers that reached someone, per day, with the counts behind it in
/// the table. Days without an ended transfer have no rate and are left out.
fn transfer_chart(aggs: &Value) -> Markup {
    let mut totals = [0.0; TRANSFER_ENDS.len()];
    let rows = buckets(aggs, "per_day")
        .iter()
        .filter_map(|day| {
            let counts = TRANSFER_ENDS.map(|status| {
                buckets(day, "transfer")
                    .iter()
                    .find(|bucket| bucket["key"] == status.as_str())
                    .and_then(|bucket| bucket["doc_count"].as_f64())
                    .unwrap_or(0.0)
            });
            let ended: f64 = counts.iter().sum();
            (ended > 0.0).then(|| {
                totals
                    .iter_mut()
                    .zip(counts)
                    .for_each(|(total, n)| *total += n);
                let mut values = vec![counts[0] / ended * 100.0];
                values.extend(counts);
                (bucket_label(day), values)
            })
        })
        .collect();
    let ended: f64 = totals.iter().sum();
    let title = if ended > 0.0 {
        format!(
            "Transfer success rate: {} of {} transfers reached someone",
            percent(totals[0] / ended * 100.0),
            count(ended)
        )
    } else {
        "Transfer success rate".to_owned()
    };
    let mut series = vec!["success rate".to_owned()];
    series.extend(TRANSFER_ENDS.iter().map(ToString::to_string));
    render(&Chart {
        id: "transfers",
        title: &title,
        source: "per_day.transfer",
        series,
        rows,
        grouped: false,
        format: percent,
        table_only: TRANSFER_ENDS.len(),
    })
}

fn latency_chart(aggs: &Value) -> Markup {
    let series = STAGES
        .iter()
        .flat_map(|(stage, _)| [format!("{stage} p50"), format!("{stage} p95")])
        .collect();
    let rows = buckets(aggs, "agents")
        .iter()
        .map(|agent| {
            let values = STAGES
                .iter()
                .flat_map(|(stage, _)| {
                    let percentiles = &agent[*stage]["values"];
                    [
                        percentiles["50.0"].as_f64().unwrap_or(0.0),
                        percentiles["95.0"].as_f64().unwrap_or(0.0),
                    ]
                })
                .collect();
            (bucket_label(agent), values)
        })
        .collect();
    render(&Chart {
        id: "latency",
        title: "Latency per agent (p50 and p95 of each call's average)",
        source: "agents",
        series,
        rows,
        grouped: true,
        format: millis,
        table_only: 0,
    })
}

/// Height of a chart's drawing area and its width per category, in SVG units.
const PLOT_HEIGHT: f64 = 160.0;
const SLOT: f64 = 28.0;

/// One bar of a chart, placed.
struct Bar {
    series: usize,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    tooltip: String,
}

/// The bars of a chart whose tallest category (or bar, when grouped) reaches `top`.
fn bars(chart: &Chart<'_>, top: f64) -> Vec<Bar> {
    let width = if chart.grouped {
        (SLOT - 6.0) / chart.drawn().max(1) as f64
    } else {
        SLOT - 6.0
    };
    let mut bars = Vec::new();
    for (slot, (label, values)) in chart.rows.iter().enumerate() {
        let x = 34.0 + slot as f64 * SLOT;
        let mut base = PLOT_HEIGHT;
        for (series, value) in values.iter().take(chart.drawn()).enumerate() {
            let height = value / top * (PLOT_HEIGHT - 14.0);
            let (x, y) = if chart.grouped {
                (x + series as f64 * width, PLOT_HEIGHT - height)
            } else {
                base -= height;
                (x, base)
            };
            let tooltip = format!(
                "{label} · {}: {}",
                chart.series[series],
                (chart.format)(*value)
            );
            bars.push(Bar {
                series,
                x,
                y,
                width,
                height,
                tooltip,
            });
        }
    }
    bars
}

fn render(chart: &Chart<'_>) -> Markup {
    let span = |values: &[f64]| {
        let drawn = values.iter().take(chart.drawn()).copied();
        if chart.grouped {
            drawn.fold(0.0, f64::max)
        } else {
            drawn.sum()
        }
    };
    let top = chart
        .rows
        .iter()
        .map(|(_, values)| span(values))
        .fold(0.0, f64::max)
        .max(1.0);
    let width = (chart.rows.len() as f64 * SLOT).max(SLOT) + 40.0;
    let heading = format!("{}-heading", chart.id);
    html! {
        section .chart #(chart.id) aria-labelledby=(heading) data-source=(chart.source) {
            h2 #(heading) { (chart.title) }
            @if chart.rows.is_empty() {
                p .hint { "No data for these filters." }
            } @else {
                svg viewBox={ "0 0 " (width) " " (PLOT_HEIGHT + 20.0) } role="img" aria-label={ (chart.title) "; the numbers are in the table below" } {
                    line x1="30" y1=(PLOT_HEIGHT) x2=(width) y2=(PLOT_HEIGHT) class="axis" {}
                    text x="0" y="10" class="tick" { ((chart.format)(top)) }
                    @for bar in bars(chart, top) {
                        rect class={ "bar s" (bar.series % 8) } x=(bar.x) y=(bar.y) width=(bar.width) height=(bar.height) {
                            title { (bar.tooltip) }
                        }
                    }
                }
                @if chart.drawn() > 1 {
                    ul .legend { @for (at, name) in chart.series.iter().take(chart.drawn()).enumerate() { li { span class={ "swatch s" (at % 8) } {} (name) } } }
                }
            }
            details {
                summary { "Numbers" }
                div .table-wrap { table data-agg=(chart.source) {
                    thead { tr { th scope="col" { "" } @for name in &chart.series { th scope="col" .num { (name) } } } }
                    tbody { @for (label, values) in &chart.rows { tr data-key=(label) {
                        th scope="row" { (label) }
                        @for (at, value) in values.iter().enumerate() { td .num data-value=(value) { (chart.show(at, *value)) } }
                    } } }
                } }
            }
        }
    }
}
