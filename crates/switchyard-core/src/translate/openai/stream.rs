//! Streaming: upstream `chat.completion.chunk` SSE → IR events ([`OpenAiStreamDecoder`]),
//! and IR events → chunks for an OpenAI client ([`OpenAiStreamEncoder`]).

use super::response::{decode_finish, decode_usage, encode_finish, encode_usage, error_message};
use super::wire::{
    ChunkChoiceOut, ChunkIn, ChunkOut, DeltaIn, DeltaOut, FunctionDeltaOut, StreamErrorBodyOut,
    StreamErrorOut, ToolCallDeltaIn, ToolCallDeltaOut,
};
use crate::pipeline::needles::CHOICES_KEY;
use crate::translate::frame::{KnownFrames, StreamFrame};
use crate::translate::sse::SseParser;
use crate::translate::{StreamDecode, StreamEncode, TranslateError, ids};
use bytes::BytesMut;
use serde::Serialize;
use switchyard_types::ir::{StreamEvent, Usage};

// ---------------------------------------------------------------- decoder

/// Text-only chunk shapes proven by earlier streams.
static TEXT_FRAMES: KnownFrames = KnownFrames::new();

/// OpenAI pads each chunk with a random string (`stream_options.include_obfuscation`, on
/// by default, against length side channels); frames skip it.
const OBFUSCATION: Option<&str> = Some("\"obfuscation\":\"");

/// Upstream SSE → IR events.
///
/// Tool calls get their IR index from a per-stream counter, in order of first
/// appearance, so upstreams that omit `index` or put every parallel call on index 0
/// (§4.4) still yield distinct calls: a fragment with a new `id` starts a new call; a
/// fragment without one continues the latest call with the same `index` (or the latest
/// call at all when `index` is missing), unless it names a *different* function. A call
/// is announced ([`StreamEvent::ToolCallStart`]) once its name is known; argument
/// fragments that came earlier are sent right after. Arguments are otherwise forwarded
/// as they arrive.
#[derive(Debug)]
pub struct OpenAiStreamDecoder {
    sse: SseParser,
    /// The request's model, for a `Start` when the upstream names none.
    fallback_model: String,
    /// The upstream's response id (for synthesizing missing call ids).
    id: String,
    started: bool,
    /// `Finish` was emitted: only usage may follow.
    finished: bool,
    /// `[DONE]` or an error was seen: everything after is ignored.
    done: bool,
    /// A refusal was streamed (a `stop` then means [`FinishReason::Refusal`]).
    ///
    /// [`FinishReason::Refusal`]: switchyard_types::ir::FinishReason::Refusal
    refused: bool,
    /// Tool calls by IR index.
    calls: Vec<Call>,
    /// The first chunk's bytes before its top-level `"choices"` key (`{"id":…,"model":…,`).
    /// Later chunks that repeat them byte for byte (OpenAI's do) are parsed from
    /// `"choices"` on: the skipped fields carry nothing new.
    head: Option<String>,
    /// Scratch for `{` + the rest of such a chunk.
    tail: String,
    /// The shape (after the head) of a chunk that carries only text: later chunks of that
    /// shape are read without the parser.
    text_frame: StreamFrame,
}

#[derive(Debug)]
struct Call {
    upstream_index: Option<u32>,
    id: String,
    name: String,
    started: bool,
    closed: bool,
    /// Arguments received before the name.
    pending: String,
}

impl OpenAiStreamDecoder {
    pub(super) fn new(model: &str) -> Self {
        Self {
            sse: SseParser::new(),
            fallback_model: model.to_owned(),
            id: String::new(),
            started: false,
            finished: false,
            done: false,
            refused: false,
            calls: Vec::new(),
            head: None,
            tail: String::new(),
            text_frame: StreamFrame::default(),
        }
    }

