//! Acquisition: getting the real bytes of one resource, not a stand-in,
//! for every command that fetches (`archive`, `check`). One [`Acquirer`]
//! holds the run's fetcher, the config's rules and the web archives; one
//! request value ([`Want`]) goes in and one judged result ([`Acquired`])
//! comes out.
//!
//! The order, for a resource: a `[[remap]]` variant first (the URL as
//! written is the fallback); each URL asked with the Referer policies in
//! turn after a hotlink refusal (401, 403, a placeholder); every body
//! judged against what the post shows ([`judge`]: an image must be an
//! image, and not a placeholder); and, when the resource is gone, its
//! capture in the web archives ([`archives`]), judged the same way.
//!
//! The collapse rule (several URLs of one host answering one image) is
//! [`judge::collapse`]: its evidence rule is shared by `archive` (which
//! probes with another policy) and `check` (which knows the archived
//! contents).

pub(crate) mod archives;
pub(crate) mod judge;
pub(crate) mod placeholder;

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use url::Url;

use crate::config::Rules;
use crate::digest::Sha256;
use crate::manifest::{Capture, Kind, Referer};
use crate::net::{Answer, Failure, FailureKind, Fetcher, RequestOptions, Validators};
use crate::sniff::{self, Format};
use crate::store::{Ingested, IoError};
use archives::WebArchives;

/// What is wanted: one resource, as a post shows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Want<'a> {
    pub url: &'a Url,
    pub kind: Kind,
    /// The policy to start with (the one that got an archived copy);
    /// else the host rule's, else `--referer`.
    pub referer: Option<&'a Referer>,
    /// Only this policy: no fallback after a refusal (`check` asks the
    /// way the archived copy was got, and judges what that answers).
    pub only_referer: bool,
    /// For a conditional request (`--refresh`).
    pub validators: Option<&'a Validators>,
    /// The post's source URL, for the `source` Referer policy.
    pub source_url: Option<&'a Url>,
    /// The post's date: web archives are asked for the capture closest.
    pub date: Option<SystemTime>,
}

impl<'a> Want<'a> {
    /// `url` as a post of kind `kind` shows it, with every default.
    pub(crate) fn new(url: &'a Url, kind: Kind) -> Want<'a> {
        Want {
            url,
            kind,
            referer: None,
            only_referer: false,
            validators: None,
            source_url: None,
            date: None,
        }
    }
}

/// The real bytes of a resource, judged, not yet stored.
#[derive(Debug)]
pub(crate) struct Obtained {
    pub body: Ingested,
    pub format: Format,
    pub answer: Answer,
    /// The policy that got it.
    pub referer: Referer,
    /// The web archive capture it came from, when the resource was gone.
    pub recovered: Option<Capture>,
}

/// What acquiring a resource came to.
#[derive(Debug)]
pub(crate) enum Acquired {
    Body(Box<Obtained>),
    /// 304 to a conditional request.
    NotModified(Box<Answer>),
    Failed(Failure),
}

/// A content proven to be a host's placeholder (by the collapse rule),
/// and the policy that got it: neither is accepted or tried again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refuse<'a> {
    pub sha256: &'a Sha256,
    pub policy: &'a Referer,
}

/// The run's way of getting resources: its fetcher, the config's rules,
/// the web archives.
pub(crate) struct Acquirer {
    fetcher: Arc<Fetcher>,
    rules: Arc<Rules>,
    archives: Arc<WebArchives>,
}

impl Acquirer {
    pub(crate) fn new(
        fetcher: Arc<Fetcher>,
        rules: Arc<Rules>,
        archives: Arc<WebArchives>,
    ) -> Acquirer {
        Acquirer {
            fetcher,
            rules,
            archives,
        }
    }

    pub(crate) fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    pub(crate) fn archives(&self) -> &WebArchives {
        &self.archives
    }

    pub(crate) fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The policy `want` starts with.
    pub(crate) fn first_policy(&self, want: &Want<'_>) -> Referer {
        want.referer
            .cloned()
            .unwrap_or_else(|| self.fetcher.referer_for(want.url).clone())
    }

    /// The resource: its remap variant first, then the URL as written,
    /// then, when it is gone, its capture in a web archive. Bodies land
    /// in a temporary file in `into` (or in memory, when small).
    pub(crate) async fn acquire(
        &self,
        want: &Want<'_>,
        refuse: Option<Refuse<'_>>,
        into: &Path,
    ) -> Result<Acquired, IoError> {
        if let Some(variant) = self.rules.remap.variant(want.url) {
            let variant_want = Want {
                url: &variant,
                ..*want
            };
            if let got @ Acquired::Body(_) = self.ask(&variant_want, refuse, into).await? {
                return Ok(got);
            }
        }
        // No variant, or it failed or is not what the post shows: the URL
        // as the post wrote it.
        match self.ask(want, refuse, into).await? {
            Acquired::Failed(failure) if failure.kind.is_gone() => Ok(self
                .recover(want, into)
                .await?
                .unwrap_or(Acquired::Failed(failure))),
            got => Ok(got),
        }
    }

