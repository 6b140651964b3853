//! An upstream answer: status, headers and a body that enforces the idle timeout.
//!
//! The idle timeout (`upstream.idle_timeout`: the longest silence between two chunks)
//! costs one timer registration per idle period, not one per chunk: the timer is armed
//! the first time the body has nothing to give, and when it fires it is re-armed from the
//! time of the last chunk if one arrived meanwhile.

use super::{UpstreamError, error_chain};
use crate::pipeline::budget::{MemoryBudget, Reservation};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use http::{HeaderMap, StatusCode};
use http_body::{Body, Frame};
use hyper::body::Incoming;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// A response from an upstream, headers in, body not yet read.
#[derive(Debug)]
pub struct UpstreamResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: UpstreamBody,
}

impl UpstreamResponse {
    pub(super) fn new(response: http::Response<Incoming>, idle: Duration) -> Self {
        let (parts, body) = response.into_parts();
        Self {
            status: parts.status,
            headers: parts.headers,
            body: UpstreamBody::new(body, idle),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The next chunk of the body, `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        self.body.chunk().await
    }

    pub fn into_parts(self) -> (StatusCode, HeaderMap, UpstreamBody) {
        (self.status, self.headers, self.body)
    }
}

/// Read the whole body, failing past `limit` bytes. A body that came in one chunk (the
/// usual JSON answer) is returned without a copy.
pub async fn read_bounded(
    response: UpstreamResponse,
    limit: usize,
) -> Result<Bytes, UpstreamError> {
    read_body(response.body, limit).await
}

/// [`read_bounded`] of a body already taken from its response.
pub(super) async fn read_body(
    mut body: UpstreamBody,
    limit: usize,
) -> Result<Bytes, UpstreamError> {
    let Some(first) = body.chunk().await? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(UpstreamError::TooLarge(limit));
    }
    let Some(second) = body.chunk().await? else {
        return Ok(first);
    };
    let mut out = BytesMut::with_capacity(first.len() + second.len());
    out.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if out.len() + chunk.len() > limit {
            return Err(UpstreamError::TooLarge(limit));
        }
        out.extend_from_slice(&chunk);
        next = body.chunk().await?;
    }
    Ok(out.freeze())
}

/// [`read_bounded`] against the memory budget: the buffer is sized from `Content-Length`
/// when the upstream sent one (an answer over `limit` is refused before it is read), and
/// every byte of buffer capacity is reserved on `held` before it is allocated; over
/// budget, [`UpstreamError::OverBudget`].
///
/// Takes the response apart: its headers come back with the body (not cloned).
pub async fn read_within(
    response: UpstreamResponse,
    limit: usize,
    budget: &MemoryBudget,
    held: &mut Reservation,
) -> Result<(HeaderMap, Bytes), UpstreamError> {
    let declared = response
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(UpstreamError::TooLarge(limit));
    }
    let (headers, mut body) = (response.headers, response.body);
    let mut first: Option<Bytes> = None;
    let mut out = BytesMut::new();
    let mut len = 0usize;
    while let Some(chunk) = body.chunk().await? {
        len += chunk.len();
        if len > limit {
            return Err(UpstreamError::TooLarge(limit));
        }
        if first.is_none() && out.is_empty() {
            // Usually the whole answer: kept without a copy.
            if !budget.grow(held, chunk.len()) {
                return Err(UpstreamError::OverBudget);
            }
            first = Some(chunk);
            continue;
        }
        if out.is_empty() {
            let earlier = first.take().unwrap_or_default();
            // The whole declared size at once, else room to grow by doubling.
            let capacity = declared
                .unwrap_or(0)
                .max((earlier.len() + chunk.len()).saturating_mul(2))
                .min(limit);
            if !budget.grow(held, capacity.saturating_sub(held.bytes())) {
                return Err(UpstreamError::OverBudget);
            }
            out.reserve(capacity);
            out.extend_from_slice(&earlier);
        } else if out.len() + chunk.len() > out.capacity() {
            let capacity = (out.capacity().saturating_mul(2))
                .max(out.len() + chunk.len())
                .min(limit);
            if !budget.grow(held, capacity.saturating_sub(held.bytes())) {
                return Err(UpstreamError::OverBudget);
            }
            out.reserve(capacity - out.len());
        }
        out.extend_from_slice(&chunk);
    }
    Ok((headers, first.unwrap_or_else(|| out.freeze())))
}

/// An upstream body with the idle timeout. Generic over the inner body so tests can feed
/// it from a channel; the product uses hyper's [`Incoming`].
#[derive(Debug)]
pub struct UpstreamBody<B = Incoming> {
    inner: B,
    idle: Duration,
    /// When the last chunk (or the headers) arrived.
    last: Instant,
    /// Armed on the first `Pending`; dropped at the end.
    timer: Option<Pin<Box<Sleep>>>,
    /// Set once the body has ended or failed: later polls give `None`.
    done: bool,
}

impl<B> UpstreamBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error,
{
    pub fn new(inner: B, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            last: Instant::now(),
            timer: None,
            done: false,
        }
    }

    /// The next data chunk (trailers are skipped), `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, UpstreamError> {
        std::future::poll_fn(|cx| self.poll_chunk(cx))
            .await
            .transpose()
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, UpstreamError>>> {
        loop {
            return match Pin::new(&mut *self).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => Poll::Ready(Some(Ok(data))),
                    Err(_trailers) => continue,
                },
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }

    /// Poll the idle timer after the inner body said `Pending`.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<UpstreamError> {
        let idle = self.idle;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(self.last + idle)));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let deadline = self.last + idle;
            if Instant::now() >= deadline {
                return Poll::Ready(UpstreamError::Timeout(idle));
            }
            // A chunk came since the timer was armed: wait from that chunk on.
            timer.as_mut().reset(deadline);
        }
    }
}

