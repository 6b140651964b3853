//! The `messages` array ⇄ IR system pieces and user/assistant turns.
//!
//! Decoding hoists `system`/`developer` text into [`ChatRequest::system`], folds `tool`
//! (and legacy `function`) messages into one user turn of [`Part::ToolResult`]s followed
//! by the next user message's parts, and looks up each result's function name from the
//! assistant call with the same id. Encoding does the reverse: one leading `system`
//! message, one `tool` message per result (before the user's own content), assistant
//! text + `tool_calls`, with thinking dropped.

use super::request::from_value;
use super::wire::{
    AssistantMessageIn, ContentMessageIn, FunctionCallIn, FunctionCallOut, FunctionMessageIn,
    ImageUrlOut, MessageOut, PartIn, PartOut, ToolCallOut, ToolMessageIn, UserContentOut,
};
use crate::translate::{TranslateError, ids};
use serde_json::Value;
use std::collections::HashMap;
use switchyard_types::ir::{ChatRequest, ImageSource, Message, Part, Role, ToolResultContent};

/// What stands in for an image inside a tool result, which OpenAI cannot carry.
pub(super) const IMAGE_OMITTED: &str = "[image omitted]";

/// Decode `messages` into `ir.system` and `ir.messages`.
pub(super) fn decode(messages: &[Value], ir: &mut ChatRequest) -> Result<(), TranslateError> {
    let mut state = Decoder::default();
    for (i, v) in messages.iter().enumerate() {
        let path = format!("messages[{i}]");
        let role = match v.get("role") {
            _ if !v.is_object() => return Err(TranslateError::field(path, "must be an object")),
            None | Some(Value::Null) => {
                return Err(TranslateError::field(format!("{path}.role"), "is required"));
            }
            Some(Value::String(r)) => r.as_str(),
            Some(_) => {
                return Err(TranslateError::field(
                    format!("{path}.role"),
                    "must be a string",
                ));
            }
        };
        match role {
            "system" | "developer" => {
                let m: ContentMessageIn = from_value(v, &path)?;
                let pieces = text_pieces(&m.content, &path, "system")?;
                ir.system
                    .extend(pieces.into_iter().filter(|s| !s.is_empty()));
            }
            "user" => {
                let m: ContentMessageIn = from_value(v, &path)?;
                let parts = user_parts(&m.content, &path)?;
                state.push_user(&mut ir.messages, parts);
            }
            "assistant" => {
                let m: AssistantMessageIn = from_value(v, &path)?;
                let parts = state.assistant_parts(m, i, &path)?;
                state.results_open = false;
                ir.messages.push(Message {
                    role: Role::Assistant,
                    parts,
                });
            }
            "tool" => {
                let m: ToolMessageIn = from_value(v, &path)?;
                let content = result_content(&m.content, &path)?;
                let name = state.call_names.get(&m.tool_call_id).cloned();
                let part = Part::ToolResult {
                    id: m.tool_call_id,
                    name,
                    content,
                    is_error: false,
                };
                state.push_result(&mut ir.messages, part);
            }
            "function" => {
                let m: FunctionMessageIn = from_value(v, &path)?;
                let content = result_content(&m.content, &path)?;
                let id = match state
                    .legacy_calls
                    .iter()
                    .rev()
                    .find(|(name, _)| *name == m.name)
                {
                    Some((_, id)) => id.clone(),
                    None => ids::synthesize("function_call", i, &m.name),
                };
                let part = Part::ToolResult {
                    id,
                    name: Some(m.name),
                    content,
                    is_error: false,
                };
                state.push_result(&mut ir.messages, part);
            }
            other => {
                return Err(TranslateError::field(
                    format!("{path}.role"),
                    format!("unknown role `{other}`"),
                ));
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct Decoder {
    /// Tool-call id → function name, from the assistant turns seen so far.
    call_names: HashMap<String, String>,
    /// Legacy `function_call`s seen so far: (name, synthesized id).
    legacy_calls: Vec<(String, String)>,
    /// The last IR message is a user turn made of tool results that may still grow.
    results_open: bool,
}

impl Decoder {
    fn push_result(&mut self, messages: &mut Vec<Message>, part: Part) {
        match messages.last_mut() {
            Some(last) if self.results_open && last.role == Role::User => last.parts.push(part),
            _ => {
                messages.push(Message {
                    role: Role::User,
                    parts: vec![part],
                });
                self.results_open = true;
            }
        }
    }

    /// A user message right after tool results joins their turn, after them.
    fn push_user(&mut self, messages: &mut Vec<Message>, parts: Vec<Part>) {
        match messages.last_mut() {
            Some(last) if self.results_open && last.role == Role::User => last.parts.extend(parts),
            _ => messages.push(Message {
                role: Role::User,
                parts,
            }),
        }
        self.results_open = false;
    }

    /// Thinking (`reasoning_content`), text (`content`, `refusal`), then tool calls.
    fn assistant_parts(
        &mut self,
        m: AssistantMessageIn,
        index: usize,
        path: &str,
    ) -> Result<Vec<Part>, TranslateError> {
        let mut parts = Vec::new();
        if let Some(text) = m.reasoning_content.filter(|t| !t.is_empty()) {
            parts.push(Part::Thinking {
                text,
                signature: None,
            });
        }
        match &m.content {
            Value::Null => {}
            Value::String(s) => push_text(&mut parts, s),
            Value::Array(items) => {
                for (j, item) in items.iter().enumerate() {
                    let at = format!("{path}.content[{j}]");
                    let p: PartIn = from_value(item, &at)?;
                    match p.kind.as_str() {
                        "text" => push_text(&mut parts, &required(p.text, &at, "text")?),
                        "refusal" => push_text(&mut parts, &required(p.refusal, &at, "refusal")?),
                        other => {
                            return Err(TranslateError::field(
                                format!("{at}.type"),
                                format!("`{other}` parts are not allowed in an assistant message"),
                            ));
                        }
                    }
                }
            }
            _ => return Err(content_type_error(path)),
        }
        if let Some(refusal) = &m.refusal {
            push_text(&mut parts, refusal);
        }
        for (j, call) in m.tool_calls.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{path}.tool_calls[{j}]");
            if let Some(kind) = call.kind.as_deref().filter(|k| *k != "function") {
                return Err(TranslateError::unsupported(
                    at,
                    format!("`{kind}` tool calls are not supported"),
                ));
            }
            let f = call
                .function
                .ok_or_else(|| TranslateError::field(format!("{at}.function"), "is required"))?;
            self.call_names.insert(call.id.clone(), f.name.clone());
            parts.push(Part::ToolCall {
                id: call.id,
                name: f.name,
                arguments: arguments_text(f.arguments),
            });
        }
        if let Some(FunctionCallIn { name, arguments }) = m.function_call {
            let id = ids::synthesize("function_call", index, &name);
            self.legacy_calls.push((name.clone(), id.clone()));
            parts.push(Part::ToolCall {
                id,
                name,
                arguments: arguments_text(arguments),
            });
        }
        Ok(parts)
    }
}

fn push_text(parts: &mut Vec<Part>, text: &str) {
    if !text.is_empty() {
        parts.push(Part::Text {
            text: text.to_owned(),
        });
    }
}

/// The arguments JSON text, verbatim; a (non-standard) object is serialised.
fn arguments_text(v: Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    }
}

fn required(v: Option<String>, at: &str, name: &str) -> Result<String, TranslateError> {
    v.ok_or_else(|| TranslateError::field(format!("{at}.{name}"), "is required"))
}

fn content_type_error(path: &str) -> TranslateError {
    TranslateError::field(
        format!("{path}.content"),
        "must be a string or an array of content parts",
    )
}

/// Text of a `system`/`developer`/`tool` message: a string or text parts (one piece each).
fn text_pieces(content: &Value, path: &str, what: &str) -> Result<Vec<String>, TranslateError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(j, item)| {
                let at = format!("{path}.content[{j}]");
                let p: PartIn = from_value(item, &at)?;
                match p.kind.as_str() {
                    "text" => required(p.text, &at, "text"),
                    other => Err(TranslateError::field(
                        format!("{at}.type"),
                        format!("`{other}` parts are not allowed in a {what} message"),
                    )),
                }
            })
            .collect(),
        _ => Err(content_type_error(path)),
    }
}

