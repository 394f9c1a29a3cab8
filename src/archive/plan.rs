//! Planning a run. [`read`] reads and parses every post and gives it a
//! slug; [`lock`] creates and locks the post folders (the one step that
//! writes, skipped by a dry run); [`decide`] settles each resource against
//! the previous manifest; [`jobs`] collects the distinct resources to
//! fetch across all posts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use serde::Serialize;
use url::Url;

use super::merge::Previous;
use super::{ArchiveError, ArchiveSettings, Input, PostOptions};
use crate::config::UrlFilter;
use crate::errors;
use crate::errors::PostError;
use crate::manifest::{Entry, Kind, LinksMode, Referer, Section};
use crate::net::Validators;
use crate::post::Post;
use crate::reference::Place;
use crate::resource::{self, Origin, Resolve, Resource};
use crate::store::{self, PostDir, parent_or_dot};
use crate::thumbnail;

/// A post read and parsed, with its slug.
pub(super) struct Draft {
    pub path: PathBuf,
    /// The post, whose text is its original bytes (BOM included).
    pub post: Post,
    pub slug: String,
    /// `out/<slug>`.
    pub dir: PathBuf,
    pub options: PostOptions,
    pub resources: Vec<Resource>,
    /// What the post says about itself, read once (each reads the whole
    /// post).
    pub about: About,
}

/// A post's title, source and date.
pub(super) struct About {
    pub title: Option<String>,
    pub source_url: Option<String>,
    pub date: Option<std::time::SystemTime>,
}

/// What to do with one resource of one post.
#[derive(Debug, Clone)]
pub(super) enum Decision {
    Skip(String),
    /// Left out of the manifest (`--links ignore`).
    Omit,
    /// The archived file is intact: keep the previous entry.
    Reuse(Arc<Entry>),
    /// Archived and intact, but its thumbnail is missing, or could not be
    /// made last time for a reason that may have passed (a write failed):
    /// made again from the archived file, nothing fetched.
    Rethumb(Arc<Entry>),
    /// Archived, but its file here is damaged or gone while another post
    /// of the run holds the same content intact: copied from there,
    /// nothing fetched.
    Restore(Arc<Entry>, Box<GoodCopy>),
    /// `--refresh` of an intact archived entry: asked again (conditionally
    /// when it has validators); new bytes become a version beside the
    /// archived copy, never its replacement, and a failure changes nothing.
    Revalidate(Arc<Entry>),
    /// Fetch (or copy, for a local file): the run-wide job of the
    /// resource's key.
    Fetch,
}

/// One post, planned: its draft, what the previous run recorded, a
/// decision per resource, and the run's job each resource reads its
/// outcome from ([`number_jobs`]).
pub(super) struct Planned {
    pub draft: Draft,
    pub previous: Previous,
    pub decisions: Vec<Decision>,
    /// Per resource: the job whose outcome its decision reads, if any.
    pub jobs: Vec<Option<JobId>>,
}

/// A job of the run: its place in the run's job list and in its outcome
/// list. Stages pass this index between them, not a copy of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct JobId(u32);

