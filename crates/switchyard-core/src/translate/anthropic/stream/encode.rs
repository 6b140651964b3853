//! IR events → Anthropic SSE for a client.

use std::collections::VecDeque;

use bytes::{BufMut, BytesMut};
use serde_json::{Map, Value};
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, FinishReason, Signature, StreamEvent, Usage};

use super::super::response::{encode_stop_reason, encode_usage, message_id};
use super::super::wire::{BlockOut, DeltaOut, ErrorOut, EventOut, MessageDeltaOut, ResponseOut};
use crate::translate::{StreamEncode, ids};

/// The content block currently open in the client's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    None,
    Text,
    /// `signed`: its signature was sent, so more thinking opens a new block.
    Thinking {
        signed: bool,
    },
    /// The IR index of the tool call.
    Tool(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    /// Waiting for the open tool block to close; fragments are buffered.
    Queued,
    Open,
    Closed,
}

#[derive(Debug)]
struct Call {
    index: u32,
    id: String,
    name: String,
    state: CallState,
    /// Fragments received while queued.
    buffered: String,
    /// Some fragment was written.
    sent: bool,
    /// `ToolCallEnd` arrived.
    ended: bool,
}

/// IR events → Anthropic SSE for a client.
///
/// Anthropic blocks cannot interleave, but IR tool calls may (OpenAI parallel calls): a
/// call that starts while another tool block is open is queued, its fragments buffered,
/// and it is written out when the open one ends (or when anything else closes blocks).
/// A fragment for a call whose block is already closed cannot be sent and is dropped.
#[derive(Debug)]
pub struct StreamEncoder {
    id: String,
    model: String,
    /// `Start` arrived (its id and model are in `id`/`model`).
    started: bool,
    /// `message_start` was written. It waits for the first event after `Start` so a usage
    /// reported right away (Anthropic, Gemini) makes it into `message_start`.
    message_started: bool,
    usage: Usage,
    next_index: u32,
    open: Open,
    calls: Vec<Call>,
    queue: VecDeque<u32>,
    finish: Option<FinishReason>,
    saw_tool_call: bool,
    done: bool,
}

impl StreamEncoder {
    /// An encoder answering `request`; `created` seeds the id used if no `Start` comes.
    pub fn new(request: &ChatRequest, created: i64) -> Self {
        Self {
            id: format!("msg_{created}"),
            model: request.model.clone(),
            started: false,
            message_started: false,
            usage: Usage::default(),
            next_index: 0,
            open: Open::None,
            calls: Vec::new(),
            queue: VecDeque::new(),
            finish: None,
            saw_tool_call: false,
            done: false,
        }
    }

    fn write(out: &mut BytesMut, event: &EventOut<'_>) {
        crate::translate::sse::write_event(out, Some(event.name()), event);
    }

    fn message_start(&mut self, out: &mut BytesMut) {
        if self.message_started {
            return;
        }
        self.message_started = true;
        let mut usage = encode_usage(&self.usage);
        usage.output_tokens = 0;
        usage.output_tokens_details = None;
        let message = ResponseOut {
            id: self.id.clone(),
            kind: "message",
            role: "assistant",
            model: self.model.clone(),
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage,
        };
        Self::write(out, &EventOut::MessageStart { message });
    }

    fn start_block(&mut self, out: &mut BytesMut, content_block: BlockOut) {
        let index = self.next_index;
        Self::write(
            out,
            &EventOut::ContentBlockStart {
                index,
                content_block,
            },
        );
    }

    fn delta(&self, out: &mut BytesMut, delta: DeltaOut<'_>) {
        if let DeltaOut::TextDelta { text } = delta {
            text_delta_event(out, self.next_index, text);
            return;
        }
        Self::write(
            out,
            &EventOut::ContentBlockDelta {
                index: self.next_index,
                delta,
            },
        );
    }

    /// Close the open block (a tool block without any fragment gets `{}`, §2.6).
    fn close_open(&mut self, out: &mut BytesMut) {
        match self.open {
            Open::None => return,
            Open::Tool(index) => {
                let sent = self.call_mut(index).is_some_and(|c| {
                    c.state = CallState::Closed;
                    c.sent
                });
                if !sent {
                    self.delta(out, DeltaOut::InputJsonDelta { partial_json: "{}" });
                }
            }
            Open::Text | Open::Thinking { .. } => {}
        }
        Self::write(
            out,
            &EventOut::ContentBlockStop {
                index: self.next_index,
            },
        );
        self.next_index = self.next_index.saturating_add(1);
        self.open = Open::None;
    }

