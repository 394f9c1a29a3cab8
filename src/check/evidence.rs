//! What a check's answers say beyond their status: an answer that is not
//! what the post shows makes the resource `dead`, not `changed`. The
//! judgement is [`crate::acquire::judge`]'s, the same `archive` makes:
//!
//! - bytes of another kind (an image URL answering an HTML page): seen in
//!   the first bytes every checked body is sniffed from;
//! - the collapse rule: several image URLs of one host, whose archived
//!   contents differ, now answering one content;
//! - a configured placeholder: the changed image is fetched again
//!   (with the Referer its copy was got with) and judged.
//!
//! That refetch is also the one that keeps a changed resource's new
//! content as a version (`--repair --refresh`), so such bytes are only
//! ever stored once judged. Every refetch runs in one concurrent stage.

use std::collections::HashMap;
use std::path::PathBuf;

use futures::StreamExt;
use url::Url;

use super::{CheckError, changed, checkable};
use crate::acquire::judge::{self, collapse};
use crate::acquire::{Acquired, Acquirer, Want};
use crate::manifest::{self, Kind, Manifest, Referer, Timestamp};
use crate::net::hosts::HostKey;
use crate::net::{self, Failure, FailureKind, Probe};
use crate::store::{self, IoError, PostDir};

/// New content of a changed URL, stored in its first post's folder.
pub(super) struct NewVersion {
    pub version: manifest::Version,
    pub home: PathBuf,
}

/// What the answers say, by entry URL.
#[derive(Default)]
pub(super) struct Evidence {
    /// Answers that are not what the post shows: the resource is dead.
    pub refused: HashMap<String, FailureKind>,
    /// New contents kept as versions (`--repair --refresh`).
    pub versions: HashMap<String, NewVersion>,
}

/// One changed URL to fetch again.
struct Refetch {
    key: String,
    url: Url,
    kind: Kind,
    referer: Option<Referer>,
    source_url: Option<Url>,
    into: PathBuf,
    folder: &'static str,
    home: PathBuf,
}

/// Judges every answer of a check; `keep_versions` stores what changed.
pub(super) async fn gather(
    posts: &[(PostDir, Manifest)],
    answers: &HashMap<String, Result<Probe, Failure>>,
    acquirer: &Acquirer,
    keep_versions: bool,
) -> Result<Evidence, CheckError> {
    let mut evidence = Evidence::default();
    // Each changed image's URL: its host, its new content, its archived one.
    let mut changed_images = HashMap::new();
    let mut refetch: Vec<Refetch> = Vec::new();
    let mut wanted: std::collections::HashSet<String> = Default::default();
    let placeholders = !acquirer.rules().placeholders.is_empty();
    for (lock, m) in posts {
        let source_url = m
            .post
            .source_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok());
        for entry in &m.resources {
            let Some(url) = checkable(entry) else {
                continue;
            };
            let Some(Ok(probe)) = answers.get(url.as_str()) else {
                continue;
            };
            if let Some(wrong) = probe
                .format
                .as_ref()
                .and_then(|f| judge::wrong_kind(entry.kind, f))
            {
                evidence.refused.insert(entry.url.clone(), wrong);
                continue;
            }
            if !changed(entry, probe) {
                continue;
            }
            if entry.kind == Kind::Image
                && let (Some(now), Some(then)) = (&probe.sha256, entry.fetched_sha256())
            {
                changed_images.entry(url.to_string()).or_insert((
                    HostKey::of(&url),
                    now.clone(),
                    then.clone(),
                ));
            }
            let needed = keep_versions || (placeholders && entry.kind == Kind::Image);
            if needed && wanted.insert(url.to_string()) {
                let folder = lock.layout().folder_for(entry.kind);
                refetch.push(Refetch {
                    key: entry.url.clone(),
                    url,
                    kind: entry.kind,
                    referer: entry.referer.clone(),
                    source_url: source_url.clone(),
                    into: lock.path().join(folder),
                    folder,
                    home: lock.path().to_path_buf(),
                });
            }
        }
    }

    // The collapse rule, with the archived contents as its evidence.
    let archived: HashMap<&str, &crate::digest::Sha256> = changed_images
        .iter()
        .map(|(url, (_, _, then))| (url.as_str(), then))
        .collect();
    let groups = collapse::suspects(
        changed_images
            .iter()
            .map(|(url, (host, now, _))| (url.as_str(), host.clone(), now.clone())),
    );
    let mut collapsed = std::collections::HashSet::new();
    for (now, urls) in groups {
        if collapse::proven(&now, urls.iter().filter_map(|u| archived.get(u).copied())) {
            collapsed.extend(urls.into_iter().map(str::to_string));
        }
    }
    for (_, m) in posts {
        for entry in &m.resources {
            if let Some(url) = checkable(entry)
                && collapsed.contains(url.as_str())
            {
                evidence
                    .refused
                    .insert(entry.url.clone(), FailureKind::Placeholder);
            }
        }
    }
    refetch.retain(|r| !collapsed.contains(r.url.as_str()));

    // Every refetch in one concurrent stage.
    let fetcher = acquirer.fetcher();
    let lane = |r: &Refetch| fetcher.lane(Some(&r.url));
    let mut stream = net::stage(refetch, fetcher.admitted(), lane, |r| async move {
        let want = Want {
            referer: r.referer.as_ref(),
            only_referer: true,
            source_url: r.source_url.as_ref(),
            ..Want::new(&r.url, r.kind)
        };
        let got = acquirer.ask(&want, None, &r.into).await;
        (r, got)
    });
    while let Some((r, got)) = stream.next().await {
        let obtained = match got? {
            Acquired::Body(obtained) => obtained,
            Acquired::Failed(failure) => {
                // Refused by the judgement: dead. Any other failure now
                // (the host went away between two requests) says nothing
                // the first answer did not.
                if matches!(
                    failure.kind,
                    FailureKind::Placeholder
                        | FailureKind::NotAnImage { .. }
                        | FailureKind::NotMedia { .. }
                ) {
                    evidence.refused.insert(r.key, failure.kind);
                }
                continue;
            }
            Acquired::NotModified(_) => continue,
        };
        if !keep_versions {
            continue;
        }
        let format = obtained.format;
        let (body, home, folder) = (obtained.body, r.home.clone(), r.folder);
        let persisted =
            tokio::task::spawn_blocking(move || store::persist_in(body, &home, folder, format.ext))
                .await
                .map_err(|e| IoError::new(&r.home, std::io::Error::other(e)))??;
        let (sha256, bytes) = persisted.served;
        let path = format!("{}/{sha256}.{}", r.folder, format.ext);
        let original = persisted
            .original
            .map(|(sha256, bytes)| manifest::Original {
                path: format!(
                    "{}/{sha256}.{}",
                    store::Layout::CURRENT.originals(),
                    format.ext
                ),
                sha256,
                bytes,
            });
        evidence.versions.insert(
            r.url.to_string(),
            NewVersion {
                version: manifest::Version {
                    sha256,
                    bytes,
                    media_type: obtained.format.media_type.to_string(),
                    path,
                    fetched_at: Timestamp::now(),
                    original,
                },
                home: r.home,
            },
        );
    }
    Ok(evidence)
}