impl JobId {
    /// The job at `index` of the run's list.
    pub(super) fn at(index: usize) -> JobId {
        JobId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    pub(super) fn index(self) -> usize {
        self.0 as usize
    }
}

/// Where a job's bytes come from: borrowed from the plan, which outlives
/// the stage.
#[derive(Debug, Clone)]
pub(super) enum Source<'a> {
    Remote(&'a Url),
    /// A file inside the post's folder (the resource's own, or the
    /// archived copy a thumbnail is made again from).
    Local(std::borrow::Cow<'a, Path>),
}

/// One distinct resource to fetch in this run. It borrows what it names
/// from the plan: a run of a million resources does not copy each URL
/// again for its jobs.
#[derive(Debug, Clone)]
pub(super) struct Job<'a> {
    /// The resource's key, as progress shows it.
    pub key: &'a str,
    pub source: Source<'a>,
    pub kind: Kind,
    /// Only requested (`--links check`), not stored.
    pub check_only: bool,
    /// Whether a thumbnail is made (not for a revalidated copy's new
    /// version).
    pub thumbnail: bool,
    /// For `--refresh`: the archived copy's validators (boxed: nearly
    /// every job has none).
    pub validators: Option<Box<Validators>>,
    /// The Referer policy that got the archived copy (for `--refresh`):
    /// asked again the same way.
    pub referer: Option<Referer>,
    /// What the job has from its post, shared by all of the post's jobs:
    /// a post of 20,000 resources holds it once, not 20,000 times.
    pub post: Arc<JobPost>,
}

impl Job<'_> {
    /// The folder of the post folder its file goes to: the kind's, but a
    /// local file beside the post is always published (`assets/`), even
    /// a linked one (a PDF, a download): its link must resolve where the
    /// post is published.
    pub(super) fn folder(&self) -> &'static str {
        match self.source {
            Source::Local(_) => store::ASSETS,
            Source::Remote(_) => store::Layout::CURRENT.folder_for(self.kind),
        }
    }

    /// The URL a remote job asks for; `None` for a local file.
    pub(super) fn remote_url(&self) -> Option<&Url> {
        match &self.source {
            Source::Remote(url) => Some(url),
            Source::Local(_) => None,
        }
    }

    /// What the job wants of `url` (its source, or a variant of it).
    pub(super) fn want<'b>(&'b self, url: &'b Url) -> crate::acquire::Want<'b> {
        crate::acquire::Want {
            url,
            kind: self.kind,
            referer: self.referer.as_ref(),
            only_referer: false,
            validators: self.validators.as_deref(),
            source_url: self.post.source_url.as_ref(),
            date: self.post.date,
        }
    }
}

/// What every job of one post shares.
#[derive(Debug)]
pub(super) struct JobPost {
    /// The post folder where the file is first stored.
    pub home: Arc<Path>,
    pub thumbs: thumbnail::Settings,
    /// The post's source URL, for the `source` Referer policy.
    pub source_url: Option<Url>,
    /// The post's date: web archives are asked for the capture closest.
    pub date: Option<std::time::SystemTime>,
}

/// Reads every post and gives it a slug. Nothing is written. A post that
/// cannot be read, parsed or given a folder of its own is refused, and the
/// others go on.
pub(super) fn read(inputs: &[Input], refused: &mut Vec<PostError>) -> Vec<Draft> {
    let mut drafts: Vec<Draft> = Vec::new();
    let mut folders: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut known = KnownFolders::default();
    for input in inputs {
        match draft(input, &mut folders, &mut known) {
            Ok(d) => drafts.push(d),
            Err(message) => refused.push(PostError::new(&input.path, message)),
        }
    }
    drafts
}

fn draft(
    input: &Input,
    folders: &mut HashMap<PathBuf, PathBuf>,
    known: &mut KnownFolders,
) -> Result<Draft, String> {
    let path = &input.path;
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut post = Post::parse(bytes).map_err(|e| e.to_string())?;
    let dir = folder_for(input, &post, known)?;
    let slug = dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| "no usable slug: give --slug".to_string())?;
    if let Some(other) = folders.get(&dir) {
        return Err(format!(
            "{} is {}'s folder in this run: give this post another slug (--slug, or `slug:` in its front matter)",
            dir.display(),
            other.display()
        ));
    }
    folders.insert(dir.clone(), path.clone());
    let resources = resource::resources(
        &mut post,
        &Resolve {
            base_url: input.options.base_url.as_ref(),
            post_dir: Some(parent_or_dot(path)),
            post_stem: path.file_stem().and_then(|s| s.to_str()),
        },
    );
    let about = About {
        title: post.title(),
        source_url: post.source_url(),
        date: post.date(),
    };
    Ok(Draft {
        path: path.clone(),
        post,
        slug,
        dir,
        options: input.options.clone(),
        resources,
        about,
    })
}

