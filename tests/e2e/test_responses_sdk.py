"""The OpenAI Responses API (`client.responses.create`) against each upstream family.

`via-openai-1` is served by a provider-`openai` account: the request is passed through to
the fake's own `POST /v1/responses`. `via-anthropic-1` and `via-gemini-1` are translated
(Responses → IR → Messages / generateContent and back, events included). The fake names
its protocol in its reply ("Hello from the fake OpenAI Responses upstream, …"), so each
test can tell which upstream answered.

Reasoning round trip: the first turn asks for reasoning; the reasoning item that comes
back (its `encrypted_content` carries the upstream's signature) goes into the next turn's
`input`, whose `#fake:signatures` prompt makes the fake answer with how many of its own
signatures reached it.
"""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from support import TIMEOUT_S, TOOL_RESULT_TEXT, UPSTREAMS, rate_limited_model, via_model

over_upstreams = pytest.mark.parametrize("upstream", UPSTREAMS, ids=[f"to-{u}" for u in UPSTREAMS])
json_and_stream = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])

# The name each family's fake uses for itself in its reply.
FAKE_NAME = {"openai": "openai responses", "anthropic": "anthropic", "gemini": "gemini"}

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
TIME_TOOL = {
    "type": "function",
    "name": "get_time",
    "description": "Current time in a time zone.",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "IANA time zone name"}},
        "required": ["timezone"],
    },
}


@pytest.fixture(scope="module")
def client(gateway_url: str, client_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=client_key, max_retries=0, timeout=TIMEOUT_S)


def create(client: openai.OpenAI, stream: bool, **kwargs) -> tuple[object, list]:
    """The final response object and (for streams) the events, read the SDK's way."""
    if not stream:
        return client.responses.create(**kwargs), []
    events = list(client.responses.create(stream=True, **kwargs))
    assert events, "empty stream"
    assert events[0].type == "response.created", [e.type for e in events]
    assert events[-1].type in ("response.completed", "response.incomplete"), [e.type for e in events]
    seqs = [e.sequence_number for e in events]
    assert seqs == list(range(len(seqs))), f"sequence numbers: {seqs}"
    return events[-1].response, events


def assert_from(text: str, upstream: str, model: str) -> None:
    assert f"fake {FAKE_NAME[upstream]} upstream" in text.lower(), text
    assert model in text, text


def assert_usage(response) -> None:
    usage = response.usage
    assert usage is not None, "no usage"
    assert usage.input_tokens > 0 and usage.output_tokens > 0, usage
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens, usage
    assert usage.input_tokens_details.cached_tokens >= 0, usage
    assert usage.output_tokens_details.reasoning_tokens >= 0, usage


def calls_of(response) -> list:
    return [item for item in response.output if item.type == "function_call"]


@over_upstreams
@json_and_stream
def test_text(client: openai.OpenAI, upstream: str, stream: bool) -> None:
    model = via_model(upstream)
    response, events = create(client, stream, model=model, input="Say hello.", store=False)
    assert response.status == "completed"
    assert response.object == "response"
    assert response.id.startswith("resp_")
    assert_from(response.output_text, upstream, model)
    assert_usage(response)
    if stream:
        deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert deltas == response.output_text
        types = [e.type for e in events]
        for kind in (
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
        ):
            assert kind in types, types


