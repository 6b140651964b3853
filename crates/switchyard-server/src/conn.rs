//! Client connections: the accept loop and the limits that keep a stalled, idle or
//! trickling client from holding a socket, a file descriptor or the shutdown.
//!
//! `axum::serve` has no such limits, so the listener is served by hand with hyper-util's
//! `auto::Builder` (HTTP/1.1 and h2c), the router behind [`ConnService`]:
//!
//! - **Connection cap.** A permit of a `max_connections` semaphore ([`connection_cap`]
//!   lowers it to fit `RLIMIT_NOFILE`) is taken *before* `accept`: at the cap the loop
//!   stops accepting and new connections wait in the kernel's listen queue instead of
//!   using up file descriptors. An `accept` error that is not about one connection
//!   (EMFILE, ENFILE, ENOBUFS…) pauses the loop ([`Backoff`], 10 ms doubling to 1 s)
//!   instead of spinning or ending it.
//! - **Header and idle timeouts**, watched on the socket by [`WatchedIo`]: a connection
//!   has `header_timeout` from accept to the end of its first request's headers; after a
//!   response it has `idle_timeout` to start the next request, then `header_timeout` from
//!   that first byte to finish the headers; while a request is in progress neither runs.
//!   hyper's HTTP/1 `header_read_timeout` cannot express this alone: its clock starts when
//!   hyper begins reading a head, which on a kept-alive connection is as soon as the
//!   previous response is written, so it bounds idle and header time together (and it
//!   does not exist for h2). It is set to `idle_timeout + header_timeout`, a backstop
//!   that never fires before the watch does.
//! - **Body timeout.** Each request body is a [`DeadlineBody`]: once the handler waits
//!   for body bytes, the rest of the body has `body_timeout` to arrive, else reading
//!   fails with [`BodyTimedOut`], which `proxy::body::read` answers as 408 in the client
//!   protocol's shape.
//! - **Shutdown** ([`Server::serve`], the steps of [`crate::lifecycle`]): the accept loop
//!   stops; for the lame duck, connections stay open and every HTTP/1 response carries
//!   `Connection: close` (a request already on its way is served, and its client then
//!   reconnects elsewhere instead of racing a close); then idle connections close and
//!   connections still sending headers (or nothing) are dropped, since no request of
//!   theirs has started; connections with a request in progress finish it (keep-alive
//!   off, GOAWAY for h2) while the caller's drain deadline runs.

use crate::lifecycle::Lifecycle;
use crate::request_id;
use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use switchyard_core::config::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

/// File descriptors kept for everything but client sockets: the listener, the database
/// and its journal, epoll, signal pipes, DNS, image fetches, logs.
const RESERVED_FDS: u64 = 64;

/// How often, at most, the "connection limit reached" warning is logged.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(60);

/// The connection cap in force: `configured`, lowered to what the open-file limit
/// allows (each client connection may need an upstream one too), and the soft
/// `RLIMIT_NOFILE` when it was the one that decided.
pub fn connection_cap(configured: usize) -> (usize, Option<u64>) {
    match open_file_limit() {
        Some(limit) if fd_cap(limit) < configured => (fd_cap(limit), Some(limit)),
        _ => (configured, None),
    }
}

/// Half of the descriptors left after [`RESERVED_FDS`]: one for the client socket, one
/// for the upstream connection serving it.
fn fd_cap(limit: u64) -> usize {
    usize::try_from(limit.saturating_sub(RESERVED_FDS) / 2)
        .unwrap_or(usize::MAX)
        .max(1)
}

/// Most descriptors asked for when raising the soft limit.
const NOFILE_WANTED: u64 = 1 << 20;

/// The soft `RLIMIT_NOFILE`, first raised towards the hard limit (as Go's runtime does):
/// distributions default the soft limit to 1024, which would cap a gateway at 480
/// connections for no reason but history.
#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit
        .maximum
        .map_or(NOFILE_WANTED, |hard| hard.min(NOFILE_WANTED));
    if limit.current.is_some_and(|soft| soft < wanted) {
        let raised = Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return Some(wanted);
        }
    }
    limit.current
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// A bound listener and the router it serves, with the limits of [`ServerConfig`].
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    app: Router,
    config: ServerConfig,
    max_connections: usize,
    life: Arc<Lifecycle>,
}

