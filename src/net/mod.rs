//! The network: one HTTP client for the whole run ([`client`]), per-host
//! limits ([`hosts`]), the retry policy ([`retry`]), bodies streamed into
//! the store while hashed ([`transfer`]), and what a failure is
//! ([`failure`]). [`Fetcher`] puts them together: one attempt builds a
//! request, classifies the answer and receives the body; the policy
//! decides whether another attempt follows.

pub(crate) mod address;
pub(crate) mod client;
pub(crate) mod descriptors;
pub(crate) mod failure;
pub(crate) mod hosts;
pub(crate) mod referer;
pub(crate) mod retry;
mod stage;
pub(crate) mod transfer;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use url::Url;

pub(crate) use client::{MAX_REDIRECTS, SetupError};
pub(crate) use failure::{Failure, FailureKind, RedirectRefusal};
use hosts::{HostRules, Hosts};
use referer::Referer;
use retry::{AttemptError, AttemptFailure, RetryPolicy};
pub(crate) use stage::{Lane, stage};
use transfer::{Received, Sink};

use crate::digest::Sha256;
use crate::store::{Ingested, IoError};

pub(crate) const DEFAULT_CONCURRENCY: usize = 16;
pub(crate) const DEFAULT_PER_HOST: usize = 8;
pub(crate) const DEFAULT_RETRIES: u32 = 3;
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests a second to one host by default for `check`, which asks a
/// site's whole CDN at once: a checker that hammers the CDN gets the
/// site's address blocked. (`archive` fetches each image once and is
/// unlimited, 0.)
pub(crate) const CHECK_PER_HOST_RATE: u32 = 10;
pub(crate) const ARCHIVE_PER_HOST_RATE: u32 = 0;
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// Network settings shared by every command that fetches.
#[derive(Debug, Clone)]
pub struct NetOptions {
    /// Requests in flight in the whole run (the concurrent stage's bound).
    pub concurrency: usize,
    pub per_host: usize,
    /// The least time between two requests to one host (`--per-host-rate`)
    /// where its `[hosts]` rule gives no `request_interval`.
    pub per_host_spacing: Option<Duration>,
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
    /// `--deny-private`: refuse every request to a private address.
    pub deny_private: bool,
    /// `--referer`: the policy to start with where no host rule gives one.
    pub referer: Referer,
    /// The config file's `[hosts."…"]` tables.
    pub hosts: HostRules,
}

impl Default for NetOptions {
    fn default() -> Self {
        NetOptions {
            concurrency: DEFAULT_CONCURRENCY,
            per_host: DEFAULT_PER_HOST,
            per_host_spacing: None,
            retries: DEFAULT_RETRIES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
            user_agent: default_user_agent(),
            headers: Vec::new(),
            proxy: None,
            ca_cert: None,
            deny_private: false,
            referer: Referer::None,
            hosts: HostRules::default(),
        }
    }
}

impl NetOptions {
    /// The Referer policy a request to `url` starts with: its host rule's,
    /// else `--referer`.
    pub fn referer_for(&self, url: &Url) -> &Referer {
        self.hosts
            .for_url(url)
            .and_then(|rule| rule.referer.as_ref())
            .unwrap_or(&self.referer)
    }
}

pub(crate) fn default_user_agent() -> String {
    format!("rotproof/{}", env!("CARGO_PKG_VERSION"))
}

/// Validators from an earlier fetch, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }

    fn of(headers: &HeaderMap) -> Validators {
        let get = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Validators {
            etag: get(header::ETAG),
            last_modified: get(header::LAST_MODIFIED),
        }
    }
}

/// What a request carries beyond its URL and validators.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Sent with the first request only, never on a redirect.
    pub referer: Option<HeaderValue>,
    /// RFC 7089: the moment a TimeGate should find the capture closest
    /// to; first request only.
    pub accept_datetime: Option<HeaderValue>,
    /// A request to a web archive: the posts' `--header` values are not
    /// for it (host rules for its host still apply).
    pub to_archive: bool,
}

impl RequestOptions {
    /// A request with this Referer (or none).
    pub fn with_referer(referer: Option<HeaderValue>) -> RequestOptions {
        RequestOptions {
            referer,
            ..RequestOptions::default()
        }
    }
}

/// What a successful request answered, besides its body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The URL asked for.
    pub requested: Url,
    pub final_url: Url,
    pub http_status: u16,
    pub attempts: u32,
    pub validators: Validators,
    pub at: SystemTime,
    /// RFC 7089 `Memento-Datetime`: the answer is a web archive's capture
    /// made then.
    pub memento_datetime: Option<SystemTime>,
}

/// A successful download.
#[derive(Debug)]
pub struct Download {
    pub answer: Answer,
    /// `None` when the server answered 304 Not Modified.
    pub body: Option<Ingested>,
}

