//! End-to-end tests over real HTTP against a started [`FakeProvider`].

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Behaviour, ErrorKind, FakeProvider, Protocol};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// Reads a whole body chunk by chunk (the workspace forbids `Response::bytes`).
async fn read_all(mut resp: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8(out).unwrap())
}

/// The JSON payloads of `data:` lines (without `[DONE]`).
fn data_lines(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.trim_end_matches('\r').strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

/// The `event:` names of an Anthropic stream.
fn event_names(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .map(str::to_owned)
        .collect()
}

fn weather_tools_openai() -> Value {
    json!([{"type": "function", "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string"}, "days": {"type": "integer"}
        }, "required": ["city"]}
    }}, {"type": "function", "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}
    }}])
}

async fn openai(fake: &FakeProvider, key: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/chat/completions", fake.openai_base_url()))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn anthropic(fake: &FakeProvider, key: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", fake.anthropic_base_url()))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn gemini(fake: &FakeProvider, key: &str, method: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!(
            "{}/v1beta/models/gemini-fake:{method}",
            fake.gemini_base_url()
        ))
        .header("x-goog-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

fn gemini_user(text: &str) -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
}

#[tokio::test]
async fn base_urls() {
    let fake = FakeProvider::start().await.unwrap();
    let port = fake.addr().port();
    assert_ne!(port, 0);
    assert_eq!(
        fake.openai_base_url(),
        format!("http://127.0.0.1:{port}/v1")
    );
    assert_eq!(
        fake.anthropic_base_url(),
        format!("http://127.0.0.1:{port}")
    );
    assert_eq!(fake.gemini_base_url(), format!("http://127.0.0.1:{port}"));
}

