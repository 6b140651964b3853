//! Property: for IR requests Anthropic can represent, `decode_request(encode_request(ir))`
//! gives `ir` back.
//!
//! The generator stays within what the format carries: roles alternate (consecutive turns
//! would be merged), user turns hold tool results first (they would be moved), no blank
//! text (dropped), thinking only with Anthropic signatures (others dropped), tool ids
//! already valid (sanitised otherwise), arguments compact JSON objects with sorted keys
//! (serde_json's form), no tool-result names, no seed/penalties, no `JsonObject`/`Text`
//! format, JSON schemas named "response" and not strict, base64 or https images (data
//! URLs become base64), reasoning as a budget ≥ 1024 below the cap with thoughts shown.
//! [`normalise`] applies the remaining rules the encoder enforces.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Sampling, Signature,
    Tool, ToolChoice, ToolResultContent,
};

use super::super::AnthropicCodec;
use crate::translate::Codec;

/// Non-blank text without trailing whitespace.
fn words() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9é]([a-zA-Z0-9 ,.é\n]{0,10}[a-z.])?"
}

fn id() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-]{1,24}"
}

fn arguments() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::from),
        words().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    prop::collection::btree_map("[a-z]{1,6}", leaf, 0..4)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()).to_string())
}

fn image() -> impl Strategy<Value = ImageSource> {
    prop_oneof![
        (
            prop::sample::select(vec!["image/png", "image/jpeg", "image/gif", "image/webp"]),
            "[A-Za-z0-9+/]{4,16}"
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

fn tool_result() -> impl Strategy<Value = Part> {
    let content = prop_oneof![
        words().prop_map(|text| ToolResultContent::Text { text }),
        image().prop_map(|source| ToolResultContent::Image { source }),
    ];
    (id(), prop::collection::vec(content, 0..3), any::<bool>()).prop_map(
        |(id, content, is_error)| Part::ToolResult {
            id,
            name: None,
            content,
            is_error,
        },
    )
}

fn user_message() -> impl Strategy<Value = Message> {
    let other = prop_oneof![
        words().prop_map(|text| Part::Text { text }),
        image().prop_map(|source| Part::Image { source }),
    ];
    (
        prop::collection::vec(tool_result(), 0..3),
        prop::collection::vec(other, 1..3),
    )
        .prop_map(|(mut parts, rest)| {
            parts.extend(rest);
            Message {
                role: Role::User,
                parts,
            }
        })
}

fn assistant_message() -> impl Strategy<Value = Message> {
    let thinking = prop_oneof![
        (words(), "[A-Za-z0-9+/]{8,24}").prop_map(|(text, value)| Part::Thinking {
            text,
            signature: Some(Signature {
                value,
                origin: Protocol::Anthropic
            }),
        }),
        "[A-Za-z0-9+/]{8,24}".prop_map(|data| Part::RedactedThinking { data }),
    ];
    let call =
        (id(), "[a-z_]{1,10}", arguments()).prop_map(|(id, name, arguments)| Part::ToolCall {
            id,
            name,
            arguments,
        });
    (
        prop::option::of(thinking),
        prop::collection::vec(words().prop_map(|text| Part::Text { text }), 0..2),
        prop::collection::vec(call, 0..3),
    )
        .prop_map(|(thinking, texts, calls)| {
            let mut parts: Vec<Part> = thinking.into_iter().chain(texts).chain(calls).collect();
            if parts.is_empty() {
                parts.push(Part::Text { text: "ok".into() });
            }
            Message {
                role: Role::Assistant,
                parts,
            }
        })
}

fn messages() -> impl Strategy<Value = Vec<Message>> {
    (
        prop::collection::vec((user_message(), assistant_message()), 0..3),
        prop::option::of(user_message()),
    )
        .prop_map(|(pairs, last)| {
            pairs
                .into_iter()
                .flat_map(|(u, a)| [u, a])
                .chain(last)
                .collect()
        })
}

fn tool() -> impl Strategy<Value = Tool> {
    (
        "[a-z_]{1,10}",
        prop::option::of(words()),
        prop::collection::vec("[a-z]{1,6}", 0..3),
    )
        .prop_map(|(name, description, props)| {
            let properties: Map<String, Value> = props
                .into_iter()
                .map(|p| (p, json!({"type": "string"})))
                .collect();
            Tool {
                name,
                description,
                parameters: json!({"type": "object", "properties": properties}),
            }
        })
}

fn tool_choice() -> impl Strategy<Value = Option<ToolChoice>> {
    prop_oneof![
        Just(None),
        Just(Some(ToolChoice::Auto)),
        Just(Some(ToolChoice::None)),
        Just(Some(ToolChoice::Required)),
        "[a-z_]{1,10}".prop_map(|n| Some(ToolChoice::Named(n))),
    ]
}

/// Short decimals: serde_json's default float parsing is exact for them.
fn unit_float() -> impl Strategy<Value = Option<f64>> {
    prop::option::of((0u32..=20).prop_map(|n| f64::from(n) / 20.0))
}

/// (reasoning, max_output_tokens) that the encoder keeps as they are.
fn reasoning_and_cap() -> impl Strategy<Value = (Option<Reasoning>, Option<u32>)> {
    prop_oneof![
        prop::option::of(1u32..=64_000).prop_map(|cap| (None, cap)),
        (1024i64..=16_000).prop_flat_map(|b| {
            let cap = u32::try_from(b).unwrap_or(16_000) + 1;
            let reasoning = Reasoning {
                effort: None,
                budget_tokens: Some(b),
                include_thoughts: true,
            };
            prop::option::of(cap..=64_000).prop_map(move |cap| (Some(reasoning), cap))
        }),
    ]
}

prop_compose! {
    fn request()(
        model in "[a-z0-9.-]{1,20}",
        system in prop::collection::vec(words(), 0..3),
        messages in messages(),
        tools in prop::collection::vec(tool(), 0..3),
        tool_choice in tool_choice(),
        parallel_tool_calls in prop::option::of(Just(false)),
        (temperature, top_p) in (unit_float(), unit_float()),
        top_k in prop::option::of(1u32..500),
        stop in prop::collection::vec(words(), 0..3),
        (reasoning, max_output_tokens) in reasoning_and_cap(),
        schema in prop::option::of(prop::collection::vec("[a-z]{1,6}", 0..3)),
        stream in any::<bool>(),
        user in prop::option::of("[a-z0-9-]{1,12}"),
    ) -> ChatRequest {
        ChatRequest {
            model,
            system,
            messages,
            tools,
            tool_choice,
            parallel_tool_calls,
            sampling: Sampling { temperature, top_p, top_k, ..Sampling::default() },
            stop,
            max_output_tokens,
            response_format: schema.map(|props| {
                let properties: Map<String, Value> =
                    props.into_iter().map(|p| (p, json!({"type": "integer"}))).collect();
                ResponseFormat::JsonSchema {
                    name: "response".into(),
                    schema: json!({"type": "object", "properties": properties}),
                    strict: false,
                }
            }),
            reasoning,
            stream,
            include_usage: true,
            user,
        }
    }
}

/// The rules the encoder applies that the generator does not avoid.
fn normalise(mut ir: ChatRequest) -> ChatRequest {
    let last_tool_turn = ir.messages.iter().rev().find(|m| {
        m.role == Role::Assistant && m.parts.iter().any(|p| matches!(p, Part::ToolCall { .. }))
    });
    let fits = last_tool_turn.is_none_or(|m| {
        matches!(
            m.parts.first(),
            Some(Part::Thinking { .. } | Part::RedactedThinking { .. })
        )
    });
    if !fits {
        ir.reasoning = None;
    }
    if ir.reasoning.is_some() {
        ir.sampling.temperature = None;
        ir.sampling.top_k = None;
        ir.sampling.top_p = ir.sampling.top_p.filter(|p| *p >= 0.95);
        if matches!(
            ir.tool_choice,
            Some(ToolChoice::Required | ToolChoice::Named(_))
        ) {
            ir.tool_choice = Some(ToolChoice::Auto);
        }
    }
    if ir.tools.is_empty() {
        ir.tool_choice = None;
        ir.parallel_tool_calls = None;
    }
    match ir.tool_choice {
        None if ir.parallel_tool_calls == Some(false) => ir.tool_choice = Some(ToolChoice::Auto),
        Some(ToolChoice::None) => ir.parallel_tool_calls = None,
        _ => {}
    }
    ir.max_output_tokens = ir.max_output_tokens.or(Some(32_000));
    ir
}

proptest! {
    #[test]
    fn decode_inverts_encode(ir in request()) {
        let body = AnthropicCodec::encode_request(&ir).unwrap();
        let back = AnthropicCodec::decode_request(&body, "", false).unwrap();
        prop_assert_eq!(back, normalise(ir));
    }
}
