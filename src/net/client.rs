//! Building the run's one HTTP client: TLS roots (`--ca-cert`), proxy,
//! timeouts, and a resolver whose failures are typed and which refuses
//! private addresses with `--deny-private`. Redirects are not followed by
//! the client: the fetcher follows them hop by hop, so that headers stay
//! with their host, no Referer is sent, and every hop's address is checked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use super::NetOptions;
use super::address::Reach;
use super::failure::{DnsFailure, PrivateAddress};

/// Redirects followed at most.
pub(crate) const MAX_REDIRECTS: usize = 10;

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

/// Builds the client for `options`, keeping at most `idle_per_host` idle
/// connections per host (see [`super::descriptors`]).
pub(crate) fn build(
    options: &NetOptions,
    idle_per_host: usize,
) -> Result<reqwest::Client, SetupError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(options.user_agent.clone())
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .dns_resolver(TypedResolver {
            deny_private: options.deny_private,
        })
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        // A body that stalls fails without waiting for the whole deadline.
        .read_timeout(options.timeout.min(Duration::from_secs(30)))
        .pool_max_idle_per_host(idle_per_host)
        .pool_idle_timeout(super::descriptors::IDLE_TIMEOUT);
    if let Some(certs) = ca_certs(options)? {
        builder = builder.tls_certs_merge(certs);
    }
    if let Some(proxy) = proxy(options)? {
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(SetupError::Client)
}

/// What [`build`] refuses, without building a client (loading the TLS
/// roots is a few percent of a run that fetches nothing): a bad
/// `--ca-cert` or `--proxy` is an error even then.
pub(crate) fn check(options: &NetOptions) -> Result<(), SetupError> {
    ca_certs(options)?;
    proxy(options)?;
    Ok(())
}

/// The `--ca-cert` bundle, read and parsed.
fn ca_certs(options: &NetOptions) -> Result<Option<Vec<reqwest::Certificate>>, SetupError> {
    let Some(path) = &options.ca_cert else {
        return Ok(None);
    };
    let pem = read_bounded(path, MAX_CA_CERT_BYTES).map_err(|source| SetupError::CaCertRead {
        path: path.clone(),
        source,
    })?;
    let certs =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| SetupError::CaCertParse {
            path: path.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(SetupError::CaCertEmpty(path.clone()));
    }
    Ok(Some(certs))
}

/// The `--proxy`: it replaces HTTP(S)_PROXY; NO_PROXY still applies.
fn proxy(options: &NetOptions) -> Result<Option<reqwest::Proxy>, SetupError> {
    let Some(url) = &options.proxy else {
        return Ok(None);
    };
    let proxy = reqwest::Proxy::all(url.as_str())
        .map_err(|source| SetupError::Proxy {
            url: url.clone(),
            source,
        })?
        .no_proxy(reqwest::NoProxy::from_env());
    Ok(Some(proxy))
}

/// Whether the environment names a proxy that reqwest will use
/// (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, in either case).
pub(crate) fn proxy_in_environment() -> bool {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]
        .iter()
        .flat_map(|v| [v.to_string(), v.to_ascii_lowercase()])
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// A certificate bundle is a few hundred kilobytes at most; `--ca-cert
/// /dev/zero` must not read until memory runs out.
const MAX_CA_CERT_BYTES: u64 = 16 << 20;

/// Reads a file of at most `max` bytes; a larger one is an error.
fn read_bounded(path: &std::path::Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB: not a certificate bundle",
            max >> 20
        )));
    }
    Ok(bytes)
}

/// The system resolver (getaddrinfo on tokio's blocking pool, as reqwest's
/// default), with its failures wrapped in [`DnsFailure`] so that a name
/// that does not resolve is told from a refused connection by type.
struct TypedResolver {
    /// `--deny-private`: a name that resolves to a private address (any of
    /// its addresses, so a rebinding name cannot slip one in) is refused.
    deny_private: bool,
}

/// The addresses `host` resolves to (the system resolver; in debug builds
/// the tests' names first, see [`super::address::seam`]).
pub(crate) async fn lookup(host: &str) -> std::io::Result<Vec<SocketAddr>> {
    if let Some(ip) = super::address::seam::resolve(&host.to_ascii_lowercase()) {
        return Ok(vec![SocketAddr::new(ip, 0)]);
    }
    Ok(tokio::net::lookup_host((host, 0)).await?.collect())
}

impl Resolve for TypedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let deny_private = self.deny_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = lookup(&host)
                .await
                .map_err(|source| DnsFailure { source })?;
            if deny_private && addrs.iter().any(|a| Reach::of(a.ip()).is_private()) {
                return Err(Box::new(PrivateAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
