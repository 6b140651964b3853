//! IR → the Messages body for an Anthropic upstream.

use serde_json::{Map, Value};
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, Effort, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Tool,
    ToolChoice, ToolResultContent,
};

use super::super::wire::{
    BlockOut, FormatOut, ImageSourceOut, MessageOut, MetadataOut, OutputConfigOut, RequestOut,
    RoleOut, TextBlockOut, ThinkingOut, ToolChoiceOut, ToolOut, ToolResultContentOut,
};
use super::parse_arguments;
use crate::translate::{TranslateError, ids};

/// `max_tokens` is required by Anthropic; used when the client gave no cap (protocols.md §2.2).
pub const DEFAULT_MAX_TOKENS: u32 = 32_000;
/// Anthropic's smallest thinking budget (§2.5).
pub const MIN_THINKING_BUDGET: i64 = 1024;
/// Appended to `system` for `ResponseFormat::JsonObject`: Anthropic has no JSON mode.
pub const JSON_OBJECT_INSTRUCTION: &str =
    "Respond with a single valid JSON object only: no prose, no code fences.";

/// IR → the body for an Anthropic upstream.
pub fn encode_request(ir: &ChatRequest) -> Result<Vec<u8>, TranslateError> {
    let messages = encode_messages(&ir.messages)?;
    let mut max_tokens = ir.max_output_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    if max_tokens == 0 {
        max_tokens = 1;
    }
    let budget = thinking_budget(ir.reasoning.as_ref(), max_tokens)
        .filter(|_| thinking_fits_history(&messages));
    let thinking = budget.is_some();

    let mut system: Vec<TextBlockOut> = ir
        .system
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| TextBlockOut::new(s.clone()))
        .collect();
    let mut output_config = None;
    match &ir.response_format {
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            output_config = Some(OutputConfigOut {
                format: FormatOut {
                    kind: "json_schema",
                    schema: schema.clone(),
                },
            });
        }
        Some(ResponseFormat::JsonObject) => {
            system.push(TextBlockOut::new(JSON_OBJECT_INSTRUCTION.to_owned()));
        }
        Some(ResponseFormat::Text) | None => {}
    }

    let s = &ir.sampling;
    let out = RequestOut {
        model: ir.model.clone(),
        max_tokens,
        system,
        messages,
        tools: ir.tools.iter().map(encode_tool).collect(),
        tool_choice: encode_tool_choice(ir, thinking),
        stop_sequences: ir
            .stop
            .iter()
            .filter(|s| !s.trim().is_empty())
            .cloned()
            .collect(),
        temperature: s
            .temperature
            .filter(|t| t.is_finite() && !thinking)
            .map(|t| t.clamp(0.0, 1.0)),
        top_p: s
            .top_p
            .filter(|p| p.is_finite() && (!thinking || *p >= 0.95))
            .map(|p| p.clamp(0.0, 1.0)),
        top_k: s.top_k.filter(|_| !thinking),
        thinking: budget.map(|budget_tokens| ThinkingOut {
            kind: "enabled",
            budget_tokens,
        }),
        output_config,
        metadata: ir.user.clone().map(|user_id| MetadataOut { user_id }),
        stream: ir.stream,
    };
    serde_json::to_vec(&out).map_err(|e| TranslateError::unsupported("(body)", e.to_string()))
}

/// The thinking budget to send, or `None` for no thinking. `budget_tokens` wins over
/// `effort`; a dynamic budget (`-1`) uses the effort's, else medium's. The budget is
/// raised to Anthropic's minimum (1024) and must stay below `max_tokens`: when it does not,
/// it is lowered to ¾ of `max_tokens` (the cap is the client's, and OpenAI's cap includes
/// reasoning); when that is under 1024 too, thinking is off.
fn thinking_budget(reasoning: Option<&Reasoning>, max_tokens: u32) -> Option<u32> {
    let r = reasoning?;
    let wanted = match r.budget_tokens {
        Some(b) if b >= 0 => b,
        Some(_) => r.effort.map_or(Effort::Medium.budget(), Effort::budget),
        None => r.effort?.budget(),
    };
    if wanted <= 0 {
        return None;
    }
    let cap = i64::from(max_tokens);
    let mut budget = wanted.max(MIN_THINKING_BUDGET);
    if budget >= cap {
        budget = cap * 3 / 4;
    }
    if budget < MIN_THINKING_BUDGET {
        return None;
    }
    u32::try_from(budget).ok()
}

