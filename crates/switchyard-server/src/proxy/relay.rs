//! Relaying a same-protocol upstream answer to the client, chunk by chunk.
//!
//! **Bootstrap**: a JSON answer is read whole before anything is sent; an SSE stream is held until its first meaningful event (bounded in
//! bytes and time), because providers report some failures *inside* a 200 stream
//! (Anthropic `event: error` overloaded, an OpenAI chunk carrying `error`). Seen before
//! anything reached the client, such an error still fails over to another account.
//!
//! After that the body is passed through as it arrives (never buffered whole). The
//! [`Lease`] travels inside the body stream, so the account's in-flight count drops
//! exactly when the stream ends or the client goes away (dropping the body drops the
//! upstream connection too). A body that fails half-way through an SSE stream ends with an
//! error event in the client's protocol.

use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, header};
use http_body::Frame;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use switchyard_core::pool::Lease;
use switchyard_core::translate::sse::{SseEvent, SseParser};
use switchyard_core::upstream::{UpstreamBody, UpstreamResponse, read_bounded};
use switchyard_types::Protocol;

/// Upstream response headers passed on to the client. Everything else (rate-limit
/// headers of one pooled account, cookies, hop-by-hop headers) stays behind.
const RELAYED_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("request-id"),
];

/// Most bytes held while waiting for a stream's first meaningful event.
const BOOTSTRAP_BYTES: usize = 64 * 1024;
/// Longest wait for it; after that the stream is committed as it is.
const BOOTSTRAP_TIME: Duration = Duration::from_secs(30);

fn is_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// Largest non-stream answer read whole before relaying.
const WHOLE_LIMIT: usize = 64 * 1024 * 1024;

fn relayed_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(RELAYED_HEADERS.len() + 1);
    for name in &RELAYED_HEADERS {
        if let Some(v) = upstream.get(name) {
            headers.insert(name.clone(), v.clone());
        }
    }
    headers
}

/// What the start of a stream showed.
pub(super) enum Bootstrap {
    /// Commit: relay `prefix` (bytes already read), then the rest of `response`.
    Ready {
        response: UpstreamResponse,
        prefix: Option<Bytes>,
    },
    /// A non-stream answer, read whole (so a body cut short still fails over).
    Whole(Response),
    /// The stream opened with an error (or broke before any event).
    Failed(String),
}

/// What an early stream event is made of, as far as bootstrap cares: read with
/// everything else skipped, nothing copied.
#[derive(Deserialize)]
struct EarlyEvent<'a> {
    #[serde(default)]
    error: Option<IgnoredAny>,
    #[serde(default, borrow)]
    choices: Vec<EarlyChoice<'a>>,
}

#[derive(Deserialize)]
struct EarlyChoice<'a> {
    #[serde(default)]
    finish_reason: Option<IgnoredAny>,
    #[serde(default, borrow)]
    delta: Option<EarlyDelta<'a>>,
}

#[derive(Deserialize)]
struct EarlyDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<IgnoredAny>,
    #[serde(default)]
    reasoning_content: Option<IgnoredAny>,
}

/// Classify one early SSE event: `Some(true)` meaningful, `Some(false)` an error,
/// `None` preamble to skip (pings, Anthropic `message_start`).
fn early_event(protocol: Protocol, event: &SseEvent) -> Option<bool> {
    if event.event == "error" {
        return Some(false);
    }
    match protocol {
        Protocol::Anthropic if matches!(event.event.as_str(), "ping" | "message_start") => None,
        Protocol::Anthropic | Protocol::OpenAi | Protocol::Gemini => {
            let data = event.data.trim_start();
            if !data.starts_with('{') {
                return Some(true);
            }
            let Ok(early) = serde_json::from_str::<EarlyEvent<'_>>(data) else {
                // An unexpected shape somewhere: still fail over if it carries an error.
                return match serde_json::from_str::<serde_json::Value>(data) {
                    Ok(value) if value.get("error").is_some_and(|e| !e.is_null()) => Some(false),
                    _ => Some(true),
                };
            };
            if early.error.is_some() {
                return Some(false);
            }
            // OpenAI's opening chunk (`role` and an empty `content`) is preamble too.
            let empty_opening = protocol == Protocol::OpenAi
                && early.choices.first().is_some_and(|choice| {
                    choice.finish_reason.is_none()
                        && choice.delta.as_ref().is_some_and(|d| {
                            d.content.as_deref().is_none_or(str::is_empty)
                                && d.tool_calls.is_none()
                                && d.reasoning_content.is_none()
                        })
                });
            if empty_opening { None } else { Some(true) }
        }
    }
}

/// Feed `chunk` event by event and stop at the first event that decides: a whole stream
/// often arrives in one chunk, and only its opening matters here.
fn first_verdict(
    protocol: Protocol,
    parser: &mut SseParser,
    chunk: &[u8],
    events: &mut Vec<SseEvent>,
) -> Option<bool> {
    let mut rest = chunk;
    while !rest.is_empty() {
        // Up to and including the next `\n\n` (an event boundary; `\r\n\r\n` ends in one too).
        let cut = rest
            .windows(2)
            .position(|w| w == b"\n\n")
            .map_or(rest.len(), |i| i + 2);
        parser.feed(&rest[..cut], events);
        rest = &rest[cut..];
        if let Some(verdict) = events.drain(..).find_map(|e| early_event(protocol, &e)) {
            return Some(verdict);
        }
    }
    None
}

