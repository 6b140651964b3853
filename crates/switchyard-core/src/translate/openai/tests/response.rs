use super::{decode_response, encode_response};
use crate::translate::openai::OpenAiCodec;
use crate::translate::{Codec, TranslateError};
use serde_json::json;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatResponse, FinishReason, Part, Signature, Usage};

#[test]
fn decodes_text_with_reasoning_and_cached_usage() {
    let body = json!({
        "id": "chatcmpl-9x", "object": "chat.completion", "created": 1_760_000_123, "model": "deepseek-reasoner",
        "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris.", "reasoning_content": "The capital of France…",
                     "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
                  "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 250, "audio_tokens": 0}}
    });
    insta::assert_json_snapshot!(
        "decode_response_reasoning_usage",
        decode_response(&body).unwrap()
    );
}

#[test]
fn decodes_parallel_tool_calls() {
    let body = json!({
        "id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "call_A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_B", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}
        ]}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 40, "total_tokens": 120, "prompt_tokens_details": null}
    });
    insta::assert_json_snapshot!(
        "decode_response_parallel_tools",
        decode_response(&body).unwrap()
    );
}

fn finish_of(reason: &serde_json::Value, message: &serde_json::Value) -> FinishReason {
    let body = json!({"id": "x", "model": "m", "choices": [{"index": 0, "message": message, "finish_reason": reason}]});
    decode_response(&body).unwrap().finish
}

