"""The dashboard in a real browser: sign-in, accounts, client keys, every page at desktop
and phone widths, the wasm budget, and the server's routing around the dashboard.

Any browser console error or uncaught exception fails the test that caused it.
"""

from __future__ import annotations

import gzip
import re

import httpx
import pytest
from playwright.sync_api import expect

from conftest import SCREENSHOTS, Console

PAGES = [
    ("overview", "/", "Overview"),
    ("usage", "/usage", "Usage"),
    ("logs", "/logs", "Request log"),
    ("accounts", "/accounts", "Accounts"),
    ("keys", "/keys", "Client keys"),
    ("models", "/models", "Models & routing"),
    ("mapping", "/mapping", "Model mapping"),
    ("resilience", "/resilience", "Resilience"),
    ("settings", "/settings", "Settings"),
]
WASM_BUDGET_BYTES = 1_000_000  # compressed, per issue 5
# Generous: the goal is 1 s on localhost; the test only catches a broken start-up.
INTERACTIVE_BOUND_MS = 5_000


def _row(page, label: str):
    return page.locator("table.accounts tbody tr").filter(has_text=label)


def test_operator_flow(gateway, context_factory):
    """Wrong key refused, right key accepted; add, list, disable and delete an account;
    create a client key that is shown once."""
    page = context_factory().new_page()
    console = Console(page)
    page.goto(gateway.url + "/")
    key_input = page.get_by_label("Admin key")
    expect(key_input).to_be_visible()
    ready_ms = page.evaluate("performance.now()")
    print(f"\ndashboard interactive (login form rendered) after {ready_ms:.0f} ms")
    assert ready_ms < INTERACTIVE_BOUND_MS

    # A wrong key: Chromium itself logs the refused request; nothing else may appear.
    console.allow_once("status of 401")
    key_input.fill("not-the-admin-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("refused")
    expect(page.get_by_role("heading", name="Overview")).to_have_count(0)

    key_input.fill(gateway.admin_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    page.get_by_role("link", name="Accounts").click()
    expect(page).to_have_url(re.compile(r"/accounts$"))
    expect(page.get_by_text("No accounts yet")).to_be_visible()

    page.get_by_role("button", name="Add account").click()
    page.get_by_label("Provider").select_option("openai")
    page.get_by_label("Label").fill("browser-acct")
    page.get_by_label("API key").fill("sk-browser-test-0123456789")
    page.get_by_label("Base URL").fill("http://127.0.0.1:9/v1")
    page.get_by_label("Models").fill("gpt-*, browser-*")
    page.locator("form").get_by_role("button", name="Add account").click()
    expect(page.get_by_role("status").filter(has_text="Added browser-acct")).to_be_visible()
    row = _row(page, "browser-acct")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("openai")
    expect(row).to_contain_text("ok")
    expect(row).not_to_contain_text("0123456789")  # only the hint is shown

    page.get_by_role("button", name="Disable browser-acct").click()
    expect(page.get_by_role("button", name="Enable browser-acct")).to_be_visible()
    expect(row).to_contain_text("disabled")
    with gateway.api() as api:
        [account] = api.get("/api/accounts").json()["accounts"]
        assert account["label"] == "browser-acct" and account["enabled"] is False

    page.get_by_role("link", name="Client keys").click()
    expect(page.get_by_text("No client keys yet")).to_be_visible()
    page.get_by_label("Name").fill("browser-key")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_label("Client key")
    expect(shown).to_have_value(re.compile(r"^sy-"))
    secret = shown.input_value()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    expect(page.locator("tbody")).to_contain_text("browser-key")
    page.get_by_role("button", name="Done, hide the key").click()
    expect(page.get_by_label("Client key")).to_have_count(0)
    assert secret not in page.content()
    page.reload()
    expect(page.locator("tbody")).to_contain_text("browser-key")
    assert secret not in page.content(), "the key must be shown only once"
    with gateway.api() as api:
        keys = api.get("/api/keys").json()["keys"]
        assert [k["name"] for k in keys] == ["browser-key"]
        assert secret not in str(keys)

    page.get_by_role("link", name="Accounts").click()
    page.get_by_role("button", name="Delete browser-acct").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_text("No accounts yet")).to_be_visible()
    with gateway.api() as api:
        assert api.get("/api/accounts").json()["accounts"] == []
        # leave the session as we found it for the other tests
        for k in api.get("/api/keys").json()["keys"]:
            assert api.delete(f"/api/keys/{k['id']}").status_code == 204

    console.assert_clean()


def test_import_and_filter_keep_100_accounts_usable(gateway, context_factory):
    """Import is all or nothing: a bad item is named and nothing is imported; fixed, each
    item reports its result. With 100 accounts the filter and the pager work."""
    page = context_factory(signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/accounts")
    page.get_by_role("button", name="Import JSON").click()
    good = '{"provider":"anthropic","label":"imp-ok","api_key":"sk-ant-import-1"}'
    page.get_by_label(re.compile("^Accounts")).fill(
        f'[{good}, {{"provider":"anthropic","label":"imp-bad"}}]'
    )
    # The server refuses the whole import (the console shows the 400) and names item 2.
    console.allow_once("status of 400")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Nothing imported")).to_be_visible()
    outcomes = page.locator("ol.outcomes li")
    expect(outcomes).to_have_count(1)
    expect(outcomes.nth(0)).to_contain_text("#2 imp-bad: api_key")
    with gateway.api() as api:
        assert api.get("/api/accounts").json()["accounts"] == []

    page.get_by_label(re.compile("^Accounts")).fill(f"[{good}]")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("1 imported")).to_be_visible()
    expect(outcomes.nth(0)).to_contain_text("#1 imp-ok: created")

    with gateway.api() as api:
        for i in range(99):
            r = api.post("/api/accounts", json={
                "provider": "openai", "label": f"bulk-{i:03}", "api_key": f"sk-bulk-{i:03}-secret",
                "tier": ["pro", "free", "ultra"][i % 3],
            })
            assert r.status_code == 201, r.text
    page.get_by_role("button", name="Refresh", exact=True).click()
    expect(page.get_by_text(re.compile(r"Page 1 of 5 · 100 rows"))).to_be_visible()
    expect(page.locator("table.accounts tbody tr")).to_have_count(20)
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_text("Page 2 of 5")).to_be_visible()
    page.get_by_label("Filter").fill("bulk-042")
    expect(page.locator("table.accounts tbody tr")).to_have_count(1)
    expect(page.get_by_text("Page 1 of 1 · 1 rows")).to_be_visible()
    page.get_by_label("Filter").fill("imp-ok")
    expect(_row(page, "imp-ok")).to_contain_text("anthropic")
    console.assert_clean()


