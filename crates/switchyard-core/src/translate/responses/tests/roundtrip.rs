//! Round trips: IR answers through our `response` object and event stream and back, and
//! IR requests through a Responses body and back; no panic on arbitrary input.
//!
//! What the Responses shape rewrites (and `normalise` therefore expects):
//! - consecutive text parts come back as one message (one text);
//! - finish reasons: everything that completes comes back `Stop`, or `ToolCalls` when
//!   the answer has calls; the output cap comes back `Length`.

use super::super::ResponsesCodec;
use crate::translate::{Codec, StreamDecode, StreamEncode};
use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, ChatResponse, FinishReason, Message, Part, Role, Signature, StreamEvent, Usage,
};

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,.:{}\"\\\\é\n_-]{1,12}"
}

fn part() -> impl Strategy<Value = Part> {
    let origin = prop::sample::select(vec![Protocol::Anthropic, Protocol::Gemini]);
    prop_oneof![
        3 => text().prop_map(|text| Part::Text { text }),
        1 => (text(), "[a-zA-Z0-9+/=]{1,12}", origin).prop_map(|(text, value, origin)| Part::Thinking {
            text,
            signature: Some(Signature { value, origin }),
        }),
        1 => "[a-zA-Z0-9]{1,6}".prop_map(|data| Part::RedactedThinking { data }),
        2 => ("call_[a-z0-9]{1,8}", "[a-z_]{1,8}", text()).prop_map(|(id, name, arguments)| Part::ToolCall { id, name, arguments }),
    ]
}

fn merged(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    for p in parts {
        match (out.last_mut(), p) {
            (Some(Part::Text { text: last }), Part::Text { text }) => last.push_str(&text),
            (_, p) => out.push(p),
        }
    }
    out
}

fn usage() -> impl Strategy<Value = Usage> {
    (0u64..1000, 0u64..1000, 0u64..10, 0u64..10, 0u64..10).prop_map(|(i, o, c, w, r)| Usage {
        input_tokens: i + c + w,
        output_tokens: o + r,
        cached_input_tokens: c,
        cache_creation_input_tokens: w,
        reasoning_tokens: r,
    })
}

fn expected_finish(parts: &[Part], length: bool) -> FinishReason {
    if length {
        FinishReason::Length
    } else if parts.iter().any(|p| matches!(p, Part::ToolCall { .. })) {
        FinishReason::ToolCalls
    } else {
        FinishReason::Stop
    }
}

