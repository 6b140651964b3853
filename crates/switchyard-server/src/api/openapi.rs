//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the management API and the
//! proxy routes. Kept next to the handlers; a test checks every routed path is in it.

use axum::Json;
use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorBody"}}}})
}

fn json_body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// A client key's policy fields; `nullable` for `PATCH`, where `null` clears one.
fn key_policy(nullable: bool) -> Value {
    let t = |kind: &str| {
        if nullable {
            json!([kind, "null"])
        } else {
            json!(kind)
        }
    };
    json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "rpm": {"type": t("integer"), "minimum": 1, "maximum": 1_000_000, "description": "Requests per minute (GCRA; a minute's worth may come at once)."},
        "tpm": {"type": t("integer"), "minimum": 1, "maximum": 1_000_000_000u32, "description": "Tokens per minute, counted from each answer's usage when it finishes; a request is refused while the key is over."},
        "budget_usd": {"type": t("number"), "minimum": 0, "maximum": 1_000_000, "description": "Spend allowed per `budget_period`; over it, 429 until the period ends."},
        "budget_period": {"type": "string", "enum": ["day", "month", "total"], "default": "total", "description": "UTC day, UTC month, or the key's whole life."},
        "models": {"type": t("array"), "items": {"type": "string"}, "maxItems": 256, "description": "Globs of the models (requested name or alias target) the key may call; absent: all."},
        "expires_at": {"type": t("integer"), "minimum": 0, "description": "Unix seconds; from then on the key gets 401."},
        "enabled": {"type": "boolean", "default": true, "description": "A disabled key gets 401."},
        "note": {"type": t("string"), "maxLength": 1000, "description": "Free text (owner, purpose)."}
    })
}

