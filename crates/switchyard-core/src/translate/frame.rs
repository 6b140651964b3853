//! Learned stream-chunk shapes: most chunks of a text stream are byte for byte the same
//! JSON except for one string (the text delta). [`StringFrame`] keeps the bytes around
//! that string, learned from one chunk a decoder has fully parsed, and reads later chunks
//! that match it without running the JSON parser.
//!
//! Why this is exact: JSON is lexed left to right, so a document made of the learned
//! bytes before the string, any valid string body, and the learned bytes after it has
//! the same tokens as the learned chunk except that one string. Which field that string
//! is gets proven when the frame is learned: the decoder parses the chunk again with a
//! probe string in that place and must find the probe in the field it reads
//! ([`StringFrame::learn`]). Anything that does not match byte for byte, a string with a
//! raw control character, or a bad escape makes [`StringFrame::read`] answer `None`, and
//! the caller parses the chunk as usual.
//!
//! A proven frame holds for any stream, so [`KnownFrames`] keeps the few most recent ones
//! for the streams that follow: they skip the proof.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The bytes before (up to and including the opening quote) and after (from the closing
/// quote on) one JSON string value of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringFrame {
    before: Box<str>,
    after: Box<str>,
}

/// Placed where the string was to prove which field it is.
const PROBE: &str = "switchyard-frame-probe";

impl StringFrame {
    /// Learn the frame of `doc`, whose field of interest holds `value` (as the decoder
    /// read it). The string is looked for right after the first `marker` (such as
    /// `"content":"`, ending in the opening quote). `read` parses a document and gives
    /// that field's string when the document is one the caller may skip parsing; it
    /// must see the probe in a copy of `doc` with the probe in that place, or no frame is
    /// learned.
    pub fn learn(
        doc: &str,
        marker: &str,
        value: &str,
        read: impl Fn(&str) -> Option<String>,
    ) -> Option<Self> {
        let open = memchr::memmem::find(doc.as_bytes(), marker.as_bytes())? + marker.len();
        let before = doc.get(..open)?;
        let (end, escaped) = string_end(doc.get(open..)?)?;
        let after = doc.get(open + end..)?;
        let found = decode(
            doc.get(open..open + end)?,
            doc.get(open - 1..=open + end)?,
            escaped,
        )?;
        if found != value {
            return None;
        }
        let probe = if value == PROBE { "other-probe" } else { PROBE };
        let probed = format!("{before}{probe}{after}");
        (read(&probed)?.as_str() == probe).then(|| Self {
            before: before.into(),
            after: after.into(),
        })
    }

    /// The string of a chunk with this frame, or `None` when `doc` does not match it.
    pub fn read<'d>(&self, doc: &'d str) -> Option<Cow<'d, str>> {
        let open = self.before.len();
        let body = doc.strip_prefix(&*self.before)?;
        let (end, escaped) = string_end(body)?;
        if body.get(end..)? != &*self.after {
            return None;
        }
        let quoted = doc.get(open - 1..=open + end)?;
        decode(body.get(..end)?, quoted, escaped)
    }
}

/// Frames proven by earlier streams, for one decoder's reader (a `static` next to it).
/// Whether a frame reads a chunk as the decoder would is a fact about the JSON layout and
/// that reader, not about one stream or upstream, so any stream may reuse it. At most
/// [`KnownFrames::CAPACITY`] are kept; the oldest goes first.
#[derive(Debug)]
pub struct KnownFrames {
    frames: Mutex<VecDeque<Arc<StringFrame>>>,
}

impl KnownFrames {
    pub const CAPACITY: usize = 16;

    pub const fn new() -> Self {
        Self {
            frames: Mutex::new(VecDeque::new()),
        }
    }

    /// A frame for `doc` (see [`StringFrame::learn`]): one proven before that reads `doc`
    /// as `value`, else a newly proven one, which is kept for later streams.
    pub fn learn(
        &self,
        doc: &str,
        marker: &str,
        value: &str,
        read: impl Fn(&str) -> Option<String>,
    ) -> Option<Arc<StringFrame>> {
        let known = self.frames.lock().ok().and_then(|frames| {
            frames
                .iter()
                .find(|f| f.read(doc).is_some_and(|v| v == value))
                .cloned()
        });
        if known.is_some() {
            return known;
        }
        let frame = Arc::new(StringFrame::learn(doc, marker, value, read)?);
        if let Ok(mut frames) = self.frames.lock() {
            if frames.len() == Self::CAPACITY {
                frames.pop_front();
            }
            frames.push_back(Arc::clone(&frame));
        }
        Some(frame)
    }
}

impl Default for KnownFrames {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the string that `body` starts (after its opening quote) closes, and whether it
/// has escapes. `None` for a raw control character (invalid JSON) or no closing quote.
fn string_end(body: &str) -> Option<(usize, bool)> {
    let bytes = body.as_bytes();
    let mut escaped = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            0..0x20 => return None,
            _ => i += 1,
        }
    }
    None
}

