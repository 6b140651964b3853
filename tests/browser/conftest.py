"""Fixtures for the dashboard's browser tests.

One gateway (``SWITCHYARD_BIN serve``, built with the dashboard embedded) is started for
the session on a free port with a temporary data dir and a known admin key, like
tests/e2e/conftest.py does; Playwright drives Debian's Chromium
(``/usr/bin/chromium``, override with ``CHROMIUM``) headless. Without SWITCHYARD_BIN
the run stops with one usage error (no test is skipped).

For proxied traffic (usage charts, the request log) a fake upstream
(``switchyard-fake``, from ``SWITCHYARD_FAKE_BIN`` or next to ``SWITCHYARD_BIN``) is
started on first use. ``SWITCHYARD_BROWSER_STATIC_DIR`` (optional) serves a dashboard
dist from disk (``SWITCHYARD_STATIC_DIR``) instead of the embedded one, to try a
dashboard change without rebuilding the server; the wasm budget test needs the embedded
files (their precompressed copies).
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

HOST = "127.0.0.1"
ADMIN_KEY = "browser-admin-" + secrets.token_hex(8)
HEALTH_TIMEOUT_S = 15.0
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking family of flags Chromium keeps trying to reach
# Google services, which this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

_GATEWAY_ENV_OVERRIDDEN = (
    "SWITCHYARD_HOST", "SWITCHYARD_PORT", "SWITCHYARD_DATA_DIR", "SWITCHYARD_CONFIG",
    "SWITCHYARD_STATIC_DIR", "SWITCHYARD_SYNC_REMOTE", "SWITCHYARD_ADMIN_KEY",
)
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(_name, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or not session.items:
        return
    path = os.environ.get("SWITCHYARD_BIN")
    if not path or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise pytest.UsageError(
            "browser tests cannot run: set SWITCHYARD_BIN to the `switchyard` binary built "
            f"with the dashboard (got {path!r}); scripts/test.sh does this."
        )
    if not os.access(CHROMIUM, os.X_OK):
        raise pytest.UsageError(f"{CHROMIUM} not found: run scripts/install-tools.sh --test")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:] or "<empty>"
    except OSError:
        return "<no output captured>"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


class Gateway:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path):
        self.proc, self.url, self.log = proc, url, log
        self.admin_key = ADMIN_KEY

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0,
                            headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def _start(binary: str, work: Path, attempt: int,
           config: Path | None = None) -> tuple[Gateway | None, str]:
    port = _free_port()
    url = f"http://{HOST}:{port}"
    env = {k: v for k, v in os.environ.items() if k not in _GATEWAY_ENV_OVERRIDDEN}
    env.update(SWITCHYARD_ADMIN_KEY=ADMIN_KEY, SWITCHYARD_MASTER_KEY=secrets.token_hex(32),
               SWITCHYARD_LOG="warn")
    if config is not None:
        env["SWITCHYARD_CONFIG"] = str(config)
    if os.environ.get("SWITCHYARD_BROWSER_STATIC_DIR"):
        env["SWITCHYARD_STATIC_DIR"] = os.environ["SWITCHYARD_BROWSER_STATIC_DIR"]
    data = work / f"data-{attempt}"
    data.mkdir()
    log = work / f"gateway-{attempt}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [binary, "serve", "--host", HOST, "--port", str(port), "--data-dir", str(data)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last = "no answer yet"
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return None, f"gateway exited with code {proc.returncode}; log:\n{_tail(log)}"
            try:
                r = http.get(f"{url}/healthz")
                if r.status_code == 200:
                    return Gateway(proc, url, log), ""
                last = f"HTTP {r.status_code}"
            except httpx.TransportError as e:
                last = repr(e)
            time.sleep(0.05)
    _stop(proc)
    return None, f"/healthz did not answer 200 within {HEALTH_TIMEOUT_S:.0f}s ({last}); log:\n{_tail(log)}"


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    binary = os.environ["SWITCHYARD_BIN"]
    work = tmp_path_factory.mktemp("switchyard-browser")
    gw, why = None, ""
    for attempt in range(3):  # the free port may be taken between bind+close and serve
        gw, why = _start(binary, work, attempt)
        if gw is not None or "exited with code" not in why:
            break
    if gw is None:
        pytest.fail(why, pytrace=False)
    try:
        yield gw
    finally:
        _stop(gw.proc)


def _fake_binary() -> str:
    path = os.environ.get("SWITCHYARD_FAKE_BIN") or str(
        Path(os.environ["SWITCHYARD_BIN"]).with_name("switchyard-fake"))
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"fake upstream {path!r} not found: build switchyard-testkit's bins "
                    "or set SWITCHYARD_FAKE_BIN", pytrace=False)
    return path


@pytest.fixture(scope="session")
def fake_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Root URL of a fake OpenAI / Anthropic / Gemini upstream (testkit's binary)."""
    stderr_path = tmp_path_factory.mktemp("switchyard-fake") / "fake.stderr"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen([_fake_binary(), "--port", "0"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # keeps draining stdout so the fake never blocks on it
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True, name="fake-stdout").start()
    try:
        first = lines.get(timeout=HEALTH_TIMEOUT_S)
    except queue.Empty:
        first = None
    match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)", (first or "").strip())
    if not match:
        _stop(proc)
        pytest.fail(f"fake upstream did not start (first line {first!r}); stderr:\n"
                    f"{_tail(stderr_path)}", pytrace=False)
    try:
        yield match.group(1)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def oauth_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A second gateway with one OAuth provider configured (`fakeauth`, whose sign-in
    page is never visited: the tests only follow the dashboard's part)."""
    binary = os.environ["SWITCHYARD_BIN"]
    work = tmp_path_factory.mktemp("switchyard-browser-oauth")
    config = work / "config.toml"
    config.write_text(
        "[oauth.providers.fakeauth]\n"
        'auth_url = "http://127.0.0.1:9/authorize"\n'
        'token_url = "http://127.0.0.1:9/token"\n'
        'client_id = "browser-client"\n'
        'client_secret = "browser-secret"\n'
        'scopes = ["llm.use"]\n'
        'provider = "openai"\n'
    )
    gw, why = None, ""
    for attempt in range(3):
        gw, why = _start(binary, work, attempt, config)
        if gw is not None or "exited with code" not in why:
            break
    if gw is None:
        pytest.fail(why, pytrace=False)
    try:
        yield gw
    finally:
        _stop(gw.proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Console:
    """Every console error and uncaught exception of a page. `allow(pattern)` marks a
    message the test itself provoked (e.g. the browser's log line for a deliberate 401)."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self._allowed: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _on_console(self, msg) -> None:
        if msg.type not in ("error", "assert"):
            return
        text = f"{msg.text} @ {msg.location.get('url', '')}"
        for i, pattern in enumerate(self._allowed):
            if pattern in text:
                del self._allowed[i]
                return
        self.errors.append(text)

    def allow_once(self, pattern: str) -> None:
        self._allowed.append(pattern)

    def assert_clean(self) -> None:
        assert not self.errors, "browser console errors:\n" + "\n".join(self.errors)


@pytest.fixture()
def context_factory(browser):
    contexts = []

    def make(width: int = 1280, height: int = 900, signed_in: bool = False):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        if signed_in:
            ctx.add_init_script(
                f"window.sessionStorage.setItem('switchyard.admin_key', {ADMIN_KEY!r});"
            )
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()
