//! Bodies of the quota API (`GET /api/quota`, `POST /api/accounts/{id}/refresh-quota`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaUnit {
    Requests,
    Tokens,
    Usd,
    Percent,
}

impl QuotaUnit {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::Tokens => "tokens",
            Self::Usd => "usd",
            Self::Percent => "percent",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "requests" => Some(Self::Requests),
            "tokens" => Some(Self::Tokens),
            "usd" => Some(Self::Usd),
            "percent" => Some(Self::Percent),
            _ => None,
        }
    }
}

impl fmt::Display for QuotaUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One quota window or balance of one account (accounts sharing a `quota_scope` show
/// the same items, each under its own `account_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaItem {
    pub account_id: String,
    /// The model the limit applies to; `null`: the whole account.
    pub model: Option<String>,
    /// `null` when the provider reports no cap (e.g. an OpenRouter key without a limit).
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    /// Spent or used in the window, when the source says (e.g. USD this month from a
    /// cost report, which gives no balance).
    #[serde(default)]
    pub used: Option<f64>,
    pub unit: QuotaUnit,
    /// Unix seconds when the window resets; `null`: unknown or never.
    pub resets_at: Option<i64>,
    /// Where the numbers came from, e.g. `openai-headers:requests`,
    /// `anthropic-headers:input-tokens`, `gemini-429:GenerateRequestsPerDayPerProjectPerModel`,
    /// `openrouter-key`, `openai-costs`, `anthropic-cost-report`.
    pub source: String,
    /// Unix seconds of the observation.
    pub updated_at: i64,
}

/// `GET /api/quota`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaList {
    pub items: Vec<QuotaItem>,
}
