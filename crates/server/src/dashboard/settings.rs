//! `GET /settings` (admin): the organization's API keys (create, with the secret shown once;
//! revoke), its webhooks (create, with the signing secret shown once; edit, delete) with
//! their delivery logs and redelivery, the public-recordings switch, and each agent's
//! analyzer extractors.

use super::layout::{self, Section};
use super::session::{ConfirmedForm, CsrfForm};
use super::{FormBody, PageError, PageQuery, Viewer};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::PathParams;
use crate::native::dto::AgentSettingsBody;
use crate::native::lifecycle::{agent_settings_value, check_destination};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use callscope_model::{Scope, WebhookDraft, WebhookEvent};
use callscope_store::WebhookEndpoint;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Deliveries listed per webhook.
const DELIVERIES_SHOWN: usize = 50;

/// `?agent=` of the settings page: whose extractors to edit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsParams {
    #[serde(default)]
    agent: String,
}

/// What the settings page says beside its lists after a form: a secret shown once, or a
/// refused form with what was typed and why.
#[derive(Default)]
struct Notices<'a> {
    key_secret: Option<&'a str>,
    /// The text of the extractor box and the reason it was refused.
    extractor_problem: Option<(&'a str, &'a str)>,
    webhook_secret: Option<&'a str>,
    /// The new-webhook form as typed, and the reason it was refused.
    webhook_problem: Option<(&'a WebhookFields, &'a str)>,
}

/// `GET /settings`.
pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(params): PageQuery<SettingsParams>,
) -> Result<Response, PageError> {
    viewer.require(Scope::Admin)?;
    let body = settings_body(&state, &viewer, &params.agent, Notices::default()).await?;
    Ok(layout::page(&viewer, Section::Settings, "Settings", &body))
}

/// The settings page as an answer with `status`.
fn settings_answer(viewer: &Viewer, body: &Markup, status: StatusCode) -> Response {
    let mut response = layout::page(viewer, Section::Settings, "Settings", body);
    *response.status_mut() = status;
    response
}

/// The settings page answering a refused form (400), the form as typed with the reason.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    agent: &str,
    notices: Notices<'_>,
) -> Result<Response, PageError> {
    let body = settings_body(state, viewer, agent, notices).await?;
    Ok(settings_answer(viewer, &body, StatusCode::BAD_REQUEST))
}

