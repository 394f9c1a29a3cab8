//! Getting a remote resource's real bytes, not a stand-in: a `[[remap]]`
//! variant first (the URL as written is the fallback), each URL asked
//! with the Referer policies in turn after a hotlink refusal (401, 403, a
//! placeholder), and every body checked against what the post shows (an
//! image must be an image, and not a placeholder).

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use url::Url;

use super::plan::Job;
use crate::config::Rules;
use crate::digest::Sha256;
use crate::manifest::{Kind, Recovered, Referer};
use crate::net::{Answer, Ask, Failure, FailureKind, Fetcher};
use crate::recover::WebArchives;
use crate::sniff::{self, Class, Format};
use crate::store::{Ingested, IoError};

/// The real bytes of a resource, not yet stored.
#[derive(Debug)]
pub(super) struct Obtained {
    pub body: Ingested,
    pub format: Format,
    pub answer: Answer,
    /// The policy that got it.
    pub referer: Referer,
    /// The web archive capture it came from, when the resource was gone.
    pub recovered: Option<Recovered>,
}

/// What asking for a resource got.
#[derive(Debug)]
pub(super) enum Got {
    Body(Box<Obtained>),
    /// 304 to a `--refresh`.
    NotModified(Box<Answer>),
    Failed(Failure),
}

/// How to ask: the run's fetcher and rules, and, once the collapse rule
/// has found one, a content known to be a host's placeholder and the
/// policy that got it (not asked again).
#[derive(Clone, Copy)]
pub(super) struct Asking<'a> {
    pub fetcher: &'a Fetcher,
    pub rules: &'a Arc<Rules>,
    pub archives: &'a WebArchives,
    pub placeholder: Option<(&'a Sha256, &'a Referer)>,
}

/// The job's resource: its remap variant first, then the URL as written,
/// then, when it is gone, its capture in a web archive.
pub(super) async fn remote(
    job: &Job,
    url: &Url,
    ask: Asking<'_>,
    into: &Path,
) -> Result<Got, IoError> {
    if let Some(variant) = ask.rules.remap.variant(url)
        && let got @ Got::Body(_) = with_policies(job, &variant, ask, into).await?
    {
        return Ok(got);
    }
    // No variant, or it failed or is not what the post shows: the URL as
    // the post wrote it.
    match with_policies(job, url, ask, into).await? {
        Got::Failed(failure) if failure.kind.is_gone() => Ok(recover(job, url, ask, into)
            .await?
            .unwrap_or(Got::Failed(failure))),
        got => Ok(got),
    }
}

/// The capture of `url` closest to the post's date (else now) in each web
/// archive in turn: the first whose bytes pass the checks any download
/// passes (an image is an image, and not a placeholder).
async fn recover(
    job: &Job,
    url: &Url,
    ask: Asking<'_>,
    into: &Path,
) -> Result<Option<Got>, IoError> {
    let when = job.post.date.unwrap_or_else(SystemTime::now);
    for &archive in ask.archives.order() {
        let Some(capture) = ask
            .archives
            .capture(archive, ask.fetcher, url, when, into)
            .await?
        else {
            continue;
        };
        let format = sniff::sniff(&capture.body.digest.head);
        if wrong_kind(job.kind, &format).is_some() {
            continue;
        }
        let (body, placeholder) = is_placeholder(capture.body, &format, job.kind, ask).await?;
        if placeholder {
            continue;
        }
        return Ok(Some(Got::Body(Box::new(Obtained {
            body,
            format,
            answer: capture.answer,
            referer: Referer::None,
            recovered: Some(capture.recovered),
        }))));
    }
    Ok(None)
}

