//! The one concurrent stage of an archive run: every job, at most
//! `--concurrency` at once (and `--per-host` per host, inside the
//! fetcher). A body is stored under its sha256 as soon as it is complete;
//! its thumbnail is spawned onto the CPU pool while downloads go on, and
//! awaited at the end.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use tokio::task::JoinHandle;

use super::plan::{Job, Source};
use super::{ArchiveError, ArchiveSettings, collapse};
use crate::acquire::{Acquired, Acquirer, Obtained, judge};
use crate::digest::Sha256;
use crate::manifest::{Capture, Kind, Referer};
use crate::net::hosts::HostKey;
use crate::net::{self, Answer, Failure, FailureKind, Fetcher, RequestOptions};
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
    pub home: Arc<Path>,
    /// Dimensions and thumbnail, for images.
    pub image: Option<ImageInfo>,
    /// Whether this run wrote the file (it was not in the folder before).
    pub written: bool,
}

impl Stored {
    /// `assets/<sha256>.<ext>` for images and media, `.rotproof/pages/...`
    /// for links: relative to a post folder.
    pub(super) fn path(&self) -> String {
        let folder = Layout::CURRENT.folder_for(self.kind);
        format!("{folder}/{}.{}", self.sha256, self.ext)
    }
}

/// How a stored body was fetched.
#[derive(Debug)]
pub(super) struct Acquisition {
    pub answer: Answer,
    /// The Referer policy that got it.
    pub referer: Referer,
    /// The web archive capture the bytes came from, the origin being gone.
    pub recovered: Option<Capture>,
}

/// What came of one job.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Stored; `fetch` is `None` for a local file.
    Stored {
        stored: Stored,
        fetch: Option<Box<Acquisition>>,
    },
    /// 304 on `--refresh`: the archived file stays.
    NotModified(Box<Answer>),
    /// `--links check` and reachable, with the Referer policy it was
    /// asked with.
    Alive(Box<Answer>, Referer),
    Failed(Failure),
}

/// Runs every job, then the collapse rule over what they got; returns
/// each job's outcome by key.
pub(super) async fn fetch_all(
    jobs: Vec<Job>,
    settings: &ArchiveSettings,
    progress: &dyn Progress,
) -> Result<HashMap<String, Outcome>, ArchiveError> {
    // A re-run over an intact archive fetches nothing: no HTTP client (its
    // TLS roots are a few percent of such a run) and no thumbnail pool,
    // but the network flags are checked all the same.
    if jobs.is_empty() {
        net::client::check(&settings.net)?;
        return Ok(HashMap::new());
    }
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
    let acquirer = Acquirer::new(fetcher, settings.rules.clone(), settings.archives.clone());
    // Shared with the collapse rule, which looks some of them up after.
    let mut jobs: Vec<Arc<Job>> = jobs.into_iter().map(Arc::new).collect();
    // Collected in place, this Vec of pointers would keep the jobs' own
    // buffer (150 bytes a job) for the whole stage.
    jobs.shrink_to_fit();
    let acquirer = &acquirer;
    let fetcher = acquirer.fetcher();
    let mut stream = net::stage(
        jobs.clone(),
        fetcher.admitted(),
        |job| fetcher.lane(job.remote_url()),
        |job| async move {
            let key = job.key.clone();
            (key, run_job(&job, acquirer).await)
        },
    );
    let mut outcomes = HashMap::with_capacity(jobs.len());
    let mut thumbs = Thumbs::new(pool.clone());
    while let Some((key, result)) = stream.next().await {
        let (outcome, thumb) = result?;
        let bytes = match &outcome {
            Outcome::Stored { stored, .. } => stored.bytes,
            _ => 0,
        };
        progress.done(&key, bytes);
        if let Some(request) = thumb {
            thumbs.request(key.clone(), request);
        }
        outcomes.insert(key, outcome);
    }
    drop(stream);
    thumbs.finish(&mut outcomes).await;
    collapse::apply(&jobs, &mut outcomes, acquirer, &pool).await?;
    Ok(outcomes)
}

