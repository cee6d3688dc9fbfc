//! `GET /calls/{id}`: one call, whole: its facts, the conversation with a player that
//! follows it, the report, latency, cost, the flow path, events, transfers and the raw JSON;
//! and the actions on it (re-run analysis, delete).

use super::layout::{self, Section};
use super::session::{ConfirmedForm, CsrfForm};
use super::{FormBody, PageError, Viewer};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::PathParams;
use crate::recordings::{Channels, link_path};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use callscope_model::{
    Analysis, Call, Event, LatencyStats, Metrics, Role, Scope, TranscriptEntry, Transfer,
};
use maud::{Markup, html};
use serde_json::Value;

/// One call's page: the conversation, its report and everything known about it.
///
/// The facts of the call, the transcript beside a player of its recording, the report,
/// latency per stage, cost, the flow path, events, transfers and the raw JSON, with the
/// actions on it (re-run analysis, delete) for a key with the `write` scope. Needs the
/// `read` scope.
#[utoipa::path(
    get,
    path = "/calls/{id}",
    tag = "dashboard",
    operation_id = "dashboard_call",
    security(("session" = [])),
    params(("id" = String, Path, description = "The call's id")),
    responses(
        (status = 200, description = "The call's page", content_type = "text/html", body = String),
        (status = 400, description = "The id is not valid in a path", body = ErrorBody),
        (status = 403, description = "The session's key lacks the `read` scope", content_type = "text/html", body = String),
        (status = 404, description = "No call with this id in the session's organization", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
) -> Result<Response, PageError> {
    viewer.require(Scope::Read)?;
    let org = viewer.organization();
    let call = state
        .store
        .get_call(org, &id)
        .await?
        .ok_or_else(|| ApiError::call_not_found(&id))?;
    let (events, transfers, mono, dual) = tokio::try_join!(
        async { Ok::<_, ApiError>(state.store.list_events(org, &id).await?.unwrap_or_default()) },
        async {
            Ok(state
                .store
                .list_transfers(org, &id)
                .await?
                .unwrap_or_default())
        },
        link_path(&state, org, &id, Channels::Mono),
        link_path(&state, org, &id, Channels::Dual),
    )?;
    let raw = serde_json::to_string_pretty(&crate::native::dto::CallView::new(&call))
        .map_err(|e| ApiError::Internal(format!("cannot render the call: {e}")))?;
    let recordings = Recordings {
        mono: mono.map(|link| link.path),
        dual: dual.map(|link| link.path),
    };
    let body = html! {
        (header(&viewer, &call))
        div .detail-grid {
            section .conversation aria-labelledby="transcript-heading" {
                h2 #transcript-heading { "Conversation" }
                (player(&recordings))
                (transcript(&call.transcript))
            }
            div .side {
                (report(&viewer, &call, call.analysis.as_ref()))
                (latency(call.metrics.as_ref(), &call.transcript))
                (cost(&call))
            }
        }
        (flow(&call))
        (events_table(&events))
        (transfers_table(&transfers))
        section aria-labelledby="raw-heading" {
            h2 #raw-heading { "Raw JSON" }
            details { summary { "The call as " code { "GET /v1/calls/" (call.id) } " returns it" } pre #raw { (raw) } }
        }
    };
    let title = format!("Call {}", call.id);
    Ok(layout::page(&viewer, Section::Calls, &title, &body))
}

fn header(viewer: &Viewer, call: &Call) -> Markup {
    let fact = |label: &str, value: Option<String>| {
        html! { @if let Some(value) = value { div { dt { (label) } dd { (value) } } } }
    };
    let agent = match (&call.agent.name, &call.agent.id) {
        (Some(name), Some(id)) => Some(format!("{name} ({id})")),
        (name, id) => name.clone().or_else(|| id.clone()),
    };
    html! {
        p { a href="/calls" { "← All calls" } }
        h1 { "Call " code { (call.id) } }
        div .call-actions {
            (layout::badge("status", call.status.as_str()))
            @if viewer.allows(Scope::Write) {
                form method="post" action={ "/calls/" (layout::encode_component(&call.id)) "/analyze" } {
                    input type="hidden" name="csrf" value=(viewer.session.csrf_token);
                    button #rerun type="submit" { "Re-run analysis" }
                }
                form #delete-form .danger method="post" action={ "/calls/" (layout::encode_component(&call.id)) "/delete" } {
                    input type="hidden" name="csrf" value=(viewer.session.csrf_token);
                    label { input #delete-confirm type="checkbox" name="confirm" value="yes" required; " Delete this call and its recordings for good" }
                    button #delete type="submit" { "Delete" }
                }
            }
        }
        dl .facts {
            (fact("Agent", agent))
            (fact("Campaign", call.campaign_id.clone()))
            (fact("Direction", call.direction.map(|d| d.as_str().to_owned())))
            (fact("Type", call.kind.map(|k| k.as_str().replace('_', " "))))
            (fact("Channel", call.channel.map(|c| c.as_str().to_owned())))
            (fact("From", call.from_number.clone()))
            (fact("To", call.to_number.clone()))
            (fact("Started", call.started_at.map(layout::second)))
            (fact("Ended", call.ended_at.map(layout::second)))
            (fact("Duration", call.duration_ms.map(layout::clock)))
            (fact("Ended because", call.disconnection_reason.map(|r| r.as_str().replace('_', " "))))
            (fact("Language", call.language.clone()))
            (fact("Room", call.room_name.clone()))
        }
    }
}

/// The signed links of a call's recordings.
struct Recordings {
    mono: Option<String>,
    dual: Option<String>,
}

fn player(recordings: &Recordings) -> Markup {
    let Some(first) = recordings.mono.as_ref().or(recordings.dual.as_ref()) else {
        return html! { p .hint { "No recording is stored for this call." } };
    };
    html! {
        div .player {
            audio #player controls preload="metadata" src=(first) { "Your browser cannot play this recording." }
            @if let (Some(mono), Some(dual)) = (&recordings.mono, &recordings.dual) {
                div .channels role="group" aria-label="Recording" {
                    button type="button" data-src=(mono) aria-pressed="true" { "Mono" }
                    button type="button" data-src=(dual) aria-pressed="false" { "Stereo (caller left, agent right)" }
                }
            }
        }
    }
}

fn transcript(entries: &[TranscriptEntry]) -> Markup {
    if entries.is_empty() {
        return html! { p .hint { "Nothing was said yet." } };
    }
    html! {
        ol #transcript .transcript {
            @for (at, entry) in entries.iter().enumerate() {
                @let role = entry.role.as_str();
                @let previous_end = at.checked_sub(1).and_then(|before| entries[before].end_ms);
                li class={ "turn role-" (role) } data-start=[entry.start_ms] data-end=[entry.end_ms] {
                    div .turn-meta {
                        span .role { (role) }
                        @if let Some(start) = entry.start_ms {
                            button .seek type="button" data-seek=(start) aria-label={ "Play from " (layout::clock(start)) } { (layout::clock(start)) }
                        }
                        @if let (Role::Agent, Some(start), Some(end)) = (entry.role, entry.start_ms, previous_end) {
                            span .latency title="Time from the end of the previous turn to this answer" { (start.saturating_sub(end)) " ms" }
                        }
                    }
                    p { (entry.text) }
                }
            }
        }
    }
}

fn report(viewer: &Viewer, call: &Call, analysis: Option<&Analysis>) -> Markup {
    html! {
        section #report aria-labelledby="report-heading" {
            h2 #report-heading { "Report" }
            @match analysis {
                None => p .hint { "No report yet: it is made when the call ends." }
                Some(analysis) => {
                    @if let Some(summary) = &analysis.summary { p #summary { (summary) } }
                    dl .facts {
                        @if let Some(outcome) = &analysis.outcome { div { dt { "Outcome" } dd { (layout::badge("outcome", outcome)) } } }
                        @if let Some(sentiment) = analysis.sentiment { div { dt { "Sentiment" } dd { (layout::badge("sentiment", sentiment.as_str())) } } }
                        @if let Some(status) = analysis.status { div { dt { "Made by" } dd { (status.as_str()) } } }
                        @if let Some(updated) = analysis.updated_at { div { dt { "Updated" } dd #report-updated { (layout::second(updated)) } } }
                        @if let Some(webhook) = analysis.webhook_status {
                            div { dt { "Webhook" } dd { (webhook.as_str().replace('_', " "))
                                @if let Some(attempts) = analysis.webhook_attempts { ", " (attempts) " attempts" }
                            } }
                        }
                    }
                    @if let Some(reason) = analysis.fallback_reason.as_ref().or(analysis.failure_reason.as_ref()) {
                        p .hint { "Note: " (reason) }
                    }
                    @if let Some(data) = analysis.structured_data.as_ref().filter(|data| !data.is_empty()) {
                        h3 { "Structured data" }
                        dl .facts { @for (name, value) in data { div { dt { (name) } dd { (plain(value)) } } } }
                    }
                }
            }
            @if viewer.allows(Scope::Write) && !call.status.is_terminal() {
                p .hint { "The call is still running." }
            }
        }
    }
}

/// A JSON value as text: strings without their quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

fn latency(metrics: Option<&Metrics>, entries: &[TranscriptEntry]) -> Markup {
    let stages: Vec<(&str, &LatencyStats)> = metrics
        .map(|m| {
            [
                ("Transcriber", &m.transcriber_latency_ms),
                ("Agent (LLM)", &m.agent_latency_ms),
                ("Synthesizer", &m.synthesizer_latency_ms),
                ("End to end", &m.end_to_end_latency_ms),
            ]
            .into_iter()
            .filter_map(|(name, stats)| stats.as_ref().map(|stats| (name, stats)))
            .collect()
        })
        .unwrap_or_default();
    let ms = |value: Option<f64>| value.map_or_else(|| "—".to_owned(), |v| format!("{v:.0}"));
    let answered = entries.windows(2).filter(|pair| {
        pair[1].role == Role::Agent && pair[0].end_ms.is_some() && pair[1].start_ms.is_some()
    });
    html! {
        section #latency aria-labelledby="latency-heading" {
            h2 #latency-heading { "Latency (ms)" }
            @if stages.is_empty() { p .hint { "No latency was reported." } }
            @else {
                table {
                    thead { tr { th scope="col" { "Stage" } th scope="col" { "p50" } th scope="col" { "p95" } th scope="col" { "avg" } th scope="col" { "samples" } } }
                    tbody { @for (name, stats) in &stages { tr {
                        th scope="row" { (name) } td .num { (ms(stats.p50)) } td .num { (ms(stats.p95)) } td .num { (ms(stats.avg)) }
                        td .num { (stats.samples.map_or_else(|| "—".into(), |s| s.to_string())) }
                    } } }
                }
            }
            p .hint { (answered.count()) " agent answers; each turn's response time is beside it in the conversation." }
        }
    }
}

fn cost(call: &Call) -> Markup {
    let Some(cost) = &call.cost else {
        return html! { section #cost { h2 { "Cost" } p .hint { "No cost was reported." } } };
    };
    html! {
        section #cost aria-labelledby="cost-heading" {
            h2 #cost-heading { "Cost" @if let Some(total) = cost.total_micro_usd { " · " (layout::usd(total)) } }
            @if !cost.breakdown.is_empty() {
                table {
                    thead { tr { th scope="col" { "Component" } th scope="col" { "Provider / model" } th scope="col" { "Units" } th scope="col" { "Cost" } } }
                    tbody { @for item in &cost.breakdown { tr {
                        th scope="row" { (item.component.as_str()) }
                        td { (item.provider.as_deref().unwrap_or("—")) @if let Some(model) = &item.model { " / " (model) } }
                        td .num { @if let Some(units) = item.units { (units) " " (item.unit.as_deref().unwrap_or("")) } @else { "—" } }
                        td .num { (layout::usd(item.micro_usd)) }
                    } } }
                }
            }
        }
    }
}

fn flow(call: &Call) -> Markup {
    let Some(flow) = call.flow.as_ref().filter(|flow| !flow.path.is_empty()) else {
        return html! {};
    };
    html! {
        section #flow aria-labelledby="flow-heading" {
            h2 #flow-heading { "Flow path" }
            ol .timeline {
                @for node in &flow.path {
                    li {
                        strong { (node.node_type) } @if let Some(id) = &node.node_id { " " code { (id) } }
                        @if let Some(ms) = node.execution_time { span .hint { " · " (ms) " ms" } }
                        @if !node.tags.is_empty() {
                            " " @for tag in &node.tags { span .tag { (tag.category) ": " (tag.tag) } " " }
                        }
                        @for (label, part) in [("Context", &node.context), ("Request", &node.request), ("Response", &node.response)] {
                            @if let Some(part) = part {
                                details { summary { (label) } pre { (serde_json::to_string_pretty(part).unwrap_or_default()) } }
                            }
                        }
                    }
                }
            }
            @if !flow.collected_parameters.is_empty() {
                h3 { "Collected parameters" }
                dl .facts { @for parameter in &flow.collected_parameters { div { dt { (parameter.name) } dd { (parameter.value_text.clone().unwrap_or_else(|| plain(&parameter.value))) } } } }
            }
        }
    }
}

fn events_table(events: &[Event]) -> Markup {
    if events.is_empty() {
        return html! {};
    }
    html! {
        section #events aria-labelledby="events-heading" {
            h2 #events-heading { "Events" }
            div .table-wrap { table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "SIP" } th scope="col" { "Provider" } } }
                tbody { @for event in events { tr {
                    td { (layout::second(event.occurred_at)) }
                    td { (event.event_type) }
                    td { (event.status.as_deref().unwrap_or("—")) @if let Some(cause) = &event.failure_cause { " (" (cause) ")" } }
                    td { @if let Some(code) = event.sip_status_code { (code) " " (event.sip_status.as_deref().unwrap_or("")) } @else { "—" } }
                    td { (event.provider.as_deref().unwrap_or("—")) }
                } } }
            } }
        }
    }
}

