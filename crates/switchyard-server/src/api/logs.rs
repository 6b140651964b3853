//! `/api/logs` (the request log, newest first, cursor-paged), `/api/logs/{id}` and
//! `/api/usage` (hourly rollups grouped by model, account or key). Query values are
//! checked here; a bad one is a 400 naming it.

use crate::error::ApiFailure;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use std::collections::HashMap;
use switchyard_core::store::{DEFAULT_LOG_LIMIT, LogCursor, LogFilter, MAX_LOG_LIMIT, UsageQuery};
use switchyard_types::logs::{
    LogEntry, LogPage, StatusClass, UsageBucket, UsageGroup, UsageReport,
};

type Params = HashMap<String, String>;

fn params(query: Result<Query<Params>, QueryRejection>) -> Result<Params, ApiFailure> {
    query.map(|Query(p)| p).map_err(|e| {
        ApiFailure::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("invalid query string: {e}"),
        )
    })
}

/// Reject parameters this route does not know (a typo must not widen a query silently).
fn only(params: &Params, known: &[&str]) -> Result<(), ApiFailure> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiFailure::invalid_field(
            k.clone(),
            format!("unknown parameter; expected one of {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn text(params: &Params, name: &str) -> Option<String> {
    params.get(name).filter(|v| !v.is_empty()).cloned()
}

fn millis(params: &Params, name: &str) -> Result<Option<i64>, ApiFailure> {
    match params.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|ms| *ms >= 0)
            .map(Some)
            .ok_or_else(|| {
                ApiFailure::invalid_field(name, "must be unix milliseconds (an integer ≥ 0)")
            }),
    }
}

fn choice<T>(
    params: &Params,
    name: &str,
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, ApiFailure> {
    match params.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse(v)
            .map(Some)
            .ok_or_else(|| ApiFailure::invalid_field(name, format!("must be one of {expected}"))),
    }
}

/// `GET /api/logs?from=&to=&key_id=&account_id=&model=&status=&limit=&cursor=`.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<LogPage>, ApiFailure> {
    let p = params(query)?;
    only(
        &p,
        &[
            "from",
            "to",
            "key_id",
            "account_id",
            "model",
            "status",
            "limit",
            "cursor",
        ],
    )?;
    let limit = match p.get("limit").filter(|v| !v.is_empty()) {
        None => DEFAULT_LOG_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LOG_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiFailure::invalid_field("limit", format!("must be 1..={MAX_LOG_LIMIT}"))
            })?,
    };
    let cursor = match p.get("cursor").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(LogCursor::decode(v).ok_or_else(|| {
            ApiFailure::invalid_field("cursor", "not a cursor from a previous page")
        })?),
    };
    let filter = LogFilter {
        from: millis(&p, "from")?,
        to: millis(&p, "to")?,
        key_id: text(&p, "key_id"),
        account_id: text(&p, "account_id"),
        model: text(&p, "model"),
        status: choice(&p, "status", StatusClass::parse, "2xx, 4xx, 5xx")?,
        limit,
        cursor,
    };
    Ok(Json(state.admin.store().list_logs(filter).await?))
}

/// `GET /api/logs/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<LogEntry>, ApiFailure> {
    state
        .admin
        .store()
        .get_log(&id)
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiFailure::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no request log entry {id:?}"),
            )
        })
}

/// `GET /api/usage?group_by=model|account|key&bucket=hour|day&from=&to=`.
pub async fn usage(
    State(state): State<AppState>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<UsageReport>, ApiFailure> {
    let p = params(query)?;
    only(&p, &["group_by", "bucket", "from", "to"])?;
    let query = UsageQuery {
        group: choice(&p, "group_by", UsageGroup::parse, "model, account, key")?
            .unwrap_or(UsageGroup::Model),
        bucket: choice(&p, "bucket", UsageBucket::parse, "hour, day")?.unwrap_or(UsageBucket::Hour),
        from: millis(&p, "from")?,
        to: millis(&p, "to")?,
    };
    Ok(Json(state.admin.store().usage(query).await?))
}
