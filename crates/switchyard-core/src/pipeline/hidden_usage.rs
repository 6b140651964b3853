//! Usage for OpenAI streams whose client did not ask for it.
//!
//! An OpenAI Chat Completions stream carries token usage only in a last chunk sent when
//! the request says `stream_options.include_usage: true`. The gateway needs the usage of
//! every request, and the client must get exactly what it asked for, so:
//!
//! 1. [`ask_for_usage`] adds `include_usage: true` to the body sent upstream (a splice
//!    after the opening brace when `stream_options` is absent, the common case; a
//!    re-serialisation when the client sent `stream_options` without it). A translated
//!    request gets the same from the encoder, which then emits the usage chunk.
//! 2. [`UsageChunkFilter`] removes that chunk from the client-bound bytes, after the usage
//!    tap has read them. It works on lines: a `data:` line whose chunk has `"choices":[]`
//!    and a `"usage":{…}` object is dropped with the blank line that ends its event; a
//!    line split over two reads is held until its end arrives (rare: upstreams write
//!    whole events), everything else passes through as the same `Bytes`.

use super::needles::{NO_CHOICES, USAGE_OBJECT};
use bytes::{Bytes, BytesMut};

/// How the client's OpenAI stream did not ask for usage (`stream_options.include_usage`;
/// a stream that asked needs nothing, and has no value here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOptions {
    /// No `stream_options` object.
    Absent,
    /// `stream_options` without `include_usage: true`.
    WithoutUsage,
}

/// `body` (an OpenAI Chat Completions request) asking for stream usage; `None` when it
/// is not a JSON object.
pub fn ask_for_usage(body: &[u8], options: StreamOptions) -> Option<Bytes> {
    const FIELD: &[u8] = br#""stream_options":{"include_usage":true}"#;
    match options {
        StreamOptions::Absent => {
            let open = body.iter().position(|b| !b.is_ascii_whitespace())?;
            if body.get(open) != Some(&b'{') {
                return None;
            }
            let rest = body.get(open + 1..)?;
            let empty = rest
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'}');
            let mut out = Vec::with_capacity(body.len() + FIELD.len() + 1);
            out.extend_from_slice(body.get(..=open)?);
            out.extend_from_slice(FIELD);
            if !empty {
                out.push(b',');
            }
            out.extend_from_slice(rest);
            Some(Bytes::from(out))
        }
        StreamOptions::WithoutUsage => {
            let mut value: serde_json::Value = serde_json::from_slice(body).ok()?;
            let object = value.as_object_mut()?;
            let options = object
                .entry("stream_options")
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if options.is_null() {
                *options = serde_json::Value::Object(serde_json::Map::new());
            }
            options
                .as_object_mut()?
                .insert("include_usage".into(), serde_json::Value::Bool(true));
            serde_json::to_vec(&value).ok().map(Bytes::from)
        }
    }
}

/// Longest line held while waiting for its end; past it the line passes unfiltered (a
/// usage chunk is a few hundred bytes; an upstream that sends no newline must not grow
/// the buffer).
pub const MAX_HELD_LINE: usize = 64 * 1024;

/// Removes the usage-only chunk from an OpenAI SSE stream (see the module docs).
#[derive(Debug, Default)]
pub struct UsageChunkFilter {
    /// The start of a line whose end has not arrived.
    carry: BytesMut,
    /// The last line dropped was a usage chunk: drop the blank line after it.
    dropped: bool,
    /// The line being received outgrew [`MAX_HELD_LINE`]: pass it on until its end.
    passing: bool,
}

impl UsageChunkFilter {
    /// The part of `chunk` to pass on (possibly empty: held or dropped).
    pub fn feed(&mut self, chunk: Bytes) -> Bytes {
        if self.passing {
            // Until the long line ends, bytes go through as they are.
            let Some(end) = memchr::memchr(b'\n', &chunk) else {
                return chunk;
            };
            self.passing = false;
            let head = chunk.slice(..=end);
            let rest = self.feed(chunk.slice(end + 1..));
            return [head, rest].concat().into();
        }
        let input = if self.carry.is_empty() {
            chunk
        } else {
            self.carry.extend_from_slice(&chunk);
            self.carry.split().freeze()
        };
        // Only complete lines are decided; the rest waits for its end.
        let Some(last_newline) = memchr::memrchr(b'\n', &input) else {
            if input.len() > MAX_HELD_LINE {
                self.passing = true;
                return input;
            }
            self.carry.extend_from_slice(&input);
            return Bytes::new();
        };
        let complete = input.slice(..=last_newline);
        if let Some(tail) = input.get(last_newline + 1..) {
            if tail.len() > MAX_HELD_LINE {
                self.passing = true;
                let filtered = self.feed(complete);
                return [filtered, input.slice(last_newline + 1..)].concat().into();
            }
            self.carry.extend_from_slice(tail);
        }
        if !self.dropped && !USAGE_OBJECT.is_in(&complete) {
            return complete;
        }
        self.filter_lines(&complete)
    }

