//! Keeping OAuth access tokens fresh.
//!
//! - **When**: the background task ([`Refresher::run`], spawned by the server through its
//!   lifecycle) renews a token at [`crate::pool::token::refresh_at`] — 5 minutes before
//!   expiry, or after three quarters of a shorter lifetime — so requests keep using the
//!   current token, still valid, while it is renewed. A request whose token the
//!   upstream refused (401) asks for a renewal too ([`crate::pool::Pool::refresh_token`])
//!   and is retried once with the new token. A lifetime is believed within
//!   [`OAuthSettings::lifetime_ms`] (at least `min_token_lifetime_secs`, at most a year),
//!   and a token this process renewed is not renewed again within
//!   [`OAuthSettings::min_refresh_gap_ms`]: a provider answering `expires_in: 0`, or
//!   refusing the token it just issued, never makes a tight loop.
//! - **Once**: a refresh token may be single-use (rotation), so it must never be sent
//!   twice. In a process, whoever refreshes holds the account's
//!   [`crate::pool::TokenCell::flight`] lock, and checks after taking it whether the
//!   generation it meant to replace is still current (a request that arrives while a
//!   refresh is in flight waits for it and uses its result). Across processes sharing
//!   the data dir, the store's lease ([`Store::claim_oauth_refresh`]) does the same: a
//!   newer stored generation is adopted instead of refreshing, and a live lease of the
//!   other process is waited for (bounded). The lease names its holder (a random id per
//!   process), so a process takes back its own lease at once.
//! - **To the end**: each refresh runs as a task of its own ([`Refresher::spawn_refresh`])
//!   that callers only await: a request that stops waiting, or the cancelled background
//!   task, never cuts a refresh between the provider's answer (which may rotate the
//!   refresh token) and the store write. Shutdown waits for them ([`Refresher::finish`]).
//! - **Failure**: `invalid_grant` (revoked, expired or reused refresh token) marks the
//!   account `needs_reauth` at once in memory and in the store; routing skips it until
//!   the operator signs in again through the flow, which clears it. Anything else
//!   (network, 5xx, another error code) is retried after [`RETRY_MS`]; meanwhile the
//!   current token is used until it expires, and an expired one is skipped by routing.

use super::client;
use super::config::OAuthSettings;
use super::flow::{account_context, refresh_context};
use crate::crypto::{MasterKey, Sealed};
use crate::pool::token::{Refresh, now_ms};
use crate::pool::{Pool, PoolAccount};
use crate::store::{Claim, RefreshStored, Refreshed, Store, now_unix};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;
use switchyard_types::admin::secret_hint;
use tokio_util::task::TaskTracker;

/// How long a claimed refresh may take before another process may claim it again
/// (longer than the token call's 30 s timeout).
pub const LEASE_MS: i64 = 60_000;
/// Retry delay after a refresh failure that may pass.
pub const RETRY_MS: i64 = 15_000;
/// Longest wait for another process's refresh of the same account.
const BUSY_WAIT: Duration = Duration::from_secs(15);
/// Longest wait at shutdown for refreshes in flight (they ran during the drain already;
/// the default drain of 30 s plus this stays under the deploy files' stop timeout, 45 s).
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);
/// Longest sleep of the background task between two looks at the pool.
const SCAN: Duration = Duration::from_secs(5);

/// Renews OAuth tokens (see the module docs).
#[derive(Debug)]
pub struct Refresher {
    settings: Arc<OAuthSettings>,
    store: Store,
    master: Arc<MasterKey>,
    pool: Arc<Pool>,
    http: reqwest::Client,
    /// This refresher, for the refresh tasks it spawns.
    this: Weak<Refresher>,
    /// Every refresh runs as its own task here, so a request that stops waiting (client
    /// gone, drain deadline) or the cancelled background task never cuts a refresh
    /// between the provider's answer and the store write; [`Self::finish`] waits for them.
    tasks: TaskTracker,
    /// This process's lease owner id (random).
    owner: String,
}

