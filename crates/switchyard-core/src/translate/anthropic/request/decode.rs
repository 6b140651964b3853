//! A client's Messages body → IR.

use serde::de::DeserializeOwned;
use serde_json::Value;
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, Effort, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Sampling,
    Signature, Tool, ToolChoice, ToolResultContent,
};

use super::super::wire::{
    BlockIn, ContentIn, FormatIn, ImageSourceIn, MessageIn, RequestIn, RoleIn, SystemIn,
    ThinkingIn, ToolChoiceIn, ToolIn,
};
use super::compact_json;
use crate::translate::TranslateError;

/// A client's Messages body → IR. The model and `stream` flag come from the body.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    let req: RequestIn = parse_body(body)?;
    let system = decode_system(req.system)?;
    let messages = req
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| decode_message(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    let tools = decode_tools(req.tools.as_deref().unwrap_or_default())?;
    let (tool_choice, parallel_tool_calls) = decode_tool_choice(req.tool_choice);
    let (effort, format) = match req.output_config {
        Some(c) => (
            c.effort.as_deref().map(decode_effort).transpose()?,
            c.format,
        ),
        None => (None, None),
    };
    Ok(ChatRequest {
        model: req.model,
        system,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls,
        sampling: Sampling {
            temperature: req.temperature,
            top_p: req.top_p,
            top_k: req.top_k,
            ..Sampling::default()
        },
        stop: req.stop_sequences.unwrap_or_default(),
        max_output_tokens: Some(req.max_tokens),
        response_format: format.map(
            |FormatIn::JsonSchema { schema }| ResponseFormat::JsonSchema {
                name: "response".to_owned(),
                schema,
                strict: false,
            },
        ),
        reasoning: decode_reasoning(req.thinking, effort),
        stream: req.stream.unwrap_or(false),
        // An Anthropic client always receives usage (message_start / message_delta).
        include_usage: true,
        user: req.metadata.and_then(|m| m.user_id),
    })
}

fn decode_system(system: Option<SystemIn>) -> Result<Vec<String>, TranslateError> {
    match system {
        None => Ok(Vec::new()),
        Some(SystemIn::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(SystemIn::Text(text)) => Ok(vec![text]),
        Some(SystemIn::Blocks(blocks)) => blocks
            .into_iter()
            .enumerate()
            .map(|(i, b)| {
                if b.kind == "text" {
                    Ok(b.text)
                } else {
                    Err(TranslateError::unsupported(
                        format!("system[{i}]"),
                        format!("system block type `{}` is not supported", b.kind),
                    ))
                }
            })
            .collect(),
    }
}

fn decode_message(i: usize, m: MessageIn) -> Result<Message, TranslateError> {
    let role = match m.role {
        RoleIn::User => Role::User,
        RoleIn::Assistant => Role::Assistant,
    };
    let parts = match m.content {
        ContentIn::Text(text) => vec![Part::Text { text }],
        ContentIn::Blocks(blocks) => blocks
            .iter()
            .enumerate()
            .map(|(j, b)| decode_block(&format!("messages[{i}].content[{j}]"), b))
            .collect::<Result<_, _>>()?,
    };
    Ok(Message { role, parts })
}

fn decode_block(path: &str, value: &Value) -> Result<Part, TranslateError> {
    Ok(match from_value::<BlockIn>(value, path)? {
        BlockIn::Text { text } => Part::Text { text },
        BlockIn::Image { source } => Part::Image {
            source: decode_image(path, source)?,
        },
        BlockIn::Document { source } => Part::Text {
            text: document_text(path, &source)?,
        },
        BlockIn::ToolUse { id, name, input } => Part::ToolCall {
            id,
            name,
            arguments: compact_json(&input),
        },
        BlockIn::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => Part::ToolResult {
            id: tool_use_id,
            name: None,
            content: decode_tool_result(path, content)?,
            is_error: is_error.unwrap_or(false),
        },
        BlockIn::Thinking {
            thinking,
            signature,
        } => Part::Thinking {
            text: thinking,
            // An empty signature is what we hand out for non-Anthropic thinking (see
            // response.rs); it is not a signature.
            signature: signature.filter(|s| !s.is_empty()).map(|value| Signature {
                value,
                origin: Protocol::Anthropic,
            }),
        },
        BlockIn::RedactedThinking { data } => Part::RedactedThinking { data },
        BlockIn::Other => return Err(unsupported_block(path, value)),
    })
}

fn decode_tool_result(
    path: &str,
    content: Option<ContentIn>,
) -> Result<Vec<ToolResultContent>, TranslateError> {
    match content {
        None => Ok(Vec::new()),
        Some(ContentIn::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(ContentIn::Text(text)) => Ok(vec![ToolResultContent::Text { text }]),
        Some(ContentIn::Blocks(blocks)) => blocks
            .iter()
            .enumerate()
            .map(|(k, b)| {
                let path = format!("{path}.content[{k}]");
                match from_value::<BlockIn>(b, &path)? {
                    BlockIn::Text { text } => Ok(ToolResultContent::Text { text }),
                    BlockIn::Image { source } => Ok(ToolResultContent::Image {
                        source: decode_image(&path, source)?,
                    }),
                    BlockIn::Document { source } => Ok(ToolResultContent::Text {
                        text: document_text(&path, &source)?,
                    }),
                    _ => Err(unsupported_block(&path, b)),
                }
            })
            .collect(),
    }
}

fn decode_image(path: &str, source: ImageSourceIn) -> Result<ImageSource, TranslateError> {
    match source {
        ImageSourceIn::Base64 { media_type, data } => Ok(ImageSource::Base64 { media_type, data }),
        ImageSourceIn::Url { url } => Ok(ImageSource::Url { url }),
        ImageSourceIn::Other => Err(TranslateError::unsupported(
            format!("{path}.source"),
            "only base64 and url image sources can be translated to another provider",
        )),
    }
}

/// A plain-text document (`source: {type:"text", data}`) is read as text; PDFs, URLs and
/// file ids have no IR equivalent.
fn document_text(path: &str, source: &Value) -> Result<String, TranslateError> {
    if source.get("type").and_then(Value::as_str) == Some("text")
        && let Some(data) = source.get("data").and_then(Value::as_str)
    {
        return Ok(data.to_owned());
    }
    Err(TranslateError::unsupported(
        path,
        "only plain-text documents can be translated to another provider",
    ))
}

fn unsupported_block(path: &str, value: &Value) -> TranslateError {
    let kind = value.get("type").and_then(Value::as_str).unwrap_or("?");
    TranslateError::unsupported(
        path,
        format!("content block type `{kind}` cannot be translated to another provider"),
    )
}

fn decode_tools(tools: &[Value]) -> Result<Vec<Tool>, TranslateError> {
    tools
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let path = format!("tools[{i}]");
            if let Some(kind) = value.get("type").and_then(Value::as_str)
                && kind != "custom"
            {
                return Err(TranslateError::unsupported(
                    path,
                    format!("server tool `{kind}` cannot be translated to another provider"),
                ));
            }
            let tool: ToolIn = from_value(value, &path)?;
            Ok(Tool {
                name: tool.name,
                description: tool.description,
                parameters: tool.input_schema,
            })
        })
        .collect()
}

