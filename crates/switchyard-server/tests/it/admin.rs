//! The management API over real HTTP.

use crate::harness::{ADMIN_KEY, Gateway, openai_chat};
use reqwest::Method;
use serde_json::{Value, json};
use switchyard_testkit::FakeProvider;

#[tokio::test]
async fn admin_routes_need_the_admin_key() {
    let gw = Gateway::start().await;
    for (method, path) in [
        (Method::GET, "/api/accounts"),
        (Method::POST, "/api/keys"),
        (Method::GET, "/api/metrics"),
        (Method::GET, "/api/nope"),
    ] {
        let r = gw
            .http
            .request(method.clone(), format!("{}{path}", gw.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            "unauthorized"
        );
        let r = gw
            .http
            .request(method.clone(), format!("{}{path}", gw.url))
            .bearer_auth("test-admin-key-0124")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let (status, body) = gw.admin_send(Method::GET, "/nope").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (_, body) = gw.admin_send(Method::GET, "/openapi.json").await;
    assert_eq!(body["openapi"], "3.1.0");
}

#[tokio::test]
async fn accounts_crud_validates_and_never_returns_secrets() {
    let gw = Gateway::start().await;
    let secret = "sk-live-TOPSECRET-abcdef123456";
    let bad = [
        (
            json!({"provider": "openai", "label": "", "api_key": "k"}),
            "label",
        ),
        (
            json!({"provider": "nope", "label": "x", "api_key": "k"}),
            "provider",
        ),
        (json!({"provider": "openai", "label": "x"}), "api_key"),
        (
            json!({"provider": "openai", "label": "x", "api_key": "k", "base_url": "ftp://x"}),
            "base_url",
        ),
        (
            json!({"provider": "openai_compatible", "label": "x", "api_key": "k"}),
            "base_url",
        ),
        (
            json!({"provider": "openai", "label": "x", "api_key": "k", "tier": "gold"}),
            "tier",
        ),
        (
            json!({"provider": "openai", "label": "x", "api_key": "k", "models": "gpt-*"}),
            "models",
        ),
    ];
    for (body, field) in bad {
        let (status, v) = gw.admin_json(Method::POST, "/accounts", &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["error"]["field"], field, "{body} → {v}");
    }

    let id = gw.add_account(json!({"provider": "anthropic", "label": "main", "api_key": secret, "tier": "pro", "models": ["claude-*"]})).await;
    let text = gw.admin_text("/accounts").await;
    assert!(!text.contains("TOPSECRET"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["accounts"][0]["api_key_hint"], "sk-…3456");
    assert_eq!(v["accounts"][0]["base_url"], "https://api.anthropic.com");

    let path = format!("/accounts/{id}");
    let (status, _) = gw
        .admin_json(
            Method::PATCH,
            &path,
            &json!({"label": "renamed", "enabled": false}),
        )
        .await;
    assert_eq!(status, 200);
    let v = gw.admin_get(&path).await;
    assert_eq!(
        (v["label"].as_str(), v["enabled"].as_bool()),
        (Some("renamed"), Some(false))
    );
    let (status, _) = gw
        .admin_json(Method::PATCH, &path, &json!({"enabled": "yes"}))
        .await;
    assert_eq!(status, 400);

    assert_eq!(gw.admin_send(Method::DELETE, &path).await.0, 204);
    assert_eq!(gw.admin_send(Method::GET, &path).await.0, 404);
    assert_eq!(gw.admin_send(Method::DELETE, &path).await.0, 404);

    // Nothing in the data directory holds the secret in plain text.
    gw.add_account(json!({"provider": "openai", "label": "again", "api_key": secret}))
        .await;
    for path in crate::harness::data_files(gw.data_dir.path()) {
        let bytes = std::fs::read(path).unwrap();
        assert!(!bytes.windows(9).any(|w| w == b"TOPSECRET"));
    }
    assert!(!gw.log().contains("TOPSECRET"), "a secret reached the log");
}

#[tokio::test]
async fn base_url_with_credentials_is_refused_and_never_echoed() {
    let gw = Gateway::start().await;
    let url = "https://user:pw-HUNTER2@api.example.com/v1";
    let r = gw
        .admin(Method::POST, "/accounts")
        .json(&json!({"provider": "openai_compatible", "label": "x", "api_key": "k", "base_url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["field"], "base_url", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{v}"
    );
    assert!(!text.contains("HUNTER2"), "{text}");

    let id = gw
        .add_account(json!({"provider": "openai", "label": "o", "api_key": "k"}))
        .await;
    let r = gw
        .admin(Method::PATCH, &format!("/accounts/{id}"))
        .json(&json!({"base_url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(!text.contains("HUNTER2"), "{text}");
    let listed = gw.admin_text("/accounts").await;
    assert!(!listed.contains("HUNTER2"), "{listed}");
    assert!(listed.contains("https://api.openai.com/v1"), "{listed}");
    assert!(!gw.log().contains("HUNTER2"));
    for path in crate::harness::data_files(gw.data_dir.path()) {
        let bytes = std::fs::read(path).unwrap();
        assert!(!bytes.windows(7).any(|w| w == b"HUNTER2"));
    }

    // The scheme word of the admin bearer is case-insensitive.
    let r = gw
        .http
        .get(format!("{}/api/accounts", gw.url))
        .header("authorization", format!("bearer {ADMIN_KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn changes_apply_to_the_next_request() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    let id = gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "k1", "base_url": fake.openai_base_url()})).await;
    let created = gw.create_key_named("ci").await;
    let key = created["key"].as_str().unwrap();
    let send = || {
        gw.post("/v1/chat/completions", key)
            .json(&openai_chat("gpt-4o", "hi"))
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);

    let path = format!("/accounts/{id}");
    gw.admin_json(Method::PATCH, &path, &json!({"enabled": false}))
        .await;
    assert_eq!(send().await.unwrap().status(), 404);
    gw.admin_json(
        Method::PATCH,
        &path,
        &json!({"enabled": true, "api_key": "k2"}),
    )
    .await;
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(fake.calls().last().unwrap().api_key, "k2");

    let keys = gw.admin_get("/keys").await;
    assert!(!keys.to_string().contains(key));
    assert_eq!(keys["keys"][0]["name"], "ci");
    let (status, _) = gw
        .admin_send(
            Method::DELETE,
            &format!("/keys/{}", created["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(send().await.unwrap().status(), 401);
    assert_ne!(ADMIN_KEY, key);
}

#[tokio::test]
async fn the_rust_client_speaks_the_same_types() {
    use switchyard_client::{AdminClient, ClientError};
    use switchyard_types::admin::{CreateAccount, UpdateAccount};
    let gw = Gateway::start().await;
    let client = AdminClient::new(&gw.url, ADMIN_KEY);
    let create: CreateAccount = serde_json::from_value(
        json!({"provider": "gemini", "label": "g", "api_key": "AIzaSyExampleExample"}),
    )
    .unwrap();
    let account = client.create_account(&create).await.unwrap();
    assert_eq!(client.list_accounts().await.unwrap(), vec![account.clone()]);
    let change = UpdateAccount {
        tier: Some(switchyard_types::Tier::Ultra),
        ..Default::default()
    };
    assert_eq!(
        client
            .update_account(&account.id, &change)
            .await
            .unwrap()
            .tier,
        switchyard_types::Tier::Ultra
    );
    client.delete_account(&account.id).await.unwrap();
    match client.get_account(&account.id).await {
        Err(ClientError::Api { status, error }) => {
            assert_eq!(status, 404);
            assert_eq!(error.code, "not_found");
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    let key = client.create_key("k").await.unwrap();
    assert_eq!(client.list_keys().await.unwrap().keys[0].id, key.id);
    client.delete_key(&key.id).await.unwrap();
    let wrong = AdminClient::new(&gw.url, "nope-nope-nope");
    assert!(
        matches!(wrong.list_keys().await, Err(ClientError::Api { status, .. }) if status == 401)
    );
}
