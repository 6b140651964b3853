//! Requests: a client's Chat Completions body → IR, and IR → the body for an
//! OpenAI-compatible upstream. The message list itself is handled in `messages.rs`;
//! this file maps the request-level parameters (tools, sampling, format, reasoning…).

use super::messages;
use super::wire::{
    FunctionDefIn, FunctionDefOut, JsonSchemaIn, RequestIn, RequestOut, ResponseFormatIn, StopIn,
    StreamOptionsOut, ToolIn, ToolOut,
};
use crate::translate::TranslateError;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use switchyard_types::ir::{
    ChatRequest, Effort, Reasoning, ResponseFormat, Sampling, Tool, ToolChoice,
};

/// Client body → IR. `model` and `stream` come from the body.
pub(super) fn decode_request(body: &[u8]) -> Result<ChatRequest, TranslateError> {
    let req: RequestIn = parse_body(body)?;
    if req.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::unsupported(
            "n",
            "only one choice (n = 1) can be requested",
        ));
    }
    let stream = req.stream.unwrap_or(false);
    let mut ir = ChatRequest {
        model: req.model,
        stream,
        include_usage: stream
            && req
                .stream_options
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
        max_output_tokens: req.max_completion_tokens.or(req.max_tokens),
        stop: match req.stop {
            None => Vec::new(),
            Some(StopIn::One(s)) => vec![s],
            Some(StopIn::Many(v)) => v,
        },
        sampling: Sampling {
            temperature: req.temperature,
            top_p: req.top_p,
            top_k: None,
            seed: req.seed,
            presence_penalty: req.presence_penalty,
            frequency_penalty: req.frequency_penalty,
        },
        response_format: req.response_format.map(decode_response_format),
        reasoning: req.reasoning_effort.map(|effort| Reasoning {
            effort: Some(effort),
            budget_tokens: None,
            include_thoughts: true,
        }),
        parallel_tool_calls: req.parallel_tool_calls,
        user: req.safety_identifier.or(req.user),
        ..ChatRequest::default()
    };
    ir.tools = decode_tools(
        req.tools.unwrap_or_default(),
        req.functions.unwrap_or_default(),
    )?;
    ir.tool_choice = match req.tool_choice {
        Some(v) if !v.is_null() => Some(decode_tool_choice(&v, "tool_choice")?),
        _ => match req.function_call {
            Some(v) if !v.is_null() => Some(decode_tool_choice(&v, "function_call")?),
            _ => None,
        },
    };
    messages::decode(&req.messages, &mut ir)?;
    Ok(ir)
}

fn decode_response_format(f: ResponseFormatIn) -> ResponseFormat {
    match f {
        ResponseFormatIn::Text => ResponseFormat::Text,
        ResponseFormatIn::JsonObject => ResponseFormat::JsonObject,
        ResponseFormatIn::JsonSchema {
            json_schema:
                JsonSchemaIn {
                    name,
                    schema,
                    strict,
                },
        } => ResponseFormat::JsonSchema {
            name,
            schema: schema.unwrap_or_else(|| json!({"type": "object"})),
            strict: strict.unwrap_or(false),
        },
    }
}

fn decode_tools(
    tools: Vec<ToolIn>,
    functions: Vec<FunctionDefIn>,
) -> Result<Vec<Tool>, TranslateError> {
    let mut out = Vec::with_capacity(tools.len() + functions.len());
    for (i, t) in tools.into_iter().enumerate() {
        match t.kind.as_str() {
            "function" => {
                let f = t.function.ok_or_else(|| {
                    TranslateError::field(format!("tools[{i}].function"), "is required")
                })?;
                out.push(function_to_tool(f));
            }
            "custom" => {
                return Err(TranslateError::unsupported(
                    format!("tools[{i}]"),
                    "custom (free-form) tools are not supported; use a function tool",
                ));
            }
            other => {
                return Err(TranslateError::field(
                    format!("tools[{i}].type"),
                    format!("unknown tool type `{other}`"),
                ));
            }
        }
    }
    out.extend(functions.into_iter().map(function_to_tool));
    Ok(out)
}

fn function_to_tool(f: FunctionDefIn) -> Tool {
    Tool {
        name: f.name,
        description: f.description,
        parameters: f.parameters.unwrap_or_else(|| json!({"type": "object"})),
    }
}

