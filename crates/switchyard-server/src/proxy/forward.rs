//! The attempt loop.
//!
//! Try accounts one after another, in the order routing ranks them
//! ([`switchyard_core::pool`]), until one gives an answer worth relaying. An account
//! speaking the client's protocol gets the client's bytes unchanged (passthrough, here and
//! in [`super::relay`]); any other goes through [`super::translated`].
//!
//! Retriable outcomes — 429 or an exhausted quota, 5xx / overload, a refused account
//! credential, a failed connection, no headers in time, an error event at the very start
//! of a 200 stream — move on to the next account after a short backoff with jitter, within
//! an attempt budget and a total deadline. They are safe to retry because nothing has
//! reached the client yet: the response is only committed once an upstream's answer is
//! known to be relayable. A client error (other 4xx) is relayed, since every account
//! would refuse it alike. Every outcome is reported through the lease into AIMD, the
//! breaker, health, lockouts and session affinity.
//!
//! When every serving account is locked out, the request waits for the earliest lockout
//! to end if that is within `retry.max_wait_ms`, else answers 429 with `Retry-After` set
//! to when that lockout ends.

use super::relay::{self, Bootstrap};
use super::translated::{self, Translation};
use crate::error::ProxyError;
use crate::metrics::{AttemptResult, StreamOverhead};
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::pool::{Feedback, Lease, PoolAccount, Reach, Selection};
use switchyard_core::translate::{FaultKind, UpstreamFault, dispatch};
use switchyard_core::upstream::{
    Endpoint, Outcome, UpstreamError, UpstreamResponse, rate_limit_hint, read_bounded,
};
use switchyard_types::Protocol;
use tokio::time::Instant;

/// Retry-After used when a rate-limited upstream gave none.
pub(super) const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Longest single wait for a free slot before selecting again.
const CAPACITY_POLL: Duration = Duration::from_millis(50);
/// Largest upstream error body read to classify it.
const ERROR_LIMIT: usize = 1024 * 1024;

/// A client request, ready to be forwarded.
#[derive(Debug)]
pub struct Inbound<'a> {
    /// The client's protocol.
    pub protocol: Protocol,
    pub model: &'a str,
    pub stream: bool,
    /// Gemini clients: `alt=sse` (else the JSON-array stream form).
    pub gemini_sse: bool,
    /// The endpoint for a same-protocol (passthrough) upstream.
    pub endpoint: Endpoint<'a>,
    /// Which accounts may serve it.
    pub reach: Reach,
    /// Session hash for affinity.
    pub session: Option<u64>,
    pub headers: &'a HeaderMap,
    /// The client's body, as received.
    pub body: Bytes,
    /// When the handler started (for the overhead measure).
    pub started: Instant,
}

/// What one attempt came to.
pub(super) enum Attempt {
    /// A response to give the client.
    Done(Response),
    /// Try another account.
    Retry,
}

/// What the failed attempts amounted to, for the final error.
#[derive(Debug, Default)]
pub(super) struct Failures {
    /// Time spent waiting on upstreams (headers) and in backoff / lockout waits: excluded
    /// from the gateway's own overhead.
    waiting: Duration,
    rate_limited: Option<Duration>,
    overloaded: bool,
    timeout: bool,
    last: Option<String>,
}

impl Failures {
    fn note_rate_limit(&mut self, wait: Duration) {
        self.rate_limited = Some(self.rate_limited.map_or(wait, |w| w.min(wait)));
    }

    fn into_error(self, model: &str) -> ProxyError {
        let model = model.to_owned();
        if let Some(retry_after) = self.rate_limited {
            ProxyError::RateLimited { model, retry_after }
        } else if self.overloaded {
            ProxyError::Overloaded { model }
        } else if self.timeout {
            ProxyError::UpstreamTimeout { model }
        } else {
            let detail = self
                .last
                .unwrap_or_else(|| "no attempt was made".to_owned());
            ProxyError::UpstreamFailed { model, detail }
        }
    }
}