/// Replay `response` as IR stream events (what a decoder of some upstream would give).
fn events_of(r: &ChatResponse) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start {
        id: r.id.clone(),
        model: r.model.clone(),
    }];
    let mut calls = 0u32;
    for p in &r.parts {
        match p {
            Part::Text { text } => events.push(StreamEvent::TextDelta { text: text.clone() }),
            Part::Thinking { text, signature } => {
                events.push(StreamEvent::ThinkingDelta { text: text.clone() });
                if let Some(signature) = signature {
                    events.push(StreamEvent::ThinkingSignature {
                        signature: signature.clone(),
                    });
                }
            }
            Part::RedactedThinking { data } => {
                events.push(StreamEvent::RedactedThinking { data: data.clone() });
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                events.push(StreamEvent::ToolCallStart {
                    index: calls,
                    id: id.clone(),
                    name: name.clone(),
                });
                events.push(StreamEvent::ToolCallDelta {
                    index: calls,
                    arguments: arguments.clone(),
                });
                events.push(StreamEvent::ToolCallEnd { index: calls });
                calls += 1;
            }
            Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    events.push(StreamEvent::Finish {
        reason: r.finish.clone(),
    });
    events.push(StreamEvent::Usage { usage: r.usage });
    events
}

/// Collapse events back into parts (text and thinking deltas joined per block).
fn parts_of(events: &[StreamEvent]) -> (Vec<Part>, Option<FinishReason>, Option<Usage>) {
    let mut parts: Vec<Part> = Vec::new();
    let (mut finish, mut usage) = (None, None);
    let mut calls: Vec<(u32, usize)> = Vec::new();
    for e in events {
        match e {
            StreamEvent::TextDelta { text } => match parts.last_mut() {
                Some(Part::Text { text: t }) => t.push_str(text),
                _ => parts.push(Part::Text { text: text.clone() }),
            },
            StreamEvent::ThinkingDelta { text } => match parts.last_mut() {
                Some(Part::Thinking {
                    text: t,
                    signature: None,
                }) => t.push_str(text),
                _ => parts.push(Part::Thinking {
                    text: text.clone(),
                    signature: None,
                }),
            },
            StreamEvent::ThinkingSignature { signature } => match parts.last_mut() {
                Some(Part::Thinking { signature: s, .. }) if s.is_none() => {
                    *s = Some(signature.clone());
                }
                _ => parts.push(Part::Thinking {
                    text: String::new(),
                    signature: Some(signature.clone()),
                }),
            },
            StreamEvent::RedactedThinking { data } => {
                parts.push(Part::RedactedThinking { data: data.clone() });
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                calls.push((*index, parts.len()));
                parts.push(Part::ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                });
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                if let Some(&(_, at)) = calls.iter().find(|(i, _)| i == index)
                    && let Some(Part::ToolCall { arguments: a, .. }) = parts.get_mut(at)
                {
                    a.push_str(arguments);
                }
            }
            StreamEvent::Finish { reason } => finish = Some(reason.clone()),
            StreamEvent::Usage { usage: u } => usage = Some(*u),
            StreamEvent::Start { .. }
            | StreamEvent::ToolCallEnd { .. }
            | StreamEvent::Error { .. } => {}
        }
    }
    (parts, finish, usage)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn answers_survive_the_response_object(parts in vec(part(), 0..6), length in any::<bool>(), usage in usage()) {
        let response = ChatResponse {
            id: "msg_1".into(),
            model: "m".into(),
            created: 1_700_000_000,
            finish: if length { FinishReason::Length } else { FinishReason::Stop },
            parts: parts.clone(),
            usage,
        };
        let body = ResponsesCodec::encode_response(&response);
        let back = ResponsesCodec::decode_response(&body).unwrap();
        prop_assert_eq!(&back.parts, &merged(parts.clone()));
        prop_assert_eq!(back.finish, expected_finish(&parts, length));
        prop_assert_eq!(back.usage, usage);
        prop_assert_eq!(back.model, "m");
    }

    #[test]
    fn answers_survive_the_event_stream(parts in vec(part(), 0..6), length in any::<bool>(), usage in usage(), piece in 1usize..64) {
        let response = ChatResponse {
            id: "msg_1".into(),
            model: "m".into(),
            created: 1_700_000_000,
            finish: if length { FinishReason::Length } else { FinishReason::Stop },
            parts: parts.clone(),
            usage,
        };
        let request = ChatRequest { model: "m".into(), stream: true, ..ChatRequest::default() };
        let mut encoder = ResponsesCodec::stream_encoder(&request, 1_700_000_000);
        let mut out = BytesMut::new();
        for e in events_of(&response) {
            encoder.encode(&e, &mut out);
        }
        encoder.finish(&mut out);
        let mut decoder = ResponsesCodec::stream_decoder(&request);
        let mut events = Vec::new();
        for chunk in out.chunks(piece) {
            decoder.feed(chunk, &mut events).unwrap();
        }
        decoder.finish(&mut events).unwrap();
        let (back, finish, back_usage) = parts_of(&events);
        prop_assert_eq!(back, merged(parts.clone()));
        prop_assert_eq!(finish, Some(expected_finish(&parts, length)));
        prop_assert_eq!(back_usage, Some(usage));
        // Sequence numbers count from 0, one per event.
        let text = String::from_utf8(out.to_vec()).unwrap();
        let seqs: Vec<u64> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap()["sequence_number"].as_u64().unwrap())
            .collect();
        prop_assert_eq!(seqs, (0..u64::try_from(text.matches("data: ").count()).unwrap()).collect::<Vec<_>>());
    }

    #[test]
    fn requests_survive_a_responses_body(turns in vec((vec(part(), 1..4), "[a-zA-Z ]{1,10}"), 1..4)) {
        let mut messages = Vec::new();
        for (assistant, user) in turns {
            messages.push(Message { role: Role::User, parts: vec![Part::Text { text: user }] });
            messages.push(Message { role: Role::Assistant, parts: assistant });
        }
        let ir = ChatRequest { model: "m".into(), messages, ..ChatRequest::default() };
        let body = ResponsesCodec::encode_request(&ir).unwrap();
        let back = ResponsesCodec::decode_request(&body, "", false).unwrap();
        // Text parts of one assistant turn are separate messages; they stay separate parts.
        prop_assert_eq!(back.messages, ir.messages);
    }

    #[test]
    fn decoding_arbitrary_bodies_never_panics(body in "\\PC{0,200}") {
        let _ = ResponsesCodec::decode_request(body.as_bytes(), "", false);
        let _ = ResponsesCodec::decode_response(body.as_bytes());
    }
}
