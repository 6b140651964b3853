//! Requests: a client's Responses body → IR, and IR → a Responses body (used by the
//! round-trip tests; no upstream is sent a translated Responses request, since only
//! OpenAI's own API speaks it and it gets the client's bytes).

use super::reasoning;
use super::response::summary_text;
use super::wire::{FormatIn, FunctionToolIn, ReasoningIn, RequestIn};
use crate::translate::TranslateError;
use crate::translate::json::{parse_client, parse_client_at};
use crate::translate::openai::{image_url, parse_image_url};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use switchyard_types::ir::{
    ChatRequest, Effort, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Sampling,
    Tool, ToolChoice, ToolResultContent,
};

/// Tools that run on OpenAI's side: refused by name, no other provider has them.
const BUILT_IN_TOOLS: &[&str] = &[
    "web_search",
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "web_search_2025_08_26",
    "file_search",
    "computer",
    "computer_use",
    "computer_use_preview",
    "code_interpreter",
    "image_generation",
    "mcp",
    "local_shell",
    "shell",
    "apply_patch",
    "tool_search",
];

/// Client body → IR.
pub(super) fn decode_request(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    let req: RequestIn = parse_client(body)?;
    refuse_state(&req)?;
    let stream = req.stream.unwrap_or(false);
    let mut ir = ChatRequest {
        model: req.model,
        stream,
        // Responses streams always end with the usage (in `response.completed`).
        include_usage: true,
        max_output_tokens: req.max_output_tokens,
        sampling: Sampling {
            temperature: req.temperature,
            top_p: req.top_p,
            ..Sampling::default()
        },
        parallel_tool_calls: req.parallel_tool_calls,
        reasoning: req.reasoning.and_then(decode_reasoning),
        response_format: req.text.and_then(|t| t.format).map(decode_format),
        user: req.safety_identifier.or(req.user),
        ..ChatRequest::default()
    };
    match req.instructions {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            if !s.is_empty() {
                ir.system.push(s);
            }
        }
        Some(_) => return Err(TranslateError::field("instructions", "must be a string")),
    }
    ir.tools = decode_tools(req.tools.as_deref().unwrap_or_default())?;
    ir.tool_choice = match &req.tool_choice {
        None | Some(Value::Null) => None,
        Some(v) => Some(decode_tool_choice(v)?),
    };
    match &req.input {
        Value::String(s) => ir.messages.push(Message {
            role: Role::User,
            parts: vec![Part::Text { text: s.clone() }],
        }),
        Value::Array(items) => decode_items(items, &mut ir)?,
        Value::Null => return Err(TranslateError::field("input", "is required")),
        _ => {
            return Err(TranslateError::field(
                "input",
                "must be a string or an array of input items",
            ));
        }
    }
    Ok(ir)
}

/// No server-side state is kept: anything that needs it is refused (the route's probe
/// refuses the same fields for passthrough, so every account behaves alike).
fn refuse_state(req: &RequestIn) -> Result<(), TranslateError> {
    if req.previous_response_id.is_some() {
        return Err(TranslateError::unsupported(
            "previous_response_id",
            "responses are not stored by this gateway; send the whole conversation in `input` (with `store: false`)",
        ));
    }
    if req.store == Some(true) {
        return Err(TranslateError::unsupported(
            "store",
            "responses are not stored by this gateway; send `store: false` and the whole conversation in `input`",
        ));
    }
    if req.conversation.as_ref().is_some_and(|c| !c.is_null()) {
        return Err(TranslateError::unsupported(
            "conversation",
            "conversations are not stored by this gateway",
        ));
    }
    if req.background == Some(true) {
        return Err(TranslateError::unsupported(
            "background",
            "background responses are not supported",
        ));
    }
    if req.prompt.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(TranslateError::unsupported(
            "prompt",
            "stored prompt templates are not supported",
        ));
    }
    Ok(())
}

fn decode_reasoning(r: ReasoningIn) -> Option<Reasoning> {
    let summary = r.summary.or(r.generate_summary);
    if r.effort.is_none() && summary.is_none() {
        return None;
    }
    Some(Reasoning {
        effort: r.effort,
        budget_tokens: None,
        include_thoughts: summary.as_deref() != Some("none"),
    })
}