impl<B> Body for UpstreamBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error,
{
    type Data = Bytes;
    type Error = UpstreamError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.last = Instant::now();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish();
                Poll::Ready(Some(Err(UpstreamError::Request(error_chain(&e)))))
            }
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Pending => match this.poll_idle(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(timeout) => {
                    this.finish();
                    Poll::Ready(Some(Err(timeout)))
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<B> UpstreamBody<B> {
    fn finish(&mut self) {
        self.done = true;
        self.timer = None;
    }
}

impl<B> Stream for UpstreamBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error,
{
    type Item = Result<Bytes, UpstreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use http_body_util::StreamBody;
    use std::convert::Infallible;
    use tokio::sync::mpsc;

    /// Chunks from a channel, as body frames.
    struct Rx(mpsc::UnboundedReceiver<Bytes>);

    impl Stream for Rx {
        type Item = Result<Frame<Bytes>, Infallible>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
        }
    }

    /// A body fed chunk by chunk from a channel.
    fn channel(idle: Duration) -> (mpsc::UnboundedSender<Bytes>, UpstreamBody<StreamBody<Rx>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (tx, UpstreamBody::new(StreamBody::new(Rx(rx)), idle))
    }

    #[tokio::test(start_paused = true)]
    async fn chunks_inside_the_idle_window_keep_the_body_alive() {
        let (tx, mut body) = channel(Duration::from_secs(10));
        let feeder = tokio::spawn(async move {
            for i in 0..5u8 {
                tokio::time::sleep(Duration::from_secs(6)).await;
                tx.send(Bytes::from(vec![i])).unwrap();
            }
            // then silence: the sender stays open
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(tx);
        });
        let started = Instant::now();
        let mut got = Vec::new();
        let end = loop {
            match body.next().await {
                Some(Ok(b)) => got.extend_from_slice(&b),
                Some(Err(e)) => break e,
                None => panic!("the body ended instead of timing out"),
            }
        };
        assert_eq!(
            got,
            [0, 1, 2, 3, 4],
            "30 s of chunks 6 s apart never idle out"
        );
        assert!(matches!(end, UpstreamError::Timeout(d) if d == Duration::from_secs(10)));
        // The last chunk came at 30 s: the timeout fires 10 s later, not earlier.
        assert_eq!(started.elapsed(), Duration::from_secs(40));
        assert!(body.next().await.is_none(), "a failed body stays ended");
        feeder.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_finished_body_ends() {
        let (tx, mut body) = channel(Duration::from_secs(1));
        tx.send(Bytes::from_static(b"ab")).unwrap();
        tx.send(Bytes::from_static(b"c")).unwrap();
        drop(tx);
        assert_eq!(body.chunk().await.unwrap().unwrap(), "ab");
        assert_eq!(body.chunk().await.unwrap().unwrap(), "c");
        assert!(body.chunk().await.unwrap().is_none());
    }
}
