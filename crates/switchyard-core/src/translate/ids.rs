//! Tool-call ids across protocols (protocols.md §4.3).
//!
//! Anthropic requires `^[a-zA-Z0-9_-]+$`; OpenAI Responses caps `call_id` at 64
//! characters; Gemini often sends no id at all. Ids are therefore sanitised
//! *deterministically* — the same input id always maps to the same output id, in the
//! request history and in the response alike, so a tool result still finds its call.

/// Longest id we emit.
pub const MAX_ID_LEN: usize = 64;

/// Map any id to `[a-zA-Z0-9_-]{1,64}`: invalid characters become `_`; an id that had to
/// change (or is too long) gets a short stable hash suffix so distinct inputs stay distinct.
pub fn sanitize(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !clean.is_empty() && clean == id && id.len() <= MAX_ID_LEN {
        return clean;
    }
    let hash = format!("{:08x}", fnv1a(id.as_bytes()) as u32);
    let keep = MAX_ID_LEN - hash.len() - 1;
    let head: String = clean.chars().take(keep).collect();
    if head.is_empty() {
        format!("call_{hash}")
    } else {
        format!("{head}_{hash}")
    }
}

/// An id for a call that came without one (Gemini): stable for the same response id,
/// position and function name.
pub fn synthesize(response_id: &str, index: usize, name: &str) -> String {
    let hash = fnv1a(format!("{response_id}\u{0}{index}\u{0}{name}").as_bytes()) as u32;
    format!("call_{hash:08x}_{index}")
}

/// FNV-1a 64-bit: tiny, stable across builds and platforms (unlike `DefaultHasher`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.write(bytes);
    h.finish()
}

/// [`fnv1a`] fed in pieces: the hash of the pieces' concatenation, without building it.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub const fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(id: &str) -> bool {
        !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }

    #[test]
    fn valid_ids_pass_unchanged_others_are_stable_and_distinct() {
        assert_eq!(sanitize("toolu_01AbC-x"), "toolu_01AbC-x");
        let a = sanitize("call.1:fn/x");
        assert!(valid(&a), "{a}");
        assert_eq!(a, sanitize("call.1:fn/x"));
        assert_ne!(a, sanitize("call.1:fn_x"));
        assert_ne!(sanitize("call_1_fn_x"), sanitize("call.1.fn.x"));
        let long = "x".repeat(200);
        assert!(valid(&sanitize(&long)));
        assert!(valid(&sanitize("")));
        assert!(valid(&sanitize("日本")));
    }

    #[test]
    fn synthesized_ids_are_valid_and_stable() {
        let a = synthesize("resp-1", 0, "get_weather");
        assert!(valid(&a));
        assert_eq!(a, synthesize("resp-1", 0, "get_weather"));
        assert_ne!(a, synthesize("resp-1", 1, "get_weather"));
    }
}
