//! The management API's error body. Proxy routes answer in the client protocol's own
//! error shape instead (see `switchyard-server`'s `error` module).

use serde::{Deserialize, Serialize};

/// `{"error": {...}}` as returned by every `/api/*` route on failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub error: ApiError,
}

/// One management API error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `invalid_field`, `not_found`, `unauthorized`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The offending request field, when one is to blame (e.g. `models[2]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