/// Forward the request to accounts until one answers with something worth relaying.
pub async fn forward(state: &AppState, inbound: Inbound<'_>) -> Result<Response, ProxyError> {
    let settings = state.pool.settings();
    let retry = settings.retry;
    let deadline = Instant::now() + Duration::from_millis(retry.deadline_ms);
    let model = inbound.model;
    let mut tried: Vec<Arc<PoolAccount>> = Vec::new();
    let mut failures = Failures::default();
    let mut translation = Translation::default();
    let mut waited = false;
    while tried.len() < retry.max_attempts as usize {
        let lease = match state
            .pool
            .select(model, inbound.reach, &tried, inbound.session)
        {
            Selection::Lease(lease) => lease,
            Selection::NotServed => return Err(ProxyError::ModelNotFound(model.to_owned())),
            Selection::Exhausted(why) => {
                let now = Instant::now();
                if why.at_capacity && now + CAPACITY_POLL < deadline {
                    // Some usable account is only at its concurrency limit: queue for a
                    // slot (within the deadline) rather than refuse.
                    state.pool.wait_for_capacity(CAPACITY_POLL).await;
                    failures.waiting += now.elapsed();
                    continue;
                }
                if let Some(until) = why.earliest_unlock {
                    let wait = until.saturating_duration_since(now);
                    if !waited
                        && wait <= Duration::from_millis(retry.max_wait_ms)
                        && until < deadline
                    {
                        waited = true;
                        tokio::time::sleep(wait).await;
                        failures.waiting += wait;
                        continue;
                    }
                    failures.note_rate_limit(wait);
                } else if why.at_capacity {
                    failures.note_rate_limit(Duration::from_secs(1));
                } else if why.circuit_open {
                    failures.overloaded = true;
                }
                break;
            }
        };
        if !tried.is_empty() {
            let delay = retry.backoff(
                u32::try_from(tried.len() - 1).unwrap_or(u32::MAX),
                rand::random::<f64>(),
            );
            if Instant::now() + delay >= deadline {
                break;
            }
            tokio::time::sleep(delay).await;
            failures.waiting += delay;
        }
        tried.push(Arc::clone(lease.account()));
        let attempt = if lease.account().protocol() == inbound.protocol {
            passthrough(state, &inbound, lease, &mut failures).await
        } else {
            translated::attempt(state, &inbound, lease, &mut translation, &mut failures).await?
        };
        match attempt {
            Attempt::Done(mut response) => {
                let overhead = inbound.started.elapsed().saturating_sub(failures.waiting);
                let us = u64::try_from(overhead.as_micros()).unwrap_or(u64::MAX);
                // A re-encoded stream observes its overhead itself, when it ends.
                match response.extensions_mut().remove::<StreamOverhead>() {
                    Some(stream) => stream.set_first_byte(us),
                    None => state.metrics.overhead(us),
                }
                response
                    .headers_mut()
                    .insert("x-switchyard-overhead-us", HeaderValue::from(us));
                return Ok(response);
            }
            Attempt::Retry if Instant::now() >= deadline => break,
            Attempt::Retry => {}
        }
    }
    Err(failures.into_error(model))
}

/// The verdict on an upstream answer's headers (and, for errors, its body).
pub(super) enum Verdict {
    /// 2xx: relay it.
    Relay(UpstreamResponse),
    /// Try another account (already reported and counted).
    Retry,
    /// The request's own fault: give it to the client.
    ClientError {
        status: StatusCode,
        body: Bytes,
        fault: UpstreamFault,
    },
}