/// With thinking on, the last assistant turn holding a `tool_use` must start with a
/// (signed) thinking block, else Anthropic answers 400 (§2.3). History from another
/// provider has none: thinking is then turned off for this request (§4.6).
fn thinking_fits_history(messages: &[MessageOut]) -> bool {
    let last_with_tool = messages.iter().rev().find(|m| {
        m.role == RoleOut::Assistant
            && m.content
                .iter()
                .any(|b| matches!(b, BlockOut::ToolUse { .. }))
    });
    match last_with_tool {
        None => true,
        Some(m) => matches!(
            m.content.first(),
            Some(BlockOut::Thinking { .. } | BlockOut::RedactedThinking { .. })
        ),
    }
}

fn encode_messages(messages: &[Message]) -> Result<Vec<MessageOut>, TranslateError> {
    let mut out: Vec<MessageOut> = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let role = match m.role {
            Role::User => RoleOut::User,
            Role::Assistant => RoleOut::Assistant,
        };
        let mut content = Vec::with_capacity(m.parts.len());
        for (j, part) in m.parts.iter().enumerate() {
            if let Some(block) = encode_part(part, i, j)? {
                content.push(block);
            }
        }
        if content.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == role => last.content.extend(content),
            _ => out.push(MessageOut { role, content }),
        }
    }
    for m in out.iter_mut().filter(|m| m.role == RoleOut::User) {
        // Tool results first, in order (§2.3): a stable partition.
        let (mut blocks, rest): (Vec<_>, Vec<_>) = m
            .content
            .drain(..)
            .partition(|b| matches!(b, BlockOut::ToolResult { .. }));
        blocks.extend(rest);
        m.content = blocks;
    }
    trim_prefill(&mut out);
    Ok(out)
}

/// A final assistant turn (a prefill) may not end with whitespace.
fn trim_prefill(messages: &mut Vec<MessageOut>) {
    let Some(last) = messages.last_mut().filter(|m| m.role == RoleOut::Assistant) else {
        return;
    };
    if let Some(BlockOut::Text { text }) = last.content.last_mut() {
        text.truncate(text.trim_end().len());
    }
    if matches!(last.content.last(), Some(BlockOut::Text { text }) if text.is_empty()) {
        last.content.pop();
    }
    if last.content.is_empty() {
        messages.pop();
    }
}

fn encode_part(part: &Part, i: usize, j: usize) -> Result<Option<BlockOut>, TranslateError> {
    Ok(match part {
        Part::Text { text } if text.trim().is_empty() => None,
        Part::Text { text } => Some(BlockOut::Text { text: text.clone() }),
        Part::Image { source } => Some(BlockOut::Image {
            source: encode_image(source).ok_or_else(|| data_url_error(i, j))?,
        }),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => Some(BlockOut::ToolUse {
            id: ids::sanitize(id),
            name: name.clone(),
            input: parse_arguments(arguments),
        }),
        Part::ToolResult {
            id,
            content,
            is_error,
            ..
        } => Some(BlockOut::ToolResult {
            tool_use_id: ids::sanitize(id),
            content: encode_tool_result(content).map_err(|()| data_url_error(i, j))?,
            is_error: *is_error,
        }),
        Part::Thinking {
            text,
            signature: Some(sig),
        } if sig.origin == Protocol::Anthropic => Some(BlockOut::Thinking {
            thinking: text.clone(),
            signature: sig.value.clone(),
        }),
        // Unsigned or foreign-signed thinking cannot be sent back (§4.6).
        Part::Thinking { .. } => None,
        Part::RedactedThinking { data } => Some(BlockOut::RedactedThinking { data: data.clone() }),
    })
}

