//! decode_request and encode_request.

use serde_json::{Value, json};
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, Effort, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Sampling,
    Tool, ToolChoice, ToolResultContent,
};

use super::{body_json, decode, sig, text};
use crate::translate::gemini::GeminiCodec;
use crate::translate::{Codec, TranslateError};

fn full_request() -> Value {
    json!({
        "systemInstruction": {"parts": [{"text": "You are terse."}, {"text": "Answer in French."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "What is in this picture, and the weather in Paris and Lyon?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}}
            ]},
            {"role": "model", "parts": [
                {"text": "Looking at the picture, then the two cities.", "thought": true},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnLTE="},
                {"functionCall": {"name": "get_weather", "args": {"city": "Lyon"}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "18C"}}},
                {"functionResponse": {"name": "get_weather", "response": {"result": "21C"}}}
            ]},
            {"role": "model", "parts": [{"text": "Une photo de chat. Paris 18C, Lyon 21C.", "thoughtSignature": "c2lnLTI="}]},
            {"role": "user", "parts": [{"text": "Merci. En JSON maintenant."}]}
        ],
        "tools": [{"functionDeclarations": [{
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {"type": "OBJECT", "properties": {
                "city": {"type": "STRING", "description": "City name"},
                "unit": {"type": "STRING", "enum": ["C", "F"], "nullable": true}
            }, "required": ["city"]}
        }]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "cachedContent": "cachedContents/ignored",
        "generationConfig": {
            "maxOutputTokens": 1024, "temperature": 0.7, "topP": 0.95, "topK": 40.0, "seed": 7,
            "stopSequences": ["END"], "presencePenalty": 0.1, "frequencyPenalty": 0.2, "candidateCount": 1,
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"paris": {"type": "STRING"}, "lyon": {"type": "STRING"}}},
            "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": true}
        }
    })
}

#[test]
fn decode_request_full() {
    let ir = decode(&full_request()).unwrap();
    insta::assert_json_snapshot!(ir);
}

#[test]
fn decode_request_accepts_snake_case() {
    let camel = json!({
        "systemInstruction": {"parts": [{"text": "S"}]},
        "contents": [
            {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "AA=="}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "x"}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"ok": true}}}]}
        ],
        "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object"}}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f", "g"]}},
        "generationConfig": {"maxOutputTokens": 5, "topP": 0.5, "topK": 3, "stopSequences": ["x"],
            "responseMimeType": "application/json", "responseJsonSchema": {"type": "object"},
            "thinkingConfig": {"thinkingLevel": "LOW", "includeThoughts": true}}
    });
    let snake = json!({
        "system_instruction": {"parts": [{"text": "S"}]},
        "contents": [
            {"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": "AA=="}}]},
            {"role": "model", "parts": [{"function_call": {"name": "f", "args": {}}, "thought_signature": "x"}]},
            {"role": "user", "parts": [{"function_response": {"name": "f", "response": {"ok": true}}}]}
        ],
        "tools": [{"function_declarations": [{"name": "f", "parameters_json_schema": {"type": "object"}}]}],
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["f", "g"]}},
        "generation_config": {"max_output_tokens": 5, "top_p": 0.5, "top_k": 3, "stop_sequences": ["x"],
            "response_mime_type": "application/json", "response_json_schema": {"type": "object"},
            "thinking_config": {"thinking_level": "LOW", "include_thoughts": true}}
    });
    let a = decode(&camel).unwrap();
    assert_eq!(a, decode(&snake).unwrap());
    assert_eq!(
        a.tool_choice,
        Some(ToolChoice::Required),
        "two allowed names widen to any tool"
    );
    assert_eq!(
        a.reasoning,
        Some(Reasoning {
            effort: Some(Effort::Low),
            budget_tokens: None,
            include_thoughts: true
        })
    );
    assert!(matches!(
        a.response_format,
        Some(ResponseFormat::JsonSchema { .. })
    ));
    // The response answers the call by name: same id.
    let (Part::ToolCall { id: call, .. }, Part::ToolResult { id: result, .. }) =
        (&a.messages[1].parts[1], &a.messages[2].parts[0])
    else {
        panic!("{:?}", a.messages)
    };
    assert_eq!(call, result);
}

