//! decode_request / encode_request goldens and rejections.

use serde_json::{Value, json};
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, Effort, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Sampling,
    Signature, Tool, ToolChoice, ToolResultContent,
};

use super::super::AnthropicCodec;
use crate::translate::{Codec, TranslateError};

fn decode(body: &Value) -> Result<ChatRequest, TranslateError> {
    AnthropicCodec::decode_request(body.to_string().as_bytes(), "ignored-model", false)
}

fn encode(ir: &ChatRequest) -> Value {
    let bytes = AnthropicCodec::encode_request(ir).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn text(t: &str) -> Part {
    Part::Text { text: t.to_owned() }
}

fn msg(role: Role, parts: Vec<Part>) -> Message {
    Message { role, parts }
}

fn weather_tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Current weather".into()),
        parameters: json!({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}),
    }
}

// ---------------------------------------------------------------- decode

#[test]
fn decode_full_conversation() {
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "system": [
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Answer in French."}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture, and what's the weather in Paris and Lyon?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Two cities: call twice.", "signature": "EqQBCkYIARgCKkA"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                {"type": "text", "text": "A cat. Checking the weather."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris", "units": "c"}},
                {"type": "tool_use", "id": "toolu_01B", "name": "get_weather", "input": {}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18°C, cloudy"},
                {"type": "tool_result", "tool_use_id": "toolu_01B", "is_error": true, "content": [
                    {"type": "text", "text": "city is required"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}}
                ]},
                {"type": "text", "text": "Thanks. And a summary of this note?"},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Meeting at 10."}}
            ]},
            {"role": "assistant", "content": "Paris: 18°C."}
        ],
        "tools": [
            {"name": "get_weather", "description": "Current weather",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
             "cache_control": {"type": "ephemeral"}},
            {"type": "custom", "name": "noop", "input_schema": {"type": "object"}}
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "stop_sequences": ["\n\nHuman:", "END"],
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 40,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"answer": {"type": "string"}}}}},
        "metadata": {"user_id": "user-42"},
        "service_tier": "auto",
        "stream": true
    });
    insta::assert_json_snapshot!(decode(&body).unwrap());
}

#[test]
fn decode_minimal_string_forms() {
    let body = json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}]
    });
    let ir = decode(&body).unwrap();
    assert_eq!(ir.model, "claude-haiku-4-5");
    assert_eq!(ir.system, vec!["Be brief.".to_owned()]);
    assert_eq!(ir.messages, vec![msg(Role::User, vec![text("Hi")])]);
    assert_eq!(ir.max_output_tokens, Some(100));
    assert!(!ir.stream);
    assert!(ir.include_usage);
    assert_eq!(ir.reasoning, None);
    assert_eq!(ir.tool_choice, None);
    assert_eq!(ir.sampling, Sampling::default());
}

#[test]
fn decode_thinking_modes_and_tool_choices() {
    let base = |extra: Value| {
        let mut body = json!({"model": "m", "max_tokens": 64000, "messages": [{"role": "user", "content": "x"}]});
        if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
            b.extend(e);
        }
        decode(&body).unwrap()
    };
    let r = base(json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}));
    assert_eq!(
        r.reasoning,
        Some(Reasoning {
            effort: Some(Effort::High),
            budget_tokens: None,
            include_thoughts: true
        })
    );
    let r = base(
        json!({"thinking": {"type": "enabled", "budget_tokens": 10000, "display": "omitted"}}),
    );
    assert_eq!(
        r.reasoning,
        Some(Reasoning {
            effort: None,
            budget_tokens: Some(10000),
            include_thoughts: false
        })
    );
    let r = base(json!({"thinking": {"type": "disabled"}, "output_config": {"effort": "low"}}));
    assert_eq!(r.reasoning, None);
    let r = base(json!({"output_config": {"effort": "max"}}));
    assert_eq!(
        r.reasoning,
        Some(Reasoning {
            effort: Some(Effort::Max),
            budget_tokens: None,
            include_thoughts: false
        })
    );

    let r = base(json!({"tool_choice": {"type": "auto"}}));
    assert_eq!(
        (r.tool_choice, r.parallel_tool_calls),
        (Some(ToolChoice::Auto), None)
    );
    let r = base(
        json!({"tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": false}}),
    );
    assert_eq!(
        (r.tool_choice, r.parallel_tool_calls),
        (Some(ToolChoice::Named("f".into())), None)
    );
    let r = base(json!({"tool_choice": {"type": "none"}}));
    assert_eq!(r.tool_choice, Some(ToolChoice::None));
    let r = base(json!({"tool_choice": {"type": "auto", "disable_parallel_tool_use": true}}));
    assert_eq!(r.parallel_tool_calls, Some(false));
}

