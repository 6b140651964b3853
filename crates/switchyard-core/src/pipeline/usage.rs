//! The usage tap: token usage read from the bytes going to the client.
//!
//! The client-bound bytes are always in the client's protocol (passthrough: the
//! upstream's own bytes; translated: our encoders' output, which carries usage too), so
//! one tap on them covers every path. Counts are normalised to [`Usage`] as protocols.md
//! §4.9 maps them: `input` excludes cache reads and writes, `reasoning` is part of
//! `output`, each class counted once.
//!
//! - **JSON answers** are kept (the first frame by reference count, further frames
//!   copied, up to [`MAX_JSON_BYTES`]) and read once at [`UsageTap::finish`]: the
//!   top-level usage object found from the end ([`super::json_tail`]), else a parse of
//!   the whole answer deserialising only the usage object (serde skips the rest).
//! - **SSE streams** are split into lines with `memchr`; a `data:` line is looked at
//!   only when `memmem` finds its usage key in it. OpenAI: the chunk whose `"usage"` is
//!   not `null` (the last one, sent only when the client asked `include_usage`).
//!   Anthropic: `message_start.message.usage` (input and cache counts) and
//!   `message_delta.usage` (cumulative output, sometimes input and cache counts too).
//!   Gemini: `usageMetadata` is cumulative, so only the last line carrying it is kept
//!   (copied into a reused buffer) and parsed at the end; it is final when the same
//!   chunk carries a `finishReason`.
//!   Responses: the `response.completed` (or `.incomplete` / `.failed`) event, whose
//!   `response.usage` is the whole request's.
//! - **Gemini's JSON-array stream** (`streamGenerateContent` without `alt=sse`, told
//!   apart by its leading `[`) is kept like a JSON answer and parsed at the end; a cut
//!   array does not parse and yields no usage.
//!
//! A stream that ended before its final usage yields what it had, marked `partial`.
//! OpenRouter-style answers report their price in `usage.cost` (USD); it is passed on.

use super::context::Usage;
use super::needles::{FINISH_REASON, Needle, USAGE_KEY, USAGE_METADATA};
use bytes::Bytes;
use memchr::memmem::FinderRev;
use serde::Deserialize;
use std::sync::LazyLock;
use switchyard_types::Protocol;

/// Most bytes of a JSON answer (or Gemini JSON-array stream) kept for the usage parse.
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

/// Longest SSE line carried over between two feeds; a longer one is skipped.
const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// What the tap found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TappedUsage {
    pub usage: Usage,
    /// The price the upstream reported (OpenRouter's `usage.cost`, USD).
    pub reported_cost_usd: Option<f64>,
    /// The stream ended before its final usage: the counts are what was known then.
    pub partial: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Json,
    Sse,
    /// A Gemini stream before its first non-blank byte.
    Undecided,
    GeminiArray,
}

/// Reads usage from a response body's client-bound bytes (see the module docs).
#[derive(Debug)]
pub struct UsageTap {
    protocol: Protocol,
    mode: Mode,
    /// JSON: the first frame, kept by reference count.
    first: Option<Bytes>,
    /// JSON: the body when it came in several frames. SSE: the carried partial line.
    buf: Vec<u8>,
    /// JSON: over [`MAX_JSON_BYTES`]. SSE: the current line is too long and skipped.
    over: bool,
    /// Gemini SSE: the last `data:` line carrying `usageMetadata`.
    last_line: Vec<u8>,
    /// Gemini SSE: that line also carried `finishReason`.
    last_final: bool,
    /// OpenAI or Anthropic stream: usage found so far.
    found: Option<Usage>,
    cost: Option<f64>,
    /// Anthropic stream: a `message_delta` with usage was seen.
    complete: bool,
}

