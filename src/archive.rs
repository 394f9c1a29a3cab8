//! Archiving posts: the orchestration of parsing, fetching, storing,
//! thumbnailing, rewriting and the manifest.
//!
//! A run has three phases. **Plan**: every post is read and parsed, given a
//! slug and a locked folder, and each resource is decided (skip, reuse the
//! intact archived file, or fetch); nothing is written if any post is bad.
//! **Fetch**: one concurrent stage over the distinct resources of all posts
//! (a URL shared by posts is fetched once), each body streamed to a
//! temporary file and stored under its sha256; thumbnails are made on the
//! CPU pool while downloads go on. **Finish**: each post folder gets its
//! files, index.md, source.md, and last manifest.json.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use url::Url;

use crate::fetch::{Failure, Fetched, Fetcher, LocalError, NetOptions, Probe, Validators};
use crate::manifest::{self, Check, Entry, Manifest, Occurrence, PostInfo, Status};
use crate::post::Post;
use crate::reference::{Kind, Place};
use crate::resource::{self, Origin, Resolve, Resource};
use crate::rewrite;
use crate::sniff::{self, Class, SNIFF_LEN};
use crate::store::{self, PostDir, StoreError};
use crate::thumbnail::{self, ImageInfo};

/// What happens to links (non-image resources).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LinksMode {
    /// Downloaded, stored and rewritten like images.
    #[default]
    Mirror,
    /// Requested and recorded, not stored or rewritten.
    Check,
    /// Left out.
    Ignore,
}

impl LinksMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LinksMode::Mirror => "mirror",
            LinksMode::Check => "check",
            LinksMode::Ignore => "ignore",
        }
    }

    pub fn parse(s: &str) -> Option<LinksMode> {
        match s {
            "mirror" => Some(LinksMode::Mirror),
            "check" => Some(LinksMode::Check),
            "ignore" => Some(LinksMode::Ignore),
            _ => None,
        }
    }
}

/// Everything `archive` needs besides the posts.
#[derive(Debug, Clone)]
pub struct Settings {
    pub out: PathBuf,
    pub slug: Option<String>,
    pub base_url: Option<Url>,
    pub links: LinksMode,
    pub thumbs: thumbnail::Settings,
    pub refresh: bool,
    pub net: NetOptions,
}

