//! What an upstream answer means for routing.

use http::{HeaderMap, StatusCode};
use std::time::Duration;

/// The class of an upstream response, as far as routing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: relay it.
    Ok,
    /// 429: this account is rate limited; another may not be.
    RateLimited { retry_after: Option<Duration> },
    /// 529 / 503: the provider is overloaded.
    Overloaded,
    /// Other 5xx.
    ServerError,
    /// 401 / 403: the account's credential was refused — the account's problem, not the
    /// client's, so another account may succeed.
    AuthFailed,
    /// Other 4xx: the request itself is at fault; relay it, do not retry.
    ClientError,
}

impl Outcome {
    pub fn classify(status: StatusCode, headers: &HeaderMap) -> Self {
        match status.as_u16() {
            200..=299 => Self::Ok,
            429 => Self::RateLimited {
                retry_after: retry_after(headers),
            },
            503 | 529 => Self::Overloaded,
            401 | 403 => Self::AuthFailed,
            500..=599 => Self::ServerError,
            _ => Self::ClientError,
        }
    }

    /// Whether trying another account could help (only before anything reached the client).
    pub const fn is_retriable(self) -> bool {
        !matches!(self, Self::Ok | Self::ClientError)
    }
}

/// `retry-after-ms`, else `retry-after` in seconds (fractions allowed). HTTP-date values
/// are not honoured (providers send seconds); capped at one day.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let parse = |name: &str| -> Option<f64> {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let secs = parse("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| parse("retry-after"))?;
    Some(Duration::from_secs_f64(secs.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn statuses_map_to_outcomes() {
        let h = HeaderMap::new();
        let c = |s: u16| Outcome::classify(StatusCode::from_u16(s).unwrap(), &h);
        assert_eq!(c(200), Outcome::Ok);
        assert_eq!(c(429), Outcome::RateLimited { retry_after: None });
        assert_eq!(c(529), Outcome::Overloaded);
        assert_eq!(c(500), Outcome::ServerError);
        assert_eq!(c(401), Outcome::AuthFailed);
        assert_eq!(c(400), Outcome::ClientError);
        assert!(c(502).is_retriable());
        assert!(!c(404).is_retriable());
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
