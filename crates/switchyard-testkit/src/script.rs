//! Scripting: what one request should do.
//!
//! Two inputs decide it, in this order:
//!
//! 1. the upstream **API key**: an override set with
//!    [`FakeProvider::set_key_behaviour`](crate::FakeProvider::set_key_behaviour), else a built-in
//!    key convention ([`key_convention`]), else [`Behaviour::Normal`];
//! 2. **directives** in the text of the last user message (`#fake:NAME` or `#fake:NAME=VALUE`,
//!    see [`Directives::parse`]). A directive that changes *behaviour* (status, latency,
//!    chunk_delay, disconnect_after, hang, quota, and the hostile answers html, garbage_sse,
//!    gzip, redirect, html_status, stream_error, huge) replaces the key's behaviour entirely; the
//!    *shape* directives (tool, parallel, thinking, max_tokens, echo, signatures) only change
//!    the reply.
//!
//! Both are folded into one [`Plan`], which the server executes.

/// What the fake upstream does with a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer normally (text, tool calls, streams).
    #[default]
    Normal,
    /// Answer this HTTP status with the protocol's own error body. `retry_after_secs` becomes a
    /// `retry-after` header (and Gemini's `RetryInfo.retryDelay`). Status 529 is Anthropic's
    /// overload code: the OpenAI and Gemini dialects answer 503 instead.
    Status {
        status: u16,
        retry_after_secs: Option<u64>,
        kind: ErrorKind,
    },
    /// Sleep this long before sending the response headers, then answer normally.
    Latency { millis: u64 },
    /// Stream normally, with this delay between chunks (no effect on JSON replies).
    SlowStream { chunk_delay_millis: u64 },
    /// Send this many stream events, then abort the connection: the body ends in an error and
    /// the protocol's terminator (`[DONE]`, `message_stop`, the last Gemini chunk) never comes.
    /// A JSON (non-stream) reply is cut in the middle of its body.
    DisconnectMidStream { after_chunks: usize },
    /// Never answer (until the provider is dropped).
    Hang,
    /// 200 with a `text/html` page (a captive portal or login page in the way), whatever was
    /// asked for.
    Html200,
    /// 200 `text/event-stream` whose `data:` lines are not JSON (an HTML error page framed as
    /// SSE), whatever was asked for.
    GarbageSse,
    /// 200 `application/json` whose body is the normal JSON reply gzip-compressed, with no
    /// `Content-Encoding` header (a proxy that dropped it). Always JSON, even for streams.
    GzipWithoutEncoding,
    /// 302 with a `Location` header and a small HTML body.
    Redirect,
    /// An HTML error page (nginx's) with this status, e.g. 404 `text/html`.
    HtmlStatus(u16),
    /// A stream request is answered HTTP 200 with an SSE stream whose first event is the
    /// protocol's in-stream error (Anthropic `event: error` `overloaded_error`, OpenAI
    /// `data: {"error":{…}}`, Gemini `data: {"error":{"code":503,…}}`); nothing follows. A
    /// non-stream request is answered normally.
    StreamOpensWithError,
    /// 200 `application/json`: the normal reply, its text padded so the body is `bytes` long
    /// (at least the reply's own size), sent in 64 KiB chunks and never held whole in memory.
    /// Always JSON, even for streams.
    HugeBody { bytes: usize },
}

/// The answers that are not the protocol's own (see the matching [`Behaviour`] variants):
/// unreadable 200s, redirects, HTML pages, error-first streams, huge bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hostile {
    Html200,
    GarbageSse,
    GzipWithoutEncoding,
    Redirect,
    HtmlStatus(u16),
    StreamOpensWithError,
    HugeBody { bytes: usize },
}

/// Which error an upstream reports; picks the protocol-specific error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Per-minute rate limit (OpenAI `rate_limit_exceeded`, Anthropic `rate_limit_error`,
    /// Gemini `RESOURCE_EXHAUSTED` with a per-minute `quotaId`).
    RateLimited,
    /// Hard quota / spend limit (OpenAI `insufficient_quota`, Anthropic `rate_limit_error` with
    /// `details.error_code = "enforced_spend_limit_reached"`, Gemini `RESOURCE_EXHAUSTED` with a
    /// `…PerDay…` `quotaId`).
    QuotaExhausted,
    /// Capacity overload (Anthropic 529 `overloaded_error`, OpenAI / Gemini 503).
    Overloaded,
    /// Internal error (500).
    ServerError,
    /// Bad or missing credential (401).
    Unauthorized,
    /// Invalid request (400).
    BadRequest,
}

