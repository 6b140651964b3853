//! What an account's state is, joined from the accounts list and the resilience API.

use crate::api::{Api, ApiResult};
use crate::format;
use switchyard_types::accounts::AccountStatus as Credential;
use switchyard_types::admin::AccountView;
use switchyard_types::quota::{QuotaItem, QuotaUnit};
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
    /// Quota windows and balances of every account (`/api/quota`).
    pub quota: Vec<QuotaItem>,
}

/// Whether routing would pick an account now, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    Ok,
    Disabled,
    /// The provider refused the credential (`forbidden`), or it must be signed in
    /// again (`needs_reauth`): routing skips the account until a verify clears it.
    Refused {
        needs_reauth: bool,
    },
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
            Self::Disabled | Self::Refused { .. } | Self::CircuitOpen { .. } => false,
        }
    }

    /// Short text for the status column.
    pub fn text(&self) -> String {
        match self {
            Self::Ok => "ok".to_owned(),
            Self::Disabled => "disabled".to_owned(),
            Self::Refused {
                needs_reauth: false,
            } => "forbidden".to_owned(),
            Self::Refused { needs_reauth: true } => "needs re-auth".to_owned(),
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
            Self::Probing | Self::Refused { needs_reauth: true } => "badge warn",
            Self::Refused {
                needs_reauth: false,
            } => "badge bad",
            Self::CircuitOpen { .. } | Self::LockedOut { .. } => "badge bad",
        }
    }
}

impl Pool {
    /// Loads the accounts and their state (six calls in parallel).
    pub async fn load(api: Api) -> ApiResult<Self> {
        let (accounts, circuits, lockouts, aimd, health, quota) = futures::join!(
            api.accounts(),
            api.circuits(),
            api.lockouts(),
            api.aimd(),
            api.health(),
            api.quota()
        );
        Ok(Self {
            accounts: accounts?,
            circuits: circuits?.accounts,
            lockouts: lockouts?.lockouts,
            aimd: aimd?.accounts,
            health: health?.accounts,
            quota: quota?.items,
        })
    }

    pub fn status(&self, account: &AccountView) -> AccountStatus {
        if !account.enabled {
            return AccountStatus::Disabled;
        }
        match account.status {
            Credential::Forbidden => {
                return AccountStatus::Refused {
                    needs_reauth: false,
                };
            }
            Credential::NeedsReauth => return AccountStatus::Refused { needs_reauth: true },
            Credential::Ok | Credential::Disabled => {}
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

    /// The quota items of one account.
    pub fn quota_of(&self, id: &str) -> Vec<QuotaItem> {
        self.quota
            .iter()
            .filter(|q| q.account_id == id)
            .cloned()
            .collect()
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

/// Whether the provider refused the account's credential (`forbidden`, `needs_reauth`).
pub fn credential_refused(account: &AccountView) -> bool {
    matches!(
        account.status,
        Credential::Forbidden | Credential::NeedsReauth
    )
}

/// Fraction of a quota left (0..=1), when both numbers are known.
pub fn quota_left(item: &QuotaItem) -> Option<f64> {
    match (item.remaining, item.limit, item.unit) {
        (Some(r), _, QuotaUnit::Percent) => Some((r / 100.0).clamp(0.0, 1.0)),
        (Some(r), Some(l), _) if l > 0.0 => Some((r / l).clamp(0.0, 1.0)),
        _ => None,
    }
}

/// `999 of 1000 requests left`, `$4.20 used`, …
pub fn quota_text(item: &QuotaItem) -> String {
    let amount = |v: f64| match item.unit {
        QuotaUnit::Usd => format::usd(v),
        QuotaUnit::Percent => format!("{v:.0}%"),
        QuotaUnit::Requests | QuotaUnit::Tokens => format::grouped(v.max(0.0) as u64),
    };
    let unit = match item.unit {
        QuotaUnit::Requests => " requests",
        QuotaUnit::Tokens => " tokens",
        QuotaUnit::Usd | QuotaUnit::Percent => "",
    };
    match (item.remaining, item.limit, item.used) {
        (Some(r), Some(l), _) => format!("{} of {}{unit} left", amount(r), amount(l)),
        (Some(r), None, _) => format!("{}{unit} left", amount(r)),
        (None, Some(l), Some(u)) => format!("{} of {}{unit} used", amount(u), amount(l)),
        (None, _, Some(u)) => format!("{}{unit} used", amount(u)),
        (None, Some(l), None) => format!("limit {}{unit}", amount(l)),
        (None, None, None) => "no numbers reported".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(remaining: Option<f64>, limit: Option<f64>, unit: QuotaUnit) -> QuotaItem {
        QuotaItem {
            account_id: "a".into(),
            model: None,
            limit,
            remaining,
            used: None,
            unit,
            resets_at: None,
            source: "test".into(),
            updated_at: 0,
        }
    }

    #[test]
    fn quota_fraction_and_text() {
        let q = item(Some(250.0), Some(1000.0), QuotaUnit::Requests);
        assert_eq!(quota_left(&q), Some(0.25));
        assert_eq!(quota_text(&q), "250 of 1\u{202f}000 requests left");
        assert_eq!(
            quota_left(&item(Some(40.0), None, QuotaUnit::Percent)),
            Some(0.4)
        );
        assert_eq!(quota_left(&item(None, Some(5.0), QuotaUnit::Usd)), None);
    }
}