    /// The capture of the resource closest to the post's date (else now)
    /// in each web archive in turn: the first whose bytes pass the
    /// judgement any download passes.
    async fn recover(&self, want: &Want<'_>, into: &Path) -> Result<Option<Acquired>, IoError> {
        let when = want.date.unwrap_or_else(SystemTime::now);
        for &archive in self.archives.order() {
            let Some(replay) = self
                .archives
                .replay(archive, &self.fetcher, want.url, when, into)
                .await?
            else {
                continue;
            };
            let format = sniff::sniff(&replay.body.digest.head);
            let (body, verdict) =
                judge::body(replay.body, &format, want.kind, None, &self.rules).await?;
            if verdict.is_some() {
                continue;
            }
            return Ok(Some(Acquired::Body(Box::new(Obtained {
                body,
                format,
                answer: replay.answer,
                referer: Referer::None,
                recovered: Some(replay.capture),
            }))));
        }
        Ok(None)
    }

    /// `want.url` exactly, asked with its first policy, then after a
    /// hotlink refusal with each other policy once (images and media
    /// only: a link is what a reader clicks, which sends no Referer of
    /// ours). Every body is judged.
    pub(crate) async fn ask(
        &self,
        want: &Want<'_>,
        refuse: Option<Refuse<'_>>,
        into: &Path,
    ) -> Result<Acquired, IoError> {
        let url = want.url;
        let first = self.first_policy(want);
        let mut policies = if want.kind.is_embedded() && !want.only_referer {
            Referer::attempts(&first, url, want.source_url)
        } else {
            vec![first]
        };
        if let Some(refuse) = refuse {
            policies.retain(|p| p != refuse.policy);
        }
        let mut refusal: Option<Failure> = None;
        for policy in policies {
            let header = policy.header(url, want.source_url);
            let fetched = match self
                .fetcher
                .download(
                    url,
                    into,
                    want.validators,
                    &RequestOptions::with_referer(header),
                )
                .await?
            {
                Ok(fetched) => fetched,
                Err(failure) if failure.is_hotlink_refusal() => {
                    refusal.get_or_insert(failure);
                    continue;
                }
                // Not a refusal another Referer changes; a placeholder
                // seen before says more than this.
                Err(failure) => return Ok(Acquired::Failed(placeholder_or(refusal, failure))),
            };
            let Some(body) = fetched.body else {
                return Ok(Acquired::NotModified(Box::new(fetched.answer)));
            };
            let answer = fetched.answer;
            let format = sniff::sniff(&body.digest.head);
            let (body, verdict) =
                judge::body(body, &format, want.kind, refuse, &self.rules).await?;
            match verdict {
                None => {
                    return Ok(Acquired::Body(Box::new(Obtained {
                        body,
                        format,
                        answer,
                        referer: policy,
                        recovered: None,
                    })));
                }
                Some(FailureKind::Placeholder) => {
                    refusal = Some(Failure {
                        kind: FailureKind::Placeholder,
                        http_status: Some(answer.http_status),
                        attempts: answer.attempts,
                        retry_after: None,
                    });
                }
                Some(kind) => {
                    let failure = Failure {
                        kind,
                        http_status: Some(answer.http_status),
                        attempts: answer.attempts,
                        retry_after: None,
                    };
                    return Ok(Acquired::Failed(placeholder_or(refusal, failure)));
                }
            }
        }
        let failure = refusal.unwrap_or_else(|| Failure::without_request(FailureKind::Placeholder));
        Ok(Acquired::Failed(failure))
    }

    /// What `want.url` answers with each policy other than `tried`, for
    /// the collapse rule: the first image that passes the judgement and
    /// is not `shared`; `None` when every other policy answers `shared`
    /// (or nothing usable). Nothing is kept.
    pub(crate) async fn answers_otherwise(
        &self,
        want: &Want<'_>,
        shared: &Sha256,
        tried: &Referer,
        into: &Path,
    ) -> Result<Option<Sha256>, IoError> {
        let url = want.url;
        for policy in Referer::attempts(tried, url, want.source_url)
            .into_iter()
            .skip(1)
        {
            let header = policy.header(url, want.source_url);
            let Ok(fetched) = self
                .fetcher
                .download(url, into, None, &RequestOptions::with_referer(header))
                .await?
            else {
                continue;
            };
            let Some(body) = fetched.body else { continue };
            if body.digest.sha256 == *shared {
                continue;
            }
            let format = sniff::sniff(&body.digest.head);
            let sha = body.digest.sha256.clone();
            let (_, verdict) = judge::body(body, &format, Kind::Image, None, &self.rules).await?;
            if verdict.is_none() && format.is_image() {
                return Ok(Some(sha));
            }
        }
        Ok(None)
    }
}

fn placeholder_or(refusal: Option<Failure>, failure: Failure) -> Failure {
    match refusal {
        Some(r) if r.kind == FailureKind::Placeholder => r,
        _ => failure,
    }
}
