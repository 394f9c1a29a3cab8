//! The collapse rule over an archive run's outcomes (the rule itself,
//! and its evidence, are [`crate::acquire::judge::collapse`]'s). When
//! three or more distinct image URLs of one host got one content, a few of
//! them are asked again with another Referer policy; only if those answer
//! different images for different URLs is the shared content the host's
//! placeholder. Then every URL of the group is asked again, concurrently,
//! without that content or the policy that got it; what still answers it
//! fails as a placeholder. Otherwise the bytes obtained stay.
//!
//! It runs after the concurrent stage, on the few groups that qualify, so
//! it costs nothing where no host repeats itself.

use std::sync::Arc;

use futures::StreamExt;
use url::Url;

use super::ArchiveError;
use super::outcome::{self, Outcome, Outcomes, Thumbs};
use super::plan::{Job, JobId, Source};
use crate::acquire::judge::collapse;
use crate::acquire::{Acquired, Acquirer, Refuse};
use crate::digest::Sha256;
use crate::manifest::{Kind, Referer};
use crate::net::hosts::HostKey;
use crate::net::{self, Failure, FailureKind};
use crate::store::{self, IoError, Layout};
use crate::thumbnail::{self, ImageInfo};

/// URLs of a group asked with another policy at most: enough to see two
/// differ, few enough that a host's logo on every page costs little.
const MAX_PROBES: usize = 3;

/// Applies the rule to a run's outcomes, in place. Placeholder files this
/// run stored are removed unless another outcome keeps them.
pub(super) async fn apply(
    jobs: &[Job<'_>],
    outcomes: &mut Outcomes,
    acquirer: &Acquirer,
    pool: &Arc<thumbnail::Pool>,
) -> Result<(), ArchiveError> {
    let answered = outcomes.iter().filter_map(|(id, outcome)| match outcome {
        Outcome::Stored {
            stored,
            fetch: Some(fetch),
        } if fetch.recovered.is_none() && stored.kind == Kind::Image => Some((
            id,
            HostKey::of(&fetch.answer.requested),
            stored.sha256.clone(),
        )),
        _ => None,
    });
    let groups = collapse::suspects(answered);
    if groups.is_empty() {
        return Ok(());
    }
    for (sha, mut ids) in groups {
        // By URL: which few are probed does not depend on the posts'
        // order.
        ids.sort_by_key(|id| jobs.get(id.index()).map(|job| job.key));
        if !proven(&sha, &ids, jobs, outcomes, acquirer).await? {
            continue;
        }
        let mut removable = Vec::new();
        let mut again = Vec::new();
        for &id in &ids {
            let (Some(job), Some((_, tried))) = (jobs.get(id.index()), asked(outcomes, id)) else {
                continue;
            };
            let Source::Remote(original) = job.source else {
                continue;
            };
            if let Some(Outcome::Stored { stored, .. }) = outcomes.get(id)
                && stored.written
            {
                removable.push((stored.home.clone(), stored.path(), stored.image.clone()));
            }
            again.push((id, job, original, tried));
        }
        // Every URL of the group asked again in the one concurrent stage.
        let sha_ref = &sha;
        let fetcher = acquirer.fetcher();
        let mut results = net::stage(
            again,
            fetcher.admitted(),
            |(_, _, original, _)| fetcher.lane(Some(original)),
            |(id, job, original, tried)| async move {
                let into = job.post.home.join(job.folder());
                let refuse = Refuse {
                    sha256: sha_ref,
                    policy: &tried,
                };
                let got = acquirer
                    .acquire(&job.want(original), Some(refuse), &into)
                    .await;
                (id, job, got)
            },
        );
        let mut thumbs = Thumbs::new(pool.clone());
        while let Some((id, job, got)) = results.next().await {
            let (outcome, thumb) = match got? {
                Acquired::Body(got) => outcome::store_body(job, *got).await?,
                Acquired::Failed(failure) => (Outcome::Failed(failure), None),
                Acquired::NotModified(_) => (
                    Outcome::Failed(Failure::without_request(FailureKind::Placeholder)),
                    None,
                ),
            };
            if let Some(request) = thumb {
                thumbs.request(id, request);
            }
            outcomes.set(id, outcome);
        }
        drop(results);
        thumbs.finish(outcomes).await;
        remove_unkept(&sha, removable, outcomes);
    }
    Ok(())
}

/// Whether the group's shared content is proven a placeholder: a few of
/// its URLs are asked with another policy, one at a time, until the
/// answers prove it ([`collapse::proven`]) or one URL answers nothing but
/// the shared content (then it is that URL's real image, and the group's).
async fn proven(
    sha: &Sha256,
    ids: &[JobId],
    jobs: &[Job<'_>],
    outcomes: &Outcomes,
    acquirer: &Acquirer,
) -> Result<bool, IoError> {
    let mut otherwise = Vec::new();
    for &id in ids.iter().take(MAX_PROBES) {
        let (Some(job), Some((url, tried))) = (jobs.get(id.index()), asked(outcomes, id)) else {
            continue;
        };
        let into = job.post.home.join(job.folder());
        match acquirer
            .answers_otherwise(&job.want(&url), sha, &tried, &into)
            .await?
        {
            None => return Ok(false),
            Some(other) => otherwise.push(other),
        }
        if collapse::proven(sha, &otherwise) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The URL a stored outcome was fetched from, and with which policy.
fn asked(outcomes: &Outcomes, id: JobId) -> Option<(Url, Referer)> {
    match outcomes.get(id)? {
        Outcome::Stored {
            fetch: Some(fetch), ..
        } => Some((fetch.answer.requested.clone(), fetch.referer.clone())),
        _ => None,
    }
}

/// Removes the placeholder's file and thumbnail from each folder this run
/// stored them in, unless an outcome there still holds that content. Every
/// removal goes through the store's check (a plain path inside the post
/// folder, no symlink on the way).
fn remove_unkept(
    sha: &Sha256,
    removable: Vec<(Arc<std::path::Path>, String, Option<ImageInfo>)>,
    outcomes: &Outcomes,
) {
    for (home, path, image) in removable {
        let kept = outcomes.iter().any(|(_, o)| match o {
            Outcome::Stored { stored, .. } => {
                stored.sha256 == *sha && stored.home == home && stored.path() == path
            }
            _ => false,
        });
        if kept {
            continue;
        }
        // Best effort: a leftover is only an unreferenced file, which
        // `verify` lists.
        store::remove_inside(&home, &path);
        if let Some(Ok(thumb)) = image.map(|i| i.thumb) {
            let thumb = format!("{}/{}", Layout::CURRENT.thumbs(), thumb.file_name);
            store::remove_inside(&home, &thumb);
        }
    }
}
