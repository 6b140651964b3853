"""The official Anthropic Python SDK against the gateway's Anthropic-compatible routes."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from support import (
    ANTHROPIC_EXHAUSTED_MODEL,
    ANTHROPIC_MODEL,
    ECHO_TEXT,
    TIMEOUT_S,
    TOOL_RESULT_TEXT,
    UNKNOWN_MODEL,
    WEATHER_QUESTION,
    WRONG_KEY,
    anthropic_tool_turns,
)

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}

HELLO = [{"role": "user", "content": "Say hello."}]
MAX_TOKENS = 256
ANTHROPIC_VERSION = "2023-06-01"


def make_client(gateway_url: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway_url, api_key=key, max_retries=0, timeout=TIMEOUT_S)


@pytest.fixture(scope="module")
def client(gateway_url: str, client_key: str) -> anthropic.Anthropic:
    return make_client(gateway_url, client_key)


def assert_anthropic_error_body(response: httpx.Response, error_type: str | None = None) -> dict:
    """`{"type": "error", "error": {"type": "...", "message": "..."}}`."""
    body = response.json()
    assert isinstance(body, dict) and body.get("type") == "error", body
    error = body.get("error")
    assert isinstance(error, dict), body
    assert isinstance(error.get("message"), str) and error["message"], body
    if error_type is not None:
        assert error.get("type") == error_type, body
    return error


def text_of(message: anthropic.types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def tool_uses(message: anthropic.types.Message) -> list:
    return [block for block in message.content if block.type == "tool_use"]


def test_text_message(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=HELLO)
    assert message.type == "message"
    assert message.role == "assistant"
    text = text_of(message)
    assert "fake anthropic upstream" in text.lower(), text
    assert ANTHROPIC_MODEL in text, text  # the model reached the upstream unchanged
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0


def test_stream_matches_non_stream(client: anthropic.Anthropic) -> None:
    expected = text_of(client.messages.create(model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=HELLO))
    with client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=HELLO) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces, "no text delta streamed"
    assert "".join(pieces) == expected
    assert final.stop_reason == "end_turn"
    assert text_of(final) == expected
    assert final.usage.output_tokens > 0


def test_stream_event_order(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=HELLO) as stream:
        kinds = [event.type for event in stream]
    kinds = [k for k in kinds if k != "ping"]
    assert kinds[0] == "message_start", kinds
    assert kinds[-1] == "message_stop", kinds
    assert "content_block_start" in kinds and "content_block_stop" in kinds, kinds
    assert "message_delta" in kinds, kinds
    assert kinds.index("content_block_start") < kinds.index("content_block_stop") < kinds.index("message_delta")


def test_echo_directive_round_trips_text_exactly(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=[{"role": "user", "content": ECHO_TEXT}]
    )
    assert text_of(message) == ECHO_TEXT


def test_tool_use(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=ANTHROPIC_MODEL,
        max_tokens=MAX_TOKENS,
        messages=[{"role": "user", "content": WEATHER_QUESTION}],
        tools=[WEATHER_TOOL],
    )
    assert message.stop_reason == "tool_use"
    uses = tool_uses(message)
    assert uses, message.content
    assert uses[0].name == "get_weather"
    assert uses[0].id
    assert uses[0].input["city"] == "Paris"


def test_tool_use_streamed(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=ANTHROPIC_MODEL,
        max_tokens=MAX_TOKENS,
        messages=[{"role": "user", "content": WEATHER_QUESTION}],
        tools=[WEATHER_TOOL],
    ) as stream:
        partial_json = [
            event.delta.partial_json
            for event in stream
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta"
        ]
        final = stream.get_final_message()
    # Clients ignore the input in content_block_start: arguments must come as deltas.
    assert partial_json, "tool input was not streamed as input_json_delta"
    assert final.stop_reason == "tool_use"
    uses = tool_uses(final)
    assert uses, final.content
    assert uses[0].name == "get_weather"
    assert uses[0].input["city"] == "Paris"


def test_tool_result_round_trip(client: anthropic.Anthropic) -> None:
    messages: list[dict] = [{"role": "user", "content": WEATHER_QUESTION}]
    first = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=messages, tools=[WEATHER_TOOL]
    )
    use = tool_uses(first)[0]
    messages += anthropic_tool_turns(use.id, use.name, use.input, TOOL_RESULT_TEXT)
    second = client.messages.create(
        model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=messages, tools=[WEATHER_TOOL]
    )
    assert second.stop_reason == "end_turn"
    assert not tool_uses(second)
    assert "The tool returned" in text_of(second), second.content


def test_count_tokens(client: anthropic.Anthropic) -> None:
    count = client.messages.count_tokens(model=ANTHROPIC_MODEL, messages=HELLO)
    assert count.input_tokens > 0


def test_x_api_key_header_is_accepted(proxy: httpx.Client, client_key: str) -> None:
    # Claude Code and older SDKs send the key as `x-api-key` (this SDK sends a Bearer).
    r = proxy.post(
        "/v1/messages",
        json={"model": ANTHROPIC_MODEL, "max_tokens": MAX_TOKENS, "messages": HELLO},
        headers={"x-api-key": client_key, "anthropic-version": ANTHROPIC_VERSION},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "message"
    assert "fake anthropic upstream" in body["content"][0]["text"].lower(), body


def test_models_list_is_anthropic_shaped(proxy: httpx.Client, client_key: str) -> None:
    # `GET /v1/models` answers in Anthropic shape when `anthropic-version` is present.
    r = proxy.get(
        "/v1/models",
        headers={"x-api-key": client_key, "anthropic-version": ANTHROPIC_VERSION},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body.get("data"), list), body
    assert isinstance(body.get("has_more"), bool), body
    for model in body["data"]:
        assert model.get("type") == "model", model
        assert isinstance(model.get("id"), str) and model["id"], model


def test_wrong_key_is_authentication_error(gateway_url: str) -> None:
    client = make_client(gateway_url, WRONG_KEY)
    with pytest.raises(anthropic.AuthenticationError) as exc:
        client.messages.create(model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=HELLO)
    assert exc.value.status_code == 401
    assert_anthropic_error_body(exc.value.response, "authentication_error")


def test_unknown_model_is_not_found(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as exc:
        client.messages.create(model=UNKNOWN_MODEL, max_tokens=MAX_TOKENS, messages=HELLO)
    assert exc.value.status_code == 404
    assert_anthropic_error_body(exc.value.response, "not_found_error")


def test_exhausted_account_is_rate_limited(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as exc:
        client.messages.create(model=ANTHROPIC_EXHAUSTED_MODEL, max_tokens=MAX_TOKENS, messages=HELLO)
    assert exc.value.status_code == 429
    assert exc.value.response.headers.get("retry-after"), "429 without Retry-After"
    assert_anthropic_error_body(exc.value.response, "rate_limit_error")


def test_malformed_json_is_400_in_anthropic_shape(proxy: httpx.Client, client_key: str) -> None:
    r = proxy.post(
        "/v1/messages",
        content=b'{"model": "claude-e2e-model", "messages": [',
        headers={
            "x-api-key": client_key,
            "anthropic-version": ANTHROPIC_VERSION,
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 400, r.text
    assert_anthropic_error_body(r, "invalid_request_error")


def test_missing_max_tokens_is_400(proxy: httpx.Client, client_key: str) -> None:
    # `max_tokens` is required by the Anthropic Messages API.
    r = proxy.post(
        "/v1/messages",
        json={"model": ANTHROPIC_MODEL, "messages": HELLO},
        headers={"x-api-key": client_key, "anthropic-version": ANTHROPIC_VERSION},
    )
    assert r.status_code == 400, r.text
    assert_anthropic_error_body(r, "invalid_request_error")
