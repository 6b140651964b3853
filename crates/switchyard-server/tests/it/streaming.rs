//! Streams are relayed as they arrive, end cleanly on upstream failure, and release their
//! account when the client goes away.

use crate::harness::{Gateway, anthropic_msg, gemini_body, openai_chat};
use serde_json::json;
use std::time::{Duration, Instant};
use switchyard_testkit::{Behaviour, FakeProvider};

async fn gateway_with(fake: &FakeProvider, key: &str) -> (Gateway, String) {
    let gw = Gateway::start().await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": key, "base_url": fake.openai_base_url()})).await;
    gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": key, "base_url": fake.anthropic_base_url()})).await;
    gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": key, "base_url": fake.gemini_base_url()})).await;
    let client_key = gw.create_key().await;
    (gw, client_key)
}

#[tokio::test]
async fn chunks_reach_the_client_before_the_stream_ends() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour(
        "slow",
        Behaviour::SlowStream {
            chunk_delay_millis: 120,
        },
    );
    let (gw, key) = gateway_with(&fake, "slow").await;
    let mut body = openai_chat("gpt-4o", "hi");
    body["stream"] = json!(true);
    let start = Instant::now();
    let mut r = gw
        .post("/v1/chat/completions", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let first = r.chunk().await.unwrap().unwrap();
    let first_at = start.elapsed();
    let mut text = String::from_utf8_lossy(&first).into_owned();
    let mut chunks = 1;
    while let Some(c) = r.chunk().await.unwrap() {
        text.push_str(&String::from_utf8_lossy(&c));
        chunks += 1;
    }
    let total = start.elapsed();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(chunks >= 3, "relayed in {chunks} pieces");
    assert!(
        first_at * 2 < total,
        "first chunk at {first_at:?} of {total:?}: the stream was buffered"
    );
}

#[tokio::test]
async fn a_stream_that_breaks_ends_with_an_error_event_in_the_clients_protocol() {
    let fake = FakeProvider::start().await.unwrap();
    // Cut after content has started (earlier cuts fail over instead: see resilience.rs).
    fake.set_key_behaviour("cut", Behaviour::DisconnectMidStream { after_chunks: 2 });
    fake.set_key_behaviour(
        "cut-late",
        Behaviour::DisconnectMidStream { after_chunks: 4 },
    );
    let gw = Gateway::start().await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "cut", "base_url": fake.openai_base_url()})).await;
    gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "cut-late", "base_url": fake.anthropic_base_url()})).await;
    gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "cut", "base_url": fake.gemini_base_url()})).await;
    let key = gw.create_key().await;

    let mut body = openai_chat("gpt-4o", "hi");
    body["stream"] = json!(true);
    let text = gw.post_text("/v1/chat/completions", &key, &body).await;
    assert!(
        text.contains("\"code\":\"upstream_stream_error\""),
        "{text}"
    );
    assert!(!text.contains("[DONE]"));

    let mut body = anthropic_msg("claude-x", "hi");
    body["stream"] = json!(true);
    let text = gw.post_text("/v1/messages", &key, &body).await;
    assert!(text.contains("event: error"), "{text}");
    assert!(!text.contains("message_stop"));

    let text = gw
        .post_text(
            "/v1beta/models/gemini-x:streamGenerateContent?alt=sse",
            &key,
            &gemini_body("hi"),
        )
        .await;
    assert!(text.contains("\"status\":\"UNAVAILABLE\""), "{text}");
    assert_eq!(gw.wait_inflight(0).await, 0);
}

