//! Learned stream-chunk shapes: most chunks of a text stream are byte for byte the same
//! JSON except for one string (the text delta), and sometimes a second string the decoder
//! ignores (OpenAI's random `obfuscation` padding). [`StringFrame`] keeps the bytes around
//! those strings, learned from one chunk a decoder has fully parsed, and reads later
//! chunks that match it without running the JSON parser.
//!
//! Why this is exact: JSON is lexed left to right, so a document made of the learned
//! bytes with other valid string bodies in those places has the same tokens as the
//! learned chunk except those strings. What they are gets proven when the frame is
//! learned: the decoder parses a copy of the chunk with a probe string in the text's place
//! and a number in the skipped string's place, and must read the probe as the text. A
//! place that takes a number as well as a string is one the reader skips, provided the
//! reader keeps what the decoder acts on in typed fields (not as an untyped `Value`): the
//! callers' readers are serde structs. Anything that does not match byte for byte, a
//! string with a raw control character, or a bad escape makes [`StringFrame::read`]
//! answer `None`, and the caller parses the chunk as usual.
//!
//! A proven frame holds for any stream, so [`KnownFrames`] keeps some for the streams
//! that follow: they skip the proof. [`StreamFrame`] is a decoder's handle on all this.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The bytes around one JSON string value of a chunk (and, optionally, a second string
/// after it whose content does not matter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringFrame {
    /// Up to and including the text's opening quote.
    before: Box<str>,
    /// From the text's closing quote on; with `skipped`, up to and including that
    /// string's opening quote.
    after: Box<str>,
    /// From the skipped string's closing quote on.
    skipped: Option<Box<str>>,
}

/// Placed where the string was to prove which field it is.
const PROBE: &str = "switchyard-frame-probe";

impl StringFrame {
    /// Learn the frame of `doc`, whose field of interest holds `value` (as the decoder
    /// read it). The string is looked for right after the first `marker` (such as
    /// `"content":"`, ending in the opening quote); the string after the first `skip`
    /// marker past it, if any, may differ from chunk to chunk. `read` parses a document
    /// and gives that field's string when the document is one the caller may skip
    /// parsing; it must see the probe in a copy of `doc` with the probe in that place
    /// (and a number in the skipped one), or no frame is learned.
    pub fn learn(
        doc: &str,
        marker: &str,
        skip: Option<&str>,
        value: &str,
        read: impl Fn(&str) -> Option<String>,
    ) -> Option<Self> {
        let at = memchr::memmem::find(doc.as_bytes(), marker.as_bytes())?;
        let (open, end) = string_at(doc, at + marker.len())?;
        if decode(doc, open, end)? != value {
            return None;
        }
        let before = doc.get(..open)?;
        let rest = doc.get(end..)?;
        let (after, skipped, probed_rest) = match skip
            .and_then(|m| Some(memchr::memmem::find(rest.as_bytes(), m.as_bytes())? + m.len()))
        {
            Some(at) => {
                let (skip_open, skip_end) = string_at(rest, at)?;
                decode(rest, skip_open, skip_end)?;
                let (after, skipped) = (rest.get(..skip_open)?, rest.get(skip_end..)?);
                let probed = format!(
                    "{}0{}",
                    after.strip_suffix('"')?,
                    skipped.strip_prefix('"')?
                );
                (after, Some(skipped), Cow::Owned(probed))
            }
            None => (rest, None, Cow::Borrowed(rest)),
        };
        let probe = if value == PROBE { "other-probe" } else { PROBE };
        let probed = format!("{before}{probe}{probed_rest}");
        (read(&probed)?.as_str() == probe).then(|| Self {
            before: before.into(),
            after: after.into(),
            skipped: skipped.map(Into::into),
        })
    }

