//! OpenAI Responses (protocols.md §1.8): `POST /v1/responses`, JSON and the typed-event SSE
//! stream (`event: response.…` with `sequence_number`s, ending in `response.completed` /
//! `response.incomplete`), with OpenAI's `{"error":{…}}` body (shared with the Chat
//! Completions dialect). Reasoning items carry a fixed `encrypted_content` when
//! `include` asks for it; `#fake:signatures` counts the ones sent back.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::Protocol;
use crate::openai::{OpenAi, bearer};
use crate::reply::{self, Conversation, Finish, Reply, Signatures, ToolChoice, ToolDecl};
use crate::script::Failure;
use crate::server::{self, Ctx, Dialect, Incoming, Shared};

/// The `encrypted_content` of fake reasoning items.
pub(crate) const ENCRYPTED: &str = "gAAAAABmZmFrZS1yZWFzb25pbmctY29udGVudA==";

/// The Responses dialect. `encrypted` mirrors `include: ["reasoning.encrypted_content"]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Responses {
    pub encrypted: bool,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/v1/responses", post(responses))
}

async fn responses(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let key = bearer(&headers);
    let parsed = server::parse_body(&body);
    let value = parsed.as_ref().ok();
    let (model, stream) = server::model_and_stream(value);
    let encrypted = value
        .and_then(|v| v.get("include"))
        .and_then(Value::as_array)
        .is_some_and(|i| i.iter().any(|x| x == "reasoning.encrypted_content"));
    let ctx = shared.record(Incoming {
        protocol: Protocol::Responses,
        uri: &uri,
        headers: &headers,
        api_key: key,
        model,
        stream,
        body: value,
    });
    let dialect = Responses { encrypted };
    if key.is_none() {
        return server::unauthorized(&dialect, &ctx, "You didn't provide an API key.");
    }
    let body = match &parsed {
        Ok(body) => body,
        Err(e) => {
            return server::bad_request(
                &dialect,
                &ctx,
                &format!("We could not parse the JSON body of your request. {e}"),
            );
        }
    };
    if let Err(message) = validate(body) {
        return server::bad_request(&dialect, &ctx, &message);
    }
    let conv = conversation(body, model);
    server::generate(&shared, &dialect, &ctx, &conv, stream).await
}

fn validate(body: &Value) -> Result<(), String> {
    if body.get("model").and_then(Value::as_str).is_none() {
        return Err("Missing required parameter: 'model'.".to_owned());
    }
    match body.get("input") {
        Some(Value::String(_) | Value::Array(_)) => Ok(()),
        _ => Err("Missing required parameter: 'input'.".to_owned()),
    }
}