/// The answer to a [`Fetcher::probe`].
#[derive(Debug, Clone)]
pub struct Probe {
    pub answer: Answer,
    /// The server answered 304 to the conditional request.
    pub not_modified: bool,
    /// The body's sha256, when it was read.
    pub sha256: Option<Sha256>,
    /// The body's format, sniffed from its first bytes, when it was read.
    pub format: Option<crate::sniff::Format>,
}

/// One request to make.
#[derive(Clone, Copy)]
struct Request<'a> {
    url: &'a Url,
    head: bool,
    validators: Option<&'a Validators>,
    ask: &'a RequestOptions,
    sink: Sink<'a>,
}

/// What one successful attempt got.
struct Attempted {
    requested: Url,
    final_url: Url,
    http_status: u16,
    validators: Validators,
    memento_datetime: Option<SystemTime>,
    /// `None` for 304 and HEAD.
    body: Option<Received>,
}

/// The run's HTTP client with its limits and retry policy.
pub struct Fetcher {
    http: reqwest::Client,
    options: NetOptions,
    hosts: Hosts,
    retry: RetryPolicy,
    /// Requests to web archives: asked once each.
    archive_retry: RetryPolicy,
    budget: descriptors::DescriptorBudget,
    /// Requests go through a proxy (`--proxy`, or one from the
    /// environment), which resolves names itself: only literal addresses
    /// can be checked, and the connection's peer is the proxy.
    proxied: bool,
    /// The run-wide limit on requests in flight: taken for an attempt
    /// only once its host's slot is had, and never held across a retry's
    /// back-off, so nothing waiting for one host holds back another.
    in_flight: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("options", &self.options)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// The client for a run that will ask `hosts` distinct hosts: its
    /// requests in flight and idle connections sized to the descriptors
    /// this process has.
    pub fn new(options: NetOptions, hosts: usize) -> Result<Self, SetupError> {
        let budget =
            descriptors::DescriptorBudget::here(options.concurrency, options.per_host, hosts);
        Ok(Fetcher {
            http: client::build(&options, budget.idle_per_host)?,
            hosts: Hosts::new(
                options.per_host,
                options.per_host_spacing,
                options.hosts.clone(),
            ),
            retry: RetryPolicy::new(options.retries),
            archive_retry: RetryPolicy::new(0),
            in_flight: tokio::sync::Semaphore::new(budget.concurrency.max(1)),
            proxied: options.proxy.is_some() || client::proxy_in_environment(),
            budget,
            options,
        })
    }

    /// Requests in flight at most: `--concurrency`, or fewer when
    /// descriptors are short.
    pub fn concurrency(&self) -> usize {
        self.budget.concurrency
    }

    /// Items under way at once in the concurrent stage ([`stage()`]): a few
    /// times the requests in flight, since an item may be waiting for its
    /// host or backing off; bounded, for memory.
    pub fn admitted(&self) -> usize {
        self.budget.concurrency.saturating_mul(4)
    }

    /// The stage's lane for a request to `url` (`None`: no request, a
    /// local file): its host, and as many at once as the host allows.
    pub fn lane(&self, url: Option<&Url>) -> Lane<Option<hosts::HostKey>> {
        match url {
            Some(url) => Lane {
                key: Some(hosts::HostKey::of(url)),
                limit: self.hosts.limit_for(url),
            },
            None => Lane {
                key: None,
                limit: self.admitted(),
            },
        }
    }

    pub fn options(&self) -> &NetOptions {
        &self.options
    }

    /// The Referer policy a request to `url` starts with (see
    /// [`NetOptions::referer_for`]).
    pub fn referer_for(&self, url: &Url) -> &Referer {
        self.options.referer_for(url)
    }

