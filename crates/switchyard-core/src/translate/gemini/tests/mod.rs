//! Golden tests for every direction of the Gemini codec (insta snapshots in
//! `snapshots/`), plus the request round trip (proptest).

mod request;
mod response;
mod round_trip;
mod stream;

use serde_json::Value;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, Part, Signature};

use super::GeminiCodec;
use crate::translate::{Codec, TranslateError};

fn sig(value: &str, origin: Protocol) -> Option<Signature> {
    Some(Signature {
        value: value.into(),
        origin,
    })
}

fn text(t: &str) -> Part {
    Part::Text { text: t.into() }
}

fn body_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn decode(body: &Value) -> Result<ChatRequest, TranslateError> {
    GeminiCodec::decode_request(body.to_string().as_bytes(), "gemini-2.5-flash", false)
}
