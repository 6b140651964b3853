//! Finishing a request: the last step of the pipeline, exactly once per request.
//!
//! [`respond`] turns the edge's result into the response. An error is rendered in the
//! client's protocol shape (with the request id; the detail goes to the log) and the
//! context is finished at once. A relayed answer's body is wrapped in [`Finishing`],
//! which counts bytes, notes the time to first byte, and finishes the context when the
//! body ends or is dropped (the client went away) — so a stream is accounted for when it
//! is over, not when its headers leave.
//!
//! [`Finishing`] also reads the usage from the bytes going to the client
//! (`pipeline::usage::UsageTap`, for a 2xx answer): they are always in the client's
//! protocol, passthrough or translated, so this one tap covers every path. At the finish
//! it sets the context's usage (partial when the body ended before its final usage) and
//! its cost by the server's price table (or the upstream's reported price).
//!
//! An SSE stream still open at the drain deadline ([`crate::lifecycle::Lifecycle::cut`])
//! ends with an error event in the client's protocol, never a silent cut.

use super::forward::Answered;
use super::relay::stream_error_event;
use crate::error::ProxyError;
use crate::metrics::StreamOverhead;
use crate::state::AppState;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::HeaderValue;
use http_body::Frame;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use switchyard_core::pipeline::budget::Reservation;
use switchyard_core::pipeline::commit::is_sse;
use switchyard_core::pipeline::context::{BodyEnd, RequestContext};
use switchyard_core::pipeline::hidden_usage::UsageChunkFilter;
use switchyard_core::pipeline::usage::UsageTap;
use tokio_util::sync::WaitForCancellationFutureOwned;

/// Why a stream was ended at the drain deadline.
const DRAINED: &str = "the gateway is shutting down; retry the request";

/// The edge's result → the client's response (see the module docs).
pub fn respond(
    state: &AppState,
    mut context: RequestContext,
    mut held: Reservation,
    result: Result<Answered, ProxyError>,
) -> Response {
    let mut answered = match result {
        Ok(answered) => answered,
        Err(error) => {
            let response = error.render(context.protocol_in, &context.id);
            tracing::debug!(request_id = %context.id, protocol = %context.protocol_in, error = %error, "request refused");
            context.status = response.status().as_u16();
            context.error = Some(error.class());
            context.finish(state.finisher());
            return response;
        }
    };
    held.absorb(std::mem::take(&mut answered.held));
    let mut response = answered.response;
    let overhead = context.overhead();
    let us = u64::try_from(overhead.as_micros()).unwrap_or(u64::MAX);
    // A re-encoded stream observes its overhead itself, when it ends.
    match response.extensions_mut().remove::<StreamOverhead>() {
        Some(stream) => stream.set_first_byte(us),
        None => state.metrics.overhead(us),
    }
    response
        .headers_mut()
        .insert("x-switchyard-overhead-us", HeaderValue::from(us));
    context.status = response.status().as_u16();
    let tap = response
        .status()
        .is_success()
        .then(|| UsageTap::new(context.protocol_in, context.stream));
    let (parts, body) = response.into_parts();
    let sse = context.stream && is_sse(&parts.headers);
    // A child token (see `edge::serve`): each chunk's poll locks only this stream's node.
    let cut = sse.then(|| Box::pin(state.lifecycle.cut().child_token().cancelled_owned()));
    let hide = (sse && answered.hide_usage && tap.is_some()).then(UsageChunkFilter::default);
    let body = Finishing {
        inner: body,
        tap,
        hide,
        context: Some(context),
        held,
        state: state.clone(),
        cut,
        ended: false,
    };
    Response::from_parts(parts, Body::new(body))
}

/// A response body that finishes its request's context when it ends or is dropped.
struct Finishing {
    inner: Body,
    /// Reads the usage from the client-bound bytes (2xx answers only).
    tap: Option<UsageTap>,
    /// Removes the usage chunk the gateway asked for and the client did not (after the
    /// tap has read it).
    hide: Option<UsageChunkFilter>,
    /// `None` once finished.
    context: Option<RequestContext>,
    /// Budget held by the bytes the body still carries.
    held: Reservation,
    state: AppState,
    /// SSE streams: fires at the drain deadline.
    cut: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    /// Nothing more to send: the drain deadline ended this body (after its error
    /// event), or its held tail went out after the inner body ended.
    ended: bool,
}

impl Finishing {
    fn finish(&mut self, end: BodyEnd) {
        if let Some(mut context) = self.context.take() {
            context.end = Some(end);
            if let Some(tap) = self.tap.take() {
                match tap.finish() {
                    Some(tapped) => {
                        let model = context
                            .upstream_model
                            .as_deref()
                            .or(context.model.as_deref());
                        context.cost = self.state.prices.cost_of(model, &tapped);
                        context.usage = Some(tapped.usage);
                        context.usage_partial = tapped.partial;
                    }
                    None => context.usage_partial = end != BodyEnd::Complete,
                }
            }
            context.finish(self.state.finisher());
        }
        self.held = Reservation::default();
    }
}

impl Drop for Finishing {
    fn drop(&mut self) {
        self.finish(BodyEnd::Cancelled);
    }
}

impl http_body::Body for Finishing {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(cut) = self.cut.as_mut()
            && cut.as_mut().poll(cx).is_ready()
        {
            self.cut = None;
            self.ended = true;
            if let Some(context) = self.context.as_mut() {
                context.error = Some("drain_deadline");
            }
            let protocol = self.context.as_ref().map(|c| c.protocol_in);
            self.finish(BodyEnd::Drained);
            return match protocol {
                Some(protocol) => {
                    Poll::Ready(Some(Ok(Frame::data(stream_error_event(protocol, DRAINED)))))
                }
                None => Poll::Ready(None),
            };
        }
        loop {
            let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => frame,
                Poll::Ready(Some(Err(e))) => {
                    self.finish(BodyEnd::UpstreamFailed);
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    let tail = self.hide.as_mut().map(UsageChunkFilter::finish);
                    self.finish(BodyEnd::Complete);
                    return match tail.filter(|t| !t.is_empty()) {
                        Some(tail) => {
                            self.ended = true;
                            Poll::Ready(Some(Ok(Frame::data(tail))))
                        }
                        None => Poll::Ready(None),
                    };
                }
            };
            let data = match frame.into_data() {
                Ok(data) => data,
                Err(other) => {
                    // Trailers: the end, if the body says so.
                    if self.inner.is_end_stream() {
                        self.finish(BodyEnd::Complete);
                    }
                    return Poll::Ready(Some(Ok(other)));
                }
            };
            // hyper stops polling a body that says it has ended.
            let last = self.inner.is_end_stream();
            let this = &mut *self;
            if let Some(context) = this.context.as_mut()
                && context.ttfb.is_none()
            {
                context.ttfb = Some(context.started.elapsed());
            }
            if let Some(tap) = this.tap.as_mut() {
                tap.feed_bytes(&data);
            }
            let out = match this.hide.as_mut() {
                None => data,
                Some(hide) => {
                    let out = hide.feed(data);
                    if last {
                        let tail = hide.finish();
                        [out, tail].concat().into()
                    } else {
                        out
                    }
                }
            };
            if let Some(context) = this.context.as_mut() {
                context.bytes_out += out.len() as u64;
            }
            if last {
                self.finish(BodyEnd::Complete);
            } else if out.is_empty() {
                continue;
            }
            return Poll::Ready(Some(Ok(Frame::data(out))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
