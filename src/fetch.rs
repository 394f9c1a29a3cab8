//! Fetching: one HTTP client for the whole run, per-host limits, retries
//! with backoff for transient failures only, and bodies streamed to a
//! temporary file beside their destination while being hashed, so memory
//! does not grow with file size.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use url::Url;

use crate::sniff::SNIFF_LEN;

pub const DEFAULT_CONCURRENCY: usize = 16;
pub const DEFAULT_PER_HOST: usize = 8;
pub const DEFAULT_RETRIES: u32 = 3;
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;
pub const MAX_REDIRECTS: usize = 10;
/// `Retry-After` is honoured up to this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// First backoff step; each retry doubles it (full jitter: a random delay
/// between zero and the step).
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(20);

/// Network settings shared by every command that fetches.
#[derive(Debug, Clone)]
pub struct NetOptions {
    pub concurrency: usize,
    pub per_host: usize,
    pub retries: u32,
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    pub max_bytes: u64,
    pub user_agent: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub proxy: Option<Url>,
    /// Extra trusted root certificates (PEM), for proxies that re-sign TLS.
    pub ca_cert: Option<PathBuf>,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            concurrency: DEFAULT_CONCURRENCY,
            per_host: DEFAULT_PER_HOST,
            retries: DEFAULT_RETRIES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
            user_agent: default_user_agent(),
            headers: Vec::new(),
            proxy: None,
            ca_cert: None,
        }
    }
}

pub fn default_user_agent() -> String {
    format!("rotproof/{}", env!("CARGO_PKG_VERSION"))
}

/// Why the client could not be built (bad `--ca-cert` or `--proxy`).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("--ca-cert {path}: {source}")]
    CaCertRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--ca-cert {path}: not a PEM certificate bundle: {source}")]
    CaCertParse {
        path: PathBuf,
        source: reqwest::Error,
    },
    #[error("--ca-cert {0}: no PEM certificate in this file")]
    CaCertEmpty(PathBuf),
    #[error("--proxy {url}: {source}")]
    Proxy { url: Url, source: reqwest::Error },
    #[error("building the HTTP client: {0}")]
    Client(reqwest::Error),
}

/// Validators from an earlier fetch, for a conditional request.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A body written to a temporary file, with its digest.
#[derive(Debug)]
pub struct Body {
    /// Removed when dropped, unless persisted.
    pub file: NamedTempFile,
    pub sha256: String,
    pub bytes: u64,
    /// The first bytes, for sniffing.
    pub head: Vec<u8>,
}

/// A successful fetch.
#[derive(Debug)]
pub struct Fetched {
    pub final_url: Url,
    pub http_status: u16,
    pub attempts: u32,
    /// `None` when the server answered 304 Not Modified.
    pub body: Option<Body>,
    pub validators: Validators,
    pub fetched_at: SystemTime,
}

/// A fetch that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// For the manifest and the summary: `HTTP 404 Not Found`, `timed out`.
    pub reason: String,
    pub http_status: Option<u16>,
    pub attempts: u32,
}

/// Errors on our side (cannot write the temporary file): these stop the
/// run, since every other resource would fail the same way.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct LocalError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// One attempt's failure, and whether trying again may help.
enum AttemptError {
    Transient {
        reason: String,
        status: Option<u16>,
        retry_after: Option<Duration>,
    },
    Final {
        reason: String,
        status: Option<u16>,
    },
    Local(LocalError),
}

