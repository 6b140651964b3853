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