fn decode_format(f: FormatIn) -> ResponseFormat {
    match f {
        FormatIn::Text => ResponseFormat::Text,
        FormatIn::JsonObject => ResponseFormat::JsonObject,
        FormatIn::JsonSchema {
            name,
            schema,
            strict,
        } => ResponseFormat::JsonSchema {
            name,
            schema: schema.unwrap_or_else(|| json!({"type": "object"})),
            strict: strict.unwrap_or(false),
        },
    }
}

fn decode_tools(tools: &[Value]) -> Result<Vec<Tool>, TranslateError> {
    let mut out = Vec::with_capacity(tools.len());
    for (i, t) in tools.iter().enumerate() {
        let at = format!("tools[{i}]");
        let kind = t.get("type").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "function" => {
                let f: FunctionToolIn = parse_client_at(t, &at)?;
                out.push(Tool {
                    name: f.name,
                    description: f.description,
                    parameters: f
                        .parameters
                        .filter(|p| !p.is_null())
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                });
            }
            // Codex's groups of optional tools: their calls would need the namespace
            // back, which no other provider carries; the group is not offered.
            "namespace" => {}
            "custom" => {
                return Err(TranslateError::unsupported(
                    at,
                    "custom (free-form) tools are not supported; use a function tool",
                ));
            }
            "" => return Err(TranslateError::field(format!("{at}.type"), "is required")),
            other if BUILT_IN_TOOLS.contains(&other) || other.starts_with("web_search") => {
                return Err(TranslateError::unsupported(
                    at,
                    format!(
                        "the built-in tool `{other}` runs on OpenAI's side and is not available through this gateway; remove it or declare a function tool"
                    ),
                ));
            }
            other => {
                return Err(TranslateError::unsupported(
                    at,
                    format!("tools of type `{other}` are not supported"),
                ));
            }
        }
    }
    Ok(out)
}

fn decode_tool_choice(v: &Value) -> Result<ToolChoice, TranslateError> {
    match v {
        Value::String(s) => match s.as_str() {
            "none" => Ok(ToolChoice::None),
            "auto" => Ok(ToolChoice::Auto),
            "required" => Ok(ToolChoice::Required),
            other => Err(TranslateError::field(
                "tool_choice",
                format!("unknown value `{other}`"),
            )),
        },
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function") => match o.get("name").and_then(Value::as_str) {
                Some(name) => Ok(ToolChoice::Named(name.to_owned())),
                None => Err(TranslateError::field("tool_choice.name", "is required")),
            },
            Some(other) => Err(TranslateError::unsupported(
                "tool_choice",
                format!("`{other}` tool choices are not supported"),
            )),
            None => Err(TranslateError::field("tool_choice.type", "is required")),
        },
        _ => Err(TranslateError::field(
            "tool_choice",
            "must be a string or an object",
        )),
    }
}

