use super::super::ResponsesCodec;
use crate::translate::{Codec, TranslateError};
use serde_json::json;

fn decode(v: &serde_json::Value) -> Result<switchyard_types::ir::ChatRequest, TranslateError> {
    ResponsesCodec::decode_request(v.to_string().as_bytes(), "", false)
}

#[test]
fn a_codex_style_turn_decodes() {
    let ir = decode(&json!({
        "model": "m",
        "instructions": "Be brief.",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "dev"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "thinking"}], "encrypted_content": "gAAAAforeign"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Running ls."}]},
            {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
            {"type": "function_call", "call_id": "call_2", "name": "exec_command", "arguments": "{\"cmd\":\"pwd\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"},
            {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "/tmp"}]},
            {"role": "user", "content": "thanks"}
        ],
        "tools": [
            {"type": "function", "name": "exec_command", "description": "run", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
            {"type": "namespace", "name": "multi_agent_v1", "tools": []}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning": {"effort": "high", "summary": "auto"},
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true}, "verbosity": "low"},
        "store": false,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "k",
        "client_metadata": {"a": "b"},
        "stream": true
    }))
    .unwrap();
    insta::assert_json_snapshot!(ir);
}

#[test]
fn state_and_built_in_tools_are_refused_by_name() {
    let cases = [
        (json!({"model": "m", "input": "hi", "store": true}), "store"),
        (
            json!({"model": "m", "input": "hi", "previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [{"type": "web_search"}]}),
            "tools[0]",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [{"type": "file_search", "vector_store_ids": []}]}),
            "tools[0]",
        ),
        (
            json!({"model": "m", "input": "hi", "tools": [{"type": "function", "name": "f"}, {"type": "computer_use_preview"}]}),
            "tools[1]",
        ),
        (
            json!({"model": "m", "input": [{"type": "item_reference", "id": "x"}]}),
            "input[0]",
        ),
    ];
    for (body, field) in cases {
        match decode(&body) {
            Err(TranslateError::Unsupported { field: f, message }) => {
                assert_eq!(f, field, "{body}");
                assert!(!message.is_empty());
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    let e = decode(&json!({"model": "m", "input": "hi", "tools": [{"type": "web_search"}]}));
    assert!(format!("{e:?}").contains("web_search"));
    // Omitting `store` is not asking to store.
    assert!(decode(&json!({"model": "m", "input": "hi"})).is_ok());
}

#[test]
fn bad_input_names_the_field() {
    let e = decode(&json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}));
    assert!(
        matches!(&e, Err(TranslateError::InvalidField { field, .. }) if field == "input[0].call_id"),
        "{e:?}"
    );
    let e = decode(
        &json!({"model": "m", "input": [{"type": "reasoning", "summary": [], "encrypted_content": "sy1.%%%"}]}),
    );
    assert!(
        matches!(&e, Err(TranslateError::InvalidField { field, .. }) if field == "input[0].encrypted_content"),
        "{e:?}"
    );
    let e = decode(&json!({"model": "m"}));
    assert!(matches!(&e, Err(TranslateError::InvalidField { field, .. }) if field == "input"));
}

#[test]
fn a_whole_answer_is_a_response_object() {
    use switchyard_types::Protocol;
    use switchyard_types::ir::{ChatResponse, FinishReason, Part, Signature, Usage};
    let answer = ChatResponse {
        id: "msg_01".into(),
        model: "claude-x".into(),
        created: 1_700_000_000,
        parts: vec![
            Part::Thinking {
                text: "Plan.".into(),
                signature: Some(Signature {
                    value: "sig".into(),
                    origin: Protocol::Anthropic,
                }),
            },
            Part::Text {
                text: "Calling ".into(),
            },
            Part::Text {
                text: "now.".into(),
            },
            Part::ToolCall {
                id: "toolu_1".into(),
                name: "weather".into(),
                arguments: "{\"city\":\"Paris\"}".into(),
            },
        ],
        finish: FinishReason::ToolCalls,
        usage: Usage {
            input_tokens: 120,
            output_tokens: 40,
            cached_input_tokens: 100,
            cache_creation_input_tokens: 10,
            reasoning_tokens: 8,
        },
    };
    let body: serde_json::Value =
        serde_json::from_slice(&ResponsesCodec::encode_response(&answer)).unwrap();
    insta::assert_json_snapshot!(body);
    let capped = ChatResponse {
        finish: FinishReason::Length,
        ..answer
    };
    let body: serde_json::Value =
        serde_json::from_slice(&ResponsesCodec::encode_response(&capped)).unwrap();
    assert_eq!(body["status"], "incomplete");
    assert_eq!(body["incomplete_details"]["reason"], "max_output_tokens");
}