/// `url`, asked with the job's Referer policy, then after a hotlink
/// refusal with each other policy once (images and media only: a link is
/// what a reader clicks, which sends no Referer of ours).
pub(super) async fn with_policies(
    job: &Job,
    url: &Url,
    ask: Asking<'_>,
    into: &Path,
) -> Result<Got, IoError> {
    let source = job.post.source_url.as_ref();
    let first = job
        .referer
        .clone()
        .unwrap_or_else(|| ask.fetcher.referer_for(url).clone());
    let mut policies = if job.kind.is_embedded() {
        Referer::attempts(&first, url, source)
    } else {
        vec![first]
    };
    if let Some((_, tried)) = ask.placeholder {
        policies.retain(|p| p != tried);
    }
    let mut refusal: Option<Failure> = None;
    for policy in policies {
        let header = policy.header(url, source);
        let fetched = match ask
            .fetcher
            .download(
                url,
                into,
                job.validators.as_deref(),
                &Ask::with_referer(header),
            )
            .await?
        {
            Ok(fetched) => fetched,
            Err(failure) if failure.is_hotlink_refusal() => {
                refusal.get_or_insert(failure);
                continue;
            }
            // Not a refusal another Referer changes; a placeholder seen
            // before says more than this.
            Err(failure) => return Ok(Got::Failed(placeholder_or(refusal, failure))),
        };
        let Some(body) = fetched.body else {
            return Ok(Got::NotModified(Box::new(fetched.answer)));
        };
        let answer = fetched.answer;
        let format = sniff::sniff(&body.digest.head);
        if let Some(kind) = wrong_kind(job.kind, &format) {
            let failure = Failure {
                kind,
                http_status: Some(answer.http_status),
                attempts: answer.attempts,
            };
            return Ok(Got::Failed(placeholder_or(refusal, failure)));
        }
        let (body, placeholder) = is_placeholder(body, &format, job.kind, ask).await?;
        if placeholder {
            refusal = Some(Failure {
                kind: FailureKind::Placeholder,
                http_status: Some(answer.http_status),
                attempts: answer.attempts,
            });
            continue;
        }
        return Ok(Got::Body(Box::new(Obtained {
            body,
            format,
            answer,
            referer: policy,
            recovered: None,
        })));
    }
    let failure = refusal.unwrap_or_else(|| Failure::without_request(FailureKind::Placeholder));
    Ok(Got::Failed(failure))
}

fn placeholder_or(refusal: Option<Failure>, failure: Failure) -> Failure {
    match refusal {
        Some(r) if r.kind == FailureKind::Placeholder => r,
        _ => failure,
    }
}

/// What is shown must be what it claims: a hotlink-protection page served
/// with 200 is not the image.
pub(super) fn wrong_kind(kind: Kind, format: &Format) -> Option<FailureKind> {
    match kind {
        Kind::Image if !format.is_image() && format.class != Class::Media => {
            Some(FailureKind::NotAnImage {
                media_type: format.media_type,
            })
        }
        Kind::Media if format.class != Class::Media && !format.is_image() => {
            Some(FailureKind::NotMedia {
                media_type: format.media_type,
            })
        }
        _ => None,
    }
}

/// Whether an image body is a placeholder: the content the collapse rule
/// found, or one of the configured placeholder images. Decoding is off
/// the async workers, and only when placeholders are configured.
async fn is_placeholder(
    body: Ingested,
    format: &Format,
    kind: Kind,
    ask: Asking<'_>,
) -> Result<(Ingested, bool), IoError> {
    if kind != Kind::Image {
        return Ok((body, false));
    }
    if ask
        .placeholder
        .is_some_and(|(sha, _)| *sha == body.digest.sha256)
    {
        return Ok((body, true));
    }
    if format.class != Class::Raster || ask.rules.placeholders.is_empty() {
        return Ok((body, false));
    }
    let rules = ask.rules.clone();
    tokio::task::spawn_blocking(move || {
        let matched = rules.placeholders.matching_body(&body).is_some();
        (body, matched)
    })
    .await
    .map_err(|e| IoError::new(Path::new("placeholder check"), std::io::Error::other(e)))
}
