//! The attempt loop against a real [`Pool`] and a scripted attempter, with paused time.

use super::*;
use crate::crypto::Secret;
use crate::pool::{AccountSpec, RoutingSettings};
use crate::resilience::backoff::RetryConfig;
use std::collections::VecDeque;
use switchyard_types::{Protocol, Provider, Tier};

fn pool(ids: &[&str], retry: RetryConfig) -> Pool {
    let pool = Pool::with_settings(RoutingSettings {
        retry,
        ..RoutingSettings::default()
    });
    pool.replace(
        ids.iter()
            .map(|id| AccountSpec {
                id: (*id).into(),
                provider: Provider::OpenAi,
                label: (*id).into(),
                base_url: "http://x".into(),
                tier: Tier::Unknown,
                models: vec!["*".into()],
                enabled: true,
                credential: Secret::new("k"),
                quota_scope: None,
                admin_key: None,
                status: Default::default(),
                status_reason: None,
                status_since: None,
                oauth: None,
            })
            .collect(),
    );
    pool
}

/// Answers each attempt with the next scripted outcome, after `latency`.
struct Script {
    outcomes: VecDeque<Outcome>,
    latency: Duration,
    seen: Vec<String>,
}

impl Script {
    fn new(outcomes: &[Outcome]) -> Self {
        Self {
            outcomes: outcomes.iter().copied().collect(),
            latency: Duration::from_millis(100),
            seen: Vec::new(),
        }
    }
}

impl Attempter for Script {
    type Answer = &'static str;
    async fn attempt(&mut self, lease: &Lease) -> Tried<&'static str> {
        self.seen.push(lease.account().id.to_string());
        tokio::time::sleep(self.latency).await;
        let outcome = self.outcomes.pop_front().unwrap_or(Outcome::Relayed);
        if outcome.is_retriable() {
            Tried::failed(outcome, Some(500), self.latency, "scripted")
        } else {
            Tried::done(outcome, Some(200), self.latency, "answer")
        }
    }
}

const TARGET: Target<'static> = Target {
    request_id: "req_test",
    model: "m",
    reach: Reach::Any {
        prefer: Protocol::OpenAi,
    },
    session: None,
};

async fn run_script(
    pool: &Pool,
    script: &mut Script,
) -> (Result<&'static str, Unserved>, Vec<AttemptRecord>) {
    let mut records = Vec::new();
    let mut waited = Duration::ZERO;
    let result = run(pool, TARGET, script, &mut records, &mut waited)
        .await
        .map(|s| s.answer);
    (result, records)
}

#[tokio::test(start_paused = true)]
async fn fails_over_until_an_answer_and_records_every_attempt() {
    let pool = pool(&["a", "b", "c"], RetryConfig::default());
    let mut script = Script::new(&[Outcome::ServerError, Outcome::Unreachable]);
    let (result, records) = run_script(&pool, &mut script).await;
    assert_eq!(result, Ok("answer"));
    let outcomes: Vec<_> = records.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::ServerError, Outcome::Unreachable, Outcome::Relayed]
    );
    let mut accounts: Vec<_> = records.iter().map(|r| r.account_id.to_string()).collect();
    accounts.sort();
    assert_eq!(accounts, ["a", "b", "c"], "each account once");
    assert!(
        records
            .iter()
            .all(|r| r.duration >= Duration::from_millis(100))
    );
}

