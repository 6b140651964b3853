"""Accounting through the official SDKs: every client × upstream family × JSON/stream
request appears in `GET /api/logs` with the usage the client was sent (counted the
gateway's way), the right cost from the configured prices, and `GET /api/usage` adds up.

Each cell uses its own model, `via-<family>-acct-<client>-<mode>` (served by the
`via-<family>-*` account, priced by the `via-<family>-acct` prefix in conftest.py), so
its log entry and usage row are its own. Stream cells are compared with the JSON answer
of the same request: the OpenAI stream does not ask for usage (the gateway asks the
upstream for it and hides it again), so the client never sees it there.

How the client's usage maps to the log's classes (protocols.md §4.9): OpenAI and Gemini
prompt counts include cached tokens (`input` = prompt − cached); Anthropic's
`input_tokens` excludes cache reads and writes; reasoning is part of `output` (OpenAI's
completion tokens include it; Gemini's thoughts are added to its candidates).
"""

from __future__ import annotations

import time
import uuid

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from support import ACCOUNTING_PRICES, TIMEOUT_S, UPSTREAMS

CLIENTS = ("openai", "anthropic", "gemini")
PROMPT = "Say hello, and think about it first. #fake:thinking"
CLASSES = ("input", "cache_read", "cache_write", "output", "reasoning")


def model_for(upstream: str, client: str, mode: str) -> str:
    return f"via-{upstream}-acct-{client}-{mode}"


def new_id() -> str:
    return f"e2e-acct-{uuid.uuid4().hex[:12]}"


def send(gateway_url: str, key: str, client: str, model: str, stream: bool, request_id: str) -> dict | None:
    """Send the request with the client's SDK; the usage it was shown, in log classes
    (None when the client saw none: an OpenAI stream without `include_usage`)."""
    headers = {"x-request-id": request_id}
    if client == "openai":
        c = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0, timeout=TIMEOUT_S)
        messages = [{"role": "user", "content": PROMPT}]
        if stream:
            chunks = list(c.chat.completions.create(model=model, messages=messages, stream=True, extra_headers=headers))
            assert chunks and all(ch.usage is None for ch in chunks), "no usage was asked for"
            return None
        u = c.chat.completions.create(model=model, messages=messages, extra_headers=headers).usage
        cached = (u.prompt_tokens_details.cached_tokens or 0) if u.prompt_tokens_details else 0
        reasoning = (u.completion_tokens_details.reasoning_tokens or 0) if u.completion_tokens_details else 0
        return {"input": u.prompt_tokens - cached, "cache_read": cached, "cache_write": 0,
                "output": u.completion_tokens, "reasoning": reasoning}
    if client == "anthropic":
        c = anthropic.Anthropic(base_url=gateway_url, api_key=key, max_retries=0, timeout=TIMEOUT_S)
        request = dict(model=model, max_tokens=256, messages=[{"role": "user", "content": PROMPT}],
                       extra_headers=headers)
        if stream:
            with c.messages.stream(**request) as s:
                u = s.get_final_message().usage
        else:
            u = c.messages.create(**request).usage
        return {"input": u.input_tokens, "cache_read": u.cache_read_input_tokens or 0,
                "cache_write": u.cache_creation_input_tokens or 0, "output": u.output_tokens,
                "reasoning": None}
    c = genai.Client(
        vertexai=False,
        api_key=key,
        http_options=types.HttpOptions(base_url=gateway_url, timeout=int(TIMEOUT_S * 1000), headers=headers),
    )
    if stream:
        last = None
        for chunk in c.models.generate_content_stream(model=model, contents=PROMPT):
            last = chunk.usage_metadata or last
        u = last
    else:
        u = c.models.generate_content(model=model, contents=PROMPT).usage_metadata
    assert u is not None
    cached = u.cached_content_token_count or 0
    thoughts = u.thoughts_token_count or 0
    return {"input": (u.prompt_token_count or 0) - cached, "cache_read": cached, "cache_write": 0,
            "output": (u.candidates_token_count or 0) + thoughts, "reasoning": thoughts}


def logged(admin: httpx.Client, request_id: str) -> dict:
    """The request's log entry (the writer flushes within ~100 ms)."""
    deadline = time.monotonic() + 5
    while True:
        items = admin.get("/api/logs", params={"limit": 500}).json()["items"]
        found = [i for i in items if i["request_id"] == request_id]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"{request_id} not in /api/logs"
        time.sleep(0.05)


def expected_cost(upstream: str, usage: dict) -> float:
    """Pico-dollars per token summed, rounded once to micro-dollars (README)."""
    price = ACCOUNTING_PRICES[f"via-{upstream}-acct"]
    pico = {k: round(v * 1_000_000) for k, v in price.items()}
    total = (usage["input"] * pico["input"] + usage["cache_read"] * pico["cache_read"]
             + usage["cache_write"] * pico["cache_write"] + usage["output"] * pico["output"])
    return ((total + 500_000) // 1_000_000) / 1_000_000


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=[f"to-{u}" for u in UPSTREAMS])
@pytest.mark.parametrize("client", CLIENTS, ids=[f"{c}-sdk" for c in CLIENTS])
def test_every_request_is_logged_with_its_usage_and_cost(
    gateway_url: str, client_key: str, admin: httpx.Client, client: str, upstream: str
) -> None:
    entries = []
    for mode in ("json", "stream"):
        model = model_for(upstream, client, mode)
        json_id, stream_id = new_id(), new_id()
        # Each model gets its JSON answer first: the stream cell compares with it.
        shown = send(gateway_url, client_key, client, model, False, json_id)
        if mode == "stream":
            streamed = send(gateway_url, client_key, client, model, True, stream_id)
            ids = [(json_id, shown, False), (stream_id, streamed, True)]
        else:
            ids = [(json_id, shown, False)]
        for request_id, seen, stream in ids:
            entry = logged(admin, request_id)
            entries.append(entry)
            assert entry["status"] == 200, entry
            assert entry["stream"] is stream, entry
            assert entry["model"] == model, entry
            assert entry["protocol_in"] == client, entry
            assert entry["protocol_out"] == upstream, entry
            assert entry["error"] is None, entry
            assert [a["outcome"] for a in entry["attempts"]] == ["relayed"], entry
            usage = entry["usage"]
            want = seen if seen is not None else shown
            for k in CLASSES:
                if want[k] is not None:
                    assert usage[k] == want[k], (k, usage, want, entry)
            assert usage["output"] > 0 and usage["input"] > 0, usage
            assert entry["cost_usd"] == pytest.approx(expected_cost(upstream, usage), abs=1e-9), entry
            # The same request costs the same, streamed or not.
            assert usage == logged(admin, json_id)["usage"], (usage, entry)

    # The hourly rollups add up to the entries, per model.
    rows = admin.get("/api/usage", params={"group_by": "model", "bucket": "hour"}).json()["rows"]
    for model in {e["model"] for e in entries}:
        mine = [e for e in entries if e["model"] == model]
        row_sum = {k: sum(r[k] for r in rows if r["group"] == model) for k in (*CLASSES, "requests")}
        assert row_sum["requests"] == len(mine), (model, rows)
        for k in CLASSES:
            assert row_sum[k] == sum(e["usage"][k] for e in mine), (model, k, rows)
        cost = sum(r["cost_usd"] or 0 for r in rows if r["group"] == model)
        assert cost == pytest.approx(sum(e["cost_usd"] for e in mine), abs=1e-6), (model, rows)
