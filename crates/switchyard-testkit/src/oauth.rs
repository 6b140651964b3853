//! [`FakeOAuth`]: a fake OAuth 2.0 authorization server for tests.
//!
//! - `GET /authorize?response_type=code&client_id=&redirect_uri=&state=&code_challenge=&code_challenge_method=S256`
//!   redirects (302) to `redirect_uri?code=…&state=…` at once (the "user" consents), or
//!   with `error=access_denied` after [`FakeOAuth::deny_next`]. PKCE S256 is required.
//! - `POST /token` (form; client authentication by HTTP Basic or `client_id` /
//!   `client_secret` in the body): `grant_type=authorization_code` (code single-use,
//!   `redirect_uri` and `code_verifier` checked against the authorization) and
//!   `grant_type=refresh_token` with rotation: every refresh token is single-use, and a
//!   second use is refused with `invalid_grant` and counted
//!   ([`FakeOAuth::refresh_reuse_attempts`]). Answers carry `access_token`,
//!   `refresh_token`, `expires_in` ([`FakeOAuth::set_access_ttl`]), `token_type` and an
//!   unsigned `id_token` with the grant's `sub` and `email`.
//! - [`FakeOAuth::revoke_all`] revokes every grant: its refresh tokens get
//!   `invalid_grant`, its access tokens stop working.
//! - [`FakeOAuth::token_gate`] tells a [`crate::FakeProvider`] which bearer tokens are
//!   valid now ([`crate::FakeProvider::set_token_gate`]): an expired, revoked or unknown
//!   access token of this server gets the protocol's 401.
//!
//! Access tokens look like `fake-oauth-at-N`, refresh tokens `fake-oauth-rt-N`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use parking_lot::Mutex;
use serde_json::json;
use sha2::Digest as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The client the fake accepts.
pub const FAKE_CLIENT_ID: &str = "fake-client";
pub const FAKE_CLIENT_SECRET: &str = "fake-client-secret";
/// Prefix of the access tokens the fake issues.
pub const ACCESS_PREFIX: &str = "fake-oauth-at-";

#[derive(Debug)]
struct Authorization {
    redirect_uri: String,
    challenge: String,
    grant: u64,
    used: bool,
}

#[derive(Debug)]
struct Grant {
    subject: String,
    email: String,
    revoked: bool,
}

#[derive(Debug)]
struct RefreshToken {
    grant: u64,
    used: bool,
}

#[derive(Debug)]
struct AccessToken {
    grant: u64,
    expires: Instant,
}

#[derive(Debug)]
struct Inner {
    codes: HashMap<String, Authorization>,
    grants: HashMap<u64, Grant>,
    refresh: HashMap<String, RefreshToken>,
    access: HashMap<String, AccessToken>,
    ttl: Duration,
    subject: (String, String),
    deny_next: bool,
    /// Delay of each refresh answer (to widen races in tests).
    refresh_delay: Duration,
}

#[derive(Debug)]
struct Shared {
    seq: AtomicU64,
    inner: Mutex<Inner>,
    token_calls: AtomicU64,
    code_exchanges: AtomicU64,
    refresh_calls: AtomicU64,
    refresh_reuse: AtomicU64,
    code_reuse: AtomicU64,
}

impl Shared {
    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn valid(&self, token: &str) -> Option<bool> {
        if !token.starts_with(ACCESS_PREFIX) {
            return None;
        }
        let inner = self.inner.lock();
        Some(inner.access.get(token).is_some_and(|a| {
            a.expires > Instant::now() && inner.grants.get(&a.grant).is_some_and(|g| !g.revoked)
        }))
    }
}

/// Which bearer tokens are valid now: `None` for a token this server did not issue
/// (the provider's own key conventions apply), `Some(false)` for one it issued that is
/// expired or revoked.
#[derive(Clone)]
pub struct TokenGate(Arc<GateFn>);

type GateFn = dyn Fn(&str) -> Option<bool> + Send + Sync;

impl TokenGate {
    pub fn check(&self, token: &str) -> Option<bool> {
        (self.0)(token)
    }
}

impl std::fmt::Debug for TokenGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenGate")
    }
}

