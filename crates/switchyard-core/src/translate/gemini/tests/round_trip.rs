//! Round trip: decode_request(encode_request(ir)) == ir, for what Gemini can carry.

use proptest::prelude::*;
use serde_json::json;
use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, Effort, ImageSource, Message, Part, Reasoning, ResponseFormat, Role, Sampling,
    Signature, Tool, ToolChoice, ToolResultContent,
};

use super::{body_json, text};
use crate::translate::gemini::{DUMMY_SIGNATURE, GeminiCodec};
use crate::translate::{Codec, ids};

const NAMES: [&str; 3] = ["get_weather", "lookup", "search.docs"];

fn gemini_sig() -> impl Strategy<Value = Signature> {
    "[A-Za-z0-9+/]{4,16}={0,2}".prop_map(|value| Signature {
        value,
        origin: Protocol::Gemini,
    })
}

fn words() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,.!?éü☀]{1,24}"
}

fn args() -> impl Strategy<Value = String> {
    prop::collection::btree_map("[a-z]{1,6}", any::<i32>(), 0..3)
        .prop_map(|m| serde_json::to_string(&m).unwrap())
}

fn user_bit() -> impl Strategy<Value = Part> {
    prop_oneof![
        words().prop_map(|text| Part::Text { text }),
        "[A-Za-z0-9+/]{4,20}".prop_map(|data| Part::Image {
            source: ImageSource::Base64 {
                media_type: "image/png".into(),
                data
            }
        }),
        "[a-z]{1,8}".prop_map(|name| Part::Image {
            source: ImageSource::Url {
                url: format!("https://img.test/{name}.png")
            }
        }),
    ]
}

#[derive(Debug, Clone)]
struct Turn {
    user: Vec<Part>,
    thought: Option<(String, Signature)>,
    text: Option<(Option<Signature>, String)>,
    calls: Vec<(usize, String)>,
    call_sig: Signature,
    results: Vec<String>,
}

fn turn() -> impl Strategy<Value = Turn> {
    (
        prop::collection::vec(user_bit(), 0..3),
        prop::option::of((words(), gemini_sig())),
        prop::option::of((prop::option::of(gemini_sig()), words())),
        prop::collection::vec((0..NAMES.len(), args()), 0..3),
        gemini_sig(),
        prop::collection::vec(words(), 3),
    )
        .prop_map(|(user, thought, text, calls, call_sig, results)| Turn {
            user,
            thought,
            text,
            calls,
            call_sig,
            results,
        })
}

fn conversation(turns: Vec<Turn>) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut pending: Vec<Part> = Vec::new();
    for (i, turn) in turns.into_iter().enumerate() {
        let mut user = std::mem::take(&mut pending);
        user.extend(turn.user);
        if user.is_empty() {
            user.push(text("go on"));
        }
        messages.push(Message {
            role: Role::User,
            parts: user,
        });
        let mut assistant = Vec::new();
        if let Some((t, s)) = turn.thought {
            assistant.push(Part::Thinking {
                text: t,
                signature: Some(s),
            });
        }
        if let Some((s, t)) = turn.text {
            if let Some(s) = s {
                assistant.push(Part::Thinking {
                    text: String::new(),
                    signature: Some(s),
                });
            }
            assistant.push(Part::Text { text: t });
        }
        for (k, (name, arguments)) in turn.calls.iter().enumerate() {
            if k == 0 {
                assistant.push(Part::Thinking {
                    text: String::new(),
                    signature: Some(turn.call_sig.clone()),
                });
            }
            let id = format!("call_{i}_{k}");
            let name = NAMES[*name].to_owned();
            assistant.push(Part::ToolCall {
                id: id.clone(),
                name: name.clone(),
                arguments: arguments.clone(),
            });
            let result = serde_json::to_string(&json!({"result": turn.results[k]})).unwrap();
            pending.push(Part::ToolResult {
                id,
                name: Some(name),
                content: vec![ToolResultContent::Text { text: result }],
                is_error: false,
            });
        }
        if assistant.is_empty() {
            assistant.push(text("ok"));
        }
        messages.push(Message {
            role: Role::Assistant,
            parts: assistant,
        });
    }
    if !pending.is_empty() {
        messages.push(Message {
            role: Role::User,
            parts: pending,
        });
    }
    messages
}

fn tools() -> impl Strategy<Value = Vec<Tool>> {
    prop::sample::subsequence(NAMES.to_vec(), 0..=3).prop_flat_map(|names| {
        let n = names.len();
        (Just(names), prop::collection::vec((prop::option::of(words()), any::<bool>()), n)).prop_map(|(names, specs)| {
            names
                .into_iter()
                .zip(specs)
                .map(|(name, (description, with_args))| Tool {
                    name: name.to_owned(),
                    description,
                    parameters: if with_args {
                        json!({"type": "object", "properties": {"city": {"type": "string", "description": "City"}}, "required": ["city"]})
                    } else {
                        json!({"type": "object"})
                    },
                })
                .collect()
        })
    })
}

