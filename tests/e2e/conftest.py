"""Session fixtures for the end-to-end suite.

One fake upstream (``SWITCHYARD_FAKE_BIN --port 0``) and one gateway
(``SWITCHYARD_BIN serve ...``) are started for the whole session; accounts pointing
at the fake and one client key are created through the admin API. Tests then drive
the gateway with the official OpenAI, Anthropic and Google GenAI SDKs.

Both env vars are required: without them the run stops with one usage error naming
the missing variable (no test is skipped), while ``pytest --collect-only`` still works.
"""

from __future__ import annotations

import os
import queue
import re
import secrets
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from support import ACCOUNTING_PRICES, ADMIN_KEY, TIMEOUT_S, UPSTREAMS

HOST = "127.0.0.1"

# The gateway's config file: prices for the accounting tests' models (prefix-matched).
GATEWAY_CONFIG = "".join(
    f'[prices."{prefix}"]\n' + "".join(f"{k} = {v}\n" for k, v in price.items())
    for prefix, price in ACCOUNTING_PRICES.items()
)
HEALTH_TIMEOUT_S = 15.0
FAKE_START_TIMEOUT_S = 10.0

# Environment that would redirect or alter the SDKs (base URLs, extra headers, Vertex
# mode, API version, proxies). Cleared so a developer's shell cannot change results.
_SCRUBBED_ENV = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_CUSTOM_HEADERS", "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID", "OPENAI_ADMIN_KEY",
    "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
    "ANTHROPIC_CUSTOM_HEADERS", "ANTHROPIC_PROFILE", "ANTHROPIC_CONFIG_DIR",
    "GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_API_VERSION", "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION", "GOOGLE_GENAI_HTTP_CLIENT",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
)
for _name in _SCRUBBED_ENV:
    os.environ.pop(_name, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

# Gateway settings that must not leak in from the caller's environment.
_GATEWAY_ENV_OVERRIDDEN = (
    "SWITCHYARD_HOST", "SWITCHYARD_PORT", "SWITCHYARD_DATA_DIR", "SWITCHYARD_CONFIG",
    "SWITCHYARD_STATIC_DIR", "SWITCHYARD_SYNC_REMOTE", "SWITCHYARD_SYNC_KEY",
)


def _binary(env_var: str) -> str:
    path = os.environ.get(env_var)
    if not path:
        pytest.fail(
            f"{env_var} is not set: point it at the built binary "
            "(see tests/e2e/README.md), e.g. "
            "SWITCHYARD_BIN=target/debug/switchyard "
            "SWITCHYARD_FAKE_BIN=target/debug/switchyard-fake",
            pytrace=False,
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"{env_var}={path!r} is not an executable file", pytrace=False)
    return path


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop the whole run with one clear message when a binary is not configured
    (instead of the same fixture error on every test). `--collect-only` still works."""
    if session.config.option.collectonly or not session.items:
        return
    problems = []
    for var in ("SWITCHYARD_BIN", "SWITCHYARD_FAKE_BIN"):
        path = os.environ.get(var)
        if not path:
            problems.append(f"{var} is not set")
        elif not (os.path.isfile(path) and os.access(path, os.X_OK)):
            problems.append(f"{var}={path!r} is not an executable file")
    if problems:
        raise pytest.UsageError(
            "e2e suite cannot run: " + "; ".join(problems) + ". Set SWITCHYARD_BIN to the "
            "`switchyard` binary and SWITCHYARD_FAKE_BIN to the fake upstream binary "
            "(see tests/e2e/README.md)."
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _tail(path: Path, limit: int = 8000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "<no output captured>"
    return text[-limit:] if text else "<empty>"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class _Fake:
    def __init__(self, proc: subprocess.Popen, url: str, stderr_path: Path):
        self.proc = proc
        self.url = url
        self.stderr_path = stderr_path


@pytest.fixture(scope="session")
def _workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("switchyard-e2e")


@pytest.fixture(scope="session")
def _fake(_workdir: Path) -> Iterator[_Fake]:
    binary = _binary("SWITCHYARD_FAKE_BIN")
    _binary("SWITCHYARD_BIN")  # report both missing variables before starting anything
    stderr_path = _workdir / "fake.stderr"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [binary, "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # keeps draining stdout so the fake can never block on it
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True, name="fake-stdout").start()
    try:
        first = lines.get(timeout=FAKE_START_TIMEOUT_S)
    except queue.Empty:
        first = None
    match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))", (first or "").strip())
    if not match:
        try:  # stdout closed: give the process a moment to report its exit code
            exited = proc.wait(timeout=1) if first is None else proc.poll()
        except subprocess.TimeoutExpired:
            exited = None
        _stop(proc)
        pytest.fail(
            "fake upstream did not print 'listening on http://127.0.0.1:PORT' "
            + (f"(it exited with code {exited})" if exited is not None else f"within {FAKE_START_TIMEOUT_S:.0f}s")
            + f"; first stdout line: {first!r}; stderr:\n{_tail(stderr_path)}",
            pytrace=False,
        )
    try:
        yield _Fake(proc, match.group(1), stderr_path)
    finally:
        _stop(proc)


class _Gateway:
    def __init__(self, proc: subprocess.Popen, url: str, stderr_path: Path):
        self.proc = proc
        self.url = url
        self.stderr_path = stderr_path


def _start_gateway(binary: str, data_dir: Path, log_dir: Path, attempt: int) -> tuple[_Gateway | None, str]:
    port = _free_port()
    url = f"http://{HOST}:{port}"
    env = {k: v for k, v in os.environ.items() if k not in _GATEWAY_ENV_OVERRIDDEN}
    env.update(
        SWITCHYARD_ADMIN_KEY=ADMIN_KEY,
        SWITCHYARD_MASTER_KEY=secrets.token_hex(32),
        SWITCHYARD_LOG="warn",
    )
    config_path = log_dir / "gateway.toml"
    config_path.write_text(GATEWAY_CONFIG)
    stderr_path = log_dir / f"gateway-{attempt}.stderr"
    stdout_path = log_dir / f"gateway-{attempt}.stdout"
    with open(stderr_path, "wb") as stderr, open(stdout_path, "wb") as stdout:
        proc = subprocess.Popen(
            [binary, "serve", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir),
             "--config", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last = "no answer yet"
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return None, (
                    f"gateway exited with code {proc.returncode} before /healthz answered; "
                    f"stderr:\n{_tail(stderr_path)}"
                )
            try:
                r = http.get(f"{url}/healthz")
                if r.status_code == 200:
                    return _Gateway(proc, url, stderr_path), ""
                last = f"HTTP {r.status_code}: {r.text[:200]!r}"
            except httpx.TransportError as e:
                last = repr(e)
            time.sleep(0.05)
    _stop(proc)
    return None, (
        f"gateway /healthz did not return 200 within {HEALTH_TIMEOUT_S:.0f}s "
        f"(last: {last}); stderr:\n{_tail(stderr_path)}"
    )


@pytest.fixture(scope="session")
def _gateway(_fake: _Fake, _workdir: Path) -> Iterator[_Gateway]:
    binary = _binary("SWITCHYARD_BIN")
    data_dir = _workdir / "data"
    data_dir.mkdir()
    gateway, why = None, ""
    # The free port is found by bind+close, so another process could grab it before
    # the gateway binds: retry a couple of times when the gateway dies at start.
    for attempt in range(3):
        gateway, why = _start_gateway(binary, data_dir, _workdir, attempt)
        if gateway is not None or "exited with code" not in why:
            break
    if gateway is None:
        pytest.fail(why, pytrace=False)
    try:
        yield gateway
    finally:
        _stop(gateway.proc)


@pytest.fixture(scope="session")
def fake_url(_fake: _Fake) -> str:
    """Root URL of the fake upstream, e.g. ``http://127.0.0.1:40123``."""
    return _fake.url


@pytest.fixture(scope="session")
def gateway_url(_gateway: _Gateway) -> str:
    """Root URL of the gateway, e.g. ``http://127.0.0.1:40124`` (no trailing slash)."""
    return _gateway.url


@pytest.fixture(scope="session")
def admin(gateway_url: str) -> Iterator[httpx.Client]:
    """An httpx client for ``/api/*`` carrying the admin key."""
    with httpx.Client(
        base_url=gateway_url,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=TIMEOUT_S,
    ) as client:
        yield client


def _create_account(admin: httpx.Client, body: dict) -> str:
    r = admin.post("/api/accounts", json=body)
    assert r.status_code == 201, (
        f"POST /api/accounts {body['label']!r} -> {r.status_code}: {r.text[:500]}"
    )
    account_id = r.json().get("id")
    assert isinstance(account_id, str) and account_id, f"no id in {r.text[:500]}"
    return account_id


@pytest.fixture(scope="session")
def accounts(admin: httpx.Client, fake_url: str) -> dict[str, str]:
    """Accounts pointing at the fake, created once: label -> id."""
    specs = [
        ("openai", "e2e-openai", "fake-openai-key", f"{fake_url}/v1", ["gpt-*"]),
        ("anthropic", "e2e-anthropic", "fake-anthropic-key", fake_url, ["claude-*"]),
        ("gemini", "e2e-gemini", "fake-gemini-key", fake_url, ["gemini-*"]),
        # The fake answers 429 (retry-after: 1) to every request made with `fake-429`.
        # The patterns are disjoint from the ones above and from each other.
        ("openai", "e2e-openai-exhausted", "fake-429", f"{fake_url}/v1", ["exhausted-openai-*"]),
        ("anthropic", "e2e-anthropic-exhausted", "fake-429", fake_url, ["exhausted-anthropic-*"]),
        ("gemini", "e2e-gemini-exhausted", "fake-429", fake_url, ["exhausted-gemini-*"]),
    ]
    # Translation matrix: the model name picks the upstream family, whatever the client's
    # protocol (`via-<family>-*` normal, `rl-<family>-*` always 429); see support.py.
    for family in UPSTREAMS:
        base_url = f"{fake_url}/v1" if family == "openai" else fake_url
        specs.append((family, f"e2e-via-{family}", f"fake-{family}-key", base_url, [f"via-{family}-*"]))
        specs.append((family, f"e2e-rl-{family}", "fake-429", base_url, [f"rl-{family}-*"]))
    ids = {}
    for provider, label, api_key, base_url, models in specs:
        ids[label] = _create_account(
            admin,
            {
                "provider": provider,
                "label": label,
                "api_key": api_key,
                "base_url": base_url,
                "models": models,
            },
        )
    return ids


@pytest.fixture(scope="session")
def client_key(admin: httpx.Client, accounts: dict[str, str]) -> str:
    """A client key for the proxy routes (created after the accounts exist)."""
    r = admin.post("/api/keys", json={"name": "e2e"})
    assert r.status_code == 201, f"POST /api/keys -> {r.status_code}: {r.text[:500]}"
    body = r.json()
    assert body.get("name") == "e2e", body
    assert isinstance(body.get("id"), str) and body["id"], body
    assert isinstance(body.get("key"), str) and body["key"], body
    return body["key"]


@pytest.fixture(scope="session")
def proxy(gateway_url: str) -> Iterator[httpx.Client]:
    """A bare httpx client for raw calls to the proxy routes (no auth header)."""
    with httpx.Client(base_url=gateway_url, timeout=TIMEOUT_S) as client:
        yield client
