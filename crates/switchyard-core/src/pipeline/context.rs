//! The per-request context: created at the edge, carried through the attempt loop and
//! the relay, and finished exactly once — whatever the path (passthrough or translated,
//! JSON or stream, success, error, or a client that went away).
//!
//! It is what the request log, usage accounting and metrics read: the request id, the
//! client key, protocols in and out, the requested and upstream model, each attempt's
//! account, outcome and timing, the time to first byte, bytes, usage and the final
//! status. [`RequestContext::finish`] hands it to a [`Finisher`] once.

use super::outcome::Outcome;
use std::sync::Arc;
use std::time::Duration;
use switchyard_types::Protocol;
use tokio::time::Instant;

/// Longest client-sent `x-request-id` kept; a longer or odd one is replaced.
pub const MAX_REQUEST_ID: usize = 128;

/// A request id: the client's `x-request-id` when it is sane, else a fresh random one.
pub fn request_id(client: Option<&[u8]>) -> Arc<str> {
    if let Some(id) = client
        && !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
        && let Ok(id) = std::str::from_utf8(id)
    {
        return id.into();
    }
    // Hex by hand: `format!` showed in the request profile.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = [0u8; 36];
    id[..4].copy_from_slice(b"req_");
    let mut bits = rand::random::<u128>();
    for byte in id[4..].iter_mut().rev() {
        *byte = HEX[(bits & 0xf) as usize];
        bits >>= 4;
    }
    std::str::from_utf8(&id).map_or_else(|_| "req_".into(), Into::into)
}

/// One upstream attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub account_id: Arc<str>,
    /// The account's provider (a metrics label).
    pub provider: switchyard_types::Provider,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub duration: Duration,
}

/// Tokens by class, as the accounting counts them (`input` excludes cache reads and
/// writes; `reasoning` is part of `output`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl Usage {
    pub const fn new(
        input: u64,
        cache_read: u64,
        cache_write: u64,
        output: u64,
        reasoning: u64,
    ) -> Self {
        Self {
            input,
            cache_read,
            cache_write,
            output,
            reasoning,
        }
    }
}

/// A request's cost in integer micro-dollars, with the price table's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cost {
    pub micro_usd: i64,
    pub price_version: Arc<str>,
}

/// How the response body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// Sent whole.
    Complete,
    /// The upstream failed mid-body; the client got an error event or a cut body.
    UpstreamFailed,
    /// The client went away before the end.
    Cancelled,
    /// Still open at the gateway's drain deadline: ended with an error event.
    Drained,
}

/// Everything known about one request (see the module docs).
#[derive(Debug)]
pub struct RequestContext {
    pub id: Arc<str>,
    pub started: Instant,
    pub protocol_in: Protocol,
    pub key_id: Option<Arc<str>>,
    /// The client key's policy: its usage and cost are charged to it at the finish.
    pub key_policy: Option<Arc<crate::keyring::KeyPolicy>>,
    /// The model the client asked for (an alias, when one applied).
    pub model: Option<Box<str>>,
    pub protocol_out: Option<Protocol>,
    /// The model sent upstream (the alias's target when one applied).
    pub upstream_model: Option<Box<str>>,
    pub stream: bool,
    pub attempts: Vec<AttemptRecord>,
    /// Time spent waiting on upstreams' headers and in backoff: not the gateway's
    /// own overhead.
    pub waited: Duration,
    pub ttfb: Option<Duration>,
    pub status: u16,
    /// The error class of a failed request (a stable label).
    pub error: Option<&'static str>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Usage the codecs saw (the accounting hook); `None` when none was reported.
    pub usage: Option<Usage>,
    /// The body ended (cut, failed, or the stream stopped) before its final usage:
    /// `usage` is what was known by then.
    pub usage_partial: bool,
    /// What the usage cost, when the model is priced.
    pub cost: Option<Cost>,
    pub end: Option<BodyEnd>,
}

impl RequestContext {
    pub fn new(id: Arc<str>, protocol_in: Protocol) -> Self {
        Self {
            id,
            started: Instant::now(),
            protocol_in,
            key_id: None,
            key_policy: None,
            model: None,
            protocol_out: None,
            upstream_model: None,
            stream: false,
            attempts: Vec::new(),
            waited: Duration::ZERO,
            ttfb: None,
            status: 0,
            error: None,
            bytes_in: 0,
            bytes_out: 0,
            usage: None,
            usage_partial: false,
            cost: None,
            end: None,
        }
    }

    /// Add usage reported by a codec (a stream may report it in pieces).
    pub fn add_usage(&mut self, usage: Usage) {
        let total = self.usage.get_or_insert_with(Usage::default);
        total.input += usage.input;
        total.cache_read += usage.cache_read;
        total.cache_write += usage.cache_write;
        total.output += usage.output;
        total.reasoning += usage.reasoning;
    }

    /// The account of the last attempt.
    pub fn account_id(&self) -> Option<&str> {
        self.attempts.last().map(|a| &*a.account_id)
    }

    /// The gateway's own share of the time so far (upstream waits excluded).
    pub fn overhead(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.waited)
    }

    /// Finish the request: hand the context to `finisher`. Consumes it, so it happens
    /// once.
    pub fn finish(self, finisher: &dyn Finisher) {
        finisher.finish(self);
    }
}

/// Where finished requests go (metrics today; the request log and accounting next).
/// Must not block: it runs on the request's task.
pub trait Finisher: Send + Sync {
    fn finish(&self, context: RequestContext);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_ids_are_kept_only_when_sane() {
        assert_eq!(&*request_id(Some(b"abc-123")), "abc-123");
        let fresh = request_id(None);
        assert!(fresh.starts_with("req_") && fresh.len() == 36, "{fresh}");
        assert_ne!(request_id(None), fresh);
        assert!(request_id(Some(b"a b")).starts_with("req_"));
        assert!(request_id(Some(&[b'a'; 129])).starts_with("req_"));
        assert!(request_id(Some(b"")).starts_with("req_"));
    }

    #[test]
    fn usage_adds_up() {
        let mut c = RequestContext::new("r".into(), Protocol::OpenAi);
        assert_eq!(c.usage, None);
        c.add_usage(Usage {
            input: 3,
            output: 1,
            ..Usage::default()
        });
        c.add_usage(Usage {
            output: 2,
            reasoning: 1,
            ..Usage::default()
        });
        assert_eq!(
            c.usage,
            Some(Usage {
                input: 3,
                output: 3,
                reasoning: 1,
                ..Usage::default()
            })
        );
    }
}
