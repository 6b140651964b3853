//! Streaming: IR events → the Responses event stream ([`ResponsesStreamEncoder`]), and a
//! Responses event stream → IR events ([`ResponsesStreamDecoder`], for the round-trip
//! tests and any future upstream speaking it).

use super::reasoning;
use super::response::{
    Ids, Shell, call_item, message_item, output_parts, reasoning_item, response_object, status,
};
use crate::translate::sse::{SseParser, write_event};
use crate::translate::{StreamDecode, StreamEncode, TranslateError};
use bytes::BytesMut;
use serde::Serialize;
use serde_json::{Value, json};
use switchyard_types::Protocol;
use switchyard_types::ir::{ChatRequest, FinishReason, Part, Signature, StreamEvent, Usage};

// ---------------------------------------------------------------- encoder

/// IR events → Responses SSE events, each `event: <type>` + `data:` with a
/// `sequence_number` counting from 0:
///
/// `response.created`, `response.in_progress`; then per output item
/// `response.output_item.added`, its content events, `response.output_item.done`:
/// - thinking → a `reasoning` item: `response.reasoning_summary_part.added`,
///   `response.reasoning_summary_text.delta`s, `.done`, `…part.done` (the signature
///   arrives later and is sealed into the item's `encrypted_content` at `.done`; a
///   Gemini signature after thought text is the next part's, and gets an empty
///   reasoning item of its own);
/// - text → a `message` item: `response.content_part.added`,
///   `response.output_text.delta`s, `response.output_text.done`,
///   `response.content_part.done`;
/// - each tool call → a `function_call` item: `response.function_call_arguments.delta`s,
///   `.done` (parallel calls may interleave; each has its own output index).
///
/// It ends with `response.completed` (or `response.incomplete` for the output cap or a
/// content filter) carrying the whole output and usage, or, when the upstream failed,
/// `response.failed` with the error (what was streamed so far kept in its output).
#[derive(Debug)]
pub struct ResponsesStreamEncoder {
    request: ChatRequest,
    created: i64,
    ids: Option<Ids>,
    model: String,
    seq: u64,
    /// Finished output items, by output index (`None` while open).
    output: Vec<Option<Value>>,
    open: Open,
    /// Tool calls by IR index: (output index, item id, call id, name, arguments, done).
    calls: Vec<Call>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    ended: bool,
}

#[derive(Debug)]
enum Open {
    None,
    Reasoning {
        index: usize,
        id: String,
        text: String,
        signature: Option<Signature>,
        /// A summary part was announced (some text came).
        part: bool,
    },
    Message {
        index: usize,
        id: String,
        text: String,
    },
}

#[derive(Debug)]
struct Call {
    ir_index: u32,
    output_index: usize,
    id: String,
    call_id: String,
    name: String,
    arguments: String,
    done: bool,
}

/// The hot events (text, summary and argument deltas), written without building a JSON
/// value.
#[derive(Serialize)]
struct TextDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sequence_number: u64,
    item_id: &'a str,
    output_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary_index: Option<u32>,
    delta: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<[(); 0]>,
}

impl ResponsesStreamEncoder {
    pub(super) fn new(request: &ChatRequest, created: i64) -> Self {
        Self {
            // Only what the response object repeats (the history is not echoed).
            request: ChatRequest {
                model: request.model.clone(),
                system: request.system.clone(),
                tools: request.tools.clone(),
                tool_choice: request.tool_choice.clone(),
                parallel_tool_calls: request.parallel_tool_calls,
                sampling: request.sampling,
                max_output_tokens: request.max_output_tokens,
                response_format: request.response_format.clone(),
                reasoning: request.reasoning,
                ..ChatRequest::default()
            },
            created,
            ids: None,
            model: request.model.clone(),
            seq: 0,
            output: Vec::new(),
            open: Open::None,
            calls: Vec::new(),
            usage: None,
            finish: None,
            ended: false,
        }
    }

    fn next_seq(&mut self) -> u64 {
        let s = self.seq;
        self.seq += 1;
        s
    }

    /// Write an event built as a JSON object (its `type` and `sequence_number` added).
    fn emit(&mut self, kind: &str, mut value: Value, out: &mut BytesMut) {
        let seq = self.next_seq();
        if let Value::Object(o) = &mut value {
            o.insert("type".into(), json!(kind));
            o.insert("sequence_number".into(), json!(seq));
        }
        write_event(out, Some(kind), &value);
    }

