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

/// Read at most `limit` bytes, or fail with 413; a body that does not arrive within the
/// server's body timeout (its clock is in the body: `conn::DeadlineBody`) fails with 408.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<http_body_util::LengthLimitError>() {
                return ProxyError::BodyTooLarge { limit };
            }
            if let Some(crate::conn::BodyTimedOut(after)) = s.downcast_ref() {
                return ProxyError::BodyTimeout(*after);
            }
            source = s.source();
        }
        ProxyError::BodyRead(e.to_string())
    })
}

/// Deserialise the routing probe `T` from `bytes`, naming the field at fault.
pub fn probe<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ProxyError> {
    switchyard_core::translate::json::parse_client(bytes).map_err(ProxyError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IgnoredAny;

    #[derive(Debug, Deserialize)]
    struct P {
        #[expect(dead_code, reason = "only its type is checked")]
        model: String,
        #[expect(dead_code, reason = "only its type is checked")]
        messages: Vec<IgnoredAny>,
    }

    #[test]
    fn probe_errors_become_proxy_errors() {
        assert!(matches!(probe::<P>(b"{"), Err(ProxyError::InvalidJson(_))));
        assert!(
            matches!(probe::<P>(br#"{"model": 1, "messages": []}"#), Err(ProxyError::InvalidField { field, .. }) if field == "model")
        );
        assert!(probe::<P>(br#"{"model":"m","messages":[{"x":1}],"extra":{"a":[1,2]}}"#).is_ok());
    }
}