/// A running fake authorization server (dropping it shuts it down).
#[derive(Debug)]
pub struct FakeOAuth {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FakeOAuth {
    /// Binds `127.0.0.1:0`; access tokens live 1 hour until [`Self::set_access_ttl`].
    pub async fn start() -> std::io::Result<FakeOAuth> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            seq: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                codes: HashMap::new(),
                grants: HashMap::new(),
                refresh: HashMap::new(),
                access: HashMap::new(),
                ttl: Duration::from_secs(3600),
                subject: ("fake-user-1".into(), "user1@example.com".into()),
                deny_next: false,
                refresh_delay: Duration::ZERO,
            }),
            token_calls: AtomicU64::new(0),
            code_exchanges: AtomicU64::new(0),
            refresh_calls: AtomicU64::new(0),
            refresh_reuse: AtomicU64::new(0),
            code_reuse: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(Arc::clone(&shared));
        let (shutdown, mut signal) = watch::channel(false);
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _gone = signal.wait_for(|down| *down).await;
            });
            let _result = serve.await;
        });
        Ok(FakeOAuth {
            addr,
            shared,
            shutdown,
            task,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn auth_url(&self) -> String {
        format!("http://{}/authorize", self.addr)
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// Lifetime of the access tokens issued from now on (`expires_in`, whole seconds).
    pub fn set_access_ttl(&self, ttl: Duration) {
        self.shared.inner.lock().ttl = ttl;
    }

    /// The identity (`sub`, `email`) of the next authorizations.
    pub fn set_subject(&self, subject: &str, email: &str) {
        self.shared.inner.lock().subject = (subject.to_owned(), email.to_owned());
    }

    /// The next authorization redirects with `error=access_denied`.
    pub fn deny_next(&self) {
        self.shared.inner.lock().deny_next = true;
    }

    /// Delay every refresh answer by `delay`.
    pub fn set_refresh_delay(&self, delay: Duration) {
        self.shared.inner.lock().refresh_delay = delay;
    }

    /// Revoke every grant issued so far: refresh tokens get `invalid_grant`, access
    /// tokens stop working.
    pub fn revoke_all(&self) {
        for grant in self.shared.inner.lock().grants.values_mut() {
            grant.revoked = true;
        }
    }

    /// Expire every access token issued so far (their grants stay valid: a refresh
    /// works).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for token in self.shared.inner.lock().access.values_mut() {
            token.expires = now;
        }
    }

    /// Whether `token` is an access token of this server valid now (`None`: not ours).
    pub fn is_valid(&self, token: &str) -> Option<bool> {
        self.shared.valid(token)
    }

    /// A gate for [`crate::FakeProvider::set_token_gate`].
    pub fn token_gate(&self) -> TokenGate {
        let shared = Arc::clone(&self.shared);
        TokenGate(Arc::new(move |token| shared.valid(token)))
    }

    /// Every `POST /token`.
    pub fn token_calls(&self) -> u64 {
        self.shared.token_calls.load(Ordering::Relaxed)
    }

    /// `grant_type=authorization_code` calls.
    pub fn code_exchanges(&self) -> u64 {
        self.shared.code_exchanges.load(Ordering::Relaxed)
    }

    /// `grant_type=refresh_token` calls.
    pub fn refresh_calls(&self) -> u64 {
        self.shared.refresh_calls.load(Ordering::Relaxed)
    }

    /// Refreshes with a refresh token that was already used.
    pub fn refresh_reuse_attempts(&self) -> u64 {
        self.shared.refresh_reuse.load(Ordering::Relaxed)
    }

    /// Code exchanges with a code that was already used.
    pub fn code_reuse_attempts(&self) -> u64 {
        self.shared.code_reuse.load(Ordering::Relaxed)
    }
}

impl Drop for FakeOAuth {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        self.task.abort();
    }
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

