//! Anthropic error bodies → [`UpstreamFault`] (protocols.md §2.7, §4.12).
//!
//! The class comes from `error.type`, refined by the body: a spend limit
//! (`error.details.error_code == "enforced_spend_limit_reached"`), a `billing_error`, or a
//! 400 about the credit balance or API usage limits is an exhausted quota (fail over; do
//! not retry on the account), not a rate limit or a bad request. An unreadable body keeps
//! its text (500 characters at most) and is classed by status.

use serde_json::Value;

use super::wire::{ErrorBodyIn, ErrorDetailIn};
use crate::translate::{FaultKind, UpstreamFault};

/// An upstream error response → fault.
pub fn decode_error(status: u16, body: &[u8]) -> UpstreamFault {
    let (message, kind) = match serde_json::from_slice::<ErrorBodyIn>(body) {
        Ok(ErrorBodyIn { error }) => {
            let kind = classify(status, &error);
            (
                error
                    .message
                    .unwrap_or_else(|| crate::translate::body_excerpt(status, body)),
                kind,
            )
        }
        Err(_) => (
            crate::translate::body_excerpt(status, body),
            FaultKind::from_status(status),
        ),
    };
    UpstreamFault {
        message,
        kind,
        retry_after_ms: None,
    }
}

fn classify(status: u16, error: &ErrorDetailIn) -> FaultKind {
    let kind = error.kind.as_deref().unwrap_or_default();
    let code = error
        .details
        .as_ref()
        .and_then(|d| d.get("error_code"))
        .and_then(Value::as_str);
    let message = error
        .message
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if code == Some("enforced_spend_limit_reached")
        || kind == "billing_error"
        || message.contains("credit balance")
        || message.contains("api usage limits")
    {
        return FaultKind::QuotaExhausted;
    }
    if status == 529 {
        return FaultKind::Overloaded;
    }
    match kind {
        "rate_limit_error" => FaultKind::RateLimited,
        "overloaded_error" => FaultKind::Overloaded,
        "authentication_error" => FaultKind::Authentication,
        "permission_error" => FaultKind::PermissionDenied,
        "not_found_error" => FaultKind::NotFound,
        "api_error" => FaultKind::Server,
        "timeout_error" => FaultKind::Timeout,
        "invalid_request_error" | "request_too_large" => FaultKind::InvalidRequest,
        _ => FaultKind::from_status(status),
    }
}
