//! `check`: re-requests the original URL of every resource of archived
//! posts and records whether it is alive, changed, dead or recovered.
//!
//! A URL shared by several posts is requested once per run. Each post's
//! manifest gets one check record per checked resource, written atomically
//! (a killed run leaves every manifest valid), at most [`MAX_CHECKS`] kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use url::Url;

use crate::archive::Progress;
use crate::fetch::{Failure, Fetcher, LocalError, NetOptions, Probe, Validators};
use crate::manifest::{self, Check, Entry, Manifest, ManifestError, Status};
use crate::store::{self, PostDir, StoreError};

/// Check records kept per resource.
pub const MAX_CHECKS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Alive,
    Changed,
    Dead,
    Recovered,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Alive => "alive",
            Verdict::Changed => "changed",
            Verdict::Dead => "dead",
            Verdict::Recovered => "recovered",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Skip resources checked more recently than this.
    pub stale_after: Option<Duration>,
    /// Store the new content of changed resources as a new version
    /// (`--repair --refresh`).
    pub keep_versions: bool,
    pub net: NetOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}: no archived post here (no manifest.json in it or in its folders)")]
    NothingArchived(PathBuf),
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Open(#[from] store::OpenError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Setup(#[from] crate::fetch::SetupError),
}

/// One checked resource of one post.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub post: String,
    pub url: String,
    pub result: Verdict,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// For dead resources: when the current run of dead checks began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_since: Option<String>,
    /// The entry was `failed` in the manifest (a `--repair` candidate).
    #[serde(skip)]
    pub was_failed: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    pub alive: usize,
    pub changed: usize,
    pub dead: usize,
    pub recovered: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub results: Vec<Row>,
    pub counts: Counts,
    /// Resources not checked because they were checked recently.
    pub fresh: usize,
    /// Distinct URLs requested.
    pub requested: usize,
    /// Post folders (for `--repair`).
    #[serde(skip)]
    pub posts: Vec<PathBuf>,
}

impl Report {
    pub fn any_dead(&self) -> bool {
        self.counts.dead > 0
    }
}

/// Finds the archived post folders an argument names: a post folder, its
/// manifest.json, or an archive root (each folder under it with a
/// manifest).
pub fn post_dirs(args: &[PathBuf]) -> Result<Vec<PathBuf>, CheckError> {
    let mut out = Vec::new();
    for arg in args {
        let meta = std::fs::metadata(arg).map_err(|source| CheckError::Read {
            path: arg.clone(),
            source,
        })?;
        if meta.is_file() {
            let parent = arg
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            out.push(parent.to_path_buf());
        } else if arg.join(store::MANIFEST).is_file() {
            out.push(arg.clone());
        } else {
            let mut found: Vec<PathBuf> = std::fs::read_dir(arg)
                .map_err(|source| CheckError::Read {
                    path: arg.clone(),
                    source,
                })?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join(store::MANIFEST).is_file())
                .collect();
            if found.is_empty() {
                return Err(CheckError::NothingArchived(arg.clone()));
            }
            found.sort();
            out.extend(found);
        }
    }
    out.dedup();
    Ok(out)
}

/// What one distinct URL is checked against.
struct Target {
    url: Url,
    validators: Option<Validators>,
    /// Whether the body must be hashed to tell changed from alive.
    hash: bool,
}

