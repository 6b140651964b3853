use super::{decode_request, encode_request};
use crate::translate::openai::OpenAiCodec;
use crate::translate::{Codec, TranslateError};
use serde_json::json;
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, Effort, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Sampling,
    Signature, Tool, ToolChoice, ToolResultContent,
};

/// Everything a coding agent sends: system + developer (the latter mid-conversation),
/// an image turn, a thinking assistant turn with two parallel calls, their results
/// followed by a user message, tools with a named choice, stop string, output cap,
/// JSON schema, reasoning effort and streaming with usage.
#[test]
fn decodes_a_full_agent_conversation() {
    let body = json!({
        "model": "gpt-5.1",
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "name": "ann", "content": [
                {"type": "text", "text": "What is on this picture, and the weather there?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/paris.jpg"}}
            ]},
            {"role": "assistant", "content": null, "reasoning_content": "Two lookups needed.",
             "tool_calls": [
                {"id": "call_A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_B", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\""}}
             ]},
            {"role": "tool", "tool_call_id": "call_A", "content": "18°C, sunny"},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "tool", "tool_call_id": "call_B", "content": [{"type": "text", "text": "14:02"}, {"type": "text", "text": "CET"}]},
            {"role": "user", "content": "Thanks, and summarise."},
            {"role": "assistant", "content": [{"type": "text", "text": "Il fait beau."}], "refusal": null},
            {"role": "user", "content": "Merci"}
        ],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, "strict": true}},
            {"type": "function", "function": {"name": "get_time"}}
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": false,
        "stop": "END",
        "max_completion_tokens": 1024,
        "max_tokens": 99,
        "temperature": 0.5,
        "top_p": 0.9,
        "seed": 42,
        "presence_penalty": 0.1,
        "frequency_penalty": -0.2,
        "response_format": {"type": "json_schema", "json_schema": {"name": "weather", "strict": true,
            "schema": {"type": "object", "properties": {"summary": {"type": "string"}}}}},
        "reasoning_effort": "high",
        "stream": true,
        "stream_options": {"include_usage": true},
        "user": "legacy-user",
        "safety_identifier": "user-123",
        "logprobs": false,
        "metadata": {"k": "v"}
    });
    let ir = decode_request(&body).unwrap();
    insta::assert_json_snapshot!("decode_request_full", ir);
}

#[test]
fn decodes_legacy_functions_and_max_tokens() {
    let body = json!({
        "model": "gpt-3.5-turbo",
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": null, "function_call": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
            {"role": "function", "name": "get_weather", "content": "-3°C"}
        ],
        "functions": [{"name": "get_weather", "parameters": {"type": "object"}}],
        "function_call": {"name": "get_weather"},
        "max_tokens": 256,
        "stop": ["\n\n", "END"],
        "user": "u-1"
    });
    let ir = decode_request(&body).unwrap();
    insta::assert_json_snapshot!("decode_request_legacy_functions", ir);
    // The result finds the synthesized id of the call it answers.
    let Part::ToolCall { id: call_id, .. } = &ir.messages[1].parts[0] else {
        panic!("{:?}", ir.messages[1])
    };
    let Part::ToolResult { id: result_id, .. } = &ir.messages[2].parts[0] else {
        panic!("{:?}", ir.messages[2])
    };
    assert_eq!(call_id, result_id);
}

