//! `GenerateContentResponse` ↔ IR, plus the finish-reason (§4.8) and usage (§4.9) maps
//! the stream code shares.

use switchyard_types::ir::{ChatResponse, FinishReason, Part, Usage};

use super::parts::{self, PartEncoder};
use super::wire::{self, GenerateContentResponse};
use crate::translate::{TranslateError, ids};

/// Gemini's finish reasons (protocols.md §3.4).
const GEMINI_REASONS: [&str; 18] = [
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "MALFORMED_FUNCTION_CALL",
    "IMAGE_SAFETY",
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
    "IMAGE_PROHIBITED_CONTENT",
    "NO_IMAGE",
    "IMAGE_RECITATION",
    "IMAGE_OTHER",
    "FINISH_REASON_UNSPECIFIED",
];

/// Reasons that mean a safety/content filter stopped the answer.
fn is_filter(reason: &str) -> bool {
    matches!(
        reason,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII"
    ) || reason.starts_with("IMAGE_")
}

/// Gemini `finishReason` → IR. There is no tool-call reason: `STOP` after any
/// `functionCall` means the turn ends in tool calls.
pub fn finish_from_gemini(reason: Option<&str>, saw_call: bool) -> FinishReason {
    match reason {
        None | Some("STOP") if saw_call => FinishReason::ToolCalls,
        None | Some("STOP") => FinishReason::Stop,
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(r) if is_filter(r) => FinishReason::ContentFilter(r.to_owned()),
        Some(r) => FinishReason::Other(r.to_owned()),
    }
}

/// IR → Gemini `finishReason` (§4.8: length → MAX_TOKENS, filters → SAFETY, the rest → STOP).
pub fn finish_to_gemini(reason: &FinishReason) -> String {
    let known = |r: &str| GEMINI_REASONS.contains(&r);
    match reason {
        FinishReason::Stop
        | FinishReason::StopSequence(_)
        | FinishReason::ToolCalls
        | FinishReason::Pause => "STOP".to_owned(),
        FinishReason::Length | FinishReason::ContextExceeded => "MAX_TOKENS".to_owned(),
        FinishReason::ContentFilter(r) if known(r) => r.clone(),
        FinishReason::ContentFilter(_) | FinishReason::Refusal => "SAFETY".to_owned(),
        FinishReason::Other(r) if known(r) => r.clone(),
        FinishReason::Other(_) => "STOP".to_owned(),
    }
}

/// `usageMetadata` → normalised usage: input includes cached and tool-use prompt tokens;
/// output includes thoughts.
pub fn usage_from_gemini(u: &wire::UsageMetadata) -> Usage {
    let thoughts = u.thoughts_token_count.unwrap_or(0);
    Usage {
        input_tokens: u
            .prompt_token_count
            .unwrap_or(0)
            .saturating_add(u.tool_use_prompt_token_count.unwrap_or(0)),
        output_tokens: u
            .candidates_token_count
            .unwrap_or(0)
            .saturating_add(thoughts),
        cached_input_tokens: u.cached_content_token_count.unwrap_or(0),
        cache_creation_input_tokens: 0,
        reasoning_tokens: thoughts,
    }
}

/// Normalised usage → `usageMetadata` (candidates exclude thoughts).
pub fn usage_to_gemini(u: &Usage) -> wire::UsageMetadata {
    let reasoning = u.reasoning_tokens.min(u.output_tokens);
    wire::UsageMetadata {
        prompt_token_count: Some(u.input_tokens),
        cached_content_token_count: (u.cached_input_tokens > 0).then_some(u.cached_input_tokens),
        candidates_token_count: Some(u.output_tokens - reasoning),
        tool_use_prompt_token_count: None,
        thoughts_token_count: (reasoning > 0).then_some(reasoning),
        total_token_count: Some(u.input_tokens.saturating_add(u.output_tokens)),
    }
}

