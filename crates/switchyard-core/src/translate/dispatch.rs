//! Run-time choice of codec: the server knows the client's and the upstream's protocol
//! only per request, so the [`Codec`] implementations are reached through these
//! functions (a `match`, no allocation except the boxed stream state machines).

use super::anthropic::AnthropicCodec;
use super::gemini::{self, GeminiCodec};
use super::openai::OpenAiCodec;
use super::responses::ResponsesCodec;
use super::{Codec, StreamDecode, StreamEncode, TranslateError, UpstreamFault};
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, ChatResponse};

/// Client request body → IR.
pub fn decode_request(
    protocol: Protocol,
    body: &[u8],
    model: &str,
    stream: bool,
) -> Result<ChatRequest, TranslateError> {
    match protocol {
        Protocol::OpenAi => OpenAiCodec::decode_request(body, model, stream),
        Protocol::Anthropic => AnthropicCodec::decode_request(body, model, stream),
        Protocol::Gemini => GeminiCodec::decode_request(body, model, stream),
        Protocol::Responses => ResponsesCodec::decode_request(body, model, stream),
    }
}

/// IR → upstream request body.
pub fn encode_request(
    protocol: Protocol,
    request: &ChatRequest,
) -> Result<Vec<u8>, TranslateError> {
    match protocol {
        Protocol::OpenAi => OpenAiCodec::encode_request(request),
        Protocol::Anthropic => AnthropicCodec::encode_request(request),
        Protocol::Gemini => GeminiCodec::encode_request(request),
        Protocol::Responses => ResponsesCodec::encode_request(request),
    }
}

/// Upstream response body → IR.
pub fn decode_response(protocol: Protocol, body: &[u8]) -> Result<ChatResponse, TranslateError> {
    match protocol {
        Protocol::OpenAi => OpenAiCodec::decode_response(body),
        Protocol::Anthropic => AnthropicCodec::decode_response(body),
        Protocol::Gemini => GeminiCodec::decode_response(body),
        Protocol::Responses => ResponsesCodec::decode_response(body),
    }
}

/// IR → client response body.
pub fn encode_response(protocol: Protocol, response: &ChatResponse) -> Vec<u8> {
    match protocol {
        Protocol::OpenAi => OpenAiCodec::encode_response(response),
        Protocol::Anthropic => AnthropicCodec::encode_response(response),
        Protocol::Gemini => GeminiCodec::encode_response(response),
        Protocol::Responses => ResponsesCodec::encode_response(response),
    }
}

/// A decoder for an upstream stream of `protocol` answering `request`.
pub fn stream_decoder(protocol: Protocol, request: &ChatRequest) -> Box<dyn StreamDecode> {
    match protocol {
        Protocol::OpenAi => Box::new(OpenAiCodec::stream_decoder(request)),
        Protocol::Anthropic => Box::new(AnthropicCodec::stream_decoder(request)),
        Protocol::Gemini => Box::new(GeminiCodec::stream_decoder(request)),
        Protocol::Responses => Box::new(ResponsesCodec::stream_decoder(request)),
    }
}

/// An encoder of a client stream of `protocol`. `gemini_sse: false` selects Gemini's
/// JSON-array stream form (`streamGenerateContent` without `alt=sse`).
pub fn stream_encoder(
    protocol: Protocol,
    request: &ChatRequest,
    created: i64,
    gemini_sse: bool,
) -> Box<dyn StreamEncode> {
    match protocol {
        Protocol::OpenAi => Box::new(OpenAiCodec::stream_encoder(request, created)),
        Protocol::Anthropic => Box::new(AnthropicCodec::stream_encoder(request, created)),
        Protocol::Gemini if gemini_sse => Box::new(GeminiCodec::stream_encoder(request, created)),
        Protocol::Gemini => Box::new(gemini::StreamEncoder::json_array(request, created)),
        Protocol::Responses => Box::new(ResponsesCodec::stream_encoder(request, created)),
    }
}

/// Upstream error body → fault.
pub fn decode_error(protocol: Protocol, status: u16, body: &[u8]) -> UpstreamFault {
    match protocol {
        Protocol::OpenAi => OpenAiCodec::decode_error(status, body),
        Protocol::Anthropic => AnthropicCodec::decode_error(status, body),
        Protocol::Gemini => GeminiCodec::decode_error(status, body),
        Protocol::Responses => ResponsesCodec::decode_error(status, body),
    }
}