/// Creates and locks every post folder: from here on no other run writes
/// there. A post whose folder cannot be had (locked by another run, a
/// symlink, unwritable) is refused, and the others go on.
pub(super) fn lock(drafts: Vec<Draft>, refused: &mut Vec<PostError>) -> Vec<(Draft, PostDir)> {
    let mut locked = Vec::with_capacity(drafts.len());
    // Making a blog's folders and lock files is file creation, on every
    // core; the results stay in the posts' order.
    let opened: Vec<_> = drafts
        .into_par_iter()
        .map(|draft| {
            let out = parent_or_dot(&draft.dir);
            let opened = std::fs::create_dir_all(out)
                .map_err(|e| ArchiveError::Io(store::at(out)(e)))
                .and_then(|()| Ok(PostDir::create(&draft.dir)?));
            (draft, opened)
        })
        .collect();
    for (draft, opened) in opened {
        match opened {
            Ok(lock) => locked.push((draft, lock)),
            Err(err) => refused.push(PostError::new(&draft.path, errors::one_line(&err))),
        }
    }
    locked
}

/// `--slug`, else the front matter's `slug`, else the file stem (for a Hugo
/// leaf bundle's `index.md`, its folder's name).
/// The post's folder: `--slug` under the root, else the folder an earlier
/// run made for this post (wherever the rules then put it), else its place
/// in the tree: `out/<under>/<slug>/`, or a page bundle's own folder name.
fn folder_for(input: &Input, post: &Post, known: &mut KnownFolders) -> Result<PathBuf, String> {
    let under = input.out.join(&input.under);
    if let Some(flag) = input.slug.as_deref() {
        let slug = slug_for(&input.path, post, Some(flag))
            .ok_or_else(|| "no usable slug: give --slug".to_string())?;
        return Ok(under.join(slug));
    }
    if let Some(dir) = known.folder_of(&input.path, &input.out) {
        return Ok(dir);
    }
    let name = match &input.bundle {
        Some(bundle) => store::sanitise_slug(bundle),
        None => slug_for(&input.path, post, None),
    };
    let name = name.ok_or_else(|| "no usable slug: give --slug".to_string())?;
    Ok(under.join(name))
}

/// The post folders already under each archive root, by the post each was
/// made from (`post.source`): a post keeps its folder, whatever rule made
/// it.
#[derive(Default)]
struct KnownFolders {
    roots: HashMap<PathBuf, HashMap<PathBuf, PathBuf>>,
}

impl KnownFolders {
    fn folder_of(&mut self, post: &Path, out: &Path) -> Option<PathBuf> {
        let post = post.canonicalize().ok()?;
        self.roots
            .entry(out.to_path_buf())
            .or_insert_with(|| archived_posts(out))
            .get(&post)
            .cloned()
    }
}

/// Every post folder under `out` (not inside dot-folders), by its post's
/// canonical path: `post.source` is relative to the folder's parent (`out`
/// for a folder at its top; version 1 recorded it as given: relative to
/// where it ran, or absolute).
fn archived_posts(out: &Path) -> HashMap<PathBuf, PathBuf> {
    let mut found = HashMap::new();
    let walk = walkdir::WalkDir::new(out)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk.flatten().filter(|e| e.file_type().is_dir()) {
        let dir = entry.path();
        let Some(layout) = store::Layout::detect(dir) else {
            continue;
        };
        let Ok(Some(info)) = crate::manifest::Manifest::read_post(&dir.join(layout.manifest()))
        else {
            continue;
        };
        let source = Path::new(&info.source);
        let post = parent_or_dot(dir)
            .join(source)
            .canonicalize()
            .or_else(|_| source.canonicalize());
        if let Ok(post) = post {
            found.entry(post).or_insert_with(|| dir.to_path_buf());
        }
    }
    found
}

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

/// Decides every resource of a post against its previous manifest (read
/// under the folder's lock in a real run).
pub(super) fn decide(draft: Draft, settings: &ArchiveSettings) -> Result<Planned, ArchiveError> {
    let previous = Previous::read(&draft.dir, &draft.path)?;
    if let Some(owner) = previous.other_owner(&draft.path, parent_or_dot(&draft.dir)) {
        return Err(ArchiveError::Input {
            path: draft.path.clone(),
            message: format!(
                "{} holds the archive of another post ({owner}); refusing to replace it: give this post another slug (--slug, or `slug:` in its front matter), or remove the folder to give it to this post",
                draft.dir.display()
            ),
        });
    }
    // Deciding that a file is intact hashes it: a re-run over an intact
    // archive is mostly this, spread over the cores.
    let decisions = draft
        .resources
        .par_iter()
        .map(|r| {
            decision(
                r,
                &previous,
                &draft.dir,
                draft.options.links,
                settings.refresh,
            )
            .filtered(r, &settings.rules.filter)
        })
        .collect();
    Ok(Planned {
        jobs: Vec::new(),
        draft,
        previous,
        decisions,
    })
}