impl UsageTap {
    pub fn new(protocol: Protocol, stream: bool) -> Self {
        let mode = match (stream, protocol) {
            (false, _) => Mode::Json,
            (true, Protocol::Gemini) => Mode::Undecided,
            (true, _) => Mode::Sse,
        };
        Self {
            protocol,
            mode,
            first: None,
            buf: Vec::new(),
            over: false,
            last_line: Vec::new(),
            last_final: false,
            found: None,
            cost: None,
            complete: false,
        }
    }

    /// Feed a frame the client gets, keeping it by reference count when it may be
    /// needed whole (JSON).
    pub fn feed_bytes(&mut self, bytes: &Bytes) {
        self.decide(bytes);
        if self.mode == Mode::Sse {
            self.feed_sse(bytes);
        } else if self.first.is_none() && self.buf.is_empty() && !self.over {
            if bytes.len() > MAX_JSON_BYTES {
                self.over = true;
            } else {
                self.first = Some(bytes.clone());
            }
        } else {
            self.keep(bytes);
        }
    }

    /// Feed bytes the client gets.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.decide(bytes);
        if self.mode == Mode::Sse {
            self.feed_sse(bytes);
        } else {
            self.keep(bytes);
        }
    }

    /// The body is over (or cut): the usage found, if any.
    pub fn finish(mut self) -> Option<TappedUsage> {
        match self.mode {
            Mode::Undecided => None,
            Mode::Json | Mode::GeminiArray => {
                if self.over {
                    return None;
                }
                let body = match self.first.take() {
                    Some(first) if self.buf.is_empty() => first,
                    Some(first) => {
                        let mut all = first.to_vec();
                        all.extend_from_slice(&self.buf);
                        Bytes::from(all)
                    }
                    None => Bytes::from(std::mem::take(&mut self.buf)),
                };
                let (usage, cost) = if self.mode == Mode::GeminiArray {
                    let chunks: Vec<GeminiChunk> = serde_json::from_slice(&body).ok()?;
                    (
                        chunks.into_iter().rev().find_map(|c| c.usage)?.usage(),
                        None,
                    )
                } else {
                    parse_json(self.protocol, &body)?
                };
                Some(TappedUsage {
                    usage,
                    reported_cost_usd: cost,
                    partial: false,
                })
            }
            Mode::Sse => {
                if !self.over && !self.buf.is_empty() {
                    // A last line without its line end: for Gemini, only when it is
                    // whole (a cut one must not hide the usage seen before it).
                    let line = std::mem::take(&mut self.buf);
                    let whole = self.protocol != Protocol::Gemini
                        || line.strip_prefix(b"data:").is_some_and(|data| {
                            serde_json::from_slice::<GeminiChunk>(data)
                                .is_ok_and(|c| c.usage.is_some())
                        });
                    if whole {
                        self.on_line(&line);
                    }
                }
                if self.protocol == Protocol::Gemini {
                    let chunk: GeminiChunk = serde_json::from_slice(&self.last_line).ok()?;
                    return Some(TappedUsage {
                        usage: chunk.usage?.usage(),
                        reported_cost_usd: None,
                        partial: !self.last_final,
                    });
                }
                Some(TappedUsage {
                    usage: self.found?,
                    reported_cost_usd: self.cost,
                    partial: self.protocol == Protocol::Anthropic && !self.complete,
                })
            }
        }
    }

    /// Tell a Gemini stream's JSON-array form from SSE by its first non-blank byte.
    fn decide(&mut self, bytes: &[u8]) {
        if self.mode != Mode::Undecided {
            return;
        }
        if let Some(&b) = bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            self.mode = if b == b'[' {
                Mode::GeminiArray
            } else {
                // Blank bytes kept while undecided are not part of a line.
                self.first = None;
                self.buf.clear();
                Mode::Sse
            };
        }
    }

    /// JSON: keep a further frame, up to [`MAX_JSON_BYTES`].
    fn keep(&mut self, bytes: &[u8]) {
        if self.over {
            return;
        }
        let held = self.buf.len() + self.first.as_ref().map_or(0, Bytes::len);
        if held + bytes.len() > MAX_JSON_BYTES {
            self.over = true;
            self.first = None;
            self.buf = Vec::new();
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// SSE: hand each complete line to [`Self::on_line`]; only a line split across
    /// feeds is copied.
    fn feed_sse(&mut self, mut bytes: &[u8]) {
        while let Some(at) = memchr::memchr2(b'\n', b'\r', bytes) {
            let head = &bytes[..at];
            bytes = &bytes[at + 1..];
            if self.over {
                self.over = false;
            } else if self.buf.is_empty() {
                self.on_line(head);
            } else {
                let mut line = std::mem::take(&mut self.buf);
                line.extend_from_slice(head);
                self.on_line(&line);
                line.clear();
                self.buf = line;
            }
        }
        if !bytes.is_empty() && !self.over {
            if self.buf.len() + bytes.len() > MAX_LINE_BYTES {
                self.over = true;
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(bytes);
            }
        }
    }

    fn on_line(&mut self, line: &[u8]) {
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        match self.protocol {
            Protocol::OpenAi => {
                if has_non_null(data, &USAGE_KEY)
                    && let Ok(chunk) = serde_json::from_slice::<OpenAiBody>(data)
                    && let Some(usage) = chunk.usage
                {
                    self.cost = usage.reported_cost();
                    self.found = Some(usage.usage());
                }
            }
            Protocol::Anthropic => {
                if USAGE_KEY.is_in(data)
                    && let Ok(event) = serde_json::from_slice::<AnthropicEvent>(data)
                {
                    if let Some(usage) = event.message.and_then(|m| m.usage) {
                        self.found = Some(usage.merge_into(self.found.unwrap_or_default()));
                    }
                    if let Some(usage) = event.usage {
                        self.found = Some(usage.merge_into(self.found.unwrap_or_default()));
                        self.complete = true;
                    }
                }
            }
            Protocol::Responses => {
                if has_non_null(data, &USAGE_KEY)
                    && let Ok(event) = serde_json::from_slice::<ResponsesEvent>(data)
                    && let Some(usage) = event.response.and_then(|r| r.usage)
                {
                    self.found = Some(usage.usage());
                }
            }
            Protocol::Gemini => {
                if USAGE_METADATA.is_in(data) {
                    self.last_line.clear();
                    self.last_line.extend_from_slice(data);
                    self.last_final = FINISH_REASON.is_in(data);
                }
            }
        }
    }
}

/// Whether `key` occurs in `data` with a value other than `null`.
fn has_non_null(data: &[u8], key: &Needle) -> bool {
    key.find_iter(data).any(|at| {
        let rest = &data[at + key.needle_len()..];
        let mut value = rest.iter().copied().skip_while(|b| b.is_ascii_whitespace());
        value.next() == Some(b':')
            && value
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| b != b'n')
    })
}

