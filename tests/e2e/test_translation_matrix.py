"""The translation matrix: each official SDK (OpenAI, Anthropic, Google GenAI) against each
upstream family (OpenAI, Anthropic, Gemini accounts on the fake upstream).

The model name picks the upstream (conftest.py, support.py): `via-<family>-1` is served
only by that family's account, `rl-<family>-1` only by an account the fake always answers
with 429. When the account's protocol differs from the client's, the gateway translates the
request, the answer, the stream and the errors; the same-protocol cell of each row goes
through passthrough. The fake names its own protocol in its reply ("Hello from the fake
Gemini upstream, model via-gemini-1."), so every test can tell which upstream answered.

What the fake does is driven by the request: declared tools make it call the first tool
(`city` → "Paris", other strings → "sample"); a trailing tool result makes it answer
"The tool returned: …"; `#fake:` directives in the last user message change the reply
(`echo`, `parallel`, `thinking`) or make it fail (`status=400`). Without `#fake:thinking`
the fake thinks only when the request asks for it, which the last tests use to check that
each client's reasoning switch is mapped onto the upstream's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types

from support import (
    ECHO_TEXT,
    TIMEOUT_S,
    TOOL_RESULT_TEXT,
    UPSTREAMS,
    WEATHER_QUESTION,
    anthropic_tool_turns,
    openai_tool_turns,
    rate_limited_model,
    via_model,
)

over_upstreams = pytest.mark.parametrize("upstream", UPSTREAMS, ids=[f"to-{u}" for u in UPSTREAMS])
# Tool tests run twice: a JSON answer and a stream, read the SDK's way.
json_and_stream = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])

HELLO = "Say hello."
PARALLEL_PROMPT = "What are the weather and the time in Paris? #fake:parallel"
THINKING_PROMPT = "Think first, then say hello. #fake:thinking"
BAD_REQUEST_PROMPT = "Refuse this request. #fake:status=400"
# A piece of the fake's fixed thinking text ("The user wants an answer. Thinking it
# through before replying.").
THINKING_FRAGMENT = "Thinking it through"

# The two tools: (description, the one required string property, its description).
# Each SDK section renders them in its own shape.
TOOL_SPECS = {
    "get_weather": ("Current weather in a city.", "city", "City name"),
    "get_time": ("Current time in a time zone.", "timezone", "IANA time zone name"),
}
# What the fake calls them with: `city` gets "Paris", any other string "sample".
WEATHER_ARGS = {"city": "Paris"}
TIME_ARGS = {"timezone": "sample"}
WEATHER_CALL = [("get_weather", WEATHER_ARGS)]
PARALLEL_CALLS = [("get_weather", WEATHER_ARGS), ("get_time", TIME_ARGS)]

ANTHROPIC_MAX_TOKENS = 256


def json_schema(name: str) -> dict:
    _, prop, description = TOOL_SPECS[name]
    return {
        "type": "object",
        "properties": {prop: {"type": "string", "description": description}},
        "required": [prop],
    }


def assert_from_upstream(text: str | None, upstream: str, model: str) -> None:
    """The fake `upstream` answered, and the model name reached it unchanged."""
    assert text is not None, "no text in the reply"
    assert f"fake {upstream} upstream" in text.lower(), text
    assert model in text, text


def assert_no_thinking_in(text: str | None) -> None:
    """Reasoning is surfaced in its own field or part, not mixed into the answer text."""
    assert THINKING_FRAGMENT not in (text or ""), text


def assert_distinct_ids(ids: list) -> None:
    assert all(ids) and len(set(ids)) == len(ids), f"tool call ids must be set and distinct: {ids}"


def mentions_n(message: str) -> bool:
    """Whether an error message names the `n` parameter (as a word of its own)."""
    return re.search(r"(?<![A-Za-z0-9_])n(?![A-Za-z0-9_])", message) is not None


# --------------------------------------------------------------------------------------
# OpenAI SDK (Chat Completions)
# --------------------------------------------------------------------------------------


def openai_tools(*names: str) -> list[dict]:
    return [
        {
            "type": "function",
            "function": {"name": n, "description": TOOL_SPECS[n][0], "parameters": json_schema(n)},
        }
        for n in names
    ]


def openai_error(response: httpx.Response | object) -> dict:
    """`{"error": {"message": "...", ...}}`, the OpenAI error shape."""
    body = response.json()  # type: ignore[attr-defined]
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    return body["error"]


@dataclass
class ChatStream:
    """A chat completion stream read the way the SDK's own accumulator reads it: string
    fragments of a tool call (id, name, arguments) concatenate per `index`."""

    chunks: list = field(default_factory=list)
    text: str = ""
    finish_reasons: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, str]] = field(default_factory=dict)


def read_chat_stream(stream) -> ChatStream:
    out = ChatStream()
    for chunk in stream:
        out.chunks.append(chunk)
        assert chunk.object == "chat.completion.chunk", chunk
        for choice in chunk.choices:
            delta = choice.delta
            if delta.content:
                out.text += delta.content
            for tc in delta.tool_calls or []:
                call = out.calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                call["id"] += tc.id or ""
                if tc.function is not None:
                    call["name"] += tc.function.name or ""
                    call["arguments"] += tc.function.arguments or ""
            if choice.finish_reason:
                out.finish_reasons.append(choice.finish_reason)
    return out


def openai_tool_calls(
    client: openai.OpenAI, stream: bool, **request
) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The finish reasons and the tool calls, as (id, name, arguments), of one answer."""
    if stream:
        streamed = read_chat_stream(client.chat.completions.create(stream=True, **request))
        # Each call keeps its own index (merging calls under one index is the classic bug).
        assert sorted(streamed.calls) == list(range(len(streamed.calls))), streamed.calls
        calls = [streamed.calls[i] for i in sorted(streamed.calls)]
        return streamed.finish_reasons, [(c["id"], c["name"], c["arguments"]) for c in calls]
    choice = client.chat.completions.create(**request).choices[0]
    tool_calls = choice.message.tool_calls or []
    assert all(c.type == "function" for c in tool_calls), tool_calls
    return [choice.finish_reason], [(c.id, c.function.name, c.function.arguments) for c in tool_calls]


