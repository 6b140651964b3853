//! Incremental Server-Sent Events framing: bytes in (split anywhere), complete events out.
//!
//! Handles `\n`, `\r\n` and `\r` line ends, multi-line `data:`, comments (`:`), and a
//! final event without its blank line (flushed by [`SseParser::finish`]). For Gemini,
//! whose mid-stream errors can arrive as bare JSON without `data:` (protocols.md §3.5),
//! non-field lines are collected as data too.

use bytes::{BufMut, BytesMut};
use serde::Serialize;
use std::borrow::Cow;

/// Append one SSE event (`event:` line when `name` is given, one `data:` line of JSON)
/// to `out`, serialising straight into the buffer. A value that fails to serialise
/// leaves `out` as it was.
pub fn write_event<T: Serialize>(out: &mut BytesMut, name: Option<&str>, value: &T) {
    let start = out.len();
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\n");
    }
    out.extend_from_slice(b"data: ");
    if serde_json::to_writer(out.writer(), value).is_err() {
        out.truncate(start);
        return;
    }
    out.extend_from_slice(b"\n\n");
}

/// One SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` name, empty when absent.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

impl SseEvent {
    fn new(event: &str, data: &str) -> Self {
        Self {
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }
}

/// Splits a byte stream into events.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
    /// The previous byte was `\r` (a following `\n` belongs to the same line end).
    after_cr: bool,
}

/// The data buffer is reused between events up to this capacity.
const KEPT_DATA_BYTES: usize = 64 * 1024;

