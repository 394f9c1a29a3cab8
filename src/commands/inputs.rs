//! Turning command-line paths into the list of posts to work on.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Extensions of posts found when walking a folder. A file named on the
/// command line is a post whatever its extension.
const POST_EXTENSIONS: &[&str] = &["md", "markdown"];

/// Expands files and folders into post paths, sorted within each folder so
/// runs are reproducible. Symlinks inside folders are not followed.
pub(super) fn posts(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        // A file that cannot be read is reported by the run, which goes on
        // with the others.
        if std::fs::metadata(input).is_ok_and(|m| m.is_dir()) {
            let before = out.len();
            for entry in walkdir::WalkDir::new(input).sort_by_file_name() {
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

fn is_post(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| POST_EXTENSIONS.iter().any(|p| p.eq_ignore_ascii_case(e)))
}
