//! Relaying a same-protocol upstream answer to the client.
//!
//! Relay comes after commit ([`super::forward`]): a JSON answer arrives here read whole
//! and checked ([`whole`]); a stream arrives with the bytes its start check read, then
//! is passed through as it arrives, never buffered whole ([`relay`]). The [`Lease`]
//! travels inside the body stream, so the account's in-flight count drops exactly when
//! the stream ends or the client goes away (dropping the body drops the upstream
//! connection too). A body that fails half-way through an SSE stream ends with an error
//! event in the client's protocol.

use super::forward::Inbound;
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body::Frame;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use switchyard_core::pipeline::commit::is_sse;
use switchyard_core::pool::Lease;
use switchyard_core::upstream::{UpstreamBody, UpstreamResponse};
use switchyard_types::Protocol;

/// Upstream response headers passed on to the client. Everything else (rate-limit
/// headers of one pooled account, cookies, hop-by-hop headers) stays behind.
/// The gateway's own `x-request-id` replaces the upstream's.
const RELAYED_HEADERS: [HeaderName; 3] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    HeaderName::from_static("request-id"),
];

fn relayed_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(RELAYED_HEADERS.len() + 1);
    for name in &RELAYED_HEADERS {
        if let Some(v) = upstream.get(name) {
            headers.insert(name.clone(), v.clone());
        }
    }
    headers
}

/// A whole (checked) same-protocol answer.
pub(super) fn whole(status: StatusCode, upstream: &HeaderMap, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = relayed_headers(upstream);
    response
}

/// Turn a committed upstream response into the client's response, streaming its body.
pub(super) fn relay(
    state: &AppState,
    inbound: &Inbound<'_>,
    upstream: UpstreamResponse,
    prefix: Bytes,
    lease: Lease,
) -> Response {
    let (status, upstream_headers, body) = upstream.into_parts();
    let mut headers = relayed_headers(&upstream_headers);
    let sse = is_sse(&headers);
    if sse {
        // Ask reverse proxies (nginx) not to buffer the stream.
        headers.insert(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        );
    }
    let body = RelayBody {
        prefix: Some(prefix).filter(|p| !p.is_empty()),
        inner: body,
        lease: Some(lease),
        sse_error: sse.then_some(inbound.protocol),
        request_id: Arc::clone(&inbound.request_id),
        state: state.clone(),
    };
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// The upstream body, passed through frame by frame, holding the lease until it ends.
struct RelayBody {
    /// Bytes read during bootstrap, sent first.
    prefix: Option<Bytes>,
    inner: UpstreamBody,
    /// `None` once the body has ended.
    lease: Option<Lease>,
    /// For SSE bodies: the protocol whose error event ends a failed stream.
    sse_error: Option<Protocol>,
    /// Named on the log line of a body that fails half-way.
    request_id: Arc<str>,
    state: AppState,
}

impl http_body::Body for RelayBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        if self.lease.is_none() {
            return Poll::Ready(None);
        }
        // Data only: upstream trailers (an account's rate-limit state, say) stay behind,
        // like its other headers.
        let frame = loop {
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) if !frame.is_data() => {}
                other => break other,
            }
        };
        match frame {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
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
                tracing::warn!(request_id = %self.request_id, %account, error = %e, "upstream body failed mid-response");
                self.state.metrics.stream_error();
                self.lease = None;
                match self.sse_error {
                    Some(protocol) => Poll::Ready(Some(Ok(Frame::data(stream_error_event(
                        protocol,
                        UPSTREAM_FAILED,
                    ))))),
                    None => Poll::Ready(Some(Err(std::io::Error::other("upstream body failed")))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && (self.lease.is_none() || self.inner.is_end_stream())
    }
}

/// Why a relayed stream broke off.
pub const UPSTREAM_FAILED: &str = "the upstream connection failed mid-stream";

/// The in-stream error event that ends a broken SSE stream, in `protocol`'s shape.
/// `message` goes in verbatim: a constant with nothing to escape in JSON.
pub fn stream_error_event(protocol: Protocol, message: &'static str) -> Bytes {
    match protocol {
        Protocol::OpenAi => Bytes::from(format!(
            "data: {{\"error\":{{\"message\":\"{message}\",\"type\":\"server_error\",\"param\":null,\"code\":\"upstream_stream_error\"}}}}\n\n"
        )),
        Protocol::Anthropic => Bytes::from(format!(
            "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"api_error\",\"message\":\"{message}\"}}}}\n\n"
        )),
        Protocol::Gemini => Bytes::from(format!(
            "data: {{\"error\":{{\"code\":502,\"message\":\"{message}\",\"status\":\"UNAVAILABLE\"}}}}\n\n"
        )),
        // The passthrough does not count the upstream's events: the number only has to
        // be larger than theirs.
        Protocol::Responses => Bytes::from(format!(
            "event: error\ndata: {{\"type\":\"error\",\"sequence_number\":{},\"code\":\"server_error\",\"message\":\"{message}\",\"param\":null}}\n\n",
            u32::MAX
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_events_are_valid_json() {
        for p in [
            Protocol::OpenAi,
            Protocol::Anthropic,
            Protocol::Gemini,
            Protocol::Responses,
        ] {
            let text = String::from_utf8(stream_error_event(p, UPSTREAM_FAILED).to_vec()).unwrap();
            let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            let v: serde_json::Value = serde_json::from_str(data).unwrap();
            let error = v.get("error").or_else(|| v.get("message"));
            assert!(error.is_some(), "{p}: {v}");
            assert!(text.ends_with("\n\n"));
        }
    }
}