impl Decision {
    /// Whether this decision reads the outcome of a job of the run: a
    /// fetch or a revalidation of something that can be asked for, or a
    /// thumbnail made again from an archived file.
    fn reads_a_job(&self, resource: &Resource) -> bool {
        let fetchable = !matches!(resource.origin, Origin::Skipped { .. });
        match self {
            Decision::Fetch | Decision::Revalidate(_) => fetchable,
            Decision::Rethumb(entry) => fetchable && entry.path.is_some(),
            Decision::Skip(_) | Decision::Omit | Decision::Reuse(_) | Decision::Restore(..) => {
                false
            }
        }
    }

    /// A URL the config's `exclude` / `include` leaves out is skipped, with
    /// the reason, unless an earlier run archived it: then what it archived
    /// is kept as it is (not asked again, not dropped).
    fn filtered(self, resource: &Resource, filter: &UrlFilter) -> Decision {
        let Origin::Remote(url) = &resource.origin else {
            return self;
        };
        match (self, filter.refusal(url.as_str())) {
            (Decision::Fetch, Some(reason)) => Decision::Skip(reason.to_string()),
            (Decision::Revalidate(entry), Some(_)) => Decision::Reuse(entry),
            (decision, _) => decision,
        }
    }
}

fn decision(
    resource: &Resource,
    previous: &Previous,
    dir: &Path,
    links: LinksMode,
    refresh: bool,
) -> Decision {
    if let Origin::Skipped { reason, .. } = &resource.origin {
        // A local file that is no longer beside the post (moved, deleted)
        // keeps what was archived of it: nothing archived is lost.
        return match previous.intact(resource.key(), dir) {
            Some(entry) => Decision::Reuse(Arc::clone(entry)),
            None => Decision::Skip(reason.clone()),
        };
    }
    if resource.kind == Kind::Link && links == LinksMode::Ignore {
        // Left out of this run, but a copy an earlier run made is kept.
        return match previous.intact(resource.key(), dir) {
            Some(entry) => Decision::Reuse(Arc::clone(entry)),
            None => Decision::Omit,
        };
    }
    match previous.intact(resource.key(), dir) {
        Some(entry) if refresh => Decision::Revalidate(Arc::clone(entry)),
        Some(entry) if super::merge::thumbnail_missing(dir, entry) => {
            Decision::Rethumb(Arc::clone(entry))
        }
        Some(entry) => Decision::Reuse(Arc::clone(entry)),
        None => Decision::Fetch,
    }
}

/// An intact file of another post folder, with its thumbnail.
#[derive(Debug, Clone)]
pub(super) struct GoodCopy {
    pub file: PathBuf,
    pub thumbnail: Option<PathBuf>,
    /// The bytes as fetched, when the file is not them.
    pub original: Option<PathBuf>,
}