fn parse_json(protocol: Protocol, body: &[u8]) -> Option<(Usage, Option<f64>)> {
    match protocol {
        Protocol::OpenAi => {
            let usage = match tail_value::<OpenAiUsage>(body, &USAGE_KEY_REV) {
                Some(usage) => usage,
                None => serde_json::from_slice::<OpenAiBody>(body).ok()?.usage?,
            };
            Some((usage.usage(), usage.reported_cost()))
        }
        Protocol::Anthropic => {
            let usage = match tail_value::<AnthropicUsage>(body, &USAGE_KEY_REV) {
                Some(usage) => usage,
                None => serde_json::from_slice::<AnthropicEvent>(body).ok()?.usage?,
            };
            Some((usage.merge_into(Usage::default()), None))
        }
        Protocol::Responses => {
            let usage = match tail_value::<ResponsesUsage>(body, &USAGE_KEY_REV) {
                Some(usage) => usage,
                None => serde_json::from_slice::<ResponsesBody>(body).ok()?.usage?,
            };
            Some((usage.usage(), None))
        }
        Protocol::Gemini => {
            let usage = match tail_value::<GeminiUsage>(body, &USAGE_METADATA_REV) {
                Some(usage) => usage,
                None => serde_json::from_slice::<GeminiChunk>(body).ok()?.usage?,
            };
            Some((usage.usage(), None))
        }
    }
}