    /// What is held at the end of the stream (a last line without its newline).
    pub fn finish(&mut self) -> Bytes {
        self.carry.split().freeze()
    }

    fn filter_lines(&mut self, complete: &Bytes) -> Bytes {
        let mut out = BytesMut::with_capacity(complete.len());
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', complete) {
            let line = complete.get(start..=end).unwrap_or_default();
            start = end + 1;
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if self.dropped && text.is_empty() {
                self.dropped = false;
                continue;
            }
            self.dropped = false;
            if is_usage_chunk(text) {
                self.dropped = true;
                continue;
            }
            out.extend_from_slice(line);
        }
        out.freeze()
    }
}

/// A `data:` line carrying a chunk with no choices and a usage object.
fn is_usage_chunk(line: &[u8]) -> bool {
    line.starts_with(b"data:") && USAGE_OBJECT.is_in(line) && NO_CHOICES.is_in(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn usage_is_asked_for_by_splice_or_rewrite() {
        let body = br#" {"model":"gpt-4o","stream":true,"messages":[]}"#;
        let asked = ask_for_usage(body, StreamOptions::Absent).unwrap();
        let v = parse(&asked);
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["model"], "gpt-4o");
        assert_eq!(
            parse(&ask_for_usage(b"{ }", StreamOptions::Absent).unwrap())["stream_options"]["include_usage"],
            true
        );

        let body = br#"{"model":"m","stream_options":{"include_obfuscation":false}}"#;
        let v = parse(&ask_for_usage(body, StreamOptions::WithoutUsage).unwrap());
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["stream_options"]["include_obfuscation"], false);

        assert!(ask_for_usage(b"[1]", StreamOptions::Absent).is_none());
    }

    const STREAM: &str = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n",
        "data: [DONE]\n\n",
    );

    fn expected() -> String {
        STREAM.replace(
            "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n",
            "",
        )
    }

    #[test]
    fn the_usage_chunk_is_removed_however_the_stream_is_split() {
        let bytes = STREAM.as_bytes();
        for size in [1, 2, 3, 7, 16, 64, bytes.len()] {
            let mut filter = UsageChunkFilter::default();
            let mut out = Vec::new();
            for chunk in bytes.chunks(size) {
                out.extend_from_slice(&filter.feed(Bytes::copy_from_slice(chunk)));
            }
            out.extend_from_slice(&filter.finish());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected(),
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn a_line_without_end_is_not_held_past_the_cap() {
        let mut filter = UsageChunkFilter::default();
        let mut out = Vec::new();
        let long = vec![b'x'; MAX_HELD_LINE / 4];
        for _ in 0..8 {
            out.extend_from_slice(&filter.feed(Bytes::from(long.clone())));
        }
        assert!(
            filter.carry.len() <= MAX_HELD_LINE,
            "held {}",
            filter.carry.len()
        );
        // The long line ends; what follows is filtered again.
        out.extend_from_slice(&filter.feed(Bytes::from_static(b"\n\n")));
        for chunk in STREAM.as_bytes().chunks(5) {
            out.extend_from_slice(&filter.feed(Bytes::copy_from_slice(chunk)));
        }
        out.extend_from_slice(&filter.finish());
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(&"x".repeat(8 * MAX_HELD_LINE / 4)));
        assert!(text.ends_with(&expected()), "{}", &text[text.len() - 300..]);
    }

    #[test]
    fn a_null_stream_options_is_replaced() {
        let body = br#"{"model":"m","stream":true,"stream_options":null}"#;
        let asked = ask_for_usage(body, StreamOptions::WithoutUsage).unwrap();
        let text = std::str::from_utf8(&asked).unwrap();
        assert_eq!(text.matches("stream_options").count(), 1, "{text}");
        assert_eq!(parse(&asked)["stream_options"]["include_usage"], true);
    }

    #[test]
    fn chunks_without_usage_pass_as_they_are() {
        let mut filter = UsageChunkFilter::default();
        let chunk = Bytes::from_static(b"data: {\"choices\":[{\"delta\":{}}],\"usage\":null}\n\n");
        let out = filter.feed(chunk.clone());
        assert_eq!(out.as_ptr(), chunk.as_ptr(), "no copy");
        assert_eq!(out, chunk);
        // A usage object beside choices (a provider that puts it on the last content
        // chunk) is the client's to see: only the choices-less chunk is the extra one.
        let mixed = Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":{\"prompt_tokens\":1}}\n\n",
        );
        assert_eq!(filter.feed(mixed.clone()), mixed);
        assert_eq!(filter.finish(), Bytes::new());
    }
}
