//! Usage accounting: for each client protocol, against a same-protocol and a
//! cross-protocol account, JSON and stream, the finished context's usage (read from the
//! debug "request finished" line) matches the usage the client was sent, and the
//! request is costed.

use crate::harness::{Gateway, Options};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchyard_testkit::FakeProvider;

const PROMPT: &str = "Tell me something about usage accounting #fake:thinking";

#[derive(Clone, Copy, Debug)]
enum Client {
    OpenAi,
    Anthropic,
    Gemini,
}

/// (input, cache_read, cache_write, output, reasoning) as the gateway counts them.
type Counts = (u64, u64, u64, u64, u64);

async fn setup() -> (Gateway, FakeProvider, String) {
    let fake = FakeProvider::start().await.unwrap();
    let gw = Gateway::start_with(Options {
        env: vec![(
            "SWITCHYARD_LOG".to_owned(),
            "info,switchyard::metrics=debug".to_owned(),
        )],
        ..Default::default()
    })
    .await;
    gw.add_account(json!({"provider": "openai", "label": "o", "api_key": "up-openai", "base_url": fake.openai_base_url(), "models": ["gpt-*"]})).await;
    gw.add_account(json!({"provider": "anthropic", "label": "a", "api_key": "up-anthropic", "base_url": fake.anthropic_base_url(), "models": ["claude-*"]})).await;
    gw.add_account(json!({"provider": "gemini", "label": "g", "api_key": "up-gemini", "base_url": fake.gemini_base_url(), "models": ["gemini-*"]})).await;
    let key = gw.create_key().await;
    (gw, fake, key)
}

/// Send one request; the answer's text.
async fn send(
    gw: &Gateway,
    key: &str,
    client: Client,
    model: &str,
    stream: bool,
    id: &str,
) -> String {
    let request = match client {
        Client::OpenAi => {
            let mut body =
                json!({"model": model, "messages": [{"role": "user", "content": PROMPT}]});
            if stream {
                body["stream"] = json!(true);
                body["stream_options"] = json!({"include_usage": true});
            }
            gw.post("/v1/chat/completions", key).json(&body)
        }
        Client::Anthropic => gw
            .http
            .post(format!("{}/v1/messages", gw.url))
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": model, "max_tokens": 256, "stream": stream,
                "messages": [{"role": "user", "content": PROMPT}]})),
        Client::Gemini => {
            let method = if stream {
                "streamGenerateContent?alt=sse&"
            } else {
                "generateContent?"
            };
            gw.http
                .post(format!(
                    "{}/v1beta/models/{model}:{method}key={key}",
                    gw.url
                ))
                .json(&json!({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}))
        }
    };
    let r = request.header("x-request-id", id).send().await.unwrap();
    assert_eq!(r.status(), 200, "{id}");
    r.text().await.unwrap()
}

/// The usage a JSON answer in the client's protocol states, counted as the gateway does.
fn stated(client: Client, body: &str) -> Counts {
    let v: Value = serde_json::from_str(body).unwrap();
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    match client {
        Client::OpenAi => {
            let u = &v["usage"];
            let cached = n(&u["prompt_tokens_details"]["cached_tokens"]);
            (
                n(&u["prompt_tokens"]) - cached,
                cached,
                0,
                n(&u["completion_tokens"]),
                n(&u["completion_tokens_details"]["reasoning_tokens"]),
            )
        }
        Client::Anthropic => {
            let u = &v["usage"];
            (
                n(&u["input_tokens"]),
                n(&u["cache_read_input_tokens"]),
                n(&u["cache_creation_input_tokens"]),
                n(&u["output_tokens"]),
                n(&u["output_tokens_details"]["thinking_tokens"]),
            )
        }
        Client::Gemini => {
            let u = &v["usageMetadata"];
            let cached = n(&u["cachedContentTokenCount"]);
            let thoughts = n(&u["thoughtsTokenCount"]);
            (
                n(&u["promptTokenCount"]) - cached,
                cached,
                0,
                n(&u["candidatesTokenCount"]) + thoughts,
                thoughts,
            )
        }
    }
}

