//! The one outcome type and the one classifier: what happened on an upstream attempt,
//! and who is to blame for it.
//!
//! Every attempt ends in exactly one [`Outcome`]. Its [`Blame`] decides what routing
//! learns: only [`Blame::Account`] and [`Blame::Upstream`] outcomes feed AIMD, the
//! breaker, health and lockouts ([`Outcome::feedback`]); a client's fault (a request the
//! upstream refused, or one the gateway could not even form) and the gateway's own
//! refusals are never charged to an account.
//!
//! # Dead credentials
//! A refusal of the credential itself is [`Outcome::Revoked`]: the account is marked
//! `forbidden` and skipped until verified ([`crate::pool::status`]). Which answers say so:
//! - any 401, from every provider (OpenAI `invalid_api_key`, Anthropic
//!   `authentication_error`, Gemini `UNAUTHENTICATED`, OpenRouter's "no auth");
//! - a JSON body whose class is an authentication failure, whatever the status (Gemini
//!   answers a bad key with 400 `INVALID_ARGUMENT` and reason `API_KEY_INVALID`);
//! - a 403 from OpenAI-protocol providers and Anthropic (`permission_error`: the key's
//!   organisation, region or scopes do not allow the call), except a 403 whose body
//!   classes it as the request's fault (OpenRouter's moderation refusals) — that goes
//!   back to the client;
//! - a Gemini 403 only when the decoder classed it as an authentication failure (a key
//!   or project that is blocked, suspended or lacks the API); any other Gemini
//!   `PERMISSION_DENIED` is about a resource the request named (a tuned model, a file, a
//!   cached content) and stays [`Outcome::AuthFailed`]: the account's fault for this
//!   request, retried elsewhere, but not marked.
//!
//! A 403 that is not JSON (an HTML page from a proxy or firewall in the way) says
//! nothing about the credential: [`Outcome::AuthFailed`].

use crate::pool::{Feedback, RateLimitHint};
use crate::translate::{FaultKind, UpstreamFault};
use crate::upstream::{UpstreamError, retry_after};
use http::{HeaderMap, StatusCode};
use std::time::Duration;
use switchyard_types::Protocol;

/// Who an outcome is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// Nobody: the answer was relayed.
    None,
    /// The client's request: passed back, never retried, never charged.
    Client,
    /// This account (its credential, quota or rate limit): try another.
    Account,
    /// The provider behind the account (5xx, overload, unreadable answers, resets).
    Upstream,
    /// The gateway itself (memory budget, a bug): not the account's doing.
    Gateway,
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A relayable answer, committed to the client.
    Relayed,
    /// The upstream refused the request itself (a 4xx other than 401/403/429): every
    /// account would refuse it alike, so it goes back to the client.
    ClientError,
    /// The gateway could not form an upstream request from the client's input (a model
    /// name that makes no URL, a body that does not translate): 400, no upstream call.
    Unformable,
    /// 429: this account is rate limited for this model.
    RateLimited { retry_after: Option<Duration> },
    /// Credits, quota or a spend limit exhausted (from the error body).
    QuotaExhausted {
        reset_in: Option<Duration>,
        all_models: bool,
    },
    /// 503 / 529, or a stream that opened with an overload error event.
    Overloaded,
    /// Another 5xx.
    ServerError,
    /// An answer that cannot be relayed: a redirect, an unreadable 200 (HTML, garbage,
    /// a compressed body without its encoding), an HTML error page, a stream that
    /// broke or carried an error before its first event.
    BadAnswer,
    /// A 403 that does not condemn the credential (see the module docs): try another
    /// account, mark nothing.
    AuthFailed,
    /// No connection, or it was reset before the headers.
    Unreachable,
    /// No headers (or no first event) in time.
    Timeout,
    /// The gateway refused to go on (over its memory budget); nothing learnt.
    Refused,
    /// The provider refused the credential itself (see the module docs): the account is
    /// marked `forbidden` until verified.
    Revoked,
}

impl Outcome {
    /// Every outcome, for metric label sets.
    pub const ALL: [Self; 13] = [
        Self::Relayed,
        Self::ClientError,
        Self::Unformable,
        Self::RateLimited { retry_after: None },
        Self::QuotaExhausted {
            reset_in: None,
            all_models: false,
        },
        Self::Overloaded,
        Self::ServerError,
        Self::BadAnswer,
        Self::AuthFailed,
        Self::Unreachable,
        Self::Timeout,
        Self::Refused,
        Self::Revoked,
    ];

    pub const fn blame(self) -> Blame {
        match self {
            Self::Relayed => Blame::None,
            Self::ClientError | Self::Unformable => Blame::Client,
            Self::RateLimited { .. }
            | Self::QuotaExhausted { .. }
            | Self::AuthFailed
            | Self::Revoked => Blame::Account,
            Self::Overloaded
            | Self::ServerError
            | Self::BadAnswer
            | Self::Unreachable
            | Self::Timeout => Blame::Upstream,
            Self::Refused => Blame::Gateway,
        }
    }

