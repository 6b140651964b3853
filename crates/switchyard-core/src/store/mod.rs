//! SQLite storage: one connection in WAL mode, foreign keys on, a busy timeout, versioned
//! migrations applied at open.
//!
//! Every call runs on tokio's blocking pool (`spawn_blocking`), never on an async worker.
//! The connection sits behind a `std::sync::Mutex`: SQLite serialises writers anyway, the
//! store is used only by management calls, start-up and the request log's batching task
//! (never from a proxied request's task), and the lock is only ever taken inside the blocking closure, so it cannot be held across an
//! `.await`.
//!
//! A file-backed store also holds a second, read-only connection that only answers
//! [`Store::config_version`] (a counter that triggers move on every change to accounts,
//! client keys and the model mapping, whichever process made it): the change feed polls
//! it without queueing behind the writer. (`PRAGMA data_version` would also move on
//! every request-log batch, reloading the pool five times a second under traffic.)
//!
//! The request log ([`logs`]) is the one per-request writer: it never writes from a
//! request's task, only from the batching task of [`crate::accounting::log::LogWriter`].
//!
//! The database file is created with mode 0600 before SQLite opens it; SQLite gives its
//! `-wal` and `-shm` files the same mode.

mod accounts;
mod keys;
mod logs;
mod mapping;
mod migrations;
mod oauth;
mod quota;

pub use accounts::{AccountRecord, SecretWrite};
pub use keys::KeyRecord;
pub use logs::{DEFAULT_LOG_LIMIT, LogCursor, LogFilter, MAX_LOG_LIMIT, UsageQuery};
pub use oauth::{Claim, FlowRecord, FlowTake, GrantRecord, RefreshStored, Refreshed};
pub use quota::QuotaRecord;

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create database file {path}: {source}")]
    Create {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("database task failed: {0}")]
    Task(String),
    #[error("stored row {id} is invalid: {message}")]
    Corrupt { id: String, message: String },
    #[error("database schema version {found} is newer than this binary supports ({supported})")]
    TooNew { found: i64, supported: i64 },
}

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Read-only connection for [`Store::config_version`]; `None` in memory.
    watch: Option<Arc<Mutex<Connection>>>,
}

impl Store {
    /// Open (creating if needed) the database at `path` and migrate it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let (conn, watch) =
            tokio::task::spawn_blocking(move || -> Result<(Connection, Connection), StoreError> {
                create_private_file(&path)?;
                let mut conn = Connection::open(&path)?;
                configure(&conn)?;
                migrations::apply(&mut conn)?;
                let watch = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                watch.busy_timeout(Duration::from_secs(5))?;
                Ok((conn, watch))
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            watch: Some(Arc::new(Mutex::new(watch))),
        })
    }

    /// Open a private in-memory database (tests).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        migrations::apply(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            watch: None,
        })
    }

    /// Run `f` with the connection on the blocking pool.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A poisoned lock only means another call panicked mid-way; SQLite's own
            // transactions kept the data consistent, so keep using the connection.
            let mut guard = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// The configuration counter (`config_version`, moved by triggers on accounts, client
    /// keys and the model mapping), read on the watch connection: a change means
    /// "reload", whichever process or connection made it. `None` for an in-memory store,
    /// which nothing else can write.
    pub async fn config_version(&self) -> Result<Option<i64>, StoreError> {
        let Some(watch) = self.watch.clone() else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || {
            let conn = watch
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(Some(conn.query_row(
                "SELECT version FROM config_version WHERE id = 1",
                [],
                |r| r.get(0),
            )?))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// The schema version now applied.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.call(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .await
    }
}

/// Create `path` empty with mode 0600 if it does not exist, so SQLite (which keeps an
/// existing file's mode and copies it to `-wal`/`-shm`) never creates it world-readable.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(|source| StoreError::Create {
        path: path.to_owned(),
        source,
    })?;
    Ok(())
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Unix seconds now.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn database_files_are_private_even_in_an_open_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("switchyard.db");
        let store = Store::open(&path).await.unwrap();
        store.schema_version().await.unwrap();
        for name in ["switchyard.db", "switchyard.db-wal", "switchyard.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    #[tokio::test]
    async fn the_config_version_moves_on_configuration_writes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchyard.db");
        let a = Store::open(&path).await.unwrap();
        let b = Store::open(&path).await.unwrap();
        let version = || async { a.config_version().await.unwrap().unwrap() };
        let before = version().await;
        // What requests write (the log, quota snapshots) does not move it...
        b.call(|c| {
            Ok(c.execute_batch(
                "INSERT INTO account_quota (scope, model, unit, source, updated_at)
                     VALUES ('s', '', 'requests', 'headers', 0);
                 DELETE FROM request_log;",
            )?)
        })
        .await
        .unwrap();
        assert_eq!(version().await, before);
        // ... a client key, from another connection, does; and so does its deletion.
        b.call(|c| {
            Ok(c.execute_batch(
                "INSERT INTO client_keys (id, name, key_digest, key_hint, created_at)
                     VALUES ('k', 'k', x'00', 'h', 0);",
            )?)
        })
        .await
        .unwrap();
        let created = version().await;
        assert!(created > before);
        b.call(|c| Ok(c.execute_batch("DELETE FROM client_keys WHERE id = 'k';")?))
            .await
            .unwrap();
        assert!(version().await > created);
        assert_eq!(
            Store::open_in_memory()
                .await
                .unwrap()
                .config_version()
                .await
                .unwrap(),
            None
        );
    }
}
