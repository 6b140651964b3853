//! Client key policy over real HTTP: each refusal (requests and tokens per minute,
//! budget, model allowlist, expiry, disabled) in each client protocol's error shape, with
//! `Retry-After` on 429s, no upstream call, and an error class in the request log.

use crate::harness::Gateway;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchyard_testkit::FakeProvider;

#[derive(Clone, Copy, Debug)]
enum Client {
    OpenAi,
    Anthropic,
    Gemini,
}

const CLIENTS: [Client; 3] = [Client::OpenAi, Client::Anthropic, Client::Gemini];

/// A model each client protocol reaches its own provider with (passthrough).
fn model(client: Client) -> &'static str {
    match client {
        Client::OpenAi => "gpt-4o-mini",
        Client::Anthropic => "claude-3-5-haiku-latest",
        Client::Gemini => "gemini-2.0-flash",
    }
}

/// Every model costs $1 per token: any answer spends over a small budget.
const CONFIG: &str = r#"
[prices."gpt-4o-mini"]
input = 1000000
output = 1000000
[prices."claude-3-5-haiku-latest"]
input = 1000000
output = 1000000
[prices."gemini-2.0-flash"]
input = 1000000
output = 1000000
"#;

async fn setup() -> (Gateway, FakeProvider) {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::with_config(CONFIG).await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "up-openai", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "up-anthropic", "base_url": fake.anthropic_base_url(), "models": ["claude-*"]})).await;
    gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "up-gemini", "base_url": fake.gemini_base_url(), "models": ["gemini-*"]})).await;
    (gw, fake)
}

/// Create a key with `policy` (merged into `{"name": ...}`); `(id, key)`.
async fn key(gw: &Gateway, policy: Value) -> (String, String) {
    let mut body = json!({"name": "policy test"});
    body.as_object_mut()
        .unwrap()
        .extend(policy.as_object().unwrap().clone());
    let (status, v) = gw.admin_json(Method::POST, "/keys", &body).await;
    assert_eq!(status, 201, "{v}");
    (
        v["id"].as_str().unwrap().to_owned(),
        v["key"].as_str().unwrap().to_owned(),
    )
}

/// One chat request in `client`'s protocol: status, `Retry-After`, body.
async fn send(gw: &Gateway, key: &str, client: Client, model: &str) -> (u16, Option<u64>, Value) {
    let request = match client {
        Client::OpenAi => gw
            .post("/v1/chat/completions", key)
            .json(&json!({"model": model, "messages": [{"role": "user", "content": "hello"}]})),
        Client::Anthropic => gw
            .http
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": model, "max_tokens": 64,
                "messages": [{"role": "user", "content": "hello"}]})),
        Client::Gemini => gw
            .http
            .post(format!("{}/v1beta/models/{model}:generateContent", gw.url))
            .header("x-goog-api-key", key)
            .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]})),
    };
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

/// The error's kind as `client`'s protocol names it.
fn kind(client: Client, body: &Value) -> String {
    let v = match client {
        Client::OpenAi => {
            assert!(body["error"]["message"].is_string(), "{body}");
            &body["error"]["type"]
        }
        Client::Anthropic => {
            assert_eq!(body["type"], "error", "{body}");
            &body["error"]["type"]
        }
        Client::Gemini => {
            assert!(body["error"]["code"].is_u64(), "{body}");
            &body["error"]["status"]
        }
    };
    v.as_str().unwrap_or_default().to_owned()
}

fn message(client: Client, body: &Value) -> String {
    let _ = client;
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// The expected kind per protocol for a status.
fn expected(client: Client, status: u16) -> &'static str {
    match (client, status) {
        (Client::OpenAi, 401) | (Client::Anthropic, 401) => "authentication_error",
        (Client::OpenAi, 403) | (Client::Anthropic, 403) => "permission_error",
        (Client::OpenAi, 429) | (Client::Anthropic, 429) => "rate_limit_error",
        (Client::Gemini, 401) => "UNAUTHENTICATED",
        (Client::Gemini, 403) => "PERMISSION_DENIED",
        (Client::Gemini, 429) => "RESOURCE_EXHAUSTED",
        _ => "?",
    }
}