impl Refresher {
    pub fn new(
        settings: Arc<OAuthSettings>,
        store: Store,
        master: Arc<MasterKey>,
        pool: Arc<Pool>,
        http: reqwest::Client,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            settings,
            store,
            master,
            pool,
            http,
            this: Weak::clone(this),
            tasks: TaskTracker::new(),
            owner: format!("{:032x}", rand::random::<u128>()),
        })
    }

    /// Renew `account`'s token as in [`Self::refresh_account`], in a task of its own
    /// that runs to the end even if the caller stops waiting.
    pub fn spawn_refresh(
        &self,
        account: &Arc<PoolAccount>,
        seen: i64,
    ) -> impl Future<Output = bool> + Send + 'static {
        let task = self.this.upgrade().map(|this| {
            let account = Arc::clone(account);
            self.tasks
                .spawn(async move { this.refresh_account(&account, seen).await })
        });
        async move {
            match task {
                Some(handle) => handle.await.unwrap_or(false),
                None => false,
            }
        }
    }

    /// At shutdown, after the background task stopped: wait (at most `limit`) for the
    /// refreshes in flight to store their tokens, so a rotated refresh token is not lost.
    pub async fn finish(&self, limit: Duration) {
        self.tasks.close();
        if tokio::time::timeout(limit, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                in_flight = self.tasks.len(),
                "OAuth refreshes still in flight at shutdown"
            );
        }
    }

    /// Renew `account`'s token unless its generation already moved past `seen`
    /// (single-flight); `true` when a newer token is in place.
    pub async fn refresh_account(&self, account: &Arc<PoolAccount>, seen: i64) -> bool {
        let Some(oauth) = &account.oauth else {
            return false;
        };
        let cell = &account.state.token;
        let _flight = cell.flight().lock().await;
        if cell.generation() > seen {
            return true;
        }
        // Never renew a token this process renewed moments ago (a provider saying
        // `expires_in: 0`, or refusing the token it just issued, must not make this a
        // tight loop).
        if let Some(at) = cell.refreshed_here_at() {
            let gap_until = at.saturating_add(self.settings.min_refresh_gap_ms());
            if now_ms() < gap_until {
                tracing::debug!(account = %account.id, "OAuth token renewed moments ago; not again yet");
                cell.retry_after(gap_until);
                return false;
            }
        }
        let waited_since = tokio::time::Instant::now();
        let refresh = loop {
            let claim = match self
                .store
                .claim_oauth_refresh(&account.id, seen, now_ms(), LEASE_MS, &self.owner)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(account = %account.id, error = %e, "OAuth refresh could not be claimed");
                    cell.retry_after(now_ms() + RETRY_MS);
                    return false;
                }
            };
            match claim {
                Claim::Claimed { refresh } => break refresh,
                Claim::Newer {
                    access,
                    expires_at_ms,
                    lifetime_ms,
                    generation,
                } => {
                    // Another process refreshed: adopt its token.
                    return self.adopt(account, &access, expires_at_ms, lifetime_ms, generation);
                }
                Claim::Busy { until_ms } => {
                    if waited_since.elapsed() >= BUSY_WAIT {
                        cell.retry_after(until_ms);
                        return false;
                    }
                    let wait = u64::try_from((until_ms - now_ms()).clamp(10, 250)).unwrap_or(250);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                Claim::Gone => return false,
            }
        };
        let now = now_unix();
        let Some(refresh) = refresh else {
            self.needs_reauth(account, "no refresh token was issued; sign in again", now)
                .await;
            return false;
        };
        let refresh = match self.master.open(&refresh, &refresh_context(&account.id)) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(account = %account.id, error = %e, "stored refresh token cannot be opened");
                self.needs_reauth(account, "the stored refresh token cannot be opened", now)
                    .await;
                return false;
            }
        };
        let Some(provider) = self.settings.provider(&oauth.provider) else {
            tracing::warn!(account = %account.id, provider = %oauth.provider, "OAuth provider no longer configured; the token is not refreshed");
            self.release(account, None).await;
            cell.retry_after(now_ms() + RETRY_MS);
            return false;
        };
        match client::refresh(&self.http, provider, &refresh).await {
            Ok(issued) => {
                let lifetime_ms = self.settings.lifetime_ms(issued.lifetime_ms);
                let expires_at_ms = now_ms().saturating_add(lifetime_ms);
                let sealed = self
                    .master
                    .seal(issued.access.expose(), &account_context(&account.id))
                    .and_then(|access| {
                        let refresh = issued
                            .refresh
                            .as_ref()
                            .map(|r| self.master.seal(r.expose(), &refresh_context(&account.id)))
                            .transpose()?;
                        Ok((access, refresh))
                    });
                let (access, rotated) = match sealed {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(account = %account.id, error = %e, "refreshed tokens cannot be sealed");
                        self.release(account, None).await;
                        return false;
                    }
                };
                let tokens = Refreshed {
                    access,
                    access_hint: secret_hint(issued.access.expose()),
                    refresh: rotated,
                    expires_at_ms,
                    lifetime_ms,
                };
                match self
                    .store
                    .store_oauth_refresh(&account.id, seen, tokens)
                    .await
                {
                    Ok(RefreshStored::Saved(generation)) => {
                        cell.mark_refresh(now_ms(), generation);
                        cell.offer(
                            issued.access.expose(),
                            expires_at_ms,
                            lifetime_ms,
                            generation,
                        );
                        tracing::debug!(account = %account.id, generation, "OAuth token refreshed");
                        true
                    }
                    Ok(RefreshStored::Newer {
                        access,
                        expires_at_ms,
                        lifetime_ms,
                        generation,
                    }) => {
                        // Someone stored a newer token meanwhile (a sign-in): adopt it.
                        self.adopt(account, &access, expires_at_ms, lifetime_ms, generation)
                    }
                    Ok(RefreshStored::Gone) => false,
                    Err(e) => {
                        // The provider may have rotated the refresh token already: the
                        // new one is lost, and the next refresh will say invalid_grant.
                        tracing::error!(account = %account.id, error = %e, "refreshed OAuth tokens could not be stored");
                        cell.mark_refresh(now_ms(), seen.saturating_add(1));
                        cell.offer(
                            issued.access.expose(),
                            expires_at_ms,
                            lifetime_ms,
                            seen.saturating_add(1),
                        );
                        true
                    }
                }
            }
            Err(client::TokenError::InvalidGrant(description)) => {
                let reason = format!(
                    "the provider refused the refresh token (invalid_grant{})",
                    description.map(|d| format!(": {d}")).unwrap_or_default()
                );
                self.needs_reauth(account, &reason, now).await;
                false
            }
            Err(e) => {
                tracing::warn!(account = %account.id, error = %e, "OAuth token refresh failed; retrying later");
                self.release(account, None).await;
                cell.retry_after(now_ms() + RETRY_MS);
                false
            }
        }
    }

    /// Adopt a newer stored token (sealed `access`) into the account's cell.
    fn adopt(
        &self,
        account: &PoolAccount,
        access: &Sealed,
        expires_at_ms: i64,
        lifetime_ms: i64,
        generation: i64,
    ) -> bool {
        match self.master.open(access, &account_context(&account.id)) {
            Ok(token) => {
                account
                    .state
                    .token
                    .offer(token.expose(), expires_at_ms, lifetime_ms, generation);
                true
            }
            Err(e) => {
                tracing::error!(account = %account.id, error = %e, "stored access token cannot be opened");
                false
            }
        }
    }

    async fn release(&self, account: &PoolAccount, needs_reauth: Option<(String, i64)>) {
        if let Err(e) = self
            .store
            .release_oauth_lease(&account.id, needs_reauth)
            .await
        {
            tracing::error!(account = %account.id, error = %e, "OAuth refresh lease could not be released");
        }
    }

    async fn needs_reauth(&self, account: &PoolAccount, reason: &str, now: i64) {
        self.pool.mark_needs_reauth(account, reason, now);
        self.release(account, Some((reason.to_owned(), now))).await;
    }

    /// The background task: renew every enabled OAuth account's token when due. Runs
    /// until dropped (the lifecycle cancels it).
    pub async fn run(self: Arc<Self>) {
        loop {
            let now = now_ms();
            let accounts = self.pool.accounts();
            let mut due = Vec::new();
            let mut next = now + i64::try_from(SCAN.as_millis()).unwrap_or(5_000);
            for account in accounts
                .iter()
                .filter(|a| a.oauth.is_some() && a.enabled && !a.state.credential.is_forbidden())
            {
                let cell = &account.state.token;
                if cell.due(now) {
                    due.push(Arc::clone(account));
                } else if let Some(at) = cell.next_due() {
                    next = next.min(at);
                }
            }
            if due.is_empty() {
                let wait = u64::try_from((next - now).max(20)).unwrap_or(20);
                // A rebuilt pool may hold a new sign-in's token: look again at once.
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(wait).min(SCAN)) => {}
                    () = self.pool.replaced() => {}
                }
                continue;
            }
            futures_util::future::join_all(due.iter().map(|account| {
                let seen = account.state.token.generation();
                let refreshed = self.spawn_refresh(account, seen);
                async move {
                    if !refreshed.await && account.state.token.due(now_ms()) {
                        // Never spin on an account whose refresh did not happen.
                        account.state.token.retry_after(now_ms() + 1_000);
                    }
                }
            }))
            .await;
        }
    }
}