#[test]
fn decode_request_ids_modes_and_roles() {
    let body = json!({
        "contents": [
            {"parts": [{"text": "hi"}]},
            {"role": "model", "parts": [
                {"functionCall": {"id": "fc-1", "name": "a", "args": {"x": 1}}},
                {"functionCall": {"name": "b"}},
                {"functionCall": {"name": "a", "args": {"x": 2}}}
            ]},
            {"role": "function", "parts": [
                {"functionResponse": {"name": "a", "response": {"v": 1}}},
                {"functionResponse": {"name": "a", "response": {"v": 2}}},
                {"functionResponse": {"name": "b", "response": {"v": 3}}},
                {"functionResponse": {"name": "zzz", "response": {"v": 4}}},
                {"text": ""}
            ]},
            {"role": "model", "parts": [{"text": ""}]}
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "NONE"}}
    });
    let ir = decode(&body).unwrap();
    assert_eq!(ir.messages.len(), 3, "the empty model turn is dropped");
    assert_eq!(ir.tool_choice, Some(ToolChoice::None));
    let ids = |m: &Message| -> Vec<String> {
        m.parts
            .iter()
            .map(|p| match p {
                Part::ToolCall { id, .. } | Part::ToolResult { id, .. } => id.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let calls = ids(&ir.messages[1]);
    let results = ids(&ir.messages[2]);
    assert_eq!(calls[0], "fc-1");
    assert_eq!(
        &results[..3],
        &[calls[0].clone(), calls[2].clone(), calls[1].clone()]
    );
    assert!(
        !calls.contains(&results[3]),
        "an unmatched response gets its own id"
    );
    assert_eq!(
        ir.messages[1].parts[1],
        Part::ToolCall {
            id: calls[1].clone(),
            name: "b".into(),
            arguments: "{}".into()
        }
    );
    // Stable: decoding again gives the same ids.
    assert_eq!(decode(&body).unwrap(), ir);

    for (mode, names, want) in [
        ("AUTO", json!([]), Some(ToolChoice::Auto)),
        ("VALIDATED", json!([]), Some(ToolChoice::Auto)),
        ("ANY", json!([]), Some(ToolChoice::Required)),
        ("ANY", json!(["f"]), Some(ToolChoice::Named("f".into()))),
        ("MODE_UNSPECIFIED", json!([]), None),
    ] {
        let body = json!({"contents": [{"parts": [{"text": "x"}]}],
            "toolConfig": {"functionCallingConfig": {"mode": mode, "allowedFunctionNames": names}}});
        assert_eq!(decode(&body).unwrap().tool_choice, want, "{mode}");
    }
}

#[test]
fn decode_request_rejections() {
    let with = |extra: Value| {
        let mut body = json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        decode(&body).unwrap_err()
    };
    let unsupported = |e: TranslateError| match e {
        TranslateError::Unsupported { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let invalid = |e: TranslateError| match e {
        TranslateError::InvalidField { field, .. } => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        unsupported(with(json!({"generationConfig": {"candidateCount": 2}}))),
        "generationConfig.candidateCount"
    );
    assert_eq!(
        unsupported(with(json!({"tools": [{"googleSearch": {}}]}))),
        "tools[0].googleSearch"
    );
    assert_eq!(
        unsupported(with(json!({"tools": [{"codeExecution": {}}]}))),
        "tools[0].codeExecution"
    );
    assert_eq!(
        unsupported(with(json!({"tools": [{"url_context": {}}]}))),
        "tools[0].url_context"
    );
    assert_eq!(
        unsupported(with(
            json!({"generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}})
        )),
        "generationConfig.responseModalities"
    );
    assert_eq!(
        unsupported(with(
            json!({"generationConfig": {"responseMimeType": "text/x.enum"}})
        )),
        "generationConfig.responseMimeType"
    );
    assert_eq!(
        unsupported(with(
            json!({"contents": [{"role": "model", "parts": [{"executableCode": {"language": "PYTHON", "code": "1"}}]}]})
        )),
        "contents[0].parts[0].executableCode"
    );
    assert_eq!(
        unsupported(with(
            json!({"contents": [{"parts": [{"inlineData": {"mimeType": "application/pdf", "data": "AA=="}}]}]})
        )),
        "contents[0].parts[0].inlineData.mimeType"
    );
    assert_eq!(
        invalid(with(
            json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]})
        )),
        "contents[0].role"
    );
    assert_eq!(
        invalid(with(json!({"contents": [{"parts": [{"text": 5}]}]}))),
        "contents[0].parts[0].text"
    );
    assert_eq!(
        invalid(with(
            json!({"contents": [{"parts": [{"text": "a", "inlineData": {"mimeType": "image/png", "data": ""}}]}]})
        )),
        "contents[0].parts[0]"
    );
    assert_eq!(
        invalid(with(
            json!({"contents": [{"parts": [{"functionCall": {"name": "f"}}]}]})
        )),
        "contents[0].parts[0].functionCall"
    );
    assert_eq!(
        invalid(with(
            json!({"contents": [{"parts": [{"functionCall": {}}]}]})
        )),
        "contents[0].parts[0].functionCall.name"
    );
    assert_eq!(
        invalid(with(
            json!({"toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}})
        )),
        "toolConfig.functionCallingConfig.mode"
    );
    assert_eq!(
        invalid(with(
            json!({"generationConfig": {"responseSchema": {"type": "OBJECT"}}})
        )),
        "generationConfig.responseSchema"
    );
    assert!(matches!(
        GeminiCodec::decode_request(b"{not json", "m", false),
        Err(TranslateError::InvalidJson(_))
    ));
    assert!(matches!(
        GeminiCodec::decode_request(b"  ", "m", false),
        Err(TranslateError::InvalidJson(_))
    ));
    assert_eq!(
        invalid(GeminiCodec::decode_request(b"[1]", "m", false).unwrap_err()),
        "(body)"
    );
}

fn weather_tool() -> Tool {
    Tool {
        name: "get_weather".into(),
        description: Some("Current weather in a city.".into()),
        parameters: json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": {"type": "string", "minLength": 1},
                "unit": {"type": ["string", "null"], "enum": ["celsius", "fahrenheit", null], "default": "celsius"},
                "format": {"const": "short"}
            },
            "required": ["city", "unit", "format"]
        }),
    }
}

fn conversation() -> ChatRequest {
    ChatRequest {
        model: "gemini-2.5-pro".into(),
        system: vec!["You are terse.".into(), "Answer in French.".into()],
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![
                    text("Describe these, then get the weather in Paris and Lyon."),
                    Part::Image {
                        source: ImageSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into(),
                        },
                    },
                    Part::Image {
                        source: ImageSource::Url {
                            url: "data:image/jpeg;base64,/9j/4AAQ".into(),
                        },
                    },
                    Part::Image {
                        source: ImageSource::Url {
                            url: "https://example.com/cat.webp?x=1".into(),
                        },
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Thinking {
                        text: "The user wants weather.".into(),
                        signature: sig("EqQBCkYIBxgCKkD", Protocol::Anthropic),
                    },
                    text("Let me check."),
                    text(""),
                    Part::ToolCall {
                        id: "toolu_1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    },
                    Part::ToolCall {
                        id: "toolu_2".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city": "Lyon"}"#.into(),
                    },
                ],
            },
            Message {
                role: Role::User,
                parts: vec![
                    Part::ToolResult {
                        id: "toolu_1".into(),
                        name: None,
                        content: vec![ToolResultContent::Text {
                            text: r#"{"temp":18}"#.into(),
                        }],
                        is_error: false,
                    },
                    Part::ToolResult {
                        id: "toolu_2".into(),
                        name: None,
                        content: vec![
                            ToolResultContent::Text { text: "21C".into() },
                            ToolResultContent::Image {
                                source: ImageSource::Base64 {
                                    media_type: "image/png".into(),
                                    data: "AAAA".into(),
                                },
                            },
                        ],
                        is_error: false,
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Thinking {
                        text: String::new(),
                        signature: sig("Z2VtaW5pLXNpZw==", Protocol::Gemini),
                    },
                    Part::ToolCall {
                        id: "call_x".into(),
                        name: "lookup".into(),
                        arguments: "not json".into(),
                    },
                ],
            },
            Message {
                role: Role::User,
                parts: vec![
                    Part::ToolResult {
                        id: "call_x".into(),
                        name: Some("lookup".into()),
                        content: vec![ToolResultContent::Text {
                            text: "boom".into(),
                        }],
                        is_error: true,
                    },
                    text("Now answer."),
                ],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Thinking {
                        text: "Summarise.".into(),
                        signature: sig("dGhvdWdodA==", Protocol::Gemini),
                    },
                    Part::Thinking {
                        text: "unsigned thought".into(),
                        signature: None,
                    },
                    Part::RedactedThinking {
                        data: "opaque".into(),
                    },
                    text("Paris 18C, Lyon 21C."),
                    Part::Thinking {
                        text: String::new(),
                        signature: sig("ZW5k", Protocol::Gemini),
                    },
                ],
            },
            Message {
                role: Role::User,
                parts: vec![text("Merci.")],
            },
            Message {
                role: Role::User,
                parts: vec![text("En JSON.")],
            },
        ],
        tools: vec![
            weather_tool(),
            Tool {
                name: "lookup".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
            },
        ],
        tool_choice: Some(ToolChoice::Named("get_weather".into())),
        parallel_tool_calls: Some(false),
        sampling: Sampling {
            temperature: Some(0.2),
            top_p: Some(0.9),
            top_k: Some(40),
            seed: Some(1),
            presence_penalty: Some(0.5),
            frequency_penalty: Some(-0.5),
        },
        stop: vec!["END".into(), "STOP".into()],
        max_output_tokens: Some(512),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "weather".into(),
            schema: json!({"type": "object", "properties": {"paris": {"type": "string"}}, "required": ["paris"], "additionalProperties": false}),
            strict: true,
        }),
        reasoning: Some(Reasoning {
            effort: Some(Effort::Medium),
            budget_tokens: None,
            include_thoughts: true,
        }),
        stream: true,
        include_usage: false,
        user: Some("user-1".into()),
    }
}

