//! Client keys in memory: digest → key id, swapped wholesale on change (lock-free reads).
//!
//! Lookup hashes the presented key first, so the map only ever sees a SHA-256 digest;
//! the final equality is checked in constant time.

use crate::crypto::KeyDigest;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;

/// An authenticated client key's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyId(pub Arc<str>);

/// The set of valid client keys.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: ArcSwap<HashMap<KeyDigest, ClientKeyId>>,
}

impl KeyRing {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace the whole set with `(digest, id)` pairs.
    pub fn replace(&self, keys: impl IntoIterator<Item = (KeyDigest, String)>) {
        let map = keys
            .into_iter()
            .map(|(d, id)| (d, ClientKeyId(id.into())))
            .collect();
        self.keys.store(Arc::new(map));
    }

    /// The id of the key, if it is valid.
    pub fn authenticate(&self, presented: &str) -> Option<ClientKeyId> {
        let digest = KeyDigest::of(presented);
        let keys = self.keys.load();
        keys.get_key_value(&digest)
            .filter(|(stored, _)| stored.ct_eq(&digest))
            .map(|(_, id)| id.clone())
    }

    pub fn len(&self) -> usize {
        self.keys.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authenticates_only_known_keys() {
        let ring = KeyRing::new();
        ring.replace([(KeyDigest::of("sy-good"), "k1".to_owned())]);
        assert_eq!(ring.authenticate("sy-good").unwrap().0.as_ref(), "k1");
        assert!(ring.authenticate("sy-bad").is_none());
        assert!(ring.authenticate("").is_none());
        ring.replace([]);
        assert!(ring.authenticate("sy-good").is_none());
    }
}