    fn ids(&mut self) -> Ids {
        match &self.ids {
            Some(ids) => ids.clone(),
            None => {
                let ids = Ids::new("", self.created);
                self.ids = Some(ids.clone());
                ids
            }
        }
    }

    fn shell_object(
        &mut self,
        status: &'static str,
        incomplete: Option<&'static str>,
        error: Option<Value>,
        with_output: bool,
    ) -> Value {
        let ids = self.ids();
        let output: Vec<Value> = if with_output {
            self.output.iter().flatten().cloned().collect()
        } else {
            Vec::new()
        };
        let usage = self.usage;
        let shell = Shell {
            ids: &ids,
            model: &self.model,
            created: self.created,
            status,
            incomplete,
            error,
            usage: if with_output { usage.as_ref() } else { None },
            request: Some(&self.request),
        };
        response_object(&shell, output)
    }

    fn start(&mut self, id: &str, model: &str, out: &mut BytesMut) {
        if self.ids.is_some() {
            return;
        }
        self.ids = Some(Ids::new(id, self.created));
        if !model.is_empty() {
            model.clone_into(&mut self.model);
        }
        let created = self.shell_object("in_progress", None, None, false);
        self.emit("response.created", json!({"response": created}), out);
        let progress = self.shell_object("in_progress", None, None, false);
        self.emit("response.in_progress", json!({"response": progress}), out);
    }

    fn add_item(&mut self, item: &Value, out: &mut BytesMut) -> usize {
        let index = self.output.len();
        self.output.push(None);
        self.emit(
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
            out,
        );
        index
    }

    fn done_item(&mut self, index: usize, item: Value, out: &mut BytesMut) {
        self.emit(
            "response.output_item.done",
            json!({"output_index": index, "item": &item}),
            out,
        );
        if let Some(slot) = self.output.get_mut(index) {
            *slot = Some(item);
        }
    }

    /// Close the open reasoning or message item.
    fn close_open(&mut self, out: &mut BytesMut) {
        match std::mem::replace(&mut self.open, Open::None) {
            Open::None => {}
            Open::Reasoning {
                index,
                id,
                text,
                signature,
                part,
            } => {
                if part {
                    self.emit(
                        "response.reasoning_summary_text.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
                        out,
                    );
                    self.emit(
                        "response.reasoning_summary_part.done",
                        json!({"item_id": id, "output_index": index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": text}}),
                        out,
                    );
                }
                let sealed = reasoning::seal_thinking(&text, signature.as_ref());
                let item = reasoning_item(&id, &text, sealed.as_deref());
                self.done_item(index, item, out);
            }
            Open::Message { index, id, text } => {
                self.emit(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0,
                        "text": text, "logprobs": []}),
                    out,
                );
                self.emit(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0,
                        "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []}}),
                    out,
                );
                let item = message_item(&id, &text, "completed");
                self.done_item(index, item, out);
            }
        }
    }

    fn open_reasoning(&mut self, out: &mut BytesMut) {
        if matches!(self.open, Open::Reasoning { .. }) {
            return;
        }
        self.close_open(out);
        let ids = self.ids();
        let id = ids.item("rs", self.output.len());
        let index = self.add_item(&reasoning_item(&id, "", None), out);
        self.open = Open::Reasoning {
            index,
            id,
            text: String::new(),
            signature: None,
            part: false,
        };
    }

