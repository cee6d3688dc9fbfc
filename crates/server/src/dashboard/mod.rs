//! The web dashboard (DESIGN §7): server-rendered pages over the same store, tenancy and
//! scopes as the API. A page signs in with an API key once and then carries a session cookie
//! (`session.rs`); every page reads through the same `AppState` calls the API handlers use,
//! so a page can show nothing a key of its organization could not ask the API for.
//!
//! Pages are HTML built with maud (`layout.rs` holds the shell and the shared formatting);
//! the little script the pages use (`assets/app.js`) and the stylesheet are compiled into
//! the binary. Nothing is fetched from elsewhere.

mod analytics;
mod call;
mod calls;
mod export;
mod layout;
mod live;
mod search;
mod session;
mod settings;

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::de::DeserializeOwned;

pub(crate) use calls::FacetCache;
pub(crate) use session::Viewer;

/// The dashboard's routes, at the root beside the API surfaces.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/calls") }))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/calls", get(calls::page))
        .route("/calls.csv", get(export::csv))
        .route("/calls.ndjson", get(export::ndjson))
        .route("/calls/{id}", get(call::page))
        .route("/calls/{id}/delete", post(call::delete))
        .route("/calls/{id}/analyze", post(call::analyze))
        .route("/analytics", get(analytics::page))
        .route("/live", get(live::page))
        .route("/live/stream", get(live::stream))
        .route("/settings", get(settings::page))
        .route("/settings/keys", post(settings::create_key))
        .route("/settings/keys/{id}/revoke", post(settings::revoke_key))
        .route("/settings/recordings", post(settings::recordings))
        .route(
            "/settings/agents/{agent}/extractors",
            post(settings::extractors),
        )
        .route("/settings/webhooks", post(settings::create_webhook))
        .route(
            "/settings/webhooks/{id}",
            get(settings::webhook).post(settings::update_webhook),
        )
        .route(
            "/settings/webhooks/{id}/delete",
            post(settings::delete_webhook),
        )
        .route(
            "/settings/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(settings::redeliver),
        )
        .route("/assets/app.css", get(|| asset(CSS, "text/css")))
        .route("/assets/app.js", get(|| asset(JS, "text/javascript")))
        .route("/assets/icon.svg", get(|| asset(ICON, "image/svg+xml")))
}

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");
const ICON: &str = include_str!("assets/icon.svg");

/// A compiled-in asset. Cached for an hour: the binary's assets change only with it.
async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

/// Why a page could not be shown: a visitor without a live session is sent to sign in; any
/// other failure is the API's error, rendered as a page with the same status and sentence.
#[derive(Debug)]
pub(crate) enum PageError {
    SignIn { next: String },
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<callscope_store::StoreError> for PageError {
    fn from(error: callscope_store::StoreError) -> Self {
        Self::Api(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let target = format!("/sign-in?next={}", layout::encode_component(&next));
                Redirect::to(&target).into_response()
            }
            Self::Api(error) => {
                let (status, _) = error.status_and_code();
                layout::error_page(status, &error.public_message())
            }
        }
    }
}

/// A page's query string, with unknown or malformed parameters refused by name on a page.
#[derive(Debug)]
pub(crate) struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::InvalidParameter(rejection.body_text()).into())
    }
}

/// A URL-encoded form body, with a malformed one refused by name on a page.
#[derive(Debug)]
pub(crate) struct FormBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormBody<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, PageError> {
        Form::<T>::from_request(request, state)
            .await
            .map(|Form(value)| Self(value))
            .map_err(|rejection| ApiError::InvalidParameter(rejection.body_text()).into())
    }
}

/// Headers every dashboard page carries: no caching of tenant data, no framing, and a
/// content policy that admits only this server's own script and style.
fn page_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; media-src 'self'; \
             style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
}
