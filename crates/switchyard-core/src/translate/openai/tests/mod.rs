//! Golden and property tests of the OpenAI codec. Snapshots live in `tests/snapshots/`.

mod error;
mod request;
mod response;
mod roundtrip;
mod stream_decode;
mod stream_encode;

use super::OpenAiCodec;
use crate::translate::{Codec, StreamDecode, StreamEncode, TranslateError};
use bytes::BytesMut;
use serde_json::Value;
use switchyard_types::ir::{ChatRequest, ChatResponse, StreamEvent};

fn decode_request(body: &Value) -> Result<ChatRequest, TranslateError> {
    // The arguments are deliberately wrong: the body is the authority.
    OpenAiCodec::decode_request(body.to_string().as_bytes(), "ignored-model", false)
}

fn encode_request(ir: &ChatRequest) -> Value {
    let bytes = OpenAiCodec::encode_request(ir).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn decode_response(body: &Value) -> Result<ChatResponse, TranslateError> {
    OpenAiCodec::decode_response(body.to_string().as_bytes())
}

fn encode_response(r: &ChatResponse) -> Value {
    serde_json::from_slice(&OpenAiCodec::encode_response(r)).unwrap()
}

/// Decode an SSE transcript fed in pieces of `piece` bytes.
fn decode_stream(
    request: &ChatRequest,
    transcript: &str,
    piece: usize,
) -> Result<Vec<StreamEvent>, TranslateError> {
    let mut d = OpenAiCodec::stream_decoder(request);
    let mut out = Vec::new();
    for chunk in transcript.as_bytes().chunks(piece) {
        d.feed(chunk, &mut out)?;
    }
    d.finish(&mut out)?;
    Ok(out)
}

/// Decode a transcript whole, and assert that every split point gives the same events.
fn decode_stream_any_split(request: &ChatRequest, transcript: &str) -> Vec<StreamEvent> {
    let whole = decode_stream(request, transcript, transcript.len().max(1)).unwrap();
    let bytes = transcript.as_bytes();
    for at in 1..bytes.len() {
        let mut d = OpenAiCodec::stream_decoder(request);
        let mut out = Vec::new();
        d.feed(&bytes[..at], &mut out).unwrap();
        d.feed(&bytes[at..], &mut out).unwrap();
        d.finish(&mut out).unwrap();
        assert_eq!(out, whole, "split at byte {at}");
    }
    assert_eq!(
        decode_stream(request, transcript, 1).unwrap(),
        whole,
        "byte by byte"
    );
    whole
}

fn encode_stream(request: &ChatRequest, events: &[StreamEvent]) -> String {
    let mut e = OpenAiCodec::stream_encoder(request, 1_760_000_000);
    let mut out = BytesMut::new();
    for ev in events {
        e.encode(ev, &mut out);
    }
    e.finish(&mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

fn request_for(model: &str, include_usage: bool) -> ChatRequest {
    ChatRequest {
        model: model.to_owned(),
        stream: true,
        include_usage,
        ..ChatRequest::default()
    }
}
