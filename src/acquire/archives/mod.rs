//! Web archives: getting back what is already gone. A resource that is
//! gone (see [`crate::net::FailureKind::is_gone`]) is looked up, closest
//! to the post's date, in the Wayback Machine ([`wayback`]: the `id_`
//! replay gives the original bytes) and/or a Memento TimeGate
//! ([`memento`], RFC 7089: an aggregator or a self-hosted pywb). The
//! capture's bytes are checked like any download by the caller.
//!
//! Archives are asked only about resources that are gone, never about one
//! that answered, and at most [`IN_FLIGHT`] requests at a time go to each.
//! They rate-limit readily: a refusal (429, 503) is honoured with one
//! back-off every lookup to that archive shares (its Retry-After), and an
//! archive that keeps refusing is given up for the run ([`Pace`]).

pub(crate) mod memento;
pub(crate) mod wayback;

use std::path::Path;
use std::time::SystemTime;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use url::Url;

use crate::net::{Answer, Fetcher};
use crate::store::{Ingested, IoError};

/// Requests in flight to one web archive at most.
pub(crate) const IN_FLIGHT: usize = 2;

pub(crate) const DEFAULT_WAYBACK: &str = "https://web.archive.org";
pub(crate) const DEFAULT_TIMEGATE: &str = "https://timetravel.mementoweb.org/timegate/";

/// The default endpoints, `(wayback, timegate)`, as URLs.
pub(crate) fn default_endpoints() -> (Url, Url) {
    let parse = |s| Url::parse(s).expect("the default endpoints are valid URLs");
    (parse(DEFAULT_WAYBACK), parse(DEFAULT_TIMEGATE))
}

/// A web archive: a word of the manifest (`recovered_from.archive`).
pub(crate) use crate::manifest::WebArchive;

/// `--archives`: `none`, or archives in the order they are asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveList(pub Vec<WebArchive>);

impl std::str::FromStr for ArchiveList {
    type Err = String;
    fn from_str(s: &str) -> Result<ArchiveList, String> {
        if s.trim() == "none" {
            return Ok(ArchiveList(Vec::new()));
        }
        let mut list = Vec::new();
        for name in s.split(',').map(str::trim) {
            let archive = match name {
                "wayback" => WebArchive::Wayback,
                "memento" => WebArchive::Memento,
                other => {
                    return Err(format!(
                        "`{other}` is not a web archive: give wayback, memento (comma-separated), or none"
                    ));
                }
            };
            if !list.contains(&archive) {
                list.push(archive);
            }
        }
        Ok(ArchiveList(list))
    }
}

impl Default for ArchiveList {
    fn default() -> Self {
        ArchiveList(vec![WebArchive::Wayback])
    }
}

/// A capture replayed by an archive: its bytes (not yet judged), the
/// answer, and the capture itself.
#[derive(Debug)]
pub struct Replay {
    pub body: Ingested,
    pub answer: Answer,
    pub capture: crate::manifest::Capture,
}

/// What one lookup in an archive came to.
#[derive(Debug)]
pub(crate) enum Lookup {
    Found(Box<Replay>),
    /// The archive has no capture (or answered something else).
    None,
    /// The archive refused to answer now (429, 503): its back-off, and
    /// how long it asked for.
    Refused {
        retry_after: Option<Duration>,
    },
}

impl Lookup {
    /// What a failed request to an archive says of it.
    pub(crate) fn failed(failure: &crate::net::Failure) -> Lookup {
        match failure.http_status {
            Some(429 | 503) => Lookup::Refused {
                retry_after: failure.retry_after,
            },
            _ => Lookup::None,
        }
    }
}

/// Consecutive refusals after which an archive is not asked again in the
/// run: hundreds of gone links must not wait a minute each.
const GIVE_UP_AFTER: u32 = 3;
/// The wait after a refusal that names none, doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);

/// One archive's limit and pace: at most [`IN_FLIGHT`] lookups at once;
/// after a refusal every lookup waits the one back-off it asked for; after
/// [`GIVE_UP_AFTER`] refusals in a row, none is made any more.
#[derive(Debug)]
struct Pace {
    slots: Semaphore,
    resume_at: Mutex<Option<tokio::time::Instant>>,
    refusals: AtomicU32,
    given_up: AtomicBool,
}

