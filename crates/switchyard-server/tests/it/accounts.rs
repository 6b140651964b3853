//! Accounts, wave 2: dead credentials (forbidden, verify), quota from headers, 429
//! bodies and billing endpoints, import/export, bulk actions — through the real binary
//! against the testkit's fakes.

use crate::harness::{Gateway, Options};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use switchyard_testkit::FakeProvider;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// POST an action (`verify`, `refresh-quota`) on account `id`; status and answer.
async fn act(gw: &Gateway, id: &str, action: &str) -> (StatusCode, Value) {
    gw.admin_json(
        Method::POST,
        &format!("/accounts/{id}/{action}"),
        &json!({}),
    )
    .await
}

fn chat_calls(fake: &FakeProvider, key: &str) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.api_key == key && c.path.ends_with("/chat/completions"))
        .count()
}

#[tokio::test]
async fn a_revoked_key_is_forbidden_after_its_first_failure_until_verified() {
    let fake = FakeProvider::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        shared_data_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let gw = Gateway::start_with(options()).await;
    let dead = gw.add_account(json!({"provider": "openai", "label": "dead", "api_key": "key-dead", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    let fine = gw.add_account(json!({"provider": "openai", "label": "fine", "api_key": "key-fine", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    fake.revoke_key("key-dead");
    let key = gw.create_key().await;
    for _ in 0..10 {
        let r = gw.chat(&key, "gpt-4o", "hi").await;
        assert_eq!(r.status(), 200, "another account answers");
    }
    // Idle accounts tie; the operator's order sends the first request to the dead one.
    assert_eq!(
        chat_calls(&fake, "key-dead"),
        1,
        "tried once, then never again"
    );
    let view = gw.admin_get(&format!("/accounts/{dead}")).await;
    assert_eq!(view["status"], "forbidden", "{view}");
    assert!(
        view["status_reason"].as_str().unwrap().contains("401"),
        "{view}"
    );
    assert!(view["status_since"].as_i64().unwrap() >= now() - 60);

    // Verify while still revoked: refused, still forbidden.
    let (code, result) = act(&gw, &dead, "verify").await;
    assert_eq!(code, 200);
    assert_eq!(result["ok"], false);
    assert_eq!(result["status"], "forbidden");
    assert_eq!(result["http_status"], 401);

    // The mark is persisted: a restarted gateway on the same data dir still skips it.
    gw.terminate();
    assert_eq!(gw.wait_exit(Duration::from_secs(10)).await, Some(0));
    let gw = Gateway::start_with(options()).await;
    let view = gw.admin_get(&format!("/accounts/{dead}")).await;
    assert_eq!(view["status"], "forbidden", "survives a restart: {view}");
    // So does the quota snapshot (written at shutdown, read back by the upkeep task).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let quota = gw.admin_get("/quota").await;
        let restored =
            quota["items"].as_array().unwrap().iter().any(|i| {
                i["account_id"] == fine.as_str() && i["source"] == "openai-headers:requests"
            });
        if restored {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "quota not restored: {quota}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fake.clear_calls();
    for _ in 0..4 {
        gw.chat(&key, "gpt-4o", "hi").await;
    }
    assert_eq!(chat_calls(&fake, "key-dead"), 0);

    // Restored upstream: verify clears the mark and routing uses the account again.
    fake.restore_key("key-dead");
    let (_, result) = act(&gw, &dead, "verify").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["status"], "ok");
    let view = gw.admin_get(&format!("/accounts/{dead}")).await;
    assert_eq!(view["status"], "ok");
    assert!(view["status_reason"].is_null());
    let calls = fake.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.api_key == "key-dead" && c.path == "/v1/models"),
        "verify lists the models"
    );
    fake.clear_calls();
    for i in 0..6 {
        // New conversations each time: session affinity would keep one on its account.
        let r = gw.chat(&key, "gpt-4o", &format!("hello {i}")).await;
        assert_eq!(r.status(), 200);
    }
    assert!(chat_calls(&fake, "key-dead") > 0, "back in routing");
}

#[tokio::test]
async fn a_client_error_does_not_mark_the_account() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    let id = gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "k", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    let key = gw.create_key().await;
    let r = gw.chat(&key, "gpt-4o", "#fake:status=400").await;
    assert_eq!(r.status(), 400);
    let view = gw.admin_get(&format!("/accounts/{id}")).await;
    assert_eq!(view["status"], "ok");
}

fn item<'a>(items: &'a [Value], account: &str, source: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["account_id"] == account && i["source"] == source)
        .unwrap_or_else(|| panic!("no {source} item for {account} in {items:?}"))
}

#[tokio::test]
async fn quota_shows_the_limits_and_resets_of_each_providers_answers() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    let openai = gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "q-openai", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    let anthropic = gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "q-anthropic", "base_url": fake.anthropic_base_url(), "models": ["claude-*"]})).await;
    let gemini = gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "fake-quota", "base_url": fake.gemini_base_url(), "models": ["gemini-*"], "quota_scope": "project-1"})).await;
    let sibling = gw.add_account(json!({"provider": "gemini", "label": "g2", "api_key": "fake-quota", "base_url": fake.gemini_base_url(), "models": ["gemini-*"], "quota_scope": "project-1", "enabled": false})).await;
    let key = gw.create_key().await;
    let started = now();
    for _ in 0..2 {
        let r = gw.chat(&key, "gpt-4o", "hi").await;
        assert_eq!(r.status(), 200);
        let r = gw.messages(&key, "claude-x", "hi").await;
        assert_eq!(r.status(), 200);
    }
    // Gemini: a daily quota runs out (429 with a …PerDay… QuotaFailure).
    for _ in 0..2 {
        let r = gw.generate(&key, "gemini-x", "hi").await;
        assert_eq!(r.status(), 429);
    }
    let gemini_calls = fake
        .calls()
        .iter()
        .filter(|c| c.api_key == "fake-quota")
        .count();
    assert_eq!(
        gemini_calls, 1,
        "the exhausted daily quota locks the account"
    );

    let quota = gw.admin_get("/quota").await;
    let items = quota["items"].as_array().unwrap();
    let requests = item(items, &openai, "openai-headers:requests");
    assert_eq!(requests["model"], "gpt-4o");
    assert_eq!(requests["unit"], "requests");
    assert_eq!(requests["limit"], 10000.0);
    assert_eq!(requests["remaining"], 9999.0);
    let reset = requests["resets_at"].as_i64().unwrap();
    assert!(
        (started..=now() + 1).contains(&reset),
        "6ms from the answer: {reset}"
    );
    let tokens = item(items, &openai, "openai-headers:tokens");
    assert_eq!(
        (tokens["limit"].as_f64(), tokens["remaining"].as_f64()),
        (Some(1_000_000.0), Some(999_900.0))
    );
    assert_eq!(tokens["unit"], "tokens");

    let requests = item(items, &anthropic, "anthropic-headers:requests");
    assert_eq!(requests["model"], "claude-x");
    assert_eq!(requests["limit"], 1000.0);
    assert_eq!(requests["remaining"], 999.0);
    let reset = requests["resets_at"].as_i64().unwrap();
    assert!(
        (started + 1..=now() + 1).contains(&reset),
        "a second after the answer: {reset}"
    );
    let tokens = item(items, &anthropic, "anthropic-headers:tokens");
    assert_eq!(tokens["remaining"], 79000.0);

    let day = items
        .iter()
        .find(|i| i["account_id"] == gemini && i["source"].as_str().unwrap().contains("PerDay"))
        .unwrap_or_else(|| panic!("no daily Gemini item in {items:?}"));
    assert_eq!(day["model"], "gemini-x");
    assert_eq!(day["limit"], 20.0);
    assert_eq!(day["remaining"], 0.0);
    let reset = day["resets_at"].as_i64().unwrap();
    assert!(
        reset > now() + 60 && reset <= now() + 25 * 3600,
        "midnight Pacific: {reset}"
    );
    // The sibling in the same quota scope shares the snapshot.
    assert!(
        items
            .iter()
            .any(|i| i["account_id"] == sibling && i["source"] == day["source"])
    );
}