    /// Whether another account may do better (only before anything reached the client).
    pub const fn is_retriable(self) -> bool {
        matches!(self.blame(), Blame::Account | Blame::Upstream)
    }

    /// A stable label (metrics, the request log).
    pub const fn label(self) -> &'static str {
        match self {
            Self::Relayed => "relayed",
            Self::ClientError => "client_error",
            Self::Unformable => "unformable",
            Self::RateLimited { .. } => "rate_limited",
            Self::QuotaExhausted { .. } => "quota_exhausted",
            Self::Overloaded => "overloaded",
            Self::ServerError => "server_error",
            Self::BadAnswer => "bad_answer",
            Self::AuthFailed => "auth_failed",
            Self::Unreachable => "unreachable",
            Self::Timeout => "timeout",
            Self::Refused => "refused",
            Self::Revoked => "revoked",
        }
    }

    /// Index into [`Self::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Self::Relayed => 0,
            Self::ClientError => 1,
            Self::Unformable => 2,
            Self::RateLimited { .. } => 3,
            Self::QuotaExhausted { .. } => 4,
            Self::Overloaded => 5,
            Self::ServerError => 6,
            Self::BadAnswer => 7,
            Self::AuthFailed => 8,
            Self::Unreachable => 9,
            Self::Timeout => 10,
            Self::Refused => 11,
            Self::Revoked => 12,
        }
    }

    /// What routing learns from this outcome. `latency`: time to the upstream's headers.
    pub fn feedback(self, latency: Duration, hint: Option<RateLimitHint>) -> Feedback {
        match self {
            Self::Relayed => Feedback::Success { latency, hint },
            Self::RateLimited { retry_after } => Feedback::RateLimited { retry_after },
            Self::QuotaExhausted {
                reset_in,
                all_models,
            } => Feedback::QuotaExhausted {
                reset_in,
                all_models,
            },
            Self::Overloaded => Feedback::Overloaded { latency },
            Self::Revoked => Feedback::Revoked,
            Self::ServerError
            | Self::BadAnswer
            | Self::AuthFailed
            | Self::Unreachable
            | Self::Timeout => Feedback::Failure { latency },
            Self::ClientError | Self::Unformable | Self::Refused => Feedback::Neutral,
        }
    }
}

/// Classify an upstream answer by its status, headers and (for errors) the decoded error
/// body. `body_is_json`: whether an error body was the protocol's JSON at all — an HTML
/// 4xx page is a misconfigured account or a proxy in the way, not a verdict on the
/// request.
pub fn classify_answer(
    protocol: Protocol,
    status: StatusCode,
    headers: &HeaderMap,
    fault: Option<&UpstreamFault>,
    body_is_json: bool,
) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        return Outcome::Relayed;
    }
    if body_is_json
        && fault.is_some_and(|f| f.kind == FaultKind::Authentication)
        && status.is_client_error()
    {
        return Outcome::Revoked;
    }
    if fault.is_some_and(|f| f.kind == FaultKind::QuotaExhausted) {
        let reset_in = fault
            .and_then(|f| f.retry_after_ms)
            .map(Duration::from_millis)
            .or_else(|| retry_after(headers));
        return Outcome::QuotaExhausted {
            reset_in,
            // Gemini's quotas are per model; the others' credits are per account.
            all_models: protocol != Protocol::Gemini,
        };
    }
    match code {
        429 => Outcome::RateLimited {
            retry_after: retry_after(headers).or_else(|| {
                fault
                    .and_then(|f| f.retry_after_ms)
                    .map(Duration::from_millis)
            }),
        },
        401 => Outcome::Revoked,
        403 => forbidden_verdict(protocol, fault, body_is_json),
        503 | 529 => Outcome::Overloaded,
        408 | 504 => Outcome::Timeout,
        500..=599 => Outcome::ServerError,
        // Redirects are not followed: an upstream that redirects is misconfigured.
        100..=399 => Outcome::BadAnswer,
        _ if !body_is_json => Outcome::BadAnswer,
        _ => Outcome::ClientError,
    }
}

/// What a 403 says (see the module docs).
fn forbidden_verdict(
    protocol: Protocol,
    fault: Option<&UpstreamFault>,
    body_is_json: bool,
) -> Outcome {
    if !body_is_json {
        return Outcome::AuthFailed;
    }
    match (protocol, fault.map(|f| f.kind)) {
        (_, Some(FaultKind::InvalidRequest)) => Outcome::ClientError,
        (Protocol::Gemini, _) => Outcome::AuthFailed,
        _ => Outcome::Revoked,
    }
}

