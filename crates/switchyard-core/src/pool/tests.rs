use super::*;
use crate::resilience::aimd::AimdConfig;
use crate::resilience::breaker::BreakerConfig;

fn spec(id: &str, provider: Provider, models: &[&str]) -> AccountSpec {
    AccountSpec {
        id: id.into(),
        provider,
        label: id.into(),
        base_url: "http://x/".into(),
        tier: Tier::Unknown,
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        enabled: true,
        credential: Secret::new("k"),
        quota_scope: None,
        admin_key: None,
        status: Default::default(),
        status_reason: None,
        status_since: None,
        oauth: None,
    }
}

fn tiered(id: &str, tier: Tier) -> AccountSpec {
    AccountSpec {
        tier,
        ..spec(id, Provider::OpenAi, &["*"])
    }
}

fn leased(s: Selection) -> Lease {
    match s {
        Selection::Lease(l) => l,
        other => panic!("expected a lease, got {other:?}"),
    }
}

const ANY: Reach = Reach::Any {
    prefer: Protocol::OpenAi,
};
const OK: Feedback = Feedback::Success {
    latency: Duration::from_millis(10),
    hint: None,
};

#[tokio::test(start_paused = true)]
async fn picks_least_loaded_matching_account() {
    let pool = Pool::new();
    pool.replace(vec![
        spec("a", Provider::OpenAi, &["gpt-*"]),
        spec("b", Provider::OpenAiCompatible, &["gpt-*"]),
        spec("c", Provider::Anthropic, &["*"]),
    ]);
    let l1 = leased(pool.select("gpt-4o", ANY, &[], None));
    assert_eq!(l1.account().id.as_ref(), "a");
    let l2 = leased(pool.select("gpt-4o", ANY, &[], None));
    assert_eq!(l2.account().id.as_ref(), "b", "a is busy, b is idle");
    drop(l1);
    assert_eq!(
        pool.accounts()[0].state.active(),
        0,
        "lease released the count"
    );
    let l3 = leased(pool.select("gpt-4o", ANY, &[], None));
    assert_eq!(l3.account().id.as_ref(), "a");
    let gemini_only = Reach::Only(Protocol::Gemini);
    assert!(matches!(
        pool.select("gpt-4o", gemini_only, &[], None),
        Selection::NotServed
    ));
    assert!(matches!(
        pool.select("llama", Reach::Only(Protocol::OpenAi), &[], None),
        Selection::NotServed
    ));
    // Anthropic's "*" serves claude-x for an OpenAI client (translated).
    assert_eq!(
        leased(pool.select("claude-x", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "c"
    );
    let openai_only = Reach::Only(Protocol::OpenAi);
    assert!(matches!(
        pool.select("claude-x", openai_only, &[], None),
        Selection::NotServed
    ));
}

#[tokio::test(start_paused = true)]
async fn ties_prefer_the_clients_own_protocol() {
    let pool = Pool::new();
    pool.replace(vec![
        spec("gem", Provider::Gemini, &["m"]),
        spec("ant", Provider::Anthropic, &["m"]),
    ]);
    let prefer_anthropic = Reach::Any {
        prefer: Protocol::Anthropic,
    };
    let l1 = leased(pool.select("m", prefer_anthropic, &[], None));
    assert_eq!(l1.account().id.as_ref(), "ant");
    let l2 = leased(pool.select("m", prefer_anthropic, &[], None));
    assert_eq!(l2.account().id.as_ref(), "gem", "load still comes first");
}

#[tokio::test(start_paused = true)]
async fn skips_tried_and_disabled_accounts() {
    let pool = Pool::new();
    let mut off = spec("off", Provider::OpenAi, &["*"]);
    off.enabled = false;
    pool.replace(vec![
        off,
        spec("a", Provider::OpenAi, &["*"]),
        spec("b", Provider::OpenAi, &["*"]),
    ]);
    let first = leased(pool.select("m", ANY, &[], None));
    assert_eq!(first.account().id.as_ref(), "a");
    let tried = vec![Arc::clone(first.account())];
    drop(first);
    let second = leased(pool.select("m", ANY, &tried, None));
    assert_eq!(second.account().id.as_ref(), "b");
    let tried = vec![tried[0].clone(), Arc::clone(second.account())];
    assert!(matches!(
        pool.select("m", ANY, &tried, None),
        Selection::Exhausted(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn state_and_lockouts_survive_replacement() {
    let pool = Pool::new();
    pool.replace(vec![spec("a", Provider::OpenAi, &["*"])]);
    let mut lease = leased(pool.select("m", ANY, &[], None));
    lease.report(
        Feedback::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        },
        &RoutingConfig::default(),
    );
    pool.replace(vec![
        spec("a", Provider::OpenAi, &["*"]),
        spec("b", Provider::OpenAi, &["*"]),
    ]);
    assert_eq!(pool.accounts()[0].state.active(), 1);
    drop(lease);
    assert_eq!(pool.accounts()[0].state.active(), 0);
    assert_eq!(pool.accounts()[0].base_url, "http://x");
    assert!(
        pool.accounts()[0]
            .lockouts
            .locked_until("m", Instant::now())
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn a_higher_tier_wins_and_lower_tiers_are_fallbacks() {
    let pool = Pool::new();
    pool.replace(vec![
        tiered("free", Tier::Free),
        tiered("pro", Tier::Pro),
        tiered("ultra", Tier::Ultra),
    ]);
    let l1 = leased(pool.select("m", ANY, &[], None));
    assert_eq!(l1.account().id.as_ref(), "ultra");
    let l2 = leased(pool.select("m", ANY, &[], None));
    assert_eq!(l2.account().id.as_ref(), "ultra", "tier beats load");
    let mut settings = RoutingSettings::default();
    settings.routing.tier_order = vec![
        Tier::Free,
        Tier::Pro,
        Tier::Ultra,
        Tier::UltraBusiness,
        Tier::Unknown,
    ];
    pool.reconfigure(settings);
    assert_eq!(
        leased(pool.select("m", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "free",
        "order is configurable"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_locks_only_that_scope_and_model() {
    let pool = Pool::new();
    let mut shared1 = spec("p1", Provider::Gemini, &["*"]);
    shared1.quota_scope = Some("project".into());
    let mut shared2 = spec("p2", Provider::Gemini, &["*"]);
    shared2.quota_scope = Some("project".into());
    pool.replace(vec![
        shared1,
        shared2,
        spec("solo", Provider::Gemini, &["*"]),
    ]);
    let mut l = leased(pool.select("m", ANY, &[], None));
    assert_eq!(l.account().id.as_ref(), "p1");
    l.report(
        Feedback::RateLimited {
            retry_after: Some(Duration::from_secs(10)),
        },
        &RoutingConfig::default(),
    );
    drop(l);
    // p2 shares p1's quota: both are out for "m"; "solo" serves; other models unaffected.
    assert_eq!(
        leased(pool.select("m", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "solo"
    );
    assert_eq!(
        leased(pool.select("other", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "p1"
    );
    let tried: Vec<_> = pool
        .accounts()
        .iter()
        .filter(|a| &*a.id == "solo")
        .cloned()
        .collect();
    match pool.select("m", ANY, &tried, None) {
        Selection::Exhausted(e) => {
            assert_eq!(
                e.earliest_unlock.map(|u| u - Instant::now()),
                Some(Duration::from_secs(10))
            );
        }
        other => panic!("{other:?}"),
    }
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(
        leased(pool.select("m", ANY, &tried, None))
            .account()
            .id
            .as_ref(),
        "p1",
        "lockout expired"
    );
    // Manual reset.
    let mut l = leased(pool.select("m", ANY, &[], None));
    l.report(
        Feedback::QuotaExhausted {
            reset_in: None,
            all_models: true,
        },
        &RoutingConfig::default(),
    );
    drop(l);
    assert_eq!(pool.clear_lockouts(Some("p2")), 1);
    assert!(
        pool.accounts()
            .iter()
            .all(|a| a.lockouts.active(Instant::now()).is_empty())
    );
}

#[tokio::test(start_paused = true)]
async fn open_circuits_and_full_accounts_are_skipped() {
    let settings = RoutingSettings {
        breaker: BreakerConfig {
            failure_threshold: 2,
            cool_down_secs: 5,
        },
        aimd: AimdConfig {
            initial_limit: 1,
            ..AimdConfig::default()
        },
        ..RoutingSettings::default()
    };
    let pool = Pool::with_settings(settings);
    pool.replace(vec![
        spec("a", Provider::OpenAi, &["*"]),
        spec("b", Provider::OpenAi, &["*"]),
    ]);
    for _ in 0..2 {
        let mut l = leased(pool.select(
            "m",
            Reach::Only(Protocol::OpenAi),
            &pool.accounts()[1..],
            None,
        ));
        l.report(
            Feedback::Failure {
                latency: Duration::ZERO,
            },
            &RoutingConfig::default(),
        );
    }
    let held = leased(pool.select("m", ANY, &[], None));
    assert_eq!(held.account().id.as_ref(), "b", "a's circuit is open");
    match pool.select("m", ANY, &[], None) {
        Selection::Exhausted(e) => assert!(e.circuit_open && e.at_capacity),
        other => panic!("{other:?}"),
    }
    tokio::time::advance(Duration::from_secs(5)).await;
    let mut probe = leased(pool.select("m", ANY, &[], None));
    assert_eq!(probe.account().id.as_ref(), "a", "half-open: one probe");
    probe.report(OK, &RoutingConfig::default());
    drop(probe);
    // Closed again: with "b" still held, "a" takes the next request.
    assert_eq!(
        leased(pool.select("m", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "a",
        "closed again"
    );
    drop(held);
}

#[tokio::test(start_paused = true)]
async fn a_session_keeps_its_account_while_healthy_and_moves_when_it_fails() {
    let pool = Pool::new();
    pool.replace(vec![
        spec("a", Provider::OpenAi, &["*"]),
        spec("b", Provider::OpenAi, &["*"]),
    ]);
    // Make "b" the one the session lands on.
    let busy = leased(pool.select("m", ANY, &[], None));
    let mut first = leased(pool.select("m", ANY, &[], Some(7)));
    assert_eq!(first.account().id.as_ref(), "b");
    first.report(OK, &RoutingConfig::default());
    drop(first);
    drop(busy);
    for _ in 0..50 {
        let mut l = leased(pool.select("m", ANY, &[], Some(7)));
        assert_eq!(
            l.account().id.as_ref(),
            "b",
            "affinity beats the idle tie-break"
        );
        l.report(OK, &RoutingConfig::default());
    }
    let mut l = leased(pool.select("m", ANY, &[], Some(7)));
    l.report(
        Feedback::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
        },
        &RoutingConfig::default(),
    );
    let tried = vec![Arc::clone(l.account())];
    drop(l);
    let moved = leased(pool.select("m", ANY, &tried, Some(7)));
    assert_eq!(moved.account().id.as_ref(), "a", "moved at once");
}

#[tokio::test(start_paused = true)]
async fn a_better_tier_beats_affinity() {
    let pool = Pool::new();
    pool.replace(vec![tiered("pro", Tier::Pro)]);
    let mut l = leased(pool.select("m", ANY, &[], Some(1)));
    l.report(OK, &RoutingConfig::default());
    drop(l);
    pool.replace(vec![tiered("pro", Tier::Pro), tiered("ultra", Tier::Ultra)]);
    assert_eq!(
        leased(pool.select("m", ANY, &[], Some(1)))
            .account()
            .id
            .as_ref(),
        "ultra"
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limit_headers_throttle_pre_emptively() {
    let pool = Pool::new();
    pool.replace(vec![
        spec("a", Provider::OpenAi, &["*"]),
        spec("b", Provider::OpenAi, &["*"]),
    ]);
    let mut l = leased(pool.select("m", ANY, &[], None));
    let hint = RateLimitHint {
        remaining: 1,
        limit: 100,
        reset_in: Duration::from_secs(20),
    };
    l.report(
        Feedback::Success {
            latency: Duration::ZERO,
            hint: Some(hint),
        },
        &RoutingConfig::default(),
    );
    drop(l);
    assert_eq!(
        leased(pool.select("m", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "b"
    );
}

fn many(n: usize, tier: Tier) -> Vec<AccountSpec> {
    (0..n).map(|i| tiered(&format!("acc{i}"), tier)).collect()
}

#[tokio::test(start_paused = true)]
async fn a_large_tier_spreads_load_like_least_connections() {
    let pool = Pool::new();
    pool.replace(many(200, Tier::Pro));
    let leases: Vec<Lease> = (0..400)
        .map(|_| leased(pool.select("m", ANY, &[], None)))
        .collect();
    let loads: Vec<u32> = pool.accounts().iter().map(|a| a.state.active()).collect();
    let max = loads.iter().copied().max().unwrap_or(0);
    let idle = loads.iter().filter(|l| **l == 0).count();
    // Two per account on average: sampling keeps the peak next to it and none idle
    // (always picking the same account, or the first in order, would fail both).
    assert!(max <= 3, "peak {max}: {loads:?}");
    assert_eq!(idle, 0, "{loads:?}");
    drop(leases);
    assert!(pool.accounts().iter().all(|a| a.state.active() == 0));
}

#[tokio::test(start_paused = true)]
async fn a_large_tier_never_picks_an_unavailable_account_while_one_is_free() {
    let settings = RoutingSettings {
        breaker: BreakerConfig {
            failure_threshold: 1,
            cool_down_secs: 60,
        },
        aimd: AimdConfig {
            initial_limit: 1,
            ..AimdConfig::default()
        },
        ..RoutingSettings::default()
    };
    let pool = Pool::with_settings(settings);
    let mut specs = many(200, Tier::Pro);
    // A better tier whose only account is locked out: the large tier is the fallback.
    specs.push(tiered("ultra", Tier::Ultra));
    pool.replace(specs);
    let accounts = pool.accounts();
    let routing = RoutingConfig::default();
    let now = Instant::now();
    accounts[200].lockouts.lock(
        None,
        now + Duration::from_secs(30),
        crate::resilience::lockout::LockReason::RateLimited,
        now,
    );
    // Of the 200: a third locked out (for 20 s), a third with an open circuit, and all
    // but the last one of the rest held at their limit of one.
    for (i, account) in accounts[..200].iter().enumerate() {
        match i % 3 {
            0 => account.lockouts.lock(
                None,
                now + Duration::from_secs(20),
                crate::resilience::lockout::LockReason::RateLimited,
                now,
            ),
            1 => account.state.breaker.on_failure(now),
            _ => {}
        }
    }
    let mut held = Vec::new();
    let free = accounts[..200]
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 2)
        .count();
    for _ in 0..free {
        let lease = leased(pool.select("m", ANY, &[], None));
        let position = accounts
            .iter()
            .position(|a| Arc::ptr_eq(a, lease.account()))
            .unwrap_or(usize::MAX);
        assert_eq!(position % 3, 2, "picked {}", lease.account().id);
        assert_eq!(lease.account().state.active(), 1, "never twice");
        held.push(lease);
    }
    match pool.select("m", ANY, &[], None) {
        Selection::Exhausted(e) => {
            assert!(e.circuit_open && e.at_capacity);
            assert_eq!(
                e.earliest_unlock.map(|u| u - Instant::now()),
                Some(Duration::from_secs(20)),
                "the earliest of the lockouts, over every tier"
            );
        }
        other => panic!("{other:?}"),
    }
    // One released: the next request finds it, however unlikely a sample is to.
    let mut released = held.swap_remove(17);
    let id = released.account().id.clone();
    released.report(OK, &routing);
    drop(released);
    assert_eq!(leased(pool.select("m", ANY, &[], None)).account().id, id);
}

#[tokio::test(start_paused = true)]
async fn a_large_tier_prefers_the_clients_protocol_on_ties() {
    let pool = Pool::new();
    let mut specs = Vec::new();
    for i in 0..300 {
        let provider = [Provider::OpenAi, Provider::Anthropic, Provider::Gemini][i % 3];
        specs.push(spec(&format!("acc{i}"), provider, &["*"]));
    }
    pool.replace(specs);
    for prefer in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini] {
        for _ in 0..20 {
            let lease = leased(pool.select("m", Reach::Any { prefer }, &[], None));
            assert_eq!(lease.account().protocol(), prefer);
        }
        let only = leased(pool.select("m", Reach::Only(prefer), &[], None));
        assert_eq!(only.account().protocol(), prefer);
    }
}

#[tokio::test(start_paused = true)]
async fn a_session_keeps_its_account_in_a_large_tier() {
    let pool = Pool::new();
    pool.replace(many(100, Tier::Pro));
    let mut first = leased(pool.select("m", ANY, &[], Some(9)));
    first.report(OK, &RoutingConfig::default());
    let id = first.account().id.clone();
    // Held: the bound account is now busier than 99 idle ones, and affinity still wins.
    for _ in 0..20 {
        let mut l = leased(pool.select("m", ANY, &[], Some(9)));
        assert_eq!(l.account().id, id);
        l.report(OK, &RoutingConfig::default());
    }
    drop(first);
}

#[tokio::test(start_paused = true)]
async fn unknown_models_are_not_served_and_the_model_memo_is_bounded() {
    let pool = Pool::new();
    let mut specs = many(50, Tier::Pro);
    for s in &mut specs {
        s.models = vec!["gpt-*".into(), "o*".into()];
    }
    specs.push(spec("claude", Provider::Anthropic, &["claude-*"]));
    pool.replace(specs);
    assert_eq!(pool.snapshot.load().index.glob_lists.len(), 2);
    for i in 0..100 {
        assert!(matches!(
            pool.select(&format!("llama-{i}"), ANY, &[], None),
            Selection::NotServed
        ));
    }
    let memo = || pool.snapshot.load().index.memo.read().len();
    assert_eq!(memo(), 0, "models nothing serves are not remembered");
    for i in 0..(MODEL_MEMO + 500) {
        let lease = leased(pool.select(&format!("gpt-{i}"), ANY, &[], None));
        assert!(lease.account().id.starts_with("acc"));
    }
    assert_eq!(memo(), MODEL_MEMO, "bounded");
    // Past the bound, models are still routed (computed each time).
    assert_eq!(
        leased(pool.select("claude-x", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "claude"
    );
    // A new snapshot starts a new memo.
    pool.replace(many(1, Tier::Pro));
    assert_eq!(memo(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_forbidden_credential_is_skipped_at_once_and_survives_reloads_until_cleared() {
    let pool = Pool::new();
    pool.replace(vec![
        spec("a", Provider::OpenAi, &["*"]),
        spec("b", Provider::OpenAi, &["*"]),
    ]);
    let a = pool.account("a").unwrap();
    pool.mark_forbidden(&a, "HTTP 401");
    for _ in 0..5 {
        let l = leased(pool.select("m", ANY, &[], None));
        assert_eq!(l.account().id.as_ref(), "b");
    }
    assert_eq!(pool.status_queue().take().len(), 1, "queued once");
    pool.mark_forbidden(&a, "again");
    assert!(pool.status_queue().take().is_empty());
    // A reload from a store that has not seen the mark yet keeps it.
    pool.replace(vec![
        spec("a", Provider::OpenAi, &["*"]),
        spec("b", Provider::OpenAi, &["*"]),
    ]);
    let b = pool.account("b").unwrap();
    let _held = leased(pool.select("m", ANY, &[], None));
    // Only a forbidden account is left for a request that tried b.
    assert!(matches!(
        pool.select("m", ANY, &[b], None),
        Selection::Exhausted(_)
    ));
    pool.account("a").unwrap().state.credential.clear(i64::MAX);
    assert_eq!(
        leased(pool.select("m", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "a"
    );
}

fn book_with(account: &PoolAccount, model: &str, remaining: f64, resets_in: i64) {
    account.quota.observe(
        &[crate::quota::Observation {
            model: Some(model),
            unit: switchyard_types::quota::QuotaUnit::Requests,
            source: "test",
            limit: Some(100.0),
            remaining: Some(remaining),
            used: None,
            resets_at: Some(crate::store::now_unix() + resets_in),
        }],
        crate::store::now_unix(),
    );
}

#[tokio::test(start_paused = true)]
async fn more_quota_left_breaks_ties_and_protection_keeps_the_last_of_it() {
    let pool = Pool::new();
    pool.replace(vec![
        spec("a", Provider::OpenAi, &["*"]),
        spec("b", Provider::OpenAi, &["*"]),
    ]);
    book_with(&pool.account("a").unwrap(), "m", 30.0, 600);
    book_with(&pool.account("b").unwrap(), "m", 80.0, 600);
    assert_eq!(
        leased(pool.select("m", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "b",
        "b has more left"
    );
    // Another model's window says nothing about this one: order decides.
    assert_eq!(
        leased(pool.select("other", ANY, &[], None))
            .account()
            .id
            .as_ref(),
        "a"
    );
    let settings = RoutingSettings {
        quota_protection: vec![QuotaProtection {
            models: "m*".into(),
            min_remaining_percent: 50.0,
        }],
        ..RoutingSettings::default()
    };
    assert!(settings.validate().is_ok());
    pool.reconfigure(settings);
    let b = pool.account("b").unwrap();
    // a is under the floor: with b tried, nothing is left, and the wait is a's reset.
    match pool.select("m", ANY, &[b], None) {
        Selection::Exhausted(why) => {
            let wait = why.earliest_unlock.unwrap() - Instant::now();
            assert!(wait > Duration::from_secs(590) && wait <= Duration::from_secs(600));
        }
        other => panic!("expected exhaustion, got {other:?}"),
    }
    // The rule does not cover other models.
    assert!(matches!(
        pool.select("other", ANY, &[], None),
        Selection::Lease(_)
    ));
    let bad = RoutingSettings {
        quota_protection: vec![QuotaProtection {
            models: "m".into(),
            min_remaining_percent: 101.0,
        }],
        ..RoutingSettings::default()
    };
    assert_eq!(
        bad.validate().unwrap_err().0,
        "quota_protection.min_remaining_percent"
    );
}