#[tokio::test]
async fn billing_endpoints_are_polled_on_request() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    let openrouter = gw.add_account(json!({"provider": "openrouter", "label": "or", "api_key": "sk-or-v1-k", "base_url": format!("{}/api/v1", fake.base_url())})).await;
    let openai = gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "k", "admin_key": "sk-admin-k", "base_url": fake.openai_base_url()})).await;
    let anthropic = gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "k", "admin_key": "sk-ant-admin-k", "base_url": fake.anthropic_base_url()})).await;
    let plain = gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "k", "base_url": fake.gemini_base_url()})).await;

    let view = gw.admin_get(&format!("/accounts/{openai}")).await;
    assert_eq!(view["has_admin_key"], true);
    assert!(!view.to_string().contains("sk-admin-k"), "never returned");

    let (code, list) = act(&gw, &openrouter, "refresh-quota").await;
    assert_eq!(code, 200, "{list}");
    let credits = item(
        list["items"].as_array().unwrap(),
        &openrouter,
        "openrouter-key",
    );
    assert_eq!(credits["unit"], "usd");
    assert_eq!(credits["limit"], 100.0);
    assert_eq!(credits["remaining"], 74.5);
    assert_eq!(credits["used"], 25.5);
    assert!(credits["model"].is_null());
    assert!(credits["resets_at"].as_i64().unwrap() > now(), "next month");

    let (code, list) = act(&gw, &openai, "refresh-quota").await;
    assert_eq!(code, 200, "{list}");
    let spend = item(
        list["items"].as_array().unwrap(),
        &openai,
        "openai-costs:month",
    );
    assert!(
        (spend["used"].as_f64().unwrap() - 12.34).abs() < 1e-9,
        "{spend}"
    );

    let (code, list) = act(&gw, &anthropic, "refresh-quota").await;
    assert_eq!(code, 200, "{list}");
    let spend = item(
        list["items"].as_array().unwrap(),
        &anthropic,
        "anthropic-cost-report:month",
    );
    assert!(
        (spend["used"].as_f64().unwrap() - 12.345).abs() < 1e-9,
        "cents → USD: {spend}"
    );

    let (code, body) = act(&gw, &plain, "refresh-quota").await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"]["code"], "nothing_to_poll");
    let quota = gw.admin_get("/quota").await;
    assert!(quota["items"].as_array().unwrap().len() >= 3);
    assert!(
        !gw.log().contains("sk-admin-k") && !gw.log().contains("sk-ant-admin-k"),
        "admin keys never logged"
    );
}

