//! `streamGenerateContent` ↔ IR events.
//!
//! Upstream (`?alt=sse`): every `data:` event is a whole `GenerateContentResponse` holding
//! only the new parts; function calls arrive whole; there is no terminator; an error may
//! come as bare (multi-line) JSON, which [`SseParser`] already gathers as data.
//!
//! Towards a client: one `data: {GenerateContentResponse}\r\n\r\n` per content event, a
//! buffered tool call as one `functionCall` part on its end, and a final chunk with
//! `finishReason` and `usageMetadata` at the end of the stream — or the same chunks as one
//! JSON array ([`StreamEncoder::json_array`]) for clients that did not ask `alt=sse`.

use std::collections::BTreeMap;

use bytes::BytesMut;
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, FinishReason, StreamEvent, Usage};

use super::parts;
use super::response::{
    finish_from_gemini, finish_to_gemini, function_call, usage_from_gemini, usage_to_gemini,
};
use super::wire::{self, GenerateContentResponse};
use crate::translate::sse::SseParser;
use crate::translate::{StreamDecode, StreamEncode, TranslateError, ids};

/// Upstream Gemini stream → IR events.
#[derive(Debug)]
pub struct StreamDecoder {
    sse: SseParser,
    /// The request's model, for `Start` when the upstream names none.
    model: String,
    response_id: String,
    started: bool,
    /// Function calls seen so far: the next call's index (§4.4: a per-stream counter).
    calls: u32,
    finished: bool,
    failed: bool,
    last_usage: Option<Usage>,
}

impl StreamDecoder {
    pub fn new(request: &ChatRequest) -> Self {
        Self {
            sse: SseParser::new(),
            model: request.model.clone(),
            response_id: String::new(),
            started: false,
            calls: 0,
            finished: false,
            failed: false,
            last_usage: None,
        }
    }

    fn event(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        let data = data.trim();
        if self.failed || data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        if data.starts_with('[') {
            // The non-SSE form (one JSON array), should an upstream send it.
            let chunks: Vec<GenerateContentResponse> = parse(data)?;
            for chunk in chunks {
                self.chunk(chunk, out);
            }
            return Ok(());
        }
        let chunk = parse(data)?;
        self.chunk(chunk, out);
        Ok(())
    }

    fn chunk(&mut self, chunk: GenerateContentResponse, out: &mut Vec<StreamEvent>) {
        if self.failed {
            return;
        }
        if let Some(error) = chunk.error {
            let message = if error.message.is_empty() {
                error
                    .status
                    .unwrap_or_else(|| "upstream stream error".to_owned())
            } else {
                error.message
            };
            out.push(StreamEvent::Error { message });
            self.failed = true;
            return;
        }
        if !self.started {
            self.started = true;
            self.response_id = chunk.response_id.clone().unwrap_or_default();
            let model = chunk
                .model_version
                .clone()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| self.model.clone());
            out.push(StreamEvent::Start {
                id: self.response_id.clone(),
                model,
            });
        }
        let candidate = chunk.candidates.iter().find(|c| c.index == 0);
        if !self.finished {
            for part in candidate
                .and_then(|c| c.content.as_ref())
                .map_or(&[][..], |c| c.parts.as_slice())
            {
                self.part(part, out);
            }
        }
        if let Some(usage) = chunk.usage_metadata.as_ref().map(usage_from_gemini)
            && self.last_usage != Some(usage)
        {
            self.last_usage = Some(usage);
            out.push(StreamEvent::Usage { usage });
        }
        if self.finished {
            return;
        }
        let reason = match candidate.and_then(|c| c.finish_reason.as_deref()) {
            Some(reason) => Some(finish_from_gemini(Some(reason), self.calls > 0)),
            None if chunk.candidates.is_empty() => chunk
                .prompt_feedback
                .and_then(|f| f.block_reason)
                .map(FinishReason::ContentFilter),
            None => None,
        };
        if let Some(reason) = reason {
            self.finished = true;
            out.push(StreamEvent::Finish { reason });
        }
    }

    fn part(&mut self, part: &wire::Part, out: &mut Vec<StreamEvent>) {
        let signature = part
            .thought_signature
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| StreamEvent::ThinkingSignature {
                signature: parts::signature(s),
            });
        if part.thought == Some(true) && part.function_call.is_none() {
            // The signature of a thought belongs to that thought: it follows its text.
            if let Some(text) = part.text.as_ref().filter(|t| !t.is_empty()) {
                out.push(StreamEvent::ThinkingDelta { text: text.clone() });
            }
            out.extend(signature);
            return;
        }
        // On any other part, the signature comes first (IR: an empty Thinking before it).
        out.extend(signature);
        if let Some(text) = part.text.as_ref().filter(|t| !t.is_empty()) {
            out.push(StreamEvent::TextDelta { text: text.clone() });
        } else if let Some(call) = &part.function_call {
            let index = self.calls;
            self.calls += 1;
            let id = match call.id.as_deref().filter(|id| !id.is_empty()) {
                Some(id) => id.to_owned(),
                None => ids::synthesize(&self.response_id, index as usize, &call.name),
            };
            out.push(StreamEvent::ToolCallStart {
                index,
                id,
                name: call.name.clone(),
            });
            out.push(StreamEvent::ToolCallDelta {
                index,
                arguments: parts::args_text(call.args.as_ref()),
            });
            out.push(StreamEvent::ToolCallEnd { index });
        }
        // Streamed images have no IR event; they are dropped.
    }
}