    /// Open the block of a call, with what it buffered while queued.
    fn open_call(&mut self, out: &mut BytesMut, index: u32) {
        let Some(call) = self.call_mut(index) else {
            return;
        };
        call.state = CallState::Open;
        let buffered = std::mem::take(&mut call.buffered);
        call.sent = !buffered.is_empty();
        let block = BlockOut::ToolUse {
            id: call.id.clone(),
            name: call.name.clone(),
            input: empty_object(),
        };
        self.start_block(out, block);
        self.open = Open::Tool(index);
        if !buffered.is_empty() {
            self.delta(
                out,
                DeltaOut::InputJsonDelta {
                    partial_json: &buffered,
                },
            );
        }
    }

    /// Close the open block, then let queued calls through: each is opened with its
    /// buffered fragments; one that has not ended stays open and stops the flush unless
    /// `all` (then every queued call is written out and closed).
    fn close_and_flush(&mut self, out: &mut BytesMut, all: bool) {
        self.close_open(out);
        while let Some(index) = self.queue.pop_front() {
            self.open_call(out, index);
            let ended = self.call_mut(index).is_some_and(|c| c.ended);
            if !ended && !all {
                return;
            }
            self.close_open(out);
        }
    }

    fn call_mut(&mut self, index: u32) -> Option<&mut Call> {
        self.calls.iter_mut().find(|c| c.index == index)
    }

    fn tool_call_start(&mut self, out: &mut BytesMut, index: u32, id: &str, name: &str) {
        if self.call_mut(index).is_some() {
            return;
        }
        self.saw_tool_call = true;
        let queued = matches!(self.open, Open::Tool(_));
        self.calls.push(Call {
            index,
            id: ids::sanitize(id),
            name: name.to_owned(),
            state: CallState::Queued,
            buffered: String::new(),
            sent: false,
            ended: false,
        });
        if queued {
            self.queue.push_back(index);
        } else {
            self.close_and_flush(out, true);
            self.open_call(out, index);
        }
    }

    fn tool_call_delta(&mut self, out: &mut BytesMut, index: u32, arguments: &str) {
        if arguments.is_empty() {
            return;
        }
        let Some(call) = self.call_mut(index) else {
            return;
        };
        match call.state {
            CallState::Queued => call.buffered.push_str(arguments),
            CallState::Open => {
                call.sent = true;
                self.delta(
                    out,
                    DeltaOut::InputJsonDelta {
                        partial_json: arguments,
                    },
                );
            }
            CallState::Closed => {}
        }
    }

    fn tool_call_end(&mut self, out: &mut BytesMut, index: u32) {
        let Some(call) = self.call_mut(index) else {
            return;
        };
        call.ended = true;
        if self.open == Open::Tool(index) {
            self.close_and_flush(out, false);
        }
    }

    fn thinking_delta(&mut self, out: &mut BytesMut, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.open != (Open::Thinking { signed: false }) {
            self.close_and_flush(out, true);
            self.open_thinking(out);
        }
        self.delta(out, DeltaOut::ThinkingDelta { thinking: text });
    }

    fn open_thinking(&mut self, out: &mut BytesMut) {
        let block = BlockOut::Thinking {
            thinking: String::new(),
            signature: String::new(),
        };
        self.start_block(out, block);
        self.open = Open::Thinking { signed: false };
    }

    /// Only Anthropic's own signatures reach an Anthropic client (§4.6).
    fn signature(&mut self, out: &mut BytesMut, signature: &Signature) {
        if signature.origin != Protocol::Anthropic || signature.value.is_empty() {
            return;
        }
        if self.open != (Open::Thinking { signed: false }) {
            self.close_and_flush(out, true);
            self.open_thinking(out);
        }
        self.delta(
            out,
            DeltaOut::SignatureDelta {
                signature: &signature.value,
            },
        );
        self.open = Open::Thinking { signed: true };
    }

    fn text_delta(&mut self, out: &mut BytesMut, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.open != Open::Text {
            self.close_and_flush(out, true);
            self.start_block(
                out,
                BlockOut::Text {
                    text: String::new(),
                },
            );
            self.open = Open::Text;
        }
        self.delta(out, DeltaOut::TextDelta { text });
    }

