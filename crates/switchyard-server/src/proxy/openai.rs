//! OpenAI Chat Completions: `POST /v1/chat/completions`.

use super::body;
use super::edge::{self, Edge, PassEndpoint, Route};
use super::session::{Opening, raw};
use crate::error::ProxyError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::value::RawValue;
use switchyard_core::pipeline::hidden_usage::StreamOptions;
use switchyard_core::pool::Reach;
use switchyard_types::Protocol;

/// The fields routing reads; the types of the others are checked upstream.
#[derive(Debug, Deserialize)]
struct Probe<'a> {
    model: String,
    /// Raw, borrowed: only the first two are read (the session anchor).
    #[serde(borrow)]
    messages: Opening<'a>,
    #[serde(default)]
    stream: Option<bool>,
    /// Raw: whether it asks for usage (its type is the upstream's to check).
    #[serde(default, borrow)]
    stream_options: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct StreamOptionsProbe {
    #[serde(default)]
    include_usage: Option<bool>,
}

/// How a stream request asks for usage; `None` when it does, or when
/// `stream_options` is not an object (the upstream will say what is wrong).
fn hidden_usage(stream_options: Option<&RawValue>) -> Option<StreamOptions> {
    let Some(raw) = stream_options else {
        return Some(StreamOptions::Absent);
    };
    // `null` is a key the body already has: rewritten, not spliced (a second
    // `stream_options` key would leave the upstream to pick one of the two).
    if raw.get() == "null" {
        return Some(StreamOptions::WithoutUsage);
    }
    match serde_json::from_str::<StreamOptionsProbe>(raw.get()) {
        Ok(StreamOptionsProbe {
            include_usage: Some(true),
        })
        | Err(_) => None,
        Ok(_) => Some(StreamOptions::WithoutUsage),
    }
}

pub async fn chat_completions(State(state): State<AppState>, request: Request) -> Response {
    edge::serve(state, Protocol::OpenAi, request, route).await
}

fn route(edge: &Edge<'_>) -> Result<Route, ProxyError> {
    let probe: Probe = body::probe(edge.body)?;
    let stream = probe.stream.unwrap_or(false);
    Ok(Route {
        hidden_usage: if stream {
            hidden_usage(probe.stream_options)
        } else {
            None
        },
        session: edge.session(&[raw(probe.messages.first()), raw(probe.messages.get(1))]),
        model: probe.model,
        stream,
        gemini_sse: false,
        endpoint: PassEndpoint::ChatCompletions,
        reach: Reach::Any {
            prefer: Protocol::OpenAi,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_asked_for_or_not() {
        fn raw(s: &str) -> &RawValue {
            serde_json::from_str(s).unwrap()
        }
        assert_eq!(hidden_usage(None), Some(StreamOptions::Absent));
        assert_eq!(
            hidden_usage(Some(raw("null"))),
            Some(StreamOptions::WithoutUsage)
        );
        assert_eq!(
            hidden_usage(Some(raw(r#"{"include_obfuscation":false}"#))),
            Some(StreamOptions::WithoutUsage)
        );
        assert_eq!(
            hidden_usage(Some(raw(r#"{"include_usage":false}"#))),
            Some(StreamOptions::WithoutUsage)
        );
        assert_eq!(hidden_usage(Some(raw(r#"{"include_usage":true}"#))), None);
        assert_eq!(hidden_usage(Some(raw(r#""yes""#))), None);
    }
}
