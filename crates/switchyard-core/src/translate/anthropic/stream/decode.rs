//! Upstream Anthropic SSE → IR events.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;

use switchyard_types::Protocol;
use switchyard_types::ir::{FinishReason, Signature, StreamEvent};

use super::super::response::{anthropic_signature, decode_stop_reason, decode_usage};
use super::super::wire::{DeltaIn, EventIn, StreamBlockIn, UsageIn};
use crate::translate::frame::{KnownFrames, StreamFrame};
use crate::translate::sse::SseParser;
use crate::translate::{StreamDecode, TranslateError};

/// What an upstream content block is, by its Anthropic index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    /// A `tool_use` block: its IR call index, and whether a non-empty fragment arrived.
    Tool {
        call: u32,
        has_args: bool,
    },
    /// Redacted thinking (sent whole at start) or a block with no IR form (server tools):
    /// its deltas are dropped.
    Skipped,
}

/// A `content_block_delta` read without serde's internally-tagged buffering (which copies
/// every event into an intermediate tree): the SSE `event:` name already says what it is.
#[derive(Deserialize)]
struct BlockDelta<'a> {
    index: u64,
    #[serde(borrow)]
    delta: FlatDelta<'a>,
}

#[derive(Deserialize)]
struct FlatDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    text: Option<String>,
    thinking: Option<String>,
    signature: Option<String>,
    partial_json: Option<String>,
}

/// `None` when the data is not a well-formed delta: the general reader then decides
/// (and names the fault).
fn block_delta(data: &str) -> Option<EventIn> {
    let BlockDelta { index, delta } = serde_json::from_str(data).ok()?;
    let delta = match delta.kind.as_ref() {
        "text_delta" => DeltaIn::TextDelta { text: delta.text? },
        "thinking_delta" => DeltaIn::ThinkingDelta {
            thinking: delta.thinking?,
        },
        "signature_delta" => DeltaIn::SignatureDelta {
            signature: delta.signature?,
        },
        "input_json_delta" => DeltaIn::InputJsonDelta {
            partial_json: delta.partial_json?,
        },
        _ => DeltaIn::Other,
    };
    Some(EventIn::ContentBlockDelta { index, delta })
}

/// Text-delta shapes proven by earlier streams.
static TEXT_FRAMES: KnownFrames = KnownFrames::new();