fn redirect(location: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Percent-decoding (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=b&c=d`, percent-decoded.
fn form(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != FAKE_CLIENT_ID {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "unknown client_id",
        );
    }
    let redirect_uri = get("redirect_uri");
    if redirect_uri.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri missing",
        );
    }
    let state = encode(get("state"));
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
    {
        return redirect(format!(
            "{redirect_uri}{sep}error=invalid_request&error_description=PKCE%20S256%20required&state={state}"
        ));
    }
    let code = format!("fake-code-{}", shared.next());
    let grant = shared.next();
    {
        let mut inner = shared.inner.lock();
        if std::mem::take(&mut inner.deny_next) {
            return redirect(format!(
                "{redirect_uri}{sep}error=access_denied&error_description=The%20user%20said%20no&state={state}"
            ));
        }
        let (subject, email) = inner.subject.clone();
        inner.grants.insert(
            grant,
            Grant {
                subject,
                email,
                revoked: false,
            },
        );
        inner.codes.insert(
            code.clone(),
            Authorization {
                redirect_uri: redirect_uri.to_owned(),
                challenge: get("code_challenge").to_owned(),
                grant,
                used: false,
            },
        );
    }
    redirect(format!("{redirect_uri}{sep}code={code}&state={state}"))
}

/// The client id the request authenticated as, if its secret is right.
fn client_ok(headers: &HeaderMap, params: &HashMap<String, String>) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = match &basic {
        Some(pair) => {
            let (id, secret) = pair.split_once(':').unwrap_or((pair, ""));
            (decode(id), decode(secret))
        }
        None => (
            params.get("client_id").cloned().unwrap_or_default(),
            params.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    id == FAKE_CLIENT_ID && secret == FAKE_CLIENT_SECRET
}

fn issue(shared: &Shared, inner: &mut Inner, grant: u64) -> Response {
    let access = format!("{ACCESS_PREFIX}{}", shared.next());
    let refresh = format!("fake-oauth-rt-{}", shared.next());
    inner.access.insert(
        access.clone(),
        AccessToken {
            grant,
            expires: Instant::now() + inner.ttl,
        },
    );
    inner
        .refresh
        .insert(refresh.clone(), RefreshToken { grant, used: false });
    let (sub, email) = inner
        .grants
        .get(&grant)
        .map(|g| (g.subject.clone(), g.email.clone()))
        .unwrap_or_default();
    let enc = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let id_token = format!(
        "{}.{}.",
        enc(&json!({"alg": "none", "typ": "JWT"})),
        enc(&json!({"sub": sub, "email": email, "iss": "fake-oauth"}))
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": inner.ttl.as_secs(),
            "refresh_token": refresh,
            "id_token": id_token,
            "scope": "fake",
        })
        .to_string(),
    )
        .into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    shared.token_calls.fetch_add(1, Ordering::Relaxed);
    let params = form(&body);
    if !client_ok(&headers, &params) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    match get("grant_type") {
        "authorization_code" => {
            shared.code_exchanges.fetch_add(1, Ordering::Relaxed);
            let mut inner = shared.inner.lock();
            let Some(auth) = inner.codes.get_mut(get("code")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
            };
            if auth.used {
                shared.code_reuse.fetch_add(1, Ordering::Relaxed);
                let grant = auth.grant;
                // RFC 6749 4.1.2: a reused code revokes what it issued.
                if let Some(g) = inner.grants.get_mut(&grant) {
                    g.revoked = true;
                }
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code already used",
                );
            }
            if auth.redirect_uri != get("redirect_uri") {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri mismatch",
                );
            }
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
            if computed != auth.challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            auth.used = true;
            let grant = auth.grant;
            issue(&shared, &mut inner, grant)
        }
        "refresh_token" => {
            shared.refresh_calls.fetch_add(1, Ordering::Relaxed);
            let delay = shared.inner.lock().refresh_delay;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let mut inner = shared.inner.lock();
            let Some(rt) = inner.refresh.get_mut(get("refresh_token")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown refresh token",
                );
            };
            if rt.used {
                shared.refresh_reuse.fetch_add(1, Ordering::Relaxed);
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token already used",
                );
            }
            rt.used = true;
            let grant = rt.grant;
            if inner.grants.get(&grant).is_none_or(|g| g.revoked) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the grant was revoked",
                );
            }
            issue(&shared, &mut inner, grant)
        }
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("grant_type {other:?}"),
        ),
    }
}