impl Pace {
    fn new() -> Pace {
        Pace {
            slots: Semaphore::new(IN_FLIGHT),
            resume_at: Mutex::new(None),
            refusals: AtomicU32::new(0),
            given_up: AtomicBool::new(false),
        }
    }

    fn resume_at(&self) -> Option<tokio::time::Instant> {
        *self.resume_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, lookup: &Lookup) {
        let Lookup::Refused { retry_after } = lookup else {
            self.refusals.store(0, Ordering::SeqCst);
            return;
        };
        let n = self.refusals.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= GIVE_UP_AFTER {
            self.given_up.store(true, Ordering::SeqCst);
            return;
        }
        let wait = retry_after
            .unwrap_or(FIRST_BACKOFF * 2u32.saturating_pow(n - 1))
            .min(crate::net::retry::MAX_RETRY_AFTER);
        let at = tokio::time::Instant::now() + wait;
        let mut resume = self.resume_at.lock().unwrap_or_else(|e| e.into_inner());
        *resume = Some(resume.map_or(at, |r| r.max(at)));
    }
}

/// The archives a run asks, with their endpoints and limits.
#[derive(Debug)]
pub struct WebArchives {
    order: Vec<WebArchive>,
    wayback: Url,
    timegate: Url,
    wayback_pace: Pace,
    timegate_pace: Pace,
}

impl WebArchives {
    pub fn new(order: Vec<WebArchive>, wayback: Url, timegate: Url) -> WebArchives {
        WebArchives {
            order,
            wayback,
            timegate,
            wayback_pace: Pace::new(),
            timegate_pace: Pace::new(),
        }
    }

    /// The archives, in the order they are asked.
    pub fn order(&self) -> &[WebArchive] {
        &self.order
    }

    fn pace(&self, archive: WebArchive) -> &Pace {
        match archive {
            WebArchive::Wayback => &self.wayback_pace,
            WebArchive::Memento => &self.timegate_pace,
        }
    }

    /// The archives that kept refusing and were given up for the run.
    pub fn given_up(&self) -> Vec<WebArchive> {
        self.order
            .iter()
            .copied()
            .filter(|a| self.pace(*a).given_up.load(Ordering::SeqCst))
            .collect()
    }

    /// The capture of `url` closest to `when` in `archive`, downloaded
    /// into `into`; `None` when it has none.
    pub async fn replay(
        &self,
        archive: WebArchive,
        fetcher: &Fetcher,
        url: &Url,
        when: SystemTime,
        into: &Path,
    ) -> Result<Option<Replay>, IoError> {
        // A URL's user name and password are nobody else's business: an
        // archive is asked about the URL without them.
        let mut url = url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let url = &url;
        let pace = self.pace(archive);
        // Never closed: `None` would only mean asking without the limit.
        let _slot = pace.slots.acquire().await.ok();
        // A refusal is asked again after the back-off every lookup shares,
        // until the archive has refused too often in a row.
        loop {
            if let Some(at) = pace.resume_at() {
                tokio::time::sleep_until(at).await;
            }
            if pace.given_up.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let lookup = match archive {
                WebArchive::Wayback => {
                    wayback::replay(fetcher, &self.wayback, url, when, into).await?
                }
                WebArchive::Memento => {
                    memento::replay(fetcher, &self.timegate, url, when, into).await?
                }
            };
            pace.record(&lookup);
            match lookup {
                Lookup::Found(replay) => return Ok(Some(*replay)),
                Lookup::None => return Ok(None),
                Lookup::Refused { .. } => {}
            }
        }
    }

    /// The address of the capture of `url` closest to `when` that a reader
    /// should be sent to, without keeping its bytes (for a dead link whose
    /// copy rotproof already has); the first archive that has one.
    pub async fn locate(
        &self,
        fetcher: &Fetcher,
        url: &Url,
        when: SystemTime,
        into: &Path,
    ) -> Result<Option<crate::manifest::Capture>, IoError> {
        for &archive in &self.order {
            if let Some(replay) = self.replay(archive, fetcher, url, when, into).await? {
                return Ok(Some(replay.capture));
            }
        }
        Ok(None)
    }
}
