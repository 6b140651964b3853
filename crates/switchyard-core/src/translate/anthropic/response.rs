//! Anthropic Messages response ↔ IR: `decode_response` (an upstream's message) and
//! `encode_response` (the message for an Anthropic client), plus the stop-reason and usage
//! tables (protocols.md §4.8, §4.9) that the stream codecs share.

use switchyard_types::Protocol;
use switchyard_types::ir::{ChatResponse, FinishReason, Part, Signature, Usage};

use super::request::{compact_json, parse_arguments};
use super::wire::{
    BlockOut, OutputDetailsOut, ResponseBlockIn, ResponseIn, ResponseOut, UsageIn, UsageOut,
};
use crate::translate::{TranslateError, ids};

/// An upstream's message body → IR.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, TranslateError> {
    let msg: ResponseIn = serde_json::from_slice(body)
        .map_err(|e| TranslateError::UpstreamMalformed(e.to_string()))?;
    let parts = msg
        .content
        .into_iter()
        .filter_map(|block| match block {
            ResponseBlockIn::Text { text } => Some(Part::Text { text }),
            ResponseBlockIn::Thinking {
                thinking,
                signature,
            } => Some(Part::Thinking {
                text: thinking,
                signature: anthropic_signature(signature),
            }),
            ResponseBlockIn::RedactedThinking { data } => Some(Part::RedactedThinking { data }),
            ResponseBlockIn::ToolUse { id, name, input } => Some(Part::ToolCall {
                id,
                name,
                arguments: compact_json(&input),
            }),
            // Server-tool blocks (web search results, …) have no IR form.
            ResponseBlockIn::Other => None,
        })
        .collect();
    Ok(ChatResponse {
        id: msg.id,
        model: msg.model,
        created: 0,
        parts,
        finish: decode_stop_reason(msg.stop_reason.as_deref(), msg.stop_sequence),
        usage: decode_usage(&msg.usage),
    })
}

/// A non-empty signature, tagged as Anthropic's.
pub fn anthropic_signature(signature: Option<String>) -> Option<Signature> {
    signature.filter(|s| !s.is_empty()).map(|value| Signature {
        value,
        origin: Protocol::Anthropic,
    })
}

/// `stop_reason` → IR (§4.8). No reason at all reads as a natural end.
pub fn decode_stop_reason(reason: Option<&str>, sequence: Option<String>) -> FinishReason {
    match reason {
        None | Some("end_turn") => FinishReason::Stop,
        Some("stop_sequence") => FinishReason::StopSequence(sequence),
        Some("max_tokens") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::Refusal,
        Some("pause_turn") => FinishReason::Pause,
        Some("model_context_window_exceeded") => FinishReason::ContextExceeded,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

/// Anthropic usage → IR (§4.9): the whole prompt is uncached + cache reads + cache writes.
pub fn decode_usage(u: &UsageIn) -> Usage {
    let cached = u.cache_read_input_tokens.unwrap_or(0);
    let creation = u.cache_creation_input_tokens.unwrap_or(0);
    Usage {
        input_tokens: u
            .input_tokens
            .unwrap_or(0)
            .saturating_add(cached)
            .saturating_add(creation),
        output_tokens: u.output_tokens.unwrap_or(0),
        cached_input_tokens: cached,
        cache_creation_input_tokens: creation,
        reasoning_tokens: u
            .output_tokens_details
            .and_then(|d| d.thinking_tokens)
            .unwrap_or(0),
    }
}

/// IR → the message body for an Anthropic client.
pub fn encode_response(r: &ChatResponse) -> Vec<u8> {
    let has_calls = r.parts.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    let (stop_reason, stop_sequence) = encode_stop_reason(&r.finish, has_calls);
    let out = ResponseOut {
        id: message_id(&r.id),
        kind: "message",
        role: "assistant",
        model: r.model.clone(),
        content: r.parts.iter().filter_map(encode_part).collect(),
        stop_reason: Some(stop_reason),
        stop_sequence,
        usage: encode_usage(&r.usage),
    };
    serde_json::to_vec(&out).unwrap_or_default()
}

fn encode_part(part: &Part) -> Option<BlockOut> {
    match part {
        Part::Text { text } if text.is_empty() => None,
        Part::Text { text } => Some(BlockOut::Text { text: text.clone() }),
        // Thinking from another provider is still shown, with an empty signature (clients
        // drop thinking blocks without the field; §4.6). Sent back, it is dropped.
        Part::Thinking { text, signature } => Some(BlockOut::Thinking {
            thinking: text.clone(),
            signature: signature
                .as_ref()
                .filter(|s| s.origin == Protocol::Anthropic)
                .map(|s| s.value.clone())
                .unwrap_or_default(),
        }),
        Part::RedactedThinking { data } => Some(BlockOut::RedactedThinking { data: data.clone() }),
        Part::ToolCall {
            id,
            name,
            arguments,
        } => Some(BlockOut::ToolUse {
            id: ids::sanitize(id),
            name: name.clone(),
            input: parse_arguments(arguments),
        }),
        // Not assistant output.
        Part::Image { .. } | Part::ToolResult { .. } => None,
    }
}

/// IR → `stop_reason` and `stop_sequence` (§4.8 reversed). A natural or unknown end with
/// tool calls present is `tool_use`: agent loops run tools only on that reason.
pub fn encode_stop_reason(
    finish: &FinishReason,
    has_tool_calls: bool,
) -> (&'static str, Option<String>) {
    match finish {
        FinishReason::Stop | FinishReason::Other(_) if has_tool_calls => ("tool_use", None),
        FinishReason::Stop | FinishReason::Other(_) => ("end_turn", None),
        FinishReason::StopSequence(s) => ("stop_sequence", s.clone()),
        FinishReason::Length => ("max_tokens", None),
        FinishReason::ToolCalls => ("tool_use", None),
        // §4.8: safety/refusal → refusal.
        FinishReason::ContentFilter(_) | FinishReason::Refusal => ("refusal", None),
        FinishReason::Pause => ("pause_turn", None),
        FinishReason::ContextExceeded => ("model_context_window_exceeded", None),
    }
}

/// IR usage → Anthropic's, whose `input_tokens` is the uncached part only.
pub fn encode_usage(u: &Usage) -> UsageOut {
    UsageOut {
        input_tokens: u
            .input_tokens
            .saturating_sub(u.cached_input_tokens)
            .saturating_sub(u.cache_creation_input_tokens),
        cache_creation_input_tokens: u.cache_creation_input_tokens,
        cache_read_input_tokens: u.cached_input_tokens,
        output_tokens: u.output_tokens,
        output_tokens_details: (u.reasoning_tokens > 0).then_some(OutputDetailsOut {
            thinking_tokens: u.reasoning_tokens,
        }),
    }
}

/// Anthropic message ids start with `msg_`.
pub fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{id}")
    }
}
