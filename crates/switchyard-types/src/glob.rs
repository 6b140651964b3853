//! Glob patterns for model names: `*` matches any run of characters, `?` one character.
//! Everything else matches itself, case-sensitively (model ids are case-sensitive upstream).

/// Whether `text` matches `pattern`. Linear-time two-pointer match with one backtrack point.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether a pattern is acceptable: non-empty, printable ASCII, no whitespace.
pub fn is_valid_pattern(pattern: &str) -> bool {
    !pattern.is_empty() && pattern.len() <= 200 && pattern.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn literal_star_and_question_mark() {
        assert!(matches("gpt-4o", "gpt-4o"));
        assert!(!matches("gpt-4o", "gpt-4o-mini"));
        assert!(matches("gpt-*", "gpt-4o-mini"));
        assert!(matches("*", ""));
        assert!(matches("claude-*-sonnet*", "claude-3-5-sonnet-latest"));
        assert!(matches("gemini-?.5-*", "gemini-2.5-pro"));
        assert!(!matches("gemini-?.5-*", "gemini-25-pro"));
        assert!(!matches("claude-*", "gpt-claude-x"));
        assert!(matches("*mini", "gpt-4o-mini"));
        assert!(!matches("*mini", "gpt-4o-mini-2"));
    }
}
