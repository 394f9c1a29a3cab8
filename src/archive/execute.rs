//! The one concurrent stage of an archive run: every job, admitted host by
//! host ([`crate::net::stage`]), at most `--concurrency` requests in flight.
//! A body is stored under its sha256 as soon as it is complete
//! ([`super::outcome`]); its thumbnail is made on the CPU pool while
//! downloads go on, and awaited at the end. Then the collapse rule.

use std::sync::Arc;

use futures::StreamExt;

use super::outcome::{self, JobResult, Outcome, Outcomes, Thumbs};
use super::plan::{Job, JobId, Source};
use super::{ArchiveError, ArchiveSettings, collapse};
use crate::acquire::{Acquired, Acquirer, judge};
use crate::net::hosts::HostKey;
use crate::net::{self, Failure, FailureKind, Fetcher, RequestOptions};
use crate::progress::Progress;
use crate::sniff::{self};
use crate::store::{self, Incoming, IngestError, Ingested, IoError};
use crate::thumbnail::{self};

/// Runs every job, then the collapse rule over what they got; returns
/// each job's outcome, by [`JobId`].
pub(super) async fn fetch_all(
    jobs: Vec<Job<'_>>,
    settings: &ArchiveSettings,
    progress: &dyn Progress,
) -> Result<Outcomes, ArchiveError> {
    // A re-run over an intact archive fetches nothing: no HTTP client (its
    // TLS roots are a few percent of such a run) and no thumbnail pool,
    // but the network flags are checked all the same.
    if jobs.is_empty() {
        net::client::check(&settings.net)?;
        return Ok(Outcomes::default());
    }
    let hosts: std::collections::HashSet<HostKey> = jobs
        .iter()
        .filter_map(|j| match &j.source {
            Source::Remote(url) => Some(HostKey::of(url)),
            Source::Local(_) => None,
        })
        .collect();
    let fetcher = Arc::new(Fetcher::new(settings.net.clone(), hosts.len())?);
    let pool = Arc::new(thumbnail::Pool::new().map_err(|e| {
        IoError::new(
            std::path::Path::new("thumbnail pool"),
            std::io::Error::other(e),
        )
    })?);
    let acquirer = Acquirer::new(fetcher, settings.rules.clone(), settings.archives.clone());
    let acquirer = &acquirer;
    let fetcher = acquirer.fetcher();
    let mut outcomes = Outcomes::with_jobs(jobs.len());
    let mut stream = net::stage(
        jobs.iter()
            .enumerate()
            .map(|(i, job)| (JobId::at(i), job))
            .collect(),
        fetcher.admitted(),
        |(_, job)| fetcher.lane(job.remote_url()),
        |(id, job)| async move { (id, job, run_job(job, acquirer).await) },
    );
    let mut thumbs = Thumbs::new(pool.clone());
    while let Some((id, job, result)) = stream.next().await {
        let (outcome, thumb) = result?;
        let bytes = match &outcome {
            Outcome::Stored { stored, .. } => stored.bytes,
            _ => 0,
        };
        progress.done(job.key, bytes);
        if let Some(request) = thumb {
            thumbs.request(id, request);
        }
        outcomes.set(id, outcome);
    }
    drop(stream);
    thumbs.finish(&mut outcomes).await;
    collapse::apply(&jobs, &mut outcomes, acquirer, &pool).await?;
    Ok(outcomes)
}

async fn run_job(job: &Job<'_>, acquirer: &Acquirer) -> JobResult {
    // Where the body lands first: where the kind's files are kept, so the
    // rename that stores it stays in one folder.
    let assets = job.post.home.join(job.folder());
    let fetcher = acquirer.fetcher();
    let max = fetcher.options().max_bytes;
    match &job.source {
        Source::Remote(url) if job.check_only => {
            // `--links check`: only whether it answers. HEAD first, GET
            // when HEAD is refused, as `rotproof check` does; no body is
            // downloaded or stored.
            let policy = fetcher.referer_for(url).clone();
            let referer = policy.header(url, job.post.source_url.as_ref());
            let outcome = match fetcher
                .probe(url, None, false, &RequestOptions::with_referer(referer))
                .await?
            {
                Ok(probe) => Outcome::Alive(Box::new(probe.answer), policy),
                Err(failure) => Outcome::Failed(failure),
            };
            Ok((outcome, None))
        }
        Source::Remote(url) => match acquirer.acquire(&job.want(url), None, &assets).await? {
            Acquired::Body(got) => outcome::store_body(job, *got).await,
            Acquired::NotModified(answer) => Ok((Outcome::NotModified(answer), None)),
            Acquired::Failed(failure) => Ok((Outcome::Failed(failure), None)),
        },
        Source::Local(file) => {
            let (file, dir) = (file.to_path_buf(), assets.clone());
            let copied = tokio::task::spawn_blocking(move || ingest_local(&file, &dir, max))
                .await
                .map_err(|e| IoError::new(&job.post.home, std::io::Error::other(e)))?;
            let body = match copied {
                Ok(body) => body,
                Err(IngestError::TooLarge(_)) => {
                    let failure = Failure::without_request(FailureKind::TooLarge { max });
                    return Ok((Outcome::Failed(failure), None));
                }
                Err(IngestError::Io(err)) => return Err(err.into()),
            };
            let format = sniff::sniff(&body.digest.head);
            if let Some(kind) = judge::wrong_kind(job.kind, &format) {
                return Ok((Outcome::Failed(Failure::without_request(kind)), None));
            }
            outcome::store_stored(job, body, format, None).await
        }
    }
}

/// Copies a local asset into the store's incoming file in `assets`.
fn ingest_local(
    file: &std::path::Path,
    assets: &std::path::Path,
    max: u64,
) -> Result<Ingested, IngestError> {
    let src = std::fs::File::open(file).map_err(store::at(file))?;
    // A file over the cap is refused before a byte is copied.
    if src.metadata().is_ok_and(|m| m.len() > max) {
        return Err(IngestError::TooLarge(crate::digest::OverCap { max }));
    }
    Incoming::new(assets, max).copy_from(src, file)
}