#[tokio::test]
async fn import_is_all_or_nothing_and_export_round_trips() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    let good = json!({"provider": "openai", "label": "one", "api_key": "sk-import-one-secret", "base_url": fake.openai_base_url(), "models": ["gpt-*"], "display_order": 2});
    let bad = json!({"provider": "openai", "label": "two", "api_key": "sk-two", "base_url": "ftp://nope"});
    let (code, body) = gw
        .admin_json(Method::POST, "/accounts/import", &json!([good, bad]))
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(body["error"]["field"], "[1].base_url", "{body}");
    let (code, body) = gw
        .admin_json(
            Method::POST,
            "/accounts/import",
            &json!([good, {"provider": "openai", "api_key": "k"}]),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(body["error"]["field"], "[1].label", "{body}");
    let (code, body) = gw
        .admin_json(
            Method::POST,
            "/accounts/import",
            &json!([{"provider": "openai", "label": "x"}]),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(body["error"]["field"], "[0].api_key", "{body}");
    assert_eq!(
        gw.admin_get("/accounts").await["accounts"],
        json!([]),
        "nothing written"
    );

    let items = json!([
        good,
        {"provider": "anthropic", "label": "two", "api_key": "sk-ant-import-two", "admin_key": "sk-ant-admin-two", "base_url": fake.anthropic_base_url(), "tier": "pro", "quota_scope": "org", "enabled": false, "display_order": 1},
        {"id": "acc_fixed-id", "provider": "gemini", "label": "three", "api_key": "AIza-import-three"}
    ]);
    let (code, body) = gw
        .admin_json(Method::POST, "/accounts/import", &items)
        .await;
    assert_eq!(code, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["action"] == "created"));
    assert_eq!(results[2]["id"], "acc_fixed-id");
    let listed = gw.admin_get("/accounts").await;
    let labels: Vec<&str> = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["three", "two", "one"], "display_order first");
    assert_eq!(listed["accounts"][1]["status"], "disabled");

    let plain = gw.admin_get("/accounts/export").await;
    assert!(!plain.to_string().contains("sk-import-one-secret"));
    assert!(plain[0].get("api_key").is_none());
    assert!(!gw.log().contains("WITH their secrets"));
    let response = gw
        .admin(
            reqwest::Method::GET,
            "/accounts/export?include_secrets=true",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "no cache keeps the secrets"
    );
    let full: serde_json::Value = response.json().await.unwrap();
    let text = full.to_string();
    assert!(text.contains("sk-import-one-secret") && text.contains("sk-ant-admin-two"));
    // The log is read from the process's stderr by a thread: give the line a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gw.log().contains("WITH their secrets") && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = gw.log();
    assert!(
        log.contains("WITH their secrets"),
        "the secret export is logged"
    );
    assert!(!log.contains("sk-import-one-secret"), "without the secrets");

    // Into a fresh gateway: everything comes back, ids included.
    let other = Gateway::start().await;
    let (code, body) = other
        .admin_json(Method::POST, "/accounts/import", &full)
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        other
            .admin_get("/accounts/export?include_secrets=true")
            .await,
        full
    );
    // Into the same gateway: every item updates its account.
    let (code, body) = gw
        .admin_json(Method::POST, "/accounts/import", &plain)
        .await;
    assert_eq!(code, 200, "{body}");
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "updated")
    );
    assert_eq!(
        gw.admin_get("/accounts/export?include_secrets=true").await,
        full,
        "secrets kept"
    );
    let (code, body) = other
        .admin_json(
            Method::POST,
            "/accounts/import",
            &json!([{"id": "acc_fixed-id", "provider": "openai", "label": "x"}]),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(body["error"]["field"], "[0].provider");
}

