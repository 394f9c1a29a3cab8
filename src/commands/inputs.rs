//! Turning command-line paths into the list of posts to work on.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Extensions of posts found when walking a folder. A file named on the
/// command line is a post whatever its extension.
const POST_EXTENSIONS: &[&str] = &["md", "markdown"];

/// Expands files and folders into post paths, sorted within each folder so
/// runs are reproducible. Symlinks inside folders are not followed. A
/// folder's walk never enters what rotproof wrote, so nothing it wrote is
/// ever taken as a post: the output root `archive_root`, any folder
/// holding an archived post (its `.rotproof/`, or a version-1 manifest),
/// and dot-folders (`.rotproof/`, `.git/`, `.obsidian/`).
pub(super) fn posts(inputs: &[PathBuf], archive_root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let archive_root = archive_root.canonicalize().ok();
    let skipped = |entry: &walkdir::DirEntry| {
        if entry.depth() == 0 || !entry.file_type().is_dir() {
            return false;
        }
        let dot = entry.file_name().to_string_lossy().starts_with('.');
        let ours = archive_root.is_some() && entry.path().canonicalize().ok() == archive_root;
        dot || ours || holds_an_archive(entry.path())
    };
    let mut out = Vec::new();
    for input in inputs {
        // A file that cannot be read is reported by the run, which goes on
        // with the others.
        if std::fs::metadata(input).is_ok_and(|m| m.is_dir()) {
            let before = out.len();
            let walk = walkdir::WalkDir::new(input).sort_by_file_name();
            for entry in walk.into_iter().filter_entry(|e| !skipped(e)) {
                let entry = entry.with_context(|| format!("reading {}", input.display()))?;
                if entry.file_type().is_file() && is_post(entry.path()) {
                    out.push(entry.into_path());
                }
            }
            if out.len() == before {
                bail!(
                    "{}: no *.md or *.markdown files in this folder",
                    input.display()
                );
            }
        } else {
            out.push(input.clone());
        }
    }
    Ok(out)
}

/// Whether `dir` is an archived post folder: it holds `.rotproof/`, or a
/// version-1 manifest (`manifest.json` that says it is rotproof's, not a
/// web app's).
fn holds_an_archive(dir: &Path) -> bool {
    use std::io::Read;
    if dir.join(crate::store::OWN).is_dir() {
        return true;
    }
    let mut head = Vec::new();
    std::fs::File::open(dir.join("manifest.json"))
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .is_ok_and(|_| String::from_utf8_lossy(&head).contains("\"rotproof-manifest\""))
}

fn is_post(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| POST_EXTENSIONS.iter().any(|p| p.eq_ignore_ascii_case(e)))
}
