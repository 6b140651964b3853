use super::OpenAiCodec;
use crate::translate::{Codec, FaultKind};

fn fault(status: u16, body: &str) -> (FaultKind, String) {
    let f = OpenAiCodec::decode_error(status, body.as_bytes());
    assert_eq!(f.retry_after_ms, None);
    (f.kind, f.message)
}

#[test]
fn rate_limit_and_quota_are_told_apart() {
    let rate = r#"{"error":{"message":"Rate limit reached for gpt-4.1 in organization org-x on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;
    let (kind, message) = fault(429, rate);
    assert_eq!(kind, FaultKind::RateLimited);
    assert!(
        message.starts_with("Rate limit reached for gpt-4.1"),
        "{message}"
    );

    let quota = r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
    assert_eq!(
        fault(429, quota),
        (
            FaultKind::QuotaExhausted,
            "You exceeded your current quota, please check your plan and billing details."
                .to_owned()
        )
    );
    // OpenRouter: 402 for missing credits.
    assert_eq!(
        fault(
            402,
            r#"{"error":{"message":"Insufficient credits","code":402}}"#
        )
        .0,
        FaultKind::QuotaExhausted
    );
}

#[test]
fn statuses_map_to_kinds_and_messages_are_kept() {
    let invalid = r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#;
    let (kind, message) = fault(400, invalid);
    assert_eq!(kind, FaultKind::InvalidRequest);
    assert!(message.contains("max_completion_tokens"));
    for (status, want) in [
        (401, FaultKind::Authentication),
        (403, FaultKind::PermissionDenied),
        (404, FaultKind::NotFound),
        (422, FaultKind::InvalidRequest),
        (500, FaultKind::Server),
        (502, FaultKind::Server),
        (503, FaultKind::Overloaded),
        (504, FaultKind::Timeout),
        (418, FaultKind::Other),
    ] {
        assert_eq!(
            fault(status, r#"{"error":{"message":"m","type":"t"}}"#),
            (want, "m".to_owned()),
            "{status}"
        );
    }
    assert_eq!(
        fault(503, r#"{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error","code":"slow_down"}}"#).0,
        FaultKind::Overloaded
    );
}

#[test]
fn unreadable_bodies_keep_their_text_truncated() {
    assert_eq!(
        fault(502, "<html>Bad Gateway</html>"),
        (FaultKind::Server, "<html>Bad Gateway</html>".to_owned())
    );
    let long = "é".repeat(800);
    let (kind, message) = fault(500, &long);
    assert_eq!((kind, message.chars().count()), (FaultKind::Server, 500));
    assert_eq!(
        fault(504, ""),
        (FaultKind::Timeout, "HTTP 504 with an empty body".to_owned())
    );
    // Lenient shapes: a bare string error, a top-level message.
    assert_eq!(fault(400, r#"{"error":"bad model"}"#).1, "bad model");
    assert_eq!(
        fault(429, r#"{"message":"slow down"}"#),
        (FaultKind::RateLimited, "slow down".to_owned())
    );
    assert_eq!(
        fault(500, r#"{"error":{"code":1}}"#).1,
        r#"{"error":{"code":1}}"#
    );
}

#[test]
fn a_moderation_403_is_the_requests_fault_and_other_403s_are_not() {
    let flagged = r#"{"error":{"code":403,"message":"Input flagged for moderation","metadata":{"reasons":["violence"],"flagged_input":"..."}}}"#;
    assert_eq!(fault(403, flagged).0, FaultKind::InvalidRequest);
    let region = r#"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","type":"request_forbidden"}}"#;
    assert_eq!(fault(403, region).0, FaultKind::PermissionDenied);
}