/// The run's HTTP client with its limits.
pub struct Fetcher {
    http: reqwest::Client,
    options: NetOptions,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Fetcher {
    pub fn new(options: NetOptions) -> Result<Self, SetupError> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("too many redirects (more than {MAX_REDIRECTS})"))
            } else if !matches!(attempt.url().scheme(), "http" | "https") {
                let scheme = attempt.url().scheme().to_string();
                attempt.error(format!("redirect to a `{scheme}:` URL refused"))
            } else {
                attempt.follow()
            }
        });
        let mut headers = HeaderMap::new();
        for (name, value) in &options.headers {
            headers.append(name.clone(), value.clone());
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(options.user_agent.clone())
            .default_headers(headers)
            .redirect(policy)
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
        let http = builder.build().map_err(SetupError::Client)?;
        Ok(Fetcher {
            http,
            options,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    pub fn options(&self) -> &NetOptions {
        &self.options
    }

    /// The semaphore that limits requests in flight to one host.
    fn host_limit(&self, url: &Url) -> Arc<Semaphore> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(self.options.per_host.max(1))))
            .clone()
    }

    /// Downloads `url` into a temporary file in `dir`, retrying transient
    /// failures. With `validators`, the request is conditional and a 304
    /// gives a [`Fetched`] without a body.
    pub async fn download(
        &self,
        url: &Url,
        dir: &Path,
        validators: Option<&Validators>,
    ) -> Result<Result<Fetched, Failure>, LocalError> {
        let request = Request {
            url,
            head: false,
            validators,
            sink: Sink::File(dir),
        };
        Ok(self
            .with_retries(&request)
            .await?
            .map(|(got, attempts)| Fetched {
                final_url: got.final_url,
                http_status: got.http_status,
                attempts,
                body: got.body.and_then(|(digest, file)| {
                    file.map(|file| Body {
                        file,
                        sha256: digest.sha256,
                        bytes: digest.bytes,
                        head: digest.head,
                    })
                }),
                validators: got.validators,
                fetched_at: SystemTime::now(),
            }))
    }

    /// Checks `url` without storing anything. With `validators` the GET is
    /// conditional; with `hash` the body is streamed through sha256 (and
    /// dropped); otherwise a HEAD is tried first, and a GET when the server
    /// answers the HEAD with an error status (many refuse or mishandle HEAD).
    pub async fn probe(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        hash: bool,
    ) -> Result<Result<Probe, Failure>, LocalError> {
        let head_first = !hash && validators.is_none();
        if head_first {
            let head = Request {
                url,
                head: true,
                validators: None,
                sink: Sink::Discard,
            };
            match self.with_retries(&head).await? {
                Ok((got, attempts)) => return Ok(Ok(Probe::from(got, attempts))),
                Err(failure) if failure.http_status.is_none() => return Ok(Err(failure)),
                Err(_) => {}
            }
        }
        let get = Request {
            url,
            head: false,
            validators,
            sink: Sink::Discard,
        };
        Ok(self
            .with_retries(&get)
            .await?
            .map(|(got, attempts)| Probe::from(got, attempts)))
    }

    /// Runs a request, retrying transient failures with backoff.
    async fn with_retries(
        &self,
        request: &Request<'_>,
    ) -> Result<Result<(Got, u32), Failure>, LocalError> {
        let attempts = self.options.retries.saturating_add(1);
        for attempt in 1..=attempts {
            match self.attempt(request).await {
                Ok(got) => return Ok(Ok((got, attempt))),
                Err(AttemptError::Local(err)) => return Err(err),
                Err(AttemptError::Transient {
                    retry_after,
                    reason,
                    status,
                }) => {
                    if attempt == attempts {
                        return Ok(Err(Failure {
                            reason,
                            http_status: status,
                            attempts: attempt,
                        }));
                    }
                    tokio::time::sleep(backoff(attempt, retry_after)).await;
                }
                Err(AttemptError::Final { reason, status }) => {
                    return Ok(Err(Failure {
                        reason,
                        http_status: status,
                        attempts: attempt,
                    }));
                }
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    async fn attempt(&self, req: &Request<'_>) -> Result<Got, AttemptError> {
        let url = req.url;
        let limit = self.host_limit(url);
        // The permit is held for the request and its whole body.
        let _permit = limit
            .acquire_owned()
            .await
            .map_err(|_| AttemptError::Final {
                reason: "shutting down".to_string(),
                status: None,
            })?;
        let mut request = if req.head {
            self.http.head(url.clone())
        } else {
            self.http.get(url.clone())
        };
        if let Some(v) = req.validators {
            if let Some(etag) = &v.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = &v.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, date);
            }
        }
        let mut response = request.send().await.map_err(request_error)?;
        let status = response.status();
        let final_url = response.url().clone();
        let found = Validators {
            etag: header_string(response.headers(), header::ETAG),
            last_modified: header_string(response.headers(), header::LAST_MODIFIED),
        };
        let got = |body| Got {
            final_url: final_url.clone(),
            http_status: status.as_u16(),
            validators: found.clone(),
            body,
        };
        if status == StatusCode::NOT_MODIFIED && req.validators.is_some() {
            return Ok(got(None));
        }
        if status.is_redirection() {
            // A redirect reqwest did not follow: it never offers a non-http
            // Location to the policy.
            return Err(AttemptError::Final {
                reason: unfollowed_redirect(status, response.headers(), &final_url),
                status: Some(status.as_u16()),
            });
        }
        if !status.is_success() {
            let reason = status_reason(status);
            return Err(if is_transient_status(status) {
                AttemptError::Transient {
                    reason,
                    status: Some(status.as_u16()),
                    retry_after: retry_after(response.headers()),
                }
            } else {
                AttemptError::Final {
                    reason,
                    status: Some(status.as_u16()),
                }
            });
        }
        if req.head {
            return Ok(got(None));
        }
        let max = self.options.max_bytes;
        if let Some(len) = response.content_length().filter(|&len| len > max) {
            return Err(AttemptError::Final {
                reason: format!("too large ({len} bytes, --max-bytes is {max})"),
                status: Some(status.as_u16()),
            });
        }

        let local = |source: std::io::Error| {
            AttemptError::Local(LocalError {
                path: match req.sink {
                    Sink::File(dir) => dir.to_path_buf(),
                    Sink::Discard => PathBuf::new(),
                },
                source,
            })
        };
        let mut temp = None;
        // Buffered: each write to a tokio file is a trip to the blocking pool.
        let mut file = None;
        if let Sink::File(dir) = req.sink {
            let t = tempfile::Builder::new()
                .prefix(".rotproof-")
                .suffix(".part")
                .tempfile_in(dir)
                .map_err(local)?;
            file = Some(tokio::io::BufWriter::with_capacity(
                256 * 1024,
                tokio::fs::File::from_std(t.reopen().map_err(local)?),
            ));
            temp = Some(t);
        }
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let mut bytes: u64 = 0;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(err) => return Err(body_error(err)),
            };
            bytes += chunk.len() as u64;
            if bytes > max {
                return Err(AttemptError::Final {
                    reason: too_large(max),
                    status: Some(status.as_u16()),
                });
            }
            hasher.update(&chunk);
            if head.len() < SNIFF_LEN {
                let take = (SNIFF_LEN - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            if let Some(file) = &mut file {
                file.write_all(&chunk).await.map_err(local)?;
            }
        }
        if let Some(file) = &mut file {
            // Synced by whoever keeps it (store::persist_content).
            file.flush().await.map_err(local)?;
        }
        let digest = Digested {
            sha256: hex::encode(hasher.finalize()),
            bytes,
            head,
        };
        Ok(got(Some((digest, temp))))
    }
}