/// The document.
pub fn spec() -> Value {
    let id_param =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let errors = |mut responses: Value| {
        responses["400"] = error_response("Invalid input; `error.field` names the field.");
        responses["401"] = error_response("Missing or wrong admin key.");
        responses
    };
    let provider = json!({"type": "string", "enum": ["openai", "anthropic", "gemini", "openrouter", "openai_compatible"]});
    let tier =
        json!({"type": "string", "enum": ["ultra-business", "ultra", "pro", "free", "unknown"]});
    let models = json!({"type": "array", "items": {"type": "string"}, "maxItems": 256, "description": "Glob patterns (`*`, `?`) of the models the account serves."});
    let log_entry = json!({"type": "object",
                    "required": ["id", "ts", "request_id", "key_id", "protocol_in", "protocol_out", "model", "upstream_model", "account_id", "status", "stream", "latency_ms", "ttfb_ms", "usage", "cost_usd", "error", "attempts"],
                    "properties": {"id": {"type": "string"}, "ts": {"type": "integer", "description": "Unix ms, when the request started"},
                        "request_id": {"type": "string"}, "key_id": {"type": ["string", "null"]},
                        "protocol_in": {"type": "string"}, "protocol_out": {"type": ["string", "null"]},
                        "model": {"type": ["string", "null"]}, "upstream_model": {"type": ["string", "null"]},
                        "account_id": {"type": ["string", "null"], "description": "The last attempt's account"},
                        "status": {"type": "integer"}, "stream": {"type": "boolean"},
                        "latency_ms": {"type": "integer"}, "ttfb_ms": {"type": ["integer", "null"]},
                        "usage": {"type": "object", "required": ["input", "cache_read", "cache_write", "output", "reasoning"],
                            "description": "`input` excludes cache reads and writes; `reasoning` is part of `output`.",
                            "properties": {"input": {"type": "integer"}, "cache_read": {"type": "integer"}, "cache_write": {"type": "integer"}, "output": {"type": "integer"}, "reasoning": {"type": "integer"}}},
                        "cost_usd": {"type": ["number", "null"]}, "error": {"type": ["string", "null"], "description": "Error class of a failed request"},
                        "attempts": {"type": "array", "items": {"type": "object", "required": ["account_id", "outcome", "status", "ms"],
                            "properties": {"account_id": {"type": "string"}, "outcome": {"type": "string"}, "status": {"type": ["integer", "null"]}, "ms": {"type": "integer"}}}}}});
    let log_page = json!({"type": "object", "required": ["items", "next_cursor"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/LogEntry"}}, "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next (older) page; null on the last page."}}});
    let usage_report = json!({"type": "object", "required": ["rows"], "properties": {"rows": {"type": "array", "items": {"type": "object",
                    "required": ["bucket", "group", "requests", "input", "cache_read", "cache_write", "output", "reasoning", "cost_usd"],
                    "properties": {"bucket": {"type": "integer", "description": "Unix ms at the start of the UTC hour or day"}, "group": {"type": "string", "description": "Model, account id or key id; empty when none"},
                        "requests": {"type": "integer"}, "input": {"type": "integer"}, "cache_read": {"type": "integer"}, "cache_write": {"type": "integer"},
                        "output": {"type": "integer"}, "reasoning": {"type": "integer"}, "cost_usd": {"type": "number"}}}}}});
    let logs_path = json!({"get": {"summary": "The request log, newest first",
                "parameters": [
                    {"name": "from", "in": "query", "schema": {"type": "integer"}, "description": "Unix ms, inclusive"},
                    {"name": "to", "in": "query", "schema": {"type": "integer"}, "description": "Unix ms, inclusive"},
                    {"name": "key_id", "in": "query", "schema": {"type": "string"}},
                    {"name": "account_id", "in": "query", "schema": {"type": "string"}},
                    {"name": "model", "in": "query", "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["2xx", "4xx", "5xx"]}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "`next_cursor` of the previous page"}],
                "responses": errors(json!({"200": ok("A page of log entries.", "LogPage")}))}});
    let log_path = json!({
        "parameters": id_param,
        "get": {"summary": "One log entry with its attempts", "responses": errors(json!({"200": ok("The entry.", "LogEntry"), "404": error_response("No such entry.")}))}
    });
    let usage_path = json!({"get": {"summary": "Usage totals from hourly rollups",
                "parameters": [
                    {"name": "group_by", "in": "query", "schema": {"type": "string", "enum": ["model", "account", "key"], "default": "model"}},
                    {"name": "bucket", "in": "query", "schema": {"type": "string", "enum": ["hour", "day"], "default": "hour"}},
                    {"name": "from", "in": "query", "schema": {"type": "integer"}, "description": "Unix ms, inclusive (whole hours)"},
                    {"name": "to", "in": "query", "schema": {"type": "integer"}, "description": "Unix ms, inclusive"}],
                "responses": errors(json!({"200": ok("Rows by bucket, then group.", "UsageReport")}))}});
    let responses_path = json!({"post": {"security": [{"client": []}], "summary": "OpenAI Responses (JSON or SSE): passed through to provider `openai` accounts, translated for the others; stateless (`store: true` and `previous_response_id` are refused)", "responses": {"200": {"description": "Relayed from an upstream account."}}}});
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Switchyard", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Management API (admin bearer key) and LLM proxy routes (client keys)."},
        "components": {
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}, "client": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "ApiErrorBody": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}},
                "CreateAccount": {"type": "object", "additionalProperties": false,
                    "required": ["provider", "label", "api_key"],
                    "properties": {"provider": provider, "label": {"type": "string", "minLength": 1, "maxLength": 200},
                        "api_key": {"type": "string", "writeOnly": true, "minLength": 1, "maxLength": 8192},
                        "base_url": {"type": "string", "format": "uri", "description": "OpenAI-style `…/v1`; Anthropic and Gemini without a path. Required for openai_compatible."},
                        "tier": tier, "models": models, "enabled": {"type": "boolean", "default": true},
                        "quota_scope": {"type": "string", "maxLength": 200, "description": "Accounts naming the same scope share lockouts (one cloud project, one org)."}}},
                "UpdateAccount": {"type": "object", "additionalProperties": false,
                    "properties": {"label": {"type": "string", "minLength": 1, "maxLength": 200},
                        "api_key": {"type": "string", "writeOnly": true},
                        "base_url": {"type": "string", "description": "Empty string resets to the provider default."},
                        "tier": tier, "models": models, "enabled": {"type": "boolean"},
                        "quota_scope": {"type": "string", "description": "Empty string removes the scope."}}},
                "Account": {"type": "object",
                    "required": ["id", "provider", "label", "base_url", "tier", "models", "enabled", "api_key_hint", "created_at", "updated_at"],
                    "properties": {"id": {"type": "string"}, "provider": provider, "label": {"type": "string"},
                        "base_url": {"type": "string"}, "tier": tier, "models": models, "enabled": {"type": "boolean"},
                        "api_key_hint": {"type": "string", "examples": ["sk-…abcd"]},
                        "created_at": {"type": "integer", "description": "Unix seconds"},
                        "updated_at": {"type": "integer", "description": "Unix seconds"}}},
                "AccountList": {"type": "object", "required": ["accounts"], "properties": {"accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}}},
                "CreateKey": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": key_policy(false)},
                "UpdateKey": {"type": "object", "additionalProperties": false, "description": "Absent fields stay; `null` clears a limit, the budget, the model list, the expiry or the note.", "properties": key_policy(true)},
                "KeyCreated": {"type": "object", "required": ["id", "name", "key", "key_hint", "created_at"],
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "key": {"type": "string", "description": "Shown only in this response."},
                        "key_hint": {"type": "string"}, "created_at": {"type": "integer"}}},
                "Key": {"type": "object", "required": ["id", "name", "key_hint", "created_at", "updated_at", "enabled", "rpm", "tpm", "budget_usd", "budget_period", "budget_used_usd", "models", "expires_at", "note"],
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "key_hint": {"type": "string"}, "created_at": {"type": "integer"},
                        "updated_at": {"type": "integer", "description": "Unix seconds"}, "enabled": {"type": "boolean"},
                        "rpm": {"type": ["integer", "null"]}, "tpm": {"type": ["integer", "null"]}, "budget_usd": {"type": ["number", "null"]},
                        "budget_period": {"type": "string", "enum": ["day", "month", "total"]},
                        "budget_used_usd": {"type": "number", "description": "Spent in the current budget period (UTC day or month, or ever), as this instance counted it."},
                        "models": {"type": ["array", "null"], "items": {"type": "string"}}, "expires_at": {"type": ["integer", "null"], "description": "Unix seconds"},
                        "note": {"type": ["string", "null"]}}},
                "MappingEntry": {"type": "object", "additionalProperties": false, "required": ["target", "updated_at"],
                    "properties": {"target": {"type": "string", "description": "The model the alias stands for; empty when deleted."},
                        "updated_at": {"type": "integer", "description": "Unix milliseconds of the last write (the later write wins)."},
                        "deleted": {"type": "boolean", "default": false, "description": "A tombstone: the alias was deleted at `updated_at`."}}},
                "MappingSet": {"type": "object", "additionalProperties": false, "required": ["entries"],
                    "properties": {"entries": {"type": "object", "description": "By alias: an exact model name or a pattern with `*` / `?` (most specific pattern wins).",
                        "additionalProperties": {"$ref": "#/components/schemas/MappingEntry"}}}},
                "PutMapping": {"type": "object", "additionalProperties": false, "required": ["target"], "properties": {"target": {"type": "string", "minLength": 1, "maxLength": 200}}},
                "KeyList": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}}},
                "LogEntry": log_entry, "LogPage": log_page, "UsageReport": usage_report
            }
        },
        "security": [{"admin": []}],
        "paths": {
            "/api/accounts": {
                "get": {"summary": "List accounts", "responses": errors(json!({"200": ok("Accounts in routing order.", "AccountList")}))},
                "post": {"summary": "Add an account", "requestBody": json_body("CreateAccount"),
                         "responses": errors(json!({"201": ok("Created.", "Account")}))}
            },
            "/api/accounts/{id}": {
                "parameters": id_param,
                "get": {"summary": "Read an account", "responses": errors(json!({"200": ok("The account.", "Account"), "404": error_response("No such account.")}))},
                "patch": {"summary": "Change an account (applies to the next request)", "requestBody": json_body("UpdateAccount"),
                          "responses": errors(json!({"200": ok("Updated.", "Account"), "404": error_response("No such account.")}))},
                "delete": {"summary": "Delete an account", "responses": errors(json!({"204": {"description": "Deleted."}, "404": error_response("No such account.")}))}
            },
            "/api/keys": {
                "get": {"summary": "List client keys", "responses": errors(json!({"200": ok("Keys (never the key itself).", "KeyList")}))},
                "post": {"summary": "Create a client key", "requestBody": json_body("CreateKey"),
                         "responses": errors(json!({"201": ok("Created; the key is shown once.", "KeyCreated")}))}
            },
            "/api/keys/{id}": {
                "parameters": id_param,
                "get": {"summary": "Read a client key", "responses": errors(json!({"200": ok("The key (never the key itself).", "Key"), "404": error_response("No such key.")}))},
                "patch": {"summary": "Change a client key's name or policy (applies to the next request; limits and spend are kept)", "requestBody": json_body("UpdateKey"),
                          "responses": errors(json!({"200": ok("Updated.", "Key"), "404": error_response("No such key.")}))},
                "delete": {"summary": "Revoke a client key", "responses": errors(json!({"204": {"description": "Revoked."}, "404": error_response("No such key.")}))}
            },
            "/api/config/mapping": {
                "get": {"summary": "Model aliases, deleted ones included (for sync)", "responses": errors(json!({"200": ok("Every entry.", "MappingSet")}))},
                "post": {"summary": "Merge entries last-write-wins (what the sync of another instance calls)", "requestBody": json_body("MappingSet"),
                         "responses": errors(json!({"200": ok("The merged set.", "MappingSet")}))}
            },
            "/api/config/mapping/{alias}": {
                "parameters": [{"name": "alias", "in": "path", "required": true, "schema": {"type": "string"}, "example": "fast"}],
                "put": {"summary": "Point an alias at a model", "requestBody": json_body("PutMapping"),
                        "responses": errors(json!({"200": ok("The entry as stored.", "MappingEntry")}))},
                "delete": {"summary": "Delete an alias (a tombstone is kept so the deletion syncs)", "responses": errors(json!({"204": {"description": "Deleted."}, "404": error_response("No such live alias.")}))}
            },
            "/api/resilience/health": {"get": {"summary": "Health score per account (EWMA of success and latency)", "responses": errors(json!({"200": {"description": "`{accounts: [{id, label, success_rate, latency_ms, samples, score}]}`"}}))}},
            "/api/resilience/circuits": {"get": {"summary": "Circuit breaker state per account", "responses": errors(json!({"200": {"description": "`{accounts: [{id, label, state, consecutive_failures, open_until?}]}`"}}))}},
            "/api/resilience/aimd": {"get": {"summary": "Adaptive concurrency limit and in-flight count per account", "responses": errors(json!({"200": {"description": "`{accounts: [{id, label, limit, active}]}`"}}))}},
            "/api/resilience/lockouts": {
                "get": {"summary": "Lockouts in force, per quota scope", "responses": errors(json!({"200": {"description": "`{lockouts: [{scope, accounts, model, reason, until, remaining_secs}]}`"}}))},
                "delete": {"summary": "Clear every lockout", "responses": errors(json!({"200": {"description": "`{cleared}`"}}))}
            },
            "/api/resilience/lockouts/{account_id}": {
                "parameters": [{"name": "account_id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "delete": {"summary": "Clear the lockouts of an account's quota scope", "responses": errors(json!({"200": {"description": "`{cleared}`"}, "404": error_response("No such account.")}))}
            },
            "/api/resilience/sessions": {
                "get": {"summary": "Session → account bindings", "responses": errors(json!({"200": {"description": "`{sessions: [{session, account, idle_secs, failures}]}`"}}))},
                "delete": {"summary": "Drop every binding", "responses": errors(json!({"200": {"description": "`{cleared}`"}}))}
            },
            "/api/logs": logs_path, "/api/logs/{id}": log_path, "/api/usage": usage_path,
            "/api/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format.", "content": {"text/plain": {}}}}}},
            "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1 JSON."}}}},
            "/healthz": {"get": {"security": [], "summary": "Liveness", "responses": {"200": {"description": "Alive."}}}},
            "/readyz": {"get": {"security": [], "summary": "Readiness", "responses": {"200": {"description": "Ready to serve."}}}},
            "/v1/chat/completions": {"post": {"security": [{"client": []}], "summary": "OpenAI Chat Completions (JSON or SSE)", "responses": {"200": {"description": "Relayed from an upstream account."}}}},
            "/v1/models": {"get": {"security": [{"client": []}], "summary": "Models, in the caller's protocol shape", "responses": {"200": {"description": "Model list."}}}},
            "/v1/responses": responses_path,
            "/v1/messages": {"post": {"security": [{"client": []}], "summary": "Anthropic Messages (JSON or SSE)", "responses": {"200": {"description": "Relayed from an upstream account."}}}},
            "/v1/messages/count_tokens": {"post": {"security": [{"client": []}], "summary": "Anthropic token count", "responses": {"200": {"description": "`{input_tokens}`."}}}},
            "/v1beta/models": {"get": {"security": [{"client": []}], "summary": "Models, Gemini shape", "responses": {"200": {"description": "Model list."}}}},
            "/v1beta/models/{model_action}": {"post": {"security": [{"client": []}],
                "summary": "Gemini `{model}:generateContent`, `:streamGenerateContent` (`?alt=sse`), `:countTokens`; also under `/v1/models/`",
                "parameters": [{"name": "model_action", "in": "path", "required": true, "schema": {"type": "string"}, "example": "gemini-2.5-flash:generateContent"}],
                "responses": {"200": {"description": "Relayed from an upstream account."}}}}
        }
    });
    accounts_wave2(&mut doc);
    oauth(&mut doc);
    doc
}

