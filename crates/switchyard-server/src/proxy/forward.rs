//! The server's attempter: one attempt on one account, for the core attempt loop
//! ([`switchyard_core::pipeline::attempts`]).
//!
//! An account speaking the client's protocol gets the client's bytes unchanged
//! (passthrough); any other gets the request translated ([`super::translated`]). Either
//! way the answer is judged the same way before anything reaches the client:
//! - no answer → [`classify_transport`];
//! - an error status → the error body is decoded and [`classify_answer`] decides: the
//!   client's own fault goes back to it (in its shape), anything else is a failed
//!   attempt;
//! - a 2xx → the commit checks ([`switchyard_core::pipeline::commit`]): a JSON answer is
//!   read whole (against the memory budget) and must be JSON, a stream is held until
//!   its first meaningful event. Only then is it an [`Answer`].

use super::relay;
use super::translated::{self, Translation};
use crate::error::ProxyError;
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::pipeline::attempts::{self, Attempter, Target, Tried, Unserved};
use switchyard_core::pipeline::budget::Reservation;
use switchyard_core::pipeline::commit::{self, Start, StartCheck};
use switchyard_core::pipeline::context::RequestContext;
use switchyard_core::pipeline::hidden_usage::{self, StreamOptions};
use switchyard_core::pipeline::outcome::{Outcome, classify_answer, classify_transport};
use switchyard_core::pool::{Lease, Reach};
use switchyard_core::quota::{self, QuotaBook};
use switchyard_core::translate::dispatch;
use switchyard_core::upstream::{
    Endpoint, UpstreamError, UpstreamResponse, rate_limit_hint, read_bounded, read_within,
};
use switchyard_types::{Protocol, Provider};
use tokio::time::Instant;

/// Largest upstream error body read to classify it.
const ERROR_LIMIT: usize = 1024 * 1024;
/// Largest upstream answer read whole (JSON answers).
pub(super) const WHOLE_LIMIT: usize = 64 * 1024 * 1024;
/// Longest wait for a stream's first meaningful event; after that it is committed.
const START_TIME: Duration = Duration::from_secs(30);

/// A client request, ready to be forwarded.
#[derive(Debug)]
pub struct Inbound<'a> {
    /// The request's id: every log line about the request names it (`request_id`).
    pub request_id: Arc<str>,
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
    /// An OpenAI stream whose client did not ask for usage (see
    /// [`switchyard_core::pipeline::hidden_usage`]).
    pub hidden_usage: Option<StreamOptions>,
    pub headers: &'a HeaderMap,
    /// The client's body, as received.
    pub body: Bytes,
}

/// A committed answer, waiting for its lease.
pub(super) enum Answer {
    /// Complete (JSON, or the client's own error): the lease is not needed.
    Whole(Response),
    /// A same-protocol stream: `prefix` (read by the start check), then the rest.
    Relay {
        upstream: UpstreamResponse,
        prefix: Bytes,
    },
    /// A stream re-encoded for the client.
    Translate(Box<translated::TranslatingStream>),
    /// Refused before or by the upstream: the client's fault, or the gateway's.
    Refused(ProxyError),
}

/// The loop's result for the edge: a response to send, and what it holds.
#[derive(Debug)]
pub struct Answered {
    pub response: Response,
    /// Budget held by bytes the response still carries.
    pub held: Reservation,
    /// Remove the usage chunk the client did not ask for (an OpenAI stream).
    pub hide_usage: bool,
}

/// Forward `inbound` through the attempt loop; record the attempts on `context`.
pub async fn forward(
    state: &AppState,
    inbound: &Inbound<'_>,
    context: &mut RequestContext,
) -> Result<Answered, ProxyError> {
    let mut attempter = Upstreams {
        state,
        inbound,
        translation: Translation::default(),
        held: Reservation::default(),
        protocol_out: None,
        with_usage: None,
        asked_usage: false,
    };
    let target = Target {
        request_id: &inbound.request_id,
        model: inbound.model,
        reach: inbound.reach,
        session: inbound.session,
    };
    let served = attempts::run(
        &state.pool,
        target,
        &mut attempter,
        &mut context.attempts,
        &mut context.waited,
    )
    .await;
    for tried in &context.attempts {
        state.metrics.attempt(tried.outcome, tried.provider);
    }
    context.protocol_out = attempter.protocol_out;
    let model = inbound.model.to_owned();
    let served = served.map_err(|unserved| match unserved {
        Unserved::NotServed => ProxyError::ModelNotFound(model.clone()),
        Unserved::RateLimited { retry_after } => ProxyError::RateLimited {
            model: model.clone(),
            retry_after,
        },
        Unserved::Overloaded => ProxyError::Overloaded {
            model: model.clone(),
        },
        Unserved::Timeout => ProxyError::UpstreamTimeout {
            model: model.clone(),
        },
        Unserved::Failed => ProxyError::UpstreamFailed {
            model: model.clone(),
            detail: "every attempt failed".to_owned(),
        },
    })?;
    if context.protocol_out.is_some() {
        context.upstream_model = Some(model.into());
    }
    let response = match served.answer {
        Answer::Whole(response) => response,
        Answer::Relay { upstream, prefix } => {
            relay::relay(state, inbound, upstream, prefix, served.lease)
        }
        Answer::Translate(mut stream) => {
            stream.attach(served.lease);
            translated::into_response(inbound, stream)
        }
        Answer::Refused(error) => return Err(error),
    };
    Ok(Answered {
        response,
        held: attempter.held,
        // Only where the gateway asked: an `openai_compatible` stream got the client's
        // bytes, and whatever it sends is what the client asked for.
        hide_usage: attempter.asked_usage,
    })
}

