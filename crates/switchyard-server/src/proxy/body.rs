//! Reading and probing request bodies.
//!
//! The body is read whole (bounded by `max_body_bytes`) because it must be replayable on
//! another account if the first fails. Only the fields routing needs are deserialised;
//! the rest is skipped by serde (`IgnoredAny`) yet still checked for well-formedness, and
//! the original bytes are what goes upstream.

use crate::error::ProxyError;
use axum::body::Body;
use bytes::Bytes;
use serde::Deserialize;

/// Read at most `limit` bytes, or fail with 413.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return ProxyError::BodyTooLarge { limit };
            }
            source = s.source();
        }
        ProxyError::BodyRead(e.to_string())
    })
}

/// Deserialise the routing probe `T` from `bytes`, naming the field at fault.
pub fn probe<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ProxyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ProxyError::InvalidJson(
            "the request body is empty".to_owned(),
        ));
    }
    // serde accepts a JSON array for a struct; an API body is always an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ProxyError::InvalidField {
            field: "(body)".to_owned(),
            message: "must be a JSON object".to_owned(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ProxyError::InvalidJson(inner.to_string())
            }
            serde_json::error::Category::Io | serde_json::error::Category::Data => {
                field_error(&path, &inner)
            }
        }
    })?;
    de.end()
        .map_err(|e| ProxyError::InvalidJson(e.to_string()))?;
    Ok(value)
}

fn field_error(path: &str, e: &serde_json::Error) -> ProxyError {
    let text = e.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
    // serde reports a missing field at the parent path; name the field itself.
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(name) = rest.split('`').next()
    {
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return ProxyError::InvalidField {
            field,
            message: "is required".to_owned(),
        };
    }
    if path == "." {
        return ProxyError::InvalidField {
            field: "(body)".to_owned(),
            message,
        };
    }
    ProxyError::InvalidField {
        field: path.to_owned(),
        message,
    }
}

/// A non-empty `model` string.
pub fn require_model(model: &str) -> Result<(), ProxyError> {
    if model.trim().is_empty() {
        return Err(ProxyError::InvalidField {
            field: "model".into(),
            message: "must not be empty".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde::de::IgnoredAny;

    #[derive(Debug, Deserialize)]
    struct P {
        #[expect(dead_code, reason = "only its type is checked")]
        model: String,
        #[expect(dead_code, reason = "only its type is checked")]
        messages: Vec<IgnoredAny>,
    }

    fn field_of(body: &str) -> String {
        match probe::<P>(body.as_bytes()).unwrap_err() {
            ProxyError::InvalidField { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"messages": []}"#), "model");
        assert_eq!(field_of(r#"{"model": 5, "messages": []}"#), "model");
        assert_eq!(field_of(r#"{"model": "m", "messages": "hi"}"#), "messages");
        assert_eq!(field_of(r#"[1]"#), "(body)");
        assert_eq!(field_of(r#"  "text""#), "(body)");
    }

    #[test]
    fn syntax_errors_are_invalid_json() {
        for bad in [
            "",
            "{",
            "{\"model\": \"m\",}",
            "{\"model\":\"m\",\"messages\":[]} trailing",
            "{nul",
        ] {
            assert!(
                matches!(probe::<P>(bad.as_bytes()), Err(ProxyError::InvalidJson(_))),
                "{bad:?}"
            );
        }
        assert!(probe::<P>(br#"{"model":"m","messages":[{"x":1}],"extra":{"a":[1,2]}}"#).is_ok());
    }
}