/// Text of a message's `content`: a string or `input_text` / `output_text` parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn conversation(body: &Value, model: &str) -> Conversation {
    let items: Vec<Value> = match body.get("input") {
        Some(Value::String(s)) => vec![json!({"role": "user", "content": s})],
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    let kind = |i: &Value| {
        i.get("type")
            .and_then(Value::as_str)
            .unwrap_or("message")
            .to_owned()
    };
    let role = |i: &Value| {
        i.get("role")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let output_text = |i: &Value| match i.get("output") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => content_text(other),
        None => String::new(),
    };
    let instructions = body
        .get("instructions")
        .and_then(Value::as_str)
        .unwrap_or("");
    let prompt_chars = instructions.chars().count()
        + items
            .iter()
            .map(|i| {
                i.get("content")
                    .map_or(0, |c| content_text(c).chars().count())
                    + output_text(i).chars().count()
            })
            .sum::<usize>();
    let last_user_text = items
        .iter()
        .rev()
        .filter(|i| kind(i) == "message" && role(i) == "user")
        .map(|i| i.get("content").map(content_text).unwrap_or_default())
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let trailing: Vec<String> = items
        .iter()
        .rev()
        .take_while(|i| kind(i) == "function_call_output")
        .map(output_text)
        .collect();
    let tool_results =
        (!trailing.is_empty()).then(|| trailing.into_iter().rev().collect::<Vec<_>>().join("\n"));
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter(|t| t.get("type").and_then(Value::as_str) == Some("function"))
                .filter_map(|t| {
                    Some(ToolDecl {
                        name: t.get("name")?.as_str()?.to_owned(),
                        schema: t.get("parameters").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let tool_choice = match body.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => ToolChoice::None,
        Some(Value::String(s)) if s == "required" => ToolChoice::Required,
        Some(choice @ Value::Object(_)) => choice
            .get("name")
            .and_then(Value::as_str)
            .map_or(ToolChoice::Auto, |n| ToolChoice::Named(n.to_owned())),
        _ => ToolChoice::Auto,
    };
    let wants_thinking = body
        .pointer("/reasoning/effort")
        .and_then(Value::as_str)
        .is_some_and(|e| e != "none");
    let mut signatures = Signatures::default();
    for item in items.iter().filter(|i| kind(i) == "reasoning") {
        if let Some(e) = item.get("encrypted_content").and_then(Value::as_str) {
            signatures.count(e, ENCRYPTED);
        }
    }
    Conversation {
        model: model.to_owned(),
        prompt_chars,
        last_user_text,
        tool_results,
        tools,
        tool_choice,
        wants_thinking,
        signatures,
    }
}

fn call_id(index: usize) -> String {
    format!("call_fake_{index}")
}

/// Output items: reasoning, message, function calls (in that order), with their ids.
fn output(ctx: &Ctx, reply: &Reply, encrypted: bool) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(thinking) = &reply.thinking {
        let mut item = json!({
            "type": "reasoning",
            "id": format!("rs_fake_{}", ctx.seq),
            "summary": [{"type": "summary_text", "text": thinking}],
        });
        if encrypted {
            item["encrypted_content"] = json!(ENCRYPTED);
        }
        out.push(item);
    }
    if let Some(text) = &reply.text {
        out.push(json!({
            "type": "message",
            "id": format!("msg_fake_{}", ctx.seq),
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        }));
    }
    for call in &reply.calls {
        out.push(json!({
            "type": "function_call",
            "id": format!("fc_fake_{}_{}", ctx.seq, call.index),
            "call_id": call_id(call.index),
            "name": call.name,
            "arguments": call.args.to_string(),
            "status": "completed",
        }));
    }
    out
}

fn usage_json(reply: &Reply) -> Value {
    let u = &reply.usage;
    json!({
        "input_tokens": u.prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": u.completion(),
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.total(),
    })
}

/// The `response` object; `output` and `usage` only when finished.
fn response(ctx: &Ctx, reply: &Reply, status: &str, output: &[Value], usage: &Value) -> Value {
    let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
    json!({
        "id": format!("resp_fake_{}", ctx.seq),
        "object": "response",
        "created_at": ctx.created,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": incomplete,
        "instructions": null,
        "max_output_tokens": null,
        "model": reply.model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": null,
        "metadata": {},
    })
}

fn final_status(reply: &Reply) -> &'static str {
    match reply.finish {
        Finish::Length => "incomplete",
        Finish::Stop | Finish::ToolCalls => "completed",
    }
}

/// Builds the numbered event stream.
struct Events {
    seq: u64,
    out: Vec<Bytes>,
}

impl Events {
    fn push(&mut self, kind: &str, mut fields: Value) {
        if let Some(obj) = fields.as_object_mut() {
            let mut event = Map::new();
            event.insert("type".to_owned(), json!(kind));
            event.insert("sequence_number".to_owned(), json!(self.seq));
            event.extend(std::mem::take(obj));
            fields = Value::Object(event);
        }
        self.seq += 1;
        self.out.push(server::sse_event(kind, &fields));
    }
}

impl Dialect for Responses {
    const PROTOCOL: Protocol = Protocol::Responses;

    fn error_body(
        &self,
        ctx: &Ctx,
        failure: &Failure,
        message: Option<&str>,
    ) -> (StatusCode, Value) {
        OpenAi {
            include_usage: false,
        }
        .error_body(ctx, failure, message)
    }

    fn add_headers(&self, ctx: &Ctx, limited: bool, headers: &mut HeaderMap) {
        OpenAi {
            include_usage: false,
        }
        .add_headers(ctx, limited, headers);
    }

    fn json_body(&self, ctx: &Ctx, reply: &Reply) -> Value {
        response(
            ctx,
            reply,
            final_status(reply),
            &output(ctx, reply, self.encrypted),
            &usage_json(reply),
        )
    }

    /// `error` event, as the API sends for a failure after the 200.
    fn stream_error_event(&self, _ctx: &Ctx) -> Bytes {
        server::sse_event(
            "error",
            &json!({"type": "error", "sequence_number": 0, "code": "server_error",
                "message": "The server is overloaded or not ready yet.", "param": null}),
        )
    }

    fn stream_events(&self, ctx: &Ctx, reply: &Reply) -> Vec<Bytes> {
        let mut ev = Events {
            seq: 0,
            out: Vec::new(),
        };
        let shell = response(ctx, reply, "in_progress", &[], &Value::Null);
        ev.push("response.created", json!({"response": shell}));
        ev.push("response.in_progress", json!({"response": shell}));
        let items = output(ctx, reply, self.encrypted);
        for (index, item) in items.iter().enumerate() {
            let id = item.get("id").cloned().unwrap_or(Value::Null);
            match item.get("type").and_then(Value::as_str) {
                Some("reasoning") => {
                    let mut added = item.clone();
                    added["summary"] = json!([]);
                    ev.push(
                        "response.output_item.added",
                        json!({"output_index": index, "item": added}),
                    );
                    let text = reply.thinking.clone().unwrap_or_default();
                    ev.push(
                        "response.reasoning_summary_part.added",
                        json!({"item_id": id, "output_index": index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""}}),
                    );
                    for piece in reply::pieces(&text, 2) {
                        ev.push(
                            "response.reasoning_summary_text.delta",
                            json!({"item_id": id, "output_index": index, "summary_index": 0,
                                "delta": piece}),
                        );
                    }
                    ev.push(
                        "response.reasoning_summary_text.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0,
                            "text": text}),
                    );
                    ev.push(
                        "response.reasoning_summary_part.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": text}}),
                    );
                }
                Some("message") => {
                    let mut added = item.clone();
                    added["content"] = json!([]);
                    added["status"] = json!("in_progress");
                    ev.push(
                        "response.output_item.added",
                        json!({"output_index": index, "item": added}),
                    );
                    let part = json!({"type": "output_text", "text": "", "annotations": [], "logprobs": []});
                    ev.push(
                        "response.content_part.added",
                        json!({"item_id": id, "output_index": index, "content_index": 0, "part": part}),
                    );
                    let text = reply.text.clone().unwrap_or_default();
                    for piece in reply::pieces(&text, 3) {
                        ev.push(
                            "response.output_text.delta",
                            json!({"item_id": id, "output_index": index, "content_index": 0,
                                "delta": piece, "logprobs": []}),
                        );
                    }
                    ev.push(
                        "response.output_text.done",
                        json!({"item_id": id, "output_index": index, "content_index": 0,
                            "text": text, "logprobs": []}),
                    );
                    let done = json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
                    ev.push(
                        "response.content_part.done",
                        json!({"item_id": id, "output_index": index, "content_index": 0, "part": done}),
                    );
                }
                Some("function_call") => {
                    let mut added = item.clone();
                    added["arguments"] = json!("");
                    added["status"] = json!("in_progress");
                    ev.push(
                        "response.output_item.added",
                        json!({"output_index": index, "item": added}),
                    );
                    let args = item
                        .get("arguments")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    for piece in reply::pieces(&args, 2) {
                        ev.push(
                            "response.function_call_arguments.delta",
                            json!({"item_id": id, "output_index": index, "delta": piece}),
                        );
                    }
                    ev.push(
                        "response.function_call_arguments.done",
                        json!({"item_id": id, "output_index": index, "arguments": args,
                            "name": item.get("name")}),
                    );
                }
                _ => {}
            }
            ev.push(
                "response.output_item.done",
                json!({"output_index": index, "item": item}),
            );
        }
        let status = final_status(reply);
        let done = response(ctx, reply, status, &items, &usage_json(reply));
        let kind = if status == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        ev.push(kind, json!({"response": done}));
        ev.out
    }
}
