//! Gemini API v1beta (protocols.md §3): `POST /v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent` (SSE with `?alt=sse`, else one streamed JSON array),
//! `:countTokens`, `GET /v1beta/models[/{model}]`, and the `google.rpc.Status` error body.
//! The same is served under `/v1/models/…` (newer SDKs default to `v1`); `server` routes those
//! paths here when they carry a Gemini key.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::Protocol;
use crate::reply::{self, Conversation, Finish, Reply, ToolChoice, ToolDecl, Usage};
use crate::script::{ErrorKind, Failure};
use crate::server::{self, Ctx, Dialect, Incoming, Shared};

/// The Gemini dialect. `sse` is `?alt=sse`; without it a stream is one JSON array.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gemini {
    pub sse: bool,
}

/// The opaque thought signature (base64 of "fake-thought-signature"; the Python SDK decodes it).
pub(crate) const THOUGHT_SIGNATURE: &str = "ZmFrZS10aG91Z2h0LXNpZ25hdHVyZQ==";

/// Models listed by `GET /v1beta/models`: (id, display name).
const MODELS: [(&str, &str); 2] = [
    ("gemini-fake", "Gemini Fake"),
    ("gemini-fake-flash", "Gemini Fake Flash"),
];

pub(crate) type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1beta/models", get(list_models))
        .route(
            "/v1beta/models/{model_and_method}",
            get(get_model).post(model_method),
        )
}

/// Whether a request carries a Gemini credential (`x-goog-api-key` or `?key=`); picks Gemini on
/// the `/v1/models` paths that Gemini's `v1` API shares with OpenAI and Anthropic.
pub(crate) fn has_key(headers: &HeaderMap, query: &QueryMap) -> bool {
    header_key(headers).is_some() || query.as_ref().is_ok_and(|Query(q)| q.contains_key("key"))
}

/// The key of `x-goog-api-key`.
pub(crate) fn header_key(headers: &HeaderMap) -> Option<&str> {
    server::header(headers, "x-goog-api-key")
}

/// The key from the header, else from `?key=`, else an OAuth `Authorization: Bearer`
/// token.
fn api_key<'a>(headers: &'a HeaderMap, query: &'a HashMap<String, String>) -> Option<&'a str> {
    header_key(headers)
        .or_else(|| query.get("key").map(|k| k.trim()).filter(|k| !k.is_empty()))
        .or_else(|| crate::openai::bearer(headers))
}

const NO_KEY: &str = "Method doesn't allow unregistered callers (callers without established \
     identity). Please use API Key or other form of API consumer identity to call this API.";

/// A field by its lowerCamelCase name, else its snake_case name (proto JSON accepts both).
fn field<'a>(v: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    v.get(camel).or_else(|| v.get(snake))
}

/// Which method the last path segment names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Generate,
    Stream,
    CountTokens,
}