fn result_content(content: &Value, path: &str) -> Result<Vec<ToolResultContent>, TranslateError> {
    let pieces = text_pieces(content, path, "tool")?;
    Ok(pieces
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(|text| ToolResultContent::Text { text })
        .collect())
}

fn user_parts(content: &Value, path: &str) -> Result<Vec<Part>, TranslateError> {
    let items = match content {
        Value::String(s) => return Ok(vec![Part::Text { text: s.clone() }]),
        Value::Array(items) => items,
        Value::Null => {
            return Err(TranslateError::field(
                format!("{path}.content"),
                "is required",
            ));
        }
        _ => return Err(content_type_error(path)),
    };
    let mut parts = Vec::with_capacity(items.len());
    for (j, item) in items.iter().enumerate() {
        let at = format!("{path}.content[{j}]");
        let p: PartIn = from_value(item, &at)?;
        match p.kind.as_str() {
            "text" => parts.push(Part::Text {
                text: required(p.text, &at, "text")?,
            }),
            "image_url" => parts.push(Part::Image {
                source: image_source(p.image_url.as_ref(), &at)?,
            }),
            "input_audio" => {
                return Err(TranslateError::unsupported(
                    at,
                    "audio input is not supported",
                ));
            }
            "file" => {
                return Err(TranslateError::unsupported(
                    at,
                    "file input is not supported",
                ));
            }
            other => {
                return Err(TranslateError::field(
                    format!("{at}.type"),
                    format!("unknown content part type `{other}`"),
                ));
            }
        }
    }
    Ok(parts)
}

