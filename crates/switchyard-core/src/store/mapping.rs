//! The `model_mapping` table: the live aliases and the tombstones of deleted ones, each
//! with its last-write timestamp. Merging follows [`crate::mapping::merge`]'s rule.

use super::{Store, StoreError};
use crate::mapping::merge;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use switchyard_types::admin::MappingEntry;

type Entries = BTreeMap<String, MappingEntry>;

fn read_all(c: &Connection) -> Result<Entries, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT alias, target, updated_at, deleted FROM model_mapping ORDER BY alias",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            MappingEntry {
                target: r.get(1)?,
                updated_at: r.get(2)?,
                deleted: r.get(3)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn read_one(c: &Connection, alias: &str) -> Result<Option<MappingEntry>, StoreError> {
    Ok(
        c.prepare_cached("SELECT target, updated_at, deleted FROM model_mapping WHERE alias = ?1")?
            .query_row([alias], |r| {
                Ok(MappingEntry {
                    target: r.get(0)?,
                    updated_at: r.get(1)?,
                    deleted: r.get(2)?,
                })
            })
            .optional()?,
    )
}

fn write_one(c: &Connection, alias: &str, e: &MappingEntry) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO model_mapping (alias, target, updated_at, deleted) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (alias) DO UPDATE SET target = excluded.target,
            updated_at = excluded.updated_at, deleted = excluded.deleted",
    )?
    .execute(params![alias, e.target, e.updated_at, e.deleted])?;
    Ok(())
}

impl Store {
    /// Every entry, tombstones included.
    pub async fn list_mapping(&self) -> Result<Entries, StoreError> {
        self.call(|c| read_all(c)).await
    }

    /// Merge `incoming` entry by entry (the later write wins, see
    /// [`merge::wins`]) in one transaction. Returns the merged set and whether anything
    /// changed.
    pub async fn merge_mapping(&self, incoming: Entries) -> Result<(Entries, bool), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let mut changed = false;
            for (alias, entry) in incoming {
                let entry = merge::normalize(entry);
                let newer = match read_one(&tx, &alias)? {
                    Some(current) => merge::wins(&entry, &current),
                    None => true,
                };
                if newer {
                    write_one(&tx, &alias, &entry)?;
                    changed = true;
                }
            }
            let all = read_all(&tx)?;
            tx.commit()?;
            Ok((all, changed))
        })
        .await
    }

    /// Set (`Some(target)`) or delete (`None`) one alias locally, stamped `now_ms` or just
    /// after the entry's current stamp, whichever is later, so a local edit always
    /// supersedes what it replaces even when the clock is behind a peer's. `None` when
    /// deleting an alias that is not live.
    pub async fn edit_mapping(
        &self,
        alias: String,
        target: Option<String>,
        now_ms: i64,
    ) -> Result<Option<MappingEntry>, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let current = read_one(&tx, &alias)?;
            if target.is_none() && current.as_ref().is_none_or(|e| e.deleted) {
                return Ok(None);
            }
            let after = current.map_or(i64::MIN, |e| e.updated_at.saturating_add(1));
            let entry = merge::normalize(MappingEntry {
                deleted: target.is_none(),
                target: target.unwrap_or_default(),
                updated_at: now_ms.max(after),
            });
            write_one(&tx, &alias, &entry)?;
            tx.commit()?;
            Ok(Some(entry))
        })
        .await
    }

    /// Forget tombstones older than `before_ms`; how many went.
    pub async fn gc_mapping(&self, before_ms: i64) -> Result<usize, StoreError> {
        self.call(move |c| {
            Ok(c.execute(
                "DELETE FROM model_mapping WHERE deleted = 1 AND updated_at < ?1",
                [before_ms],
            )?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::mapping::merge::{merge, strategies::set};
    use crate::store::Store;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The store's merge (entry by entry, in SQL) is the pure merge, in either order.
        #[test]
        fn stored_merges_equal_the_pure_merge(a in set(), b in set()) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let expected = merge(&a, &b);
            for (first, second) in [(&a, &b), (&b, &a)] {
                let got = rt.block_on(async {
                    let store = Store::open_in_memory().await.unwrap();
                    store.merge_mapping(first.clone()).await.unwrap();
                    store.merge_mapping(second.clone()).await.unwrap().0
                });
                prop_assert_eq!(&got, &expected);
            }
        }
    }
}