    /// The string of a chunk with this frame, or `None` when `doc` does not match it.
    pub fn read<'d>(&self, doc: &'d str) -> Option<Cow<'d, str>> {
        if !doc.starts_with(&*self.before) {
            return None;
        }
        let (open, end) = string_at(doc, self.before.len())?;
        let rest = doc.get(end..)?.strip_prefix(&*self.after)?;
        match &self.skipped {
            Some(skipped) => {
                // Any valid string, then the learned end.
                let (skip_open, skip_end) = string_at(doc, doc.len() - rest.len())?;
                if doc.get(skip_end..)? != &**skipped {
                    return None;
                }
                decode(doc, skip_open, skip_end)?;
            }
            None if !rest.is_empty() => return None,
            None => {}
        }
        decode(doc, open, end)
    }
}

/// The string whose body starts at `open` in `doc` (just after its opening quote, which
/// must be there): `(open, end)` with `end` at its closing quote. `None` for a raw control
/// character (invalid JSON) or no closing quote.
fn string_at(doc: &str, open: usize) -> Option<(usize, usize)> {
    if open == 0 || doc.as_bytes().get(open - 1) != Some(&b'"') {
        return None;
    }
    let bytes = doc.as_bytes();
    let mut i = open;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => return Some((open, i)),
            b'\\' => i += 2,
            0..0x20 => return None,
            _ => i += 1,
        }
    }
    None
}

/// The value of the string at `open..end` of `doc`: its raw body when it has no escapes,
/// else the whole quoted token through serde_json, which checks the escapes.
fn decode(doc: &str, open: usize, end: usize) -> Option<Cow<'_, str>> {
    let raw = doc.get(open..end)?;
    if !raw.contains('\\') {
        return Some(Cow::Borrowed(raw));
    }
    serde_json::from_str::<String>(doc.get(open - 1..=end)?)
        .ok()
        .map(Cow::Owned)
}

/// Frames proven by earlier streams, for one decoder's reader (a `static` next to it).
/// Whether a frame reads a chunk as the decoder would is a fact about the JSON layout and
/// that reader, not about one stream or upstream, so any stream may reuse it. At most
/// [`KnownFrames::CAPACITY`] are kept; the first kept goes first.
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

    /// A frame kept before that reads `doc` as `value`.
    pub fn find(&self, doc: &str, value: &str) -> Option<Arc<StringFrame>> {
        let frames = self.frames.lock().ok()?;
        frames
            .iter()
            .find(|f| f.read(doc).is_some_and(|v| v == value))
            .cloned()
    }

    /// Keep `frame` for later streams (once: a frame already kept is not added again).
    pub fn keep(&self, frame: &Arc<StringFrame>) {
        let Ok(mut frames) = self.frames.lock() else {
            return;
        };
        if frames.iter().any(|f| **f == **frame) {
            return;
        }
        if frames.len() == Self::CAPACITY {
            frames.pop_front();
        }
        frames.push_back(Arc::clone(frame));
    }
}

/// One stream's frame: learned from (or found among the known ones for) its first text
/// chunks, and handed to [`KnownFrames`] only once it has read a chunk, so a frame that
/// never fits a second chunk (some field changes every time) does not crowd out others.
#[derive(Debug)]
pub struct StreamFrame {
    frame: Option<Arc<StringFrame>>,
    kept: bool,
    /// Chunks left to learn from.
    tries: u8,
}

impl StreamFrame {
    /// A stream that will try up to `tries` chunks as its frame.
    pub const fn new(tries: u8) -> Self {
        Self {
            frame: None,
            kept: false,
            tries,
        }
    }