fn data_url_error(i: usize, j: usize) -> TranslateError {
    TranslateError::unsupported(
        format!("messages[{i}].content[{j}]"),
        "an image data URL must be base64-encoded (data:<type>;base64,<data>)",
    )
}

fn encode_tool_result(content: &[ToolResultContent]) -> Result<Option<ToolResultContentOut>, ()> {
    let mut blocks = Vec::with_capacity(content.len());
    for c in content {
        match c {
            ToolResultContent::Text { text } if text.trim().is_empty() => {}
            ToolResultContent::Text { text } => blocks.push(BlockOut::Text { text: text.clone() }),
            ToolResultContent::Image { source } => {
                blocks.push(BlockOut::Image {
                    source: encode_image(source).ok_or(())?,
                });
            }
        }
    }
    Ok(match blocks.as_mut_slice() {
        [] => None,
        [BlockOut::Text { text }] => Some(ToolResultContentOut::Text(std::mem::take(text))),
        _ => Some(ToolResultContentOut::Blocks(blocks)),
    })
}

/// Base64 → a base64 source; a `data:` URL is split into one; other URLs go as `url`.
/// `None` for a data URL that is not base64.
fn encode_image(source: &ImageSource) -> Option<ImageSourceOut> {
    match source {
        ImageSource::Base64 { media_type, data } => Some(ImageSourceOut::Base64 {
            media_type: media_type.clone(),
            data: data.clone(),
        }),
        ImageSource::Url { url } => {
            let is_data = url
                .get(..5)
                .is_some_and(|p| p.eq_ignore_ascii_case("data:"));
            if !is_data {
                return Some(ImageSourceOut::Url { url: url.clone() });
            }
            let (meta, data) = url.get(5..)?.split_once(',')?;
            let media_type = meta.strip_suffix(";base64")?;
            Some(ImageSourceOut::Base64 {
                media_type: media_type.to_owned(),
                data: data.to_owned(),
            })
        }
    }
}

fn encode_tool(tool: &Tool) -> ToolOut {
    // Anthropic requires an object schema with `type: "object"` at the root.
    let input_schema = match &tool.parameters {
        Value::Object(m) if m.contains_key("type") => tool.parameters.clone(),
        Value::Object(m) => {
            let mut m = m.clone();
            m.insert("type".to_owned(), Value::String("object".to_owned()));
            Value::Object(m)
        }
        _ => {
            let mut m = Map::new();
            m.insert("type".to_owned(), Value::String("object".to_owned()));
            Value::Object(m)
        }
    };
    ToolOut {
        name: tool.name.clone(),
        description: tool.description.clone(),
        input_schema,
    }
}

/// Only sent with tools (Anthropic rejects `tool_choice` without them). With thinking on,
/// forced choices become `auto` (§2.5). `parallel_tool_calls: false` rides on the choice.
fn encode_tool_choice(ir: &ChatRequest, thinking: bool) -> Option<ToolChoiceOut> {
    if ir.tools.is_empty() {
        return None;
    }
    let disable = ir.parallel_tool_calls == Some(false);
    let choice = |kind, name| ToolChoiceOut {
        kind,
        name,
        disable_parallel_tool_use: disable,
    };
    match &ir.tool_choice {
        None if disable => Some(choice("auto", None)),
        None => None,
        Some(ToolChoice::None) => Some(ToolChoiceOut {
            kind: "none",
            name: None,
            disable_parallel_tool_use: false,
        }),
        Some(ToolChoice::Auto) => Some(choice("auto", None)),
        Some(ToolChoice::Required | ToolChoice::Named(_)) if thinking => Some(choice("auto", None)),
        Some(ToolChoice::Required) => Some(choice("any", None)),
        Some(ToolChoice::Named(name)) => Some(choice("tool", Some(name.clone()))),
    }
}