    /// Downloads `url` into a temporary file in `dir`, retrying transient
    /// failures. With `validators`, the request is conditional and a 304
    /// gives a [`Download`] without a body.
    pub async fn download(
        &self,
        url: &Url,
        dir: &Path,
        validators: Option<&Validators>,
        ask: &RequestOptions,
    ) -> Result<Result<Download, Failure>, IoError> {
        let request = Request {
            url,
            head: false,
            validators,
            ask,
            sink: Sink::Store(dir),
        };
        Ok(self.with_retries(request).await?.map(|(got, attempts)| {
            let answer = got.answer(attempts);
            let body = match got.body {
                Some(Received::Stored(ingested)) => Some(ingested),
                _ => None,
            };
            Download { answer, body }
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
        ask: &RequestOptions,
    ) -> Result<Result<Probe, Failure>, IoError> {
        let head_first = !hash && validators.is_none();
        if head_first {
            let head = Request {
                url,
                head: true,
                validators: None,
                ask,
                sink: Sink::Discard,
            };
            match self.with_retries(head).await? {
                Ok((got, attempts)) => return Ok(Ok(got.probe(attempts))),
                Err(failure) if failure.http_status.is_none() => return Ok(Err(failure)),
                Err(_) => {}
            }
        }
        let get = Request {
            url,
            head: false,
            validators,
            ask,
            sink: Sink::Discard,
        };
        Ok(self
            .with_retries(get)
            .await?
            .map(|(got, attempts)| got.probe(attempts)))
    }

    async fn with_retries(
        &self,
        request: Request<'_>,
    ) -> Result<Result<(Attempted, u32), Failure>, IoError> {
        // A web archive's refusals (429, 503) are the archive's to pace,
        // shared by every lookup to it (see `acquire::archives`), not
        // retried lookup by lookup.
        let policy = if request.ask.to_archive {
            &self.archive_retry
        } else {
            &self.retry
        };
        policy.run(fastrand::f64, || self.attempt(request)).await
    }

    /// One attempt: the request and its redirects, the status, the body.
    async fn attempt(&self, req: Request<'_>) -> Result<Attempted, AttemptError<IoError>> {
        // The host's slot, then a place among the run's requests in
        // flight; both held for the request and its whole body.
        let slot = self.hosts.acquire(req.url).await;
        // Never closed: `None` would only mean going without the limit.
        let _in_flight = self.in_flight.acquire().await.ok();
        let response = self.follow(req).await?;
        let status = response.status();
        let got = |body| Attempted {
            requested: req.url.clone(),
            final_url: without_userinfo(response.url()),
            http_status: status.as_u16(),
            validators: Validators::of(response.headers()),
            memento_datetime: response
                .headers()
                .get("memento-datetime")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok()),
            body,
        };
        if status == StatusCode::NOT_MODIFIED && req.validators.is_some() {
            return Ok(got(None));
        }
        if status.is_redirection() {
            // A 3xx that is not a redirect to follow (300, an unasked 304,
            // one without a Location).
            let refusal = unfollowed_redirect(status, response.headers(), response.url());
            return Err(AttemptFailure::with_status(
                FailureKind::Redirect(refusal),
                status.as_u16(),
            )
            .into());
        }
        if !status.is_success() {
            let mut failure = AttemptFailure::new(FailureKind::from_status(status.as_u16()));
            failure.retry_after = retry::retry_after(response.headers());
            // A host that says it is overwhelmed is asked more slowly by
            // every request of the run, not only by this one's retries. (A
            // web archive paces its own lookups.)
            if matches!(status.as_u16(), 429 | 503) && !req.ask.to_archive {
                slot.slow_down(failure.retry_after);
            }
            return Err(failure.into());
        }
        slot.answered();
        if req.head {
            return Ok(got(None));
        }
        let max = self.options.max_bytes;
        if response.content_length().is_some_and(|len| len > max) {
            return Err(AttemptFailure::with_status(
                FailureKind::TooLarge { max },
                status.as_u16(),
            )
            .into());
        }
        let head = got(None);
        let body = transfer::receive(response, req.sink, max).await?;
        Ok(Attempted {
            body: Some(body),
            ..head
        })
    }
}

impl Fetcher {
    /// Sends the request and follows its redirects, hop by hop: at most
    /// [`MAX_REDIRECTS`], only to http(s), never to an address
    /// [`address::refused`] refuses. `--header` values go only to the host
    /// the post named, never across a redirect to another host; a host
    /// rule's headers only to the hosts it names; a Referer only with the
    /// first request, never on a redirect.
    async fn follow(&self, req: Request<'_>) -> Result<reqwest::Response, AttemptFailure> {
        let origin = hosts::HostKey::of(req.url);
        let mut url = req.url.clone();
        let mut from: Option<Url> = None;
        // The class of the hop that redirected here: where its answer
        // really came from.
        let mut from_reach: Option<address::Reach> = None;
        let mut hops = 0;
        loop {
            let refuse = || AttemptFailure::new(FailureKind::PrivateAddress);
            if address::refused(&url, from_reach, self.options.deny_private) {
                return Err(refuse());
            }
            if let Some(from_reach) = from_reach
                && self.redirect_resolves_into_refused(&url, from_reach).await
            {
                return Err(refuse());
            }
            let mut request = if req.head {
                self.http.head(url.clone())
            } else {
                self.http.get(url.clone())
            };
            if hosts::HostKey::of(&url) == origin && !req.ask.to_archive {
                for (name, value) in &self.options.headers {
                    request = request.header(name, value);
                }
            }
            if let Some(rule) = self.hosts.rules().for_url(&url)
                && rule.headers_go_to(&url, req.url)
            {
                for (name, value) in &rule.headers {
                    request = request.header(name, value);
                }
            }
            if from.is_none() {
                if let Some(referer) = &req.ask.referer {
                    request = request.header(header::REFERER, referer);
                }
                if let Some(when) = &req.ask.accept_datetime {
                    request = request.header("accept-datetime", when);
                }
            }
            if let Some(v) = req.validators {
                if let Some(etag) = &v.etag {
                    request = request.header(header::IF_NONE_MATCH, etag);
                }
                if let Some(date) = &v.last_modified {
                    request = request.header(header::IF_MODIFIED_SINCE, date);
                }
            }
            let response = request
                .send()
                .await
                .map_err(|err| AttemptFailure::new(failure::from_send(&err)))?;
            let here = self.answered_from(&response);
            // A name that resolved otherwise when it was connected to.
            if from_reach.is_some_and(|from| address::redirect_refused(from, here)) {
                return Err(refuse());
            }
            let Some(next) = redirect_target(&response) else {
                return Ok(response);
            };
            let status = response.status().as_u16();
            if !matches!(next.scheme(), "http" | "https") {
                let refusal = RedirectRefusal::Scheme(next.scheme().to_string());
                return Err(AttemptFailure::with_status(
                    FailureKind::Redirect(refusal),
                    status,
                ));
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                let refusal = RedirectRefusal::TooMany { max: MAX_REDIRECTS };
                return Err(AttemptFailure::with_status(
                    FailureKind::Redirect(refusal),
                    status,
                ));
            }
            // Credentials a server put in a Location are not sent on (nor
            // recorded).
            from = Some(std::mem::replace(&mut url, without_userinfo(&next)));
            from_reach = Some(here);
        }
    }

    /// Whether a redirect to `url`, a name, from a hop of class `from`
    /// would reach a refused address: the name is resolved and every
    /// address it gives is checked (one bad address is enough: a name
    /// can answer otherwise when connected to). Through a proxy, which
    /// resolves names itself, only literal addresses are checked.
    async fn redirect_resolves_into_refused(&self, url: &Url, from: address::Reach) -> bool {
        if self.proxied || address::literal(url).is_some() {
            return false;
        }
        let Some(url::Host::Domain(name)) = url.host() else {
            return false;
        };
        // A name that does not resolve fails when it is asked, as usual.
        let Ok(addrs) = client::lookup(name).await else {
            return false;
        };
        addrs
            .iter()
            .any(|a| address::redirect_refused(from, address::Reach::of(a.ip())))
    }

    /// The class of the address an answer came from: the connection's
    /// peer; through a proxy, what the URL alone says (a name counts as
    /// outside the machine).
    fn answered_from(&self, response: &reqwest::Response) -> address::Reach {
        let literal = address::literal(response.url());
        match (self.proxied, response.remote_addr()) {
            (false, Some(peer)) => address::Reach::of(peer.ip()),
            _ => literal.unwrap_or(address::Reach::Public),
        }
    }
}

/// Where a redirect leads: a 301, 302, 303, 307 or 308 with a Location
/// that resolves against the response's URL.
fn redirect_target(response: &reqwest::Response) -> Option<Url> {
    if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.headers().get(header::LOCATION)?.to_str().ok()?;
    response.url().join(location).ok()
}

/// A URL without its user name and password: a server's Location may hold
/// credentials, which are never recorded or printed.
fn without_userinfo(url: &Url) -> Url {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

impl Attempted {
    fn answer(&self, attempts: u32) -> Answer {
        Answer {
            requested: self.requested.clone(),
            final_url: self.final_url.clone(),
            http_status: self.http_status,
            attempts,
            validators: self.validators.clone(),
            at: SystemTime::now(),
            memento_datetime: self.memento_datetime,
        }
    }

    fn probe(self, attempts: u32) -> Probe {
        let digest = self.body.as_ref().map(|b| b.digest());
        Probe {
            answer: self.answer(attempts),
            not_modified: self.http_status == 304,
            sha256: digest.map(|d| d.sha256.clone()),
            format: digest.map(|d| crate::sniff::sniff(&d.head)),
        }
    }
}

/// Why a 3xx that reached us was not followed.
fn unfollowed_redirect(status: StatusCode, headers: &HeaderMap, from: &Url) -> RedirectRefusal {
    let location = headers.get(header::LOCATION).and_then(|v| v.to_str().ok());
    match location.map(|l| from.join(l)) {
        Some(Ok(to)) if !matches!(to.scheme(), "http" | "https") => {
            RedirectRefusal::Scheme(to.scheme().to_string())
        }
        Some(_) => RedirectRefusal::NotFollowed(status.as_u16()),
        None => RedirectRefusal::NoLocation(status.as_u16()),
    }
}
