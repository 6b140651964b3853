//! `generateContent` request body ↔ IR. See the module docs of [`super`] for the mapping.

use std::collections::HashMap;

use serde_json::{Value, json};
use switchyard_types::ir::{ChatRequest, Message, Part, Role, ToolResultContent};

use super::config;
use super::parts::{self, PartEncoder};
use super::wire::{self, GenerateContentRequest};
use crate::translate::{TranslateError, ids};

/// Seed of ids synthesized for `functionCall`s without one in a client's history: stable
/// for the same call position, so a growing conversation keeps its earlier ids.
const CALL_ID_SEED: &str = "gemini-request-call";
/// Seed for a `functionResponse` that matches no call.
const RESULT_ID_SEED: &str = "gemini-request-result";

/// Google's documented placeholder for function calls whose history did not come from
/// Gemini (protocols.md §3.8, §4.6).
pub const DUMMY_SIGNATURE: &str = "skip_thought_signature_validator";

// ---------------------------------------------------------------------------------------
// Decode: client body → IR.

pub fn decode_request(
    body: &[u8],
    model: &str,
    stream: bool,
) -> Result<ChatRequest, TranslateError> {
    let req: GenerateContentRequest = wire::parse_client(body)?;
    let system = decode_system(req.system_instruction.as_ref())?;
    let messages = decode_contents(&req.contents)?;
    let tools = config::decode_tools(&req.tools)?;
    let tool_choice = config::decode_tool_choice(req.tool_config.as_ref())?;
    let generation = req.generation_config.unwrap_or_default();
    let sampling = config::decode_sampling(&generation)?;
    let response_format = config::decode_response_format(&generation)?;
    let reasoning = generation
        .thinking_config
        .as_ref()
        .map(config::decode_thinking)
        .transpose()?;
    Ok(ChatRequest {
        model: model.to_owned(),
        system,
        messages,
        tools,
        tool_choice,
        parallel_tool_calls: None,
        sampling,
        stop: generation.stop_sequences,
        max_output_tokens: generation.max_output_tokens,
        response_format,
        reasoning,
        stream,
        // Gemini streams always carry usageMetadata.
        include_usage: true,
        user: None,
    })
}

fn decode_system(system: Option<&wire::Content>) -> Result<Vec<String>, TranslateError> {
    let Some(system) = system else {
        return Ok(Vec::new());
    };
    let mut pieces = Vec::new();
    for (j, part) in system.parts.iter().enumerate() {
        match &part.text {
            Some(text) if part.thought != Some(true) => {
                if !text.is_empty() {
                    pieces.push(text.clone());
                }
            }
            Some(_) => {}
            None if part == &wire::Part::default() || part.thought_signature.is_some() => {}
            None => {
                return Err(TranslateError::unsupported(
                    format!("systemInstruction.parts[{j}]"),
                    "only text can be translated in a system instruction",
                ));
            }
        }
    }
    Ok(pieces)
}

/// The calls of the latest model turn, for `functionResponse`s that come without an id.
#[derive(Debug, Default)]
struct Calls {
    /// (id, name, answered)
    turn: Vec<(String, String, bool)>,
    /// Calls seen in the whole request (the position in synthesized ids).
    count: usize,
    /// Responses that matched no call.
    orphans: usize,
}

impl Calls {
    fn answer(&mut self, id: Option<&str>, name: &str) -> String {
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            if let Some(call) = self.turn.iter_mut().find(|c| c.0 == id) {
                call.2 = true;
            }
            return id.to_owned();
        }
        if let Some(call) = self.turn.iter_mut().find(|c| !c.2 && c.1 == name) {
            call.2 = true;
            return call.0.clone();
        }
        self.orphans += 1;
        ids::synthesize(RESULT_ID_SEED, self.orphans - 1, name)
    }
}

fn decode_contents(contents: &[wire::Content]) -> Result<Vec<Message>, TranslateError> {
    let mut messages = Vec::new();
    let mut calls = Calls::default();
    let mut previous: Option<Role> = None;
    for (i, content) in contents.iter().enumerate() {
        let role = match content.role.as_deref() {
            None | Some("" | "user" | "function") => Role::User,
            Some("model") => Role::Assistant,
            Some(other) => {
                return Err(TranslateError::field(
                    format!("contents[{i}].role"),
                    format!("unknown role `{other}`; use `user` or `model`"),
                ));
            }
        };
        // A model turn may span several consecutive contents (chat SDKs keep one per chunk).
        if role == Role::Assistant && previous != Some(Role::Assistant) {
            calls.turn.clear();
        }
        previous = Some(role);
        let mut parts = Vec::new();
        for (j, part) in content.parts.iter().enumerate() {
            decode_part(
                part,
                role,
                &format!("contents[{i}].parts[{j}]"),
                &mut calls,
                &mut parts,
            )?;
        }
        if !parts.is_empty() {
            messages.push(Message { role, parts });
        }
    }
    Ok(messages)
}