@over_upstreams
def test_every_event_validates_strictly(proxy: httpx.Client, client_key: str, upstream: str) -> None:
    """The SDK parses answers leniently; its pydantic models, applied strictly, accept
    each event and the whole answer too (reasoning and parallel calls: every item kind
    but a message, which the other tests cover)."""
    body = {
        "model": via_model(upstream),
        "input": "What are the weather and the time in Paris? #fake:parallel #fake:thinking",
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "reasoning": {"effort": "low", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
        "stream": True,
    }
    adapter = TypeAdapter(ResponseStreamEvent)
    with proxy.stream("POST", "/v1/responses", json=body, headers={"Authorization": f"Bearer {client_key}"}) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        names, kinds = [], []
        for line in r.iter_lines():
            if line.startswith("event: "):
                names.append(line[len("event: "):])
            elif line.startswith("data: "):
                event = adapter.validate_python(json.loads(line[len("data: "):]))
                kinds.append(event.type)
    assert names == kinds, "each `event:` line names its event's type"
    assert kinds[-1] == "response.completed"
    assert {"response.output_item.added", "response.function_call_arguments.delta"} <= set(kinds)
    r = proxy.post("/v1/responses", json={**body, "stream": False}, headers={"Authorization": f"Bearer {client_key}"})
    assert r.status_code == 200, r.text
    whole = Response.model_validate(r.json())
    types = [item.type for item in whole.output]
    # Gemini's signature sits on the first call: it gets a reasoning item of its own.
    assert types[0] == "reasoning" and types[-2:] == ["function_call", "function_call"], types


@over_upstreams
def test_stream_helper_accumulates_the_final_response(client: openai.OpenAI, upstream: str) -> None:
    """The SDK's strict stream accumulator (identity checks on every event) accepts ours."""
    model = via_model(upstream)
    with client.responses.stream(model=model, input="Say hello.", instructions="Be brief.") as s:
        final = s.get_final_response()
    assert_from(final.output_text, upstream, model)


@over_upstreams
@json_and_stream
def test_function_call_and_output_round_trip(client: openai.OpenAI, upstream: str, stream: bool) -> None:
    model = via_model(upstream)
    question = [{"role": "user", "content": "What is the weather in Paris?"}]
    first, events = create(client, stream, model=model, input=question, tools=[WEATHER_TOOL])
    calls = calls_of(first)
    assert len(calls) == 1, first.output
    call = calls[0]
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert call.call_id
    if stream:
        deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
        assert json.loads(deltas) == {"city": "Paris"}
        done = [e for e in events if e.type == "response.function_call_arguments.done"]
        assert len(done) == 1 and json.loads(done[0].arguments) == {"city": "Paris"}
    follow_up = question + [
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT_TEXT},
    ]
    second, _ = create(client, stream, model=model, input=follow_up, tools=[WEATHER_TOOL])
    assert not calls_of(second), second.output
    assert TOOL_RESULT_TEXT in second.output_text, second.output_text


@over_upstreams
@json_and_stream
def test_parallel_calls(client: openai.OpenAI, upstream: str, stream: bool) -> None:
    model = via_model(upstream)
    response, _ = create(
        client,
        stream,
        model=model,
        input="What are the weather and the time in Paris? #fake:parallel",
        tools=[WEATHER_TOOL, TIME_TOOL],
        parallel_tool_calls=True,
    )
    calls = calls_of(response)
    assert [c.name for c in calls] == ["get_weather", "get_time"], response.output
    ids = [c.call_id for c in calls]
    assert all(ids) and len(set(ids)) == 2, ids
    assert len({c.id for c in calls}) == 2
    # Both results go back in one turn.
    follow_up = [{"role": "user", "content": "What are the weather and the time in Paris?"}]
    for c in calls:
        follow_up.append({"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments})
    for c, result in zip(calls, ["18 degrees", "noon"]):
        follow_up.append({"type": "function_call_output", "call_id": c.call_id, "output": result})
    second, _ = create(client, stream, model=model, input=follow_up, tools=[WEATHER_TOOL, TIME_TOOL])
    assert "18 degrees" in second.output_text and "noon" in second.output_text, second.output_text


@over_upstreams
@json_and_stream
def test_reasoning_items_carry_into_the_next_turn(client: openai.OpenAI, upstream: str, stream: bool) -> None:
    model = via_model(upstream)
    turn = [{"role": "user", "content": "Think first, then say hello."}]
    first, events = create(
        client,
        stream,
        model=model,
        input=turn,
        reasoning={"effort": "medium", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    reasoning = [item for item in first.output if item.type == "reasoning"]
    assert reasoning, f"no reasoning item: {first.output}"
    assert any(item.encrypted_content for item in reasoning), reasoning
    assert "Thinking it through" not in first.output_text
    if stream and upstream != "gemini":
        summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
        assert "Thinking it through" in summary, [e.type for e in events]
    assert first.usage.output_tokens_details.reasoning_tokens > 0 or upstream == "anthropic", first.usage
    # The next turn sends the output back as input, then asks the fake to count the
    # signatures it got back.
    history = turn + [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"role": "user", "content": "Go on. #fake:signatures"})
    second, _ = create(
        client,
        stream,
        model=model,
        input=history,
        reasoning={"effort": "medium", "summary": "auto"},
        include=["reasoning.encrypted_content"],
        store=False,
    )
    assert "Signatures back: 1 valid, 0 invalid." in second.output_text, second.output_text


@over_upstreams
def test_structured_output_and_instructions(client: openai.OpenAI, upstream: str) -> None:
    model = via_model(upstream)
    response = client.responses.create(
        model=model,
        instructions="Answer in JSON.",
        input="Say hello.",
        text={"format": {"type": "json_schema", "name": "greeting", "strict": True,
                         "schema": {"type": "object", "properties": {"text": {"type": "string"}},
                                    "required": ["text"], "additionalProperties": False}}},
        max_output_tokens=200,
        temperature=0.2,
        top_p=0.9,
        metadata={"run": "e2e"},
        prompt_cache_key="e2e-cache-key",
    )
    assert response.status == "completed"
    assert_from(response.output_text, upstream, model)


@over_upstreams
def test_429_raises_rate_limit_error(client: openai.OpenAI, upstream: str) -> None:
    with pytest.raises(openai.RateLimitError) as exc:
        client.responses.create(model=rate_limited_model(upstream), input="Say hello.")
    assert exc.value.status_code == 429
    body = exc.value.response.json()
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


@over_upstreams
@json_and_stream
def test_upstream_400_raises_bad_request_error(client: openai.OpenAI, upstream: str, stream: bool) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        result = client.responses.create(
            model=via_model(upstream), input="Refuse this request. #fake:status=400", stream=stream
        )
        if stream:
            list(result)
    assert exc.value.status_code == 400
    assert isinstance(exc.value.response.json()["error"]["message"], str)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [({"store": True}, "store"), ({"previous_response_id": "resp_123"}, "previous_response_id")],
    ids=["store", "previous_response_id"],
)
@over_upstreams
def test_stored_state_is_a_clear_400(client: openai.OpenAI, upstream: str, kwargs: dict, named: str) -> None:
    """Refused at the edge, whichever account would serve it (passthrough included)."""
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model=via_model(upstream), input="Say hello.", **kwargs)
    error = exc.value.response.json()["error"]
    assert error["param"] == named, error
    assert "not stored" in error["message"], error


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "computer_use_preview", "display_width": 1024, "display_height": 768, "environment": "linux"},
    ],
    ids=["web_search", "file_search", "computer_use"],
)
@pytest.mark.parametrize("upstream", ["anthropic", "gemini"], ids=["to-anthropic", "to-gemini"])
def test_built_in_tools_are_a_clear_400_when_translated(client: openai.OpenAI, upstream: str, tool: dict) -> None:
    """OpenAI runs its built-in tools itself (passthrough); no other provider can."""
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model=via_model(upstream), input="Say hello.", tools=[WEATHER_TOOL, tool])
    error = exc.value.response.json()["error"]
    assert tool["type"] in error["message"], error
    assert error["param"] == "tools[1]", error


