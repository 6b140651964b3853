//! `GET /metrics`: the read-only metrics key, and the series an operator graphs.

use crate::harness::{Gateway, Options};
use reqwest::Method;
use serde_json::json;
use switchyard_testkit::FakeProvider;

const METRICS_KEY: &str = "metrics-key-0123";

#[tokio::test]
async fn the_metrics_key_reads_metrics_and_nothing_else() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start_with(Options {
        env: vec![("SWITCHYARD_METRICS_KEY".into(), METRICS_KEY.into())],
        ..Default::default()
    })
    .await;
    let account = gw
        .add_account(json!({"provider": "openai", "label": "o", "api_key": "k", "base_url": fake.openai_base_url()}))
        .await;
    let key = gw.create_key().await;
    let r = gw.chat(&key, "gpt-4o", "hi").await;
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();

    let scrape = |bearer: Option<&str>| {
        let mut request = gw.http.get(format!("{}/metrics", gw.url));
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        request.send()
    };
    assert_eq!(scrape(None).await.unwrap().status(), 401);
    assert_eq!(scrape(Some(&key)).await.unwrap().status(), 401);
    assert_eq!(
        scrape(Some(crate::harness::ADMIN_KEY))
            .await
            .unwrap()
            .status(),
        200
    );
    // The finish (and so the counters) may trail the body by a moment.
    let mut text = String::new();
    for _ in 0..50 {
        let r = scrape(Some(METRICS_KEY)).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        text = r.text().await.unwrap();
        if text.contains("switchyard_request_duration_seconds_count{protocol=\"openai\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for line in [
        "switchyard_request_duration_seconds_count{protocol=\"openai\"} 1".to_owned(),
        "switchyard_ttfb_seconds_count{protocol=\"openai\"} 1".to_owned(),
        "switchyard_requests_total{protocol=\"openai\",status=\"2xx\"} 1".to_owned(),
        "switchyard_upstream_attempts_total{provider=\"openai\",result=\"relayed\"} 1".to_owned(),
        format!("switchyard_account_inflight{{account=\"{account}\",provider=\"openai\"}} 0"),
        format!("switchyard_account_circuit_state{{account=\"{account}\",provider=\"openai\"}} 0"),
        format!("switchyard_account_forbidden{{account=\"{account}\",provider=\"openai\"}} 0"),
        // From the fake's `x-ratelimit-*` headers, per model.
        format!(
            "switchyard_account_quota_remaining{{account=\"{account}\",model=\"gpt-4o\",unit=\"requests\"}} 9999"
        ),
        "switchyard_accounts 1".to_owned(),
    ] {
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    assert!(
        text.contains(
            "switchyard_tokens_total{kind=\"output\",model=\"gpt-4o\",provider=\"openai\"}"
        ),
        "{text}"
    );
    // The metrics key opens nothing else.
    let r = gw
        .http
        .request(Method::GET, format!("{}/api/accounts", gw.url))
        .bearer_auth(METRICS_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A deleted account's series go with it.
    let (status, _) = gw
        .admin_send(Method::DELETE, &format!("/accounts/{account}"))
        .await;
    assert!(status.is_success());
    let text = scrape(Some(METRICS_KEY))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(&format!("account=\"{account}\"")), "{text}");
}