/// `image_url.url`: a `data:<mime>;base64,<data>` URL becomes inline base64; any other
/// URL is kept as given. `detail` has no equivalent elsewhere and is dropped.
fn image_source(v: Option<&Value>, at: &str) -> Result<ImageSource, TranslateError> {
    let url = match v {
        Some(Value::String(url)) => url,
        Some(Value::Object(o)) => match o.get("url") {
            Some(Value::String(url)) => url,
            _ => {
                return Err(TranslateError::field(
                    format!("{at}.image_url.url"),
                    "is required",
                ));
            }
        },
        _ => {
            return Err(TranslateError::field(
                format!("{at}.image_url"),
                "is required",
            ));
        }
    };
    Ok(parse_image_url(url))
}

/// A `data:<mime>;base64,…` URL as inline base64; any other URL as given (also used by
/// the Responses codec's `input_image`).
pub(crate) fn parse_image_url(url: &str) -> ImageSource {
    if let Some((header, data)) = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(','))
        && let Some(media_type) = header.strip_suffix(";base64")
        && !media_type.is_empty()
    {
        return ImageSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        };
    }
    ImageSource::Url {
        url: url.to_owned(),
    }
}

/// The URL form of an image: a `data:` URL for inline base64.
pub(crate) fn image_url(source: &ImageSource) -> String {
    match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url.clone(),
    }
}

// ---------------------------------------------------------------- encode

/// IR system + messages → the upstream `messages` array.
pub(super) fn encode(ir: &ChatRequest) -> Vec<MessageOut<'_>> {
    let mut out = Vec::with_capacity(ir.messages.len() + 1);
    let system = ir.system.join("\n\n");
    if !system.is_empty() {
        out.push(MessageOut::System { content: system });
    }
    for m in &ir.messages {
        match m.role {
            Role::User => encode_user(&m.parts, &mut out),
            Role::Assistant => out.push(encode_assistant(&m.parts)),
        }
    }
    out
}

/// Tool results first (OpenAI wants `tool` messages right after the calls), then the
/// rest of the turn as one user message. Parts a user turn cannot hold are dropped.
fn encode_user<'a>(parts: &'a [Part], out: &mut Vec<MessageOut<'a>>) {
    let mut rest = Vec::new();
    for p in parts {
        match p {
            Part::ToolResult { id, content, .. } => {
                let texts: Vec<&str> = content
                    .iter()
                    .map(|c| match c {
                        ToolResultContent::Text { text } => text.as_str(),
                        ToolResultContent::Image { .. } => IMAGE_OMITTED,
                    })
                    .collect();
                out.push(MessageOut::Tool {
                    tool_call_id: ids::sanitize(id),
                    content: texts.join("\n"),
                });
            }
            Part::Text { text } => rest.push(PartOut::Text { text }),
            Part::Image { source } => rest.push(PartOut::ImageUrl {
                image_url: ImageUrlOut {
                    url: image_url(source),
                },
            }),
            Part::ToolCall { .. } | Part::Thinking { .. } | Part::RedactedThinking { .. } => {}
        }
    }
    let content = match rest.as_slice() {
        [] => return,
        [PartOut::Text { text }] => UserContentOut::Text(text),
        _ => UserContentOut::Parts(rest),
    };
    out.push(MessageOut::User { content });
}

/// Text (joined) and tool calls. Thinking cannot be sent back to OpenAI and is dropped,
/// as are images and misplaced results.
fn encode_assistant(parts: &[Part]) -> MessageOut<'_> {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for p in parts {
        match p {
            Part::Text { text: t } => text.push_str(t),
            Part::ToolCall {
                id,
                name,
                arguments,
            } => tool_calls.push(ToolCallOut {
                id: ids::sanitize(id),
                kind: "function",
                function: FunctionCallOut { name, arguments },
            }),
            Part::Image { .. }
            | Part::ToolResult { .. }
            | Part::Thinking { .. }
            | Part::RedactedThinking { .. } => {}
        }
    }
    // Content may be null only when there are tool calls.
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(text)
    };
    MessageOut::Assistant {
        content,
        tool_calls,
    }
}
