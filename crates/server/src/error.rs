//! `ApiError`: every failure a handler can return, rendered in one place as the
//! `{"error", "code"}` body of seed 002 with the matching status.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use callscope_model::ValidationError;
use callscope_store::StoreError;
use serde::Serialize;
use std::time::Duration;

/// A failed request.
#[derive(Debug)]
pub enum ApiError {
    /// No key, an unknown key or a revoked key. The body is always the same, so it does not
    /// tell which.
    Unauthorized,
    Forbidden(String),
    NotFound(String),
    InvalidParameter(String),
    Conflict(String),
    PayloadTooLarge(String),
    /// A body in an encoding or compression the route does not take.
    UnsupportedMediaType(String),
    MethodNotAllowed(String),
    /// The client was too slow: an upload stopped sending.
    RequestTimeout(String),
    /// A `Range` a file of `size` bytes cannot satisfy (answered with `Content-Range:
    /// bytes */size`, as RFC 9110 asks).
    RangeNotSatisfiable {
        size: u64,
    },
    /// The key sent more requests than its rate allows; try again after the wait.
    RateLimited {
        message: String,
        retry_after: Duration,
    },
    /// The server cannot take the request now (`OVERLOADED`, or `TIMEOUT` when it ran past
    /// its deadline); try again after the wait.
    Unavailable {
        code: &'static str,
        message: String,
        retry_after: Duration,
    },
    /// The message is logged; the client sees a fixed sentence.
    Internal(String),
}

/// The body of every failure.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": "limit: must be between 1 and 1000, got 0", "code": "INVALID_PARAMETER"}))]
pub(crate) struct ErrorBody<'a> {
    /// What went wrong, for a person: names the parameter or the limit at fault.
    error: &'a str,
    /// What went wrong, for a program: `INVALID_PARAMETER`, `NOT_FOUND`, `UNAUTHORIZED`,
    /// `FORBIDDEN`, `CONFLICT`, `PAYLOAD_TOO_LARGE`, `UNSUPPORTED_MEDIA_TYPE`,
    /// `METHOD_NOT_ALLOWED`, `REQUEST_TIMEOUT`, `RANGE_NOT_SATISFIABLE`, `RATE_LIMITED`,
    /// `OVERLOADED`, `TIMEOUT` or `INTERNAL`.
    code: &'static str,
}

/// How long a client told to come back should wait when nothing better is known.
const RETRY_SOON: Duration = Duration::from_secs(1);

impl ApiError {
    /// The server is at one of its bounds (`OVERLOADED`): come back in a moment.
    pub(crate) fn overloaded(message: String) -> Self {
        Self::Unavailable {
            code: "OVERLOADED",
            message,
            retry_after: RETRY_SOON,
        }
    }

    /// Waiting ran past its deadline (`TIMEOUT`): come back in a moment.
    pub(crate) fn timed_out(message: String) -> Self {
        Self::Unavailable {
            code: "TIMEOUT",
            message,
            retry_after: RETRY_SOON,
        }
    }

    /// A call the caller's organization does not have (or that is gone).
    pub(crate) fn call_not_found(id: &str) -> Self {
        Self::NotFound(format!("call `{id}` not found"))
    }

    /// The one table of status and code per kind.
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::InvalidParameter(_) => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
            }
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            Self::RequestTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "REQUEST_TIMEOUT"),
            Self::RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_NOT_SATISFIABLE")
            }
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            Self::Unavailable { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
        }
    }
}

impl std::fmt::Display for ApiError {
    /// The message, for logs and for the failure of background work; an internal error shows
    /// its cause.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unauthorized => f.write_str("unauthorized"),
            Self::RangeNotSatisfiable { size } => {
                write!(
                    f,
                    "the range lies outside the {size} bytes of the recording"
                )
            }
            Self::Forbidden(message)
            | Self::NotFound(message)
            | Self::InvalidParameter(message)
            | Self::Conflict(message)
            | Self::PayloadTooLarge(message)
            | Self::UnsupportedMediaType(message)
            | Self::MethodNotAllowed(message)
            | Self::RequestTimeout(message)
            | Self::RateLimited { message, .. }
            | Self::Unavailable { message, .. }
            | Self::Internal(message) => f.write_str(message),
        }
    }
}

impl ApiError {
    /// The sentence the client sees. An internal error's cause is logged here and replaced
    /// by a fixed sentence.
    pub(crate) fn public_message(&self) -> String {
        match self {
            Self::Unauthorized => "Unauthorized".to_owned(),
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed inside the server");
                "internal error; the cause is in the server log".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.public_message();
        let mut response = (
            status,
            Json(ErrorBody {
                error: &message,
                code,
            }),
        )
            .into_response();
        if let Self::RangeNotSatisfiable { size } = &self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        if let Self::RateLimited { retry_after, .. } | Self::Unavailable { retry_after, .. } = &self
        {
            // Whole seconds, rounded up: a client that waits that long finds room.
            let seconds = retry_after.as_millis().div_ceil(1000).max(1);
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(u64::try_from(seconds).unwrap_or(u64::MAX)),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::Invalid(invalid) => invalid.into(),
            StoreError::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<callscope_query::QueryError> for ApiError {
    fn from(error: callscope_query::QueryError) -> Self {
        Self::InvalidParameter(error.to_string())
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::InvalidParameter(error.to_string())
    }
}