/// One request to make.
struct Request<'a> {
    url: &'a Url,
    head: bool,
    validators: Option<&'a Validators>,
    sink: Sink<'a>,
}

/// Where a response body goes.
#[derive(Clone, Copy)]
enum Sink<'a> {
    /// A temporary file in this folder.
    File(&'a Path),
    /// Hashed, then dropped.
    Discard,
}

/// What one successful attempt got.
struct Got {
    final_url: Url,
    http_status: u16,
    validators: Validators,
    /// `None` for 304 and HEAD.
    body: Option<(Digested, Option<NamedTempFile>)>,
}

struct Digested {
    sha256: String,
    bytes: u64,
    head: Vec<u8>,
}

/// Why a body over `--max-bytes` was abandoned: one wording for
/// downloads and local files.
pub fn too_large(max: u64) -> String {
    format!("too large (over --max-bytes {max})")
}

/// The answer to a [`Fetcher::probe`].
#[derive(Debug, Clone)]
pub struct Probe {
    pub final_url: Url,
    pub http_status: u16,
    pub attempts: u32,
    /// The server answered 304 to the conditional request.
    pub not_modified: bool,
    /// The body's sha256, when it was read.
    pub sha256: Option<String>,
    pub validators: Validators,
}

impl Probe {
    fn from(got: Got, attempts: u32) -> Probe {
        Probe {
            not_modified: got.http_status == 304,
            final_url: got.final_url,
            http_status: got.http_status,
            attempts,
            sha256: got.body.map(|(digest, _)| digest.sha256),
            validators: got.validators,
        }
    }
}

