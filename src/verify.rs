//! `verify`: fixity. Every stored asset (and the bytes as fetched of an
//! SVG published without its scripts) is re-hashed against its name and
//! the manifest, every thumbnail against the manifest's `thumbnail.sha256`;
//! files in the folder that the manifest does not name are listed too.
//! Hashing streams each file (constant memory) and runs on all cores.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::digest::{Sha256, hash_reader};
use crate::manifest::{Manifest, ManifestError};
use crate::store::{self, PostDir};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Problem {
    Missing,
    Corrupt,
    Unreferenced,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Finding {
    pub problem: Problem,
    /// Relative to the post folder.
    pub path: String,
    pub detail: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct VerifiedPost {
    pub dir: String,
    /// Files re-hashed.
    pub files: usize,
    pub bytes: u64,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct VerifyReport {
    pub posts: Vec<VerifiedPost>,
    pub ok: bool,
    /// Post folders another run held locked: not verified this time.
    pub locked: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum VerifyError {
    #[error("{0}: not an archived post (no manifest.json)")]
    NotArchived(PathBuf),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Open(#[from] store::OpenError),
}

/// Files the manifest names, with the sha256 each must have.
fn expected(manifest: &Manifest) -> BTreeMap<String, (Sha256, String)> {
    manifest
        .stored_files()
        .into_iter()
        .map(|f| (f.path.clone(), (f.sha256.clone(), f.entry.url.clone())))
        .collect()
}

/// Verifies one archived post folder.
pub(crate) fn verify_post(dir: &Path) -> Result<VerifiedPost, VerifyError> {
    let lock = PostDir::read_only(dir)?;
    let layout = lock.layout();
    // Only archived entries name files: the others are not held.
    let manifest = Manifest::read_worth_keeping(&lock.manifest_path())?
        .ok_or_else(|| VerifyError::NotArchived(dir.to_path_buf()))?;
    let expected = expected(&manifest);

    let checked: Vec<(String, Option<Finding>, u64)> = expected
        .par_iter()
        .map(|(rel, (sha, url))| {
            // Only files of the folder are read: a manifest naming one
            // elsewhere, or through a symlink, is a finding.
            let opened = store::inside(dir, rel)
                .and_then(|path| std::fs::File::open(path).map_err(|_| store::Refusal::NotAFile));
            let file = match opened {
                Ok(f) => f,
                Err(refusal) => {
                    let problem = match refusal {
                        store::Refusal::NotAFile => Problem::Missing,
                        store::Refusal::Outside | store::Refusal::Symlink => Problem::Corrupt,
                    };
                    let f = Finding {
                        problem,
                        path: rel.clone(),
                        detail: format!("{refusal} (for {url})"),
                    };
                    return (rel.clone(), Some(f), 0);
                }
            };
            let bytes = file.metadata().map_or(0, |m| m.len());
            match hash_reader(std::io::BufReader::with_capacity(1 << 20, file)) {
                Ok(actual) if &actual == sha => {
                    // An asset's name is its own hash; a thumbnail is named
                    // after the asset it shows.
                    let named = rel.starts_with(layout.thumbs())
                        || file_stem(rel).is_some_and(|stem| actual == *stem);
                    let finding = (!named).then(|| Finding {
                        problem: Problem::Corrupt,
                        path: rel.clone(),
                        detail: format!("content {actual} does not match its name"),
                    });
                    (rel.clone(), finding, bytes)
                }
                Ok(actual) => (
                    rel.clone(),
                    Some(Finding {
                        problem: Problem::Corrupt,
                        path: rel.clone(),
                        detail: format!("sha256 is {actual}, the manifest says {sha} (for {url})"),
                    }),
                    bytes,
                ),
                Err(err) => (
                    rel.clone(),
                    Some(Finding {
                        problem: Problem::Corrupt,
                        path: rel.clone(),
                        detail: format!("cannot read: {err}"),
                    }),
                    bytes,
                ),
            }
        })
        .collect();

    let mut findings: Vec<Finding> = Vec::new();
    let mut bytes = 0;
    for (_, finding, n) in &checked {
        bytes += n;
        findings.extend(finding.clone());
    }
    let named: BTreeSet<&String> = expected.keys().collect();
    for sub in layout.stores() {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut extra: Vec<String> = entries
            .flatten()
            .map(|e| format!("{sub}/{}", e.file_name().to_string_lossy()))
            .filter(|rel| !named.contains(rel))
            .collect();
        extra.sort();
        findings.extend(extra.into_iter().map(|rel| Finding {
            problem: Problem::Unreferenced,
            detail: if rel.ends_with(".part") {
                "a temporary file left by an interrupted run".to_string()
            } else {
                "not named in manifest.json".to_string()
            },
            path: rel,
        }));
    }
    findings.sort_by(|a, b| (a.problem, &a.path).cmp(&(b.problem, &b.path)));
    Ok(VerifiedPost {
        dir: dir.display().to_string(),
        files: checked.len(),
        bytes,
        findings,
    })
}

fn file_stem(rel: &str) -> Option<&str> {
    let name = rel.rsplit('/').next()?;
    Some(name.split('.').next().unwrap_or(name))
}

/// Verifies every post folder. A folder another run is writing (locked)
/// is skipped and listed, as `check` does, and the others are verified.
pub(crate) fn run(dirs: &[PathBuf]) -> Result<VerifyReport, VerifyError> {
    let mut posts = Vec::new();
    let mut locked = Vec::new();
    for dir in dirs {
        match verify_post(dir) {
            Ok(post) => posts.push(post),
            Err(VerifyError::Open(store::OpenError::Locked(dir))) => locked.push(dir),
            Err(err) => return Err(err),
        }
    }
    let ok = posts.iter().all(|p| p.findings.is_empty());
    Ok(VerifyReport { posts, ok, locked })
}
