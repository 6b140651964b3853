//! Bodies of the request log and usage API (`/api/logs`, `/api/logs/{id}`, `/api/usage`),
//! exactly as the Contract fixes them, and the closed sets their queries accept.
//!
//! `usage.input` excludes cache reads and writes; `usage.reasoning` is part of
//! `usage.output`. Costs are US dollars (`null` when the model is not priced).

use serde::{Deserialize, Serialize};

/// One finished request (`LOG` in the Contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub id: String,
    /// When the request started, unix milliseconds.
    pub ts: i64,
    pub request_id: String,
    pub key_id: Option<String>,
    pub protocol_in: String,
    pub protocol_out: Option<String>,
    pub model: Option<String>,
    pub upstream_model: Option<String>,
    /// The account of the last attempt.
    pub account_id: Option<String>,
    pub status: u16,
    pub stream: bool,
    pub latency_ms: u64,
    pub ttfb_ms: Option<u64>,
    pub usage: LogUsage,
    pub cost_usd: Option<f64>,
    /// The error class of a failed request (a stable label).
    pub error: Option<String>,
    pub attempts: Vec<LogAttempt>,
}

/// Tokens by class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogUsage {
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
}

/// One upstream attempt of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogAttempt {
    pub account_id: String,
    /// The attempt's outcome label.
    pub outcome: String,
    pub status: Option<u16>,
    pub ms: u64,
}

/// `GET /api/logs`: newest first; pass `next_cursor` back as `cursor` for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    pub items: Vec<LogEntry>,
    pub next_cursor: Option<String>,
}

/// `GET /api/usage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    pub rows: Vec<UsageRow>,
}

/// Totals of one group in one time bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRow {
    /// Start of the bucket, unix milliseconds (UTC hours or days).
    pub bucket: i64,
    /// The model, account id or key id (empty when the request had none).
    pub group: String,
    pub requests: u64,
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
    pub cost_usd: f64,
}

/// `status=` filter of `/api/logs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    ClientError,
    ServerError,
}

impl StatusClass {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "2xx" => Some(Self::Success),
            "4xx" => Some(Self::ClientError),
            "5xx" => Some(Self::ServerError),
            _ => None,
        }
    }

    /// The statuses in the class, as a half-open range.
    pub const fn range(self) -> (u16, u16) {
        match self {
            Self::Success => (200, 300),
            Self::ClientError => (400, 500),
            Self::ServerError => (500, 600),
        }
    }
}

/// `group_by=` of `/api/usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageGroup {
    Model,
    Account,
    Key,
}

impl UsageGroup {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "model" => Some(Self::Model),
            "account" => Some(Self::Account),
            "key" => Some(Self::Key),
            _ => None,
        }
    }
}

/// `bucket=` of `/api/usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageBucket {
    Hour,
    Day,
}

impl UsageBucket {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            _ => None,
        }
    }

    /// The bucket's width in milliseconds.
    pub const fn millis(self) -> i64 {
        match self {
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_entry_has_the_contract_shape() {
        let entry = LogEntry {
            id: "log_1".into(),
            ts: 5,
            request_id: "req_1".into(),
            key_id: None,
            protocol_in: "openai".into(),
            protocol_out: Some("anthropic".into()),
            model: Some("m".into()),
            upstream_model: None,
            account_id: Some("acc".into()),
            status: 200,
            stream: false,
            latency_ms: 3,
            ttfb_ms: None,
            usage: LogUsage::default(),
            cost_usd: None,
            error: None,
            attempts: vec![LogAttempt {
                account_id: "acc".into(),
                outcome: "success".into(),
                status: Some(200),
                ms: 2,
            }],
        };
        let v = serde_json::to_value(&entry).unwrap_or_default();
        let mut keys: Vec<&str> = v
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "account_id",
                "attempts",
                "cost_usd",
                "error",
                "id",
                "key_id",
                "latency_ms",
                "model",
                "protocol_in",
                "protocol_out",
                "request_id",
                "status",
                "stream",
                "ts",
                "ttfb_ms",
                "upstream_model",
                "usage"
            ]
        );
        assert!(v["cost_usd"].is_null() && v["error"].is_null());
        assert_eq!(v["attempts"][0]["status"], 200);
        assert_eq!(StatusClass::parse("4xx"), Some(StatusClass::ClientError));
        assert_eq!(StatusClass::parse("3xx"), None);
        assert_eq!(
            UsageBucket::parse("day").map(UsageBucket::millis),
            Some(86_400_000)
        );
    }
}
