//! Whole answers: IR → a `response` object for a Responses client, and a `response`
//! object → IR. Also the pieces the stream encoder shares: ids, output items, status
//! and usage.

use super::reasoning;
use super::request::{encode_format, encode_tool_choice};
use super::wire::{InputDetails, OutputDetails, ResponseIn, UsageWire};
use crate::translate::{TranslateError, ids};
use serde_json::{Map, Value, json};
use switchyard_types::ir::{ChatRequest, ChatResponse, FinishReason, Part, Usage};

/// Our ids for a response and its items, derived from the upstream's id.
#[derive(Debug, Clone)]
pub(super) struct Ids {
    /// `resp_…`.
    pub response: String,
    suffix: String,
}

impl Ids {
    pub(super) fn new(upstream_id: &str, created: i64) -> Self {
        let seed = if upstream_id.is_empty() {
            format!("switchyard-{created}")
        } else {
            upstream_id.to_owned()
        };
        let suffix = format!("{:016x}", ids::fnv1a(seed.as_bytes()));
        Self {
            response: format!("resp_{suffix}"),
            suffix,
        }
    }

    /// The id of output item `index` (`msg_`, `rs_`, `fc_`).
    pub(super) fn item(&self, prefix: &str, index: usize) -> String {
        format!("{prefix}_{}_{index}", self.suffix)
    }
}

/// `status` and `incomplete_details.reason` for a finish reason. A refusal, a stop and
/// tool calls complete; the output cap (and a full context) and a content filter end
/// `incomplete`, as OpenAI reports them.
pub(super) fn status(finish: &FinishReason) -> (&'static str, Option<&'static str>) {
    match finish {
        FinishReason::Length | FinishReason::ContextExceeded => {
            ("incomplete", Some("max_output_tokens"))
        }
        FinishReason::ContentFilter(_) => ("incomplete", Some("content_filter")),
        FinishReason::Stop
        | FinishReason::StopSequence(_)
        | FinishReason::ToolCalls
        | FinishReason::Refusal
        | FinishReason::Pause
        | FinishReason::Other(_) => ("completed", None),
    }
}

pub(super) fn encode_usage(u: &Usage) -> UsageWire {
    UsageWire {
        input_tokens: u.input_tokens,
        input_tokens_details: InputDetails {
            cached_tokens: u.cached_input_tokens,
            cache_write_tokens: u.cache_creation_input_tokens,
        },
        output_tokens: u.output_tokens,
        output_tokens_details: OutputDetails {
            reasoning_tokens: u.reasoning_tokens,
        },
        total_tokens: u.input_tokens.saturating_add(u.output_tokens),
    }
}

fn decode_usage(u: &UsageWire) -> Usage {
    Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cached_input_tokens: u.input_tokens_details.cached_tokens,
        cache_creation_input_tokens: u.input_tokens_details.cache_write_tokens,
        reasoning_tokens: u.output_tokens_details.reasoning_tokens,
    }
}

/// A `message` output item.
pub(super) fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "type": "message",
        "id": id,
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    })
}

/// A `reasoning` output item: the thinking text as its summary, what the upstream needs
/// back in `encrypted_content`.
pub(super) fn reasoning_item(id: &str, summary: &str, encrypted: Option<&str>) -> Value {
    let summary = if summary.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": summary}])
    };
    let mut item = json!({"type": "reasoning", "id": id, "summary": summary});
    if let Some(e) = encrypted {
        item["encrypted_content"] = json!(e);
    }
    item
}

/// A `function_call` output item.
pub(super) fn call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({
        "type": "function_call",
        "id": id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    })
}

/// What a `response` object says besides its output.
pub(super) struct Shell<'a> {
    pub ids: &'a Ids,
    pub model: &'a str,
    pub created: i64,
    pub status: &'static str,
    pub incomplete: Option<&'static str>,
    pub error: Option<Value>,
    pub usage: Option<&'a Usage>,
    /// The client's request, echoed where the object repeats it (streams have it).
    pub request: Option<&'a ChatRequest>,
}

/// A whole `response` object.
pub(super) fn response_object(shell: &Shell<'_>, output: Vec<Value>) -> Value {
    let r = shell.request;
    let mut o = Map::new();
    o.insert("id".into(), json!(shell.ids.response));
    o.insert("object".into(), json!("response"));
    o.insert("created_at".into(), json!(shell.created));
    o.insert("status".into(), json!(shell.status));
    if shell.status == "completed" {
        o.insert("completed_at".into(), json!(shell.created));
    }
    o.insert("background".into(), json!(false));
    o.insert("error".into(), shell.error.clone().unwrap_or(Value::Null));
    o.insert(
        "incomplete_details".into(),
        shell
            .incomplete
            .map_or(Value::Null, |reason| json!({"reason": reason})),
    );
    o.insert(
        "instructions".into(),
        r.filter(|r| !r.system.is_empty())
            .map_or(Value::Null, |r| json!(r.system.join("\n\n"))),
    );
    o.insert(
        "max_output_tokens".into(),
        json!(r.and_then(|r| r.max_output_tokens)),
    );
    o.insert("metadata".into(), json!({}));
    o.insert("model".into(), json!(shell.model));
    o.insert("output".into(), Value::Array(output));
    o.insert(
        "parallel_tool_calls".into(),
        json!(r.and_then(|r| r.parallel_tool_calls).unwrap_or(true)),
    );
    o.insert("previous_response_id".into(), Value::Null);
    let effort = r
        .and_then(|r| r.reasoning.as_ref())
        .and_then(|x| x.effort)
        .map(|e| e.as_str());
    o.insert(
        "reasoning".into(),
        json!({"effort": effort, "summary": null}),
    );
    o.insert("store".into(), json!(false));
    o.insert(
        "temperature".into(),
        json!(r.and_then(|r| r.sampling.temperature)),
    );
    let format = r
        .and_then(|r| r.response_format.as_ref())
        .map_or_else(|| json!({"type": "text"}), encode_format);
    o.insert("text".into(), json!({"format": format}));
    o.insert(
        "tool_choice".into(),
        r.and_then(|r| r.tool_choice.as_ref())
            .map_or_else(|| json!("auto"), encode_tool_choice),
    );
    let tools: Vec<Value> = r.map_or_else(Vec::new, |r| {
        r.tools
            .iter()
            .map(|t| {
                json!({"type": "function", "name": t.name, "description": t.description,
                    "parameters": t.parameters, "strict": false})
            })
            .collect()
    });
    o.insert("tools".into(), Value::Array(tools));
    o.insert("top_p".into(), json!(r.and_then(|r| r.sampling.top_p)));
    o.insert("truncation".into(), json!("disabled"));
    o.insert(
        "usage".into(),
        shell.usage.map_or(Value::Null, |u| json!(encode_usage(u))),
    );
    o.insert("user".into(), Value::Null);
    Value::Object(o)
}

