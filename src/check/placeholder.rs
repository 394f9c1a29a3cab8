//! Telling a placeholder from a change: an archived image whose URL now
//! answers other bytes has changed, unless those bytes are the host's
//! hotlink placeholder, which makes it dead (`placeholder`). Two ways to
//! know, as in `archive`: the configured placeholder images (the new
//! bytes are fetched and compared, for changed images only), and the
//! collapse rule (several distinct image URLs of one host changed to the
//! same bytes).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use reqwest::header::HeaderValue;
use url::Url;

use super::{CheckError, changed, checkable};
use crate::config::Rules;
use crate::digest::Sha256;
use crate::manifest::{Kind, Manifest};
use crate::net::hosts::HostKey;
use crate::net::{Ask, Failure, Fetcher, Probe};
use crate::sniff::{self, Class};
use crate::store::PostDir;

/// How the check asks again: its fetcher, the config's rules, and each
/// URL's Referer (the one its archived copy was fetched with).
#[derive(Clone, Copy)]
pub(super) struct Asking<'a> {
    pub fetcher: &'a Fetcher,
    pub rules: &'a Arc<Rules>,
    pub referers: &'a HashMap<String, Option<HeaderValue>>,
}

impl Asking<'_> {
    /// How to ask for `url`: with the Referer its archived copy was
    /// fetched with.
    pub fn referer(&self, url: &Url) -> Ask {
        Ask::with_referer(self.referers.get(url.as_str()).cloned().flatten())
    }
}

/// The entries (by `url`) whose changed image is a placeholder.
pub(super) async fn found(
    posts: &[(PostDir, Manifest)],
    answers: &HashMap<String, Result<Probe, Failure>>,
    ask: Asking<'_>,
) -> Result<HashSet<String>, CheckError> {
    // Each changed image: its entry's URL, the URL asked, and the new bytes.
    let mut changed_images: Vec<(&str, Url, &Sha256, &PostDir)> = Vec::new();
    for (lock, manifest) in posts {
        for entry in &manifest.resources {
            let Some(url) = checkable(entry).filter(|_| entry.kind == Kind::Image) else {
                continue;
            };
            let Some(Ok(probe)) = answers.get(url.as_str()) else {
                continue;
            };
            if let (true, Some(now)) = (changed(entry, probe), probe.sha256.as_ref()) {
                changed_images.push((&entry.url, url, now, lock));
            }
        }
    }
    let mut by_host: HashMap<(HostKey, &Sha256), HashSet<&Url>> = HashMap::new();
    for (_, url, now, _) in &changed_images {
        by_host
            .entry((HostKey::of(url), now))
            .or_default()
            .insert(url);
    }
    let collapsed: HashSet<(HostKey, &Sha256)> = by_host
        .into_iter()
        .filter(|(_, urls)| urls.len() >= crate::archive::MIN_COLLAPSE_URLS)
        .map(|(group, _)| group)
        .collect();
    let mut found = HashSet::new();
    let mut compared: HashMap<Url, bool> = HashMap::new();
    for (entry_url, url, now, lock) in changed_images {
        if collapsed.contains(&(HostKey::of(&url), now)) {
            found.insert(entry_url.to_string());
            continue;
        }
        if ask.rules.placeholders.is_empty() {
            continue;
        }
        let matched = match compared.get(&url) {
            Some(&m) => m,
            None => {
                let m = matches_configured(&url, lock, ask).await?;
                compared.insert(url.clone(), m);
                m
            }
        };
        if matched {
            found.insert(entry_url.to_string());
        }
    }
    Ok(found)
}

/// Fetches `url` into a temporary file in the post's folder (dropped
/// afterwards) and compares it with the configured placeholders.
async fn matches_configured(
    url: &Url,
    lock: &PostDir,
    ask: Asking<'_>,
) -> Result<bool, CheckError> {
    let into = lock.path().join(lock.layout().folder_for(Kind::Image));
    let Ok(fetched) = ask
        .fetcher
        .download(url, &into, None, &ask.referer(url))
        .await?
    else {
        return Ok(false);
    };
    let Some(body) = fetched.body else {
        return Ok(false);
    };
    if sniff::sniff(&body.digest.head).class != Class::Raster {
        return Ok(false);
    }
    let rules = ask.rules.clone();
    let matched = tokio::task::spawn_blocking(move || {
        let matched = rules.placeholders.matching_body(&body).is_some();
        drop(body);
        matched
    })
    .await
    .unwrap_or(false);
    Ok(matched)
}
