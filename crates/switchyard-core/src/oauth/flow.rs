//! [`OAuth`]: the sign-in service (start, finish from the callback or a pasted URL).

use super::client::{self, Issued};
use super::config::{OAuthProvider, OAuthSettings};
use super::{CALLBACK_PATH, FLOW_TTL_SECS, OAuthError};
use crate::admin::Admin;
use crate::crypto::{KeyDigest, MasterKey, random_id, random_token};
use crate::store::{AccountRecord, FlowRecord, FlowTake, GrantRecord, Store, now_unix};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use switchyard_types::Tier;
use switchyard_types::accounts::AccountStatus;
use switchyard_types::admin::{base_url_problem, secret_hint};
use switchyard_types::oauth::{
    OAuthProviderInfo, OAuthProviderList, OAuthSignedIn, OAuthStarted, StartOAuth,
};

/// The account settings a flow was started with (stored as JSON with the flow).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Requested {
    label: Option<String>,
    tier: Option<Tier>,
    models: Option<Vec<String>>,
    base_url: Option<String>,
}

/// What the provider sent the browser back with.
#[derive(Clone, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .field("state", &self.state.as_ref().map(|_| "<redacted>"))
            .field("error", &self.error)
            .field("error_description", &self.error_description)
            .finish()
    }
}

/// Length of a `state` made by [`OAuth::start`]: 32 random bytes, base64url without
/// padding.
const STATE_LEN: usize = 43;

