//! Responses: an upstream `chat.completion` → IR, and IR → `chat.completion` for an
//! OpenAI client. Also the finish-reason (§4.8) and usage (§4.9) mappings the stream
//! code shares.

use super::wire::{
    ChoiceOut, CompletionDetailsOut, FunctionCallOut, PromptDetailsOut, ResponseIn,
    ResponseMessageOut, ResponseOut, ToolCallOut, UsageIn, UsageOut,
};
use crate::translate::{TranslateError, ids};
use serde_json::Value;
use switchyard_types::ir::{ChatResponse, FinishReason, Part, Usage};

/// Upstream body → IR: the first choice (`choices[0]`, or the one with `index: 0`).
pub(super) fn decode_response(body: &[u8]) -> Result<ChatResponse, TranslateError> {
    let r: ResponseIn = crate::translate::json::parse_upstream(body)?;
    if let Some(err) = &r.error {
        return Err(TranslateError::UpstreamMalformed(format!(
            "error in a success response: {}",
            error_message(err)
        )));
    }
    let mut choices = r.choices.unwrap_or_default();
    let at = choices.iter().position(|c| c.index == Some(0)).unwrap_or(0);
    if at >= choices.len() {
        return Err(TranslateError::UpstreamMalformed(
            "the response has no choices".to_owned(),
        ));
    }
    let choice = choices.swap_remove(at);
    let id = r.id.unwrap_or_default();
    let mut parts = Vec::new();
    let mut refused = false;
    if let Some(m) = choice.message {
        if let Some(text) = m
            .reasoning_content
            .or(m.reasoning)
            .filter(|t| !t.is_empty())
        {
            parts.push(Part::Thinking {
                text,
                signature: None,
            });
        }
        let text = match m.content {
            Value::String(s) => s,
            // Some compatible servers answer with text parts.
            Value::Array(items) => items
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
            _ => String::new(),
        };
        if !text.is_empty() {
            parts.push(Part::Text { text });
        }
        if let Some(refusal) = m.refusal.filter(|t| !t.is_empty()) {
            refused = true;
            parts.push(Part::Text { text: refusal });
        }
        let legacy = m.function_call.map(|f| (None, f));
        let calls = m
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| Some((c.id, c.function?)));
        for (index, (call_id, f)) in calls.chain(legacy).enumerate() {
            let name = f.name.unwrap_or_default();
            let call_id = match call_id.filter(|i| !i.is_empty()) {
                Some(call_id) => call_id,
                None => ids::synthesize(&id, index, &name),
            };
            parts.push(Part::ToolCall {
                id: call_id,
                name,
                arguments: f.arguments.unwrap_or_default(),
            });
        }
    }
    let has_calls = parts.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    Ok(ChatResponse {
        id,
        model: r.model.unwrap_or_default(),
        created: r.created.unwrap_or(0),
        finish: decode_finish(choice.finish_reason.as_deref(), has_calls, refused),
        parts,
        usage: r.usage.as_ref().map(decode_usage).unwrap_or_default(),
    })
}

/// §4.8. Two inferences beyond the table: a `stop` (or missing reason) after tool calls
/// is [`FinishReason::ToolCalls`] (some compatible servers never say `tool_calls`), and
/// a `stop` with a `refusal` is [`FinishReason::Refusal`]. Unknown reasons are kept in
/// [`FinishReason::Other`].
pub(super) fn decode_finish(
    reason: Option<&str>,
    has_tool_calls: bool,
    refused: bool,
) -> FinishReason {
    match reason {
        None | Some("stop") if has_tool_calls => FinishReason::ToolCalls,
        None | Some("stop") if refused => FinishReason::Refusal,
        None | Some("stop") => FinishReason::Stop,
        // `max_tokens` is what some translating gateways send instead of `length`.
        Some("length" | "max_tokens") => FinishReason::Length,
        Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
        Some("content_filter") => FinishReason::ContentFilter("content_filter".to_owned()),
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

/// §4.8, IR → OpenAI. OpenAI has no word for a paused server-tool loop or for an
/// unknown reason: both are `stop` (as the table says). A full context window is
/// `length`, the closest thing OpenAI reports for it.
pub(super) fn encode_finish(reason: &FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop
        | FinishReason::StopSequence(_)
        | FinishReason::Pause
        | FinishReason::Other(_) => "stop",
        FinishReason::Length | FinishReason::ContextExceeded => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter(_) | FinishReason::Refusal => "content_filter",
    }
}

/// §4.9: `prompt_tokens` already counts cached and cache-write tokens;
/// `completion_tokens` already counts reasoning tokens.
pub(super) fn decode_usage(u: &UsageIn) -> Usage {
    let prompt = u.prompt_tokens_details.as_ref();
    Usage {
        input_tokens: u.prompt_tokens.unwrap_or(0),
        output_tokens: u.completion_tokens.unwrap_or(0),
        cached_input_tokens: prompt.and_then(|d| d.cached_tokens).unwrap_or(0),
        cache_creation_input_tokens: prompt.and_then(|d| d.cache_write_tokens).unwrap_or(0),
        reasoning_tokens: u
            .completion_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens)
            .unwrap_or(0),
    }
}

pub(super) fn encode_usage(u: &Usage) -> UsageOut {
    UsageOut {
        prompt_tokens: u.input_tokens,
        completion_tokens: u.output_tokens,
        total_tokens: u.input_tokens.saturating_add(u.output_tokens),
        prompt_tokens_details: PromptDetailsOut {
            cached_tokens: u.cached_input_tokens,
        },
        completion_tokens_details: CompletionDetailsOut {
            reasoning_tokens: u.reasoning_tokens,
        },
    }
}

/// IR → `chat.completion`. Text parts are concatenated into `content` (`null` when
/// there is none), thinking into the non-standard `reasoning_content`; signatures and
/// redacted thinking have no place in Chat Completions and are dropped.
pub(super) fn encode_response(r: &ChatResponse) -> Vec<u8> {
    let mut text = String::new();
    let mut thinking = String::new();
    let mut tool_calls = Vec::new();
    for p in &r.parts {
        match p {
            Part::Text { text: t } => text.push_str(t),
            Part::Thinking { text: t, .. } => thinking.push_str(t),
            Part::ToolCall {
                id,
                name,
                arguments,
            } => tool_calls.push(ToolCallOut {
                id: id.clone(),
                kind: "function",
                function: FunctionCallOut { name, arguments },
            }),
            Part::Image { .. } | Part::ToolResult { .. } | Part::RedactedThinking { .. } => {}
        }
    }
    let body = ResponseOut {
        id: &r.id,
        object: "chat.completion",
        created: r.created,
        model: &r.model,
        choices: [ChoiceOut {
            index: 0,
            message: ResponseMessageOut {
                role: "assistant",
                content: (!text.is_empty()).then_some(text),
                refusal: None,
                reasoning_content: (!thinking.is_empty()).then_some(thinking),
                tool_calls,
            },
            logprobs: None,
            finish_reason: encode_finish(&r.finish),
        }],
        usage: encode_usage(&r.usage),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The message of an OpenAI-style error value (`{"message":…}` or a bare string).
pub(super) fn error_message(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        other => match other.get("message") {
            Some(Value::String(s)) => s.clone(),
            _ => other.to_string(),
        },
    }
}
