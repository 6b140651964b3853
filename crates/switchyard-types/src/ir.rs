//! The canonical chat IR: what a chat request, response and stream *mean*, independent of
//! any wire format. Each protocol has four pure functions (request→IR, IR→request,
//! response→IR, IR→response) plus a streaming decoder and encoder, so 4 inbound × 3
//! outbound protocols need 14 mappings, not 12 bespoke translators (the OpenAI Responses
//! API is a client protocol only: no translated request is sent in it).
//!
//! Conventions that every codec relies on:
//! - **System** text lives in [`ChatRequest::system`], never in `messages` (OpenAI
//!   `system`/`developer` messages are hoisted there in order; §4.1 of protocols.md).
//! - **Roles** are only user and assistant. Tool results are [`Part::ToolResult`]s in a
//!   user message, grouped as the next user turn after the assistant's calls (§4.2).
//! - **Tool arguments** are kept as the JSON *text* the model produced
//!   ([`Part::ToolCall::arguments`]); codecs that need an object parse it then.
//! - **Thinking signatures** carry the [`Protocol`] that issued them; an encoder drops a
//!   signature (and for Anthropic, the whole thinking block) whose origin is another
//!   provider (§4.6).
//!   A Gemini signature is the *next* part's when it stands in an empty-text
//!   [`Part::Thinking`] (in a stream: a [`StreamEvent::ThinkingSignature`] right after
//!   thought text may be either; the Responses encoder gives it its own reasoning item so
//!   it goes back on the part that follows, where Gemini checks it).
//! - **Usage** is normalised: `input_tokens` counts the *whole* prompt including cached
//!   and cache-write tokens; `output_tokens` includes reasoning tokens (§4.9).

use crate::provider::Protocol;
use serde::{Deserialize, Serialize};

/// A chat request in canonical form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    /// System prompt pieces, in order; joined with a blank line where a protocol takes one string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// `Some(false)` asks for at most one tool call per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default)]
    pub sampling: Sampling,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Output cap (OpenAI `max_completion_tokens`/`max_tokens`, Anthropic `max_tokens`,
    /// Gemini `maxOutputTokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    pub stream: bool,
    /// The client asked for usage in the stream (OpenAI `stream_options.include_usage`).
    /// Encoders towards OpenAI upstreams always ask for it; this says whether the client sees it.
    #[serde(default)]
    pub include_usage: bool,
    /// End-user identifier (OpenAI `user`/`safety_identifier`, Anthropic `metadata.user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// Sampling parameters; `None` means "provider default".
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

/// One piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    Image {
        source: ImageSource,
    },
    /// The assistant calls a tool. `arguments` is JSON text (may be invalid JSON when the
    /// model produced it so).
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    /// A tool's answer to the call with `id` (`name` when the protocol carries it).
    ToolResult {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        content: Vec<ToolResultContent>,
        #[serde(default)]
        is_error: bool,
    },
    /// Reasoning text, with the provider-issued signature that lets it be sent back.
    Thinking {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<Signature>,
    },
    /// Anthropic `redacted_thinking`: opaque, only meaningful to Anthropic.
    RedactedThinking {
        data: String,
    },
}

