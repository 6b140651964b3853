"""The accounting, key-policy, mapping and account-state pages in a real browser, with
proxied traffic through a fake upstream: the usage chart (SVG drawn by the app) and CSV,
the overview's charts and quota summary, the request log with its filters, pages and
attempts, a key policy edit, a mapping add / delete, verify / quota / export on accounts.

Runs after test_dashboard.py (file order), on the same gateway: it adds its own
accounts (labels `pages-…`) and never assumes an empty pool. Any browser console error
fails the test that caused it.
"""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from conftest import SCREENSHOTS, Console

REQUESTS_OK = 52  # more than one request-log page (50)


@pytest.fixture(scope="module")
def traffic(gateway, fake_url):
    """An account at the fake upstream, a client key, 52 answered requests and one the
    upstream refuses with 400; returns the ids."""
    with gateway.api() as api:
        r = api.post("/api/accounts", json={
            "provider": "openai", "label": "pages-openai", "api_key": "fake-openai-key",
            "base_url": f"{fake_url}/v1", "models": ["pages-*"],
        })
        assert r.status_code == 201, r.text
        account = r.json()["id"]
        r = api.post("/api/keys", json={"name": "pages-traffic"})
        assert r.status_code in (200, 201), r.text
        key, key_id = r.json()["key"], r.json()["id"]
    with httpx.Client(base_url=gateway.url, timeout=15.0,
                      headers={"Authorization": f"Bearer {key}"}) as http:
        for i in range(REQUESTS_OK):
            r = http.post("/v1/chat/completions", json={
                "model": "pages-model", "messages": [{"role": "user", "content": f"hello {i}"}]})
            assert r.status_code == 200, r.text
        r = http.post("/v1/chat/completions", json={
            "model": "pages-model", "messages": [{"role": "user", "content": "#fake:status=400"}]})
        assert r.status_code == 400, r.text
    # The request log is written in batches (every 100 ms).
    with gateway.api() as api:
        for _ in range(50):
            items = api.get("/api/logs", params={"key_id": key_id, "limit": 100}).json()["items"]
            if len(items) >= REQUESTS_OK + 1:
                break
            time.sleep(0.1)
        assert len(items) >= REQUESTS_OK + 1
    return {"account": account, "key_id": key_id}


def _no_sideways_scroll(page, what: str, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} at {width}px scrolls sideways by {overflow}px"


