//! Model mapping over real HTTP: aliases (exact and `*` patterns) reach the right
//! upstream in every client protocol, the request log keeps both names; two instances
//! syncing with each other converge, and a deletion stays deleted.

use crate::harness::{ADMIN_KEY, Gateway, Options, free_port};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchyard_testkit::{FakeProvider, Protocol};

async fn put(gw: &Gateway, alias: &str, target: &str) -> Value {
    let (status, v) = gw
        .admin_json(
            Method::PUT,
            &format!("/config/mapping/{alias}"),
            &json!({"target": target}),
        )
        .await;
    assert_eq!(status, 200, "{alias}");
    v
}

async fn delete(gw: &Gateway, alias: &str) -> u16 {
    let path = format!("/config/mapping/{alias}");
    gw.admin_send(Method::DELETE, &path).await.0.as_u16()
}

async fn entries(gw: &Gateway) -> Value {
    gw.admin_get("/config/mapping").await["entries"].clone()
}

/// POST entries to merge; the status and the merged set.
async fn merge(gw: &Gateway, entries: Value) -> (StatusCode, Value) {
    gw.admin_json(
        Method::POST,
        "/config/mapping",
        &json!({ "entries": entries }),
    )
    .await
}

#[tokio::test]
async fn aliases_reach_the_right_upstream_in_every_protocol() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "up-openai", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "up-anthropic", "base_url": fake.anthropic_base_url(), "models": ["claude-*"]})).await;
    gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "up-gemini", "base_url": fake.gemini_base_url(), "models": ["gemini-*"]})).await;
    let key = gw.create_key().await;
    let set = put(&gw, "fast", "claude-3-5-haiku-latest").await;
    assert_eq!(set["target"], "claude-3-5-haiku-latest");
    assert_eq!(set["deleted"], false);
    assert!(set["updated_at"].as_i64().unwrap() > 1_700_000_000_000);
    put(&gw, "smart-*", "gpt-4o").await;
    put(&gw, "smart-gem*", "gemini-2.0-flash").await;

    // (client protocol, requested model) → (upstream protocol, model sent upstream).
    let cases = [
        (
            "openai",
            "fast",
            Protocol::Anthropic,
            "claude-3-5-haiku-latest",
        ),
        (
            "anthropic",
            "fast",
            Protocol::Anthropic,
            "claude-3-5-haiku-latest",
        ),
        (
            "gemini",
            "fast",
            Protocol::Anthropic,
            "claude-3-5-haiku-latest",
        ),
        ("openai", "smart-1", Protocol::OpenAi, "gpt-4o"),
        ("anthropic", "smart-x", Protocol::OpenAi, "gpt-4o"),
        // The more specific pattern wins.
        (
            "gemini",
            "smart-gemma",
            Protocol::Gemini,
            "gemini-2.0-flash",
        ),
        (
            "openai",
            "smart-gemma",
            Protocol::Gemini,
            "gemini-2.0-flash",
        ),
        // Not an alias: unchanged.
        ("openai", "gpt-4o-mini", Protocol::OpenAi, "gpt-4o-mini"),
    ];
    for (client, model, upstream, sent) in cases {
        fake.clear_calls();
        let request = match client {
            "openai" => gw
                .post("/v1/chat/completions", &key)
                .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})),
            "anthropic" => gw
                .http
                .post(format!("{}/v1/messages", gw.url))
                .header("x-api-key", &key)
                .header("anthropic-version", "2023-06-01")
                .json(&json!({"model": model, "max_tokens": 32,
                    "messages": [{"role": "user", "content": "hi"}]})),
            _ => gw
                .http
                .post(format!("{}/v1beta/models/{model}:generateContent", gw.url))
                .header("x-goog-api-key", &key)
                .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})),
        };
        let r = request.send().await.unwrap();
        assert_eq!(
            r.status(),
            200,
            "{client} {model}: {}",
            r.text().await.unwrap()
        );
        let answer: Value = r.json().await.unwrap();
        let calls = fake.calls();
        assert_eq!(calls.len(), 1, "{client} {model}");
        assert_eq!(calls[0].protocol, upstream, "{client} {model}");
        assert_eq!(calls[0].model, sent, "{client} {model}");
        if upstream != Protocol::Gemini {
            assert_eq!(calls[0].body["model"], sent, "{client} {model}");
            // The rest of the body is the client's.
            assert!(calls[0].body.to_string().contains("hi"));
        }
        // The client sees the model that answered.
        if client == "openai" || client == "anthropic" {
            assert_eq!(answer["model"], sent, "{client} {model}: {answer}");
        }
    }

    // The request log keeps both names.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let page = gw.admin_get("/logs?limit=50").await;
        let aliased = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["model"] == "fast" && i["upstream_model"] == "claude-3-5-haiku-latest")
            .count();
        if aliased == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Exact aliases are listed in the protocol of the accounts serving their target.
    let listed = gw
        .http
        .get(format!("{}/v1/models", gw.url))
        .header("x-api-key", &key)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("\"fast\""), "{listed}");
    let listed = gw
        .http
        .get(format!("{}/v1/models", gw.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains("\"fast\""), "{listed}");

    // Deleted, the alias is no model at all; deleting it again is a 404.
    assert_eq!(delete(&gw, "fast").await, 204);
    assert_eq!(delete(&gw, "fast").await, 404);
    let r = gw.chat(&key, "fast", "hi").await;
    assert_eq!(r.status(), 404);
    let e = entries(&gw).await;
    assert_eq!(e["fast"]["deleted"], true);
    assert_eq!(e["fast"]["target"], "");
    assert_eq!(e["smart-*"]["target"], "gpt-4o");

    // Validation names the field.
    let (status, body) = gw
        .admin_json(
            Method::PUT,
            "/config/mapping/x",
            &json!({"target": "gpt-*"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "target");
    let (status, _) = merge(
        &gw,
        json!({"a b": {"target": "m", "updated_at": 1, "deleted": false}}),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn merge_is_last_write_wins_and_answers_the_merged_set() {
    let gw = Gateway::start().await;
    put(&gw, "a", "m-local").await;
    let local = entries(&gw).await["a"]["updated_at"].as_i64().unwrap();
    let (status, merged) = merge(
        &gw,
        json!({
            "a": {"target": "m-older", "updated_at": local - 1, "deleted": false},
            "b": {"target": "m-b", "updated_at": 5, "deleted": false},
            "c": {"target": "", "updated_at": 6, "deleted": true},
        }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(merged["entries"]["a"]["target"], "m-local");
    assert_eq!(merged["entries"]["b"]["target"], "m-b");
    assert_eq!(merged["entries"]["c"]["deleted"], true);
    // A newer deletion wins; an older live copy does not bring it back.
    let (_, merged) = merge(
        &gw,
        json!({"a": {"target": "", "updated_at": local + 10, "deleted": true}}),
    )
    .await;
    assert_eq!(merged["entries"]["a"]["deleted"], true);
    let (_, merged) = merge(
        &gw,
        json!({"a": {"target": "zzz", "updated_at": local + 10, "deleted": false}}),
    )
    .await;
    assert_eq!(merged["entries"]["a"]["deleted"], true);
    // A local edit after that supersedes the deletion, whatever the clocks say.
    let set = put(&gw, "a", "m-again").await;
    assert!(set["updated_at"].as_i64().unwrap() > local + 10 - 1);
    assert_eq!(entries(&gw).await["a"]["target"], "m-again");
}

async fn syncing_with(port: u16, peer: u16) -> Gateway {
    Gateway::start_with(Options {
        port: Some(port),
        config_toml: Some("[sync]\ninterval_secs = 1\n".to_owned()),
        env: vec![
            (
                "SWITCHYARD_SYNC_REMOTE".to_owned(),
                format!("http://127.0.0.1:{peer}"),
            ),
            ("SWITCHYARD_SYNC_KEY".to_owned(), ADMIN_KEY.to_owned()),
        ],
        ..Default::default()
    })
    .await
}

/// Wait until both instances hold the same entries and `done` holds for them.
async fn converge(a: &Gateway, b: &Gateway, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (ea, eb) = (entries(a).await, entries(b).await);
        if ea == eb && done(&ea) {
            return ea;
        }
        assert!(
            Instant::now() < deadline,
            "no convergence:\nA {ea}\nB {eb}\nA log:\n{}",
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_syncing_instances_converge_and_deletions_stay_deleted() {
    let (pa, pb) = (free_port(), free_port());
    let a = syncing_with(pa, pb).await;
    let b = syncing_with(pb, pa).await;

    put(&a, "keep", "m-a").await;
    put(&a, "doomed", "m-a").await;
    put(&a, "both", "m-a").await;
    put(&b, "only-b", "m-b").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Written later on B: B's version wins everywhere.
    put(&b, "both", "m-b").await;
    let e = converge(&a, &b, |e| {
        e["doomed"]["target"] == "m-a" && e["only-b"]["target"] == "m-b"
    })
    .await;
    assert_eq!(e["both"]["target"], "m-b");

    // Concurrent edits on both sides: deletions on each, a new pattern on one, an
    // edit of the same alias on both (the later one wins).
    let (da, db, pa_, pb_) = tokio::join!(
        delete(&a, "doomed"),
        delete(&b, "only-b"),
        put(&a, "gpt-*", "m-pattern"),
        put(&b, "keep", "m-b2"),
    );
    assert_eq!((da, db), (204, 204));
    assert!(pa_["updated_at"].is_i64() && pb_["updated_at"].is_i64());
    let e = converge(&a, &b, |e| {
        e["doomed"]["deleted"] == true
            && e["only-b"]["deleted"] == true
            && e["gpt-*"]["target"] == "m-pattern"
            && e["keep"]["target"] == "m-b2"
    })
    .await;
    assert_eq!(e.as_object().unwrap().len(), 5, "{e}");

    // Several more rounds: nothing comes back, both stay identical.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (ea, eb) = (entries(&a).await, entries(&b).await);
    assert_eq!(ea, eb);
    assert_eq!(ea["doomed"]["deleted"], true, "{ea}");
    assert_eq!(ea["only-b"]["deleted"], true, "{ea}");
    for gw in [&a, &b] {
        assert!(
            !gw.log().contains(ADMIN_KEY),
            "the sync key is never logged"
        );
    }
}
