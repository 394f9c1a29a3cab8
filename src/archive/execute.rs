//! The one concurrent stage of an archive run: every job, at most
//! `--concurrency` at once (and `--per-host` per host, inside the
//! fetcher). A body is stored under its sha256 as soon as it is complete;
//! its thumbnail is spawned onto the CPU pool while downloads go on, and
//! awaited at the end.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use tokio::task::JoinHandle;

use super::obtain::{self, Asking, Got, Obtained};
use super::plan::{Job, Source};
use super::{ArchiveError, Settings, collapse};
use crate::digest::Sha256;
use crate::manifest::{Kind, Recovered, Referer};
use crate::net::hosts::HostKey;
use crate::net::{self, Answer, Ask, Failure, FailureKind, Fetcher};
use crate::progress::Progress;
use crate::sniff::{self, Format};
use crate::store::{self, Incoming, IngestError, Ingested, IoError, Layout};
use crate::thumbnail::{self, ImageInfo};

/// A stored file, in its home folder.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub sha256: Sha256,
    pub ext: &'static str,
    pub bytes: u64,
    pub media_type: &'static str,
    pub kind: Kind,
    pub home: PathBuf,
    /// Dimensions and thumbnail, for images.
    pub image: Option<ImageInfo>,
    /// Whether this run wrote the file (it was not in the folder before).
    pub written: bool,
}

impl Stored {
    /// `assets/<sha256>.<ext>` for images and media, `.rotproof/pages/...`
    /// for links: relative to a post folder.
    pub fn path(&self) -> String {
        let folder = Layout::CURRENT.folder_for(self.kind);
        format!("{folder}/{}.{}", self.sha256, self.ext)
    }
}

/// How a stored body was fetched.
#[derive(Debug)]
pub(super) struct Fetch {
    pub answer: Answer,
    /// The Referer policy that got it.
    pub referer: Referer,
    /// The web archive capture the bytes came from, the origin being gone.
    pub recovered: Option<Recovered>,
}

/// What came of one job.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Stored; `fetch` is `None` for a local file.
    Stored {
        stored: Stored,
        fetch: Option<Box<Fetch>>,
    },
    /// 304 on `--refresh`: the archived file stays.
    NotModified(Answer),
    /// `--links check` and reachable, with the Referer policy it was
    /// asked with.
    Alive(Answer, Referer),
    Failed(Failure),
}