pub(crate) async fn model_method(
    State(shared): State<Arc<Shared>>,
    Path(model_and_method): Path<String>,
    query: QueryMap,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let key = api_key(&headers, &query);
    let sse = query.get("alt").is_some_and(|alt| alt == "sse");
    let (model, method_name) = model_and_method
        .rsplit_once(':')
        .unwrap_or((model_and_method.as_str(), ""));
    let model = model.strip_prefix("models/").unwrap_or(model);
    let method = match method_name {
        "generateContent" => Some(Method::Generate),
        "streamGenerateContent" => Some(Method::Stream),
        "countTokens" => Some(Method::CountTokens),
        _ => None,
    };
    let parsed = server::parse_body(&body);
    let ctx = shared.record(Incoming {
        protocol: Protocol::Gemini,
        uri: &uri,
        headers: &headers,
        api_key: key,
        model,
        stream: method == Some(Method::Stream),
        body: parsed.as_ref().ok(),
    });
    let dialect = Gemini { sse };
    let Some(method) = method else {
        let message = format!("Method not found: {method_name}");
        let failure = Failure::new(404, ErrorKind::BadRequest);
        return server::error_response(&dialect, &ctx, &failure, Some(&message));
    };
    if key.is_none() {
        return server::unauthorized(&dialect, &ctx, NO_KEY);
    }
    let body = match &parsed {
        Ok(body) => body,
        Err(e) => {
            let message = format!("Invalid JSON payload received. {e}");
            return server::bad_request(&dialect, &ctx, &message);
        }
    };
    if method == Method::CountTokens {
        // `{"contents":…}` or `{"generateContentRequest":{…}}`.
        let request =
            field(body, "generateContentRequest", "generate_content_request").unwrap_or(body);
        let conv = conversation(request, model);
        let plan = server::plan_for(&shared, &ctx, &conv.last_user_text);
        if let Some(resp) = server::gate(&dialect, &ctx, &plan).await {
            return resp;
        }
        let tokens = reply::tokens(conv.prompt_chars);
        let body = json!({
            "totalTokens": tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}],
        });
        return server::json_response(&dialect, &ctx, StatusCode::OK, &body);
    }
    if let Err(message) = validate(body) {
        return server::bad_request(&dialect, &ctx, &message);
    }
    let conv = conversation(body, model);
    server::generate(&shared, &dialect, &ctx, &conv, method == Method::Stream).await
}

/// Keys of a part that are metadata, not its data.
const PART_METADATA: [&str; 6] = [
    "thought",
    "thoughtSignature",
    "thought_signature",
    "partMetadata",
    "videoMetadata",
    "video_metadata",
];

/// The checks the real API makes that a translating gateway can get wrong.
fn validate(body: &Value) -> Result<(), String> {
    let contents = body.get("contents").and_then(Value::as_array);
    let Some(contents) = contents.filter(|c| !c.is_empty()) else {
        return Err("* GenerateContentRequest.contents: contents is not specified".to_owned());
    };
    for (i, content) in contents.iter().enumerate() {
        if let Some(role) = content.get("role").and_then(Value::as_str)
            && role != "user"
            && role != "model"
        {
            return Err(format!(
                "Please use a valid role: user, model. (contents[{i}].role: '{role}')"
            ));
        }
        let parts = content.get("parts").and_then(Value::as_array);
        let Some(parts) = parts.filter(|p| !p.is_empty()) else {
            return Err(format!(
                "* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty."
            ));
        };
        for (j, part) in parts.iter().enumerate() {
            let obj = part.as_object();
            let has_data = obj.is_some_and(|o| {
                o.iter().any(|(k, v)| {
                    let metadata = PART_METADATA.contains(&k.as_str());
                    let empty_text = k == "text" && v.as_str() == Some("");
                    !(metadata || empty_text)
                })
            });
            let signed = obj.is_some_and(|o| {
                o.contains_key("thoughtSignature") || o.contains_key("thought_signature")
            });
            if !has_data && !signed {
                return Err(format!(
                    "* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof \
                     field 'data' must have one initialized field"
                ));
            }
        }
    }
    Ok(())
}

