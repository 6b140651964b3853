//! Properties of the stream codecs over arbitrary input: the encoder always writes a
//! stream an Anthropic SDK accepts; the decoder never panics.

use bytes::BytesMut;
use proptest::prelude::*;
use serde_json::Value;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, FinishReason, Signature, StreamEvent, Usage};

use super::super::AnthropicCodec;
use crate::translate::sse::SseParser;
use crate::translate::{Codec, StreamDecode, StreamEncode};

fn event() -> impl Strategy<Value = StreamEvent> {
    let origin = prop::sample::select(vec![
        Protocol::Anthropic,
        Protocol::OpenAi,
        Protocol::Gemini,
    ]);
    prop_oneof![
        ("[a-z_]{0,6}", "[a-z-]{0,6}").prop_map(|(id, model)| StreamEvent::Start { id, model }),
        "[a-z {}\"]{0,5}".prop_map(|text| StreamEvent::TextDelta { text }),
        "[a-z ]{0,5}".prop_map(|text| StreamEvent::ThinkingDelta { text }),
        ("[A-Za-z]{0,4}", origin).prop_map(|(value, origin)| StreamEvent::ThinkingSignature {
            signature: Signature { value, origin }
        }),
        "[A-Za-z]{1,4}".prop_map(|data| StreamEvent::RedactedThinking { data }),
        (0u32..3, "[a-z.:]{1,6}", "[a-z]{1,4}")
            .prop_map(|(index, id, name)| StreamEvent::ToolCallStart { index, id, name }),
        (0u32..3, "[{}\":a-z0-9]{0,5}")
            .prop_map(|(index, arguments)| StreamEvent::ToolCallDelta { index, arguments }),
        (0u32..3).prop_map(|index| StreamEvent::ToolCallEnd { index }),
        (0u64..50, 0u64..50, 0u64..10).prop_map(|(i, o, c)| StreamEvent::Usage {
            usage: Usage {
                input_tokens: i + c,
                output_tokens: o,
                cached_input_tokens: c,
                ..Usage::default()
            }
        }),
        prop::sample::select(vec![
            FinishReason::Stop,
            FinishReason::ToolCalls,
            FinishReason::Length
        ])
        .prop_map(|reason| StreamEvent::Finish { reason }),
        Just(StreamEvent::Error {
            message: "boom".into()
        }),
    ]
}

/// Check the SSE an encoder wrote against Anthropic's grammar (§2.6).
fn check_stream(sse: &str) -> Result<(), String> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    parser.feed(sse.as_bytes(), &mut events);
    parser.finish(&mut events);
    let mut names = Vec::new();
    let mut open: Option<(u64, String, usize)> = None;
    let mut next_index = 0;
    for e in &events {
        let data: Value =
            serde_json::from_str(&e.data).map_err(|err| format!("{err}: {}", e.data))?;
        if data["type"] != e.event.as_str() || !e.data.starts_with("{\"type\":") {
            return Err(format!(
                "type must match the event name and come first: {}",
                e.data
            ));
        }
        if names.last() == Some(&"error") || names.last() == Some(&"message_stop") {
            return Err(format!("event after the end: {}", e.event));
        }
        match e.event.as_str() {
            "message_start" if !names.is_empty() => return Err("late message_start".into()),
            "message_start" | "error" => {}
            _ if names.first() != Some(&"message_start") => {
                return Err(format!("{} before message_start", e.event));
            }
            "content_block_start" => {
                if open.is_some() || data["index"] != next_index {
                    return Err(format!("bad block start: {}", e.data));
                }
                let kind = data["content_block"]["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                open = Some((next_index, kind, 0));
            }
            "content_block_delta" => {
                let Some((index, kind, deltas)) = open.as_mut() else {
                    return Err("delta outside a block".into());
                };
                let expected = match kind.as_str() {
                    "text" => vec!["text_delta"],
                    "thinking" => vec!["thinking_delta", "signature_delta"],
                    "tool_use" => vec!["input_json_delta"],
                    _ => vec![],
                };
                if data["index"] != *index
                    || !expected.contains(&data["delta"]["type"].as_str().unwrap_or_default())
                {
                    return Err(format!("bad delta in a {kind} block: {}", e.data));
                }
                *deltas += 1;
            }
            "content_block_stop" => {
                match open.take() {
                    Some((index, kind, deltas)) if data["index"] == index => {
                        if kind == "tool_use" && deltas == 0 {
                            return Err("tool_use block without input_json_delta".into());
                        }
                    }
                    _ => return Err(format!("bad block stop: {}", e.data)),
                }
                next_index += 1;
            }
            "message_delta" => {
                if open.is_some() || data["delta"]["stop_reason"].as_str().is_none() {
                    return Err(format!("bad message_delta: {}", e.data));
                }
            }
            "message_stop" => {
                if names.last() != Some(&"message_delta") {
                    return Err("message_stop must follow message_delta".into());
                }
            }
            other => return Err(format!("unknown event {other}")),
        }
        names.push(e.event.as_str());
    }
    match names.last() {
        Some(&"message_stop" | &"error") => Ok(()),
        other => Err(format!("stream ends with {other:?}")),
    }
}

