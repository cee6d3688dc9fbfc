//! Signing in and out, and who a page is shown to.
//!
//! Signing in trades an API key for a session: a random token in an HttpOnly, SameSite=Strict
//! cookie (Secure when the server's public URL is HTTPS), stored by the store as a row
//! bound to the key, so the session has exactly the key's organization and scopes, ends when
//! it expires, when the visitor signs out, or when the key is revoked. Every form that
//! writes carries the session's CSRF token; a form without it, or posted from another
//! origin, is refused and changes nothing.

use super::{FormBody, PageError, PageQuery, layout};
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::request_log::RequestOwner;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use callscope_model::Scope;
use callscope_store::Session;
use maud::html;
use serde::Deserialize;

/// The session cookie's name.
const COOKIE: &str = "callscope_session";

/// A signed-in visitor: the session's principal and the token its forms must carry.
#[derive(Debug)]
pub(crate) struct Viewer {
    pub session: Session,
    /// The cookie's token, to end the session on sign-out.
    token: String,
}

impl Viewer {
    /// The tenant every read of this page is scoped to.
    pub fn organization(&self) -> &str {
        &self.session.principal.organization_id
    }

    /// The session's token, for a stream that checks the session is still live.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.session.principal.allows(scope)
    }

    /// Refuses unless the session's key grants `scope`, as the API would.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.allows(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this API key lacks the `{scope}` scope"
            )))
        }
    }

    /// Refuses a form whose CSRF token is not this session's (compared in constant time).
    pub fn check_csrf(&self, presented: &str) -> Result<(), ApiError> {
        let expected = self.session.csrf_token.as_bytes();
        let presented = presented.as_bytes();
        let same = expected.len() == presented.len()
            && expected
                .iter()
                .zip(presented)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "the form's CSRF token is missing or stale; reload the page and try again".into(),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let sign_in = || PageError::SignIn {
            next: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), ToString::to_string),
        };
        let Some(token) = session_cookie(&parts.headers) else {
            return Err(sign_in());
        };
        let Some(session) = state.store.session(token).await? else {
            return Err(sign_in());
        };
        let principal = &session.principal;
        if let Some(owner) = parts.extensions.get::<RequestOwner>() {
            owner.set(&principal.organization_id, &principal.key_id);
        }
        state
            .guards
            .take_token(&principal.organization_id, &principal.key_id)?;
        if parts.method == axum::http::Method::POST {
            refuse_cross_origin(&parts.headers)?;
        }
        Ok(Self {
            token: token.to_owned(),
            session,
        })
    }
}

/// A request that writes must come from this server's own pages: a browser sends `Origin`
/// with every POST, and one naming another host is refused (beside the CSRF token and the
/// SameSite cookie, which already keep other sites' forms out).
fn refuse_cross_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) if origin_host(origin) != Some(host) => Err(
            ApiError::Forbidden("the form was posted from another site".into()),
        ),
        _ => Ok(()),
    }
}

/// `host[:port]` of an `Origin` value (`https://calls.example.com:8443`).
fn origin_host(origin: &str) -> Option<&str> {
    origin.split_once("://").map(|(_, host)| host)
}

/// The session token of the request's `Cookie` header, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value that stores `token` for `max_age_secs` (0 deletes it).
fn cookie(state: &AppState, token: &str, max_age_secs: u64) -> Option<HeaderValue> {
    let secure = state
        .config
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    let value = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&value).ok()
}

/// `?next=` of the sign-in page: where to go once signed in.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NextParam {
    /// Where to go once signed in: a path of this server (`/calls?agent=a`). Anything else
    /// goes to the calls page.
    #[serde(default)]
    next: Option<String>,
}

/// Where a sign-in may send the visitor: a path of this server only, so a crafted link
/// cannot bounce a fresh session to another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path
        }
        _ => "/calls",
    }
}

/// The sign-in page: a form that takes an API key.
///
/// Pages that need a session send a visitor without one here, with the page asked for as
/// `next`.
#[utoipa::path(
    get,
    path = "/sign-in",
    tag = "dashboard",
    operation_id = "dashboard_sign_in_page",
    security(()),
    params(NextParam),
    responses(
        (status = 200, description = "The sign-in form", content_type = "text/html", body = String),
        (status = 400, description = "A malformed query string (`next` given twice), named on a page", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn sign_in_page(PageQuery(param): PageQuery<NextParam>) -> Response {
    sign_in_form(safe_next(param.next.as_deref()), None)
}

fn sign_in_form(next: &str, problem: Option<&str>) -> Response {
    let body = html! {
        main.sign-in {
            h1 { "Sign in to Callscope" }
            form method="post" action="/sign-in" {
                input type="hidden" name="next" value=(next);
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="current-password"
                    required placeholder="cs_…" aria-describedby="key-help";
                p #key-help .hint {
                    "The key printed when the server first started, or one from "
                    code { "callscope keys create" } ". The session has the key's organization and scopes."
                }
                @if let Some(problem) = problem {
                    p .error role="alert" { (problem) }
                }
                button type="submit" { "Sign in" }
            }
        }
    };
    let status = if problem.is_some() {
        axum::http::StatusCode::UNAUTHORIZED
    } else {
        axum::http::StatusCode::OK
    };
    (status, layout::bare_page("Sign in", &body)).into_response()
}

/// The sign-in form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct SignInForm {
    /// An API key of this server (`cs_…`).
    key: String,
    /// Where to go once signed in: a path of this server; anything else goes to the calls
    /// page.
    #[serde(default)]
    next: Option<String>,
}

