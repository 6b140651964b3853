//! Gemini error body (`google.rpc.Status`, protocols.md §3.6) → [`UpstreamFault`].

use serde_json::Value;

use super::wire::{ErrorBody, Status};
use crate::translate::{FaultKind, UpstreamFault};

/// Longest message kept from a body that is not Gemini's JSON (e.g. an HTML proxy page).
const MAX_RAW_MESSAGE: usize = 1000;

pub fn decode_error(status: u16, body: &[u8]) -> UpstreamFault {
    let parsed = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .or_else(|| {
            serde_json::from_slice::<Vec<ErrorBody>>(body)
                .ok()
                .and_then(|list| list.into_iter().next())
        })
        .map(|b| b.error);
    let Some(error) = parsed else {
        let raw = String::from_utf8_lossy(body);
        let raw = raw.trim();
        let message = if raw.is_empty() {
            format!("HTTP {status}")
        } else {
            raw.chars().take(MAX_RAW_MESSAGE).collect()
        };
        let kind = kind_from_http(status, &[], &message);
        return UpstreamFault {
            message,
            kind,
            retry_after_ms: None,
        };
    };
    let kind = match error.status.as_deref() {
        Some(grpc) => kind_from_grpc(grpc, status, &error),
        None => kind_from_http(status, &error.details, &error.message),
    };
    let retry_after_ms = retry_delay(&error.details).or_else(|| retry_from_message(&error.message));
    let message = if error.message.is_empty() {
        format!("HTTP {status}")
    } else {
        error.message
    };
    UpstreamFault {
        message,
        kind,
        retry_after_ms,
    }
}

fn kind_from_grpc(grpc: &str, http: u16, error: &Status) -> FaultKind {
    match grpc {
        "RESOURCE_EXHAUSTED" => rate_or_quota(&error.details, &error.message),
        "UNAVAILABLE" => FaultKind::Overloaded,
        "UNAUTHENTICATED" => FaultKind::Authentication,
        "PERMISSION_DENIED" if key_refused(&error.details) => FaultKind::Authentication,
        "PERMISSION_DENIED" => FaultKind::PermissionDenied,
        "NOT_FOUND" => FaultKind::NotFound,
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => {
            if api_key_invalid(&error.details, &error.message) {
                FaultKind::Authentication
            } else {
                FaultKind::InvalidRequest
            }
        }
        "INTERNAL" | "UNKNOWN" | "DATA_LOSS" => FaultKind::Server,
        "DEADLINE_EXCEEDED" => FaultKind::Timeout,
        _ => kind_from_http(http, &error.details, &error.message),
    }
}

fn kind_from_http(status: u16, details: &[Value], message: &str) -> FaultKind {
    match status {
        400 if api_key_invalid(details, message) => FaultKind::Authentication,
        400 | 422 => FaultKind::InvalidRequest,
        401 => FaultKind::Authentication,
        403 if key_refused(details) => FaultKind::Authentication,
        403 => FaultKind::PermissionDenied,
        404 => FaultKind::NotFound,
        429 => rate_or_quota(details, message),
        503 => FaultKind::Overloaded,
        504 => FaultKind::Timeout,
        500..=599 => FaultKind::Server,
        _ => FaultKind::Other,
    }
}