/// The behaviour a key gets from the built-in conventions (used when no override is set).
///
/// | key | behaviour |
/// |---|---|
/// | `fake-429` | 429 rate limited, `retry-after: 1` |
/// | `fake-quota` | 429 quota exhausted |
/// | `fake-500` | 500 server error |
/// | `fake-529` | overloaded: Anthropic 529, OpenAI / Gemini 503 |
/// | `fake-401`, any key starting with `bad` | 401 |
/// | `fake-slow` | stream with 50 ms between chunks |
/// | `fake-hang` | never answer |
/// | `fake-disconnect` | abort the stream after 2 events |
/// | anything else | normal |
pub(crate) fn key_convention(key: &str) -> Behaviour {
    match key {
        "fake-429" => status_behaviour(429),
        "fake-quota" => Behaviour::Status {
            status: 429,
            retry_after_secs: None,
            kind: ErrorKind::QuotaExhausted,
        },
        "fake-500" => status_behaviour(500),
        "fake-529" => status_behaviour(529),
        "fake-401" => status_behaviour(401),
        "fake-slow" => Behaviour::SlowStream {
            chunk_delay_millis: 50,
        },
        "fake-hang" => Behaviour::Hang,
        "fake-disconnect" => Behaviour::DisconnectMidStream { after_chunks: 2 },
        k if k.starts_with("bad") => status_behaviour(401),
        _ => Behaviour::Normal,
    }
}

/// The error a bare status code stands for (used by `fake-NNN` keys and `#fake:status=NNN`).
fn status_behaviour(status: u16) -> Behaviour {
    let (kind, retry_after_secs) = match status {
        429 => (ErrorKind::RateLimited, Some(1)),
        401 | 403 => (ErrorKind::Unauthorized, None),
        503 | 529 => (ErrorKind::Overloaded, None),
        s if s >= 500 => (ErrorKind::ServerError, None),
        _ => (ErrorKind::BadRequest, None),
    };
    Behaviour::Status {
        status,
        retry_after_secs,
        kind,
    }
}

/// Reply-shaping flags; they never change the behaviour, only what a normal reply contains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Call a tool even when the last message is a tool result (only when tools are declared).
    pub tool: bool,
    /// Call two tools at once (the first two, or the first one twice).
    pub parallel: bool,
    /// Include a thinking / reasoning part.
    pub thinking: bool,
    /// Stop early with the protocol's "output cap reached" reason.
    pub max_tokens: bool,
    /// Reply with the last user text itself.
    pub echo: bool,
    /// Reply with the count of thinking signatures the request carried back.
    pub signatures: bool,
}

/// The `#fake:` directives found in a prompt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Directives {
    pub status: Option<u16>,
    pub quota: bool,
    pub latency_ms: Option<u64>,
    pub chunk_delay_ms: Option<u64>,
    pub disconnect_after: Option<usize>,
    pub hang: bool,
    /// `#fake:html`, `#fake:garbage_sse`, `#fake:gzip`, `#fake:redirect`,
    /// `#fake:html_status=N` (404 without a value), `#fake:stream_error`, `#fake:huge=BYTES`.
    pub hostile: Option<Hostile>,
    pub shape: Shape,
}

/// The marker every directive starts with.
const MARKER: &str = "#fake:";

impl Directives {
    /// Finds every `#fake:NAME` / `#fake:NAME=VALUE` in `text`. Names are case-insensitive;
    /// unknown names and unparsable values are ignored.
    pub(crate) fn parse(text: &str) -> Directives {
        let mut d = Directives::default();
        for (at, _) in text.match_indices(MARKER) {
            let rest = &text[at + MARKER.len()..];
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(rest.len());
            let name = rest[..name_len].to_ascii_lowercase().replace('-', "_");
            let value = rest[name_len..].strip_prefix('=').map(|v| {
                let len = v
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                    .unwrap_or(v.len());
                &v[..len]
            });
            d.apply(&name, value);
        }
        d
    }

