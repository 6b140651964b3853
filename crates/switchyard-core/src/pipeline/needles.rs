//! Substring searchers built once. `memchr::memmem::find` builds its searcher on every
//! call; on a stream that is once per SSE line and per filter, and it showed as a tenth
//! of the gateway's time in the stream profile (`scripts/profile.sh stream`).

use memchr::memmem::Finder;
use std::sync::LazyLock;

/// A searcher for one fixed needle, built on first use.
pub struct Needle(LazyLock<Finder<'static>>);

impl std::fmt::Debug for Needle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Needle").field(&self.0.needle()).finish()
    }
}

impl Needle {
    /// For `static` items: `static X: Needle = Needle::new(|| Finder::new(b"…"));`.
    pub const fn new(build: fn() -> Finder<'static>) -> Self {
        Self(LazyLock::new(build))
    }

    /// The first occurrence in `haystack`.
    pub fn find(&self, haystack: &[u8]) -> Option<usize> {
        self.0.find(haystack)
    }

    /// Whether `haystack` contains the needle.
    pub fn is_in(&self, haystack: &[u8]) -> bool {
        self.find(haystack).is_some()
    }

    /// Every occurrence, left to right.
    pub fn find_iter<'h>(&'h self, haystack: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
        self.0.find_iter(haystack)
    }

    /// The needle's length.
    pub fn needle_len(&self) -> usize {
        self.0.needle().len()
    }
}

/// `"usage"` (a key, in every protocol's usage-bearing events).
pub static USAGE_KEY: Needle = Needle::new(|| Finder::new(b"\"usage\""));
/// `"usage":{` (OpenAI's usage object, as the upstream writes it).
pub static USAGE_OBJECT: Needle = Needle::new(|| Finder::new(br#""usage":{"#));
/// `"choices":[]` (OpenAI's usage-only chunk).
pub static NO_CHOICES: Needle = Needle::new(|| Finder::new(br#""choices":[]"#));
/// `"choices":` (the head of an OpenAI chunk ends before it).
pub static CHOICES_KEY: Needle = Needle::new(|| Finder::new(b"\"choices\":"));
/// `"usageMetadata"` (Gemini).
pub static USAGE_METADATA: Needle = Needle::new(|| Finder::new(b"\"usageMetadata\""));
/// `"finishReason"` (Gemini).
pub static FINISH_REASON: Needle = Needle::new(|| Finder::new(b"\"finishReason\""));
/// An SSE event boundary.
pub static EVENT_END: Needle = Needle::new(|| Finder::new(b"\n\n"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_find_what_memmem_finds() {
        let text = br#"data: {"choices":[],"usage":{"prompt_tokens":1}}"#;
        assert_eq!(
            USAGE_KEY.find(text),
            memchr::memmem::find(text, b"\"usage\"")
        );
        assert!(USAGE_OBJECT.is_in(text) && NO_CHOICES.is_in(text));
        assert!(!USAGE_METADATA.is_in(text));
        assert_eq!(CHOICES_KEY.find_iter(text).count(), 1);
        assert_eq!(EVENT_END.needle_len(), 2);
    }
}