/// The value of a string: its raw body when it has no escapes, else the whole `quoted`
/// token through serde_json, which checks the escapes.
fn decode<'d>(raw: &'d str, quoted: &'d str, escaped: bool) -> Option<Cow<'d, str>> {
    if !escaped {
        return Some(Cow::Borrowed(raw));
    }
    serde_json::from_str::<String>(quoted).ok().map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Reads `/a/b` when the document has nothing but `a.b` and `c`.
    fn read_ab(doc: &str) -> Option<String> {
        let v: Value = serde_json::from_str(doc).ok()?;
        let obj = v.as_object()?;
        if obj.keys().any(|k| k != "a" && k != "c") {
            return None;
        }
        v.pointer("/a/b")?.as_str().map(str::to_owned)
    }

    fn frame() -> StringFrame {
        StringFrame::learn(r#"{"a":{"b":"x"},"c":1}"#, r#""b":""#, "x", read_ab).unwrap()
    }

    #[test]
    fn a_learned_frame_reads_the_string_of_a_matching_chunk() {
        let f = frame();
        assert_eq!(
            f.read(r#"{"a":{"b":"hello"},"c":1}"#).as_deref(),
            Some("hello")
        );
        assert_eq!(f.read(r#"{"a":{"b":""},"c":1}"#).as_deref(), Some(""));
        assert_eq!(
            f.read(r#"{"a":{"b":"q\"\n\u00e9\\"},"c":1}"#).as_deref(),
            Some("q\"\né\\")
        );
        assert!(matches!(
            f.read(r#"{"a":{"b":"plain"},"c":1}"#),
            Some(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn anything_else_is_left_to_the_parser() {
        let f = frame();
        for doc in [
            r#"{"a":{"b":"hello"},"c":2}"#,          // other bytes after
            r#"{"a":{"b":"hello"},"c":1,"d":0}"#,    // more fields
            r#"{"a":{"b":"hello"}}"#,                // fewer
            r#"{"a":{"b": "hello"},"c":1}"#,         // other bytes before
            "{\"a\":{\"b\":\"tab\there\"},\"c\":1}", // raw control character
            r#"{"a":{"b":"bad \q escape"},"c":1}"#,  // invalid escape
            r#"{"a":{"b":"unterminated"#,
            r#"{"a":{"b":"ends in \"},"c":1}"#, // the quote is escaped: no match
        ] {
            assert_eq!(f.read(doc), None, "{doc}");
        }
    }

    #[test]
    fn a_frame_is_learned_only_where_the_probe_shows_the_field() {
        // The marker's first match is another field's string: the probe lands there and
        // the reader does not see it.
        let doc = r#"{"c":{"b":"x"},"a":{"b":"x"}}"#;
        let read_cab = |d: &str| {
            let v: Value = serde_json::from_str(d).ok()?;
            v.pointer("/a/b")?.as_str().map(str::to_owned)
        };
        assert_eq!(StringFrame::learn(doc, r#""b":""#, "x", read_cab), None);
        // The value found must be the one the decoder read.
        assert_eq!(
            StringFrame::learn(r#"{"a":{"b":"x"},"c":1}"#, r#""b":""#, "y", read_ab),
            None
        );
        // A reader that refuses the document (say, it is not plain text) refuses the probe.
        assert_eq!(
            StringFrame::learn(r#"{"a":{"b":"x"},"d":1}"#, r#""b":""#, "x", read_ab),
            None
        );
        // No marker, no frame.
        assert_eq!(
            StringFrame::learn(r#"{"a":{"b":1}}"#, r#""b":""#, "x", read_ab),
            None
        );
    }

    #[test]
    fn known_frames_are_reused_and_bounded() {
        let known = KnownFrames::new();
        let calls = std::cell::Cell::new(0);
        let counting = |d: &str| {
            calls.set(calls.get() + 1);
            read_ab(d)
        };
        let a = known.learn(r#"{"a":{"b":"x"},"c":1}"#, r#""b":""#, "x", counting);
        let b = known.learn(r#"{"a":{"b":"y"},"c":1}"#, r#""b":""#, "y", counting);
        assert_eq!(calls.get(), 1, "the second stream skips the proof");
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        // A frame that does not read the document is not taken for it.
        assert_eq!(
            known
                .learn(r#"{"a":{"b":"y"},"c":2}"#, r#""b":""#, "y", counting)
                .map(|f| f.read(r#"{"a":{"b":"z"},"c":2}"#).map(Cow::into_owned)),
            Some(Some("z".to_owned()))
        );
        assert_eq!(calls.get(), 2);
        for c in 0..40 {
            let doc = format!(r#"{{"a":{{"b":"x"}},"c":{c}}}"#);
            assert!(known.learn(&doc, r#""b":""#, "x", read_ab).is_some());
        }
        assert_eq!(known.frames.lock().unwrap().len(), KnownFrames::CAPACITY);
    }

    #[test]
    fn the_probe_itself_as_value_still_learns() {
        let doc = format!(r#"{{"a":{{"b":"{PROBE}"}},"c":1}}"#);
        let f = StringFrame::learn(&doc, r#""b":""#, PROBE, read_ab).unwrap();
        assert_eq!(f.read(&doc).as_deref(), Some(PROBE));
    }
}