/// Text of a `{parts:[…]}` value: text parts (thought or not).
fn parts_text(content: &Value) -> String {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The `functionResponse.response` objects of a content, as JSON text.
fn function_responses(content: &Value) -> Vec<String> {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| field(p, "functionResponse", "function_response"))
                .map(|r| r.get("response").unwrap_or(&Value::Null).to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the neutral conversation out of a generateContent request.
fn conversation(body: &Value, model: &str) -> Conversation {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let system_chars = field(body, "systemInstruction", "system_instruction")
        .map_or(0, |s| parts_text(s).chars().count());
    let prompt_chars = system_chars
        + contents
            .iter()
            .map(|c| {
                parts_text(c).chars().count()
                    + function_responses(c)
                        .iter()
                        .map(|r| r.chars().count())
                        .sum::<usize>()
            })
            .sum::<usize>();
    let is_user = |c: &&Value| c.get("role").and_then(Value::as_str).unwrap_or("user") == "user";
    let last_user_text = contents
        .iter()
        .rev()
        .filter(is_user)
        .map(parts_text)
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let tool_results = contents.last().and_then(|c| {
        let results = function_responses(c);
        (!results.is_empty()).then(|| results.join("\n"))
    });
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| field(t, "functionDeclarations", "function_declarations"))
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|d| {
                    Some(ToolDecl {
                        name: d.get("name")?.as_str()?.to_owned(),
                        schema: d
                            .get("parameters")
                            .or_else(|| field(d, "parametersJsonSchema", "parameters_json_schema"))
                            .cloned()
                            .unwrap_or(Value::Null),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let calling = field(body, "toolConfig", "tool_config")
        .and_then(|c| field(c, "functionCallingConfig", "function_calling_config"));
    let mode = calling
        .and_then(|c| c.get("mode"))
        .and_then(Value::as_str)
        .unwrap_or("AUTO")
        .to_ascii_uppercase();
    let allowed = calling
        .and_then(|c| field(c, "allowedFunctionNames", "allowed_function_names"))
        .and_then(Value::as_array)
        .and_then(|names| names.first())
        .and_then(Value::as_str);
    let tool_choice = match (mode.as_str(), allowed) {
        ("NONE", _) => ToolChoice::None,
        ("ANY", Some(name)) => ToolChoice::Named(name.to_owned()),
        ("ANY", None) => ToolChoice::Required,
        _ => ToolChoice::Auto,
    };
    let wants_thinking = field(body, "generationConfig", "generation_config")
        .and_then(|g| field(g, "thinkingConfig", "thinking_config"))
        .and_then(|t| field(t, "includeThoughts", "include_thoughts"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Conversation {
        model: model.to_owned(),
        prompt_chars,
        last_user_text,
        tool_results,
        tools,
        tool_choice,
        wants_thinking,
        signatures: signatures_back(contents),
    }
}

/// The thought signatures on the parts of model turns.
fn signatures_back(contents: &[Value]) -> reply::Signatures {
    let mut found = reply::Signatures::default();
    let parts = contents
        .iter()
        .filter(|c| c.get("role").and_then(Value::as_str) == Some("model"))
        .filter_map(|c| c.get("parts").and_then(Value::as_array))
        .flatten();
    for part in parts {
        if let Some(signature) =
            field(part, "thoughtSignature", "thought_signature").and_then(Value::as_str)
        {
            found.count(signature, THOUGHT_SIGNATURE);
        }
    }
    found
}

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop | Finish::ToolCalls => "STOP",
        Finish::Length => "MAX_TOKENS",
    }
}

fn usage_json(usage: &Usage) -> Value {
    let mut u = json!({
        "promptTokenCount": usage.prompt,
        "candidatesTokenCount": usage.visible,
        "totalTokenCount": usage.total(),
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.prompt}],
    });
    if usage.reasoning > 0
        && let Some(obj) = u.as_object_mut()
    {
        obj.insert(
            "thoughtsTokenCount".to_owned(),
            Value::from(usage.reasoning),
        );
    }
    u
}

/// The reply's parts in order; the thought signature sits on the first function call, else on
/// the first answer text part. Each inner vector is one stream chunk's parts; `split` cuts the
/// text into three chunks (streams), else it stays one part (JSON).
fn part_groups(reply: &Reply, split: bool) -> Vec<Vec<Value>> {
    let mut groups = Vec::new();
    let mut signature_pending = reply.thinking.is_some();
    let mut sign = |mut part: Value| {
        if signature_pending && let Some(obj) = part.as_object_mut() {
            obj.insert(
                "thoughtSignature".to_owned(),
                Value::from(THOUGHT_SIGNATURE),
            );
            signature_pending = false;
        }
        part
    };
    if let Some(thinking) = &reply.thinking {
        groups.push(vec![json!({"text": thinking, "thought": true})]);
    }
    if reply.calls.is_empty() {
        if let Some(text) = &reply.text {
            let pieces = if split {
                reply::pieces(text, 3)
            } else {
                vec![text.clone()]
            };
            for piece in pieces {
                groups.push(vec![sign(json!({"text": piece}))]);
            }
        }
    } else {
        for call in &reply.calls {
            groups.push(vec![sign(
                json!({"functionCall": {"name": call.name, "args": call.args}}),
            )]);
        }
    }
    groups
}

impl Gemini {
    fn response(ctx: &Ctx, reply: &Reply, parts: &[Value], last: bool) -> Value {
        let mut candidate = Map::new();
        candidate.insert(
            "content".to_owned(),
            json!({"role": "model", "parts": parts}),
        );
        if last {
            candidate.insert(
                "finishReason".to_owned(),
                Value::from(finish_reason(reply.finish)),
            );
        }
        candidate.insert("index".to_owned(), Value::from(0));
        let usage = if last {
            usage_json(&reply.usage)
        } else {
            // Running totals: the prompt is known, the output is not yet.
            json!({
                "promptTokenCount": reply.usage.prompt,
                "totalTokenCount": reply.usage.prompt,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": reply.usage.prompt}],
            })
        };
        json!({
            "candidates": [Value::Object(candidate)],
            "usageMetadata": usage,
            "modelVersion": reply.model,
            "responseId": format!("fake-{}", ctx.seq),
        })
    }
}

impl Dialect for Gemini {
    const PROTOCOL: Protocol = Protocol::Gemini;

    fn error_body(
        &self,
        _ctx: &Ctx,
        failure: &Failure,
        message: Option<&str>,
    ) -> (StatusCode, Value) {
        let retry = format!("{}s", failure.retry_after_secs.unwrap_or(1));
        let quota = |quota_id: &str, retry_delay: &str| {
            json!([
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": quota_id,
                        "quotaDimensions": {"location": "global", "model": "gemini-fake"},
                        "quotaValue": "20",
                    }],
                },
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [{
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay},
            ])
        };
        let (status, rpc_status, default, details) = match failure.kind {
            ErrorKind::RateLimited => (
                failure.status,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                quota(
                    "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    &retry,
                ),
            ),
            ErrorKind::QuotaExhausted => {
                let daily = format!("{}s", failure.retry_after_secs.unwrap_or(3600));
                (
                    failure.status,
                    "RESOURCE_EXHAUSTED",
                    "You exceeded your current quota, please check your plan and billing details.",
                    quota("GenerateRequestsPerDayPerProjectPerModel-FreeTier", &daily),
                )
            }
            // 529 is Anthropic's; Gemini says 503.
            ErrorKind::Overloaded => (
                if failure.status == 529 {
                    503
                } else {
                    failure.status
                },
                "UNAVAILABLE",
                "The model is overloaded. Please try again later.",
                json!([]),
            ),
            ErrorKind::ServerError => (
                failure.status,
                "INTERNAL",
                "An internal error has occurred. Please retry or report in \
                 https://developers.generativeai.google/guide/troubleshooting",
                json!([]),
            ),
            ErrorKind::Unauthorized => (
                failure.status,
                "UNAUTHENTICATED",
                "API key not valid. Please pass a valid API key.",
                json!([{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }]),
            ),
            ErrorKind::BadRequest if failure.status == 404 => (
                404,
                "NOT_FOUND",
                "Requested entity was not found.",
                json!([]),
            ),
            ErrorKind::BadRequest => (
                failure.status,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                json!([]),
            ),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"error": {
            "code": status.as_u16(),
            "message": message.unwrap_or(default),
            "status": rpc_status,
            "details": details,
        }});
        (status, body)
    }

    fn add_headers(&self, _ctx: &Ctx, _limited: bool, _headers: &mut HeaderMap) {
        // Gemini sends no request-id or rate-limit headers.
    }

    fn json_body(&self, ctx: &Ctx, reply: &Reply) -> Value {
        let parts: Vec<Value> = part_groups(reply, false).into_iter().flatten().collect();
        Gemini::response(ctx, reply, &parts, true)
    }

    fn stream_error_event(&self, ctx: &Ctx) -> Bytes {
        let (_, mut body) = self.error_body(ctx, &Failure::new(503, ErrorKind::Overloaded), None);
        if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
            error.remove("details");
        }
        if self.sse {
            Bytes::from(format!("data: {body}\r\n\r\n"))
        } else {
            Bytes::from(format!("[{body}]"))
        }
    }

    fn stream_events(&self, ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
        let groups = part_groups(reply, true);
        let count = groups.len().max(1);
        let mut chunks: Vec<Value> = groups
            .into_iter()
            .enumerate()
            .map(|(i, parts)| Gemini::response(ctx, reply, &parts, i + 1 == count))
            .collect();
        if chunks.is_empty() {
            chunks.push(Gemini::response(ctx, reply, &[], true));
        }
        let last = chunks.len() - 1;
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                if self.sse {
                    Bytes::from(format!("data: {chunk}\r\n\r\n"))
                } else {
                    // One JSON array, streamed element by element; the last piece closes it.
                    let open = if i == 0 { "[" } else { ",\r\n" };
                    let close = if i == last { "]" } else { "" };
                    Bytes::from(format!("{open}{chunk}{close}"))
                }
            })
            .collect()
    }

    fn stream_content_type(&self) -> &'static str {
        if self.sse {
            "text/event-stream"
        } else {
            "application/json"
        }
    }
}