fn decode_part(
    part: &wire::Part,
    role: Role,
    at: &str,
    calls: &mut Calls,
    out: &mut Vec<Part>,
) -> Result<(), TranslateError> {
    if part.executable_code.is_some() {
        return Err(TranslateError::unsupported(
            format!("{at}.executableCode"),
            "code execution cannot be translated",
        ));
    }
    if part.code_execution_result.is_some() {
        return Err(TranslateError::unsupported(
            format!("{at}.codeExecutionResult"),
            "code execution cannot be translated",
        ));
    }
    let data_fields = [
        part.text.is_some(),
        part.inline_data.is_some(),
        part.file_data.is_some(),
        part.function_call.is_some(),
        part.function_response.is_some(),
    ];
    if data_fields.iter().filter(|set| **set).count() > 1 {
        return Err(TranslateError::field(
            at,
            "a part must set exactly one data field",
        ));
    }
    let signature = part
        .thought_signature
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(parts::signature);
    if part.thought == Some(true) && part.function_call.is_none() {
        let text = part.text.clone().unwrap_or_default();
        if !text.is_empty() || signature.is_some() {
            out.push(Part::Thinking { text, signature });
        }
        return Ok(());
    }
    if let Some(signature) = signature {
        out.push(Part::Thinking {
            text: String::new(),
            signature: Some(signature),
        });
    }
    if let Some(text) = &part.text {
        if !text.is_empty() {
            out.push(Part::Text { text: text.clone() });
        }
    } else if part.inline_data.is_some() || part.file_data.is_some() {
        let mime = match (&part.inline_data, &part.file_data) {
            (Some(blob), _) => Some((format!("{at}.inlineData.mimeType"), blob.mime_type.as_str())),
            (None, Some(file)) => file
                .mime_type
                .as_deref()
                .map(|m| (format!("{at}.fileData.mimeType"), m)),
            (None, None) => None,
        };
        if let Some((field, mime)) = mime
            && !mime.starts_with("image/")
        {
            return Err(TranslateError::unsupported(
                field,
                format!("only images can be translated, not {mime}"),
            ));
        }
        out.extend(parts::ir_image(part));
    } else if let Some(call) = &part.function_call {
        if role != Role::Assistant {
            return Err(TranslateError::field(
                format!("{at}.functionCall"),
                "only `model` turns may call functions",
            ));
        }
        if call.name.is_empty() {
            return Err(TranslateError::field(
                format!("{at}.functionCall.name"),
                "must not be empty",
            ));
        }
        let id = match call.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => id.to_owned(),
            None => ids::synthesize(CALL_ID_SEED, calls.count, &call.name),
        };
        calls.count += 1;
        calls.turn.push((id.clone(), call.name.clone(), false));
        out.push(Part::ToolCall {
            id,
            name: call.name.clone(),
            arguments: parts::args_text(call.args.as_ref()),
        });
    } else if let Some(response) = &part.function_response {
        if role != Role::User {
            return Err(TranslateError::field(
                format!("{at}.functionResponse"),
                "function responses belong in a `user` turn",
            ));
        }
        let id = calls.answer(response.id.as_deref(), &response.name);
        let text = match &response.response {
            Value::Null => "{}".to_owned(),
            other => other.to_string(),
        };
        out.push(Part::ToolResult {
            id,
            name: Some(response.name.clone()),
            content: vec![ToolResultContent::Text { text }],
            is_error: false,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Encode: IR → body for a Gemini upstream (the model goes in the URL).

pub fn encode_request(request: &ChatRequest) -> Result<Vec<u8>, TranslateError> {
    let mut body = GenerateContentRequest::default();
    let system = request.system.join("\n\n");
    let mut contents = encode_messages(&request.messages)?;
    if !system.is_empty() {
        if contents.is_empty() {
            // Gemini needs at least one content; a system-only request becomes the user turn.
            contents.push(wire::Content {
                parts: vec![wire::Part::text(system)],
                role: Some("user".to_owned()),
            });
        } else {
            body.system_instruction = Some(wire::Content {
                parts: vec![wire::Part::text(system)],
                role: None,
            });
        }
    }
    body.contents = contents;
    body.tools = config::encode_tools(&request.tools)?;
    if let Some(choice) = &request.tool_choice {
        body.tool_config = Some(config::encode_tool_choice(choice)?);
    }
    let generation = config::encode_generation_config(request);
    if generation != wire::GenerationConfig::default() {
        body.generation_config = Some(generation);
    }
    Ok(wire::to_json(&body))
}

fn encode_messages(messages: &[Message]) -> Result<Vec<wire::Content>, TranslateError> {
    let mut contents: Vec<wire::Content> = Vec::new();
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for (i, message) in messages.iter().enumerate() {
        let role = match message.role {
            Role::User => "user",
            Role::Assistant => "model",
        };
        let mut enc = PartEncoder::default();
        let mut trailing = Vec::new();
        for (j, part) in message.parts.iter().enumerate() {
            let at = format!("messages[{i}].parts[{j}]");
            match part {
                Part::Text { text } => {
                    if !text.is_empty() {
                        enc.push(wire::Part::text(text.clone()));
                    }
                }
                Part::Image { source } => {
                    enc.push(
                        parts::image_part(source)
                            .map_err(|m| TranslateError::unsupported(at, m))?,
                    );
                }
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    config::check_name(format!("{at}.name"), name)?;
                    call_names.insert(id, name);
                    let call = wire::FunctionCall {
                        id: None,
                        name: name.clone(),
                        args: Some(parts::args_object(arguments)),
                    };
                    enc.push(wire::Part {
                        function_call: Some(call),
                        ..wire::Part::default()
                    });
                }
                Part::ToolResult {
                    id,
                    name,
                    content,
                    is_error,
                } => {
                    let Some(name) = name
                        .as_deref()
                        .or_else(|| call_names.get(id.as_str()).copied())
                    else {
                        return Err(TranslateError::field(
                            at,
                            format!(
                                "no earlier tool call has id `{id}`; Gemini needs the function name"
                            ),
                        ));
                    };
                    config::check_name(format!("{at}.name"), name)?;
                    let response = tool_response(content, *is_error);
                    let reply = wire::FunctionResponse {
                        id: None,
                        name: name.to_owned(),
                        response,
                    };
                    enc.push(wire::Part {
                        function_response: Some(reply),
                        ..wire::Part::default()
                    });
                    for item in content {
                        if let ToolResultContent::Image { source } = item {
                            let image = parts::image_part(source)
                                .map_err(|m| TranslateError::unsupported(&at, m))?;
                            trailing.push(image);
                        }
                    }
                }
                Part::Thinking { text, signature } => enc.thinking(text, signature.as_ref(), false),
                Part::RedactedThinking { .. } => {}
            }
        }
        for image in trailing {
            enc.push(image);
        }
        let parts = enc.finish();
        if parts.is_empty() {
            continue;
        }
        match contents.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => contents.push(wire::Content {
                parts,
                role: Some(role.to_owned()),
            }),
        }
    }
    for content in contents
        .iter_mut()
        .filter(|c| c.role.as_deref() == Some("model"))
    {
        if let Some(first_call) = content.parts.iter_mut().find(|p| p.function_call.is_some())
            && first_call.thought_signature.is_none()
        {
            first_call.thought_signature = Some(DUMMY_SIGNATURE.to_owned());
        }
    }
    Ok(contents)
}

/// A tool result as `functionResponse.response` (an object): the text if it is a JSON
/// object, else `{"result": text}`; errors as `{"error": …}`.
fn tool_response(content: &[ToolResultContent], is_error: bool) -> Value {
    let text: Vec<&str> = content
        .iter()
        .filter_map(|c| match c {
            ToolResultContent::Text { text } => Some(text.as_str()),
            ToolResultContent::Image { .. } => None,
        })
        .collect();
    let text = text.join("\n");
    let parsed = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Some(Value::Object(m)),
        _ => None,
    };
    match (parsed, is_error) {
        (Some(object), false) => object,
        (None, false) => json!({"result": text}),
        (Some(object), true) => json!({"error": object}),
        (None, true) => json!({"error": text}),
    }
}
