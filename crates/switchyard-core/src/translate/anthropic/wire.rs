//! Serde types of the Anthropic Messages JSON: only the fields we read or write.
//!
//! `*In` types are read (client requests, upstream responses and stream events) and
//! tolerate unknown fields; `*Out` types are written and declare their fields in the order
//! Anthropic uses, `type` first (serde's internally tagged enums write the tag first).

use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------- client request (read)

#[derive(Debug, Deserialize)]
pub struct RequestIn {
    pub model: String,
    pub max_tokens: u32,
    pub messages: Vec<MessageIn>,
    #[serde(default)]
    pub system: Option<SystemIn>,
    #[serde(default)]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub top_k: Option<u32>,
    /// Read one by one: custom tools and server tools differ in shape.
    #[serde(default)]
    pub tools: Option<Vec<Value>>,
    #[serde(default)]
    pub tool_choice: Option<ToolChoiceIn>,
    #[serde(default)]
    pub thinking: Option<ThinkingIn>,
    #[serde(default)]
    pub output_config: Option<OutputConfigIn>,
    #[serde(default)]
    pub metadata: Option<MetadataIn>,
    #[serde(default)]
    pub stream: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SystemIn {
    Text(String),
    Blocks(Vec<SystemBlockIn>),
}

#[derive(Debug, Deserialize)]
pub struct SystemBlockIn {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleIn {
    User,
    Assistant,
}

#[derive(Debug, Deserialize)]
pub struct MessageIn {
    pub role: RoleIn,
    pub content: ContentIn,
}

/// A message's or a tool result's content. Blocks are kept as values and read one by one
/// ([`BlockIn`]) so an unsupported block is reported with its path and type.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ContentIn {
    Text(String),
    Blocks(Vec<Value>),
}

/// A content block of a client request (or of a tool result's content).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockIn {
    Text {
        text: String,
    },
    Image {
        source: ImageSourceIn,
    },
    Document {
        source: Value,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        content: Option<ContentIn>,
        #[serde(default)]
        is_error: Option<bool>,
    },
    Thinking {
        thinking: String,
        #[serde(default)]
        signature: Option<String>,
    },
    RedactedThinking {
        data: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSourceIn {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {
        url: String,
    },
    #[serde(other)]
    Other,
}

/// A custom tool (`type` absent or `"custom"`).
#[derive(Debug, Deserialize)]
pub struct ToolIn {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub input_schema: Value,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToolChoiceIn {
    Auto {
        #[serde(default)]
        disable_parallel_tool_use: Option<bool>,
    },
    Any {
        #[serde(default)]
        disable_parallel_tool_use: Option<bool>,
    },
    Tool {
        name: String,
        #[serde(default)]
        disable_parallel_tool_use: Option<bool>,
    },
    None {},
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingIn {
    Enabled {
        budget_tokens: i64,
        #[serde(default)]
        display: Option<String>,
    },
    Adaptive {
        #[serde(default)]
        display: Option<String>,
    },
    Disabled {},
}

#[derive(Debug, Deserialize)]
pub struct OutputConfigIn {
    #[serde(default)]
    pub effort: Option<String>,
    #[serde(default)]
    pub format: Option<FormatIn>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FormatIn {
    JsonSchema { schema: Value },
}

#[derive(Debug, Deserialize)]
pub struct MetadataIn {
    #[serde(default)]
    pub user_id: Option<String>,
}

// ---------------------------------------------------------------- upstream request (write)

#[derive(Debug, Serialize)]
pub struct RequestOut {
    pub model: String,
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system: Vec<TextBlockOut>,
    pub messages: Vec<MessageOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoiceOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfigOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataOut>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

#[derive(Debug, Serialize)]
pub struct TextBlockOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
}

impl TextBlockOut {
    pub fn new(text: String) -> Self {
        Self { kind: "text", text }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleOut {
    User,
    Assistant,
}

#[derive(Debug, Serialize)]
pub struct MessageOut {
    pub role: RoleOut,
    pub content: Vec<BlockOut>,
}

/// A content block we write: in upstream requests, client responses and stream starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockOut {
    Text {
        text: String,
    },
    Image {
        source: ImageSourceOut,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<ToolResultContentOut>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImageSourceOut {
    Base64 { media_type: String, data: String },
    Url { url: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ToolResultContentOut {
    Text(String),
    Blocks(Vec<BlockOut>),
}

#[derive(Debug, Serialize)]
pub struct ToolOut {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub input_schema: Value,
}

#[derive(Debug, Serialize)]
pub struct ToolChoiceOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable_parallel_tool_use: bool,
}

#[derive(Debug, Serialize)]
pub struct ThinkingOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub budget_tokens: u32,
}

#[derive(Debug, Serialize)]
pub struct OutputConfigOut {
    pub format: FormatOut,
}

#[derive(Debug, Serialize)]
pub struct FormatOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub schema: Value,
}

#[derive(Debug, Serialize)]
pub struct MetadataOut {
    pub user_id: String,
}

// ---------------------------------------------------------------- upstream response (read)

#[derive(Debug, Deserialize)]
pub struct ResponseIn {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub content: Vec<ResponseBlockIn>,
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
    #[serde(default)]
    pub usage: UsageIn,
}

/// A content block of an upstream answer; server-tool blocks and new types are skipped.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseBlockIn {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
        #[serde(default)]
        signature: Option<String>,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    Other,
}

/// Usage as Anthropic reports it (`input_tokens` is the *uncached* part only). Every field
/// is optional because `message_delta` carries only what changed.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct UsageIn {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens_details: Option<OutputDetailsIn>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct OutputDetailsIn {
    #[serde(default)]
    pub thinking_tokens: Option<u64>,
}

// ---------------------------------------------------------------- client response (write)

#[derive(Debug, Serialize)]
pub struct ResponseOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: String,
    pub content: Vec<BlockOut>,
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<String>,
    pub usage: UsageOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UsageOut {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens_details: Option<OutputDetailsOut>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutputDetailsOut {
    pub thinking_tokens: u64,
}

// ---------------------------------------------------------------- stream events

/// The `data` of an upstream stream event (its `type` repeats the `event:` name).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventIn {
    MessageStart {
        message: MessageStartIn,
    },
    ContentBlockStart {
        index: u64,
        content_block: StreamBlockIn,
    },
    ContentBlockDelta {
        index: u64,
        delta: DeltaIn,
    },
    ContentBlockStop {
        index: u64,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaIn,
        #[serde(default)]
        usage: Option<UsageIn>,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorDetailIn,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub struct MessageStartIn {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub usage: UsageIn,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamBlockIn {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: Option<String>,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeltaIn {
    TextDelta {
        text: String,
    },
    ThinkingDelta {
        thinking: String,
    },
    SignatureDelta {
        signature: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Deserialize)]
pub struct MessageDeltaIn {
    #[serde(default)]
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

/// `{"type":"error","error":{"type","message","details"?}}`, in bodies and streams.
#[derive(Debug, Deserialize)]
pub struct ErrorBodyIn {
    pub error: ErrorDetailIn,
}

#[derive(Debug, Default, Deserialize)]
pub struct ErrorDetailIn {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub details: Option<Value>,
}

/// An event we write to an Anthropic client's stream.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventOut<'a> {
    MessageStart {
        message: ResponseOut,
    },
    ContentBlockStart {
        index: u32,
        content_block: BlockOut,
    },
    ContentBlockDelta {
        index: u32,
        delta: DeltaOut<'a>,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaOut,
        usage: UsageOut,
    },
    MessageStop,
    Error {
        error: ErrorOut,
    },
}

impl EventOut<'_> {
    /// The SSE `event:` name (the same as `type`).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::MessageStart { .. } => "message_start",
            Self::ContentBlockStart { .. } => "content_block_start",
            Self::ContentBlockDelta { .. } => "content_block_delta",
            Self::ContentBlockStop { .. } => "content_block_stop",
            Self::MessageDelta { .. } => "message_delta",
            Self::MessageStop => "message_stop",
            Self::Error { .. } => "error",
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are Anthropic's delta type names"
)]
pub enum DeltaOut<'a> {
    TextDelta { text: &'a str },
    ThinkingDelta { thinking: &'a str },
    SignatureDelta { signature: &'a str },
    InputJsonDelta { partial_json: &'a str },
}

#[derive(Debug, Serialize)]
pub struct MessageDeltaOut {
    pub stop_reason: &'static str,
    pub stop_sequence: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ErrorOut {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
}
