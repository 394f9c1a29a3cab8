//! `check`: re-requests the original URL of every resource of archived
//! posts and records whether it is alive, changed, dead or recovered.
//!
//! A URL shared by several posts is requested once per run, in the same
//! concurrent stage as archiving uses ([`net::stage`]). Each post's
//! manifest gets one check record per checked resource, written atomically
//! (a killed run leaves every manifest valid), at most [`MAX_CHECKS`] kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use reqwest::header::HeaderValue;
use url::Url;

mod evidence;
pub(crate) mod formats;
mod mementos;

use crate::acquire::Acquirer;
use crate::acquire::archives::WebArchives;
use crate::config::Rules;
use crate::errors::{self, PostError};
use crate::manifest::{
    Check, Entry, Kind, Manifest, ManifestError, PostInfo, RepairLinks, Status, Timestamp, Verdict,
};
use crate::net::hosts::HostKey;
use crate::net::{
    self, Failure, FailureKind, Fetcher, NetOptions, Probe, RequestOptions, SetupError, Validators,
};
use crate::progress::Progress;
use crate::runner::{Interrupted, Runner};
use crate::store::{self, IoError, Layout, OpenError, PostDir};

/// Check records kept per resource.
pub(crate) const MAX_CHECKS: usize = 100;

#[derive(Debug, Clone)]
pub(crate) struct CheckSettings {
    /// Skip resources checked more recently than this.
    pub stale_after: Option<Duration>,
    /// Store the new content of changed resources as a new version
    /// (`--repair --refresh`).
    pub keep_versions: bool,
    pub net: NetOptions,
    /// The config's rules: placeholders tell `dead` from `changed`.
    pub rules: Arc<Rules>,
    /// Where `--repair` looks up what is dead.
    pub archives: Arc<WebArchives>,
    /// `--repair --repair-links`; `None` without `--repair`: then no
    /// archive is asked anything.
    pub repair_links: Option<RepairLinks>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    #[error("{}: no archived post here (no manifest.json in it or in its folders)", .0.display())]
    NothingArchived(PathBuf),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Ctrl-C: a cause of its own, so the printer finds it in the chain.
    #[error("stopped")]
    Interrupted(#[from] Interrupted),
}

/// One checked resource of one post.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Row {
    /// The post's source path (as `archive` was given it, from where
    /// `check` runs): what an annotation or a report names.
    pub post: String,
    /// The first line of the post where the URL is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Every line of the post where the URL is written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<usize>,
    pub url: String,
    pub result: Verdict,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// For dead resources: when the current run of dead checks began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_since: Option<Timestamp>,
    /// For dead resources: whether the reader is still served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served: Option<Served>,
    /// Whether the resource's state changed since the previous check: newly
    /// dead, newly changed, recovered (`--new` lists only these).
    pub new: bool,
}

/// Whether a dead resource's reader is still served: what tells a dead
/// link that costs nothing from one that is gone for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Served {
    /// An archived copy, or a web archive's memento, serves it.
    Kept,
    /// Nothing does.
    Lost,
}

