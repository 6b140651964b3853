//! StreamDecoder and StreamEncoder.

use bytes::BytesMut;
use serde_json::Value;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, FinishReason, Signature, StreamEvent, Usage};

use crate::translate::gemini::{GeminiCodec, StreamEncoder};
use crate::translate::{Codec, StreamDecode, StreamEncode, TranslateError};

const TRANSCRIPT: &str = concat!(
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"**Planning** the lookups\",\"thought\": true}],\"role\": \"model\"},\"index\": 0}],",
    "\"usageMetadata\": {\"promptTokenCount\": 50,\"totalTokenCount\": 50},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"resp-1\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Let me check\"}],\"role\": \"model\"},\"index\": 0}],",
    "\"usageMetadata\": {\"promptTokenCount\": 50,\"totalTokenCount\": 50},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"resp-1\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" both cities. \\u00e9t\\u00e9 ☀\"}],\"role\": \"model\"},\"index\": 0}],",
    "\"usageMetadata\": {\"promptTokenCount\": 50,\"candidatesTokenCount\": 6,\"totalTokenCount\": 56},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"resp-1\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\"}},\"thoughtSignature\": \"c2lnLTE=\"}],\"role\": \"model\"},\"index\": 0}],",
    "\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"resp-1\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Lyon\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],",
    "\"usageMetadata\": {\"promptTokenCount\": 50,\"cachedContentTokenCount\": 32,\"candidatesTokenCount\": 20,\"thoughtsTokenCount\": 12,\"totalTokenCount\": 82},",
    "\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"resp-1\"}\r\n\r\n",
);

fn request(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        stream: true,
        ..ChatRequest::default()
    }
}

fn decode_stream(input: &[u8], piece: usize) -> Result<Vec<StreamEvent>, TranslateError> {
    let mut decoder = GeminiCodec::stream_decoder(&request("gemini-2.5-flash"));
    let mut out = Vec::new();
    for chunk in input.chunks(piece.max(1)) {
        decoder.feed(chunk, &mut out)?;
    }
    decoder.finish(&mut out)?;
    Ok(out)
}

#[test]
fn stream_decode_transcript() {
    let events = decode_stream(TRANSCRIPT.as_bytes(), TRANSCRIPT.len()).unwrap();
    insta::assert_json_snapshot!(events);
}

#[test]
fn stream_decode_survives_any_split() {
    let whole = decode_stream(TRANSCRIPT.as_bytes(), TRANSCRIPT.len()).unwrap();
    for piece in 1..TRANSCRIPT.len() {
        assert_eq!(
            decode_stream(TRANSCRIPT.as_bytes(), piece).unwrap(),
            whole,
            "piece {piece}"
        );
    }
}

#[test]
fn stream_decode_errors_blocks_and_missing_finish() {
    // A bare multi-line JSON error in the middle of the stream (no `data:`).
    let input = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"},\"index\":0}],\"responseId\":\"r\"}\r\n\r\n\
                 {\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"The model is overloaded.\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n";
    for piece in [1, 7, input.len()] {
        assert_eq!(
            decode_stream(input.as_bytes(), piece).unwrap(),
            vec![
                StreamEvent::Start {
                    id: "r".into(),
                    model: "gemini-2.5-flash".into()
                },
                StreamEvent::TextDelta { text: "Hi".into() },
                StreamEvent::Error {
                    message: "The model is overloaded.".into()
                },
            ],
            "piece {piece}"
        );
    }
    // An error as a data event, before anything else.
    let events = decode_stream(
        b"data: {\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}\n\n",
        3,
    )
    .unwrap();
    assert_eq!(
        events,
        vec![StreamEvent::Error {
            message: "boom".into()
        }]
    );
    // A blocked prompt.
    let events = decode_stream(
        b"data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"responseId\":\"b\"}\n\n",
        5,
    )
    .unwrap();
    assert_eq!(
        events[1],
        StreamEvent::Finish {
            reason: FinishReason::ContentFilter("SAFETY".into())
        }
    );
    // No finishReason before the end: the turn is closed; keep-alive comments are ignored.
    let input = ": ping\n\ndata: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\"}}],\"role\":\"model\"},\"index\":0}]}\n\n";
    let events = decode_stream(input.as_bytes(), 4).unwrap();
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        })
    );
    assert_eq!(
        events[0],
        StreamEvent::Start {
            id: String::new(),
            model: "gemini-2.5-flash".into()
        }
    );
    // An empty body.
    assert!(matches!(
        decode_stream(b"", 1).unwrap().as_slice(),
        [StreamEvent::Error { .. }]
    ));
    // Garbage.
    assert!(matches!(
        decode_stream(b"data: {nope\n\n", 1),
        Err(TranslateError::UpstreamMalformed(_))
    ));
    // The JSON-array form, should an upstream send it.
    let array = "[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}],\"role\":\"model\"},\"index\":0}]},\r\n\
                 {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"B\"}],\"role\":\"model\"},\"finishReason\":\"MAX_TOKENS\",\"index\":0}]}]";
    let events = decode_stream(array.as_bytes(), 9).unwrap();
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Length
        })
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::TextDelta { .. }))
            .count(),
        2
    );
}

