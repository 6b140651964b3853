//! Change feed between processes sharing a data dir (a redeploy runs the old and the new
//! `switchyard serve` side by side): an admin write through one must reach the other's
//! pool and key ring, or a revoked client key would keep working there.
//!
//! The feed polls [`Store::config_version`](crate::store::Store::config_version) every
//! [`POLL_INTERVAL`] on the store's dedicated read-only connection, through the blocking
//! pool, and calls [`Admin::reload`] when the value moves. Nothing here touches the hot
//! path: requests keep reading the `ArcSwap` snapshots the reload replaces.
//!
//! The counter is moved by triggers on the configuration tables only (accounts, client
//! keys, the model mapping), so the request log's batches and quota snapshots do not
//! cause reloads. It also moves after this process's own writes; that costs one
//! redundant reload per admin write, which is cheap and rare.

use crate::admin::Admin;
use std::time::Duration;

/// How often the data version is read.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The feed for `admin`'s store, polling every [`POLL_INTERVAL`], for the caller to run
/// (it runs until dropped). `None` when the store cannot be shared (in memory).
pub async fn start(admin: Admin) -> Option<impl std::future::Future<Output = ()> + Send> {
    feed(admin, POLL_INTERVAL).await
}

/// [`start`] with another interval, spawned on the current runtime; runs until aborted.
pub async fn spawn(admin: Admin, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
    feed(admin, every).await.map(tokio::spawn)
}

async fn feed(
    admin: Admin,
    every: Duration,
) -> Option<impl std::future::Future<Output = ()> + Send> {
    match admin.store().config_version().await {
        Ok(Some(_)) => Some(run(admin, every)),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "change feed not started: cannot read the data version");
            None
        }
    }
}

/// Poll forever. The first reading always reloads, so a commit made between the caller's
/// own load and the feed's start is not missed; a version is only recorded once the
/// reload that follows it succeeded, so a failed reload is retried on the next tick.
async fn run(admin: Admin, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen: Option<i64> = None;
    let mut failing = false;
    loop {
        ticks.tick().await;
        let result = match admin.store().config_version().await {
            Ok(Some(version)) if Some(version) == seen => Ok(()),
            Ok(Some(version)) => admin.reload().await.map(|()| seen = Some(version)),
            Ok(None) => return,
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("change feed recovered");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "change feed: reload from the store failed; retrying");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;
    use crate::keyring::KeyRing;
    use crate::pool::Pool;
    use crate::store::Store;
    use std::sync::Arc;
    use switchyard_types::admin::CreateKey;

    async fn admin_on(path: &std::path::Path) -> (Admin, Arc<KeyRing>) {
        let master = Arc::new(MasterKey::parse(&"42".repeat(32)).unwrap());
        let keys = Arc::new(KeyRing::new());
        let store = Store::open(path).await.unwrap();
        let admin = Admin::new(store, master, Arc::new(Pool::new()), Arc::clone(&keys));
        admin.reload().await.unwrap();
        (admin, keys)
    }

    async fn within(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if done() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        done()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_through_one_store_reach_the_other_within_a_second() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchyard.db");
        let (a, _) = admin_on(&path).await;
        let (b, b_keys) = admin_on(&path).await;
        let feed = spawn(b.clone(), POLL_INTERVAL).await.unwrap();

        let key = a
            .create_key(CreateKey {
                name: "k".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            within(Duration::from_secs(1), || b_keys
                .authenticate(&key.key)
                .is_some())
            .await,
            "a key created through A authenticates on B"
        );
        a.delete_key(&key.id).await.unwrap();
        assert!(
            within(Duration::from_secs(1), || b_keys
                .authenticate(&key.key)
                .is_none())
            .await,
            "a key revoked through A stops authenticating on B"
        );
        feed.abort();
    }

    #[tokio::test]
    async fn in_memory_stores_have_no_feed() {
        let master = Arc::new(MasterKey::parse(&"42".repeat(32)).unwrap());
        let store = Store::open_in_memory().await.unwrap();
        let admin = Admin::new(
            store,
            master,
            Arc::new(Pool::new()),
            Arc::new(KeyRing::new()),
        );
        assert!(spawn(admin, POLL_INTERVAL).await.is_none());
    }
}