#[test]
fn decodes_parameter_variants() {
    let base = |extra: serde_json::Value| {
        let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        decode_request(&body).unwrap()
    };
    assert_eq!(
        base(json!({"tool_choice": "none"})).tool_choice,
        Some(ToolChoice::None)
    );
    assert_eq!(
        base(json!({"tool_choice": "auto"})).tool_choice,
        Some(ToolChoice::Auto)
    );
    assert_eq!(
        base(json!({"tool_choice": "required"})).tool_choice,
        Some(ToolChoice::Required)
    );
    assert_eq!(
        base(json!({"function_call": "none"})).tool_choice,
        Some(ToolChoice::None)
    );
    assert_eq!(
        base(json!({"response_format": {"type": "json_object"}})).response_format,
        Some(ResponseFormat::JsonObject)
    );
    assert_eq!(
        base(json!({"response_format": {"type": "text"}})).response_format,
        Some(ResponseFormat::Text)
    );
    assert_eq!(
        base(json!({"stop": ["a", "b"]})).stop,
        vec!["a".to_owned(), "b".to_owned()]
    );
    assert_eq!(base(json!({"user": "u"})).user.as_deref(), Some("u"));
    assert_eq!(base(json!({"n": 1})).max_output_tokens, None);
    // include_usage only means something for a stream.
    assert!(!base(json!({"stream_options": {"include_usage": true}})).include_usage);
    let r = base(json!({"reasoning_effort": "minimal"})).reasoning;
    assert_eq!(
        r,
        Some(Reasoning {
            effort: Some(Effort::Minimal),
            budget_tokens: None,
            include_thoughts: true
        })
    );
    // The `model`/`stream` arguments are ignored in favour of the body.
    assert_eq!(base(json!({})).model, "m");
    assert!(!base(json!({})).stream);
    // Null everywhere a client might send it.
    let nulls = base(
        json!({"tools": null, "tool_choice": null, "stop": null, "temperature": null, "stream_options": null}),
    );
    assert_eq!(nulls.tool_choice, None);
    assert!(nulls.stop.is_empty());
}

fn err(body: &serde_json::Value) -> TranslateError {
    decode_request(body).unwrap_err()
}

fn field_of(e: &TranslateError) -> (&'static str, String) {
    match e {
        TranslateError::InvalidField { field, .. } => ("invalid", field.clone()),
        TranslateError::Unsupported { field, .. } => ("unsupported", field.clone()),
        TranslateError::InvalidJson(_) => ("json", String::new()),
        TranslateError::UpstreamMalformed(_) => ("upstream", String::new()),
    }
}

#[test]
fn rejections_name_the_field() {
    let user = |content: serde_json::Value| json!({"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": content}]});
    let cases: Vec<(serde_json::Value, (&str, &str))> = vec![
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}),
            ("unsupported", "n"),
        ),
        (
            user(
                json!([{"type": "text", "text": "hear"}, {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}]),
            ),
            ("unsupported", "messages[1].content[1]"),
        ),
        (
            user(json!([{"type": "file", "file": {"file_id": "file-1"}}])),
            ("unsupported", "messages[1].content[0]"),
        ),
        (
            user(json!([{"type": "video"}])),
            ("invalid", "messages[1].content[0].type"),
        ),
        (
            user(json!([{"type": "text"}])),
            ("invalid", "messages[1].content[0].text"),
        ),
        (
            user(json!([{"type": "image_url", "image_url": {}}])),
            ("invalid", "messages[1].content[0].image_url.url"),
        ),
        (user(json!(42)), ("invalid", "messages[1].content")),
        (user(json!(null)), ("invalid", "messages[1].content")),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "custom", "custom": {"name": "x"}}]}),
            ("unsupported", "tools[0]"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}),
            ("invalid", "tools[0].function"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {}}]}),
            ("invalid", "tools[0].function.name"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "allowed_tools", "allowed_tools": {}}}),
            ("unsupported", "tool_choice"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"}),
            ("invalid", "tool_choice"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
            ("invalid", "temperature"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "huge"}),
            ("invalid", "reasoning_effort"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": -1}),
            ("invalid", "max_completion_tokens"),
        ),
        (json!({"model": "m"}), ("invalid", "messages")),
        (json!({"messages": []}), ("invalid", "model")),
        (
            json!({"model": "m", "messages": ["hi"]}),
            ("invalid", "messages[0]"),
        ),
        (
            json!({"model": "m", "messages": [{"content": "x"}]}),
            ("invalid", "messages[0].role"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}),
            ("invalid", "messages[0].role"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
            ("invalid", "messages[0].tool_call_id"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "system", "content": [{"type": "image_url"}]}]}),
            ("invalid", "messages[0].content[0].type"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}]}),
            ("invalid", "messages[0].tool_calls[0].function"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {}}]}]}),
            ("unsupported", "messages[0].tool_calls[0]"),
        ),
        (
            json!({"model": "m", "messages": [{"role": "assistant", "content": [{"type": "image_url"}]}]}),
            ("invalid", "messages[0].content[0].type"),
        ),
    ];
    for (body, (kind, field)) in cases {
        let e = err(&body);
        assert_eq!(field_of(&e), (kind, field.to_owned()), "{body} → {e}");
    }
    for raw in [
        "",
        "  ",
        "{\"model\": ",
        "{\"model\":\"m\",\"messages\":[]} trailing",
    ] {
        let e = OpenAiCodec::decode_request(raw.as_bytes(), "m", false);
        assert!(
            matches!(e, Err(TranslateError::InvalidJson(_))),
            "{raw:?} → {e:?}"
        );
    }
    // A body that is JSON but not an object names the body itself.
    for raw in ["[1]", "\"text\""] {
        let e = OpenAiCodec::decode_request(raw.as_bytes(), "m", false).unwrap_err();
        assert_eq!(field_of(&e).1, "(body)", "{raw:?} → {e}");
    }
}

