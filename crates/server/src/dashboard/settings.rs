//! `GET /settings` (admin): the organization's API keys (create, with the secret shown once;
//! revoke), its webhooks (create, with the signing secret shown once; edit, delete) with
//! their delivery logs and redelivery, the public-recordings switch, and each agent's
//! analyzer extractors.

use super::layout::{self, Section};
use super::session::{ConfirmedForm, CsrfForm};
use super::{FormBody, PageError, PageQuery, Viewer};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
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
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Deliveries listed per webhook.
const DELIVERIES_SHOWN: usize = 50;

/// `?agent=` of the settings page: whose extractors to edit.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsParams {
    /// The agent whose analyzer extractors to edit.
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

/// The settings page: API keys, webhooks, recordings and analyzer extractors.
///
/// The organization's keys (create, revoke), its webhooks (create; each has a page of its
/// own), the public-recordings switch and, for the agent chosen with `agent`, the extractors
/// of its post-call reports. Needs the `admin` scope.
#[utoipa::path(
    get,
    path = "/settings",
    tag = "dashboard",
    operation_id = "dashboard_settings",
    security(("session" = [])),
    params(SettingsParams),
    responses(
        (status = 200, description = "The settings page", content_type = "text/html", body = String),
        (status = 400, description = "An unknown or malformed query parameter, named on a page", content_type = "text/html", body = String),
        (status = 403, description = "The session's key lacks the `admin` scope", content_type = "text/html", body = String),
    ),
)]
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

/// The new-key form: a name and a box per scope.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateKeyForm {
    /// The session's CSRF token, as the page's form carries it.
    #[serde(default)]
    csrf: String,
    /// What the key is for, at most 100 characters; empty for none.
    #[serde(default)]
    name: String,
    /// `yes` to grant the `read` scope.
    #[serde(default)]
    read: String,
    /// `yes` to grant the `write` scope.
    #[serde(default)]
    write: String,
    /// `yes` to grant the `admin` scope.
    #[serde(default)]
    admin: String,
}

/// Creates an API key of the organization, its secret shown once.
///
/// The key has the scopes whose boxes are ticked. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/settings/keys",
    tag = "dashboard",
    operation_id = "dashboard_create_key",
    security(("session" = [])),
    request_body(content = CreateKeyForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The settings page with the new key's secret, shown only this once", content_type = "text/html", body = String),
        (status = 400, description = "A name longer than 100 characters, or a body that is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `admin` scope", content_type = "text/html", body = String),
    ),
)]
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

/// Revokes an API key of the organization.
///
/// Its sessions end with it: revoking the session's own key signs the visitor out. Needs the
/// `admin` scope.
#[utoipa::path(
    post,
    path = "/settings/keys/{id}/revoke",
    tag = "dashboard",
    operation_id = "dashboard_revoke_key",
    security(("session" = [])),
    params(("id" = String, Path, description = "The key's id")),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Revoked, back to the keys; or, without a live session, to `/sign-in?next=…`", headers(("Location" = String, description = "`/settings#keys`, or the sign-in page"))),
        (status = 400, description = "The id is not valid in a path, or the body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `admin` scope", content_type = "text/html", body = String),
        (status = 404, description = "No key with this id in the session's organization", content_type = "text/html", body = String),
    ),
)]
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

/// The public-recordings switch.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct RecordingsForm {
    /// The session's CSRF token, as the page's form carries it.
    #[serde(default)]
    csrf: String,
    /// `yes` for public recordings; anything else for signed links that expire.
    #[serde(default)]
    public: String,
}

/// Turns public recordings on or off, as `PATCH /v1/organization` does.
///
/// Links to public recordings never expire and need no signature. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/settings/recordings",
    tag = "dashboard",
    operation_id = "dashboard_set_recordings",
    security(("session" = [])),
    request_body(content = RecordingsForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved, back to the recordings setting; or, without a live session, to `/sign-in?next=…`", headers(("Location" = String, description = "`/settings#recordings`, or the sign-in page"))),
        (status = 400, description = "The body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `admin` scope", content_type = "text/html", body = String),
    ),
)]
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

/// An agent's extractors, as typed in their box.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ExtractorsForm {
    /// The session's CSRF token, as the page's form carries it.
    #[serde(default)]
    csrf: String,
    /// The `extractors` list of `PUT /v1/agents/{id}/analysis`, as JSON.
    #[serde(default)]
    extractors: String,
}

/// Replaces an agent's analyzer extractors, as `PUT /v1/agents/{id}/analysis` does.
///
/// A refused list comes back in its box with the reason. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/settings/agents/{agent}/extractors",
    tag = "dashboard",
    operation_id = "dashboard_set_extractors",
    security(("session" = [])),
    params(("agent" = String, Path, description = "The agent's id")),
    request_body(content = ExtractorsForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved, back to the agent's extractors; or, without a live session, to `/sign-in?next=…`", headers(("Location" = String, description = "`/settings?agent=…#extractors`, or the sign-in page"))),
        (status = 400, description = "The list is refused: the settings page with the list as typed and the reason. Or the agent's id is not valid in a path, or the body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `admin` scope", content_type = "text/html", body = String),
    ),
)]
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

