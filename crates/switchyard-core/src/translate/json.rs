//! Reading JSON bodies with errors that name the field at fault, shared by every codec
//! and by the server's routing probe: a client mistake becomes
//! [`TranslateError::InvalidJson`] / [`TranslateError::InvalidField`] (`messages[2].role`),
//! an unreadable upstream answer [`TranslateError::UpstreamMalformed`].

use super::TranslateError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::error::Category;
use std::borrow::Cow;

/// For `#[serde(borrow, default, deserialize_with = "…")]` on an `Option<Cow<str>>`:
/// borrows from the input when the string has no escapes (serde only does that for a
/// bare `Cow` field, not inside an `Option`).
pub fn opt_cow_str<'de, D>(deserializer: D) -> Result<Option<Cow<'de, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'de>>::deserialize(deserializer)?.map(|b| b.0))
}

/// Deserialise a client request body (a JSON object), naming the bad field.
pub fn parse_client<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, TranslateError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(TranslateError::InvalidJson(
                "the request body is empty".to_owned(),
            ));
        }
        // serde accepts a JSON array for a struct; an API body is always an object.
        Some(b) if *b != b'{' => {
            return Err(TranslateError::field("(body)", "must be a JSON object"));
        }
        Some(_) => {}
    }
    // Fast path without path tracking; only a body that fails is parsed again to name
    // the field (the same input fails the same way).
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| path_error("", e))?;
    de.end()
        .map_err(|e| TranslateError::InvalidJson(e.to_string()))?;
    Ok(value)
}

/// Deserialise a piece of a client body found at `prefix` (e.g. `messages[2]`).
pub fn parse_client_at<'a, T: Deserialize<'a>>(
    value: &'a Value,
    prefix: &str,
) -> Result<T, TranslateError> {
    // As in `parse_client`: path tracking only for a piece that fails.
    if let Ok(piece) = T::deserialize(value) {
        return Ok(piece);
    }
    serde_path_to_error::deserialize(value).map_err(|e| path_error(prefix, e))
}

/// Deserialise an upstream body; anything unreadable is `UpstreamMalformed`.
pub fn parse_upstream<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, TranslateError> {
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| TranslateError::UpstreamMalformed(format!("{}: {}", e.path(), e.inner())))?;
    de.end()
        .map_err(|e| TranslateError::UpstreamMalformed(e.to_string()))?;
    Ok(value)
}

/// `prefix` + a serde path, as one dotted/indexed field name (`""` for the root).
pub fn join_path(prefix: &str, path: &str) -> String {
    match path {
        "." | "" => prefix.to_owned(),
        p if prefix.is_empty() => p.to_owned(),
        p if p.starts_with('[') => format!("{prefix}{p}"),
        p => format!("{prefix}.{p}"),
    }
}

fn path_error(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> TranslateError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if matches!(inner.classify(), Category::Syntax | Category::Eof) {
        return TranslateError::InvalidJson(inner.to_string());
    }
    let text = inner.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text);
    let at = join_path(prefix, &path);
    // serde reports a missing field at the parent's path; name the field itself.
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(name) = rest.split('`').next()
    {
        return TranslateError::field(join_path(&at, name), "is required");
    }
    let field = if at.is_empty() {
        "(body)".to_owned()
    } else {
        at
    };
    TranslateError::field(field, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IgnoredAny;

    #[derive(Debug, Deserialize)]
    struct Named<'a> {
        #[serde(borrow, default, deserialize_with = "opt_cow_str")]
        name: Option<Cow<'a, str>>,
    }

    #[test]
    fn optional_strings_borrow_unless_escaped() {
        let plain: Named<'_> = serde_json::from_str(r#"{"name":"gpt"}"#).unwrap();
        assert!(matches!(plain.name, Some(Cow::Borrowed("gpt"))));
        let escaped: Named<'_> = serde_json::from_str(r#"{"name":"a\"b"}"#).unwrap();
        assert!(matches!(escaped.name, Some(Cow::Owned(ref s)) if s == "a\"b"));
        let null: Named<'_> = serde_json::from_str(r#"{"name":null}"#).unwrap();
        assert!(null.name.is_none());
        let missing: Named<'_> = serde_json::from_str("{}").unwrap();
        assert!(missing.name.is_none());
        assert!(serde_json::from_str::<Named<'_>>(r#"{"name":1}"#).is_err());
    }

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[expect(dead_code, reason = "only its type is checked")]
        model: String,
        #[expect(dead_code, reason = "only its type is checked")]
        messages: Vec<IgnoredAny>,
    }

    fn field_of(body: &str) -> String {
        match parse_client::<Probe>(body.as_bytes()).unwrap_err() {
            TranslateError::InvalidField { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"messages": []}"#), "model");
        assert_eq!(field_of(r#"{"model": 5, "messages": []}"#), "model");
        assert_eq!(field_of(r#"{"model": "m", "messages": "hi"}"#), "messages");
        assert_eq!(field_of("[1]"), "(body)");
        assert_eq!(field_of(r#"  "text""#), "(body)");
        let v: Value = serde_json::json!({"role": 3});
        #[derive(Debug, Deserialize)]
        struct M {
            #[expect(dead_code, reason = "only its type is checked")]
            role: String,
        }
        let e = parse_client_at::<M>(&v, "messages[2]").unwrap_err();
        assert!(
            matches!(e, TranslateError::InvalidField { field, .. } if field == "messages[2].role")
        );
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
                matches!(
                    parse_client::<Probe>(bad.as_bytes()),
                    Err(TranslateError::InvalidJson(_))
                ),
                "{bad:?}"
            );
        }
        assert!(parse_upstream::<Probe>(b"{").is_err());
    }
}