    /// The text of `doc` when it fits the stream's frame.
    pub fn read<'d>(&mut self, known: &KnownFrames, doc: &'d str) -> Option<Cow<'d, str>> {
        let frame = self.frame.as_ref()?;
        let text = frame.read(doc)?;
        if !self.kept {
            self.kept = true;
            known.keep(frame);
        }
        Some(text)
    }

    /// Whether the stream has a frame.
    pub fn is_learned(&self) -> bool {
        self.frame.is_some()
    }

    /// Whether another chunk may be tried with [`StreamFrame::learn`].
    pub fn wants(&self) -> bool {
        self.frame.is_none() && self.tries > 0
    }

    /// Take `doc`, a chunk the decoder just parsed whose text is `value`, as the stream's
    /// frame: a known frame that reads it, else one proven from it (see
    /// [`StringFrame::learn`]). Returns whether the stream now has a frame.
    pub fn learn(
        &mut self,
        known: &KnownFrames,
        doc: &str,
        (marker, skip): (&str, Option<&str>),
        value: &str,
        read: impl Fn(&str) -> Option<String>,
    ) -> bool {
        if !self.wants() {
            return self.frame.is_some();
        }
        self.tries -= 1;
        self.frame = known
            .find(doc, value)
            .or_else(|| StringFrame::learn(doc, marker, skip, value, read).map(Arc::new));
        self.frame.is_some()
    }
}

impl Default for StreamFrame {
    /// Two tries: the first text chunk, and one more should the first not do.
    fn default() -> Self {
        Self::new(2)
    }
}

impl Default for KnownFrames {
    fn default() -> Self {
        Self::new()
    }
}

/// Shared by the decoders' property tests: the frame path and the parser must agree.
#[cfg(test)]
pub(crate) mod testing {
    use proptest::prelude::*;

    /// Texts for the chunks of one stream, and byte changes `(position, byte)` to make in
    /// some of them (positions wrap around the chunk).
    pub fn texts_and_flips() -> impl Strategy<Value = (Vec<String>, Vec<(usize, u8)>)> {
        let flip = (
            0usize..400,
            prop::sample::select(b"\"\\}]{,:0a \t".to_vec()),
        );
        (
            prop::collection::vec(".{0,6}", 2..8),
            prop::collection::vec(flip, 0..3),
        )
    }

