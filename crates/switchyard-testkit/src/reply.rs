//! The protocol-neutral middle: what each dialect reads out of a request ([`Conversation`]) and
//! the deterministic answer built from it ([`Reply`]). The dialect modules translate requests
//! into a `Conversation` and render a `Reply` in their own wire format.

use serde_json::{Map, Value};

use crate::Protocol;
use crate::script::Shape;

/// What the fake needs to know about a generation request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conversation {
    /// The requested model, echoed back.
    pub model: String,
    /// Characters of all message text (system prompt, messages, tool results).
    pub prompt_chars: usize,
    /// Text of the last user message that has ordinary text (not only tool results).
    pub last_user_text: String,
    /// When the last message carries tool results: their content as text.
    pub tool_results: Option<String>,
    /// Declared function tools, in order.
    pub tools: Vec<ToolDecl>,
    pub tool_choice: ToolChoice,
    /// The request itself asks for thinking (Anthropic `thinking`, Gemini `includeThoughts`).
    pub wants_thinking: bool,
    /// Thinking signatures the request carried back (Anthropic thinking blocks, Gemini
    /// thought signatures, Responses reasoning items).
    pub signatures: Signatures,
}

/// Signatures found in a request: the fake's own, and any other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Signatures {
    pub valid: usize,
    pub invalid: usize,
}

impl Signatures {
    /// Count one signature, valid when it is `expected`.
    pub(crate) fn count(&mut self, signature: &str, expected: &str) {
        if signature == expected {
            self.valid += 1;
        } else {
            self.invalid += 1;
        }
    }
}

/// A declared function tool.
#[derive(Debug, Clone)]
pub(crate) struct ToolDecl {
    pub name: String,
    /// JSON Schema (or Gemini's OpenAPI subset) of the arguments.
    pub schema: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ToolChoice {
    #[default]
    Auto,
    None,
    Required,
    Named(String),
}

/// Why the reply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    Length,
    ToolCalls,
}

/// One tool call of the reply. Ids are rendered per protocol from `index`.
#[derive(Debug, Clone)]
pub(crate) struct ToolCall {
    pub index: usize,
    pub name: String,
    pub args: Value,
}

/// Token counts (chars / 4, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub prompt: u64,
    /// Visible output (text and tool arguments), without reasoning.
    pub visible: u64,
    /// Thinking tokens (0 without thinking).
    pub reasoning: u64,
}

impl Usage {
    /// Output tokens including reasoning (OpenAI `completion_tokens`, Anthropic `output_tokens`).
    pub(crate) fn completion(&self) -> u64 {
        self.visible + self.reasoning
    }

    pub(crate) fn total(&self) -> u64 {
        self.prompt + self.completion()
    }
}

/// The answer, before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub model: String,
    pub thinking: Option<String>,
    pub text: Option<String>,
    pub calls: Vec<ToolCall>,
    pub finish: Finish,
    pub usage: Usage,
}

/// The fixed thinking text.
const THINKING: &str = "The user wants an answer. Thinking it through before replying.";

/// How many characters a reply keeps when `#fake:max_tokens` cuts it.
const MAX_TOKENS_CHARS: usize = 16;

/// How many characters of a tool result the reply quotes.
const TOOL_RESULT_CHARS: usize = 200;

/// Tokens for `chars` characters: chars / 4, at least 1.
pub(crate) fn tokens(chars: usize) -> u64 {
    u64::try_from(chars / 4).unwrap_or(u64::MAX).max(1)
}

pub(crate) fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::OpenAi => "OpenAI",
        Protocol::Anthropic => "Anthropic",
        Protocol::Gemini => "Gemini",
        Protocol::Responses => "OpenAI Responses",
    }
}

/// Builds the deterministic reply to `conv`.
pub(crate) fn build(protocol: Protocol, conv: &Conversation, shape: Shape) -> Reply {
    let thinking = (shape.thinking || conv.wants_thinking).then(|| THINKING.to_owned());
    let calls = if shape.max_tokens {
        Vec::new()
    } else {
        tool_calls(conv, shape)
    };
    let (text, finish) = if !calls.is_empty() {
        (None, Finish::ToolCalls)
    } else {
        let full = if shape.signatures {
            format!(
                "Signatures back: {} valid, {} invalid.",
                conv.signatures.valid, conv.signatures.invalid
            )
        } else if shape.echo {
            conv.last_user_text.clone()
        } else if let Some(result) = &conv.tool_results {
            let quoted: String = result.chars().take(TOOL_RESULT_CHARS).collect();
            format!("The tool returned: {quoted}")
        } else {
            format!(
                "Hello from the fake {} upstream, model {}.",
                protocol_name(protocol),
                conv.model
            )
        };
        if shape.max_tokens {
            (
                Some(full.chars().take(MAX_TOKENS_CHARS).collect()),
                Finish::Length,
            )
        } else {
            (Some(full), Finish::Stop)
        }
    };
    let visible_chars = text.as_ref().map_or(0, |t| t.chars().count())
        + calls
            .iter()
            .map(|c| c.args.to_string().chars().count())
            .sum::<usize>();
    let usage = Usage {
        prompt: tokens(conv.prompt_chars),
        visible: tokens(visible_chars),
        reasoning: thinking.as_ref().map_or(0, |t| tokens(t.chars().count())),
    };
    Reply {
        model: conv.model.clone(),
        thinking,
        text,
        calls,
        finish,
        usage,
    }
}