/// Signs in with an API key.
///
/// A live key opens a session with the key's organization and scopes, kept in an HttpOnly,
/// SameSite=Strict cookie, and sends the visitor on to `next`. The session ends when it
/// expires, on sign-out, or when the key is revoked. An unknown or revoked key gets the form
/// back with the reason.
#[utoipa::path(
    post,
    path = "/sign-in",
    tag = "dashboard",
    operation_id = "dashboard_sign_in",
    security(()),
    request_body(content = SignInForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: on to `next` with the session cookie", headers(
            ("Location" = String, description = "`next`, or `/calls`"),
            ("Set-Cookie" = String, description = "The session cookie, `callscope_session`"),
        )),
        (status = 400, description = "A form without `key`, or a body that is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 401, description = "Not a live API key of this server: the form again, with the reason", content_type = "text/html", body = String),
        (status = 403, description = "The form was posted from another site", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    FormBody(form): FormBody<SignInForm>,
) -> Result<Response, PageError> {
    refuse_cross_origin(&headers)?;
    let next = safe_next(form.next.as_deref()).to_owned();
    let ttl = state.config.session_ttl;
    let Some(opened) = state.store.open_session(form.key.trim(), ttl).await? else {
        return Ok(sign_in_form(
            &next,
            Some("That key is not a live API key of this server."),
        ));
    };
    let mut response = Redirect::to(&next).into_response();
    if let Some(value) = cookie(&state, &opened.token, ttl.as_secs()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A form that only acts: the session's CSRF token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CsrfForm {
    /// The session's CSRF token, as the page's form carries it.
    #[serde(default)]
    pub csrf: String,
}

/// A form that deletes something: the CSRF token and the ticked confirmation box.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ConfirmedForm {
    /// The session's CSRF token, as the page's form carries it.
    #[serde(default)]
    pub csrf: String,
    /// `yes` when the confirmation box is ticked; without it nothing is deleted.
    #[serde(default)]
    confirm: String,
}

impl ConfirmedForm {
    /// Refuses the form unless its box is ticked; `what` names what it deletes.
    pub(crate) fn confirmed(&self, what: &str) -> Result<(), ApiError> {
        if self.confirm == "yes" {
            Ok(())
        } else {
            Err(ApiError::InvalidParameter(format!(
                "confirm: tick the box to delete {what}"
            )))
        }
    }
}

/// Signs out: ends the session and clears its cookie.
#[utoipa::path(
    post,
    path = "/sign-out",
    tag = "dashboard",
    operation_id = "dashboard_sign_out",
    security(("session" = [])),
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out, to `/sign-in` with the cookie cleared; or, without a live session, to `/sign-in` with nothing done", headers(
            ("Location" = String, description = "`/sign-in`"),
        )),
        (status = 400, description = "A body that is not a URL-encoded form", content(
            (String = "text/html"),
            (ErrorBody = "application/json"),
        )),
        (status = 403, description = "The form's CSRF token is missing or stale, or the form was posted from another site", content_type = "text/html", body = String),
    ),
)]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    viewer: Viewer,
    FormBody(form): FormBody<CsrfForm>,
) -> Result<Response, PageError> {
    viewer.check_csrf(&form.csrf)?;
    state.store.close_session(&viewer.token).await?;
    let mut response = Redirect::to("/sign-in").into_response();
    if let Some(value) = cookie(&state, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/calls?agent=a")), "/calls?agent=a");
        for hostile in [
            "https://evil.example",
            "//evil.example/x",
            "/\\evil.example",
            "calls",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/calls", "{hostile}");
        }
        assert_eq!(safe_next(None), "/calls");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; callscope_session=abc123 ; x=y"),
        );
        assert_eq!(session_cookie(&headers), Some("abc123"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("callscope_session="),
        );
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn an_origin_is_reduced_to_its_host() {
        assert_eq!(origin_host("http://127.0.0.1:8080"), Some("127.0.0.1:8080"));
        assert_eq!(origin_host("null"), None);
    }
}
