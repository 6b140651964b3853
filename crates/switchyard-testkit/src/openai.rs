//! OpenAI Chat Completions (protocols.md §1): `POST /v1/chat/completions` (JSON and
//! `data:` SSE ending in `[DONE]`), `GET /v1/models`, and the `{"error":{…}}` body.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::Protocol;
use crate::reply::{self, Conversation, Finish, Reply, ToolChoice, ToolDecl, Usage};
use crate::script::{ErrorKind, Failure};
use crate::server::{self, Ctx, Dialect, Incoming, Shared};

/// The OpenAI dialect. `include_usage` mirrors `stream_options.include_usage`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenAi {
    pub include_usage: bool,
}

/// Model ids listed by `GET /v1/models`.
const MODELS: [&str; 2] = ["gpt-fake", "gpt-fake-mini"];

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/v1/chat/completions", post(chat_completions))
}

/// The key of `Authorization: Bearer <key>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = server::header(headers, "authorization")?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

const NO_KEY: &str = "You didn't provide an API key. You need to provide your API key in an \
     Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let key = bearer(&headers);
    let parsed = server::parse_body(&body);
    let value = parsed.as_ref().ok();
    let (model, stream) = server::model_and_stream(value);
    let include_usage = value
        .and_then(|v| v.pointer("/stream_options/include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ctx = shared.record(Incoming {
        protocol: Protocol::OpenAi,
        uri: &uri,
        headers: &headers,
        api_key: key,
        model,
        stream,
        body: value,
    });
    let dialect = OpenAi { include_usage };
    if key.is_none() {
        return server::unauthorized(&dialect, &ctx, NO_KEY);
    }
    let body = match &parsed {
        Ok(body) => body,
        Err(e) => {
            let message = format!(
                "We could not parse the JSON body of your request. (HINT: This likely means \
                 you aren't using your HTTP library correctly. The OpenAI API expects a JSON \
                 payload, but what was sent was not valid JSON.) {e}"
            );
            return server::bad_request(&dialect, &ctx, &message);
        }
    };
    if let Err(message) = validate(body) {
        return server::bad_request(&dialect, &ctx, &message);
    }
    let conv = conversation(body, model);
    server::generate(&shared, &dialect, &ctx, &conv, stream).await
}

/// The checks the real API makes that a gateway can get wrong.
fn validate(body: &Value) -> Result<(), String> {
    if !body.is_object() {
        return Err("Invalid request body: expected a JSON object.".to_owned());
    }
    if body.get("model").and_then(Value::as_str).is_none() {
        return Err("you must provide a model parameter".to_owned());
    }
    match body.get("messages").and_then(Value::as_array) {
        None => return Err("Missing required parameter: 'messages'.".to_owned()),
        Some(m) if m.is_empty() => return Err("[] is too short - 'messages'".to_owned()),
        Some(_) => {}
    }
    let streaming = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if body.get("stream_options").is_some_and(|o| !o.is_null()) && !streaming {
        return Err(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.".to_owned(),
        );
    }
    Ok(())
}