#[tokio::test(start_paused = true)]
async fn client_faults_end_the_loop_and_are_not_charged() {
    let pool = pool(&["a", "b"], RetryConfig::default());
    for outcome in [Outcome::ClientError, Outcome::Unformable] {
        let mut script = Script::new(&[outcome; 10]);
        let (result, records) = run_script(&pool, &mut script).await;
        assert_eq!(result, Ok("answer"));
        assert_eq!(records.len(), 1, "{outcome:?} is not retried");
    }
    for _ in 0..20 {
        let mut script = Script::new(&[Outcome::Unformable]);
        run_script(&pool, &mut script).await.0.unwrap();
    }
    for account in pool.accounts().iter() {
        assert!(
            account.state.breaker.would_allow(Instant::now()),
            "client faults never open {}'s circuit",
            account.id
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_attempt_budget_and_the_deadline_bound_the_loop() {
    let pool = pool(&["a", "b", "c", "d"], RetryConfig::default());
    let mut script = Script::new(&[Outcome::ServerError; 10]);
    let (result, records) = run_script(&pool, &mut script).await;
    assert_eq!(result, Err(Unserved::Failed));
    assert_eq!(records.len(), 3, "max_attempts");

    let retry = RetryConfig {
        deadline_ms: 250,
        max_attempts: 10,
        ..RetryConfig::default()
    };
    let pool = super::tests::pool(&["a", "b", "c", "d", "e"], retry);
    let mut script = Script::new(&[Outcome::Timeout; 10]);
    let started = Instant::now();
    let (result, records) = run_script(&pool, &mut script).await;
    assert_eq!(result, Err(Unserved::Timeout));
    assert!(
        records.len() < 5,
        "the deadline stopped it: {}",
        records.len()
    );
    assert!(started.elapsed() < Duration::from_millis(600));
}

#[tokio::test(start_paused = true)]
async fn rate_limits_lock_the_account_and_report_the_earliest_retry() {
    let pool = pool(&["a", "b"], RetryConfig::default());
    let limited = |secs| Outcome::RateLimited {
        retry_after: Some(Duration::from_secs(secs)),
    };
    let mut script = Script::new(&[limited(30), limited(7)]);
    let (result, _) = run_script(&pool, &mut script).await;
    assert_eq!(
        result,
        Err(Unserved::RateLimited {
            retry_after: Duration::from_secs(7)
        })
    );
    // Both accounts are now locked out: the next request is refused without an attempt.
    let mut script = Script::new(&[]);
    let (result, records) = run_script(&pool, &mut script).await;
    assert!(matches!(result, Err(Unserved::RateLimited { .. })));
    assert!(records.is_empty());
    // After the shorter lockout, the account serves again.
    tokio::time::advance(Duration::from_secs(8)).await;
    let (result, records) = run_script(&pool, &mut script).await;
    assert_eq!(result, Ok("answer"));
    assert_eq!(records.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_short_lockout_is_waited_out_when_allowed() {
    let retry = RetryConfig {
        max_wait_ms: 2000,
        ..RetryConfig::default()
    };
    let pool = pool(&["a"], retry);
    let mut script = Script::new(&[Outcome::RateLimited {
        retry_after: Some(Duration::from_secs(1)),
    }]);
    let (result, _) = run_script(&pool, &mut script).await;
    assert!(
        matches!(result, Err(Unserved::RateLimited { .. })),
        "one account, one attempt"
    );
    let mut script = Script::new(&[]);
    let started = Instant::now();
    let mut records = Vec::new();
    let mut waited = Duration::ZERO;
    let served = run(&pool, TARGET, &mut script, &mut records, &mut waited).await;
    assert!(served.is_ok());
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    assert!(started.elapsed() >= Duration::from_millis(800));
}

#[tokio::test(start_paused = true)]
async fn unknown_models_are_not_served() {
    let pool = Pool::new();
    let mut script = Script::new(&[]);
    let (result, records) = run_script(&pool, &mut script).await;
    assert_eq!(result, Err(Unserved::NotServed));
    assert!(records.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_full_account_is_queued_for_not_refused() {
    let pool = pool(&["a"], RetryConfig::default());
    let limit = pool.accounts()[0].state.aimd.limit();
    let mut held = Vec::new();
    for _ in 0..limit {
        match pool.select("m", TARGET.reach, &[], None) {
            Selection::Lease(l) => held.push(l),
            other => panic!("{other:?}"),
        }
    }
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(120)).await;
        drop(held);
    });
    let mut script = Script::new(&[]);
    let (result, records) = run_script(&pool, &mut script).await;
    assert_eq!(result, Ok("answer"));
    assert_eq!(records.len(), 1);
    releaser.await.unwrap();
}

/// A refresher that renews (a newer generation) or fails, as told, counting calls.
#[derive(Debug)]
struct StubRefresher {
    renews: bool,
    calls: std::sync::atomic::AtomicUsize,
}

impl crate::pool::token::Refresh for StubRefresher {
    fn refresh<'a>(
        &'a self,
        account: &'a Arc<PoolAccount>,
        seen: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::pin(async move {
            self.renews
                && account
                    .state
                    .token
                    .offer("renewed", i64::MAX / 2, 3_600_000, seen + 1)
        })
    }
}

fn oauth_pool(renews: bool) -> (Pool, Arc<StubRefresher>) {
    let pool = Pool::with_settings(RoutingSettings::default());
    let spec = |id: &str, oauth: bool| AccountSpec {
        id: id.into(),
        provider: Provider::OpenAi,
        label: id.into(),
        base_url: "http://x".into(),
        tier: Tier::Unknown,
        models: vec!["*".into()],
        enabled: true,
        credential: Secret::new("token-1"),
        quota_scope: None,
        admin_key: None,
        status: Default::default(),
        status_reason: None,
        status_since: None,
        oauth: oauth.then(|| crate::pool::OAuthSpec {
            provider: "corp".into(),
            project: None,
            expires_at_ms: i64::MAX / 2,
            lifetime_ms: 3_600_000,
            generation: 1,
        }),
    };
    pool.replace(vec![spec("o", true), spec("b", false)]);
    let refresher = Arc::new(StubRefresher {
        renews,
        calls: Default::default(),
    });
    pool.set_refresher(refresher.clone());
    (pool, refresher)
}

#[tokio::test(start_paused = true)]
async fn a_refused_oauth_token_is_renewed_and_the_same_account_retried() {
    let (pool, refresher) = oauth_pool(true);
    let mut script = Script::new(&[Outcome::Revoked]);
    let (result, records) = run_script(&pool, &mut script).await;
    assert_eq!(result, Ok("answer"));
    assert_eq!(script.seen, ["o", "o"], "retried on the same account");
    assert_eq!(records.len(), 1);
    assert_eq!(
        refresher.calls.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let o = pool.account("o").unwrap();
    assert!(!o.state.credential.is_forbidden());
    assert_eq!(o.state.token.generation(), 2);
    // Refused again with the new token: forbidden, as for an API key.
    let mut script = Script::new(&[Outcome::Revoked, Outcome::Revoked]);
    let (result, _) = run_script(&pool, &mut script).await;
    assert_eq!(result, Ok("answer"));
    assert_eq!(script.seen, ["o", "o", "b"]);
    assert!(o.state.credential.is_forbidden());
}

#[tokio::test(start_paused = true)]
async fn a_refused_oauth_token_that_cannot_be_renewed_is_skipped_not_forbidden() {
    let (pool, _) = oauth_pool(false);
    let mut script = Script::new(&[Outcome::Revoked]);
    let (result, _) = run_script(&pool, &mut script).await;
    assert_eq!(result, Ok("answer"));
    assert_eq!(script.seen, ["o", "b"]);
    let o = pool.account("o").unwrap();
    assert!(!o.state.credential.is_forbidden(), "only needs a refresh");
    // Skipped until the background refresher renews it.
    let mut script = Script::new(&[]);
    run_script(&pool, &mut script).await.0.unwrap();
    assert_eq!(script.seen, ["b"]);
    assert!(o.state.token.offer("renewed", i64::MAX / 2, 3_600_000, 2));
    let mut script = Script::new(&[]);
    run_script(&pool, &mut script).await.0.unwrap();
    assert_eq!(script.seen, ["o"]);
}