/// Upstream Anthropic SSE → IR events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    /// Usage as Anthropic reported it so far; `message_delta` updates only what it carries.
    usage: UsageIn,
    blocks: HashMap<u64, BlockKind>,
    /// IR index of the next tool call (counts tool blocks only, not all blocks).
    next_call: u32,
    started: bool,
    finished: bool,
    stopped: bool,
    failed: bool,
    /// The shape of this stream's text deltas: later deltas of that shape are read
    /// without the parser.
    text_frame: StreamFrame,
    /// The block index the frame's bytes carry.
    frame_index: u64,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn event(
        &mut self,
        name: &str,
        data: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), TranslateError> {
        if self.failed {
            return Ok(());
        }
        let fast = if name == "content_block_delta" {
            self.content_block_delta(data)
        } else {
            None
        };
        let parsed = match fast {
            Some(event) => Ok(event),
            None => serde_json::from_str(data),
        };
        let event: EventIn = match parsed {
            Ok(e) => e,
            Err(_) if !KNOWN_EVENTS.contains(&name) => return Ok(()),
            Err(e) => {
                return Err(TranslateError::UpstreamMalformed(format!(
                    "`{name}` event: {e}"
                )));
            }
        };
        match event {
            EventIn::Ping | EventIn::Other => {}
            // Nothing but usage follows Finish in the IR (an error after the stop reason
            // changes nothing the client needs).
            EventIn::MessageStart { .. }
            | EventIn::ContentBlockStart { .. }
            | EventIn::ContentBlockDelta { .. }
            | EventIn::Error { .. }
                if self.finished => {}
            EventIn::MessageStart { .. } if self.started => {}
            EventIn::MessageStart { message } => {
                self.started = true;
                out.push(StreamEvent::Start {
                    id: message.id,
                    model: message.model,
                });
                self.usage = message.usage;
                out.push(StreamEvent::Usage {
                    usage: decode_usage(&self.usage),
                });
            }
            EventIn::Error { error } => {
                self.failed = true;
                let message = error
                    .message
                    .or(error.kind)
                    .unwrap_or_else(|| "upstream stream error".to_owned());
                out.push(StreamEvent::Error { message });
            }
            event => {
                // `Start` comes first in the IR, even from an upstream that skipped
                // `message_start`.
                if !self.started {
                    self.started = true;
                    out.push(StreamEvent::Start {
                        id: String::new(),
                        model: String::new(),
                    });
                }
                self.content(event, out);
            }
        }
        Ok(())
    }

    fn content(&mut self, event: EventIn, out: &mut Vec<StreamEvent>) {
        match event {
            EventIn::ContentBlockStart {
                index,
                content_block,
            } => {
                self.block_start(index, content_block, out);
            }
            EventIn::ContentBlockDelta { index, delta } => self.block_delta(index, delta, out),
            EventIn::ContentBlockStop { index } => {
                if let Some(BlockKind::Tool { call, has_args }) = self.blocks.remove(&index) {
                    end_call(call, has_args, out);
                }
            }
            EventIn::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason.as_deref()
                    && !self.finished
                {
                    self.close_calls(out);
                    self.finished = true;
                    let reason = decode_stop_reason(Some(reason), delta.stop_sequence);
                    out.push(StreamEvent::Finish { reason });
                }
                if let Some(u) = usage {
                    self.merge_usage(u);
                    out.push(StreamEvent::Usage {
                        usage: decode_usage(&self.usage),
                    });
                }
            }
            EventIn::MessageStop => self.stopped = true,
            EventIn::MessageStart { .. }
            | EventIn::Error { .. }
            | EventIn::Ping
            | EventIn::Other => {}
        }
    }

    fn block_start(&mut self, index: u64, block: StreamBlockIn, out: &mut Vec<StreamEvent>) {
        let kind = match block {
            StreamBlockIn::Text { text } => {
                if !text.is_empty() {
                    out.push(StreamEvent::TextDelta { text });
                }
                BlockKind::Text
            }
            StreamBlockIn::Thinking {
                thinking,
                signature,
            } => {
                if !thinking.is_empty() {
                    out.push(StreamEvent::ThinkingDelta { text: thinking });
                }
                if let Some(signature) = anthropic_signature(signature) {
                    out.push(StreamEvent::ThinkingSignature { signature });
                }
                BlockKind::Thinking
            }
            StreamBlockIn::RedactedThinking { data } => {
                out.push(StreamEvent::RedactedThinking { data });
                BlockKind::Skipped
            }
            // `input` at start is always `{}`: the arguments come as deltas.
            StreamBlockIn::ToolUse { id, name } => {
                let call = self.next_call;
                self.next_call = self.next_call.saturating_add(1);
                out.push(StreamEvent::ToolCallStart {
                    index: call,
                    id,
                    name,
                });
                BlockKind::Tool {
                    call,
                    has_args: false,
                }
            }
            StreamBlockIn::Other => BlockKind::Skipped,
        };
        self.blocks.insert(index, kind);
    }

    /// A `content_block_delta` read by the stream's text frame when it fits, else by
    /// [`block_delta`] (the first text deltas teach the frame).
    fn content_block_delta(&mut self, data: &str) -> Option<EventIn> {
        if let Some(text) = self.text_frame.read(&TEXT_FRAMES, data) {
            let delta = DeltaIn::TextDelta {
                text: text.into_owned(),
            };
            return Some(EventIn::ContentBlockDelta {
                index: self.frame_index,
                delta,
            });
        }
        let event = block_delta(data)?;
        if self.text_frame.wants()
            && let EventIn::ContentBlockDelta {
                index,
                delta: DeltaIn::TextDelta { text },
            } = &event
        {
            let shape = ("\"text\":\"", None);
            let learned = self
                .text_frame
                .learn(
                    &TEXT_FRAMES,
                    data,
                    shape,
                    text,
                    |probe| match block_delta(probe)? {
                        EventIn::ContentBlockDelta {
                            delta: DeltaIn::TextDelta { text },
                            ..
                        } => Some(text),
                        _ => None,
                    },
                );
            if learned {
                self.frame_index = *index;
            }
        }
        Some(event)
    }

    fn block_delta(&mut self, index: u64, delta: DeltaIn, out: &mut Vec<StreamEvent>) {
        let kind = self.blocks.get_mut(&index);
        if matches!(kind, Some(BlockKind::Skipped)) {
            return;
        }
        match delta {
            DeltaIn::TextDelta { text } if !text.is_empty() => {
                out.push(StreamEvent::TextDelta { text });
            }
            DeltaIn::ThinkingDelta { thinking } if !thinking.is_empty() => {
                out.push(StreamEvent::ThinkingDelta { text: thinking });
            }
            DeltaIn::SignatureDelta { signature } if !signature.is_empty() => {
                let signature = Signature {
                    value: signature,
                    origin: Protocol::Anthropic,
                };
                out.push(StreamEvent::ThinkingSignature { signature });
            }
            DeltaIn::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                if let Some(BlockKind::Tool { call, has_args }) = kind {
                    *has_args = true;
                    out.push(StreamEvent::ToolCallDelta {
                        index: *call,
                        arguments: partial_json,
                    });
                }
            }
            _ => {}
        }
    }

    fn merge_usage(&mut self, u: UsageIn) {
        let s = &mut self.usage;
        s.input_tokens = u.input_tokens.or(s.input_tokens);
        s.output_tokens = u.output_tokens.or(s.output_tokens);
        s.cache_read_input_tokens = u.cache_read_input_tokens.or(s.cache_read_input_tokens);
        s.cache_creation_input_tokens = u
            .cache_creation_input_tokens
            .or(s.cache_creation_input_tokens);
        s.output_tokens_details = u.output_tokens_details.or(s.output_tokens_details);
    }

    /// End tool calls whose block never got its `content_block_stop`, in call order.
    fn close_calls(&mut self, out: &mut Vec<StreamEvent>) {
        let mut open: Vec<(u32, bool)> = self
            .blocks
            .values()
            .filter_map(|k| match *k {
                BlockKind::Tool { call, has_args } => Some((call, has_args)),
                _ => None,
            })
            .collect();
        open.sort_unstable();
        self.blocks
            .retain(|_, k| !matches!(k, BlockKind::Tool { .. }));
        for (call, has_args) in open {
            end_call(call, has_args, out);
        }
    }
}