impl Served {
    /// A dead entry is kept when rotproof stored its bytes (the post
    /// shows the copy; a link's copy serves a repair) or a web archive
    /// has it.
    fn of(entry: &Entry) -> Served {
        let stored = entry.status == Status::Archived && entry.path.is_some();
        if stored || entry.memento.is_some() || entry.recovered_from.is_some() {
            Served::Kept
        } else {
            Served::Lost
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Served::Kept => "kept",
            Served::Lost => "lost",
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub(crate) struct VerdictCounts {
    pub alive: usize,
    pub changed: usize,
    /// Dead, kept or lost.
    pub dead: usize,
    /// Dead, with nothing that serves the reader.
    pub lost: usize,
    pub recovered: usize,
    /// Dead or changed since the previous check, or recovered.
    pub new: usize,
    /// Of those, dead.
    pub newly_dead: usize,
}

/// A checked post folder.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub dir: PathBuf,
    /// The post's original bytes, in its folder.
    pub source: PathBuf,
    /// The manifest's `post`, as it was read: how the post was archived.
    pub post: PostInfo,
    /// Resources archived in the manifest.
    pub archived: usize,
    /// A resource that had failed is reachable now (a `--repair`
    /// candidate).
    pub repairable: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct CheckReport {
    pub results: Vec<Row>,
    pub counts: VerdictCounts,
    /// Resources not checked because they were checked recently.
    pub fresh: usize,
    /// Distinct URLs requested.
    pub requested: usize,
    #[serde(skip)]
    pub posts: Vec<Checked>,
    /// Post folders another run held locked: not checked this time.
    pub locked: Vec<PathBuf>,
    /// Post folders that could not be checked (a manifest that does not
    /// read): the others were.
    pub errors: Vec<PostError>,
}

/// Finds the archived post folders an argument names: a post folder, its
/// manifest.json, or an archive root (each folder under it with a
/// manifest).
pub(crate) fn post_dirs(args: &[PathBuf]) -> Result<Vec<PathBuf>, CheckError> {
    let mut out = Vec::new();
    for arg in args {
        let meta = std::fs::metadata(arg).map_err(store::at(arg))?;
        if meta.is_file() {
            out.push(store::folder_of_manifest(arg));
        } else if Layout::detect(arg).is_some() {
            out.push(arg.clone());
        } else {
            // An archive root: every post folder under it, at any depth (a
            // run over a folder keeps its tree), never inside a dot-folder.
            std::fs::read_dir(arg).map_err(store::at(arg))?;
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(arg)
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                })
                .flatten()
                .filter(|e| e.depth() > 0 && e.file_type().is_dir())
                .map(walkdir::DirEntry::into_path)
                .filter(|p| Layout::detect(p).is_some())
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
struct ProbeTarget {
    url: Url,
    validators: Option<Validators>,
    /// Whether the body must be hashed to tell changed from alive.
    hash: bool,
    /// The Referer the archived copy was fetched with (else the one the
    /// settings start with).
    referer: Option<HeaderValue>,
}

/// Checks the posts in `dirs`. Each folder is locked while it is worked on.
pub(crate) fn run(
    dirs: &[PathBuf],
    settings: &CheckSettings,
    progress: &dyn Progress,
    runner: &Runner,
) -> Result<CheckReport, CheckError> {
    let mut posts = Vec::new();
    let mut locked = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        match open(dir) {
            Ok(post) => posts.push(post),
            // Another run (an archive, a check) is working on it: a cron job
            // checks the others, and this one next time.
            Err(CheckError::Open(OpenError::Locked(dir))) => locked.push(dir),
            Err(err) => errors.push(PostError::new(dir, errors::one_line(&err))),
        }
    }
    let (targets, fresh) = targets(&posts, settings);
    let requested = targets.len();
    progress.start(requested);
    let hosts: std::collections::HashSet<HostKey> =
        targets.iter().map(|t| HostKey::of(&t.url)).collect();
    let fetcher = Arc::new(Fetcher::new(settings.net.clone(), hosts.len())?);
    let answers = runner.run(probe_all(&fetcher, targets, progress))??;
    progress.finish();
    let acquirer = Acquirer::new(fetcher, settings.rules.clone(), settings.archives.clone());
    let evidence::Evidence { refused, versions } = runner.run(evidence::gather(
        &posts,
        &answers,
        &acquirer,
        settings.keep_versions,
    ))??;
    let mementos = match settings.repair_links {
        Some(RepairLinks::Archive) => {
            runner.run(mementos::locate(&posts, &answers, &acquirer))??
        }
        _ => HashMap::new(),
    };
    // Its idle connections closed before the manifests are written.
    drop(acquirer);

    let at = Timestamp::now();
    let mut rows = Vec::new();
    let mut checked = Vec::new();
    for (lock, mut manifest) in posts {
        let post = source_path(lock.path(), &manifest.post.source);
        let mut stored_here = false;
        let mut repairable = false;
        // Links a former repair pointed elsewhere go back to their URL
        // when this one says `keep`.
        let repointed = manifest
            .post
            .repair_links
            .is_some_and(|m| m != RepairLinks::Keep);
        for entry in &mut manifest.resources {
            let Some(url) = checkable(entry) else {
                continue;
            };
            let Some(answer) = answers.get(url.as_str()) else {
                continue;
            };
            let row = judge(entry, answer, refused.get(&entry.url), &post, at);
            repairable |= entry.status == Status::Failed && row.result == Verdict::Recovered;
            if let (Some(mode), Verdict::Dead) = (settings.repair_links, row.result) {
                // What is gone may be in a web archive; a dead link is
                // pointed at its memento or copy.
                repairable |=
                    entry.status == Status::Failed && !settings.archives.order().is_empty();
                repairable |= entry.kind == Kind::Link && (mode != RepairLinks::Keep || repointed);
            }
            if let Some(found) = mementos.get(&entry.url) {
                entry.memento = Some(Box::new(found.clone()));
            }
            if row.result == Verdict::Changed
                && let Some(stored) = versions.get(url.as_str())
            {
                stored_here |= entry.add_version(&stored.version, &stored.home, lock.path())?;
            }
            entry.checks.push(Check {
                at,
                result: row.result,
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
            lock.sync_contents()?;
        }
        manifest.write(&lock.manifest_path())?;
        checked.push(Checked {
            dir: lock.path().to_path_buf(),
            source: lock.path().join(lock.layout().source()),
            archived: manifest
                .resources
                .iter()
                .filter(|e| e.status == Status::Archived)
                .count(),
            post: manifest.post,
            repairable,
        });
    }

    // Lost first, then dead and kept, changed, and the rest; stable
    // within each.
    rows.sort_by_key(|r| match (r.result, r.served) {
        (Verdict::Dead, Some(Served::Lost)) => 0,
        (Verdict::Dead, _) => 1,
        (Verdict::Changed, _) => 2,
        (Verdict::Recovered, _) => 3,
        (Verdict::Alive, _) => 4,
    });
    let mut counts = VerdictCounts::default();
    for r in &rows {
        match r.result {
            Verdict::Alive => counts.alive += 1,
            Verdict::Changed => counts.changed += 1,
            Verdict::Dead => counts.dead += 1,
            Verdict::Recovered => counts.recovered += 1,
        }
        if r.served == Some(Served::Lost) {
            counts.lost += 1;
        }
        if r.new {
            counts.new += 1;
            if r.result == Verdict::Dead {
                counts.newly_dead += 1;
            }
        }
    }
    Ok(CheckReport {
        results: rows,
        counts,
        fresh,
        requested,
        posts: checked,
        locked,
        errors,
    })
}

/// Locks a post folder and reads its manifest.
fn open(dir: &Path) -> Result<(PostDir, Manifest), CheckError> {
    let lock = PostDir::open_existing(dir)?;
    lock.remove_leftovers();
    let manifest = Manifest::read(&lock.manifest_path())?
        .ok_or_else(|| CheckError::NothingArchived(dir.to_path_buf()))?;
    Ok((lock, manifest))
}

/// The distinct URLs to request, and how many resources were checked too
/// recently to be checked again.
fn targets(posts: &[(PostDir, Manifest)], settings: &CheckSettings) -> (Vec<ProbeTarget>, usize) {
    let now = SystemTime::now();
    let mut targets: Vec<ProbeTarget> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut fresh = 0;
    for (_, manifest) in posts {
        let source = manifest
            .post
            .source_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok());
        for entry in &manifest.resources {
            add_target(
                entry,
                source.as_ref(),
                settings,
                now,
                &mut targets,
                &mut index,
                &mut fresh,
            );
        }
    }
    (targets, fresh)
}

fn add_target(
    entry: &Entry,
    source: Option<&Url>,
    settings: &CheckSettings,
    now: SystemTime,
    targets: &mut Vec<ProbeTarget>,
    index: &mut HashMap<String, usize>,
    fresh: &mut usize,
) {
    let Some(url) = checkable(entry) else {
        return;
    };
    if is_fresh(entry, settings.stale_after, now) {
        *fresh += 1;
        return;
    }
    let policy = entry
        .referer
        .as_ref()
        .unwrap_or_else(|| settings.net.referer_for(&url));
    let referer = policy.header(&url, source);
    let archived = entry.status == Status::Archived && entry.sha256.is_some();
    let validators = Validators {
        etag: entry.etag.clone(),
        last_modified: entry.last_modified.clone(),
    };
    let conditional = archived && !validators.is_empty();
    let hash = archived && validators.is_empty();
    match index.get(url.as_str()) {
        Some(&i) => targets[i].hash |= hash,
        None => {
            index.insert(url.to_string(), targets.len());
            targets.push(ProbeTarget {
                url,
                validators: conditional.then_some(validators),
                hash,
                referer,
            });
        }
    }
}

/// The concurrent stage: every target probed, answers by URL.
async fn probe_all(
    fetcher: &Fetcher,
    targets: Vec<ProbeTarget>,
    progress: &dyn Progress,
) -> Result<HashMap<String, Result<Probe, Failure>>, IoError> {
    let lane = |t: &ProbeTarget| fetcher.lane(Some(&t.url));
    let mut stream = net::stage(targets, fetcher.admitted(), lane, |target| async move {
        let result = fetcher
            .probe(
                &target.url,
                target.validators.as_ref(),
                target.hash,
                &RequestOptions::with_referer(target.referer.clone()),
            )
            .await;
        (target.url.to_string(), result)
    });
    let mut answers = HashMap::new();
    while let Some((url, result)) = stream.next().await {
        progress.done(&url, 0);
        answers.insert(url, result?);
    }
    Ok(answers)
}

/// Whether an archived entry's URL now answers with other bytes.
fn changed(entry: &Entry, probe: &Probe) -> bool {
    entry.status == Status::Archived
        && !probe.not_modified
        && matches!((&probe.sha256, entry.fetched_sha256()), (Some(now), Some(then)) if now != then)
}

/// The post a folder was archived from, as a path from here: its
/// manifest's `post.source` is relative to the folder's parent (version 1
/// recorded it as given), cleaned of `.` and of `..` where it can be.
fn source_path(dir: &Path, source: &str) -> String {
    let joined = store::parent_or_dot(dir).join(source);
    let source = Path::new(source);
    let path = if source.is_absolute() {
        source
    } else {
        &joined
    };
    let mut clean = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir
                if matches!(
                    clean.components().next_back(),
                    Some(std::path::Component::Normal(_))
                ) =>
            {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean.display().to_string()
}

/// The URL to request for an entry: remote http(s) resources that were
/// archived, failed, or recorded by `--links check`. The one the archived
/// bytes came from (a remap's variant) when it is recorded, so that
/// `changed` compares like with like.
fn checkable(entry: &Entry) -> Option<Url> {
    let url = Url::parse(entry.fetched_url.as_deref().unwrap_or(&entry.url)).ok()?;
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
    now.duration_since(last.at.time())
        .is_ok_and(|age| age < window)
}

/// The verdict for one entry, given the answer for its URL; an answer
/// the judgement refused (a placeholder, an HTML page for an image) is
/// dead, not changed.
fn judge(
    entry: &Entry,
    answer: &Result<Probe, Failure>,
    refused: Option<&FailureKind>,
    post: &str,
    at: Timestamp,
) -> Row {
    let was_failed = entry.status == Status::Failed;
    let was_dead = entry
        .checks
        .last()
        .is_some_and(|c| c.result == Verdict::Dead);
    let (result, http_status, error) = match answer {
        Ok(probe) if refused.is_some() => (
            Verdict::Dead,
            Some(probe.answer.http_status),
            refused.map(FailureKind::to_string),
        ),
        Err(failure) => (
            Verdict::Dead,
            failure.http_status,
            Some(failure.to_string()),
        ),
        Ok(probe) => {
            let verdict = if was_failed || was_dead {
                Verdict::Recovered
            } else if changed(entry, probe) {
                Verdict::Changed
            } else {
                Verdict::Alive
            };
            (verdict, Some(probe.answer.http_status), None)
        }
    };
    let dead_since = (result == Verdict::Dead).then(|| {
        entry
            .checks
            .iter()
            .rev()
            .take_while(|c| c.result == Verdict::Dead)
            .last()
            .map_or(at, |c| c.at)
    });
    let before = entry.checks.last().map(|c| c.result);
    let new = match result {
        Verdict::Recovered => true,
        Verdict::Dead | Verdict::Changed => before != Some(result),
        Verdict::Alive => false,
    };
    Row {
        new,
        post: post.to_string(),
        line: entry.occurrences.iter().map(|o| o.line).min(),
        lines: entry.occurrences.iter().map(|o| o.line).collect(),
        url: entry.url.clone(),
        result,
        http_status,
        error,
        dead_since,
        served: (result == Verdict::Dead).then(|| Served::of(entry)),
    }
}
