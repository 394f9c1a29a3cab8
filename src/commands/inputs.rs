//! Turning command-line paths into the list of posts to work on.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Extensions of posts found when walking a folder. A file named on the
/// command line is a post whatever its extension.
const POST_EXTENSIONS: &[&str] = &["md", "markdown"];

/// A post to archive, and where its folder goes under the archive root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub path: PathBuf,
    /// Its place in the tree (see [`crate::archive::Input::under`]).
    pub under: PathBuf,
    /// A page bundle's own folder name (see [`crate::archive::Input::bundle`]).
    pub bundle: Option<String>,
}

/// Expands files and folders into post paths, sorted within each folder so
/// runs are reproducible. A folder's posts keep its tree: a post at
/// `DIR/a/b.md` goes under `a/`, a page bundle `DIR/a/b/index.md` (or
/// `_index.md`, or a translation `index.<lang>.md`) is the folder `a/b/`;
/// a file named on the command line, or at the top of DIR, goes to the root
/// as before. Symlinks inside folders are not followed. A
/// folder's walk never enters what rotproof wrote, so nothing it wrote is
/// ever taken as a post: the output root `archive_root`, any folder
/// holding an archived post (its `.rotproof/`, or a version-1 manifest),
/// and dot-folders (`.rotproof/`, `.git/`, `.obsidian/`).
pub(super) fn posts(inputs: &[PathBuf], archive_root: &Path) -> anyhow::Result<Vec<Found>> {
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
                    out.push(placed(input, entry.into_path()));
                }
            }
            if out.len() == before {
                bail!(
                    "{}: no *.md or *.markdown files in this folder",
                    input.display()
                );
            }
        } else {
            out.push(Found {
                path: input.clone(),
                under: PathBuf::new(),
                bundle: None,
            });
        }
    }
    Ok(out)
}

/// Where a post found under `root` goes in the archive: its folders below
/// `root` kept.
fn placed(root: &Path, path: PathBuf) -> Found {
    let rel = path
        .strip_prefix(root)
        .ok()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    // A translation (`index.zh.md`) gets the folder `a/b.zh/` beside its
    // bundle's for now: one folder holds one post's manifest.
    let bundle = match stem.split_once('.') {
        None if stem == "index" || stem == "_index" => Some(None),
        Some(("index", lang)) if !lang.is_empty() => Some(Some(lang)),
        _ => None,
    };
    match (bundle, rel.file_name().and_then(|n| n.to_str())) {
        // The bundle is its folder: `a/b/index.md` is `a/b/`.
        (Some(lang), Some(name)) => Found {
            bundle: Some(match lang {
                Some(lang) => format!("{name}.{lang}"),
                None => name.to_string(),
            }),
            under: rel.parent().map(Path::to_path_buf).unwrap_or_default(),
            path,
        },
        _ => Found {
            path,
            under: rel,
            bundle: None,
        },
    }
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
