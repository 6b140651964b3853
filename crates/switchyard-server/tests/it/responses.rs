//! `POST /v1/responses`: passthrough to provider `openai` only, translation for the rest,
//! failover between the two, and broken streams ending in the Responses shape.

use crate::harness::Gateway;
use serde_json::{Value, json};
use switchyard_testkit::{Behaviour, FakeProvider, Protocol};

async fn gateway_with(fake: &FakeProvider, accounts: &[(&str, &str, &str)]) -> (Gateway, String) {
    let gw = Gateway::start().await;
    for (provider, key, models) in accounts {
        let base_url = match *provider {
            "anthropic" => fake.anthropic_base_url(),
            "gemini" => fake.gemini_base_url(),
            _ => fake.openai_base_url(),
        };
        gw.add_account(
            json!({"provider": provider, "label": format!("{provider}-{key}"),
            "api_key": key, "base_url": base_url, "models": [models]}),
        )
        .await;
    }
    let key = gw.create_key().await;
    (gw, key)
}

/// The `data:` payloads of an SSE body, parsed.
fn events(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn only_provider_openai_gets_the_body_as_sent() {
    let fake = FakeProvider::start().await.unwrap();
    let (gw, key) = gateway_with(
        &fake,
        &[
            ("openai", "up-openai", "gpt-*"),
            ("openai_compatible", "up-compat", "local-*"),
        ],
    )
    .await;
    // Odd spacing and an unknown field: a passthrough keeps the bytes.
    let body = r#"{"model":"gpt-x",  "input":"hi","x_extra":{"k":1}}"#;
    let r = gw
        .post("/v1/responses", &key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["id"], "resp_fake_1", "the upstream's own answer");
    let r = gw
        .post("/v1/responses", &key)
        .json(&json!({"model": "local-x", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "response");
    assert!(
        v["output"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("fake OpenAI upstream")
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].protocol, Protocol::Responses);
    assert_eq!(calls[0].path, "/v1/responses");
    assert_eq!(calls[0].body["x_extra"], json!({"k": 1}));
    assert_eq!(calls[1].protocol, Protocol::OpenAi);
    assert_eq!(calls[1].path, "/v1/chat/completions");
}

#[tokio::test]
async fn a_rate_limited_passthrough_fails_over_to_a_translated_account() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour(
        "up-limited",
        Behaviour::Status {
            status: 429,
            retry_after_secs: Some(30),
            kind: switchyard_testkit::ErrorKind::RateLimited,
        },
    );
    let (gw, key) = gateway_with(
        &fake,
        &[
            ("openai", "up-limited", "m-*"),
            ("anthropic", "up-anthropic", "m-*"),
        ],
    )
    .await;
    for stream in [false, true] {
        let text = gw
            .post_text(
                "/v1/responses",
                &key,
                &json!({"model": "m-1", "input": "hi", "stream": stream}),
            )
            .await;
        assert!(text.contains("fake Anthropic upstream"), "{text}");
        if stream {
            let last = events(&text).pop().unwrap();
            assert_eq!(last["type"], "response.completed", "{text}");
        }
    }
}

#[tokio::test]
async fn broken_streams_end_in_the_responses_shape() {
    let fake = FakeProvider::start().await.unwrap();
    let (gw, key) = gateway_with(
        &fake,
        &[
            ("openai", "up-openai", "gpt-*"),
            ("anthropic", "up-anthropic", "claude-*"),
        ],
    )
    .await;
    // Passthrough: the relay appends an `error` event.
    let text = gw
        .post_text(
            "/v1/responses",
            &key,
            &json!({"model": "gpt-x", "input": "hi #fake:disconnect_after=4", "stream": true}),
        )
        .await;
    let last = events(&text).pop().unwrap();
    assert_eq!(last["type"], "error", "{text}");
    assert!(last["message"].as_str().unwrap().contains("mid-stream"));
    // Translated: the stream ends in `response.failed`.
    let text = gw
        .post_text(
            "/v1/responses",
            &key,
            &json!({"model": "claude-x", "input": "hi #fake:disconnect_after=4", "stream": true}),
        )
        .await;
    let all = events(&text);
    let last = all.last().unwrap();
    assert_eq!(last["type"], "response.failed", "{text}");
    assert_eq!(last["response"]["status"], "failed");
    let seqs: Vec<u64> = all
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn stateful_requests_are_refused_before_any_upstream() {
    let fake = FakeProvider::start().await.unwrap();
    let (gw, key) = gateway_with(&fake, &[("openai", "up-openai", "gpt-*")]).await;
    for body in [
        json!({"model": "gpt-x", "input": "hi", "store": true}),
        json!({"model": "gpt-x", "input": "hi", "previous_response_id": "resp_1"}),
    ] {
        let r = gw
            .post("/v1/responses", &key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not stored"),
            "{v}"
        );
    }
    assert!(fake.calls().is_empty());
}
