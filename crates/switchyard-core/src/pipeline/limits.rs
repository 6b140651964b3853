//! Limits on what a client may send, checked at the edge before anything else is done
//! with the request: a model name's length and the nesting depth of its JSON.

/// Longest model name accepted (bytes). Real names are under 100.
pub const MAX_MODEL_BYTES: usize = 256;
/// Deepest JSON nesting accepted on every route (serde_json's own parser stops at 128).
pub const MAX_JSON_DEPTH: usize = 64;
/// Longest prefix of a client's text echoed back in an error message.
pub const ECHO_CHARS: usize = 64;

/// Why a model name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelProblem {
    Empty,
    TooLong,
}

/// Check a requested model name.
pub fn check_model(model: &str) -> Result<(), ModelProblem> {
    if model.trim().is_empty() {
        Err(ModelProblem::Empty)
    } else if model.len() > MAX_MODEL_BYTES {
        Err(ModelProblem::TooLong)
    } else {
        Ok(())
    }
}

/// At most [`ECHO_CHARS`] characters of `text`, marked when cut.
pub fn echo(text: &str) -> String {
    echo_within(text, ECHO_CHARS)
}

/// At most `chars` characters of `text`, marked when cut.
pub fn echo_within(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// Whether `json` nests arrays and objects at most `max` deep. One pass over the bytes,
/// skipping strings with `memchr` (brackets inside strings do not count). Malformed
/// JSON is not judged here: the parser that follows reports it.
pub fn depth_within(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(at) = memchr::memchr3(b'"', b'[', b'{', &json[i..]) {
        let pos = i + at;
        // Closing brackets since the last stop lower the depth.
        depth = depth.saturating_sub(count_closers(&json[i..pos]));
        match json[pos] {
            b'"' => {
                // Skip the string: find its closing quote, honouring escapes.
                let mut j = pos + 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &json[j..]) {
                        None => return true,
                        Some(k) if json[j + k] == b'\\' => j += k + 2,
                        Some(k) => {
                            j += k + 1;
                            break;
                        }
                    }
                    if j >= json.len() {
                        return true;
                    }
                }
                i = j;
                continue;
            }
            _ => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
        }
        i = pos + 1;
    }
    true
}

fn count_closers(bytes: &[u8]) -> usize {
    memchr::memchr2_iter(b']', b'}', bytes).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert!(depth_within(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(!depth_within(br#"{"a":[1,{"b":2}]}"#, 2));
        assert!(
            depth_within(br#"{"a":"[[[[[[{{{{"}"#, 1),
            "strings do not nest"
        );
        assert!(
            depth_within(br#"{"a":"\"[[[["}"#, 1),
            "escaped quotes stay in the string"
        );
        let siblings = br#"{"a":[1],"b":[2],"c":{"d":[3]}}"#;
        assert!(depth_within(siblings, 3));
        assert!(!depth_within(siblings, 2));
        let flat = format!("[{}]", vec!["[1]"; 1000].join(","));
        assert!(depth_within(flat.as_bytes(), 2), "siblings do not add up");
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(!depth_within(deep.as_bytes(), MAX_JSON_DEPTH));
        assert!(depth_within(deep.as_bytes(), 65));
        assert!(depth_within(b"{\"unterminated", 1));
    }

    #[test]
    fn models_and_echoes_are_bounded() {
        assert_eq!(check_model(" "), Err(ModelProblem::Empty));
        assert_eq!(check_model(&"m".repeat(257)), Err(ModelProblem::TooLong));
        assert_eq!(check_model("gpt-4o"), Ok(()));
        assert_eq!(echo("short"), "short");
        let long = "é".repeat(1000);
        assert_eq!(echo(&long).chars().count(), ECHO_CHARS + 1);
    }
}
