//! Anthropic Messages (protocols.md §2): `POST /v1/messages` (JSON and the named-event SSE
//! sequence ending in `message_stop`), `POST /v1/messages/count_tokens`, `GET /v1/models`
//! (dispatched here by `server`), and the `{"type":"error",…}` body.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::reply::{self, Conversation, Finish, Reply, ToolChoice, ToolDecl, Usage};
use crate::script::{ErrorKind, Failure};
use crate::server::{self, Ctx, Dialect, Incoming, Shared};
use crate::{Protocol, openai};

/// The Anthropic dialect.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anthropic;

/// The opaque signature of fake thinking blocks (base64 of "fake-thinking-signature").
pub(crate) const SIGNATURE: &str = "ZmFrZS10aGlua2luZy1zaWduYXR1cmU=";

/// Model ids listed by `GET /v1/models`.
const MODELS: [(&str, &str); 2] = [
    ("claude-fake", "Claude Fake"),
    ("claude-fake-haiku", "Claude Fake Haiku"),
];

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
}

/// The key of `x-api-key`, else of `Authorization: Bearer` (OAuth tokens, and what newer
/// SDKs send).
pub(crate) fn api_key(headers: &HeaderMap) -> Option<&str> {
    server::header(headers, "x-api-key").or_else(|| openai::bearer(headers))
}

/// Which endpoint a POST is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Messages,
    CountTokens,
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    handle(&shared, &headers, &uri, &body, Endpoint::Messages).await
}

async fn count_tokens(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    handle(&shared, &headers, &uri, &body, Endpoint::CountTokens).await
}

/// Auth, version header, body checks; then the endpoint.
async fn handle(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
    endpoint: Endpoint,
) -> Response {
    let key = api_key(headers);
    let parsed = server::parse_body(body);
    let value = parsed.as_ref().ok();
    let (model, stream) = server::model_and_stream(value);
    // count_tokens takes no `stream`.
    let stream = stream && endpoint == Endpoint::Messages;
    let ctx = shared.record(Incoming {
        protocol: Protocol::Anthropic,
        uri,
        headers,
        api_key: key,
        model,
        stream,
        body: value,
    });
    if let Some(resp) = check_headers(&ctx, headers, key) {
        return resp;
    }
    let body = match &parsed {
        Ok(body) => body,
        Err(e) => {
            let message = format!("There was an error parsing the body: {e}");
            return server::bad_request(&Anthropic, &ctx, &message);
        }
    };
    if let Err(message) = validate(body, endpoint) {
        return server::bad_request(&Anthropic, &ctx, &message);
    }
    let conv = conversation(body, model);
    match endpoint {
        Endpoint::Messages => server::generate(shared, &Anthropic, &ctx, &conv, stream).await,
        Endpoint::CountTokens => {
            let plan = server::plan_for(shared, &ctx, &conv.last_user_text);
            if let Some(resp) = server::gate(&Anthropic, &ctx, &plan).await {
                return resp;
            }
            let tokens = json!({"input_tokens": reply::tokens(conv.prompt_chars)});
            server::json_response(&Anthropic, &ctx, StatusCode::OK, &tokens)
        }
    }
}

/// A key (`x-api-key` or bearer; else 401) and `anthropic-version` (else 400) are required.
fn check_headers(ctx: &Ctx, headers: &HeaderMap, key: Option<&str>) -> Option<Response> {
    if key.is_none() {
        return Some(server::unauthorized(
            &Anthropic,
            ctx,
            "x-api-key header is required",
        ));
    }
    if server::header(headers, "anthropic-version").is_none() {
        return Some(server::bad_request(
            &Anthropic,
            ctx,
            "anthropic-version: header is required",
        ));
    }
    None
}

/// The checks the real API makes that a translating gateway can get wrong.
fn validate(body: &Value, endpoint: Endpoint) -> Result<(), String> {
    if !body.is_object() {
        return Err("Input should be a valid dictionary or object".to_owned());
    }
    if body.get("model").and_then(Value::as_str).is_none() {
        return Err("model: Field required".to_owned());
    }
    if endpoint == Endpoint::Messages && body.get("max_tokens").and_then(Value::as_u64).is_none() {
        return Err("max_tokens: Field required".to_owned());
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err("messages: Field required".to_owned());
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".to_owned());
    }
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or_default();
        if role != "user" && role != "assistant" {
            return Err(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            ));
        }
        let empty_text = match m.get("content") {
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(blocks)) => blocks.iter().any(|b| {
                b.get("type").and_then(Value::as_str) == Some("text")
                    && b.get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .is_empty()
            }),
            _ => return Err(format!("messages.{i}.content: Field required")),
        };
        if empty_text {
            return Err("messages: text content blocks must be non-empty".to_owned());
        }
    }
    Ok(())
}

/// Text of a content value, counting `tool_result` contents too.
fn all_text(content: &Value) -> String {
    match content {
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                Some("tool_result") => b.get("content").map(reply::text_of).unwrap_or_default(),
                Some("thinking") => b
                    .get("thinking")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                _ => String::new(),
            })
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        other => reply::text_of(other),
    }
}

