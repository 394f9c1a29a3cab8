//! Building the run's one HTTP client: TLS roots (`--ca-cert`), proxy,
//! timeouts, the redirect policy, and a resolver whose failures are typed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::HeaderMap;
use url::Url;

use super::NetOptions;
use super::failure::{DnsFailure, RedirectRefusal, RefusedRedirect};

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 10;

/// Why the client could not be built (bad `--ca-cert` or `--proxy`).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("--ca-cert {path}")]
    CaCertRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--ca-cert {path}: not a PEM certificate bundle")]
    CaCertParse {
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    #[error("--ca-cert {0}: no PEM certificate in this file")]
    CaCertEmpty(PathBuf),
    #[error("--proxy {url}")]
    Proxy {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    #[error("building the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Builds the client for `options`.
pub fn build(options: &NetOptions) -> Result<reqwest::Client, SetupError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &options.headers {
        headers.append(name.clone(), value.clone());
    }
    let mut builder = reqwest::Client::builder()
        .user_agent(options.user_agent.clone())
        .default_headers(headers)
        .redirect(redirect_policy())
        .dns_resolver(TypedResolver)
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        // A body that stalls fails without waiting for the whole deadline.
        .read_timeout(options.timeout.min(Duration::from_secs(30)))
        .pool_max_idle_per_host(options.per_host);
    if let Some(path) = &options.ca_cert {
        let pem = std::fs::read(path).map_err(|source| SetupError::CaCertRead {
            path: path.clone(),
            source,
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
            SetupError::CaCertParse {
                path: path.clone(),
                source,
            }
        })?;
        if certs.is_empty() {
            return Err(SetupError::CaCertEmpty(path.clone()));
        }
        builder = builder.tls_certs_merge(certs);
    }
    if let Some(url) = &options.proxy {
        // An explicit proxy replaces HTTP(S)_PROXY; NO_PROXY still applies.
        let proxy = reqwest::Proxy::all(url.as_str())
            .map_err(|source| SetupError::Proxy {
                url: url.clone(),
                source,
            })?
            .no_proxy(reqwest::NoProxy::from_env());
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(SetupError::Client)
}

/// At most [`MAX_REDIRECTS`], only to http(s). The refusal travels in the
/// error chain as a typed value.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(RefusedRedirect(RedirectRefusal::TooMany {
                max: MAX_REDIRECTS,
            }))
        } else if !matches!(attempt.url().scheme(), "http" | "https") {
            let scheme = attempt.url().scheme().to_string();
            attempt.error(RefusedRedirect(RedirectRefusal::Scheme(scheme)))
        } else {
            attempt.follow()
        }
    })
}

/// The system resolver (getaddrinfo on tokio's blocking pool, as reqwest's
/// default), with its failures wrapped in [`DnsFailure`] so that a name
/// that does not resolve is told from a refused connection by type.
struct TypedResolver;

impl Resolve for TypedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|source| DnsFailure { source })?
                .collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
