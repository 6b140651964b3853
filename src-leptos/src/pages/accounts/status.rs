//! What an account's state is, joined from the accounts list and the resilience API.

use crate::api::{Api, ApiResult};
use crate::format;
use switchyard_types::admin::AccountView;
use switchyard_types::resilience::{
    AccountAimd, AccountCircuit, AccountHealth, CircuitStatus, LockoutView,
};

/// The accounts and the routing state of each.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub accounts: Vec<AccountView>,
    pub circuits: Vec<AccountCircuit>,
    pub lockouts: Vec<LockoutView>,
    pub aimd: Vec<AccountAimd>,
    pub health: Vec<AccountHealth>,
}

/// Whether routing would pick an account now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    Ok,
    Disabled,
    /// Failures opened the circuit; one probe goes through at `until`.
    CircuitOpen {
        until: Option<i64>,
    },
    /// The circuit lets one probe through to test the upstream.
    Probing,
    /// A lockout of the account's quota scope (every model, or `model` only).
    LockedOut {
        until: i64,
        reason: String,
        model: Option<String>,
    },
}

impl AccountStatus {
    /// Routing would send requests (for at least some models) here.
    pub fn is_usable(&self) -> bool {
        match self {
            Self::Ok | Self::Probing => true,
            Self::LockedOut { model, .. } => model.is_some(),
            Self::Disabled | Self::CircuitOpen { .. } => false,
        }
    }

    /// Short text for the status column.
    pub fn text(&self) -> String {
        match self {
            Self::Ok => "ok".to_owned(),
            Self::Disabled => "disabled".to_owned(),
            Self::CircuitOpen { until: Some(t) } => {
                format!("circuit open until {}", format::until(*t))
            }
            Self::CircuitOpen { until: None } => "circuit open".to_owned(),
            Self::Probing => "circuit half-open (probing)".to_owned(),
            Self::LockedOut {
                until,
                reason,
                model,
            } => format!(
                "locked out{} until {} ({})",
                model
                    .as_ref()
                    .map(|m| format!(" for {m}"))
                    .unwrap_or_default(),
                format::until(*until),
                reason.replace('_', " ")
            ),
        }
    }

    /// CSS class of the status badge.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Ok => "badge ok",
            Self::Disabled => "badge off",
            Self::Probing => "badge warn",
            Self::CircuitOpen { .. } | Self::LockedOut { .. } => "badge bad",
        }
    }
}

impl Pool {
    /// Loads the accounts and their state (five calls in parallel).
    pub async fn load(api: Api) -> ApiResult<Self> {
        let (accounts, circuits, lockouts, aimd, health) = futures::join!(
            api.accounts(),
            api.circuits(),
            api.lockouts(),
            api.aimd(),
            api.health()
        );
        Ok(Self {
            accounts: accounts?,
            circuits: circuits?.accounts,
            lockouts: lockouts?.lockouts,
            aimd: aimd?.accounts,
            health: health?.accounts,
        })
    }

    pub fn status(&self, account: &AccountView) -> AccountStatus {
        if !account.enabled {
            return AccountStatus::Disabled;
        }
        match self.circuits.iter().find(|c| c.id == account.id) {
            Some(c) if c.state == CircuitStatus::Open => {
                return AccountStatus::CircuitOpen {
                    until: c.open_until,
                };
            }
            Some(c) if c.state == CircuitStatus::HalfOpen => return AccountStatus::Probing,
            _ => {}
        }
        // An every-model lockout first, else the one that ends last.
        let mut lockouts: Vec<&LockoutView> = self
            .lockouts
            .iter()
            .filter(|l| l.accounts.contains(&account.id))
            .collect();
        lockouts.sort_by_key(|l| (l.model.is_some(), std::cmp::Reverse(l.until)));
        match lockouts.first() {
            Some(l) => AccountStatus::LockedOut {
                until: l.until,
                reason: l.reason.clone(),
                model: l.model.clone(),
            },
            None => AccountStatus::Ok,
        }
    }

    /// `active / limit` of the adaptive concurrency limit.
    pub fn load_text(&self, id: &str) -> String {
        self.aimd
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| "—".to_owned(), |a| format!("{} / {}", a.active, a.limit))
    }

    /// Health score as a percentage, with the sample count.
    pub fn health_text(&self, id: &str) -> String {
        match self.health.iter().find(|h| h.id == id) {
            Some(h) if h.samples > 0 => format!("{:.0}% ({} samples)", h.score * 100.0, h.samples),
            Some(_) => "no traffic yet".to_owned(),
            None => "—".to_owned(),
        }
    }
}