fn transfers_table(transfers: &[Transfer]) -> Markup {
    if transfers.is_empty() {
        return html! {};
    }
    html! {
        section #transfers aria-labelledby="transfers-heading" {
            h2 #transfers-heading { "Transfers" }
            div .table-wrap { table {
                thead { tr { th scope="col" { "Attempt" } th scope="col" { "Kind" } th scope="col" { "To" } th scope="col" { "Status" } th scope="col" { "Requested" } } }
                tbody { @for transfer in transfers { tr {
                    td { (transfer.attempt + 1) " of " (transfer.targets.len().max(1)) }
                    td { (transfer.kind.as_str()) }
                    td { (transfer.transfer_to) }
                    td { (transfer.status.as_str()) @if let Some(cause) = &transfer.failure_cause { " (" (cause) ")" } }
                    td { (layout::second(transfer.created_at)) }
                } } }
            } }
        }
    }
}

/// Makes a call's report again, as `POST /v1/calls/{id}/report` does.
///
/// The form of the call's page. Needs the `write` scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/analyze",
    tag = "dashboard",
    operation_id = "dashboard_analyze_call",
    security(("session" = [])),
    params(("id" = String, Path, description = "The call's id")),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Done, back to the call's report; or, without a live session, to `/sign-in?next=…`", headers(("Location" = String, description = "`/calls/{id}#report`, or the sign-in page"))),
        (status = 400, description = "The id is not valid in a path, or the body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `write` scope", content_type = "text/html", body = String),
        (status = 404, description = "No call with this id in the session's organization", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn analyze(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require(Scope::Write)?;
    let call = state
        .store
        .get_call(viewer.organization(), &id)
        .await?
        .ok_or_else(|| ApiError::call_not_found(&id))?;
    crate::lifecycle::run_report(&state, call).await?;
    Ok(Redirect::to(&format!("/calls/{}#report", layout::encode_component(&id))).into_response())
}

/// Deletes a call and its recordings, as `DELETE /v1/calls/{id}` does.
///
/// The form of the call's page; its confirmation box must be ticked. Needs the `write`
/// scope.
#[utoipa::path(
    post,
    path = "/calls/{id}/delete",
    tag = "dashboard",
    operation_id = "dashboard_delete_call",
    security(("session" = [])),
    params(("id" = String, Path, description = "The call's id")),
    request_body(content = ConfirmedForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Deleted, to the calls page; or, without a live session, to `/sign-in?next=…`", headers(("Location" = String, description = "`/calls`, or the sign-in page"))),
        (status = 400, description = "The confirmation box is not ticked, the id is not valid in a path, or the body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `write` scope", content_type = "text/html", body = String),
        (status = 404, description = "No call with this id in the session's organization", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    FormBody(form): FormBody<ConfirmedForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require(Scope::Write)?;
    form.confirmed("the call")?;
    if !crate::purge::delete_call(&state, viewer.organization(), &id).await? {
        return Err(ApiError::call_not_found(&id).into());
    }
    // The list is the search index's: wait (briefly) until it no longer shows the call.
    let _ = tokio::time::timeout(state.config.guards.refresh_timeout, state.store.refresh()).await;
    Ok(Redirect::to("/calls").into_response())
}
