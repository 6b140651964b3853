//! Gemini `generateContent` / `streamGenerateContent` (Developer API, `v1beta`;
//! protocols.md §3) ↔ IR.
//!
//! # Requests (client body → IR, [`GeminiCodec::decode_request`])
//! - The model and `stream` come from the URL (arguments). camelCase and snake_case field
//!   names are both accepted (proto JSON); unknown fields are ignored, notably
//!   `safetySettings` (a Gemini-only policy) and `cachedContent` (a Gemini-side cache
//!   that no other provider can read: its context is lost when translating).
//! - `systemInstruction.parts[].text` → `system`, one piece per part; other system parts
//!   are `Unsupported`.
//! - `contents`: role `model` → assistant; `user`, `function` (legacy) or none → user;
//!   any other role is an `InvalidField`. Parts: `text` → Text (empty text dropped);
//!   `thought: true` → Thinking; `inlineData` → Image Base64, `fileData` → Image Url
//!   (`fileUri`), both only for `image/*` (other MIME types are `Unsupported`: the IR has
//!   no documents); `functionCall` → ToolCall (arguments = compact JSON of `args`; id =
//!   `functionCall.id`, else `ids::synthesize("gemini-request-call", n, name)` with `n`
//!   the call's position in the request, stable as the conversation grows);
//!   `functionResponse` → ToolResult (id = its `id`, else the earliest unanswered call of
//!   the same name in the preceding model turn — consecutive model contents count as one
//!   turn — else a synthesized id; content = the `response` object as compact JSON text;
//!   `is_error` is never inferred). `executableCode` / `codeExecutionResult` are
//!   `Unsupported`; a part with two data fields is an `InvalidField`.
//! - `tools[].functionDeclarations` → tools (`parametersJsonSchema` as is, else
//!   `parameters` converted from Gemini's Schema to JSON Schema by
//!   [`schema::gemini_to_json_schema`](crate::translate::schema::gemini_to_json_schema):
//!   `"OBJECT"` → `"object"`, `nullable` → a `"null"` type); any other tool
//!   (`googleSearch`, `codeExecution`, `urlContext`, …) is `Unsupported` naming it.
//! - `toolConfig.functionCallingConfig.mode`: AUTO/VALIDATED → Auto, NONE → None, ANY →
//!   Named when `allowedFunctionNames` has exactly one name, else Required (a longer
//!   allow-list cannot be expressed and is widened to "any tool").
//! - `generationConfig`: maxOutputTokens, temperature, topP, topK (a float in the Python
//!   SDK; rounded), seed, stopSequences, presencePenalty, frequencyPenalty;
//!   `responseMimeType` application/json → JsonSchema `{name:"response"}` with
//!   `responseJsonSchema` (as is) or `responseSchema` (converted), else JsonObject;
//!   text/plain → Text; other MIME types (`text/x.enum`) are `Unsupported`;
//!   `candidateCount > 1` and non-TEXT `responseModalities` are `Unsupported`;
//!   `thinkingConfig` {thinkingBudget → budget_tokens, thinkingLevel → effort,
//!   includeThoughts}.
//! - `parallel_tool_calls` and `user` have no Gemini field (None); `include_usage` is
//!   true (Gemini streams always carry usage).
//!
//! # Requests (IR → body for a Gemini upstream, [`GeminiCodec::encode_request`])
//! - The model goes in the URL, not the body. `system` → `systemInstruction` with one
//!   text part (pieces joined by a blank line); a request with only a system prompt sends
//!   it as the user turn (Gemini needs one content, §4.1).
//! - Messages → `contents` (user/model); consecutive same-role messages merge; empty
//!   text is dropped and a content left without parts is dropped (§4.2).
//! - ToolCall → `functionCall {name, args}`: args = the arguments parsed as a JSON
//!   object, `{}` when they are not one; the id is **omitted** (many models reject ids
//!   they did not issue, §4.3 — results are matched by name and order instead).
//! - ToolResult → `functionResponse {name, response}`: name from the result or from the
//!   earlier call with its id (neither → `InvalidField`); response = the text if it is a
//!   JSON object, else `{"result": text}`; an error result is `{"error": …}`. Images in a
//!   result follow as `inlineData`/`fileData` parts. The IR already groups all results of
//!   one assistant turn in one user message, so they land in one user content (§4.2).
//! - Images: Base64 and `data:` URLs → `inlineData`; other URLs → `fileData {fileUri,
//!   mimeType}` guessed from the extension (default image/jpeg). The server inlines https
//!   images before encoding when it can; this is the fallback.
//! - Tools → one `{functionDeclarations:[…]}` with `parameters` =
//!   [`clean_for_gemini`](crate::translate::schema::clean_for_gemini) of the schema
//!   (omitted when it has no properties). Function names Gemini rejects (§3.3: a letter
//!   or `_` first, then `[a-zA-Z0-9_.:-]`, ≤ 64) are `Unsupported` with a suggested
//!   name: renaming would need a reverse map in `decode_response`, which only sees the
//!   body, so valid names pass unchanged and invalid ones are refused up front.
//! - tool_choice → `functionCallingConfig` (Auto → AUTO, None → NONE, Required → ANY,
//!   Named → ANY + `allowedFunctionNames:[name]`); `parallel_tool_calls` and `user` are
//!   dropped (no equivalent, §4.4).
//! - `generationConfig` from sampling, stop, max_output_tokens, response_format
//!   (JsonSchema → application/json + cleaned `responseSchema`, its name and `strict`
//!   dropped; JsonObject → application/json; Text → text/plain) and reasoning
//!   (`thinkingBudget` = budget_tokens, else `Effort::budget()`; `includeThoughts`).
//!
//! # Thought signatures (§3.8, §4.6)
//! Gemini attaches `thoughtSignature` to ordinary parts (a `functionCall`, a text part,
//! an empty part); the IR keeps signatures on
//! [`Part::Thinking`](switchyard_types::ir::Part::Thinking). So:
//! - **Decoding**, a part carrying a signature becomes `Thinking { text: "", signature:
//!   Gemini }` placed immediately **before** the IR part it was on — unless the part is
//!   itself a thought (`thought: true`), whose Thinking then carries it.
//! - **Encoding**, a Gemini-origin signature on an empty-text Thinking is attached to the
//!   **next** part emitted in that content (or sent as a `{"text":"", thoughtSignature}`
//!   part if none follows); a Thinking with text and a Gemini signature is a thought
//!   part carrying it. Signatures of other origins are dropped. Towards the Gemini API,
//!   thought text without a Gemini signature is dropped (Gemini takes no foreign
//!   thoughts back); towards a Gemini client it is shown as a thought part.
//! - Gemini 3 rejects a model turn whose first `functionCall` has no signature, which is
//!   every turn whose history came from another provider: the encoder then puts Google's
//!   documented placeholder `skip_thought_signature_validator` on that call.
//! - **Streams**: a signature on a thought part comes as `ThinkingSignature` right after
//!   its `ThinkingDelta` (the signature of the thinking just streamed); on any other part
//!   it comes right before that part's event.
//!
//! # Responses
//! - [`GeminiCodec::decode_response`]: `candidates[0]` (thought, text, functionCall with
//!   ids synthesized from `responseId` + position + name when missing, images);
//!   finishReason per §4.8 (STOP after a functionCall → ToolCalls; MAX_TOKENS → Length;
//!   SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_* → ContentFilter;
//!   anything else → Other with Gemini's word); no candidates + `promptFeedback.
//!   blockReason` → ContentFilter without parts; usage per §4.9 (input = prompt incl.
//!   cached + tool-use prompt; output = candidates + thoughts); id = `responseId`,
//!   model = `modelVersion`; `created` stays 0 (Gemini sends no timestamp).
//! - [`GeminiCodec::encode_response`]: one candidate with role `model`; finishReason:
//!   Length/ContextExceeded → MAX_TOKENS, ContentFilter keeps a Gemini reason else
//!   SAFETY, Refusal → SAFETY, Other keeps a Gemini reason else STOP, everything else
//!   (ToolCalls, stop sequence, pause) → STOP; function calls keep their `id` (the SDK
//!   exposes `FunctionCall.id`); usageMetadata with candidates = output − reasoning.
//!
//! # Streams ([`stream`])
//! Upstream SSE chunks → events: the first chunk gives `Start` (`responseId`,
//! `modelVersion` or the request's model); text → TextDelta, thoughts → ThinkingDelta,
//! each whole `functionCall` → ToolCallStart + one ToolCallDelta + ToolCallEnd with a
//! per-stream index (§4.4); `usageMetadata` → Usage when it changed; `finishReason` →
//! Finish (after Usage; content after it is ignored); an `{"error":…}` chunk, bare or as
//! data, → Error. A stream that ends without a finishReason gets a Finish (Stop or
//! ToolCalls); one that ends without any chunk gets an Error. Streamed images are dropped.
//! Towards a client: a chunk per text/thought delta, a tool call buffered from its start
//! to its end and sent as one `functionCall`, Usage/Finish held for a final chunk (with
//! one empty text part: google-genai chats drop a streamed turn whose chunk has no
//! parts); an Error becomes `{"error":{"code":500,"status":"INTERNAL",…}}` and ends the
//! stream. SSE, or the JSON-array form with [`StreamEncoder::json_array`].
//!
//! # Errors (`error.rs`)
//! `google.rpc.Status` by its `status` (else the HTTP code): RESOURCE_EXHAUSTED →
//! RateLimited, or QuotaExhausted when a QuotaFailure `quotaId`/`quotaMetric` (or the
//! message) names a `PerDay` quota or prepaid credits are depleted; `RetryInfo.retryDelay`
//! (else "retry in 36.4s" in the message) → `retry_after_ms`; UNAVAILABLE → Overloaded;
//! UNAUTHENTICATED or ErrorInfo `API_KEY_INVALID` → Authentication; PERMISSION_DENIED →
//! PermissionDenied; NOT_FOUND → NotFound; INVALID_ARGUMENT/FAILED_PRECONDITION →
//! InvalidRequest; INTERNAL → Server; DEADLINE_EXCEEDED → Timeout.
//!
//! # Files
//! `wire.rs` (serde types), `request.rs` (contents and the request entry points),
//! `config.rs` (tools, tool choice, generationConfig), `parts.rs` (signatures, images,
//! arguments), `response.rs` (+ finish/usage maps), `stream.rs`, `error.rs`; golden
//! tests in `tests/` with snapshots in `tests/snapshots/`.

mod config;
mod error;
mod parts;
mod request;
mod response;
pub mod stream;
mod wire;

#[cfg(test)]
mod tests;

use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, ChatResponse};

use super::{Codec, TranslateError, UpstreamFault};
pub use request::DUMMY_SIGNATURE;
pub use stream::{StreamDecoder, StreamEncoder};

/// The Gemini codec.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeminiCodec;

impl Codec for GeminiCodec {
    const PROTOCOL: Protocol = Protocol::Gemini;
    type Decoder = StreamDecoder;
    type Encoder = StreamEncoder;

    fn decode_request(
        body: &[u8],
        model: &str,
        stream: bool,
    ) -> Result<ChatRequest, TranslateError> {
        request::decode_request(body, model, stream)
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

    fn stream_decoder(request: &ChatRequest) -> StreamDecoder {
        StreamDecoder::new(request)
    }

    fn stream_encoder(request: &ChatRequest, created: i64) -> StreamEncoder {
        StreamEncoder::new(request, created)
    }

    fn decode_error(status: u16, body: &[u8]) -> UpstreamFault {
        error::decode_error(status, body)
    }
}
