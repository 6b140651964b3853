//! The commit step: deciding, before anything reaches the client, whether an upstream's
//! 2xx answer is worth relaying. One check for passthrough and translated answers alike.
//!
//! - **JSON answers** ([`check_json`]): a JSON content type (or none), and a body that
//!   opens and closes like JSON — an HTML page, garbage, or a gzip body whose `Content-Encoding` was dropped
//!   is the upstream's fault ([`Outcome::BadAnswer`]), never a 200 to the client.
//! - **Streams** ([`StartCheck`]): providers report some failures *inside* a 200 stream
//!   (Anthropic's `event: error` `overloaded_error`, an OpenAI chunk carrying `error`).
//!   The stream is held until its first meaningful event (pings, Anthropic's
//!   `message_start`, OpenAI's empty opening chunk and the Responses lifecycle events
//!   `response.created` / `.queued` / `.in_progress` are preamble); an error event (or
//!   `response.failed`) or
//!   undecodable data first is a failed attempt that can still go to another account.

use super::needles::EVENT_END;
use super::outcome::Outcome;
use crate::translate::sse::{SseEvent, SseParser};
use http::{HeaderMap, header};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;
use switchyard_types::Protocol;

/// Most bytes held while waiting for a stream's first meaningful event.
pub const START_BYTES: usize = 64 * 1024;

/// Whether `headers` say the body is an SSE stream.
pub fn is_sse(headers: &HeaderMap) -> bool {
    content_type(headers).is_some_and(|v| v.starts_with("text/event-stream"))
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Why an answer is not relayable (for the log, never for the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub outcome: Outcome,
    pub reason: &'static str,
}

impl Rejected {
    const fn bad(reason: &'static str) -> Self {
        Self {
            outcome: Outcome::BadAnswer,
            reason,
        }
    }
}

/// Check a whole 2xx JSON answer before relaying it.
pub fn check_json(headers: &HeaderMap, body: &[u8]) -> Result<(), Rejected> {
    if headers.contains_key(header::CONTENT_ENCODING) {
        return Err(Rejected::bad("the answer is content-encoded"));
    }
    if let Some(ct) = content_type(headers)
        && !(ct.starts_with("application/json") || ct.contains("+json"))
    {
        return Err(Rejected::bad("the answer is not JSON"));
    }
    // A parseable start and a closed end: cheap (the body is not parsed again), and it
    // catches HTML, garbage, compressed bytes and a body cut short.
    let last = body.iter().rev().find(|b| !b.is_ascii_whitespace());
    match (first_byte(body), last) {
        (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']')) => Ok(()),
        _ => Err(Rejected::bad("the answer is not JSON")),
    }
}

/// Whether `body` opens like a JSON object or array (an error body that is the
/// protocol's JSON rather than an HTML page).
pub fn opens_like_json(body: &[u8]) -> bool {
    matches!(first_byte(body), Some(b'{' | b'['))
}

fn first_byte(body: &[u8]) -> Option<u8> {
    body.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// What the start of a stream showed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Only preamble so far: keep reading.
    Undecided,
    /// A meaningful event: commit.
    Meaningful,
    /// Not relayable: try another account.
    Failed(Rejected),
}

/// Holds a stream's opening until it decides (see the module docs).
#[derive(Debug)]
pub struct StartCheck {
    protocol: Protocol,
    parser: SseParser,
    events: Vec<SseEvent>,
    seen: usize,
}

impl StartCheck {
    /// A check of a stream in the upstream's `protocol`.
    pub fn new(protocol: Protocol) -> Self {
        Self {
            protocol,
            parser: SseParser::new(),
            events: Vec::new(),
            seen: 0,
        }
    }

    /// Feed the next chunk; stops at the first event that decides.
    pub fn feed(&mut self, chunk: &[u8]) -> Start {
        self.seen += chunk.len();
        let mut rest = chunk;
        while !rest.is_empty() {
            // Up to and including the next `\n\n` (an event boundary).
            let cut = EVENT_END.find(rest).map_or(rest.len(), |i| i + 2);
            self.parser.feed(&rest[..cut], &mut self.events);
            rest = &rest[cut..];
            let verdict = self
                .events
                .drain(..)
                .find_map(|e| early_event(self.protocol, &e));
            if let Some(verdict) = verdict {
                return verdict;
            }
        }
        if self.seen >= START_BYTES {
            // This much without one meaningful event is not a stream of this protocol.
            return Start::Failed(Rejected::bad("no event in the stream's opening"));
        }
        Start::Undecided
    }