fn model_json(id: &str, name: &str) -> Value {
    json!({
        "name": format!("models/{id}"),
        "baseModelId": id,
        "version": "001",
        "displayName": name,
        "description": "A fake Gemini model served by switchyard-testkit.",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
        "temperature": 1.0,
        "maxTemperature": 2.0,
        "topP": 0.95,
        "topK": 64,
        "thinking": true,
    })
}

async fn list_models(
    State(shared): State<Arc<Shared>>,
    query: QueryMap,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    models(&shared, query, &headers, &uri, None).await
}

async fn get_model(
    State(shared): State<Arc<Shared>>,
    Path(model): Path<String>,
    query: QueryMap,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    models(&shared, query, &headers, &uri, Some(&model)).await
}

pub(crate) async fn models(
    shared: &Shared,
    query: QueryMap,
    headers: &HeaderMap,
    uri: &Uri,
    id: Option<&str>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let key = api_key(headers, &query);
    let ctx = shared.record(Incoming {
        protocol: Protocol::Gemini,
        uri,
        headers,
        api_key: key,
        model: id.unwrap_or_default(),
        stream: false,
        body: None,
    });
    let dialect = Gemini { sse: false };
    if key.is_none() {
        return server::unauthorized(&dialect, &ctx, NO_KEY);
    }
    let plan = server::plan_for(shared, &ctx, "");
    if let Some(resp) = server::gate(&dialect, &ctx, &plan).await {
        return resp;
    }
    let body = match id {
        None => json!({
            "models": MODELS.iter().map(|(id, name)| model_json(id, name)).collect::<Vec<_>>(),
        }),
        Some(id) => {
            let id = id.strip_prefix("models/").unwrap_or(id);
            match MODELS.iter().find(|(m, _)| *m == id) {
                Some((m, name)) => model_json(m, name),
                None => {
                    let failure = Failure::new(404, ErrorKind::BadRequest);
                    let message = format!("models/{id} is not found for API version v1beta.");
                    return server::error_response(&dialect, &ctx, &failure, Some(&message));
                }
            }
        }
    };
    server::json_response(&dialect, &ctx, StatusCode::OK, &body)
}
