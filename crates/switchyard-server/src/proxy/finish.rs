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
    let cut = (context.stream && is_sse(&parts.headers))
        .then(|| Box::pin(state.lifecycle.cut().clone().cancelled_owned()));
    let body = Finishing {
        inner: body,
        tap,
        context: Some(context),
        held,
        state: state.clone(),
        cut,
        was_cut: false,
    };
    Response::from_parts(parts, Body::new(body))
}

/// A response body that finishes its request's context when it ends or is dropped.
struct Finishing {
    inner: Body,
    /// Reads the usage from the client-bound bytes (2xx answers only).
    tap: Option<UsageTap>,
    /// `None` once finished.
    context: Option<RequestContext>,
    /// Budget held by the bytes the body still carries.
    held: Reservation,
    state: AppState,
    /// SSE streams: fires at the drain deadline.
    cut: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    /// The drain deadline ended this body (after its error event).
    was_cut: bool,
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
        if self.was_cut {
            return Poll::Ready(None);
        }
        if let Some(cut) = self.cut.as_mut()
            && cut.as_mut().poll(cx).is_ready()
        {
            self.cut = None;
            self.was_cut = true;
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
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                let this = &mut *self;
                if let (Some(data), Some(context)) = (frame.data_ref(), this.context.as_mut()) {
                    if context.ttfb.is_none() {
                        context.ttfb = Some(context.started.elapsed());
                    }
                    context.bytes_out += data.len() as u64;
                    if let Some(tap) = this.tap.as_mut() {
                        tap.feed_bytes(data);
                    }
                }
                // hyper stops polling a body that says it has ended.
                if self.inner.is_end_stream() {
                    self.finish(BodyEnd::Complete);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish(BodyEnd::UpstreamFailed),
            Poll::Ready(None) => self.finish(BodyEnd::Complete),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.was_cut || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
