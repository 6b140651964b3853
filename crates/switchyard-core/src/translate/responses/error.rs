//! Upstream error bodies: the Responses API answers HTTP errors in OpenAI's shape
//! (`{"error":{"message","type","param","code"}}`), so OpenAI's table applies.

use crate::translate::openai::OpenAiCodec;
use crate::translate::{Codec, UpstreamFault};

pub(super) fn decode_error(status: u16, body: &[u8]) -> UpstreamFault {
    OpenAiCodec::decode_error(status, body)
}
