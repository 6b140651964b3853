//! decode_error: the class comes from the body, not the status alone.

use serde_json::json;

use super::super::AnthropicCodec;
use crate::translate::{Codec, FaultKind, UpstreamFault};

fn fault(status: u16, body: &serde_json::Value) -> UpstreamFault {
    AnthropicCodec::decode_error(status, body.to_string().as_bytes())
}

fn body(kind: &str, message: &str) -> serde_json::Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
}

#[test]
fn error_types_map_to_fault_kinds() {
    let cases = [
        (
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            FaultKind::RateLimited,
        ),
        (529, "overloaded_error", "Overloaded", FaultKind::Overloaded),
        (
            400,
            "invalid_request_error",
            "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'",
            FaultKind::InvalidRequest,
        ),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
            FaultKind::InvalidRequest,
        ),
        (
            401,
            "authentication_error",
            "invalid x-api-key",
            FaultKind::Authentication,
        ),
        (
            403,
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
            FaultKind::PermissionDenied,
        ),
        (
            404,
            "not_found_error",
            "model: claude-nope",
            FaultKind::NotFound,
        ),
        (500, "api_error", "Internal server error", FaultKind::Server),
        (
            504,
            "timeout_error",
            "Request timed out",
            FaultKind::Timeout,
        ),
        (
            402,
            "billing_error",
            "Payment required",
            FaultKind::QuotaExhausted,
        ),
        (
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
            FaultKind::QuotaExhausted,
        ),
        (
            400,
            "invalid_request_error",
            "You have reached your specified API usage limits. You will regain access on 2025-09-01 at 00:00 UTC.",
            FaultKind::QuotaExhausted,
        ),
        // An overloaded status wins over a vague type.
        (529, "api_error", "Overloaded", FaultKind::Overloaded),
        // An unknown type falls back to the status.
        (429, "brand_new_error", "slow down", FaultKind::RateLimited),
        (418, "brand_new_error", "teapot", FaultKind::Other),
    ];
    for (status, kind, message, expected) in cases {
        let f = fault(status, &body(kind, message));
        assert_eq!(f.kind, expected, "{status} {kind}");
        assert_eq!(f.message, message, "the message is kept verbatim");
        assert_eq!(f.retry_after_ms, None);
    }
}

#[test]
fn a_spend_limit_is_an_exhausted_quota_not_a_rate_limit() {
    let b = json!({"type": "error", "error": {"type": "rate_limit_error",
        "message": "This request would exceed your organization's monthly spend limit.",
        "details": {"error_code": "enforced_spend_limit_reached"}}});
    assert_eq!(fault(429, &b).kind, FaultKind::QuotaExhausted);
}

#[test]
fn unreadable_bodies_keep_their_text_and_use_the_status() {
    let html = format!(
        "<html><body>{}</body></html>",
        "502 Bad Gateway ".repeat(100)
    );
    let f = AnthropicCodec::decode_error(502, html.as_bytes());
    assert_eq!(f.kind, FaultKind::Server);
    assert_eq!(f.message.chars().count(), 500);
    assert!(f.message.starts_with("<html>"));

    let f = AnthropicCodec::decode_error(529, b"");
    assert_eq!(f.kind, FaultKind::Overloaded);
    assert_eq!(f.message, "HTTP 529 with an empty body");

    let cases = [
        (400, FaultKind::InvalidRequest),
        (401, FaultKind::Authentication),
        (402, FaultKind::QuotaExhausted),
        (403, FaultKind::PermissionDenied),
        (404, FaultKind::NotFound),
        (429, FaultKind::RateLimited),
        (503, FaultKind::Overloaded),
        (504, FaultKind::Timeout),
        (500, FaultKind::Server),
        (302, FaultKind::Other),
    ];
    for (status, kind) in cases {
        assert_eq!(
            AnthropicCodec::decode_error(status, "é".repeat(600).as_bytes()).kind,
            kind,
            "{status}"
        );
    }
    // A JSON body of another shape is unreadable too.
    let f = AnthropicCodec::decode_error(429, br#"{"error": "slow down"}"#);
    assert_eq!(f.kind, FaultKind::RateLimited);
    assert_eq!(f.message, r#"{"error": "slow down"}"#);
}