/// The `input` items, folded into IR turns: assistant-side items (reasoning, assistant
/// messages, function calls) between two user-side items form one assistant turn;
/// `function_call_output`s form one user turn, which a user message right after joins.
fn decode_items(items: &[Value], ir: &mut ChatRequest) -> Result<(), TranslateError> {
    let mut state = Items::default();
    for (i, item) in items.iter().enumerate() {
        let at = format!("input[{i}]");
        let Some(obj) = item.as_object() else {
            return Err(TranslateError::field(at, "must be an object"));
        };
        let kind = match obj.get("type") {
            None | Some(Value::Null) if obj.contains_key("role") => "message",
            Some(Value::String(t)) => t.as_str(),
            _ => return Err(TranslateError::field(format!("{at}.type"), "is required")),
        };
        match kind {
            "message" => state.message(obj, &at, ir)?,
            "function_call" => {
                let call_id = string(obj, "call_id", &at)?;
                let name = string(obj, "name", &at)?;
                let arguments = match obj.get("arguments") {
                    None | Some(Value::Null) => "{}".to_owned(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                state.names.insert(call_id.clone(), name.clone());
                state.assistant(
                    ir,
                    Part::ToolCall {
                        id: call_id,
                        name,
                        arguments,
                    },
                );
            }
            "function_call_output" => {
                let call_id = string(obj, "call_id", &at)?;
                let content = output_content(obj.get("output"), &format!("{at}.output"))?;
                let name = state.names.get(&call_id).cloned();
                state.result(
                    ir,
                    Part::ToolResult {
                        id: call_id,
                        name,
                        content,
                        is_error: false,
                    },
                );
            }
            "reasoning" => {
                let summary = summary_text(obj.get("summary"));
                let content = obj.get("encrypted_content").and_then(Value::as_str);
                if let Some(part) =
                    reasoning::open(content, summary, &format!("{at}.encrypted_content"))?
                {
                    state.assistant(ir, part);
                }
            }
            "item_reference" => {
                return Err(TranslateError::unsupported(
                    at,
                    "item references need stored responses, which this gateway does not keep",
                ));
            }
            other => {
                return Err(TranslateError::unsupported(
                    format!("{at}.type"),
                    format!("input items of type `{other}` are not supported"),
                ));
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct Items {
    /// call id → function name, from the calls seen so far.
    names: HashMap<String, String>,
    /// The last IR message is an assistant turn that may still grow.
    assistant_open: bool,
    /// The last IR message is a user turn of tool results that may still grow.
    results_open: bool,
}

impl Items {
    fn assistant(&mut self, ir: &mut ChatRequest, part: Part) {
        match ir.messages.last_mut() {
            Some(last) if self.assistant_open && last.role == Role::Assistant => {
                last.parts.push(part);
            }
            _ => ir.messages.push(Message {
                role: Role::Assistant,
                parts: vec![part],
            }),
        }
        self.assistant_open = true;
        self.results_open = false;
    }

    fn result(&mut self, ir: &mut ChatRequest, part: Part) {
        match ir.messages.last_mut() {
            Some(last) if self.results_open && last.role == Role::User => last.parts.push(part),
            _ => ir.messages.push(Message {
                role: Role::User,
                parts: vec![part],
            }),
        }
        self.results_open = true;
        self.assistant_open = false;
    }

    fn user(&mut self, ir: &mut ChatRequest, parts: Vec<Part>) {
        match ir.messages.last_mut() {
            Some(last) if self.results_open && last.role == Role::User => last.parts.extend(parts),
            _ => ir.messages.push(Message {
                role: Role::User,
                parts,
            }),
        }
        self.results_open = false;
        self.assistant_open = false;
    }

    fn message(
        &mut self,
        obj: &Map<String, Value>,
        at: &str,
        ir: &mut ChatRequest,
    ) -> Result<(), TranslateError> {
        let role = obj.get("role").and_then(Value::as_str).unwrap_or_default();
        let content = obj.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => {
                for part in content_parts(content, at, role)? {
                    match part {
                        Part::Text { text } if !text.is_empty() => ir.system.push(text),
                        Part::Text { .. } => {}
                        _ => {
                            return Err(TranslateError::unsupported(
                                format!("{at}.content"),
                                "only text is allowed in system and developer messages",
                            ));
                        }
                    }
                }
            }
            "user" => {
                let parts = content_parts(content, at, role)?;
                self.user(ir, parts);
            }
            "assistant" => {
                for part in content_parts(content, at, role)? {
                    if !matches!(&part, Part::Text { text } if text.is_empty()) {
                        self.assistant(ir, part);
                    }
                }
                // An assistant message with no text still ends a user run.
                if !self.assistant_open {
                    self.results_open = false;
                }
            }
            "" => return Err(TranslateError::field(format!("{at}.role"), "is required")),
            other => {
                return Err(TranslateError::field(
                    format!("{at}.role"),
                    format!("unknown role `{other}`"),
                ));
            }
        }
        Ok(())
    }
}

fn string(obj: &Map<String, Value>, key: &str, at: &str) -> Result<String, TranslateError> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => {
            Err(TranslateError::field(format!("{at}.{key}"), "is required"))
        }
        Some(_) => Err(TranslateError::field(
            format!("{at}.{key}"),
            "must be a string",
        )),
    }
}

/// A message's `content`: a string, or content parts (`input_text`, `input_image`,
/// `output_text`, `refusal`; `input_file` and `input_audio` are refused).
fn content_parts(content: &Value, at: &str, role: &str) -> Result<Vec<Part>, TranslateError> {
    let items = match content {
        Value::String(s) => return Ok(vec![Part::Text { text: s.clone() }]),
        Value::Array(items) => items,
        Value::Null => {
            return Err(TranslateError::field(
                format!("{at}.content"),
                "is required",
            ));
        }
        _ => {
            return Err(TranslateError::field(
                format!("{at}.content"),
                "must be a string or an array of content parts",
            ));
        }
    };
    let mut parts = Vec::with_capacity(items.len());
    for (j, item) in items.iter().enumerate() {
        let pat = format!("{at}.content[{j}]");
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "input_text" | "output_text" | "text" | "summary_text" | "reasoning_text" => {
                parts.push(Part::Text {
                    text: part_text(item, "text", &pat)?,
                });
            }
            "refusal" => parts.push(Part::Text {
                text: part_text(item, "refusal", &pat)?,
            }),
            "input_image" if role == "user" => parts.push(Part::Image {
                source: image_source(item, &pat)?,
            }),
            "input_image" => {
                return Err(TranslateError::unsupported(
                    pat,
                    format!("images are not allowed in a {role} message"),
                ));
            }
            "input_file" => {
                return Err(TranslateError::unsupported(
                    pat,
                    "file input is not supported",
                ));
            }
            "input_audio" => {
                return Err(TranslateError::unsupported(
                    pat,
                    "audio input is not supported",
                ));
            }
            "" => return Err(TranslateError::field(format!("{pat}.type"), "is required")),
            other => {
                return Err(TranslateError::field(
                    format!("{pat}.type"),
                    format!("unknown content part type `{other}`"),
                ));
            }
        }
    }
    Ok(parts)
}

fn part_text(item: &Value, key: &str, at: &str) -> Result<String, TranslateError> {
    match item.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(TranslateError::field(
            format!("{at}.{key}"),
            "is required (a string)",
        )),
    }
}

/// `input_image`: `image_url` (a URL or `data:` URL); `file_id` needs OpenAI's file
/// store and is refused. `detail` is dropped.
fn image_source(item: &Value, at: &str) -> Result<ImageSource, TranslateError> {
    match item.get("image_url").and_then(Value::as_str) {
        Some(url) => Ok(parse_image_url(url)),
        None if item.get("file_id").is_some_and(|f| !f.is_null()) => {
            Err(TranslateError::unsupported(
                format!("{at}.file_id"),
                "uploaded files are not supported; send the image as `image_url`",
            ))
        }
        None => Err(TranslateError::field(
            format!("{at}.image_url"),
            "is required",
        )),
    }
}

/// A `function_call_output`'s `output`: a string, or `input_text` / `input_image` parts.
fn output_content(
    output: Option<&Value>,
    at: &str,
) -> Result<Vec<ToolResultContent>, TranslateError> {
    match output {
        Some(Value::String(s)) => Ok(if s.is_empty() {
            Vec::new()
        } else {
            vec![ToolResultContent::Text { text: s.clone() }]
        }),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (j, item) in items.iter().enumerate() {
                let pat = format!("{at}[{j}]");
                match item.get("type").and_then(Value::as_str).unwrap_or_default() {
                    "input_text" | "output_text" | "text" => {
                        let text = part_text(item, "text", &pat)?;
                        if !text.is_empty() {
                            out.push(ToolResultContent::Text { text });
                        }
                    }
                    "input_image" => out.push(ToolResultContent::Image {
                        source: image_source(item, &pat)?,
                    }),
                    other => {
                        return Err(TranslateError::unsupported(
                            pat,
                            format!("`{other}` parts are not supported in a function call output"),
                        ));
                    }
                }
            }
            Ok(out)
        }
        None | Some(Value::Null) => Err(TranslateError::field(at, "is required")),
        Some(_) => Err(TranslateError::field(
            at,
            "must be a string or an array of content parts",
        )),
    }
}

