//! Anthropic Messages (`POST /v1/messages`, protocols.md §2) ↔ IR.
//!
//! Files: `wire` (serde types), `request/{decode,encode}`, `response`,
//! `stream/{decode,encode}`, `error`, `tests/` (goldens in `tests/snapshots/`, property
//! tests). The tables of §4.8 (stop reasons) and §4.9 (usage) live in `response` and are
//! shared by `stream`.
//!
//! # Client request → IR (`decode_request`)
//! - `system` (string or text blocks) → one system piece per block. `messages` keep their
//!   turns (consecutive same-role turns stay separate IR messages).
//! - Blocks: `text`; `image` (base64 → `Base64`, url → `Url`; file sources rejected);
//!   `tool_use` (its `input` object → compact JSON text; serde_json sorts object keys);
//!   `tool_result` (string or text/image blocks, `is_error`); `thinking` (a non-empty
//!   signature → `Signature{origin: Anthropic}`; an empty one, which we hand out for
//!   foreign thinking, → none); `redacted_thinking`; a `document` whose source is plain
//!   text → text.
//! - `max_tokens` → `max_output_tokens`; `stop_sequences`, `temperature`, `top_p`,
//!   `top_k`; `metadata.user_id` → `user`; `stream`. `include_usage` is true (Anthropic
//!   streams always carry usage).
//! - `tool_choice`: auto / any → Required / tool → Named / none;
//!   `disable_parallel_tool_use: true` → `parallel_tool_calls: Some(false)`.
//! - `thinking`: enabled → budget, adaptive → no budget, both with
//!   `include_thoughts = display != "omitted"`; disabled → no reasoning.
//!   `output_config.effort` → effort (alone: effort without thoughts).
//!   `output_config.format` json_schema → `JsonSchema{name: "response", strict: false}`.
//! - **Rejected** (`Unsupported`, naming the path): server tools (`tools[i]` with a
//!   `type` other than `custom`), server-tool / search-result / container blocks and any
//!   unknown block type, non-text `document`s (PDF, URL, file), image `file` sources,
//!   non-text `system` blocks.
//! - **Ignored**: `cache_control`, `citations`, `service_tier`, `container`, `mcp_servers`
//!   and other fields the IR has no place for.
//!
//! # IR → upstream request (`encode_request`)
//! - `max_tokens` = the cap, or 32000 (§2.2). `system` → text blocks (blank pieces
//!   dropped); `JsonObject` appends `JSON_OBJECT_INSTRUCTION` (in `request/encode.rs`;
//!   Anthropic has no JSON mode); `JsonSchema` → `output_config.format` (name and
//!   strictness dropped).
//! - Messages: blank text dropped (Anthropic rejects empty text blocks); turns left empty
//!   are dropped; consecutive same-role turns merged; `tool_result`s moved first in each
//!   user turn (§2.3); a final assistant prefill loses trailing whitespace. Tool ids go
//!   through `ids::sanitize` (calls and results alike). Arguments → `input` object:
//!   blank → `{}`, an object as is, anything else → `{"_raw": "<text>"}` (kept for the
//!   model, never a failure). Images: base64 → base64, a `data:` URL → base64 (a
//!   non-base64 data URL is `Unsupported`), other URLs → url.
//! - Thinking blocks are sent **only** with an Anthropic signature; unsigned or foreign
//!   thinking is dropped (§4.6). Redacted thinking is kept.
//! - Reasoning: budget (or the effort's budget; a dynamic `-1` budget → the effort's or
//!   medium's) > 0 turns thinking on as `{type: "enabled", budget_tokens}` with the budget
//!   raised to 1024. If it is not below `max_tokens` it is lowered to ¾ of `max_tokens`
//!   (the cap is the client's); under 1024 even so, thinking is off. Thinking is also off
//!   when the last assistant turn with a `tool_use` does not open with a signed thinking
//!   block (history from another provider): Anthropic would answer 400 (§4.6). With
//!   thinking on: `temperature`/`top_k` dropped, `top_p` kept only within [0.95, 1],
//!   forced tool choice → `auto` (§2.5). `include_thoughts` is not sent (`display` is
//!   new and may be refused by older models); `effort` is sent only as a budget.
//! - `temperature` clamped to [0, 1]; `top_p` to [0, 1]; blank stop sequences dropped.
//!   `tool_choice` only with tools (`disable_parallel_tool_use` from
//!   `parallel_tool_calls: Some(false)`, on `auto` when no choice was given).
//! - **Dropped**: `seed`, `presence_penalty`, `frequency_penalty` (no Anthropic
//!   equivalent), `include_usage`, tool result names.
//!
//! # Responses
//! - Upstream → IR: thinking (signed by Anthropic), redacted thinking, text, tool_use (in
//!   order; server-tool blocks skipped); stop reasons and usage per §4.8/§4.9 (IR input =
//!   `input + cache_read + cache_creation`; reasoning = `output_tokens_details.thinking_tokens`
//!   or 0).
//! - IR → client: `msg_`-prefixed id; thinking with an Anthropic signature as is, other
//!   thinking **still shown** as a `thinking` block with `signature: ""` (clients drop
//!   blocks without the field; sent back, it is dropped); tool ids sanitised.
//!   `ContentFilter` and `Refusal` → `refusal`; `Other` → `end_turn`; a natural or
//!   unknown end with tool calls → `tool_use`. `input_tokens` = IR input − cache reads −
//!   cache writes.
//!
//! # Streams
//! - Decoder: tool calls are numbered by a per-stream counter, not the block index;
//!   server-tool blocks and their deltas are skipped; a tool call with no fragment gets
//!   `{}`; `message_delta` usage is merged with `message_start`'s; an upstream that ends
//!   with neither a stop reason nor `message_stop` yields an `Error`.
//! - Encoder: see [`StreamEncoder`] — lazy `message_start` (so early usage is
//!   in it), one block per contiguous run, foreign signatures dropped, interleaved
//!   parallel tool calls serialised by buffering, `message_delta` held for final usage.
//!
//! # Errors
//! See `error.rs`: `error.type` decides, with spend-limit / billing / credit-balance bodies
//! classed as an exhausted quota.

mod error;
mod request;
mod response;
mod stream;
mod wire;

#[cfg(test)]
mod tests;

pub use stream::{StreamDecoder, StreamEncoder};

use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, ChatResponse};

use super::{Codec, TranslateError, UpstreamFault};

/// The Anthropic Messages codec.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicCodec;

impl Codec for AnthropicCodec {
    const PROTOCOL: Protocol = Protocol::Anthropic;
    type Decoder = StreamDecoder;
    type Encoder = StreamEncoder;

    /// The model and `stream` flag are read from the body; the arguments are ignored.
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

    fn stream_decoder(_request: &ChatRequest) -> StreamDecoder {
        StreamDecoder::new()
    }

    fn stream_encoder(request: &ChatRequest, created: i64) -> StreamEncoder {
        StreamEncoder::new(request, created)
    }

    fn decode_error(status: u16, body: &[u8]) -> UpstreamFault {
        error::decode_error(status, body)
    }
}