    /// The rest of `data` after a head seen before (it starts at `"choices"`).
    fn repeated_head<'d>(&self, data: &'d str) -> Option<&'d str> {
        data.strip_prefix(self.head.as_deref()?)
    }

    /// Remember the head of a chunk that parsed: up to its first `"choices":`, which must
    /// follow a `,` (so it is a key of the outer object, not of something nested; a wrong
    /// guess only makes later chunks fail the short parse and take the full one). Heads
    /// carrying `usage` or `error` are not reused.
    fn learn_head(&mut self, data: &str) {
        if let Some(at) = CHOICES_KEY.find(data.as_bytes())
            && let Some(head) = data.get(..at)
            && head.starts_with('{')
            && head.ends_with(',')
            && !head.contains("\"usage\"")
            && !head.contains("\"error\"")
        {
            self.head = Some(head.to_owned());
        }
    }

    /// Run `chunk` (or, with `None`, the end of the stream) through the SSE parser.
    fn parse(
        &mut self,
        chunk: Option<&[u8]>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), TranslateError> {
        SseParser::drive(
            self,
            |d| &mut d.sse,
            chunk,
            |d, _, data| d.handle(data, out),
        )
    }

    fn handle(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        let data = data.trim();
        if self.done || data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let rest = self.repeated_head(data);
        if let Some(text) = rest.and_then(|r| self.text_frame.read(&TEXT_FRAMES, r)) {
            // What `chunk` does with a text-only chunk.
            if !self.finished && !text.is_empty() {
                out.push(StreamEvent::TextDelta {
                    text: text.into_owned(),
                });
            }
            return Ok(());
        }
        let mut tail = std::mem::take(&mut self.tail);
        let result = match rest {
            Some(rest) => {
                tail.clear();
                tail.push('{');
                tail.push_str(rest);
                match serde_json::from_str::<ChunkIn>(&tail) {
                    Ok(chunk) => {
                        if self.text_frame.wants()
                            && let Some(text) = text_only(&chunk)
                        {
                            let shape = ("\"content\":\"", OBFUSCATION);
                            self.text_frame
                                .learn(&TEXT_FRAMES, rest, shape, text, |probe| {
                                    let doc = format!("{{{probe}");
                                    let chunk = serde_json::from_str(&doc).ok()?;
                                    text_only(&chunk).map(str::to_owned)
                                });
                        }
                        self.chunk(chunk, out)
                    }
                    // Not what the head promised: read the chunk whole.
                    Err(_) => self.parse_whole(data, out),
                }
            }
            None => {
                let result = self.parse_whole(data, out);
                if result.is_ok() && self.head.is_none() && self.started {
                    self.learn_head(data);
                }
                result
            }
        };
        self.tail = tail;
        result
    }

    fn parse_whole(
        &mut self,
        data: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), TranslateError> {
        let chunk: ChunkIn = serde_json::from_str(data)
            .map_err(|e| TranslateError::UpstreamMalformed(format!("stream chunk: {e}")))?;
        self.chunk(chunk, out)
    }

    fn chunk(
        &mut self,
        chunk: ChunkIn<'_>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), TranslateError> {
        if let Some(err) = &chunk.error {
            self.start(None, None, out);
            out.push(StreamEvent::Error {
                message: error_message(err),
            });
            self.done = true;
            return Ok(());
        }
        if chunk.id.is_none() && chunk.choices.is_none() && chunk.usage.is_none() {
            return Ok(()); // a keep-alive or something we do not know
        }
        self.start(chunk.id.as_deref(), chunk.model.as_deref(), out);
        // We ask for one choice; `FirstChoice` keeps only that one.
        if let Some(choice) = chunk.choices.and_then(|c| c.0)
            && !self.finished
        {
            if let Some(delta) = choice.delta {
                self.delta(*delta, out);
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.close_calls(out);
                let reason =
                    decode_finish(Some(reason.as_ref()), !self.calls.is_empty(), self.refused);
                out.push(StreamEvent::Finish { reason });
                self.finished = true;
            }
        }
        if let Some(usage) = &chunk.usage {
            out.push(StreamEvent::Usage {
                usage: decode_usage(usage),
            });
        }
        Ok(())
    }

    fn start(&mut self, id: Option<&str>, model: Option<&str>, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        self.id = id.unwrap_or_default().to_owned();
        let model = model
            .filter(|m| !m.is_empty())
            .map_or_else(|| self.fallback_model.clone(), str::to_owned);
        out.push(StreamEvent::Start {
            id: self.id.clone(),
            model,
        });
    }

    fn delta(&mut self, delta: DeltaIn, out: &mut Vec<StreamEvent>) {
        // `reasoning_content` (DeepSeek style) or `reasoning` (OpenRouter): one of them.
        if let Some(text) = delta
            .reasoning_content
            .or(delta.reasoning)
            .filter(|t| !t.is_empty())
        {
            out.push(StreamEvent::ThinkingDelta { text });
        }
        if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
            out.push(StreamEvent::TextDelta { text });
        }
        if let Some(text) = delta.refusal.filter(|t| !t.is_empty()) {
            self.refused = true;
            out.push(StreamEvent::TextDelta { text });
        }
        for fragment in delta.tool_calls.into_iter().flatten() {
            self.tool_fragment(fragment, out);
        }
    }

    fn tool_fragment(&mut self, f: ToolCallDeltaIn, out: &mut Vec<StreamEvent>) {
        let id = f.id.filter(|i| !i.is_empty());
        let (name, args) = match f.function {
            Some(func) => (
                func.name.filter(|n| !n.is_empty()),
                func.arguments.unwrap_or_default(),
            ),
            None => (None, String::new()),
        };
        let k = match self.find_call(f.index, id.as_deref(), name.as_deref()) {
            Some(k) => k,
            None => {
                self.calls.push(Call {
                    upstream_index: f.index,
                    id: String::new(),
                    name: String::new(),
                    started: false,
                    closed: false,
                    pending: String::new(),
                });
                self.calls.len() - 1
            }
        };
        let response_id = &self.id;
        let Some(call) = self.calls.get_mut(k) else {
            return;
        };
        if call.id.is_empty()
            && let Some(id) = id
        {
            call.id = id;
        }
        if !call.started
            && let Some(name) = name
        {
            call.name = name;
        }
        call.pending.push_str(&args);
        if !call.started && !call.name.is_empty() {
            announce(call, k, response_id, out);
        }
        if call.started && !call.pending.is_empty() && !call.closed {
            let arguments = std::mem::take(&mut call.pending);
            out.push(StreamEvent::ToolCallDelta {
                index: index_u32(k),
                arguments,
            });
        }
    }

    /// Which known call a fragment continues, if any (see the type's docs).
    fn find_call(&self, index: Option<u32>, id: Option<&str>, name: Option<&str>) -> Option<usize> {
        if let Some(id) = id {
            return self.calls.iter().position(|c| c.id == id).or_else(|| {
                // A call that began without an id may get it in a later fragment.
                self.calls
                    .iter()
                    .rposition(|c| c.id.is_empty() && !c.closed && c.upstream_index == index)
            });
        }
        let k = match index {
            Some(_) => self.calls.iter().rposition(|c| c.upstream_index == index)?,
            None => self.calls.len().checked_sub(1)?,
        };
        let call = self.calls.get(k)?;
        match name {
            Some(name) if call.started && call.name != name => None,
            _ if call.closed => None,
            _ => Some(k),
        }
    }

    /// Announce (if never named) and end every open call, in index order.
    fn close_calls(&mut self, out: &mut Vec<StreamEvent>) {
        let response_id = &self.id;
        for (k, call) in self.calls.iter_mut().enumerate() {
            if call.closed {
                continue;
            }
            if !call.started {
                announce(call, k, response_id, out);
                if !call.pending.is_empty() {
                    let arguments = std::mem::take(&mut call.pending);
                    out.push(StreamEvent::ToolCallDelta {
                        index: index_u32(k),
                        arguments,
                    });
                }
            }
            call.closed = true;
            out.push(StreamEvent::ToolCallEnd {
                index: index_u32(k),
            });
        }
    }
}