// ---------------------------------------------------------------- IR → Responses body

/// IR → a Responses request body (`store: false`, the whole conversation in `input`).
pub(super) fn encode_request(ir: &ChatRequest) -> Result<Vec<u8>, TranslateError> {
    let mut body = Map::new();
    body.insert("model".into(), json!(ir.model));
    if !ir.system.is_empty() {
        body.insert("instructions".into(), json!(ir.system.join("\n\n")));
    }
    body.insert("input".into(), Value::Array(encode_items(&ir.messages)));
    if !ir.tools.is_empty() {
        let tools: Vec<Value> = ir
            .tools
            .iter()
            .map(|t| {
                let mut tool =
                    json!({"type": "function", "name": t.name, "parameters": t.parameters});
                if let Some(d) = &t.description {
                    tool["description"] = json!(d);
                }
                tool
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &ir.tool_choice {
        body.insert("tool_choice".into(), encode_tool_choice(choice));
    }
    if let Some(p) = ir.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), json!(p));
    }
    if let Some(n) = ir.max_output_tokens {
        body.insert("max_output_tokens".into(), json!(n));
    }
    if let Some(t) = ir.sampling.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = ir.sampling.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(r) = &ir.reasoning {
        let mut reasoning = Map::new();
        let effort = r
            .effort
            .or_else(|| r.budget_tokens.filter(|b| *b >= 0).map(Effort::from_budget));
        if let Some(e) = effort {
            reasoning.insert("effort".into(), json!(e.as_str()));
        }
        reasoning.insert(
            "summary".into(),
            json!(if r.include_thoughts { "auto" } else { "none" }),
        );
        body.insert("reasoning".into(), Value::Object(reasoning));
    }
    if let Some(f) = &ir.response_format {
        body.insert("text".into(), json!({"format": encode_format(f)}));
    }
    if let Some(u) = &ir.user {
        body.insert("safety_identifier".into(), json!(u));
    }
    body.insert("store".into(), json!(false));
    body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    body.insert("stream".into(), json!(ir.stream));
    serde_json::to_vec(&Value::Object(body))
        .map_err(|e| TranslateError::field("(body)", e.to_string()))
}