/// Reads the neutral conversation out of a Messages request.
fn conversation(body: &Value, model: &str) -> Conversation {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let system_chars = body
        .get("system")
        .map_or(0, |s| reply::text_of(s).chars().count());
    let prompt_chars = system_chars
        + messages
            .iter()
            .map(|m| m.get("content").map_or(0, |c| all_text(c).chars().count()))
            .sum::<usize>();
    let is_user = |m: &&Value| m.get("role").and_then(Value::as_str) == Some("user");
    let last_user_text = messages
        .iter()
        .rev()
        .filter(is_user)
        .map(|m| m.get("content").map(reply::text_of).unwrap_or_default())
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let tool_results = messages.last().filter(is_user).and_then(|m| {
        let blocks = m.get("content")?.as_array()?;
        let results: Vec<String> = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
            .map(|b| b.get("content").map(reply::text_of).unwrap_or_default())
            .collect();
        (!results.is_empty()).then(|| results.join("\n"))
    });
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| {
                    Some(ToolDecl {
                        name: t.get("name")?.as_str()?.to_owned(),
                        schema: t.get("input_schema").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let tool_choice = match body.pointer("/tool_choice/type").and_then(Value::as_str) {
        Some("none") => ToolChoice::None,
        Some("any") => ToolChoice::Required,
        Some("tool") => body
            .pointer("/tool_choice/name")
            .and_then(Value::as_str)
            .map_or(ToolChoice::Required, |n| ToolChoice::Named(n.to_owned())),
        _ => ToolChoice::Auto,
    };
    let wants_thinking = matches!(
        body.pointer("/thinking/type").and_then(Value::as_str),
        Some("enabled" | "adaptive")
    );
    Conversation {
        model: model.to_owned(),
        prompt_chars,
        last_user_text,
        tool_results,
        tools,
        tool_choice,
        wants_thinking,
        signatures: signatures_back(messages),
    }
}

/// The `signature`s of the thinking blocks in assistant turns.
fn signatures_back(messages: &[Value]) -> reply::Signatures {
    let mut found = reply::Signatures::default();
    let blocks = messages
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
        .filter_map(|m| m.get("content").and_then(Value::as_array))
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("thinking"));
    for block in blocks {
        let signature = block.get("signature").and_then(Value::as_str).unwrap_or("");
        found.count(signature, SIGNATURE);
    }
    found
}

fn stop_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "end_turn",
        Finish::Length => "max_tokens",
        Finish::ToolCalls => "tool_use",
    }
}

fn usage_json(usage: &Usage, output_tokens: u64) -> Value {
    json!({
        "input_tokens": usage.prompt,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    })
}

fn tool_id(index: usize) -> String {
    format!("toolu_fake_{index}")
}

impl Dialect for Anthropic {
    const PROTOCOL: Protocol = Protocol::Anthropic;

