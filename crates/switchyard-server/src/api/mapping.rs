//! `/api/config/mapping`: model aliases. `GET` lists every entry (tombstones included,
//! for sync); `POST` merges a set last-write-wins and answers with the merged set (the
//! sync task of another instance calls it); `PUT`/`DELETE /{alias}` edit one entry.

use super::json;
use crate::error::ApiFailure;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use http::StatusCode;
use switchyard_types::admin::{MappingEntry, MappingSet, PutMapping};

pub async fn list(State(state): State<AppState>) -> Result<Json<MappingSet>, ApiFailure> {
    Ok(Json(state.admin.mapping_set().await?))
}

pub async fn merge(
    State(state): State<AppState>,
    body: Body,
) -> Result<Json<MappingSet>, ApiFailure> {
    let incoming: MappingSet = json::read(body).await?;
    Ok(Json(state.admin.merge_mapping(incoming).await?))
}

pub async fn put(
    State(state): State<AppState>,
    Path(alias): Path<String>,
    body: Body,
) -> Result<Json<MappingEntry>, ApiFailure> {
    let request: PutMapping = json::read(body).await?;
    let entry = state.admin.put_mapping(&alias, request.target).await?;
    tracing::info!(alias = %alias, target = %entry.target, "model alias set");
    Ok(Json(entry))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(alias): Path<String>,
) -> Result<StatusCode, ApiFailure> {
    state.admin.delete_mapping(&alias).await?;
    tracing::info!(alias = %alias, "model alias deleted");
    Ok(StatusCode::NO_CONTENT)
}
