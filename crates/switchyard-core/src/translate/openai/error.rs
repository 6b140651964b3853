//! Upstream error bodies (`{"error":{"message","type","param","code"}}`) → [`UpstreamFault`].

use crate::translate::{FaultKind, UpstreamFault};
use serde_json::Value;

/// The kind comes from the status, except that `insufficient_quota` (as `code` or
/// `type`, whatever the status) is [`FaultKind::QuotaExhausted`]: the 429 of an
/// exhausted account must not be retried like a rate limit. Beyond the OpenAI table:
/// 402 (OpenRouter's "insufficient credits") is also an exhausted quota, 408 a timeout,
/// 413 an invalid request, 502 a server error and 529 an overload.
pub(super) fn decode_error(status: u16, body: &[u8]) -> UpstreamFault {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error").or(Some(v)));
    let message = match error {
        Some(Value::String(s)) => s.clone(),
        Some(e) => match e.get("message") {
            Some(Value::String(s)) => s.clone(),
            _ => crate::translate::body_excerpt(status, body),
        },
        None => crate::translate::body_excerpt(status, body),
    };
    let word = |key: &str| {
        error
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let quota = word("code") == "insufficient_quota" || word("type") == "insufficient_quota";
    // OpenRouter refuses flagged input with 403 and `metadata.flagged_input`: the
    // request's fault, not the key's.
    let flagged = status == 403
        && (error
            .and_then(|e| e.get("metadata"))
            .is_some_and(|m| m.get("flagged_input").is_some())
            || message.to_ascii_lowercase().contains("flagged"));
    UpstreamFault {
        message,
        kind: if quota {
            FaultKind::QuotaExhausted
        } else if flagged {
            FaultKind::InvalidRequest
        } else {
            FaultKind::from_status(status)
        },
        retry_after_ms: None,
    }
}