/// Turns each fetch of a content archived before, whose file in its
/// folder is damaged or gone, into a copy from another post of the run
/// that holds it intact: a damaged copy is restored without the network
/// (and so even when its host is gone).
pub(super) fn restore_from_good_copies(planned: &mut [(Planned, PostDir)]) {
    let mut good: HashMap<crate::digest::Sha256, GoodCopy> = HashMap::new();
    for (p, _) in planned.iter() {
        for decision in &p.decisions {
            let (Decision::Reuse(entry) | Decision::Revalidate(entry)) = decision else {
                continue;
            };
            let (Some(sha), Some(path)) = (&entry.sha256, &entry.path) else {
                continue;
            };
            let Ok(file) = store::inside(&p.draft.dir, path) else {
                continue;
            };
            let thumbnail = entry
                .thumbnail
                .as_ref()
                .and_then(|t| store::inside(&p.draft.dir, &t.path).ok());
            let original = entry
                .original
                .as_ref()
                .and_then(|o| store::inside(&p.draft.dir, &o.path).ok());
            good.entry(sha.clone()).or_insert(GoodCopy {
                file,
                thumbnail,
                original,
            });
        }
    }
    if good.is_empty() {
        return;
    }
    for (p, _) in planned.iter_mut() {
        for (resource, decision) in p.draft.resources.iter().zip(p.decisions.iter_mut()) {
            let Decision::Fetch = decision else {
                continue;
            };
            let Some(prev) = p.previous.get(resource.key()) else {
                continue;
            };
            let archived = prev.status == crate::manifest::Status::Archived && prev.path.is_some();
            if let (true, Some(copy)) = (archived, prev.sha256.as_ref().and_then(|s| good.get(s))) {
                *decision = Decision::Restore(Arc::clone(prev), Box::new(copy.clone()));
            }
        }
    }
}

/// Gives each resource whose decision reads an outcome its job: one per
/// distinct key across all posts (a URL shared by posts is fetched once),
/// numbered in order of first appearance. Returns how many there are.
pub(super) fn number_jobs(planned: &mut [(Planned, PostDir)]) -> usize {
    let mut seen: HashMap<&str, JobId> = HashMap::new();
    for (p, _) in planned.iter_mut() {
        let Planned {
            draft,
            decisions,
            jobs,
            ..
        } = p;
        *jobs = draft
            .resources
            .iter()
            .zip(decisions.iter())
            .map(|(resource, decision)| {
                if !decision.reads_a_job(resource) {
                    return None;
                }
                let next = JobId::at(seen.len());
                Some(*seen.entry(resource.key()).or_insert(next))
            })
            .collect();
    }
    seen.len()
}

/// The run's jobs, in [`number_jobs`]' order, borrowing from the plan.
pub(super) fn jobs(planned: &[(Planned, PostDir)]) -> Vec<Job<'_>> {
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for (p, _) in planned {
        let links = p.draft.options.links;
        let about = &p.draft.about;
        let post = Arc::new(JobPost {
            home: Arc::from(p.draft.dir.as_path()),
            thumbs: p.draft.options.thumbs,
            source_url: about.source_url.as_deref().and_then(|u| Url::parse(u).ok()),
            date: about.date,
        });
        let each = p.draft.resources.iter().zip(&p.decisions).zip(&p.jobs);
        for ((resource, decision), id) in each {
            let (Some(id), Some(origin)) = (id, Source::of(&resource.origin)) else {
                continue;
            };
            // (from where, conditionally on what, and whether it gets a
            // thumbnail: a new version does not, since thumbnails show the
            // archived copy).
            let (source, validators, thumbnail, referer) = match decision {
                Decision::Rethumb(entry) => match &entry.path {
                    Some(path) => (
                        Source::Local(p.draft.dir.join(path).into()),
                        None,
                        true,
                        None,
                    ),
                    None => continue,
                },
                Decision::Revalidate(entry) => {
                    let v = Validators {
                        etag: entry.etag.clone(),
                        last_modified: entry.last_modified.clone(),
                    };
                    (
                        origin,
                        (!v.is_empty()).then(|| Box::new(v)),
                        false,
                        entry.referer.clone(),
                    )
                }
                _ => (origin, None, true, None),
            };
            if let Some(job) = jobs.get_mut(id.index()) {
                job.kind = job.kind.merge(resource.kind);
                job.check_only &= !resource.kind.is_embedded();
                job.thumbnail |= thumbnail;
                continue;
            }
            debug_assert_eq!(id.index(), jobs.len(), "jobs come in their numbers' order");
            jobs.push(Job {
                key: resource.key(),
                source,
                kind: resource.kind,
                check_only: resource.kind == Kind::Link && links == LinksMode::Check,
                thumbnail,
                validators,
                referer,
                post: post.clone(),
            });
        }
    }
    jobs
}