/// Lines longer than this are cut off (defence against an endless line).
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; complete events are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        self.feed_with(bytes, |event, data| out.push(SseEvent::new(event, data)));
    }

    /// Feed bytes; each complete event is handed to `on_event` as (`event:` name, data),
    /// borrowed from buffers the parser keeps for the next event (no allocation per
    /// event once they have grown).
    ///
    /// Lines are found with `memchr` and handled as slices of `bytes`; only a line split
    /// across two feeds is copied into the carry-over buffer.
    pub fn feed_with(&mut self, mut bytes: &[u8], mut on_event: impl FnMut(&str, &str)) {
        let out = &mut on_event;
        if self.after_cr && !bytes.is_empty() {
            // The `\n` of a `\r\n` split across two feeds.
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
            self.after_cr = false;
        }
        while let Some(at) = memchr::memchr2(b'\n', b'\r', bytes) {
            let (head, rest) = bytes.split_at(at);
            if self.line.is_empty() {
                self.end_line(&head[..head.len().min(MAX_LINE_BYTES)], out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                self.extend_line(&mut line, head);
                self.end_line(&line, out);
                line.clear();
                self.line = line;
            }
            let cr = rest[0] == b'\r';
            bytes = &rest[1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        if !bytes.is_empty() {
            let mut line = std::mem::take(&mut self.line);
            self.extend_line(&mut line, bytes);
            self.line = line;
        }
    }

    /// The stream ended: emit a last event that had no terminating blank line.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        self.finish_with(|event, data| out.push(SseEvent::new(event, data)));
    }

    /// [`Self::finish`], handing the last event to `on_event` as [`Self::feed_with`] does.
    pub fn finish_with(&mut self, mut on_event: impl FnMut(&str, &str)) {
        let out = &mut on_event;
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.end_line(&line, out);
        }
        self.dispatch(out);
    }

    /// Run `chunk` (or, with `None`, the end of the stream) through the parser that `owner`
    /// keeps at `parser`, handing each event's name and data to `handle` along with
    /// `owner`. After an error the remaining events are skipped and the error returned.
    pub fn drive<O, E>(
        owner: &mut O,
        parser: fn(&mut O) -> &mut SseParser,
        chunk: Option<&[u8]>,
        mut handle: impl FnMut(&mut O, &str, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut sse = std::mem::take(parser(owner));
        let mut result = Ok(());
        let on_event = |event: &str, data: &str| {
            if result.is_ok() {
                result = handle(owner, event, data);
            }
        };
        match chunk {
            Some(chunk) => sse.feed_with(chunk, on_event),
            None => sse.finish_with(on_event),
        }
        *parser(owner) = sse;
        result
    }

    /// Append to a partial line, up to [`MAX_LINE_BYTES`].
    fn extend_line(&self, line: &mut Vec<u8>, bytes: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn end_line(&mut self, line: &[u8], out: &mut impl FnMut(&str, &str)) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        // The common line, without the general field split.
        if let Some(value) = line.strip_prefix(b"data:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            match std::str::from_utf8(value) {
                Ok(value) => self.push_data(value),
                Err(_) => self.push_data(&String::from_utf8_lossy(value)),
            }
            return;
        }
        let line = match std::str::from_utf8(line) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => self.push_data(value),
            "event" => value.clone_into(&mut self.event),
            "id" | "retry" => {}
            // Not a field: bare JSON (Gemini error bodies) is kept as data.
            _ => self.push_data(&line),
        }
    }

    fn push_data(&mut self, value: &str) {
        if self.has_data {
            self.data.push('\n');
        }
        self.data.push_str(value);
        self.has_data = true;
    }

    fn dispatch(&mut self, out: &mut impl FnMut(&str, &str)) {
        if self.has_data {
            out(&self.event, &self.data);
        }
        self.event.clear();
        self.data.clear();
        if self.data.capacity() > KEPT_DATA_BYTES {
            // One huge event should not pin its buffer for the rest of the stream.
            self.data = String::new();
        }
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &str, piece: usize) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for chunk in input.as_bytes().chunks(piece) {
            p.feed(chunk, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn events_survive_any_split() {
        let input = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: ping comment\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
        for piece in 1..input.len() {
            let out = parse_in_pieces(input, piece);
            assert_eq!(out.len(), 3, "piece {piece}");
            assert_eq!(
                out[0],
                SseEvent {
                    event: "message_start".into(),
                    data: "{\"a\":1}".into()
                }
            );
            assert_eq!(out[1].data, "x\ny");
            assert_eq!(out[2].data, "[DONE]");
        }
    }

    #[test]
    fn events_are_written_whole_or_not_at_all() {
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        let mut out = BytesMut::from(&b"kept"[..]);
        write_event(&mut out, Some("ping"), &serde_json::json!({"a": "\""}));
        write_event(&mut out, None, &Fails);
        write_event(&mut out, None, &[1]);
        assert_eq!(
            &out[..],
            b"keptevent: ping\ndata: {\"a\":\"\\\"\"}\n\ndata: [1]\n\n"
        );
    }

    #[test]
    fn bare_cr_line_ends_and_any_two_way_split() {
        let input = "data: a\r\rdata: b\r\n\r\nevent: e\rdata: c\n\n";
        for at in 0..=input.len() {
            let mut p = SseParser::new();
            let mut out = Vec::new();
            p.feed(&input.as_bytes()[..at], &mut out);
            p.feed(&input.as_bytes()[at..], &mut out);
            p.finish(&mut out);
            let data: Vec<_> = out.iter().map(|e| e.data.as_str()).collect();
            assert_eq!(data, ["a", "b", "c"], "split at {at}");
            assert_eq!(out[2].event, "e");
        }
    }

    #[test]
    fn invalid_utf8_is_replaced_not_dropped() {
        let out = parse_in_pieces_bytes(b"data: caf\xe9\n\n", 3);
        assert_eq!(out[0].data, "caf\u{fffd}");
    }

    fn parse_in_pieces_bytes(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            p.feed(chunk, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn unterminated_last_event_and_bare_json() {
        let out = parse_in_pieces("data: {\"last\":true}", 4);
        assert_eq!(out[0].data, "{\"last\":true}");
        let out = parse_in_pieces("{\n  \"error\": {\"code\": 500}\n}\n", 7);
        assert_eq!(out.len(), 1);
        assert!(out[0].data.contains("\"error\""));
    }
}