    fn apply(&mut self, name: &str, value: Option<&str>) {
        let number = value.and_then(|v| v.parse::<u64>().ok());
        match name {
            "status" => {
                if value == Some("quota") {
                    self.quota = true;
                } else {
                    self.status = number.and_then(|n| u16::try_from(n).ok());
                }
            }
            "quota" => self.quota = true,
            "latency" => self.latency_ms = number,
            "chunk_delay" | "slow" => self.chunk_delay_ms = number.or(Some(50)),
            "disconnect_after" | "disconnect" => {
                self.disconnect_after = number.and_then(|n| usize::try_from(n).ok()).or(Some(2));
            }
            "hang" => self.hang = true,
            "html" => self.hostile = Some(Hostile::Html200),
            "garbage_sse" => self.hostile = Some(Hostile::GarbageSse),
            "gzip" => self.hostile = Some(Hostile::GzipWithoutEncoding),
            "redirect" => self.hostile = Some(Hostile::Redirect),
            "html_status" => {
                let status = number.and_then(|n| u16::try_from(n).ok()).unwrap_or(404);
                self.hostile = Some(Hostile::HtmlStatus(status));
            }
            "stream_error" => self.hostile = Some(Hostile::StreamOpensWithError),
            "huge" => {
                if let Some(bytes) = number.and_then(|n| usize::try_from(n).ok()) {
                    self.hostile = Some(Hostile::HugeBody { bytes });
                }
            }
            "tool" => self.shape.tool = true,
            "parallel" => self.shape.parallel = true,
            "thinking" => self.shape.thinking = true,
            "max_tokens" => self.shape.max_tokens = true,
            "echo" => self.shape.echo = true,
            "signatures" => self.shape.signatures = true,
            _ => {}
        }
    }

    /// Whether any behaviour directive is present (it then replaces the key's behaviour).
    fn overrides_behaviour(&self) -> bool {
        self.status.is_some()
            || self.quota
            || self.latency_ms.is_some()
            || self.chunk_delay_ms.is_some()
            || self.disconnect_after.is_some()
            || self.hang
            || self.hostile.is_some()
    }
}

/// An error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: u16,
    pub retry_after_secs: Option<u64>,
    pub kind: ErrorKind,
}

impl Failure {
    pub(crate) fn new(status: u16, kind: ErrorKind) -> Failure {
        Failure {
            status,
            retry_after_secs: None,
            kind,
        }
    }
}

/// Everything the server needs to execute one request, resolved from key and directives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Sleep before the headers.
    pub latency_ms: u64,
    /// Never answer.
    pub hang: bool,
    /// Answer this error.
    pub failure: Option<Failure>,
    /// Delay between stream chunks.
    pub chunk_delay_ms: u64,
    /// Abort the stream after this many events.
    pub disconnect_after: Option<usize>,
    /// Answer with something that is not the protocol's own answer.
    pub hostile: Option<Hostile>,
    /// What a normal reply contains.
    pub shape: Shape,
}

impl Plan {
    /// Folds the key's behaviour and the prompt's directives into one plan.
    pub(crate) fn resolve(behaviour: &Behaviour, directives: &Directives) -> Plan {
        let mut plan = if directives.overrides_behaviour() {
            Plan::default()
        } else {
            Plan::from_behaviour(behaviour)
        };
        plan.shape = directives.shape;
        if let Some(ms) = directives.latency_ms {
            plan.latency_ms = ms;
        }
        if let Some(ms) = directives.chunk_delay_ms {
            plan.chunk_delay_ms = ms;
        }
        if directives.disconnect_after.is_some() {
            plan.disconnect_after = directives.disconnect_after;
        }
        plan.hang |= directives.hang;
        if directives.hostile.is_some() {
            plan.hostile = directives.hostile;
        }
        if let Some(status) = directives.status {
            plan.failure = Plan::from_behaviour(&status_behaviour(status)).failure;
        }
        if directives.quota {
            plan.failure = Plan::from_behaviour(&key_convention("fake-quota")).failure;
        }
        plan
    }