fn parse<T: serde::de::DeserializeOwned>(data: &str) -> Result<T, TranslateError> {
    wire::parse_upstream(data.as_bytes())
}

impl StreamDecoder {
    /// Run `chunk` (or, with `None`, the end of the stream) through the SSE parser.
    fn parse(
        &mut self,
        chunk: Option<&[u8]>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), TranslateError> {
        SseParser::drive(self, |d| &mut d.sse, chunk, |d, _, data| d.event(data, out))
    }
}

impl StreamDecode for StreamDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        self.parse(Some(chunk), out)
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        self.parse(None, out)?;
        if self.failed || self.finished {
            return Ok(());
        }
        if self.started {
            // No finishReason came (a well-formed stream always has one): close the turn.
            self.finished = true;
            let reason = if self.calls > 0 {
                FinishReason::ToolCalls
            } else {
                FinishReason::Stop
            };
            out.push(StreamEvent::Finish { reason });
        } else {
            self.failed = true;
            out.push(StreamEvent::Error {
                message: "the upstream stream ended without any data".to_owned(),
            });
        }
        Ok(())
    }
}

/// How chunks are framed for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `?alt=sse`: `data: {…}\r\n\r\n`.
    Sse,
    /// Without `alt=sse`: `[{…},\r\n{…}]`.
    JsonArray,
}

/// A tool call being gathered until its end (Gemini sends calls whole).
#[derive(Debug, Default)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
}

/// IR events → a Gemini client stream.
#[derive(Debug)]
pub struct StreamEncoder {
    framing: Framing,
    id: String,
    model: String,
    /// A Gemini signature waiting for the next part.
    signature: Option<String>,
    calls: BTreeMap<u32, PendingCall>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    /// Chunks written so far (the array form needs `,` between them).
    written: usize,
    failed: bool,
    closed: bool,
}

impl StreamEncoder {
    /// SSE framing (`?alt=sse`). Gemini chunks carry no timestamp, so `created` is unused.
    pub fn new(request: &ChatRequest, _created: i64) -> Self {
        Self::with_framing(request, Framing::Sse)
    }

    /// The JSON-array form of `streamGenerateContent` (the client did not ask `alt=sse`).
    pub fn json_array(request: &ChatRequest, _created: i64) -> Self {
        Self::with_framing(request, Framing::JsonArray)
    }

    fn with_framing(request: &ChatRequest, framing: Framing) -> Self {
        Self {
            framing,
            id: String::new(),
            model: request.model.clone(),
            signature: None,
            calls: BTreeMap::new(),
            usage: None,
            finish: None,
            written: 0,
            failed: false,
            closed: false,
        }
    }