    fn thinking(&mut self, delta: &str, out: &mut BytesMut) {
        // A new thought after a signed one is a new reasoning item.
        if matches!(
            &self.open,
            Open::Reasoning {
                signature: Some(_),
                ..
            }
        ) {
            self.close_open(out);
        }
        self.open_reasoning(out);
        let (index, id, first) = match &mut self.open {
            Open::Reasoning {
                index,
                id,
                text,
                part,
                ..
            } => {
                let first = !*part;
                *part = true;
                text.push_str(delta);
                (*index, id.clone(), first)
            }
            Open::None | Open::Message { .. } => return,
        };
        if first {
            self.emit(
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": index, "summary_index": 0,
                    "part": {"type": "summary_text", "text": ""}}),
                out,
            );
        }
        let seq = self.next_seq();
        write_event(
            out,
            Some("response.reasoning_summary_text.delta"),
            &TextDelta {
                kind: "response.reasoning_summary_text.delta",
                sequence_number: seq,
                item_id: &id,
                output_index: index,
                content_index: None,
                summary_index: Some(0),
                delta,
                logprobs: None,
            },
        );
    }

    fn text(&mut self, delta: &str, out: &mut BytesMut) {
        if !matches!(self.open, Open::Message { .. }) {
            self.close_open(out);
            let ids = self.ids();
            let id = ids.item("msg", self.output.len());
            let index = self.add_item(
                &json!({"type": "message", "id": id, "status": "in_progress", "role": "assistant", "content": []}),
                out,
            );
            self.emit(
                "response.content_part.added",
                json!({"item_id": id, "output_index": index, "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
                out,
            );
            self.open = Open::Message {
                index,
                id,
                text: String::new(),
            };
        }
        let seq = self.next_seq();
        if let Open::Message { index, id, text } = &mut self.open {
            text.push_str(delta);
            write_event(
                out,
                Some("response.output_text.delta"),
                &TextDelta {
                    kind: "response.output_text.delta",
                    sequence_number: seq,
                    item_id: id,
                    output_index: *index,
                    content_index: Some(0),
                    summary_index: None,
                    delta,
                    logprobs: Some([]),
                },
            );
        }
    }

    fn call_start(&mut self, ir_index: u32, call_id: &str, name: &str, out: &mut BytesMut) {
        self.close_open(out);
        let ids = self.ids();
        let id = ids.item("fc", self.output.len());
        let output_index = self.add_item(&call_item(&id, call_id, name, "", "in_progress"), out);
        self.calls.push(Call {
            ir_index,
            output_index,
            id,
            call_id: call_id.to_owned(),
            name: name.to_owned(),
            arguments: String::new(),
            done: false,
        });
    }

    fn call_delta(&mut self, ir_index: u32, delta: &str, out: &mut BytesMut) {
        let seq = self.seq;
        let Some(call) = self
            .calls
            .iter_mut()
            .rev()
            .find(|c| c.ir_index == ir_index && !c.done)
        else {
            return;
        };
        call.arguments.push_str(delta);
        self.seq += 1;
        write_event(
            out,
            Some("response.function_call_arguments.delta"),
            &TextDelta {
                kind: "response.function_call_arguments.delta",
                sequence_number: seq,
                item_id: &call.id,
                output_index: call.output_index,
                content_index: None,
                summary_index: None,
                delta,
                logprobs: None,
            },
        );
    }

    fn call_end(&mut self, ir_index: u32, out: &mut BytesMut) {
        let Some(k) = self
            .calls
            .iter()
            .rposition(|c| c.ir_index == ir_index && !c.done)
        else {
            return;
        };
        self.end_call(k, out);
    }

    fn end_call(&mut self, k: usize, out: &mut BytesMut) {
        let Some(call) = self.calls.get_mut(k) else {
            return;
        };
        call.done = true;
        let (index, id, call_id, name, arguments) = (
            call.output_index,
            call.id.clone(),
            call.call_id.clone(),
            call.name.clone(),
            call.arguments.clone(),
        );
        self.emit(
            "response.function_call_arguments.done",
            json!({"item_id": id, "output_index": index, "name": name, "arguments": arguments}),
            out,
        );
        let item = call_item(&id, &call_id, &name, &arguments, "completed");
        self.done_item(index, item, out);
    }

    fn close_all(&mut self, out: &mut BytesMut) {
        self.close_open(out);
        for k in 0..self.calls.len() {
            if self.calls.get(k).is_some_and(|c| !c.done) {
                self.end_call(k, out);
            }
        }
    }

    fn fail(&mut self, message: &str, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        self.start("", "", out);
        self.close_all(out);
        let error = json!({"code": "server_error", "message": message});
        let response = self.shell_object("failed", None, Some(error), true);
        self.emit("response.failed", json!({"response": response}), out);
        self.ended = true;
    }
}

impl StreamEncode for ResponsesStreamEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        match event {
            StreamEvent::Start { id, model } => self.start(id, model, out),
            StreamEvent::TextDelta { text } => {
                self.start("", "", out);
                self.text(text, out);
            }
            StreamEvent::ThinkingDelta { text } => {
                self.start("", "", out);
                self.thinking(text, out);
            }
            StreamEvent::ThinkingSignature { signature } => {
                self.start("", "", out);
                // A Gemini signature after thought text belongs to the *next* part (a
                // function call must get it back): it gets a reasoning item of its own,
                // as in a whole answer, so the thought text goes back unsigned.
                let gemini_after_text = signature.origin == Protocol::Gemini
                    && matches!(&self.open, Open::Reasoning { text, .. } if !text.is_empty());
                if gemini_after_text {
                    self.close_open(out);
                }
                self.open_reasoning(out);
                if let Open::Reasoning { signature: s, .. } = &mut self.open {
                    *s = Some(signature.clone());
                }
            }
            StreamEvent::RedactedThinking { data } => {
                self.start("", "", out);
                self.close_open(out);
                let ids = self.ids();
                let id = ids.item("rs", self.output.len());
                let index = self.add_item(&reasoning_item(&id, "", None), out);
                let sealed = reasoning::seal_redacted(data);
                self.done_item(index, reasoning_item(&id, "", sealed.as_deref()), out);
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.start("", "", out);
                self.call_start(*index, id, name, out);
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.call_delta(*index, arguments, out);
            }
            StreamEvent::ToolCallEnd { index } => self.call_end(*index, out),
            StreamEvent::Usage { usage } => self.usage = Some(*usage),
            StreamEvent::Finish { reason } => {
                self.start("", "", out);
                self.close_all(out);
                self.finish = Some(reason.clone());
            }
            StreamEvent::Error { message } => self.fail(message, out),
        }
    }

    fn finish(&mut self, out: &mut BytesMut) {
        if self.ended {
            return;
        }
        self.start("", "", out);
        self.close_all(out);
        let finish = self.finish.clone().unwrap_or(FinishReason::Stop);
        let (status, incomplete) = status(&finish);
        let response = self.shell_object(status, incomplete, None, true);
        let kind = if status == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.emit(kind, json!({"response": response}), out);
        self.ended = true;
    }
}

