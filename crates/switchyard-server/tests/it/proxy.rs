//! Same-protocol proxying, routing and errors in each protocol's shape.

use crate::harness::{Gateway, Options, anthropic_msg, gemini_body};
use serde_json::{Value, json};
use switchyard_testkit::{Behaviour, ErrorKind, FakeProvider};

struct Setup {
    gw: Gateway,
    fake: FakeProvider,
    key: String,
}

async fn setup() -> Setup {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "up-openai", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "up-anthropic", "base_url": fake.anthropic_base_url(), "models": ["claude-*"]})).await;
    gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "up-gemini", "base_url": fake.gemini_base_url()})).await;
    let key = gw.create_key().await;
    Setup { gw, fake, key }
}

fn header<'a>(call: &'a switchyard_testkit::RecordedCall, name: &str) -> Option<&'a str> {
    call.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn each_protocol_reaches_its_upstream_with_the_account_credential() {
    let s = setup().await;
    let r = s.gw.chat(&s.key, "gpt-4o", "hi").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("model gpt-4o")
    );

    let r =
        s.gw.http
            .post(format!("{}/v1/messages", s.gw.url))
            .header("x-api-key", &s.key)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "test-beta")
            .json(&anthropic_msg("claude-x", "hi"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["type"], "message");

    let r =
        s.gw.http
            .post(format!(
                "{}/v1beta/models/gemini-2.5-flash:generateContent?key={}",
                s.gw.url, s.key
            ))
            .json(&gemini_body("hi"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.json::<Value>().await.unwrap()["candidates"][0]["content"]["parts"][0]["text"]
            .is_string()
    );

    let calls = s.fake.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].api_key, "up-openai");
    assert_eq!(calls[1].api_key, "up-anthropic");
    assert_eq!(header(&calls[1], "anthropic-beta"), Some("test-beta"));
    assert_eq!(calls[2].api_key, "up-gemini");
    assert_eq!(calls[2].model, "gemini-2.5-flash");
    for call in &calls {
        for (name, value) in &call.headers {
            assert!(
                !value.contains(&s.key),
                "client key leaked upstream in header {name}"
            );
        }
        assert!(
            !call.path.contains(&s.key),
            "client key leaked upstream in the URL"
        );
    }
}

#[tokio::test]
async fn auth_errors_come_in_the_clients_shape() {
    let s = setup().await;
    let r = s.gw.chat("wrong", "gpt-4o", "hi").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_api_key"
    );

    let r =
        s.gw.http
            .post(format!("{}/v1/messages", s.gw.url))
            .json(&anthropic_msg("claude-x", "hi"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["type"],
        "authentication_error"
    );

    let r =
        s.gw.http
            .post(format!("{}/v1/models/gemini-x:generateContent", s.gw.url))
            .header("x-goog-api-key", "wrong")
            .json(&gemini_body("hi"))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["status"],
        "UNAUTHENTICATED"
    );
    assert!(
        s.fake.calls().is_empty(),
        "nothing reaches an upstream without a valid key"
    );
}