/// A webhook's page: its settings to edit, and its deliveries.
///
/// The last 50 deliveries, newest first, each with its attempts and a redelivery button.
/// Needs the `admin` scope.
#[utoipa::path(
    get,
    path = "/settings/webhooks/{id}",
    tag = "dashboard",
    operation_id = "dashboard_webhook",
    security(("session" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The webhook's page", content_type = "text/html", body = String),
        (status = 400, description = "The id is not valid in a path", body = ErrorBody),
        (status = 403, description = "The session's key lacks the `admin` scope", content_type = "text/html", body = String),
        (status = 404, description = "No webhook with this id in the session's organization", content_type = "text/html", body = String),
    ),
)]
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

/// A webhook form as sent: every field by name, read by [`WebhookFields::from_form`].
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub(crate) struct WebhookForm(BTreeMap<String, String>);

/// The fields of [`webhook_form`], written out by hand: the form is read as a map, and the
/// events' boxes are named from `WebhookEvent::ALL`, so that a new event is in the document
/// as soon as it is on the page.
impl utoipa::PartialSchema for WebhookForm {
    fn schema() -> RefOr<Schema> {
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        let mut form = ObjectBuilder::new()
            .description(Some(
                "A webhook form: the URL, the events sent to it and whether it is enabled.",
            ))
            .property(
                "csrf",
                text("The session's CSRF token, as the page's form carries it."),
            )
            .property(
                "url",
                text("The endpoint's absolute `http://` or `https://` URL."),
            )
            .property("description", text("What the endpoint is for."))
            .property(
                "enabled",
                text("`yes` to send to the endpoint; anything else disables it."),
            );
        for event in WebhookEvent::ALL {
            form = form.property(
                format!("event.{event}"),
                text(&format!("`yes` to send the `{event}` events.")),
            );
        }
        form.into()
    }
}

impl utoipa::ToSchema for WebhookForm {}

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

/// Adds a webhook, as `POST /v1/webhooks` does, its signing secret shown once.
///
/// A refused form comes back as typed with the reason. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/settings/webhooks",
    tag = "dashboard",
    operation_id = "dashboard_create_webhook",
    security(("session" = [])),
    request_body(content = WebhookForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The settings page with the new webhook's signing secret, shown only this once", content_type = "text/html", body = String),
        (status = 400, description = "The webhook is refused: the settings page with the form as typed and the reason. Or the body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `admin` scope", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    FormBody(WebhookForm(form)): FormBody<WebhookForm>,
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

/// Saves a webhook's settings, as `PATCH /v1/webhooks/{id}` with every field does.
///
/// A refused form comes back as typed with the reason. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/settings/webhooks/{id}",
    tag = "dashboard",
    operation_id = "dashboard_update_webhook",
    security(("session" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    request_body(content = WebhookForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved, back to the webhook's page; or, without a live session, to `/sign-in?next=…`", headers(("Location" = String, description = "`/settings/webhooks/{id}`, or the sign-in page"))),
        (status = 400, description = "The settings are refused: the webhook's page with the form as typed and the reason. Or the id is not valid in a path, or the body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `admin` scope", content_type = "text/html", body = String),
        (status = 404, description = "No webhook with this id in the session's organization", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn update_webhook(
    State(state): State<AppState>,
    viewer: Viewer,
    PathParams(id): PathParams<String>,
    FormBody(WebhookForm(form)): FormBody<WebhookForm>,
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

/// Deletes a webhook and its delivery log, as `DELETE /v1/webhooks/{id}` does.
///
/// The confirmation box must be ticked. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/settings/webhooks/{id}/delete",
    tag = "dashboard",
    operation_id = "dashboard_delete_webhook",
    security(("session" = [])),
    params(("id" = String, Path, description = "The webhook's id")),
    request_body(content = ConfirmedForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Deleted, back to the webhooks; or, without a live session, to `/sign-in?next=…`", headers(("Location" = String, description = "`/settings#webhooks`, or the sign-in page"))),
        (status = 400, description = "The confirmation box is not ticked, the id is not valid in a path, or the body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `admin` scope", content_type = "text/html", body = String),
        (status = 404, description = "No webhook with this id in the session's organization", content_type = "text/html", body = String),
    ),
)]
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

/// Sends a webhook delivery again.
///
/// As `POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver` does: a new delivery of
/// the same event, sent as soon as the sender gets to it. Needs the `admin` scope.
#[utoipa::path(
    post,
    path = "/settings/webhooks/{id}/deliveries/{delivery}/redeliver",
    tag = "dashboard",
    operation_id = "dashboard_redeliver",
    security(("session" = [])),
    params(
        ("id" = String, Path, description = "The webhook's id"),
        ("delivery" = String, Path, description = "The delivery's id"),
    ),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Queued, back to the webhook's page; or, without a live session, to `/sign-in?next=…`", headers(("Location" = String, description = "`/settings/webhooks/{id}`, or the sign-in page"))),
        (status = 400, description = "An id is not valid in a path, or the body is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, the form was posted from another site, or the session's key lacks the `admin` scope", content_type = "text/html", body = String),
        (status = 404, description = "No such webhook, or no such delivery of it, in the session's organization", content_type = "text/html", body = String),
    ),
)]
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
