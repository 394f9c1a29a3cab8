//! Writing post folders: each resource's entry from its decision and its
//! job's outcome, shared files placed into the folder, index.md rewritten,
//! source.md, and last manifest.json, so a folder whose manifest is there
//! has everything it names.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::ArchiveError;
use super::outcome::{Outcome, Outcomes, Stored};
use super::plan::{Decision, JobId, Planned};
use super::report::{ArchiveReport, FAILURES_LISTED, FailureReport, PostReport, StatusCounts};
use super::{merge, migrate};
use crate::digest::Sha256;
use crate::errors;
use crate::errors::PostError;
use crate::manifest::{
    self, Check, Entry, Manifest, Occurrence, PostInfo, Referer, RepairLinks, Status, Timestamp,
    Verdict, Version,
};
use crate::net::Answer;
use crate::resource::Resource;
use crate::rewrite;
use crate::store::{self, Layout, PostDir};

/// Finishes every post; the run's report. A post whose folder cannot be
/// written is reported with the posts refused earlier (`refused`), and the
/// others are finished.
pub(super) fn all(
    planned: Vec<(Planned, PostDir)>,
    outcomes: Outcomes,
    fetched: usize,
    mut refused: Vec<PostError>,
) -> ArchiveReport {
    let mut outcomes = Readers::new(outcomes, &planned);
    // Every folder's shared files first, and each post's new index.md,
    // source.md and manifest under temporary names; then one sync for
    // them all, the renames, and one more sync (the order is
    // `store::durable`'s): a manifest's name appears only once what it
    // names is durable, and a run of 500 posts syncs twice, not 3,000
    // times. A post's entries, links and rewrite are made
    // on this thread while a second one writes the posts before it
    // (creating files is most of a small post's cost).
    let (mut staged, failed) = std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<(Ready, PostDir, PathBuf)>(4);
        let writer = scope.spawn(move || {
            let (mut staged, mut failed) = (Vec::new(), Vec::new());
            for (ready, lock, path) in receive {
                match ready.stage(&lock) {
                    Ok(done) => staged.push((done, lock, path)),
                    Err(err) => failed.push(PostError::new(&path, errors::one_line(&err))),
                }
            }
            (staged, failed)
        });
        for (p, lock) in planned {
            let path = p.draft.path.clone();
            match post(p, &lock, &mut outcomes) {
                // The writer only stops when this side hangs up.
                Ok(ready) => drop(send.send((ready, lock, path))),
                Err(err) => refused.push(PostError::new(&path, errors::one_line(&err))),
            }
        }
        drop(send);
        writer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    refused.extend(failed);
    drop(outcomes);
    if let Err(err) = store::sync(staged.iter().map(|(_, lock, _)| lock.path())) {
        // Nothing staged is renamed: every index.md and manifest stays as
        // the last run left it.
        let err = errors::one_line(&ArchiveError::from(err));
        for (_, _, path) in staged.drain(..) {
            refused.push(PostError::new(&path, err.clone()));
        }
    }
    let mut posts = Vec::new();
    let mut all_files: HashSet<(PathBuf, Sha256)> = HashSet::new();
    let mut bytes_stored = 0;
    let mut counts = StatusCounts::default();
    let mut written = Vec::new();
    for (done, lock, path) in staged {
        let StagedPost {
            files,
            report,
            distinct,
            v1_leftovers,
            named,
        } = done;
        if let Err(err) = files.commit() {
            refused.push(PostError::new(
                &path,
                errors::one_line(&ArchiveError::from(err)),
            ));
            continue;
        }
        migrate::remove_v1(lock.path(), v1_leftovers);
        store::prune(lock.path(), &Layout::CURRENT.stores(), &named);
        let dir = PathBuf::from(&report.dir);
        for (sha, bytes) in distinct {
            if all_files.insert((dir.clone(), sha)) {
                bytes_stored += bytes;
            }
        }
        counts.add(&report.counts);
        posts.push(report);
        written.push(lock);
    }
    // The renames, durable before the run says they are done. Best
    // effort, as a folder's sync always was: the files are in place.
    let _ = store::sync(written.iter().map(|lock| lock.path()));
    ArchiveReport {
        duplicates: counts.archived.saturating_sub(all_files.len()),
        posts,
        errors: refused,
        counts,
        bytes_stored,
        fetched,
    }
}

