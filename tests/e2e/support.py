"""Constants and small helpers shared by the e2e tests and conftest.py.

Importable as ``support`` because pytest puts this (package-less) directory on
``sys.path`` (default ``prepend`` import mode).
"""

from __future__ import annotations

ADMIN_KEY = "e2e-admin-key"

# Model names the tests use. Each matches exactly one account's patterns (conftest.py).
OPENAI_MODEL = "gpt-4o-mini"
# Not a real model id on purpose: the SDK warns about deprecated real ones.
ANTHROPIC_MODEL = "claude-e2e-model"
GEMINI_MODEL = "gemini-2.5-flash"
OPENAI_EXHAUSTED_MODEL = "exhausted-openai-1"
ANTHROPIC_EXHAUSTED_MODEL = "exhausted-anthropic-1"
GEMINI_EXHAUSTED_MODEL = "exhausted-gemini-1"
# Matches no account's patterns at all.
UNKNOWN_MODEL = "unknown-model-x"

# Translation matrix (test_translation_matrix.py). Each upstream family (a provider, and
# the protocol its account speaks) has one account serving `via-<family>-*` and one,
# keyed `fake-429`, serving `rl-<family>-*`; every pattern is disjoint from all others
# (note `via-openai-*` would match `via-openai-ratelimited-1`, hence the `rl-` prefix).
UPSTREAMS = ("openai", "anthropic", "gemini")

# Prices (USD per million tokens) the gateway is configured with for the accounting
# tests' models, `via-<family>-acct-…` (test_accounting.py).
ACCOUNTING_PRICES = {
    f"via-{family}-acct": {"input": 2.0, "output": 8.0, "cache_read": 0.5, "cache_write": 2.5}
    for family in ("openai", "anthropic", "gemini")
}


def via_model(upstream: str) -> str:
    """A model only the normal `upstream` account serves, e.g. `via-gemini-1`."""
    return f"via-{upstream}-1"


def rate_limited_model(upstream: str) -> str:
    """A model only the always-429 `upstream` account serves, e.g. `rl-gemini-1`."""
    return f"rl-{upstream}-1"

# Upstream keys the fake understands. `fake-429` always gets 429 + retry-after: 1.
UPSTREAM_KEYS = ("fake-openai-key", "fake-anthropic-key", "fake-gemini-key", "fake-429")

# A key that was never issued.
WRONG_KEY = "sk-e2e-this-key-was-never-issued"

# Timeout for every SDK / httpx call, in seconds: a hang fails fast instead of stalling.
TIMEOUT_S = 10.0

WEATHER_QUESTION = "What is the weather in Paris?"
TOOL_RESULT_TEXT = "18 degrees and sunny"

# The text the `#fake:echo` directive makes the fake send back verbatim; non-ASCII and
# JSON-special characters check that bodies pass through the gateway byte-exact.
ECHO_TEXT = '#fake:echo héllo wörld ✓ 🚀 "quoted" \\ back\\slash\nsecond line'


def items_of(body: object, key: str) -> list:
    """The list in a management API list answer: `{"<key>": [...]}` or a bare list."""
    if isinstance(body, dict):
        value = body.get(key)
        assert isinstance(value, list), f"expected a {key!r} list in {body!r}"[:1000]
        return value
    assert isinstance(body, list), f"expected a list or an object, got {body!r}"[:1000]
    return body


def openai_tool_turns(call_id: str, name: str, arguments: str, result: str) -> list[dict]:
    """Chat Completions messages replaying one tool call: the assistant turn that made it
    and the `tool` message answering it."""
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


def anthropic_tool_turns(use_id: str, name: str, tool_input: object, result: str) -> list[dict]:
    """Messages API turns replaying one tool use: the assistant `tool_use` and the user
    `tool_result` answering it."""
    return [
        {"role": "assistant", "content": [{"type": "tool_use", "id": use_id, "name": name, "input": tool_input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use_id, "content": result}]},
    ]