/// The attempter: the state, the request, and what carries over between attempts.
struct Upstreams<'a> {
    state: &'a AppState,
    inbound: &'a Inbound<'a>,
    translation: Translation,
    /// Budget held by the committed answer's buffered bytes.
    held: Reservation,
    protocol_out: Option<Protocol>,
    /// The client's body asking for stream usage, made on first need.
    with_usage: Option<Bytes>,
    /// The last attempt asked the upstream for usage the client did not ask for.
    asked_usage: bool,
}

impl Upstreams<'_> {
    /// The client's bytes; for an OpenAI stream whose client did not ask for usage, at
    /// OpenAI and OpenRouter, with `include_usage` added (`openai_compatible` servers
    /// get the bytes unchanged: not all of them know `stream_options`).
    fn passthrough_body(&mut self, lease: &Lease) -> Bytes {
        let inbound = self.inbound;
        let asks = matches!(
            lease.account().provider,
            Provider::OpenAi | Provider::OpenRouter
        );
        match inbound.hidden_usage {
            Some(options) if asks && inbound.protocol == Protocol::OpenAi => {
                self.asked_usage = true;
                self.with_usage
                    .get_or_insert_with(|| {
                        hidden_usage::ask_for_usage(&inbound.body, options)
                            .unwrap_or_else(|| inbound.body.clone())
                    })
                    .clone()
            }
            _ => inbound.body.clone(),
        }
    }
}

impl Attempter for Upstreams<'_> {
    type Answer = Answer;

    async fn attempt(&mut self, lease: &Lease) -> Tried<Answer> {
        let inbound = self.inbound;
        // Provider `openai` also takes Responses requests as they are.
        let target = lease.account().provider.speaks(inbound.protocol);
        self.protocol_out = Some(target);
        let passthrough = target == inbound.protocol;
        // Translated streams ask for usage whenever the client did not (`translated`).
        self.asked_usage = !passthrough && inbound.hidden_usage.is_some();
        let (endpoint, body) = if passthrough {
            (inbound.endpoint, self.passthrough_body(lease))
        } else {
            match self.translation.body_for(self.state, inbound, target).await {
                Ok(body) => (translated::endpoint(inbound, target), body),
                Err(e) => {
                    return Tried::done(Outcome::Unformable, None, Duration::ZERO, {
                        Answer::Refused(e)
                    });
                }
            }
        };
        let started = Instant::now();
        let sent = self
            .state
            .upstream
            .send(lease.account(), endpoint, inbound.headers, body)
            .await;
        let latency = started.elapsed();
        let response = match sent {
            Ok(response) => response,
            Err(e) => return transport_failure(&e, latency),
        };
        let status = response.status();
        // Quota windows from the rate-limit headers (a lookup when there are none).
        quota::headers::observe_answer(&lease.account().quota, inbound.model, response.headers());
        if !status.is_success() {
            let quota = (&*lease.account().quota, inbound.model);
            return judge_error(target, passthrough, response, latency, quota).await;
        }
        let hint = rate_limit_hint(response.headers());
        let code = Some(status.as_u16());
        let sse = commit::is_sse(response.headers());
        let mut tried = if sse || (!passthrough && inbound.stream) {
            if !sse {
                return Tried::failed(
                    Outcome::BadAnswer,
                    code,
                    latency,
                    "a stream was asked for; the upstream answered otherwise",
                );
            }
            match open_stream(target, response).await {
                Ok((response, prefix)) => {
                    let answer = if passthrough {
                        Answer::Relay {
                            upstream: response,
                            prefix,
                        }
                    } else {
                        match self
                            .translation
                            .stream(self.state, inbound, target, response, prefix)
                        {
                            Ok(stream) => Answer::Translate(Box::new(stream)),
                            Err(e) => Answer::Refused(e),
                        }
                    };
                    Tried::done(Outcome::Relayed, code, latency, answer)
                }
                Err((outcome, reason)) => Tried::failed(outcome, code, latency, reason),
            }
        } else {
            let mut held = Reservation::default();
            let (headers, body) =
                match read_within(response, WHOLE_LIMIT, &self.state.budget, &mut held).await {
                    Ok(read) => read,
                    Err(e) => return transport_failure(&e, latency),
                };
            if let Err(rejected) = commit::check_json(&headers, &body) {
                return Tried::failed(rejected.outcome, code, latency, rejected.reason);
            }
            let answer = if passthrough {
                Answer::Whole(relay::whole(status, &headers, body))
            } else {
                match translated::answer(inbound, target, &body) {
                    Ok(response) => Answer::Whole(response),
                    Err(reason) => {
                        return Tried::failed(Outcome::BadAnswer, code, latency, reason);
                    }
                }
            };
            self.held.absorb(held);
            Tried::done(Outcome::Relayed, code, latency, answer)
        };
        tried.hint = hint;
        tried
    }
}