    fn write_json(&mut self, json: &[u8], out: &mut BytesMut) {
        match self.framing {
            Framing::Sse => {
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(json);
                out.extend_from_slice(b"\r\n\r\n");
            }
            Framing::JsonArray => {
                out.extend_from_slice(if self.written == 0 { b"[" } else { b",\r\n" });
                out.extend_from_slice(json);
            }
        }
        self.written += 1;
    }

    fn chunk(&mut self, mut parts: Vec<wire::Part>, finish: Option<String>, out: &mut BytesMut) {
        if let (Some(sig), Some(first)) = (self.signature.take(), parts.first_mut()) {
            first.thought_signature = Some(sig);
        }
        let usage_metadata = finish
            .as_ref()
            .map(|_| usage_to_gemini(&self.usage.unwrap_or_default()));
        let candidate = wire::Candidate {
            content: Some(wire::Content {
                parts,
                role: Some("model".to_owned()),
            }),
            finish_reason: finish,
            index: 0,
        };
        let body = GenerateContentResponse {
            candidates: vec![candidate],
            prompt_feedback: None,
            usage_metadata,
            model_version: Some(self.model.clone()),
            response_id: Some(self.id.clone()),
            error: None,
        };
        let json = wire::to_json(&body);
        self.write_json(&json, out);
    }
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        if self.failed || self.closed {
            return;
        }
        match event {
            StreamEvent::Start { id, model } => {
                id.clone_into(&mut self.id);
                if !model.is_empty() {
                    model.clone_into(&mut self.model);
                }
            }
            StreamEvent::TextDelta { text } => {
                if !text.is_empty() {
                    self.chunk(vec![wire::Part::text(text.clone())], None, out);
                }
            }
            StreamEvent::ThinkingDelta { text } => {
                if !text.is_empty() {
                    let part = wire::Part {
                        text: Some(text.clone()),
                        thought: Some(true),
                        ..wire::Part::default()
                    };
                    self.chunk(vec![part], None, out);
                }
            }
            StreamEvent::ThinkingSignature { signature } => {
                if signature.origin == Protocol::Gemini
                    && let Some(previous) = self.signature.replace(signature.value.clone())
                {
                    self.chunk(vec![parts::signature_only(previous)], None, out);
                }
            }
            StreamEvent::RedactedThinking { .. } => {}
            StreamEvent::ToolCallStart { index, id, name } => {
                let call = self.calls.entry(*index).or_default();
                id.clone_into(&mut call.id);
                name.clone_into(&mut call.name);
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.calls
                    .entry(*index)
                    .or_default()
                    .arguments
                    .push_str(arguments);
            }
            StreamEvent::ToolCallEnd { index } => {
                if let Some(call) = self.calls.remove(index) {
                    self.chunk(
                        vec![function_call(&call.id, &call.name, &call.arguments)],
                        None,
                        out,
                    );
                }
            }
            StreamEvent::Usage { usage } => self.usage = Some(*usage),
            StreamEvent::Finish { reason } => self.finish = Some(reason.clone()),
            StreamEvent::Error { message } => {
                let status = wire::Status {
                    code: Some(500),
                    message: message.clone(),
                    status: Some("INTERNAL".to_owned()),
                    details: Vec::new(),
                };
                let json = wire::to_json(&wire::ErrorBody { error: status });
                self.write_json(&json, out);
                self.failed = true;
            }
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.closed {
            return;
        }
        self.closed = true;
        if !self.failed {
            // Calls never ended go out now; otherwise one empty text part, so that every
            // chunk has a non-empty `parts` (google-genai's chat drops a streamed turn
            // from its history when a chunk has none).
            let mut parts: Vec<wire::Part> = std::mem::take(&mut self.calls)
                .into_values()
                .map(|c| function_call(&c.id, &c.name, &c.arguments))
                .collect();
            if parts.is_empty() {
                parts.push(wire::Part::text(String::new()));
            }
            let reason = finish_to_gemini(self.finish.as_ref().unwrap_or(&FinishReason::Stop));
            self.chunk(parts, Some(reason), out);
        }
        if self.framing == Framing::JsonArray {
            if self.written == 0 {
                out.extend_from_slice(b"[");
            }
            out.extend_from_slice(b"]");
        }
    }
}