pub(super) fn encode_tool_choice(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Named(name) => json!({"type": "function", "name": name}),
    }
}

pub(super) fn encode_format(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            let name = if name.is_empty() { "response" } else { name };
            json!({"type": "json_schema", "name": name, "schema": schema, "strict": strict})
        }
    }
}

fn encode_items(messages: &[Message]) -> Vec<Value> {
    let mut items = Vec::new();
    for m in messages {
        match m.role {
            Role::User => {
                let mut content = Vec::new();
                for p in &m.parts {
                    match p {
                        Part::Text { text } => {
                            content.push(json!({"type": "input_text", "text": text}));
                        }
                        Part::Image { source } => content.push(
                            json!({"type": "input_image", "image_url": image_url(source), "detail": "auto"}),
                        ),
                        Part::ToolResult { id, content: c, .. } => {
                            items.push(json!({
                                "type": "function_call_output",
                                "call_id": id,
                                "output": result_output(c),
                            }));
                        }
                        Part::ToolCall { .. }
                        | Part::Thinking { .. }
                        | Part::RedactedThinking { .. } => {}
                    }
                }
                if !content.is_empty() {
                    items.push(json!({"type": "message", "role": "user", "content": content}));
                }
            }
            Role::Assistant => {
                for p in &m.parts {
                    match p {
                        Part::Text { text } => items.push(json!({
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": text, "annotations": []}],
                        })),
                        Part::ToolCall {
                            id,
                            name,
                            arguments,
                        } => items.push(json!({
                            "type": "function_call",
                            "call_id": id,
                            "name": name,
                            "arguments": arguments,
                        })),
                        Part::Thinking { text, signature } => {
                            let mut item = json!({
                                "type": "reasoning",
                                "summary": [{"type": "summary_text", "text": text}],
                            });
                            if let Some(sealed) = reasoning::seal_thinking(text, signature.as_ref())
                            {
                                item["encrypted_content"] = json!(sealed);
                            }
                            items.push(item);
                        }
                        Part::RedactedThinking { data } => {
                            let mut item = json!({"type": "reasoning", "summary": []});
                            if let Some(sealed) = reasoning::seal_redacted(data) {
                                item["encrypted_content"] = json!(sealed);
                            }
                            items.push(item);
                        }
                        Part::Image { .. } | Part::ToolResult { .. } => {}
                    }
                }
            }
        }
    }
    items
}

fn result_output(content: &[ToolResultContent]) -> Value {
    match content {
        [] => json!(""),
        [ToolResultContent::Text { text }] => json!(text),
        parts => Value::Array(
            parts
                .iter()
                .map(|c| match c {
                    ToolResultContent::Text { text } => json!({"type": "input_text", "text": text}),
                    ToolResultContent::Image { source } => {
                        json!({"type": "input_image", "image_url": image_url(source), "detail": "auto"})
                    }
                })
                .collect(),
        ),
    }
}