#[test]
fn encode_request_conversation() {
    let body = body_json(&GeminiCodec::encode_request(&conversation()).unwrap());
    assert!(body.get("model").is_none() && body.get("stream").is_none());
    insta::assert_json_snapshot!(body);
}

#[test]
fn encode_request_rejections_and_edge_cases() {
    let mut ir = conversation();
    ir.tools[0].name = "1-weather".into();
    match GeminiCodec::encode_request(&ir).unwrap_err() {
        TranslateError::Unsupported { field, message } => {
            assert_eq!(field, "tools[0].name");
            assert!(message.contains("_1-weather_"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let orphan = ChatRequest {
        messages: vec![Message {
            role: Role::User,
            parts: vec![Part::ToolResult {
                id: "nope".into(),
                name: None,
                content: vec![],
                is_error: false,
            }],
        }],
        ..ChatRequest::default()
    };
    assert!(matches!(
        GeminiCodec::encode_request(&orphan),
        Err(TranslateError::InvalidField { field, .. }) if field == "messages[0].parts[0]"
    ));
    // A system prompt alone becomes the user turn; effort None turns thinking off.
    let only_system = ChatRequest {
        system: vec!["Say hi.".into()],
        reasoning: Some(Reasoning {
            effort: Some(Effort::None),
            ..Reasoning::default()
        }),
        ..ChatRequest::default()
    };
    let body = body_json(&GeminiCodec::encode_request(&only_system).unwrap());
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [{"text": "Say hi."}]}],
               "generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}})
    );
}