#[tokio::test]
async fn gemini_and_anthropic_streams_pass_through() {
    let fake = FakeProvider::start().await.unwrap();
    let (gw, key) = gateway_with(&fake, "ok").await;
    let text = gw
        .post_text(
            "/v1/models/gemini-x:streamGenerateContent?alt=sse",
            &key,
            &gemini_body("hi"),
        )
        .await;
    assert!(text.contains("finishReason"), "{text}");
    assert!(
        fake.calls()[0]
            .path
            .ends_with(":streamGenerateContent?alt=sse")
    );

    let mut body = anthropic_msg("claude-x", "hi");
    body["stream"] = json!(true);
    let text = gw.post_text("/v1/messages", &key, &body).await;
    assert!(text.contains("event: message_stop"), "{text}");

    let r = gw
        .post("/v1/messages/count_tokens", &key)
        .json(&json!({"model": "claude-x", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.json::<serde_json::Value>().await.unwrap()["input_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[tokio::test]
async fn a_client_that_goes_away_releases_the_account() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour(
        "slow",
        Behaviour::SlowStream {
            chunk_delay_millis: 400,
        },
    );
    let (gw, key) = gateway_with(&fake, "slow").await;
    let mut body = openai_chat("gpt-4o", "hi");
    body["stream"] = json!(true);
    let mut r = gw
        .post("/v1/chat/completions", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    r.chunk().await.unwrap().unwrap();
    assert_eq!(gw.wait_inflight(1).await, 1, "the stream holds its lease");
    drop(r);
    assert_eq!(
        gw.wait_inflight(0).await,
        0,
        "dropping the client released the lease"
    );

    // A hung upstream: the client gives up, the lease is released too.
    fake.set_key_behaviour("slow", Behaviour::Hang);
    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let r = short
        .post(format!("{}/v1/chat/completions", gw.url))
        .bearer_auth(&key)
        .json(&openai_chat("gpt-4o", "hi"))
        .send()
        .await;
    assert!(r.is_err());
    assert_eq!(gw.wait_inflight(0).await, 0);
}

#[tokio::test]
async fn a_client_disconnect_cancels_the_upstream_within_100ms() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour(
        "slow",
        Behaviour::SlowStream {
            chunk_delay_millis: 600,
        },
    );
    let (gw, key) = gateway_with(&fake, "slow").await;
    let metrics_client = reqwest::Client::new();
    let inflight = || {
        let req = metrics_client
            .get(format!("{}/api/metrics", gw.url))
            .bearer_auth(crate::harness::ADMIN_KEY);
        async move {
            let text = req.send().await.unwrap().text().await.unwrap();
            text.lines()
                .find_map(|l| l.strip_prefix("switchyard_inflight_requests "))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap()
        }
    };
    let mut body = anthropic_msg("claude-x", "hi");
    body["stream"] = json!(true);
    let mut r = gw
        .post("/v1/messages", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    r.chunk().await.unwrap().unwrap();
    assert_eq!(inflight().await, 1);
    let dropped = Instant::now();
    drop(r);
    let mut released = None;
    while dropped.elapsed() < Duration::from_millis(500) {
        if inflight().await == 0 {
            released = Some(dropped.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let released = released.expect("the lease was never released");
    println!("upstream cancelled {released:?} after the client went away");
    assert!(released < Duration::from_millis(100), "took {released:?}");
}

#[tokio::test]
async fn a_stream_that_goes_silent_ends_after_the_idle_timeout() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour(
        "stall",
        Behaviour::SlowStream {
            chunk_delay_millis: 4_000,
        },
    );
    let gw = Gateway::start_with(crate::harness::Options {
        config_toml: Some("[upstream]\nidle_timeout_secs = 1\n".into()),
        ..Default::default()
    })
    .await;
    gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "stall", "base_url": fake.gemini_base_url()})).await;
    gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "stall", "base_url": fake.anthropic_base_url(), "models": ["claude-*"]})).await;
    let key = gw.create_key().await;

    // Passthrough: the first event commits the stream, then the upstream goes silent.
    let start = Instant::now();
    let text = gw
        .post_text(
            "/v1beta/models/gemini-x:streamGenerateContent?alt=sse",
            &key,
            &gemini_body("hi"),
        )
        .await;
    let waited = start.elapsed();
    assert!(text.contains("\"status\":\"UNAVAILABLE\""), "{text}");
    assert!(
        waited < Duration::from_millis(3_500),
        "ended after {waited:?}"
    );

    // Translated (OpenAI client, Anthropic upstream): the same silence ends the stream
    // with an error chunk and no `[DONE]`.
    let mut body = openai_chat("claude-x", "hi");
    body["stream"] = json!(true);
    let start = Instant::now();
    let text = gw.post_text("/v1/chat/completions", &key, &body).await;
    let waited = start.elapsed();
    assert!(text.contains("\"error\""), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
    assert!(
        waited < Duration::from_millis(3_500),
        "ended after {waited:?}"
    );
    assert_eq!(gw.wait_inflight(0).await, 0);
}