/// Classify a failure to get an answer at all.
pub fn classify_transport(error: &UpstreamError) -> Outcome {
    match error {
        UpstreamError::Timeout(_) => Outcome::Timeout,
        UpstreamError::Connect(_) | UpstreamError::Request(_) => Outcome::Unreachable,
        UpstreamError::Unformable(_) => Outcome::Unformable,
        // The gateway's own limits: not the account's doing, and no account would do
        // better.
        UpstreamError::Client(_) | UpstreamError::OverBudget | UpstreamError::TooLarge(_) => {
            Outcome::Refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn fault(kind: FaultKind, retry_after_ms: Option<u64>) -> UpstreamFault {
        UpstreamFault {
            message: "m".into(),
            kind,
            retry_after_ms,
        }
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn statuses_map_to_outcomes_and_blame() {
        let h = HeaderMap::new();
        let c = |code: u16| classify_answer(Protocol::OpenAi, status(code), &h, None, true);
        assert_eq!(c(200), Outcome::Relayed);
        assert_eq!(c(429), Outcome::RateLimited { retry_after: None });
        assert_eq!(c(529), Outcome::Overloaded);
        assert_eq!(c(500), Outcome::ServerError);
        assert_eq!(c(401), Outcome::Revoked);
        assert_eq!(c(403), Outcome::Revoked);
        assert_eq!(c(400), Outcome::ClientError);
        assert_eq!(
            c(302),
            Outcome::BadAnswer,
            "redirects are the upstream's fault"
        );
        assert_eq!(c(504), Outcome::Timeout);
        assert!(c(502).is_retriable());
        assert!(!c(404).is_retriable());
        let html_404 = classify_answer(Protocol::OpenAi, status(404), &h, None, false);
        assert_eq!(html_404, Outcome::BadAnswer, "an HTML 404 is no verdict");
        assert!(html_404.is_retriable());
    }

    #[test]
    fn dead_credentials_are_told_from_other_refusals() {
        let h = HeaderMap::new();
        let auth = fault(FaultKind::Authentication, None);
        let denied = fault(FaultKind::PermissionDenied, None);
        let invalid = fault(FaultKind::InvalidRequest, None);
        // Gemini answers a bad key with 400 API_KEY_INVALID.
        assert_eq!(
            classify_answer(Protocol::Gemini, status(400), &h, Some(&auth), true),
            Outcome::Revoked
        );
        // A Gemini 403 about a resource is not a dead key; one classed as auth is.
        assert_eq!(
            classify_answer(Protocol::Gemini, status(403), &h, Some(&denied), true),
            Outcome::AuthFailed
        );
        assert_eq!(
            classify_answer(Protocol::Gemini, status(403), &h, Some(&auth), true),
            Outcome::Revoked
        );
        // Anthropic permission_error and OpenAI 403s condemn the key.
        assert_eq!(
            classify_answer(Protocol::Anthropic, status(403), &h, Some(&denied), true),
            Outcome::Revoked
        );
        // OpenRouter's moderation 403 is the request's fault.
        assert_eq!(
            classify_answer(Protocol::OpenAi, status(403), &h, Some(&invalid), true),
            Outcome::ClientError
        );
        // An HTML 403 from a proxy says nothing about the key.
        assert_eq!(
            classify_answer(Protocol::OpenAi, status(403), &h, Some(&denied), false),
            Outcome::AuthFailed
        );
        assert_eq!(
            classify_answer(Protocol::Anthropic, status(401), &h, Some(&auth), true),
            Outcome::Revoked
        );
        assert_eq!(Outcome::Revoked.blame(), Blame::Account);
        assert!(Outcome::Revoked.is_retriable());
    }

    #[test]
    fn quota_comes_from_the_body_and_is_per_model_only_for_gemini() {
        let h = HeaderMap::new();
        let f = fault(FaultKind::QuotaExhausted, Some(1500));
        assert_eq!(
            classify_answer(Protocol::Gemini, status(429), &h, Some(&f), true),
            Outcome::QuotaExhausted {
                reset_in: Some(Duration::from_millis(1500)),
                all_models: false
            }
        );
        assert_eq!(
            classify_answer(Protocol::Anthropic, status(400), &h, Some(&f), true),
            Outcome::QuotaExhausted {
                reset_in: Some(Duration::from_millis(1500)),
                all_models: true
            }
        );
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(
            classify_answer(Protocol::OpenAi, status(429), &h, None, true),
            Outcome::RateLimited {
                retry_after: Some(Duration::from_secs(3))
            }
        );
    }

    #[test]
    fn only_account_and_upstream_faults_reach_routing() {
        for outcome in Outcome::ALL {
            let feedback = outcome.feedback(Duration::ZERO, None);
            let neutral = feedback == Feedback::Neutral;
            match outcome.blame() {
                Blame::Client | Blame::Gateway => assert!(neutral, "{outcome:?}"),
                Blame::Account | Blame::Upstream => assert!(!neutral, "{outcome:?}"),
                Blame::None => assert!(matches!(feedback, Feedback::Success { .. })),
            }
            assert_eq!(Outcome::ALL[outcome.index()].label(), outcome.label());
        }
        assert_eq!(
            classify_transport(&UpstreamError::Unformable("model".into())).blame(),
            Blame::Client
        );
        assert_eq!(
            classify_transport(&UpstreamError::Connect("refused".into())).blame(),
            Blame::Upstream
        );
    }
}