/// Reads the neutral conversation out of a Chat Completions request.
fn conversation(body: &Value, model: &str) -> Conversation {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let role = |m: &Value| {
        m.get("role")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let text = |m: &Value| m.get("content").map(reply::text_of).unwrap_or_default();
    let prompt_chars = messages.iter().map(|m| text(m).chars().count()).sum();
    let last_user_text = messages
        .iter()
        .rev()
        .filter(|m| role(m) == "user")
        .map(text)
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    // The trailing run of `tool` messages (one per parallel call).
    let trailing: Vec<String> = messages
        .iter()
        .rev()
        .take_while(|m| role(m) == "tool")
        .map(text)
        .collect();
    let tool_results =
        (!trailing.is_empty()).then(|| trailing.into_iter().rev().collect::<Vec<_>>().join("\n"));
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| {
                    let function = t.get("function")?;
                    Some(ToolDecl {
                        name: function.get("name")?.as_str()?.to_owned(),
                        schema: function.get("parameters").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let tool_choice = match body.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => ToolChoice::None,
        Some(Value::String(s)) if s == "required" => ToolChoice::Required,
        Some(choice @ Value::Object(_)) => choice
            .pointer("/function/name")
            .and_then(Value::as_str)
            .map_or(ToolChoice::Auto, |n| ToolChoice::Named(n.to_owned())),
        _ => ToolChoice::Auto,
    };
    Conversation {
        model: model.to_owned(),
        prompt_chars,
        last_user_text,
        tool_results,
        tools,
        tool_choice,
        wants_thinking: false,
        signatures: reply::Signatures::default(),
    }
}

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ToolCalls => "tool_calls",
    }
}

fn usage_json(usage: &Usage) -> Value {
    json!({
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion(),
        "total_tokens": usage.total(),
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

fn call_id(index: usize) -> String {
    format!("call_fake_{index}")
}

impl OpenAi {
    /// The fields every chunk shares, around `choices`.
    fn chunk(&self, ctx: &Ctx, reply: &Reply, choices: Value, usage: Option<Value>) -> Value {
        let mut chunk = Map::new();
        chunk.insert(
            "id".to_owned(),
            Value::from(format!("chatcmpl-fake-{}", ctx.seq)),
        );
        chunk.insert("object".to_owned(), Value::from("chat.completion.chunk"));
        chunk.insert("created".to_owned(), Value::from(ctx.created));
        chunk.insert("model".to_owned(), Value::from(reply.model.as_str()));
        chunk.insert("system_fingerprint".to_owned(), Value::from("fp_fake"));
        chunk.insert("service_tier".to_owned(), Value::from("default"));
        chunk.insert("choices".to_owned(), choices);
        if self.include_usage {
            chunk.insert("usage".to_owned(), usage.unwrap_or(Value::Null));
        }
        Value::Object(chunk)
    }

    /// A chunk carrying one delta and no finish reason yet.
    fn delta_chunk(&self, ctx: &Ctx, reply: &Reply, delta: Value) -> Bytes {
        let mut choice = Map::new();
        choice.insert("index".to_owned(), Value::from(0));
        choice.insert("delta".to_owned(), delta);
        choice.insert("logprobs".to_owned(), Value::Null);
        choice.insert("finish_reason".to_owned(), Value::Null);
        let choices = Value::Array(vec![Value::Object(choice)]);
        server::sse_data(&self.chunk(ctx, reply, choices, None))
    }
}

impl Dialect for OpenAi {
    const PROTOCOL: Protocol = Protocol::OpenAi;

    fn error_body(
        &self,
        _ctx: &Ctx,
        failure: &Failure,
        message: Option<&str>,
    ) -> (StatusCode, Value) {
        let (status, kind_type, code, default) = match failure.kind {
            ErrorKind::RateLimited => (
                failure.status,
                "requests",
                Some("rate_limit_exceeded"),
                "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. \
                 Please try again in 1s.",
            ),
            ErrorKind::QuotaExhausted => (
                failure.status,
                "insufficient_quota",
                Some("insufficient_quota"),
                "You exceeded your current quota, please check your plan and billing details.",
            ),
            // 529 is Anthropic's; OpenAI says 503.
            ErrorKind::Overloaded => (
                if failure.status == 529 {
                    503
                } else {
                    failure.status
                },
                "server_error",
                Some("service_unavailable"),
                "The server is overloaded or not ready yet.",
            ),
            ErrorKind::ServerError => (
                failure.status,
                "server_error",
                None,
                "The server had an error while processing your request. Sorry about that!",
            ),
            ErrorKind::Unauthorized => (
                failure.status,
                "invalid_request_error",
                Some("invalid_api_key"),
                "Incorrect API key provided. You can find your API key at \
                 https://platform.openai.com/account/api-keys.",
            ),
            ErrorKind::BadRequest => (
                failure.status,
                "invalid_request_error",
                (failure.status == 404).then_some("unknown_url"),
                "Invalid request.",
            ),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"error": {
            "message": message.unwrap_or(default),
            "type": kind_type,
            "param": null,
            "code": code,
        }});
        (status, body)
    }

    fn add_headers(&self, ctx: &Ctx, limited: bool, headers: &mut HeaderMap) {
        let (remaining, reset) = if limited { (0, "1s") } else { (9_999, "6ms") };
        let pairs: [(&'static str, String); 8] = [
            ("x-request-id", ctx.request_id()),
            ("openai-processing-ms", "1".to_owned()),
            ("x-ratelimit-limit-requests", "10000".to_owned()),
            ("x-ratelimit-remaining-requests", remaining.to_string()),
            ("x-ratelimit-reset-requests", reset.to_owned()),
            ("x-ratelimit-limit-tokens", "1000000".to_owned()),
            (
                "x-ratelimit-remaining-tokens",
                (remaining * 100).to_string(),
            ),
            ("x-ratelimit-reset-tokens", reset.to_owned()),
        ];
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
    }

    fn json_body(&self, ctx: &Ctx, reply: &Reply) -> Value {
        let mut message = json!({
            "role": "assistant",
            "content": reply.text,
            "refusal": null,
            "annotations": [],
        });
        if let Some(obj) = message.as_object_mut() {
            if let Some(thinking) = &reply.thinking {
                obj.insert(
                    "reasoning_content".to_owned(),
                    Value::from(thinking.as_str()),
                );
            }
            if !reply.calls.is_empty() {
                let calls: Vec<Value> = reply
                    .calls
                    .iter()
                    .map(|c| {
                        json!({
                            "id": call_id(c.index),
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.args.to_string()},
                        })
                    })
                    .collect();
                obj.insert("tool_calls".to_owned(), Value::Array(calls));
            }
        }
        json!({
            "id": format!("chatcmpl-fake-{}", ctx.seq),
            "object": "chat.completion",
            "created": ctx.created,
            "model": reply.model,
            "system_fingerprint": "fp_fake",
            "service_tier": "default",
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": finish_reason(reply.finish),
            }],
            "usage": usage_json(&reply.usage),
        })
    }

    fn stream_error_event(&self, ctx: &Ctx) -> Bytes {
        let (_, body) = self.error_body(ctx, &Failure::new(503, ErrorKind::Overloaded), None);
        server::sse_data(&body)
    }

    fn stream_events(&self, ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
        let mut events = Vec::new();
        let first_content = if reply.text.is_some() {
            Value::from("")
        } else {
            Value::Null
        };
        events.push(self.delta_chunk(
            ctx,
            reply,
            json!({"role": "assistant", "content": first_content, "refusal": null}),
        ));
        if let Some(thinking) = &reply.thinking {
            for piece in reply::pieces(thinking, 2) {
                events.push(self.delta_chunk(ctx, reply, json!({"reasoning_content": piece})));
            }
        }
        if let Some(text) = &reply.text {
            for piece in reply::pieces(text, 3) {
                events.push(self.delta_chunk(ctx, reply, json!({"content": piece})));
            }
        }
        for call in &reply.calls {
            events.push(self.delta_chunk(
                ctx,
                reply,
                json!({"tool_calls": [{
                    "index": call.index,
                    "id": call_id(call.index),
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }]}),
            ));
            for piece in reply::pieces(&call.args.to_string(), 2) {
                events.push(self.delta_chunk(
                    ctx,
                    reply,
                    json!({"tool_calls": [{"index": call.index, "function": {"arguments": piece}}]}),
                ));
            }
        }
        let last = json!([{
            "index": 0,
            "delta": {},
            "logprobs": null,
            "finish_reason": finish_reason(reply.finish),
        }]);
        events.push(server::sse_data(&self.chunk(ctx, reply, last, None)));
        if self.include_usage {
            let usage = usage_json(&reply.usage);
            events.push(server::sse_data(&self.chunk(
                ctx,
                reply,
                json!([]),
                Some(usage),
            )));
        }
        events.push(Bytes::from_static(b"data: [DONE]\n\n"));
        events
    }
}

/// `GET /v1/models` and `GET /v1/models/{id}`.
pub(crate) async fn models(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    id: Option<&str>,
) -> Response {
    let key = bearer(headers);
    let ctx = shared.record(Incoming {
        protocol: Protocol::OpenAi,
        uri,
        headers,
        api_key: key,
        model: id.unwrap_or_default(),
        stream: false,
        body: None,
    });
    let dialect = OpenAi {
        include_usage: false,
    };
    if key.is_none() {
        return server::unauthorized(&dialect, &ctx, NO_KEY);
    }
    let plan = server::plan_for(shared, &ctx, "");
    if let Some(resp) = server::gate(&dialect, &ctx, &plan).await {
        return resp;
    }
    let model = |id: &str| json!({"id": id, "object": "model", "created": 1_686_935_002, "owned_by": "switchyard-fake"});
    let body = match id {
        None => {
            json!({"object": "list", "data": MODELS.iter().map(|m| model(m)).collect::<Vec<_>>()})
        }
        Some(id) if MODELS.contains(&id) => model(id),
        Some(id) => {
            let message =
                format!("The model '{id}' does not exist or you do not have access to it.");
            let failure = Failure::new(404, ErrorKind::BadRequest);
            let (status, mut body) = dialect.error_body(&ctx, &failure, Some(&message));
            if let Some(code) = body.pointer_mut("/error/code") {
                *code = Value::from("model_not_found");
            }
            return server::json_response(&dialect, &ctx, status, &body);
        }
    };
    server::json_response(&dialect, &ctx, StatusCode::OK, &body)
}
