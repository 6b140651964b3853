//! The attempt loop and the relay.
//!
//! Try accounts one after another (least in-flight first) until one gives an answer worth
//! relaying. Retriable outcomes — 429, 5xx / overload, a refused account credential, a
//! failed connection, no headers in time — move on to the next account; they are safe to
//! retry because nothing has reached the client yet: the response is only committed once
//! an upstream's status is known to be relayable. A client error (other 4xx) is relayed
//! as-is, since every account would refuse it alike.
//!
//! Once committed, the upstream body is relayed chunk by chunk as it arrives (never
//! buffered whole). The [`Lease`] travels inside the body stream, so the account's
//! in-flight count drops exactly when the stream ends or the client goes away (dropping
//! the body drops the upstream connection too). A body that fails half-way through an
//! SSE stream ends with an error event in the client's protocol.

use crate::error::ProxyError;
use crate::metrics::AttemptResult;
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::Stream;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use switchyard_core::pool::{Lease, PoolAccount, Selection};
use switchyard_core::upstream::{Endpoint, Outcome, UpstreamError};
use switchyard_types::Protocol;

/// Upstream response headers passed on to the client. Everything else (rate-limit
/// headers of one pooled account, cookies, hop-by-hop headers) stays behind.
const RELAYED_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("request-id"),
];

/// Retry-After used when a rate-limited upstream gave none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// What the failed attempts amounted to, for the final error.
#[derive(Debug, Default)]
struct Failures {
    rate_limited: Option<Duration>,
    overloaded: bool,
    timeout: bool,
    last: Option<String>,
}

impl Failures {
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

/// Forward `body` for `model` to accounts speaking `protocol` until one answers.
pub async fn forward(
    state: &AppState,
    protocol: Protocol,
    model: &str,
    endpoint: Endpoint<'_>,
    client_headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ProxyError> {
    let max_attempts = state.upstream.config().max_attempts;
    let mut tried: Vec<Arc<PoolAccount>> = Vec::new();
    let mut failures = Failures::default();
    while tried.len() < max_attempts as usize {
        let lease = match state.pool.select(protocol, model, &tried) {
            Selection::Lease(lease) => lease,
            Selection::NotServed => return Err(ProxyError::ModelNotFound(model.to_owned())),
            Selection::Exhausted => break,
        };
        let account = Arc::clone(lease.account());
        tried.push(Arc::clone(&account));
        let response = match state
            .upstream
            .send(&account, endpoint, client_headers, body.clone())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let result = match e {
                    UpstreamError::Timeout(_) => {
                        failures.timeout = true;
                        AttemptResult::Timeout
                    }
                    UpstreamError::Connect(_)
                    | UpstreamError::Request(_)
                    | UpstreamError::Client(_) => AttemptResult::Unreachable,
                };
                state.metrics.attempt(result);
                tracing::warn!(account = %account.id, %model, error = %e, "upstream attempt failed");
                failures.last = Some(e.to_string());
                continue;
            }
        };
        let outcome = Outcome::classify(response.status(), response.headers());
        let result = match outcome {
            Outcome::Ok => AttemptResult::Relayed,
            Outcome::ClientError => AttemptResult::ClientError,
            Outcome::RateLimited { retry_after } => {
                let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                failures.rate_limited = Some(failures.rate_limited.map_or(wait, |w| w.min(wait)));
                AttemptResult::RateLimited
            }
            Outcome::Overloaded => {
                failures.overloaded = true;
                AttemptResult::Overloaded
            }
            Outcome::ServerError => AttemptResult::ServerError,
            Outcome::AuthFailed => AttemptResult::AuthFailed,
        };
        state.metrics.attempt(result);
        if outcome.is_retriable() {
            tracing::warn!(account = %account.id, %model, status = %response.status(), "upstream refused; trying another account");
            failures.last = Some(format!(
                "account {} answered {}",
                account.id,
                response.status()
            ));
            continue;
        }
        return Ok(relay(state, protocol, response, lease));
    }
    Err(failures.into_error(model))
}

/// Turn a committed upstream response into the client's response, streaming its body.
fn relay(
    state: &AppState,
    protocol: Protocol,
    upstream: reqwest::Response,
    lease: Lease,
) -> Response {
    let status = upstream.status();
    let mut headers = HeaderMap::with_capacity(RELAYED_HEADERS.len());
    for name in &RELAYED_HEADERS {
        if let Some(v) = upstream.headers().get(name) {
            headers.insert(name.clone(), v.clone());
        }
    }
    let is_sse = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if is_sse {
        // Ask reverse proxies (nginx) not to buffer the stream.
        headers.insert(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        );
    }
    let stream = RelayStream {
        inner: Box::pin(upstream.bytes_stream()),
        lease: Some(lease),
        sse_error: is_sse.then_some(protocol),
        state: state.clone(),
    };
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The upstream body, passed through chunk by chunk, holding the lease until it ends.
struct RelayStream {
    inner: ByteStream,
    /// `None` once the stream has ended.
    lease: Option<Lease>,
    /// For SSE bodies: the protocol whose error event ends a failed stream.
    sse_error: Option<Protocol>,
    state: AppState,
}

impl Stream for RelayStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.lease.is_none() {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(chunk))),
            Poll::Ready(None) => {
                self.lease = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                let account = self
                    .lease
                    .as_ref()
                    .map(|l| l.account().id.clone())
                    .unwrap_or_default();
                tracing::warn!(%account, error = %e, "upstream body failed mid-response");
                self.state.metrics.stream_error();
                self.lease = None;
                match self.sse_error {
                    Some(protocol) => Poll::Ready(Some(Ok(stream_error_event(protocol)))),
                    None => Poll::Ready(Some(Err(std::io::Error::other("upstream body failed")))),
                }
            }
        }
    }
}

/// The in-stream error event that ends a broken SSE stream, in `protocol`'s shape.
pub fn stream_error_event(protocol: Protocol) -> Bytes {
    const MSG: &str = "the upstream connection failed mid-stream";
    match protocol {
        Protocol::OpenAi => Bytes::from(format!(
            "data: {{\"error\":{{\"message\":\"{MSG}\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_stream_error\"}}}}\n\n"
        )),
        Protocol::Anthropic => Bytes::from(format!(
            "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"api_error\",\"message\":\"{MSG}\"}}}}\n\n"
        )),
        Protocol::Gemini => Bytes::from(format!(
            "data: {{\"error\":{{\"code\":502,\"message\":\"{MSG}\",\"status\":\"UNAVAILABLE\"}}}}\n\n"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_events_are_valid_json() {
        for p in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini] {
            let text = String::from_utf8(stream_error_event(p).to_vec()).unwrap();
            let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            let v: serde_json::Value = serde_json::from_str(data).unwrap();
            assert!(v.get("error").is_some(), "{p}: {v}");
            assert!(text.ends_with("\n\n"));
        }
    }

    #[test]
    fn rate_limits_win_and_keep_the_shortest_wait() {
        let f = Failures {
            rate_limited: Some(Duration::from_secs(2)),
            overloaded: true,
            ..Default::default()
        };
        assert!(
            matches!(f.into_error("m"), ProxyError::RateLimited { retry_after, .. } if retry_after.as_secs() == 2)
        );
        let f = Failures {
            timeout: true,
            ..Default::default()
        };
        assert!(matches!(
            f.into_error("m"),
            ProxyError::UpstreamTimeout { .. }
        ));
        assert!(matches!(
            Failures::default().into_error("m"),
            ProxyError::UpstreamFailed { .. }
        ));
    }
}
