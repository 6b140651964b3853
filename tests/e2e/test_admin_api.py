"""The management REST API (`/api/*`) and the unauthenticated ops routes, via httpx."""

from __future__ import annotations

import httpx
import pytest

from support import OPENAI_MODEL, UPSTREAM_KEYS, items_of

VALID_ACCOUNT = {
    "provider": "openai",
    "label": "e2e-validation",
    "api_key": "sk-e2e-validation-secret-0001",
    "base_url": "http://127.0.0.1:9/v1",
    "models": ["validation-only-*"],
}


def chat(proxy: httpx.Client, key: str, model: str = OPENAI_MODEL) -> httpx.Response:
    return proxy.post(
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "Say hello."}]},
        headers={"Authorization": f"Bearer {key}"},
    )


def assert_api_error(r: httpx.Response, status: int, field: str | tuple[str, ...] | None = None) -> dict:
    assert r.status_code == status, f"{r.status_code}: {r.text[:500]}"
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    error = body["error"]
    assert isinstance(error.get("message"), str) and error["message"], body
    if field is not None:
        accepted = (field,) if isinstance(field, str) else field
        assert error.get("field") in accepted, body
    return error


def set_enabled(admin: httpx.Client, account_id: str, enabled: bool) -> None:
    r = admin.patch(f"/api/accounts/{account_id}", json={"enabled": enabled})
    assert r.status_code in (200, 204), r.text
    if r.status_code == 200:
        assert r.json()["enabled"] is enabled, r.text
    r = admin.get(f"/api/accounts/{account_id}")
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is enabled, r.text


# --- ops routes -------------------------------------------------------------------


def test_healthz_needs_no_auth(proxy: httpx.Client) -> None:
    r = proxy.get("/healthz")
    assert r.status_code == 200, r.text


def test_readyz_needs_no_auth(proxy: httpx.Client, accounts: dict[str, str]) -> None:
    r = proxy.get("/readyz")
    assert r.status_code == 200, r.text


# --- admin auth -------------------------------------------------------------------


def test_admin_routes_need_the_admin_key(proxy: httpx.Client, accounts: dict[str, str]) -> None:
    r = proxy.get("/api/accounts")
    assert_api_error(r, 401)
    r = proxy.get("/api/accounts", headers={"Authorization": "Bearer not-the-admin-key"})
    assert_api_error(r, 401)
    r = proxy.post("/api/keys", json={"name": "sneaky"})
    assert_api_error(r, 401)


def test_client_key_is_not_an_admin_key(proxy: httpx.Client, client_key: str) -> None:
    r = proxy.get("/api/accounts", headers={"Authorization": f"Bearer {client_key}"})
    assert_api_error(r, 401)


# --- account validation -----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"label": ""}, "label"),
        ({"provider": "nope"}, "provider"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"api_key": ""}, "api_key"),
        ({"models": ["has space"]}, ("models", "models[0]")),
        ({"api_key": None}, "api_key"),  # None = leave the field out
        ({"provider": None}, "provider"),
    ],
    ids=[
        "empty-label",
        "unknown-provider",
        "ftp-base-url",
        "empty-api-key",
        "bad-model-pattern",
        "missing-api-key",
        "missing-provider",
    ],
)
def test_invalid_account_names_the_field(admin: httpx.Client, change: dict, field: str | tuple) -> None:
    body = {**VALID_ACCOUNT, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = admin.post("/api/accounts", json=body)
    assert_api_error(r, 400, field)


def test_malformed_json_is_400(admin: httpx.Client) -> None:
    r = admin.post("/api/accounts", content=b'{"provider": ', headers={"Content-Type": "application/json"})
    assert_api_error(r, 400)


# --- secrets ----------------------------------------------------------------------


def test_account_list_never_shows_secrets(admin: httpx.Client, accounts: dict[str, str]) -> None:
    r = admin.get("/api/accounts")
    assert r.status_code == 200, r.text
    for secret in UPSTREAM_KEYS:
        assert secret not in r.text, f"GET /api/accounts leaks {secret!r}"
    listed = items_of(r.json(), "accounts")
    by_id = {a["id"]: a for a in listed}
    for label, account_id in accounts.items():
        assert account_id in by_id, f"account {label} ({account_id}) missing from the list"
        account = by_id[account_id]
        assert account["label"] == label
        assert "api_key" not in account, account
        assert isinstance(account.get("api_key_hint"), str) and account["api_key_hint"], account


def test_account_detail_never_shows_secret(admin: httpx.Client, accounts: dict[str, str]) -> None:
    r = admin.get(f"/api/accounts/{accounts['e2e-openai']}")
    assert r.status_code == 200, r.text
    assert "fake-openai-key" not in r.text
    body = r.json()
    assert body["id"] == accounts["e2e-openai"]
    assert body["provider"] == "openai"
    assert body["models"] == ["gpt-*"]
    assert body["enabled"] is True
    assert isinstance(body.get("api_key_hint"), str) and body["api_key_hint"], body


def test_account_create_get_delete(admin: httpx.Client) -> None:
    secret = "sk-e2e-create-delete-secret-4242"
    r = admin.post(
        "/api/accounts",
        json={**VALID_ACCOUNT, "label": "e2e-throwaway", "api_key": secret, "enabled": False},
    )
    assert r.status_code == 201, r.text
    assert secret not in r.text, "POST /api/accounts echoes the secret"
    account_id = r.json()["id"]
    try:
        r = admin.get(f"/api/accounts/{account_id}")
        assert r.status_code == 200, r.text
        assert secret not in r.text
        assert r.json()["label"] == "e2e-throwaway"
    finally:
        r = admin.delete(f"/api/accounts/{account_id}")
    assert r.status_code in (200, 204), r.text
    r = admin.get(f"/api/accounts/{account_id}")
    assert_api_error(r, 404)


# --- live changes -----------------------------------------------------------------


def test_disabling_an_account_applies_without_restart(
    admin: httpx.Client, proxy: httpx.Client, client_key: str, accounts: dict[str, str]
) -> None:
    account_id = accounts["e2e-openai"]
    assert chat(proxy, client_key).status_code == 200
    try:
        set_enabled(admin, account_id, False)
        disabled = chat(proxy, client_key)
        assert disabled.status_code != 200, "a disabled account still served the request"
        assert disabled.status_code in (404, 429, 503), disabled.text
    finally:
        set_enabled(admin, account_id, True)
    again = chat(proxy, client_key)
    assert again.status_code == 200, again.text


# --- client keys ------------------------------------------------------------------


def test_created_key_works_until_deleted(admin: httpx.Client, proxy: httpx.Client, accounts: dict[str, str]) -> None:
    r = admin.post("/api/keys", json={"name": "e2e-temporary"})
    assert r.status_code == 201, r.text
    created = r.json()
    key, key_id = created["key"], created["id"]
    assert created["name"] == "e2e-temporary"

    r = chat(proxy, key)
    assert r.status_code == 200, r.text

    listed = admin.get("/api/keys")
    assert listed.status_code == 200, listed.text
    assert key not in listed.text, "GET /api/keys shows a key again"
    assert key_id in {k["id"] for k in items_of(listed.json(), "keys")}

    r = admin.delete(f"/api/keys/{key_id}")
    assert r.status_code in (200, 204), r.text

    r = chat(proxy, key)
    assert r.status_code == 401, r.text
    assert isinstance(r.json().get("error"), dict), r.text


def test_key_name_is_validated(admin: httpx.Client) -> None:
    r = admin.post("/api/keys", json={"name": ""})
    assert_api_error(r, 400, "name")
