//! Logs for machines: with `SWITCHYARD_LOG_FORMAT=json` every line is one JSON object,
//! the lines about a request name its id (`request_id`), and no secret reaches them.

use crate::harness::{ADMIN_KEY, Gateway, MASTER_KEY, Options, openai_chat};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchyard_testkit::{Behaviour, ErrorKind, FakeProvider};

const FAILING_KEY: &str = "sk-upstream-secret-failing-4711";
const CUTTING_KEY: &str = "sk-upstream-secret-cutting-4712";
const GOOD_KEY: &str = "sk-upstream-secret-good-4713";

/// The log's lines, each parsed; panics on a line that is not a JSON object.
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(v) if v.is_object() => v,
            _ => panic!("not a JSON object line: {l}\nlog:\n{log}"),
        })
        .collect()
}

/// Wait (up to 5 s) for a line with this message and request id.
async fn line_for(gw: &Gateway, message: &str, request_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = gw.log();
        let found = json_lines(&log).into_iter().find(|l| {
            l["message"].as_str() == Some(message) && l["request_id"].as_str() == Some(request_id)
        });
        match found {
            Some(line) => return line,
            None if Instant::now() > deadline => {
                panic!("no {message:?} line with request_id {request_id}; log:\n{log}")
            }
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[tokio::test]
async fn json_lines_carry_the_request_id_and_no_secret() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour(
        FAILING_KEY,
        Behaviour::Status {
            status: 500,
            retry_after_secs: None,
            kind: ErrorKind::ServerError,
        },
    );
    fake.set_key_behaviour(
        CUTTING_KEY,
        Behaviour::DisconnectMidStream { after_chunks: 2 },
    );
    let gw = Gateway::start_with(Options {
        env: vec![
            ("SWITCHYARD_LOG_FORMAT".into(), "json".into()),
            // Refused requests are logged at debug.
            ("SWITCHYARD_LOG".into(), "info,switchyard=debug".into()),
        ],
        ..Default::default()
    })
    .await;
    let base = fake.openai_base_url();
    // The better tier fails (500): the request moves to the good account.
    gw.add_account(json!({"provider": "openai", "label": "failing", "api_key": FAILING_KEY, "tier": "ultra", "base_url": base, "models": ["gpt-*"]})).await;
    gw.add_account(json!({"provider": "openai", "label": "good", "api_key": GOOD_KEY, "tier": "pro", "base_url": base, "models": ["gpt-*"]})).await;
    gw.add_account(json!({"provider": "openai", "label": "cutting", "api_key": CUTTING_KEY, "base_url": base, "models": ["cut-*"]})).await;
    let key = gw.create_key().await;

    let r = gw
        .post("/v1/chat/completions", &key)
        .header("x-request-id", "req-json-failover")
        .json(&openai_chat("gpt-4o", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();

    let mut streamed = openai_chat("cut-model", "a story");
    streamed["stream"] = json!(true);
    let r = gw
        .post("/v1/chat/completions", &key)
        .header("x-request-id", "req-json-cut")
        .json(&streamed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = r.bytes().await;

    let r = gw
        .post("/v1/chat/completions", "sy-not-a-real-client-key")
        .header("x-request-id", "req-json-refused")
        .json(&openai_chat("gpt-4o", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let failed = line_for(
        &gw,
        "upstream attempt failed; trying another account",
        "req-json-failover",
    )
    .await;
    assert_eq!(failed["level"], "WARN", "{failed}");
    assert!(failed["timestamp"].is_string(), "{failed}");
    assert!(failed["account"].is_string(), "{failed}");
    let cut = line_for(&gw, "upstream body failed mid-response", "req-json-cut").await;
    assert_eq!(cut["level"], "WARN", "{cut}");
    let refused = line_for(&gw, "request refused", "req-json-refused").await;
    assert_eq!(refused["level"], "DEBUG", "{refused}");

    let log = gw.log();
    let lines = json_lines(&log);
    assert!(
        lines.iter().any(|l| l["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("switchyard listening on http://"))),
        "{log}"
    );
    for secret in [
        FAILING_KEY,
        CUTTING_KEY,
        GOOD_KEY,
        key.as_str(),
        "sy-not-a-real-client-key",
        ADMIN_KEY,
        MASTER_KEY,
    ] {
        assert!(!log.contains(secret), "a secret reached the log:\n{log}");
    }
}