#[test]
fn finish_reasons_follow_the_table() {
    let text = json!({"role": "assistant", "content": "hi"});
    assert_eq!(finish_of(&json!("stop"), &text), FinishReason::Stop);
    assert_eq!(finish_of(&json!("length"), &text), FinishReason::Length);
    assert_eq!(
        finish_of(&json!("tool_calls"), &text),
        FinishReason::ToolCalls
    );
    assert_eq!(
        finish_of(&json!("function_call"), &text),
        FinishReason::ToolCalls
    );
    assert_eq!(
        finish_of(&json!("content_filter"), &text),
        FinishReason::ContentFilter("content_filter".to_owned())
    );
    assert_eq!(
        finish_of(&json!("insufficient_system_resource"), &text),
        FinishReason::Other("insufficient_system_resource".to_owned())
    );
    assert_eq!(finish_of(&json!(null), &text), FinishReason::Stop);
    // Inferred: calls under `stop` (some compatible servers), and a refusal.
    let call = json!({"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]});
    assert_eq!(finish_of(&json!("stop"), &call), FinishReason::ToolCalls);
    let refusal =
        json!({"role": "assistant", "content": null, "refusal": "I can't help with that."});
    assert_eq!(finish_of(&json!("stop"), &refusal), FinishReason::Refusal);
}

#[test]
fn decodes_lenient_variants() {
    // OpenRouter's `reasoning`, a missing call id, the legacy function_call, text parts.
    let body = json!({
        "id": "gen-1", "model": "x/y",
        "choices": [{"message": {"role": "assistant", "reasoning": "think", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                     "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}],
                     "function_call": {"name": "g", "arguments": "{\"x\":1}"}},
                     "finish_reason": "tool_calls"}]
    });
    let r = decode_response(&body).unwrap();
    assert_eq!(
        r.parts[0],
        Part::Thinking {
            text: "think".to_owned(),
            signature: None
        }
    );
    assert_eq!(
        r.parts[1],
        Part::Text {
            text: "ab".to_owned()
        }
    );
    let Part::ToolCall { id, name, .. } = &r.parts[2] else {
        panic!("{r:?}")
    };
    assert_eq!(
        (id.as_str(), name.as_str()),
        (
            crate::translate::ids::synthesize("gen-1", 0, "f").as_str(),
            "f"
        )
    );
    let Part::ToolCall {
        id: id2,
        name: name2,
        ..
    } = &r.parts[3]
    else {
        panic!("{r:?}")
    };
    assert_eq!(name2, "g");
    assert_ne!(id, id2);
    assert_eq!(r.usage, Usage::default());
}

#[test]
fn unreadable_responses_are_upstream_malformed() {
    for body in [
        json!({"id": "x", "choices": []}),
        json!({"choices": "no"}),
        json!({"error": {"message": "boom"}}),
        json!([1]),
    ] {
        let e = decode_response(&body).unwrap_err();
        assert!(
            matches!(e, TranslateError::UpstreamMalformed(_)),
            "{body} → {e:?}"
        );
    }
    let e = OpenAiCodec::decode_response(b"<html>502</html>");
    assert!(matches!(e, Err(TranslateError::UpstreamMalformed(_))));
}

fn response(parts: Vec<Part>, finish: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "msg_01XYZ".to_owned(),
        model: "claude-sonnet-4-5".to_owned(),
        created: 1_760_000_000,
        parts,
        finish,
        usage: Usage {
            input_tokens: 2100,
            output_tokens: 420,
            cached_input_tokens: 2000,
            cache_creation_input_tokens: 50,
            reasoning_tokens: 100,
        },
    }
}

#[test]
fn encodes_a_response_with_thinking_text_and_tool_calls() {
    let r = response(
        vec![
            Part::Thinking {
                text: "User wants weather.".to_owned(),
                signature: Some(Signature {
                    value: "EqQBCkYIBxgCKkA=".to_owned(),
                    origin: Protocol::Anthropic,
                }),
            },
            Part::RedactedThinking {
                data: "opaque".to_owned(),
            },
            Part::Text {
                text: "Let me ".to_owned(),
            },
            Part::Text {
                text: "check.".to_owned(),
            },
            Part::ToolCall {
                id: "toolu_01".to_owned(),
                name: "get_weather".to_owned(),
                arguments: "{\"city\":\"Paris\"}".to_owned(),
            },
            Part::ToolCall {
                id: "toolu_02".to_owned(),
                name: "get_time".to_owned(),
                arguments: "{}".to_owned(),
            },
        ],
        FinishReason::ToolCalls,
    );
    insta::assert_json_snapshot!("encode_response_full", encode_response(&r));
}

#[test]
fn encodes_every_finish_reason_and_null_content() {
    let cases = [
        (FinishReason::Stop, "stop"),
        (FinishReason::StopSequence(Some("END".to_owned())), "stop"),
        (FinishReason::Length, "length"),
        (FinishReason::ToolCalls, "tool_calls"),
        (
            FinishReason::ContentFilter("SAFETY".to_owned()),
            "content_filter",
        ),
        (FinishReason::Refusal, "content_filter"),
        (FinishReason::Pause, "stop"),
        (FinishReason::ContextExceeded, "length"),
        (
            FinishReason::Other("MALFORMED_FUNCTION_CALL".to_owned()),
            "stop",
        ),
    ];
    for (reason, want) in cases {
        let body = encode_response(&response(Vec::new(), reason.clone()));
        assert_eq!(body["choices"][0]["finish_reason"], want, "{reason:?}");
        assert_eq!(
            body["choices"][0]["message"]["content"],
            serde_json::Value::Null
        );
        assert!(
            body["choices"][0]["message"]
                .get("reasoning_content")
                .is_none()
        );
        assert!(body["choices"][0]["message"].get("tool_calls").is_none());
    }
}

#[test]
fn response_round_trips_through_openai_shape() {
    let r = response(
        vec![
            Part::Thinking {
                text: "t".to_owned(),
                signature: None,
            },
            Part::Text {
                text: "x".to_owned(),
            },
            Part::ToolCall {
                id: "c1".to_owned(),
                name: "f".to_owned(),
                arguments: "{\"a\":1}".to_owned(),
            },
        ],
        FinishReason::ToolCalls,
    );
    let back = decode_response(&encode_response(&r)).unwrap();
    // Cache writes have no field in a Chat Completions response.
    let mut want = r;
    want.usage.cache_creation_input_tokens = 0;
    assert_eq!(back, want);
}