impl Server {
    pub fn new(
        listener: TcpListener,
        app: Router,
        config: ServerConfig,
        life: Arc<Lifecycle>,
    ) -> Self {
        let (max_connections, limit) = connection_cap(config.max_connections);
        if let Some(limit) = limit {
            tracing::info!(
                configured = config.max_connections,
                max_connections,
                open_file_limit = limit,
                "connection cap lowered to fit the open-file limit (raise `ulimit -n` to serve more)"
            );
        }
        Self {
            listener,
            app,
            config,
            max_connections,
            life,
        }
    }

    /// Connections served at once.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// Accept until `stop` completes, then stop accepting, keep the connections for the
    /// lame duck (`config.lame_duck`; responses say `Connection: close` once the
    /// lifecycle is draining), close the connections that have no request in progress
    /// and wait for the others to finish theirs. The caller bounds that wait (drop or
    /// abort this future to cut the rest off).
    pub async fn serve(self, stop: impl Future<Output = ()>) {
        let Self {
            listener,
            app,
            config,
            max_connections,
            life,
        } = self;
        let graceful = GracefulShutdown::new();
        let closing = Arc::new(AtomicBool::new(false));
        let slots = Arc::new(Semaphore::new(max_connections));
        let builder = builder();
        let service = TowerToHyperService::new(app);
        let mut backoff = Backoff::default();
        let mut warned_full: Option<Instant> = None;
        tokio::pin!(stop);
        loop {
            let permit = match Arc::clone(&slots).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    if warned_full.is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY) {
                        warned_full = Some(Instant::now());
                        tracing::warn!(
                            max_connections,
                            "connection limit reached: new connections wait in the listen queue"
                        );
                    }
                    tokio::select! {
                        () = &mut stop => break,
                        permit = Arc::clone(&slots).acquire_owned() => match permit {
                            Ok(permit) => permit,
                            Err(_) => break,
                        },
                    }
                }
            };
            let stream = tokio::select! {
                () = &mut stop => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        backoff.reset();
                        stream
                    }
                    Err(e) => {
                        if let Some(pause) = backoff.after(&e) {
                            tokio::select! {
                                () = &mut stop => break,
                                () = tokio::time::sleep(pause) => {}
                            }
                        }
                        continue;
                    }
                },
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY on a client connection");
            }
            let requests = Arc::new(Requests::new(Arc::clone(&life)));
            let io = TokioIo::new(WatchedIo::new(
                stream,
                Arc::clone(&requests),
                Arc::clone(&closing),
                &config,
            ));
            let service = ConnService {
                inner: service.clone(),
                requests,
                body_timeout: config.body_timeout,
            };
            let conn = graceful.watch(builder.serve_connection(io, service).into_owned());
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "client connection ended with an error");
                }
                drop(permit);
            });
        }
        drop(listener);
        if !config.lame_duck.is_zero() {
            tokio::time::sleep(config.lame_duck).await;
        }
        closing.store(true, Ordering::Release);
        graceful.shutdown().await;
    }
}

fn builder() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    // No hyper timer: [`WatchedIo`] runs the header and idle timeouts (hyper's own header
    // timer cost an allocation and a timer per request).
    builder.http1().keep_alive(true);
    builder
}

/// Pauses between failed `accept`s that are not about one connection (out of file
/// descriptors or memory): 10 ms, doubling to 1 s, until one succeeds.
#[derive(Debug, Default)]
struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);

    /// How long to pause after `error`; `None` for an error about that one connection
    /// (reset before it was accepted), after which the next is accepted at once.
    fn after(&mut self, error: &io::Error) -> Option<Duration> {
        if matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionRefused
                | io::ErrorKind::Interrupted
                | io::ErrorKind::WouldBlock
        ) {
            return None;
        }
        let pause = match self.next {
            Some(pause) => pause,
            None => {
                tracing::warn!(error = %error, "cannot accept connections; backing off until it works again");
                Self::FIRST
            }
        };
        self.next = Some((pause * 2).min(Self::MAX));
        Some(pause)
    }

    fn reset(&mut self) {
        if self.next.take().is_some() {
            tracing::info!("accepting connections again");
        }
    }
}

/// Requests on one connection, counted by [`ConnService`] and read by [`WatchedIo`] to
/// tell what the connection is waiting for.
#[derive(Debug)]
struct Requests {
    /// Requests whose headers have arrived, ever.
    started: AtomicU64,
    /// Requests whose response is not yet fully written (or dropped).
    active: AtomicUsize,
    /// The connection's reader, parked while a request was active: woken when the last
    /// one ends, so the idle timeout starts then (hyper may not read again until the
    /// client sends something).
    idle: AtomicWaker,
    /// Whether the server is draining (read when a response is ready).
    life: Arc<Lifecycle>,
}