    /// The upstream ended the stream while undecided.
    pub fn end(&mut self) -> Start {
        let mut last = Vec::new();
        self.parser.finish(&mut last);
        match last.iter().find_map(|e| early_event(self.protocol, e)) {
            Some(Start::Meaningful) if self.seen > 0 => Start::Meaningful,
            Some(failed @ Start::Failed(_)) => failed,
            _ => Start::Failed(Rejected::bad("the stream ended before any event")),
        }
    }
}

/// What an early stream event is made of, as far as the check cares: read with
/// everything else skipped, nothing copied.
#[derive(Deserialize)]
struct EarlyEvent<'a> {
    #[serde(default)]
    error: Option<IgnoredAny>,
    #[serde(default, rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    choices: Vec<EarlyChoice<'a>>,
}

#[derive(Deserialize)]
struct EarlyChoice<'a> {
    #[serde(default)]
    finish_reason: Option<IgnoredAny>,
    #[serde(default, borrow)]
    delta: Option<EarlyDelta<'a>>,
}

#[derive(Deserialize)]
struct EarlyDelta<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default)]
    tool_calls: Option<IgnoredAny>,
    #[serde(default)]
    reasoning_content: Option<IgnoredAny>,
}

fn overloaded(reason: &'static str) -> Start {
    Start::Failed(Rejected {
        outcome: Outcome::Overloaded,
        reason,
    })
}

