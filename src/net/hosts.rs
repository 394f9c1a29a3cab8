//! Per-host settings and limits. A config file's `[hosts."…"]` tables
//! become [`HostRules`]: a Referer policy, headers sent to that host only,
//! and its own limits. [`Hosts`] enforces the limits: at most `--per-host`
//! (or the host's `concurrency`) requests in flight to one host, and at
//! least the host's `request_interval` between two of its requests. The
//! run-wide `--concurrency` is taken after a host's slot, by the fetcher
//! (see [`super::stage()`] for why in that order).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

use super::referer::Referer;

/// A host as limits see it: its name (or address) and port, so
/// `http://a.example` and `https://a.example` are two hosts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostKey(String);

impl HostKey {
    pub fn of(url: &Url) -> HostKey {
        HostKey(format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        ))
    }
}

/// Which hosts a `[hosts."…"]` table is for: one host (`mmbiz.qpic.cn`),
/// or a domain and its subdomains (`*.sinaimg.cn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    Domain(String),
}

impl std::str::FromStr for HostPattern {
    type Err = String;
    /// `img.example.com`, `*.example.com` (or `.example.com`, as NO_PROXY
    /// writes it) for a domain and its subdomains, `localhost.` (its
    /// trailing dot dropped), an IDN (`例子.中国`, as its punycode), or an
    /// address (`[::1]` in brackets). A port, a scheme or a path is refused
    /// with a message: rules name hosts, whatever the port.
    fn from_str(s: &str) -> Result<HostPattern, String> {
        let refuse = |why: &str| {
            Err(format!(
                "`{s}` is not a host: {why} (give a name like `img.example.com`, or `*.example.com` for a domain and its subdomains)"
            ))
        };
        let trimmed = s.trim();
        let (domain, name) = match trimmed
            .strip_prefix("*.")
            .or_else(|| trimmed.strip_prefix('.'))
        {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        if name.contains("://") || name.contains('/') {
            return refuse("no scheme or path");
        }
        let bracketed = name.starts_with('[');
        if !bracketed && name.contains(':') || bracketed && !name.ends_with(']') {
            return refuse("no port: a rule is for a host whatever its port");
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name.contains("..") || name.contains(' ') {
            return refuse("not a name");
        }
        // What a URL's host becomes: lower case, IDNs as punycode (an
        // ASCII pattern is kept as written: `*.0.0.1` is a suffix, not an
        // address to parse).
        let host = if name.is_ascii() {
            let valid = name.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '[' | ']' | ':')
            });
            if !valid {
                return refuse("not a name");
            }
            name.to_ascii_lowercase()
        } else {
            match url::Host::parse(name) {
                Ok(host) => host.to_string(),
                Err(_) => return refuse("not a name"),
            }
        };
        Ok(if domain {
            HostPattern::Domain(host)
        } else {
            HostPattern::Exact(host)
        })
    }
}

impl HostPattern {
    /// How closely this pattern names `host`: `None` when it does not; an
    /// exact name beats any domain, a longer domain a shorter one.
    fn closeness(&self, host: &str) -> Option<usize> {
        match self {
            HostPattern::Exact(name) => (host == name).then_some(usize::MAX),
            HostPattern::Domain(domain) => {
                let sub = host
                    .strip_suffix(domain.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'));
                sub.then_some(domain.len())
            }
        }
    }
}

/// The settings of one `[hosts."…"]` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostRule {
    /// The Referer policy to start with (else `--referer`).
    pub referer: Option<Referer>,
    /// Sent to this host only, on every hop that reaches it.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// In flight to this host at most (instead of `--per-host`).
    pub concurrency: Option<usize>,
    /// At least this long between the starts of two requests to it.
    pub request_interval: Option<Duration>,
    /// Send the headers over plain http too (`insecure = true`): by
    /// default a rule's headers (a Cookie, a token) go only over https.
    pub insecure: bool,
}

impl HostRule {
    /// Whether this rule's headers go with a request to `url`, reached
    /// from the request to `first` (the URL the post named): only over
    /// https unless the rule says `insecure`, and never across a change of
    /// scheme or port (curl's CVE-2022-27776).
    pub(crate) fn headers_go_to(&self, url: &Url, first: &Url) -> bool {
        let secure = url.scheme() == "https" || self.insecure;
        let same = url.scheme() == first.scheme()
            && url.port_or_known_default() == first.port_or_known_default();
        secure && same
    }
}

/// Every `[hosts."…"]` table, looked up by host name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostRules(Vec<(HostPattern, HostRule)>);