fn anthropic_like_events() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Start {
            id: "msg_01".into(),
            model: "claude-sonnet-4-5".into(),
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 1500,
                ..Usage::default()
            },
        },
        StreamEvent::ThinkingDelta {
            text: "Two cities.".into(),
        },
        StreamEvent::ThinkingSignature {
            signature: Signature {
                value: "EqQB".into(),
                origin: Protocol::Anthropic,
            },
        },
        StreamEvent::TextDelta {
            text: "Checking".into(),
        },
        StreamEvent::TextDelta {
            text: " both.".into(),
        },
        StreamEvent::ThinkingSignature {
            signature: Signature {
                value: "Z2VtLXNpZw==".into(),
                origin: Protocol::Gemini,
            },
        },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "toolu_1".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "toolu_2".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"city\":".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "{\"city\":\"Lyon\"}".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "\"Paris\"}".into(),
        },
        StreamEvent::ToolCallEnd { index: 1 },
        StreamEvent::ToolCallEnd { index: 0 },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 1500,
                output_tokens: 90,
                cached_input_tokens: 1200,
                cache_creation_input_tokens: 0,
                reasoning_tokens: 30,
            },
        },
    ]
}

fn encode_stream(mut encoder: StreamEncoder, events: &[StreamEvent]) -> String {
    let mut out = BytesMut::new();
    for event in events {
        encoder.encode(event, &mut out);
    }
    encoder.finish(&mut out);
    encoder.finish(&mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn stream_encode_sse() {
    let sse = encode_stream(
        GeminiCodec::stream_encoder(&request("gemini-2.5-flash"), 0),
        &anthropic_like_events(),
    );
    assert!(sse.ends_with("}\r\n\r\n") && sse.starts_with("data: {"));
    insta::assert_snapshot!(sse.replace('\r', "\\r"));
    // Every chunk is a valid GenerateContentResponse with non-empty parts, and our own
    // decoder reads the stream back.
    for chunk in sse.split("\r\n\r\n").filter(|c| !c.is_empty()) {
        let v: Value = serde_json::from_str(chunk.strip_prefix("data: ").unwrap()).unwrap();
        assert!(
            !v["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{chunk}"
        );
    }
    let back = decode_stream(sse.as_bytes(), 13).unwrap();
    assert_eq!(
        back.first(),
        Some(&StreamEvent::Start {
            id: "msg_01".into(),
            model: "claude-sonnet-4-5".into()
        })
    );
    assert_eq!(
        back.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        })
    );
}

#[test]
fn stream_encode_json_array_and_errors() {
    let events = [
        StreamEvent::Start {
            id: "chatcmpl-1".into(),
            model: String::new(),
        },
        StreamEvent::TextDelta {
            text: "Hello".into(),
        },
        StreamEvent::TextDelta {
            text: String::new(),
        },
        StreamEvent::Finish {
            reason: FinishReason::Length,
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 5,
                output_tokens: 1,
                ..Usage::default()
            },
        },
    ];
    let array = encode_stream(
        StreamEncoder::json_array(&request("gemini-client-model"), 0),
        &events,
    );
    let parsed: Vec<Value> = serde_json::from_str(&array).unwrap();
    assert_eq!(parsed.len(), 2);
    insta::assert_snapshot!(array.replace('\r', "\\r"));

    let failed = [
        StreamEvent::Start {
            id: "x".into(),
            model: "m".into(),
        },
        StreamEvent::TextDelta { text: "Hi".into() },
        StreamEvent::Error {
            message: "upstream overloaded".into(),
        },
        StreamEvent::TextDelta {
            text: "ignored".into(),
        },
    ];
    let sse = encode_stream(GeminiCodec::stream_encoder(&request("m"), 0), &failed);
    assert!(sse.ends_with(
        "data: {\"error\":{\"code\":500,\"message\":\"upstream overloaded\",\"status\":\"INTERNAL\"}}\r\n\r\n"
    ));
    assert!(!sse.contains("ignored") && !sse.contains("finishReason"));
    let array = encode_stream(StreamEncoder::json_array(&request("m"), 0), &failed);
    assert_eq!(serde_json::from_str::<Vec<Value>>(&array).unwrap().len(), 2);
    // Nothing at all: still a valid array with the final chunk.
    let empty = encode_stream(StreamEncoder::json_array(&request("m"), 0), &[]);
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&empty).unwrap()[0]["candidates"][0]["finishReason"],
        "STOP"
    );
}