#[tokio::test]
async fn request_and_token_rates_answer_429_with_retry_after_in_each_shape() {
    let (gw, fake) = setup().await;
    for client in CLIENTS {
        let (_, rpm) = key(&gw, json!({"rpm": 1})).await;
        let (status, _, body) = send(&gw, &rpm, client, model(client)).await;
        assert_eq!(status, 200, "{client:?} {body}");
        let calls = fake.calls().len();
        let (status, retry, body) = send(&gw, &rpm, client, model(client)).await;
        assert_eq!(status, 429, "{client:?} {body}");
        assert_eq!(kind(client, &body), expected(client, 429));
        assert!(
            message(client, &body).contains("limit of 1 requests per minute"),
            "{body}"
        );
        let retry = retry.unwrap();
        assert!((50..=60).contains(&retry), "{client:?} Retry-After {retry}");
        assert_eq!(fake.calls().len(), calls, "a refused request goes nowhere");
        if let Client::OpenAi = client {
            assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        }

        // Tokens are counted at the finish: the first answer's tokens put a key with
        // one token per minute in debt.
        let (_, tpm) = key(&gw, json!({"tpm": 1})).await;
        let (status, _, body) = send(&gw, &tpm, client, model(client)).await;
        assert_eq!(status, 200, "{client:?} {body}");
        let (status, retry, body) = send(&gw, &tpm, client, model(client)).await;
        assert_eq!(status, 429, "{client:?} {body}");
        assert_eq!(kind(client, &body), expected(client, 429));
        assert!(
            message(client, &body).contains("tokens per minute"),
            "{body}"
        );
        assert!(retry.unwrap() >= 60, "{client:?} {retry:?}");
    }
}

