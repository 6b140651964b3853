//! `decode_request(encode_request(ir)) == normalise(ir)` for generated requests, and
//! no panic on arbitrary input.
//!
//! What Chat Completions cannot carry, and `normalise` therefore rewrites:
//! - system pieces: sent as one message, so they come back as one piece (joined with a
//!   blank line), or none when that is empty;
//! - assistant turns: thinking and redacted thinking are dropped; text parts come back
//!   concatenated into one, before the tool calls;
//! - user turns: tool results come back first (they are `tool` messages sent before the
//!   user's own content); a result's content comes back as one text (parts joined with
//!   `\n`, images as `[image omitted]`, none when empty), without `is_error`, and with
//!   the name of the call it answers (looked up, not carried);
//! - tool-call ids: sanitised (calls and results alike);
//! - `top_k`: dropped; `tool_choice`/`parallel_tool_calls`: dropped without tools;
//!   reasoning: only an effort survives (a budget becomes its effort; a dynamic budget
//!   disappears) and `include_thoughts` comes back true; `include_usage` follows `stream`
//!   (always asked for upstream).

use super::{OpenAiCodec, decode_request, decode_stream, request_for};
use crate::translate::{Codec, ids};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::json;
use std::collections::HashMap;
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, Effort, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Sampling,
    Signature, Tool, ToolChoice, ToolResultContent,
};

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,.:{}\"\\\\é\n_-]{0,12}"
}

fn call_id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_:.|-]{1,10}"
}

fn image() -> impl Strategy<Value = ImageSource> {
    prop_oneof![
        (
            prop::sample::select(vec!["image/png", "image/jpeg", "image/webp"]),
            "[A-Za-z0-9+/]{0,12}={0,2}"
        )
            .prop_map(|(m, data)| ImageSource::Base64 {
                media_type: m.to_owned(),
                data
            }),
        "[a-z]{1,8}".prop_map(|p| ImageSource::Url {
            url: format!("https://example.com/{p}.png")
        }),
    ]
}

fn user_part() -> impl Strategy<Value = Part> {
    let result_content = prop_oneof![
        3 => text().prop_map(|text| ToolResultContent::Text { text }),
        1 => image().prop_map(|source| ToolResultContent::Image { source }),
    ];
    prop_oneof![
        3 => text().prop_map(|text| Part::Text { text }),
        1 => image().prop_map(|source| Part::Image { source }),
        2 => (call_id(), option::of("[a-z]{1,6}"), vec(result_content, 0..3), any::<bool>())
            .prop_map(|(id, name, content, is_error)| Part::ToolResult { id, name, content, is_error }),
    ]
}

fn assistant_part() -> impl Strategy<Value = Part> {
    let origin = prop::sample::select(vec![
        Protocol::OpenAi,
        Protocol::Anthropic,
        Protocol::Gemini,
    ]);
    prop_oneof![
        3 => text().prop_map(|text| Part::Text { text }),
        1 => (text(), option::of(("[a-zA-Z0-9]{1,8}", origin)))
            .prop_map(|(text, sig)| Part::Thinking { text, signature: sig.map(|(value, origin)| Signature { value, origin }) }),
        1 => "[a-z]{1,6}".prop_map(|data| Part::RedactedThinking { data }),
        2 => (call_id(), "[a-z_]{0,8}", text()).prop_map(|(id, name, arguments)| Part::ToolCall { id, name, arguments }),
    ]
}

fn messages() -> impl Strategy<Value = Vec<Message>> {
    (
        vec((vec(user_part(), 1..4), vec(assistant_part(), 0..4)), 1..4),
        any::<bool>(),
    )
        .prop_map(|(turns, end_on_user)| {
            let mut out = Vec::new();
            for (user, assistant) in turns {
                out.push(Message {
                    role: Role::User,
                    parts: user,
                });
                out.push(Message {
                    role: Role::Assistant,
                    parts: assistant,
                });
            }
            if end_on_user {
                out.pop();
            }
            out
        })
}

fn tenths(range: std::ops::Range<i32>) -> impl Strategy<Value = Option<f64>> {
    option::of(range.prop_map(|k| f64::from(k) / 10.0))
}

fn effort() -> impl Strategy<Value = Effort> {
    prop::sample::select(vec![
        Effort::None,
        Effort::Minimal,
        Effort::Low,
        Effort::Medium,
        Effort::High,
        Effort::Xhigh,
        Effort::Max,
    ])
}

fn request() -> impl Strategy<Value = ChatRequest> {
    let tool = ("[a-z_]{1,8}", option::of(text()), any::<bool>()).prop_map(
        |(name, description, props)| Tool {
            name,
            description,
            parameters: if props {
                json!({"type": "object", "properties": {"q": {"type": "string"}}})
            } else {
                json!({"type": "object"})
            },
        },
    );
    let choice = prop_oneof![
        Just(ToolChoice::Auto),
        Just(ToolChoice::None),
        Just(ToolChoice::Required),
        "[a-z]{1,5}".prop_map(ToolChoice::Named)
    ];
    let sampling = (
        tenths(0..20),
        tenths(0..10),
        option::of(1u32..100),
        any::<Option<i64>>(),
        tenths(-20..20),
        tenths(-20..20),
    )
        .prop_map(
            |(temperature, top_p, top_k, seed, presence_penalty, frequency_penalty)| Sampling {
                temperature,
                top_p,
                top_k,
                seed,
                presence_penalty,
                frequency_penalty,
            },
        );
    let format = option::of(prop_oneof![
        Just(ResponseFormat::Text),
        Just(ResponseFormat::JsonObject),
        ("[a-z_]{1,10}", any::<bool>()).prop_map(|(name, strict)| ResponseFormat::JsonSchema {
            name,
            schema: json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
            strict,
        }),
    ]);
    let reasoning = option::of((
        option::of(effort()),
        option::of(-1i64..200_000),
        any::<bool>(),
    ))
    .prop_map(|r| {
        r.map(|(effort, budget_tokens, include_thoughts)| Reasoning {
            effort,
            budget_tokens,
            include_thoughts,
        })
    });
    let head = (
        "[a-z0-9.-]{1,12}",
        vec(text(), 0..3),
        messages(),
        vec(tool, 0..3),
        option::of(choice),
        option::of(any::<bool>()),
    );
    let tail = (
        sampling,
        vec(text(), 0..4),
        option::of(any::<u32>()),
        format,
        reasoning,
        any::<bool>(),
        any::<bool>(),
        option::of(text()),
    );
    (head, tail).prop_map(
        |(
            (model, system, messages, tools, tool_choice, parallel_tool_calls),
            (
                sampling,
                stop,
                max_output_tokens,
                response_format,
                reasoning,
                stream,
                include_usage,
                user,
            ),
        )| ChatRequest {
            model,
            system,
            messages,
            tools,
            tool_choice,
            parallel_tool_calls,
            sampling,
            stop,
            max_output_tokens,
            response_format,
            reasoning,
            stream,
            include_usage,
            user,
        },
    )
}

