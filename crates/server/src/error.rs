//! `ApiError`: every failure a handler can return, rendered in one place as the
//! `{"error", "code"}` body of seed 002 with the matching status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callscope_model::ValidationError;
use callscope_store::StoreError;
use serde::Serialize;

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
    MethodNotAllowed(String),
    /// The message is logged; the client sees a fixed sentence.
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    code: &'static str,
}

impl ApiError {
    /// A call the caller's organization does not have (or that is gone).
    pub(crate) fn call_not_found(id: &str) -> Self {
        Self::NotFound(format!("call `{id}` not found"))
    }

    /// The one table of status and code per kind.
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::InvalidParameter(_) => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
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
            Self::Forbidden(message)
            | Self::NotFound(message)
            | Self::InvalidParameter(message)
            | Self::Conflict(message)
            | Self::PayloadTooLarge(message)
            | Self::MethodNotAllowed(message)
            | Self::Internal(message) => f.write_str(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            Self::Unauthorized => "Unauthorized",
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed inside the server");
                "internal error; the cause is in the server log"
            }
            Self::Forbidden(message)
            | Self::NotFound(message)
            | Self::InvalidParameter(message)
            | Self::Conflict(message)
            | Self::PayloadTooLarge(message)
            | Self::MethodNotAllowed(message) => message,
        };
        (
            status,
            Json(ErrorBody {
                error: message,
                code,
            }),
        )
            .into_response()
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
