//! The `oauth_flows` (pending sign-ins) and `oauth_grants` (an OAuth account's refresh
//! token, expiry and refresh lease) tables. See [`crate::oauth`] for why they live here.

use super::accounts::{SecretWrite, insert_in, list_in, update_in};
use super::{AccountRecord, Store, StoreError};
use crate::crypto::Sealed;
use rusqlite::{OptionalExtension, params};
use switchyard_types::accounts::AccountStatus;

/// Finished flows are kept this long (to tell "already used" from "unknown"), then
/// deleted by the next start.
const FLOW_KEEP_SECS: i64 = 24 * 3600;

/// One pending sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// SHA-256 of the `state` (the state itself is never stored).
    pub state_digest: Vec<u8>,
    /// The `[oauth.providers.NAME]` name.
    pub provider: String,
    pub redirect_uri: String,
    /// The account settings asked for (JSON).
    pub request: String,
    /// The PKCE verifier, sealed with AAD `oauth-flow:{hex digest}`.
    pub verifier: Sealed,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What taking a flow by its state found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowTake {
    /// The flow, now marked used (nobody else can take it).
    Taken(FlowRecord),
    /// The state was already used.
    Used,
    /// No such state (never issued, or long gone).
    Unknown,
}

/// An OAuth account's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    pub account_id: String,
    /// The `[oauth.providers.NAME]` name.
    pub provider: String,
    /// The signed-in identity (`sub`, else `email`, of the id token), when known.
    pub subject: Option<String>,
    /// Google: the `x-goog-user-project`.
    pub project: Option<String>,
    /// Sealed with AAD `account-refresh:{account_id}`; `None` when none was issued.
    pub refresh: Option<Sealed>,
    pub expires_at_ms: i64,
    pub lifetime_ms: i64,
    pub generation: i64,
}

/// What a refresh claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This process may refresh now (the lease is held until stored or released).
    Claimed { refresh: Option<Sealed> },
    /// Someone (another process) refreshed already: the newer token.
    Newer {
        access: Sealed,
        expires_at_ms: i64,
        lifetime_ms: i64,
        generation: i64,
    },
    /// Another process is refreshing until then (unix ms).
    Busy { until_ms: i64 },
    /// The account or its grant is gone.
    Gone,
}

/// What storing a refresh's tokens found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshStored {
    /// Stored as this generation.
    Saved(i64),
    /// The stored generation had moved past the refreshed one (a sign-in, or a refresh
    /// after this one's lease ran out): nothing was written; the newer token.
    Newer {
        access: Sealed,
        expires_at_ms: i64,
        lifetime_ms: i64,
        generation: i64,
    },
    /// The account or its grant is gone.
    Gone,
}

/// The new tokens of a refresh.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub access: Sealed,
    pub access_hint: String,
    /// `None`: the provider kept the refresh token (no rotation).
    pub refresh: Option<Sealed>,
    pub expires_at_ms: i64,
    pub lifetime_ms: i64,
}

fn grant_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRecord> {
    let nonce: Option<Vec<u8>> = row.get(4)?;
    let ct: Option<Vec<u8>> = row.get(5)?;
    Ok(GrantRecord {
        account_id: row.get(0)?,
        provider: row.get(1)?,
        subject: row.get(2)?,
        project: row.get(3)?,
        refresh: nonce
            .zip(ct)
            .map(|(nonce, ciphertext)| Sealed { nonce, ciphertext }),
        expires_at_ms: row.get(6)?,
        lifetime_ms: row.get(7)?,
        generation: row.get(8)?,
    })
}

const GRANT_COLUMNS: &str = "account_id, provider, subject, project, refresh_nonce, refresh_ct, \
                             expires_at_ms, lifetime_ms, generation";

