//! Model mapping: aliases a client may ask for, and the model each one stands for.
//!
//! An alias is an exact model name (`fast`) or a pattern with `*` (any run of characters)
//! or `?` (one character), e.g. `gpt-4*`. A request's model resolves to the target of the
//! exact alias of the same name when there is one, else of the most specific matching
//! pattern: the one with the most characters other than `*`; a tie goes to the
//! lexicographically smaller pattern, so every instance resolves alike. Resolution is
//! one step: a target is not itself resolved again.
//!
//! The entries live in the store with their last-write timestamps and tombstones
//! ([`merge`] has the last-write-wins rule); [`sync`] exchanges them with another
//! instance. [`crate::admin::Admin::reload`] compiles the live entries into a
//! [`Resolver`] snapshot: one hash lookup for exact aliases, then a scan over the
//! patterns only (usually few), in order of specificity.

pub mod merge;
pub mod sync;

use arc_swap::ArcSwap;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use switchyard_types::admin::MappingEntry;
use switchyard_types::glob;

/// The live aliases, compiled for lookup.
#[derive(Debug, Default)]
pub struct Resolver {
    exact: HashMap<Box<str>, Arc<str>>,
    /// `(pattern, target)`, most specific first.
    patterns: Vec<(Box<str>, Arc<str>)>,
}

fn is_pattern(alias: &str) -> bool {
    alias.contains(['*', '?'])
}

/// Characters other than `*`: how specific a pattern is.
fn specificity(pattern: &str) -> usize {
    pattern.bytes().filter(|&b| b != b'*').count()
}

impl Resolver {
    /// Compile the live entries of `entries`.
    pub fn new(entries: &BTreeMap<String, MappingEntry>) -> Self {
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        for (alias, entry) in entries.iter().filter(|(_, e)| !e.deleted) {
            let target: Arc<str> = entry.target.as_str().into();
            if is_pattern(alias) {
                patterns.push((alias.as_str().into(), target));
            } else {
                exact.insert(alias.as_str().into(), target);
            }
        }
        patterns.sort_by(|(a, _), (b, _): &(Box<str>, Arc<str>)| {
            specificity(b).cmp(&specificity(a)).then_with(|| a.cmp(b))
        });
        Self { exact, patterns }
    }

    /// The target `model` maps to, if any alias covers it.
    pub fn resolve(&self, model: &str) -> Option<&Arc<str>> {
        if let Some(target) = self.exact.get(model) {
            return Some(target);
        }
        self.patterns
            .iter()
            .find(|(pattern, _)| glob::matches(pattern, model))
            .map(|(_, target)| target)
    }

    /// Live aliases.
    pub fn len(&self) -> usize {
        self.exact.len() + self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The current [`Resolver`], swapped wholesale on change (lock-free reads).
#[derive(Debug, Default)]
pub struct ModelMap {
    current: ArcSwap<Resolver>,
}

impl ModelMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn replace(&self, resolver: Resolver) {
        self.current.store(Arc::new(resolver));
    }

    /// The exact aliases and their targets (patterns name no model), for model lists.
    pub fn aliases(&self) -> Vec<(Arc<str>, Arc<str>)> {
        self.current
            .load()
            .exact
            .iter()
            .map(|(alias, target)| (Arc::from(&**alias), Arc::clone(target)))
            .collect()
    }

    /// The target `model` maps to, if it is an alias. `None` also when it maps to itself.
    pub fn resolve(&self, model: &str) -> Option<Arc<str>> {
        let current = self.current.load();
        if current.is_empty() {
            return None;
        }
        current
            .resolve(model)
            .filter(|target| &***target != model)
            .cloned()
    }
}

/// A JSON object body with its top-level `model` set to `model`: the other members are
/// copied as sent (raw, in order). For aliased requests only; the body was probed valid.
pub fn with_model(body: &[u8], model: &str) -> Result<Vec<u8>, serde_json::Error> {
    let members: Members<'_> = serde_json::from_slice(body)?;
    let mut out = Vec::with_capacity(body.len() + model.len());
    out.push(b'{');
    let mut seen = false;
    for (key, value) in &members.0 {
        if !out.ends_with(b"{") {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key)?;
        out.push(b':');
        if key == "model" {
            if seen {
                // A repeated key: keep one.
                out.truncate(out.len() - key.len() - 4);
                continue;
            }
            seen = true;
            serde_json::to_writer(&mut out, model)?;
        } else {
            out.extend_from_slice(value.get().as_bytes());
        }
    }
    if !seen {
        if !out.ends_with(b"{") {
            out.push(b',');
        }
        out.extend_from_slice(b"\"model\":");
        serde_json::to_writer(&mut out, model)?;
    }
    out.push(b'}');
    Ok(out)
}

/// A JSON object's members in order, values unparsed.
struct Members<'a>(Vec<(String, &'a serde_json::value::RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.push((key, map.next_value()?));
                }
                Ok(Members(members))
            }
        }
        de.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(entries: &[(&str, &str, bool)]) -> BTreeMap<String, MappingEntry> {
        entries
            .iter()
            .map(|(alias, target, deleted)| {
                (
                    (*alias).to_owned(),
                    MappingEntry {
                        target: (*target).to_owned(),
                        updated_at: 1,
                        deleted: *deleted,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn exact_beats_patterns_and_the_most_specific_pattern_wins() {
        let map = ModelMap::new();
        assert_eq!(map.resolve("fast"), None);
        map.replace(Resolver::new(&set(&[
            ("fast", "gpt-4o-mini", false),
            ("gpt-*", "gpt-generic", false),
            ("gpt-4*", "gpt-four", false),
            ("*", "catch-all", false),
            ("gone", "x", true),
            ("claude-*", "claude-b", false),
            ("*-sonnet", "claude-a", false),
        ])));
        assert_eq!(map.resolve("fast").as_deref(), Some("gpt-4o-mini"));
        assert_eq!(map.resolve("gpt-4o").as_deref(), Some("gpt-four"));
        assert_eq!(map.resolve("gpt-3.5").as_deref(), Some("gpt-generic"));
        assert_eq!(map.resolve("other").as_deref(), Some("catch-all"));
        assert_eq!(map.resolve("gone").as_deref(), Some("catch-all"));
        // Equal specificity (7 characters each): the smaller pattern wins.
        assert_eq!(map.resolve("claude-sonnet").as_deref(), Some("claude-a"));
        // A model that maps to itself is not an alias.
        map.replace(Resolver::new(&set(&[("m-*", "m-1", false)])));
        assert_eq!(map.resolve("m-1"), None);
        assert_eq!(map.resolve("m-2").as_deref(), Some("m-1"));
    }

    #[test]
    fn the_body_gets_the_target_and_keeps_the_rest() {
        let body = br#"{"messages":[{"role":"user","content":"hi \"model\""}],"model":"fast","n":1.0000000000000000001}"#;
        let out = with_model(body, "gpt-4o").unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"messages":[{"role":"user","content":"hi \"model\""}],"model":"gpt-4o","n":1.0000000000000000001}"#
        );
        assert_eq!(with_model(b"{}", "m").unwrap(), br#"{"model":"m"}"#);
        assert_eq!(
            with_model(br#"{"model":"a","model":"b","x":1}"#, "m").unwrap(),
            br#"{"model":"m","x":1}"#
        );
        assert!(with_model(b"[1]", "m").is_err());
    }
}