/// `tool_choice` (`"none"|"auto"|"required"|{type:"function",function:{name}}`) or the
/// legacy `function_call` (`"none"|"auto"|{name}`).
fn decode_tool_choice(v: &Value, field: &str) -> Result<ToolChoice, TranslateError> {
    let legacy = field == "function_call";
    match v {
        Value::String(s) => match s.as_str() {
            "none" => Ok(ToolChoice::None),
            "auto" => Ok(ToolChoice::Auto),
            "required" if !legacy => Ok(ToolChoice::Required),
            other => Err(TranslateError::field(
                field,
                format!("unknown value `{other}`"),
            )),
        },
        Value::Object(o) if legacy => match o.get("name").and_then(Value::as_str) {
            Some(name) => Ok(ToolChoice::Named(name.to_owned())),
            None => Err(TranslateError::field(
                format!("{field}.name"),
                "is required",
            )),
        },
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("function") => match o
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
            {
                Some(name) => Ok(ToolChoice::Named(name.to_owned())),
                None => Err(TranslateError::field(
                    format!("{field}.function.name"),
                    "is required",
                )),
            },
            Some("allowed_tools") => Err(TranslateError::unsupported(
                field,
                "`allowed_tools` is not supported",
            )),
            Some("custom") => Err(TranslateError::unsupported(
                field,
                "custom tools are not supported",
            )),
            Some(other) => Err(TranslateError::field(
                format!("{field}.type"),
                format!("unknown type `{other}`"),
            )),
            None => Err(TranslateError::field(
                format!("{field}.type"),
                "is required",
            )),
        },
        _ => Err(TranslateError::field(
            field,
            "must be a string or an object",
        )),
    }
}

/// IR → body for an OpenAI-compatible upstream.
pub(super) fn encode_request(ir: &ChatRequest) -> Result<Vec<u8>, TranslateError> {
    let has_tools = !ir.tools.is_empty();
    let body = RequestOut {
        model: &ir.model,
        messages: messages::encode(ir),
        tools: has_tools.then(|| {
            ir.tools
                .iter()
                .map(|t| ToolOut {
                    kind: "function",
                    function: FunctionDefOut {
                        name: &t.name,
                        description: t.description.as_deref(),
                        parameters: &t.parameters,
                    },
                })
                .collect()
        }),
        // OpenAI rejects `tool_choice` and `parallel_tool_calls` without `tools`.
        tool_choice: ir
            .tool_choice
            .as_ref()
            .filter(|_| has_tools)
            .map(encode_tool_choice),
        parallel_tool_calls: ir.parallel_tool_calls.filter(|_| has_tools),
        temperature: ir.sampling.temperature,
        top_p: ir.sampling.top_p,
        seed: ir.sampling.seed,
        presence_penalty: ir.sampling.presence_penalty,
        frequency_penalty: ir.sampling.frequency_penalty,
        stop: (!ir.stop.is_empty()).then_some(ir.stop.as_slice()),
        max_completion_tokens: ir.max_output_tokens,
        response_format: ir.response_format.as_ref().map(encode_response_format),
        reasoning_effort: ir
            .reasoning
            .as_ref()
            .and_then(reasoning_effort)
            .map(Effort::as_str),
        stream: ir.stream,
        // Always ask for the usage chunk; the client-side encoder strips it if unwanted.
        stream_options: ir.stream.then_some(StreamOptionsOut {
            include_usage: true,
        }),
        user: ir.user.as_deref(),
    };
    serde_json::to_vec(&body).map_err(|e| TranslateError::field("(body)", e.to_string()))
}

fn encode_tool_choice(c: &ToolChoice) -> Value {
    match c {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Named(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn encode_response_format(f: &ResponseFormat) -> Value {
    match f {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            // OpenAI requires a name; other protocols have none.
            let name = if name.is_empty() {
                "response"
            } else {
                name.as_str()
            };
            let mut spec = json!({"name": name, "schema": schema});
            if *strict {
                spec["strict"] = json!(true);
            }
            json!({"type": "json_schema", "json_schema": spec})
        }
    }
}

/// The effort to send: the client's own, else the one its budget stands for. A dynamic
/// budget (`-1`) leaves the choice to the provider.
fn reasoning_effort(r: &Reasoning) -> Option<Effort> {
    r.effort
        .or_else(|| r.budget_tokens.filter(|b| *b >= 0).map(Effort::from_budget))
}

// ---------------------------------------------------------------- path-aware parsing

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, TranslateError> {
    crate::translate::json::parse_client(body)
}

/// Deserialise a piece of the body found at `prefix` (e.g. `messages[2]`).
pub(super) fn from_value<'a, T: serde::Deserialize<'a>>(
    v: &'a Value,
    prefix: &str,
) -> Result<T, TranslateError> {
    crate::translate::json::parse_client_at(v, prefix)
}