#[tokio::test]
async fn bulk_actions_enable_disable_and_delete() {
    let gw = Gateway::start().await;
    let a = gw
        .add_account(json!({"provider": "openai", "label": "a", "api_key": "k1"}))
        .await;
    let b = gw
        .add_account(json!({"provider": "openai", "label": "b", "api_key": "k2"}))
        .await;
    let (code, body) = gw
        .admin_json(
            Method::POST,
            "/accounts/bulk",
            &json!({"ids": [a, b, "acc_missing"], "action": "disable"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["affected"], json!([a, b]));
    assert_eq!(body["missing"], json!(["acc_missing"]));
    let listed = gw.admin_get("/accounts").await;
    assert!(
        listed["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["enabled"] == false && x["status"] == "disabled")
    );
    let (code, _) = gw
        .admin_json(
            Method::POST,
            "/accounts/bulk",
            &json!({"ids": [a], "action": "enable"}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        gw.admin_get(&format!("/accounts/{a}")).await["status"],
        "ok"
    );
    let (code, body) = gw
        .admin_json(
            Method::POST,
            "/accounts/bulk",
            &json!({"ids": [b], "action": "delete"}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(body["affected"], json!([b]));
    assert_eq!(
        gw.admin_get("/accounts").await["accounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (code, body) = gw
        .admin_json(
            Method::POST,
            "/accounts/bulk",
            &json!({"ids": [], "action": "delete"}),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(body["error"]["field"], "ids");
    let (code, _) = gw
        .admin_json(
            Method::POST,
            "/accounts/bulk",
            &json!({"ids": [a], "action": "explode"}),
        )
        .await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn the_rust_client_covers_the_new_routes() {
    use switchyard_client::AdminClient;
    use switchyard_types::accounts::{AccountStatus, BulkAction, BulkRequest, ImportAccount};
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    let client = AdminClient::new(&gw.url, crate::harness::ADMIN_KEY);
    let item: ImportAccount = serde_json::from_value(json!({"provider": "openrouter", "label": "or", "api_key": "sk-or-v1-c", "base_url": format!("{}/api/v1", fake.base_url())})).unwrap();
    let imported = client.import_accounts(&[item]).await.unwrap();
    let id = imported.results[0].id.clone();
    let exported = client.export_accounts(true).await.unwrap();
    assert_eq!(exported[0].api_key.as_deref(), Some("sk-or-v1-c"));
    let verified = client.verify_account(&id).await.unwrap();
    assert!(verified.ok, "{verified:?}");
    assert_eq!(verified.status, AccountStatus::Ok);
    let polled = client.refresh_quota(&id).await.unwrap();
    assert_eq!(polled.items[0].remaining, Some(74.5));
    assert_eq!(client.quota().await.unwrap(), polled);
    let bulk = client
        .bulk_accounts(&BulkRequest {
            ids: vec![id.clone()],
            action: BulkAction::Disable,
        })
        .await
        .unwrap();
    assert_eq!(bulk.affected, vec![id.clone()]);
    assert_eq!(
        client.get_account(&id).await.unwrap().status,
        AccountStatus::Disabled
    );
}

#[tokio::test]
async fn a_revoked_key_is_marked_for_every_provider_and_verify_reports_it() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    let anthropic = gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "rev-anthropic", "base_url": fake.anthropic_base_url(), "models": ["claude-*"]})).await;
    let gemini = gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "rev-gemini", "base_url": fake.gemini_base_url(), "models": ["gemini-*"]})).await;
    fake.revoke_key("rev-anthropic");
    fake.revoke_key("rev-gemini");
    let key = gw.create_key().await;
    let r = gw.messages(&key, "claude-x", "hi").await;
    assert!(r.status().is_server_error(), "{}", r.status());
    let r = gw.generate(&key, "gemini-x", "hi").await;
    assert!(r.status().is_server_error(), "{}", r.status());
    for id in [&anthropic, &gemini] {
        let view = gw.admin_get(&format!("/accounts/{id}")).await;
        assert_eq!(view["status"], "forbidden", "{view}");
    }
    // Nothing else serves these models: the next requests never reach the upstream.
    let before = fake.calls().len();
    for _ in 0..3 {
        gw.messages(&key, "claude-x", "hi").await;
    }
    assert_eq!(fake.calls().len(), before);
    let (_, result) = act(&gw, &gemini, "verify").await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["status"], "forbidden");
    fake.restore_key("rev-anthropic");
    let (_, result) = act(&gw, &anthropic, "verify").await;
    assert_eq!(result["ok"], true, "{result}");
    let r = gw.messages(&key, "claude-x", "hi").await;
    assert_eq!(r.status(), 200);
}