/// `"usage"`, searched from the end.
static USAGE_KEY_REV: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(b"\"usage\""));
/// `"usageMetadata"`, searched from the end.
static USAGE_METADATA_REV: LazyLock<FinderRev<'static>> =
    LazyLock::new(|| FinderRev::new(b"\"usageMetadata\""));

/// The top-level usage object, read without parsing the content before it
/// ([`super::json_tail`]); `None` sends the caller to the full parse.
fn tail_value<'a, T: Deserialize<'a>>(body: &'a [u8], key: &FinderRev<'_>) -> Option<T> {
    let value = super::json_tail::last_top_level_object(body, key)?;
    serde_json::from_slice(value).ok()
}

// Only the usage fields; serde skips every other key without building it.

#[derive(Deserialize)]
struct OpenAiBody {
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    prompt_tokens_details: Option<OpenAiPromptDetails>,
    completion_tokens_details: Option<OpenAiCompletionDetails>,
    /// OpenRouter: the request's price in USD.
    cost: Option<f64>,
}

#[derive(Deserialize)]
struct OpenAiPromptDetails {
    cached_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OpenAiCompletionDetails {
    reasoning_tokens: Option<u64>,
}

impl OpenAiUsage {
    fn usage(&self) -> Usage {
        let details = self.prompt_tokens_details.as_ref();
        let cache_read = details.and_then(|d| d.cached_tokens).unwrap_or(0);
        let cache_write = details.and_then(|d| d.cache_write_tokens).unwrap_or(0);
        Usage {
            input: self
                .prompt_tokens
                .saturating_sub(cache_read)
                .saturating_sub(cache_write),
            cache_read,
            cache_write,
            output: self.completion_tokens,
            reasoning: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }

    fn reported_cost(&self) -> Option<f64> {
        self.cost.filter(|c| c.is_finite() && *c >= 0.0)
    }
}

/// A Responses stream event: `response.completed` and its siblings carry the response.
#[derive(Deserialize)]
struct ResponsesEvent {
    response: Option<ResponsesBody>,
}

/// A `response` object (the JSON answer, or inside a stream event).
#[derive(Deserialize)]
struct ResponsesBody {
    usage: Option<ResponsesUsage>,
}

/// Responses usage: `input_tokens` counts the whole prompt (cached included),
/// `output_tokens` includes reasoning, as in Chat Completions.
#[derive(Deserialize)]
struct ResponsesUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    input_tokens_details: Option<OpenAiPromptDetails>,
    output_tokens_details: Option<OpenAiCompletionDetails>,
}

impl ResponsesUsage {
    fn usage(&self) -> Usage {
        OpenAiUsage {
            prompt_tokens: self.input_tokens,
            completion_tokens: self.output_tokens,
            prompt_tokens_details: self.input_tokens_details.as_ref().map(|d| {
                OpenAiPromptDetails {
                    cached_tokens: d.cached_tokens,
                    cache_write_tokens: d.cache_write_tokens,
                }
            }),
            completion_tokens_details: self.output_tokens_details.as_ref().map(|d| {
                OpenAiCompletionDetails {
                    reasoning_tokens: d.reasoning_tokens,
                }
            }),
            cost: None,
        }
        .usage()
    }
}

/// A Messages response, or a stream event (`message_start` carries `message.usage`,
/// `message_delta` a top-level `usage`).
#[derive(Deserialize)]
struct AnthropicEvent {
    message: Option<AnthropicMessage>,
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicMessage {
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicUsage {
    input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    output_tokens_details: Option<AnthropicOutputDetails>,
}

#[derive(Deserialize)]
struct AnthropicOutputDetails {
    thinking_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// The counts given here replace those in `usage` (Anthropic's are cumulative).
    fn merge_into(&self, mut usage: Usage) -> Usage {
        if let Some(n) = self.input_tokens {
            usage.input = n;
        }
        if let Some(n) = self.cache_creation_input_tokens {
            usage.cache_write = n;
        }
        if let Some(n) = self.cache_read_input_tokens {
            usage.cache_read = n;
        }
        if let Some(n) = self.output_tokens {
            usage.output = n;
        }
        if let Some(n) = self
            .output_tokens_details
            .as_ref()
            .and_then(|d| d.thinking_tokens)
        {
            usage.reasoning = n;
        }
        usage
    }
}

#[derive(Deserialize)]
struct GeminiChunk {
    #[serde(rename = "usageMetadata")]
    usage: Option<GeminiUsage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeminiUsage {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    tool_use_prompt_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

impl GeminiUsage {
    fn usage(&self) -> Usage {
        Usage {
            input: (self.prompt_token_count + self.tool_use_prompt_token_count)
                .saturating_sub(self.cached_content_token_count),
            cache_read: self.cached_content_token_count,
            cache_write: 0,
            output: self.candidates_token_count + self.thoughts_token_count,
            reasoning: self.thoughts_token_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cache_read: u64, cache_write: u64, output: u64, reasoning: u64) -> Usage {
        Usage::new(input, cache_read, cache_write, output, reasoning)
    }

    /// Feed `body` in pieces of `step` bytes (splitting lines and `\r\n` anywhere).
    fn tap(protocol: Protocol, stream: bool, body: &str, step: usize) -> Option<TappedUsage> {
        let mut tap = UsageTap::new(protocol, stream);
        for piece in body.as_bytes().chunks(step) {
            tap.feed(piece);
        }
        tap.finish()
    }

    fn every_split(protocol: Protocol, stream: bool, body: &str) -> Option<TappedUsage> {
        let mut whole = UsageTap::new(protocol, stream);
        whole.feed_bytes(&Bytes::copy_from_slice(body.as_bytes()));
        let expected = whole.finish();
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(tap(protocol, stream, body, step), expected, "step {step}");
        }
        expected
    }

    fn complete(usage: Usage) -> Option<TappedUsage> {
        Some(TappedUsage {
            usage,
            reported_cost_usd: None,
            partial: false,
        })
    }

    #[test]
    fn openai_json_with_cache_and_reasoning() {
        let body = r#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"the \"usage\": 5"}}],
            "usage":{"prompt_tokens":1000,"completion_tokens":300,"total_tokens":1300,
            "prompt_tokens_details":{"cached_tokens":600,"audio_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":200}}}"#;
        assert_eq!(
            every_split(Protocol::OpenAi, false, body),
            complete(usage(400, 600, 0, 300, 200))
        );
    }

    #[test]
    fn openai_json_reports_openrouter_cost_and_cache_writes() {
        let body = r#"{"usage":{"prompt_tokens":100,"completion_tokens":10,
            "prompt_tokens_details":{"cached_tokens":20,"cache_write_tokens":30},"cost":0.00123}}"#;
        assert_eq!(
            every_split(Protocol::OpenAi, false, body),
            Some(TappedUsage {
                usage: usage(50, 20, 30, 10, 0),
                reported_cost_usd: Some(0.00123),
                partial: false,
            })
        );
        assert_eq!(
            every_split(Protocol::OpenAi, false, r#"{"usage":null}"#),
            None
        );
        assert_eq!(every_split(Protocol::OpenAi, false, r#"{"usage":"#), None);
    }

    #[test]
    fn openai_stream_reads_the_usage_chunk() {
        let body = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n\
            data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\": null}\r\n\r\n\
            data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":40,\"total_tokens\":52,\
            \"prompt_tokens_details\":{\"cached_tokens\":2},\"completion_tokens_details\":{\"reasoning_tokens\":30}}}\n\n\
            data: [DONE]\n\n";
        assert_eq!(
            every_split(Protocol::OpenAi, true, body),
            complete(usage(10, 2, 0, 40, 30))
        );
        // Cut before the usage chunk: nothing known.
        let cut = &body[..body.find("data: {\"id\":\"c\",\"choices\":[]").unwrap_or(0)];
        assert_eq!(every_split(Protocol::OpenAi, true, cut), None);
    }

    #[test]
    fn responses_json_and_stream_read_the_response_usage() {
        let body = r#"{"id":"resp_1","object":"response","output":[],"usage":{"input_tokens":120,
            "input_tokens_details":{"cached_tokens":20},"output_tokens":40,
            "output_tokens_details":{"reasoning_tokens":30},"total_tokens":160}}"#;
        assert_eq!(
            every_split(Protocol::Responses, false, body),
            complete(usage(100, 20, 0, 40, 30))
        );
        let stream = "event: response.created\n\
            data: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"r\",\"usage\":null}}\n\n\
            event: response.output_text.delta\n\
            data: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"\\\"usage\\\": 1\"}\n\n\
            event: response.completed\n\
            data: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"r\",\"usage\":{\"input_tokens\":12,\
            \"input_tokens_details\":{\"cached_tokens\":2},\"output_tokens\":40,\"output_tokens_details\":{\"reasoning_tokens\":30},\"total_tokens\":52}}}\n\n";
        assert_eq!(
            every_split(Protocol::Responses, true, stream),
            complete(usage(10, 2, 0, 40, 30))
        );
        let cut = &stream[..stream.find("event: response.completed").unwrap_or(0)];
        assert_eq!(every_split(Protocol::Responses, true, cut), None);
    }

    #[test]
    fn has_non_null_looks_at_the_value() {
        assert!(!has_non_null(b"{\"usage\":null}", &USAGE_KEY));
        assert!(!has_non_null(b"{\"usage\" : null}", &USAGE_KEY));
        assert!(has_non_null(
            b"{\"usage\":null,\"x\":{\"usage\": {}}}",
            &USAGE_KEY
        ));
        assert!(!has_non_null(b"{\"usage\"}", &USAGE_KEY));
    }

    const ANTHROPIC_STREAM: &str = "event: message_start\n\
        data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\
        \"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":800,\"output_tokens\":1}}}\n\n\
        event: content_block_delta\n\
        data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\\\"usage\\\"\"}}\n\n\
        event: message_delta\n\
        data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":87}}\n\n\
        event: message_stop\n\
        data: {\"type\":\"message_stop\"}\n\n";

    #[test]
    fn anthropic_stream_joins_start_and_delta() {
        assert_eq!(
            every_split(Protocol::Anthropic, true, ANTHROPIC_STREAM),
            complete(usage(12, 800, 100, 87, 0))
        );
    }

    #[test]
    fn anthropic_stream_cut_before_the_delta_is_partial() {
        let cut = &ANTHROPIC_STREAM[..ANTHROPIC_STREAM.find("event: message_delta").unwrap_or(0)];
        assert_eq!(
            every_split(Protocol::Anthropic, true, cut),
            Some(TappedUsage {
                usage: usage(12, 800, 100, 1, 0),
                reported_cost_usd: None,
                partial: true,
            })
        );
        assert_eq!(
            every_split(Protocol::Anthropic, true, "event: ping\n"),
            None
        );
    }

    #[test]
    fn anthropic_delta_may_restate_input_and_thinking() {
        let body = "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n\
            data: {\"type\":\"message_delta\",\"usage\":{\"input_tokens\":7,\"cache_read_input_tokens\":3,\
            \"output_tokens\":50,\"output_tokens_details\":{\"thinking_tokens\":20}}}\n\n";
        assert_eq!(
            every_split(Protocol::Anthropic, true, body),
            complete(usage(7, 3, 0, 50, 20))
        );
    }

    #[test]
    fn anthropic_json() {
        let body = r#"{"id":"m","type":"message","content":[{"type":"text","text":"hi"}],
            "usage":{"input_tokens":20,"cache_creation_input_tokens":5,"cache_read_input_tokens":40,"output_tokens":9,
            "cache_creation":{"ephemeral_5m_input_tokens":5,"ephemeral_1h_input_tokens":0}}}"#;
        assert_eq!(
            every_split(Protocol::Anthropic, false, body),
            complete(usage(20, 40, 5, 9, 0))
        );
    }

