//! Routing and resilience through the real binary: lockouts stay scoped, quota
//! exhaustion is recognised, sessions stick, the pool survives chaos and recovers.

use crate::harness::{Gateway, openai_chat};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchyard_testkit::{Behaviour, ErrorKind, FakeProvider};

const FAST: &str = "
[routing]
rate_limit_lock_secs = 1
[upstream]
header_timeout_secs = 1
[retry]
max_attempts = 8
base_backoff_ms = 1
max_backoff_ms = 5
[breaker]
failure_threshold = 3
cool_down_secs = 1
";

async fn gateway(toml: &str) -> Gateway {
    Gateway::with_config(toml).await
}

async fn add(gw: &Gateway, fake: &FakeProvider, label: &str, key: &str) -> String {
    gw.add_account(json!({"provider": "openai", "label": label, "api_key": key, "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await
}

fn count_by_key(fake: &FakeProvider) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for call in fake.calls() {
        *counts.entry(call.api_key).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn a_429_locks_out_only_that_account_and_the_api_shows_and_resets_it() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = gateway(FAST).await;
    fake.set_key_behaviour(
        "limited",
        Behaviour::Status {
            status: 429,
            retry_after_secs: Some(30),
            kind: ErrorKind::RateLimited,
        },
    );
    let limited = add(&gw, &fake, "limited", "limited").await;
    add(&gw, &fake, "fine", "fine").await;
    let key = gw.create_key().await;
    for _ in 0..10 {
        let r = gw.chat(&key, "gpt-4o", "hi").await;
        assert_eq!(r.status(), 200);
    }
    let counts = count_by_key(&fake);
    assert_eq!(
        counts.get("limited"),
        Some(&1),
        "locked out after its first 429: {counts:?}"
    );
    assert_eq!(counts.get("fine"), Some(&10));

    let v = gw.admin_get("/resilience/lockouts").await;
    let lockouts = v["lockouts"].as_array().unwrap();
    assert_eq!(lockouts.len(), 1, "{v}");
    assert_eq!(lockouts[0]["accounts"], json!([limited]));
    assert_eq!(lockouts[0]["model"], "gpt-4o");
    assert_eq!(lockouts[0]["reason"], "rate_limited");
    assert!(lockouts[0]["remaining_secs"].as_u64().unwrap() > 20);

    let (_, cleared) = gw
        .admin_send(Method::DELETE, &format!("/resilience/lockouts/{limited}"))
        .await;
    assert_eq!(cleared["cleared"], 1);
    let v = gw.admin_get("/resilience/lockouts").await;
    assert!(v["lockouts"].as_array().unwrap().is_empty());
    for path in [
        "/resilience/health",
        "/resilience/circuits",
        "/resilience/aimd",
        "/resilience/sessions",
    ] {
        assert_eq!(gw.admin_send(Method::GET, path).await.0, 200, "{path}");
    }
    let v = gw.admin_get("/resilience/aimd").await;
    assert!(v["accounts"][0]["limit"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn an_exhausted_quota_is_recognised_and_not_retried_on_that_account() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = gateway(FAST).await;
    add(&gw, &fake, "broke", "fake-quota").await;
    add(&gw, &fake, "paid", "paid").await;
    let key = gw.create_key().await;
    for _ in 0..6 {
        let r = gw.chat(&key, "gpt-4o", "hi").await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(count_by_key(&fake).get("fake-quota"), Some(&1));
    let v = gw.admin_get("/resilience/lockouts").await;
    assert_eq!(v["lockouts"][0]["reason"], "quota_exhausted");
    assert_eq!(
        v["lockouts"][0]["model"],
        Value::Null,
        "OpenAI quota is account-wide"
    );
}

#[tokio::test]
async fn a_session_keeps_its_account_and_moves_when_it_fails() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = gateway(FAST).await;
    for k in ["k1", "k2", "k3"] {
        add(&gw, &fake, k, k).await;
    }
    let key = gw.create_key().await;
    let send = |session: &'static str| {
        gw.post("/v1/chat/completions", &key)
            .header("x-session-id", session)
            .json(&openai_chat("gpt-4o", "hi"))
            .send()
    };
    assert_eq!(send("s1").await.unwrap().status(), 200);
    let home = fake.calls().last().unwrap().api_key.clone();
    for _ in 0..50 {
        assert_eq!(send("s1").await.unwrap().status(), 200);
        assert_eq!(fake.calls().last().unwrap().api_key, home);
    }
    fake.set_key_behaviour(
        &home,
        Behaviour::Status {
            status: 500,
            retry_after_secs: None,
            kind: ErrorKind::ServerError,
        },
    );
    assert_eq!(
        send("s1").await.unwrap().status(),
        200,
        "the failing request moved at once"
    );
    assert_ne!(fake.calls().last().unwrap().api_key, home);
    let v = gw.admin_get("/resilience/sessions").await;
    assert!(!v["sessions"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn an_error_event_at_the_start_of_a_200_stream_fails_over() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = gateway(FAST).await;
    fake.set_key_behaviour("cut", Behaviour::DisconnectMidStream { after_chunks: 1 });
    add(&gw, &fake, "cut", "cut").await;
    add(&gw, &fake, "ok", "ok").await;
    let key = gw.create_key().await;
    for _ in 0..4 {
        let mut body = openai_chat("gpt-4o", "hi");
        body["stream"] = json!(true);
        let text = gw.post_text("/v1/chat/completions", &key, &body).await;
        assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
        assert!(!text.contains("upstream_stream_error"));
    }
}

/// 8 accounts, 7 of them faulty in different ways, 2,000 requests at concurrency 32:
/// every request succeeds; when the faults stop, the faulty accounts take traffic again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_every_request_succeeds_while_one_account_is_healthy() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = gateway(FAST).await;
    let faults: [(&str, Behaviour); 7] = [
        (
            "rl-hint",
            Behaviour::Status {
                status: 429,
                retry_after_secs: Some(1),
                kind: ErrorKind::RateLimited,
            },
        ),
        (
            "rl-bare",
            Behaviour::Status {
                status: 429,
                retry_after_secs: None,
                kind: ErrorKind::RateLimited,
            },
        ),
        (
            "overload",
            Behaviour::Status {
                status: 529,
                retry_after_secs: None,
                kind: ErrorKind::Overloaded,
            },
        ),
        (
            "broken",
            Behaviour::Status {
                status: 500,
                retry_after_secs: None,
                kind: ErrorKind::ServerError,
            },
        ),
        ("hang", Behaviour::Hang),
        ("cut", Behaviour::DisconnectMidStream { after_chunks: 1 }),
        ("slow", Behaviour::Latency { millis: 30 }),
    ];
    for (key, behaviour) in &faults {
        fake.set_key_behaviour(key, behaviour.clone());
        add(&gw, &fake, key, key).await;
    }
    add(&gw, &fake, "healthy", "healthy").await;
    let key = Arc::new(gw.create_key().await);
    let url = Arc::new(format!("{}/v1/chat/completions", gw.url));
    let http = gw.http.clone();
    let started = Instant::now();
    let total = 2000usize;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..32 {
        let (http, url, key, next) = (
            http.clone(),
            Arc::clone(&url),
            Arc::clone(&key),
            Arc::clone(&next),
        );
        workers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return failures;
                }
                let mut body = openai_chat("gpt-4o", "hi");
                body["stream"] = json!(i % 4 == 0);
                let r = http
                    .post(url.as_str())
                    .bearer_auth(key.as_str())
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let text = r.text().await.unwrap();
                let ok = status == 200 && (i % 4 != 0 || text.trim_end().ends_with("[DONE]"));
                if !ok {
                    failures.push(format!("{status}: {text}"));
                }
            }
        }));
    }
    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    let attempts = fake.calls().len();
    println!(
        "chaos: {total} requests, {} failed, {attempts} upstream attempts, {elapsed:?}",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed, first: {:?}",
        failures.len(),
        failures.first()
    );

    // Faults stop: after the lockouts and cool-downs pass, every account takes its share
    // of the load again (distinct conversations, concurrent, so no affinity pins them).
    for (key, _) in &faults {
        fake.set_key_behaviour(key, Behaviour::Normal);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fake.clear_calls();
    let mut round = Vec::new();
    for i in 0..400 {
        let (http, url, key) = (http.clone(), Arc::clone(&url), Arc::clone(&key));
        round.push(tokio::spawn(async move {
            let body = openai_chat("gpt-4o", &format!("conversation {i}"));
            http.post(url.as_str())
                .bearer_auth(key.as_str())
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for r in round {
        assert_eq!(r.await.unwrap(), 200);
    }
    let counts = count_by_key(&fake);
    for (key, _) in &faults {
        assert!(
            counts.get(*key).copied().unwrap_or(0) > 0,
            "{key} did not recover: {counts:?}"
        );
    }
}