def assert_openai_calls(calls: list[tuple[str, str, str]], expected: list[tuple[str, dict]]) -> None:
    assert [(name, json.loads(arguments)) for _, name, arguments in calls] == expected, calls
    assert_distinct_ids([call_id for call_id, _, _ in calls])


def openai_reasoning(client: openai.OpenAI, model: str, prompt: str) -> tuple[str | None, object]:
    """The content and the `reasoning_content` of an answer asked with `reasoning_effort`."""
    completion = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], reasoning_effort="low"
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop", choice
    # Not a declared field of the SDK's message type: it lands in `model_extra`.
    return choice.message.content, (choice.message.model_extra or {}).get("reasoning_content")


@pytest.fixture(scope="module")
def openai_client(gateway_url: str, client_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=client_key, max_retries=0, timeout=TIMEOUT_S)


@over_upstreams
class TestOpenAIClient:
    def test_text(self, openai_client: openai.OpenAI, upstream: str) -> None:
        model = via_model(upstream)
        completion = openai_client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": HELLO}]
        )
        assert len(completion.choices) == 1
        choice = completion.choices[0]
        assert choice.message.role == "assistant"
        assert_from_upstream(choice.message.content, upstream, model)
        assert choice.finish_reason == "stop"
        assert completion.usage is not None
        assert completion.usage.prompt_tokens > 0
        assert completion.usage.completion_tokens > 0

    def test_stream_matches_non_stream(self, openai_client: openai.OpenAI, upstream: str) -> None:
        messages = [{"role": "user", "content": ECHO_TEXT}]
        expected = openai_client.chat.completions.create(model=via_model(upstream), messages=messages)
        assert expected.choices[0].message.content == ECHO_TEXT
        streamed = read_chat_stream(
            openai_client.chat.completions.create(model=via_model(upstream), messages=messages, stream=True)
        )
        assert streamed.text == ECHO_TEXT
        assert streamed.finish_reasons == ["stop"]
        # No `stream_options.include_usage`: no usage chunk, and no usage on any chunk.
        assert [c.usage for c in streamed.chunks if c.usage is not None] == []
        assert all(c.choices for c in streamed.chunks), "a chunk without choices (a usage chunk?)"

    def test_stream_include_usage(self, openai_client: openai.OpenAI, upstream: str) -> None:
        streamed = read_chat_stream(
            openai_client.chat.completions.create(
                model=via_model(upstream),
                messages=[{"role": "user", "content": ECHO_TEXT}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert streamed.text == ECHO_TEXT
        assert streamed.finish_reasons == ["stop"]
        last = streamed.chunks[-1]
        assert last.choices == [], "the usage chunk comes last and has no choices"
        assert last.usage is not None
        assert last.usage.prompt_tokens > 0
        assert last.usage.completion_tokens > 0
        assert [c for c in streamed.chunks[:-1] if c.usage is not None] == [], "usage before the last chunk"

    @json_and_stream
    def test_tool_call(self, openai_client: openai.OpenAI, upstream: str, stream: bool) -> None:
        finish, calls = openai_tool_calls(
            openai_client,
            stream,
            model=via_model(upstream),
            messages=[{"role": "user", "content": WEATHER_QUESTION}],
            tools=openai_tools("get_weather"),
        )
        assert finish == ["tool_calls"]
        assert_openai_calls(calls, WEATHER_CALL)

    @json_and_stream
    def test_parallel_tool_calls(self, openai_client: openai.OpenAI, upstream: str, stream: bool) -> None:
        finish, calls = openai_tool_calls(
            openai_client,
            stream,
            model=via_model(upstream),
            messages=[{"role": "user", "content": PARALLEL_PROMPT}],
            tools=openai_tools("get_weather", "get_time"),
        )
        assert finish == ["tool_calls"]
        assert_openai_calls(calls, PARALLEL_CALLS)

    def test_tool_result_round_trip(self, openai_client: openai.OpenAI, upstream: str) -> None:
        model = via_model(upstream)
        tools = openai_tools("get_weather")
        messages: list[dict] = [{"role": "user", "content": WEATHER_QUESTION}]
        first = openai_client.chat.completions.create(model=model, messages=messages, tools=tools)
        call = (first.choices[0].message.tool_calls or [None])[0]
        assert call is not None, first.choices[0].message
        messages += openai_tool_turns(call.id, call.function.name, call.function.arguments, TOOL_RESULT_TEXT)
        second = openai_client.chat.completions.create(model=model, messages=messages, tools=tools)
        choice = second.choices[0]
        assert choice.finish_reason == "stop"
        assert not choice.message.tool_calls
        content = choice.message.content or ""
        assert "The tool returned" in content, content
        assert TOOL_RESULT_TEXT in content, content

    def test_thinking(self, openai_client: openai.OpenAI, upstream: str) -> None:
        model = via_model(upstream)
        content, reasoning = openai_reasoning(openai_client, model, THINKING_PROMPT)
        assert_from_upstream(content, upstream, model)
        assert_no_thinking_in(content)
        assert isinstance(reasoning, str) and THINKING_FRAGMENT in reasoning, reasoning

    def test_rate_limited(self, openai_client: openai.OpenAI, upstream: str) -> None:
        with pytest.raises(openai.RateLimitError) as exc:
            openai_client.chat.completions.create(
                model=rate_limited_model(upstream), messages=[{"role": "user", "content": HELLO}]
            )
        assert exc.value.status_code == 429
        assert exc.value.response.headers.get("retry-after"), "429 without Retry-After"
        openai_error(exc.value.response)

    def test_upstream_bad_request(self, openai_client: openai.OpenAI, upstream: str) -> None:
        with pytest.raises(openai.BadRequestError) as exc:
            openai_client.chat.completions.create(
                model=via_model(upstream), messages=[{"role": "user", "content": BAD_REQUEST_PROMPT}]
            )
        assert exc.value.status_code == 400
        # The upstream's own message is kept (each fake says "Invalid request…" in some form).
        assert "invalid" in openai_error(exc.value.response)["message"].lower()


def test_openai_n_is_refused_for_anthropic(openai_client: openai.OpenAI) -> None:
    """Anthropic has no `n`: rather than silently answer once, the gateway refuses."""
    with pytest.raises(openai.BadRequestError) as exc:
        openai_client.chat.completions.create(
            model=via_model("anthropic"), messages=[{"role": "user", "content": HELLO}], n=2
        )
    assert exc.value.status_code == 400
    message = openai_error(exc.value.response)["message"]
    assert mentions_n(message), message


# --------------------------------------------------------------------------------------
# Anthropic SDK (Messages)
# --------------------------------------------------------------------------------------


def anthropic_tools(*names: str) -> list[dict]:
    return [{"name": n, "description": TOOL_SPECS[n][0], "input_schema": json_schema(n)} for n in names]


def anthropic_text(message: anthropic.types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def anthropic_tool_uses(message: anthropic.types.Message) -> list:
    return [block for block in message.content if block.type == "tool_use"]


def anthropic_answer(client: anthropic.Anthropic, stream: bool, **request) -> anthropic.types.Message:
    """The whole message: as answered, or accumulated by the SDK from the stream."""
    if not stream:
        return client.messages.create(**request)
    with client.messages.stream(**request) as streamed:
        return streamed.get_final_message()


def assert_tool_uses(message: anthropic.types.Message, expected: list[tuple[str, dict]]) -> None:
    assert message.stop_reason == "tool_use", message
    uses = anthropic_tool_uses(message)
    assert [(u.name, u.input) for u in uses] == expected, message.content
    assert_distinct_ids([u.id for u in uses])


def anthropic_thinking(client: anthropic.Anthropic, model: str, prompt: str) -> anthropic.types.Message:
    message = client.messages.create(
        model=model,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": prompt}],
    )
    assert message.stop_reason == "end_turn", message
    return message


def assert_thinking_block(message: anthropic.types.Message) -> None:
    """Thinking comes first and always carries a `signature` (possibly empty when the
    upstream is not Anthropic: clients drop thinking blocks that have none)."""
    assert message.content and message.content[0].type == "thinking", message.content
    thinking = message.content[0]
    assert THINKING_FRAGMENT in thinking.thinking, thinking
    assert isinstance(getattr(thinking, "signature", None), str), thinking


def anthropic_error(response: httpx.Response, error_type: str) -> dict:
    """`{"type": "error", "error": {"type": error_type, "message": "..."}}`."""
    body = response.json()
    assert isinstance(body, dict) and body.get("type") == "error", body
    error = body.get("error")
    assert isinstance(error, dict), body
    assert isinstance(error.get("message"), str) and error["message"], body
    assert error.get("type") == error_type, body
    return error


@pytest.fixture(scope="module")
def anthropic_client(gateway_url: str, client_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway_url, api_key=client_key, max_retries=0, timeout=TIMEOUT_S)


@over_upstreams
class TestAnthropicClient:
    def test_text(self, anthropic_client: anthropic.Anthropic, upstream: str) -> None:
        model = via_model(upstream)
        message = anthropic_client.messages.create(
            model=model, max_tokens=ANTHROPIC_MAX_TOKENS, messages=[{"role": "user", "content": HELLO}]
        )
        assert message.type == "message"
        assert message.role == "assistant"
        assert_from_upstream(anthropic_text(message), upstream, model)
        assert message.stop_reason == "end_turn"
        assert message.usage.input_tokens > 0
        assert message.usage.output_tokens > 0

    def test_stream_matches_non_stream(self, anthropic_client: anthropic.Anthropic, upstream: str) -> None:
        request = {
            "model": via_model(upstream),
            "max_tokens": ANTHROPIC_MAX_TOKENS,
            "messages": [{"role": "user", "content": ECHO_TEXT}],
        }
        expected = anthropic_text(anthropic_client.messages.create(**request))
        assert expected == ECHO_TEXT
        with anthropic_client.messages.stream(**request) as stream:
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
        assert "".join(pieces) == expected
        assert anthropic_text(final) == expected
        assert final.stop_reason == "end_turn"
        assert final.usage.output_tokens > 0

    @json_and_stream
    def test_tool_use(self, anthropic_client: anthropic.Anthropic, upstream: str, stream: bool) -> None:
        message = anthropic_answer(
            anthropic_client,
            stream,
            model=via_model(upstream),
            max_tokens=ANTHROPIC_MAX_TOKENS,
            messages=[{"role": "user", "content": WEATHER_QUESTION}],
            tools=anthropic_tools("get_weather"),
        )
        assert_tool_uses(message, WEATHER_CALL)

    @json_and_stream
    def test_parallel_tool_use(self, anthropic_client: anthropic.Anthropic, upstream: str, stream: bool) -> None:
        message = anthropic_answer(
            anthropic_client,
            stream,
            model=via_model(upstream),
            max_tokens=ANTHROPIC_MAX_TOKENS,
            messages=[{"role": "user", "content": PARALLEL_PROMPT}],
            tools=anthropic_tools("get_weather", "get_time"),
        )
        assert_tool_uses(message, PARALLEL_CALLS)

    def test_tool_result_round_trip(self, anthropic_client: anthropic.Anthropic, upstream: str) -> None:
        model = via_model(upstream)
        tools = anthropic_tools("get_weather")
        messages: list[dict] = [{"role": "user", "content": WEATHER_QUESTION}]
        first = anthropic_client.messages.create(
            model=model, max_tokens=ANTHROPIC_MAX_TOKENS, messages=messages, tools=tools
        )
        uses = anthropic_tool_uses(first)
        assert uses, first.content
        messages += anthropic_tool_turns(uses[0].id, uses[0].name, uses[0].input, TOOL_RESULT_TEXT)
        second = anthropic_client.messages.create(
            model=model, max_tokens=ANTHROPIC_MAX_TOKENS, messages=messages, tools=tools
        )
        assert second.stop_reason == "end_turn"
        assert not anthropic_tool_uses(second)
        text = anthropic_text(second)
        assert "The tool returned" in text, second.content
        assert TOOL_RESULT_TEXT in text, second.content

    def test_thinking(self, anthropic_client: anthropic.Anthropic, upstream: str) -> None:
        model = via_model(upstream)
        message = anthropic_thinking(anthropic_client, model, THINKING_PROMPT)
        text = anthropic_text(message)
        assert_from_upstream(text, upstream, model)
        assert_no_thinking_in(text)
        assert_thinking_block(message)

    def test_rate_limited(self, anthropic_client: anthropic.Anthropic, upstream: str) -> None:
        with pytest.raises(anthropic.RateLimitError) as exc:
            anthropic_client.messages.create(
                model=rate_limited_model(upstream),
                max_tokens=ANTHROPIC_MAX_TOKENS,
                messages=[{"role": "user", "content": HELLO}],
            )
        assert exc.value.status_code == 429
        assert exc.value.response.headers.get("retry-after"), "429 without Retry-After"
        anthropic_error(exc.value.response, "rate_limit_error")

    def test_upstream_bad_request(self, anthropic_client: anthropic.Anthropic, upstream: str) -> None:
        with pytest.raises(anthropic.BadRequestError) as exc:
            anthropic_client.messages.create(
                model=via_model(upstream),
                max_tokens=ANTHROPIC_MAX_TOKENS,
                messages=[{"role": "user", "content": BAD_REQUEST_PROMPT}],
            )
        assert exc.value.status_code == 400
        error = anthropic_error(exc.value.response, "invalid_request_error")
        assert "invalid" in error["message"].lower(), error


# --------------------------------------------------------------------------------------
# Google GenAI SDK (generateContent)
# --------------------------------------------------------------------------------------


def gemini_tool_config(*names: str) -> types.GenerateContentConfig:
    declarations = []
    for n in names:
        description, prop, prop_description = TOOL_SPECS[n]
        declarations.append(
            types.FunctionDeclaration(
                name=n,
                description=description,
                parameters=types.Schema(
                    type=types.Type.OBJECT,
                    properties={prop: types.Schema(type=types.Type.STRING, description=prop_description)},
                    required=[prop],
                ),
            )
        )
    return types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=declarations)],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )


def gemini_stream(
    client: genai.Client, model: str, contents, config: types.GenerateContentConfig | None = None
) -> list[types.GenerateContentResponse]:
    chunks = list(client.models.generate_content_stream(model=model, contents=contents, config=config))
    assert chunks, "empty stream"
    return chunks


def gemini_finish_reasons(chunks: list[types.GenerateContentResponse]) -> list:
    return [c.candidates[0].finish_reason for c in chunks if c.candidates and c.candidates[0].finish_reason]


def gemini_function_calls(
    client: genai.Client, stream: bool, model: str, contents, config: types.GenerateContentConfig
) -> tuple[list[types.FunctionCall], list]:
    """The function calls and the finish reasons of one answer (all chunks of a stream)."""
    if stream:
        chunks = gemini_stream(client, model, contents, config)
    else:
        chunks = [client.models.generate_content(model=model, contents=contents, config=config)]
    calls = [call for chunk in chunks for call in (chunk.function_calls or [])]
    return calls, gemini_finish_reasons(chunks)


def assert_function_calls(calls: list[types.FunctionCall], expected: list[tuple[str, dict]]) -> None:
    assert [(c.name, c.args) for c in calls] == expected, calls
    ids = [c.id for c in calls if c.id]  # Gemini call ids are optional; those given must differ
    assert len(set(ids)) == len(ids), ids


def gemini_thinking(client: genai.Client, model: str, prompt: str) -> types.GenerateContentResponse:
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024)
    )
    return client.models.generate_content(model=model, contents=prompt, config=config)


