//! Tools, tool choice and `generationConfig` ↔ IR (the non-message parts of a request).

use serde_json::{Map, Value, json};
use switchyard_types::ir::{
    ChatRequest, Effort, Reasoning, ResponseFormat, Sampling, Tool, ToolChoice,
};

use super::wire;
use crate::translate::TranslateError;
use crate::translate::schema::{
    clean_for_gemini, gemini_to_json_schema, is_valid_function_name, sanitize_function_name,
};

/// Sampling settings of `generationConfig`; what cannot be translated is refused.
pub fn decode_sampling(config: &wire::GenerationConfig) -> Result<Sampling, TranslateError> {
    if config.candidate_count.is_some_and(|n| n > 1) {
        return Err(TranslateError::unsupported(
            "generationConfig.candidateCount",
            "only one candidate can be generated through this gateway",
        ));
    }
    if let Some(m) = config
        .response_modalities
        .iter()
        .find(|m| !m.eq_ignore_ascii_case("TEXT"))
    {
        return Err(TranslateError::unsupported(
            "generationConfig.responseModalities",
            format!("only TEXT output can be translated, not {m}"),
        ));
    }
    let top_k = match config.top_k {
        None => None,
        Some(k) if k.is_finite() && k >= 0.0 => Some(k.round().min(f64::from(u32::MAX)) as u32),
        Some(_) => {
            return Err(TranslateError::field(
                "generationConfig.topK",
                "must be a non-negative number",
            ));
        }
    };
    Ok(Sampling {
        temperature: config.temperature,
        top_p: config.top_p,
        top_k,
        seed: config.seed,
        presence_penalty: config.presence_penalty,
        frequency_penalty: config.frequency_penalty,
    })
}

pub fn decode_tools(tools: &[wire::Tool]) -> Result<Vec<Tool>, TranslateError> {
    let mut out = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        if let Some(key) = tool.other.keys().next() {
            return Err(TranslateError::unsupported(
                format!("tools[{i}].{key}"),
                "built-in Gemini tools cannot be translated; only functionDeclarations",
            ));
        }
        for decl in &tool.function_declarations {
            let parameters = match (&decl.parameters_json_schema, &decl.parameters) {
                (Some(schema), _) => schema.clone(),
                (None, Some(schema)) => gemini_to_json_schema(schema),
                (None, None) => json!({"type": "object"}),
            };
            out.push(Tool {
                name: decl.name.clone(),
                description: decl.description.clone(),
                parameters,
            });
        }
    }
    Ok(out)
}

pub fn decode_tool_choice(
    config: Option<&wire::ToolConfig>,
) -> Result<Option<ToolChoice>, TranslateError> {
    let Some(fc) = config.and_then(|c| c.function_calling_config.as_ref()) else {
        return Ok(None);
    };
    let Some(mode) = fc.mode.as_deref() else {
        return Ok(None);
    };
    let choice = match mode.to_ascii_uppercase().as_str() {
        "MODE_UNSPECIFIED" => return Ok(None),
        "AUTO" | "VALIDATED" => ToolChoice::Auto,
        "NONE" => ToolChoice::None,
        "ANY" => match fc.allowed_function_names.as_slice() {
            [only] => ToolChoice::Named(only.clone()),
            _ => ToolChoice::Required,
        },
        _ => {
            return Err(TranslateError::field(
                "toolConfig.functionCallingConfig.mode",
                format!("unknown mode `{mode}`; use AUTO, ANY, NONE or VALIDATED"),
            ));
        }
    };
    Ok(Some(choice))
}

pub fn decode_response_format(
    config: &wire::GenerationConfig,
) -> Result<Option<ResponseFormat>, TranslateError> {
    let schema = match (&config.response_json_schema, &config.response_schema) {
        (Some(schema), _) => Some(schema.clone()),
        (None, Some(schema)) => Some(gemini_to_json_schema(schema)),
        (None, None) => None,
    };
    let mime = config
        .response_mime_type
        .as_deref()
        .map(|m| m.trim().to_ascii_lowercase());
    match (mime.as_deref(), schema) {
        (None, None) => Ok(None),
        (Some("application/json"), Some(schema)) => Ok(Some(ResponseFormat::JsonSchema {
            name: "response".to_owned(),
            schema,
            strict: false,
        })),
        (Some("application/json"), None) => Ok(Some(ResponseFormat::JsonObject)),
        (Some("text/plain"), None) => Ok(Some(ResponseFormat::Text)),
        (None | Some("text/plain"), Some(_)) => Err(TranslateError::field(
            "generationConfig.responseSchema",
            "needs responseMimeType `application/json`",
        )),
        (Some(other), _) => Err(TranslateError::unsupported(
            "generationConfig.responseMimeType",
            format!("`{other}` cannot be translated; use application/json or text/plain"),
        )),
    }
}

