//! The `client_keys` table. Only a SHA-256 digest of each key is stored.

use super::{Store, StoreError};
use crate::crypto::KeyDigest;
use rusqlite::params;

/// One stored client key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub digest: KeyDigest,
    pub hint: String,
    pub created_at: i64,
}

impl Store {
    pub async fn insert_key(&self, rec: KeyRecord) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO client_keys (id, name, key_digest, key_hint, created_at) VALUES (?1,?2,?3,?4,?5)",
                params![rec.id, rec.name, rec.digest.0.to_vec(), rec.hint, rec.created_at],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, key_digest, key_hint, created_at FROM client_keys ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([], |r| {
                let id: String = r.get(0)?;
                let digest: Vec<u8> = r.get(2)?;
                Ok((id, r.get::<_, String>(1)?, digest, r.get::<_, String>(3)?, r.get::<_, i64>(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, digest, hint, created_at) = row?;
                let digest: [u8; 32] = digest.try_into().map_err(|_| StoreError::Corrupt {
                    id: id.clone(),
                    message: "key digest is not 32 bytes".into(),
                })?;
                out.push(KeyRecord { id, name, digest: KeyDigest(digest), hint, created_at });
            }
            Ok(out)
        })
        .await
    }

    /// Delete a key; `false` if there was none.
    pub async fn delete_key(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.call(move |c| Ok(c.execute("DELETE FROM client_keys WHERE id = ?1", [id])? == 1))
            .await
    }
}