/// Accounts, wave 2: credential status, admin keys, display order, import/export,
/// bulk actions, verify, quota.
fn accounts_wave2(doc: &mut Value) {
    let admin = json!([{"admin": []}]);
    let id_param =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let failure = |description: &str| error_response(description);
    let schemas = &mut doc["components"]["schemas"];
    let admin_key = json!({"type": "string", "writeOnly": true, "minLength": 1, "maxLength": 8192,
        "description": "Optional admin credential for usage/cost reports (OpenAI `sk-admin-…`, Anthropic `sk-ant-admin…`); encrypted, never returned."});
    let display_order = json!({"type": "integer", "default": 0, "description": "Lower first in lists; routing's last tie-break."});
    schemas["CreateAccount"]["properties"]["admin_key"] = admin_key;
    schemas["CreateAccount"]["properties"]["display_order"] = display_order.clone();
    schemas["UpdateAccount"]["properties"]["admin_key"] = json!({"type": "string", "writeOnly": true, "description": "Empty string removes the admin credential."});
    schemas["UpdateAccount"]["properties"]["display_order"] = display_order;
    let status = json!({"type": "string", "enum": ["ok", "forbidden", "needs_reauth", "disabled"],
        "description": "`forbidden`: the provider refused the credential; routing skips the account until `POST /api/accounts/{id}/verify` succeeds."});
    for (name, value) in [
        ("status", status.clone()),
        ("status_reason", json!({"type": ["string", "null"]})),
        (
            "status_since",
            json!({"type": ["integer", "null"], "description": "Unix seconds"}),
        ),
        ("has_admin_key", json!({"type": "boolean"})),
        (
            "oauth_provider",
            json!({"type": "string", "description": "Set for an OAuth account: the `[oauth.providers.NAME]` to sign in with again."}),
        ),
        ("display_order", json!({"type": "integer"})),
    ] {
        schemas["Account"]["properties"][name] = value;
    }
    schemas["ImportAccount"] = json!({"type": "object", "additionalProperties": false, "required": ["provider", "label"],
        "description": "An `id` naming an existing account updates it (absent secrets kept); otherwise an account is created and `api_key` is required.",
        "properties": {"id": {"type": "string"}, "provider": schemas["CreateAccount"]["properties"]["provider"].clone(),
            "label": {"type": "string", "minLength": 1, "maxLength": 200},
            "api_key": {"type": "string", "description": "Only in exports with `include_secrets=true`."},
            "admin_key": {"type": "string"}, "base_url": {"type": "string"},
            "tier": schemas["CreateAccount"]["properties"]["tier"].clone(),
            "models": schemas["CreateAccount"]["properties"]["models"].clone(),
            "enabled": {"type": "boolean"}, "quota_scope": {"type": "string"}, "display_order": {"type": "integer"}}});
    schemas["ImportResult"] = json!({"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": {
        "type": "object", "required": ["index", "id", "action"],
        "properties": {"index": {"type": "integer"}, "id": {"type": "string"}, "action": {"type": "string", "enum": ["created", "updated"]}}}}}});
    schemas["BulkRequest"] = json!({"type": "object", "additionalProperties": false, "required": ["ids", "action"],
        "properties": {"ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 10000},
            "action": {"type": "string", "enum": ["enable", "disable", "delete"]}}});
    schemas["BulkResult"] = json!({"type": "object", "required": ["affected", "missing"],
        "properties": {"affected": {"type": "array", "items": {"type": "string"}}, "missing": {"type": "array", "items": {"type": "string"}}}});
    schemas["VerifyResult"] = json!({"type": "object", "required": ["ok", "status", "http_status"],
        "properties": {"ok": {"type": "boolean"}, "status": status, "http_status": {"type": ["integer", "null"]}, "detail": {"type": "string"}}});
    schemas["QuotaList"] = json!({"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["account_id", "model", "limit", "remaining", "unit", "resets_at", "source", "updated_at"],
        "properties": {"account_id": {"type": "string"}, "model": {"type": ["string", "null"], "description": "null: the whole account"},
            "limit": {"type": ["number", "null"]}, "remaining": {"type": ["number", "null"]},
            "used": {"type": ["number", "null"], "description": "Spent or used in the window, when the source says"},
            "unit": {"type": "string", "enum": ["requests", "tokens", "usd", "percent"]},
            "resets_at": {"type": ["integer", "null"], "description": "Unix seconds"},
            "source": {"type": "string", "examples": ["openai-headers:requests", "anthropic-headers:tokens", "gemini-429:GenerateRequestsPerDayPerProjectPerModel", "openrouter-key", "openai-costs:month", "anthropic-cost-report:month"]},
            "updated_at": {"type": "integer", "description": "Unix seconds"}}}}}});
    let paths = &mut doc["paths"];
    paths["/api/accounts/import"] = json!({"post": {"security": admin, "summary": "Import accounts: all or nothing",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "array", "maxItems": 10000, "items": {"$ref": "#/components/schemas/ImportAccount"}}}}},
        "responses": {"200": ok("One result per item, in order.", "ImportResult"),
            "400": failure("Nothing was written; `error.field` is `[INDEX].FIELD`.")}}});
    paths["/api/accounts/export"] = json!({"get": {"security": admin, "summary": "Export accounts as an import array",
        "parameters": [{"name": "include_secrets", "in": "query", "schema": {"type": "boolean", "default": false}, "description": "Include `api_key` and `admin_key` (logged at warn level)."}],
        "responses": {"200": {"description": "Import items.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/ImportAccount"}}}}}}}});
    paths["/api/accounts/bulk"] = json!({"post": {"security": admin, "summary": "Enable, disable or delete accounts",
        "requestBody": json_body("BulkRequest"), "responses": {"200": ok("Acted on and missing ids.", "BulkResult"), "400": failure("Invalid input.")}}});
    paths["/api/accounts/{id}/verify"] = json!({"post": {"security": admin, "parameters": id_param,
        "summary": "Try the credential once (the provider's model list); success clears `forbidden`, a refusal sets it",
        "responses": {"200": ok("The verdict.", "VerifyResult"), "404": failure("No such account.")}}});
    paths["/api/accounts/{id}/refresh-quota"] = json!({"post": {"security": admin, "parameters": id_param,
        "summary": "Poll the account's billing endpoint now (OpenRouter key; OpenAI/Anthropic costs with an admin key)",
        "responses": {"200": ok("The account's quota items.", "QuotaList"), "404": failure("No such account."),
            "409": failure("Nothing to poll for this account."), "502": failure("The billing endpoint failed.")}}});
    paths["/api/quota"] = json!({"get": {"security": admin, "summary": "Quota and balances of every account",
        "responses": {"200": ok("Items per account and model.", "QuotaList")}}});
}

