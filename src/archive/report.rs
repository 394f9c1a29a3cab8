//! The outcome of an archive run, for the summary and `--json`.

use serde::Serialize;

use crate::acquire::archives::WebArchive;
use crate::errors::PostError;
use crate::manifest::{Kind, Status};

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ArchiveReport {
    pub posts: Vec<PostReport>,
    /// Posts that were not archived (unreadable, malformed, their folder
    /// locked or another post's): the run went on without them.
    pub errors: Vec<PostError>,
    pub counts: StatusCounts,
    pub bytes_stored: u64,
    pub duplicates: usize,
    /// Resources fetched over the network in this run (not reused).
    pub fetched: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct StatusCounts {
    pub total: usize,
    pub archived: usize,
    pub failed: usize,
    pub skipped: usize,
    pub images: usize,
    /// Video, audio and captions.
    pub media: usize,
    pub links: usize,
    /// Archived from a web archive's capture, the origin being gone.
    pub recovered: RecoveredCounts,
}

/// Resources recovered from web archives, by archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct RecoveredCounts {
    pub wayback: usize,
    pub memento: usize,
}

impl RecoveredCounts {
    pub(crate) fn total(&self) -> usize {
        self.wayback + self.memento
    }
}

/// One post of the run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PostReport {
    pub source: String,
    pub slug: String,
    pub dir: String,
    pub counts: StatusCounts,
    /// The first [`FAILURES_LISTED`] failures, in the post's order.
    pub failures: Vec<FailureReport>,
    /// How many more failed than are listed (the manifest lists them all).
    #[serde(skip_serializing_if = "is_zero")]
    pub failures_not_listed: usize,
    /// Distinct stored files of the post.
    pub files: usize,
}

/// Failures a post's report lists: a post of a million dead links is
/// told in a screenful, and its report is not a second copy of its
/// manifest in memory.
pub(crate) const FAILURES_LISTED: usize = 1000;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FailureReport {
    pub url: String,
    pub error: String,
}

impl ArchiveReport {
    pub(crate) fn any_failed(&self) -> bool {
        self.counts.failed > 0
    }
}

impl StatusCounts {
    /// Counts one entry.
    pub(crate) fn count(&mut self, e: &crate::manifest::Entry) {
        let counts = self;
        {
            counts.total += 1;
            match e.kind {
                Kind::Image => counts.images += 1,
                Kind::Media => counts.media += 1,
                Kind::Link => counts.links += 1,
            }
            match e.recovered_from.as_ref().map(|r| r.archive) {
                Some(WebArchive::Wayback) => counts.recovered.wayback += 1,
                Some(WebArchive::Memento) => counts.recovered.memento += 1,
                None => {}
            }
            match e.status {
                Status::Archived => counts.archived += 1,
                Status::Failed => counts.failed += 1,
                Status::Skipped => counts.skipped += 1,
            }
        }
    }

    pub(crate) fn add(&mut self, other: &StatusCounts) {
        self.total += other.total;
        self.archived += other.archived;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.images += other.images;
        self.media += other.media;
        self.links += other.links;
        self.recovered.wayback += other.recovered.wayback;
        self.recovered.memento += other.recovered.memento;
    }
}
