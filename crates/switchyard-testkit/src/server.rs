//! The axum app and the machinery every dialect shares: recorded calls, key behaviours, the
//! [`Dialect`] trait, and the executor that turns a [`Plan`] into a response (latency, hang,
//! error, a hostile answer from [`crate::hostile`], JSON, or a paced stream that may be cut).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures_util::stream;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::watch;

use crate::reply::{self, Conversation, Reply};
use crate::script::{self, Behaviour, Directives, ErrorKind, Failure, Plan};
use crate::{Protocol, RecordedCall, anthropic, billing, gemini, hostile, openai, responses};

/// Largest request body accepted (images and PDFs travel inline).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// State shared by every handler of one [`FakeProvider`](crate::FakeProvider).
///
/// The locks are `parking_lot` mutexes: every critical section is a short push, clone or map
/// lookup and none is held across an `.await`.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Request counter; the N in `chatcmpl-fake-N`, `msg_fake_N`, `fake-N`, `req_fake_N`.
    seq: AtomicU64,
    calls: Mutex<Vec<RecordedCall>>,
    key_behaviours: Mutex<HashMap<String, Behaviour>>,
    /// Which bearer tokens of a fake OAuth server are valid now (see
    /// [`crate::FakeProvider::set_token_gate`]).
    token_gate: Mutex<Option<crate::oauth::TokenGate>>,
    /// Becomes `true` when the provider is dropped: hung requests and streams end.
    shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn new(shutdown: watch::Receiver<bool>) -> Shared {
        Shared {
            seq: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
            key_behaviours: Mutex::new(HashMap::new()),
            token_gate: Mutex::new(None),
            shutdown,
        }
    }

    pub(crate) fn set_key_behaviour(&self, key: &str, behaviour: Behaviour) {
        self.key_behaviours.lock().insert(key.to_owned(), behaviour);
    }

    pub(crate) fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().clone()
    }

    pub(crate) fn clear_calls(&self) {
        self.calls.lock().clear();
    }

    /// The key's behaviour: an explicit override, else the built-in convention.
    pub(crate) fn set_token_gate(&self, gate: crate::oauth::TokenGate) {
        *self.token_gate.lock() = Some(gate);
    }

    pub(crate) fn behaviour_for(&self, key: &str) -> Behaviour {
        let gate = self.token_gate.lock().clone();
        if gate.is_some_and(|g| g.check(key) == Some(false)) {
            return Behaviour::Status {
                status: 401,
                retry_after_secs: None,
                kind: ErrorKind::Unauthorized,
            };
        }
        if let Some(b) = self.key_behaviours.lock().get(key) {
            return b.clone();
        }
        script::key_convention(key)
    }

    /// Records a request and returns the context its response is built with.
    pub(crate) fn record(&self, call: Incoming<'_>) -> Ctx {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let path = call
            .uri
            .path_and_query()
            .map_or_else(|| call.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let headers = call
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        self.calls.lock().push(RecordedCall {
            protocol: call.protocol,
            path,
            api_key: call.api_key.unwrap_or_default().to_owned(),
            model: call.model.to_owned(),
            stream: call.stream,
            body: call.body.cloned().unwrap_or(Value::Null),
            headers,
        });
        Ctx {
            seq,
            key: call.api_key.unwrap_or_default().to_owned(),
            created: unix_now(),
            shutdown: self.shutdown.clone(),
        }
    }
}

/// What gets recorded about a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming<'a> {
    pub protocol: Protocol,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub api_key: Option<&'a str>,
    pub model: &'a str,
    pub stream: bool,
    pub body: Option<&'a Value>,
}

/// Per-request context handed to the dialect renderers.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub seq: u64,
    /// The API key the request used ("" when none).
    pub key: String,
    /// Unix seconds at arrival (OpenAI `created`).
    pub created: u64,
    shutdown: watch::Receiver<bool>,
}

