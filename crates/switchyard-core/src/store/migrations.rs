//! Versioned schema migrations, tracked in `PRAGMA user_version`. Append only: never edit
//! a released step, add a new one.

use super::StoreError;
use rusqlite::Connection;

const STEPS: &[&str] = &[
    // 1: accounts and client keys.
    "CREATE TABLE accounts (
        id            TEXT PRIMARY KEY,
        provider      TEXT NOT NULL,
        label         TEXT NOT NULL,
        base_url      TEXT,
        tier          TEXT NOT NULL,
        models        TEXT,             -- JSON array of globs, NULL = provider default
        enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        secret_nonce  BLOB NOT NULL,
        secret_ct     BLOB NOT NULL,    -- AES-256-GCM, AAD = 'account:' || id
        secret_hint   TEXT NOT NULL,
        position      INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE client_keys (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        key_digest  BLOB NOT NULL UNIQUE, -- SHA-256 of the key; the key itself is never stored
        key_hint    TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    ) STRICT;",
    // 2: quota scopes (accounts sharing one quota share lockouts).
    "ALTER TABLE accounts ADD COLUMN quota_scope TEXT;",
];

/// Apply every step newer than the database's version, each in its own transaction.
pub fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = i64::try_from(STEPS.len()).unwrap_or(i64::MAX);
    if current > supported {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in STEPS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}