/// The "request finished" debug line of request `id` (waits for it: a body finishes
/// its context just after its last byte).
async fn finished_line(gw: &Gateway, id: &str) -> String {
    let needle = format!("request_id={id} ");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(line) = gw
            .log()
            .lines()
            .find(|l| l.contains("request finished") && l.contains(&needle))
        {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no finish line for {id}:\n{}",
            gw.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn usage_field(c: Counts) -> String {
    format!(
        "usage=Some(Usage {{ input: {}, cache_read: {}, cache_write: {}, output: {}, reasoning: {} }})",
        c.0, c.1, c.2, c.3, c.4
    )
}

/// The shipped table's price (no cache tokens here): pico-dollars per token summed,
/// rounded once to micro-dollars.
fn micro_usd(model: &str, c: Counts) -> u64 {
    let (input, output) = match model {
        "gpt-4o" => (2_500_000, 10_000_000),
        "claude-sonnet-4-5" => (3_000_000, 15_000_000),
        "gemini-2.5-flash" => (300_000, 2_500_000),
        _ => panic!("unpriced {model}"),
    };
    assert_eq!((c.1, c.2), (0, 0));
    (c.0 * input + c.3 * output + 500_000) / 1_000_000
}

#[tokio::test]
async fn every_path_records_the_usage_the_client_was_sent() {
    let (gw, _fake, key) = setup().await;
    let cases = [
        (Client::OpenAi, "gpt-4o"),
        (Client::OpenAi, "claude-sonnet-4-5"),
        (Client::Anthropic, "claude-sonnet-4-5"),
        (Client::Anthropic, "gemini-2.5-flash"),
        (Client::Gemini, "gemini-2.5-flash"),
        (Client::Gemini, "gpt-4o"),
    ];
    for (i, (client, model)) in cases.into_iter().enumerate() {
        let id = format!("usage-json-{i}");
        let body = send(&gw, &key, client, model, false, &id).await;
        let expected = stated(client, &body);
        assert!(
            expected.0 > 0 && expected.3 > 0,
            "{client:?} {model}: {body}"
        );
        let line = finished_line(&gw, &id).await;
        assert!(
            line.contains(&usage_field(expected)),
            "{client:?} {model}: {line}"
        );
        assert!(line.contains("usage_partial=false"), "{line}");
        let cost = format!("cost_micro_usd={}", micro_usd(model, expected));
        assert!(line.contains(&cost), "{cost}: {line}");

        // The same request streamed: the fake counts the same tokens.
        let id = format!("usage-stream-{i}");
        let text = send(&gw, &key, client, model, true, &id).await;
        let line = finished_line(&gw, &id).await;
        assert!(
            line.contains(&usage_field(expected)),
            "{client:?} {model} stream: {line}\n{text}"
        );
        assert!(line.contains("usage_partial=false"), "{line}");
        assert!(line.contains(&cost), "{cost}: {line}");

        // Gemini's JSON-array stream form (no `alt=sse`).
        if let Client::Gemini = client {
            let id = format!("usage-array-{i}");
            let r = gw
                .http
                .post(format!(
                    "{}/v1beta/models/{model}:streamGenerateContent?key={key}",
                    gw.url
                ))
                .header("x-request-id", &id)
                .json(&json!({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let text = r.text().await.unwrap();
            assert!(text.trim_start().starts_with('['), "{text}");
            let line = finished_line(&gw, &id).await;
            assert!(
                line.contains(&usage_field(expected)),
                "{model} array: {line}"
            );
            assert!(line.contains(&cost), "{cost}: {line}");
        }
    }
}

/// An OpenAI stream whose client did not ask for usage: the gateway asks the upstream
/// (or its encoder) for it, records it, and the client gets exactly the stream it asked
/// for — no usage chunk — through passthrough and translation alike.
#[tokio::test]
async fn openai_streams_are_accounted_without_showing_the_client_usage_it_did_not_ask_for() {
    let (gw, _fake, key) = setup().await;
    for model in ["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash"] {
        // The same request, asking for usage: what the gateway must record either way.
        let asked_id = format!("asked-{model}");
        let asked = send(&gw, &key, Client::OpenAi, model, true, &asked_id).await;
        assert!(asked.contains("\"usage\":{"), "{model}: {asked}");
        let want = finished_line(&gw, &asked_id).await;
        let want = want
            .split("usage=")
            .nth(1)
            .and_then(|rest| rest.split(" usage_partial").next())
            .unwrap_or_default()
            .to_owned();
        assert!(want.starts_with("Some(Usage"), "{model}: {want}");

        let id = format!("hidden-{model}");
        let body = json!({"model": model, "stream": true,
            "messages": [{"role": "user", "content": PROMPT}]});
        let r = gw
            .post("/v1/chat/completions", &key)
            .header("x-request-id", &id)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("\"usage\":{"),
            "{model}: the client sees no usage: {text}"
        );
        assert!(!text.contains("\"choices\":[]"), "{model}: {text}");
        assert!(text.trim_end().ends_with("data: [DONE]"), "{model}: {text}");
        for event in text.split("\n\n").filter(|e| !e.trim().is_empty()) {
            let data = event.trim().strip_prefix("data: ").unwrap_or_default();
            assert!(
                data == "[DONE]" || serde_json::from_str::<Value>(data).is_ok(),
                "{model}: every event is whole: {event:?}"
            );
        }
        let line = finished_line(&gw, &id).await;
        assert!(
            line.contains(&format!("usage={want} usage_partial=false")),
            "{model}: recorded as when asked ({want}): {line}"
        );
    }
}