    #[test]
    fn gemini_json_adds_thoughts_to_output() {
        let body = r#"{"candidates":[{"content":{"parts":[{"text":"hi"}]},"finishReason":"STOP"}],
            "usageMetadata":{"promptTokenCount":120,"cachedContentTokenCount":100,"candidatesTokenCount":8,
            "thoughtsTokenCount":30,"totalTokenCount":158,"promptTokensDetails":[{"modality":"TEXT","tokenCount":120}]}}"#;
        assert_eq!(
            every_split(Protocol::Gemini, false, body),
            complete(usage(20, 100, 0, 38, 30))
        );
    }

    const GEMINI_SSE: &str = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]}}],\
        \"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":1,\"thoughtsTokenCount\":4}}\r\n\r\n\
        data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"B\"}]},\"finishReason\":\"STOP\"}],\
        \"usageMetadata\":{\"promptTokenCount\":9,\"toolUsePromptTokenCount\":1,\"candidatesTokenCount\":6,\"thoughtsTokenCount\":4}}\r\n\r\n";

    #[test]
    fn gemini_sse_takes_the_last_usage() {
        assert_eq!(
            every_split(Protocol::Gemini, true, GEMINI_SSE),
            complete(usage(10, 0, 0, 10, 4))
        );
        // Without its last blank line, too.
        assert_eq!(
            every_split(Protocol::Gemini, true, GEMINI_SSE.trim_end()),
            complete(usage(10, 0, 0, 10, 4))
        );
    }

    #[test]
    fn gemini_sse_cut_is_partial() {
        let cut = &GEMINI_SSE[..GEMINI_SSE.rfind("data:").unwrap_or(0) + 20];
        assert_eq!(
            every_split(Protocol::Gemini, true, cut),
            Some(TappedUsage {
                usage: usage(9, 0, 0, 5, 4),
                reported_cost_usd: None,
                partial: true,
            })
        );
    }

    #[test]
    fn gemini_sse_cut_inside_a_usage_line_keeps_the_earlier_usage() {
        let cut = &GEMINI_SSE[..GEMINI_SSE.rfind("\"thoughtsTokenCount\"").unwrap_or(0)];
        assert_eq!(
            every_split(Protocol::Gemini, true, cut),
            Some(TappedUsage {
                usage: usage(9, 0, 0, 5, 4),
                reported_cost_usd: None,
                partial: true,
            })
        );
    }

    #[test]
    fn gemini_json_array_stream() {
        let body = "[{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]}}],\
            \"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":1}}\n,\r\n\
            {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"B\"}]},\"finishReason\":\"STOP\"}],\
            \"usageMetadata\":{\"promptTokenCount\":9,\"cachedContentTokenCount\":4,\"candidatesTokenCount\":3}},\r\n\
            {\"candidates\":[]}]";
        assert_eq!(
            every_split(Protocol::Gemini, true, body),
            complete(usage(5, 4, 0, 3, 0))
        );
        assert_eq!(every_split(Protocol::Gemini, true, &body[..60]), None);
    }

    #[test]
    fn oversized_json_is_not_parsed() {
        let mut tap = UsageTap::new(Protocol::OpenAi, false);
        tap.feed(br#"{"usage":{"prompt_tokens":1,"completion_tokens":1},"pad":""#);
        tap.feed(&vec![b'x'; MAX_JSON_BYTES]);
        tap.feed(b"\"}");
        assert_eq!(tap.finish(), None);
    }
}