/// The run's outcomes, each dropped once the last resource that reads it
/// has its entry: a post's entries and the outcomes they come from are
/// not held at once, which halves what a post of 20,000 resources needs.
struct Readers {
    outcomes: Outcomes,
    /// How many resources of the posts still to finish read each job's
    /// outcome.
    left: Vec<u32>,
}

impl Readers {
    fn new(outcomes: Outcomes, planned: &[(Planned, PostDir)]) -> Readers {
        let mut left: Vec<u32> = Vec::new();
        for id in planned.iter().flat_map(|(p, _)| p.jobs.iter().flatten()) {
            if left.len() <= id.index() {
                left.resize(id.index() + 1, 0);
            }
            left[id.index()] += 1;
        }
        Readers { outcomes, left }
    }

    /// Reads the outcome of `job` (the resource's, as [`Readers::new`]
    /// counted it), and counts the read: the one way in, so counting and
    /// reading cannot disagree. The last read drops it.
    fn read<T>(&mut self, job: Option<JobId>, read: impl FnOnce(Option<&Outcome>) -> T) -> T {
        let Some(id) = job else {
            return read(None);
        };
        let got = read(self.outcomes.get(id));
        if let Some(n) = self.left.get_mut(id.index()) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.outcomes.take(id);
            }
        }
        got
    }
}

/// A post folder with its shared files placed and its manifest written
/// under a temporary name; index.md and source.md still to write.
struct Ready {
    manifest: store::Staged,
    index: String,
    source: String,
    report: PostReport,
    /// The post's distinct files, with their sizes.
    distinct: Vec<(Sha256, u64)>,
    /// Every stored file the new manifest names: the others go once it
    /// is in place.
    named: BTreeSet<String>,
}

/// A post folder whose new files are all staged, waiting for the sync.
struct StagedPost {
    files: store::Staged,
    report: PostReport,
    /// The post's distinct files, with their sizes.
    distinct: Vec<(Sha256, u64)>,
    v1_leftovers: Vec<migrate::Leftover>,
    named: BTreeSet<String>,
}

impl Ready {
    /// Stages source.md and index.md, then the manifest after the files it
    /// describes.
    fn stage(self, lock: &PostDir) -> Result<StagedPost, ArchiveError> {
        let Ready {
            manifest,
            index,
            source,
            report,
            distinct,
            named,
        } = self;
        let dir = lock.path();
        let mut files = store::Staged::default();
        files.write(&dir.join(lock.layout().source()), source.as_bytes())?;
        files.write(&dir.join(store::INDEX), index.as_bytes())?;
        files.append(manifest);
        Ok(StagedPost {
            files,
            report,
            distinct,
            v1_leftovers: migrate::v1_leftovers(dir, &named),
            named,
        })
    }
}

/// What a post's entries add up to, gathered as they stream into the
/// manifest.
#[derive(Default)]
struct Tally {
    counts: StatusCounts,
    failures: Vec<FailureReport>,
    failures_not_listed: usize,
    files: HashMap<Sha256, u64>,
    named: BTreeSet<String>,
}

impl Tally {
    fn add(&mut self, e: &Entry) {
        self.counts.count(e);
        e.name_files(&mut self.named);
        match e.status {
            Status::Archived => {
                if let (Some(sha), Some(bytes)) = (&e.sha256, e.bytes) {
                    self.files.insert(sha.clone(), bytes);
                }
            }
            Status::Failed if self.failures.len() < FAILURES_LISTED => {
                self.failures.push(FailureReport {
                    url: e.url.clone(),
                    error: e.error.clone().unwrap_or_default(),
                });
            }
            Status::Failed => self.failures_not_listed += 1,
            Status::Skipped => {}
        }
    }
}