/// SPEC.md's transient statuses.
fn is_transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 425 | 429 | 500 | 502 | 503 | 504)
}

fn status_reason(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

fn unfollowed_redirect(status: StatusCode, headers: &HeaderMap, from: &Url) -> String {
    let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
    match location.map(|l| from.join(l)) {
        Some(Ok(to)) if !matches!(to.scheme(), "http" | "https") => {
            format!("redirect to a `{}:` URL refused", to.scheme())
        }
        Some(_) => format!("{} (redirect not followed)", status_reason(status)),
        None => format!("{} without a Location", status_reason(status)),
    }
}

fn header_string(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` as seconds or an HTTP date, capped.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(SystemTime::now())
            .unwrap_or_default(),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Exponential backoff with full jitter; a `Retry-After` is a floor.
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let step = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(BACKOFF_CAP);
    let jitter = Duration::from_millis(fastrand::u64(0..=step.as_millis() as u64));
    match retry_after {
        Some(wait) => wait.max(jitter),
        None => jitter,
    }
}

/// Classifies an error from sending a request.
fn request_error(err: reqwest::Error) -> AttemptError {
    let cause = root_cause(&err);
    if err.is_redirect() {
        // Our redirect policy's own message.
        return AttemptError::Final {
            reason: cause,
            status: None,
        };
    }
    let reason = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        format!("connection failed: {cause}")
    } else {
        format!("request failed: {cause}")
    };
    if err.is_builder() {
        return AttemptError::Final {
            reason,
            status: None,
        };
    }
    AttemptError::Transient {
        reason,
        status: None,
        retry_after: None,
    }
}

/// A body that ends early (shorter than its Content-Length, reset, stalled)
/// is transient; so is one that does not decompress (it may have been cut).
fn body_error(err: reqwest::Error) -> AttemptError {
    let reason = if err.is_timeout() {
        "timed out while reading the body".to_string()
    } else if err.is_decode() && !connection_broke(&err) {
        format!("cannot decompress the body: {}", root_cause(&err))
    } else {
        format!("body cut short: {}", root_cause(&err))
    };
    AttemptError::Transient {
        reason,
        status: None,
        retry_after: None,
    }
}

/// Whether an error's causes include the connection breaking (reset, early
/// end): the decompression layer reports those as decode errors too.
fn connection_broke(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::*;
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe | TimedOut
            )
        {
            return true;
        }
        if e.to_string().contains("end of file") {
            return true;
        }
        next = e.source();
    }
    false
}

/// The innermost error message, which says what actually happened
/// (`connection refused`, `unexpected end of file`).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates_are_capped() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("31536000"));
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        h.insert(header::RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_grows_and_respects_retry_after() {
        for attempt in 1..6 {
            let step = BACKOFF_BASE * (1 << (attempt - 1));
            assert!(backoff(attempt, None) <= step.min(BACKOFF_CAP));
        }
        assert!(backoff(1, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
    }

    #[test]
    fn transient_statuses_are_the_specs() {
        for code in [408, 425, 429, 500, 502, 503, 504] {
            assert!(is_transient_status(StatusCode::from_u16(code).unwrap()));
        }
        for code in [400, 401, 403, 404, 410, 451, 501] {
            assert!(!is_transient_status(StatusCode::from_u16(code).unwrap()));
        }
    }
}