/// OAuth sign-in (`/api/oauth/*`).
fn oauth(doc: &mut Value) {
    let admin = json!([{"admin": []}]);
    let failure = |description: &str| error_response(description);
    let schemas = &mut doc["components"]["schemas"];
    let provider = schemas["CreateAccount"]["properties"]["provider"].clone();
    schemas["OAuthProviderList"] = json!({"type": "object", "required": ["providers"], "properties": {"providers": {"type": "array", "items": {
        "type": "object", "required": ["name", "provider"],
        "properties": {"name": {"type": "string", "description": "The `[oauth.providers.NAME]` name."},
            "provider": provider}}}}});
    schemas["StartOAuth"] = json!({"type": "object", "additionalProperties": false, "required": ["provider"],
        "properties": {"provider": {"type": "string", "description": "A configured `[oauth.providers.NAME]`."},
            "label": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Default: the signed-in email, else the provider name."},
            "tier": schemas["CreateAccount"]["properties"]["tier"].clone(),
            "models": schemas["CreateAccount"]["properties"]["models"].clone(),
            "base_url": {"type": "string", "description": "Required when the account provider has no default (`openai_compatible`)."}}});
    schemas["OAuthStarted"] = json!({"type": "object", "required": ["auth_url", "state"],
        "properties": {"auth_url": {"type": "string", "description": "Open in a browser. Its redirect URI is the gateway's `/api/oauth/callback` (on `[oauth] public_url`, else the request's host)."},
            "state": {"type": "string", "description": "Single-use; expires after 10 minutes."}}});
    schemas["CompleteOAuth"] = json!({"type": "object", "additionalProperties": false, "required": ["url"],
        "properties": {"url": {"type": "string", "maxLength": 8192, "description": "The whole address the provider redirected the browser to (or its query)."}}});
    schemas["OAuthSignedIn"] = json!({"type": "object", "required": ["account", "created"],
        "properties": {"account": {"$ref": "#/components/schemas/Account"}, "created": {"type": "boolean", "description": "false: the same identity signed in again through the same provider; the account was updated and `needs_reauth` cleared."}}});
    let flow_errors = |mut responses: Value| {
        responses["400"] = failure(
            "Unknown state (`invalid_state`), provider error (`oauth_denied`), missing code, or invalid input.",
        );
        responses["409"] = failure("The state was already used (`state_used`).");
        responses["410"] = failure("The state expired (`state_expired`, 10 minutes).");
        responses["502"] =
            failure("The token endpoint refused the code or failed (`oauth_exchange_failed`).");
        responses
    };
    let paths = &mut doc["paths"];
    paths["/api/oauth/providers"] = json!({"get": {"security": admin, "summary": "The configured OAuth providers",
        "responses": {"200": ok("Name and account provider of each.", "OAuthProviderList")}}});
    paths["/api/oauth/start"] = json!({"post": {"security": admin, "summary": "Start an OAuth sign-in (authorization code with PKCE S256)",
        "requestBody": json_body("StartOAuth"),
        "responses": {"200": ok("Open `auth_url` in a browser.", "OAuthStarted"), "400": failure("Unknown provider or invalid input.")}}});
    paths["/api/oauth/callback"] = json!({"get": {"security": [], "summary": "Where the provider sends the browser back; finishes the sign-in (no admin key: the single-use state guards it)",
        "parameters": [{"name": "code", "in": "query", "schema": {"type": "string"}}, {"name": "state", "in": "query", "required": true, "schema": {"type": "string"}},
            {"name": "error", "in": "query", "schema": {"type": "string"}}, {"name": "error_description", "in": "query", "schema": {"type": "string"}}],
        "responses": flow_errors(json!({"200": {"description": "An HTML page saying the account was added or updated (never a secret).", "content": {"text/html": {}}}}))}});
    paths["/api/oauth/complete"] = json!({"post": {"security": admin, "summary": "Finish a sign-in from the pasted redirect URL (headless operators)",
        "requestBody": json_body("CompleteOAuth"),
        "responses": flow_errors(json!({"200": ok("The account created or updated.", "OAuthSignedIn")}))}});
}