impl Requests {
    fn new(life: Arc<Lifecycle>) -> Self {
        Self {
            started: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            idle: AtomicWaker::new(),
            life,
        }
    }
}

/// Counts a request as active until dropped with its response body.
#[derive(Debug)]
struct ActiveGuard(Arc<Requests>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.wake();
        }
    }
}

/// What a connection waits for, and so which timeout runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// The rest of a request's headers: `header_timeout`.
    Head,
    /// The first byte of the next request: `idle_timeout`.
    Idle,
    /// A request is in progress: no timeout here.
    Busy,
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The client socket, failing reads with `TimedOut` when the connection has waited too
/// long for headers or for its next request, and with `ConnectionAborted` during
/// shutdown when no request is in progress. hyper always has a read pending in those
/// states, so the timer is polled from `poll_read`.
#[derive(Debug)]
struct WatchedIo {
    stream: TcpStream,
    requests: Arc<Requests>,
    closing: Arc<AtomicBool>,
    header_timeout: Duration,
    idle_timeout: Duration,
    wait: Wait,
    /// `requests.started` when last looked at.
    seen: u64,
    /// Whether nothing has been read yet (the first bytes tell h2c from HTTP/1).
    fresh: bool,
    /// h2c: bytes while idle are control frames, not the start of a request.
    h2: bool,
    deadline: Instant,
    timer: Pin<Box<Sleep>>,
    /// The deadline `timer` is set to: at or before `deadline` (see
    /// [`Self::poll_deadline`]).
    armed: Instant,
}

impl WatchedIo {
    fn new(
        stream: TcpStream,
        requests: Arc<Requests>,
        closing: Arc<AtomicBool>,
        config: &ServerConfig,
    ) -> Self {
        let deadline = Instant::now() + config.header_timeout;
        Self {
            stream,
            requests,
            closing,
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            wait: Wait::Head,
            seen: 0,
            fresh: true,
            h2: false,
            deadline,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
            armed: deadline,
        }
    }

    /// Bring `wait` up to date with the request counters; whether a request is active.
    fn observe(&mut self) -> bool {
        if self.requests.active.load(Ordering::Acquire) > 0 {
            self.wait = Wait::Busy;
            self.seen = self.requests.started.load(Ordering::Acquire);
            return true;
        }
        let started = self.requests.started.load(Ordering::Acquire);
        if self.wait == Wait::Busy || started != self.seen {
            self.seen = started;
            self.wait = Wait::Idle;
            self.deadline = Instant::now() + self.idle_timeout;
        }
        false
    }

    fn on_bytes(&mut self, read: &[u8], busy: bool) {
        if self.fresh {
            self.fresh = false;
            let n = read.len().min(H2_PREFACE.len());
            self.h2 = read.get(..n) == H2_PREFACE.get(..n);
        }
        if !busy && !self.h2 && self.wait == Wait::Idle {
            self.wait = Wait::Head;
            self.deadline = Instant::now() + self.header_timeout;
        }
    }

    /// The timer is moved only toward an earlier deadline; a later one (each request
    /// moves it later) is picked up when the timer fires, so a request on a kept-alive
    /// connection costs no timer-wheel operation.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.deadline < self.armed {
            self.timer.as_mut().reset(self.deadline);
            self.armed = self.deadline;
        }
        loop {
            ready!(self.timer.as_mut().poll(cx));
            if self.deadline <= self.armed {
                break;
            }
            self.timer.as_mut().reset(self.deadline);
            self.armed = self.deadline;
        }
        let what = match self.wait {
            Wait::Idle => "idle timeout: no new request",
            Wait::Head | Wait::Busy => "header timeout: request headers incomplete",
        };
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)))
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let busy = this.observe();
        if busy {
            this.requests.idle.register(cx.waker());
        }
        if !busy && this.closing.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "shutting down: no request in progress",
            )));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if let Some(read) = buf.filled().get(before..)
                    && !read.is_empty()
                {
                    this.on_bytes(read, busy);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if !busy => this.poll_deadline(cx),
            other => other,
        }
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The router as one connection's hyper service: counts requests for [`WatchedIo`],
/// gives each request body its [`DeadlineBody`], and says `Connection: close` on HTTP/1
/// responses once draining.
#[derive(Debug)]
struct ConnService {
    inner: TowerToHyperService<Router>,
    requests: Arc<Requests>,
    body_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let request_id = request_id::assign(&mut request);
        self.requests.active.fetch_add(1, Ordering::AcqRel);
        self.requests.started.fetch_add(1, Ordering::AcqRel);
        let guard = ActiveGuard(Arc::clone(&self.requests));
        let timeout = self.body_timeout;
        let http1 = request.version() < http::Version::HTTP_2;
        let request = request.map(|body| Body::new(DeadlineBody::new(body, timeout)));
        ResponseFuture {
            inner: self.inner.call(request),
            guard: Some(guard),
            request_id,
            http1,
        }
    }
}

