//! Paths between the archive and the posts: the folder of a file, a path
//! relative to the archive root (what a manifest records), the post folder
//! of a manifest.

use std::path::{Path, PathBuf};

use super::OWN;

/// The folder a path is in, `.` for a bare file name.
pub fn parent_or_dot(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `to` as a path relative to the folder `from` (`../posts/x.md`), with
/// `/` separators. Both are resolved first; when they cannot be, `to` as it
/// was given, less any leading `/`.
pub fn relative_path(from: &Path, to: &Path) -> String {
    use std::path::Component;
    let (Ok(from), Ok(to)) = (from.canonicalize(), to.canonicalize()) else {
        return to.to_string_lossy().trim_start_matches('/').to_string();
    };
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// The post folder a manifest.json belongs to: its folder, or, for
/// `.rotproof/manifest.json`, the folder above.
pub fn folder_of_manifest(manifest: &Path) -> PathBuf {
    let parent = parent_or_dot(manifest);
    if parent.file_name().is_some_and(|n| n == OWN) {
        parent_or_dot(parent).to_path_buf()
    } else {
        parent.to_path_buf()
    }
}

/// Why a path a manifest names is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Absolute, with `..`, empty, or with a backslash.
    Outside,
    /// A symlink on the way, or at the end.
    Symlink,
    /// Nothing there, or not a regular file.
    NotAFile,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Outside => "not a path inside the post folder",
            Refusal::Symlink => "reached through a symbolic link",
            Refusal::NotAFile => "missing, or not a file",
        })
    }
}

/// The file a manifest names, relative to the post folder `dir`: a plain
/// relative path inside it, reached through no symlink, to a regular file.
/// A manifest is a file anyone may have edited: it must not make rotproof
/// read, link, hash, bundle or publish a file from anywhere else.
pub fn inside(dir: &Path, rel: &str) -> Result<PathBuf, Refusal> {
    use std::path::Component;
    let path = Path::new(rel);
    let plain = !rel.is_empty()
        && !rel.contains('\\')
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(Refusal::Outside);
    }
    let mut at = dir.to_path_buf();
    for part in path.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(Refusal::Symlink),
            Ok(_) => {}
            Err(_) => return Err(Refusal::NotAFile),
        }
    }
    if !at.is_file() {
        return Err(Refusal::NotAFile);
    }
    Ok(at)
}

/// The folder `rel` of the post folder `dir`, made if missing, unless it
/// (or a folder on the way) is a symlink: what is written there stays in
/// the post folder.
pub fn folder_inside(dir: &Path, rel: &str) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let refused = || std::io::Error::other(format!("{rel}: {}", Refusal::Symlink));
    let mut at = dir.to_path_buf();
    for part in Path::new(rel).components() {
        let Component::Normal(part) = part else {
            return Err(std::io::Error::other(format!(
                "{rel}: {}",
                Refusal::Outside
            )));
        };
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(refused()),
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(std::io::Error::other(format!("{rel}: not a folder"))),
            Err(_) => std::fs::create_dir(&at)?,
        }
    }
    Ok(at)
}

/// Removes the file a manifest names in the post folder `dir`, through
/// the same check as every read ([`inside`]): a path that leaves the
/// folder or passes through a symlink (a hostile folder's `thumbs/` linked
/// to a folder elsewhere) removes nothing. Best effort: whether it was
/// removed.
pub fn remove_inside(dir: &Path, rel: &str) -> bool {
    inside(dir, rel).is_ok_and(|path| std::fs::remove_file(path).is_ok())
}

/// Removes from the store folders of the post folder `dir` (`stores`:
/// `assets`, `.rotproof/thumbs`, ...) every file named like stored content
/// (`<sha256>.<ext>`) that `named` does not hold: what a post no longer
/// shows (an image its author removed) leaves with the manifest that stops
/// naming it. Anything else in those folders is left alone. Best effort.
pub fn prune(dir: &Path, stores: &[&str], named: &std::collections::BTreeSet<String>) {
    for sub in stores {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stem = name.split('.').next().unwrap_or(name);
            let content_named = stem.len() == 64
                && stem
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            let rel = format!("{sub}/{name}");
            if content_named && !named.contains(&rel) {
                remove_inside(dir, &rel);
            }
        }
    }
}

/// Removes the empty folder `rel` of the post folder `dir`, unless it (or
/// a folder on the way) is a symlink. Best effort.
pub fn remove_empty_folder_inside(dir: &Path, rel: &str) -> bool {
    use std::path::Component;
    let path = Path::new(rel);
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return false;
    }
    let mut at = dir.to_path_buf();
    for part in path.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return false,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    std::fs::remove_dir(&at).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_to_files_inside_are_accepted() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("assets/a.jpg"), "a").unwrap();
        assert!(inside(dir.path(), "assets/a.jpg").is_ok());
        for rel in [
            "/etc/hostname",
            "../secret",
            "assets/../../secret",
            "",
            "assets\\a.jpg",
        ] {
            assert_eq!(inside(dir.path(), rel), Err(Refusal::Outside), "{rel}");
        }
        assert_eq!(inside(dir.path(), "assets"), Err(Refusal::NotAFile));
        assert_eq!(inside(dir.path(), "assets/b.jpg"), Err(Refusal::NotAFile));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(
                outside.path().join("secret"),
                dir.path().join("assets/l.jpg"),
            )
            .unwrap();
            assert_eq!(inside(dir.path(), "assets/l.jpg"), Err(Refusal::Symlink));
        }
    }
}
