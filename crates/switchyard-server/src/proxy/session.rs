//! The session a request belongs to, for account affinity: the `x-session-id` header
//! when sent, else a hash of the client key and the conversation's opening (system
//! prompt and first message), which stays the same for every turn of a conversation.

use http::HeaderMap;
use switchyard_core::keyring::ClientKeyId;
use switchyard_core::translate::ids::fnv1a;

/// The raw JSON text of an optional borrowed value ("" when absent).
pub fn raw(value: Option<&serde_json::value::RawValue>) -> &str {
    value.map_or("", serde_json::value::RawValue::get)
}

/// The session hash, or `None` when there is nothing to anchor it to.
pub fn key(headers: &HeaderMap, client: &ClientKeyId, anchors: &[&str]) -> Option<u64> {
    let mut material = String::with_capacity(64);
    material.push_str(&client.0);
    material.push('\u{0}');
    if let Some(id) = headers.get("x-session-id").and_then(|v| v.to_str().ok()) {
        material.push_str("h:");
        material.push_str(id);
    } else {
        if anchors.iter().all(|a| a.is_empty()) {
            return None;
        }
        for anchor in anchors {
            material.push_str(anchor);
            material.push('\u{0}');
        }
    }
    Some(fnv1a(material.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
