//! Anthropic Messages request ↔ IR: `decode_request` (a client's body → IR, in `decode`)
//! and `encode_request` (IR → the body for an Anthropic upstream, in `encode`). The
//! mapping decisions are listed in the folder's module docs.

mod decode;
mod encode;

pub use decode::decode_request;
pub use encode::encode_request;

use serde_json::{Map, Value};

/// A tool's `input` as the IR's arguments text: compact JSON (`{}` when absent).
pub fn compact_json(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_owned(),
        v => v.to_string(),
    }
}

/// IR arguments text → a `tool_use.input` object. Blank → `{}`; a JSON object as is;
/// anything else (invalid JSON, an array, a scalar) is kept, not lost, as
/// `{"_raw": "<text>"}`. Never fails.
pub fn parse_arguments(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            let mut m = Map::new();
            m.insert("_raw".to_owned(), Value::String(arguments.to_owned()));
            Value::Object(m)
        }
    }
}
