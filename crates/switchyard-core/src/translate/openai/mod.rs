//! OpenAI Chat Completions (`POST /v1/chat/completions`) ⇄ IR (protocols.md §1, §4).
//!
//! # Client requests → IR (`decode_request`)
//! - `model` and `stream` come from the body (the arguments are ignored).
//! - `system` and `developer` messages, wherever they are, are hoisted into
//!   [`ChatRequest::system`] in order, one piece per string or text part (§4.1).
//! - `user` content: `text`; `image_url` (a `data:<mime>;base64,…` URL becomes
//!   [`ImageSource::Base64`], any other URL [`ImageSource::Url`]; `detail` is dropped).
//!   `input_audio` and `file` parts are rejected as `Unsupported`, naming
//!   `messages[i].content[j]`.
//! - `assistant`: non-standard `reasoning_content` → unsigned [`Part::Thinking`]; then
//!   `content` (string, text/refusal parts or null) and `refusal` as text (empty text is
//!   skipped); then `tool_calls` (arguments kept verbatim) and a legacy `function_call`
//!   (with an id from [`ids::synthesize`]). `custom` tool calls are `Unsupported`.
//! - `tool` messages become [`Part::ToolResult`]s (name looked up from the assistant
//!   call with the same id); consecutive ones share ONE user turn, and a user message
//!   right after them is appended to that turn, after the results (§4.2). Legacy
//!   `function` messages are matched to the latest legacy call of the same name.
//! - Parameters: `max_completion_tokens` (else `max_tokens`), `stop` (string or array),
//!   sampling, `response_format`, `reasoning_effort` (→ effort with
//!   `include_thoughts: true`), `tools`/`functions`, `tool_choice`/`function_call`,
//!   `parallel_tool_calls`, `stream_options.include_usage`, `safety_identifier` (else
//!   `user`).
//! - Rejected as `Unsupported`: `n > 1`, `custom` tools, `tool_choice` of type
//!   `allowed_tools`/`custom`. Silently dropped (no IR field, no effect on the answer's
//!   shape): `name` on messages, `strict` on tools, `json_schema.description`,
//!   `logit_bias`, `logprobs`, `metadata`, `store`, `service_tier`, `verbosity`,
//!   `prompt_cache_key`, `modalities`, `audio`, `prediction`, `web_search_options`.
//!
//! # IR → upstream requests (`encode_request`)
//! - One leading `system` message (pieces joined with a blank line); one `tool` message
//!   per result, before the rest of the user turn (tool-result text parts joined with
//!   `\n`; images become `[image omitted]`, `is_error` has no field and is dropped);
//!   assistant text concatenated, `content: null` only beside tool calls.
//! - Thinking (signed or not, any origin) and redacted thinking are dropped: Chat
//!   Completions has no standard way to send them back, and the request stays standard.
//! - Tool-call ids go through [`ids::sanitize`] in calls and results alike.
//! - `max_completion_tokens` (never `max_tokens`); `reasoning_effort` from the effort,
//!   else from `budget_tokens` via [`Effort::from_budget`] (a dynamic `-1` budget sends
//!   nothing); `top_k` is dropped (not in the API); `tool_choice` and
//!   `parallel_tool_calls` only with tools (OpenAI rejects them alone); the end user
//!   goes out as `user`, which compatible servers know; with `stream`, always
//!   `stream_options.include_usage: true`.
//!
//! # Responses (`decode_response` / `encode_response`)
//! - In: `choices[0]`; `reasoning_content` or `reasoning` (OpenRouter) → thinking;
//!   content, refusal → text; tool calls (missing ids synthesized). Finish reasons per
//!   §4.8, plus: `stop` after tool calls → `ToolCalls`, `stop` with a refusal →
//!   `Refusal`. Usage per §4.9 (`prompt_tokens` already includes cached and cache-write
//!   tokens, `completion_tokens` reasoning tokens).
//! - Out: `chat.completion` with text concatenated into `content` (null when none),
//!   thinking into `reasoning_content`, tool calls; `Stop`/`StopSequence`/`Pause`/
//!   `Other` → `stop`, `Length`/`ContextExceeded` → `length`, `ToolCalls` →
//!   `tool_calls`, `ContentFilter`/`Refusal` → `content_filter`. Signatures are dropped.
//!
//! # Streams and errors
//! See [`OpenAiStreamDecoder`] (tool-call index rules, §4.4) and [`OpenAiStreamEncoder`]
//! (the chunk sequence), and
//! `error.rs` for the status/body → [`FaultKind`](crate::translate::FaultKind) table.

mod error;
mod messages;
mod request;
mod response;
mod stream;
mod wire;

#[cfg(test)]
mod tests;

use crate::translate::{Codec, TranslateError, UpstreamFault};
pub(crate) use messages::{image_url, parse_image_url};
pub use stream::{OpenAiStreamDecoder, OpenAiStreamEncoder};
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, ChatResponse};
#[cfg(doc)]
use {
    crate::translate::ids,
    switchyard_types::ir::{Effort, ImageSource, Part},
};

/// The OpenAI Chat Completions codec.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiCodec;

impl Codec for OpenAiCodec {
    const PROTOCOL: Protocol = Protocol::OpenAi;
    type Decoder = OpenAiStreamDecoder;
    type Encoder = OpenAiStreamEncoder;

    fn decode_request(
        body: &[u8],
        _model: &str,
        _stream: bool,
    ) -> Result<ChatRequest, TranslateError> {
        request::decode_request(body)
    }

    fn encode_request(request: &ChatRequest) -> Result<Vec<u8>, TranslateError> {
        request::encode_request(request)
    }

    fn decode_response(body: &[u8]) -> Result<ChatResponse, TranslateError> {
        response::decode_response(body)
    }

    fn encode_response(response: &ChatResponse) -> Vec<u8> {
        response::encode_response(response)
    }

    fn stream_decoder(request: &ChatRequest) -> Self::Decoder {
        OpenAiStreamDecoder::new(&request.model)
    }

    fn stream_encoder(request: &ChatRequest, created: i64) -> Self::Encoder {
        OpenAiStreamEncoder::new(&request.model, request.include_usage, created)
    }

    fn decode_error(status: u16, body: &[u8]) -> UpstreamFault {
        error::decode_error(status, body)
    }
}