/// Writes one post's folder, but for its manifest ([`Ready::stage`]).
fn post(p: Planned, lock: &PostDir, outcomes: &mut Readers) -> Result<Ready, ArchiveError> {
    let Planned {
        draft,
        previous,
        decisions,
        jobs,
    } = p;
    let dir = lock.path().to_path_buf();
    let links = draft.options.links;
    let repair_links = draft.options.repair_links.or(previous.repair_links);
    let layout = lock.layout();
    let out = store::parent_or_dot(&dir);
    let head = Manifest {
        format: manifest::FORMAT.to_string(),
        version: layout.version(),
        tool: manifest::tool(),
        post: PostInfo {
            source: previous.source_label(&draft.path, out),
            slug: draft.slug.clone(),
            title: draft.about.title.clone(),
            archived_at: Timestamp::now(),
            source_url: draft.about.source_url.clone(),
            base_url: draft.options.base_url.clone(),
            links: Some(links),
            thumbnails: Some(draft.options.thumbs.into()),
            date: draft.about.date.map(Timestamp::from),
            repair_links,
        },
        resources: Vec::new(),
    };
    // Each entry is made, written into the manifest and dropped before
    // the next: a post of a million resources never holds its entries.
    let mut replacements = vec![None; draft.resources.len()];
    let mut tally = Tally::default();
    let mut pending = draft.resources.iter().zip(&decisions).zip(jobs).enumerate();
    let text = draft.post.text();
    let mut next = || -> Option<Result<Entry, ArchiveError>> {
        loop {
            let (i, ((resource, decision), job)) = pending.next()?;
            if matches!(decision, Decision::Omit) {
                continue;
            }
            let prev = previous.get(resource.key()).map(|e| &**e);
            let made = outcomes
                .read(job, |outcome| {
                    entry_for(
                        decision,
                        outcome,
                        prev,
                        resource,
                        occurrences(resource, text),
                        &dir,
                    )
                })
                .and_then(|mut entry| {
                    merge::carry_history(&mut entry, prev);
                    if !matches!(decision, Decision::Fetch) {
                        migrate::make_svgs_safe(&mut entry, &dir)?;
                    }
                    Ok(entry)
                });
            if let Ok(entry) = &made {
                replacements[i] = rewritten(entry, repair_links.unwrap_or(RepairLinks::Keep));
                tally.add(entry);
            }
            return Some(made);
        }
    };
    let mut failed = None;
    let mut manifest = store::Staged::default();
    let written = manifest.write_with(&lock.manifest_path(), |out| {
        manifest::write_streamed(out, &head, &mut next).map_err(|err| match err {
            Ok(made) => {
                failed = Some(made);
                std::io::Error::other("stopped")
            }
            Err(io) => io,
        })
    });
    if let Some(err) = failed {
        return Err(err);
    }
    written?;

    let index = rewrite::rewrite_each(&draft.post, &draft.resources, &replacements);
    let Tally {
        counts,
        failures,
        failures_not_listed,
        files,
        named,
    } = tally;
    let report = PostReport {
        source: draft.path.display().to_string(),
        slug: draft.slug.clone(),
        dir: lock.path().display().to_string(),
        counts,
        failures,
        failures_not_listed,
        files: files.len(),
    };
    Ok(Ready {
        manifest,
        index,
        source: draft.post.into_text(),
        report,
        distinct: files.into_iter().collect(),
        named,
    })
}

/// A resource's entry, from its decision and, where the decision reads
/// one, its job's outcome.
fn entry_for(
    decision: &Decision,
    outcome: Option<&Outcome>,
    prev: Option<&Entry>,
    resource: &Resource,
    occurrences: Vec<Occurrence>,
    dir: &Path,
) -> Result<Entry, ArchiveError> {
    Ok(match decision {
        Decision::Omit | Decision::Skip(_) => {
            let mut e = fresh(resource, occurrences, Status::Skipped);
            if let Decision::Skip(reason) = decision {
                e.error = Some(reason.clone());
            }
            e
        }
        Decision::Reuse(prev) => {
            let mut e = merge::kept(prev, occurrences);
            migrate::relocate(&mut e, dir)?;
            e
        }
        Decision::Rethumb(prev) => {
            let mut e = merge::kept(prev, occurrences);
            migrate::relocate(&mut e, dir)?;
            if let Some(Outcome::Stored { stored, .. }) = outcome {
                place_image(stored, &mut e, dir)?;
            }
            e
        }
        Decision::Restore(prev, copy) => {
            let mut e = merge::kept(prev, occurrences);
            migrate::relocate(&mut e, dir)?;
            restore(&mut e, copy, dir)?;
            e
        }
        Decision::Revalidate(prev) => {
            let mut e = merge::kept(prev, occurrences);
            migrate::relocate(&mut e, dir)?;
            revalidated(&mut e, outcome, dir)?;
            e
        }
        Decision::Fetch => match outcome {
            Some(outcome) => entry_from(outcome, prev, resource, occurrences, dir)?,
            None => {
                let mut e = fresh(resource, occurrences, Status::Failed);
                e.error = Some("not fetched".to_string());
                e
            }
        },
    })
}