/// An opaque reasoning signature and the protocol (provider family) that issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub value: String,
    pub origin: Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageSource {
    /// Raw base64 (no `data:` prefix) with its media type.
    Base64 { media_type: String, data: String },
    /// A URL (https or data URL as given).
    Url { url: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolResultContent {
    Text { text: String },
    Image { source: ImageSource },
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments (an object schema; `{"type":"object"}` when none was given).
    pub parameters: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", content = "name", rename_all = "snake_case")]
pub enum ToolChoice {
    Auto,
    None,
    /// Must call some tool.
    Required,
    /// Must call this tool.
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: serde_json::Value,
        #[serde(default)]
        strict: bool,
    },
}

/// Reasoning / thinking configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reasoning {
    /// A qualitative effort, when the client gave one (OpenAI `reasoning_effort`,
    /// Anthropic `output_config.effort`, Gemini `thinkingLevel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<Effort>,
    /// A token budget, when the client gave one (Anthropic `budget_tokens`, Gemini
    /// `thinkingBudget`; `-1` = dynamic, `0` = off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<i64>,
    /// Return thought text/summaries to the client.
    #[serde(default)]
    pub include_thoughts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effort {
    None,
    Minimal,
    Low,
    Medium,
    High,
    Xhigh,
    Max,
}

impl Effort {
    /// The token budget this effort stands for (protocols.md §4.11).
    pub const fn budget(self) -> i64 {
        match self {
            Self::None => 0,
            Self::Minimal => 512,
            Self::Low => 1024,
            Self::Medium => 8192,
            Self::High => 24576,
            Self::Xhigh => 32768,
            Self::Max => 128_000,
        }
    }

    /// The effort a budget stands for (thresholds at 512 / 1024 / 8192 / 24576).
    pub const fn from_budget(budget: i64) -> Self {
        match budget {
            i64::MIN..=0 => Self::None,
            1..=512 => Self::Minimal,
            513..=1024 => Self::Low,
            1025..=8192 => Self::Medium,
            8193..=24576 => Self::High,
            24577..=32768 => Self::Xhigh,
            _ => Self::Max,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Xhigh => "xhigh",
            Self::Max => "max",
        }
    }
}

/// A complete (non-streamed) assistant answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    pub id: String,
    pub model: String,
    /// Unix seconds, when known.
    #[serde(default)]
    pub created: i64,
    /// Assistant parts in order: thinking, text, tool calls.
    pub parts: Vec<Part>,
    pub finish: FinishReason,
    #[serde(default)]
    pub usage: Usage,
}

/// Why generation stopped (protocols.md §4.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end of turn.
    Stop,
    /// A stop sequence matched (which one, when known).
    StopSequence(Option<String>),
    /// The output cap was reached.
    Length,
    /// The turn ends in tool calls.
    ToolCalls,
    /// Blocked by a safety / content filter (provider reason kept).
    ContentFilter(String),
    /// The model refused.
    Refusal,
    /// Anthropic `pause_turn`: a server tool loop stopped part-way.
    Pause,
    /// The context window was exceeded.
    ContextExceeded,
    /// Anything else, with the provider's own word for it.
    Other(String),
}

/// Token usage, normalised (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Whole prompt: uncached + cache reads + cache writes.
    pub input_tokens: u64,
    /// Whole output, reasoning included.
    pub output_tokens: u64,
    /// Of `input_tokens`, read from a prompt cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Of `input_tokens`, written to a prompt cache.
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
    /// Of `output_tokens`, spent reasoning.
    #[serde(default)]
    pub reasoning_tokens: u64,
}

/// One event of a streamed answer. Decoders produce them from an upstream's stream;
/// encoders turn them into the client's stream.
///
/// Order guarantees a decoder gives: `Start` first; the parts of one content block are
/// contiguous except tool calls, which are identified by `index` (0-based, in call order
/// within the response) so parallel calls may interleave; `Usage` may come several times
/// (each one replaces the previous: values are cumulative totals); `Finish` comes once,
/// after the last content event; nothing but `Usage` follows `Finish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StreamEvent {
    Start {
        id: String,
        model: String,
    },
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        text: String,
    },
    /// The signature of the thinking block just streamed.
    ThinkingSignature {
        signature: Signature,
    },
    /// Anthropic redacted thinking, whole.
    RedactedThinking {
        data: String,
    },
    ToolCallStart {
        index: u32,
        id: String,
        name: String,
    },
    /// A fragment of the call's JSON arguments text, as it arrived.
    ToolCallDelta {
        index: u32,
        arguments: String,
    },
    ToolCallEnd {
        index: u32,
    },
    /// Cumulative usage so far.
    Usage {
        usage: Usage,
    },
    Finish {
        reason: FinishReason,
    },
    /// The upstream reported an error inside the stream.
    Error {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effort_and_budget_round_trip_on_the_table() {
        for e in [
            Effort::None,
            Effort::Minimal,
            Effort::Low,
            Effort::Medium,
            Effort::High,
            Effort::Xhigh,
            Effort::Max,
        ] {
            assert_eq!(Effort::from_budget(e.budget()), e, "{}", e.as_str());
        }
        assert_eq!(Effort::from_budget(2000), Effort::Medium);
    }

    #[test]
    fn ir_serialises_for_snapshots() {
        let m = Message {
            role: Role::Assistant,
            parts: vec![Part::ToolCall {
                id: "c1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }],
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["parts"][0]["type"], "tool_call");
        assert_eq!(serde_json::from_value::<Message>(v).unwrap(), m);
    }
}