/// The text of a chunk that carries nothing but choice 0's `delta.content` (non-empty):
/// no finish, usage, error, reasoning, refusal or tool call.
fn text_only<'c>(chunk: &'c ChunkIn<'_>) -> Option<&'c str> {
    if chunk.usage.is_some() || chunk.error.is_some() {
        return None;
    }
    let choice = chunk.choices.as_ref()?.0.as_ref()?;
    let delta = choice.delta.as_deref()?;
    let plain = choice.finish_reason.is_none()
        && delta.reasoning_content.is_none()
        && delta.reasoning.is_none()
        && delta.refusal.is_none()
        && delta.tool_calls.is_none();
    delta.content.as_deref().filter(|t| plain && !t.is_empty())
}

/// Emit the call's `ToolCallStart`, synthesizing an id when the upstream gave none.
fn announce(call: &mut Call, k: usize, response_id: &str, out: &mut Vec<StreamEvent>) {
    if call.id.is_empty() {
        call.id = ids::synthesize(response_id, k, &call.name);
    }
    call.started = true;
    out.push(StreamEvent::ToolCallStart {
        index: index_u32(k),
        id: call.id.clone(),
        name: call.name.clone(),
    });
}

fn index_u32(k: usize) -> u32 {
    u32::try_from(k).unwrap_or(u32::MAX)
}