/// Event names whose data must parse; others may be anything and are ignored.
const KNOWN_EVENTS: [&str; 8] = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

/// A call that got no argument fragment (a tool without parameters) gets `{}`, so every
/// consumer sees valid JSON.
fn end_call(call: u32, has_args: bool, out: &mut Vec<StreamEvent>) {
    if !has_args {
        out.push(StreamEvent::ToolCallDelta {
            index: call,
            arguments: "{}".to_owned(),
        });
    }
    out.push(StreamEvent::ToolCallEnd { index: call });
}

impl StreamDecoder {
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
            |d, name, data| d.event(name, data, out),
        )
    }
}

impl StreamDecode for StreamDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        self.parse(Some(chunk), out)
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        self.parse(None, out)?;
        if self.failed {
            return Ok(());
        }
        self.close_calls(out);
        if !self.finished {
            self.finished = true;
            if self.stopped {
                out.push(StreamEvent::Finish {
                    reason: FinishReason::Stop,
                });
            } else {
                self.failed = true;
                out.push(StreamEvent::Error {
                    message: "the upstream stream ended before message_stop".to_owned(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod block_delta_tests {
    use super::*;

    #[test]
    fn the_fast_delta_reader_agrees_with_the_general_one() {
        for data in [
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi \"there\""}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"signature_delta","signature":"c2ln"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}"#,
        ] {
            let fast = block_delta(data).expect(data);
            let general: EventIn = serde_json::from_str(data).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{general:?}"));
        }
        for malformed in [
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#,
            r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"text":"x"}}"#,
            "not json",
        ] {
            assert!(block_delta(malformed).is_none(), "{malformed}");
        }
    }
}

#[cfg(test)]
mod frame_tests {
    use super::*;
    use crate::translate::frame::testing;

    proptest::proptest! {
        /// Any texts, any one byte of any delta changed: the frame path and the parser
        /// give the same events and the same errors.
        #[test]
        fn frames_agree_with_the_parser((texts, flips) in testing::texts_and_flips()) {
            let events = testing::chunks(&texts, &flips, |_, text| {
                format!(
                    r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":{text}}}}}"#
                )
            });
            let decode = |frames: bool| {
                let mut d = StreamDecoder::new();
                if !frames {
                    d.text_frame = StreamFrame::new(0);
                }
                let mut out = Vec::new();
                let start = concat!(
                    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":",
                    "{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
                    "event: content_block_start\ndata: {\"type\":\"content_block_start\",",
                    "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                );
                let mut results = vec![d.feed(start.as_bytes(), &mut out).is_ok()];
                for e in &events {
                    let sse = [b"event: content_block_delta\ndata: ", &e[..], b"\n\n"].concat();
                    results.push(d.feed(&sse, &mut out).is_ok());
                }
                (format!("{out:?}"), results)
            };
            proptest::prop_assert_eq!(decode(true), decode(false));
        }
    }

    #[test]
    fn text_deltas_read_by_frame_give_what_the_parser_gives() {
        let delta = |index: u32, delta: &str| {
            format!(
                "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":{index},\"delta\":{delta}}}\n\n"
            )
        };
        let text =
            |index: u32, t: &str| delta(index, &format!(r#"{{"type":"text_delta","text":{t}}}"#));
        let start = |index: u32, block: &str| {
            format!(
                "event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":{index},\"content_block\":{block}}}\n\n"
            )
        };
        let stream = [
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n".to_owned(),
            start(0, r#"{"type":"text","text":""}"#),
            text(0, r#""Hel""#),
            text(0, r#""lo \"q\"\n\u00e9""#),
            text(0, r#""""#),
            delta(0, r#"{"type":"text_delta","text":"x","extra":1}"#),
            delta(0, r#"{"type":"thinking_delta","thinking":"hmm"}"#),
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".to_owned(),
            start(1, r#"{"type":"server_tool_use","id":"s","name":"web_search","input":{}}"#),
            text(1, r#""skipped""#),
            start(2, r#"{"type":"text","text":""}"#),
            text(2, r#""two""#),
            text(0, r#""bad \x""#),
        ];
        let decode = |frames: bool| {
            let mut d = StreamDecoder::new();
            if !frames {
                d.text_frame = StreamFrame::new(0);
            }
            let mut out = Vec::new();
            let mut errors = 0;
            for e in &stream {
                if d.feed(e.as_bytes(), &mut out).is_err() {
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
        assert!(framed.contains(r#"TextDelta { text: "two" }"#), "{framed}");
        assert!(!framed.contains("skipped"), "{framed}");
    }
}