/// A thumbnail to make: of the stored file `asset`, into `thumbs_dir`.
#[derive(Debug)]
pub(super) struct ThumbRequest {
    asset: PathBuf,
    sha256: Sha256,
    thumbs_dir: PathBuf,
    settings: thumbnail::Settings,
}

/// The run's thumbnails, made on the CPU pool while downloads go on:
/// one per content, however many URLs answered that content (a post of
/// 20,000 URLs of one spacer makes one thumbnail) and however many post
/// folders store it (each other folder gets the file linked).
pub(super) struct Thumbs {
    pool: Arc<thumbnail::Pool>,
    made: HashMap<(Sha256, thumbnail::Settings), usize>,
    /// Each thumbnail being made, and the folder it is made in.
    running: Vec<(JoinHandle<ImageInfo>, PathBuf)>,
    /// Each job's key, the thumbnail it waits for, and where it wants it.
    waiting: Vec<(String, usize, PathBuf)>,
}

impl Thumbs {
    pub(super) fn new(pool: Arc<thumbnail::Pool>) -> Thumbs {
        Thumbs {
            pool,
            made: HashMap::new(),
            running: Vec::new(),
            waiting: Vec::new(),
        }
    }

    /// `key`'s outcome gets this thumbnail, started now unless the same
    /// one is already on its way.
    pub(super) fn request(&mut self, key: String, req: ThumbRequest) {
        let at = (req.sha256.clone(), req.settings);
        let next = self.running.len();
        let index = *self.made.entry(at).or_insert(next);
        self.waiting.push((key, index, req.thumbs_dir.clone()));
        if index == next {
            let pool = self.pool.clone();
            let dir = req.thumbs_dir.clone();
            self.running.push((
                tokio::spawn(async move {
                    pool.make(req.asset, req.sha256, req.thumbs_dir, req.settings)
                        .await
                }),
                dir,
            ));
        }
    }

    /// Waits for every thumbnail, links each into the other folders that
    /// want it, and puts each into its outcomes.
    pub(super) async fn finish(self, outcomes: &mut HashMap<String, Outcome>) {
        let mut infos = Vec::with_capacity(self.running.len());
        for (handle, dir) in self.running {
            let info = handle
                .await
                .unwrap_or_else(|_| ImageInfo::for_now("thumbnail task failed"));
            infos.push((info, dir));
        }
        for (key, index, wanted) in self.waiting {
            let (Some(Outcome::Stored { stored, .. }), Some((info, made_in))) =
                (outcomes.get_mut(&key), infos.get(index))
            else {
                continue;
            };
            let mut info = info.clone();
            if let Ok(thumb) = &info.thumb
                && *made_in != wanted
            {
                let from = made_in.join(&thumb.file_name);
                let to = wanted.clone();
                let (name, sha) = (thumb.file_name.clone(), thumb.sha256.clone());
                let linked = tokio::task::spawn_blocking(move || {
                    store::copy_into(&from, &to.join(name), &sha)
                })
                .await;
                if !matches!(linked, Ok(Ok(()))) {
                    // Made again by the next run.
                    info = ImageInfo::for_now("thumbnail not copied into the post folder");
                }
            }
            stored.image = Some(info);
        }
    }
}

pub(super) type JobResult = Result<(Outcome, Option<ThumbRequest>), ArchiveError>;

