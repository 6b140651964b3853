//! Reading a JSON management body: bounded, deserialised with the path of a bad field,
//! then validated.

use crate::error::ApiFailure;
use axum::body::Body;
use http::StatusCode;
use serde::de::DeserializeOwned;
use validator::Validate;

/// Management bodies are small; anything larger is a mistake.
pub const MAX_API_BODY: usize = 1024 * 1024;

/// Parse and validate a request body as `T`.
pub async fn read<T: DeserializeOwned + Validate>(body: Body) -> Result<T, ApiFailure> {
    let bytes = axum::body::to_bytes(body, MAX_API_BODY)
        .await
        .map_err(|_| {
            ApiFailure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "request body over 1 MiB",
            )
        })?;
    let value: T = parse(&bytes)?;
    value.validate().map_err(|e| {
        let (field, message) = switchyard_types::admin::first_violation(&e);
        ApiFailure::invalid_field(field, message)
    })?;
    Ok(value)
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiFailure> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let text = inner.to_string();
        let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiFailure::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("invalid JSON body: {text}"),
                )
            }
            serde_json::error::Category::Io | serde_json::error::Category::Data => {
                let field = field_name(&path, &message);
                let message = if message.starts_with("missing field") {
                    "is required".to_owned()
                } else {
                    message
                };
                ApiFailure::invalid_field(field, message)
            }
        }
    })?;
    de.end().map_err(|e| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("invalid JSON body: {e}"),
        )
    })?;
    Ok(value)
}

/// The field serde complained about.
fn field_name(path: &str, message: &str) -> String {
    // A missing field is reported at its parent's path; an unknown one at its own.
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(name) = rest.split('`').next()
    {
        return if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
    }
    if path == "." {
        "(body)".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::admin::CreateAccount;

    fn field(body: &str) -> Option<String> {
        parse::<CreateAccount>(body.as_bytes())
            .unwrap_err()
            .error
            .field
    }

    #[test]
    fn names_missing_wrong_and_unknown_fields() {
        assert_eq!(
            field(r#"{"provider":"openai","label":"x"}"#).as_deref(),
            Some("api_key")
        );
        assert_eq!(
            field(r#"{"provider":"nope","label":"x","api_key":"k"}"#).as_deref(),
            Some("provider")
        );
        assert_eq!(
            field(r#"{"provider":"openai","label":3,"api_key":"k"}"#).as_deref(),
            Some("label")
        );
        assert_eq!(
            field(r#"{"provider":"openai","label":"x","api_key":"k","x":1}"#).as_deref(),
            Some("x")
        );
        assert_eq!(
            field(r#"{"provider":"openai","label":"x","api_key":"k","models":["a",1]}"#).as_deref(),
            Some("models[1]")
        );
        assert_eq!(
            parse::<CreateAccount>(b"{").unwrap_err().error.code,
            "invalid_json"
        );
    }
}