#[test]
fn decode_thinking_with_empty_signature_is_unsigned() {
    let body = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "from gemini", "signature": ""}]}
    ]});
    let ir = decode(&body).unwrap();
    assert_eq!(
        ir.messages[0].parts,
        vec![Part::Thinking {
            text: "from gemini".into(),
            signature: None
        }]
    );
}

fn err(body: &Value) -> TranslateError {
    decode(body).unwrap_err()
}

fn unsupported(field: &str) -> impl Fn(&TranslateError) -> bool + '_ {
    move |e| matches!(e, TranslateError::Unsupported { field: f, .. } if f == field)
}

fn invalid(field: &str) -> impl Fn(&TranslateError) -> bool + '_ {
    move |e| matches!(e, TranslateError::InvalidField { field: f, .. } if f == field)
}

#[test]
fn decode_rejects_what_cannot_be_translated_naming_the_path() {
    let user = |content: Value| {
        json!({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "first"}, {"role": "user", "content": content}
        ]})
    };
    let e = err(&user(
        json!([{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}}]),
    ));
    assert!(unsupported("messages[1].content[0]")(&e), "{e:?}");
    let e = err(&user(
        json!([{"type": "text", "text": "a"}, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}]),
    ));
    assert!(unsupported("messages[1].content[1]")(&e), "{e:?}");
    assert!(e.to_string().contains("server_tool_use"), "{e}");
    let e = err(&user(
        json!([{"type": "image", "source": {"type": "file", "file_id": "file_1"}}]),
    ));
    assert!(unsupported("messages[1].content[0].source")(&e), "{e:?}");
    let e = err(&user(
        json!([{"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "search_result", "source": "s", "title": "t", "content": []}
        ]}]),
    ));
    assert!(
        unsupported("messages[1].content[0].content[0]")(&e),
        "{e:?}"
    );

    let e = err(&json!({"model": "m", "max_tokens": 10, "messages": [],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "web_search"}]}));
    assert!(unsupported("tools[1]")(&e), "{e:?}");
}

#[test]
fn decode_reports_malformed_fields() {
    let e = err(&json!({"model": "m", "messages": []}));
    assert!(invalid("max_tokens")(&e), "{e:?}");
    let e = err(
        &json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "text"}]}]}),
    );
    assert!(invalid("messages[0].content[0].text")(&e), "{e:?}");
    let e = err(
        &json!({"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": "x"}]}),
    );
    assert!(invalid("messages[0].role")(&e), "{e:?}");
    let e =
        err(&json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": 5}]}));
    assert!(invalid("messages[0].content")(&e), "{e:?}");
    assert!(e.to_string().contains("string or an array"), "{e}");
    let e = err(&json!({"model": "m", "max_tokens": -1, "messages": []}));
    assert!(invalid("max_tokens")(&e), "{e:?}");
    let e = err(
        &json!({"model": "m", "max_tokens": 1, "messages": [], "output_config": {"effort": "extreme"}}),
    );
    assert!(invalid("output_config.effort")(&e), "{e:?}");
    let e = err(&json!({"model": "m", "max_tokens": 1, "messages": [], "tools": [{"name": "f"}]}));
    assert!(invalid("tools[0].input_schema")(&e), "{e:?}");

    let raw = |b: &str| AnthropicCodec::decode_request(b.as_bytes(), "", false).unwrap_err();
    assert!(matches!(
        raw("{\"model\": "),
        TranslateError::InvalidJson(_)
    ));
    assert!(matches!(raw("  "), TranslateError::InvalidJson(_)));
    assert!(invalid("(body)")(&raw("[1]")));
    assert!(matches!(
        raw("{\"model\":\"m\",\"max_tokens\":1,\"messages\":[]} x"),
        TranslateError::InvalidJson(_)
    ));
}

// ---------------------------------------------------------------- encode

