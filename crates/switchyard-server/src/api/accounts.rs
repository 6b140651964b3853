//! `/api/accounts`: create, list, read, update, delete. Secrets are write-only.

use super::json;
use crate::error::ApiFailure;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::StatusCode;
use switchyard_types::admin::{AccountList, AccountView, CreateAccount, UpdateAccount};

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
