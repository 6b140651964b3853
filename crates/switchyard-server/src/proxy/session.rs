//! The session a request belongs to, for account affinity: the `x-session-id` header
//! when sent, else a hash of the client key and the conversation's opening (system
//! prompt and first message), which stays the same for every turn of a conversation.

use http::HeaderMap;
use serde::de::{Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;
use switchyard_core::keyring::ClientKeyId;
use switchyard_core::translate::ids::Fnv1a;

/// A JSON array read for its opening: the first two elements, raw and borrowed, and its
/// length. The rest is skipped without being kept (a long conversation builds no `Vec`).
#[derive(Debug, Default)]
pub struct Opening<'a> {
    items: [Option<&'a RawValue>; 2],
    len: usize,
}

impl<'a> Opening<'a> {
    /// Element `i` (0 or 1), if the array has it.
    pub fn get(&self, i: usize) -> Option<&'a RawValue> {
        self.items.get(i).copied().flatten()
    }

    pub fn first(&self) -> Option<&'a RawValue> {
        self.get(0)
    }

    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Opening<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Visit<'a> {
            type Value = Opening<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Opening<'a>, A::Error> {
                let mut opening = Opening::default();
                while opening.len < 2 {
                    match seq.next_element::<&'de RawValue>()? {
                        Some(item) => {
                            opening.items[opening.len] = Some(item);
                            opening.len += 1;
                        }
                        None => return Ok(opening),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    opening.len += 1;
                }
                Ok(opening)
            }
        }
        deserializer.deserialize_seq(Visit(std::marker::PhantomData))
    }
}

/// The raw JSON text of an optional borrowed value ("" when absent).
pub fn raw(value: Option<&RawValue>) -> &str {
    value.map_or("", RawValue::get)
}

/// The session hash, or `None` when there is nothing to anchor it to.
pub fn key(headers: &HeaderMap, client: &ClientKeyId, anchors: &[&str]) -> Option<u64> {
    // Hashed in pieces: a system prompt of many KB is read once, never copied.
    let mut h = Fnv1a::default();
    h.write(client.0.as_bytes());
    h.write(b"\0");
    if let Some(id) = headers.get("x-session-id").and_then(|v| v.to_str().ok()) {
        h.write(b"h:");
        h.write(id.as_bytes());
    } else {
        if anchors.iter().all(|a| a.is_empty()) {
            return None;
        }
        for anchor in anchors {
            h.write(anchor.as_bytes());
            h.write(b"\0");
        }
    }
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn an_opening_keeps_two_items_and_counts_all() {
        let o: Opening<'_> = serde_json::from_str(r#"[{"a":1}, "b", [3], 4]"#).unwrap();
        assert_eq!(raw(o.first()), r#"{"a":1}"#);
        assert_eq!(raw(o.get(1)), r#""b""#);
        assert!(o.get(2).is_none());
        assert!(!o.is_empty());
        let o: Opening<'_> = serde_json::from_str("[]").unwrap();
        assert!(o.is_empty() && o.first().is_none());
        assert!(serde_json::from_str::<Opening<'_>>(r#"{"a":1}"#).is_err());
        assert!(serde_json::from_str::<Opening<'_>>("[1, }").is_err());
    }

    #[test]
    fn the_hash_is_that_of_the_joined_material() {
        use switchyard_core::translate::ids::fnv1a;
        let k = ClientKeyId("key_1".into());
        assert_eq!(
            key(&HeaderMap::new(), &k, &["sys", "msg"]),
            Some(fnv1a(b"key_1\0sys\0msg\0"))
        );
    }

    #[test]
    fn header_wins_and_conversations_hash_stably() {
        let k = ClientKeyId("key_1".into());
        let other = ClientKeyId("key_2".into());
        let mut h = HeaderMap::new();
        let a = key(&h, &k, &["sys", "{\"role\":\"user\"}"]);
        assert_eq!(a, key(&h, &k, &["sys", "{\"role\":\"user\"}"]));
        assert_ne!(
            a,
            key(&h, &other, &["sys", "{\"role\":\"user\"}"]),
            "keys do not share sessions"
        );
        assert_eq!(key(&h, &k, &["", ""]), None);
        h.insert("x-session-id", HeaderValue::from_static("s1"));
        assert_ne!(key(&h, &k, &["sys", "x"]), a);
        assert_eq!(
            key(&h, &k, &["other"]),
            key(&h, &k, &["sys", "x"]),
            "the header alone decides"
        );
    }
}