/// The router's response future; hands the request's [`ActiveGuard`] to the body.
struct ResponseFuture {
    inner: TowerToHyperServiceFuture<Router, Request<Body>>,
    guard: Option<ActiveGuard>,
    /// Put on the response (every response carries `x-request-id`).
    request_id: Option<http::HeaderValue>,
    /// HTTP/1: `Connection: close` goes on the response if the server is draining by
    /// then.
    http1: bool,
}

impl Future for ResponseFuture {
    type Output = Result<Response<TrackedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = ready!(Pin::new(&mut this.inner).poll(cx));
        let guard = this.guard.take();
        let request_id = this.request_id.take();
        Poll::Ready(result.map(|mut response| {
            if let Some(id) = request_id {
                response.headers_mut().insert(request_id::HEADER, id);
            }
            if this.http1 && guard.as_ref().is_some_and(|g| g.0.life.draining()) {
                response.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
            }
            response.map(|body| TrackedBody {
                body,
                _guard: guard,
            })
        }))
    }
}

/// A response body that keeps its request counted as active until it is dropped
/// (fully written, or the connection gone).
struct TrackedBody {
    body: Body,
    _guard: Option<ActiveGuard>,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The request body did not arrive within the server's body timeout.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body did not arrive within {}s", .0.as_secs())]
pub struct BodyTimedOut(pub Duration);

/// A request body with a deadline: the clock starts the first time the reader has to
/// wait for bytes (a body that came with the headers never starts it), then the rest
/// must arrive within `timeout`, else the read fails with [`BodyTimedOut`].
#[derive(Debug)]
pub struct DeadlineBody<B> {
    body: B,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    expired: bool,
}

impl<B> DeadlineBody<B> {
    pub fn new(body: B, timeout: Duration) -> Self {
        Self {
            body,
            timeout,
            timer: None,
            expired: false,
        }
    }
}

impl<B> http_body::Body for DeadlineBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let timeout = this.timeout;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(timer.as_mut().poll(cx));
                this.expired = true;
                Poll::Ready(Some(Err(Box::new(BodyTimedOut(timeout)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProxyError;

    #[test]
    fn the_cap_fits_the_open_file_limit() {
        assert_eq!(fd_cap(256), 96);
        assert_eq!(fd_cap(1024), 480);
        assert_eq!(fd_cap(10), 1);
        assert_eq!(
            fd_cap(u64::MAX),
            usize::try_from((u64::MAX - 64) / 2).unwrap_or(usize::MAX)
        );
        let (cap, _) = connection_cap(3);
        assert!((1..=3).contains(&cap));
    }

    #[test]
    fn accept_errors_back_off_unless_about_one_connection() {
        let mut b = Backoff::default();
        let reset = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(b.after(&reset), None);
        let emfile = io::Error::other("Too many open files");
        let pauses: Vec<_> = (0..9).filter_map(|_| b.after(&emfile)).collect();
        assert_eq!(pauses.first(), Some(&Duration::from_millis(10)));
        assert_eq!(pauses.get(1), Some(&Duration::from_millis(20)));
        assert_eq!(pauses.last(), Some(&Duration::from_secs(1)), "{pauses:?}");
        b.reset();
        assert_eq!(b.after(&emfile), Some(Duration::from_millis(10)));
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_is_a_408() {
        let stalled = http_body_util::StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, Infallible>,
        >());
        let body = Body::new(DeadlineBody::new(stalled, Duration::from_millis(50)));
        let e = crate::proxy::body::read(body, 1024).await.unwrap_err();
        assert!(matches!(e, ProxyError::BodyTimeout(_)), "{e:?}");
        assert_eq!(e.status(), 408);

        let whole = Body::new(DeadlineBody::new(
            http_body_util::Full::new(Bytes::from_static(b"{}")),
            Duration::from_millis(50),
        ));
        assert_eq!(
            crate::proxy::body::read(whole, 1024).await.unwrap(),
            Bytes::from_static(b"{}")
        );
    }
}