impl Ctx {
    /// The request id echoed in headers and Anthropic error bodies.
    pub(crate) fn request_id(&self) -> String {
        format!("req_fake_{}", self.seq)
    }

    /// Resolves when the provider shuts down.
    async fn shutdown(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone, which is shutdown too.
        let _closed = rx.wait_for(|down| *down).await;
    }

    /// Sleeps `ms`; false if the provider shut down first.
    async fn sleep(&self, ms: u64) -> bool {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => true,
            () = self.shutdown() => false,
        }
    }
}

/// One wire protocol: how it renders errors, replies and streams.
pub(crate) trait Dialect {
    const PROTOCOL: Protocol;

    /// Final status and body of an error in this protocol's shape. `message` replaces the
    /// default message of `failure.kind` when given.
    fn error_body(
        &self,
        ctx: &Ctx,
        failure: &Failure,
        message: Option<&str>,
    ) -> (StatusCode, Value);

    /// Protocol headers on every response (request ids, rate-limit headers). `limited` is set
    /// on 429 answers.
    fn add_headers(&self, ctx: &Ctx, limited: bool, headers: &mut HeaderMap);

    /// The non-streaming reply body.
    fn json_body(&self, ctx: &Ctx, reply: &Reply) -> Value;

    /// The stream, one item per event. The last item is the protocol's terminator, which a
    /// cut stream never sends.
    fn stream_events(&self, ctx: &Ctx, reply: &Reply) -> Vec<Bytes>;

    /// A whole stream that opens with this protocol's in-stream error event (an overload
    /// reported after the 200), and ends there.
    fn stream_error_event(&self, ctx: &Ctx) -> Bytes;

    /// Content type of the stream.
    fn stream_content_type(&self) -> &'static str {
        "text/event-stream"
    }
}

/// A JSON response with the common and protocol headers.
pub(crate) fn json_response<D: Dialect>(
    dialect: &D,
    ctx: &Ctx,
    status: StatusCode,
    body: &Value,
) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    finish_headers(
        dialect,
        ctx,
        status == StatusCode::TOO_MANY_REQUESTS,
        &mut resp,
    );
    resp
}

