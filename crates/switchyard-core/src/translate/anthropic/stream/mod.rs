//! Anthropic SSE ↔ IR stream events.
//!
//! [`StreamDecoder`] reads an upstream's named events (protocols.md §2.6). [`StreamEncoder`]
//! writes the exact sequence Anthropic SDKs expect: `message_start`, then one
//! `content_block_start`/`_delta`…/`_stop` group per block, then `message_delta` (held
//! until usage is final) and `message_stop`.

mod decode;
mod encode;

pub use decode::StreamDecoder;
pub use encode::StreamEncoder;