    fn error_body(
        &self,
        ctx: &Ctx,
        failure: &Failure,
        message: Option<&str>,
    ) -> (StatusCode, Value) {
        let (error_type, default) = match failure.kind {
            ErrorKind::RateLimited => (
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 50 requests \
                 per minute. Please try again later.",
            ),
            ErrorKind::QuotaExhausted => (
                "rate_limit_error",
                "You have reached your specified workspace API usage limits. You will regain \
                 access on the first day of next month.",
            ),
            ErrorKind::Overloaded => ("overloaded_error", "Overloaded"),
            ErrorKind::ServerError => ("api_error", "Internal server error"),
            ErrorKind::Unauthorized => ("authentication_error", "invalid x-api-key"),
            ErrorKind::BadRequest if failure.status == 404 => ("not_found_error", "Not found"),
            ErrorKind::BadRequest => ("invalid_request_error", "Invalid request"),
        };
        let mut error = json!({"type": error_type, "message": message.unwrap_or(default)});
        if failure.kind == ErrorKind::QuotaExhausted
            && let Some(obj) = error.as_object_mut()
        {
            obj.insert(
                "details".to_owned(),
                json!({"error_code": "enforced_spend_limit_reached"}),
            );
        }
        let status =
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"type": "error", "error": error, "request_id": ctx.request_id()});
        (status, body)
    }

    fn add_headers(&self, ctx: &Ctx, limited: bool, headers: &mut HeaderMap) {
        let reset = server::rfc3339(ctx.created + 1);
        let remaining = if limited { 0 } else { 999 };
        let pairs: [(&'static str, String); 7] = [
            ("request-id", ctx.request_id()),
            ("anthropic-organization-id", "fake-org".to_owned()),
            ("anthropic-ratelimit-requests-limit", "1000".to_owned()),
            (
                "anthropic-ratelimit-requests-remaining",
                remaining.to_string(),
            ),
            ("anthropic-ratelimit-requests-reset", reset.clone()),
            ("anthropic-ratelimit-tokens-limit", "80000".to_owned()),
            (
                "anthropic-ratelimit-tokens-remaining",
                if limited { "0" } else { "79000" }.to_owned(),
            ),
        ];
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&reset) {
            headers.insert(
                HeaderName::from_static("anthropic-ratelimit-tokens-reset"),
                v,
            );
        }
    }

    fn json_body(&self, ctx: &Ctx, reply: &Reply) -> Value {
        let mut content = Vec::new();
        if let Some(thinking) = &reply.thinking {
            content.push(json!({"type": "thinking", "thinking": thinking, "signature": SIGNATURE}));
        }
        if let Some(text) = &reply.text {
            content.push(json!({"type": "text", "text": text}));
        }
        for call in &reply.calls {
            content.push(json!({
                "type": "tool_use",
                "id": tool_id(call.index),
                "name": call.name,
                "input": call.args,
            }));
        }
        json!({
            "id": format!("msg_fake_{}", ctx.seq),
            "type": "message",
            "role": "assistant",
            "model": reply.model,
            "content": content,
            "stop_reason": stop_reason(reply.finish),
            "stop_sequence": null,
            "usage": usage_json(&reply.usage, reply.usage.completion()),
        })
    }

    fn stream_error_event(&self, _ctx: &Ctx) -> Bytes {
        server::sse_event(
            "error",
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        )
    }

    fn stream_events(&self, ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
        let mut events = vec![
            server::sse_event(
                "message_start",
                &json!({"type": "message_start", "message": {
                    "id": format!("msg_fake_{}", ctx.seq),
                    "type": "message",
                    "role": "assistant",
                    "model": reply.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": usage_json(&reply.usage, 1),
                }}),
            ),
            server::sse_event("ping", &json!({"type": "ping"})),
        ];
        let mut index = 0usize;
        let mut block = |events: &mut Vec<Bytes>, start: Value, deltas: Vec<Value>| {
            events.push(server::sse_event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": start}),
            ));
            for delta in deltas {
                events.push(server::sse_event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index, "delta": delta}),
                ));
            }
            events.push(server::sse_event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
            index += 1;
        };
        if let Some(thinking) = &reply.thinking {
            let mut deltas: Vec<Value> = reply::pieces(thinking, 2)
                .into_iter()
                .map(|p| json!({"type": "thinking_delta", "thinking": p}))
                .collect();
            deltas.push(json!({"type": "signature_delta", "signature": SIGNATURE}));
            block(
                &mut events,
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                deltas,
            );
        }
        if let Some(text) = &reply.text {
            let deltas = reply::pieces(text, 3)
                .into_iter()
                .map(|p| json!({"type": "text_delta", "text": p}))
                .collect();
            block(&mut events, json!({"type": "text", "text": ""}), deltas);
        }
        for call in &reply.calls {
            let deltas = reply::pieces(&call.args.to_string(), 2)
                .into_iter()
                .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                .collect();
            block(
                &mut events,
                json!({"type": "tool_use", "id": tool_id(call.index), "name": call.name, "input": {}}),
                deltas,
            );
        }
        let mut usage = usage_json(&reply.usage, reply.usage.completion());
        if let Some(obj) = usage.as_object_mut() {
            obj.remove("service_tier");
            obj.remove("cache_creation");
        }
        events.push(server::sse_event(
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason(reply.finish), "stop_sequence": null},
                "usage": usage,
            }),
        ));
        events.push(server::sse_event(
            "message_stop",
            &json!({"type": "message_stop"}),
        ));
        events
    }
}

/// `GET /v1/models` and `GET /v1/models/{id}` for Anthropic clients.
pub(crate) async fn models(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    id: Option<&str>,
) -> Response {
    let key = api_key(headers);
    let ctx = shared.record(Incoming {
        protocol: Protocol::Anthropic,
        uri,
        headers,
        api_key: key,
        model: id.unwrap_or_default(),
        stream: false,
        body: None,
    });
    if let Some(resp) = check_headers(&ctx, headers, key) {
        return resp;
    }
    let plan = server::plan_for(shared, &ctx, "");
    if let Some(resp) = server::gate(&Anthropic, &ctx, &plan).await {
        return resp;
    }
    let model = |(id, name): (&str, &str)| json!({"type": "model", "id": id, "display_name": name, "created_at": "2025-01-01T00:00:00Z"});
    let body = match id {
        None => json!({
            "data": MODELS.iter().copied().map(model).collect::<Vec<_>>(),
            "has_more": false,
            "first_id": MODELS[0].0,
            "last_id": MODELS[MODELS.len() - 1].0,
        }),
        Some(id) => match MODELS.iter().copied().find(|(m, _)| *m == id) {
            Some(found) => model(found),
            None => {
                let failure = Failure::new(404, ErrorKind::BadRequest);
                let message = format!("model: {id}");
                return server::error_response(&Anthropic, &ctx, &failure, Some(&message));
            }
        },
    };
    server::json_response(&Anthropic, &ctx, StatusCode::OK, &body)
}