/// The page, with the notices of the form just sent.
async fn settings_body(
    state: &AppState,
    viewer: &Viewer,
    agent: &str,
    notices: Notices<'_>,
) -> Result<Markup, ApiError> {
    let Notices {
        key_secret,
        extractor_problem,
        webhook_secret,
        webhook_problem,
    } = notices;
    let org = viewer.organization();
    let keys = state.store.list_keys(Some(org)).await?;
    let webhooks = state.store.list_webhooks(org).await?;
    let public = state.store.public_recordings(org).await?;
    let facets = state.facets.facets(state, org).await?;
    let extractors = if agent.is_empty() {
        None
    } else {
        let stored = state.store.agent_settings(org, agent).await?;
        Some(match extractor_problem {
            Some((text, _)) => text.to_owned(),
            None => stored
                .map(|settings| {
                    serde_json::to_string_pretty(&settings["extractors"]).unwrap_or_default()
                })
                .unwrap_or_else(|| "[]".to_owned()),
        })
    };
    let csrf = &viewer.session.csrf_token;
    Ok(html! {
        h1 { "Settings" }
        section #keys aria-labelledby="keys-heading" {
            h2 #keys-heading { "API keys" }
            @if let Some(secret) = key_secret {
                div #new-key .notice role="status" {
                    p { "The new key's secret, shown only this once. Copy it now:" }
                    p { code #new-secret { (secret) } }
                }
            }
            div .table-wrap { table {
                thead { tr { th scope="col" { "Key" } th scope="col" { "Name" } th scope="col" { "Scopes" } th scope="col" { "Created" } th scope="col" { "State" } } }
                tbody { @for key in &keys { tr data-key=(key.id) {
                    td { code { (key.id) } " " span .hint { (key.prefix) "…" } }
                    td { (key.name.as_deref().unwrap_or("—")) }
                    td { (key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                    td { (layout::minute(key.created_at)) }
                    td {
                        @if let Some(revoked) = key.revoked_at { "revoked " (layout::minute(revoked)) }
                        @else {
                            form method="post" action={ "/settings/keys/" (key.id) "/revoke" } {
                                input type="hidden" name="csrf" value=(csrf);
                                button .link type="submit" aria-label={ "Revoke " (key.id) } {
                                    @if key.id == viewer.session.principal.key_id { "Revoke (signs you out)" } @else { "Revoke" }
                                }
                            }
                        }
                    }
                } } }
            } }
            form #create-key .inline-form method="post" action="/settings/keys" {
                input type="hidden" name="csrf" value=(csrf);
                div .field { label for="key-name" { "Name" } input #key-name name="name" maxlength="100" placeholder="pipecat-prod"; }
                fieldset { legend { "Scopes" }
                    @for scope in ["read", "write", "admin"] {
                        label .check { input type="checkbox" name=(scope) value="yes" checked[scope == "read"]; " " (scope) }
                    }
                }
                button type="submit" { "Create key" }
            }
        }
        section #webhooks aria-labelledby="webhooks-heading" {
            h2 #webhooks-heading { "Webhooks" }
            @if let Some(secret) = webhook_secret {
                div #new-webhook .notice role="status" {
                    p { "The new webhook's signing secret, shown only this once. Copy it now:" }
                    p { code #new-webhook-secret { (secret) } }
                }
            }
            @if webhooks.is_empty() { p .hint { "No webhook yet." } }
            @else { ul #webhook-list { @for hook in &webhooks { li {
                a href={ "/settings/webhooks/" (layout::encode_component(&hook.id)) } { (hook.url) }
                " · " (hook.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "))
                @if !hook.enabled { " · disabled" }
            } } } }
            h3 { "Add a webhook" }
            @let (typed, problem) = webhook_problem.map_or((None, None), |(typed, why)| (Some(typed), Some(why)));
            (webhook_form(&typed.cloned().unwrap_or_else(WebhookFields::new_endpoint), "/settings/webhooks", csrf, "Add webhook", problem))
        }
        section #recordings aria-labelledby="recordings-heading" {
            h2 #recordings-heading { "Recordings" }
            form method="post" action="/settings/recordings" {
                input type="hidden" name="csrf" value=(csrf);
                label .check { input #public-recordings type="checkbox" name="public" value="yes" checked[public];
                    " Public recordings: links never expire and need no signature" }
                button type="submit" { "Save" }
            }
        }
        section #extractors aria-labelledby="extractors-heading" {
            h2 #extractors-heading { "Analyzer extractors" }
            form method="get" action="/settings" {
                div .field { label for="agent-pick" { "Agent" }
                    select #agent-pick name="agent" {
                        option value="" { "Choose an agent" }
                        @for (value, text) in &facets.agents { option value=(value) selected[value == agent] { (text) } }
                    }
                }
                button type="submit" { "Edit" }
            }
            @if let Some(text) = &extractors {
                form method="post" action={ "/settings/agents/" (layout::encode_component(agent)) "/extractors" } {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="extractors-json" { "Extractors of " code { (agent) } " (the " code { "extractors" } " list of " code { "PUT /v1/agents/{id}/analysis" } ")" }
                    textarea #extractors-json name="extractors" rows="8" spellcheck="false" { (text) }
                    @if let Some((_, problem)) = extractor_problem { p .error role="alert" { (problem) } }
                    button #save-extractors type="submit" { "Save extractors" }
                }
            }
        }
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreateKeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    read: String,
    #[serde(default)]
    write: String,
    #[serde(default)]
    admin: String,
}

