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
