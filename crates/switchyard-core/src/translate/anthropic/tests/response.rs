//! decode_response / encode_response goldens and the §4.8 / §4.9 tables.

use serde_json::{Value, json};
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatResponse, FinishReason, Part, Signature, Usage};

use super::super::AnthropicCodec;
use crate::translate::{Codec, TranslateError};

fn decode(body: &Value) -> ChatResponse {
    AnthropicCodec::decode_response(body.to_string().as_bytes()).unwrap()
}

fn encode(r: &ChatResponse) -> Value {
    serde_json::from_slice(&AnthropicCodec::encode_response(r)).unwrap()
}

#[test]
fn decode_message_with_thinking_tools_and_cache_usage() {
    let body = json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "thinking", "thinking": "Two cities, two calls.", "signature": "EqQBCkYIARgCKkA"},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
            {"type": "text", "text": "Checking both.", "citations": null},
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"units": "c", "city": "Paris"}},
            {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}}
        ],
        "stop_reason": "tool_use",
        "stop_sequence": null,
        "usage": {
            "input_tokens": 120,
            "cache_creation_input_tokens": 2000,
            "cache_read_input_tokens": 30000,
            "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 310,
            "output_tokens_details": {"thinking_tokens": 180},
            "service_tier": "standard"
        }
    });
    let r = decode(&body);
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: 32_120,
            output_tokens: 310,
            cached_input_tokens: 30_000,
            cache_creation_input_tokens: 2000,
            reasoning_tokens: 180
        }
    );
    insta::assert_json_snapshot!(r);
}

#[test]
fn decode_stop_reasons_follow_the_table() {
    let with = |reason: Value, seq: Value| {
        decode(
            &json!({"id": "msg_1", "model": "m", "content": [], "stop_reason": reason,
            "stop_sequence": seq, "usage": {"input_tokens": 1, "output_tokens": 1}}),
        )
        .finish
    };
    assert_eq!(with(json!("end_turn"), Value::Null), FinishReason::Stop);
    assert_eq!(
        with(json!("stop_sequence"), json!("END")),
        FinishReason::StopSequence(Some("END".into()))
    );
    assert_eq!(with(json!("max_tokens"), Value::Null), FinishReason::Length);
    assert_eq!(
        with(json!("tool_use"), Value::Null),
        FinishReason::ToolCalls
    );
    assert_eq!(with(json!("refusal"), Value::Null), FinishReason::Refusal);
    assert_eq!(with(json!("pause_turn"), Value::Null), FinishReason::Pause);
    assert_eq!(
        with(json!("model_context_window_exceeded"), Value::Null),
        FinishReason::ContextExceeded
    );
    assert_eq!(
        with(json!("brand_new"), Value::Null),
        FinishReason::Other("brand_new".into())
    );
    assert_eq!(with(Value::Null, Value::Null), FinishReason::Stop);
}

#[test]
fn decode_usage_without_cache_fields_or_details() {
    let r = decode(
        &json!({"id": "msg_1", "model": "m", "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 12, "output_tokens": 3,
        "cache_creation_input_tokens": null, "cache_read_input_tokens": null}}),
    );
    assert_eq!(
        r.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 3,
            ..Usage::default()
        }
    );
}

#[test]
fn decode_rejects_unreadable_bodies() {
    for body in [
        "",
        "not json",
        "{\"content\": 3}",
        "{\"content\": [{\"type\": \"text\"}]}",
    ] {
        let e = AnthropicCodec::decode_response(body.as_bytes()).unwrap_err();
        assert!(
            matches!(e, TranslateError::UpstreamMalformed(_)),
            "{body}: {e:?}"
        );
    }
}

fn response(parts: Vec<Part>, finish: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "chatcmpl-9x".into(),
        model: "gpt-5".into(),
        created: 1_700_000_000,
        parts,
        finish,
        usage: Usage {
            input_tokens: 1500,
            output_tokens: 400,
            cached_input_tokens: 1000,
            cache_creation_input_tokens: 100,
            reasoning_tokens: 250,
        },
    }
}