impl Refresh for Refresher {
    fn refresh<'a>(
        &'a self,
        account: &'a Arc<PoolAccount>,
        seen: i64,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(self.spawn_refresh(account, seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::Admin;
    use crate::keyring::KeyRing;
    use crate::oauth::flow::{CallbackParams, OAuth};
    use crate::oauth::{RawOAuth, client};
    use switchyard_testkit::FakeOAuth;
    use switchyard_testkit::oauth::{FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};
    use switchyard_types::accounts::AccountStatus;
    use switchyard_types::oauth::StartOAuth;

    /// One "process": its own pool and refresher on the shared store.
    struct Process {
        pool: Arc<Pool>,
        admin: Admin,
        refresher: Arc<Refresher>,
    }

    fn settings(idp: &FakeOAuth) -> Arc<OAuthSettings> {
        let raw: RawOAuth = toml::from_str(&format!(
            "[providers.corp]\nauth_url = \"{}\"\ntoken_url = \"{}\"\nclient_id = \"{FAKE_CLIENT_ID}\"\nclient_secret = \"{FAKE_CLIENT_SECRET}\"\nprovider = \"openai\"",
            idp.auth_url(),
            idp.token_url()
        ))
        .unwrap();
        Arc::new(raw.validate().unwrap())
    }

    async fn process(store: &Store, master: &Arc<MasterKey>, idp: &FakeOAuth) -> Process {
        let pool = Arc::new(Pool::new());
        let admin = Admin::new(
            store.clone(),
            Arc::clone(master),
            Arc::clone(&pool),
            Arc::new(KeyRing::new()),
        );
        admin.reload().await.unwrap();
        let refresher = Refresher::new(
            settings(idp),
            store.clone(),
            Arc::clone(master),
            Arc::clone(&pool),
            client::http_client().unwrap(),
        );
        pool.set_refresher(refresher.clone());
        Process {
            pool,
            admin,
            refresher,
        }
    }

    /// Sign in through the fake (start, follow the authorization URL, finish).
    async fn sign_in(p: &Process, master: &Arc<MasterKey>, idp: &FakeOAuth) -> Arc<PoolAccount> {
        let oauth = OAuth::new(
            settings(idp),
            p.admin.clone(),
            Arc::clone(master),
            client::http_client().unwrap(),
        );
        let started = oauth
            .start(
                StartOAuth {
                    provider: "corp".into(),
                    ..Default::default()
                },
                Some("http://gw.invalid"),
            )
            .await
            .unwrap();
        let redirect = client::http_client()
            .unwrap()
            .get(&started.auth_url)
            .send()
            .await
            .unwrap();
        let location = redirect.headers()["location"].to_str().unwrap().to_owned();
        let url = reqwest::Url::parse(&location).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        let done = oauth
            .finish(CallbackParams {
                code: q.get("code").cloned(),
                state: q.get("state").cloned(),
                ..Default::default()
            })
            .await
            .unwrap();
        p.pool.account(&done.account.id).unwrap()
    }

    async fn setup() -> (FakeOAuth, Store, Arc<MasterKey>) {
        let idp = FakeOAuth::start().await.unwrap();
        let store = Store::open_in_memory().await.unwrap();
        let master = Arc::new(MasterKey::parse(&"42".repeat(32)).unwrap());
        (idp, store, master)
    }

    #[tokio::test]
    async fn concurrent_refreshes_use_the_refresh_token_once() {
        let (idp, store, master) = setup().await;
        let p = process(&store, &master, &idp).await;
        let account = sign_in(&p, &master, &idp).await;
        let seen = account.state.token.generation();
        assert_eq!(seen, 1);
        let first = account.state.token.bearer().unwrap();
        idp.set_refresh_delay(Duration::from_millis(200));
        // Ten requests found the token refused at once: one refresh, ten renewals.
        let results =
            futures_util::future::join_all((0..10).map(|_| p.pool.refresh_token(&account, seen)))
                .await;
        assert!(results.iter().all(|r| *r), "{results:?}");
        assert_eq!(idp.refresh_calls(), 1);
        assert_eq!(idp.refresh_reuse_attempts(), 0);
        assert_eq!(account.state.token.generation(), 2);
        assert_ne!(account.state.token.bearer().unwrap(), first);
        // The stored token is the new one: a rebuilt pool keeps it.
        p.admin.reload().await.unwrap();
        let rebuilt = p.pool.account(&account.id).unwrap();
        assert_eq!(rebuilt.state.token.generation(), 2);
        assert!(rebuilt.credential.expose().starts_with("fake-oauth-at-"));
    }

    #[tokio::test]
    async fn a_refresh_outlives_a_caller_that_stops_waiting() {
        let (idp, store, master) = setup().await;
        let p = process(&store, &master, &idp).await;
        let account = sign_in(&p, &master, &idp).await;
        idp.set_refresh_delay(Duration::from_millis(300));
        // The request is dropped while the provider is answering (client gone).
        let waited =
            tokio::time::timeout(Duration::from_millis(50), p.pool.refresh_token(&account, 1))
                .await;
        assert!(waited.is_err());
        // Shutdown waits for the refresh to store its tokens.
        p.refresher.finish(Duration::from_secs(5)).await;
        assert_eq!(idp.refresh_calls(), 1);
        assert_eq!(account.state.token.generation(), 2);
        let grant = store.get_oauth_grant(&account.id).await.unwrap().unwrap();
        assert_eq!(grant.generation, 2, "the rotated token was stored");
        // The lease was released: another process claims at once.
        let claim = store
            .claim_oauth_refresh(&account.id, 2, now_ms(), LEASE_MS, "other")
            .await
            .unwrap();
        assert!(matches!(claim, Claim::Claimed { .. }), "{claim:?}");
    }

    #[tokio::test]
    async fn a_token_said_to_live_no_time_is_not_refreshed_in_a_loop() {
        let (idp, store, master) = setup().await;
        idp.set_access_ttl(Duration::ZERO);
        let p = process(&store, &master, &idp).await;
        let account = sign_in(&p, &master, &idp).await;
        let lives = |a: &PoolAccount| a.state.token.access().unwrap().expires_at_ms - now_ms();
        assert!(lives(&account) > 55_000, "counts as the shortest lifetime");
        assert!(p.refresher.refresh_account(&account, 1).await);
        assert!(lives(&account) > 55_000);
        // Refused again at once: not asked again within the minimum gap …
        assert!(!p.refresher.refresh_account(&account, 2).await);
        // … nor by the background task.
        let task = tokio::spawn(Arc::clone(&p.refresher).run());
        tokio::time::sleep(Duration::from_millis(300)).await;
        task.abort();
        assert_eq!(idp.refresh_calls(), 1);
    }

    #[tokio::test]
    async fn a_token_said_to_live_forever_lives_a_year() {
        let (idp, store, master) = setup().await;
        // More milliseconds than an i64 holds (the fake adds it to an Instant: no more).
        idp.set_access_ttl(Duration::from_secs(u64::MAX / 1000));
        let p = process(&store, &master, &idp).await;
        let account = sign_in(&p, &master, &idp).await;
        assert!(p.refresher.refresh_account(&account, 1).await);
        let access = account.state.token.access().unwrap();
        let year = crate::oauth::config::MAX_TOKEN_LIFETIME_MS;
        assert!((access.expires_at_ms - now_ms() - year).abs() < 10_000);
        assert!(access.refresh_at_ms < access.expires_at_ms);
        let grant = store.get_oauth_grant(&account.id).await.unwrap().unwrap();
        assert_eq!(grant.lifetime_ms, year);
    }

    #[tokio::test]
    async fn two_processes_refresh_one_grant_once() {
        let (idp, store, master) = setup().await;
        let a = process(&store, &master, &idp).await;
        let on_a = sign_in(&a, &master, &idp).await;
        let b = process(&store, &master, &idp).await;
        let on_b = b.pool.account(&on_a.id).unwrap();
        assert_eq!(on_b.state.token.generation(), 1);
        idp.set_refresh_delay(Duration::from_millis(300));
        let (ra, rb) = tokio::join!(
            a.refresher.refresh_account(&on_a, 1),
            b.refresher.refresh_account(&on_b, 1)
        );
        assert!(ra && rb);
        assert_eq!(
            idp.refresh_calls(),
            1,
            "the second process adopted the first's token"
        );
        assert_eq!(idp.refresh_reuse_attempts(), 0);
        assert_eq!(on_a.state.token.bearer(), on_b.state.token.bearer());
    }

    #[tokio::test]
    async fn a_refused_grant_needs_a_new_sign_in_which_clears_it() {
        let (idp, store, master) = setup().await;
        let p = process(&store, &master, &idp).await;
        let account = sign_in(&p, &master, &idp).await;
        idp.revoke_all();
        assert!(!p.refresher.refresh_account(&account, 1).await);
        let (status, reason, _) = account.state.credential.current_status().unwrap();
        assert_eq!(status, AccountStatus::NeedsReauth);
        assert!(reason.contains("invalid_grant"), "{reason}");
        assert!(account.state.credential.is_forbidden(), "routing skips it");
        let view = p.admin.get_account(&account.id).await.unwrap();
        assert_eq!(view.status, AccountStatus::NeedsReauth);
        // The background task leaves it alone; a new sign-in (same identity) clears it.
        let again = sign_in(&p, &master, &idp).await;
        assert_eq!(again.id, account.id, "same provider and subject: updated");
        assert!(!again.state.credential.is_forbidden());
        assert_eq!(
            p.admin.get_account(&account.id).await.unwrap().status,
            AccountStatus::Ok
        );
        assert_eq!(again.state.token.generation(), 2);
    }
}
