//! The request log and usage API: proxied requests show up in `/api/logs` with their
//! attempts, group in `/api/usage`, and survive a SIGTERM right after they finished.

use crate::harness::{Gateway, Options, anthropic_msg, openai_chat};
use reqwest::Method;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};
use switchyard_testkit::{Behaviour, ErrorKind, FakeProvider};

/// `/api/logs` items once there are at least `want` (waits up to 2 s).
async fn logs(gw: &Gateway, query: &str, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let items = gw.admin_get(&format!("/logs{query}")).await["items"]
            .as_array()
            .unwrap()
            .clone();
        if items.len() >= want || Instant::now() > deadline {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A proxied call, its body read whole (so the request is finished); its status.
async fn call(gw: &Gateway, path: &str, key: &str, body: &Value) -> u16 {
    let r = gw.post(path, key).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    r.bytes().await.unwrap();
    status
}

async fn get(gw: &Gateway, path: &str) -> (u16, Value) {
    let (status, v) = gw.admin_send(Method::GET, path).await;
    (status.as_u16(), v)
}

#[tokio::test]
async fn proxied_requests_are_logged_with_their_attempts_and_grouped_in_usage() {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start().await;
    // The better tier is tried first: it answers 500, the request fails over.
    let broken = gw.add_account(json!({"provider": "openai", "label": "broken", "api_key": "up-500", "tier": "ultra", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    let good = gw.add_account(json!({"provider": "openai", "label": "good", "api_key": "up-good", "tier": "pro", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    let claude = gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "up-anthropic", "base_url": fake.anthropic_base_url(), "models": ["claude-*"]})).await;
    fake.set_key_behaviour(
        "up-500",
        Behaviour::Status {
            status: 500,
            retry_after_secs: None,
            kind: ErrorKind::ServerError,
        },
    );
    let key = gw.create_key().await;

    assert_eq!(
        call(&gw, "/v1/messages", &key, &anthropic_msg("claude-x", "hi")).await,
        200
    );
    assert_eq!(
        call(
            &gw,
            "/v1/chat/completions",
            "sk-wrong-key",
            &openai_chat("gpt-4o", "hi")
        )
        .await,
        401
    );
    assert_eq!(
        call(
            &gw,
            "/v1/chat/completions",
            &key,
            &openai_chat("gpt-4o", "hi")
        )
        .await,
        200
    );

    let items = logs(&gw, "", 3).await;
    assert_eq!(items.len(), 3, "{items:#?}");
    // Newest first.
    let ts: Vec<i64> = items.iter().map(|i| i["ts"].as_i64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] >= w[1]), "{ts:?}");

    let success = items
        .iter()
        .find(|i| i["protocol_in"] == "anthropic")
        .unwrap();
    assert_eq!(success["status"], 200);
    assert_eq!(success["protocol_out"], "anthropic");
    assert_eq!(success["model"], "claude-x");
    assert_eq!(success["account_id"], claude.as_str());
    assert_eq!(success["stream"], false);
    assert!(success["error"].is_null());
    assert!(success["key_id"].is_string());
    assert_eq!(success["attempts"].as_array().unwrap().len(), 1);
    for field in ["input", "cache_read", "cache_write", "output", "reasoning"] {
        assert!(success["usage"][field].is_u64(), "{field}: {success}");
    }

    let refused = items.iter().find(|i| i["status"] == 401).unwrap();
    assert_eq!(refused["protocol_in"], "openai");
    assert!(refused["key_id"].is_null() && refused["account_id"].is_null());
    assert!(refused["error"].is_string());
    assert_eq!(refused["attempts"], json!([]));

    let failover = items
        .iter()
        .find(|i| i["protocol_in"] == "openai" && i["status"] == 200)
        .unwrap();
    assert_eq!(failover["model"], "gpt-4o");
    assert_eq!(failover["account_id"], good.as_str());
    let attempts = failover["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{failover}");
    assert_eq!(attempts[0]["account_id"], broken.as_str());
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[1]["account_id"], good.as_str());
    assert_eq!(attempts[1]["status"], 200);
    assert!(attempts[0]["outcome"] != attempts[1]["outcome"]);

    // One entry, whole.
    let id = failover["id"].as_str().unwrap();
    let (status, one) = get(&gw, &format!("/logs/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(&one, failover);
    let (status, missing) = get(&gw, "/logs/log_nope").await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["code"], "not_found");

    // Filters and paging.
    let only_4xx = logs(&gw, "?status=4xx", 1).await;
    assert_eq!(only_4xx.len(), 1);
    assert_eq!(only_4xx[0]["status"], 401);
    let by_account = logs(&gw, &format!("?account_id={good}"), 1).await;
    assert_eq!(by_account.len(), 1);
    let (_, page) = get(&gw, "/logs?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = get(&gw, &format!("/logs?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    for (query, field) in [
        ("/logs?status=3xx", "status"),
        ("/logs?limit=0", "limit"),
        ("/logs?limit=501", "limit"),
        ("/logs?cursor=nope!", "cursor"),
        ("/logs?from=yesterday", "from"),
        ("/logs?modle=x", "modle"),
        ("/usage?group_by=colour", "group_by"),
        ("/usage?bucket=week", "bucket"),
    ] {
        let (status, body) = get(&gw, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
        assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string());
    }

    // Usage: the failover counts for the account that answered.
    let (status, usage) = get(&gw, "/usage?group_by=account&bucket=day").await;
    assert_eq!(status, 200);
    let rows = usage["rows"].as_array().unwrap();
    let requests = |group: &str| -> u64 {
        rows.iter()
            .filter(|r| r["group"] == group)
            .map(|r| r["requests"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(requests(&good), 1, "{usage}");
    assert_eq!(requests(&claude), 1, "{usage}");
    assert_eq!(requests(""), 1, "{usage}");
    assert_eq!(requests(&broken), 0, "{usage}");
    let bucket = rows[0]["bucket"].as_i64().unwrap();
    assert_eq!(bucket % 86_400_000, 0);
    let (_, usage) = get(&gw, "/usage?group_by=model&bucket=hour").await;
    let models: Vec<&str> = usage["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["group"].as_str().unwrap())
        .collect();
    assert!(
        models.contains(&"gpt-4o") && models.contains(&"claude-x"),
        "{usage}"
    );
    let (_, usage) = get(&gw, &format!("/usage?from={}", bucket + 2 * 86_400_000)).await;
    assert_eq!(usage["rows"], json!([]));

    let metrics = gw.admin_text("/metrics").await;
    assert!(metrics.contains("switchyard_log_queue_depth "), "{metrics}");
    assert!(
        metrics.contains("switchyard_log_dropped_total 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn requests_finished_just_before_sigterm_are_written() {
    let fake = FakeProvider::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = || Options {
        shared_data_dir: Some(dir.path().to_owned()),
        ..Options::default()
    };
    let gw = Gateway::start_with(options()).await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "up", "base_url": fake.openai_base_url()})).await;
    let key = gw.create_key().await;
    for _ in 0..5 {
        assert_eq!(
            call(
                &gw,
                "/v1/chat/completions",
                &key,
                &openai_chat("gpt-4o", "hi")
            )
            .await,
            200
        );
    }
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(gw.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(gw.wait_exit(Duration::from_secs(15)).await, Some(0));

    let gw = Gateway::start_with(options()).await;
    let (status, page) = get(&gw, "/logs").await;
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{page}");
    assert!(
        items
            .iter()
            .all(|i| i["status"] == 200 && i["model"] == "gpt-4o")
    );
}
