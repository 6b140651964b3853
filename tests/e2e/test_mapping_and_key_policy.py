"""Model aliases and client key policy through each official SDK.

Aliases are set through the admin API (`PUT /api/config/mapping/{alias}`): an exact alias
and a `*` pattern, each pointing at a `via-<family>-1` model (conftest.py), so the fake's
reply ("Hello from the fake Anthropic upstream, model via-anthropic-1.") proves which
upstream served the alias and under which name. A client key limited to some models is
refused (403) in each SDK's own error type, and one with a spent budget gets 429.
"""

from __future__ import annotations

from typing import Iterator

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types

from support import TIMEOUT_S, UPSTREAMS, via_model

HELLO = "Say hello."
# alias -> upstream family it is pointed at; one exact alias per family, and a pattern.
EXACT = {f"e2e-alias-{family}": family for family in UPSTREAMS}
PATTERN, PATTERN_FAMILY, PATTERN_MODEL = "e2e-pattern-*", "gemini", "e2e-pattern-anything"


@pytest.fixture(scope="module")
def aliases(admin: httpx.Client, accounts: dict[str, str]) -> Iterator[dict[str, str]]:
    """The aliases, set for this module and deleted after: requested model -> family."""
    set_ = {**EXACT, PATTERN: PATTERN_FAMILY}
    for alias, family in set_.items():
        r = admin.put(f"/api/config/mapping/{alias}", json={"target": via_model(family)})
        assert r.status_code == 200, r.text
        assert r.json()["target"] == via_model(family)
    entries = admin.get("/api/config/mapping").json()["entries"]
    assert all(entries[a]["deleted"] is False for a in set_), entries
    yield {**EXACT, PATTERN_MODEL: PATTERN_FAMILY}
    for alias in set_:
        assert admin.delete(f"/api/config/mapping/{alias}").status_code == 204


def assert_served(text: str | None, family: str) -> None:
    """The fake `family` upstream answered, under the alias's target name."""
    assert text is not None, "no text in the reply"
    assert f"fake {family} upstream" in text.lower(), text
    assert via_model(family) in text, text


def openai_client(gateway_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=key, max_retries=0, timeout=TIMEOUT_S)


def anthropic_client(gateway_url: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway_url, api_key=key, max_retries=0, timeout=TIMEOUT_S)


def gemini_client(gateway_url: str, key: str) -> genai.Client:
    return genai.Client(
        vertexai=False,
        api_key=key,
        http_options=types.HttpOptions(base_url=gateway_url, timeout=int(TIMEOUT_S * 1000)),
    )


MODELS = [*EXACT, PATTERN_MODEL]


@pytest.mark.parametrize("model", MODELS)
def test_openai_sdk_alias(gateway_url: str, client_key: str, aliases: dict[str, str], model: str) -> None:
    client = openai_client(gateway_url, client_key)
    response = client.chat.completions.create(model=model, messages=[{"role": "user", "content": HELLO}])
    assert_served(response.choices[0].message.content, aliases[model])
    # The client sees the model that answered, not the alias.
    assert response.model == via_model(aliases[model]), response.model
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": HELLO}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert_served(text, aliases[model])


@pytest.mark.parametrize("model", MODELS)
def test_anthropic_sdk_alias(gateway_url: str, client_key: str, aliases: dict[str, str], model: str) -> None:
    client = anthropic_client(gateway_url, client_key)
    message = client.messages.create(
        model=model, max_tokens=256, messages=[{"role": "user", "content": HELLO}]
    )
    text = "".join(b.text for b in message.content if b.type == "text")
    assert_served(text, aliases[model])
    assert message.model == via_model(aliases[model]), message.model


@pytest.mark.parametrize("model", MODELS)
def test_gemini_sdk_alias(gateway_url: str, client_key: str, aliases: dict[str, str], model: str) -> None:
    client = gemini_client(gateway_url, client_key)
    response = client.models.generate_content(model=model, contents=HELLO)
    assert_served(response.text, aliases[model])
    streamed = "".join(c.text or "" for c in client.models.generate_content_stream(model=model, contents=HELLO))
    assert_served(streamed, aliases[model])


@pytest.fixture(scope="module")
def gpt_only_key(admin: httpx.Client, accounts: dict[str, str]) -> str:
    r = admin.post("/api/keys", json={"name": "e2e-gpt-only", "models": ["gpt-*"]})
    assert r.status_code == 201, r.text
    return r.json()["key"]


@pytest.fixture(scope="module")
def broke_key(admin: httpx.Client, accounts: dict[str, str]) -> str:
    r = admin.post("/api/keys", json={"name": "e2e-broke", "budget_usd": 0, "budget_period": "month"})
    assert r.status_code == 201, r.text
    return r.json()["key"]


def test_openai_sdk_sees_key_refusals(gateway_url: str, gpt_only_key: str, broke_key: str) -> None:
    with pytest.raises(openai.PermissionDeniedError) as denied:
        openai_client(gateway_url, gpt_only_key).chat.completions.create(
            model=via_model("anthropic"), messages=[{"role": "user", "content": HELLO}]
        )
    assert denied.value.status_code == 403
    assert "may not use model" in str(denied.value)
    with pytest.raises(openai.RateLimitError) as limited:
        openai_client(gateway_url, broke_key).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": HELLO}]
        )
    assert "budget of $0 per month is exhausted" in str(limited.value)
    assert int(limited.value.response.headers["retry-after"]) >= 1


def test_anthropic_sdk_sees_key_refusals(gateway_url: str, gpt_only_key: str, broke_key: str) -> None:
    with pytest.raises(anthropic.PermissionDeniedError):
        anthropic_client(gateway_url, gpt_only_key).messages.create(
            model=via_model("anthropic"), max_tokens=64, messages=[{"role": "user", "content": HELLO}]
        )
    with pytest.raises(anthropic.RateLimitError) as limited:
        anthropic_client(gateway_url, broke_key).messages.create(
            model=via_model("anthropic"), max_tokens=64, messages=[{"role": "user", "content": HELLO}]
        )
    assert limited.value.response.headers.get("retry-after")


def test_gemini_sdk_sees_key_refusals(gateway_url: str, gpt_only_key: str, broke_key: str) -> None:
    # Each client is held in a variable: a genai.Client closes its transport when dropped.
    gpt_only = gemini_client(gateway_url, gpt_only_key)
    with pytest.raises(errors.ClientError) as denied:
        gpt_only.models.generate_content(model=via_model("gemini"), contents=HELLO)
    assert (denied.value.code, denied.value.status) == (403, "PERMISSION_DENIED")
    broke = gemini_client(gateway_url, broke_key)
    with pytest.raises(errors.ClientError) as limited:
        broke.models.generate_content(model=via_model("gemini"), contents=HELLO)
    assert (limited.value.code, limited.value.status) == (429, "RESOURCE_EXHAUSTED")
