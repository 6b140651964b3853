//! Attempts on an account whose protocol differs from the client's: the client's body is
//! decoded to the IR once per request (only when such an account is first tried), encoded
//! once per upstream protocol, and the answer is decoded and re-encoded — whole for JSON,
//! event by event for streams ([`TranslatingStream`]: upstream bytes → decoder → IR events
//! → encoder → client bytes, as the chunks arrive; what is re-encoded goes out as soon as
//! the upstream has nothing more ready, so nothing is held beyond what has arrived).
//!
//! A re-encoded stream's overhead is observed when it ends: the time to its first byte
//! plus the decode and re-encode time of every chunk ([`crate::metrics::StreamOverhead`]).
//!
//! Sending, judging and the commit checks are shared with passthrough
//! ([`super::forward`]): a translated stream that opens with an error event fails over
//! like a passthrough one, and the upstream's refusal of the request itself reaches the
//! client in the client's error shape.

use super::forward::Inbound;
use super::images;
use crate::error::ProxyError;
use crate::metrics::StreamOverhead;
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::{HeaderValue, header};
use http_body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use switchyard_core::pool::Lease;
use switchyard_core::translate::{StreamDecode, StreamEncode, dispatch};
use switchyard_core::upstream::{Endpoint, GeminiMethod, UpstreamBody, UpstreamResponse};
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, StreamEvent};

/// Per-request translation state.
#[derive(Debug, Default)]
pub(super) struct Translation {
    /// The client's request in IR, decoded on first need.
    ir: Option<ChatRequest>,
    /// Upstream bodies already encoded, by target protocol.
    encoded: [Option<Bytes>; 4],
}

fn slot(protocol: Protocol) -> usize {
    match protocol {
        Protocol::OpenAi => 0,
        Protocol::Anthropic => 1,
        Protocol::Gemini => 2,
        Protocol::Responses => 3,
    }
}

impl Translation {
    pub(super) async fn body_for(
        &mut self,
        state: &AppState,
        inbound: &Inbound<'_>,
        target: Protocol,
    ) -> Result<Bytes, ProxyError> {
        if let Some(body) = &self.encoded[slot(target)] {
            return Ok(body.clone());
        }
        let ir = match &mut self.ir {
            Some(ir) => ir,
            None => {
                let mut ir = dispatch::decode_request(
                    inbound.protocol,
                    &inbound.body,
                    inbound.model,
                    inbound.stream,
                )?;
                // The encoder then emits the usage chunk; the finish hides it again.
                if inbound.hidden_usage.is_some() {
                    ir.include_usage = true;
                }
                self.ir.insert(ir)
            }
        };
        let body = if target == Protocol::Gemini && images::has_remote(ir) {
            // Gemini takes no image URLs: fetch and inline them (bounded) for this target only.
            let mut inlined = ir.clone();
            images::inline_remote(state, &inbound.request_id, &mut inlined).await;
            dispatch::encode_request(target, &inlined)?
        } else {
            dispatch::encode_request(target, ir)?
        };
        let body = Bytes::from(body);
        self.encoded[slot(target)] = Some(body.clone());
        Ok(body)
    }
}

/// The endpoint of a translated request on a `target`-speaking account.
pub(super) fn endpoint<'a>(inbound: &Inbound<'a>, target: Protocol) -> Endpoint<'a> {
    match target {
        Protocol::OpenAi => Endpoint::ChatCompletions,
        Protocol::Responses => Endpoint::Responses,
        Protocol::Anthropic => Endpoint::Messages,
        Protocol::Gemini => Endpoint::Gemini {
            model: inbound.model,
            method: if inbound.stream {
                GeminiMethod::StreamGenerateContent
            } else {
                GeminiMethod::GenerateContent
            },
            sse: inbound.stream,
        },
    }
}

impl Translation {
    /// The re-encoding stream for a committed upstream stream (its lease attached
    /// later, by the loop's caller).
    pub(super) fn stream(
        &self,
        state: &AppState,
        inbound: &Inbound<'_>,
        target: Protocol,
        response: UpstreamResponse,
        prefix: Bytes,
    ) -> Result<TranslatingStream, ProxyError> {
        let Some(ir) = self.ir.as_ref() else {
            return Err(ProxyError::UpstreamFailed {
                model: inbound.model.to_owned(),
                detail: "no request decoded".into(),
            });
        };
        Ok(TranslatingStream {
            prefix: Some(prefix).filter(|p| !p.is_empty()),
            inner: response.into_parts().2,
            lease: None,
            ended: false,
            decoder: dispatch::stream_decoder(target, ir),
            encoder: dispatch::stream_encoder(inbound.protocol, ir, now_unix(), inbound.gemini_sse),
            events: Vec::new(),
            out: BytesMut::new(),
            saw_finish: false,
            request_id: std::sync::Arc::clone(&inbound.request_id),
            state: state.clone(),
            overhead: StreamOverhead::new(),
            reencode: Duration::ZERO,
        })
    }
}