@pytest.mark.parametrize("width", [1280, 390])
def test_usage_chart_table_and_csv(gateway, context_factory, traffic, width):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = context_factory(width=width, signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/usage")
    expect(page.get_by_role("heading", name="Usage", exact=True)).to_be_visible()
    chart = page.locator("figure.chart").first
    expect(chart.locator("svg")).to_have_count(1)
    bars = chart.locator("svg rect")
    expect(bars.first).to_be_attached()
    tooltips = chart.locator("svg rect title").all_text_contents()
    assert any("pages-model" in t for t in tooltips), tooltips
    # Axis ticks are written as text.
    assert chart.locator("svg text").count() >= 3
    table = page.locator("table.usage")
    expect(table).to_contain_text("pages-model")
    row = table.locator("tbody tr").filter(has_text="pages-model")
    requests = int(row.locator("td").nth(1).inner_text().replace("\u202f", ""))
    assert requests >= REQUESTS_OK + 1
    _no_sideways_scroll(page, "/usage", width)
    page.screenshot(path=str(SCREENSHOTS / f"usage-data-{width}.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_role("button", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename == "switchyard-usage-by-model-hour.csv"
    text = open(download.path(), encoding="utf-8").read()
    lines = text.strip().splitlines()
    assert lines[0].startswith("bucket_utc,bucket_ms,model,requests,")
    assert any(",pages-model," in line for line in lines[1:])

    page.get_by_label("Group by").select_option("account")
    expect(page.locator("table.usage")).to_contain_text("pages-openai")
    page.get_by_label("Buckets").select_option("day")
    expect(page.locator("table.usage")).to_contain_text("pages-openai")
    expect(page.locator("figure.chart svg rect").first).to_be_attached()
    page.get_by_label("Chart").select_option("tokens")
    expect(page.locator("figure.chart figcaption")).to_contain_text("Tokens")
    console.assert_clean()


@pytest.mark.parametrize("width", [1280, 390])
def test_overview_charts_and_quota(gateway, context_factory, traffic, width):
    page = context_factory(width=width, signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/")
    requests = page.locator("figure.chart").filter(has_text="Requests per hour")
    expect(requests.locator("svg rect").first).to_be_attached()
    for title in ("Tokens per hour", "Cost per hour", "Requests and errors per 5 s"):
        expect(page.locator("figure.chart").filter(has_text=title).locator("svg")).to_have_count(1)
    summary = page.locator("table.quota-summary")
    expect(summary).to_contain_text("openai")
    # The fake sends OpenAI rate-limit headers: the account reports a quota.
    expect(summary.locator("tbody tr").filter(has_text="openai")).to_contain_text("% left")
    _no_sideways_scroll(page, "/", width)
    page.screenshot(path=str(SCREENSHOTS / f"overview-data-{width}.png"), full_page=True)
    console.assert_clean()


@pytest.mark.parametrize("width", [1280, 390])
def test_request_log_filters_pages_and_detail(gateway, context_factory, traffic, width):
    page = context_factory(width=width, signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/logs")
    expect(page.get_by_role("heading", name="Request log")).to_be_visible()
    expect(page.locator(f"#log-key option[value='{traffic['key_id']}']")).to_be_attached()
    page.get_by_label("Client key").select_option(traffic["key_id"])
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("table.logs tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("pages-model")
    expect(page.get_by_text("Page 1", exact=True)).to_be_visible()
    page.get_by_role("button", name="Older →").click()
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    expect(rows).to_have_count(REQUESTS_OK + 1 - 50)
    expect(page.get_by_role("button", name="Older →")).to_be_disabled()
    page.get_by_role("button", name="← Newer").click()
    expect(page.get_by_text("Page 1", exact=True)).to_be_visible()

    page.get_by_label("Status").select_option("4xx")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("400")
    rows.first.get_by_role("button", name=re.compile("^Details of")).click()
    detail = page.locator("section.detail")
    expect(detail).to_contain_text("Attempts (1)")
    attempt = detail.locator("table.attempts tbody tr")
    expect(attempt).to_have_count(1)
    expect(attempt).to_contain_text("pages-openai")
    expect(attempt).to_contain_text("400")
    page.screenshot(path=str(SCREENSHOTS / f"logs-detail-{width}.png"), full_page=True)
    page.get_by_role("button", name="Close").click()
    expect(detail).to_have_count(0)

    page.get_by_label("Status").select_option("2xx")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(50)
    rows.first.get_by_role("button", name=re.compile("^Details of")).click()
    detail = page.locator("section.detail")
    expect(detail).to_contain_text("Attempts (1)")
    expect(detail.locator("table.attempts")).to_contain_text("relayed")
    expect(detail).to_contain_text("Usage")
    _no_sideways_scroll(page, "/logs", width)
    console.assert_clean()


def test_key_policy_edit_round_trips(gateway, context_factory):
    page = context_factory(signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/keys")
    create = page.locator("form.create-key")
    create.get_by_label("Name").fill("pages-policy")
    create.locator("summary").click()
    create.get_by_label("Requests per minute").fill("60")
    create.get_by_role("button", name="Create key").click()
    expect(page.get_by_label("Client key")).to_have_value(re.compile(r"^sy-"))
    page.get_by_role("button", name="Done, hide the key").click()
    row = page.locator("table.keys tbody tr").filter(has_text="pages-policy")
    expect(row).to_contain_text("60 rpm")

    row.get_by_role("button", name="Edit pages-policy").click()
    form = page.locator("form.edit-key")
    expect(form.get_by_label("Requests per minute")).to_have_value("60")
    form.get_by_label("Requests per minute").fill("")
    form.get_by_label("Tokens per minute").fill("5000")
    form.get_by_label("Budget (USD)").fill("2.5")
    form.get_by_label("Budget period").select_option("day")
    form.get_by_label("Allowed models").fill("pages-*, other-*")
    form.get_by_label("Expires").fill("2099-01-02T03:04")
    form.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("status").filter(has_text="Saved pages-policy")).to_be_visible()
    expect(row).to_contain_text("tpm")
    expect(row).not_to_contain_text("rpm")
    expect(row).to_contain_text("$0 of $2.50 per day")
    expect(row).to_contain_text("pages-*, other-*")
    expect(row).to_contain_text("2099-01-02")
    with gateway.api() as api:
        [key] = [k for k in api.get("/api/keys").json()["keys"] if k["name"] == "pages-policy"]
    assert key["rpm"] is None and key["tpm"] == 5000
    assert key["budget_usd"] == 2.5 and key["budget_period"] == "day"
    assert key["models"] == ["pages-*", "other-*"] and key["expires_at"] > 4_000_000_000
    assert key["enabled"] is True

    row.get_by_role("button", name="Disable pages-policy").click()
    expect(row).to_contain_text("disabled")
    with gateway.api() as api:
        [key] = [k for k in api.get("/api/keys").json()["keys"] if k["name"] == "pages-policy"]
        assert key["enabled"] is False
    # A bad value is named before anything is sent.
    row.get_by_role("button", name="Edit pages-policy").click()
    form.get_by_label("Tokens per minute").fill("0")
    form.get_by_role("button", name="Save key").click()
    expect(form.get_by_role("alert")).to_contain_text("tpm")
    expect(form.get_by_label("Tokens per minute")).to_have_attribute("aria-invalid", "true")
    console.assert_clean()


def test_mapping_add_resolve_delete(gateway, context_factory, traffic):
    page = context_factory(signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/mapping")
    expect(page.get_by_role("heading", name="Model mapping")).to_be_visible()
    page.get_by_label("Alias", exact=True).fill("pages-fast")
    page.get_by_label("Target model").fill("pages-model")
    page.get_by_role("button", name="Save alias").click()
    expect(page.get_by_role("status").filter(has_text="Saved pages-fast")).to_be_visible()
    page.get_by_label("Alias", exact=True).fill("pag*")
    page.get_by_label("Target model").fill("pages-wild")
    page.get_by_role("button", name="Save alias").click()
    table = page.locator("table.mapping")
    expect(table.locator("tbody tr").filter(has_text="pages-fast")).to_contain_text("pages-model")
    with gateway.api() as api:
        entries = api.get("/api/config/mapping").json()["entries"]
    assert entries["pages-fast"]["target"] == "pages-model" and not entries["pages-fast"]["deleted"]

    probe = page.get_by_label("Model name")
    probe.fill("pages-fast")
    resolution = page.locator(".resolution")
    expect(resolution).to_contain_text("pages-fast is an alias of pages-model")
    expect(resolution).to_contain_text("pages-openai")
    probe.fill("pagination")
    expect(resolution).to_contain_text("matches the pattern pag* → pages-wild")
    probe.fill("unmapped-model")
    expect(resolution).to_contain_text("no alias")
    expect(resolution).to_contain_text("No enabled account serves unmapped-model")

    # Change the target in place.
    page.get_by_role("button", name="Change pages-fast").click()
    expect(page.get_by_label("Alias", exact=True)).to_have_value("pages-fast")
    page.get_by_label("Target model").fill("pages-model-2")
    page.get_by_role("button", name="Save alias").click()
    expect(table.locator("tbody tr").filter(has_text="pages-fast")).to_contain_text("pages-model-2")

    for alias in ("pages-fast", "pag*"):
        page.get_by_role("button", name=f"Delete {alias}").click()
        page.get_by_role("button", name="Yes, delete").click()
        expect(page.get_by_role("status").filter(has_text=f"Deleted alias {alias}")).to_be_visible()
    expect(table.locator("tbody tr").filter(has_text="pages-fast")).to_be_hidden()
    with gateway.api() as api:
        entries = api.get("/api/config/mapping").json()["entries"]
    assert entries["pages-fast"]["deleted"] is True
    page.get_by_label(re.compile("^Show 2 deleted")).check()
    tomb = table.locator("tbody tr.tombstone").filter(has_text="pages-fast")
    expect(tomb).to_be_visible()
    expect(tomb).to_contain_text("deleted")
    page.screenshot(path=str(SCREENSHOTS / "mapping-1280.png"), full_page=True)
    console.assert_clean()


def test_accounts_verify_quota_and_export(gateway, context_factory, fake_url, traffic):
    with gateway.api() as api:
        r = api.post("/api/accounts", json={
            "provider": "openai", "label": "pages-revoked", "api_key": "bad-pages-key",
            "base_url": f"{fake_url}/v1", "models": ["revoked-*"],
        })
        assert r.status_code == 201, r.text
        # With an admin key the gateway can poll OpenAI's cost report (the fake has one).
        r = api.patch(f"/api/accounts/{traffic['account']}", json={"admin_key": "sk-admin-pages-0001"})
        assert r.status_code == 200, r.text
    page = context_factory(signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/accounts")
    page.get_by_label("Filter").fill("pages-")
    revoked = page.locator("table.accounts tbody tr").filter(has_text="pages-revoked")
    good = page.locator("table.accounts tbody tr").filter(has_text="pages-openai")
    expect(good.locator(".quota-item").first).to_contain_text("requests left")
    expect(good.locator(".quota-item .meter").first).to_be_visible()

    # The fake refuses `bad…` keys with 401: verify marks the account forbidden.
    page.get_by_role("button", name="Verify pages-revoked").click()
    expect(page.get_by_role("alert").filter(has_text="Verified pages-revoked: forbidden")).to_be_visible()
    expect(revoked.locator(".badge.bad").filter(has_text="forbidden")).to_be_visible()
    expect(revoked).to_contain_text("401")
    page.get_by_role("button", name="Verify pages-openai").click()
    expect(page.get_by_role("status").filter(has_text="Verified pages-openai: ok")).to_be_visible()

    page.get_by_role("button", name="Refresh quota of pages-openai").click()
    expect(page.get_by_role("status").filter(has_text="Quota of pages-openai refreshed")).to_be_visible()
    # Without an admin key there is nothing to poll: the server's reason is shown.
    console.allow_once("status of 409")
    page.get_by_role("button", name="Refresh quota of pages-revoked").click()
    expect(page.get_by_role("alert").filter(has_text="nothing to poll")).to_be_visible()

    # Import from a file: one bad item (an unknown provider) stops the whole import.
    page.get_by_role("button", name="Import JSON").click()
    upload = json.dumps([
        {"provider": "openai", "label": "pages-upload-ok", "api_key": "sk-upload-0001"},
        {"provider": "nope", "label": "pages-upload-bad", "api_key": "sk-upload-0002"},
    ])
    page.get_by_label("From a file").set_input_files(files=[{
        "name": "accounts.json", "mimeType": "application/json", "buffer": upload.encode()}])
    expect(page.get_by_label(re.compile("^Accounts"))).to_have_value(upload)
    console.allow_once("status of 400")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Nothing imported")).to_be_visible()
    expect(page.locator("ol.outcomes li")).to_contain_text("#2 pages-upload-bad: provider")
    with gateway.api() as api:
        labels = [a["label"] for a in api.get("/api/accounts").json()["accounts"]]
        assert "pages-upload-ok" not in labels

    page.get_by_role("button", name="Export JSON").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download", exact=True).click()
    items = json.load(open(info.value.path(), encoding="utf-8"))
    labels = {i["label"] for i in items}
    assert {"pages-openai", "pages-revoked"} <= labels
    assert not any("api_key" in i for i in items)
    page.get_by_label("Include API keys and admin keys").check()
    expect(page.get_by_role("note")).to_contain_text("credentials in plain text")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download with secrets").click()
    assert info.value.suggested_filename == "switchyard-accounts-with-secrets.json"
    items = json.load(open(info.value.path(), encoding="utf-8"))
    assert any(i.get("api_key") == "fake-openai-key" for i in items)
    page.screenshot(path=str(SCREENSHOTS / "accounts-state-1280.png"), full_page=True)
    console.assert_clean()


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_with_data_fit(gateway, context_factory, traffic, width):
    """With traffic, keys, aliases and account states in place, the new pages render
    without errors or sideways page scrolling; screenshots for review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with gateway.api() as api:
        assert api.put("/api/config/mapping/pages-shot", json={"target": "pages-model"}).status_code == 200
    page = context_factory(width=width, signed_in=True).new_page()
    console = Console(page)
    for name, path, heading in [("keys", "/keys", "Client keys"),
                                ("mapping", "/mapping", "Model mapping"),
                                ("accounts", "/accounts", "Accounts"),
                                ("logs", "/logs", "Request log")]:
        page.goto(gateway.url + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.locator(".state.loading")).to_have_count(0)
        expect(page.locator(".state.error")).to_have_count(0)
        if name == "accounts":
            page.get_by_label("Filter").fill("pages-")
            expect(page.locator("table.accounts tbody tr").first).to_contain_text("pages-")
        if name == "logs":
            expect(page.locator("table.logs tbody tr").first).to_be_visible()
        _no_sideways_scroll(page, path, width)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-data-{width}.png"), full_page=True)
    with gateway.api() as api:
        assert api.delete("/api/config/mapping/pages-shot").status_code == 204
    console.assert_clean()


def test_oauth_sign_in_offered_only_when_configured(gateway, oauth_gateway, context_factory):
    """Without providers the accounts page offers no sign-in; with one, its button starts
    the flow (the provider's page, with our client id and state, opens in a new tab) and
    a pasted address that is not a redirect is refused with the server's reason."""
    page = context_factory(signed_in=True).new_page()
    console = Console(page)
    page.goto(gateway.url + "/accounts")
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    expect(page.locator(".state.loading")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Sign in with"))).to_have_count(0)
    console.assert_clean()

    page = context_factory(signed_in=True).new_page()
    console = Console(page)
    page.goto(oauth_gateway.url + "/accounts")
    page.get_by_role("button", name="Sign in with fakeauth").click()
    link = page.get_by_role("link", name="Open fakeauth's sign-in page")
    expect(link).to_have_attribute("href", re.compile(r"^http://127\.0\.0\.1:9/authorize\?"))
    href = link.get_attribute("href")
    assert "client_id=browser-client" in href and "state=" in href, href
    assert "browser-secret" not in href
    console.allow_once("status of 4")
    page.get_by_label("Redirected address").fill(oauth_gateway.url + "/api/oauth/callback?code=x&state=nope")
    page.get_by_role("button", name="Finish sign-in").click()
    expect(page.locator("section.oauth").get_by_role("alert")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "accounts-oauth-1280.png"), full_page=True)
    console.assert_clean()
