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
    json!({
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
                "CreateKey": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}}},
                "KeyCreated": {"type": "object", "required": ["id", "name", "key", "key_hint", "created_at"],
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "key": {"type": "string", "description": "Shown only in this response."},
                        "key_hint": {"type": "string"}, "created_at": {"type": "integer"}}},
                "Key": {"type": "object", "required": ["id", "name", "key_hint", "created_at"],
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "key_hint": {"type": "string"}, "created_at": {"type": "integer"}}},
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
                "delete": {"summary": "Revoke a client key", "responses": errors(json!({"204": {"description": "Revoked."}, "404": error_response("No such key.")}))}
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
            "/v1/messages": {"post": {"security": [{"client": []}], "summary": "Anthropic Messages (JSON or SSE)", "responses": {"200": {"description": "Relayed from an upstream account."}}}},
            "/v1/messages/count_tokens": {"post": {"security": [{"client": []}], "summary": "Anthropic token count", "responses": {"200": {"description": "`{input_tokens}`."}}}},
            "/v1beta/models": {"get": {"security": [{"client": []}], "summary": "Models, Gemini shape", "responses": {"200": {"description": "Model list."}}}},
            "/v1beta/models/{model_action}": {"post": {"security": [{"client": []}],
                "summary": "Gemini `{model}:generateContent`, `:streamGenerateContent` (`?alt=sse`), `:countTokens`; also under `/v1/models/`",
                "parameters": [{"name": "model_action", "in": "path", "required": true, "schema": {"type": "string"}, "example": "gemini-2.5-flash:generateContent"}],
                "responses": {"200": {"description": "Relayed from an upstream account."}}}}
        }
    })
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
            "/api/keys",
            "/api/keys/{id}",
            "/api/logs",
            "/api/logs/{id}",
            "/api/usage",
            "/api/metrics",
            "/api/openapi.json",
            "/healthz",
            "/readyz",
            "/v1/chat/completions",
            "/v1/models",
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