/// Checks the posts in `dirs`. Each folder is locked while it is worked on.
pub async fn run(
    dirs: &[PathBuf],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Report, CheckError> {
    let mut posts = Vec::new();
    for dir in dirs {
        let lock = PostDir::open_existing(dir)?;
        lock.remove_leftovers();
        let path = dir.join(store::MANIFEST);
        let manifest =
            Manifest::read(&path)?.ok_or_else(|| CheckError::NothingArchived(dir.clone()))?;
        posts.push((lock, manifest));
    }

    let now = SystemTime::now();
    let mut targets: Vec<Target> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut fresh = 0;
    for (_, manifest) in &posts {
        for entry in &manifest.resources {
            let Some(url) = checkable(entry) else {
                continue;
            };
            if is_fresh(entry, settings.stale_after, now) {
                fresh += 1;
                continue;
            }
            let archived = entry.status == Status::Archived && entry.sha256.is_some();
            let validators = Validators {
                etag: entry.etag.clone(),
                last_modified: entry.last_modified.clone(),
            };
            let has_validators = validators.etag.is_some() || validators.last_modified.is_some();
            match index.get(url.as_str()) {
                Some(&i) => targets[i].hash |= archived && !has_validators,
                None => {
                    index.insert(url.to_string(), targets.len());
                    targets.push(Target {
                        url,
                        validators: (archived && has_validators).then_some(validators),
                        hash: archived && !has_validators,
                    });
                }
            }
        }
    }

    let requested = targets.len();
    progress.start(requested);
    let fetcher = Arc::new(Fetcher::new(settings.net.clone())?);
    // The one concurrent stage; per-host limits are inside the fetcher.
    let mut stream = futures::stream::iter(targets)
        .map(|target| {
            let fetcher = fetcher.clone();
            async move {
                let result = fetcher
                    .probe(&target.url, target.validators.as_ref(), target.hash)
                    .await;
                (target.url.to_string(), result)
            }
        })
        .buffer_unordered(settings.net.concurrency.max(1));
    let mut answers: HashMap<String, Result<Probe, Failure>> = HashMap::new();
    while let Some((url, result)) = stream.next().await {
        progress.done(&url, 0);
        answers.insert(url, result?);
    }
    progress.finish();

    let mut versions = HashMap::new();
    if settings.keep_versions {
        versions = store_changed(&fetcher, &posts, &answers).await?;
    }

    let at = manifest::now();
    let mut rows = Vec::new();
    let mut dirs_out = Vec::new();
    for (lock, mut manifest) in posts {
        let post = manifest.post.slug.clone();
        let mut stored_here = false;
        for entry in &mut manifest.resources {
            let Some(url) = checkable(entry) else {
                continue;
            };
            let Some(answer) = answers.get(url.as_str()) else {
                continue;
            };
            let row = judge(entry, answer, &post, &at);
            if row.result == Verdict::Changed
                && let Some(stored) = versions.get(url.as_str())
            {
                add_version(entry, stored, lock.path())?;
                stored_here = true;
            }
            entry.checks.push(Check {
                at: at.clone(),
                result: row.result.as_str().to_string(),
                http_status: row.http_status,
                error: row.error.clone(),
            });
            let excess = entry.checks.len().saturating_sub(MAX_CHECKS);
            entry.checks.drain(..excess);
            rows.push(row);
        }
        // Only a post given a new version has renames in assets/ to make
        // durable; a plain check writes nothing there.
        if stored_here {
            lock.sync_contents();
        }
        manifest.write(&lock.path().join(store::MANIFEST))?;
        dirs_out.push(lock.path().to_path_buf());
    }

    // Dead and changed first, then the rest; stable within each.
    rows.sort_by_key(|r| match r.result {
        Verdict::Dead => 0,
        Verdict::Changed => 1,
        Verdict::Recovered => 2,
        Verdict::Alive => 3,
    });
    let mut counts = Counts::default();
    for r in &rows {
        match r.result {
            Verdict::Alive => counts.alive += 1,
            Verdict::Changed => counts.changed += 1,
            Verdict::Dead => counts.dead += 1,
            Verdict::Recovered => counts.recovered += 1,
        }
    }
    Ok(Report {
        results: rows,
        counts,
        fresh,
        requested,
        posts: dirs_out,
    })
}

/// New content of a changed URL, stored in its first post's folder.
struct NewVersion {
    version: manifest::Version,
    home: PathBuf,
}

/// Downloads the URLs whose content changed and stores each new content
/// under its sha256, beside the archived one.
async fn store_changed(
    fetcher: &Fetcher,
    posts: &[(PostDir, Manifest)],
    answers: &HashMap<String, Result<Probe, Failure>>,
) -> Result<HashMap<String, NewVersion>, CheckError> {
    let mut out = HashMap::new();
    for (lock, manifest) in posts {
        for entry in &manifest.resources {
            let Some(url) = checkable(entry) else {
                continue;
            };
            let Some(Ok(probe)) = answers.get(url.as_str()) else {
                continue;
            };
            let changed = entry.status == Status::Archived
                && !probe.not_modified
                && probe.sha256.is_some()
                && probe.sha256 != entry.sha256;
            if !changed || out.contains_key(url.as_str()) {
                continue;
            }
            let assets = lock.path().join(store::ASSETS);
            let Ok(fetched) = fetcher.download(&url, &assets, None).await? else {
                continue;
            };
            let Some(body) = fetched.body else { continue };
            let format = crate::sniff::sniff(&body.head);
            let path = format!("{}/{}.{}", store::ASSETS, body.sha256, format.ext);
            store::persist_content(body.file, &lock.path().join(&path), &body.sha256)?;
            out.insert(
                url.to_string(),
                NewVersion {
                    version: manifest::Version {
                        sha256: body.sha256,
                        bytes: body.bytes,
                        media_type: format.media_type.to_string(),
                        path,
                        fetched_at: manifest::now(),
                    },
                    home: lock.path().to_path_buf(),
                },
            );
        }
    }
    Ok(out)
}

/// Records a new version in an entry (once per content) and places its
/// file in the entry's post folder.
fn add_version(entry: &mut Entry, stored: &NewVersion, dir: &Path) -> Result<(), CheckError> {
    let v = &stored.version;
    if entry.sha256.as_deref() == Some(v.sha256.as_str())
        || entry.versions.iter().any(|e| e.sha256 == v.sha256)
    {
        return Ok(());
    }
    store::copy_into(&stored.home.join(&v.path), &dir.join(&v.path), &v.sha256)?;
    entry.versions.push(v.clone());
    Ok(())
}

/// The URL to request for an entry: remote http(s) resources that were
/// archived, failed, or recorded by `--links check`.
fn checkable(entry: &Entry) -> Option<Url> {
    let url = Url::parse(&entry.url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let recorded = entry.status != Status::Skipped || entry.http_status.is_some();
    recorded.then_some(url)
}

fn is_fresh(entry: &Entry, stale_after: Option<Duration>, now: SystemTime) -> bool {
    let (Some(window), Some(last)) = (stale_after, entry.checks.last()) else {
        return false;
    };
    humantime::parse_rfc3339_weak(&last.at)
        .ok()
        .and_then(|at| now.duration_since(at).ok())
        .is_some_and(|age| age < window)
}

/// The verdict for one entry, given the answer for its URL.
fn judge(entry: &Entry, answer: &Result<Probe, Failure>, post: &str, at: &str) -> Row {
    let was_failed = entry.status == Status::Failed;
    let was_dead = entry.checks.last().is_some_and(|c| c.result == "dead");
    let (result, http_status, error) = match answer {
        Err(failure) => (
            Verdict::Dead,
            failure.http_status,
            Some(failure.reason.clone()),
        ),
        Ok(probe) => {
            let changed = entry.status == Status::Archived
                && !probe.not_modified
                && matches!((&probe.sha256, &entry.sha256), (Some(now), Some(then)) if now != then);
            let verdict = if was_failed || was_dead {
                Verdict::Recovered
            } else if changed {
                Verdict::Changed
            } else {
                Verdict::Alive
            };
            (verdict, Some(probe.http_status), None)
        }
    };
    let dead_since = (result == Verdict::Dead).then(|| {
        entry
            .checks
            .iter()
            .rev()
            .take_while(|c| c.result == "dead")
            .last()
            .map_or_else(|| at.to_string(), |c| c.at.clone())
    });
    Row {
        post: post.to_string(),
        url: entry.url.clone(),
        result,
        http_status,
        error,
        dead_since,
        was_failed,
    }
}
