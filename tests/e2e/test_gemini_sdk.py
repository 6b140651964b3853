"""The official Google GenAI Python SDK (`google-genai`) against the gateway's Gemini routes.

With `http_options.base_url` set and no `api_version`, the SDK (Gemini Developer API
mode) calls `{base_url}/v1/models/...`; with `api_version="v1beta"` it calls
`{base_url}/v1beta/models/...`. The key goes in the `x-goog-api-key` header.
"""

from __future__ import annotations

import httpx
import pytest
from google import genai
from google.genai import errors, types

from support import (
    ECHO_TEXT,
    GEMINI_EXHAUSTED_MODEL,
    GEMINI_MODEL,
    TIMEOUT_S,
    TOOL_RESULT_TEXT,
    UNKNOWN_MODEL,
    WEATHER_QUESTION,
    WRONG_KEY,
)

WEATHER_TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Current weather in a city.",
            parameters=types.Schema(
                type=types.Type.OBJECT,
                properties={"city": types.Schema(type=types.Type.STRING, description="City name")},
                required=["city"],
            ),
        )
    ]
)

TOOL_CONFIG = types.GenerateContentConfig(
    tools=[WEATHER_TOOL],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)

HELLO = "Say hello."


def make_client(gateway_url: str, key: str, api_version: str | None = None) -> genai.Client:
    return genai.Client(
        vertexai=False,
        api_key=key,
        http_options=types.HttpOptions(
            base_url=gateway_url,
            api_version=api_version,
            timeout=int(TIMEOUT_S * 1000),  # milliseconds
        ),
    )


@pytest.fixture(scope="module")
def client(gateway_url: str, client_key: str) -> genai.Client:
    return make_client(gateway_url, client_key)


def assert_gemini_error(err: errors.APIError, code: int, status: str) -> None:
    assert err.code == code, err
    assert err.status == status, err
    assert isinstance(err.message, str) and err.message, err


@pytest.mark.parametrize("api_version", [None, "v1beta"], ids=["default-v1", "v1beta"])
def test_generate_content_text(gateway_url: str, client_key: str, api_version: str | None) -> None:
    client = make_client(gateway_url, client_key, api_version)
    response = client.models.generate_content(model=GEMINI_MODEL, contents=HELLO)
    text = response.text
    assert text is not None
    assert "fake gemini upstream" in text.lower(), text
    assert GEMINI_MODEL in text, text  # the model reached the upstream unchanged
    assert response.candidates and response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.usage_metadata is not None
    assert (response.usage_metadata.prompt_token_count or 0) > 0
    assert (response.usage_metadata.candidates_token_count or 0) > 0


def test_stream_matches_non_stream(client: genai.Client) -> None:
    expected = client.models.generate_content(model=GEMINI_MODEL, contents=HELLO).text
    chunks = list(client.models.generate_content_stream(model=GEMINI_MODEL, contents=HELLO))
    assert chunks, "empty stream"
    joined = "".join(chunk.text or "" for chunk in chunks)
    assert joined == expected
    finish = [c.candidates[0].finish_reason for c in chunks if c.candidates and c.candidates[0].finish_reason]
    assert finish and finish[-1] == types.FinishReason.STOP, finish
    with_usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert with_usage and (with_usage[-1].prompt_token_count or 0) > 0


def test_echo_directive_round_trips_text_exactly(client: genai.Client) -> None:
    response = client.models.generate_content(model=GEMINI_MODEL, contents=ECHO_TEXT)
    assert response.text == ECHO_TEXT


def test_function_call(client: genai.Client) -> None:
    response = client.models.generate_content(model=GEMINI_MODEL, contents=WEATHER_QUESTION, config=TOOL_CONFIG)
    calls = response.function_calls
    assert calls, response
    assert calls[0].name == "get_weather"
    assert calls[0].args is not None and calls[0].args["city"] == "Paris"


def test_function_call_streamed(client: genai.Client) -> None:
    calls = []
    for chunk in client.models.generate_content_stream(
        model=GEMINI_MODEL, contents=WEATHER_QUESTION, config=TOOL_CONFIG
    ):
        calls.extend(chunk.function_calls or [])
    assert calls, "no function call in the stream"
    assert calls[0].name == "get_weather"
    assert calls[0].args is not None and calls[0].args["city"] == "Paris"


def test_function_response_round_trip(client: genai.Client) -> None:
    question = types.Content(role="user", parts=[types.Part.from_text(text=WEATHER_QUESTION)])
    first = client.models.generate_content(model=GEMINI_MODEL, contents=[question], config=TOOL_CONFIG)
    assert first.candidates and first.candidates[0].content is not None
    call = first.function_calls[0]
    contents = [
        question,
        first.candidates[0].content,  # the model turn as returned (keeps any thought signature)
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name=call.name, response={"result": TOOL_RESULT_TEXT})],
        ),
    ]
    second = client.models.generate_content(model=GEMINI_MODEL, contents=contents, config=TOOL_CONFIG)
    assert not second.function_calls
    assert "The tool returned" in (second.text or ""), second


def test_count_tokens(client: genai.Client) -> None:
    count = client.models.count_tokens(model=GEMINI_MODEL, contents=HELLO)
    assert (count.total_tokens or 0) > 0


def test_models_list(client: genai.Client) -> None:
    models = list(client.models.list())
    assert models, "the models list is empty"
    for model in models:
        assert isinstance(model.name, str) and model.name


def test_models_list_is_gemini_shaped(proxy: httpx.Client, client_key: str) -> None:
    # `GET /v1beta/models` with the key as `?key=`: Gemini shape, and `?key=` is accepted.
    r = proxy.get("/v1beta/models", params={"key": client_key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body.get("models"), list), body
    for model in body["models"]:
        assert model.get("name", "").startswith("models/"), model


def test_key_in_query_is_accepted(proxy: httpx.Client, client_key: str) -> None:
    r = proxy.post(
        f"/v1beta/models/{GEMINI_MODEL}:generateContent",
        params={"key": client_key},
        json={"contents": [{"role": "user", "parts": [{"text": HELLO}]}]},
    )
    assert r.status_code == 200, r.text
    text = r.json()["candidates"][0]["content"]["parts"][0]["text"]
    assert "fake gemini upstream" in text.lower(), text


def test_wrong_key_is_401(gateway_url: str) -> None:
    client = make_client(gateway_url, WRONG_KEY)
    with pytest.raises(errors.ClientError) as exc:
        client.models.generate_content(model=GEMINI_MODEL, contents=HELLO)
    assert_gemini_error(exc.value, 401, "UNAUTHENTICATED")


def test_unknown_model_is_404(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as exc:
        client.models.generate_content(model=UNKNOWN_MODEL, contents=HELLO)
    assert_gemini_error(exc.value, 404, "NOT_FOUND")


def test_exhausted_account_is_429(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as exc:
        client.models.generate_content(model=GEMINI_EXHAUSTED_MODEL, contents=HELLO)
    assert_gemini_error(exc.value, 429, "RESOURCE_EXHAUSTED")


def test_malformed_json_is_400_in_gemini_shape(proxy: httpx.Client, client_key: str) -> None:
    r = proxy.post(
        f"/v1beta/models/{GEMINI_MODEL}:generateContent",
        content=b'{"contents": [',
        headers={"x-goog-api-key": client_key, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    error = r.json().get("error")
    assert isinstance(error, dict), r.text
    assert error.get("code") == 400, r.text
    assert error.get("status") == "INVALID_ARGUMENT", r.text
    assert isinstance(error.get("message"), str) and error["message"], r.text
