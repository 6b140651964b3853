//! Serde types of the OpenAI Chat Completions JSON — only what we read or write.
//!
//! `*In` types are read (client requests, upstream answers) and tolerate `null` and
//! absent fields everywhere an upstream might omit them; unknown fields are ignored.
//! `*Out` types are written; their field order is the order the official API uses.
//! Parts whose shape varies (`content`, `tool_choice`, `image_url`) stay
//! [`serde_json::Value`]s and are read by hand so errors can name the exact path.

use crate::translate::json::opt_cow_str;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use switchyard_types::ir::Effort;

// ---------------------------------------------------------------- client request

/// A client's `POST /v1/chat/completions` body.
#[derive(Debug, Deserialize)]
pub(super) struct RequestIn {
    pub model: String,
    /// Read message by message (see `request.rs`), so errors name `messages[i]…`.
    pub messages: Vec<Value>,
    pub max_completion_tokens: Option<u32>,
    pub max_tokens: Option<u32>,
    pub n: Option<u32>,
    pub stop: Option<StopIn>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub response_format: Option<ResponseFormatIn>,
    pub reasoning_effort: Option<Effort>,
    pub tools: Option<Vec<ToolIn>>,
    pub tool_choice: Option<Value>,
    pub parallel_tool_calls: Option<bool>,
    /// Legacy form of `tools`.
    pub functions: Option<Vec<FunctionDefIn>>,
    /// Legacy form of `tool_choice`.
    pub function_call: Option<Value>,
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptionsIn>,
    pub user: Option<String>,
    pub safety_identifier: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum StopIn {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ResponseFormatIn {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaIn },
}

#[derive(Debug, Deserialize)]
pub(super) struct JsonSchemaIn {
    pub name: String,
    pub schema: Option<Value>,
    pub strict: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ToolIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: Option<FunctionDefIn>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FunctionDefIn {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct StreamOptionsIn {
    pub include_usage: Option<bool>,
}

/// A `system`, `developer` or `user` message: only its content matters.
#[derive(Debug, Deserialize)]
pub(super) struct ContentMessageIn {
    #[serde(default)]
    pub content: Value,
}

#[derive(Debug, Deserialize)]
pub(super) struct AssistantMessageIn {
    #[serde(default)]
    pub content: Value,
    pub refusal: Option<String>,
    pub tool_calls: Option<Vec<ToolCallIn>>,
    /// Non-standard (DeepSeek-style servers, and our own gateway towards OpenAI clients).
    pub reasoning_content: Option<String>,
    /// Legacy single call.
    pub function_call: Option<FunctionCallIn>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ToolCallIn {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub function: Option<FunctionCallIn>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FunctionCallIn {
    pub name: String,
    /// JSON text; an object (non-standard) is re-serialised.
    pub arguments: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ToolMessageIn {
    pub tool_call_id: String,
    #[serde(default)]
    pub content: Value,
}

/// Legacy `role: "function"` result.
#[derive(Debug, Deserialize)]
pub(super) struct FunctionMessageIn {
    pub name: String,
    #[serde(default)]
    pub content: Value,
}

/// One element of a `content` array.
#[derive(Debug, Deserialize)]
pub(super) struct PartIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub refusal: Option<String>,
    /// `{"url", "detail"?}`, or (leniently) a bare URL string.
    pub image_url: Option<Value>,
}

// ---------------------------------------------------------------- upstream request

/// The body we send to an OpenAI-compatible upstream.
#[derive(Debug, Serialize)]
pub(super) struct RequestOut<'a> {
    pub model: &'a str,
    pub messages: Vec<MessageOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolOut<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<&'static str>,
    pub stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptionsOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub(super) struct StreamOptionsOut {
    pub include_usage: bool,
}

#[derive(Debug, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub(super) enum MessageOut<'a> {
    System {
        content: String,
    },
    User {
        content: UserContentOut<'a>,
    },
    Assistant {
        /// `null` when the turn is only tool calls.
        content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallOut<'a>>,
    },
    Tool {
        tool_call_id: String,
        content: String,
    },
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum UserContentOut<'a> {
    Text(&'a str),
    Parts(Vec<PartOut<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum PartOut<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrlOut },
}

#[derive(Debug, Serialize)]
pub(super) struct ImageUrlOut {
    pub url: String,
}

#[derive(Debug, Serialize)]
pub(super) struct ToolOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionDefOut<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct FunctionDefOut<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    pub parameters: &'a Value,
}

/// A tool call, in a request's assistant message or a response's message.
#[derive(Debug, Serialize)]
pub(super) struct ToolCallOut<'a> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionCallOut<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct FunctionCallOut<'a> {
    pub name: &'a str,
    pub arguments: &'a str,
}

// ---------------------------------------------------------------- upstream response

/// A `chat.completion` (and, leniently, an error body answered with a 200).
#[derive(Debug, Deserialize)]
pub(super) struct ResponseIn {
    pub id: Option<String>,
    pub created: Option<i64>,
    pub model: Option<String>,
    pub choices: Option<Vec<ChoiceIn>>,
    pub usage: Option<UsageIn>,
    pub error: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ChoiceIn {
    pub index: Option<u32>,
    pub message: Option<ResponseMessageIn>,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ResponseMessageIn {
    /// A string, or (some compatible servers) an array of text parts.
    #[serde(default)]
    pub content: Value,
    pub refusal: Option<String>,
    pub reasoning_content: Option<String>,
    /// OpenRouter's name for the same thing.
    pub reasoning: Option<String>,
    pub tool_calls: Option<Vec<ResponseToolCallIn>>,
    pub function_call: Option<FunctionDeltaIn>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ResponseToolCallIn {
    pub id: Option<String>,
    pub function: Option<FunctionDeltaIn>,
}

/// A function name and/or arguments, every field optional (stream fragments, lenient
/// upstream answers).
#[derive(Debug, Deserialize)]
pub(super) struct FunctionDeltaIn {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct UsageIn {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub prompt_tokens_details: Option<PromptDetailsIn>,
    pub completion_tokens_details: Option<CompletionDetailsIn>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PromptDetailsIn {
    pub cached_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CompletionDetailsIn {
    pub reasoning_tokens: Option<u64>,
}

// ---------------------------------------------------------------- client response

#[derive(Debug, Serialize)]
pub(super) struct ResponseOut<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: i64,
    pub model: &'a str,
    pub choices: [ChoiceOut<'a>; 1],
    pub usage: UsageOut,
}

#[derive(Debug, Serialize)]
pub(super) struct ChoiceOut<'a> {
    pub index: u32,
    pub message: ResponseMessageOut<'a>,
    pub logprobs: Option<()>,
    pub finish_reason: &'static str,
}

#[derive(Debug, Serialize)]
pub(super) struct ResponseMessageOut<'a> {
    pub role: &'static str,
    pub content: Option<String>,
    pub refusal: Option<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallOut<'a>>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct UsageOut {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: PromptDetailsOut,
    pub completion_tokens_details: CompletionDetailsOut,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct PromptDetailsOut {
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct CompletionDetailsOut {
    pub reasoning_tokens: u64,
}

// ---------------------------------------------------------------- stream chunks

/// One upstream `chat.completion.chunk` (or an in-stream error).
#[derive(Debug, Deserialize)]
pub(super) struct ChunkIn<'a> {
    /// Borrowed: only the first chunk's id and model are kept.
    #[serde(borrow, default, deserialize_with = "opt_cow_str")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow_str")]
    pub model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub choices: Option<FirstChoice<'a>>,
    pub usage: Option<Box<UsageIn>>,
    pub error: Option<Box<Value>>,
}

/// A chunk's `choices`, keeping only choice 0 (we ask for one; any other is ignored), so
/// no vector is allocated per chunk.
#[derive(Debug)]
pub(super) struct FirstChoice<'a>(pub Option<ChunkChoiceIn<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstChoice<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Choices<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Choices<'a> {
            type Value = FirstChoice<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of choices")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut first = None;
                while let Some(choice) = seq.next_element::<ChunkChoiceIn<'a>>()? {
                    if first.is_none() && choice.index.unwrap_or(0) == 0 {
                        first = Some(choice);
                    }
                }
                Ok(FirstChoice(first))
            }
        }
        deserializer.deserialize_seq(Choices(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ChunkChoiceIn<'a> {
    pub index: Option<u32>,
    pub delta: Option<Box<DeltaIn>>,
    #[serde(borrow, default, deserialize_with = "opt_cow_str")]
    pub finish_reason: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct DeltaIn {
    pub content: Option<String>,
    pub reasoning_content: Option<String>,
    pub reasoning: Option<String>,
    pub refusal: Option<String>,
    pub tool_calls: Option<Vec<ToolCallDeltaIn>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ToolCallDeltaIn {
    pub index: Option<u32>,
    pub id: Option<String>,
    pub function: Option<FunctionDeltaIn>,
}

/// One `chat.completion.chunk` we write to a client.
#[derive(Debug, Serialize)]
pub(super) struct ChunkOut<'a> {
    pub id: &'a str,
    pub object: &'static str,
    pub created: i64,
    pub model: &'a str,
    pub choices: Vec<ChunkChoiceOut<'a>>,
    /// Absent unless the client asked for usage; then `null` on every chunk but the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Option<UsageOut>>,
}

#[derive(Debug, Serialize)]
pub(super) struct ChunkChoiceOut<'a> {
    pub index: u32,
    pub delta: DeltaOut<'a>,
    pub logprobs: Option<()>,
    pub finish_reason: Option<&'static str>,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct DeltaOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<[ToolCallDeltaOut<'a>; 1]>,
}

#[derive(Debug, Serialize)]
pub(super) struct ToolCallDeltaOut<'a> {
    pub index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub function: FunctionDeltaOut<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct FunctionDeltaOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    pub arguments: &'a str,
}

/// The in-stream error chunk: `{"error":{"message","type","param","code"}}`.
#[derive(Debug, Serialize)]
pub(super) struct StreamErrorOut<'a> {
    pub error: StreamErrorBodyOut<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct StreamErrorBodyOut<'a> {
    pub message: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub param: Option<()>,
    pub code: Option<()>,
}