    fn redacted(&mut self, out: &mut BytesMut, data: &str) {
        self.close_and_flush(out, true);
        self.start_block(
            out,
            BlockOut::RedactedThinking {
                data: data.to_owned(),
            },
        );
        Self::write(
            out,
            &EventOut::ContentBlockStop {
                index: self.next_index,
            },
        );
        self.next_index = self.next_index.saturating_add(1);
    }

    /// `message_delta` (reason and final usage) and `message_stop`: the end.
    fn end(&mut self, out: &mut BytesMut) {
        self.message_start(out);
        self.close_and_flush(out, true);
        let finish = self.finish.take().unwrap_or(FinishReason::Stop);
        let (stop_reason, stop_sequence) = encode_stop_reason(&finish, self.saw_tool_call);
        let delta = MessageDeltaOut {
            stop_reason,
            stop_sequence,
        };
        Self::write(
            out,
            &EventOut::MessageDelta {
                delta,
                usage: encode_usage(&self.usage),
            },
        );
        Self::write(out, &EventOut::MessageStop);
        self.done = true;
    }
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        if self.done {
            return;
        }
        match event {
            StreamEvent::Start { id, model } => {
                if !self.started && !self.message_started {
                    self.started = true;
                    self.id = message_id(id);
                    if !model.is_empty() {
                        model.clone_into(&mut self.model);
                    }
                }
                return;
            }
            StreamEvent::Usage { usage } => {
                self.usage = *usage;
                if self.finish.is_some() {
                    self.end(out);
                } else if self.started {
                    self.message_start(out);
                }
                return;
            }
            StreamEvent::Error { message } => {
                let error = ErrorOut {
                    kind: "api_error",
                    message: message.clone(),
                };
                Self::write(out, &EventOut::Error { error });
                self.done = true;
                return;
            }
            _ => {}
        }
        if self.finish.is_some() {
            // Nothing but usage follows Finish.
            return;
        }
        self.message_start(out);
        match event {
            StreamEvent::TextDelta { text } => self.text_delta(out, text),
            StreamEvent::ThinkingDelta { text } => self.thinking_delta(out, text),
            StreamEvent::ThinkingSignature { signature } => self.signature(out, signature),
            StreamEvent::RedactedThinking { data } => self.redacted(out, data),
            StreamEvent::ToolCallStart { index, id, name } => {
                self.tool_call_start(out, *index, id, name);
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.tool_call_delta(out, *index, arguments);
            }
            StreamEvent::ToolCallEnd { index } => self.tool_call_end(out, *index),
            StreamEvent::Finish { reason } => {
                self.close_and_flush(out, true);
                self.finish = Some(reason.clone());
            }
            StreamEvent::Start { .. } | StreamEvent::Usage { .. } | StreamEvent::Error { .. } => {}
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if !self.done {
            self.end(out);
        }
    }
}

/// A text `content_block_delta`, the most frequent event of every stream, written by hand:
/// the same bytes as serialising [`EventOut::ContentBlockDelta`] (a test holds them
/// equal), without the struct serialiser's per-field work.
fn text_delta_event(out: &mut BytesMut, index: u32, text: &str) {
    let start = out.len();
    out.extend_from_slice(
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
    );
    let index_written = serde_json::to_writer(out.writer(), &index).is_ok();
    out.extend_from_slice(b",\"delta\":{\"type\":\"text_delta\",\"text\":");
    if !index_written || serde_json::to_writer(out.writer(), text).is_err() {
        out.truncate(start);
        return;
    }
    out.extend_from_slice(b"}}\n\n");
}

#[cfg(test)]
mod text_delta_tests {
    use super::*;

    #[test]
    fn the_hand_written_text_delta_matches_the_serialiser() {
        for (index, text) in [
            (0, "Hello "),
            (7, ""),
            (
                u32::MAX,
                "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7}",
            ),
            (3, "ünïcødé 🚀 \u{2028}"),
        ] {
            let mut fast = BytesMut::new();
            text_delta_event(&mut fast, index, text);
            let mut slow = BytesMut::new();
            crate::translate::sse::write_event(
                &mut slow,
                Some("content_block_delta"),
                &EventOut::ContentBlockDelta {
                    index,
                    delta: DeltaOut::TextDelta { text },
                },
            );
            assert_eq!(fast, slow, "{text:?}");
        }
    }
}
