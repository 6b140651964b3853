//! Incremental Server-Sent Events framing: bytes in (split anywhere), complete events out.
//!
//! Handles `\n`, `\r\n` and `\r` line ends, multi-line `data:`, comments (`:`), and a
//! final event without its blank line (flushed by [`SseParser::finish`]). For Gemini,
//! whose mid-stream errors can arrive as bare JSON without `data:` (protocols.md §3.5),
//! non-field lines are collected as data too.

/// One SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` name, empty when absent.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
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

/// Events larger than this are cut off (defence against an endless line).
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed bytes; complete events are appended to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    self.end_line(out);
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() < MAX_EVENT_BYTES {
                        self.line.push(b);
                    }
                }
            }
        }
    }

    /// The stream ended: emit a last event that had no terminating blank line.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            self.end_line(out);
        }
        self.dispatch(out);
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        if self.line.is_empty() {
            self.dispatch(out);
            return;
        }
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
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

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(SseEvent {
                event: std::mem::take(&mut self.event),
                data: std::mem::take(&mut self.data),
            });
        }
        self.event.clear();
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
    fn unterminated_last_event_and_bare_json() {
        let out = parse_in_pieces("data: {\"last\":true}", 4);
        assert_eq!(out[0].data, "{\"last\":true}");
        let out = parse_in_pieces("{\n  \"error\": {\"code\": 500}\n}\n", 7);
        assert_eq!(out.len(), 1);
        assert!(out[0].data.contains("\"error\""));
    }
}