/// Runs every job, then the collapse rule over what they got; returns
/// each job's outcome by key.
pub(super) async fn fetch_all(
    jobs: Vec<Job>,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<HashMap<String, Outcome>, ArchiveError> {
    let hosts: std::collections::HashSet<HostKey> = jobs
        .iter()
        .filter_map(|j| match &j.source {
            Source::Remote(url) => Some(HostKey::of(url)),
            Source::Local(_) => None,
        })
        .collect();
    let fetcher = Arc::new(Fetcher::new(settings.net.clone(), hosts.len())?);
    let pool = Arc::new(thumbnail::Pool::new().map_err(|e| {
        IoError::new(
            std::path::Path::new("thumbnail pool"),
            std::io::Error::other(e),
        )
    })?);
    let rules = settings.rules.clone();
    // Shared with the collapse rule, which looks some of them up after.
    let jobs: Vec<Arc<Job>> = jobs.into_iter().map(Arc::new).collect();
    let mut stream = net::stage(jobs.clone(), fetcher.concurrency(), |job| {
        let (fetcher, pool, rules) = (fetcher.clone(), pool.clone(), rules.clone());
        let archives = settings.archives.clone();
        async move {
            let key = job.key.clone();
            let ask = Asking {
                fetcher: &fetcher,
                rules: &rules,
                archives: &archives,
                placeholder: None,
            };
            (key, run_job(&job, ask, pool).await)
        }
    });
    let mut outcomes = HashMap::new();
    let mut pending_thumbs: Vec<(String, JoinHandle<ImageInfo>)> = Vec::new();
    while let Some((key, result)) = stream.next().await {
        let (outcome, thumb) = result?;
        let bytes = match &outcome {
            Outcome::Stored { stored, .. } => stored.bytes,
            _ => 0,
        };
        progress.done(&key, bytes);
        if let Some(handle) = thumb {
            pending_thumbs.push((key.clone(), handle));
        }
        outcomes.insert(key, outcome);
    }
    drop(stream);
    await_thumbs(&mut outcomes, pending_thumbs).await;
    let ask = Asking {
        fetcher: &fetcher,
        rules: &rules,
        archives: &settings.archives,
        placeholder: None,
    };
    collapse::apply(&jobs, &mut outcomes, ask, &pool).await?;
    Ok(outcomes)
}

/// Puts each finished thumbnail into its job's outcome.
pub(super) async fn await_thumbs(
    outcomes: &mut HashMap<String, Outcome>,
    pending: Vec<(String, JoinHandle<ImageInfo>)>,
) {
    for (key, handle) in pending {
        let info = handle
            .await
            .unwrap_or_else(|_| ImageInfo::for_now("thumbnail task failed"));
        if let Some(Outcome::Stored { stored, .. }) = outcomes.get_mut(&key) {
            stored.image = Some(info);
        }
    }
}

pub(super) type JobResult = Result<(Outcome, Option<JoinHandle<ImageInfo>>), ArchiveError>;

async fn run_job(job: &Job, ask: Asking<'_>, pool: Arc<thumbnail::Pool>) -> JobResult {
    // Where the body lands first: where the kind's files are kept, so the
    // rename that stores it stays in one folder.
    let assets = job.home.join(Layout::CURRENT.folder_for(job.kind));
    let max = ask.fetcher.options().max_bytes;
    match &job.source {
        Source::Remote(url) if job.check_only => {
            // `--links check`: only whether it answers. HEAD first, GET
            // when HEAD is refused, as `rotproof check` does; no body is
            // downloaded or stored.
            let policy = ask.fetcher.referer_for(url).clone();
            let referer = policy.header(url, job.source_url.as_ref());
            let outcome = match ask
                .fetcher
                .probe(url, None, false, &Ask::with_referer(referer))
                .await?
            {
                Ok(probe) => Outcome::Alive(probe.answer, policy),
                Err(failure) => Outcome::Failed(failure),
            };
            Ok((outcome, None))
        }
        Source::Remote(url) => match obtain::remote(job, url, ask, &assets).await? {
            Got::Body(got) => store_body(job, *got, pool).await,
            Got::NotModified(answer) => Ok((Outcome::NotModified(*answer), None)),
            Got::Failed(failure) => Ok((Outcome::Failed(failure), None)),
        },
        Source::Local(file) => {
            let (file, dir) = (file.clone(), assets.clone());
            let copied = tokio::task::spawn_blocking(move || ingest_local(&file, &dir, max))
                .await
                .map_err(|e| IoError::new(&job.home, std::io::Error::other(e)))?;
            let body = match copied {
                Ok(body) => body,
                Err(IngestError::TooLarge(_)) => {
                    let failure = Failure::without_request(FailureKind::TooLarge { max });
                    return Ok((Outcome::Failed(failure), None));
                }
                Err(IngestError::Io(err)) => return Err(err.into()),
            };
            let format = sniff::sniff(&body.digest.head);
            if let Some(kind) = obtain::wrong_kind(job.kind, &format) {
                return Ok((Outcome::Failed(Failure::without_request(kind)), None));
            }
            store_stored(job, body, format, None, pool).await
        }
    }
}

/// Stores what was obtained (see [`store_stored`]).
pub(super) async fn store_body(job: &Job, got: Obtained, pool: Arc<thumbnail::Pool>) -> JobResult {
    let Obtained {
        body,
        format,
        answer,
        referer,
        recovered,
    } = got;
    let fetch = Fetch {
        answer,
        referer,
        recovered,
    };
    store_stored(job, body, format, Some(Box::new(fetch)), pool).await
}

/// Stores a body under its sha256 in the job's home, and starts its
/// thumbnail on the CPU pool.
async fn store_stored(
    job: &Job,
    body: Ingested,
    format: Format,
    fetch: Option<Box<Fetch>>,
    pool: Arc<thumbnail::Pool>,
) -> JobResult {
    let kind = job.kind;
    let mut stored = Stored {
        sha256: body.digest.sha256.clone(),
        ext: format.ext,
        bytes: body.digest.bytes,
        media_type: format.media_type,
        kind,
        home: job.home.clone(),
        image: None,
        written: false,
    };
    let asset = job.home.join(stored.path());
    // Re-hashing an existing file, syncing and renaming block: off the
    // async workers.
    let path = asset.clone();
    stored.written = tokio::task::spawn_blocking(move || store::persist_content(body, &path))
        .await
        .map_err(|e| IoError::new(&asset, std::io::Error::other(e)))??;
    let decision = if job.thumbnail {
        thumbnail::decide(&format, kind)
    } else {
        thumbnail::Decision::NotAnImage
    };
    let (stored, thumb) = match decision {
        thumbnail::Decision::Render => {
            let thumbs_dir = job.home.join(Layout::CURRENT.thumbs());
            let sha = stored.sha256.clone();
            let settings = job.thumbs;
            let handle =
                tokio::spawn(async move { pool.make(asset, sha, thumbs_dir, settings).await });
            (stored, Some(handle))
        }
        thumbnail::Decision::Without(reason) => (
            Stored {
                image: Some(ImageInfo::failed(&reason)),
                ..stored
            },
            None,
        ),
        thumbnail::Decision::NotAnImage => (stored, None),
    };
    Ok((Outcome::Stored { stored, fetch }, thumb))
}

/// Copies a local asset into the store's incoming file in `assets`.
fn ingest_local(
    file: &std::path::Path,
    assets: &std::path::Path,
    max: u64,
) -> Result<Ingested, IngestError> {
    let src = std::fs::File::open(file).map_err(store::at(file))?;
    // A file over the cap is refused before a byte is copied.
    if src.metadata().is_ok_and(|m| m.len() > max) {
        return Err(IngestError::TooLarge(crate::digest::OverCap { max }));
    }
    Incoming::new(assets, max)?.copy_from(src, file)
}