/// Hold an SSE stream until its first meaningful event. A non-stream (JSON) answer is
/// read whole, bounded: it is usually small, the client waits for all of it anyway, and a
/// body the upstream cuts short can then still go to another account.
pub(super) async fn bootstrap(
    state: &AppState,
    protocol: Protocol,
    mut response: UpstreamResponse,
) -> Bootstrap {
    if !is_sse(response.headers()) {
        let status = response.status();
        let headers = relayed_headers(response.headers());
        return match read_bounded(response, WHOLE_LIMIT).await {
            Ok(body) => {
                let mut whole = Response::new(Body::from(body));
                *whole.status_mut() = status;
                *whole.headers_mut() = headers;
                Bootstrap::Whole(whole)
            }
            Err(e) => Bootstrap::Failed(format!("the upstream body failed: {e}")),
        };
    }
    // The chunks read so far: the first one as it came (usually the only one, so it is
    // relayed without a copy), any later ones appended to `held`.
    let mut first: Option<Bytes> = None;
    let mut held = BytesMut::new();
    let mut held_len = 0;
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    let until =
        tokio::time::Instant::now() + BOOTSTRAP_TIME.min(state.upstream.config().idle_timeout);
    loop {
        let chunk = match tokio::time::timeout_at(until, response.chunk()).await {
            Err(_) => break,
            Ok(Ok(Some(chunk))) => chunk,
            Ok(Ok(None)) => {
                let mut last = Vec::new();
                parser.finish(&mut last);
                if held_len == 0 || last.iter().any(|e| early_event(protocol, e) == Some(false)) {
                    return Bootstrap::Failed(
                        "the upstream stream ended before any event".to_owned(),
                    );
                }
                break;
            }
            Ok(Err(e)) => {
                return Bootstrap::Failed(format!("the upstream stream broke at its start: {e}"));
            }
        };
        let verdict = first_verdict(protocol, &mut parser, &chunk, &mut events);
        held_len += chunk.len();
        match first.take() {
            None if held.is_empty() => first = Some(chunk),
            earlier => {
                if let Some(earlier) = earlier {
                    held.extend_from_slice(&earlier);
                }
                held.extend_from_slice(&chunk);
            }
        }
        match verdict {
            Some(false) => {
                return Bootstrap::Failed(
                    "the upstream stream opened with an error event".to_owned(),
                );
            }
            Some(true) => break,
            None if held_len >= BOOTSTRAP_BYTES => break,
            None => {}
        }
    }
    Bootstrap::Ready {
        response,
        prefix: Some(first.unwrap_or_else(|| held.freeze())),
    }
}

/// Turn a committed upstream response into the client's response, streaming its body.
pub(super) fn relay(
    state: &AppState,
    protocol: Protocol,
    upstream: UpstreamResponse,
    prefix: Option<Bytes>,
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
        prefix: prefix.filter(|p| !p.is_empty()),
        inner: body,
        lease: Some(lease),
        sse_error: sse.then_some(protocol),
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
                tracing::warn!(%account, error = %e, "upstream body failed mid-response");
                self.state.metrics.stream_error();
                self.lease = None;
                match self.sse_error {
                    Some(protocol) => {
                        Poll::Ready(Some(Ok(Frame::data(stream_error_event(protocol)))))
                    }
                    None => Poll::Ready(Some(Err(std::io::Error::other("upstream body failed")))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && (self.lease.is_none() || self.inner.is_end_stream())
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
    fn the_first_deciding_event_wins_within_one_chunk() {
        let stream = concat!(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
            "data: {\"error\":{\"message\":\"later\"}}\n\n",
        );
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        assert_eq!(
            first_verdict(
                Protocol::OpenAi,
                &mut parser,
                stream.as_bytes(),
                &mut events
            ),
            Some(true)
        );
        let mut parser = SseParser::new();
        let error_first = "event: error\ndata: {\"type\":\"error\"}\n\nevent: ping\ndata: {}\n\n";
        assert_eq!(
            first_verdict(
                Protocol::Anthropic,
                &mut parser,
                error_first.as_bytes(),
                &mut events
            ),
            Some(false)
        );
        let mut parser = SseParser::new();
        assert_eq!(
            first_verdict(
                Protocol::Anthropic,
                &mut parser,
                b"event: ping\ndata: {}\n\n",
                &mut events
            ),
            None
        );
    }

    #[test]
    fn early_events_are_told_apart() {
        let ev = |event: &str, data: &str| SseEvent {
            event: event.into(),
            data: data.into(),
        };
        assert_eq!(
            early_event(Protocol::Anthropic, &ev("message_start", "{}")),
            None
        );
        assert_eq!(early_event(Protocol::Anthropic, &ev("ping", "{}")), None);
        assert_eq!(
            early_event(Protocol::Anthropic, &ev("error", "{\"type\":\"error\"}")),
            Some(false)
        );
        assert_eq!(
            early_event(Protocol::Anthropic, &ev("content_block_start", "{}")),
            Some(true)
        );
        assert_eq!(
            early_event(Protocol::OpenAi, &ev("", "{\"error\":{\"message\":\"x\"}}")),
            Some(false)
        );
        assert_eq!(
            early_event(Protocol::OpenAi, &ev("", "{\"choices\":[]}")),
            Some(true)
        );
        let opening = "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}";
        assert_eq!(early_event(Protocol::OpenAi, &ev("", opening)), None);
        let odd_error = "{\"choices\":null,\"error\":{\"message\":\"overloaded\"}}";
        assert_eq!(
            early_event(Protocol::OpenAi, &ev("", odd_error)),
            Some(false)
        );
        let odd_content = "{\"choices\":[{\"delta\":{\"content\":[1]}}]}";
        assert_eq!(
            early_event(Protocol::OpenAi, &ev("", odd_content)),
            Some(true)
        );
        let text = "{\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}";
        assert_eq!(early_event(Protocol::OpenAi, &ev("", text)), Some(true));
        assert_eq!(
            early_event(Protocol::Gemini, &ev("", "{\"candidates\":[]}")),
            Some(true)
        );
    }
}
