use super::super::ResponsesCodec;
use crate::translate::{Codec, StreamEncode};
use bytes::BytesMut;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, FinishReason, Signature, StreamEvent, Usage};

fn encode(events: &[StreamEvent]) -> String {
    let request = ChatRequest {
        model: "claude-x".into(),
        stream: true,
        ..ChatRequest::default()
    };
    let mut encoder = ResponsesCodec::stream_encoder(&request, 1_700_000_000);
    let mut out = BytesMut::new();
    for e in events {
        encoder.encode(e, &mut out);
    }
    encoder.finish(&mut out);
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn thinking_text_and_parallel_calls_stream_as_the_official_events() {
    let text = encode(&[
        StreamEvent::Start {
            id: "msg_01".into(),
            model: "claude-x".into(),
        },
        StreamEvent::ThinkingDelta {
            text: "Let me ".into(),
        },
        StreamEvent::ThinkingDelta {
            text: "think.".into(),
        },
        StreamEvent::ThinkingSignature {
            signature: Signature {
                value: "sig".into(),
                origin: Protocol::Anthropic,
            },
        },
        StreamEvent::TextDelta {
            text: "Calling.".into(),
        },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "toolu_a".into(),
            name: "weather".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "toolu_b".into(),
            name: "time".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"city\":".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "{}".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "\"Paris\"}".into(),
        },
        StreamEvent::ToolCallEnd { index: 0 },
        StreamEvent::ToolCallEnd { index: 1 },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
        StreamEvent::Usage {
            usage: Usage {
                input_tokens: 100,
                output_tokens: 30,
                cached_input_tokens: 80,
                cache_creation_input_tokens: 0,
                reasoning_tokens: 10,
            },
        },
    ]);
    insta::assert_snapshot!(text);
}

#[test]
fn an_upstream_failure_ends_in_response_failed() {
    let text = encode(&[
        StreamEvent::Start {
            id: "x".into(),
            model: "m".into(),
        },
        StreamEvent::TextDelta { text: "Hal".into() },
        StreamEvent::Error {
            message: "the upstream connection failed mid-stream".into(),
        },
    ]);
    let last = text.trim_end().lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last.trim_start_matches("data: ")).unwrap();
    assert_eq!(v["type"], "response.failed");
    assert_eq!(v["response"]["status"], "failed");
    assert_eq!(v["response"]["error"]["code"], "server_error");
    assert_eq!(v["response"]["output"][0]["content"][0]["text"], "Hal");
    assert!(!text.contains("response.completed"));
}

/// The `output` of the `response.completed` event at the end of `text`.
fn completed_output(text: &str) -> serde_json::Value {
    let last = text.trim_end().lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last.trim_start_matches("data: ")).unwrap();
    assert_eq!(v["type"], "response.completed");
    v["response"]["output"].clone()
}

#[test]
fn a_gemini_signature_goes_back_on_the_function_call() {
    // What the Gemini decoder gives for a thought part, then a signed function call.
    let text = encode(&[
        StreamEvent::Start {
            id: "g".into(),
            model: "gemini-x".into(),
        },
        StreamEvent::ThinkingDelta {
            text: "Plan.".into(),
        },
        StreamEvent::ThinkingSignature {
            signature: Signature {
                value: "Z2VtaW5p".into(),
                origin: Protocol::Gemini,
            },
        },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_1".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{}".into(),
        },
        StreamEvent::ToolCallEnd { index: 0 },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
    ]);
    let output = completed_output(&text);
    let items = output.as_array().unwrap();
    assert_eq!(items.len(), 3, "{output}");
    assert!(items[0].get("encrypted_content").is_none());
    assert!(
        items[1]["encrypted_content"]
            .as_str()
            .unwrap()
            .starts_with("sy1.")
    );
    // The next turn, sent to Gemini: the signature sits on the function call.
    let mut input = vec![serde_json::json!({"role": "user", "content": "go"})];
    input.extend(items.iter().cloned());
    input.push(
        serde_json::json!({"type": "function_call_output", "call_id": "call_1", "output": "ok"}),
    );
    let body = serde_json::json!({"model": "gemini-x", "input": input});
    let ir = ResponsesCodec::decode_request(body.to_string().as_bytes(), "", false).unwrap();
    let gemini = crate::translate::dispatch::encode_request(Protocol::Gemini, &ir).unwrap();
    let gemini: serde_json::Value = serde_json::from_slice(&gemini).unwrap();
    let model_parts = &gemini["contents"][1]["parts"];
    assert_eq!(model_parts[0]["functionCall"]["name"], "f", "{gemini}");
    assert_eq!(model_parts[0]["thoughtSignature"], "Z2VtaW5p", "{gemini}");
}

#[test]
fn anthropic_thinking_goes_back_first_and_byte_identical() {
    let text = encode(&[
        StreamEvent::ThinkingDelta {
            text: "Careful \"now\".".into(),
        },
        StreamEvent::ThinkingSignature {
            signature: Signature {
                value: "EqMBsig==".into(),
                origin: Protocol::Anthropic,
            },
        },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "toolu_1".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallEnd { index: 0 },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
    ]);
    let mut input = vec![serde_json::json!({"role": "user", "content": "go"})];
    input.extend(completed_output(&text).as_array().unwrap().iter().cloned());
    input.push(
        serde_json::json!({"type": "function_call_output", "call_id": "toolu_1", "output": "ok"}),
    );
    let body = serde_json::json!({"model": "claude-x", "input": input,
        "reasoning": {"effort": "medium"}, "max_output_tokens": 4096});
    let ir = ResponsesCodec::decode_request(body.to_string().as_bytes(), "", false).unwrap();
    let anthropic = crate::translate::dispatch::encode_request(Protocol::Anthropic, &ir).unwrap();
    let anthropic: serde_json::Value = serde_json::from_slice(&anthropic).unwrap();
    let assistant = &anthropic["messages"][1]["content"];
    assert_eq!(assistant[0]["type"], "thinking", "{anthropic}");
    assert_eq!(assistant[0]["thinking"], "Careful \"now\".");
    assert_eq!(assistant[0]["signature"], "EqMBsig==");
    assert_eq!(assistant[1]["type"], "tool_use");
    assert!(anthropic["thinking"]["budget_tokens"].as_u64().unwrap() >= 1024);
}
