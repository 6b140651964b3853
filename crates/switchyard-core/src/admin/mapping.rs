//! The model mapping: list, merge last-write-wins, set and delete one alias, forget old
//! tombstones. Every change that moves an entry reloads the resolver.

use super::{Admin, AdminError};
use std::time::Duration;
use switchyard_types::admin::{
    MappingEntry, MappingSet, mapping_alias_problem, mapping_target_problem,
};

fn check_alias(alias: &str) -> Result<(), AdminError> {
    match mapping_alias_problem(alias) {
        Some(problem) => Err(AdminError::Invalid {
            field: "alias",
            message: problem.to_owned(),
        }),
        None => Ok(()),
    }
}

/// How far ahead of this instance's clock a merged entry's stamp may be (clock skew
/// between instances); later stamps are refused.
pub const MAX_CLOCK_AHEAD_MS: i64 = 86_400_000;

impl Admin {
    /// Every mapping entry, tombstones included.
    pub async fn mapping_set(&self) -> Result<MappingSet, AdminError> {
        Ok(MappingSet {
            entries: self.store.list_mapping().await?,
        })
    }

    /// Merge `incoming` last-write-wins (see [`crate::mapping::merge`]); the merged set.
    pub async fn merge_mapping(&self, incoming: MappingSet) -> Result<MappingSet, AdminError> {
        let latest = crate::accounting::log::now_ms().saturating_add(MAX_CLOCK_AHEAD_MS);
        for (alias, entry) in &incoming.entries {
            check_alias(alias)?;
            // A stamp far in the future would win every later edit, forever.
            if entry.updated_at > latest {
                return Err(AdminError::Invalid {
                    field: "updated_at",
                    message: "is more than a day ahead of this instance's clock".to_owned(),
                });
            }
            if !entry.deleted
                && let Some(problem) = mapping_target_problem(&entry.target)
            {
                return Err(AdminError::Invalid {
                    field: "target",
                    message: problem.to_owned(),
                });
            }
        }
        let (entries, changed) = self.store.merge_mapping(incoming.entries).await?;
        if changed {
            self.reload().await?;
        }
        Ok(MappingSet { entries })
    }

    /// Point `alias` at `target`, stamped now.
    pub async fn put_mapping(
        &self,
        alias: &str,
        target: String,
    ) -> Result<MappingEntry, AdminError> {
        check_alias(alias)?;
        if let Some(problem) = mapping_target_problem(&target) {
            return Err(AdminError::Invalid {
                field: "target",
                message: problem.to_owned(),
            });
        }
        let entry = self
            .store
            .edit_mapping(
                alias.to_owned(),
                Some(target),
                crate::accounting::log::now_ms(),
            )
            .await?
            .ok_or_else(|| AdminError::NotFound {
                what: "alias",
                id: alias.to_owned(),
            })?;
        self.reload().await?;
        Ok(entry)
    }

    /// Delete `alias` (leaving a tombstone stamped now).
    pub async fn delete_mapping(&self, alias: &str) -> Result<(), AdminError> {
        self.store
            .edit_mapping(alias.to_owned(), None, crate::accounting::log::now_ms())
            .await?
            .ok_or_else(|| AdminError::NotFound {
                what: "alias",
                id: alias.to_owned(),
            })?;
        self.reload().await
    }

    /// Forget tombstones older than `ttl`.
    pub async fn collect_mapping_tombstones(&self, ttl: Duration) -> Result<usize, AdminError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let before = crate::accounting::log::now_ms().saturating_sub(ttl_ms);
        Ok(self.store.gc_mapping(before).await?)
    }
}