/// The tool calls of the reply (empty for a text reply).
fn tool_calls(conv: &Conversation, shape: Shape) -> Vec<ToolCall> {
    let Some(first) = conv.tools.first() else {
        return Vec::new();
    };
    let forced = matches!(
        conv.tool_choice,
        ToolChoice::Required | ToolChoice::Named(_)
    );
    let wanted = match conv.tool_choice {
        ToolChoice::None => false,
        _ => conv.tool_results.is_none() || shape.tool || forced,
    };
    if !wanted {
        return Vec::new();
    }
    let chosen = match &conv.tool_choice {
        ToolChoice::Named(name) => conv.tools.iter().find(|t| &t.name == name).unwrap_or(first),
        _ => first,
    };
    let mut picked = vec![chosen];
    if shape.parallel {
        let second = match conv.tool_choice {
            ToolChoice::Named(_) => chosen,
            _ => conv.tools.get(1).unwrap_or(chosen),
        };
        picked.push(second);
    }
    picked
        .into_iter()
        .enumerate()
        .map(|(index, tool)| ToolCall {
            index,
            name: tool.name.clone(),
            args: sample_args(&tool.schema),
        })
        .collect()
}

/// Arguments for a schema: each required property (all properties when there is no `required`
/// list) gets a sample value by type.
pub(crate) fn sample_args(schema: &Value) -> Value {
    let mut args = Map::new();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Value::Object(args);
    };
    let names: Vec<&str> = match schema.get("required").and_then(Value::as_array) {
        Some(required) => required.iter().filter_map(Value::as_str).collect(),
        None => properties.keys().map(String::as_str).collect(),
    };
    for name in names {
        let Some(prop) = properties.get(name) else {
            continue;
        };
        args.insert(name.to_owned(), sample_value(name, prop));
    }
    Value::Object(args)
}

fn sample_value(name: &str, prop: &Value) -> Value {
    if let Some(first) = prop
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    let ty = match prop.get("type") {
        Some(Value::String(t)) => t.to_ascii_lowercase(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("null"))
            .unwrap_or("string")
            .to_ascii_lowercase(),
        _ => "string".to_owned(),
    };
    match ty.as_str() {
        "number" | "integer" => Value::from(1),
        "boolean" => Value::Bool(true),
        "array" => Value::Array(Vec::new()),
        "object" => Value::Object(Map::new()),
        _ => {
            let lower = name.to_ascii_lowercase();
            if lower.contains("city") || lower.contains("location") {
                Value::from("Paris")
            } else {
                Value::from("sample")
            }
        }
    }
}

/// Splits `text` into up to `n` non-empty pieces of about equal length (on char boundaries).
pub(crate) fn pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let n = n.clamp(1, chars.len());
    (0..n)
        .map(|i| {
            let start = chars.len() * i / n;
            let end = chars.len() * (i + 1) / n;
            chars[start..end].iter().collect()
        })
        .filter(|p: &String| !p.is_empty())
        .collect()
}

/// Text of a content value that is either a string or an array of `{type:"text", text}` parts.
pub(crate) fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sample_args_by_type() {
        let schema = json!({
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
                "verbose": {"type": "boolean"},
                "tags": {"type": "array"},
                "extra": {"type": "object"},
                "note": {"type": ["string", "null"]}
            },
            "required": ["city", "unit", "days", "verbose", "tags", "extra", "note", "missing"]
        });
        assert_eq!(
            sample_args(&schema),
            json!({"city": "Paris", "unit": "celsius", "days": 1, "verbose": true,
                   "tags": [], "extra": {}, "note": "sample"})
        );
        let no_required = json!({"properties": {"location": {"type": "STRING"}}});
        assert_eq!(sample_args(&no_required), json!({"location": "Paris"}));
        assert_eq!(sample_args(&json!({})), json!({}));
    }

    #[test]
    fn pieces_cover_text() {
        let p = pieces("Hello, world", 3);
        assert_eq!(p.len(), 3);
        assert_eq!(p.concat(), "Hello, world");
        assert_eq!(pieces("ab", 3), vec!["a", "b"]);
        assert!(pieces("", 3).is_empty());
        assert_eq!(pieces("{}", 2), vec!["{", "}"]);
    }

    #[test]
    fn tool_result_reply_quotes_result() {
        let conv = Conversation {
            model: "m".to_owned(),
            tool_results: Some("x".repeat(300)),
            tools: vec![ToolDecl {
                name: "f".to_owned(),
                schema: json!({}),
            }],
            ..Conversation::default()
        };
        let reply = build(Protocol::OpenAi, &conv, Shape::default());
        assert!(reply.calls.is_empty());
        assert_eq!(
            reply.text.as_deref(),
            Some(format!("The tool returned: {}", "x".repeat(200)).as_str())
        );
        let forced = Shape {
            tool: true,
            parallel: true,
            ..Shape::default()
        };
        let reply = build(Protocol::OpenAi, &conv, forced);
        assert_eq!(reply.calls.len(), 2);
        assert_eq!(reply.finish, Finish::ToolCalls);
    }
}