/// What `ir` looks like after a trip through Chat Completions (see the module docs).
fn normalise(mut ir: ChatRequest) -> ChatRequest {
    let system = ir.system.join("\n\n");
    ir.system = if system.is_empty() {
        Vec::new()
    } else {
        vec![system]
    };
    let mut names: HashMap<String, String> = HashMap::new();
    for m in &mut ir.messages {
        let parts = std::mem::take(&mut m.parts);
        match m.role {
            Role::Assistant => {
                let text: String = parts
                    .iter()
                    .filter_map(|p| {
                        if let Part::Text { text } = p {
                            Some(text.as_str())
                        } else {
                            None
                        }
                    })
                    .collect();
                if !text.is_empty() {
                    m.parts.push(Part::Text { text });
                }
                for p in parts {
                    if let Part::ToolCall {
                        id,
                        name,
                        arguments,
                    } = p
                    {
                        let id = ids::sanitize(&id);
                        names.insert(id.clone(), name.clone());
                        m.parts.push(Part::ToolCall {
                            id,
                            name,
                            arguments,
                        });
                    }
                }
            }
            Role::User => {
                let (results, rest): (Vec<Part>, Vec<Part>) = parts
                    .into_iter()
                    .partition(|p| matches!(p, Part::ToolResult { .. }));
                for p in results {
                    let Part::ToolResult { id, content, .. } = p else {
                        continue;
                    };
                    let id = ids::sanitize(&id);
                    let joined = content
                        .iter()
                        .map(|c| match c {
                            ToolResultContent::Text { text } => text.as_str(),
                            ToolResultContent::Image { .. } => "[image omitted]",
                        })
                        .collect::<Vec<_>>()
                        .join("\n");
                    let content = if joined.is_empty() {
                        Vec::new()
                    } else {
                        vec![ToolResultContent::Text { text: joined }]
                    };
                    m.parts.push(Part::ToolResult {
                        name: names.get(&id).cloned(),
                        id,
                        content,
                        is_error: false,
                    });
                }
                m.parts.extend(rest);
            }
        }
    }
    if ir.tools.is_empty() {
        ir.tool_choice = None;
        ir.parallel_tool_calls = None;
    }
    ir.sampling.top_k = None;
    ir.reasoning = ir.reasoning.and_then(|r| {
        let effort = r
            .effort
            .or_else(|| r.budget_tokens.filter(|b| *b >= 0).map(Effort::from_budget))?;
        Some(Reasoning {
            effort: Some(effort),
            budget_tokens: None,
            include_thoughts: true,
        })
    });
    ir.include_usage = ir.stream;
    ir
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn encode_then_decode_is_identity_up_to_what_openai_carries(ir in request()) {
        let body = OpenAiCodec::encode_request(&ir).unwrap();
        let back = OpenAiCodec::decode_request(&body, "other", !ir.stream).unwrap();
        prop_assert_eq!(back, normalise(ir));
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..200), status in 100u16..600) {
        let _ = OpenAiCodec::decode_request(&bytes, "m", false);
        let _ = OpenAiCodec::decode_response(&bytes);
        let _ = OpenAiCodec::decode_error(status, &bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = decode_stream(&request_for("m", true), &format!("data: {text}\n\n"), 3);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_json(v in json_value()) {
        let _ = decode_request(&json!({"model": "m", "messages": [v]}));
        let _ = decode_request(&json!({"model": "m", "messages": [{"role": "user", "content": v}], "tool_choice": v}));
        let _ = OpenAiCodec::decode_response(json!({"choices": [{"message": v, "finish_reason": "stop"}]}).to_string().as_bytes());
        let chunk = json!({"id": "x", "choices": [{"index": 0, "delta": v}], "usage": v});
        let _ = decode_stream(&request_for("m", true), &format!("data: {chunk}\n\n"), 5);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "text",
            "image_url",
            "tool_calls",
            "user",
            "assistant",
            "tool",
            "function",
            "",
            "data:x;base64,"
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            vec(
                (
                    prop::sample::select(vec![
                        "role",
                        "content",
                        "type",
                        "text",
                        "image_url",
                        "url",
                        "tool_calls",
                        "id",
                        "index",
                        "function",
                        "name",
                        "arguments",
                        "tool_call_id",
                        "refusal",
                        "reasoning_content",
                        "prompt_tokens",
                    ]),
                    inner
                ),
                0..5
            )
            .prop_map(|kv| serde_json::Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}