impl HostRules {
    pub fn new(rules: Vec<(HostPattern, HostRule)>) -> HostRules {
        HostRules(rules)
    }

    /// The rule for `url`'s host: the exact one, else the closest domain.
    /// A rule names hosts, whatever the scheme or port.
    pub fn for_url(&self, url: &Url) -> Option<&HostRule> {
        let host = url.host_str()?.to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        self.0
            .iter()
            .filter_map(|(pattern, rule)| pattern.closeness(host).map(|c| (c, rule)))
            .max_by_key(|(c, _)| *c)
            .map(|(_, rule)| rule)
    }
}

/// The spacing a host that answered 429 or 503 gets at least, and at
/// most however often it answers so: each such answer doubles it, and
/// each answer that is not one takes a quarter off again, down to what it
/// was.
const SLOWED_SPACING: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));

/// One host's limits.
#[derive(Debug)]
struct Limit {
    slots: Arc<Semaphore>,
    pace: Mutex<Pace>,
}

/// When a host's requests may start.
#[derive(Debug)]
struct Pace {
    /// The spacing the run or the host's rule gives.
    base: Option<Duration>,
    /// The least time between two request starts now: more than `base`
    /// while the host is slowed down.
    interval: Option<Duration>,
    /// When the next request may start.
    next_start: Option<Instant>,
}

/// Every host's limits, made on first use.
#[derive(Debug)]
pub(crate) struct Hosts {
    per_host: usize,
    /// The spacing of a host whose rule gives no `request_interval`.
    spacing: Option<Duration>,
    rules: HostRules,
    limits: Mutex<HashMap<HostKey, Arc<Limit>>>,
}

/// A request's place at its host: held for the request and its whole body.
/// What the host answers is told through it ([`Slot::slow_down`],
/// [`Slot::answered`]): no second lookup of the host per request.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
    limit: Arc<Limit>,
}

impl Slot {
    /// The host answered 429 or 503: its requests start twice as far
    /// apart as before (a quarter of a second at least, 5 s at most, a
    /// rule's longer interval kept), and none before its `Retry-After`.
    pub(crate) fn slow_down(&self, retry_after: Option<Duration>) {
        let mut pace = self.limit.pace.lock().unwrap_or_else(|e| e.into_inner());
        let (least, most) = SLOWED_SPACING;
        let now = pace.interval.unwrap_or_default();
        pace.interval = Some((now * 2).clamp(least, most).max(now));
        if let Some(wait) = retry_after {
            let not_before = Instant::now() + wait;
            pace.next_start = Some(pace.next_start.map_or(not_before, |at| at.max(not_before)));
        }
    }

    /// The host answered, not with 429 or 503: a slowed host's spacing
    /// loses a quarter, back to its own.
    pub(crate) fn answered(&self) {
        let mut pace = self.limit.pace.lock().unwrap_or_else(|e| e.into_inner());
        if pace.interval == pace.base {
            return;
        }
        let eased = pace.interval.map(|i| i * 3 / 4);
        pace.interval = match (eased, pace.base) {
            (Some(i), Some(base)) if i > base => Some(i),
            (Some(i), None) if i >= SLOWED_SPACING.0 => Some(i),
            _ => pace.base,
        };
    }
}

impl Hosts {
    pub(crate) fn new(per_host: usize, spacing: Option<Duration>, rules: HostRules) -> Hosts {
        Hosts {
            per_host: per_host.max(1),
            spacing,
            rules,
            limits: Mutex::new(HashMap::new()),
        }
    }

    fn limit(&self, url: &Url) -> Arc<Limit> {
        let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        limits
            .entry(HostKey::of(url))
            .or_insert_with(|| {
                let rule = self.rules.for_url(url);
                let base = rule.and_then(|r| r.request_interval).or(self.spacing);
                Arc::new(Limit {
                    slots: Arc::new(Semaphore::new(self.limit_for(url))),
                    pace: Mutex::new(Pace {
                        base,
                        interval: base,
                        next_start: None,
                    }),
                })
            })
            .clone()
    }

    pub(crate) fn rules(&self) -> &HostRules {
        &self.rules
    }

    /// Requests in flight to `url`'s host at most: its rule's
    /// `concurrency`, else `--per-host`.
    pub(crate) fn limit_for(&self, url: &Url) -> usize {
        self.rules
            .for_url(url)
            .and_then(|r| r.concurrency)
            .unwrap_or(self.per_host)
            .max(1)
    }