#[tokio::test]
async fn openai_json_reply() {
    let fake = FakeProvider::start().await.unwrap();
    let resp = openai(
        &fake,
        "sk-one",
        json!({"model": "gpt-x", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hello there, model"}]}
        ]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-fake-key"], "sk-one");
    assert_eq!(resp.headers()["x-request-id"], "req_fake_1");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], "chatcmpl-fake-1");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-x");
    assert!(body["created"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(body["system_fingerprint"], "fp_fake");
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["role"], "assistant");
    let text = "Hello from the fake OpenAI upstream, model gpt-x.";
    assert_eq!(choice["message"]["content"], text);
    // "Be brief." (9) + "Hello there, model" (18) = 27 chars -> 6 tokens.
    assert_eq!(body["usage"]["prompt_tokens"], 6);
    assert_eq!(body["usage"]["completion_tokens"], text.len() / 4);
    assert_eq!(body["usage"]["total_tokens"], 6 + text.len() / 4);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(
        body["usage"]["completion_tokens_details"]["reasoning_tokens"],
        0
    );
}

#[tokio::test]
async fn openai_stream_ends_with_done_and_usage() {
    let fake = FakeProvider::start().await.unwrap();
    let resp = openai(
        &fake,
        "sk-1",
        json!({"model": "gpt-x", "messages": user("hi #fake:thinking"), "stream": true,
               "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = read_all(resp).await.unwrap();
    assert!(body.ends_with("data: [DONE]\n\n"));
    let chunks = data_lines(&body);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "Hello from the fake OpenAI upstream, model gpt-x.");
    let text_chunks = chunks
        .iter()
        .filter(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        })
        .count();
    assert_eq!(text_chunks, 3);
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["reasoning_content"].as_str())
        .collect();
    assert!(!reasoning.is_empty());
    let n = chunks.len();
    assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    assert!(
        chunks[n - 1]["usage"]["completion_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(chunks[..n - 1].iter().all(|c| c["usage"].is_null()));
}

#[tokio::test]
async fn openai_tool_call_json_and_stream() {
    let fake = FakeProvider::start().await.unwrap();
    let request =
        json!({"model": "gpt-x", "messages": user("weather?"), "tools": weather_tools_openai()});
    let body: Value = openai(&fake, "sk-1", request.clone())
        .await
        .json()
        .await
        .unwrap();
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["id"], "call_fake_0");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"city":"Paris"}"#);

    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    streamed["messages"] = user("weather? #fake:parallel");
    let body = read_all(openai(&fake, "sk-1", streamed).await)
        .await
        .unwrap();
    let chunks = data_lines(&body);
    let mut args = [String::new(), String::new()];
    let mut fragments = [0, 0];
    for chunk in &chunks {
        for tc in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = usize::try_from(tc["index"].as_u64().unwrap()).unwrap();
            if tc.get("id").is_some() {
                assert_eq!(tc["function"]["arguments"], "");
                assert_eq!(tc["type"], "function");
            } else {
                fragments[i] += 1;
            }
            args[i].push_str(tc["function"]["arguments"].as_str().unwrap());
        }
    }
    assert_eq!(args[0], r#"{"city":"Paris"}"#);
    assert_eq!(args[1], r#"{"tz":"sample"}"#);
    assert!(fragments.iter().all(|f| *f >= 2));
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );

    // After the tool result: text quoting it. With tool_choice none: text.
    let mut after = request.clone();
    after["messages"] = json!([
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_fake_0", "content": "18C and sunny"}
    ]);
    let body: Value = openai(&fake, "sk-1", after).await.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "The tool returned: 18C and sunny"
    );
    let mut none = request;
    none["tool_choice"] = json!("none");
    let body: Value = openai(&fake, "sk-1", none).await.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn openai_errors() {
    let fake = FakeProvider::start().await.unwrap();
    let resp = openai(
        &fake,
        "fake-429",
        json!({"model": "m", "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(resp.headers()["x-fake-key"], "fake-429");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(body["error"]["param"].is_null());

    let resp = openai(
        &fake,
        "fake-quota",
        json!({"model": "m", "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 429);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "insufficient_quota");

    let resp = openai(
        &fake,
        "fake-529",
        json!({"model": "m", "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 503);

    let resp = client()
        .post(format!("{}/chat/completions", fake.openai_base_url()))
        .json(&json!({"model": "m", "messages": user("hi")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let resp = openai(
        &fake,
        "bad-key",
        json!({"model": "m", "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");

    let resp = client()
        .post(format!("{}/chat/completions", fake.openai_base_url()))
        .bearer_auth("sk-1")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let resp = openai(
        &fake,
        "sk-1",
        json!({"model": "m", "messages": user("x #fake:status=500")}),
    )
    .await;
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error");
}

#[tokio::test]
async fn anthropic_json_reply_and_header_checks() {
    let fake = FakeProvider::start().await.unwrap();
    let resp = anthropic(
        &fake,
        "sk-ant-1",
        json!({"model": "claude-x", "max_tokens": 100, "system": "Be brief.",
               "messages": user("hello #fake:thinking")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["request-id"], "req_fake_1");
    assert_eq!(resp.headers()["x-fake-key"], "sk-ant-1");
    assert!(
        resp.headers()
            .contains_key("anthropic-ratelimit-requests-reset")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], "msg_fake_1");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-x");
    assert_eq!(body["stop_reason"], "end_turn");
    assert!(body["stop_sequence"].is_null());
    assert_eq!(body["content"][0]["type"], "thinking");
    assert!(!body["content"][0]["signature"].as_str().unwrap().is_empty());
    assert_eq!(body["content"][1]["type"], "text");
    assert_eq!(
        body["content"][1]["text"],
        "Hello from the fake Anthropic upstream, model claude-x."
    );
    assert_eq!(body["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(body["usage"]["cache_creation_input_tokens"], 0);
    assert!(body["usage"]["output_tokens"].as_u64().unwrap() > 1);

    // Missing anthropic-version -> 400; missing key -> 401; missing max_tokens -> 400.
    let resp = client()
        .post(format!("{}/v1/messages", fake.anthropic_base_url()))
        .header("x-api-key", "sk-ant-1")
        .json(&json!({"model": "m", "max_tokens": 5, "messages": user("hi")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["request_id"], "req_fake_2");
    let resp = client()
        .post(format!("{}/v1/messages", fake.anthropic_base_url()))
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "m", "max_tokens": 5, "messages": user("hi")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    let resp = anthropic(
        &fake,
        "sk-ant-1",
        json!({"model": "m", "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 400);

    let resp = client()
        .post(format!(
            "{}/v1/messages/count_tokens",
            fake.anthropic_base_url()
        ))
        .header("x-api-key", "sk-ant-1")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "m", "messages": user("twelve chars")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"input_tokens": 3})
    );
}

#[tokio::test]
async fn anthropic_stream_with_tool_use() {
    let fake = FakeProvider::start().await.unwrap();
    let tools = json!([{"name": "get_weather", "input_schema": {"type": "object",
        "properties": {"location": {"type": "string"}}, "required": ["location"]}}]);
    let resp = anthropic(
        &fake,
        "sk-ant-1",
        json!({"model": "claude-x", "max_tokens": 100, "stream": true, "tools": tools,
               "thinking": {"type": "enabled", "budget_tokens": 1024},
               "messages": user("weather?")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = read_all(resp).await.unwrap();
    let names = event_names(&body);
    assert_eq!(names[0], "message_start");
    assert_eq!(names[1], "ping");
    assert_eq!(names.last().unwrap(), "message_stop");
    assert_eq!(names[names.len() - 2], "message_delta");
    let events = data_lines(&body);
    for (name, event) in names.iter().zip(&events) {
        assert_eq!(event["type"], name.as_str());
    }
    assert_eq!(events[0]["message"]["usage"]["output_tokens"], 1);
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .map(|e| &e["content_block"])
        .collect();
    assert_eq!(starts[0]["type"], "thinking");
    assert_eq!(starts[1]["type"], "tool_use");
    assert_eq!(starts[1]["id"], "toolu_fake_0");
    assert_eq!(starts[1]["input"], json!({}));
    let deltas: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .map(|e| &e["delta"])
        .collect();
    assert!(deltas.iter().any(|d| d["type"] == "signature_delta"));
    let json_parts: Vec<&str> = deltas
        .iter()
        .filter(|d| d["type"] == "input_json_delta")
        .map(|d| d["partial_json"].as_str().unwrap())
        .collect();
    assert!(json_parts.len() >= 2);
    let input: Value = serde_json::from_str(&json_parts.concat()).unwrap();
    assert_eq!(input, json!({"location": "Paris"}));
    let delta = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 1);

    // Tool result in the last user message -> text quoting it.
    let resp = anthropic(
        &fake,
        "sk-ant-1",
        json!({"model": "claude-x", "max_tokens": 100, "tools": tools, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_fake_0",
                "name": "get_weather", "input": {"location": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_fake_0",
                "content": [{"type": "text", "text": "rainy"}]}]}
        ]}),
    )
    .await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "The tool returned: rainy");
    assert_eq!(body["stop_reason"], "end_turn");
}

#[tokio::test]
async fn anthropic_errors() {
    let fake = FakeProvider::start().await.unwrap();
    let req = json!({"model": "m", "max_tokens": 5, "messages": user("hi")});
    let resp = anthropic(&fake, "fake-429", req.clone()).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    let resp = anthropic(&fake, "fake-quota", req.clone()).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"]["details"]["error_code"],
        "enforced_spend_limit_reached"
    );
    let resp = anthropic(&fake, "fake-529", req.clone()).await;
    assert_eq!(resp.status(), 529);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "overloaded_error");
    let resp = anthropic(
        &fake,
        "sk-1",
        json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}),
    )
    .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn gemini_json_sse_and_array() {
    let fake = FakeProvider::start().await.unwrap();
    let resp = gemini(&fake, "AIza-1", "generateContent", gemini_user("hello")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-fake-key"], "AIza-1");
    let body: Value = resp.json().await.unwrap();
    let cand = &body["candidates"][0];
    assert_eq!(cand["finishReason"], "STOP");
    assert_eq!(cand["content"]["role"], "model");
    assert_eq!(
        cand["content"]["parts"][0]["text"],
        "Hello from the fake Gemini upstream, model gemini-fake."
    );
    assert_eq!(body["responseId"], "fake-1");
    assert_eq!(body["modelVersion"], "gemini-fake");
    let usage = &body["usageMetadata"];
    assert_eq!(usage["promptTokenCount"], 1);
    assert_eq!(
        usage["totalTokenCount"].as_u64().unwrap(),
        usage["promptTokenCount"].as_u64().unwrap()
            + usage["candidatesTokenCount"].as_u64().unwrap()
    );

    // SSE with thinking: thought part first, signature, finish + usage on the last chunk.
    let resp = client()
        .post(format!(
            "{}/v1beta/models/gemini-fake:streamGenerateContent?alt=sse&key=AIza-2",
            fake.gemini_base_url()
        ))
        .json(&gemini_user("hi #fake:thinking"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = read_all(resp).await.unwrap();
    assert!(body.ends_with("\r\n\r\n"));
    let chunks = data_lines(&body);
    assert!(chunks.len() >= 4);
    assert_eq!(
        chunks[0]["candidates"][0]["content"]["parts"][0]["thought"],
        true
    );
    assert_eq!(
        chunks[1]["candidates"][0]["content"]["parts"][0]["thoughtSignature"],
        crate::gemini::THOUGHT_SIGNATURE
    );
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert!(
        last["usageMetadata"]["thoughtsTokenCount"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["candidates"][0].get("finishReason").is_none())
    );
    let text: String = chunks[1..]
        .iter()
        .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
        .collect();
    assert_eq!(
        text,
        "Hello from the fake Gemini upstream, model gemini-fake."
    );

    // Without alt=sse: one JSON array.
    let resp = gemini(&fake, "AIza-1", "streamGenerateContent", gemini_user("hi")).await;
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    let arr = body.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[2]["candidates"][0]["finishReason"], "STOP");

    let resp = gemini(&fake, "AIza-1", "countTokens", gemini_user("twelve chars")).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["totalTokens"], 3);

    let resp = client()
        .get(format!("{}/v1beta/models", fake.gemini_base_url()))
        .header("x-goog-api-key", "AIza-1")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["models"][0]["name"], "models/gemini-fake");
    assert!(body["models"][0]["supportedGenerationMethods"].is_array());

    let calls = fake.calls();
    assert_eq!(calls[1].api_key, "AIza-2");
    assert!(calls[1].stream);
    assert_eq!(
        calls[1].path,
        "/v1beta/models/gemini-fake:streamGenerateContent?alt=sse&key=AIza-2"
    );
}

#[tokio::test]
async fn gemini_tool_call_and_errors() {
    let fake = FakeProvider::start().await.unwrap();
    let tools = json!([{"functionDeclarations": [{"name": "get_weather",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}]);
    let mut req = gemini_user("weather? #fake:parallel");
    req["tools"] = tools.clone();
    let body: Value = gemini(&fake, "AIza-1", "generateContent", req)
        .await
        .json()
        .await
        .unwrap();
    let parts = &body["candidates"][0]["content"]["parts"];
    assert_eq!(
        parts[0]["functionCall"],
        json!({"name": "get_weather", "args": {"city": "Paris"}})
    );
    assert_eq!(parts[1]["functionCall"]["name"], "get_weather");
    assert_eq!(body["candidates"][0]["finishReason"], "STOP");

    let after = json!({"tools": tools, "contents": [
        {"role": "user", "parts": [{"text": "weather?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "18C"}}}]}
    ]});
    let body: Value = gemini(&fake, "AIza-1", "generateContent", after)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["candidates"][0]["content"]["parts"][0]["text"],
        r#"The tool returned: {"result":"18C"}"#
    );

    let resp = gemini(&fake, "fake-quota", "generateContent", gemini_user("hi")).await;
    assert_eq!(resp.status(), 429);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], 429);
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    let details = body["error"]["details"].as_array().unwrap();
    let quota_id = details[0]["violations"][0]["quotaId"].as_str().unwrap();
    assert!(quota_id.contains("PerDay"));
    assert!(
        details
            .iter()
            .any(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
    );

    let resp = gemini(&fake, "fake-429", "generateContent", gemini_user("hi")).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let resp = gemini(&fake, "fake-529", "generateContent", gemini_user("hi")).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["status"],
        "UNAVAILABLE"
    );
    let resp = gemini(&fake, "", "generateContent", gemini_user("hi")).await;
    assert_eq!(resp.status(), 401);
    let resp = gemini(&fake, "AIza-1", "generateContent", json!({"contents": []})).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["status"],
        "INVALID_ARGUMENT"
    );
}

#[tokio::test]
async fn directives_shape_and_echo() {
    let fake = FakeProvider::start().await.unwrap();
    let body: Value = openai(
        &fake,
        "sk-1",
        json!({"model": "m", "messages": user("say this #fake:echo")}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "say this #fake:echo"
    );
    let body: Value = anthropic(
        &fake,
        "sk-1",
        json!({"model": "m", "max_tokens": 5, "messages": user("#fake:max_tokens")}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["stop_reason"], "max_tokens");
    let body: Value = gemini(
        &fake,
        "k",
        "generateContent",
        gemini_user("#fake:max_tokens"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["candidates"][0]["finishReason"], "MAX_TOKENS");
    let resp = gemini(
        &fake,
        "k",
        "generateContent",
        gemini_user("#fake:status=401"),
    )
    .await;
    assert_eq!(resp.status(), 401);

    let started = Instant::now();
    let resp = openai(
        &fake,
        "sk-1",
        json!({"model": "m", "messages": user("#fake:latency=40")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(40));
}

#[tokio::test]
async fn slow_stream_and_disconnect() {
    let fake = FakeProvider::start().await.unwrap();
    let started = Instant::now();
    let resp = openai(
        &fake,
        "sk-1",
        json!({"model": "m", "messages": user("#fake:chunk_delay=10"), "stream": true}),
    )
    .await;
    let body = read_all(resp).await.unwrap();
    // role chunk + 3 text chunks + finish chunk + [DONE] = 6 events, 5 delays.
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert!(body.ends_with("data: [DONE]\n\n"));

    let resp = openai(
        &fake,
        "sk-1",
        json!({"model": "m", "messages": user("#fake:disconnect_after=2"), "stream": true}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let mut resp = resp;
    let mut got = String::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got.push_str(std::str::from_utf8(&c).unwrap()),
            Ok(None) => panic!("stream ended cleanly: {got}"),
            Err(e) => break e,
        }
    };
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
    assert_eq!(data_lines(&got).len(), 2);
    assert!(!got.contains("[DONE]"));

    fake.set_key_behaviour("sk-cut", Behaviour::DisconnectMidStream { after_chunks: 3 });
    let resp = anthropic(
        &fake,
        "sk-cut",
        json!({"model": "m", "max_tokens": 5, "stream": true, "messages": user("hi")}),
    )
    .await;
    let result = read_all(resp).await;
    assert!(result.is_err());
}

#[tokio::test]
async fn hang_times_out_and_ends_on_drop() {
    let fake = FakeProvider::start().await.unwrap();
    let result = client()
        .post(format!("{}/chat/completions", fake.openai_base_url()))
        .bearer_auth("fake-hang")
        .timeout(Duration::from_millis(50))
        .json(&json!({"model": "m", "messages": user("hi")}))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());

    let url = format!("{}/chat/completions", fake.openai_base_url());
    let pending = tokio::spawn(async move {
        client()
            .post(url)
            .bearer_auth("sk-1")
            .json(&json!({"model": "m", "messages": user("#fake:hang")}))
            .send()
            .await
            .map(|r| r.status())
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(fake.calls().len(), 2);
    let addr = fake.addr();
    drop(fake);
    let outcome = tokio::time::timeout(Duration::from_secs(2), pending)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.is_err() || outcome.is_ok_and(|s| s == 503));
    // The listener is closed.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn recorded_calls_and_key_overrides() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour(
        "sk-limited",
        Behaviour::Status {
            status: 429,
            retry_after_secs: Some(7),
            kind: ErrorKind::RateLimited,
        },
    );
    let resp = openai(
        &fake,
        "sk-limited",
        json!({"model": "gpt-a", "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let _ = anthropic(
        &fake,
        "sk-ant",
        json!({"model": "claude-b", "max_tokens": 5, "stream": true, "messages": user("hi")}),
    )
    .await;
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].protocol, Protocol::OpenAi);
    assert_eq!(calls[0].api_key, "sk-limited");
    assert_eq!(calls[0].model, "gpt-a");
    assert_eq!(calls[0].path, "/v1/chat/completions");
    assert!(!calls[0].stream);
    assert_eq!(calls[0].body["messages"][0]["content"], "hi");
    assert!(
        calls[0]
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Bearer sk-limited")
    );
    assert_eq!(calls[1].protocol, Protocol::Anthropic);
    assert_eq!(calls[1].api_key, "sk-ant");
    assert!(calls[1].stream);
    assert!(
        calls[1]
            .headers
            .iter()
            .any(|(k, v)| k == "anthropic-version" && v == "2023-06-01")
    );
    fake.clear_calls();
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn model_lists() {
    let fake = FakeProvider::start().await.unwrap();
    let body: Value = client()
        .get(format!("{}/models", fake.openai_base_url()))
        .bearer_auth("sk-1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][0]["object"], "model");
    let body: Value = client()
        .get(format!("{}/v1/models", fake.anthropic_base_url()))
        .header("x-api-key", "sk-ant")
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"][0]["type"], "model");
    assert_eq!(body["has_more"], false);
    let calls = fake.calls();
    assert_eq!(calls[0].protocol, Protocol::OpenAi);
    assert_eq!(calls[1].protocol, Protocol::Anthropic);
}

#[tokio::test]
async fn gemini_v1_paths_and_anthropic_bearer() {
    let fake = FakeProvider::start().await.unwrap();
    let resp = client()
        .post(format!(
            "{}/v1/models/gemini-fake:generateContent",
            fake.gemini_base_url()
        ))
        .header("x-goog-api-key", "AIza-v1")
        .json(&gemini_user("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["candidates"][0]["finishReason"], "STOP");
    let body: Value = client()
        .get(format!("{}/v1/models?key=AIza-v1", fake.gemini_base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["models"][0]["name"], "models/gemini-fake");

    // Newer Anthropic SDKs send the key as a bearer token.
    let resp = client()
        .post(format!("{}/v1/messages", fake.anthropic_base_url()))
        .bearer_auth("sk-ant-bearer")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "m", "max_tokens": 5, "messages": user("hi")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-fake-key"], "sk-ant-bearer");

    let calls = fake.calls();
    assert_eq!(calls[0].protocol, Protocol::Gemini);
    assert_eq!(calls[1].protocol, Protocol::Gemini);
    assert_eq!(calls[2].api_key, "sk-ant-bearer");
}

/// Reads a whole body as bytes, chunk by chunk.
async fn read_bytes(mut resp: reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        out.extend_from_slice(&chunk);
    }
    out
}

fn content_type(resp: &reqwest::Response) -> &str {
    resp.headers()["content-type"].to_str().unwrap()
}

#[tokio::test]
async fn html_pages_and_redirects() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour("sk-html", Behaviour::Html200);
    fake.set_key_behaviour("sk-404", Behaviour::HtmlStatus(404));
    fake.set_key_behaviour("sk-302", Behaviour::Redirect);
    let chat = json!({"model": "gpt-a", "messages": user("hi")});

    let resp = openai(&fake, "sk-html", chat.clone()).await;
    assert_eq!(resp.status(), 200);
    assert!(content_type(&resp).starts_with("text/html"));
    let page = read_all(resp).await.unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("sign in"),
        "{page}"
    );
    assert!(serde_json::from_str::<Value>(&page).is_err());

    let resp = anthropic(
        &fake,
        "sk-404",
        json!({"model": "m", "max_tokens": 5, "stream": true, "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 404);
    assert!(content_type(&resp).starts_with("text/html"));
    assert!(
        read_all(resp)
            .await
            .unwrap()
            .contains("<title>404 Not Found</title>")
    );

    // Not followed: the 302 itself, with its Location.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects
        .post(format!(
            "{}/v1beta/models/gemini-fake:generateContent",
            fake.gemini_base_url()
        ))
        .header("x-goog-api-key", "sk-302")
        .json(&gemini_user("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], crate::hostile::REDIRECT_TO);
    assert!(content_type(&resp).starts_with("text/html"));

    // The same by directive; a directive beats the key.
    let resp = openai(
        &fake,
        "sk-html",
        json!({"model": "gpt-a", "messages": user("#fake:html_status=502")}),
    )
    .await;
    assert_eq!(resp.status(), 502);
    assert!(content_type(&resp).starts_with("text/html"));
    let resp = no_redirects
        .post(format!("{}/chat/completions", fake.openai_base_url()))
        .bearer_auth("sk-any")
        .json(&json!({"model": "gpt-a", "messages": user("#fake:redirect")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let resp = openai(
        &fake,
        "sk-any",
        json!({"model": "gpt-a", "messages": user("#fake:html")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(content_type(&resp).starts_with("text/html"));
}

#[tokio::test]
async fn garbage_sse_and_gzip_without_encoding() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour("sk-garbage", Behaviour::GarbageSse);
    fake.set_key_behaviour("sk-gzip", Behaviour::GzipWithoutEncoding);

    // Garbage SSE answers a stream and a JSON request alike.
    for stream in [true, false] {
        let resp = openai(
            &fake,
            "sk-garbage",
            json!({"model": "gpt-a", "stream": stream, "messages": user("hi")}),
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(content_type(&resp), "text/event-stream");
        let body = read_all(resp).await.unwrap();
        let data: Vec<&str> = body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        assert!(!data.is_empty());
        assert!(data[0].starts_with("<html>"), "{body}");
        assert!(
            data.iter()
                .all(|d| serde_json::from_str::<Value>(d).is_err())
        );
    }

    let resp = openai(
        &fake,
        "sk-gzip",
        json!({"model": "gpt-a", "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(content_type(&resp), "application/json");
    assert!(resp.headers().get("content-encoding").is_none());
    let raw = read_bytes(resp).await;
    assert_eq!(&raw[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(serde_json::from_slice::<Value>(&raw).is_err());
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[..]), &mut text).unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["object"], "chat.completion");

    let resp = anthropic(
        &fake,
        "sk-any",
        json!({"model": "m", "max_tokens": 5, "messages": user("#fake:gzip")}),
    )
    .await;
    let raw = read_bytes(resp).await;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[..]), &mut text).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["type"],
        "message"
    );
}

#[tokio::test]
async fn streams_that_open_with_the_protocols_error_event() {
    let fake = FakeProvider::start().await.unwrap();
    fake.set_key_behaviour("sk-err", Behaviour::StreamOpensWithError);

    let resp = anthropic(
        &fake,
        "sk-err",
        json!({"model": "m", "max_tokens": 5, "stream": true, "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(content_type(&resp), "text/event-stream");
    let body = read_all(resp).await.unwrap();
    assert_eq!(event_names(&body), ["error"]);
    assert_eq!(
        data_lines(&body),
        [json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
    );

    let resp = openai(
        &fake,
        "sk-err",
        json!({"model": "gpt-a", "stream": true, "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(content_type(&resp), "text/event-stream");
    let body = read_all(resp).await.unwrap();
    let data = data_lines(&body);
    assert_eq!(data.len(), 1, "{body}");
    assert_eq!(data[0]["error"]["type"], "server_error");
    assert!(data[0]["error"]["message"].is_string());
    assert!(!body.contains("[DONE]"));

    let resp = gemini(
        &fake,
        "sk-err",
        "streamGenerateContent?alt=sse",
        gemini_user("hi"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(content_type(&resp), "text/event-stream");
    let data = data_lines(&read_all(resp).await.unwrap());
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["error"]["code"], 503);
    assert_eq!(data[0]["error"]["status"], "UNAVAILABLE");
    // The JSON-array stream form carries the error as its only element.
    let resp = gemini(&fake, "sk-err", "streamGenerateContent", gemini_user("hi")).await;
    assert_eq!(resp.status(), 200);
    let array: Value = serde_json::from_str(&read_all(resp).await.unwrap()).unwrap();
    assert_eq!(array[0]["error"]["code"], 503);

    // Without a stream: a normal answer. With the directive: the same as the key.
    let resp = openai(
        &fake,
        "sk-err",
        json!({"model": "gpt-a", "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["object"],
        "chat.completion"
    );
    let resp = anthropic(
        &fake,
        "sk-any",
        json!({"model": "m", "max_tokens": 5, "stream": true, "messages": user("#fake:stream_error")}),
    )
    .await;
    assert_eq!(event_names(&read_all(resp).await.unwrap()), ["error"]);
}

#[tokio::test]
async fn huge_bodies_are_exact_valid_json_sent_in_chunks() {
    let fake = FakeProvider::start().await.unwrap();
    let size = 3 * 1024 * 1024 + 17;
    fake.set_key_behaviour("sk-huge", Behaviour::HugeBody { bytes: size });
    let mut resp = openai(
        &fake,
        "sk-huge",
        json!({"model": "gpt-a", "stream": true, "messages": user("hi")}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(content_type(&resp), "application/json");
    assert_eq!(resp.headers()["content-length"], size.to_string());
    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        chunks += 1;
        body.extend_from_slice(&chunk);
    }
    assert_eq!(body.len(), size);
    // Streamed: read in many pieces (how the client's reads coalesce them varies).
    assert!(chunks > 4, "{chunks} chunks");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.len() > size - 1024 && text.bytes().all(|b| b == b'a'));

    // Smaller than the reply itself: just the reply, still valid; every protocol.
    let resp = anthropic(
        &fake,
        "sk-any",
        json!({"model": "m", "max_tokens": 5, "messages": user("#fake:huge=10")}),
    )
    .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "");
    let resp = gemini(
        &fake,
        "sk-any",
        "generateContent",
        gemini_user("#fake:huge=100000"),
    )
    .await;
    assert_eq!(resp.headers()["content-length"], "100000");
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .len()
            > 99_000
    );
}

async fn responses(fake: &FakeProvider, key: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/responses", fake.openai_base_url()))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn responses_json_stream_errors_and_signatures() {
    let fake = FakeProvider::start().await.unwrap();
    let tools = json!([{"type": "function", "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    let body = json!({"model": "gpt-fake", "input": "Weather? #fake:thinking", "tools": tools,
        "include": ["reasoning.encrypted_content"]});
    let r = responses(&fake, "k", body.clone()).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["output"][0]["type"], "reasoning");
    assert_eq!(
        v["output"][0]["encrypted_content"],
        crate::responses::ENCRYPTED
    );
    assert_eq!(v["output"][1]["type"], "function_call");
    assert_eq!(v["output"][1]["arguments"], "{\"city\":\"Paris\"}");
    assert!(
        v["usage"]["output_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let text = read_all(responses(&fake, "k", streamed).await)
        .await
        .unwrap();
    let events = data_lines(&text);
    let names = event_names(&text);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(names, kinds);
    assert_eq!(kinds[0], "response.created");
    assert_eq!(*kinds.last().unwrap(), "response.completed");
    let seqs: Vec<u64> = events
        .iter()
        .map(|e| e["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..seqs.len() as u64).collect::<Vec<_>>());
    let args: String = events
        .iter()
        .filter(|e| e["type"] == "response.function_call_arguments.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(args, "{\"city\":\"Paris\"}");

    let r = responses(
        &fake,
        "fake-429",
        json!({"model": "gpt-fake", "input": "hi"}),
    )
    .await;
    assert_eq!(r.status(), 429);
    assert!(r.json::<Value>().await.unwrap()["error"]["message"].is_string());

    // The reasoning item goes back; the fake counts it.
    let input = json!([
        {"role": "user", "content": "hi"},
        {"type": "reasoning", "summary": [], "encrypted_content": crate::responses::ENCRYPTED},
        {"type": "reasoning", "summary": [], "encrypted_content": "someone-else"},
        {"role": "user", "content": "again #fake:signatures"}
    ]);
    let v: Value = responses(&fake, "k", json!({"model": "gpt-fake", "input": input}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "Signatures back: 1 valid, 1 invalid."
    );
    let calls = fake.calls();
    assert_eq!(calls[0].protocol, Protocol::Responses);
    assert_eq!(calls[0].path, "/v1/responses");
}