def assert_thought_part(response: types.GenerateContentResponse) -> None:
    assert response.candidates and response.candidates[0].content is not None, response
    thoughts = [p for p in response.candidates[0].content.parts or [] if p.thought]
    assert thoughts, response.candidates[0].content
    assert THINKING_FRAGMENT in "".join(p.text or "" for p in thoughts), thoughts


def assert_gemini_error(err: errors.APIError, code: int, status: str) -> None:
    assert err.code == code, err
    assert err.status == status, err
    assert isinstance(err.message, str) and err.message, err


@pytest.fixture(scope="module")
def gemini_client(gateway_url: str, client_key: str) -> genai.Client:
    return genai.Client(
        vertexai=False,
        api_key=client_key,
        http_options=types.HttpOptions(base_url=gateway_url, timeout=int(TIMEOUT_S * 1000)),
    )


@over_upstreams
class TestGeminiClient:
    def test_text(self, gemini_client: genai.Client, upstream: str) -> None:
        model = via_model(upstream)
        response = gemini_client.models.generate_content(model=model, contents=HELLO)
        assert_from_upstream(response.text, upstream, model)
        assert response.candidates and response.candidates[0].finish_reason == types.FinishReason.STOP
        usage = response.usage_metadata
        assert usage is not None
        assert (usage.prompt_token_count or 0) > 0
        assert (usage.candidates_token_count or 0) > 0

    def test_stream_matches_non_stream(self, gemini_client: genai.Client, upstream: str) -> None:
        model = via_model(upstream)
        expected = gemini_client.models.generate_content(model=model, contents=ECHO_TEXT).text
        assert expected == ECHO_TEXT
        chunks = gemini_stream(gemini_client, model, ECHO_TEXT)
        assert "".join(c.text or "" for c in chunks) == expected
        finish = gemini_finish_reasons(chunks)
        assert finish and finish[-1] == types.FinishReason.STOP, finish
        usage = chunks[-1].usage_metadata
        assert usage is not None, "the last chunk carries no usageMetadata"
        assert (usage.prompt_token_count or 0) > 0
        assert (usage.candidates_token_count or 0) > 0

    @json_and_stream
    def test_function_call(self, gemini_client: genai.Client, upstream: str, stream: bool) -> None:
        calls, finish = gemini_function_calls(
            gemini_client, stream, via_model(upstream), WEATHER_QUESTION, gemini_tool_config("get_weather")
        )
        assert_function_calls(calls, WEATHER_CALL)
        # Gemini has no tool-call finish reason: a call ends with STOP.
        assert finish and finish[-1] == types.FinishReason.STOP, finish

    @json_and_stream
    def test_parallel_function_calls(self, gemini_client: genai.Client, upstream: str, stream: bool) -> None:
        calls, finish = gemini_function_calls(
            gemini_client,
            stream,
            via_model(upstream),
            PARALLEL_PROMPT,
            gemini_tool_config("get_weather", "get_time"),
        )
        assert_function_calls(calls, PARALLEL_CALLS)
        assert finish and finish[-1] == types.FinishReason.STOP, finish

    def test_function_response_round_trip(self, gemini_client: genai.Client, upstream: str) -> None:
        model = via_model(upstream)
        config = gemini_tool_config("get_weather")
        question = types.Content(role="user", parts=[types.Part.from_text(text=WEATHER_QUESTION)])
        first = gemini_client.models.generate_content(model=model, contents=[question], config=config)
        assert first.candidates and first.candidates[0].content is not None
        calls = first.function_calls or []
        assert calls, first
        call = calls[0]
        answer = types.FunctionResponse(id=call.id, name=call.name, response={"result": TOOL_RESULT_TEXT})
        contents = [
            question,
            first.candidates[0].content,  # the model turn as returned (with any id or signature)
            types.Content(role="user", parts=[types.Part(function_response=answer)]),
        ]
        second = gemini_client.models.generate_content(model=model, contents=contents, config=config)
        assert not second.function_calls, second
        text = second.text or ""
        assert "The tool returned" in text, second
        assert TOOL_RESULT_TEXT in text, second
        assert second.candidates and second.candidates[0].finish_reason == types.FinishReason.STOP

    def test_thinking(self, gemini_client: genai.Client, upstream: str) -> None:
        model = via_model(upstream)
        response = gemini_thinking(gemini_client, model, THINKING_PROMPT)
        # `.text` joins the parts that are not thoughts.
        assert_from_upstream(response.text, upstream, model)
        assert_no_thinking_in(response.text)
        assert_thought_part(response)

    def test_rate_limited(self, gemini_client: genai.Client, upstream: str) -> None:
        with pytest.raises(errors.ClientError) as exc:
            gemini_client.models.generate_content(model=rate_limited_model(upstream), contents=HELLO)
        assert_gemini_error(exc.value, 429, "RESOURCE_EXHAUSTED")

    def test_upstream_bad_request(self, gemini_client: genai.Client, upstream: str) -> None:
        with pytest.raises(errors.ClientError) as exc:
            gemini_client.models.generate_content(model=via_model(upstream), contents=BAD_REQUEST_PROMPT)
        assert_gemini_error(exc.value, 400, "INVALID_ARGUMENT")
        assert "invalid" in (exc.value.message or "").lower(), exc.value


