//! A top-level key's value, found from the end of a JSON object.
//!
//! Usage sits near the end of every protocol's JSON answer, after the content (which is
//! most of the bytes). Parsing the answer for it skips the content byte by byte; this
//! finds the last occurrence of the key instead and proves it top-level by reading only
//! what follows it:
//! - the key's opening quote follows `{` or `,` (whitespace aside), so it opens a string
//!   token (inside a string a quote is escaped: the byte before it would be `\`);
//! - the key is followed by `:` and an object value, matched bracket by bracket with
//!   strings skipped;
//! - from there to the end, the brackets close exactly one level, at the document's last
//!   byte: the key's object is the document itself. A key of a nested object would close
//!   its own object first, before the end.
//!
//! Anything else answers `None`, and the caller parses the whole document. The proof
//! holds for well-formed JSON. Nothing before this checks the whole document (the commit
//! step looks at its first and last bytes), so two cases are decided differently from a
//! full parse, on purpose: a malformed answer whose last top-level usage object is
//! intact is charged that usage (the full parse would charge nothing), and with two
//! top-level `usage` keys the last one counts (serde refuses the duplicate). Never a
//! panic, whatever the bytes.

use memchr::memmem::FinderRev;

/// The raw bytes of the object value of the last top-level `key` in `doc` (a JSON
/// object). `key` searches for the quoted key, e.g. `"usage"`.
pub fn last_top_level_object<'a>(doc: &'a [u8], key: &FinderRev<'_>) -> Option<&'a [u8]> {
    let at = key.rfind(doc)?;
    let before = doc.get(..at)?;
    if !matches!(last_non_space(before), Some(b'{' | b',')) {
        return None;
    }
    let after = at + key.needle().len();
    let colon = after + skip_space(doc.get(after..)?);
    if doc.get(colon) != Some(&b':') {
        return None;
    }
    let start = colon + 1 + skip_space(doc.get(colon + 1..)?);
    if doc.get(start) != Some(&b'{') {
        return None;
    }
    let end = start + close_of(doc.get(start..)?)?;
    let value = doc.get(start..end)?;
    let tail = doc.get(end..)?;
    let closes_at = close_of_enclosing(tail)?;
    tail.get(closes_at + 1..)
        .is_some_and(|rest| rest.iter().all(u8::is_ascii_whitespace))
        .then_some(value)
}

fn last_non_space(bytes: &[u8]) -> Option<u8> {
    bytes
        .iter()
        .rev()
        .copied()
        .find(|b| !b.is_ascii_whitespace())
}

fn skip_space(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

/// `bytes` opens a container: the index just past its matching close.
fn close_of(bytes: &[u8]) -> Option<usize> {
    Some(1 + close_of_enclosing(bytes.get(1..)?)? + 1)
}

/// `bytes` starts inside a container at a token boundary: the index of the byte that
/// closes that container, when nothing opened after it is left open.
fn close_of_enclosing(bytes: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => i = string_end(bytes, i)?,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return Some(i),
            },
            _ => {}
        }
        i += 1;
    }
    None
}

/// `bytes[open]` is a string's opening quote: the index of its closing quote.
fn string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut j = open + 1;
    loop {
        let k = memchr::memchr2(b'"', b'\\', bytes.get(j..)?)?;
        match bytes.get(j + k)? {
            b'\\' => j += k + 2,
            _ => return Some(j + k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usage(doc: &str) -> Option<&str> {
        let key = FinderRev::new(b"\"usage\"");
        last_top_level_object(doc.as_bytes(), &key).map(|v| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn finds_the_top_level_object() {
        let doc = r#"{"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3,"d":{"a":[1]}},"system_fingerprint":"fp"}"#;
        assert_eq!(usage(doc), Some(r#"{"prompt_tokens":3,"d":{"a":[1]}}"#));
        assert_eq!(
            usage("{ \"usage\" : {\"a\":\"}\\\"{\"} }\n"),
            Some("{\"a\":\"}\\\"{\"}")
        );
    }

    #[test]
    fn refuses_what_it_cannot_prove() {
        // Nested: the last "usage" belongs to an inner object.
        assert_eq!(usage(r#"{"usage":{"a":1},"x":{"usage":{"b":2}}}"#), None);
        assert_eq!(usage(r#"{"x":{"usage":{"b":2}},"y":1}"#), None);
        // Inside a string (escaped quotes), or not a key, or not an object.
        assert_eq!(usage(r#"{"t":"a,\"usage\":{}","u":1}"#), None);
        assert_eq!(usage(r#"{"usage":null}"#), None);
        assert_eq!(usage(r#"{"list":["usage"]}"#), None);
        // Cut short, or unbalanced.
        assert_eq!(usage(r#"{"usage":{"a":1}"#), None);
        assert_eq!(usage(r#"{"usage":{"a":"1}}"#), None);
        assert_eq!(usage(r#"{"usage":{"a":1}}}"#), None);
        assert_eq!(usage(""), None);
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<i32>().prop_map(serde_json::Value::from),
            "[a-z\"\\\\{}\\[\\],: ]{0,8}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::from("usage")),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                prop::collection::vec(
                    (prop_oneof![Just("usage".to_owned()), "[a-z]{1,3}"], inner),
                    0..4
                )
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        // About one document in ten takes the fast path.
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Whenever it answers, it answers what a full parse says.
        #[test]
        fn agrees_with_a_full_parse(
            doc in prop::collection::vec((prop_oneof![Just("usage".to_owned()), "[a-z]{1,3}"], json()), 0..5),
            pretty in any::<bool>(),
        ) {
            let doc = serde_json::Value::Object(doc.into_iter().collect());
            let text = if pretty { serde_json::to_string_pretty(&doc).unwrap() } else { doc.to_string() };
            if let Some(found) = usage(&text) {
                let found: serde_json::Value = serde_json::from_str(found).unwrap();
                prop_assert_eq!(Some(&found), doc.get("usage"));
            }
        }
    }
}
