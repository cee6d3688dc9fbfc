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
use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(crate) use calls::FacetCache;
pub(crate) use session::Viewer;

/// The dashboard's routes, at the root beside the API surfaces. Each page is in the OpenAPI
/// document under the `dashboard` tag, so that the document names every route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(root))
        .routes(routes!(session::sign_in_page, session::sign_in))
        .routes(routes!(session::sign_out))
        .routes(routes!(calls::page))
        .routes(routes!(export::csv))
        .routes(routes!(export::ndjson))
        .routes(routes!(call::page))
        .routes(routes!(call::delete))
        .routes(routes!(call::analyze))
        .routes(routes!(analytics::page))
        .routes(routes!(live::page))
        .routes(routes!(live::stream))
        .routes(routes!(settings::page))
        .routes(routes!(settings::create_key))
        .routes(routes!(settings::revoke_key))
        .routes(routes!(settings::recordings))
        .routes(routes!(settings::extractors))
        .routes(routes!(settings::create_webhook))
        .routes(routes!(settings::webhook, settings::update_webhook))
        .routes(routes!(settings::delete_webhook))
        .routes(routes!(settings::redeliver))
        .routes(routes!(app_css))
        .routes(routes!(app_js))
        .routes(routes!(icon_svg))
}

/// Sends the visitor to the calls page.
///
/// The dashboard has no page of its own at `/`; the calls page then sends a visitor without
/// a session on to sign in.
#[utoipa::path(
    get,
    path = "/",
    tag = "dashboard",
    operation_id = "dashboard_root",
    security(()),
    responses(
        (status = 303, description = "To the calls page", headers(("Location" = String, description = "`/calls`"))),
    ),
)]
async fn root() -> Redirect {
    Redirect::to("/calls")
}

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");
const ICON: &str = include_str!("assets/icon.svg");

/// The dashboard's stylesheet.
#[utoipa::path(
    get,
    path = "/assets/app.css",
    tag = "dashboard",
    operation_id = "dashboard_app_css",
    security(()),
    responses((status = 200, description = "The stylesheet, cacheable for an hour", content_type = "text/css", body = String)),
)]
async fn app_css() -> Response {
    asset(CSS, "text/css")
}

/// The script the dashboard's pages share.
#[utoipa::path(
    get,
    path = "/assets/app.js",
    tag = "dashboard",
    operation_id = "dashboard_app_js",
    security(()),
    responses((status = 200, description = "The script, cacheable for an hour", content_type = "text/javascript", body = String)),
)]
async fn app_js() -> Response {
    asset(JS, "text/javascript")
}

/// The dashboard's icon.
#[utoipa::path(
    get,
    path = "/assets/icon.svg",
    tag = "dashboard",
    operation_id = "dashboard_icon_svg",
    security(()),
    responses((status = 200, description = "The icon, cacheable for an hour", content_type = "image/svg+xml", body = String)),
)]
async fn icon_svg() -> Response {
    asset(ICON, "image/svg+xml")
}

/// A compiled-in asset. Cached for an hour: the binary's assets change only with it.
fn asset(body: &'static str, content_type: &'static str) -> Response {
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
