//! StreamDecoder (upstream SSE → IR events) and StreamEncoder (IR events → client SSE).

use bytes::BytesMut;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, FinishReason, Signature, StreamEvent, Usage};

use super::super::{AnthropicCodec, StreamDecoder};
use crate::translate::{Codec, StreamDecode, StreamEncode, TranslateError};

/// A realistic upstream stream: ping, thinking + signature, text, a server-tool block
/// (skipped), two tool calls (one without arguments), cache usage.
const TRANSCRIPT: &str = concat!(
    "event: message_start\n",
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01Stream\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":700,\"output_tokens\":1}}}\n\n",
    "event: ping\n",
    "data: {\"type\": \"ping\"}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Need weather \"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"for Paris – é.\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM1gbcDa9GJwZA2b3h\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"query\\\":\\\"x\\\"}\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Pa\"}}\n\n",
    "event: ping\n",
    "data: {\"type\": \"ping\"}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ris\\\"}\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":3}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":4,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"get_time\",\"input\":{}}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":4}\n\n",
    "event: future_event\n",
    "data: {\"type\":\"future_event\",\"whatever\":[1,2]}\n\n",
    "event: message_delta\n",
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":87,\"output_tokens_details\":{\"thinking_tokens\":40}}}\n\n",
    "event: message_stop\n",
    "data: {\"type\":\"message_stop\"}\n\n",
);

fn decode_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<StreamEvent>, TranslateError> {
    let mut d = AnthropicCodec::stream_decoder(&ChatRequest::default());
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut out)?;
    }
    d.finish(&mut out)?;
    Ok(out)
}

fn decode_str(s: &str) -> Result<Vec<StreamEvent>, TranslateError> {
    decode_chunks([s.as_bytes()])
}

#[test]
fn decode_realistic_stream() {
    let events = decode_str(TRANSCRIPT).unwrap();
    insta::assert_json_snapshot!(events);
}

#[test]
fn decode_is_the_same_at_every_split() {
    let whole = decode_str(TRANSCRIPT).unwrap();
    let bytes = TRANSCRIPT.as_bytes();
    for k in 0..=bytes.len() {
        let (a, b) = bytes.split_at(k);
        assert_eq!(decode_chunks([a, b]).unwrap(), whole, "split at {k}");
    }
    assert_eq!(
        decode_chunks(bytes.chunks(1)).unwrap(),
        whole,
        "byte by byte"
    );
    let crlf = TRANSCRIPT.replace('\n', "\r\n");
    assert_eq!(
        decode_chunks(crlf.as_bytes().chunks(7)).unwrap(),
        whole,
        "CRLF in 7-byte pieces"
    );
}

#[test]
fn decode_stop_sequence_and_max_tokens() {
    let stream = |reason: &str, seq: &str| {
        format!(
            "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{{\"input_tokens\":5,\"output_tokens\":1}}}}}}\n\n\
             event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}\n\n\
             event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"a\"}}}}\n\n\
             event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n\
             event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{reason}\",\"stop_sequence\":{seq}}},\"usage\":{{\"output_tokens\":9}}}}\n\n\
             event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
        )
    };
    let events = decode_str(&stream("stop_sequence", "\"END\"")).unwrap();
    assert_eq!(
        &events[events.len() - 2..],
        &[
            StreamEvent::Finish {
                reason: FinishReason::StopSequence(Some("END".into()))
            },
            StreamEvent::Usage {
                usage: Usage {
                    input_tokens: 5,
                    output_tokens: 9,
                    ..Usage::default()
                }
            },
        ]
    );
    let events = decode_str(&stream("max_tokens", "null")).unwrap();
    assert!(events.contains(&StreamEvent::Finish {
        reason: FinishReason::Length
    }));
}

#[test]
fn decode_error_event_ends_the_stream() {
    let s = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
        "event: error\n",
        "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n\n",
    );
    let events = decode_str(s).unwrap();
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Error {
            message: "Overloaded".into()
        })
    );
    assert_eq!(events.len(), 3);
}

#[test]
fn decode_truncated_stream_closes_calls_and_reports_an_error() {
    let s = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}",
    );
    let events = decode_str(s).unwrap();
    assert_eq!(
        &events[2..],
        &[
            StreamEvent::ToolCallStart {
                index: 0,
                id: "toolu_1".into(),
                name: "f".into()
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "{\"a\"".into()
            },
            StreamEvent::ToolCallEnd { index: 0 },
            StreamEvent::Error {
                message: "the upstream stream ended before message_stop".into()
            },
        ]
    );
}

#[test]
fn decode_rejects_malformed_known_events_and_ignores_unknown_ones() {
    let e = decode_str(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":\"x\"}\n\n",
    )
    .unwrap_err();
    assert!(matches!(e, TranslateError::UpstreamMalformed(_)), "{e:?}");
    let events = decode_str("event: surprise\ndata: not json\n\n: comment\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n").unwrap();
    assert_eq!(
        events,
        vec![
            StreamEvent::Start {
                id: String::new(),
                model: String::new()
            },
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
        ]
    );
}

// ---------------------------------------------------------------- encoder

