//! Providers (who an account belongs to) and protocols (which wire format is spoken).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The wire protocol a client speaks to us, or we speak to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// OpenAI Chat Completions.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini `generateContent`.
    Gemini,
    /// OpenAI Responses (`POST /v1/responses`): a client protocol. Only accounts of
    /// provider `openai` speak it (for passthrough); every other account gets it
    /// translated ([`Provider::speaks`]).
    Responses,
}

impl Protocol {
    /// Stable lowercase name, used in metrics labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Responses => "responses",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of upstream an account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    #[serde(rename = "openai")]
    OpenAi,
    Anthropic,
    Gemini,
    #[serde(rename = "openrouter")]
    OpenRouter,
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Self::OpenAi,
        Self::Anthropic,
        Self::Gemini,
        Self::OpenRouter,
        Self::OpenAiCompatible,
    ];

    /// The protocol this provider's API speaks.
    pub const fn protocol(self) -> Protocol {
        match self {
            Self::OpenAi | Self::OpenRouter | Self::OpenAiCompatible => Protocol::OpenAi,
            Self::Anthropic => Protocol::Anthropic,
            Self::Gemini => Protocol::Gemini,
        }
    }

    /// The protocol this provider's account is spoken to in for a client speaking
    /// `client`: its own, except that OpenAI's own API also takes Responses requests as
    /// they are (OpenRouter and compatible servers may lack `/responses`).
    pub const fn speaks(self, client: Protocol) -> Protocol {
        match (self, client) {
            (Self::OpenAi, Protocol::Responses) => Protocol::Responses,
            _ => self.protocol(),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::OpenRouter => "openrouter",
            Self::OpenAiCompatible => "openai_compatible",
        }
    }

    /// The base URL the provider's official SDK uses, when there is one.
    /// `openai_compatible` has none: its accounts must name a `base_url`.
    pub const fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("https://api.openai.com/v1"),
            Self::Anthropic => Some("https://api.anthropic.com"),
            Self::Gemini => Some("https://generativelanguage.googleapis.com"),
            Self::OpenRouter => Some("https://openrouter.ai/api/v1"),
            Self::OpenAiCompatible => None,
        }
    }

    /// Model globs an account serves when it does not list its own.
    pub const fn default_models(self) -> &'static [&'static str] {
        match self {
            Self::OpenAi => &["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*"],
            Self::Anthropic => &["claude-*"],
            Self::Gemini => &["gemini-*", "gemma-*"],
            Self::OpenRouter | Self::OpenAiCompatible => &["*"],
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown provider name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown provider {0:?}: expected one of openai, anthropic, gemini, openrouter, openai_compatible"
)]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

/// Account tier; higher tiers are preferred by routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    UltraBusiness,
    Ultra,
    Pro,
    Free,
    #[default]
    Unknown,
}

impl Tier {
    pub const ALL: [Tier; 5] = [
        Self::UltraBusiness,
        Self::Ultra,
        Self::Pro,
        Self::Free,
        Self::Unknown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UltraBusiness => "ultra-business",
            Self::Ultra => "ultra",
            Self::Pro => "pro",
            Self::Free => "free",
            Self::Unknown => "unknown",
        }
    }
}

impl FromStr for Tier {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip_through_serde_and_from_str() {
        for p in Provider::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(p.as_str().parse::<Provider>().unwrap(), p);
        }
        assert!("azure".parse::<Provider>().is_err());
    }

    #[test]
    fn openai_family_speaks_openai() {
        assert_eq!(Provider::OpenRouter.protocol(), Protocol::OpenAi);
        assert_eq!(Provider::OpenAiCompatible.protocol(), Protocol::OpenAi);
        assert_eq!(Provider::Gemini.protocol(), Protocol::Gemini);
    }

    #[test]
    fn only_openai_itself_speaks_responses() {
        assert_eq!(
            Provider::OpenAi.speaks(Protocol::Responses),
            Protocol::Responses
        );
        for p in [Provider::OpenRouter, Provider::OpenAiCompatible] {
            assert_eq!(p.speaks(Protocol::Responses), Protocol::OpenAi);
        }
        assert_eq!(
            Provider::Anthropic.speaks(Protocol::Responses),
            Protocol::Anthropic
        );
        assert_eq!(Provider::OpenAi.speaks(Protocol::OpenAi), Protocol::OpenAi);
        let json = serde_json::to_string(&Protocol::Responses).unwrap();
        assert_eq!(json, "\"responses\"");
    }

    #[test]
    fn tiers_parse_kebab_case() {
        assert_eq!("ultra-business".parse::<Tier>(), Ok(Tier::UltraBusiness));
        let t: Tier = serde_json::from_str("\"pro\"").unwrap();
        assert_eq!(t, Tier::Pro);
    }
}