/// Errors that stop a run (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error(transparent)]
    Open(#[from] store::OpenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error(transparent)]
    Setup(#[from] crate::fetch::SetupError),
}

/// The outcome of a run, for the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub posts: Vec<PostReport>,
    pub counts: Counts,
    pub bytes_stored: u64,
    pub duplicates: usize,
    /// Resources fetched over the network in this run (not reused).
    pub fetched: usize,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    pub total: usize,
    pub archived: usize,
    pub failed: usize,
    pub skipped: usize,
    pub images: usize,
    pub links: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PostReport {
    pub source: String,
    pub slug: String,
    pub dir: String,
    pub counts: Counts,
    pub failures: Vec<FailureReport>,
    /// Distinct stored files of the post.
    pub files: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FailureReport {
    pub url: String,
    pub error: String,
}

impl Report {
    pub fn any_failed(&self) -> bool {
        self.counts.failed > 0
    }
}

/// Progress callbacks, so the command can draw a bar without the library
/// knowing about terminals.
pub trait Progress: Send + Sync {
    fn start(&self, _jobs: usize) {}
    fn done(&self, _url: &str, _bytes: u64) {}
    fn finish(&self) {}
}

/// No progress output.
pub struct Silent;
impl Progress for Silent {}

/// One post, planned.
struct Planned {
    /// The manifest's `post.source`: the path given, or, when re-archiving
    /// from the folder's own source.md, what was recorded before.
    source_label: String,
    bytes: Vec<u8>,
    post: Post,
    slug: String,
    dir: PostDir,
    resources: Vec<Resource>,
    previous: HashMap<String, Entry>,
    decisions: Vec<Decision>,
}

/// What to do with one resource of one post.
#[derive(Debug, Clone)]
enum Decision {
    Skip(String),
    /// Left out of the manifest (`--links ignore`).
    Omit,
    /// The archived file is intact: keep the previous entry.
    Reuse(Box<Entry>),
    /// Fetch (or copy, for a local file); the key of the run-wide job.
    Fetch(String),
}

/// One distinct resource to fetch in this run.
struct Job {
    key: String,
    origin: Origin,
    kind: Kind,
    /// Only requested (`--links check`), not stored.
    check_only: bool,
    /// The post folder where the file is first stored.
    home: PathBuf,
    validators: Option<Validators>,
}

/// A stored file, in its home folder.
#[derive(Debug, Clone)]
struct Stored {
    sha256: String,
    ext: &'static str,
    bytes: u64,
    media_type: &'static str,
    kind: Kind,
    home: PathBuf,
    image: Option<ImageInfo>,
}

#[derive(Debug)]
enum Outcome {
    Stored {
        stored: Stored,
        fetch: Option<FetchInfo>,
    },
    /// 304 on `--refresh`: the archived file stays.
    NotModified(FetchInfo),
    /// `--links check` and reachable.
    Alive(FetchInfo),
    Failed(Failure),
}

#[derive(Debug, Clone)]
struct FetchInfo {
    final_url: String,
    http_status: u16,
    attempts: u32,
    validators: Validators,
    fetched_at: String,
}

impl FetchInfo {
    fn from(fetched: &Fetched) -> FetchInfo {
        FetchInfo {
            final_url: fetched.final_url.to_string(),
            http_status: fetched.http_status,
            attempts: fetched.attempts,
            validators: fetched.validators.clone(),
            fetched_at: humantime::format_rfc3339_seconds(fetched.fetched_at).to_string(),
        }
    }

    fn probed(probe: &Probe) -> FetchInfo {
        FetchInfo {
            final_url: probe.final_url.to_string(),
            http_status: probe.http_status,
            attempts: probe.attempts,
            validators: probe.validators.clone(),
            fetched_at: manifest::now(),
        }
    }
}

/// Archives posts. Returns the report; the caller picks the exit code.
pub async fn run(
    posts: &[PathBuf],
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Report, ArchiveError> {
    let mut planned = plan(posts, settings)?;
    let jobs = jobs(&planned, settings);
    let fetched = jobs.len();
    progress.start(jobs.len());
    let outcomes = fetch_all(jobs, settings, progress).await?;
    progress.finish();
    let mut reports = Vec::new();
    let mut all_files: HashSet<(PathBuf, String)> = HashSet::new();
    let mut bytes_stored = 0;
    let mut archived = 0;
    for p in &mut planned {
        let (report, files) = finish(p, &outcomes, settings)?;
        for (sha, bytes) in files {
            if all_files.insert((p.dir.path().to_path_buf(), sha)) {
                bytes_stored += bytes;
            }
        }
        archived += report.counts.archived;
        reports.push(report);
    }
    let mut counts = Counts::default();
    for r in &reports {
        counts.total += r.counts.total;
        counts.archived += r.counts.archived;
        counts.failed += r.counts.failed;
        counts.skipped += r.counts.skipped;
        counts.images += r.counts.images;
        counts.links += r.counts.links;
    }
    Ok(Report {
        duplicates: archived.saturating_sub(all_files.len()),
        posts: reports,
        counts,
        bytes_stored,
        fetched,
    })
}

/// Reads every post and decides every resource; locks every post folder.
fn plan(posts: &[PathBuf], settings: &Settings) -> Result<Vec<Planned>, ArchiveError> {
    if settings.slug.is_some() && posts.len() > 1 {
        return Err(ArchiveError::Input {
            path: settings.out.clone(),
            message: "--slug names one post, but several were given".to_string(),
        });
    }
    let mut parsed = Vec::new();
    let mut slugs: HashMap<String, PathBuf> = HashMap::new();
    for path in posts {
        let input = |message: String| ArchiveError::Input {
            path: path.clone(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| input(e.to_string()))?;
        let post = Post::parse(bytes.clone()).map_err(|e| input(e.to_string()))?;
        let slug = slug_for(path, &post, settings.slug.as_deref())
            .ok_or_else(|| input("no usable slug: give --slug".to_string()))?;
        if let Some(other) = slugs.insert(slug.clone(), path.clone()) {
            return Err(input(format!(
                "same slug `{slug}` as {}: give one of them a `slug:` in its front matter",
                other.display()
            )));
        }
        parsed.push((path.clone(), bytes, post, slug));
    }
    std::fs::create_dir_all(&settings.out).map_err(|source| StoreError {
        path: settings.out.clone(),
        source,
    })?;
    let mut planned = Vec::new();
    for (source, bytes, post, slug) in parsed {
        let dir = PostDir::open(&settings.out.join(&slug))?;
        let post_dir = source
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let resources = resource::resources(
            &post,
            &Resolve {
                base_url: settings.base_url.as_ref(),
                post_dir: Some(&post_dir),
            },
        );
        let previous_manifest = Manifest::read(&dir.path().join(store::MANIFEST))?;
        let own_source = dir.path().join(store::SOURCE).canonicalize().ok();
        let source_label = match &previous_manifest {
            Some(m) if own_source.is_some() && source.canonicalize().ok() == own_source => {
                m.post.source.clone()
            }
            _ => source.display().to_string(),
        };
        let previous: HashMap<String, Entry> = previous_manifest
            .map(|m| {
                m.resources
                    .into_iter()
                    .map(|e| (e.url.clone(), e))
                    .collect()
            })
            .unwrap_or_default();
        let decisions = resources
            .iter()
            .map(|r| decide(r, previous.get(&r.key), dir.path(), settings))
            .collect();
        planned.push(Planned {
            source_label,
            bytes,
            post,
            slug,
            dir,
            resources,
            previous,
            decisions,
        });
    }
    Ok(planned)
}

/// `--slug`, else the front matter's `slug`, else the file stem (for a Hugo
/// leaf bundle's `index.md`, its folder's name).
fn slug_for(path: &Path, post: &Post, flag: Option<&str>) -> Option<String> {
    let stem = || {
        let stem = path.file_stem()?.to_str()?;
        if stem == "index" || stem == "_index" {
            let parent = path.canonicalize().ok()?;
            return parent.parent()?.file_name()?.to_str().map(str::to_string);
        }
        Some(stem.to_string())
    };
    let raw = flag
        .map(str::to_string)
        .or_else(|| post.meta("slug").map(str::to_string))
        .or_else(stem)?;
    store::sanitise_slug(&raw)
}

fn decide(
    resource: &Resource,
    previous: Option<&Entry>,
    dir: &Path,
    settings: &Settings,
) -> Decision {
    if let Origin::Skipped { reason } = &resource.origin {
        return Decision::Skip(reason.clone());
    }
    if resource.kind == Kind::Link && settings.links == LinksMode::Ignore {
        return Decision::Omit;
    }
    if let Some(prev) = previous
        && prev.status == Status::Archived
        && !settings.refresh
        && is_intact(dir, prev)
    {
        return Decision::Reuse(Box::new(prev.clone()));
    }
    Decision::Fetch(resource.key.clone())
}

/// Whether an archived entry's file is there with the bytes it names, and
/// its thumbnail too.
fn is_intact(dir: &Path, entry: &Entry) -> bool {
    let (Some(path), Some(sha)) = (&entry.path, &entry.sha256) else {
        return false;
    };
    if let Some(thumb) = &entry.thumbnail
        && !dir.join(&thumb.path).is_file()
    {
        return false;
    }
    let Ok(file) = std::fs::File::open(dir.join(path)) else {
        return false;
    };
    if file
        .metadata()
        .map(|m| Some(m.len()) != entry.bytes)
        .unwrap_or(true)
    {
        return false;
    }
    store::hash_reader(file).is_ok_and(|h| &h == sha)
}

/// The distinct resources this run fetches, in order of first appearance.
fn jobs(planned: &[Planned], settings: &Settings) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in planned {
        for (resource, decision) in p.resources.iter().zip(&p.decisions) {
            let Decision::Fetch(key) = decision else {
                continue;
            };
            if let Some(&i) = seen.get(key) {
                // Embedded anywhere makes it an image everywhere.
                if resource.kind == Kind::Image {
                    jobs[i].kind = Kind::Image;
                    jobs[i].check_only = false;
                }
                continue;
            }
            let validators = settings
                .refresh
                .then(|| p.previous.get(key))
                .flatten()
                .filter(|e| e.status == Status::Archived && is_intact(p.dir.path(), e))
                .map(|e| Validators {
                    etag: e.etag.clone(),
                    last_modified: e.last_modified.clone(),
                })
                .filter(|v| v.etag.is_some() || v.last_modified.is_some());
            seen.insert(key.clone(), jobs.len());
            jobs.push(Job {
                key: key.clone(),
                origin: resource.origin.clone(),
                kind: resource.kind,
                check_only: resource.kind == Kind::Link && settings.links == LinksMode::Check,
                home: p.dir.path().to_path_buf(),
                validators,
            });
        }
    }
    jobs
}

/// The one concurrent stage: every job, at most `--concurrency` at once
/// (and `--per-host` per host, inside the fetcher). Thumbnails are spawned
/// onto the CPU pool as files land, and awaited at the end.
async fn fetch_all(
    jobs: Vec<Job>,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<HashMap<String, Outcome>, ArchiveError> {
    let fetcher = Arc::new(Fetcher::new(settings.net.clone())?);
    let pool = Arc::new(thumbnail::Pool::new().map_err(|e| StoreError {
        path: settings.out.clone(),
        source: std::io::Error::other(e),
    })?);
    let mut stream = futures::stream::iter(jobs)
        .map(|job| {
            let fetcher = fetcher.clone();
            let pool = pool.clone();
            let thumbs = settings.thumbs;
            async move {
                let key = job.key.clone();
                (key, run_job(job, &fetcher, pool, thumbs).await)
            }
        })
        .buffer_unordered(settings.net.concurrency.max(1));

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
        let info = handle.await.unwrap_or(ImageInfo {
            width: None,
            height: None,
            thumb: Err("thumbnail task failed".to_string()),
        });
        if let Some(Outcome::Stored { stored, .. }) = outcomes.get_mut(&key) {
            stored.image = Some(info);
        }
    }
    Ok(outcomes)
}

type JobResult = Result<(Outcome, Option<JoinHandle<ImageInfo>>), ArchiveError>;

async fn run_job(
    job: Job,
    fetcher: &Fetcher,
    pool: Arc<thumbnail::Pool>,
    thumbs: thumbnail::Settings,
) -> JobResult {
    let assets = job.home.join(store::ASSETS);
    let (body, fetch) = match &job.origin {
        Origin::Remote(url) if job.check_only => {
            // `--links check`: only whether it answers. HEAD first, GET
            // when HEAD is refused, as `rotproof check` does; no body is
            // downloaded or stored.
            return Ok(match fetcher.probe(url, None, false).await? {
                Ok(probe) => (Outcome::Alive(FetchInfo::probed(&probe)), None),
                Err(failure) => (Outcome::Failed(failure), None),
            });
        }
        Origin::Remote(url) => {
            let fetched = match fetcher
                .download(url, &assets, job.validators.as_ref())
                .await?
            {
                Ok(fetched) => fetched,
                Err(failure) => return Ok((Outcome::Failed(failure), None)),
            };
            let info = FetchInfo::from(&fetched);
            match fetched.body {
                None => return Ok((Outcome::NotModified(info), None)),
                Some(body) => (body, Some(info)),
            }
        }
        Origin::Local { file, .. } => {
            let (file, assets) = (file.clone(), assets.clone());
            let max = fetcher.options().max_bytes;
            let copied = tokio::task::spawn_blocking(move || copy_local(&file, &assets, max))
                .await
                .map_err(|e| LocalError {
                    path: job.home.clone(),
                    source: std::io::Error::other(e),
                })??;
            let Some(copied) = copied else {
                return Ok((
                    Outcome::Failed(Failure {
                        reason: crate::fetch::too_large(max),
                        http_status: None,
                        attempts: 0,
                    }),
                    None,
                ));
            };
            (copied, None)
        }
        Origin::Skipped { reason } => {
            return Ok((
                Outcome::Failed(Failure {
                    reason: reason.clone(),
                    http_status: None,
                    attempts: 0,
                }),
                None,
            ));
        }
    };
    let format = sniff::sniff(&body.head);
    if job.kind == Kind::Image && !format.is_image() && format.class != Class::Media {
        return Ok((
            Outcome::Failed(Failure {
                reason: format!("not an image ({})", format.media_type),
                http_status: fetch.as_ref().map(|f| f.http_status),
                attempts: fetch.as_ref().map_or(0, |f| f.attempts),
            }),
            None,
        ));
    }
    // A link whose bytes are an image is an image.
    let kind = if format.is_image() {
        Kind::Image
    } else {
        job.kind
    };
    let name = format!("{}.{}", body.sha256, format.ext);
    let asset = assets.join(&name);
    // Re-hashing an existing file, syncing and renaming block: off the
    // async workers.
    let (file, path, sha) = (body.file, asset.clone(), body.sha256.clone());
    tokio::task::spawn_blocking(move || store::persist_content(file, &path, &sha))
        .await
        .map_err(|e| StoreError {
            path: asset.clone(),
            source: std::io::Error::other(e),
        })??;
    let thumb = (format.class == Class::Raster).then(|| {
        let (sha, thumbs_dir) = (body.sha256.clone(), job.home.join(store::THUMBS));
        tokio::spawn(async move { pool.make(asset, sha, thumbs_dir, thumbs).await })
    });
    let stored = Stored {
        sha256: body.sha256,
        ext: format.ext,
        bytes: body.bytes,
        media_type: format.media_type,
        kind,
        home: job.home.clone(),
        image: None,
    };
    Ok((Outcome::Stored { stored, fetch }, thumb))
}

/// Copies a local asset into a temporary file in `assets`, hashing it.
/// `None` when it is over `max` bytes (`--max-bytes`, as for downloads).
fn copy_local(
    file: &Path,
    assets: &Path,
    max: u64,
) -> Result<Option<crate::fetch::Body>, LocalError> {
    use std::io::{Read, Write};
    let local = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LocalError { path, source }
    };
    let mut src = std::fs::File::open(file).map_err(local(file))?;
    if src.metadata().is_ok_and(|m| m.len() > max) {
        return Ok(None);
    }
    let mut temp = store::temp_in(assets).map_err(|e| LocalError {
        path: e.path,
        source: e.source,
    })?;
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = 0u64;
    loop {
        let n = src.read(&mut buf).map_err(local(file))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if head.len() < SNIFF_LEN {
            head.extend_from_slice(&buf[..n.min(SNIFF_LEN - head.len())]);
        }
        bytes += n as u64;
        if bytes > max {
            // The temporary file deletes itself.
            return Ok(None);
        }
        temp.write_all(&buf[..n]).map_err(local(assets))?;
    }
    Ok(Some(crate::fetch::Body {
        file: temp,
        sha256: hex::encode(hasher.finalize()),
        bytes,
        head,
    }))
}

/// Writes one post's folder: shared files, index.md, source.md, and last
/// the manifest. Returns the report and the post's distinct files.
fn finish(
    p: &mut Planned,
    outcomes: &HashMap<String, Outcome>,
    settings: &Settings,
) -> Result<(PostReport, Vec<(String, u64)>), ArchiveError> {
    let dir = p.dir.path().to_path_buf();
    let mut entries = Vec::new();
    let mut replacements = HashMap::new();
    for (resource, decision) in p.resources.iter().zip(&p.decisions) {
        let occurrences = occurrences(resource, p.post.text());
        let fresh = |status| {
            Entry::new(
                resource.key.clone(),
                resource.kind.as_str(),
                occurrences.clone(),
                status,
            )
        };
        let previous = p.previous.get(&resource.key);
        let mut entry = match decision {
            Decision::Omit => continue,
            Decision::Skip(reason) => {
                let mut e = fresh(Status::Skipped);
                e.error = Some(reason.clone());
                e
            }
            Decision::Reuse(prev) => {
                let mut e = (**prev).clone();
                e.occurrences = occurrences.clone();
                e
            }
            Decision::Fetch(key) => match outcomes.get(key) {
                Some(outcome) => entry_from(outcome, previous, fresh(Status::Failed), &dir)?,
                None => {
                    let mut e = fresh(Status::Failed);
                    e.error = Some("not fetched".to_string());
                    e
                }
            },
        };
        // History is never lost by re-archiving: check records and later
        // versions carry over.
        if let Some(prev) = previous {
            if entry.checks.is_empty() {
                entry.checks = prev.checks.clone();
            }
            if entry.versions.is_empty() {
                entry.versions = prev.versions.clone();
            }
        }
        let rewrite_it = entry.status == Status::Archived
            && (entry.kind == "image" || settings.links == LinksMode::Mirror);
        if rewrite_it && let Some(path) = &entry.path {
            replacements.insert(resource.key.clone(), path.clone());
        }
        entries.push(entry);
    }

    let index = rewrite::rewrite(&p.post, &p.resources, &replacements);
    p.dir.sync_contents();
    p.dir.write(store::SOURCE, &p.bytes)?;
    p.dir.write(store::INDEX, index.as_bytes())?;
    let manifest = Manifest {
        format: manifest::FORMAT.to_string(),
        version: manifest::VERSION,
        tool: manifest::tool(),
        post: PostInfo {
            source: p.source_label.clone(),
            slug: p.slug.clone(),
            title: p.post.meta("title").map(str::to_string),
            archived_at: manifest::now(),
            base_url: settings.base_url.as_ref().map(Url::to_string),
            links: Some(settings.links.as_str().to_string()),
        },
        resources: entries,
    };
    manifest.write(&dir.join(store::MANIFEST))?;

    let mut counts = Counts::default();
    let mut failures = Vec::new();
    let mut files: HashMap<String, u64> = HashMap::new();
    for e in &manifest.resources {
        counts.total += 1;
        if e.kind == "image" {
            counts.images += 1;
        } else {
            counts.links += 1;
        }
        match e.status {
            Status::Archived => {
                counts.archived += 1;
                if let (Some(sha), Some(bytes)) = (&e.sha256, e.bytes) {
                    files.insert(sha.clone(), bytes);
                }
            }
            Status::Failed => {
                counts.failed += 1;
                failures.push(FailureReport {
                    url: e.url.clone(),
                    error: e.error.clone().unwrap_or_default(),
                });
            }
            Status::Skipped => counts.skipped += 1,
        }
    }
    let report = PostReport {
        source: p.source_label.clone(),
        slug: p.slug.clone(),
        dir: dir.display().to_string(),
        counts,
        failures,
        files: files.len(),
    };
    Ok((report, files.into_iter().collect()))
}

fn occurrences(resource: &Resource, text: &str) -> Vec<Occurrence> {
    resource
        .occurrences
        .iter()
        .map(|r| Occurrence {
            place: match r.place {
                Place::FrontMatter { .. } => "front_matter",
                Place::Body => "body",
            }
            .to_string(),
            line: r.line,
            raw: r.raw(text).to_string(),
        })
        .collect()
}

/// The manifest entry for a fetched resource; places shared files into
/// this post's folder.
fn entry_from(
    outcome: &Outcome,
    previous: Option<&Entry>,
    mut entry: Entry,
    dir: &Path,
) -> Result<Entry, ArchiveError> {
    let apply_fetch = |entry: &mut Entry, info: &FetchInfo| {
        entry.final_url = Some(info.final_url.clone());
        entry.http_status = Some(info.http_status);
        entry.attempts = info.attempts;
        entry.etag = info.validators.etag.clone();
        entry.last_modified = info.validators.last_modified.clone();
        entry.fetched_at = Some(info.fetched_at.clone());
    };
    match outcome {
        Outcome::Failed(failure) => {
            entry.status = Status::Failed;
            entry.error = Some(failure.reason.clone());
            entry.http_status = failure.http_status;
            entry.attempts = failure.attempts;
        }
        Outcome::Alive(info) => {
            entry.status = Status::Skipped;
            entry.error = Some("not mirrored (--links check)".to_string());
            apply_fetch(&mut entry, info);
            entry.checks.push(Check {
                at: info.fetched_at.clone(),
                result: "alive".to_string(),
                http_status: Some(info.http_status),
                error: None,
            });
        }
        Outcome::NotModified(info) => {
            let occurrences = entry.occurrences.clone();
            entry = previous.cloned().unwrap_or(entry);
            entry.occurrences = occurrences;
            entry.attempts = info.attempts;
            entry.fetched_at = Some(info.fetched_at.clone());
        }
        Outcome::Stored { stored, fetch } => {
            entry.status = Status::Archived;
            entry.kind = stored.kind.as_str().to_string();
            if let Some(info) = fetch {
                apply_fetch(&mut entry, info);
            } else {
                entry.fetched_at = Some(manifest::now());
            }
            let asset = format!("{}/{}.{}", store::ASSETS, stored.sha256, stored.ext);
            store::copy_into(&stored.home.join(&asset), &dir.join(&asset), &stored.sha256)?;
            entry.sha256 = Some(stored.sha256.clone());
            entry.bytes = Some(stored.bytes);
            entry.media_type = Some(stored.media_type.to_string());
            entry.path = Some(asset);
            if let Some(info) = &stored.image {
                entry.width = info.width;
                entry.height = info.height;
                match &info.thumb {
                    Ok(thumb) => {
                        let path = format!("{}/{}", store::THUMBS, thumb.file_name);
                        store::copy_into(
                            &stored.home.join(&path),
                            &dir.join(&path),
                            &thumb.sha256,
                        )?;
                        entry.thumbnail = Some(manifest::Thumbnail {
                            path,
                            sha256: thumb.sha256.clone(),
                            width: thumb.width,
                            height: thumb.height,
                        });
                    }
                    Err(reason) => entry.thumbnail_error = Some(reason.clone()),
                }
            } else if stored.kind == Kind::Image {
                entry.thumbnail_error = Some(format!("no thumbnail for {}", stored.media_type));
            }
        }
    }
    Ok(entry)
}
