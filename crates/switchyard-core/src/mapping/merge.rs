//! The last-write-wins rule for mapping entries, and the merge of two sets.
//!
//! Versions of one alias are totally ordered by `(updated_at, deleted, target)`: the later
//! timestamp wins; at the same millisecond a deletion wins over a live entry (so a
//! deletion never comes back from a copy stamped the same instant); two live entries
//! tie-break on the lexicographically larger target. Tombstones carry an empty target
//! ([`normalize`]), so two deletions of one alias at one instant are equal. Merging is
//! "keep the greatest version of each alias": commutative, associative and idempotent,
//! so instances converge whatever the order of their exchanges.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use switchyard_types::admin::MappingEntry;

/// A deleted entry's target is always empty.
pub fn normalize(mut entry: MappingEntry) -> MappingEntry {
    if entry.deleted {
        entry.target.clear();
    }
    entry
}

fn rank(e: &MappingEntry) -> (i64, bool, &str) {
    (
        e.updated_at,
        e.deleted,
        if e.deleted { "" } else { &e.target },
    )
}

/// The order of two versions of one alias (see the module docs).
pub fn compare(a: &MappingEntry, b: &MappingEntry) -> Ordering {
    rank(a).cmp(&rank(b))
}

/// Whether `candidate` replaces `current`.
pub fn wins(candidate: &MappingEntry, current: &MappingEntry) -> bool {
    compare(candidate, current) == Ordering::Greater
}

/// `a` merged with `b`: the greatest version of each alias.
pub fn merge(
    a: &BTreeMap<String, MappingEntry>,
    b: &BTreeMap<String, MappingEntry>,
) -> BTreeMap<String, MappingEntry> {
    let mut out = a.clone();
    for (alias, entry) in b {
        let entry = normalize(entry.clone());
        match out.get_mut(alias) {
            Some(current) if !wins(&entry, current) => {}
            Some(current) => *current = entry,
            None => {
                out.insert(alias.clone(), entry);
            }
        }
    }
    for entry in out.values_mut() {
        if entry.deleted {
            entry.target.clear();
        }
    }
    out
}

/// Generators of small mapping sets with frequent ties, for property tests here and in
/// the store.
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use switchyard_types::admin::MappingEntry;

    pub(crate) type Set = BTreeMap<String, MappingEntry>;

    pub(crate) fn entry() -> impl Strategy<Value = MappingEntry> {
        // Few aliases, targets and instants, so ties and overlaps are common.
        (
            prop::sample::select(vec!["m-a", "m-b", "m-c"]),
            0i64..4,
            any::<bool>(),
        )
            .prop_map(|(target, updated_at, deleted)| MappingEntry {
                target: target.to_owned(),
                updated_at,
                deleted,
            })
    }

    pub(crate) fn set() -> impl Strategy<Value = Set> {
        prop::collection::btree_map(
            prop::sample::select(vec!["fast", "smart", "gpt-*", "*"]).prop_map(str::to_owned),
            entry(),
            0..4,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::{Set, set};
    use super::*;
    use proptest::prelude::*;

    fn norm(s: &Set) -> Set {
        s.iter()
            .map(|(k, v)| (k.clone(), normalize(v.clone())))
            .collect()
    }

    proptest! {
        #[test]
        fn merge_is_commutative(a in set(), b in set()) {
            prop_assert_eq!(merge(&a, &b), merge(&b, &a));
        }

        #[test]
        fn merge_is_associative(a in set(), b in set(), c in set()) {
            prop_assert_eq!(merge(&merge(&a, &b), &c), merge(&a, &merge(&b, &c)));
        }

        #[test]
        fn merge_is_idempotent(a in set(), b in set()) {
            prop_assert_eq!(merge(&a, &a), norm(&a));
            let ab = merge(&a, &b);
            prop_assert_eq!(&merge(&ab, &b), &ab);
            prop_assert_eq!(merge(&ab, &a), ab);
        }

        /// A deletion is never undone by a copy of the alias that is not newer.
        #[test]
        fn a_deletion_never_comes_back_from_an_older_copy(
            a in set(),
            older in set(),
            alias in prop::sample::select(vec!["fast", "gpt-*"]),
            at in 0i64..4,
        ) {
            let mut deleted = a;
            deleted.insert(alias.to_owned(), MappingEntry { target: "x".into(), updated_at: at, deleted: true });
            let older: Set = older
                .into_iter()
                .map(|(k, mut v)| { v.updated_at = v.updated_at.min(at); (k, v) })
                .collect();
            for merged in [merge(&deleted, &older), merge(&older, &deleted)] {
                prop_assert!(merged[alias].deleted, "{merged:?}");
            }
        }
    }

    #[test]
    fn later_wins_then_deletion_then_larger_target() {
        let e = |t: &str, at, deleted| MappingEntry {
            target: t.into(),
            updated_at: at,
            deleted,
        };
        assert!(wins(&e("a", 2, false), &e("z", 1, true)));
        assert!(wins(&e("", 1, true), &e("z", 1, false)));
        assert!(wins(&e("b", 1, false), &e("a", 1, false)));
        assert!(!wins(&e("a", 1, false), &e("a", 1, false)));
        assert_eq!(compare(&e("q", 1, true), &e("", 1, true)), Ordering::Equal);
    }
}