/// `POST /settings/keys`: a new key of the organization, its secret shown once.
pub(crate) async fn create_key(
    State(state): State<AppState>,
    viewer: Viewer,
    FormBody(form): FormBody<CreateKeyForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require(Scope::Admin)?;
    let scopes: Vec<Scope> = [
        (&form.read, Scope::Read),
        (&form.write, Scope::Write),
        (&form.admin, Scope::Admin),
    ]
    .into_iter()
    .filter(|(ticked, _)| ticked.as_str() == "yes")
    .map(|(_, scope)| scope)
    .collect();
    let name = form.name.trim();
    if name.len() > 100 {
        return Err(ApiError::InvalidParameter("name: at most 100 characters".into()).into());
    }
    let key = state
        .store
        .create_key(
            viewer.organization(),
            (!name.is_empty()).then_some(name),
            &scopes,
        )
        .await?;
    let notices = Notices {
        key_secret: Some(&key.secret),
        ..Notices::default()
    };
    let body = settings_body(&state, &viewer, "", notices).await?;
    Ok(settings_answer(&viewer, &body, StatusCode::CREATED))
}

/// `POST /settings/keys/{id}/revoke`: only a key of the viewer's organization.
pub(crate) async fn revoke_key(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require(Scope::Admin)?;
    let ours = state.store.list_keys(Some(viewer.organization())).await?;
    if !ours.iter().any(|key| key.id == id) {
        return Err(ApiError::NotFound(format!("key `{id}` not found")).into());
    }
    state.store.revoke_key(&id).await?;
    Ok(Redirect::to("/settings#keys").into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecordingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    public: String,
}

/// `POST /settings/recordings`: the public-recordings switch, as `PATCH /v1/organization`.
pub(crate) async fn recordings(
    State(state): State<AppState>,
    viewer: Viewer,
    FormBody(form): FormBody<RecordingsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require(Scope::Admin)?;
    state
        .store
        .set_public_recordings(viewer.organization(), form.public == "yes")
        .await?;
    Ok(Redirect::to("/settings#recordings").into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExtractorsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    extractors: String,
}

/// `POST /settings/agents/{agent}/extractors`: as `PUT /v1/agents/{id}/analysis`; a refused
/// list comes back in its box with the reason.
pub(crate) async fn extractors(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(agent): PathParams<String>,
    FormBody(form): FormBody<ExtractorsForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require(Scope::Admin)?;
    let parsed = serde_json::from_str(&form.extractors)
        .map_err(|e| ApiError::InvalidParameter(format!("extractors: {e}")))
        .and_then(|extractors| agent_settings_value(&agent, &AgentSettingsBody { extractors }));
    match parsed {
        Ok(settings) => {
            state
                .store
                .put_agent_settings(viewer.organization(), &agent, settings)
                .await?;
            let target = format!(
                "/settings?agent={}#extractors",
                layout::encode_component(&agent)
            );
            Ok(Redirect::to(&target).into_response())
        }
        Err(ApiError::InvalidParameter(problem)) => {
            let notices = Notices {
                extractor_problem: Some((&form.extractors, &problem)),
                ..Notices::default()
            };
            refused(&state, &viewer, &agent, notices).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /settings/webhooks/{id}`: an endpoint's settings to edit, and its deliveries,
/// newest first, each with its attempts and a redelivery button.
pub(crate) async fn webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
) -> Result<Response, PageError> {
    viewer.require(Scope::Admin)?;
    let body = webhook_body(&state, &viewer, &id, None).await?;
    Ok(layout::page(&viewer, Section::Settings, "Webhook", &body))
}

/// The page of endpoint `id`, with its edit form as typed and the reason it was refused
/// when it was.
async fn webhook_body(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    refused: Option<(&WebhookFields, &str)>,
) -> Result<Markup, ApiError> {
    let org = viewer.organization();
    let endpoint = state
        .store
        .get_webhook(org, id)
        .await?
        .ok_or_else(|| webhook_not_found(id))?;
    let deliveries = state
        .store
        .list_deliveries(org, id, DELIVERIES_SHOWN)
        .await?
        .unwrap_or_default();
    let csrf = &viewer.session.csrf_token;
    let path = format!("/settings/webhooks/{}", layout::encode_component(id));
    let (fields, problem) = match refused {
        Some((typed, why)) => (typed.clone(), Some(why)),
        None => (WebhookFields::of(&endpoint), None),
    };
    Ok(html! {
        p { a href="/settings#webhooks" { "← Settings" } }
        h1 { "Webhook " code { (endpoint.url) } }
        p .hint { (endpoint.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "))
            @if !endpoint.enabled { " · disabled" } }
        section #edit-webhook aria-labelledby="edit-heading" {
            h2 #edit-heading { "Settings" }
            (webhook_form(&fields, &path, csrf, "Save webhook", problem))
            form #delete-webhook .danger method="post" action={ (path) "/delete" } {
                input type="hidden" name="csrf" value=(csrf);
                label { input #delete-webhook-confirm type="checkbox" name="confirm" value="yes" required; " Delete this webhook and its delivery log for good" }
                button type="submit" { "Delete webhook" }
            }
        }
        h2 { "Deliveries" }
        @if deliveries.is_empty() { p .hint { "Nothing was sent to it yet." } }
        div .table-wrap { table #deliveries {
            thead { tr { th scope="col" { "Event" } th scope="col" { "About" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Created" } th scope="col" { "" } } }
            tbody { @for delivery in &deliveries { tr {
                td { (delivery.event.as_str()) }
                td { a href={ "/calls/" (layout::encode_component(&delivery.subject_id)) } { (delivery.subject_id) } }
                td { (layout::badge("delivery", delivery.status.as_str()))
                    @if let Some(code) = delivery.last_status_code { " HTTP " (code) }
                    @if let Some(error) = &delivery.last_error { br; span .hint { (error) } } }
                td { details { summary { (delivery.attempts) }
                    ol { @for attempt in &delivery.log { li {
                        (layout::second(attempt.at)) " · " (attempt.duration_ms) " ms"
                        @if let Some(code) = attempt.status_code { " · HTTP " (code) }
                        @if let Some(error) = &attempt.error { " · " (error) }
                    } } }
                } }
                td { (layout::minute(delivery.created_at)) }
                td { form method="post" action={ (path) "/deliveries/" (layout::encode_component(&delivery.id)) "/redeliver" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button .link type="submit" { "Redeliver" }
                } }
            } } }
        } }
    })
}

fn webhook_not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("webhook `{id}` not found"))
}

/// A webhook form as typed: a URL, a description, an `event.<name>` checkbox per event and
/// `enabled`. Each event has a name of its own because a URL-encoded form repeats one name
/// per ticked box, which the form decoder cannot gather into a list.
#[derive(Clone, Debug)]
pub(crate) struct WebhookFields {
    url: String,
    description: String,
    events: Vec<WebhookEvent>,
    enabled: bool,
}

impl WebhookFields {
    /// The blank form: every call event ticked, enabled.
    fn new_endpoint() -> Self {
        Self {
            url: String::new(),
            description: String::new(),
            events: WebhookEvent::ALL
                .iter()
                .copied()
                .filter(|event| event.as_str().starts_with("call."))
                .collect(),
            enabled: true,
        }
    }

    fn of(endpoint: &WebhookEndpoint) -> Self {
        Self {
            url: endpoint.url.clone(),
            description: endpoint.description.clone().unwrap_or_default(),
            events: endpoint.events.clone(),
            enabled: endpoint.enabled,
        }
    }

    fn from_form(form: &BTreeMap<String, String>) -> Self {
        let ticked = |name: &str| form.get(name).is_some_and(|value| value == "yes");
        Self {
            url: form.get("url").map_or("", |url| url.trim()).to_owned(),
            description: form
                .get("description")
                .map_or("", |text| text.trim())
                .to_owned(),
            events: WebhookEvent::ALL
                .iter()
                .copied()
                .filter(|event| ticked(&format!("event.{event}")))
                .collect(),
            enabled: ticked("enabled"),
        }
    }

    /// The draft the API would get: every field set, so an edit replaces them all.
    fn draft(&self) -> WebhookDraft {
        WebhookDraft {
            url: Some(self.url.clone()),
            events: Some(self.events.clone()),
            description: Some(self.description.clone()),
            enabled: Some(self.enabled),
        }
    }
}

fn webhook_form(
    fields: &WebhookFields,
    action: &str,
    csrf: &str,
    submit: &str,
    problem: Option<&str>,
) -> Markup {
    // One form per page, so the ids stay unique.
    html! {
        form #webhook-form .inline-form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            div .field { label for="webhook-url" { "URL" }
                input #webhook-url type="url" name="url" required maxlength="2048" value=(fields.url) placeholder="https://example.com/callscope"; }
            div .field { label for="webhook-description" { "Description" }
                input #webhook-description name="description" maxlength="500" value=(fields.description); }
            fieldset { legend { "Events" }
                @for event in WebhookEvent::ALL {
                    label .check { input type="checkbox" name={ "event." (event) } value="yes" checked[fields.events.contains(event)]; " " (event) }
                }
            }
            label .check { input #webhook-enabled type="checkbox" name="enabled" value="yes" checked[fields.enabled]; " Enabled" }
            @if let Some(problem) = problem { p .error role="alert" { (problem) } }
            button type="submit" { (submit) }
        }
    }
}

/// A webhook form sent by an admin with the session's token: the fields as typed, and the
/// draft the API would get.
fn webhook_form_sent(
    viewer: &Viewer,
    form: &BTreeMap<String, String>,
) -> Result<(WebhookFields, WebhookDraft), ApiError> {
    viewer.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    viewer.require(Scope::Admin)?;
    let fields = WebhookFields::from_form(form);
    let draft = fields.draft();
    Ok((fields, draft))
}

/// `POST /settings/webhooks`: as `POST /v1/webhooks`, the signing secret shown once; a
/// refused form comes back as typed with the reason.
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    FormBody(form): FormBody<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let (fields, draft) = webhook_form_sent(&viewer, &form)?;
    match check_destination(&state, &draft, true).await {
        Ok(()) => {
            let endpoint = state
                .store
                .create_webhook(viewer.organization(), draft)
                .await?;
            let notices = Notices {
                webhook_secret: Some(&endpoint.secret),
                ..Notices::default()
            };
            let body = settings_body(&state, &viewer, "", notices).await?;
            Ok(settings_answer(&viewer, &body, StatusCode::CREATED))
        }
        Err(ApiError::InvalidParameter(problem)) => {
            let notices = Notices {
                webhook_problem: Some((&fields, &problem)),
                ..Notices::default()
            };
            refused(&state, &viewer, "", notices).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /settings/webhooks/{id}`: as `PATCH /v1/webhooks/{id}` with every field; a refused
/// form comes back as typed with the reason.
pub(crate) async fn update_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    FormBody(form): FormBody<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    let (fields, draft) = webhook_form_sent(&viewer, &form)?;
    match check_destination(&state, &draft, false).await {
        Ok(()) => {
            state
                .store
                .update_webhook(viewer.organization(), &id, draft)
                .await?;
            state.signals.wake();
            let target = format!("/settings/webhooks/{}", layout::encode_component(&id));
            Ok(Redirect::to(&target).into_response())
        }
        Err(ApiError::InvalidParameter(problem)) => {
            let body = webhook_body(&state, &viewer, &id, Some((&fields, &problem))).await?;
            let mut response = layout::page(&viewer, Section::Settings, "Webhook", &body);
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /settings/webhooks/{id}/delete`: as `DELETE /v1/webhooks/{id}`.
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    FormBody(form): FormBody<ConfirmedForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require(Scope::Admin)?;
    form.confirmed("the webhook")?;
    if !state
        .store
        .delete_webhook(viewer.organization(), &id)
        .await?
    {
        return Err(webhook_not_found(&id).into());
    }
    Ok(Redirect::to("/settings#webhooks").into_response())
}

/// `POST /settings/webhooks/{id}/deliveries/{delivery}/redeliver`: as the API's redeliver.
pub(crate) async fn redeliver(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams((id, delivery)): PathParams<(String, String)>,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    viewer.require(Scope::Admin)?;
    state
        .store
        .redeliver(viewer.organization(), &id, &delivery)
        .await?;
    state.signals.wake();
    let target = format!("/settings/webhooks/{}", layout::encode_component(&id));
    Ok(Redirect::to(&target).into_response())
}