/// The `@type` suffix of a detail (`google.rpc.QuotaFailure`).
fn is_type(detail: &Value, name: &str) -> bool {
    detail
        .get("@type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with(name))
}

/// A 429 is a short rate limit unless a daily quota or the prepaid credits ran out: then
/// waiting seconds will not help. ("…check your plan and billing details" appears in
/// per-minute messages too, so "billing" alone decides nothing.)
fn rate_or_quota(details: &[Value], message: &str) -> FaultKind {
    let daily_violation = details
        .iter()
        .filter(|d| is_type(d, "google.rpc.QuotaFailure"))
        .any(|d| {
            d.get("violations")
                .and_then(Value::as_array)
                .is_some_and(|violations| {
                    violations.iter().any(|v| {
                        ["quotaId", "quotaMetric"].iter().any(|k| {
                            v.get(*k)
                                .and_then(Value::as_str)
                                .is_some_and(|id| id.contains("PerDay"))
                        })
                    })
                })
        });
    let lower = message.to_ascii_lowercase();
    if daily_violation || message.contains("PerDay") || lower.contains("credits are depleted") {
        FaultKind::QuotaExhausted
    } else {
        FaultKind::RateLimited
    }
}

/// `google.rpc.ErrorInfo` reasons of a `PERMISSION_DENIED` that condemn the key or its
/// project rather than a resource the request named (a tuned model, a file).
const KEY_REFUSALS: &[&str] = &[
    "API_KEY_INVALID",
    "API_KEY_SERVICE_BLOCKED",
    "API_KEY_HTTP_REFERRER_BLOCKED",
    "API_KEY_IP_ADDRESS_BLOCKED",
    "API_KEY_ANDROID_APP_BLOCKED",
    "API_KEY_IOS_APP_BLOCKED",
    "SERVICE_DISABLED",
    "CONSUMER_SUSPENDED",
    "BILLING_DISABLED",
];

fn key_refused(details: &[Value]) -> bool {
    details
        .iter()
        .filter(|d| is_type(d, "google.rpc.ErrorInfo"))
        .filter_map(|d| d.get("reason").and_then(Value::as_str))
        .any(|reason| KEY_REFUSALS.contains(&reason))
}

fn api_key_invalid(details: &[Value], message: &str) -> bool {
    details
        .iter()
        .filter(|d| is_type(d, "google.rpc.ErrorInfo"))
        .any(|d| d.get("reason").and_then(Value::as_str) == Some("API_KEY_INVALID"))
        || message.contains("API key not valid")
}

/// `google.rpc.RetryInfo.retryDelay` (a Duration: `"36s"`, `"1.5s"`) in milliseconds.
fn retry_delay(details: &[Value]) -> Option<u64> {
    details
        .iter()
        .filter(|d| is_type(d, "google.rpc.RetryInfo"))
        .find_map(|d| d.get("retryDelay").and_then(Value::as_str))
        .and_then(|delay| seconds_to_ms(delay.trim().strip_suffix('s')?))
}

/// "… Please retry in 36.4s." when no RetryInfo came.
fn retry_from_message(message: &str) -> Option<u64> {
    let rest = &message[message.find("retry in ")? + "retry in ".len()..];
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let unit = &rest[number.len()..];
    if unit.starts_with("ms") {
        let ms: f64 = number.parse().ok()?;
        return (ms.is_finite() && ms >= 0.0).then(|| ms.round() as u64);
    }
    if unit.starts_with('s') {
        seconds_to_ms(&number)
    } else {
        None
    }
}

fn seconds_to_ms(seconds: &str) -> Option<u64> {
    let s: f64 = seconds.parse().ok()?;
    (s.is_finite() && s >= 0.0).then(|| (s * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(status: u16, body: &str) -> UpstreamFault {
        decode_error(status, body.as_bytes())
    }

    #[test]
    fn per_minute_429_is_a_rate_limit_with_its_retry_delay() {
        let f = fault(
            429,
            r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. Please retry in 36.4s.","status":"RESOURCE_EXHAUSTED",
              "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaValue":"10"}]},
                         {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"36s"}]}}"#,
        );
        assert_eq!(f.kind, FaultKind::RateLimited);
        assert_eq!(f.retry_after_ms, Some(36_000));
        assert!(f.message.starts_with("You exceeded your current quota"));
    }

    #[test]
    fn daily_quota_is_exhausted() {
        let f = fault(
            429,
            r#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED",
              "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaValue":"20"}]},
                         {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                         {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#,
        );
        assert_eq!(f.kind, FaultKind::QuotaExhausted);
        assert_eq!(f.retry_after_ms, Some(1500));
        // A message naming a daily quota id is enough.
        let f = fault(
            429,
            r#"{"error":{"code":429,"message":"Quota exceeded for quota id GenerateRequestsPerDayPerProject","status":"RESOURCE_EXHAUSTED"}}"#,
        );
        assert_eq!(f.kind, FaultKind::QuotaExhausted);
        assert_eq!(f.retry_after_ms, None);
        let f = fault(
            429,
            r#"{"error":{"code":429,"message":"Your prepayment credits are depleted. Please go to AI Studio to manage your project and billing.","status":"RESOURCE_EXHAUSTED"}}"#,
        );
        assert_eq!(f.kind, FaultKind::QuotaExhausted);
    }

    #[test]
    fn a_permission_denied_condemns_the_key_only_for_key_or_project_reasons() {
        let denied = |reason: &str| {
            format!(
                r#"{{"error":{{"code":403,"message":"denied","status":"PERMISSION_DENIED","details":[{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"{reason}","domain":"googleapis.com"}}]}}}}"#
            )
        };
        assert_eq!(
            fault(403, &denied("SERVICE_DISABLED")).kind,
            FaultKind::Authentication
        );
        assert_eq!(
            fault(403, &denied("API_KEY_SERVICE_BLOCKED")).kind,
            FaultKind::Authentication
        );
        let tuned = r#"{"error":{"code":403,"message":"You do not have permission to access tuned model tunedModels/x","status":"PERMISSION_DENIED"}}"#;
        assert_eq!(fault(403, tuned).kind, FaultKind::PermissionDenied);
    }

    #[test]
    fn statuses_map_to_kinds() {
        let cases = [
            (
                503,
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                FaultKind::Overloaded,
            ),
            (
                400,
                "INVALID_ARGUMENT",
                "Invalid JSON payload received. Unknown name \"const\"",
                FaultKind::InvalidRequest,
            ),
            (
                400,
                "FAILED_PRECONDITION",
                "User location is not supported for the API use.",
                FaultKind::InvalidRequest,
            ),
            (
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
                FaultKind::Authentication,
            ),
            (
                403,
                "PERMISSION_DENIED",
                "Permission denied on resource project.",
                FaultKind::PermissionDenied,
            ),
            (
                404,
                "NOT_FOUND",
                "models/gemini-9 is not found",
                FaultKind::NotFound,
            ),
            (
                500,
                "INTERNAL",
                "An internal error has occurred.",
                FaultKind::Server,
            ),
            (
                504,
                "DEADLINE_EXCEEDED",
                "Deadline expired before operation could complete.",
                FaultKind::Timeout,
            ),
        ];
        for (code, status, message, kind) in cases {
            let body =
                serde_json::json!({"error": {"code": code, "message": message, "status": status}})
                    .to_string();
            let f = fault(code, &body);
            assert_eq!(f.kind, kind, "{status}");
            assert_eq!(f.message, message);
        }
    }

    #[test]
    fn invalid_api_key_is_authentication() {
        let f = fault(
            400,
            r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
              "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
        );
        assert_eq!(f.kind, FaultKind::Authentication);
    }

    #[test]
    fn bodies_that_are_not_gemini_json() {
        let f = fault(502, "<html>Bad Gateway</html>");
        assert_eq!(
            (f.kind, f.message.as_str()),
            (FaultKind::Server, "<html>Bad Gateway</html>")
        );
        let f = fault(429, "");
        assert_eq!(
            (f.kind, f.message.as_str()),
            (FaultKind::RateLimited, "HTTP 429")
        );
        // The array form of a streamed error.
        let f = fault(
            503,
            r#"[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]"#,
        );
        assert_eq!(f.kind, FaultKind::Overloaded);
        // No status: the HTTP code decides.
        let f = fault(
            429,
            r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota)."}}"#,
        );
        assert_eq!(f.kind, FaultKind::RateLimited);
        assert_eq!(retry_from_message("Please retry in 250ms"), Some(250));
        assert_eq!(retry_from_message("retry in soon"), None);
    }
}
