//! Extractors that turn a request into typed input or into an `ApiError`, so that even a
//! malformed body, query string or key gets the `{"error", "code"}` shape.

use crate::AppState;
use crate::error::ApiError;
use crate::request_log::RequestOwner;
use axum::body::Body;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use callscope_model::Scope;
use callscope_store::Principal;
use serde::de::DeserializeOwned;

/// A JSON body deserialized with the path of the offending field in any error.
///
/// The `Content-Type` is not checked: scripts that `curl -d` without a header are common
/// and the body's content decides anyway.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(request, state).await?.ok_or_else(|| {
            ApiError::InvalidParameter("request body is empty; expected JSON".into())
        })?;
        parse_json(&bytes).map(Self)
    }
}

/// Like [`JsonBody`], but an empty body means `T::default()`: for actions whose body only
/// adds optional detail (cancel a transfer, with or without a reason).
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        match read_body(request, state).await? {
            Some(bytes) => parse_json(&bytes).map(Self),
            None => Ok(Self(T::default())),
        }
    }
}

/// Middleware: reads every request body whole (up to `max_body_bytes`) before the request is
/// routed, so that a request refused before its handler reads the body (an unknown route, a
/// bad key, a bad path segment) still leaves the connection in step and open for the next
/// request: hyper closes a connection whose request body was left unread, and a client
/// still sending it sees a dropped connection instead of the answer. Recording uploads and
/// imports are streamed by their handlers under their own limits ([`is_streamed`]).
pub(crate) async fn read_whole_body(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_streamed(&request) {
        let mut response = next.run(request).await;
        // A refused upload may have left its bytes unread (refused before they were read, or
        // cut off midway): the connection cannot carry another request.
        if !response.status().is_success() {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        return response;
    }
    let (limit, name) = if crate::otlp::is_export(&request) {
        (
            state.config.otlp.max_decompressed_bytes,
            "otlp_max_decompressed_bytes",
        )
    } else {
        (state.config.max_body_bytes, "max_body_bytes")
    };
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>());
            let mut response = if too_large {
                body_rejection_too_large(name, limit)
            } else {
                ApiError::InvalidParameter(format!("cannot read the request body: {error}"))
            }
            .into_response();
            // The rest of the body is not read: say that the connection ends here.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// Whether `request`'s body is streamed by its handler (a recording upload, an import): the
/// layers that read bodies whole or bound a request's time leave it to the handler's own
/// limits and idle timeout.
pub(crate) fn is_streamed(request: &Request) -> bool {
    crate::recordings::is_upload(request) || crate::exchange::is_import(request)
}

/// A body past the limit `name` of `bytes`.
fn body_rejection_too_large(name: &str, bytes: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "request body is larger than the {bytes} bytes the server accepts {}",
        callscope_query::limit_note(name, bytes)
    ))
}

/// The request body, or `None` when it is empty or only whitespace.
async fn read_body(request: Request, state: &AppState) -> Result<Option<Bytes>, ApiError> {
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| body_rejection(&rejection, state.config.max_body_bytes))?;
    Ok((!bytes.iter().all(u8::is_ascii_whitespace)).then_some(bytes))
}

/// Deserializes a JSON body, naming the offending field in the error.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            ApiError::InvalidParameter(format!("malformed JSON body: {inner}"))
        } else {
            ApiError::InvalidParameter(format!("{path}: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::InvalidParameter(format!("malformed JSON body: {error}")))?;
    Ok(value)
}

fn body_rejection(rejection: &BytesRejection, max_body_bytes: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        body_rejection_too_large("max_body_bytes", max_body_bytes)
    } else {
        ApiError::InvalidParameter(format!("cannot read the request body: {rejection}"))
    }
}

/// Query-string parameters, with unknown and malformed ones refused by name.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::InvalidParameter(rejection.body_text()))
    }
}

/// Path segments (`/v1/calls/{id}`), with a segment that cannot be read (`%FF`, a wrong
/// recording channel) refused in the `{"error", "code"}` shape rather than axum's plain text.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|rejection| {
                ApiError::InvalidParameter(format!("path: {}", rejection.body_text()))
            })
    }
}

/// The authenticated caller: the key's organization and scopes.
///
/// The key is read from `Authorization: Bearer <key>` or from seed 001's `X-Vgai-Key`.
#[derive(Clone, Debug)]
pub struct Caller(pub Principal);

impl Caller {
    /// Refuses the request unless the key grants `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.0.allows(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this API key lacks the `{scope}` scope"
            )))
        }
    }

    /// The tenant every store call of this request is scoped to.
    pub fn organization(&self) -> &str {
        &self.0.organization_id
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = presented_key(parts).ok_or(ApiError::Unauthorized)?;
        let principal = state
            .store
            .authenticate(secret)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if let Some(owner) = parts.extensions.get::<RequestOwner>() {
            owner.set(&principal.organization_id, &principal.key_id);
        }
        state
            .guards
            .take_token(&principal.organization_id, &principal.key_id)?;
        Ok(Self(principal))
    }
}

fn presented_key(parts: &Parts) -> Option<&str> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    let vonage = || {
        parts
            .headers
            .get("x-vgai-key")
            .and_then(|value| value.to_str().ok())
    };
    bearer
        .or_else(vonage)
        .map(str::trim)
        .filter(|key| !key.is_empty())
}