/// IR → the `response` object for a client. Parts become output items in order:
/// thinking → `reasoning` (its signature sealed in `encrypted_content`), consecutive
/// text → one `message`, each tool call → a `function_call`.
pub(super) fn encode_response(r: &ChatResponse) -> Vec<u8> {
    let ids = Ids::new(&r.id, r.created);
    let mut output = Vec::new();
    let mut text: Option<String> = None;
    let flush = |text: &mut Option<String>, output: &mut Vec<Value>| {
        if let Some(t) = text.take() {
            output.push(message_item(
                &ids.item("msg", output.len()),
                &t,
                "completed",
            ));
        }
    };
    for p in &r.parts {
        match p {
            Part::Text { text: t } => text.get_or_insert_with(String::new).push_str(t),
            Part::Thinking { text: t, signature } => {
                flush(&mut text, &mut output);
                let sealed = reasoning::seal_thinking(t, signature.as_ref());
                output.push(reasoning_item(
                    &ids.item("rs", output.len()),
                    t,
                    sealed.as_deref(),
                ));
            }
            Part::RedactedThinking { data } => {
                flush(&mut text, &mut output);
                let sealed = reasoning::seal_redacted(data);
                output.push(reasoning_item(
                    &ids.item("rs", output.len()),
                    "",
                    sealed.as_deref(),
                ));
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                flush(&mut text, &mut output);
                output.push(call_item(
                    &ids.item("fc", output.len()),
                    id,
                    name,
                    arguments,
                    "completed",
                ));
            }
            Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    flush(&mut text, &mut output);
    let (status, incomplete) = status(&r.finish);
    let shell = Shell {
        ids: &ids,
        model: &r.model,
        created: r.created,
        status,
        incomplete,
        error: None,
        usage: Some(&r.usage),
        request: None,
    };
    serde_json::to_vec(&response_object(&shell, output)).unwrap_or_default()
}

/// A `response` object → IR.
pub(super) fn decode_response(body: &[u8]) -> Result<ChatResponse, TranslateError> {
    let r: ResponseIn = crate::translate::json::parse_upstream(body)?;
    if let Some(err) = r.error.as_ref().filter(|e| !e.is_null()) {
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)");
        return Err(TranslateError::UpstreamMalformed(format!(
            "error in a success response: {message}"
        )));
    }
    let mut parts = Vec::new();
    for item in &r.output {
        parts.extend(output_parts(item)?);
    }
    let has_calls = parts.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    let finish = match (r.status.as_deref(), r.incomplete_details.as_ref()) {
        (Some("incomplete"), Some(d)) if d.reason.as_deref() == Some("content_filter") => {
            FinishReason::ContentFilter("content_filter".to_owned())
        }
        (Some("incomplete"), _) => FinishReason::Length,
        _ if has_calls => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    };
    #[expect(clippy::cast_possible_truncation, reason = "Unix seconds fit in i64")]
    let created = r.created_at as i64;
    Ok(ChatResponse {
        id: r.id,
        model: r.model,
        created,
        parts,
        finish,
        usage: r.usage.as_ref().map(decode_usage).unwrap_or_default(),
    })
}

/// The text of a reasoning item's `summary` parts, joined by blank lines.
pub(super) fn summary_text(summary: Option<&Value>) -> String {
    summary
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n\n")
        })
        .unwrap_or_default()
}

/// The IR parts of one output item (unknown item types carry nothing we can use).
pub(super) fn output_parts(item: &Value) -> Result<Vec<Part>, TranslateError> {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
    Ok(match kind {
        "message" => {
            let text: String = item
                .get("content")
                .and_then(Value::as_array)
                .map(|parts| {
                    parts
                        .iter()
                        .filter_map(|p| {
                            p.get("text")
                                .or_else(|| p.get("refusal"))
                                .and_then(Value::as_str)
                        })
                        .collect()
                })
                .unwrap_or_default();
            if text.is_empty() {
                Vec::new()
            } else {
                vec![Part::Text { text }]
            }
        }
        "reasoning" => {
            let content = item.get("encrypted_content").and_then(Value::as_str);
            reasoning::open(
                content,
                summary_text(item.get("summary")),
                "encrypted_content",
            )
            .map_err(|e| TranslateError::UpstreamMalformed(e.to_string()))?
            .into_iter()
            .collect()
        }
        "function_call" => {
            let s = |k: &str| {
                item.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            vec![Part::ToolCall {
                id: s("call_id"),
                name: s("name"),
                arguments: s("arguments"),
            }]
        }
        _ => Vec::new(),
    })
}