/// A conversation as an OpenAI client would have sent it, through the IR.
fn openai_style_conversation() -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet-4-5".into(),
        system: vec![
            "You are terse.".into(),
            "  ".into(),
            "Answer in French.".into(),
        ],
        messages: vec![
            msg(
                Role::User,
                vec![
                    text("What's the weather in Paris and Lyon? And this image?"),
                    Part::Image {
                        source: ImageSource::Url {
                            url: "data:image/png;base64,iVBORw0KGgo=".into(),
                        },
                    },
                    Part::Image {
                        source: ImageSource::Url {
                            url: "https://example.com/cat.jpg".into(),
                        },
                    },
                ],
            ),
            msg(
                Role::Assistant,
                vec![
                    Part::Thinking {
                        text: "foreign".into(),
                        signature: Some(Signature {
                            value: "gem-sig".into(),
                            origin: Protocol::Gemini,
                        }),
                    },
                    Part::Thinking {
                        text: "unsigned".into(),
                        signature: None,
                    },
                    text(""),
                    Part::ToolCall {
                        id: "functions.get_weather:0".into(),
                        name: "get_weather".into(),
                        arguments: "{\"city\":\"Paris\"}".into(),
                    },
                    Part::ToolCall {
                        id: "call_2".into(),
                        name: "get_weather".into(),
                        arguments: "{\"city\": \"Ly".into(),
                    },
                    Part::ToolCall {
                        id: "call_3".into(),
                        name: "noop".into(),
                        arguments: String::new(),
                    },
                ],
            ),
            msg(
                Role::User,
                vec![Part::ToolResult {
                    id: "functions.get_weather:0".into(),
                    name: Some("get_weather".into()),
                    content: vec![ToolResultContent::Text {
                        text: "18°C".into(),
                    }],
                    is_error: false,
                }],
            ),
            msg(
                Role::User,
                vec![
                    text("and also"),
                    Part::ToolResult {
                        id: "call_2".into(),
                        name: None,
                        content: vec![
                            ToolResultContent::Text {
                                text: "bad args".into(),
                            },
                            ToolResultContent::Image {
                                source: ImageSource::Base64 {
                                    media_type: "image/png".into(),
                                    data: "AAAA".into(),
                                },
                            },
                        ],
                        is_error: true,
                    },
                    Part::ToolResult {
                        id: "call_3".into(),
                        name: None,
                        content: vec![],
                        is_error: false,
                    },
                ],
            ),
            msg(Role::Assistant, vec![text("   ")]),
            msg(Role::Assistant, vec![text("Paris is ")]),
        ],
        tools: vec![
            weather_tool(),
            Tool {
                name: "noop".into(),
                description: None,
                parameters: json!({"properties": {}}),
            },
        ],
        tool_choice: None,
        parallel_tool_calls: Some(false),
        sampling: Sampling {
            temperature: Some(1.5),
            top_p: Some(0.5),
            top_k: None,
            seed: Some(7),
            presence_penalty: Some(0.1),
            frequency_penalty: Some(0.2),
        },
        stop: vec!["END".into(), " ".into()],
        max_output_tokens: None,
        response_format: Some(ResponseFormat::JsonSchema {
            name: "weather".into(),
            schema: json!({"type": "object"}),
            strict: true,
        }),
        reasoning: None,
        stream: true,
        include_usage: false,
        user: Some("user-42".into()),
    }
}

#[test]
fn encode_openai_style_conversation() {
    insta::assert_json_snapshot!(encode(&openai_style_conversation()));
}

fn thinking_request() -> ChatRequest {
    ChatRequest {
        model: "claude-opus-4-1".into(),
        messages: vec![
            msg(Role::User, vec![text("Weather in Paris?")]),
            msg(
                Role::Assistant,
                vec![
                    Part::Thinking {
                        text: "Need the tool.".into(),
                        signature: Some(Signature {
                            value: "EqQBsig".into(),
                            origin: Protocol::Anthropic,
                        }),
                    },
                    Part::ToolCall {
                        id: "toolu_01".into(),
                        name: "get_weather".into(),
                        arguments: "{\"city\":\"Paris\"}".into(),
                    },
                ],
            ),
            msg(
                Role::User,
                vec![Part::ToolResult {
                    id: "toolu_01".into(),
                    name: None,
                    content: vec![ToolResultContent::Text {
                        text: "18°C".into(),
                    }],
                    is_error: false,
                }],
            ),
        ],
        tools: vec![weather_tool()],
        tool_choice: Some(ToolChoice::Named("get_weather".into())),
        sampling: Sampling {
            temperature: Some(0.3),
            top_p: Some(0.97),
            top_k: Some(5),
            ..Sampling::default()
        },
        reasoning: Some(Reasoning {
            effort: Some(Effort::High),
            budget_tokens: None,
            include_thoughts: true,
        }),
        response_format: Some(ResponseFormat::JsonObject),
        ..ChatRequest::default()
    }
}

#[test]
fn encode_thinking_request() {
    insta::assert_json_snapshot!(encode(&thinking_request()));
}