fn signed(text: &str, origin: Protocol) -> Part {
    Part::Thinking {
        text: text.to_owned(),
        signature: Some(Signature {
            value: "sig".to_owned(),
            origin,
        }),
    }
}

/// A request as the Anthropic decoder would produce it, going to an OpenAI upstream.
#[test]
fn encodes_a_full_request_for_an_openai_upstream() {
    let ir = ChatRequest {
        model: "gpt-5.1".to_owned(),
        system: vec!["You are terse.".to_owned(), "Use metric units.".to_owned()],
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![
                    Part::Text {
                        text: "Weather here?".to_owned(),
                    },
                    Part::Image {
                        source: ImageSource::Base64 {
                            media_type: "image/jpeg".to_owned(),
                            data: "/9j/4AAQ".to_owned(),
                        },
                    },
                    Part::Image {
                        source: ImageSource::Url {
                            url: "https://example.com/a.png".to_owned(),
                        },
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    signed("It looks like Paris.", Protocol::Anthropic),
                    Part::RedactedThinking {
                        data: "opaque".to_owned(),
                    },
                    Part::Text {
                        text: "Checking.".to_owned(),
                    },
                    Part::ToolCall {
                        id: "toolu_01A".to_owned(),
                        name: "get_weather".to_owned(),
                        arguments: "{\"city\":\"Paris\"}".to_owned(),
                    },
                    Part::ToolCall {
                        id: "functions.Bash:0".to_owned(),
                        name: "bash".to_owned(),
                        arguments: "{\"cmd\":\"date\"}".to_owned(),
                    },
                ],
            },
            Message {
                role: Role::User,
                parts: vec![
                    Part::Text {
                        text: "(results below)".to_owned(),
                    },
                    Part::ToolResult {
                        id: "toolu_01A".to_owned(),
                        name: Some("get_weather".to_owned()),
                        content: vec![
                            ToolResultContent::Text {
                                text: "18°C".to_owned(),
                            },
                            ToolResultContent::Image {
                                source: ImageSource::Base64 {
                                    media_type: "image/png".to_owned(),
                                    data: "AAAA".to_owned(),
                                },
                            },
                            ToolResultContent::Text {
                                text: "sunny".to_owned(),
                            },
                        ],
                        is_error: false,
                    },
                    Part::ToolResult {
                        id: "functions.Bash:0".to_owned(),
                        name: None,
                        content: vec![ToolResultContent::Text {
                            text: "command failed".to_owned(),
                        }],
                        is_error: true,
                    },
                ],
            },
        ],
        tools: vec![
            Tool {
                name: "get_weather".to_owned(),
                description: Some("Weather by city".to_owned()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            },
            Tool {
                name: "bash".to_owned(),
                description: None,
                parameters: json!({"type": "object"}),
            },
        ],
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(false),
        sampling: Sampling {
            temperature: Some(0.7),
            top_p: Some(0.95),
            top_k: Some(40),
            seed: Some(7),
            presence_penalty: None,
            frequency_penalty: Some(0.5),
        },
        stop: vec!["END".to_owned()],
        max_output_tokens: Some(4096),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "answer".to_owned(),
            schema: json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            strict: true,
        }),
        reasoning: Some(Reasoning {
            effort: None,
            budget_tokens: Some(2000),
            include_thoughts: true,
        }),
        stream: true,
        include_usage: false,
        user: Some("user-9".to_owned()),
    };
    let body = encode_request(&ir);
    insta::assert_json_snapshot!("encode_request_full", body);
    assert_eq!(
        body["messages"][2]["tool_calls"][1]["id"], body["messages"][4]["tool_call_id"],
        "sanitised alike"
    );
}