impl Store {
    /// Record a pending flow; flows finished or expired more than a day ago go.
    pub async fn insert_oauth_flow(&self, rec: FlowRecord) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "DELETE FROM oauth_flows WHERE expires_at < ?1",
                [rec.created_at - FLOW_KEEP_SECS],
            )?;
            tx.execute(
                "INSERT INTO oauth_flows (state_digest, provider, redirect_uri, request, \
                 verifier_nonce, verifier_ct, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    rec.state_digest,
                    rec.provider,
                    rec.redirect_uri,
                    rec.request,
                    rec.verifier.nonce,
                    rec.verifier.ciphertext,
                    rec.created_at,
                    rec.expires_at,
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Take the flow of `state_digest` once: the first caller (in any process sharing
    /// the database) gets it and marks it used at `now`; later ones get
    /// [`FlowTake::Used`]. Expiry is the caller's to check.
    pub async fn take_oauth_flow(
        &self,
        state_digest: Vec<u8>,
        now: i64,
    ) -> Result<FlowTake, StoreError> {
        self.call(move |c| {
            let taken = c
                .query_row(
                    "UPDATE oauth_flows SET used_at = ?2 \
                     WHERE state_digest = ?1 AND used_at IS NULL \
                     RETURNING provider, redirect_uri, request, verifier_nonce, verifier_ct, \
                     created_at, expires_at",
                    params![state_digest, now],
                    |row| {
                        Ok(FlowRecord {
                            state_digest: state_digest.clone(),
                            provider: row.get(0)?,
                            redirect_uri: row.get(1)?,
                            request: row.get(2)?,
                            verifier: Sealed {
                                nonce: row.get(3)?,
                                ciphertext: row.get(4)?,
                            },
                            created_at: row.get(5)?,
                            expires_at: row.get(6)?,
                        })
                    },
                )
                .optional()?;
            if let Some(flow) = taken {
                return Ok(FlowTake::Taken(flow));
            }
            let exists = c
                .query_row(
                    "SELECT 1 FROM oauth_flows WHERE state_digest = ?1",
                    [&state_digest],
                    |_| Ok(()),
                )
                .optional()?;
            Ok(if exists.is_some() {
                FlowTake::Used
            } else {
                FlowTake::Unknown
            })
        })
        .await
    }

    /// Every account and every OAuth grant, read in one transaction: an account's
    /// secret (its access token) and its grant's generation always belong together.
    pub async fn list_accounts_with_grants(
        &self,
    ) -> Result<(Vec<AccountRecord>, Vec<GrantRecord>), StoreError> {
        self.call(|c| {
            let tx = c.transaction()?;
            let accounts = list_in(&tx)?;
            let grants = {
                let mut stmt = tx.prepare(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants"))?;
                let rows = stmt.query_map([], grant_from_row)?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            tx.commit()?;
            Ok((accounts, grants))
        })
        .await
    }

    /// Every OAuth grant.
    pub async fn list_oauth_grants(&self) -> Result<Vec<GrantRecord>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!("SELECT {GRANT_COLUMNS} FROM oauth_grants"))?;
            let rows = stmt.query_map([], grant_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    /// The grant of an account, if it is an OAuth account.
    pub async fn get_oauth_grant(
        &self,
        account_id: &str,
    ) -> Result<Option<GrantRecord>, StoreError> {
        let id = account_id.to_owned();
        self.call(move |c| {
            Ok(c.query_row(
                &format!("SELECT {GRANT_COLUMNS} FROM oauth_grants WHERE account_id = ?1"),
                [id],
                grant_from_row,
            )
            .optional()?)
        })
        .await
    }

    /// The account signed in as `subject` through `provider`, if any.
    pub async fn find_oauth_account(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        let (provider, subject) = (provider.to_owned(), subject.to_owned());
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT account_id FROM oauth_grants WHERE provider = ?1 AND subject = ?2 \
                 ORDER BY account_id LIMIT 1",
                [provider, subject],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    /// Store a finished sign-in in one transaction: insert `account` (when `create`)
    /// or update it with status `ok` at `now`, and write its grant with a generation
    /// above any earlier one. Returns the stored account (`position` assigned) and the
    /// generation; `None` if the account to update is gone.
    pub async fn save_oauth_sign_in(
        &self,
        mut account: AccountRecord,
        create: bool,
        mut grant: GrantRecord,
        now: i64,
    ) -> Result<Option<(AccountRecord, i64)>, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            if create {
                insert_in(&tx, &mut account)?;
            } else {
                if !update_in(&tx, &account, SecretWrite::Changed)? {
                    return Ok(None);
                }
                tx.execute(
                    "UPDATE accounts SET status = ?2, status_reason = NULL, status_since = ?3 \
                     WHERE id = ?1",
                    params![account.id, AccountStatus::Ok.as_str(), now],
                )?;
                account.status = AccountStatus::Ok;
                account.status_reason = None;
                account.status_since = Some(now);
            }
            let previous: Option<i64> = tx
                .query_row(
                    "SELECT generation FROM oauth_grants WHERE account_id = ?1",
                    [&account.id],
                    |r| r.get(0),
                )
                .optional()?;
            grant.account_id.clone_from(&account.id);
            let generation = previous.map_or(1, |g| g + 1);
            tx.execute(
                &format!(
                    "INSERT OR REPLACE INTO oauth_grants ({GRANT_COLUMNS}, leased_until_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)"
                ),
                params![
                    grant.account_id,
                    grant.provider,
                    grant.subject,
                    grant.project,
                    grant.refresh.as_ref().map(|s| s.nonce.clone()),
                    grant.refresh.as_ref().map(|s| s.ciphertext.clone()),
                    grant.expires_at_ms,
                    grant.lifetime_ms,
                    generation,
                ],
            )?;
            tx.commit()?;
            Ok(Some((account, generation)))
        })
        .await
    }

    /// Claim the right to refresh `account_id`'s token, whose current generation this
    /// process knows as `seen`: a newer stored generation is returned instead (another
    /// process refreshed), a live lease of another refresher answers `Busy`, else the
    /// lease is taken by `owner` (the process's id) until `now_ms + lease_ms`. A lease
    /// `owner` holds already is taken again (the caller holds the account's in-process
    /// single-flight lock, so its earlier refresh did not finish). One statement sequence
    /// in a write transaction, so two processes never both claim.
    pub async fn claim_oauth_refresh(
        &self,
        account_id: &str,
        seen: i64,
        now_ms: i64,
        lease_ms: i64,
        owner: &str,
    ) -> Result<Claim, StoreError> {
        let id = account_id.to_owned();
        let owner = owner.to_owned();
        self.call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    "SELECT g.generation, g.leased_until_ms, g.refresh_nonce, g.refresh_ct, \
                     g.expires_at_ms, g.lifetime_ms, a.secret_nonce, a.secret_ct, g.leased_by \
                     FROM oauth_grants g JOIN accounts a ON a.id = g.account_id \
                     WHERE g.account_id = ?1",
                    [&id],
                    |r| {
                        Ok((
                            (
                                r.get::<_, i64>(0)?,
                                r.get::<_, Option<i64>>(1)?,
                                r.get::<_, Option<Vec<u8>>>(2)?,
                                r.get::<_, Option<Vec<u8>>>(3)?,
                            ),
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, Vec<u8>>(6)?,
                            r.get::<_, Vec<u8>>(7)?,
                            r.get::<_, Option<String>>(8)?,
                        ))
                    },
                )
                .optional()?;
            let Some((
                (generation, leased, nonce, ct),
                expires_at_ms,
                lifetime_ms,
                an,
                act,
                leased_by,
            )) = row
            else {
                return Ok(Claim::Gone);
            };
            if generation > seen {
                return Ok(Claim::Newer {
                    access: Sealed {
                        nonce: an,
                        ciphertext: act,
                    },
                    expires_at_ms,
                    lifetime_ms,
                    generation,
                });
            }
            let ours = leased_by.as_deref() == Some(owner.as_str());
            if let Some(until_ms) = leased.filter(|u| *u > now_ms && !ours) {
                return Ok(Claim::Busy { until_ms });
            }
            tx.execute(
                "UPDATE oauth_grants SET leased_until_ms = ?2, leased_by = ?3 \
                 WHERE account_id = ?1",
                params![id, now_ms.saturating_add(lease_ms), owner],
            )?;
            tx.commit()?;
            Ok(Claim::Claimed {
                refresh: nonce
                    .zip(ct)
                    .map(|(nonce, ciphertext)| Sealed { nonce, ciphertext }),
            })
        })
        .await
    }

    /// Store a refresh's tokens as generation `seen + 1` and release the lease, if the
    /// stored generation is still `seen`; else nothing is written and the newer stored
    /// token is returned.
    pub async fn store_oauth_refresh(
        &self,
        account_id: &str,
        seen: i64,
        tokens: Refreshed,
    ) -> Result<RefreshStored, StoreError> {
        let id = account_id.to_owned();
        self.call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let generation = seen.saturating_add(1);
            let n = tx.execute(
                "UPDATE oauth_grants SET expires_at_ms = ?2, lifetime_ms = ?3, generation = ?4, \
                 leased_until_ms = NULL, leased_by = NULL WHERE account_id = ?1 AND generation = ?5",
                params![
                    id,
                    tokens.expires_at_ms,
                    tokens.lifetime_ms,
                    generation,
                    seen
                ],
            )?;
            if n == 0 {
                let current = tx
                    .query_row(
                        "SELECT g.generation, g.expires_at_ms, g.lifetime_ms, a.secret_nonce, \
                         a.secret_ct FROM oauth_grants g JOIN accounts a ON a.id = g.account_id \
                         WHERE g.account_id = ?1",
                        [&id],
                        |r| {
                            Ok(RefreshStored::Newer {
                                generation: r.get(0)?,
                                expires_at_ms: r.get(1)?,
                                lifetime_ms: r.get(2)?,
                                access: Sealed {
                                    nonce: r.get(3)?,
                                    ciphertext: r.get(4)?,
                                },
                            })
                        },
                    )
                    .optional()?;
                return Ok(current.unwrap_or(RefreshStored::Gone));
            }
            let n = tx.execute(
                "UPDATE accounts SET secret_nonce = ?2, secret_ct = ?3, secret_hint = ?4 \
                 WHERE id = ?1",
                params![
                    id,
                    tokens.access.nonce,
                    tokens.access.ciphertext,
                    tokens.access_hint
                ],
            )?;
            if n == 0 {
                return Ok(RefreshStored::Gone);
            }
            if let Some(refresh) = &tokens.refresh {
                tx.execute(
                    "UPDATE oauth_grants SET refresh_nonce = ?2, refresh_ct = ?3 \
                     WHERE account_id = ?1",
                    params![id, refresh.nonce, refresh.ciphertext],
                )?;
            }
            tx.commit()?;
            Ok(RefreshStored::Saved(generation))
        })
        .await
    }

    /// Give up a refresh lease (the refresh failed); with `needs_reauth`, also record
    /// the account's status `needs_reauth` at `now` with `reason`.
    pub async fn release_oauth_lease(
        &self,
        account_id: &str,
        needs_reauth: Option<(String, i64)>,
    ) -> Result<(), StoreError> {
        let id = account_id.to_owned();
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE oauth_grants SET leased_until_ms = NULL, leased_by = NULL \
                 WHERE account_id = ?1",
                [&id],
            )?;
            if let Some((reason, now)) = needs_reauth {
                tx.execute(
                    "UPDATE accounts SET status = ?2, status_reason = ?3, status_since = ?4 \
                     WHERE id = ?1",
                    params![id, AccountStatus::NeedsReauth.as_str(), reason, now],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::{Provider, Tier};

    fn flow(digest: u8, now: i64) -> FlowRecord {
        FlowRecord {
            state_digest: vec![digest; 32],
            provider: "google".into(),
            redirect_uri: "http://127.0.0.1:1/api/oauth/callback".into(),
            request: "{}".into(),
            verifier: Sealed {
                nonce: vec![1; 12],
                ciphertext: vec![2; 40],
            },
            created_at: now,
            expires_at: now + 600,
        }
    }

    fn account(id: &str) -> AccountRecord {
        AccountRecord {
            id: id.into(),
            provider: Provider::Gemini,
            label: "g".into(),
            base_url: None,
            tier: Tier::Unknown,
            models: None,
            enabled: true,
            secret: Sealed {
                nonce: vec![3; 12],
                ciphertext: vec![4; 20],
            },
            secret_hint: "ya…".into(),
            position: 0,
            quota_scope: None,
            created_at: 1,
            updated_at: 1,
            status: AccountStatus::Ok,
            status_reason: None,
            status_since: None,
            admin_secret: None,
            display_order: 0,
        }
    }

    fn grant() -> GrantRecord {
        GrantRecord {
            account_id: String::new(),
            provider: "google".into(),
            subject: Some("user-1".into()),
            project: None,
            refresh: Some(Sealed {
                nonce: vec![5; 12],
                ciphertext: vec![6; 20],
            }),
            expires_at_ms: 10_000,
            lifetime_ms: 3_600_000,
            generation: 0,
        }
    }

    #[tokio::test]
    async fn a_state_is_taken_once() {
        let store = Store::open_in_memory().await.unwrap();
        store.insert_oauth_flow(flow(7, 1000)).await.unwrap();
        let FlowTake::Taken(taken) = store.take_oauth_flow(vec![7; 32], 1001).await.unwrap() else {
            panic!("the first take gets the flow");
        };
        assert_eq!(taken, flow(7, 1000));
        assert_eq!(
            store.take_oauth_flow(vec![7; 32], 1002).await.unwrap(),
            FlowTake::Used
        );
        assert_eq!(
            store.take_oauth_flow(vec![8; 32], 1002).await.unwrap(),
            FlowTake::Unknown
        );
        // A start a day later forgets the old flow.
        store
            .insert_oauth_flow(flow(9, 1000 + 600 + FLOW_KEEP_SECS + 1))
            .await
            .unwrap();
        assert_eq!(
            store.take_oauth_flow(vec![7; 32], 1002).await.unwrap(),
            FlowTake::Unknown
        );
    }

    /// A refresh's tokens (no rotation), hint "new".
    fn refreshed() -> Refreshed {
        Refreshed {
            access: Sealed {
                nonce: vec![9; 12],
                ciphertext: vec![9; 20],
            },
            access_hint: "new".into(),
            refresh: None,
            expires_at_ms: 20_000,
            lifetime_ms: 3_600_000,
        }
    }

    #[tokio::test]
    async fn an_account_edit_read_before_a_refresh_keeps_the_refreshed_token() {
        let store = Store::open_in_memory().await.unwrap();
        let (acc, _) = store
            .save_oauth_sign_in(account("acc_1"), true, grant(), 5)
            .await
            .unwrap()
            .unwrap();
        // An edit (PATCH, import) reads the account …
        let mut edited = store.get_account(&acc.id).await.unwrap().unwrap();
        // … a refresh commits a new token …
        store
            .claim_oauth_refresh(&acc.id, 1, 100, 30, "p")
            .await
            .unwrap();
        assert_eq!(
            store
                .store_oauth_refresh(&acc.id, 1, refreshed())
                .await
                .unwrap(),
            RefreshStored::Saved(2)
        );
        // … and the edit, which did not change the secret, is written.
        edited.label = "renamed".into();
        assert!(
            store
                .update_account(edited, SecretWrite::Keep)
                .await
                .unwrap()
        );
        let (accounts, grants) = store.list_accounts_with_grants().await.unwrap();
        assert_eq!(accounts[0].label, "renamed");
        assert_eq!(accounts[0].secret.nonce, vec![9; 12], "the refreshed token");
        assert_eq!(accounts[0].secret_hint, "new");
        assert_eq!(grants[0].generation, 2);
    }

    #[tokio::test]
    async fn refresh_claims_exclude_each_other_and_see_newer_generations() {
        let store = Store::open_in_memory().await.unwrap();
        let (acc, generation) = store
            .save_oauth_sign_in(account("acc_1"), true, grant(), 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(generation, 1);
        assert_eq!(
            store
                .find_oauth_account("google", "user-1")
                .await
                .unwrap()
                .as_deref(),
            Some("acc_1")
        );
        let claim = store
            .claim_oauth_refresh(&acc.id, 1, 100, 30, "proc-a")
            .await
            .unwrap();
        assert!(matches!(claim, Claim::Claimed { refresh: Some(_) }));
        // A second refresher (another process) is told to wait for the lease.
        assert_eq!(
            store
                .claim_oauth_refresh(&acc.id, 1, 110, 30, "proc-b")
                .await
                .unwrap(),
            Claim::Busy { until_ms: 130 }
        );
        // The process holding it may take it again (its earlier refresh did not finish).
        let again = store
            .claim_oauth_refresh(&acc.id, 1, 105, 25, "proc-a")
            .await
            .unwrap();
        assert!(matches!(again, Claim::Claimed { refresh: Some(_) }));
        let refreshed = refreshed();
        assert_eq!(
            store
                .store_oauth_refresh(&acc.id, 1, refreshed.clone())
                .await
                .unwrap(),
            RefreshStored::Saved(2)
        );
        // A late refresher of generation 1 (its lease ran out) stores nothing and is
        // told the newer token.
        let late = Refreshed {
            access_hint: "late".into(),
            ..refreshed
        };
        let RefreshStored::Newer {
            generation, access, ..
        } = store.store_oauth_refresh(&acc.id, 1, late).await.unwrap()
        else {
            panic!("newer");
        };
        assert_eq!((generation, access.nonce), (2, vec![9; 12]));
        assert_eq!(
            store
                .get_account(&acc.id)
                .await
                .unwrap()
                .unwrap()
                .secret_hint,
            "new"
        );
        // The waiting refresher adopts the newer token instead of refreshing again.
        let Claim::Newer {
            generation,
            expires_at_ms,
            ..
        } = store
            .claim_oauth_refresh(&acc.id, 1, 120, 30, "proc-b")
            .await
            .unwrap()
        else {
            panic!("newer");
        };
        assert_eq!((generation, expires_at_ms), (2, 20_000));
        let g = store.get_oauth_grant(&acc.id).await.unwrap().unwrap();
        assert_eq!(
            g.refresh,
            grant().refresh,
            "no rotation keeps the old token"
        );
        // A sign-in again bumps the generation and clears needs_reauth.
        store
            .release_oauth_lease(&acc.id, Some(("invalid_grant".into(), 200)))
            .await
            .unwrap();
        let stored = store.get_account(&acc.id).await.unwrap().unwrap();
        assert_eq!(stored.status, AccountStatus::NeedsReauth);
        let (again, generation) = store
            .save_oauth_sign_in(stored, false, grant(), 300)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(generation, 3);
        assert_eq!(again.status, AccountStatus::Ok);
        let stored = store.get_account(&acc.id).await.unwrap().unwrap();
        assert_eq!(
            (stored.status, stored.status_since),
            (AccountStatus::Ok, Some(300))
        );
        // Deleting the account deletes its grant.
        store.delete_account(&acc.id).await.unwrap();
        assert!(store.list_oauth_grants().await.unwrap().is_empty());
    }
}
