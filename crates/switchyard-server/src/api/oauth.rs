//! `/api/oauth/*`: OAuth sign-in ([`switchyard_core::oauth`]).
//!
//! `providers`, `start` and `complete` are behind the admin key like the rest of `/api`;
//! `callback` is not (the browser lands there from the provider, without the key): it is
//! protected by the single-use, expiring `state`, and answers a small HTML page that
//! shows no secret.

use super::json;
use crate::error::ApiFailure;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use switchyard_core::oauth::OAuthError;
use switchyard_core::oauth::flow::CallbackParams;
use switchyard_types::oauth::{
    CompleteOAuth, OAuthProviderList, OAuthSignedIn, OAuthStarted, StartOAuth,
};

/// `GET /api/oauth/providers`.
pub async fn providers(State(state): State<AppState>) -> Json<OAuthProviderList> {
    Json(state.oauth.providers())
}

/// `POST /api/oauth/start`.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<OAuthStarted>, ApiFailure> {
    let request: StartOAuth = json::read(body).await?;
    let origin = origin(&headers);
    Ok(Json(state.oauth.start(request, origin.as_deref()).await?))
}

/// `POST /api/oauth/complete`.
pub async fn complete(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<OAuthSignedIn>, ApiFailure> {
    let request: CompleteOAuth = json::read(body).await?;
    Ok(Json(state.oauth.complete(&request.url).await?))
}

/// `GET /api/oauth/callback?code=&state=` (no admin key).
pub async fn callback(
    State(state): State<AppState>,
    params: Result<Query<CallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = params.map(|Query(p)| p).unwrap_or_default();
    match state.oauth.finish(params).await {
        Ok(done) => page(
            StatusCode::OK,
            "Signed in",
            &format!(
                "The account “{}” is {}. You can close this window.",
                done.account.label,
                if done.created { "added" } else { "updated" }
            ),
        ),
        Err(e) => {
            // Anyone can call this: a made-up state is not worth a log line by default.
            let unknown = matches!(e, OAuthError::UnknownState);
            let failure = ApiFailure::from(e);
            if unknown {
                tracing::debug!(code = %failure.error.code, "OAuth callback refused");
            } else {
                tracing::info!(code = %failure.error.code, "OAuth callback refused");
            }
            page(failure.status, "Sign-in failed", &failure.error.message)
        }
    }
}

/// `scheme://host[:port]` of the request, from `X-Forwarded-Proto` / `X-Forwarded-Host`
/// when a proxy set them, else `http` and `Host`. Hosts with characters outside a host
/// name's are ignored (no redirect URI is built from them).
fn origin(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let host = get("x-forwarded-host").or_else(|| get("host"))?;
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return None;
    }
    let scheme = match get("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A small self-contained page: no script, no external resource, not cached, and no
/// referrer (the address holds the one-time code).
fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Switchyard: {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}}</style>\
         </head><body><h1>{title}</h1><p>{message}</p></body></html>",
        title = escape(title),
        message = escape(message),
    );
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_follows_the_proxy_headers_and_refuses_odd_hosts() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:8045"));
        assert_eq!(origin(&h).as_deref(), Some("http://127.0.0.1:8045"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("gw.example.com"),
        );
        assert_eq!(origin(&h).as_deref(), Some("https://gw.example.com"));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("evil.example/x?"),
        );
        assert_eq!(origin(&h), None);
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }
}