#[test]
fn encode_message_for_an_anthropic_client() {
    let r = response(
        vec![
            Part::Thinking {
                text: "Anthropic thought".into(),
                signature: Some(Signature {
                    value: "EqQBsig".into(),
                    origin: Protocol::Anthropic,
                }),
            },
            Part::Thinking {
                text: "Gemini thought".into(),
                signature: Some(Signature {
                    value: "CiQB".into(),
                    origin: Protocol::Gemini,
                }),
            },
            Part::Thinking {
                text: "reasoning_content".into(),
                signature: None,
            },
            Part::RedactedThinking {
                data: "EmwK".into(),
            },
            Part::Text {
                text: String::new(),
            },
            Part::Text {
                text: "Checking.".into(),
            },
            Part::ToolCall {
                id: "functions.get_weather:0".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Paris\"}".into(),
            },
            Part::ToolCall {
                id: "call_2".into(),
                name: "noop".into(),
                arguments: String::new(),
            },
        ],
        FinishReason::ToolCalls,
    );
    insta::assert_json_snapshot!(encode(&r));
}

#[test]
fn encode_finish_reasons_follow_the_table() {
    let with = |finish: FinishReason, calls: bool| {
        let parts = if calls {
            vec![Part::ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }]
        } else {
            vec![Part::Text { text: "x".into() }]
        };
        let v = encode(&response(parts, finish));
        (
            v["stop_reason"].as_str().unwrap().to_owned(),
            v["stop_sequence"].clone(),
        )
    };
    let reason = |finish, calls| with(finish, calls).0;
    assert_eq!(reason(FinishReason::Stop, false), "end_turn");
    assert_eq!(
        with(FinishReason::StopSequence(Some("END".into())), false),
        ("stop_sequence".to_owned(), json!("END"))
    );
    assert_eq!(
        with(FinishReason::StopSequence(None), false),
        ("stop_sequence".to_owned(), Value::Null)
    );
    assert_eq!(reason(FinishReason::Length, false), "max_tokens");
    assert_eq!(reason(FinishReason::ToolCalls, true), "tool_use");
    assert_eq!(
        reason(FinishReason::ContentFilter("SAFETY".into()), false),
        "refusal"
    );
    assert_eq!(reason(FinishReason::Refusal, false), "refusal");
    assert_eq!(reason(FinishReason::Pause, false), "pause_turn");
    assert_eq!(
        reason(FinishReason::ContextExceeded, false),
        "model_context_window_exceeded"
    );
    assert_eq!(
        reason(FinishReason::Other("OTHER".into()), false),
        "end_turn"
    );
    // Gemini reports STOP with function calls: the client must still see tool_use.
    assert_eq!(reason(FinishReason::Stop, true), "tool_use");
    assert_eq!(reason(FinishReason::Length, true), "max_tokens");
}

#[test]
fn encode_keeps_msg_ids_and_a_plain_usage() {
    let mut r = response(vec![Part::Text { text: "hi".into() }], FinishReason::Stop);
    r.id = "msg_01abc".into();
    r.usage = Usage {
        input_tokens: 10,
        output_tokens: 2,
        ..Usage::default()
    };
    let raw = String::from_utf8(AnthropicCodec::encode_response(&r)).unwrap();
    assert!(
        raw.starts_with("{\"id\":\"msg_01abc\",\"type\":\"message\",\"role\":\"assistant\""),
        "{raw}"
    );
    assert!(
        raw.contains("\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]"),
        "{raw}"
    );
    let v = encode(&r);
    assert_eq!(v["id"], "msg_01abc");
    assert_eq!(
        v["usage"],
        json!({"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 2})
    );
}

#[test]
fn a_response_survives_encode_then_decode() {
    let r = response(
        vec![
            Part::Thinking {
                text: "t".into(),
                signature: Some(Signature {
                    value: "sig".into(),
                    origin: Protocol::Anthropic,
                }),
            },
            Part::Text {
                text: "Hello".into(),
            },
            Part::ToolCall {
                id: "toolu_1".into(),
                name: "f".into(),
                arguments: "{\"a\":1}".into(),
            },
        ],
        FinishReason::ToolCalls,
    );
    let back = AnthropicCodec::decode_response(&AnthropicCodec::encode_response(&r)).unwrap();
    assert_eq!(back.parts, r.parts);
    assert_eq!(back.usage, r.usage);
    assert_eq!(back.finish, r.finish);
    assert_eq!(back.id, "msg_chatcmpl-9x");
}