# --------------------------------------------------------------------------------------
# The client's reasoning switch alone (no `#fake:thinking`)
# --------------------------------------------------------------------------------------
# The fake thinks unasked only on a directive; otherwise only when the request itself asks
# for it (Anthropic `thinking`, Gemini `thinkingConfig.includeThoughts`). So thinking in
# these answers proves the gateway mapped the client's switch onto the upstream's.


def test_openai_reasoning_effort_turns_on_anthropic_thinking(openai_client: openai.OpenAI) -> None:
    content, reasoning = openai_reasoning(openai_client, via_model("anthropic"), HELLO)
    assert_from_upstream(content, "anthropic", via_model("anthropic"))
    assert isinstance(reasoning, str) and THINKING_FRAGMENT in reasoning, reasoning


def test_anthropic_thinking_turns_on_gemini_thoughts(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_thinking(anthropic_client, via_model("gemini"), HELLO)
    assert_from_upstream(anthropic_text(message), "gemini", via_model("gemini"))
    assert_thinking_block(message)


def test_gemini_include_thoughts_turns_on_anthropic_thinking(gemini_client: genai.Client) -> None:
    response = gemini_thinking(gemini_client, via_model("anthropic"), HELLO)
    assert_from_upstream(response.text, "anthropic", via_model("anthropic"))
    assert_thought_part(response)