pub async fn document() -> Json<Value> {
    Json(spec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn documents_every_contract_route() {
        let spec = super::spec();
        for path in [
            "/api/accounts",
            "/api/accounts/{id}",
            "/api/accounts/import",
            "/api/accounts/export",
            "/api/accounts/bulk",
            "/api/accounts/{id}/verify",
            "/api/accounts/{id}/refresh-quota",
            "/api/quota",
            "/api/keys",
            "/api/keys/{id}",
            "/api/config/mapping",
            "/api/config/mapping/{alias}",
            "/api/logs",
            "/api/logs/{id}",
            "/api/usage",
            "/api/metrics",
            "/api/openapi.json",
            "/api/oauth/providers",
            "/api/oauth/start",
            "/api/oauth/callback",
            "/api/oauth/complete",
            "/healthz",
            "/readyz",
            "/v1/chat/completions",
            "/v1/models",
            "/v1/responses",
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/v1beta/models",
            "/v1beta/models/{model_action}",
        ] {
            assert!(
                spec["paths"].get(path).is_some(),
                "{path} missing from the OpenAPI document"
            );
        }
        // Every $ref resolves.
        let text = spec.to_string();
        for piece in text.split("#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(
                spec["components"]["schemas"].get(name).is_some(),
                "dangling $ref {name}"
            );
        }
    }
}