/// Send on `lease`'s account and judge the answer. Reports the outcome to the lease and,
/// for failures, to the metrics (a relay is counted by the caller once it commits); a
/// retriable failure is recorded in `failures`.
pub(super) async fn send_and_judge(
    state: &AppState,
    lease: &mut Lease,
    endpoint: Endpoint<'_>,
    inbound: &Inbound<'_>,
    body: Bytes,
    failures: &mut Failures,
) -> Verdict {
    let account = Arc::clone(lease.account());
    let settings = state.pool.settings();
    let throttle = &settings.routing;
    let started = Instant::now();
    let sent = state
        .upstream
        .send(&account, endpoint, inbound.headers, body)
        .await;
    let latency = started.elapsed();
    failures.waiting += latency;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            let result = match e {
                UpstreamError::Timeout(_) => {
                    failures.timeout = true;
                    AttemptResult::Timeout
                }
                UpstreamError::Connect(_)
                | UpstreamError::Request(_)
                | UpstreamError::Client(_)
                | UpstreamError::TooLarge(_) => AttemptResult::Unreachable,
            };
            state.metrics.attempt(result);
            lease.report(Feedback::Failure { latency }, throttle);
            tracing::warn!(account = %account.id, model = inbound.model, error = %e, "upstream attempt failed");
            failures.last = Some(e.to_string());
            return Verdict::Retry;
        }
    };
    let status = response.status();
    let outcome = Outcome::classify(status, response.headers());
    if outcome == Outcome::Ok {
        let hint = rate_limit_hint(response.headers());
        lease.report(Feedback::Success { latency, hint }, throttle);
        return Verdict::Relay(response);
    }
    let body = read_bounded(response, ERROR_LIMIT)
        .await
        .unwrap_or_default();
    let fault = dispatch::decode_error(account.protocol(), status.as_u16(), &body);
    let retry_after_body = fault.retry_after_ms.map(Duration::from_millis);
    let (feedback, result) = match (outcome, fault.kind) {
        (_, FaultKind::QuotaExhausted) => (
            Feedback::QuotaExhausted {
                reset_in: retry_after_body,
                all_models: account.protocol() != Protocol::Gemini,
            },
            AttemptResult::RateLimited,
        ),
        (Outcome::RateLimited { retry_after }, _) => (
            Feedback::RateLimited {
                retry_after: retry_after.or(retry_after_body),
            },
            AttemptResult::RateLimited,
        ),
        (Outcome::Overloaded, _) => (Feedback::Overloaded { latency }, AttemptResult::Overloaded),
        (Outcome::ServerError, _) => (Feedback::Failure { latency }, AttemptResult::ServerError),
        (Outcome::AuthFailed, _) => (Feedback::Failure { latency }, AttemptResult::AuthFailed),
        (Outcome::ClientError | Outcome::Ok, _) => (Feedback::Neutral, AttemptResult::ClientError),
    };
    state.metrics.attempt(result);
    lease.report(feedback, throttle);
    match feedback {
        Feedback::Neutral => Verdict::ClientError {
            status,
            body,
            fault,
        },
        Feedback::RateLimited { retry_after } => {
            failures.note_rate_limit(retry_after.unwrap_or(DEFAULT_RETRY_AFTER));
            retry_note(failures, &account, inbound.model, status);
            Verdict::Retry
        }
        Feedback::QuotaExhausted { .. } => {
            failures.note_rate_limit(retry_after_body.unwrap_or(DEFAULT_RETRY_AFTER));
            retry_note(failures, &account, inbound.model, status);
            Verdict::Retry
        }
        Feedback::Overloaded { .. } => {
            failures.overloaded = true;
            retry_note(failures, &account, inbound.model, status);
            Verdict::Retry
        }
        Feedback::Failure { .. } | Feedback::Success { .. } => {
            retry_note(failures, &account, inbound.model, status);
            Verdict::Retry
        }
    }
}

fn retry_note(failures: &mut Failures, account: &PoolAccount, model: &str, status: StatusCode) {
    tracing::warn!(account = %account.id, %model, %status, "upstream refused; trying another account");
    failures.last = Some(format!("account {} answered {status}", account.id));
}

/// One same-protocol attempt: the client's bytes go up unchanged, the answer comes back
/// unchanged.
async fn passthrough(
    state: &AppState,
    inbound: &Inbound<'_>,
    mut lease: Lease,
    failures: &mut Failures,
) -> Attempt {
    let verdict = send_and_judge(
        state,
        &mut lease,
        inbound.endpoint,
        inbound,
        inbound.body.clone(),
        failures,
    )
    .await;
    match verdict {
        Verdict::Retry => Attempt::Retry,
        Verdict::ClientError { status, body, .. } => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Attempt::Done(response)
        }
        Verdict::Relay(response) => match relay::bootstrap(state, inbound.protocol, response).await
        {
            Bootstrap::Ready { response, prefix } => {
                state.metrics.attempt(AttemptResult::Relayed);
                Attempt::Done(relay::relay(
                    state,
                    inbound.protocol,
                    response,
                    prefix,
                    lease,
                ))
            }
            Bootstrap::Whole(response) => {
                state.metrics.attempt(AttemptResult::Relayed);
                Attempt::Done(response)
            }
            Bootstrap::Failed(reason) => {
                lease.report(
                    Feedback::Overloaded {
                        latency: Duration::ZERO,
                    },
                    &state.pool.settings().routing,
                );
                state.metrics.attempt(AttemptResult::Overloaded);
                failures.overloaded = true;
                tracing::warn!(account = %lease.account().id, model = inbound.model, %reason, "stream failed before its first event; trying another account");
                failures.last = Some(reason);
                Attempt::Retry
            }
        },
    }
}
