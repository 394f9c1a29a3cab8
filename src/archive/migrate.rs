//! Moving a post folder to the current layout, in place: a version-1
//! folder (manifest.json, source.md and thumbs/ beside index.md, links'
//! copies in assets/) becomes version 2 when `archive` runs over it.
//!
//! The new layout is complete before the old files go: reused entries'
//! files are linked into their new places ([`relocate`]) while the run
//! writes the version-2 files, the version-2 manifest last; only then are
//! the version-1 files removed ([`remove_v1`]), the version-1 manifest and
//! lock last of all. Killed at any moment, the folder is described by one
//! of the two manifests, whose files are all there (a reader takes the
//! version-2 manifest when both exist), and the next run finishes.

use std::collections::BTreeSet;
use std::path::Path;

use crate::manifest::{Entry, Manifest};
use crate::store::{self, ASSETS, IoError, Layout};

/// Puts an entry's files where the current layout keeps them (a link's
/// copy in `.rotproof/pages/`, thumbnails in `.rotproof/thumbs/`), linking
/// each from where it is; the old file stays until [`remove_v1`].
pub(super) fn relocate(entry: &mut Entry, dir: &Path) -> Result<(), IoError> {
    let layout = Layout::CURRENT;
    let stored_in = layout.folder_for(entry.kind);
    if let (Some(path), Some(sha)) = (&entry.path, &entry.sha256) {
        entry.path = Some(moved(dir, path, stored_in, sha)?);
    }
    if let Some(thumb) = &mut entry.thumbnail {
        thumb.path = moved(dir, &thumb.path, layout.thumbs(), &thumb.sha256)?;
    }
    for version in &mut entry.versions {
        version.path = moved(dir, &version.path, stored_in, &version.sha256)?;
    }
    Ok(())
}

/// `path`'s file placed in `folder` under its own name; the new path.
fn moved(
    dir: &Path,
    path: &str,
    folder: &str,
    sha256: &crate::digest::Sha256,
) -> Result<String, IoError> {
    let Some(name) = path.rsplit('/').next().filter(|n| is_plain_name(n)) else {
        return Ok(path.to_string());
    };
    let target = format!("{folder}/{name}");
    if target != path {
        store::copy_into(&dir.join(path), &dir.join(&target), sha256)?;
    }
    Ok(target)
}

/// A file name with nothing that could lead out of its folder.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\'])
}

/// Removes what a version-1 layout left once the version-2 manifest is
/// written: the files only the version-1 manifest names (links' copies in
/// assets/, thumbs/), then source.md, then the version-1 manifest and
/// lock. Best effort: what cannot be removed now is removed by the next
/// run. Only plain names inside `assets/` and `thumbs/` are ever removed,
/// whatever the old manifest says.
pub(super) fn remove_v1(dir: &Path, current: &Manifest) {
    let old = Layout::V1;
    let old_manifest = dir.join(old.manifest());
    if !old_manifest.is_file() {
        return;
    }
    let kept: BTreeSet<&str> = named(current).collect();
    if let Ok(Some(previous)) = Manifest::read(&old_manifest) {
        for path in named(&previous) {
            let Some((folder, name)) = path.split_once('/') else {
                continue;
            };
            let ours = (folder == ASSETS || folder == old.thumbs()) && is_plain_name(name);
            if ours && !kept.contains(path) {
                let _ = std::fs::remove_file(dir.join(path));
            }
        }
    }
    let _ = std::fs::remove_dir(dir.join(old.thumbs()));
    let _ = std::fs::remove_file(dir.join(old.source()));
    let _ = std::fs::remove_file(&old_manifest);
    let _ = std::fs::remove_file(dir.join(old.lock()));
    store::sync_dir(dir);
}

/// Every file path a manifest names.
fn named(manifest: &Manifest) -> impl Iterator<Item = &str> {
    manifest.resources.iter().flat_map(|e| {
        e.path
            .as_deref()
            .into_iter()
            .chain(e.thumbnail.as_ref().map(|t| t.path.as_str()))
            .chain(e.versions.iter().map(|v| v.path.as_str()))
    })
}
