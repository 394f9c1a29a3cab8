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

use super::ArchiveError;
use super::plan::{Job, Source};
use crate::digest::Sha256;
use crate::manifest::Kind;
use crate::net::hosts::HostKey;
use crate::net::{self, Answer, Failure, FailureKind, Fetcher, NetOptions};
use crate::progress::Progress;
use crate::sniff::{self, Class};
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
}

impl Stored {
    /// `assets/<sha256>.<ext>` for images and media, `.rotproof/pages/...`
    /// for links: relative to a post folder.
    pub fn path(&self) -> String {
        let folder = Layout::CURRENT.folder_for(self.kind);
        format!("{folder}/{}.{}", self.sha256, self.ext)
    }
}

/// What came of one job.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Stored; `answer` is `None` for a local file.
    Stored {
        stored: Stored,
        answer: Option<Answer>,
    },
    /// 304 on `--refresh`: the archived file stays.
    NotModified(Answer),
    /// `--links check` and reachable.
    Alive(Answer),
    Failed(Failure),
}

/// Runs every job; returns each one's outcome by key.
pub(super) async fn fetch_all(
    jobs: Vec<Job>,
    net: &NetOptions,
    progress: &dyn Progress,
) -> Result<HashMap<String, Outcome>, ArchiveError> {
    let hosts: std::collections::HashSet<HostKey> = jobs
        .iter()
        .filter_map(|j| match &j.source {
            Source::Remote(url) => Some(HostKey::of(url)),
            Source::Local(_) => None,
        })
        .collect();
    let fetcher = Arc::new(Fetcher::new(net.clone(), hosts.len())?);
    let pool = Arc::new(thumbnail::Pool::new().map_err(|e| {
        IoError::new(
            std::path::Path::new("thumbnail pool"),
            std::io::Error::other(e),
        )
    })?);
    let mut stream = net::stage(jobs, fetcher.concurrency(), |job| {
        let (fetcher, pool) = (fetcher.clone(), pool.clone());
        async move {
            let key = job.key.clone();
            (key, run_job(job, &fetcher, pool).await)
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
    for (key, handle) in pending_thumbs {
        let info = handle
            .await
            .unwrap_or_else(|_| ImageInfo::for_now("thumbnail task failed"));
        if let Some(Outcome::Stored { stored, .. }) = outcomes.get_mut(&key) {
            stored.image = Some(info);
        }
    }
    Ok(outcomes)
}

type JobResult = Result<(Outcome, Option<JoinHandle<ImageInfo>>), ArchiveError>;

async fn run_job(job: Job, fetcher: &Fetcher, pool: Arc<thumbnail::Pool>) -> JobResult {
    // Where the body lands first: where the kind's files are kept, so the
    // rename that stores it stays in one folder.
    let assets = job.home.join(Layout::CURRENT.folder_for(job.kind));
    let max = fetcher.options().max_bytes;
    let (body, answer) = match &job.source {
        Source::Remote(url) if job.check_only => {
            // `--links check`: only whether it answers. HEAD first, GET
            // when HEAD is refused, as `rotproof check` does; no body is
            // downloaded or stored.
            let outcome = match fetcher.probe(url, None, false).await? {
                Ok(probe) => Outcome::Alive(probe.answer),
                Err(failure) => Outcome::Failed(failure),
            };
            return Ok((outcome, None));
        }
        Source::Remote(url) => {
            let fetched = match fetcher
                .download(url, &assets, job.validators.as_ref())
                .await?
            {
                Ok(fetched) => fetched,
                Err(failure) => return Ok((Outcome::Failed(failure), None)),
            };
            match fetched.body {
                None => return Ok((Outcome::NotModified(fetched.answer), None)),
                Some(body) => (body, Some(fetched.answer)),
            }
        }
        Source::Local(file) => {
            let (file, dir) = (file.clone(), assets.clone());
            let copied = tokio::task::spawn_blocking(move || ingest_local(&file, &dir, max))
                .await
                .map_err(|e| IoError::new(&job.home, std::io::Error::other(e)))?;
            match copied {
                Ok(body) => (body, None),
                Err(IngestError::TooLarge(_)) => {
                    let failure = Failure::without_request(FailureKind::TooLarge { max });
                    return Ok((Outcome::Failed(failure), None));
                }
                Err(IngestError::Io(err)) => return Err(err.into()),
            }
        }
    };
    let format = sniff::sniff(&body.digest.head);
    // What is shown must be what it claims: a hotlink-protection page
    // served with 200 is not the image.
    let wrong = match job.kind {
        Kind::Image if !format.is_image() && format.class != Class::Media => {
            Some(FailureKind::NotAnImage {
                media_type: format.media_type,
            })
        }
        Kind::Media if format.class != Class::Media && !format.is_image() => {
            Some(FailureKind::NotMedia {
                media_type: format.media_type,
            })
        }
        _ => None,
    };
    if let Some(kind) = wrong {
        let failure = Failure {
            kind,
            http_status: answer.as_ref().map(|a| a.http_status),
            attempts: answer.as_ref().map_or(0, |a| a.attempts),
        };
        return Ok((Outcome::Failed(failure), None));
    }
    let kind = job.kind;
    let stored = Stored {
        sha256: body.digest.sha256.clone(),
        ext: format.ext,
        bytes: body.digest.bytes,
        media_type: format.media_type,
        kind,
        home: job.home.clone(),
        image: None,
    };
    let asset = job.home.join(stored.path());
    // Re-hashing an existing file, syncing and renaming block: off the
    // async workers.
    let path = asset.clone();
    tokio::task::spawn_blocking(move || store::persist_content(body, &path))
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
    Ok((Outcome::Stored { stored, answer }, thumb))
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
