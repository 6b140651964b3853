//! Both-ways sync of the model mapping with another instance, and tombstone collection.
//!
//! Every [`SyncSettings::interval`] the task forgets tombstones older than
//! [`SyncSettings::tombstone_ttl`], then, when a remote is set (`SWITCHYARD_SYNC_REMOTE`
//! and `SWITCHYARD_SYNC_KEY`), POSTs the whole local set to the remote's
//! `/api/config/mapping`. The remote merges it and answers with its merged set, which is
//! merged here: one request pushes and pulls. Merging is commutative, associative and
//! idempotent ([`super::merge`]), so two instances pointing at each other converge
//! whichever exchange runs first, and a round that fails is simply redone next time.
//!
//! Failures are logged with the status or the transport error, never the key.

use crate::admin::Admin;
use crate::crypto::Secret;
use std::time::Duration;
use switchyard_types::admin::MappingSet;

/// Default time between two syncs.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Default age after which tombstones are forgotten.
pub const DEFAULT_TOMBSTONE_TTL: Duration = Duration::from_secs(30 * 86_400);
/// Longest a sync request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The other instance.
#[derive(Debug, Clone)]
pub struct SyncRemote {
    /// Base URL (`http(s)://host:port`, no trailing slash).
    pub url: String,
    /// The remote's admin key.
    pub key: Secret,
}

/// `[sync]` and the `SWITCHYARD_SYNC_*` variables, validated.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub remote: Option<SyncRemote>,
    pub interval: Duration,
    /// A deleted alias is remembered this long, so the deletion reaches peers; a peer
    /// that has not synced for longer may bring the alias back.
    pub tombstone_ttl: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            remote: None,
            interval: DEFAULT_INTERVAL,
            tombstone_ttl: DEFAULT_TOMBSTONE_TTL,
        }
    }
}

/// Why a sync round failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("request to the sync remote failed: {0}")]
    Transport(String),
    #[error("the sync remote answered {0}")]
    Status(u16),
    #[error("the sync remote's answer is not a mapping set: {0}")]
    Body(String),
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
}

/// Start the task on the current runtime. It runs until aborted.
pub fn spawn(admin: Admin, settings: SyncSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(admin, settings))
}

/// The task itself (for a supervisor that spawns and stops it); runs for ever.
pub async fn run(admin: Admin, settings: SyncSettings) {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| tracing::warn!(error = %e, "mapping sync: no HTTP client; sync is off"))
        .ok();
    if let Some(remote) = &settings.remote {
        tracing::info!(remote = %remote.url, every = ?settings.interval, "model mapping sync on");
    }
    let mut ticks = tokio::time::interval(settings.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        ticks.tick().await;
        if let Err(e) = admin
            .collect_mapping_tombstones(settings.tombstone_ttl)
            .await
        {
            tracing::warn!(error = %e, "mapping: forgetting old tombstones failed");
        }
        let (Some(remote), Some(client)) = (&settings.remote, &client) else {
            continue;
        };
        match round(&admin, client, remote).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!(remote = %remote.url, "mapping sync recovered");
            }
            Ok(()) => {}
            Err(e) => {
                // Every failure is worth a line (they are once a minute at most).
                failing = true;
                tracing::warn!(remote = %remote.url, error = %e, "mapping sync failed; retrying next round");
            }
        }
    }
}

/// One exchange: push the local set, merge the remote's merged answer.
pub async fn round(
    admin: &Admin,
    client: &reqwest::Client,
    remote: &SyncRemote,
) -> Result<(), SyncError> {
    let local = admin.mapping_set().await?;
    let response = client
        .post(format!("{}/api/config/mapping", remote.url))
        .bearer_auth(remote.key.expose())
        .json(&local)
        .send()
        .await
        .map_err(|e| SyncError::Transport(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(SyncError::Status(response.status().as_u16()));
    }
    let merged: MappingSet = response
        .json()
        .await
        .map_err(|e| SyncError::Body(e.without_url().to_string()))?;
    admin.merge_mapping(merged).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::admin::{Admin, AdminError};
    use crate::crypto::MasterKey;
    use crate::keyring::KeyRing;
    use crate::pool::Pool;
    use crate::store::Store;
    use std::sync::Arc;
    use std::time::Duration;
    use switchyard_types::admin::{MappingEntry, MappingSet};

    async fn admin() -> Admin {
        let master = Arc::new(MasterKey::parse(&"42".repeat(32)).unwrap());
        let store = Store::open_in_memory().await.unwrap();
        let admin = Admin::new(
            store,
            master,
            Arc::new(Pool::new()),
            Arc::new(KeyRing::new()),
        );
        admin.reload().await.unwrap();
        admin
    }

    fn entry(target: &str, updated_at: i64, deleted: bool) -> MappingEntry {
        MappingEntry {
            target: target.into(),
            updated_at,
            deleted,
        }
    }

    #[tokio::test]
    async fn merges_resolve_and_old_tombstones_are_forgotten() {
        let admin = admin().await;
        let now = crate::accounting::log::now_ms();
        let incoming = MappingSet {
            entries: [
                ("fast".to_owned(), entry("m-1", now, false)),
                ("old-gone".to_owned(), entry("", 5, true)),
                ("new-gone".to_owned(), entry("x", now, true)),
            ]
            .into(),
        };
        let merged = admin.merge_mapping(incoming).await.unwrap();
        assert_eq!(
            merged.entries["new-gone"].target, "",
            "tombstones keep no target"
        );
        assert_eq!(admin.mapping().resolve("fast").as_deref(), Some("m-1"));
        assert_eq!(admin.mapping().resolve("new-gone"), None);
        // An older copy changes nothing.
        let stale = MappingSet {
            entries: [("fast".to_owned(), entry("m-0", now - 1, false))].into(),
        };
        assert_eq!(admin.merge_mapping(stale).await.unwrap(), merged);
        let gone = admin
            .collect_mapping_tombstones(Duration::from_secs(86_400))
            .await
            .unwrap();
        assert_eq!(gone, 1);
        let left = admin.mapping_set().await.unwrap().entries;
        assert!(!left.contains_key("old-gone") && left["new-gone"].deleted);
        // A local edit always supersedes, even one stamped in the future by a peer.
        let ahead = MappingSet {
            entries: [("fast".to_owned(), entry("m-peer", now + 60_000, false))].into(),
        };
        admin.merge_mapping(ahead).await.unwrap();
        let set = admin.put_mapping("fast", "m-local".into()).await.unwrap();
        assert_eq!(set.updated_at, now + 60_001);
        assert_eq!(admin.mapping().resolve("fast").as_deref(), Some("m-local"));
        admin.delete_mapping("fast").await.unwrap();
        assert_eq!(admin.mapping().resolve("fast"), None);
        assert!(admin.delete_mapping("fast").await.is_err());
        let bad = MappingSet {
            entries: [("a b".to_owned(), entry("m", 1, false))].into(),
        };
        assert!(admin.merge_mapping(bad).await.is_err());
        // A stamp far ahead of this clock would pin the alias for good: refused.
        let pinned = MappingSet {
            entries: [("pin".to_owned(), entry("m", i64::MAX, false))].into(),
        };
        assert!(matches!(
            admin.merge_mapping(pinned).await,
            Err(AdminError::Invalid {
                field: "updated_at",
                ..
            })
        ));
        assert_eq!(admin.mapping().resolve("pin"), None);
    }
}
