//! Web archives: getting back what is already gone. A resource that is
//! gone (see [`crate::net::FailureKind::is_gone`]) is looked up, closest
//! to the post's date, in the Wayback Machine ([`wayback`]: the `id_`
//! replay gives the original bytes) and/or a Memento TimeGate
//! ([`memento`], RFC 7089: an aggregator or a self-hosted pywb). The
//! capture's bytes are checked like any download by the caller.
//!
//! Archives are asked only about resources that are gone, never about one
//! that answered, and at most [`IN_FLIGHT`] requests at a time go to each
//! (they rate-limit readily; a 429 is retried after its Retry-After like
//! any other).

pub(crate) mod memento;
pub(crate) mod wayback;

use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
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

/// A web archive lost resources are looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebArchive {
    /// The Wayback Machine's `id_` replay.
    Wayback,
    /// A Memento TimeGate (RFC 7089).
    Memento,
}

impl WebArchive {
    pub fn as_str(self) -> &'static str {
        match self {
            WebArchive::Wayback => "wayback",
            WebArchive::Memento => "memento",
        }
    }
}

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

/// The archives a run asks, with their endpoints and limits.
#[derive(Debug)]
pub struct WebArchives {
    order: Vec<WebArchive>,
    wayback: Url,
    timegate: Url,
    wayback_slots: Semaphore,
    timegate_slots: Semaphore,
}

impl WebArchives {
    pub fn new(order: Vec<WebArchive>, wayback: Url, timegate: Url) -> WebArchives {
        WebArchives {
            order,
            wayback,
            timegate,
            wayback_slots: Semaphore::new(IN_FLIGHT),
            timegate_slots: Semaphore::new(IN_FLIGHT),
        }
    }

    /// The archives, in the order they are asked.
    pub fn order(&self) -> &[WebArchive] {
        &self.order
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
        let slots = match archive {
            WebArchive::Wayback => &self.wayback_slots,
            WebArchive::Memento => &self.timegate_slots,
        };
        // Never closed: `None` would only mean asking without the limit.
        let _slot = slots.acquire().await.ok();
        match archive {
            WebArchive::Wayback => wayback::replay(fetcher, &self.wayback, url, when, into).await,
            WebArchive::Memento => memento::replay(fetcher, &self.timegate, url, when, into).await,
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