// ---------------------------------------------------------------- decoder

/// Responses SSE → IR events. Items are read from `response.output_item.added` /
/// `.done` and the delta events; the usage and finish come from the terminal
/// `response.completed` / `.incomplete` (`response.failed` and `error` become an
/// [`StreamEvent::Error`]).
#[derive(Debug)]
pub struct ResponsesStreamDecoder {
    sse: SseParser,
    fallback_model: String,
    started: bool,
    finished: bool,
    /// Output index → IR tool-call index, for function calls.
    calls: Vec<(u64, u32)>,
    /// A signature was seen on a reasoning item whose text was streamed.
    thinking_open: bool,
    saw_calls: bool,
}

impl ResponsesStreamDecoder {
    pub(super) fn new(model: &str) -> Self {
        Self {
            sse: SseParser::new(),
            fallback_model: model.to_owned(),
            started: false,
            finished: false,
            calls: Vec::new(),
            thinking_open: false,
            saw_calls: false,
        }
    }

    fn start(&mut self, response: Option<&Value>, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let s = |k: &str| {
            response
                .and_then(|r| r.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let model = s("model");
        out.push(StreamEvent::Start {
            id: s("id"),
            model: if model.is_empty() {
                self.fallback_model.clone()
            } else {
                model
            },
        });
    }

    fn handle(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        let data = data.trim();
        if self.finished || data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let v: Value = serde_json::from_str(data)
            .map_err(|e| TranslateError::UpstreamMalformed(format!("stream event: {e}")))?;
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        let str_of = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
        let index = v.get("output_index").and_then(Value::as_u64).unwrap_or(0);
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                self.start(v.get("response"), out);
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.start(None, out);
                out.push(StreamEvent::TextDelta {
                    text: str_of("delta").to_owned(),
                });
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.start(None, out);
                self.thinking_open = true;
                out.push(StreamEvent::ThinkingDelta {
                    text: str_of("delta").to_owned(),
                });
            }
            "response.output_item.added" => {
                self.start(None, out);
                let item = v.get("item").unwrap_or(&Value::Null);
                if item.get("type").and_then(Value::as_str) == Some("function_call") {
                    let k = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
                    self.calls.push((index, k));
                    self.saw_calls = true;
                    let s = |key: &str| {
                        item.get(key)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    out.push(StreamEvent::ToolCallStart {
                        index: k,
                        id: s("call_id"),
                        name: s("name"),
                    });
                    let args = s("arguments");
                    if !args.is_empty() {
                        out.push(StreamEvent::ToolCallDelta {
                            index: k,
                            arguments: args,
                        });
                    }
                }
            }
            "response.function_call_arguments.delta" => {
                if let Some(&(_, k)) = self.calls.iter().find(|(o, _)| *o == index) {
                    out.push(StreamEvent::ToolCallDelta {
                        index: k,
                        arguments: str_of("delta").to_owned(),
                    });
                }
            }
            "response.output_item.done" => {
                let item = v.get("item").unwrap_or(&Value::Null);
                match item.get("type").and_then(Value::as_str) {
                    Some("function_call") => {
                        if let Some(&(_, k)) = self.calls.iter().find(|(o, _)| *o == index) {
                            out.push(StreamEvent::ToolCallEnd { index: k });
                        }
                    }
                    Some("reasoning") => {
                        let streamed = std::mem::take(&mut self.thinking_open);
                        for part in output_parts(item)? {
                            match part {
                                Part::Thinking {
                                    text,
                                    signature: Some(signature),
                                } => {
                                    if !streamed && !text.is_empty() {
                                        out.push(StreamEvent::ThinkingDelta { text });
                                    }
                                    out.push(StreamEvent::ThinkingSignature { signature });
                                }
                                Part::RedactedThinking { data } => {
                                    out.push(StreamEvent::RedactedThinking { data });
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            "response.completed" | "response.incomplete" => {
                self.start(v.get("response"), out);
                let response = v.get("response").unwrap_or(&Value::Null);
                if let Some(u) = response.get("usage").filter(|u| !u.is_null())
                    && let Ok(r) = serde_json::from_value::<super::wire::ResponseIn>(
                        json!({"usage": u, "status": response.get("status"),
                            "incomplete_details": response.get("incomplete_details")}),
                    )
                    && let Some(usage) = &r.usage
                {
                    out.push(StreamEvent::Usage {
                        usage: Usage {
                            input_tokens: usage.input_tokens,
                            output_tokens: usage.output_tokens,
                            cached_input_tokens: usage.input_tokens_details.cached_tokens,
                            cache_creation_input_tokens: usage
                                .input_tokens_details
                                .cache_write_tokens,
                            reasoning_tokens: usage.output_tokens_details.reasoning_tokens,
                        },
                    });
                }
                let reason = response
                    .pointer("/incomplete_details/reason")
                    .and_then(Value::as_str);
                let finish = match (kind, reason) {
                    ("response.incomplete", Some("content_filter")) => {
                        FinishReason::ContentFilter("content_filter".to_owned())
                    }
                    ("response.incomplete", _) => FinishReason::Length,
                    _ if self.saw_calls => FinishReason::ToolCalls,
                    _ => FinishReason::Stop,
                };
                out.push(StreamEvent::Finish { reason: finish });
                self.finished = true;
            }
            "response.failed" | "error" => {
                self.start(None, out);
                let message = v
                    .pointer("/response/error/message")
                    .or_else(|| v.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("the upstream response failed")
                    .to_owned();
                out.push(StreamEvent::Error { message });
                self.finished = true;
            }
            _ => {}
        }
        Ok(())
    }
}

impl StreamDecode for ResponsesStreamDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        SseParser::drive(
            self,
            |d| &mut d.sse,
            Some(chunk),
            |d, _, data| d.handle(data, out),
        )
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), TranslateError> {
        SseParser::drive(self, |d| &mut d.sse, None, |d, _, data| d.handle(data, out))?;
        if !self.finished && self.started {
            for &(_, k) in &self.calls {
                out.push(StreamEvent::ToolCallEnd { index: k });
            }
            out.push(StreamEvent::Finish {
                reason: FinishReason::Stop,
            });
            self.finished = true;
        }
        Ok(())
    }
}