def test_refresh_updates_rows_in_place(gateway, context_factory):
    """The accounts page polls; a refresh re-renders only the rows that changed, so the
    button a keyboard user is on keeps its focus."""
    page = context_factory(signed_in=True).new_page()
    console = Console(page)
    page.clock.install()
    page.goto(gateway.url + "/accounts")
    edit = page.get_by_role("button", name="Edit imp-ok")
    edit.focus()
    with gateway.api() as api:
        [bulk] = [a for a in api.get("/api/accounts").json()["accounts"] if a["label"] == "bulk-000"]
        assert api.patch(f"/api/accounts/{bulk['id']}", json={"label": "bulk-000-renamed"}).status_code == 200
    page.clock.fast_forward("00:11")  # past the 10 s refresh
    expect(page.locator("table.accounts")).to_contain_text("bulk-000-renamed")
    expect(edit).to_be_focused()
    console.assert_clean()


def test_keyboard_reaches_sign_in_and_navigation(gateway, context_factory):
    page = context_factory().new_page()
    console = Console(page)
    page.goto(gateway.url + "/")
    expect(page.get_by_label("Admin key")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Admin key")).to_be_focused()
    page.keyboard.type(gateway.admin_key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Resilience":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/resilience$"))
    expect(page.get_by_role("heading", name="Resilience")).to_be_visible()
    console.assert_clean()


def _metric_sum(text: str, name: str, label: str = "") -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and label in line
    )


