//! Archiving posts: the orchestration of parsing, fetching, storing,
//! thumbnailing, rewriting and the manifest.
//!
//! A run has three phases, each its own module:
//!
//! 1. **Plan** ([`plan`]): every post is read and parsed and given a slug;
//!    its folder is created and locked (its own step, which a dry run
//!    skips); then each resource is decided against the previous manifest
//!    (skip, omit, reuse the intact archived file, or fetch), and the
//!    distinct resources of all posts become the run's jobs (a URL shared
//!    by posts is fetched once). Blocking file work, on the caller's thread.
//! 2. **Execute** ([`execute`]): the one concurrent stage, on the async
//!    runtime. Each body streams into the store under its sha256;
//!    thumbnails are made on the CPU pool while downloads go on.
//! 3. **Finish** ([`finish`]): each post folder gets its files, index.md,
//!    source.md, and last manifest.json, with what earlier runs recorded
//!    carried over ([`merge`]).

mod collapse;
mod execute;
mod finish;
pub(crate) mod merge;
mod migrate;
mod outcome;
mod plan;
mod report;

use std::path::PathBuf;

use std::sync::Arc;

use url::Url;

pub(crate) use crate::errors::PostError;
pub(crate) use finish::rewritten;
pub(crate) use plan::{Action, PlannedPost, Provenance};
pub(crate) use report::{ArchiveReport, RecoveredCounts};

use crate::acquire::archives::WebArchives;
use crate::config::Rules;
use crate::errors;
use crate::manifest::{LinksMode, ManifestError, RepairLinks};
use crate::net::{NetOptions, SetupError};
use crate::progress::Progress;
use crate::runner::{Interrupted, Runner};
use crate::store::{IoError, OpenError};
use crate::thumbnail;

/// How one post is archived: what its manifest records, so that a later
/// `check --repair` archives it the same way.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PostOptions {
    /// `--base-url`: relative URLs are resolved against it.
    pub base_url: Option<Url>,
    pub links: LinksMode,
    pub thumbs: thumbnail::Settings,
    /// `check --repair --repair-links`: where dead links are pointed;
    /// `None` keeps what the folder's last repair said.
    pub repair_links: Option<RepairLinks>,
}

/// One post to archive, and where.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub path: PathBuf,
    /// The archive root: the post goes to `out/<under>/<slug>/`.
    pub out: PathBuf,
    /// The post's folders below the folder it was found in (a run over a
    /// folder keeps its tree, so two posts with one stem in different
    /// folders never collide); empty for a file named on the command line.
    pub under: PathBuf,
    /// For a page bundle found in a folder: the bundle's folder name, which
    /// its folder in the archive keeps (its translations share it).
    pub bundle: Option<String>,
    /// `--slug`, else the post's own.
    pub slug: Option<String>,
    pub options: PostOptions,
}

impl Input {
    /// Every post of a command line, archived alike into `out`. `--slug`
    /// names one post only.
    pub(crate) fn all(
        posts: &[(PathBuf, PathBuf, Option<String>)],
        out: &std::path::Path,
        slug: Option<&str>,
        options: &PostOptions,
    ) -> Result<Vec<Input>, ArchiveError> {
        if slug.is_some() && posts.len() > 1 {
            return Err(ArchiveError::Input {
                path: out.to_path_buf(),
                message: "--slug names one post, but several were given".to_string(),
            });
        }
        Ok(posts
            .iter()
            .map(|(path, under, bundle)| Input {
                path: path.clone(),
                out: out.to_path_buf(),
                under: under.clone(),
                bundle: bundle.clone(),
                slug: slug.map(str::to_string),
                options: options.clone(),
            })
            .collect())
    }
}

/// ArchiveSettings of the whole run.
#[derive(Debug, Clone)]
pub(crate) struct ArchiveSettings {
    /// `--refresh`: revalidate archived resources instead of keeping them.
    pub refresh: bool,
    pub net: NetOptions,
    /// The config's filters, remaps and placeholders.
    pub rules: Arc<Rules>,
    /// Where resources that are gone are looked up.
    pub archives: Arc<WebArchives>,
}

/// Errors that stop a run (exit 1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ArchiveError {
    #[error("{}: {message}", .path.display())]
    Input { path: PathBuf, message: String },
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Ctrl-C: a cause of its own, so the printer finds it in the chain.
    #[error("stopped")]
    Interrupted(#[from] Interrupted),
}

/// Archives posts. Returns the report; the caller picks the exit code.
pub(crate) fn run(
    inputs: &[Input],
    settings: &ArchiveSettings,
    progress: &dyn Progress,
    runner: &Runner,
) -> Result<ArchiveReport, ArchiveError> {
    let mut refused = Vec::new();
    let drafts = plan::read(inputs, &mut refused);
    let mut planned = Vec::new();
    for (draft, lock) in plan::lock(drafts, &mut refused) {
        let path = draft.path.clone();
        match plan::decide(draft, settings) {
            Ok(p) => planned.push((p, lock)),
            Err(err) => refused.push(PostError::new(&path, errors::one_line(&err))),
        }
    }
    plan::restore_from_good_copies(&mut planned);
    let fetched = plan::number_jobs(&mut planned);
    progress.start(fetched);
    let outcomes = runner.run(execute::fetch_all(plan::jobs(&planned), settings, progress))??;
    progress.finish();
    Ok(finish::all(planned, outcomes, fetched, refused))
}

/// What a run would do, without the network and without writing or
/// locking anything: the same plan [`run`] makes, and the posts it would
/// refuse.
pub(crate) fn dry_run(
    inputs: &[Input],
    settings: &ArchiveSettings,
    each: &mut dyn FnMut(&PlannedPost<'_>) -> std::io::Result<()>,
) -> Result<Vec<PostError>, std::io::Error> {
    let mut refused = Vec::new();
    for draft in plan::read(inputs, &mut refused) {
        let path = draft.path.clone();
        match plan::decide(draft, settings) {
            // Listed as soon as it is planned, and dropped.
            Ok(p) => each(&p.listing())?,
            Err(err) => refused.push(PostError::new(&path, errors::one_line(&err))),
        }
    }
    Ok(refused)
}
