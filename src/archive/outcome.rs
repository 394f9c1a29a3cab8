//! What came of one job ([`Outcome`]): a body stored under its sha256 in
//! the job's post folder, with the thumbnail it needs made on the CPU pool
//! ([`Thumbs`]) while downloads go on. The concurrent stage
//! ([`super::execute`]) and the collapse rule ([`super::collapse`]) both
//! store through here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::task::JoinHandle;

use super::ArchiveError;
use super::plan::{Job, JobId};
use crate::acquire::Obtained;
use crate::digest::Sha256;
use crate::manifest::{Capture, Kind, Original, Referer};
use crate::net::{Answer, Failure, FailureKind};
use crate::sniff::Format;
use crate::store::{self, Ingested, IoError, Layout};
use crate::thumbnail::{self, ImageInfo};

/// A stored file, in its home folder.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub sha256: Sha256,
    pub ext: &'static str,
    pub bytes: u64,
    pub media_type: &'static str,
    pub kind: Kind,
    /// The folder of the post folder it is in (`assets/`, `.rotproof/pages/`).
    pub folder: &'static str,
    pub home: Arc<Path>,
    /// The bytes as fetched, when the file the post shows is not them (an
    /// SVG published without its scripts).
    pub original: Option<Original>,
    /// Dimensions and thumbnail, for images.
    pub image: Option<ImageInfo>,
    /// Whether this run wrote the file (it was not in the folder before).
    pub written: bool,
}

impl Stored {
    /// `assets/<sha256>.<ext>` for images, media and local files,
    /// `.rotproof/pages/...` for remote links: relative to a post folder.
    pub(super) fn path(&self) -> String {
        format!("{}/{}.{}", self.folder, self.sha256, self.ext)
    }

    /// The sha256 of the bytes as fetched.
    pub(super) fn fetched_sha256(&self) -> &Sha256 {
        self.original.as_ref().map_or(&self.sha256, |o| &o.sha256)
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
    /// Stored; `fetch` is `None` for a local file. (Boxed: a run holds
    /// one outcome per resource, most of them small.)
    Stored {
        stored: Box<Stored>,
        fetch: Option<Box<Acquisition>>,
    },
    /// 304 on `--refresh`: the archived file stays.
    NotModified(Box<Answer>),
    /// `--links check` and reachable, with the Referer policy it was
    /// asked with.
    Alive(Box<Answer>, Referer),
    Failed(Failure),
}

/// Each job's outcome, by [`JobId`]: an index, where a map by key would
/// hold a copy of every URL and a table twice the run's size.
#[derive(Debug, Default)]
pub(super) struct Outcomes {
    by_job: Vec<Option<Outcome>>,
}

impl Outcomes {
    /// Room for `jobs` outcomes, none there yet.
    pub(super) fn with_jobs(jobs: usize) -> Outcomes {
        Outcomes {
            by_job: std::iter::repeat_with(|| None).take(jobs).collect(),
        }
    }

    pub(super) fn set(&mut self, id: JobId, outcome: Outcome) {
        if let Some(slot) = self.by_job.get_mut(id.index()) {
            *slot = Some(outcome);
        }
    }

    pub(super) fn get(&self, id: JobId) -> Option<&Outcome> {
        self.by_job.get(id.index())?.as_ref()
    }

    pub(super) fn get_mut(&mut self, id: JobId) -> Option<&mut Outcome> {
        self.by_job.get_mut(id.index())?.as_mut()
    }

    /// Takes the outcome out: its last reader drops it.
    pub(super) fn take(&mut self, id: JobId) -> Option<Outcome> {
        self.by_job.get_mut(id.index())?.take()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (JobId, &Outcome)> {
        self.by_job
            .iter()
            .enumerate()
            .filter_map(|(i, o)| Some((JobId::at(i), o.as_ref()?)))
    }
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
/// folders store it (each other folder gets a copy of the file).
pub(super) struct Thumbs {
    pool: Arc<thumbnail::Pool>,
    made: HashMap<(Sha256, thumbnail::Settings), usize>,
    /// Each thumbnail being made, and the folder it is made in.
    running: Vec<(JoinHandle<ImageInfo>, PathBuf)>,
    /// Each job, the thumbnail it waits for, and where it wants it.
    waiting: Vec<(JobId, usize, PathBuf)>,
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

    /// `job`'s outcome gets this thumbnail, started now unless the same
    /// one is already on its way.
    pub(super) fn request(&mut self, job: JobId, req: ThumbRequest) {
        let at = (req.sha256.clone(), req.settings);
        let next = self.running.len();
        let index = *self.made.entry(at).or_insert(next);
        self.waiting.push((job, index, req.thumbs_dir.clone()));
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

    /// Waits for every thumbnail, copies each into the other folders that
    /// want it, and puts each into its outcomes.
    pub(super) async fn finish(self, outcomes: &mut Outcomes) {
        let mut infos = Vec::with_capacity(self.running.len());
        for (handle, dir) in self.running {
            let info = handle
                .await
                .unwrap_or_else(|_| ImageInfo::for_now("thumbnail task failed"));
            infos.push((info, dir));
        }
        for (job, index, wanted) in self.waiting {
            let (Some(Outcome::Stored { stored, .. }), Some((info, made_in))) =
                (outcomes.get_mut(job), infos.get(index))
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

/// Stores what was obtained (see [`store_stored`]).
pub(super) async fn store_body(job: &Job<'_>, got: Obtained) -> JobResult {
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
pub(super) async fn store_stored(
    job: &Job<'_>,
    body: Ingested,
    format: Format,
    fetch: Option<Box<Acquisition>>,
) -> JobResult {
    let kind = job.kind;
    let folder = job.folder();
    let home = job.post.home.clone();
    // Re-hashing an existing file, sanitising, syncing and renaming
    // block: off the async workers.
    let persisted =
        tokio::task::spawn_blocking(move || store::persist_in(body, &home, folder, format.ext))
            .await
            .map_err(|e| IoError::new(&job.post.home, std::io::Error::other(e)))?;
    let persisted = match persisted {
        Ok(persisted) => persisted,
        // A small body gets its file only now: out of descriptors is this
        // resource's failure, as it is when a download's file is made.
        Err(err) if crate::net::descriptors::exhausted(&err.source) => {
            let failure = Failure::without_request(FailureKind::OutOfDescriptors);
            return Ok((Outcome::Failed(failure), None));
        }
        Err(err) => return Err(err.into()),
    };
    let (sha256, bytes) = persisted.served;
    let stored = Stored {
        sha256,
        ext: format.ext,
        bytes,
        media_type: format.media_type,
        kind,
        folder,
        home: job.post.home.clone(),
        original: persisted.original.map(|(sha256, bytes)| Original {
            path: format!("{}/{sha256}.{}", Layout::CURRENT.originals(), format.ext),
            sha256,
            bytes,
        }),
        image: None,
        written: persisted.written,
    };
    let asset = job.post.home.join(stored.path());
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
    Ok((
        Outcome::Stored {
            stored: Box::new(stored),
            fetch,
        },
        thumb,
    ))
}
