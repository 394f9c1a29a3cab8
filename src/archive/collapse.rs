//! The collapse rule (SPEC "Placeholders"): when three or more distinct
//! URLs of one host answered byte-identical images in this run, one of
//! them is asked again with another Referer policy. If that answers other
//! bytes, the shared content was the host's placeholder: every URL of the
//! group is asked again with the other policies, and whatever still
//! answers the placeholder fails as one. If every policy answers the same
//! bytes, they are legitimate duplicates and stay archived (stored once).
//!
//! It runs after the concurrent stage, on the few groups that qualify, so
//! it costs nothing where no host repeats itself.

use std::collections::HashMap;
use std::sync::Arc;

use url::Url;

use super::ArchiveError;
use super::execute::{self, Outcome, Thumbs};
use super::obtain::{self, Asking, Got};
use super::plan::{Job, Source};
use crate::digest::Sha256;
use crate::manifest::{Kind, Referer};
use crate::net::hosts::HostKey;
use crate::net::{Ask, Failure, FailureKind};
use crate::sniff;
use crate::store::{IoError, Layout};
use crate::thumbnail::{self, ImageInfo};

/// Distinct URLs of one host with one content that make it suspect.
pub const MIN_URLS: usize = 3;

/// Applies the rule to a run's outcomes, in place. Placeholder files this
/// run stored are removed unless another outcome keeps them.
pub(super) async fn apply(
    all: &[Arc<Job>],
    outcomes: &mut HashMap<String, Outcome>,
    ask: Asking<'_>,
    pool: &Arc<thumbnail::Pool>,
) -> Result<(), ArchiveError> {
    let groups = suspects(outcomes);
    if groups.is_empty() {
        return Ok(());
    }
    let jobs: HashMap<&str, &Job> = all.iter().map(|j| (j.key.as_str(), j.as_ref())).collect();
    for (sha, mut keys) in groups {
        keys.sort();
        let Some((url, tried)) = keys.first().and_then(|k| asked(outcomes, k)) else {
            continue;
        };
        let Some(&probe_job) = keys.first().and_then(|k| jobs.get(k.as_str())) else {
            continue;
        };
        if !answers_otherwise(probe_job, &url, &sha, &tried, ask).await? {
            continue;
        }
        let mut thumbs = Thumbs::new(pool.clone());
        let mut removable = Vec::new();
        for key in &keys {
            let (Some(&job), Some((_, tried))) = (jobs.get(key.as_str()), asked(outcomes, key))
            else {
                continue;
            };
            let Source::Remote(original) = &job.source else {
                continue;
            };
            if let Some(Outcome::Stored { stored, .. }) = outcomes.get(key)
                && stored.written
            {
                removable.push((stored.home.join(stored.path()), stored.image.clone()));
            }
            let into = job.post.home.join(Layout::CURRENT.folder_for(job.kind));
            let again = Asking {
                placeholder: Some((&sha, &tried)),
                ..ask
            };
            let (outcome, thumb) = match obtain::remote(job, original, again, &into).await? {
                Got::Body(got) => execute::store_body(job, *got).await?,
                Got::Failed(failure) => (Outcome::Failed(failure), None),
                Got::NotModified(_) => (
                    Outcome::Failed(Failure::without_request(FailureKind::Placeholder)),
                    None,
                ),
            };
            if let Some(request) = thumb {
                thumbs.request(key.clone(), request);
            }
            outcomes.insert(key.clone(), outcome);
        }
        thumbs.finish(outcomes).await;
        remove_unkept(&sha, removable, outcomes);
    }
    Ok(())
}

/// The groups the rule looks at: a host's distinct image URLs that this
/// run stored with one content, at least [`MIN_URLS`] of them.
fn suspects(outcomes: &HashMap<String, Outcome>) -> Vec<(Sha256, Vec<String>)> {
    let mut groups: HashMap<(HostKey, Sha256), Vec<String>> = HashMap::new();
    for (key, outcome) in outcomes {
        let Outcome::Stored {
            stored,
            fetch: Some(fetch),
        } = outcome
        else {
            continue;
        };
        if fetch.recovered.is_some() {
            continue;
        }
        if stored.kind != Kind::Image {
            continue;
        }
        groups
            .entry((HostKey::of(&fetch.answer.requested), stored.sha256.clone()))
            .or_default()
            .push(key.clone());
    }
    groups
        .into_iter()
        .filter(|(_, keys)| keys.len() >= MIN_URLS)
        .map(|((_, sha), keys)| (sha, keys))
        .collect()
}

/// The URL a stored outcome was fetched from, and with which policy.
fn asked(outcomes: &HashMap<String, Outcome>, key: &str) -> Option<(Url, Referer)> {
    match outcomes.get(key)? {
        Outcome::Stored {
            fetch: Some(fetch), ..
        } => Some((fetch.answer.requested.clone(), fetch.referer.clone())),
        _ => None,
    }
}

/// Whether `url`, asked with another policy than `tried`, answers an
/// image other than `sha`. What it answers is not kept: the group's jobs
/// ask again themselves.
async fn answers_otherwise(
    job: &Job,
    url: &Url,
    sha: &Sha256,
    tried: &Referer,
    ask: Asking<'_>,
) -> Result<bool, IoError> {
    let source = job.post.source_url.as_ref();
    let into = job.post.home.join(Layout::CURRENT.folder_for(job.kind));
    for policy in Referer::attempts(tried, url, source).into_iter().skip(1) {
        let header = policy.header(url, source);
        let Ok(fetched) = ask
            .fetcher
            .download(url, &into, None, &Ask::with_referer(header))
            .await?
        else {
            continue;
        };
        let Some(body) = fetched.body else { continue };
        let other = body.digest.sha256 != *sha;
        if other && sniff::sniff(&body.digest.head).is_image() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes the placeholder's file and thumbnail from each folder this run
/// stored them in, unless an outcome there still holds that content.
fn remove_unkept(
    sha: &Sha256,
    removable: Vec<(std::path::PathBuf, Option<ImageInfo>)>,
    outcomes: &HashMap<String, Outcome>,
) {
    for (path, image) in removable {
        let kept = outcomes.values().any(|o| match o {
            Outcome::Stored { stored, .. } => {
                stored.sha256 == *sha && stored.home.join(stored.path()) == path
            }
            _ => false,
        });
        if kept {
            continue;
        }
        // Best effort: a leftover is only an unreferenced file, which
        // `verify` lists.
        let _ = std::fs::remove_file(&path);
        if let (Some(Ok(thumb)), Some(assets)) = (image.map(|i| i.thumb), path.parent())
            && let Some(home) = assets.parent()
        {
            {
                let _ =
                    std::fs::remove_file(home.join(Layout::CURRENT.thumbs()).join(thumb.file_name));
            }
        }
    }
}