/// What index.md says instead of an entry's URL, if anything: images,
/// media and files beside the post point at assets/; links keep their URL while they are alive
/// (their copies serve bundles and repairs), and a link the last check
/// found dead is pointed where the last `check --repair` said: its memento
/// or its copy.
pub(crate) fn rewritten(entry: &Entry, repair: RepairLinks) -> Option<String> {
    // A file beside the post, linked or shown, is published in assets/.
    if entry.kind.is_embedded() || entry.is_local_file() {
        return (entry.status == Status::Archived)
            .then(|| entry.path.clone())
            .flatten();
    }
    let dead = entry
        .checks
        .last()
        .is_some_and(|c| c.result == Verdict::Dead);
    if !dead {
        return None;
    }
    match repair {
        RepairLinks::Archive => entry
            .recovered_from
            .as_ref()
            .or(entry.memento.as_ref())
            .map(|m| m.memento_url.clone()),
        RepairLinks::Local => (entry.status == Status::Archived)
            .then(|| entry.path.clone())
            .flatten(),
        RepairLinks::Keep => None,
    }
}

/// An entry with only what the post says.
fn fresh(resource: &Resource, occurrences: Vec<Occurrence>, status: Status) -> Entry {
    Entry::new(
        resource.key().to_string(),
        resource.kind,
        occurrences,
        status,
    )
}

fn occurrences(resource: &Resource, text: &str) -> Vec<Occurrence> {
    resource
        .occurrences
        .iter()
        .map(|r| Occurrence {
            place: r.place.section(),
            line: r.line,
            raw: r.raw(text).to_string(),
        })
        .collect()
}

/// What an answer says, in an entry, and the Referer policy that got it.
fn apply(entry: &mut Entry, answer: &Answer, referer: &Referer) {
    entry.final_url = Some(answer.final_url.to_string());
    entry.http_status = Some(answer.http_status);
    entry.attempts = answer.attempts;
    entry.etag = answer.validators.etag.clone();
    entry.last_modified = answer.validators.last_modified.clone();
    entry.fetched_at = Some(Timestamp::from(answer.at));
    entry.fetched_url = Some(answer.requested.to_string());
    entry.referer = Some(referer.clone());
}

/// The manifest entry for a fetched resource; places shared files into
/// this post's folder.
fn entry_from(
    outcome: &Outcome,
    previous: Option<&Entry>,
    resource: &Resource,
    occurrences: Vec<Occurrence>,
    dir: &Path,
) -> Result<Entry, ArchiveError> {
    let mut entry = fresh(resource, occurrences, Status::Failed);
    match outcome {
        Outcome::Failed(failure) => {
            entry.error = Some(failure.to_string());
            entry.http_status = failure.http_status;
            entry.attempts = failure.attempts;
        }
        Outcome::Alive(answer, referer) => {
            entry.status = Status::Skipped;
            entry.error = Some("not mirrored (--links check)".to_string());
            apply(&mut entry, answer, referer);
            entry.checks.push(Check {
                at: Timestamp::from(answer.at),
                result: Verdict::Alive,
                http_status: Some(answer.http_status),
                error: None,
            });
        }
        Outcome::NotModified(answer) => {
            entry = match previous {
                Some(prev) => merge::kept(prev, entry.occurrences),
                None => entry,
            };
            migrate::relocate(&mut entry, dir)?;
            entry.attempts = answer.attempts;
            entry.fetched_at = Some(Timestamp::from(answer.at));
        }
        Outcome::Stored { stored, fetch } => {
            entry.status = Status::Archived;
            entry.kind = stored.kind;
            match fetch {
                Some(fetch) => apply(&mut entry, &fetch.answer, &fetch.referer),
                None => entry.fetched_at = Some(Timestamp::now()),
            }
            if let Some(recovered) = fetch.as_ref().and_then(|f| f.recovered.as_ref()) {
                // The origin is gone: what `check` asks is still the URL
                // the post names; the capture is where the bytes came from.
                entry.recovered_from = Some(Box::new(recovered.clone()));
                entry.fetched_url = Some(resource.key().to_string());
                entry.referer = None;
            }
            place(stored, &mut entry, dir)?;
        }
    }
    Ok(entry)
}