    /// One chunk per text (`chunk(i, text as a JSON string)`), with the flips applied.
    pub fn chunks(
        texts: &[String],
        flips: &[(usize, u8)],
        chunk: impl Fn(usize, &str) -> String,
    ) -> Vec<Vec<u8>> {
        let mut chunks: Vec<Vec<u8>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| chunk(i, &serde_json::to_string(t).unwrap()).into_bytes())
            .collect();
        for (k, (at, byte)) in flips.iter().enumerate() {
            let chunk = &mut chunks[(k * 3 + 1) % texts.len()];
            let at = at % chunk.len();
            chunk[at] = *byte;
        }
        chunks
    }
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
        StringFrame::learn(r#"{"a":{"b":"x"},"c":1}"#, r#""b":""#, None, "x", read_ab).unwrap()
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
        assert_eq!(
            StringFrame::learn(doc, r#""b":""#, None, "x", read_cab),
            None
        );
        // The value found must be the one the decoder read.
        assert_eq!(
            StringFrame::learn(r#"{"a":{"b":"x"},"c":1}"#, r#""b":""#, None, "y", read_ab),
            None
        );
        // A reader that refuses the document (say, it is not plain text) refuses the probe.
        assert_eq!(
            StringFrame::learn(r#"{"a":{"b":"x"},"d":1}"#, r#""b":""#, None, "x", read_ab),
            None
        );
        // No marker, no frame.
        assert_eq!(
            StringFrame::learn(r#"{"a":{"b":1}}"#, r#""b":""#, None, "x", read_ab),
            None
        );
    }

    #[test]
    fn known_frames_are_kept_once_used_and_bounded() {
        let known = KnownFrames::new();
        let calls = std::cell::Cell::new(0);
        let counting = |d: &str| {
            calls.set(calls.get() + 1);
            read_ab(d)
        };
        let shape = (r#""b":""#, None);
        let mut first = StreamFrame::default();
        assert!(first.learn(&known, r#"{"a":{"b":"x"},"c":1}"#, shape, "x", counting));
        assert!(
            known.find(r#"{"a":{"b":"y"},"c":1}"#, "y").is_none(),
            "not used yet"
        );
        let used = first.read(&known, r#"{"a":{"b":"y"},"c":1}"#);
        assert_eq!(used.as_deref(), Some("y"));
        let mut second = StreamFrame::default();
        assert!(second.learn(&known, r#"{"a":{"b":"z"},"c":1}"#, shape, "z", counting));
        assert_eq!(calls.get(), 1, "the second stream skips the proof");
        // A known frame that does not read the chunk is not taken for it.
        let mut third = StreamFrame::default();
        assert!(third.learn(&known, r#"{"a":{"b":"y"},"c":2}"#, shape, "y", counting));
        assert_eq!(calls.get(), 2);
        assert_eq!(
            third.read(&known, r#"{"a":{"b":"w"},"c":2}"#).as_deref(),
            Some("w")
        );
        // Tries run out.
        let mut fourth = StreamFrame::new(1);
        assert!(!fourth.learn(&known, r#"{"a":{"b":1}}"#, shape, "x", read_ab));
        assert!(!fourth.wants());
        for c in 0..40 {
            let doc = format!(r#"{{"a":{{"b":"x"}},"c":{c}}}"#);
            let mut stream = StreamFrame::default();
            assert!(stream.learn(&known, &doc, shape, "x", read_ab));
            assert!(stream.read(&known, &doc).is_some());
        }
        assert_eq!(known.frames.lock().unwrap().len(), KnownFrames::CAPACITY);
    }

    /// Like `read_ab`, with an `o` of any type that it skips.
    fn read_ab_skip_o(doc: &str) -> Option<String> {
        let mut v: Value = serde_json::from_str(doc).ok()?;
        v.as_object_mut()?.remove("o");
        read_ab(&v.to_string())
    }

    #[test]
    fn a_skipped_string_may_change_from_chunk_to_chunk() {
        let f = StringFrame::learn(
            r#"{"a":{"b":"x"},"o":"r4nd","c":1}"#,
            r#""b":""#,
            Some(r#""o":""#),
            "x",
            read_ab_skip_o,
        )
        .unwrap();
        let read = |doc: &str| f.read(doc).map(Cow::into_owned);
        assert_eq!(
            read(r#"{"a":{"b":"hi"},"o":"Zz9","c":1}"#).as_deref(),
            Some("hi")
        );
        assert_eq!(
            read(r#"{"a":{"b":"hi"},"o":"","c":1}"#).as_deref(),
            Some("hi")
        );
        assert_eq!(
            read(r#"{"a":{"b":"hi"},"o":"q\"","c":1}"#).as_deref(),
            Some("hi")
        );
        for doc in [
            r#"{"a":{"b":"hi"},"o":"bad \x","c":1}"#,
            "{\"a\":{\"b\":\"hi\"},\"o\":\"tab\there\",\"c\":1}",
            r#"{"a":{"b":"hi"},"o":"r","c":2}"#,
            r#"{"a":{"b":"hi"},"o":1,"c":1}"#,
            r#"{"a":{"b":"hi"},"c":1}"#,
        ] {
            assert_eq!(read(doc), None, "{doc}");
        }
        // A string the reader needs as a string is no place to skip: the number in the
        // probe makes it refuse.
        assert_eq!(
            StringFrame::learn(
                r#"{"a":{"b":"x","o":"r"}}"#,
                r#""b":""#,
                Some(r#""o":""#),
                "x",
                |d| {
                    let v: Value = serde_json::from_str(d).ok()?;
                    v.pointer("/a/o")?.as_str()?;
                    v.pointer("/a/b")?.as_str().map(str::to_owned)
                }
            ),
            None
        );
    }

    #[test]
    fn the_probe_itself_as_value_still_learns() {
        let doc = format!(r#"{{"a":{{"b":"{PROBE}"}},"c":1}}"#);
        let f = StringFrame::learn(&doc, r#""b":""#, None, PROBE, read_ab).unwrap();
        assert_eq!(f.read(&doc).as_deref(), Some(PROBE));
    }
}
