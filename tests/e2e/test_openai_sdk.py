"""The official OpenAI Python SDK against the gateway's OpenAI-compatible routes."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from support import (
    ECHO_TEXT,
    OPENAI_EXHAUSTED_MODEL,
    OPENAI_MODEL,
    TIMEOUT_S,
    TOOL_RESULT_TEXT,
    UNKNOWN_MODEL,
    WEATHER_QUESTION,
    WRONG_KEY,
    openai_tool_turns,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}

HELLO = [{"role": "user", "content": "Say hello."}]


def make_client(gateway_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def client(gateway_url: str, client_key: str) -> openai.OpenAI:
    return make_client(gateway_url, client_key)


def assert_openai_error_body(response: httpx.Response | object) -> dict:
    """`{"error": {"message": "...", ...}}`, the OpenAI error shape."""
    body = response.json()  # type: ignore[attr-defined]
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    return body["error"]


def test_text_completion(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=OPENAI_MODEL, messages=HELLO)
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    content = choice.message.content
    assert content is not None
    assert "fake openai upstream" in content.lower(), content
    assert OPENAI_MODEL in content, content  # the model reached the upstream unchanged
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0


def test_stream_matches_non_stream(client: openai.OpenAI) -> None:
    expected = client.chat.completions.create(model=OPENAI_MODEL, messages=HELLO).choices[0].message.content
    stream = client.chat.completions.create(model=OPENAI_MODEL, messages=HELLO, stream=True)
    deltas: list[str] = []
    finish_reasons: list[str] = []
    chunks = 0
    for chunk in stream:
        chunks += 1
        assert chunk.object == "chat.completion.chunk"
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)
    assert chunks >= 2, "expected the answer to arrive as several chunks"
    assert "".join(deltas) == expected
    assert finish_reasons == ["stop"]


def test_stream_include_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks, "empty stream"
    last = chunks[-1]
    assert last.choices == [], "the usage chunk comes last and has no choices"
    assert last.usage is not None
    assert last.usage.prompt_tokens > 0
    assert last.usage.completion_tokens > 0
    assert last.usage.total_tokens >= last.usage.prompt_tokens + last.usage.completion_tokens
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "fake openai upstream" in text.lower(), text


def test_echo_directive_round_trips_text_exactly(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": ECHO_TEXT}]
    )
    assert completion.choices[0].message.content == ECHO_TEXT


def test_tool_call(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": WEATHER_QUESTION}],
        tools=[WEATHER_TOOL],
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls, choice.message
    call = calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] == "Paris"


def test_tool_call_streamed(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=[{"role": "user", "content": WEATHER_QUESTION}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    names: dict[int, str] = {}
    ids: dict[int, str] = {}
    args: dict[int, str] = {}
    finish_reason = None
    for chunk in stream:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                if tc.id:
                    ids[tc.index] = tc.id
                if tc.function and tc.function.name:
                    names[tc.index] = names.get(tc.index, "") + tc.function.name
                if tc.function and tc.function.arguments:
                    args[tc.index] = args.get(tc.index, "") + tc.function.arguments
            if choice.finish_reason:
                finish_reason = choice.finish_reason
    assert finish_reason == "tool_calls"
    assert names.get(0) == "get_weather", names
    assert ids.get(0), ids
    assert json.loads(args[0])["city"] == "Paris"


def test_tool_result_round_trip(client: openai.OpenAI) -> None:
    messages: list[dict] = [{"role": "user", "content": WEATHER_QUESTION}]
    first = client.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    messages += openai_tool_turns(call.id, call.function.name, call.function.arguments, TOOL_RESULT_TEXT)
    second = client.chat.completions.create(model=OPENAI_MODEL, messages=messages, tools=[WEATHER_TOOL])
    choice = second.choices[0]
    assert choice.finish_reason == "stop"
    assert not choice.message.tool_calls
    assert "The tool returned" in (choice.message.content or ""), choice.message.content


def test_models_list(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    assert models, "GET /v1/models returned no model"
    for model in models:
        assert isinstance(model.id, str) and model.id


def test_models_list_is_openai_shaped(proxy: httpx.Client, client_key: str) -> None:
    r = proxy.get("/v1/models", headers={"Authorization": f"Bearer {client_key}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body.get("object") == "list", body
    assert isinstance(body.get("data"), list), body


def test_wrong_key_is_authentication_error(gateway_url: str) -> None:
    client = make_client(gateway_url, WRONG_KEY)
    with pytest.raises(openai.AuthenticationError) as exc:
        client.chat.completions.create(model=OPENAI_MODEL, messages=HELLO)
    assert exc.value.status_code == 401
    assert_openai_error_body(exc.value.response)


def test_missing_key_is_401(proxy: httpx.Client) -> None:
    r = proxy.post("/v1/chat/completions", json={"model": OPENAI_MODEL, "messages": HELLO})
    assert r.status_code == 401, r.text
    assert_openai_error_body(r)


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model=UNKNOWN_MODEL, messages=HELLO)
    assert exc.value.status_code == 404
    assert_openai_error_body(exc.value.response)


def test_exhausted_account_is_rate_limited(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model=OPENAI_EXHAUSTED_MODEL, messages=HELLO)
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after"), "429 without Retry-After"
    assert_openai_error_body(exc.value.response)


def test_malformed_json_is_400_in_openai_shape(proxy: httpx.Client, client_key: str) -> None:
    r = proxy.post(
        "/v1/chat/completions",
        content=b'{"model": "gpt-4o-mini", "messages": [',
        headers={"Authorization": f"Bearer {client_key}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert_openai_error_body(r)


def test_missing_messages_is_400_in_openai_shape(proxy: httpx.Client, client_key: str) -> None:
    # Valid JSON, invalid request: `messages` is required.
    r = proxy.post(
        "/v1/chat/completions",
        json={"model": OPENAI_MODEL},
        headers={"Authorization": f"Bearer {client_key}"},
    )
    assert r.status_code == 400, r.text
    assert_openai_error_body(r)