impl<'a> Source<'a> {
    /// Where a resource is fetched from; a skipped one is never asked for.
    fn of(origin: &'a Origin) -> Option<Source<'a>> {
        match origin {
            Origin::Remote(url) => Some(Source::Remote(url)),
            Origin::Local { file, .. } => Some(Source::Local(file.as_path().into())),
            Origin::Skipped { .. } => None,
        }
    }
}

/// What the plan says of one resource, as `--dry-run` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    /// Downloaded (or copied, for a local file).
    Fetch,
    /// Archived before, its file intact: kept as it is.
    Reuse,
    /// Archived and intact, asked again (`--refresh`).
    Revalidate,
    /// Recorded as skipped, with the reason.
    Skip,
    /// Left out (`--links ignore`).
    Omit,
}

/// A planned post, as `--dry-run` lists it: its references are made one
/// at a time as they are listed, from the plan (a post of a million
/// references is not listed twice over in memory).
#[derive(Debug, Serialize)]
pub(crate) struct PlannedPost<'a> {
    pub source: String,
    pub resources: usize,
    pub references: Listed<'a>,
}

/// The references of a planned post, in line order.
pub(crate) struct Listed<'a> {
    planned: &'a Planned,
    /// (line, resource, occurrence) of each reference, sorted by line.
    order: Vec<(usize, u32, u32)>,
}

impl<'a> Listed<'a> {
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = PlannedResource<'a>> + '_ {
        self.order
            .iter()
            .filter_map(|&(_, r, o)| self.planned.row(r as usize, o as usize))
    }
}

impl std::fmt::Debug for Listed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Listed({} references)", self.order.len())
    }
}

impl Serialize for Listed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// One reference of a planned post.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlannedResource<'a> {
    pub line: usize,
    pub kind: Kind,
    pub url: &'a str,
    #[serde(rename = "in")]
    pub place: Section,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a str>,
    pub raw: &'a str,
    pub rewritable: bool,
    /// Where the bytes would come from: `remote`, `local` or `skipped`.
    pub action: Provenance,
    /// What the run would do with it.
    pub plan: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// Where a resource's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Provenance {
    Remote,
    Local,
    Skipped,
}

impl Planned {
    /// The plan as `--dry-run` lists it: every reference, by line.
    pub(super) fn listing(&self) -> PlannedPost<'_> {
        let mut order = Vec::new();
        for (r, resource) in self.draft.resources.iter().enumerate() {
            for (o, occurrence) in resource.occurrences.iter().enumerate() {
                order.push((occurrence.line, r as u32, o as u32));
            }
        }
        order.sort_by_key(|&(line, ..)| line);
        PlannedPost {
            source: self.draft.path.display().to_string(),
            resources: self.draft.resources.len(),
            references: Listed {
                planned: self,
                order,
            },
        }
    }

    /// Occurrence `o` of resource `r`, as listed.
    fn row(&self, r: usize, o: usize) -> Option<PlannedResource<'_>> {
        let resource = self.draft.resources.get(r)?;
        let decision = self.decisions.get(r)?;
        let occurrence = resource.occurrences.get(o)?;
        let (action, reason) = match &resource.origin {
            Origin::Remote(_) => (Provenance::Remote, None),
            Origin::Local { .. } => (Provenance::Local, None),
            Origin::Skipped { reason, .. } => (Provenance::Skipped, Some(reason.as_str())),
        };
        let plan = match decision {
            Decision::Skip(_) => Action::Skip,
            Decision::Omit => Action::Omit,
            Decision::Reuse(_) => Action::Reuse,
            Decision::Revalidate(_) => Action::Revalidate,
            Decision::Rethumb(_) | Decision::Restore(..) => Action::Reuse,
            Decision::Fetch => Action::Fetch,
        };
        Some(PlannedResource {
            line: occurrence.line,
            kind: resource.kind,
            url: resource.key(),
            place: occurrence.place.section(),
            key: match &occurrence.place {
                Place::FrontMatter { key_path } => Some(key_path.as_str()),
                Place::Body => None,
            },
            raw: occurrence.raw(self.draft.post.text()),
            rewritable: occurrence.is_rewritable(),
            action,
            plan,
            reason,
        })
    }
}
