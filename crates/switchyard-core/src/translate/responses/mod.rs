//! OpenAI Responses (`POST /v1/responses`) ⇄ IR (protocols.md §1.8).
//!
//! A client protocol: accounts of provider `openai` get the client's bytes unchanged
//! (passthrough, [`Provider::speaks`](switchyard_types::Provider::speaks)); every other
//! account gets the request translated through the IR (OpenRouter and compatible
//! servers get Chat Completions, which they all have).
//!
//! # Client requests → IR (`decode_request`)
//! - `model`, `stream`; `instructions` (a string) → the first system piece.
//! - `input`: a string → one user message. Items: `message` (also without `type`, as
//!   the SDK's easy form) with role `system`/`developer` → system pieces (text only),
//!   `user` → `input_text` / `input_image` (`image_url`, a `data:` URL becomes base64;
//!   `file_id` is `Unsupported`; `detail` dropped), `assistant` → `output_text` /
//!   `refusal` text; `function_call` → a tool call (`call_id`, `name`, `arguments`
//!   verbatim); `function_call_output` → a tool result (string or text/image parts);
//!   `reasoning` → thinking, from its `encrypted_content` when we issued it (see
//!   `reasoning.rs`: Anthropic thinking text + signature, redacted thinking, Gemini
//!   thought signatures), else its summary text, unsigned (real OpenAI content is
//!   useless to another provider). Assistant-side items between two user-side items form
//!   one assistant turn; consecutive outputs form one user turn, which a following user
//!   message joins (§4.2).
//! - `tools`: `function` (`strict` dropped) → tools; `namespace` groups (Codex) are not
//!   offered (their calls would need the namespace back); built-in tools (`web_search*`,
//!   `file_search`, `computer*`, `code_interpreter`, `image_generation`, `mcp`,
//!   `local_shell`, `shell`, `apply_patch`, …) and `custom` tools are `Unsupported`
//!   naming the tool. `tool_choice` none/auto/required/`{type:function,name}`; other
//!   forms `Unsupported`. `parallel_tool_calls`, `max_output_tokens`, `temperature`,
//!   `top_p`.
//! - `reasoning.effort` → [`Reasoning::effort`](switchyard_types::ir::Reasoning) (each
//!   upstream maps it to its thinking budget, §4.11); `reasoning.summary` (not `none`)
//!   → `include_thoughts`. `text.format` text / json_object / json_schema → the response
//!   format. `safety_identifier` (else `user`) → the end user.
//! - No server-side state: `previous_response_id`, `store: true`, `conversation`,
//!   `background: true` and `prompt` (stored templates) are `Unsupported` (400). An
//!   omitted `store` is taken as `false` when translated (the official API would store;
//!   a translated answer never is, and says `store: false`); a passthrough to OpenAI
//!   sends the body as it came. `item_reference` items are `Unsupported`.
//! - Dropped: `include` (reasoning items always carry `encrypted_content` when there is
//!   something to carry), `metadata`, `prompt_cache_key`, `service_tier`, `truncation`,
//!   `text.verbosity`, `top_logprobs`, `max_tool_calls`, `client_metadata`.
//!
//! # IR → client answers (`encode_response`, [`ResponsesStreamEncoder`])
//! - Output items in order: thinking → `reasoning` (summary = the thinking text,
//!   `encrypted_content` = the sealed signature), text → `message` with one
//!   `output_text`, tool calls → `function_call` (`call_id` = the IR id).
//! - Status: stop, tool calls, refusal → `completed`; output cap / full context →
//!   `incomplete` (`max_output_tokens`); content filter → `incomplete`
//!   (`content_filter`). Usage: `input_tokens` (whole prompt) with `cached_tokens` and
//!   `cache_write_tokens`, `output_tokens` with `reasoning_tokens`, `total_tokens`.
//! - Streams: the official event sequence with `sequence_number`s (see
//!   [`ResponsesStreamEncoder`]); an upstream failure mid-way ends in `response.failed`.
//!
//! # The other directions
//! `encode_request`, `decode_response` and [`ResponsesStreamDecoder`] exist for the
//! round-trip tests (and the `Codec` contract): no translated request is ever sent to a
//! Responses upstream. Errors: `error.rs` (OpenAI's table).

mod error;
mod reasoning;
mod request;
mod response;
mod stream;
mod wire;

#[cfg(test)]
mod tests;

use crate::translate::{Codec, TranslateError, UpstreamFault};
pub use stream::{ResponsesStreamDecoder, ResponsesStreamEncoder};
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, ChatResponse};

/// The OpenAI Responses codec.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponsesCodec;

impl Codec for ResponsesCodec {
    const PROTOCOL: Protocol = Protocol::Responses;
    type Decoder = ResponsesStreamDecoder;
    type Encoder = ResponsesStreamEncoder;

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
        ResponsesStreamDecoder::new(&request.model)
    }

    fn stream_encoder(request: &ChatRequest, created: i64) -> Self::Encoder {
        ResponsesStreamEncoder::new(request, created)
    }

    fn decode_error(status: u16, body: &[u8]) -> UpstreamFault {
        error::decode_error(status, body)
    }
}
