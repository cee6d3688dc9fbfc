//! The store's error type: the caller's mistakes apart from internal failures.

use callscope_model::ValidationError;

/// Why a store operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist (for this organization).
    #[error("{0} not found")]
    NotFound(String),
    /// The operation contradicts the stored state.
    #[error("{0}")]
    Conflict(String),
    /// The input is not acceptable.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Something broke inside the store; the message is for logs, not for clients.
    #[error("internal store error: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Internal(format!("sqlite: {error}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        Self::Internal(format!("stored document: {error}"))
    }
}