def test_omitted_store_is_not_refused(client: openai.OpenAI) -> None:
    response = client.responses.create(model=via_model("anthropic"), input="Say hello.")
    assert response.store is False


def test_responses_is_logged_with_its_protocol(
    client: openai.OpenAI, admin: httpx.Client
) -> None:
    model = "via-gemini-logged-1"  # served by the Gemini account (`via-gemini-*`)
    response = client.responses.create(model=model, input="Say hello.")
    assert_usage(response)
    deadline = time.monotonic() + 5
    items: list = []
    while time.monotonic() < deadline:
        items = admin.get("/api/logs", params={"model": model}).json().get("items", [])
        if items:
            break
        time.sleep(0.1)
    assert items, "the request was not logged"
    log = items[0]
    assert log["protocol_in"] == "responses", log
    assert log["protocol_out"] == "gemini", log
    assert log["usage"]["input"] == response.usage.input_tokens - response.usage.input_tokens_details.cached_tokens
    assert log["usage"]["output"] == response.usage.output_tokens, log


@json_and_stream
def test_passthrough_is_logged_as_responses_out(client: openai.OpenAI, admin: httpx.Client, stream: bool) -> None:
    """The usage of a relayed Responses answer (the upstream's own bytes) is read too."""
    model = f"via-openai-logged-{'stream' if stream else 'json'}"
    response, _ = create(client, stream, model=model, input="Say hello.")
    deadline = time.monotonic() + 5
    items: list = []
    while time.monotonic() < deadline:
        items = admin.get("/api/logs", params={"model": model}).json().get("items", [])
        if items:
            break
        time.sleep(0.1)
    assert items, "the request was not logged"
    assert items[0]["protocol_in"] == "responses"
    assert items[0]["protocol_out"] == "responses"
    assert items[0]["stream"] is stream
    assert items[0]["usage"]["output"] == response.usage.output_tokens
    assert items[0]["usage"]["input"] == response.usage.input_tokens