/// Whether `state` has the shape [`OAuth::start`] gives one. The callback is reachable
/// without the admin key, so anything else is refused before the store is touched.
pub fn well_formed_state(state: &str) -> bool {
    state.len() == STATE_LEN
        && state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The OAuth sign-in service.
#[derive(Debug, Clone)]
pub struct OAuth {
    settings: Arc<OAuthSettings>,
    admin: Admin,
    master: Arc<MasterKey>,
    http: reqwest::Client,
}

fn verifier_context(digest: &[u8]) -> String {
    format!("oauth-flow:{}", hex::encode(digest))
}

pub(crate) fn account_context(id: &str) -> String {
    format!("account:{id}")
}

pub(crate) fn refresh_context(id: &str) -> String {
    format!("account-refresh:{id}")
}

impl OAuth {
    pub fn new(
        settings: Arc<OAuthSettings>,
        admin: Admin,
        master: Arc<MasterKey>,
        http: reqwest::Client,
    ) -> Self {
        Self {
            settings,
            admin,
            master,
            http,
        }
    }

    fn store(&self) -> &Store {
        self.admin.store()
    }

    pub fn settings(&self) -> &Arc<OAuthSettings> {
        &self.settings
    }

    /// `GET /api/oauth/providers`.
    pub fn providers(&self) -> OAuthProviderList {
        OAuthProviderList {
            providers: self
                .settings
                .providers
                .values()
                .map(|p| OAuthProviderInfo {
                    name: p.name.clone(),
                    provider: p.provider,
                })
                .collect(),
        }
    }

    fn provider(&self, name: &str) -> Result<&OAuthProvider, OAuthError> {
        self.settings
            .provider(name)
            .ok_or_else(|| OAuthError::UnknownProvider(name.to_owned()))
    }

    /// The redirect URI: `{public_url}/api/oauth/callback`, else on `origin` (the scheme
    /// and host the start request came in on).
    fn redirect_uri(&self, origin: Option<&str>) -> Result<String, OAuthError> {
        let base = self
            .settings
            .public_url
            .as_deref()
            .or(origin)
            .ok_or(OAuthError::Invalid {
                field: "provider",
                message: "set [oauth] public_url: the request names no host to return to".into(),
            })?;
        Ok(format!("{}{CALLBACK_PATH}", base.trim_end_matches('/')))
    }

    /// `POST /api/oauth/start`: record a pending flow and answer the provider's
    /// authorization URL. `origin` is `scheme://host[:port]` of the request.
    pub async fn start(
        &self,
        req: StartOAuth,
        origin: Option<&str>,
    ) -> Result<OAuthStarted, OAuthError> {
        let provider = self.provider(&req.provider)?;
        let base_url = req.base_url.filter(|u| !u.is_empty());
        if let Some(problem) = base_url.as_deref().and_then(base_url_problem) {
            return Err(OAuthError::Invalid {
                field: "base_url",
                message: problem.to_owned(),
            });
        }
        if provider.provider.default_base_url().is_none() && base_url.is_none() {
            return Err(OAuthError::Invalid {
                field: "base_url",
                message: format!("is required for provider {}", provider.provider),
            });
        }
        let redirect_uri = self.redirect_uri(origin)?;
        let state = random_token("");
        let digest = KeyDigest::of(&state).0.to_vec();
        let (auth_url, verifier) = client::authorize_url(provider, &redirect_uri, &state)?;
        let now = now_unix();
        let requested = Requested {
            label: req.label,
            tier: req.tier,
            models: req.models,
            base_url,
        };
        self.store()
            .insert_oauth_flow(FlowRecord {
                verifier: self
                    .master
                    .seal(verifier.expose(), &verifier_context(&digest))?,
                state_digest: digest,
                provider: provider.name.clone(),
                redirect_uri,
                request: serde_json::to_string(&requested).unwrap_or_else(|_| "{}".into()),
                created_at: now,
                expires_at: now + FLOW_TTL_SECS,
            })
            .await?;
        tracing::info!(provider = %provider.name, "OAuth sign-in started");
        Ok(OAuthStarted { auth_url, state })
    }

    /// `POST /api/oauth/complete`: finish from the URL the provider redirected to (the
    /// whole URL, or only its query).
    pub async fn complete(&self, url: &str) -> Result<OAuthSignedIn, OAuthError> {
        let url = url.trim();
        let query = match reqwest::Url::parse(url) {
            Ok(parsed) => parsed.query().unwrap_or_default().to_owned(),
            Err(_) => url.trim_start_matches('?').to_owned(),
        };
        let mut params = CallbackParams::default();
        for (k, v) in reqwest::Url::parse(&format!("http://x/?{query}"))
            .map_err(|_| OAuthError::Invalid {
                field: "url",
                message: "is not a URL".into(),
            })?
            .query_pairs()
        {
            let v = Some(v.into_owned());
            match k.as_ref() {
                "code" => params.code = v,
                "state" => params.state = v,
                "error" => params.error = v,
                "error_description" => params.error_description = v,
                _ => {}
            }
        }
        if params.state.is_none() {
            return Err(OAuthError::Invalid {
                field: "url",
                message: "has no state parameter: paste the whole address the browser was sent to"
                    .into(),
            });
        }
        self.finish(params).await
    }

    /// `GET /api/oauth/callback`: take the flow (once), exchange the code, and create or
    /// update the account.
    pub async fn finish(&self, params: CallbackParams) -> Result<OAuthSignedIn, OAuthError> {
        let state = params
            .state
            .as_deref()
            .filter(|s| well_formed_state(s))
            .ok_or(OAuthError::UnknownState)?;
        let digest = KeyDigest::of(state).0.to_vec();
        let now = now_unix();
        let flow = match self.store().take_oauth_flow(digest, now).await? {
            FlowTake::Taken(flow) => flow,
            FlowTake::Used => return Err(OAuthError::StateUsed),
            FlowTake::Unknown => return Err(OAuthError::UnknownState),
        };
        if flow.expires_at < now {
            return Err(OAuthError::StateExpired);
        }
        if let Some(error) = params.error {
            return Err(OAuthError::Denied {
                error: error.chars().take(100).collect(),
                description: params
                    .error_description
                    .map(|d| d.chars().take(300).collect()),
            });
        }
        let code = params
            .code
            .filter(|c| !c.is_empty())
            .ok_or(OAuthError::Invalid {
                field: "code",
                message: "the provider sent no authorization code".into(),
            })?;
        let provider = self.provider(&flow.provider)?.clone();
        let verifier = self
            .master
            .open(&flow.verifier, &verifier_context(&flow.state_digest))?;
        let issued =
            client::exchange_code(&self.http, &provider, &flow.redirect_uri, &code, &verifier)
                .await?;
        let requested: Requested = serde_json::from_str(&flow.request).unwrap_or_default();
        self.save(&provider, requested, issued).await
    }

    async fn save(
        &self,
        provider: &OAuthProvider,
        requested: Requested,
        issued: Issued,
    ) -> Result<OAuthSignedIn, OAuthError> {
        if issued.refresh.is_none() {
            tracing::warn!(provider = %provider.name, "the provider issued no refresh token: the account needs a new sign-in when its access token expires");
        }
        let now = now_unix();
        let existing = match &issued.subject {
            Some(subject) => {
                match self
                    .store()
                    .find_oauth_account(&provider.name, subject)
                    .await?
                {
                    Some(id) => self.store().get_account(&id).await?,
                    None => None,
                }
            }
            None => None,
        };
        let create = existing.is_none();
        let mut account = match existing {
            Some(rec) => rec,
            None => {
                let id = random_id("acc_");
                AccountRecord {
                    label: requested
                        .label
                        .clone()
                        .or_else(|| issued.email.clone())
                        .unwrap_or_else(|| provider.name.clone()),
                    provider: provider.provider,
                    base_url: None,
                    tier: Tier::default(),
                    models: None,
                    enabled: true,
                    secret: self.master.seal("-", &account_context(&id))?,
                    secret_hint: String::new(),
                    position: 0,
                    quota_scope: None,
                    created_at: now,
                    updated_at: now,
                    status: AccountStatus::Ok,
                    status_reason: None,
                    status_since: None,
                    admin_secret: None,
                    display_order: 0,
                    id,
                }
            }
        };
        if let Some(label) = requested.label {
            account.label = label;
        }
        if let Some(tier) = requested.tier {
            account.tier = tier;
        }
        if requested.models.is_some() {
            account.models = requested.models;
        }
        if requested.base_url.is_some() {
            account.base_url = requested.base_url;
        }
        account.secret = self
            .master
            .seal(issued.access.expose(), &account_context(&account.id))?;
        account.secret_hint = secret_hint(issued.access.expose());
        account.updated_at = now;
        let refresh = issued
            .refresh
            .as_ref()
            .map(|r| self.master.seal(r.expose(), &refresh_context(&account.id)))
            .transpose()?;
        let lifetime_ms = self.settings.lifetime_ms(issued.lifetime_ms);
        let grant = GrantRecord {
            account_id: account.id.clone(),
            provider: provider.name.clone(),
            subject: issued.subject.clone(),
            project: provider.project.clone(),
            refresh,
            expires_at_ms: crate::pool::token::now_ms().saturating_add(lifetime_ms),
            lifetime_ms,
            generation: 0,
        };
        let Some((account, _)) = self
            .store()
            .save_oauth_sign_in(account, create, grant, now)
            .await?
        else {
            return Err(OAuthError::UnknownState);
        };
        self.admin.reload().await?;
        tracing::info!(account = %account.id, provider = %provider.name, created = create, "OAuth account signed in");
        Ok(OAuthSignedIn {
            account: self.admin.get_account(&account.id).await?,
            created: create,
        })
    }
}

/// A verifier as a [`Secret`] (tests).
#[cfg(test)]
pub(crate) fn open_verifier(
    master: &MasterKey,
    flow: &FlowRecord,
    state_digest: &[u8],
) -> Result<crate::crypto::Secret, crate::crypto::CryptoError> {
    master.open(&flow.verifier, &verifier_context(state_digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::KeyRing;
    use crate::pool::Pool;

    async fn service() -> OAuth {
        let master = Arc::new(MasterKey::parse(&"42".repeat(32)).unwrap());
        let store = Store::open_in_memory().await.unwrap();
        let admin = Admin::new(
            store,
            Arc::clone(&master),
            Arc::new(Pool::new()),
            Arc::new(KeyRing::new()),
        );
        let raw: super::super::RawOAuth = toml::from_str(
            "[providers.corp]\nauth_url = \"http://127.0.0.1:9/authorize\"\ntoken_url = \"http://127.0.0.1:9/token\"\nclient_id = \"c\"\nprovider = \"openai\"",
        )
        .unwrap();
        OAuth::new(
            Arc::new(raw.validate().unwrap()),
            admin,
            master,
            client::http_client().unwrap(),
        )
    }

    fn start(provider: &str) -> StartOAuth {
        StartOAuth {
            provider: provider.into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_flow_is_bound_to_its_state_and_pkce_verifier() {
        let oauth = service().await;
        let started = oauth
            .start(start("corp"), Some("http://gw:1"))
            .await
            .unwrap();
        let url = reqwest::Url::parse(&started.auth_url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["state"], started.state);
        assert_eq!(q["redirect_uri"], "http://gw:1/api/oauth/callback");
        // The stored flow names the state by digest only; its verifier opens only under
        // that state and matches the challenge sent.
        let digest = KeyDigest::of(&started.state).0.to_vec();
        let FlowTake::Taken(flow) = oauth
            .store()
            .take_oauth_flow(digest.clone(), now_unix())
            .await
            .unwrap()
        else {
            panic!("stored");
        };
        let verifier = open_verifier(&oauth.master, &flow, &digest).unwrap();
        use base64::Engine as _;
        use sha2::Digest as _;
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.expose().as_bytes()));
        assert_eq!(q["code_challenge"], challenge);
        let other = KeyDigest::of("another-state").0.to_vec();
        assert!(open_verifier(&oauth.master, &flow, &other).is_err());
        // The state was taken above: the callback is refused, before any token call.
        let again = oauth
            .finish(CallbackParams {
                code: Some("c".into()),
                state: Some(started.state.clone()),
                ..Default::default()
            })
            .await;
        assert!(matches!(again, Err(OAuthError::StateUsed)), "{again:?}");
        let unknown = oauth
            .complete("http://gw:1/api/oauth/callback?code=c&state=nope")
            .await;
        assert!(
            matches!(unknown, Err(OAuthError::UnknownState)),
            "{unknown:?}"
        );
    }

    #[tokio::test]
    async fn a_state_not_shaped_like_ours_never_reaches_the_store() {
        let oauth = service().await;
        let started = oauth
            .start(start("corp"), Some("http://gw:1"))
            .await
            .unwrap();
        assert!(well_formed_state(&started.state));
        for bad in [
            "",
            "made-up",
            &"a".repeat(42),
            &"a".repeat(44),
            &format!("{}!", "a".repeat(42)),
            &"x".repeat(10_000),
        ] {
            assert!(!well_formed_state(bad), "{bad}");
        }
        // Were there a flow under a malformed state, the callback would not even look.
        let now = now_unix();
        oauth
            .store()
            .insert_oauth_flow(FlowRecord {
                state_digest: KeyDigest::of("made-up").0.to_vec(),
                provider: "corp".into(),
                redirect_uri: "http://gw:1/api/oauth/callback".into(),
                request: "{}".into(),
                verifier: crate::crypto::Sealed {
                    nonce: vec![0; 12],
                    ciphertext: vec![0; 20],
                },
                created_at: now,
                expires_at: now + 600,
            })
            .await
            .unwrap();
        let refused = oauth
            .finish(CallbackParams {
                code: Some("c".into()),
                state: Some("made-up".into()),
                ..Default::default()
            })
            .await;
        assert!(
            matches!(refused, Err(OAuthError::UnknownState)),
            "{refused:?}"
        );
        assert!(matches!(
            oauth
                .store()
                .take_oauth_flow(KeyDigest::of("made-up").0.to_vec(), now)
                .await
                .unwrap(),
            FlowTake::Taken(_)
        ));
    }

    #[test]
    fn sign_in_secrets_are_not_in_debug_output() {
        let params = CallbackParams {
            code: Some("the-code".into()),
            state: Some("the-state".into()),
            error: Some("access_denied".into()),
            error_description: None,
        };
        let shown = format!("{params:?}");
        assert!(
            !shown.contains("the-code") && !shown.contains("the-state"),
            "{shown}"
        );
        assert!(shown.contains("access_denied"), "{shown}");
        let started = switchyard_types::oauth::OAuthStarted {
            auth_url: "https://idp.example/authorize?state=the-state&code_challenge=x".into(),
            state: "the-state".into(),
        };
        let shown = format!("{started:?}");
        assert!(!shown.contains("the-state"), "{shown}");
        assert!(shown.contains("https://idp.example/authorize"), "{shown}");
    }

    #[tokio::test]
    async fn provider_errors_and_unknown_providers_are_clear() {
        let oauth = service().await;
        assert!(matches!(
            oauth.start(start("nope"), Some("http://gw:1")).await,
            Err(OAuthError::UnknownProvider(_))
        ));
        let started = oauth
            .start(start("corp"), Some("http://gw:1"))
            .await
            .unwrap();
        let denied = oauth
            .complete(&format!(
                "?error=access_denied&error_description=no&state={}",
                started.state
            ))
            .await;
        assert!(
            matches!(&denied, Err(OAuthError::Denied { error, .. }) if error == "access_denied"),
            "{denied:?}"
        );
        // The state is spent even so.
        assert!(matches!(
            oauth
                .complete(&format!("?code=x&state={}", started.state))
                .await,
            Err(OAuthError::StateUsed)
        ));
    }
}
