//! OAuth accounts: sign-in through the testkit's fake authorization server (browser
//! callback and pasted URL), serving with bearer tokens, refresh ahead of expiry under
//! load, refresh-and-retry on a 401, `needs_reauth` after a revoked grant.

use crate::harness::{Gateway, data_files, openai_chat};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use switchyard_testkit::oauth::{FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};
use switchyard_testkit::{FakeOAuth, FakeProvider};

fn config(idp: &FakeOAuth, provider: &str, project: Option<&str>) -> String {
    let project = project
        .map(|p| format!("project = \"{p}\"\n"))
        .unwrap_or_default();
    format!(
        "[oauth]\nmin_token_lifetime_secs = 2\n[oauth.providers.corp]\nauth_url = \"{}\"\ntoken_url = \"{}\"\nclient_id = \"{FAKE_CLIENT_ID}\"\nclient_secret = \"{FAKE_CLIENT_SECRET}\"\nscopes = [\"llm\"]\nprovider = \"{provider}\"\n{project}",
        idp.auth_url(),
        idp.token_url()
    )
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start(gw: &Gateway, body: &Value) -> Value {
    let (status, v) = gw.admin_json(Method::POST, "/oauth/start", body).await;
    assert_eq!(status, 200);
    v
}

/// Follow the authorization URL as a browser would; the address the provider sent it
/// back to.
async fn authorize(auth_url: &str) -> String {
    let r = no_redirects().get(auth_url).send().await.unwrap();
    assert_eq!(r.status(), 302);
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Start a sign-in for an OpenAI account at `fake` with `extra` fields, authorize it;
/// the callback address.
async fn sign_in(gw: &Gateway, fake: &FakeProvider, extra: Value) -> String {
    let mut body = json!({"provider": "corp", "base_url": fake.openai_base_url()});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let started = start(gw, &body).await;
    authorize(started["auth_url"].as_str().unwrap()).await
}

/// Paste the address a browser was sent to.
async fn complete(gw: &Gateway, url: String) -> (StatusCode, Value) {
    gw.admin_json(Method::POST, "/oauth/complete", &json!({ "url": url }))
        .await
}

/// Options for a gateway on the shared data dir `dir`, with `idp` as provider `corp`.
fn on_dir(dir: &tempfile::TempDir, idp: &FakeOAuth) -> crate::harness::Options {
    crate::harness::Options {
        shared_data_dir: Some(dir.path().to_owned()),
        config_toml: Some(config(idp, "openai", None)),
        ..Default::default()
    }
}

fn bearer_of(call: &switchyard_testkit::RecordedCall) -> Option<&str> {
    call.headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .and_then(|(_, v)| v.strip_prefix("Bearer "))
}

#[tokio::test]
async fn a_gemini_account_signs_in_in_a_browser_and_refreshes_under_load() {
    let fake = FakeProvider::start().await.unwrap();
    let idp = FakeOAuth::start().await.unwrap();
    fake.set_token_gate(idp.token_gate());
    // Tokens live 3 s: refreshed 0.75 s before they expire, several times in the run.
    idp.set_access_ttl(Duration::from_secs(3));
    let gw = Gateway::with_config(&config(&idp, "gemini", Some("proj-1"))).await;

    let providers = gw.admin_get("/oauth/providers").await;
    assert_eq!(
        providers,
        json!({"providers": [{"name": "corp", "provider": "gemini"}]})
    );
    let started = start(
        &gw,
        &json!({"provider": "corp", "label": "gemini-oauth", "base_url": fake.gemini_base_url(), "models": ["gemini-*"]}),
    )
    .await;
    let auth_url = started["auth_url"].as_str().unwrap();
    assert!(
        auth_url.contains("code_challenge_method=S256"),
        "{auth_url}"
    );
    let callback = authorize(auth_url).await;
    assert!(
        callback.starts_with(&format!("{}/api/oauth/callback?", gw.url)),
        "{callback}"
    );
    // The browser lands on the callback without the admin key.
    let page = gw.http.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let text = page.text().await.unwrap();
    assert!(
        text.contains("gemini-oauth") && text.contains("added"),
        "{text}"
    );
    assert!(!text.contains("fake-oauth-"), "no token on the page");
    // A replayed callback is refused.
    let replay = gw.http.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 409);
    assert!(replay.text().await.unwrap().contains("already"));

    let accounts = gw.admin_get("/accounts").await;
    let account = &accounts["accounts"][0];
    assert_eq!(account["provider"], "gemini");
    assert_eq!(account["status"], "ok");
    assert_eq!(idp.code_exchanges(), 1);

    // 20 clients for ~6 s, across several expiries.
    let key = gw.create_key().await;
    let gw = Arc::new(gw);
    let failed = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(6);
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let (gw, key, failed, served) = (
                Arc::clone(&gw),
                key.clone(),
                Arc::clone(&failed),
                Arc::clone(&served),
            );
            tokio::spawn(async move {
                while Instant::now() < until {
                    let r = gw.chat(&key, "gemini-2.5-flash", "hi").await;
                    if r.status() == 200 {
                        served.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    let warnings: Vec<String> = gw
        .log()
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .take(20)
        .map(str::to_owned)
        .collect();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "{warnings:#?}");
    assert!(served.load(Ordering::Relaxed) > 100);
    assert!(
        idp.refresh_calls() >= 2,
        "refreshed {}",
        idp.refresh_calls()
    );
    assert_eq!(
        idp.refresh_reuse_attempts(),
        0,
        "no refresh token used twice"
    );
    let calls = fake.calls();
    let tokens: std::collections::HashSet<&str> = calls.iter().filter_map(bearer_of).collect();
    assert!(tokens.len() >= 3, "{} tokens used", tokens.len());
    for call in &calls {
        assert!(bearer_of(call).unwrap().starts_with("fake-oauth-at-"));
        assert!(
            call.headers
                .iter()
                .any(|(k, v)| k == "x-goog-user-project" && v == "proj-1")
        );
        assert!(!call.headers.iter().any(|(k, _)| k == "x-goog-api-key"));
    }
    // Tokens are encrypted at rest and never logged.
    let log = gw.log();
    for file in data_files(gw.data_dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        for needle in [b"fake-oauth-at-".as_slice(), b"fake-oauth-rt-".as_slice()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds a token",
                file.display()
            );
        }
    }
    assert!(!log.contains("fake-oauth-at-") && !log.contains("fake-oauth-rt-"));
    assert!(
        !log.contains("fake-code-"),
        "no authorization code in the log"
    );
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_requests_retried() {
    let fake = FakeProvider::start().await.unwrap();
    let idp = FakeOAuth::start().await.unwrap();
    fake.set_token_gate(idp.token_gate());
    let gw = Gateway::with_config(&config(&idp, "openai", None)).await;
    let callback = sign_in(&gw, &fake, json!({"models": ["gpt-*"]})).await;
    assert_eq!(gw.http.get(&callback).send().await.unwrap().status(), 200);
    let key = gw.create_key().await;
    let r = gw.chat(&key, "gpt-4o", "hi").await;
    assert_eq!(r.status(), 200);
    // The provider stops honouring the access token early (the grant is fine): ten
    // requests at once all get 401, share one refresh, and are retried with the new
    // token.
    idp.set_refresh_delay(Duration::from_millis(300));
    idp.expire_access_tokens();
    let results = futures_util::future::join_all((0..10).map(|_| {
        gw.post("/v1/chat/completions", &key)
            .json(&openai_chat("gpt-4o", "hi"))
            .send()
    }))
    .await;
    for r in results {
        assert_eq!(r.unwrap().status(), 200);
    }
    assert_eq!(idp.refresh_calls(), 1);
    assert_eq!(idp.refresh_reuse_attempts(), 0);
    let accounts = gw.admin_get("/accounts").await;
    assert_eq!(accounts["accounts"][0]["status"], "ok");
}

#[tokio::test]
async fn a_pasted_url_completes_and_a_revoked_grant_needs_a_new_sign_in() {
    let fake = FakeProvider::start().await.unwrap();
    let idp = FakeOAuth::start().await.unwrap();
    fake.set_token_gate(idp.token_gate());
    let gw = Gateway::with_config(&config(&idp, "openai", None)).await;
    // A provider error and an unknown state are clear, and leak nothing.
    idp.deny_next();
    let (status, body) = complete(&gw, sign_in(&gw, &fake, json!({})).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "oauth_denied", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access_denied")
    );
    let (status, body) = complete(
        &gw,
        format!("{}/api/oauth/callback?code=x&state=made-up", gw.url),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_state");
    let (status, body) = gw
        .admin_json(Method::POST, "/oauth/start", &json!({"provider": "nope"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "provider");

    // A headless operator pastes the address the browser was sent to.
    let pasted = sign_in(&gw, &fake, json!({"label": "oauth", "models": ["gpt-*"]})).await;
    let (status, done) = complete(&gw, pasted.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(done["created"], true);
    assert_eq!(done["account"]["oauth_provider"], "corp");
    let oauth_id = done["account"]["id"].as_str().unwrap().to_owned();
    assert_eq!(complete(&gw, pasted).await.0, 409, "single use");
    // A second account to fall back on.
    let backup = gw.add_account(json!({"provider": "openai", "label": "backup", "api_key": "key-backup", "base_url": fake.openai_base_url(), "models": ["gpt-*"]}))
        .await;
    let key = gw.create_key().await;
    let ask = || async { gw.chat(&key, "gpt-4o", "hi").await.status() };
    assert_eq!(ask().await, 200);
    let oauth_calls = || {
        fake.calls()
            .iter()
            .filter(|c| bearer_of(c).is_some_and(|b| b.starts_with("fake-oauth-at-")))
            .count()
    };
    assert_eq!(oauth_calls(), 1, "the OAuth account comes first");

    // The grant is revoked: the next request's 401 leads to a refresh, refused with
    // invalid_grant; the account needs a new sign-in and the request goes elsewhere.
    idp.revoke_all();
    for _ in 0..5 {
        assert_eq!(ask().await, 200);
    }
    assert_eq!(
        oauth_calls(),
        2,
        "tried once after the revocation, then skipped"
    );
    let view = gw.admin_get(&format!("/accounts/{oauth_id}")).await;
    assert_eq!(view["status"], "needs_reauth", "{view}");
    assert!(
        view["status_reason"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{view}"
    );

    // Signing in again (same identity) updates the account and clears needs_reauth.
    let started = start(&gw, &json!({"provider": "corp"})).await;
    let (status, done) =
        complete(&gw, authorize(started["auth_url"].as_str().unwrap()).await).await;
    assert_eq!(status, 200);
    assert_eq!(done["created"], false);
    assert_eq!(done["account"]["id"], oauth_id.as_str());
    assert_eq!(done["account"]["status"], "ok");
    assert_eq!(
        gw.admin_get("/accounts").await["accounts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Without the backup (which routing now prefers, healthier), the OAuth account
    // serves again with its new token.
    let (status, _) = gw
        .admin_send(Method::DELETE, &format!("/accounts/{backup}"))
        .await;
    assert_eq!(status, 204);
    assert_eq!(ask().await, 200);
    assert_eq!(oauth_calls(), 3, "serving again");

    // Revoked again with no other account: a clear error, not a hang.
    idp.revoke_all();
    let r = gw.chat(&key, "gpt-4o", "hi").await;
    assert!(
        r.status().is_server_error() || r.status() == 401,
        "{}",
        r.status()
    );
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    let view = gw.admin_get(&format!("/accounts/{oauth_id}")).await;
    assert_eq!(view["status"], "needs_reauth", "{view}");
}

#[tokio::test]
async fn a_sign_in_started_before_a_restart_finishes_after_it() {
    let fake = FakeProvider::start().await.unwrap();
    let idp = FakeOAuth::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = Gateway::start_with(on_dir(&dir, &idp)).await;
    let callback = sign_in(&first, &fake, json!({})).await;
    drop(first);
    // The pending flow is in the database: another process finishes it.
    let second = Gateway::start_with(on_dir(&dir, &idp)).await;
    let (_, query) = callback.split_once("/api/oauth/callback").unwrap();
    let page = second
        .http
        .get(format!("{}/api/oauth/callback{query}", second.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let accounts = second.admin_get("/accounts").await;
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refresh_in_flight_at_shutdown_is_stored_before_the_exit() {
    let fake = FakeProvider::start().await.unwrap();
    let idp = FakeOAuth::start().await.unwrap();
    // 3 s tokens: the background refresher renews at ~2.25 s, and the provider takes
    // 1.5 s to answer.
    idp.set_access_ttl(Duration::from_secs(3));
    idp.set_refresh_delay(Duration::from_millis(1500));
    let dir = tempfile::tempdir().unwrap();
    let first = Gateway::start_with(on_dir(&dir, &idp)).await;
    let callback = sign_in(&first, &fake, json!({})).await;
    assert_eq!(
        first.http.get(&callback).send().await.unwrap().status(),
        200
    );
    let hint = |accounts: &Value| accounts["accounts"][0]["api_key_hint"].clone();
    let signed_in = hint(&first.admin_get("/accounts").await);
    let deadline = Instant::now() + Duration::from_secs(10);
    while idp.refresh_calls() == 0 {
        assert!(Instant::now() < deadline, "no refresh started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGTERM while the provider is answering: the refresh finishes its store write.
    first.terminate();
    assert_eq!(first.wait_exit(Duration::from_secs(20)).await, Some(0));
    // Read before the next process's own refresh (1.5 s) could store anything.
    let second = Gateway::start_with(on_dir(&dir, &idp)).await;
    let stored = hint(&second.admin_get("/accounts").await);
    assert_ne!(stored, signed_in, "the refreshed token was stored");
    assert_eq!(idp.refresh_reuse_attempts(), 0);
}
