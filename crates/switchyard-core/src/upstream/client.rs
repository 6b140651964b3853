//! [`Upstream`]: the HTTP clients that reach providers.
//!
//! The hot path is a hyper client with a pooled connector (rustls with the webpki roots,
//! HTTP/2 by ALPN, HTTP/1.1 otherwise) and requests built straight from each account's
//! prepared [`AccountWire`](super::AccountWire): no URL parsing, no redirect policy, no
//! per-request timer beyond the header deadline. The image fetch (cold, arbitrary hosts,
//! may redirect) keeps a general-purpose reqwest client, held to public addresses by
//! [`guard`] unless the operator allows private image hosts.

use super::body::UpstreamResponse;
use super::{Endpoint, UpstreamError, error_chain, guard, upstream_headers};
use crate::config::UpstreamConfig;
use crate::pool::PoolAccount;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, Request};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

type HyperClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// Idle pooled connections kept per upstream host.
const POOL_PER_HOST: usize = 256;

#[derive(Debug, Clone)]
pub struct Upstream {
    http: HyperClient,
    fetcher: reqwest::Client,
    config: UpstreamConfig,
}

impl Upstream {
    pub fn new(config: UpstreamConfig) -> Result<Self, UpstreamError> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.connect_timeout));
        tcp.set_keepalive(Some(Duration::from_secs(60)));
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamError::Client(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_max_idle_per_host(POOL_PER_HOST)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(https);
        let mut fetcher = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.idle_timeout)
            .use_rustls_tls()
            .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")));
        if !config.allow_private_image_hosts {
            fetcher = fetcher
                .dns_resolver(Arc::new(guard::PublicResolver))
                .redirect(guard::redirect_policy());
        }
        let fetcher = fetcher
            .build()
            .map_err(|e| UpstreamError::Client(e.to_string()))?;
        Ok(Self {
            http,
            fetcher,
            config,
        })
    }

    pub fn config(&self) -> &UpstreamConfig {
        &self.config
    }

    /// POST `body` to `endpoint` on `account`, with the account's credential and the
    /// allowed client headers. Resolves once the response headers are in, within
    /// `header_timeout`.
    pub async fn send(
        &self,
        account: &PoolAccount,
        endpoint: Endpoint<'_>,
        client_headers: &HeaderMap,
        body: Bytes,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = account.wire.uri(&account.base_url, endpoint)?;
        *request.headers_mut() = upstream_headers(account, endpoint, client_headers);
        self.dispatch(request).await
    }

    /// Send `request`, waiting at most the header timeout for the answer's head.
    async fn dispatch(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        match tokio::time::timeout(self.config.header_timeout, self.http.request(request)).await {
            Err(_) => Err(UpstreamError::Timeout(self.config.header_timeout)),
            Ok(Ok(response)) => Ok(UpstreamResponse::new(response, self.config.idle_timeout)),
            Ok(Err(e)) if e.is_connect() && timed_out(&e) => {
                Err(UpstreamError::Timeout(self.config.connect_timeout))
            }
            Ok(Err(e)) if e.is_connect() => Err(UpstreamError::Connect(error_chain(&e))),
            Ok(Err(e)) => Err(UpstreamError::Request(error_chain(&e))),
        }
    }

    /// GET `uri` with `headers` (management calls: verify, quota polls; never on the hot
    /// path). Resolves with the status, headers and body (at most `limit` bytes).
    pub async fn get(
        &self,
        uri: http::Uri,
        headers: HeaderMap,
        limit: usize,
    ) -> Result<(http::StatusCode, HeaderMap, Bytes), UpstreamError> {
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.method_mut() = Method::GET;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let (status, headers, body) = self.dispatch(request).await?.into_parts();
        let body = super::body::read_body(body, limit).await?;
        Ok((status, headers, body))
    }

    /// GET an `https` URL (following redirects), bounded to `limit` bytes; returns the
    /// body and its media type. Unless `allow_private_image_hosts` is set, only public
    /// addresses are reached, redirects included (see [`guard`]).
    pub async fn fetch(&self, url: &str, limit: usize) -> Result<(Bytes, String), UpstreamError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| UpstreamError::Request(format!("invalid image URL: {e}")))?;
        if self.config.allow_private_image_hosts {
            if parsed.scheme() != "https" {
                return Err(UpstreamError::Request(
                    "only https URLs are fetched".to_owned(),
                ));
            }
        } else {
            guard::check_url(&parsed).map_err(UpstreamError::Request)?;
        }
        let request = self.fetcher.get(parsed).send();
        let mut response = match tokio::time::timeout(self.config.header_timeout, request).await {
            Err(_) => return Err(UpstreamError::Timeout(self.config.header_timeout)),
            Ok(Err(e)) => return Err(UpstreamError::Request(error_chain(&e))),
            Ok(Ok(r)) => r,
        };
        if !response.status().is_success() {
            return Err(UpstreamError::Request(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
            .unwrap_or_default();
        let mut out = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| UpstreamError::Request(error_chain(&e)))?
        {
            if out.len() + chunk.len() > limit {
                return Err(UpstreamError::TooLarge(limit));
            }
            out.extend_from_slice(&chunk);
        }
        Ok((out.freeze(), content_type))
    }
}

/// Whether a connect error came from the connect timeout.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fetch_error(allow_private_image_hosts: bool, url: &str) -> String {
        let upstream = Upstream::new(UpstreamConfig {
            allow_private_image_hosts,
            connect_timeout: Duration::from_secs(2),
            ..UpstreamConfig::default()
        })
        .unwrap();
        upstream.fetch(url, 1024).await.unwrap_err().to_string()
    }

    #[tokio::test]
    async fn image_fetch_refuses_private_hosts_unless_allowed() {
        for url in [
            "https://127.0.0.1:1/cat.png",
            "https://[::1]:1/cat.png",
            "https://localhost:1/cat.png",
        ] {
            let e = fetch_error(false, url).await;
            assert!(e.contains("allow_private_image_hosts"), "{url}: {e}");
            // Allowed, the fetch gets as far as connecting (nothing listens on port 1).
            let e = fetch_error(true, url).await;
            assert!(!e.contains("allow_private_image_hosts"), "{url}: {e}");
        }
        let e = fetch_error(false, "http://example.com/cat.png").await;
        assert!(e.contains("only https"), "{e}");
    }
}