    /// Waits for a slot to `url`'s host, and then for its request
    /// interval to have passed since the previous request started. The
    /// slot is held until dropped.
    pub(crate) async fn acquire(&self, url: &Url) -> Slot {
        let limit = self.limit(url);
        // `None` only if the semaphore were closed, which nothing does.
        let permit = limit.slots.clone().acquire_owned().await.ok();
        // Each request reserves its start time, so requests waiting
        // together still start an interval apart (and none before a
        // `Retry-After`).
        let start = {
            let mut pace = limit.pace.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let start = pace.next_start.map_or(now, |at| at.max(now));
            if let Some(interval) = pace.interval {
                pace.next_start = Some(start + interval);
            }
            start
        };
        if start > Instant::now() {
            tokio::time::sleep_until(start).await;
        }
        Slot {
            _permit: permit,
            limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    fn rule(concurrency: Option<usize>, interval_ms: Option<u64>) -> HostRule {
        HostRule {
            concurrency,
            request_interval: interval_ms.map(Duration::from_millis),
            ..HostRule::default()
        }
    }

    #[test]
    fn a_host_is_its_name_and_port() {
        assert_eq!(
            HostKey::of(&url("https://a.example/x")),
            HostKey::of(&url("https://a.example:443/y"))
        );
        assert_ne!(
            HostKey::of(&url("http://a.example/")),
            HostKey::of(&url("https://a.example/"))
        );
    }

    #[test]
    fn an_exact_host_beats_a_domain_and_a_longer_domain_a_shorter_one() {
        let with = |c| rule(Some(c), None);
        let rules = HostRules::new(vec![
            ("*.example.com".parse().unwrap(), with(1)),
            ("*.img.example.com".parse().unwrap(), with(2)),
            ("a.img.example.com".parse().unwrap(), with(3)),
        ]);
        let got = |s| rules.for_url(&url(s)).and_then(|r| r.concurrency);
        assert_eq!(got("https://a.img.example.com/x"), Some(3));
        assert_eq!(got("https://b.img.example.com/x"), Some(2));
        assert_eq!(got("https://IMG.example.com:8080/x"), Some(2));
        assert_eq!(got("https://example.com/x"), Some(1));
        assert_eq!(got("https://www.example.com/x"), Some(1));
        assert_eq!(got("https://badexample.com/x"), None);
        assert_eq!(got("https://example.com.evil/x"), None);
    }

    #[test]
    fn host_patterns_refuse_urls_and_paths() {
        for bad in [
            "https://a.example",
            "a.example/x",
            "",
            "*.",
            "a..b",
            "a b",
            "a.example:8080",
        ] {
            assert!(bad.parse::<HostPattern>().is_err(), "{bad:?}");
        }
        let port = "a.example:8080".parse::<HostPattern>().unwrap_err();
        assert!(port.contains("no port"), "{port}");
    }

    #[test]
    fn host_patterns_in_their_conventional_forms_match() {
        let pattern = |s: &str| s.parse::<HostPattern>().expect(s);
        assert_eq!(
            pattern(".example.org"),
            HostPattern::Domain("example.org".into())
        );
        assert_eq!(
            pattern("localhost."),
            HostPattern::Exact("localhost".into())
        );
        assert_eq!(pattern("[::1]"), HostPattern::Exact("[::1]".into()));
        let idn = pattern("例子.中国");
        let rules = HostRules::new(vec![(idn, rule(Some(1), None))]);
        assert!(rules.for_url(&url("https://例子.中国/a.png")).is_some());
        assert_eq!(
            "*.SinaImg.cn".parse::<HostPattern>(),
            Ok(HostPattern::Domain("sinaimg.cn".into()))
        );
    }

    #[tokio::test]
    async fn at_most_per_host_in_flight_to_one_host_others_unaffected() {
        let hosts = Hosts::new(2, None, HostRules::default());
        let a = url("https://a.example/");
        let first = hosts.acquire(&a).await;
        let _second = hosts.acquire(&a).await;
        let third = hosts.acquire(&a);
        tokio::pin!(third);
        assert!(
            futures::poll!(third.as_mut()).is_pending(),
            "a third request to a host waits"
        );
        let _other = hosts.acquire(&url("https://b.example/")).await;
        drop(first);
        assert!(futures::poll!(third.as_mut()).is_ready());
    }

    #[tokio::test]
    async fn a_host_rule_concurrency_overrides_per_host() {
        let rules = HostRules::new(vec![("slow.example".parse().unwrap(), rule(Some(1), None))]);
        let hosts = Hosts::new(8, None, rules);
        let slow = url("https://slow.example/");
        let _first = hosts.acquire(&slow).await;
        let second = hosts.acquire(&slow);
        tokio::pin!(second);
        assert!(futures::poll!(second.as_mut()).is_pending());
        // Other hosts keep --per-host.
        let fast = url("https://fast.example/");
        let _a = hosts.acquire(&fast).await;
        let _b = hosts.acquire(&fast).await;
    }

    #[tokio::test(start_paused = true)]
    async fn requests_to_a_host_start_at_least_its_interval_apart() {
        let rules = HostRules::new(vec![(
            "*.cdn.example".parse().unwrap(),
            rule(None, Some(500)),
        )]);
        let hosts = Arc::new(Hosts::new(8, None, rules));
        let begin = Instant::now();
        let starts = futures::future::join_all((0..4).map(|i| {
            let hosts = hosts.clone();
            async move {
                let _slot = hosts
                    .acquire(&url(&format!("https://a.cdn.example/{i}")))
                    .await;
                Instant::now() - begin
            }
        }))
        .await;
        let mut starts: Vec<u128> = starts.iter().map(|d| d.as_millis()).collect();
        starts.sort();
        assert_eq!(starts, vec![0, 500, 1000, 1500]);
        // A host without an interval is not held back.
        let free = Instant::now();
        for _ in 0..3 {
            drop(hosts.acquire(&url("https://other.example/")).await);
        }
        assert_eq!(Instant::now(), free);
    }

    /// Starts of `n` requests to `path`'s host made together, in ms from
    /// the first.
    async fn starts(hosts: &Arc<Hosts>, base: &str, n: usize) -> Vec<u128> {
        let begin = Instant::now();
        let starts = futures::future::join_all((0..n).map(|i| {
            let hosts = hosts.clone();
            let u = url(&format!("{base}{i}"));
            async move {
                let _slot = hosts.acquire(&u).await;
                Instant::now() - begin
            }
        }))
        .await;
        let mut starts: Vec<u128> = starts.iter().map(|d| d.as_millis()).collect();
        starts.sort();
        starts
    }

    /// `check` asked 3,000 requests a second of one host: the run's
    /// spacing holds for every host, and a host's rule wins over it.
    #[tokio::test(start_paused = true)]
    async fn check_sends_thousands_of_requests_a_second_to_one_host() {
        let rules = HostRules::new(vec![(
            "fast.example".parse().unwrap(),
            rule(None, Some(10)),
        )]);
        let hosts = Arc::new(Hosts::new(8, Some(Duration::from_millis(100)), rules));
        assert_eq!(
            starts(&hosts, "https://cdn.example/", 4).await,
            vec![0, 100, 200, 300]
        );
        assert_eq!(
            starts(&hosts, "https://fast.example/", 3).await,
            vec![0, 10, 20]
        );
    }

    /// A host that answered 429 was asked as fast as before: its
    /// requests now start twice as far apart (250 ms at least), none before
    /// its Retry-After, and answers that are not 429/503 ease it back.
    #[tokio::test(start_paused = true)]
    async fn a_host_that_answers_429_is_asked_as_fast_as_before() {
        let hosts = Arc::new(Hosts::new(
            8,
            Some(Duration::from_millis(100)),
            HostRules::default(),
        ));
        let cdn = url("https://cdn.example/x");
        let first = hosts.acquire(&cdn).await;
        first.slow_down(Some(Duration::from_secs(2)));
        drop(first);
        assert_eq!(
            starts(&hosts, "https://cdn.example/", 3).await,
            vec![2000, 2250, 2500],
            "Retry-After waited out, then 250 ms apart"
        );
        hosts.acquire(&cdn).await.slow_down(None);
        let doubled = starts(&hosts, "https://cdn.example/", 3).await;
        assert_eq!(doubled[2] - doubled[1], 500, "doubled again");
        let slot = hosts.acquire(&cdn).await;
        for _ in 0..5 {
            slot.answered();
        }
        drop(slot);
        let eased = starts(&hosts, "https://cdn.example/", 3).await;
        assert_eq!(
            eased[2] - eased[1],
            119,
            "500 ms eased by a quarter five times: 118.7 ms"
        );
        let slot = hosts.acquire(&cdn).await;
        for _ in 0..5 {
            slot.answered();
        }
        drop(slot);
        let back = starts(&hosts, "https://cdn.example/", 3).await;
        assert_eq!(back[2] - back[1], 100, "back to the run's spacing");
        // Another host is not slowed.
        assert_eq!(
            starts(&hosts, "https://other.example/", 2).await,
            vec![0, 100]
        );
    }
}