#[test]
fn thinking_budget_rules() {
    let with = |reasoning: Reasoning, cap: Option<u32>| {
        let mut ir = thinking_request();
        ir.reasoning = Some(reasoning);
        ir.max_output_tokens = cap;
        let v = encode(&ir);
        (
            v["thinking"]["budget_tokens"].as_u64(),
            v["max_tokens"].as_u64().unwrap(),
        )
    };
    let effort = |e| Reasoning {
        effort: Some(e),
        budget_tokens: None,
        include_thoughts: true,
    };
    let budget = |b| Reasoning {
        effort: None,
        budget_tokens: Some(b),
        include_thoughts: false,
    };
    assert_eq!(with(effort(Effort::High), None), (Some(24576), 32000));
    assert_eq!(
        with(effort(Effort::Minimal), None),
        (Some(1024), 32000),
        "raised to the minimum"
    );
    assert_eq!(
        with(effort(Effort::Max), None),
        (Some(24000), 32000),
        "lowered to 3/4 of max_tokens"
    );
    assert_eq!(
        with(effort(Effort::Max), Some(200_000)),
        (Some(128_000), 200_000)
    );
    assert_eq!(with(budget(5000), Some(4000)), (Some(3000), 4000));
    assert_eq!(
        with(budget(5000), Some(1200)),
        (None, 1200),
        "too small a cap: thinking off"
    );
    assert_eq!(with(effort(Effort::None), None), (None, 32000));
    assert_eq!(with(budget(0), None), (None, 32000));
    assert_eq!(
        with(
            Reasoning {
                effort: Some(Effort::High),
                budget_tokens: Some(0),
                include_thoughts: true
            },
            None
        ),
        (None, 32000),
        "an explicit zero budget wins over effort"
    );
    assert_eq!(
        with(budget(-1), None),
        (Some(8192), 32000),
        "dynamic: medium"
    );
    assert_eq!(
        with(
            Reasoning {
                effort: Some(Effort::Low),
                budget_tokens: Some(-1),
                include_thoughts: true
            },
            None
        ),
        (Some(1024), 32000)
    );
}

#[test]
fn thinking_off_keeps_sampling_and_forced_choice() {
    let mut ir = thinking_request();
    ir.reasoning = None;
    let v = encode(&ir);
    assert_eq!(v.get("thinking"), None);
    assert_eq!(v["temperature"], json!(0.3));
    assert_eq!(v["top_k"], json!(5));
    assert_eq!(
        v["tool_choice"],
        json!({"type": "tool", "name": "get_weather"})
    );
    ir.tool_choice = Some(ToolChoice::Required);
    assert_eq!(encode(&ir)["tool_choice"], json!({"type": "any"}));
    ir.tool_choice = Some(ToolChoice::None);
    ir.parallel_tool_calls = Some(false);
    assert_eq!(encode(&ir)["tool_choice"], json!({"type": "none"}));
    ir.tools.clear();
    assert_eq!(
        encode(&ir).get("tool_choice"),
        None,
        "no tool_choice without tools"
    );
}

#[test]
fn thinking_is_turned_off_when_history_has_unsigned_tool_turns() {
    let mut ir = thinking_request();
    // The assistant's tool turn came from another provider: its thinking is foreign.
    if let Some(Part::Thinking {
        signature: Some(sig),
        ..
    }) = ir.messages[1].parts.first_mut()
    {
        sig.origin = Protocol::OpenAi;
    }
    let v = encode(&ir);
    assert_eq!(v.get("thinking"), None);
    assert_eq!(
        v["messages"][1]["content"][0]["type"], "tool_use",
        "foreign thinking dropped"
    );
    assert_eq!(
        v["temperature"],
        json!(0.3),
        "sampling kept when thinking is off"
    );
    assert_eq!(v["tool_choice"]["type"], "tool");
}

#[test]
fn non_base64_data_urls_are_rejected() {
    let ir = ChatRequest {
        messages: vec![msg(
            Role::User,
            vec![
                text("x"),
                Part::Image {
                    source: ImageSource::Url {
                        url: "data:image/svg+xml,<svg/>".into(),
                    },
                },
            ],
        )],
        ..ChatRequest::default()
    };
    let e = AnthropicCodec::encode_request(&ir).unwrap_err();
    assert!(unsupported("messages[0].content[1]")(&e), "{e:?}");
}

#[test]
fn arguments_become_objects_without_failing() {
    use super::super::request::parse_arguments;
    assert_eq!(parse_arguments(""), json!({}));
    assert_eq!(parse_arguments(" {\"a\": [1, 2]} "), json!({"a": [1, 2]}));
    assert_eq!(parse_arguments("{\"a\": "), json!({"_raw": "{\"a\": "}));
    assert_eq!(parse_arguments("[1]"), json!({"_raw": "[1]"}));
    assert_eq!(parse_arguments("\"s\""), json!({"_raw": "\"s\""}));
}