#[tokio::test]
async fn an_exhausted_budget_answers_429_until_the_period_ends() {
    let (gw, fake) = setup().await;
    for client in CLIENTS {
        let (id, k) = key(&gw, json!({"budget_usd": 0.5, "budget_period": "day"})).await;
        let (status, _, body) = send(&gw, &k, client, model(client)).await;
        assert_eq!(status, 200, "{client:?} {body}");
        let calls = fake.calls().len();
        let (status, retry, body) = send(&gw, &k, client, model(client)).await;
        assert_eq!(status, 429, "{client:?} {body}");
        assert_eq!(kind(client, &body), expected(client, 429));
        assert!(
            message(client, &body).contains("budget of $0.5 per day is exhausted"),
            "{body}"
        );
        let retry = retry.unwrap();
        assert!((1..=86_400).contains(&retry), "{retry}");
        assert_eq!(fake.calls().len(), calls);
        if let Client::OpenAi = client {
            assert_eq!(body["error"]["code"], "insufficient_quota");
        }
        let view = gw.admin_get(&format!("/keys/{id}")).await;
        assert!(view["budget_used_usd"].as_f64().unwrap() >= 1.0, "{view}");
        assert_eq!(view["budget_usd"], 0.5);
        assert_eq!(view["budget_period"], "day");

        // Raising the budget lets the key through again (its spend is kept).
        let (status, _) = gw
            .admin_json(
                Method::PATCH,
                &format!("/keys/{id}"),
                &json!({"budget_usd": 1000}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, _, body) = send(&gw, &k, client, model(client)).await;
        assert_eq!(status, 200, "{client:?} {body}");
    }
    // A total budget has no period end: a day's Retry-After.
    let (_, k) = key(&gw, json!({"budget_usd": 0})).await;
    let (status, retry, body) = send(&gw, &k, Client::OpenAi, "gpt-4o-mini").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(retry, Some(86_400));
    assert!(
        message(Client::OpenAi, &body).contains("budget of $0 in total is exhausted"),
        "{body}"
    );
}

#[tokio::test]
async fn models_expiry_and_disabled_keys_are_refused_in_each_shape() {
    let (gw, fake) = setup().await;
    let (_, only_gpt) = key(&gw, json!({"models": ["gpt-4o*"]})).await;
    let past = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 10;
    let (_, expired) = key(&gw, json!({"expires_at": past})).await;
    let (_, later) = key(&gw, json!({"expires_at": past + 3600})).await;
    let (disabled_id, disabled) = key(&gw, json!({})).await;
    let (status, view) = gw
        .admin_json(
            Method::PATCH,
            &format!("/keys/{disabled_id}"),
            &json!({"enabled": false, "note": "paused by ops"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["enabled"], false);
    assert_eq!(view["note"], "paused by ops");

    let calls = fake.calls().len();
    for client in CLIENTS {
        let (status, _, body) = send(&gw, &only_gpt, client, model(client)).await;
        match client {
            Client::OpenAi => assert_eq!(status, 200, "{body}"),
            _ => {
                assert_eq!(status, 403, "{client:?} {body}");
                assert_eq!(kind(client, &body), expected(client, 403));
                assert!(
                    message(client, &body).contains("may not use model"),
                    "{body}"
                );
            }
        }
        for (k, what) in [(&expired, "expired"), (&disabled, "disabled")] {
            let (status, retry, body) = send(&gw, k, client, model(client)).await;
            assert_eq!(status, 401, "{client:?} {what} {body}");
            assert_eq!(kind(client, &body), expected(client, 401));
            assert!(message(client, &body).contains(what), "{body}");
            assert_eq!(retry, None);
        }
        let (status, _, body) = send(&gw, &later, client, model(client)).await;
        assert_eq!(status, 200, "{client:?} {body}");
    }
    // Only the allowed and the not-yet-expired requests went upstream.
    assert_eq!(fake.calls().len(), calls + 4);
    let (status, _, body) = send(&gw, &only_gpt, Client::OpenAi, "gpt-3.5-turbo").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("model_not_allowed"))
    );

    // Re-enabled, the key works again; `null` clears the note.
    let (_, view) = gw
        .admin_json(
            Method::PATCH,
            &format!("/keys/{disabled_id}"),
            &json!({"enabled": true, "note": null}),
        )
        .await;
    assert_eq!(view["note"], Value::Null);
    let (status, _, _) = send(&gw, &disabled, Client::Gemini, "gemini-2.0-flash").await;
    assert_eq!(status, 200);

    // The refusals are in the request log, with their class and no attempt.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let page = gw.admin_get("/logs?limit=500").await;
        let items = page["items"].as_array().unwrap();
        let count = |class: &str| {
            items
                .iter()
                .filter(|i| {
                    i["error"] == class
                        && i["key_id"].is_string()
                        && i["attempts"].as_array().unwrap().is_empty()
                })
                .count()
        };
        let counts = [
            count("model_not_allowed"),
            count("key_expired"),
            count("key_disabled"),
        ];
        if counts == [3, 3, 3] {
            break;
        }
        assert!(Instant::now() < deadline, "{counts:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn key_policy_fields_are_validated_and_listed() {
    let gw = Gateway::start().await;
    for (body, field) in [
        (json!({"name": "k", "rpm": 0}), "rpm"),
        (json!({"name": "k", "tpm": 0}), "tpm"),
        (json!({"name": "k", "budget_usd": -1}), "budget_usd"),
        (
            json!({"name": "k", "budget_period": "week"}),
            "budget_period",
        ),
        (json!({"name": "k", "models": ["has space"]}), "models"),
        (json!({"name": "k", "expires_at": -5}), "expires_at"),
        (json!({"name": "k", "rmp": 5}), "rmp"),
    ] {
        let (status, v) = gw.admin_json(Method::POST, "/keys", &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let (id, _) = key(
        &gw,
        json!({"rpm": 10, "tpm": 1000, "budget_usd": 2.5, "budget_period": "month",
            "models": ["gpt-*"], "expires_at": 4_102_444_800_i64}),
    )
    .await;
    let list = gw.admin_get("/keys").await;
    let k = &list["keys"][0];
    assert_eq!(k["id"], id.as_str());
    assert_eq!(
        (
            &k["rpm"],
            &k["tpm"],
            &k["budget_usd"],
            &k["budget_period"],
            &k["budget_used_usd"]
        ),
        (
            &json!(10),
            &json!(1000),
            &json!(2.5),
            &json!("month"),
            &json!(0.0)
        )
    );
    assert_eq!(k["models"], json!(["gpt-*"]));
    assert_eq!(k["expires_at"], 4_102_444_800_i64);
    assert_eq!(k["enabled"], true);
    assert!(k.get("key").is_none());
    // PATCH: null clears a limit, absent fields stay.
    let (_, v) = gw
        .admin_json(
            Method::PATCH,
            &format!("/keys/{id}"),
            &json!({"rpm": null, "models": null}),
        )
        .await;
    assert_eq!(
        (&v["rpm"], &v["models"], &v["tpm"]),
        (&Value::Null, &Value::Null, &json!(1000))
    );
    let (status, _) = gw
        .admin_json(Method::PATCH, "/keys/key_nope", &json!({"enabled": false}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn spend_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = || crate::harness::Options {
        shared_data_dir: Some(dir.path().to_owned()),
        config_toml: Some(CONFIG.to_owned()),
        ..Default::default()
    };
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start_with(options()).await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "up-openai", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    let (id, k) = key(&gw, json!({"budget_usd": 0.5, "budget_period": "month"})).await;
    let (status, _, _) = send(&gw, &k, Client::OpenAi, "gpt-4o-mini").await;
    assert_eq!(status, 200);
    // Wait for the request log (and its usage rollup) to be written.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let page = gw.admin_get(&format!("/logs?key_id={id}")).await;
        if !page["items"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "not logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(gw);
    let restarted = Gateway::start_with(options()).await;
    let view = restarted.admin_get(&format!("/keys/{id}")).await;
    assert!(view["budget_used_usd"].as_f64().unwrap() >= 1.0, "{view}");
    let (status, _, body) = send(&restarted, &k, Client::OpenAi, "gpt-4o-mini").await;
    assert_eq!(status, 429, "{body}");
}