fn transport_failure(e: &UpstreamError, latency: Duration) -> Tried<Answer> {
    let outcome = classify_transport(e);
    let refusal = match (outcome, e) {
        (Outcome::Unformable, _) => ProxyError::InvalidField {
            field: "model".into(),
            message: "cannot be sent upstream".into(),
        },
        (Outcome::Refused, UpstreamError::TooLarge(limit)) => {
            ProxyError::AnswerTooLarge { limit: *limit }
        }
        (Outcome::Refused, _) => ProxyError::OverBudget,
        _ => return Tried::failed(outcome, None, latency, e.to_string()),
    };
    Tried::done(outcome, None, latency, Answer::Refused(refusal))
}

/// An upstream error status: decode the body and decide who is at fault.
async fn judge_error(
    target: Protocol,
    passthrough: bool,
    response: UpstreamResponse,
    latency: Duration,
    (book, model): (&QuotaBook, &str),
) -> Tried<Answer> {
    let status = response.status();
    let code = Some(status.as_u16());
    let headers = response.headers().clone();
    let body = read_bounded(response, ERROR_LIMIT)
        .await
        .unwrap_or_default();
    let body_is_json = commit::opens_like_json(&body);
    let mut fault = dispatch::decode_error(target, status.as_u16(), &body);
    if target == Protocol::Gemini && status == StatusCode::TOO_MANY_REQUESTS {
        // Gemini's quota is in its 429 body; an exhausted daily quota is locked until
        // it resets (midnight Pacific), not for the few seconds RetryInfo may say.
        let now = switchyard_core::store::now_unix();
        if let Some(exhausted) = quota::gemini::observe_429(book, model, &body, now)
            && exhausted.daily
        {
            let wait = u64::try_from(exhausted.resets_at.saturating_sub(now)).unwrap_or(0);
            fault.retry_after_ms = Some(wait.saturating_mul(1000));
        }
    }
    let outcome = classify_answer(target, status, &headers, Some(&fault), body_is_json);
    if outcome == Outcome::Revoked {
        // The reason shown on the account: the status and the provider's first phrase
        // (never the whole message, which may echo a masked key).
        let phrase: String = fault
            .message
            .split([':', '.', '\n'])
            .next()
            .unwrap_or_default()
            .chars()
            .take(120)
            .collect();
        return Tried::failed(
            outcome,
            code,
            latency,
            format!("the provider answered {status}: {}", phrase.trim()),
        );
    }
    if outcome.is_retriable() {
        return Tried::failed(outcome, code, latency, format!("answered {status}"));
    }
    let answer = if passthrough {
        // The client's own protocol: its error, as the provider wrote it.
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Answer::Whole(response)
    } else {
        Answer::Refused(ProxyError::Upstream {
            status: client_status(status),
            message: fault.message,
        })
    };
    Tried::done(outcome, code, latency, answer)
}

/// A status to show the client for the upstream's refusal of its request.
fn client_status(status: StatusCode) -> StatusCode {
    if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_REQUEST
    }
}

/// Hold a stream until its first meaningful event (bounded in bytes and time). `Err`:
/// the outcome and reason of a stream that failed at its start.
async fn open_stream(
    protocol: Protocol,
    mut response: UpstreamResponse,
) -> Result<(UpstreamResponse, Bytes), (Outcome, &'static str)> {
    let mut check = StartCheck::new(protocol);
    let mut first: Option<Bytes> = None;
    let mut held = bytes::BytesMut::new();
    let until = Instant::now() + START_TIME;
    loop {
        let verdict = match tokio::time::timeout_at(until, response.chunk()).await {
            // Only preamble for this long: a slow model, not a failure.
            Err(_) => Start::Meaningful,
            Ok(Ok(Some(chunk))) => {
                let verdict = check.feed(&chunk);
                match first.take() {
                    None if held.is_empty() => first = Some(chunk),
                    earlier => {
                        if let Some(earlier) = earlier {
                            held.extend_from_slice(&earlier);
                        }
                        held.extend_from_slice(&chunk);
                    }
                }
                verdict
            }
            Ok(Ok(None)) => check.end(),
            Ok(Err(UpstreamError::Timeout(_))) => {
                return Err((Outcome::Timeout, "the stream stalled at its start"));
            }
            Ok(Err(_)) => return Err((Outcome::Unreachable, "the stream broke at its start")),
        };
        match verdict {
            Start::Undecided => {}
            Start::Meaningful => {
                return Ok((response, first.unwrap_or_else(|| held.freeze())));
            }
            Start::Failed(rejected) => return Err((rejected.outcome, rejected.reason)),
        }
    }
}
