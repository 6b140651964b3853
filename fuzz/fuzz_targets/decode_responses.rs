//! Fuzz the Responses inbound decoders: any bytes as a client request body (must give the IR
//! or a TranslateError, never a panic), and as an upstream stream fed in two pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_core::translate::dispatch;
use switchyard_types::Protocol;

fuzz_target!(|data: &[u8]| {
    let protocol = Protocol::Responses;
    // Reasoning items whose `encrypted_content` we issued are decoded too.
    if let Ok(request) = dispatch::decode_request(protocol, data, "fuzz-model", false) {
        // Whatever decodes must encode for every upstream without panicking.
        for target in [
            Protocol::OpenAi,
            Protocol::Anthropic,
            Protocol::Gemini,
            Protocol::Responses,
        ] {
            let _ = dispatch::encode_request(target, &request);
        }
    }
    let _ = dispatch::decode_response(protocol, data);
    let request = switchyard_types::ir::ChatRequest {
        model: "fuzz-model".into(),
        stream: true,
        ..Default::default()
    };
    let mut decoder = dispatch::stream_decoder(protocol, &request);
    let mut events = Vec::new();
    let (a, b) = data.split_at(data.len() / 2);
    if decoder.feed(a, &mut events).is_ok() && decoder.feed(b, &mut events).is_ok() {
        let _ = decoder.finish(&mut events);
    }
    let _ = dispatch::decode_error(protocol, 429, data);
});
