//! Shared fixtures: a realistic ~2 KB chat request and a typical answer, in IR.

use switchyard_types::Protocol;
use switchyard_types::ir::{
    ChatRequest, ChatResponse, FinishReason, Message, Part, Role, Sampling, StreamEvent, Tool,
    Usage,
};

pub const PROTOCOLS: [Protocol; 3] = [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini];

fn text(role: Role, text: &str) -> Message {
    Message {
        role,
        parts: vec![Part::Text {
            text: text.to_owned(),
        }],
    }
}

/// System prompt, a four-turn conversation with one tool round trip, two tools: ~2 KB
/// on the wire in each protocol.
pub fn request(stream: bool) -> ChatRequest {
    let para = "The quick brown fox jumps over the lazy dog while the gateway routes requests. ";
    ChatRequest {
        model: "bench-model".into(),
        system: vec![format!("You are a helpful assistant. {}", para.repeat(3))],
        messages: vec![
            text(
                Role::User,
                &format!("What is the weather in Paris? {}", para.repeat(4)),
            ),
            Message {
                role: Role::Assistant,
                parts: vec![Part::ToolCall {
                    id: "call_abc123".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Paris\",\"unit\":\"celsius\"}".into(),
                }],
            },
            Message {
                role: Role::User,
                parts: vec![Part::ToolResult {
                    id: "call_abc123".into(),
                    name: Some("get_weather".into()),
                    content: vec![switchyard_types::ir::ToolResultContent::Text {
                        text: "{\"temperature\":18,\"sky\":\"sunny\"}".into(),
                    }],
                    is_error: false,
                }],
            },
            text(
                Role::Assistant,
                &format!("It is 18 degrees and sunny in Paris. {}", para.repeat(2)),
            ),
            text(Role::User, &format!("And tomorrow? {}", para.repeat(3))),
        ],
        tools: vec![
            Tool {
                name: "get_weather".into(),
                description: Some("Current weather for a city".into()),
                parameters: serde_json::json!({"type": "object", "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}),
            },
            Tool {
                name: "get_forecast".into(),
                description: Some("Forecast for the next days".into()),
                parameters: serde_json::json!({"type": "object", "properties": {
                    "city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
                    "required": ["city", "days"]}),
            },
        ],
        sampling: Sampling {
            temperature: Some(0.7),
            ..Sampling::default()
        },
        max_output_tokens: Some(1024),
        stream,
        ..ChatRequest::default()
    }
}

pub fn response() -> ChatResponse {
    ChatResponse {
        id: "resp_bench".into(),
        model: "bench-model".into(),
        created: 1_700_000_000,
        parts: vec![
            Part::Text {
                text: "Tomorrow will be cloudy with light rain in the afternoon. ".repeat(6),
            },
            Part::ToolCall {
                id: "call_x".into(),
                name: "get_forecast".into(),
                arguments: "{\"city\":\"Paris\",\"days\":2}".into(),
            },
        ],
        finish: FinishReason::ToolCalls,
        usage: Usage {
            input_tokens: 512,
            output_tokens: 128,
            cached_input_tokens: 256,
            ..Usage::default()
        },
    }
}

/// A typical streamed answer: start, 40 text deltas, a tool call in 4 fragments, finish, usage.
pub fn events() -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start {
        id: "resp_bench".into(),
        model: "bench-model".into(),
    }];
    for i in 0..40 {
        events.push(StreamEvent::TextDelta {
            text: format!("token{i} "),
        });
    }
    events.push(StreamEvent::ToolCallStart {
        index: 0,
        id: "call_x".into(),
        name: "get_forecast".into(),
    });
    for piece in ["{\"city\"", ":\"Paris\"", ",\"days\"", ":2}"] {
        events.push(StreamEvent::ToolCallDelta {
            index: 0,
            arguments: piece.into(),
        });
    }
    events.push(StreamEvent::ToolCallEnd { index: 0 });
    events.push(StreamEvent::Finish {
        reason: FinishReason::ToolCalls,
    });
    events.push(StreamEvent::Usage {
        usage: Usage {
            input_tokens: 512,
            output_tokens: 128,
            ..Usage::default()
        },
    });
    events
}