/// The client's response around a re-encoding stream.
pub(super) fn into_response(inbound: &Inbound<'_>, stream: Box<TranslatingStream>) -> Response {
    let content_type = if inbound.protocol == Protocol::Gemini && !inbound.gemini_sse {
        "application/json"
    } else {
        "text/event-stream"
    };
    let overhead = stream.overhead.clone();
    let mut response = Response::new(Body::new(*stream));
    // The edge sets the first-byte part; the stream observes the whole.
    response.extensions_mut().insert(overhead);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A whole upstream answer, decoded and re-encoded for the client. `Err`: why the
/// upstream's answer could not be read (the upstream's fault).
pub(super) fn answer(
    inbound: &Inbound<'_>,
    target: Protocol,
    body: &[u8],
) -> Result<Response, &'static str> {
    let mut answer = dispatch::decode_response(target, body).map_err(|e| {
        tracing::warn!(request_id = %inbound.request_id, error = %e, "an upstream answer did not decode");
        "the answer does not decode"
    })?;
    if answer.created == 0 {
        answer.created = now_unix();
    }
    if answer.model.is_empty() {
        inbound.model.clone_into(&mut answer.model);
    }
    let mut response = Response::new(Body::from(dispatch::encode_response(
        inbound.protocol,
        &answer,
    )));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn now_unix() -> i64 {
    switchyard_core::store::now_unix()
}

/// Upstream stream → client stream, re-encoded event by event.
pub(super) struct TranslatingStream {
    /// Bytes the start check read, decoded first.
    prefix: Option<Bytes>,
    inner: UpstreamBody,
    /// Held until the stream ends.
    lease: Option<Lease>,
    ended: bool,
    decoder: Box<dyn StreamDecode>,
    encoder: Box<dyn StreamEncode>,
    /// Scratch: events decoded from the current chunk (reused, no per-chunk allocation).
    events: Vec<StreamEvent>,
    out: BytesMut,
    saw_finish: bool,
    /// Named on the log line of a stream that fails half-way.
    request_id: std::sync::Arc<str>,
    state: AppState,
    /// Observed with the decode + re-encode time when the stream is dropped.
    overhead: StreamOverhead,
    reencode: Duration,
}

impl Drop for TranslatingStream {
    fn drop(&mut self) {
        self.overhead.finish(&self.state.metrics, self.reencode);
    }
}

impl TranslatingStream {
    /// Hold the account's lease until the stream ends.
    pub(super) fn attach(&mut self, lease: Lease) {
        self.lease = Some(lease);
    }

    fn encode_pending(&mut self) {
        for event in self.events.drain(..) {
            if matches!(event, StreamEvent::Finish { .. }) {
                self.saw_finish = true;
            }
            self.encoder.encode(&event, &mut self.out);
        }
    }

    /// End the client stream: an error event if the upstream stopped early, then the
    /// protocol's terminator.
    fn end(&mut self, error: Option<String>) {
        if error.is_none()
            && let Err(e) = self.decoder.finish(&mut self.events)
        {
            self.events.push(StreamEvent::Error {
                message: e.to_string(),
            });
        }
        self.encode_pending();
        let error = error.or_else(|| {
            (!self.saw_finish).then(|| "the upstream stream ended before finishing".to_owned())
        });
        if let Some(message) = error {
            self.state.metrics.stream_error();
            self.encoder
                .encode(&StreamEvent::Error { message }, &mut self.out);
        }
        self.encoder.finish(&mut self.out);
        self.lease = None;
        self.ended = true;
    }
}

/// Output is handed on once the upstream has nothing more ready (or past this much), so
/// an answer that arrives in one piece leaves in one write, its ending included.
const FLUSH_BYTES: usize = 16 * 1024;

impl TranslatingStream {
    /// Decode one upstream chunk and re-encode its events into `out`, timing the work.
    fn reencode_chunk(&mut self, chunk: &[u8]) {
        let started = std::time::Instant::now();
        // `split` left `out` without capacity: size it once for what this chunk
        // re-encodes to, instead of growing it event by event.
        self.out.reserve(chunk.len() + chunk.len() / 2 + 256);
        match self.decoder.feed(chunk, &mut self.events) {
            Ok(()) => self.encode_pending(),
            Err(e) => self.end(Some(e.to_string())),
        }
        self.reencode += started.elapsed();
    }

    fn take_out(&mut self) -> Option<Result<Frame<Bytes>, std::io::Error>> {
        (!self.out.is_empty()).then(|| Ok(Frame::data(self.out.split().freeze())))
    }
}

impl http_body::Body for TranslatingStream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(prefix) = this.prefix.take() {
            this.reencode_chunk(&prefix);
        }
        loop {
            if this.ended {
                return Poll::Ready(this.take_out());
            }
            if this.out.len() >= FLUSH_BYTES {
                return Poll::Ready(this.take_out());
            }
            match this.inner.poll_next_unpin(cx) {
                // Our waker stays with the upstream body; hyper polls again after writing.
                Poll::Pending => {
                    return match this.take_out() {
                        Some(frame) => Poll::Ready(Some(frame)),
                        None => Poll::Pending,
                    };
                }
                Poll::Ready(Some(Ok(chunk))) => this.reencode_chunk(&chunk),
                Poll::Ready(Some(Err(e))) => {
                    tracing::warn!(request_id = %this.request_id, error = %e, "upstream stream failed mid-response");
                    this.end(Some("the upstream connection failed mid-stream".to_owned()));
                }
                Poll::Ready(None) => this.end(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.out.is_empty()
    }
}
