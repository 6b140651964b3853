//! Serde types of the Responses API JSON that are read as a whole. Input items, tools
//! and content parts are read piece by piece from [`Value`]s (see `request.rs`), so an
//! error names `input[3].content[0]`; what we write is built in `response.rs` and
//! `stream.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchyard_types::ir::Effort;

/// A client's `POST /v1/responses` body (only the fields we read).
#[derive(Debug, Deserialize)]
pub(super) struct RequestIn {
    pub model: String,
    /// A string, or an array of input items.
    #[serde(default)]
    pub input: Value,
    pub instructions: Option<Value>,
    pub tools: Option<Vec<Value>>,
    pub tool_choice: Option<Value>,
    pub parallel_tool_calls: Option<bool>,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub reasoning: Option<ReasoningIn>,
    pub text: Option<TextIn>,
    pub stream: Option<bool>,
    pub store: Option<bool>,
    pub previous_response_id: Option<String>,
    pub conversation: Option<Value>,
    pub background: Option<bool>,
    pub prompt: Option<Value>,
    pub user: Option<String>,
    pub safety_identifier: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ReasoningIn {
    pub effort: Option<Effort>,
    /// `auto` / `concise` / `detailed` (or `none`): whether summaries are wanted.
    pub summary: Option<String>,
    /// Deprecated name of `summary`.
    pub generate_summary: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TextIn {
    pub format: Option<FormatIn>,
}

/// `text.format`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum FormatIn {
    Text,
    JsonObject,
    JsonSchema {
        #[serde(default)]
        name: String,
        schema: Option<Value>,
        strict: Option<bool>,
    },
}

/// A function tool (`{"type":"function", name, description, parameters, strict}`).
#[derive(Debug, Deserialize)]
pub(super) struct FunctionToolIn {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Value>,
}

/// `usage` of a response.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct UsageWire {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub input_tokens_details: InputDetails,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub output_tokens_details: OutputDetails,
    #[serde(default)]
    pub total_tokens: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct InputDetails {
    #[serde(default)]
    pub cached_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct OutputDetails {
    #[serde(default)]
    pub reasoning_tokens: u64,
}

/// A `response` object as an upstream (or our own encoder) writes it; output items are
/// read as values.
#[derive(Debug, Deserialize)]
pub(super) struct ResponseIn {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub created_at: f64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub output: Vec<Value>,
    pub incomplete_details: Option<IncompleteIn>,
    pub usage: Option<UsageWire>,
    pub error: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct IncompleteIn {
    pub reason: Option<String>,
}
