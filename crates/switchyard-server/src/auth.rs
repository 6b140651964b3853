//! Who is calling: client keys on proxy routes, the admin key on `/api/*`.

use crate::error::{ApiFailure, ProxyError};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use std::sync::Arc;
use switchyard_core::crypto::KeyDigest;
use switchyard_core::keyring::KeyPolicy;

/// Where the client put its key; also a hint of which protocol it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Bearer,
    XApiKey,
    XGoogApiKey,
    Query,
}

/// The key presented by the client, in the contract's order of precedence.
pub fn presented_key<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
) -> Option<(std::borrow::Cow<'a, str>, KeySource)> {
    if let Some(token) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
    {
        return Some((token.into(), KeySource::Bearer));
    }
    for (name, source) in [
        ("x-api-key", KeySource::XApiKey),
        ("x-goog-api-key", KeySource::XGoogApiKey),
    ] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            return Some((v.trim().into(), source));
        }
    }
    query_param(query?, "key").map(|k| (k, KeySource::Query))
}

/// The token of an `Authorization: Bearer <token>` value. The scheme word is matched in
/// any case (RFC 9110 §11.1: auth schemes are case-insensitive) and may be followed by
/// any run of spaces or tabs.
pub fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// One query parameter, percent-decoded.
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return s.into();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned().into()
}

/// Authenticate a proxy request's client key: a known key, enabled and not expired.
/// The key's policy comes along (the edge checks its model list and limits).
pub fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Arc<KeyPolicy>, ProxyError> {
    let policy = identify_client(state, headers, query)?;
    policy.check_access(switchyard_core::store::now_unix)?;
    Ok(policy)
}

/// A known client key's policy, enabled or not, expired or not (the edge logs which key
/// was refused, then checks).
pub fn identify_client(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Arc<KeyPolicy>, ProxyError> {
    let (key, _) = presented_key(headers, query).ok_or(ProxyError::MissingKey)?;
    if key.is_empty() {
        return Err(ProxyError::MissingKey);
    }
    state.keys.authenticate(&key).ok_or(ProxyError::InvalidKey)
}

/// Middleware for `/api/*`: `Authorization: Bearer <admin key>` (scheme in any case),
/// compared in constant time.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_admin(request.headers(), &state.admin_key) {
        next.run(request).await
    } else {
        ApiFailure::unauthorized().into_response()
    }
}

/// Whether `headers` carry the admin key as a bearer token.
fn is_admin(headers: &HeaderMap, admin_key: &KeyDigest) -> bool {
    bearer_digest(headers).is_some_and(|k| k.ct_eq(admin_key))
}

/// Whether `headers` may read `GET /metrics`: the admin key or the metrics key.
pub fn may_scrape(headers: &HeaderMap, state: &AppState) -> bool {
    bearer_digest(headers).is_some_and(|k| {
        // Both compared, in constant time each, whatever the first says.
        let admin = k.ct_eq(&state.admin_key);
        let metrics = state.metrics_key.as_ref().is_some_and(|m| k.ct_eq(m));
        admin | metrics
    })
}

fn bearer_digest(headers: &HeaderMap) -> Option<KeyDigest> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(KeyDigest::of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn key_sources_in_order() {
        let mut h = HeaderMap::new();
        assert!(presented_key(&h, None).is_none());
        assert_eq!(
            presented_key(&h, Some("alt=sse&key=abc%2Bd")).unwrap(),
            ("abc+d".into(), KeySource::Query)
        );
        h.insert("x-goog-api-key", HeaderValue::from_static("g"));
        assert_eq!(
            presented_key(&h, Some("key=q")).unwrap().1,
            KeySource::XGoogApiKey
        );
        h.insert("x-api-key", HeaderValue::from_static("a"));
        assert_eq!(
            presented_key(&h, None).unwrap(),
            ("a".into(), KeySource::XApiKey)
        );
        h.insert("authorization", HeaderValue::from_static("Bearer b"));
        assert_eq!(
            presented_key(&h, None).unwrap(),
            ("b".into(), KeySource::Bearer)
        );
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let admin = KeyDigest::of("adm-key");
        for value in [
            "Bearer adm-key",
            "bearer adm-key",
            "BEARER adm-key",
            "bEaReR  adm-key ",
            "Bearer\tadm-key",
        ] {
            let mut h = HeaderMap::new();
            h.insert("authorization", HeaderValue::from_str(value).unwrap());
            assert!(is_admin(&h, &admin), "{value:?}");
            assert_eq!(
                presented_key(&h, None).unwrap(),
                ("adm-key".into(), KeySource::Bearer),
                "{value:?}"
            );
        }
        for value in [
            "Basic adm-key",
            "Bearer",
            "Beareradm-key",
            "Bearer other",
            "adm-key",
        ] {
            let mut h = HeaderMap::new();
            h.insert("authorization", HeaderValue::from_str(value).unwrap());
            assert!(!is_admin(&h, &admin), "{value:?}");
        }
        assert!(!is_admin(&HeaderMap::new(), &admin));
    }

    #[test]
    fn percent_decoding_is_total() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%41+b"), "A b");
    }
}
