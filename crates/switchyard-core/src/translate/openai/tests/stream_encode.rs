use super::{decode_stream, encode_stream, request_for};
use switchyard_types::Protocol;
use switchyard_types::ir::{FinishReason, Signature, StreamEvent, Usage};

/// What the Anthropic decoder yields for a thinking turn with text and two calls.
fn anthropic_turn() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Start {
            id: "msg_01ABC".to_owned(),
            model: "claude-sonnet-4-5".to_owned(),
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 2100,
                output_tokens: 1,
                cached_input_tokens: 2000,
                ..Usage::default()
            },
        },
        StreamEvent::ThinkingDelta {
            text: "User wants weather".to_owned(),
        },
        StreamEvent::ThinkingDelta {
            text: " in two places.".to_owned(),
        },
        StreamEvent::ThinkingSignature {
            signature: Signature {
                value: "EqQB".to_owned(),
                origin: Protocol::Anthropic,
            },
        },
        StreamEvent::TextDelta {
            text: "Checking both.".to_owned(),
        },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "toolu_01".to_owned(),
            name: "get_weather".to_owned(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"city\":".to_owned(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "\"Paris\"}".to_owned(),
        },
        StreamEvent::ToolCallEnd { index: 0 },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "toolu_02".to_owned(),
            name: "get_weather".to_owned(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "".to_owned(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "{\"city\":\"Oslo\"}".to_owned(),
        },
        StreamEvent::ToolCallEnd { index: 1 },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 2100,
                output_tokens: 180,
                cached_input_tokens: 2000,
                reasoning_tokens: 40,
                ..Usage::default()
            },
        },
    ]
}

#[test]
fn encodes_a_thinking_tool_turn_with_usage() {
    let sse = encode_stream(
        &request_for("claude-sonnet-4-5-alias", true),
        &anthropic_turn(),
    );
    insta::assert_snapshot!("stream_encode_tools_with_usage", sse);
}

#[test]
fn without_include_usage_there_is_no_usage_anywhere() {
    let events = [
        StreamEvent::Start {
            id: "gen-1".to_owned(),
            model: String::new(),
        },
        StreamEvent::TextDelta {
            text: "Hello".to_owned(),
        },
        StreamEvent::TextDelta {
            text: String::new(),
        },
        StreamEvent::Finish {
            reason: FinishReason::Length,
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 3,
                output_tokens: 4,
                ..Usage::default()
            },
        },
    ];
    let sse = encode_stream(&request_for("gemini-2.5-flash", false), &events);
    insta::assert_snapshot!("stream_encode_text_no_usage", sse);
    assert!(!sse.contains("usage"));
}

#[test]
fn an_error_event_writes_the_error_chunk_and_stops() {
    let events = [
        StreamEvent::Start {
            id: "x".to_owned(),
            model: "m".to_owned(),
        },
        StreamEvent::TextDelta {
            text: "par".to_owned(),
        },
        StreamEvent::Error {
            message: "upstream overloaded".to_owned(),
        },
        StreamEvent::TextDelta {
            text: "never".to_owned(),
        },
        StreamEvent::Finish {
            reason: FinishReason::Stop,
        },
    ];
    let sse = encode_stream(&request_for("m", true), &events);
    insta::assert_snapshot!("stream_encode_error", sse);
    assert!(!sse.contains("[DONE]") && !sse.contains("never"));
}

/// Our own decoder reads what our encoder writes: the content events survive (calls
/// end together at the finish, as OpenAI streams have no per-call end).
#[test]
fn encoder_output_decodes_to_the_same_content() {
    let events = anthropic_turn();
    let sse = encode_stream(&request_for("m", true), &events);
    let back = decode_stream(&request_for("m", false), &sse, 5).unwrap();
    let content = |evs: &[StreamEvent]| -> Vec<StreamEvent> {
        evs.iter()
            .filter(|e| {
                !matches!(e, StreamEvent::ThinkingSignature { .. } | StreamEvent::Usage { .. } | StreamEvent::ToolCallEnd { .. })
                    && !matches!(e, StreamEvent::ToolCallDelta { arguments, .. } if arguments.is_empty())
            })
            .cloned()
            .collect()
    };
    assert_eq!(content(&back), content(&events));
    let ends: Vec<_> = back
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallEnd { .. }))
        .collect();
    assert_eq!(
        ends,
        [
            &StreamEvent::ToolCallEnd { index: 0 },
            &StreamEvent::ToolCallEnd { index: 1 }
        ]
    );
    // Only the last usage, in the final chunk.
    let usage: Vec<_> = back
        .iter()
        .filter(|e| matches!(e, StreamEvent::Usage { .. }))
        .collect();
    assert_eq!(usage, [events.last().unwrap()]);
}