/// An error response in the dialect's shape.
pub(crate) fn error_response<D: Dialect>(
    dialect: &D,
    ctx: &Ctx,
    failure: &Failure,
    message: Option<&str>,
) -> Response {
    let (status, body) = dialect.error_body(ctx, failure, message);
    let mut resp = json_response(dialect, ctx, status, &body);
    if let Some(secs) = failure.retry_after_secs {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Shorthand for a 400 with a message.
pub(crate) fn bad_request<D: Dialect>(dialect: &D, ctx: &Ctx, message: &str) -> Response {
    error_response(
        dialect,
        ctx,
        &Failure::new(400, ErrorKind::BadRequest),
        Some(message),
    )
}

/// Shorthand for a 401 with a message.
pub(crate) fn unauthorized<D: Dialect>(dialect: &D, ctx: &Ctx, message: &str) -> Response {
    error_response(
        dialect,
        ctx,
        &Failure::new(401, ErrorKind::Unauthorized),
        Some(message),
    )
}

pub(crate) fn finish_headers<D: Dialect>(
    dialect: &D,
    ctx: &Ctx,
    limited: bool,
    resp: &mut Response,
) {
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ctx.key) {
        headers.insert(HeaderName::from_static("x-fake-key"), v);
    }
    dialect.add_headers(ctx, limited, headers);
}

/// The plan for a request: the key's behaviour overridden by the prompt's directives.
pub(crate) fn plan_for(shared: &Shared, ctx: &Ctx, prompt: &str) -> Plan {
    Plan::resolve(&shared.behaviour_for(&ctx.key), &Directives::parse(prompt))
}

/// Applies latency, hang and scripted errors. `Some` is the response to send instead.
pub(crate) async fn gate<D: Dialect>(dialect: &D, ctx: &Ctx, plan: &Plan) -> Option<Response> {
    if plan.latency_ms > 0 && !ctx.sleep(plan.latency_ms).await {
        return Some(shutting_down(dialect, ctx));
    }
    if plan.hang {
        ctx.shutdown().await;
        return Some(shutting_down(dialect, ctx));
    }
    plan.failure
        .map(|failure| error_response(dialect, ctx, &failure, None))
}

fn shutting_down<D: Dialect>(dialect: &D, ctx: &Ctx) -> Response {
    error_response(
        dialect,
        ctx,
        &Failure::new(503, ErrorKind::Overloaded),
        Some("The fake upstream is shutting down."),
    )
}

/// Runs a generation request: gate, build the reply, answer JSON or a stream.
pub(crate) async fn generate<D: Dialect>(
    shared: &Shared,
    dialect: &D,
    ctx: &Ctx,
    conv: &Conversation,
    stream: bool,
) -> Response {
    let plan = plan_for(shared, ctx, &conv.last_user_text);
    if let Some(resp) = gate(dialect, ctx, &plan).await {
        return resp;
    }
    let reply = reply::build(D::PROTOCOL, conv, plan.shape);
    if let Some(hostile) = plan.hostile
        && let Some(resp) = hostile::respond(dialect, ctx, &reply, stream, hostile)
    {
        return resp;
    }
    if stream {
        let events = dialect.stream_events(ctx, &reply);
        let body = paced(events, ctx, plan.chunk_delay_ms, plan.disconnect_after);
        let mut resp = Response::new(body);
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(dialect.stream_content_type()),
        );
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        finish_headers(dialect, ctx, false, &mut resp);
        return resp;
    }
    let body = dialect.json_body(ctx, &reply);
    if plan.disconnect_after.is_none() {
        return json_response(dialect, ctx, StatusCode::OK, &body);
    }
    // A cut JSON reply: headers, the first half of the body, then the connection dies.
    let text = body.to_string();
    let half = text.len() / 2;
    let events = vec![
        Bytes::copy_from_slice(&text.as_bytes()[..half]),
        Bytes::copy_from_slice(&text.as_bytes()[half..]),
    ];
    let mut resp = Response::new(paced(events, ctx, 0, Some(1)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    finish_headers(dialect, ctx, false, &mut resp);
    resp
}

/// Pause before a cut: a body error makes hyper drop the connection without flushing, so the
/// events sent before it must leave first.
const FLUSH_BEFORE_CUT_MS: u64 = 10;

/// A streamed body: the events with `delay_ms` between them. With `cut`, at most that many
/// events (never the last one) are sent and then the body fails, which aborts the connection.
fn paced(events: Vec<Bytes>, ctx: &Ctx, delay_ms: u64, cut: Option<usize>) -> Body {
    let limit = match cut {
        Some(n) => n.min(events.len().saturating_sub(1)),
        None => events.len(),
    };
    let cut_short = limit < events.len();
    let mut pending: Vec<Bytes> = events.into_iter().take(limit).collect();
    pending.reverse();
    let state = (pending, 0usize, cut_short, ctx.clone(), false);
    let stream = stream::unfold(
        state,
        move |(mut pending, sent, cut_short, ctx, done)| async move {
            if done {
                return None;
            }
            let Some(event) = pending.pop() else {
                if !cut_short {
                    return None;
                }
                // Let hyper flush what was sent before the error tears the connection down.
                tokio::time::sleep(Duration::from_millis(FLUSH_BEFORE_CUT_MS)).await;
                let err = abort("stream cut by the fake upstream (DisconnectMidStream)");
                return Some((Err(err), (pending, sent, cut_short, ctx, true)));
            };
            if sent > 0 && delay_ms > 0 && !ctx.sleep(delay_ms).await {
                return Some((
                    Err(abort("fake upstream shutting down")),
                    (pending, sent, cut_short, ctx, true),
                ));
            }
            Some((Ok(event), (pending, sent + 1, cut_short, ctx, false)))
        },
    );
    Body::from_stream(stream)
}

fn abort(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, message.to_owned())
}

/// `data: {json}\n\n`.
pub(crate) fn sse_data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// `event: NAME\ndata: {json}\n\n`.
pub(crate) fn sse_event(name: &str, value: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {value}\n\n"))
}

/// The value of a header as text, if present and non-empty.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The JSON body, or the parse error message.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// A parsed body's `model` (empty when absent) and `stream` flag (false when absent).
pub(crate) fn model_and_stream(value: Option<&Value>) -> (&str, bool) {
    let model = value
        .and_then(|v| v.get("model"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let stream = value
        .and_then(|v| v.get("stream"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    (model, stream)
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `secs` since the epoch as an RFC 3339 UTC timestamp.
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The whole app: the three dialects' routes plus shared `/v1/models`.
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .merge(openai::routes())
        .merge(responses::routes())
        .merge(anthropic::routes())
        .merge(gemini::routes())
        .merge(billing::routes())
        .route("/v1/models", get(list_models))
        // POST here is Gemini's `v1` (`/v1/models/{model}:generateContent`).
        .route("/v1/models/{id}", get(get_model).post(gemini::model_method))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

/// `/v1/models` is OpenAI's, Anthropic's and Gemini `v1`'s: a Gemini key picks Gemini, else an
/// `anthropic-version` or `x-api-key` header picks Anthropic, else OpenAI.
fn is_anthropic(headers: &HeaderMap) -> bool {
    header(headers, "anthropic-version").is_some() || header(headers, "x-api-key").is_some()
}

async fn list_models(
    State(shared): State<Arc<Shared>>,
    query: gemini::QueryMap,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if gemini::has_key(&headers, &query) {
        gemini::models(&shared, query, &headers, &uri, None).await
    } else if is_anthropic(&headers) {
        anthropic::models(&shared, &headers, &uri, None).await
    } else {
        openai::models(&shared, &headers, &uri, None).await
    }
}

async fn get_model(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    query: gemini::QueryMap,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if gemini::has_key(&headers, &query) {
        gemini::models(&shared, query, &headers, &uri, Some(&id)).await
    } else if is_anthropic(&headers) {
        anthropic::models(&shared, &headers, &uri, Some(&id)).await
    } else {
        openai::models(&shared, &headers, &uri, Some(&id)).await
    }
}

/// Unknown paths: 404 in the shape of the protocol the path or headers suggest.
async fn not_found(State(shared): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    let message = format!("Unknown request URL: {}", uri.path());
    let failure = Failure::new(404, ErrorKind::BadRequest);
    if uri.path().starts_with("/v1beta") || gemini::header_key(&headers).is_some() {
        let ctx = shared.record(Incoming {
            protocol: Protocol::Gemini,
            uri: &uri,
            headers: &headers,
            api_key: gemini::header_key(&headers),
            model: "",
            stream: false,
            body: None,
        });
        error_response(
            &gemini::Gemini { sse: false },
            &ctx,
            &failure,
            Some(&message),
        )
    } else if is_anthropic(&headers) {
        let ctx = shared.record(Incoming {
            protocol: Protocol::Anthropic,
            uri: &uri,
            headers: &headers,
            api_key: anthropic::api_key(&headers),
            model: "",
            stream: false,
            body: None,
        });
        error_response(&anthropic::Anthropic, &ctx, &failure, Some(&message))
    } else {
        let ctx = shared.record(Incoming {
            protocol: Protocol::OpenAi,
            uri: &uri,
            headers: &headers,
            api_key: openai::bearer(&headers),
            model: "",
            stream: false,
            body: None,
        });
        error_response(
            &openai::OpenAi {
                include_usage: false,
            },
            &ctx,
            &failure,
            Some(&message),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_755_780_059), "2025-08-21T12:40:59Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
