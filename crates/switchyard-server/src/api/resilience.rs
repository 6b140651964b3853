//! `/api/resilience/*`: the routing state an operator needs to see and, when the cause
//! is fixed, to reset — health, circuits, AIMD limits, lockouts, session bindings.

use crate::error::ApiFailure;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use std::collections::BTreeMap;
use switchyard_core::resilience::breaker::CircuitState;
use switchyard_core::store::now_unix;
use switchyard_types::resilience::{
    AccountAimd, AccountCircuit, AccountHealth, AimdList, CircuitList, CircuitStatus, Cleared,
    HealthList, LockoutList, LockoutView, SessionList, SessionView,
};
use tokio::time::Instant;

/// An `Instant` as Unix seconds.
fn unix_at(at: Instant, now: Instant) -> i64 {
    let ahead = i64::try_from(at.saturating_duration_since(now).as_secs()).unwrap_or(i64::MAX);
    now_unix().saturating_add(ahead)
}

pub async fn health(State(state): State<AppState>) -> Json<HealthList> {
    let accounts = state
        .pool
        .accounts()
        .iter()
        .map(|a| {
            let h = a.state.health.snapshot();
            AccountHealth {
                id: a.id.to_string(),
                label: a.label.clone(),
                success_rate: h.success_rate,
                latency_ms: h.latency_ms,
                samples: h.samples,
                score: h.score,
            }
        })
        .collect();
    Json(HealthList { accounts })
}

pub async fn circuits(State(state): State<AppState>) -> Json<CircuitList> {
    let now = Instant::now();
    let accounts = state
        .pool
        .accounts()
        .iter()
        .map(|a| {
            let (status, failures, open_until) = match a.state.breaker.state(now) {
                CircuitState::Closed {
                    consecutive_failures,
                } => (CircuitStatus::Closed, consecutive_failures, None),
                CircuitState::Open { until } => (CircuitStatus::Open, 0, Some(unix_at(until, now))),
                CircuitState::HalfOpen { .. } => (CircuitStatus::HalfOpen, 0, None),
            };
            AccountCircuit {
                id: a.id.to_string(),
                label: a.label.clone(),
                state: status,
                consecutive_failures: failures,
                open_until,
            }
        })
        .collect();
    Json(CircuitList { accounts })
}

pub async fn aimd(State(state): State<AppState>) -> Json<AimdList> {
    let accounts = state
        .pool
        .accounts()
        .iter()
        .map(|a| AccountAimd {
            id: a.id.to_string(),
            label: a.label.clone(),
            limit: a.state.aimd.limit(),
            active: a.state.active(),
        })
        .collect();
    Json(AimdList { accounts })
}

pub async fn lockouts(State(state): State<AppState>) -> Json<LockoutList> {
    let now = Instant::now();
    let accounts = state.pool.accounts();
    let mut scopes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for a in accounts.iter() {
        scopes
            .entry(a.scope.as_str())
            .or_default()
            .push(a.id.to_string());
    }
    let mut lockouts = Vec::new();
    for (scope, members) in &scopes {
        let Some(first) = accounts.iter().find(|a| a.scope == *scope) else {
            continue;
        };
        for l in first.lockouts.active(now) {
            lockouts.push(LockoutView {
                scope: (*scope).to_owned(),
                accounts: members.clone(),
                model: l.model,
                reason: l.reason.as_str().to_owned(),
                until: unix_at(l.until, now),
                remaining_secs: l.until.saturating_duration_since(now).as_secs(),
            });
        }
    }
    Json(LockoutList { lockouts })
}

pub async fn sessions(State(state): State<AppState>) -> Json<SessionList> {
    let now = Instant::now();
    let sessions = state
        .pool
        .sessions()
        .list(now)
        .into_iter()
        .map(|(key, b)| SessionView {
            session: format!("{key:016x}"),
            account: b.account.to_string(),
            idle_secs: now.saturating_duration_since(b.last_used).as_secs(),
            failures: b.failures,
        })
        .collect();
    Json(SessionList { sessions })
}

pub async fn clear_lockouts(State(state): State<AppState>) -> Json<Cleared> {
    let cleared = state.pool.clear_lockouts(None);
    tracing::info!(cleared, "lockouts cleared");
    Json(Cleared { cleared })
}

pub async fn clear_account_lockouts(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Cleared>, ApiFailure> {
    if !state.pool.accounts().iter().any(|a| *a.id == *id) {
        return Err(ApiFailure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("account {id:?} not found"),
        ));
    }
    let cleared = state.pool.clear_lockouts(Some(&id));
    tracing::info!(account = %id, "lockouts cleared");
    Ok(Json(Cleared { cleared }))
}

pub async fn clear_sessions(State(state): State<AppState>) -> Json<Cleared> {
    let sessions = state.pool.sessions();
    let cleared = sessions.list(Instant::now()).len();
    sessions.clear();
    Json(Cleared { cleared })
}
