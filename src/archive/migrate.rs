//! Moving a post folder to the current layout, in place: a version-1
//! folder (manifest.json, source.md and thumbs/ beside index.md, links'
//! copies in assets/) becomes version 2 when `archive` runs over it.
//!
//! The new layout is complete before the old files go: reused entries'
//! files are copied into their new places ([`relocate`]) while the run
//! writes the version-2 files, the version-2 manifest last; only then are
//! the version-1 files removed ([`remove_v1`]), the version-1 manifest and
//! lock last of all. Killed at any moment, the folder is described by one
//! of the two manifests, whose files are all there (a reader takes the
//! version-2 manifest when both exist), and the next run finishes.

use std::collections::BTreeSet;
use std::path::Path;

use crate::manifest::{Entry, Manifest, Original};
use crate::store::{self, ASSETS, IoError, Layout};

/// Puts an entry's files where the current layout keeps them (a link's
/// copy in `.rotproof/pages/`, thumbnails in `.rotproof/thumbs/`), copying
/// each from where it is; the old file stays until [`remove_v1`].
pub(super) fn relocate(entry: &mut Entry, dir: &Path) -> Result<(), IoError> {
    let layout = Layout::CURRENT;
    let stored_in = if entry.is_local_file() {
        ASSETS
    } else {
        layout.folder_for(entry.kind)
    };
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

/// An SVG the post shows, archived before such files were made safe to
/// publish (or whose published copy lost its safety by hand): the file
/// becomes the bytes as fetched, in `.rotproof/originals/`, and the post
/// shows a copy without what could run or fetch. Nothing is fetched; the
/// old file leaves with the manifest that stops naming it.
pub(super) fn make_svgs_safe(entry: &mut Entry, dir: &Path) -> Result<(), IoError> {
    // Only what is published: images, media and files beside the post.
    if !entry.kind.is_embedded() && !entry.is_local_file() {
        return Ok(());
    }
    if entry.original.is_none()
        && entry.media_type.as_deref() == Some("image/svg+xml")
        && let (Some(path), Some(sha)) = (&entry.path, &entry.sha256)
        && let Some((path, sha, bytes, original)) = made_safe(dir, path, sha)?
    {
        (entry.path, entry.sha256, entry.bytes) = (Some(path), Some(sha), Some(bytes));
        entry.original = Some(original);
    }
    for version in &mut entry.versions {
        if version.original.is_none()
            && version.media_type == "image/svg+xml"
            && let Some((path, sha, bytes, original)) =
                made_safe(dir, &version.path, &version.sha256)?
        {
            (version.path, version.sha256, version.bytes) = (path, sha, bytes);
            version.original = Some(original);
        }
    }
    Ok(())
}

/// The safe copy of the SVG at `path` (of content `sha256`), if it is not
/// safe as it is: its path, sha256 and size, and where its bytes went.
fn made_safe(
    dir: &Path,
    path: &str,
    sha256: &crate::digest::Sha256,
) -> Result<Option<(String, crate::digest::Sha256, u64, Original)>, IoError> {
    let Ok(file) = store::inside(dir, path) else {
        return Ok(None);
    };
    let opened = std::fs::File::open(&file).map_err(store::at(&file))?;
    let body = match store::Incoming::new(&dir.join(ASSETS), u64::MAX).copy_from(opened, &file) {
        Ok(body) => body,
        Err(store::IngestError::Io(err)) => return Err(err),
        Err(store::IngestError::TooLarge(_)) => return Ok(None),
    };
    if &body.digest.sha256 != sha256 {
        // Not the file the manifest names: `verify` says so.
        return Ok(None);
    }
    let persisted = store::persist_in(body, dir, ASSETS, "svg")?;
    let Some((fetched, bytes)) = persisted.original else {
        return Ok(None);
    };
    let original = Original {
        path: format!("{}/{fetched}.svg", Layout::CURRENT.originals()),
        sha256: fetched,
        bytes,
    };
    let (sha, size) = persisted.served;
    Ok(Some((format!("{ASSETS}/{sha}.svg"), sha, size, original)))
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
    if target == path {
        return Ok(target);
    }
    // Linked only from a file of the folder, whatever the old manifest says.
    match store::inside(dir, path) {
        Ok(from) => {
            store::copy_into(&from, &dir.join(&target), sha256)?;
            Ok(target)
        }
        Err(_) => Ok(path.to_string()),
    }
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
/// whatever the old manifest says, and never through a symlink (a hostile
/// folder's `thumbs/` may lead anywhere): every removal goes through the
/// check every read does.
pub(super) fn remove_v1(dir: &Path, leftovers: Vec<Leftover>) {
    if leftovers.is_empty() {
        return;
    }
    for leftover in leftovers {
        match leftover {
            Leftover::File(rel) => store::remove_inside(dir, &rel),
            Leftover::Folder(rel) => store::remove_empty_folder_inside(dir, &rel),
        };
    }
    store::sync_dir(dir);
}

/// Something a version-1 layout left, relative to its post folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Leftover {
    File(String),
    Folder(String),
}

/// What [`remove_v1`] removes, in its order: nothing when there is no
/// version-1 manifest.
pub(super) fn v1_leftovers(dir: &Path, kept: &BTreeSet<String>) -> Vec<Leftover> {
    let old = Layout::V1;
    let old_manifest = dir.join(old.manifest());
    if !old_manifest.is_file() {
        return Vec::new();
    }
    let mut leftovers = Vec::new();
    if let Ok(Some(previous)) = Manifest::read(&old_manifest) {
        for path in named(&previous) {
            let Some((folder, name)) = path.split_once('/') else {
                continue;
            };
            let ours = (folder == ASSETS || folder == old.thumbs()) && is_plain_name(name);
            if ours && !kept.contains(path) && store::inside(dir, path).is_ok() {
                leftovers.push(Leftover::File(path.to_string()));
            }
        }
    }
    leftovers.sort();
    leftovers.dedup();
    leftovers.push(Leftover::Folder(old.thumbs().to_string()));
    leftovers.extend(
        [old.source(), old.manifest(), old.lock()]
            .iter()
            .filter(|name| store::inside(dir, name).is_ok())
            .map(|name| Leftover::File(name.to_string())),
    );
    leftovers
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Kind;

    /// A copy of the committed version-1 folder (made by rotproof 0.1.0).
    fn version_one() -> tempfile::TempDir {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-archive/fx");
        let to = tempfile::tempdir().unwrap();
        for sub in ["", "assets", "thumbs"] {
            std::fs::create_dir_all(to.path().join(sub)).unwrap();
            for entry in std::fs::read_dir(from.join(sub)).unwrap().flatten() {
                if entry.path().is_file() {
                    std::fs::copy(entry.path(), to.path().join(sub).join(entry.file_name()))
                        .unwrap();
                }
            }
        }
        to
    }

    /// What `finish` does for a folder whose entries are all reused: each
    /// moved to its new place, the version-2 manifest written.
    fn write_version_two(dir: &Path) -> Manifest {
        let mut m = Manifest::read(&dir.join("manifest.json")).unwrap().unwrap();
        // As `PostDir::create` makes them.
        for sub in [Layout::V2.thumbs(), Layout::V2.pages()] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for e in &mut m.resources {
            relocate(e, dir).unwrap();
        }
        m.version = 2;
        std::fs::copy(dir.join("source.md"), dir.join(".rotproof/source.md")).unwrap();
        m.write(&dir.join(Layout::V2.manifest())).unwrap();
        m
    }

    #[test]
    fn relocated_entries_point_where_version_two_keeps_them() {
        let dir = version_one();
        let m = write_version_two(dir.path());
        for e in m.resources.iter().filter(|e| e.path.is_some()) {
            let path = e.path.as_deref().unwrap();
            let want = if e.kind == Kind::Link {
                ".rotproof/pages/"
            } else {
                "assets/"
            };
            assert!(path.starts_with(want), "{path}");
            assert!(dir.path().join(path).is_file());
            if let Some(t) = &e.thumbnail {
                assert!(t.path.starts_with(".rotproof/thumbs/"), "{}", t.path);
            }
        }
    }

    #[test]
    fn a_kill_at_any_point_of_the_clean_up_leaves_version_two_complete() {
        let probe = version_one();
        let m = write_version_two(probe.path());
        let steps = v1_leftovers(probe.path(), &m.named_files()).len();
        assert!(steps >= 6, "{steps} steps");
        for killed_after in 0..=steps {
            let dir = version_one();
            let m = write_version_two(dir.path());
            let leftovers = v1_leftovers(dir.path(), &m.named_files());
            remove_v1(
                dir.path(),
                leftovers.into_iter().take(killed_after).collect(),
            );
            assert_eq!(Layout::detect(dir.path()), Some(Layout::V2));
            let report = crate::verify::verify_post(dir.path()).unwrap();
            let broken: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.problem != crate::verify::Problem::Unreferenced)
                .collect();
            assert!(
                broken.is_empty(),
                "after {killed_after} removals: {broken:?}"
            );
            // The next run removes the rest.
            remove_v1(dir.path(), v1_leftovers(dir.path(), &m.named_files()));
            assert!(!dir.path().join("manifest.json").exists());
            assert!(!dir.path().join("thumbs").exists());
            let report = crate::verify::verify_post(dir.path()).unwrap();
            assert!(report.findings.is_empty(), "{:?}", report.findings);
        }
    }
}