pub fn decode_response(body: &[u8]) -> Result<ChatResponse, TranslateError> {
    let resp: GenerateContentResponse = wire::parse_upstream(body)?;
    if let Some(error) = &resp.error {
        return Err(TranslateError::UpstreamMalformed(format!(
            "the upstream answered an error: {}",
            error.message
        )));
    }
    let id = resp.response_id.clone().unwrap_or_default();
    let usage = resp
        .usage_metadata
        .as_ref()
        .map(usage_from_gemini)
        .unwrap_or_default();
    let model = resp.model_version.clone().unwrap_or_default();
    let candidate = resp
        .candidates
        .iter()
        .find(|c| c.index == 0)
        .or_else(|| resp.candidates.first());
    let Some(candidate) = candidate else {
        let blocked = resp
            .prompt_feedback
            .as_ref()
            .and_then(|f| f.block_reason.clone());
        return match blocked {
            Some(reason) => Ok(ChatResponse {
                id,
                model,
                created: 0,
                parts: Vec::new(),
                finish: FinishReason::ContentFilter(reason),
                usage,
            }),
            None => Err(TranslateError::UpstreamMalformed(
                "a response without candidates".to_owned(),
            )),
        };
    };
    let mut out = Vec::new();
    let mut calls = 0;
    for part in candidate.content.iter().flat_map(|c| &c.parts) {
        decode_part(part, &id, &mut calls, &mut out);
    }
    let finish = finish_from_gemini(candidate.finish_reason.as_deref(), calls > 0);
    Ok(ChatResponse {
        id,
        model,
        created: 0,
        parts: out,
        finish,
        usage,
    })
}

/// One response part → IR parts (signature convention of the module docs).
fn decode_part(part: &wire::Part, response_id: &str, calls: &mut usize, out: &mut Vec<Part>) {
    let signature = part
        .thought_signature
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(parts::signature);
    if part.thought == Some(true) && part.function_call.is_none() {
        let text = part.text.clone().unwrap_or_default();
        if !text.is_empty() || signature.is_some() {
            out.push(Part::Thinking { text, signature });
        }
        return;
    }
    if signature.is_some() {
        out.push(Part::Thinking {
            text: String::new(),
            signature,
        });
    }
    if let Some(text) = part.text.as_ref().filter(|t| !t.is_empty()) {
        out.push(Part::Text { text: text.clone() });
    } else if let Some(call) = &part.function_call {
        let id = match call.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => id.to_owned(),
            None => ids::synthesize(response_id, *calls, &call.name),
        };
        *calls += 1;
        out.push(Part::ToolCall {
            id,
            name: call.name.clone(),
            arguments: parts::args_text(call.args.as_ref()),
        });
    } else if let Some(image) = parts::ir_image(part) {
        out.push(image);
    }
}

pub fn encode_response(response: &ChatResponse) -> Vec<u8> {
    let content = wire::Content {
        parts: encode_parts(&response.parts),
        role: Some("model".to_owned()),
    };
    let candidate = wire::Candidate {
        content: Some(content),
        finish_reason: Some(finish_to_gemini(&response.finish)),
        index: 0,
    };
    let body = GenerateContentResponse {
        candidates: vec![candidate],
        prompt_feedback: None,
        usage_metadata: Some(usage_to_gemini(&response.usage)),
        model_version: Some(response.model.clone()),
        response_id: Some(response.id.clone()),
        error: None,
    };
    wire::to_json(&body)
}

/// Assistant parts for a Gemini client: thought text is shown whatever its origin (only
/// Gemini signatures go along); tool calls keep their ids.
fn encode_parts(ir: &[Part]) -> Vec<wire::Part> {
    let mut enc = PartEncoder::default();
    for part in ir {
        match part {
            Part::Text { text } => {
                if !text.is_empty() {
                    enc.push(wire::Part::text(text.clone()));
                }
            }
            Part::Thinking { text, signature } => enc.thinking(text, signature.as_ref(), true),
            Part::ToolCall {
                id,
                name,
                arguments,
            } => enc.push(function_call(id, name, arguments)),
            Part::Image { source } => {
                if let Ok(image) = parts::image_part(source) {
                    enc.push(image);
                }
            }
            Part::ToolResult { .. } | Part::RedactedThinking { .. } => {}
        }
    }
    enc.finish()
}

/// A `functionCall` part for a client (with the call's id: the SDKs expose it).
pub fn function_call(id: &str, name: &str, arguments: &str) -> wire::Part {
    let call = wire::FunctionCall {
        id: (!id.is_empty()).then(|| id.to_owned()),
        name: name.to_owned(),
        args: Some(parts::args_object(arguments)),
    };
    wire::Part {
        function_call: Some(call),
        ..wire::Part::default()
    }
}