    fn from_behaviour(behaviour: &Behaviour) -> Plan {
        let mut plan = Plan::default();
        match *behaviour {
            Behaviour::Normal => {}
            Behaviour::Status {
                status,
                retry_after_secs,
                kind,
            } => {
                plan.failure = Some(Failure {
                    status,
                    retry_after_secs,
                    kind,
                });
            }
            Behaviour::Latency { millis } => plan.latency_ms = millis,
            Behaviour::SlowStream { chunk_delay_millis } => {
                plan.chunk_delay_ms = chunk_delay_millis;
            }
            Behaviour::DisconnectMidStream { after_chunks } => {
                plan.disconnect_after = Some(after_chunks);
            }
            Behaviour::Hang => plan.hang = true,
            Behaviour::Html200 => plan.hostile = Some(Hostile::Html200),
            Behaviour::GarbageSse => plan.hostile = Some(Hostile::GarbageSse),
            Behaviour::GzipWithoutEncoding => plan.hostile = Some(Hostile::GzipWithoutEncoding),
            Behaviour::Redirect => plan.hostile = Some(Hostile::Redirect),
            Behaviour::HtmlStatus(status) => plan.hostile = Some(Hostile::HtmlStatus(status)),
            Behaviour::StreamOpensWithError => {
                plan.hostile = Some(Hostile::StreamOpensWithError);
            }
            Behaviour::HugeBody { bytes } => plan.hostile = Some(Hostile::HugeBody { bytes }),
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_directive() {
        let d = Directives::parse(
            "hi #fake:status=503 #fake:latency=20, #fake:chunk_delay=5 #fake:disconnect_after=3 \
             #fake:hang #fake:TOOL #fake:parallel #fake:thinking #fake:max_tokens #fake:echo.",
        );
        assert_eq!(d.status, Some(503));
        assert_eq!(d.latency_ms, Some(20));
        assert_eq!(d.chunk_delay_ms, Some(5));
        assert_eq!(d.disconnect_after, Some(3));
        assert!(d.hang);
        assert_eq!(
            d.shape,
            Shape {
                tool: true,
                parallel: true,
                thinking: true,
                max_tokens: true,
                echo: true,
                signatures: false,
            }
        );
    }

    #[test]
    fn ignores_unknown_and_bad_values() {
        let d = Directives::parse("#fake:nope=1 #fake:latency=abc #fake: #fake:status=99999");
        assert_eq!(d, Directives::default());
        assert_eq!(
            Directives::parse("no directives here"),
            Directives::default()
        );
    }

    #[test]
    fn directive_overrides_key_behaviour() {
        let key = key_convention("fake-429");
        let plan = Plan::resolve(&key, &Directives::default());
        assert_eq!(
            plan.failure,
            Some(Failure {
                status: 429,
                retry_after_secs: Some(1),
                kind: ErrorKind::RateLimited
            })
        );
        let plan = Plan::resolve(&key, &Directives::parse("#fake:latency=5"));
        assert_eq!(plan.failure, None);
        assert_eq!(plan.latency_ms, 5);
        // Shape directives keep the key's behaviour.
        let plan = Plan::resolve(&key, &Directives::parse("#fake:echo"));
        assert!(plan.failure.is_some());
        assert!(plan.shape.echo);
    }

    #[test]
    fn hostile_directives_and_behaviours() {
        let hostile = |text: &str| Directives::parse(text).hostile;
        assert_eq!(hostile("#fake:html"), Some(Hostile::Html200));
        assert_eq!(hostile("#fake:garbage-sse"), Some(Hostile::GarbageSse));
        assert_eq!(hostile("#fake:gzip"), Some(Hostile::GzipWithoutEncoding));
        assert_eq!(hostile("#fake:redirect"), Some(Hostile::Redirect));
        assert_eq!(hostile("#fake:html_status"), Some(Hostile::HtmlStatus(404)));
        assert_eq!(
            hostile("#fake:html_status=502"),
            Some(Hostile::HtmlStatus(502))
        );
        assert_eq!(
            hostile("#fake:stream_error"),
            Some(Hostile::StreamOpensWithError)
        );
        assert_eq!(
            hostile("#fake:huge=1000"),
            Some(Hostile::HugeBody { bytes: 1000 })
        );
        assert_eq!(hostile("#fake:huge"), None, "a size is required");
        // A hostile directive replaces the key's behaviour; a key's hostile behaviour holds
        // under shape directives.
        let plan = Plan::resolve(
            &key_convention("fake-429"),
            &Directives::parse("#fake:html"),
        );
        assert_eq!((plan.failure, plan.hostile), (None, Some(Hostile::Html200)));
        let plan = Plan::resolve(&Behaviour::Redirect, &Directives::parse("#fake:echo"));
        assert_eq!(plan.hostile, Some(Hostile::Redirect));
        let plan = Plan::resolve(&Behaviour::HugeBody { bytes: 7 }, &Directives::default());
        assert_eq!(plan.hostile, Some(Hostile::HugeBody { bytes: 7 }));
    }

    #[test]
    fn key_conventions() {
        assert_eq!(key_convention("sk-anything"), Behaviour::Normal);
        assert!(matches!(
            key_convention("bad-key"),
            Behaviour::Status {
                status: 401,
                kind: ErrorKind::Unauthorized,
                ..
            }
        ));
        assert!(matches!(
            key_convention("fake-quota"),
            Behaviour::Status {
                kind: ErrorKind::QuotaExhausted,
                ..
            }
        ));
        assert_eq!(
            key_convention("fake-slow"),
            Behaviour::SlowStream {
                chunk_delay_millis: 50
            }
        );
        assert_eq!(key_convention("fake-hang"), Behaviour::Hang);
        assert_eq!(
            key_convention("fake-html"),
            Behaviour::Normal,
            "no key convention"
        );
        let plan = Plan::resolve(&Behaviour::Normal, &Directives::parse("#fake:status=529"));
        assert_eq!(plan.failure.map(|f| f.kind), Some(ErrorKind::Overloaded));
    }
}