impl StreamDecode for OpenAiStreamDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        self.parse(Some(chunk), out)
    }

    /// Flush the last event, then end any call still open. No `Finish` is invented: the
    /// server decides what a stream cut short means.
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        self.parse(None, out)?;
        if !self.finished {
            self.close_calls(out);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- encoder

/// IR events → `data: {chat.completion.chunk}` events for an OpenAI client.
///
/// The first chunk carries `delta.role`; thinking goes out as the non-standard
/// `delta.reasoning_content`; signatures and redacted thinking are not shown. Usage is
/// held until [`StreamEncode::finish`], where it goes out as the `choices: []` chunk if
/// the client asked for `include_usage` (and usage is known), before `data: [DONE]`.
/// An `Error` event writes the OpenAI error chunk and ends the stream (no `[DONE]`).
#[derive(Debug)]
pub struct OpenAiStreamEncoder {
    id: String,
    model: String,
    created: i64,
    include_usage: bool,
    started: bool,
    usage: Option<Usage>,
    /// Terminated (error written or `finish` done): nothing more is written.
    ended: bool,
}

impl OpenAiStreamEncoder {
    pub(super) fn new(model: &str, include_usage: bool, created: i64) -> Self {
        Self {
            id: String::new(),
            model: model.to_owned(),
            created,
            include_usage,
            started: false,
            usage: None,
            ended: false,
        }
    }

    fn ensure_started(&mut self, out: &mut BytesMut) {
        if !self.started {
            self.started = true;
            let delta = DeltaOut {
                role: Some("assistant"),
                content: Some(""),
                ..DeltaOut::default()
            };
            self.chunk(delta, None, out);
        }
    }

    fn chunk(&self, delta: DeltaOut<'_>, finish_reason: Option<&'static str>, out: &mut BytesMut) {
        let chunk = ChunkOut {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: vec![ChunkChoiceOut {
                index: 0,
                delta,
                logprobs: None,
                finish_reason,
            }],
            usage: self.include_usage.then_some(None),
        };
        write_data(&chunk, out);
    }

    fn tool_chunk(&mut self, call: ToolCallDeltaOut<'_>, out: &mut BytesMut) {
        self.ensure_started(out);
        self.chunk(
            DeltaOut {
                tool_calls: Some([call]),
                ..DeltaOut::default()
            },
            None,
            out,
        );
    }
}

fn write_data<T: Serialize>(value: &T, out: &mut BytesMut) {
    crate::translate::sse::write_event(out, None, value);
}

impl StreamEncode for OpenAiStreamEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        match event {
            StreamEvent::Start { id, model } => {
                if !self.started {
                    id.clone_into(&mut self.id);
                    if !model.is_empty() {
                        model.clone_into(&mut self.model);
                    }
                }
                self.ensure_started(out);
            }
            StreamEvent::TextDelta { text } if !text.is_empty() => {
                self.ensure_started(out);
                self.chunk(
                    DeltaOut {
                        content: Some(text),
                        ..DeltaOut::default()
                    },
                    None,
                    out,
                );
            }
            StreamEvent::ThinkingDelta { text } if !text.is_empty() => {
                self.ensure_started(out);
                self.chunk(
                    DeltaOut {
                        reasoning_content: Some(text),
                        ..DeltaOut::default()
                    },
                    None,
                    out,
                );
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                let call = ToolCallDeltaOut {
                    index: *index,
                    id: Some(id),
                    kind: Some("function"),
                    function: FunctionDeltaOut {
                        name: Some(name),
                        arguments: "",
                    },
                };
                self.tool_chunk(call, out);
            }
            StreamEvent::ToolCallDelta { index, arguments } if !arguments.is_empty() => {
                let call = ToolCallDeltaOut {
                    index: *index,
                    id: None,
                    kind: None,
                    function: FunctionDeltaOut {
                        name: None,
                        arguments,
                    },
                };
                self.tool_chunk(call, out);
            }
            StreamEvent::Finish { reason } => {
                self.ensure_started(out);
                self.chunk(DeltaOut::default(), Some(encode_finish(reason)), out);
            }
            StreamEvent::Usage { usage } => self.usage = Some(*usage),
            StreamEvent::Error { message } => {
                let body = StreamErrorOut {
                    error: StreamErrorBodyOut {
                        message,
                        kind: "server_error",
                        param: None,
                        code: None,
                    },
                };
                write_data(&body, out);
                self.ended = true;
            }
            // Empty deltas carry nothing; the rest has no OpenAI form.
            StreamEvent::TextDelta { .. }
            | StreamEvent::ThinkingDelta { .. }
            | StreamEvent::ToolCallDelta { .. }
            | StreamEvent::ThinkingSignature { .. }
            | StreamEvent::RedactedThinking { .. }
            | StreamEvent::ToolCallEnd { .. } => {}
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        self.ended = true;
        if self.include_usage
            && let Some(usage) = &self.usage
        {
            let chunk = ChunkOut {
                id: &self.id,
                object: "chat.completion.chunk",
                created: self.created,
                model: &self.model,
                choices: Vec::new(),
                usage: Some(Some(encode_usage(usage))),
            };
            write_data(&chunk, out);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

#[cfg(test)]
mod head_tests {
    use super::*;
    use crate::translate::frame::testing;

    fn run(chunks: &[&str]) -> (Vec<StreamEvent>, OpenAiStreamDecoder) {
        let mut d = OpenAiStreamDecoder::new("fallback");
        let mut out = Vec::new();
        for c in chunks {
            d.feed(format!("data: {c}\n\n").as_bytes(), &mut out)
                .unwrap();
        }
        (out, d)
    }

    const HEAD: &str = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","#;

    #[test]
    fn a_repeated_head_is_skipped_and_changes_nothing() {
        let chunks = [
            format!(
                r#"{HEAD}"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}}}}]}}"#
            ),
            format!(r#"{HEAD}"choices":[{{"index":0,"delta":{{"content":"Hel"}}}}]}}"#),
            // Another head (a new id): read whole, the call stays the same.
            r#"{"id":"c2","choices":[{"index":0,"delta":{"content":"lo"}}]}"#.to_owned(),
            format!(
                r#"{HEAD}"choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":3,"completion_tokens":2}}}}"#
            ),
        ];
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        let (events, d) = run(&refs);
        assert_eq!(d.head.as_deref(), Some(HEAD));
        let text: String = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::TextDelta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, "Hello");
        assert!(
            matches!(&events[0], StreamEvent::Start { id, model } if id == "c1" && model == "m")
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, StreamEvent::Finish { .. }))
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, StreamEvent::Usage { usage } if usage.output_tokens == 2))
        );
    }

    #[test]
    fn a_misleading_head_falls_back_to_the_whole_chunk() {
        // The first `"choices":` after a comma is nested: the short parse of the next chunk
        // fails and the whole chunk is read instead.
        let head = r#"{"id":"c1","x":{"a":1,"#;
        let first =
            format!(r#"{head}"choices":2}},"choices":[{{"index":0,"delta":{{"content":"A"}}}}]}}"#);
        let second =
            format!(r#"{head}"choices":2}},"choices":[{{"index":0,"delta":{{"content":"B"}}}}]}}"#);
        let (events, d) = run(&[&first, &second]);
        assert_eq!(d.head.as_deref(), Some(head));
        let text: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::TextDelta { text } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(text, ["A", "B"]);
    }

    #[test]
    fn text_chunks_read_by_frame_give_what_the_parser_gives() {
        let body = |choice: &str| format!(r#"{HEAD}"choices":[{choice}]}}"#);
        // OpenAI pads each chunk with a random `obfuscation` string.
        let pad = std::cell::Cell::new(0);
        let text = |t: &str| {
            pad.set(pad.get() + 1);
            let chunk = body(&format!(
                r#"{{"index":0,"delta":{{"content":{t}}},"logprobs":null,"finish_reason":null}}"#
            ));
            let pad = "x".repeat(pad.get());
            format!(r#"{},"obfuscation":"{pad}"}}"#, chunk.trim_end_matches('}'))
        };
        let chunks = [
            body(r#"{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}"#),
            text(r#""Hel""#),
            text(r#""lo \"q\"\n\u00e9""#),
            text(r#""""#),
            text(r#""bad \x""#),
            body(r#"{"index":0,"delta":{"refusal":"no"},"logprobs":null,"finish_reason":null}"#),
            body(
                r#"{"index":0,"delta":{"content":"x"},"logprobs":{"content":[]},"finish_reason":null}"#,
            ),
            body(
                r#"{"index":0,"delta":{"content":"y","tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}"#,
            ),
            text(r#""after""#),
            body(r#"{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}"#),
            text(r#""late""#),
        ];
        let decode = |frames: bool| {
            let mut d = OpenAiStreamDecoder::new("m");
            if !frames {
                d.text_frame = StreamFrame::new(0);
            }
            let mut out = Vec::new();
            let mut errors = 0;
            for c in &chunks {
                if d.feed(format!("data: {c}\n\n").as_bytes(), &mut out)
                    .is_err()
                {
                    errors += 1;
                }
            }
            (format!("{out:?}"), errors, d.text_frame.is_learned())
        };
        let (framed, framed_errors, learned) = decode(true);
        let (parsed, parsed_errors, _) = decode(false);
        assert!(learned);
        assert_eq!(framed, parsed);
        assert_eq!((framed_errors, parsed_errors), (1, 1)); // the bad escape
        assert!(
            framed.contains(r#"TextDelta { text: "lo \"q\"\né" }"#),
            "{framed}"
        );
        assert!(!framed.contains("late"), "{framed}");
    }

    proptest::proptest! {
        /// Any texts, any one byte of any chunk changed: the frame path and the parser
        /// give the same events and the same errors.
        #[test]
        fn frames_agree_with_the_parser((texts, flips) in testing::texts_and_flips()) {
            let chunks = testing::chunks(&texts, &flips, |i, content| {
                format!(
                    r#"{HEAD}"choices":[{{"index":0,"delta":{{"content":{content}}},"finish_reason":null}}],"obfuscation":"{}"}}"#,
                    "z".repeat(i)
                )
            });
            let decode = |frames: bool| {
                let mut d = OpenAiStreamDecoder::new("m");
                if !frames {
                    d.text_frame = StreamFrame::new(0);
                }
                let mut out = Vec::new();
                let results: Vec<bool> = chunks
                    .iter()
                    .map(|c| d.feed(&[b"data: ", &c[..], b"\n\n"].concat(), &mut out).is_ok())
                    .collect();
                (format!("{out:?}"), results)
            };
            proptest::prop_assert_eq!(decode(true), decode(false));
        }
    }

    #[test]
    fn heads_with_usage_or_error_are_not_reused() {
        let with_usage =
            r#"{"id":"c1","usage":null,"choices":[{"index":0,"delta":{"content":"A"}}]}"#;
        let (_, d) = run(&[with_usage]);
        assert!(d.head.is_none());
    }
}