def test_overview_reads_live_metrics(gateway, context_factory):
    """Proxy traffic shows up on the overview, read from /api/metrics."""
    with httpx.Client(base_url=gateway.url, timeout=10.0) as http:
        for _ in range(3):
            r = http.post("/v1/chat/completions", json={"model": "gpt-x", "messages": []},
                          headers={"Authorization": "Bearer not-a-client-key"})
            assert r.status_code == 401
    with gateway.api() as api:
        text = api.get("/api/metrics").text
    total = _metric_sum(text, "switchyard_requests_total")
    client_errors = _metric_sum(text, "switchyard_requests_total", 'status="4xx"')
    server_errors = _metric_sum(text, "switchyard_requests_total", 'status="5xx"')
    assert total >= 3

    page = context_factory(signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/")

    def card(title: str):
        return page.locator(".card").filter(has=page.get_by_role("heading", name=title, exact=True))

    expect(card("Requests").locator(".big")).to_have_text(f"{total:.0f}")
    expect(card("Errors (4xx + 5xx)").locator(".big")).to_have_text(
        f"{client_errors:.0f} + {server_errors:.0f}")
    expect(card("Usable accounts").locator(".big")).to_have_text(re.compile(r"^\d+ / \d+$"))
    console.assert_clean()


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_renders_and_fits(gateway, context_factory, width):
    """Each page renders its heading without errors and without horizontal page
    scrolling; screenshots go to artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = context_factory(width=width, height=900).new_page()
    console = Console(page)
    page.goto(gateway.url + "/")
    expect(page.get_by_label("Admin key")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / f"login-{width}.png"), full_page=True)
    page.evaluate(f"sessionStorage.setItem('switchyard.admin_key', {gateway.admin_key!r})")
    for name, path, heading in PAGES:
        page.goto(gateway.url + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.locator(".state.loading")).to_have_count(0)
        expect(page.locator(".state.error")).to_have_count(0)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} at {width}px scrolls sideways by {overflow}px"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    console.assert_clean()


def test_wasm_budget_and_caching(gateway):
    with httpx.Client(base_url=gateway.url, timeout=10.0) as http:
        index = http.get("/", headers={"accept-encoding": "identity"})
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("text/html")
        assert index.headers["cache-control"] == "no-cache"
        match = re.search(r'/([\w.-]+_bg\.wasm)', index.text)
        assert match, "index.html names no wasm file"
        wasm = "/" + match.group(1)
        raw = http.get(wasm, headers={"accept-encoding": "identity"})
        assert raw.status_code == 200
        assert raw.headers["content-type"] == "application/wasm"
        assert "immutable" in raw.headers["cache-control"]
        sizes = {"raw": len(raw.content)}
        for encoding in ("gzip", "br"):
            with http.stream("GET", wasm, headers={"accept-encoding": encoding}) as r:
                assert r.headers.get("content-encoding") == encoding
                sizes[encoding] = sum(len(chunk) for chunk in r.iter_raw())
        with http.stream("GET", wasm, headers={"accept-encoding": "gzip"}) as r:
            assert gzip.decompress(b"".join(r.iter_raw())) == raw.content
        etag = raw.headers["etag"]
        assert http.get(wasm, headers={"if-none-match": etag}).status_code == 304
    print(f"\nwasm {wasm}: raw {sizes['raw']} B, gzip {sizes['gzip']} B, brotli {sizes['br']} B")
    assert sizes["gzip"] < WASM_BUDGET_BYTES


def test_api_and_proxy_paths_never_get_the_dashboard(gateway):
    with httpx.Client(base_url=gateway.url, timeout=10.0) as http:
        admin = {"Authorization": f"Bearer {gateway.admin_key}"}
        for path in ["/api/nope", "/api/", "/api/accounts/nope/x"]:
            r = http.get(path, headers=admin)
            assert r.status_code == 404, path
            assert r.json()["error"]["code"] == "not_found", path
        for path in ["/v1/nope", "/v1beta/nope", "/v1"]:
            r = http.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"].startswith("application/json"), path
            assert "error" in r.json(), path
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.post("/accounts").status_code == 404  # only GET/HEAD reach the dashboard
        spa = http.get("/resilience")
        assert spa.status_code == 200 and spa.headers["content-type"].startswith("text/html")
        assert http.get("/no-such-file.js").status_code == 404