fn decode_tool_choice(choice: Option<ToolChoiceIn>) -> (Option<ToolChoice>, Option<bool>) {
    let (choice, disable) = match choice {
        None => return (None, None),
        Some(ToolChoiceIn::Auto {
            disable_parallel_tool_use,
        }) => (ToolChoice::Auto, disable_parallel_tool_use),
        Some(ToolChoiceIn::Any {
            disable_parallel_tool_use,
        }) => (ToolChoice::Required, disable_parallel_tool_use),
        Some(ToolChoiceIn::Tool {
            name,
            disable_parallel_tool_use,
        }) => (ToolChoice::Named(name), disable_parallel_tool_use),
        Some(ToolChoiceIn::None {}) => (ToolChoice::None, None),
    };
    // `false` is the default: parallel calls allowed, the same as saying nothing.
    (Some(choice), (disable == Some(true)).then_some(false))
}

fn decode_effort(effort: &str) -> Result<Effort, TranslateError> {
    Ok(match effort {
        "none" => Effort::None,
        "minimal" => Effort::Minimal,
        "low" => Effort::Low,
        "medium" => Effort::Medium,
        "high" => Effort::High,
        "xhigh" => Effort::Xhigh,
        "max" => Effort::Max,
        _ => {
            return Err(TranslateError::field(
                "output_config.effort",
                "must be one of low, medium, high, xhigh, max",
            ));
        }
    })
}

fn decode_reasoning(thinking: Option<ThinkingIn>, effort: Option<Effort>) -> Option<Reasoning> {
    let shown = |display: Option<String>| display.as_deref() != Some("omitted");
    match thinking {
        Some(ThinkingIn::Enabled {
            budget_tokens,
            display,
        }) => Some(Reasoning {
            effort,
            budget_tokens: Some(budget_tokens),
            include_thoughts: shown(display),
        }),
        Some(ThinkingIn::Adaptive { display }) => Some(Reasoning {
            effort,
            budget_tokens: None,
            include_thoughts: shown(display),
        }),
        Some(ThinkingIn::Disabled {}) => None,
        // `output_config.effort` alone sets effort without asking for thinking text.
        None => effort.map(|e| Reasoning {
            effort: Some(e),
            budget_tokens: None,
            include_thoughts: false,
        }),
    }
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, TranslateError> {
    crate::translate::json::parse_client(body).map_err(friendlier)
}

/// Deserialise a JSON value found at `prefix` (a block, a tool).
fn from_value<T: DeserializeOwned>(value: &Value, prefix: &str) -> Result<T, TranslateError> {
    crate::translate::json::parse_client_at(value, prefix).map_err(friendlier)
}

/// serde's messages for our untagged enums name Rust types; say what the API expects.
fn friendlier(e: TranslateError) -> TranslateError {
    match e {
        TranslateError::InvalidField { field, message }
            if message.contains("untagged enum ContentIn") =>
        {
            TranslateError::field(field, "must be a string or an array of content blocks")
        }
        TranslateError::InvalidField { field, message }
            if message.contains("untagged enum SystemIn") =>
        {
            TranslateError::field(field, "must be a string or an array of text blocks")
        }
        other => other,
    }
}