/// What `--refresh` found for an archived entry, in the entry: new bytes
/// as a version beside the archived copy, confirmed bytes as a newer
/// fetch; a failure leaves the entry as it was.
fn revalidated(
    entry: &mut Entry,
    outcome: Option<&Outcome>,
    dir: &Path,
) -> Result<(), ArchiveError> {
    match outcome {
        Some(Outcome::Stored { stored, fetch })
            if Some(stored.fetched_sha256()) != entry.fetched_sha256() =>
        {
            let version = Version {
                sha256: stored.sha256.clone(),
                bytes: stored.bytes,
                media_type: stored.media_type.to_string(),
                path: stored.path(),
                fetched_at: fetch
                    .as_ref()
                    .map_or_else(Timestamp::now, |f| Timestamp::from(f.answer.at)),
                original: stored.original.clone(),
            };
            entry.add_version(&version, &stored.home, dir)?;
        }
        Some(outcome @ (Outcome::Stored { fetch: Some(_), .. } | Outcome::NotModified(_))) => {
            let answer = match outcome {
                Outcome::Stored {
                    fetch: Some(fetch), ..
                } => &fetch.answer,
                Outcome::NotModified(answer) => answer,
                _ => return Ok(()),
            };
            entry.fetched_at = Some(Timestamp::from(answer.at));
            entry.attempts = answer.attempts;
            if !answer.validators.is_empty() {
                entry.etag = answer.validators.etag.clone();
                entry.last_modified = answer.validators.last_modified.clone();
            }
        }
        Some(Outcome::Stored { fetch: None, .. } | Outcome::Alive(..) | Outcome::Failed(_))
        | None => {}
    }
    Ok(())
}

/// Puts another post's intact copy of an entry's file (and thumbnail)
/// into this folder, in place of its damaged or missing one.
fn restore(
    entry: &mut Entry,
    copy: &super::plan::GoodCopy,
    dir: &Path,
) -> Result<(), ArchiveError> {
    if let (Some(path), Some(sha)) = (&entry.path, &entry.sha256) {
        store::copy_into(&copy.file, &dir.join(path), sha)?;
    }
    if let (Some(thumb), Some(from)) = (&entry.thumbnail, &copy.thumbnail) {
        store::copy_into(from, &dir.join(&thumb.path), &thumb.sha256)?;
    }
    if let (Some(original), Some(from)) = (&entry.original, &copy.original) {
        let folder = Layout::CURRENT.originals();
        store::folder_inside(dir, folder).map_err(store::at(&dir.join(folder)))?;
        store::copy_into(from, &dir.join(&original.path), &original.sha256)?;
    }
    Ok(())
}

/// Puts a stored file (and its thumbnail) into the post folder and records
/// them in the entry.
fn place(stored: &Stored, entry: &mut Entry, dir: &Path) -> Result<(), ArchiveError> {
    let asset = stored.path();
    store::copy_into(&stored.home.join(&asset), &dir.join(&asset), &stored.sha256)?;
    if let Some(original) = &stored.original {
        let folder = Layout::CURRENT.originals();
        store::folder_inside(dir, folder).map_err(store::at(&dir.join(folder)))?;
        store::copy_into(
            &stored.home.join(&original.path),
            &dir.join(&original.path),
            &original.sha256,
        )?;
    }
    entry.original = stored.original.clone();
    entry.sha256 = Some(stored.sha256.clone());
    entry.bytes = Some(stored.bytes);
    entry.media_type = Some(stored.media_type.to_string());
    entry.path = Some(asset);
    place_image(stored, entry, dir)
}

/// An image's dimensions and thumbnail (the thumbnail's file put into the
/// post folder), or why it has none, in its entry.
fn place_image(stored: &Stored, entry: &mut Entry, dir: &Path) -> Result<(), ArchiveError> {
    let Some(info) = &stored.image else {
        return Ok(());
    };
    entry.width = info.width;
    entry.height = info.height;
    entry.thumbnail = None;
    entry.thumbnail_error = None;
    entry.thumbnail_retry = false;
    match &info.thumb {
        Ok(thumb) => {
            let path = format!("{}/{}", Layout::CURRENT.thumbs(), thumb.file_name);
            store::copy_into(&stored.home.join(&path), &dir.join(&path), &thumb.sha256)?;
            entry.thumbnail = Some(manifest::Thumbnail {
                path,
                sha256: thumb.sha256.clone(),
                width: thumb.width,
                height: thumb.height,
            });
        }
        Err(reason) => {
            entry.thumbnail_error = Some(reason.clone());
            entry.thumbnail_retry = info.retry;
        }
    }
    Ok(())
}