#[tokio::test]
async fn unknown_model_is_404_and_bad_input_is_400_naming_the_field() {
    let s = setup().await;
    let r = s.gw.chat(&s.key, "llama-3", "hi").await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["param"], "model");

    let cases: [(&str, &str, &str); 6] = [
        ("/v1/chat/completions", "{not json", ""),
        ("/v1/chat/completions", r#"{"messages": []}"#, "model"),
        (
            "/v1/chat/completions",
            r#"{"model": 7, "messages": []}"#,
            "model",
        ),
        (
            "/v1/chat/completions",
            r#"{"model": "gpt-4o", "messages": {}}"#,
            "messages",
        ),
        (
            "/v1/messages",
            r#"{"model": "claude-x", "messages": []}"#,
            "max_tokens",
        ),
        (
            "/v1beta/models/gemini-x:generateContent",
            r#"{"contents": []}"#,
            "contents",
        ),
    ];
    for (path, body, field) in cases {
        let r =
            s.gw.post(path, &s.key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 400, "{path} {body}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains(field),
            "{path} {body}: error should name {field:?}: {text}"
        );
    }
    assert!(s.fake.calls().is_empty());

    let r = s.gw.post("/v1/nothing-here", &s.key).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].is_string());
    let r =
        s.gw.http
            .get(format!("{}/v1/messages", s.gw.url))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.json::<Value>().await.unwrap()["type"], "error");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start_with(Options {
        config_toml: Some("max_body_bytes = 4096\n".into()),
        ..Default::default()
    })
    .await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "k", "base_url": fake.openai_base_url()})).await;
    let key = gw.create_key().await;
    let big = "x".repeat(8192);
    let r = gw.chat(&key, "gpt-4o", &big).await;
    assert_eq!(r.status(), 413);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4096")
    );
    let r = gw.chat(&key, "gpt-4o", "small").await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn retriable_failures_move_to_the_next_account() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    for (label, key) in [
        ("limited", "up-429"),
        ("broken", "up-500"),
        ("good", "up-good"),
    ] {
        gw.add_account(json!({"provider": "openai", "label": label, "api_key": key, "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    }
    fake.set_key_behaviour(
        "up-429",
        Behaviour::Status {
            status: 429,
            retry_after_secs: Some(3),
            kind: ErrorKind::RateLimited,
        },
    );
    fake.set_key_behaviour(
        "up-500",
        Behaviour::Status {
            status: 500,
            retry_after_secs: None,
            kind: ErrorKind::ServerError,
        },
    );
    let key = gw.create_key().await;
    for _ in 0..3 {
        let r = gw.chat(&key, "gpt-4o", "hi").await;
        assert_eq!(r.status(), 200);
    }
    let keys: Vec<String> = fake.calls().into_iter().map(|c| c.api_key).collect();
    assert_eq!(
        keys.iter().filter(|k| *k == "up-good").count(),
        3,
        "{keys:?}"
    );

    // A client error is the client's: relayed as-is, not retried elsewhere.
    fake.clear_calls();
    let r = gw.chat(&key, "gpt-4o", "#fake:status=400").await;
    assert_eq!(r.status(), 400);
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn an_exhausted_pool_answers_429_with_retry_after_in_each_shape() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    let base = fake.openai_base_url();
    gw.add_account(
        json!({"provider": "openai", "label": "a", "api_key": "fake-429", "base_url": base}),
    )
    .await;
    gw.add_account(
        json!({"provider": "openai", "label": "b", "api_key": "fake-429", "base_url": base}),
    )
    .await;
    gw.add_account(json!({"provider": "anthropic", "label": "c", "api_key": "fake-429", "base_url": fake.anthropic_base_url()})).await;
    gw.add_account(json!({"provider": "gemini", "label": "d", "api_key": "fake-429", "base_url": fake.gemini_base_url()})).await;
    let key = gw.create_key().await;

    let r = gw.chat(&key, "gpt-4o", "hi").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limit_exceeded"
    );
    assert_eq!(fake.calls().len(), 2, "both accounts were tried once");

    let r = gw.messages(&key, "claude-x", "hi").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["type"],
        "rate_limit_error"
    );

    let r = gw.generate(&key, "gemini-pro", "hi").await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["status"],
        "RESOURCE_EXHAUSTED"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_fails_over_then_gives_502() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    // A port nothing listens on (bound then released).
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    gw.add_account(json!({"provider": "openai_compatible", "label": "dead", "api_key": "k", "base_url": format!("http://{dead}/v1")})).await;
    let key = gw.create_key().await;
    let r = gw.chat(&key, "any-model", "hi").await;
    assert_eq!(r.status(), 502);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["type"],
        "server_error"
    );

    gw.add_account(json!({"provider": "openai_compatible", "label": "live", "api_key": "k2", "base_url": fake.openai_base_url()})).await;
    for _ in 0..2 {
        let r = gw.chat(&key, "any-model", "hi").await;
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn models_are_listed_in_the_callers_shape() {
    let s = setup().await;
    let r =
        s.gw.http
            .get(format!("{}/v1/models", s.gw.url))
            .bearer_auth(&s.key)
            .send()
            .await
            .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "list");
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "gpt-*")
    );
    let r =
        s.gw.http
            .get(format!("{}/v1/models", s.gw.url))
            .header("x-api-key", &s.key)
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"][0]["type"], "model");
    assert_eq!(v["data"][0]["id"], "claude-*");
    let r =
        s.gw.http
            .get(format!("{}/v1beta/models?key={}", s.gw.url, s.key))
            .send()
            .await
            .unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(
        v["models"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "models/gemini-*")
    );
}