fn encode(events: &[StreamEvent]) -> String {
    let request = ChatRequest {
        model: "requested-model".into(),
        ..ChatRequest::default()
    };
    let mut e = AnthropicCodec::stream_encoder(&request, 1_700_000_000);
    let mut out = BytesMut::new();
    for ev in events {
        e.encode(ev, &mut out);
    }
    e.finish(&mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

fn sig(value: &str, origin: Protocol) -> StreamEvent {
    StreamEvent::ThinkingSignature {
        signature: Signature {
            value: value.into(),
            origin,
        },
    }
}

fn text(t: &str) -> StreamEvent {
    StreamEvent::TextDelta { text: t.into() }
}

fn start(index: u32, id: &str, name: &str) -> StreamEvent {
    StreamEvent::ToolCallStart {
        index,
        id: id.into(),
        name: name.into(),
    }
}

fn args(index: u32, a: &str) -> StreamEvent {
    StreamEvent::ToolCallDelta {
        index,
        arguments: a.into(),
    }
}

fn end(index: u32) -> StreamEvent {
    StreamEvent::ToolCallEnd { index }
}

/// As an OpenAI upstream would give it: parallel calls whose fragments interleave, usage
/// after the finish.
fn interleaved_calls() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Start {
            id: "chatcmpl-abc".into(),
            model: "gpt-5".into(),
        },
        StreamEvent::ThinkingDelta {
            text: "Two cities.".into(),
        },
        sig("openai-opaque", Protocol::OpenAi),
        text("Checking "),
        text("both."),
        start(0, "call_A", "get_weather"),
        args(0, "{\"city\":"),
        start(1, "functions.get_weather:1", "get_weather"),
        args(1, "{\"city\":"),
        args(0, "\"Paris\"}"),
        args(1, "\"Lyon\"}"),
        start(2, "call_C", "get_time"),
        end(0),
        end(1),
        end(2),
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 900,
                output_tokens: 120,
                cached_input_tokens: 800,
                cache_creation_input_tokens: 0,
                reasoning_tokens: 64,
            },
        },
        text("ignored: the stream is over"),
    ]
}

#[test]
fn encode_interleaved_parallel_calls() {
    insta::assert_snapshot!(encode(&interleaved_calls()));
}

/// As the Anthropic decoder produces it: usage right after start (in `message_start`),
/// signed thinking, usage after the finish.
#[test]
fn encode_anthropic_events() {
    let events = decode_str(TRANSCRIPT).unwrap();
    insta::assert_snapshot!(encode(&events));
}

#[test]
fn encode_without_usage_or_finish_still_ends_properly() {
    let sse = encode(&[
        StreamEvent::Start {
            id: "resp_1".into(),
            model: String::new(),
        },
        StreamEvent::ThinkingDelta {
            text: "gemini thought".into(),
        },
        sig("gemini-sig", Protocol::Gemini),
        text("Hi"),
        text(""),
    ]);
    insta::assert_snapshot!(sse);
}

#[test]
fn encode_error_mid_stream_is_last() {
    let sse = encode(&[
        StreamEvent::Start {
            id: "msg_1".into(),
            model: "m".into(),
        },
        text("Hel"),
        StreamEvent::Error {
            message: "upstream overloaded".into(),
        },
        text("lo"),
    ]);
    let tail = sse.rsplit("\n\n").nth(1).unwrap();
    assert_eq!(
        tail,
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"upstream overloaded\"}}"
    );
    assert!(!sse.contains("message_stop"));
}

#[test]
fn two_signed_thinking_blocks_stay_two_blocks() {
    let sse = encode(&[
        StreamEvent::Start {
            id: "msg_1".into(),
            model: "m".into(),
        },
        StreamEvent::ThinkingDelta { text: "a".into() },
        sig("s1", Protocol::Anthropic),
        StreamEvent::ThinkingDelta { text: "b".into() },
        sig("s2", Protocol::Anthropic),
        StreamEvent::RedactedThinking {
            data: "opaque".into(),
        },
        StreamEvent::Finish {
            reason: FinishReason::Stop,
        },
    ]);
    assert_eq!(
        sse.matches("\"content_block\":{\"type\":\"thinking\"")
            .count(),
        2,
        "{sse}"
    );
    assert!(sse.contains("{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"opaque\"}}"));
    assert!(sse.contains("\"stop_reason\":\"end_turn\""));
}

/// What we write, our decoder reads back as the same events (modulo what Anthropic's
/// format normalises: `msg_` ids, sanitised tool ids, `{}` for empty arguments,
/// foreign signatures dropped, usage folded into message_start/message_delta).
#[test]
fn encoded_streams_decode_back() {
    let sse = encode(&interleaved_calls());
    let back = decode_str(&sse).unwrap();
    let expected = vec![
        StreamEvent::Start {
            id: "msg_chatcmpl-abc".into(),
            model: "gpt-5".into(),
        },
        StreamEvent::Usage {
            usage: Usage::default(),
        },
        StreamEvent::ThinkingDelta {
            text: "Two cities.".into(),
        },
        text("Checking "),
        text("both."),
        start(0, "call_A", "get_weather"),
        args(0, "{\"city\":"),
        args(0, "\"Paris\"}"),
        end(0),
        start(
            1,
            &crate::translate::ids::sanitize("functions.get_weather:1"),
            "get_weather",
        ),
        args(1, "{\"city\":\"Lyon\"}"),
        end(1),
        start(2, "call_C", "get_time"),
        args(2, "{}"),
        end(2),
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 900,
                output_tokens: 120,
                cached_input_tokens: 800,
                cache_creation_input_tokens: 0,
                reasoning_tokens: 64,
            },
        },
    ];
    assert_eq!(back, expected);
    // Anthropic's own stream survives decode → encode → decode (message_start reports
    // 0 output tokens where Anthropic says 1).
    let mut first = decode_str(TRANSCRIPT).unwrap();
    let again = decode_str(&encode(&first)).unwrap();
    if let Some(StreamEvent::Usage { usage }) = first.get_mut(1) {
        usage.output_tokens = 0;
    }
    assert_eq!(again, first);
}

#[test]
fn the_decoder_is_send() {
    fn is_send<T: Send>(_: &T) {}
    is_send(&StreamDecoder::new());
}