/// Classify one early SSE event: `None` for preamble to skip.
fn early_event(protocol: Protocol, event: &SseEvent) -> Option<Start> {
    if event.event == "error" {
        return Some(overloaded("the stream opened with an error event"));
    }
    if protocol == Protocol::Anthropic && matches!(event.event.as_str(), "ping" | "message_start") {
        return None;
    }
    let data = event.data.trim();
    if data.is_empty() {
        return None;
    }
    if data == "[DONE]" {
        return Some(Start::Meaningful);
    }
    let Ok(early) = serde_json::from_str::<EarlyEvent<'_>>(data) else {
        // An unexpected shape somewhere: still fail over if it carries an error.
        return Some(match serde_json::from_str::<serde_json::Value>(data) {
            Ok(value) if value.get("error").is_some_and(|e| !e.is_null()) => {
                overloaded("the stream opened with an error")
            }
            Ok(value) if value.is_object() => Start::Meaningful,
            _ => Start::Failed(Rejected::bad("the stream's first event is not JSON")),
        });
    };
    if early.error.is_some() || early.kind.as_deref() == Some("error") {
        return Some(overloaded("the stream opened with an error"));
    }
    if protocol == Protocol::Anthropic && early.kind.as_deref() == Some("ping") {
        return None;
    }
    if protocol == Protocol::Responses {
        return match early.kind.as_deref() {
            Some("response.created" | "response.queued" | "response.in_progress") => None,
            Some("response.failed") => Some(overloaded("the stream opened with response.failed")),
            _ => Some(Start::Meaningful),
        };
    }
    // OpenAI's opening chunk (`role` and an empty `content`) is preamble too.
    let empty_opening = protocol == Protocol::OpenAi
        && early.choices.first().is_some_and(|choice| {
            choice.finish_reason.is_none()
                && choice.delta.as_ref().is_some_and(|d| {
                    d.content.as_deref().is_none_or(str::is_empty)
                        && d.tool_calls.is_none()
                        && d.reasoning_content.is_none()
                })
        });
    if empty_opening {
        None
    } else {
        Some(Start::Meaningful)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn failed(start: &Start) -> Option<Outcome> {
        match start {
            Start::Failed(r) => Some(r.outcome),
            Start::Undecided | Start::Meaningful => None,
        }
    }

    #[test]
    fn responses_lifecycle_events_are_preamble_and_failures_fail_over() {
        let mut c = StartCheck::new(Protocol::Responses);
        let created = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"r\",\"error\":null}}\n\n\
            event: response.in_progress\ndata: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"r\"}}\n\n";
        assert_eq!(c.feed(created.as_bytes()), Start::Undecided);
        let delta = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n";
        assert_eq!(c.feed(delta.as_bytes()), Start::Meaningful);
        let opening = "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"error\":{\"code\":\"server_error\",\"message\":\"x\"}}}\n\n";
        let s = StartCheck::new(Protocol::Responses).feed(opening.as_bytes());
        assert_eq!(failed(&s), Some(Outcome::Overloaded));
        let error = "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"x\"}\n\n";
        let s = StartCheck::new(Protocol::Responses).feed(error.as_bytes());
        assert_eq!(failed(&s), Some(Outcome::Overloaded));
    }

    #[test]
    fn the_first_deciding_event_wins_within_one_chunk() {
        let stream = concat!(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
            "data: {\"error\":{\"message\":\"later\"}}\n\n",
        );
        assert_eq!(
            StartCheck::new(Protocol::OpenAi).feed(stream.as_bytes()),
            Start::Meaningful
        );
        let error_first = "event: error\ndata: {\"type\":\"error\"}\n\nevent: ping\ndata: {}\n\n";
        let s = StartCheck::new(Protocol::Anthropic).feed(error_first.as_bytes());
        assert_eq!(failed(&s), Some(Outcome::Overloaded));
        let mut c = StartCheck::new(Protocol::Anthropic);
        assert_eq!(c.feed(b"event: ping\ndata: {}\n\n"), Start::Undecided);
        assert_eq!(
            c.feed(b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"),
            Start::Undecided
        );
        let s = c.feed(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n\n");
        assert_eq!(failed(&s), Some(Outcome::Overloaded));
    }

    #[test]
    fn garbage_and_empty_streams_are_bad_answers() {
        let s = StartCheck::new(Protocol::OpenAi).feed(b"data: <html>oops</html>\n\n");
        assert_eq!(failed(&s), Some(Outcome::BadAnswer));
        let mut c = StartCheck::new(Protocol::Gemini);
        assert_eq!(c.feed(&[0x1f, 0x8b, 0x08, 0x00]), Start::Undecided);
        assert_eq!(failed(&c.end()), Some(Outcome::BadAnswer));
        let mut c = StartCheck::new(Protocol::OpenAi);
        let noise = vec![b'x'; START_BYTES];
        assert_eq!(failed(&c.feed(&noise)), Some(Outcome::BadAnswer));
        let mut c = StartCheck::new(Protocol::OpenAi);
        assert_eq!(failed(&c.end()), Some(Outcome::BadAnswer));
        // An event cut by the end of the stream still counts.
        let mut c = StartCheck::new(Protocol::Gemini);
        assert_eq!(c.feed(b"data: {\"candidates\":[]}"), Start::Undecided);
        assert_eq!(c.end(), Start::Meaningful);
    }

    #[test]
    fn early_events_are_told_apart() {
        let ev = |event: &str, data: &str| SseEvent {
            event: event.into(),
            data: data.into(),
        };
        let verdict = |p, e: &SseEvent| early_event(p, e);
        assert_eq!(
            verdict(Protocol::Anthropic, &ev("message_start", "{}")),
            None
        );
        assert_eq!(
            verdict(Protocol::Anthropic, &ev("content_block_start", "{}")),
            Some(Start::Meaningful)
        );
        assert_eq!(
            verdict(Protocol::OpenAi, &ev("", "{\"choices\":[]}")),
            Some(Start::Meaningful)
        );
        let odd_error = "{\"choices\":null,\"error\":{\"message\":\"overloaded\"}}";
        assert!(matches!(
            verdict(Protocol::OpenAi, &ev("", odd_error)),
            Some(Start::Failed(_))
        ));
        let odd_content = "{\"choices\":[{\"delta\":{\"content\":[1]}}]}";
        assert_eq!(
            verdict(Protocol::OpenAi, &ev("", odd_content)),
            Some(Start::Meaningful)
        );
        assert_eq!(
            verdict(Protocol::Gemini, &ev("", "{\"candidates\":[]}")),
            Some(Start::Meaningful)
        );
        let gemini_error = "{\"error\":{\"code\":503,\"status\":\"UNAVAILABLE\"}}";
        assert!(matches!(
            verdict(Protocol::Gemini, &ev("", gemini_error)),
            Some(Start::Failed(_))
        ));
    }

    #[test]
    fn json_answers_are_judged_by_type_encoding_and_body() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(check_json(&h, br#"{"id":"x"}"#).is_ok());
        assert!(check_json(&h, b"{\"id\":").is_err(), "cut short");
        assert!(
            check_json(&h, &[0x1f, 0x8b, 0x08]).is_err(),
            "gzip without its header"
        );
        assert!(check_json(&HeaderMap::new(), br#"{"id":"x"}"#).is_ok());
        let mut html = HeaderMap::new();
        html.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        assert!(check_json(&html, br#"{"id":"x"}"#).is_err());
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(check_json(&h, br#"{"id":"x"}"#).is_err());
    }
}
