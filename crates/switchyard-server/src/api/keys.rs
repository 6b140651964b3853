//! `/api/keys`: client keys and their policy. The key is shown once, in the `201` answer.

use super::json;
use crate::error::ApiFailure;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use http::StatusCode;
use switchyard_types::admin::{CreateKey, KeyList, KeyView, UpdateKey};

pub async fn create(
    State(state): State<AppState>,
    body: Body,
) -> Result<impl IntoResponse, ApiFailure> {
    let request: CreateKey = json::read(body).await?;
    let created = state.admin.create_key(request).await?;
    tracing::info!(key = %created.id, "client key created");
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list(State(state): State<AppState>) -> Result<Json<KeyList>, ApiFailure> {
    Ok(Json(KeyList {
        keys: state.admin.list_keys().await?,
    }))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiFailure> {
    Ok(Json(state.admin.get_key(&id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<KeyView>, ApiFailure> {
    let request: UpdateKey = json::read(body).await?;
    let view = state.admin.update_key(&id, request).await?;
    tracing::info!(key = %id, "client key updated");
    Ok(Json(view))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    state.admin.delete_key(&id).await?;
    tracing::info!(key = %id, "client key revoked");
    Ok(StatusCode::NO_CONTENT)
}
