//! Re-running `archive` over an archived post: what the previous manifest
//! decides and what carries over. An archived entry whose file is intact is
//! reused as it is; `--refresh` revalidates it with its validators, and a
//! 304 keeps it; check records and later versions are never lost; the
//! post's `source` stays what it was when the post is re-archived from its
//! own source.md.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::digest::hash_reader;
use crate::manifest::{Entry, Manifest, Occurrence, RepairLinks, Status};
use crate::store::{self, Layout};

/// What the previous run recorded for a post folder.
#[derive(Debug, Default)]
pub(super) struct Previous {
    /// Shared with the decisions that keep them (no copy per decision).
    entries: HashMap<String, Arc<Entry>>,
    /// The previous manifest's `post.source`, kept when the post is
    /// re-archived from the folder's own source.md (`check --repair`).
    own_source: Option<String>,
    /// The previous manifest's `post.source`: the post the folder belongs
    /// to.
    owner: Option<String>,
    /// The previous `check --repair --repair-links`, kept by later runs.
    pub repair_links: Option<RepairLinks>,
}

impl Previous {
    /// Reads `dir`'s manifest, in whichever layout it is, if there is one;
    /// `post` is the post being archived into it.
    pub(super) fn read(
        dir: &Path,
        post: &Path,
    ) -> Result<Previous, crate::manifest::ManifestError> {
        let Some(layout) = Layout::detect(dir) else {
            return Ok(Previous::default());
        };
        let Some(manifest) = Manifest::read_worth_keeping(&dir.join(layout.manifest()))? else {
            return Ok(Previous::default());
        };
        let own = dir.join(layout.source()).canonicalize().ok();
        let from_own_source = own.is_some() && post.canonicalize().ok() == own;
        Ok(Previous {
            repair_links: manifest.post.repair_links,
            owner: Some(manifest.post.source.clone()),
            own_source: from_own_source.then_some(manifest.post.source),
            // An entry that was never archived and has no history carries
            // nothing over (its resource is fetched as a new one): not
            // even read into memory.
            entries: manifest
                .resources
                .into_iter()
                .map(|e| (e.url.clone(), Arc::new(e)))
                .collect(),
        })
    }

    pub(super) fn get(&self, key: &str) -> Option<&Arc<Entry>> {
        self.entries.get(key)
    }

    /// The post the folder belongs to, when it is not the one read from
    /// `path` into an archive rooted at `out`. A folder belongs to the post
    /// it was made from: its recorded `post.source`, relative to `out`
    /// (version 1 recorded the path as given, relative to where it ran, or
    /// absolute: those are matched too). Re-archiving from the folder's own
    /// source.md is the folder's own post.
    pub(super) fn other_owner(&self, path: &Path, out: &Path) -> Option<&str> {
        let owner = self.owner.as_deref()?;
        if self.own_source.is_some() {
            return None;
        }
        let same_file = |candidate: &Path| {
            let (Ok(a), Ok(b)) = (candidate.canonicalize(), path.canonicalize()) else {
                return false;
            };
            a == b
        };
        let ours = owner == store::relative_path(out, path)
            || owner == path.display().to_string()
            || same_file(&out.join(owner))
            || same_file(Path::new(owner));
        (!ours).then_some(owner)
    }

    /// The manifest's `post.source` for a post read from `path` into an
    /// archive rooted at `out`: the path relative to `out`, the same from
    /// whatever folder rotproof runs and never an absolute path.
    pub(super) fn source_label(&self, path: &Path, out: &Path) -> String {
        self.own_source
            .clone()
            .unwrap_or_else(|| store::relative_path(out, path))
    }

    /// The previous entry for `key` when it was archived and its file (and
    /// thumbnail) is still there with the bytes it names.
    pub(super) fn intact(&self, key: &str, dir: &Path) -> Option<&Arc<Entry>> {
        self.get(key)
            .filter(|e| e.status == Status::Archived && is_intact(dir, e))
    }
}

/// Whether an archived entry's file is there with the bytes it names.
/// Its thumbnail is not asked for: a missing one is made again from this
/// file (see [`thumbnail_missing`]), never a reason to fetch again.
fn is_intact(dir: &Path, entry: &Entry) -> bool {
    let (Some(path), Some(sha)) = (&entry.path, &entry.sha256) else {
        return false;
    };
    // Only files of the folder: a manifest naming one elsewhere (edited
    // by hand, or hostile) is not intact, and nothing is read there.
    let Ok(file) = store::inside(dir, path)
        .and_then(|p| std::fs::File::open(p).map_err(|_| store::Refusal::NotAFile))
    else {
        return false;
    };
    if file
        .metadata()
        .map(|m| Some(m.len()) != entry.bytes)
        .unwrap_or(true)
    {
        return false;
    }
    hash_reader(file).is_ok_and(|h| &h == sha)
}

/// Whether an intact entry's thumbnail must be made again: it is not in
/// the folder (deleted, or named outside it by a hand-edited manifest),
/// or an earlier run could not write it for a reason that may have
/// passed.
pub(super) fn thumbnail_missing(dir: &Path, entry: &Entry) -> bool {
    match &entry.thumbnail {
        Some(thumb) => store::inside(dir, &thumb.path).is_err(),
        None => entry.thumbnail_retry,
    }
}

/// The previous entry as it stands, with this run's occurrences (the post
/// may have moved the URL around): a reused entry, or one a 304 confirmed.
pub(super) fn kept(previous: &Entry, occurrences: Vec<Occurrence>) -> Entry {
    Entry {
        occurrences,
        ..previous.clone()
    }
}

/// History is never lost by re-archiving: check records and later
/// versions carry over to the new entry.
pub(super) fn carry_history(entry: &mut Entry, previous: Option<&Entry>) {
    if let Some(prev) = previous {
        if entry.checks.is_empty() {
            entry.checks = prev.checks.clone();
        }
        if entry.versions.is_empty() {
            entry.versions = prev.versions.clone();
        }
    }
}
