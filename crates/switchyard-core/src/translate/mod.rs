//! Translation between the wire protocols (Chat Completions, Messages, Gemini, and the
//! Responses API as a client protocol) through the canonical IR
//! ([`switchyard_types::ir`]).
//!
//! # Anatomy (the same in every protocol folder)
//! - `wire.rs` — serde types of the protocol's JSON (only what we read or write).
//! - `request.rs` — `decode_request` (client body → IR) and `encode_request` (IR → body
//!   for an upstream of this protocol).
//! - `response.rs` — `decode_response` (upstream body → IR) and `encode_response`
//!   (IR → body for a client of this protocol).
//! - `stream.rs` — `StreamDecoder` (upstream SSE bytes → [`StreamEvent`]s) and
//!   `StreamEncoder` ([`StreamEvent`]s → client SSE bytes): small state machines.
//! - `error.rs` — `decode_error` (upstream error body → [`UpstreamFault`]).
//!
//! The [`Codec`] trait ties them together; [`dispatch`] picks a pair of codecs at run
//! time. Shared helpers: [`json`] (bodies read with the bad field named), [`sse`] (incremental SSE framing), [`frame`] (chunks read without the parser when only their text changed), [`ids`] (tool-call id
//! sanitising), [`schema`] (JSON Schema → Gemini's subset).
//!
//! All functions are pure: no I/O, no clock (ids and timestamps come in as arguments
//! or from the IR), so every direction is testable with golden files.

pub mod anthropic;
pub mod dispatch;
pub mod frame;
pub mod gemini;
pub mod ids;
pub mod json;
pub mod openai;
pub mod responses;
pub mod schema;
pub mod sse;

use bytes::BytesMut;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, ChatResponse, StreamEvent};

/// A translation failed. Client-side variants become 400s naming the field; an
/// upstream answer we cannot read becomes a 502.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The client's body is not JSON (or not an object).
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    /// A field of the client's body is missing or wrong.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// The request is valid but cannot be expressed for the chosen upstream
    /// (e.g. `n > 1` towards Anthropic).
    #[error("{field}: {message}")]
    Unsupported { field: String, message: String },
    /// The upstream's answer could not be understood.
    #[error("unreadable upstream response: {0}")]
    UpstreamMalformed(String),
}

impl TranslateError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn unsupported(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unsupported {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What an upstream error body says, protocol-neutrally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamFault {
    /// The provider's message, kept verbatim (it usually names the bad path).
    pub message: String,
    pub kind: FaultKind,
    /// A retry delay found in the body (Gemini `RetryInfo.retryDelay`), in milliseconds.
    pub retry_after_ms: Option<u64>,
}

/// The class of an upstream error, from its body (the status alone is ambiguous: a 429
/// is a rate limit or an exhausted quota; a 400 can be a spend limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    InvalidRequest,
    Authentication,
    PermissionDenied,
    NotFound,
    RateLimited,
    /// Credits / quota / spend limit exhausted: do not retry on this account until reset.
    QuotaExhausted,
    Overloaded,
    Server,
    Timeout,
    Other,
}

impl FaultKind {
    /// The class a bare HTTP status stands for, when the body says nothing more.
    pub fn from_status(status: u16) -> Self {
        match status {
            400 | 413 | 422 => Self::InvalidRequest,
            401 => Self::Authentication,
            402 => Self::QuotaExhausted,
            403 => Self::PermissionDenied,
            404 => Self::NotFound,
            408 | 504 => Self::Timeout,
            429 => Self::RateLimited,
            503 | 529 => Self::Overloaded,
            500..=599 => Self::Server,
            _ => Self::Other,
        }
    }
}

/// Longest excerpt of an unreadable upstream error body kept as the message.
pub const MAX_ERROR_EXCERPT: usize = 500;

/// An upstream error body that is not the protocol's error JSON, as a message: its text,
/// trimmed and cut to [`MAX_ERROR_EXCERPT`] characters.
pub fn body_excerpt(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("HTTP {status} with an empty body");
    }
    text.chars().take(MAX_ERROR_EXCERPT).collect()
}

/// Incremental decoder of an upstream stream into IR events.
pub trait StreamDecode: Send {
    /// Feed the next bytes of the upstream body; complete events are appended to `out`.
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), TranslateError>;
    /// The upstream body ended: flush what is pending (e.g. close open tool calls, emit a
    /// `Finish` if the upstream never sent one).
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), TranslateError>;
}

/// Incremental encoder of IR events into a client stream.
pub trait StreamEncode: Send {
    /// Append the bytes for `event` to `out` (possibly none: some events are held until
    /// more is known, e.g. Anthropic's `message_delta` waits for usage).
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut);
    /// The stream ended: write whatever is still held and the protocol's terminator.
    fn finish(&mut self, out: &mut BytesMut);
}

/// One protocol's complete set of translations.
pub trait Codec {
    const PROTOCOL: Protocol;
    type Decoder: StreamDecode + 'static;
    type Encoder: StreamEncode + 'static;

    /// Client request body → IR. `model` is given separately for protocols that carry it
    /// in the URL (Gemini); others read it from the body and ignore the argument.
    fn decode_request(
        body: &[u8],
        model: &str,
        stream: bool,
    ) -> Result<ChatRequest, TranslateError>;
    /// IR → request body for an upstream of this protocol.
    fn encode_request(request: &ChatRequest) -> Result<Vec<u8>, TranslateError>;
    /// Upstream response body → IR.
    fn decode_response(body: &[u8]) -> Result<ChatResponse, TranslateError>;
    /// IR → response body for a client of this protocol (`response.created` is set by the
    /// caller when the upstream gave none).
    fn encode_response(response: &ChatResponse) -> Vec<u8>;
    /// A decoder for an upstream stream answering `request`.
    fn stream_decoder(request: &ChatRequest) -> Self::Decoder;
    /// An encoder of a client stream answering `request` (the client's own request in IR).
    /// `created` is the Unix time to stamp where the protocol wants one.
    fn stream_encoder(request: &ChatRequest, created: i64) -> Self::Encoder;
    /// Upstream error body → fault.
    fn decode_error(status: u16, body: &[u8]) -> UpstreamFault;
}