#[test]
fn encodes_a_minimal_request() {
    let ir = ChatRequest {
        model: "deepseek-chat".to_owned(),
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![Part::Text {
                    text: "Hi".to_owned(),
                }],
            },
            Message {
                role: Role::Assistant,
                parts: vec![signed("hmm", Protocol::OpenAi)],
            },
            Message {
                role: Role::User,
                parts: vec![Part::Text {
                    text: "Again".to_owned(),
                }],
            },
        ],
        // Without tools, OpenAI rejects these two: they are not sent.
        tool_choice: Some(ToolChoice::Named("x".to_owned())),
        parallel_tool_calls: Some(true),
        response_format: Some(ResponseFormat::JsonSchema {
            name: String::new(),
            schema: json!({}),
            strict: false,
        }),
        reasoning: Some(Reasoning {
            effort: Some(Effort::Low),
            budget_tokens: Some(30000),
            include_thoughts: false,
        }),
        ..ChatRequest::default()
    };
    insta::assert_json_snapshot!("encode_request_minimal", encode_request(&ir));
}

#[test]
fn reasoning_effort_follows_effort_then_budget() {
    let effort_of = |reasoning: Option<Reasoning>| {
        let ir = ChatRequest {
            model: "m".to_owned(),
            reasoning,
            ..ChatRequest::default()
        };
        encode_request(&ir).get("reasoning_effort").cloned()
    };
    let budget = |b| {
        Some(Reasoning {
            effort: None,
            budget_tokens: Some(b),
            include_thoughts: false,
        })
    };
    assert_eq!(effort_of(None), None);
    assert_eq!(effort_of(budget(-1)), None, "dynamic: the provider decides");
    assert_eq!(effort_of(budget(0)), Some(json!("none")));
    assert_eq!(effort_of(budget(1024)), Some(json!("low")));
    assert_eq!(effort_of(budget(24576)), Some(json!("high")));
    assert_eq!(effort_of(budget(200_000)), Some(json!("max")));
    assert_eq!(effort_of(Some(Reasoning::default())), None);
}

#[test]
fn tool_result_round_trip_keeps_ids_matching() {
    // A client's own conversation, decoded then re-encoded: ids and grouping survive.
    let body = json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call:1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                {"id": "call:2", "type": "function", "function": {"name": "b", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call:1", "content": "A"},
            {"role": "tool", "tool_call_id": "call:2", "content": "B"},
            {"role": "user", "content": "and?"}
        ]
    });
    let ir = decode_request(&body).unwrap();
    assert_eq!(ir.messages.len(), 3, "{ir:#?}");
    let out = encode_request(&ir);
    let msgs = out["messages"].as_array().unwrap();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "tool", "user"]);
    assert_eq!(msgs[1]["content"], serde_json::Value::Null);
    assert_eq!(msgs[1]["tool_calls"][0]["id"], msgs[2]["tool_call_id"]);
    assert_eq!(msgs[1]["tool_calls"][1]["id"], msgs[3]["tool_call_id"]);
    assert_ne!(msgs[2]["tool_call_id"], msgs[3]["tool_call_id"]);
}