proptest! {
    #[test]
    fn any_event_sequence_encodes_to_a_valid_stream(events in prop::collection::vec(event(), 0..24)) {
        let mut encoder = AnthropicCodec::stream_encoder(&ChatRequest::default(), 0);
        let mut out = BytesMut::new();
        for e in &events {
            encoder.encode(e, &mut out);
        }
        encoder.finish(&mut out);
        let sse = String::from_utf8(out.to_vec()).unwrap();
        prop_assert!(check_stream(&sse).is_ok(), "{:?}\n{}\n{:?}", check_stream(&sse), sse, events);
    }

    #[test]
    fn the_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400), piece in 1usize..50) {
        let mut d = AnthropicCodec::stream_decoder(&ChatRequest::default());
        let mut out = Vec::new();
        for c in bytes.chunks(piece) {
            let _ = d.feed(c, &mut out);
        }
        let _ = d.finish(&mut out);
    }

    #[test]
    fn the_decoder_never_panics_on_shuffled_events(
        lines in prop::collection::vec(prop::sample::select(SHUFFLED_LINES.to_vec()), 0..30)
    ) {
        let mut d = AnthropicCodec::stream_decoder(&ChatRequest::default());
        let mut out = Vec::new();
        let _ = d.feed(lines.concat().as_bytes(), &mut out);
        let _ = d.finish(&mut out);
        // Whatever came in, Finish (if any) is followed by usage only.
        if let Some(pos) = out.iter().position(|e| matches!(e, StreamEvent::Finish { .. })) {
            prop_assert!(out[pos + 1..].iter().all(|e| matches!(e, StreamEvent::Usage { .. })), "{out:?}");
        }
    }
}

const SHUFFLED_LINES: [&str; 11] = [
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":3}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    "event: ping\ndata: {\"type\":\"ping\"}\n\n",
    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}\n\n",
];

#[test]
fn the_checker_catches_bad_streams() {
    let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n";
    let end = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let tool = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\"}}\n\n";
    let stop = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
    let text_delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n";
    assert!(check_stream(&format!("{start}{end}")).is_ok());
    assert!(
        check_stream(&format!("{start}{tool}{stop}{end}")).is_err(),
        "tool_use without delta"
    );
    assert!(
        check_stream(&format!("{start}{tool}{text_delta}{stop}{end}")).is_err(),
        "text in a tool block"
    );
    assert!(
        check_stream(&format!("{start}{tool}{end}")).is_err(),
        "unclosed block"
    );
    assert!(check_stream(end).is_err(), "no message_start");
    assert!(check_stream(start).is_err(), "no end");
}