async fn run_job(job: &Job, acquirer: &Acquirer) -> JobResult {
    // Where the body lands first: where the kind's files are kept, so the
    // rename that stores it stays in one folder.
    let assets = job.post.home.join(Layout::CURRENT.folder_for(job.kind));
    let fetcher = acquirer.fetcher();
    let max = fetcher.options().max_bytes;
    match &job.source {
        Source::Remote(url) if job.check_only => {
            // `--links check`: only whether it answers. HEAD first, GET
            // when HEAD is refused, as `rotproof check` does; no body is
            // downloaded or stored.
            let policy = fetcher.referer_for(url).clone();
            let referer = policy.header(url, job.post.source_url.as_ref());
            let outcome = match fetcher
                .probe(url, None, false, &RequestOptions::with_referer(referer))
                .await?
            {
                Ok(probe) => Outcome::Alive(Box::new(probe.answer), policy),
                Err(failure) => Outcome::Failed(failure),
            };
            Ok((outcome, None))
        }
        Source::Remote(url) => match acquirer.acquire(&job.want(url), None, &assets).await? {
            Acquired::Body(got) => store_body(job, *got).await,
            Acquired::NotModified(answer) => Ok((Outcome::NotModified(answer), None)),
            Acquired::Failed(failure) => Ok((Outcome::Failed(failure), None)),
        },
        Source::Local(file) => {
            let (file, dir) = (file.clone(), assets.clone());
            let copied = tokio::task::spawn_blocking(move || ingest_local(&file, &dir, max))
                .await
                .map_err(|e| IoError::new(&job.post.home, std::io::Error::other(e)))?;
            let body = match copied {
                Ok(body) => body,
                Err(IngestError::TooLarge(_)) => {
                    let failure = Failure::without_request(FailureKind::TooLarge { max });
                    return Ok((Outcome::Failed(failure), None));
                }
                Err(IngestError::Io(err)) => return Err(err.into()),
            };
            let format = sniff::sniff(&body.digest.head);
            if let Some(kind) = judge::wrong_kind(job.kind, &format) {
                return Ok((Outcome::Failed(Failure::without_request(kind)), None));
            }
            store_stored(job, body, format, None).await
        }
    }
}

/// Stores what was obtained (see [`store_stored`]).
pub(super) async fn store_body(job: &Job, got: Obtained) -> JobResult {
    let Obtained {
        body,
        format,
        answer,
        referer,
        recovered,
    } = got;
    let fetch = Acquisition {
        answer,
        referer,
        recovered,
    };
    store_stored(job, body, format, Some(Box::new(fetch))).await
}

/// Stores a body under its sha256 in the job's home; the thumbnail it
/// needs, if any (see [`Thumbs`]).
async fn store_stored(
    job: &Job,
    body: Ingested,
    format: Format,
    fetch: Option<Box<Acquisition>>,
) -> JobResult {
    let kind = job.kind;
    let mut stored = Stored {
        sha256: body.digest.sha256.clone(),
        ext: format.ext,
        bytes: body.digest.bytes,
        media_type: format.media_type,
        kind,
        home: job.post.home.clone(),
        image: None,
        written: false,
    };
    let asset = job.post.home.join(stored.path());
    // Re-hashing an existing file, syncing and renaming block: off the
    // async workers.
    let path = asset.clone();
    let written = tokio::task::spawn_blocking(move || store::persist_content(body, &path))
        .await
        .map_err(|e| IoError::new(&asset, std::io::Error::other(e)))?;
    stored.written = match written {
        Ok(written) => written,
        // A small body gets its file only now: out of descriptors is this
        // resource's failure, as it is when a download's file is made.
        Err(err) if crate::net::descriptors::exhausted(&err.source) => {
            let failure = Failure::without_request(FailureKind::OutOfDescriptors);
            return Ok((Outcome::Failed(failure), None));
        }
        Err(err) => return Err(err.into()),
    };
    let decision = if job.thumbnail {
        thumbnail::decide(&format, kind)
    } else {
        thumbnail::Plan::NotAnImage
    };
    let (stored, thumb) = match decision {
        thumbnail::Plan::Render => {
            let request = ThumbRequest {
                asset,
                sha256: stored.sha256.clone(),
                thumbs_dir: job.post.home.join(Layout::CURRENT.thumbs()),
                settings: job.post.thumbs,
            };
            (stored, Some(request))
        }
        thumbnail::Plan::Without(reason) => (
            Stored {
                image: Some(ImageInfo::failed(&reason)),
                ..stored
            },
            None,
        ),
        thumbnail::Plan::NotAnImage => (stored, None),
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
    Incoming::new(assets, max).copy_from(src, file)
}