pub fn decode_thinking(config: &wire::ThinkingConfig) -> Result<Reasoning, TranslateError> {
    let effort = match config
        .thinking_level
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("THINKING_LEVEL_UNSPECIFIED") => None,
        Some("MINIMAL") => Some(Effort::Minimal),
        Some("LOW") => Some(Effort::Low),
        Some("MEDIUM") => Some(Effort::Medium),
        Some("HIGH") => Some(Effort::High),
        Some(_) => {
            return Err(TranslateError::field(
                "generationConfig.thinkingConfig.thinkingLevel",
                "use MINIMAL, LOW, MEDIUM or HIGH",
            ));
        }
    };
    Ok(Reasoning {
        effort,
        budget_tokens: config.thinking_budget,
        include_thoughts: config.include_thoughts.unwrap_or(false),
    })
}

pub fn check_name(field: impl Into<String>, name: &str) -> Result<(), TranslateError> {
    if is_valid_function_name(name) {
        return Ok(());
    }
    Err(TranslateError::unsupported(
        field,
        format!(
            "Gemini rejects the function name `{name}` (a letter or `_` first, then [a-zA-Z0-9_.:-], at most \
             64 characters); rename it, e.g. `{}`",
            sanitize_function_name(name)
        ),
    ))
}

pub fn encode_tools(tools: &[Tool]) -> Result<Vec<wire::Tool>, TranslateError> {
    if tools.is_empty() {
        return Ok(Vec::new());
    }
    let mut declarations = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        check_name(format!("tools[{i}].name"), &tool.name)?;
        let cleaned = clean_for_gemini(&tool.parameters);
        // A function without arguments is declared without `parameters` (older models
        // reject an OBJECT with no properties).
        let no_properties = cleaned
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        let object_type = cleaned
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(|t| t.eq_ignore_ascii_case("object"));
        let parameters = if no_properties && object_type {
            None
        } else {
            Some(cleaned)
        };
        declarations.push(wire::FunctionDeclaration {
            name: tool.name.clone(),
            description: tool.description.clone(),
            parameters,
            parameters_json_schema: None,
        });
    }
    Ok(vec![wire::Tool {
        function_declarations: declarations,
        other: Map::new(),
    }])
}

pub fn encode_tool_choice(choice: &ToolChoice) -> Result<wire::ToolConfig, TranslateError> {
    let (mode, allowed) = match choice {
        ToolChoice::Auto => ("AUTO", Vec::new()),
        ToolChoice::None => ("NONE", Vec::new()),
        ToolChoice::Required => ("ANY", Vec::new()),
        ToolChoice::Named(name) => {
            check_name("tool_choice", name)?;
            ("ANY", vec![name.clone()])
        }
    };
    let config = wire::FunctionCallingConfig {
        mode: Some(mode.to_owned()),
        allowed_function_names: allowed,
    };
    Ok(wire::ToolConfig {
        function_calling_config: Some(config),
    })
}

pub fn encode_generation_config(request: &ChatRequest) -> wire::GenerationConfig {
    let s = &request.sampling;
    let mut config = wire::GenerationConfig {
        max_output_tokens: request.max_output_tokens,
        temperature: s.temperature,
        top_p: s.top_p,
        top_k: s.top_k.map(f64::from),
        seed: s.seed,
        stop_sequences: request.stop.clone(),
        presence_penalty: s.presence_penalty,
        frequency_penalty: s.frequency_penalty,
        ..wire::GenerationConfig::default()
    };
    let (mime, schema) = match &request.response_format {
        None => (None, None),
        Some(ResponseFormat::Text) => (Some("text/plain"), None),
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            (Some("application/json"), Some(clean_for_gemini(schema)))
        }
    };
    config.response_mime_type = mime.map(str::to_owned);
    config.response_schema = schema;
    if let Some(r) = &request.reasoning {
        config.thinking_config = Some(wire::ThinkingConfig {
            include_thoughts: r.include_thoughts.then_some(true),
            thinking_budget: r.budget_tokens.or_else(|| r.effort.map(Effort::budget)),
            thinking_level: None,
        });
    }
    config
}
