//! `/api/accounts`: create, list, read, update, delete; import, export, bulk actions,
//! verify, refresh-quota; and `/api/quota`. Secrets are write-only, except in an export
//! asked for with `include_secrets=true` (logged at warn, without the secrets).

use super::json;
use crate::error::ApiFailure;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use http::StatusCode;
use serde::Deserialize;
use switchyard_types::accounts::{BulkRequest, BulkResult, ImportResult, VerifyResult};
use switchyard_types::admin::{AccountList, AccountView, CreateAccount, UpdateAccount};
use switchyard_types::quota::QuotaList;

pub async fn create(
    State(state): State<AppState>,
    body: Body,
) -> Result<impl IntoResponse, ApiFailure> {
    let request: CreateAccount = json::read(body).await?;
    let view = state.admin.create_account(request).await?;
    tracing::info!(account = %view.id, provider = %view.provider, "account created");
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<AccountList>, ApiFailure> {
    Ok(Json(AccountList {
        accounts: state.admin.list_accounts().await?,
    }))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiFailure> {
    Ok(Json(state.admin.get_account(&id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<AccountView>, ApiFailure> {
    let request: UpdateAccount = json::read(body).await?;
    let view = state.admin.update_account(&id, request).await?;
    tracing::info!(account = %view.id, "account updated");
    Ok(Json(view))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    state.admin.delete_account(&id).await?;
    tracing::info!(account = %id, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Largest import body.
const MAX_IMPORT_BODY: usize = 16 * 1024 * 1024;

/// `POST /api/accounts/import`: a JSON array of accounts, all or nothing.
pub async fn import(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<ImportResult>, ApiFailure> {
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BODY)
        .await
        .map_err(|_| {
            ApiFailure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "import body over 16 MiB",
            )
        })?;
    let items: Vec<serde_json::Value> = serde_json::from_slice(&bytes).map_err(|e| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body must be a JSON array of accounts: {e}"),
        )
    })?;
    let result = state.admin.import_accounts(items).await?;
    tracing::info!(items = result.results.len(), "accounts imported");
    Ok(Json(result))
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    include_secrets: bool,
}

/// `GET /api/accounts/export[?include_secrets=true]`: every account as an import item.
pub async fn export(
    State(state): State<AppState>,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl axum::response::IntoResponse, ApiFailure> {
    let Query(query) =
        query.map_err(|_| ApiFailure::invalid_field("include_secrets", "must be true or false"))?;
    let items = state.admin.export_accounts(query.include_secrets).await?;
    if query.include_secrets {
        tracing::warn!(
            accounts = items.len(),
            "accounts exported WITH their secrets"
        );
    } else {
        tracing::info!(
            accounts = items.len(),
            "accounts exported (without secrets)"
        );
    }
    // Nothing in between (a proxy, the browser's cache) may keep a copy.
    Ok(([(http::header::CACHE_CONTROL, "no-store")], Json(items)))
}

/// `POST /api/accounts/bulk`.
pub async fn bulk(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<BulkResult>, ApiFailure> {
    let request: BulkRequest = json::read(body).await?;
    let action = request.action;
    let result = state.admin.bulk_accounts(request).await?;
    tracing::info!(action = ?action, affected = result.affected.len(), missing = result.missing.len(), "bulk account action");
    Ok(Json(result))
}

/// `POST /api/accounts/{id}/verify`.
pub async fn verify(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<VerifyResult>, ApiFailure> {
    let result = state.admin.verify_account(&state.upstream, &id).await?;
    tracing::info!(account = %id, ok = result.ok, status = %result.status, "account verified");
    Ok(Json(result))
}

/// `POST /api/accounts/{id}/refresh-quota`.
pub async fn refresh_quota(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<QuotaList>, ApiFailure> {
    Ok(Json(state.admin.refresh_quota(&state.upstream, &id).await?))
}

/// `GET /api/quota`.
pub async fn quota(State(state): State<AppState>) -> Json<QuotaList> {
    Json(state.admin.quota())
}