fn unit() -> impl Strategy<Value = Option<f64>> {
    prop::option::of((0u32..=200).prop_map(|x| f64::from(x) / 100.0))
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

prop_compose! {
    fn chat_request()(
        system in prop::collection::vec(words(), 0..3),
        turns in prop::collection::vec(turn(), 1..4),
        tools in tools(),
        choice in prop::option::of(prop_oneof![
            Just(ToolChoice::Auto), Just(ToolChoice::None), Just(ToolChoice::Required),
            prop::sample::select(NAMES.to_vec()).prop_map(|n| ToolChoice::Named(n.to_owned())),
        ]),
        parallel in prop::option::of(any::<bool>()),
        (temperature, top_p, presence_penalty, frequency_penalty) in (unit(), unit(), unit(), unit()),
        top_k in prop::option::of(1u32..100),
        seed in prop::option::of(-1000i64..1000),
        stop in prop::collection::vec("[a-z]{1,5}", 0..3),
        max_output_tokens in prop::option::of(1u32..100_000),
        format in prop::option::of(prop_oneof![
            Just(ResponseFormat::Text),
            Just(ResponseFormat::JsonObject),
            ("[a-z_]{1,10}", any::<bool>()).prop_map(|(name, strict)| ResponseFormat::JsonSchema {
                name,
                schema: json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}),
                strict,
            }),
        ]),
        reasoning in prop::option::of((prop::option::of(effort()), prop::option::of(-1i64..30_000), any::<bool>())),
        stream in any::<bool>(),
        include_usage in any::<bool>(),
        user in prop::option::of("[a-z]{1,8}"),
    ) -> ChatRequest {
        ChatRequest {
            model: "gemini-2.5-pro".into(),
            system,
            messages: conversation(turns),
            tools,
            tool_choice: choice,
            parallel_tool_calls: parallel,
            sampling: Sampling { temperature, top_p, top_k, seed, presence_penalty, frequency_penalty },
            stop,
            max_output_tokens,
            response_format: format,
            reasoning: reasoning.map(|(effort, budget_tokens, include_thoughts)| Reasoning { effort, budget_tokens, include_thoughts }),
            stream,
            include_usage,
            user,
        }
    }
}

/// What survives a trip through Gemini's wire format:
/// - system pieces are joined into one (one text part);
/// - tool-call ids are not sent (§4.3): calls get synthesized ids and results follow
///   them by name and order;
/// - the response-format name and `strict` do not exist (name becomes "response");
/// - an effort travels as its token budget;
/// - `parallel_tool_calls` and `user` have no field; `include_usage` is always true.
fn normalise(mut ir: ChatRequest) -> ChatRequest {
    if !ir.system.is_empty() {
        ir.system = vec![ir.system.join("\n\n")];
    }
    let mut renamed = std::collections::HashMap::new();
    let mut n = 0;
    for part in ir.messages.iter_mut().flat_map(|m| m.parts.iter_mut()) {
        match part {
            Part::ToolCall { id, name, .. } => {
                let new = ids::synthesize("gemini-request-call", n, name);
                n += 1;
                renamed.insert(id.clone(), new.clone());
                *id = new;
            }
            Part::ToolResult { id, .. } => *id = renamed[id.as_str()].clone(),
            _ => {}
        }
    }
    if let Some(ResponseFormat::JsonSchema { name, strict, .. }) = &mut ir.response_format {
        *name = "response".into();
        *strict = false;
    }
    if let Some(r) = &mut ir.reasoning {
        r.budget_tokens = r.budget_tokens.or_else(|| r.effort.map(Effort::budget));
        r.effort = None;
    }
    ir.parallel_tool_calls = None;
    ir.user = None;
    ir.include_usage = true;
    ir
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decode_inverts_encode(ir in chat_request()) {
        let body = GeminiCodec::encode_request(&ir).unwrap();
        let back = GeminiCodec::decode_request(&body, &ir.model, ir.stream).unwrap();
        prop_assert_eq!(back, normalise(ir));
    }
}

#[test]
fn foreign_history_gets_the_placeholder_signature() {
    let ir = ChatRequest {
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![text("hi")],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::ToolCall {
                        id: "a".into(),
                        name: "f".into(),
                        arguments: "{}".into(),
                    },
                    Part::ToolCall {
                        id: "b".into(),
                        name: "f".into(),
                        arguments: "{}".into(),
                    },
                ],
            },
        ],
        ..ChatRequest::default()
    };
    let body = body_json(&GeminiCodec::encode_request(&ir).unwrap());
    let parts = &body["contents"][1]["parts"];
    assert_eq!(parts[0]["thoughtSignature"], DUMMY_SIGNATURE);
    assert!(parts[1].get("thoughtSignature").is_none());
}
