//! Bodies of the resilience state API (`/api/resilience/*`). Times are Unix seconds.

use serde::{Deserialize, Serialize};

/// `GET /api/resilience/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthList {
    pub accounts: Vec<AccountHealth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountHealth {
    pub id: String,
    pub label: String,
    /// EWMA of success, 0..=1.
    pub success_rate: f64,
    /// EWMA of time to response headers.
    pub latency_ms: f64,
    pub samples: u64,
    /// Combined score, 0..=1.
    pub score: f64,
}

/// `GET /api/resilience/circuits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitList {
    pub accounts: Vec<AccountCircuit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitStatus {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCircuit {
    pub id: String,
    pub label: String,
    pub state: CircuitStatus,
    pub consecutive_failures: u32,
    /// When an open circuit lets a probe through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_until: Option<i64>,
}

/// `GET /api/resilience/aimd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AimdList {
    pub accounts: Vec<AccountAimd>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAimd {
    pub id: String,
    pub label: String,
    /// Current adaptive concurrency limit.
    pub limit: u32,
    /// Requests in flight now.
    pub active: u32,
}

/// `GET /api/resilience/lockouts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutList {
    pub lockouts: Vec<LockoutView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutView {
    /// The quota scope (an account id when the account declares none).
    pub scope: String,
    /// Accounts sharing the scope.
    pub accounts: Vec<String>,
    /// `None`: every model.
    pub model: Option<String>,
    /// `rate_limited` or `quota_exhausted`.
    pub reason: String,
    pub until: i64,
    pub remaining_secs: u64,
}

/// `GET /api/resilience/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// The session hash, hex.
    pub session: String,
    pub account: String,
    pub idle_secs: u64,
    pub failures: u32,
}

/// Answer to the `DELETE` resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleared {
    pub cleared: usize,
}
