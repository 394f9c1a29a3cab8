//! Judging what a server answered: is this body what the post shows?
//! An image must be an image (a hotlink-protection page served with 200
//! is not), media must be media, and an image must not be a placeholder
//! (a configured one, by perceptual hash, or a content the collapse rule
//! proved to be one). `archive` and `check` both judge here, so they can
//! never disagree about the same answer.

use std::collections::HashMap;
use std::hash::Hash;
use std::path::Path;

use super::Refuse;
use crate::config::Rules;
use crate::digest::Sha256;
use crate::manifest::Kind;
use crate::net::FailureKind;
use crate::net::hosts::HostKey;
use crate::sniff::{Class, Format};
use crate::store::{Ingested, IoError};

/// Why bytes of `format` are not what a reference of `kind` shows, if
/// they are not.
pub(crate) fn wrong_kind(kind: Kind, format: &Format) -> Option<FailureKind> {
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

/// The judgement of a body for a reference of `kind`: `None` when it is
/// what the post shows, else why not (wrong kind, placeholder). The body
/// is handed back either way. Decoding for the perceptual hash is off
/// the async workers, and only when placeholders are configured.
pub(crate) async fn body(
    body: Ingested,
    format: &Format,
    kind: Kind,
    refuse: Option<Refuse<'_>>,
    rules: &std::sync::Arc<Rules>,
) -> Result<(Ingested, Option<FailureKind>), IoError> {
    if let Some(wrong) = wrong_kind(kind, format) {
        return Ok((body, Some(wrong)));
    }
    if kind != Kind::Image {
        return Ok((body, None));
    }
    if refuse.is_some_and(|r| *r.sha256 == body.digest.sha256) {
        return Ok((body, Some(FailureKind::Placeholder)));
    }
    if format.class != Class::Raster || rules.placeholders.is_empty() {
        return Ok((body, None));
    }
    let rules = rules.clone();
    tokio::task::spawn_blocking(move || {
        let matched = rules.placeholders.matching_body(&body).is_some();
        (body, matched.then_some(FailureKind::Placeholder))
    })
    .await
    .map_err(|e| IoError::new(Path::new("placeholder check"), std::io::Error::other(e)))
}

/// The collapse rule: when several distinct URLs of one host answer one
/// image, that image may be the host's placeholder (a CDN answering a
/// card to every hotlinker) — or the URLs may really show one picture
/// (WeChat shows one picture through several URLs; a site's logo). The
/// group is a placeholder only on unambiguous evidence: what is known of
/// its URLs otherwise (`archive`: what another Referer policy answers;
/// `check`: the contents archived before) holds **different** contents
/// for **different** URLs, none of them the shared one. Anything weaker
/// keeps the bytes already obtained.
pub(crate) mod collapse {
    use super::*;

    /// Distinct URLs of one host with one content that make it suspect.
    pub(crate) const MIN_URLS: usize = 3;

    /// The suspect groups among `answers` (an item, its URL's host, the
    /// content it answered): each content a host answered for at least
    /// [`MIN_URLS`] items, with those items.
    pub(crate) fn suspects<K>(
        answers: impl IntoIterator<Item = (K, HostKey, Sha256)>,
    ) -> Vec<(Sha256, Vec<K>)>
    where
        K: Eq + Hash,
    {
        let mut groups: HashMap<(HostKey, Sha256), Vec<K>> = HashMap::new();
        for (item, host, sha) in answers {
            groups.entry((host, sha)).or_default().push(item);
        }
        groups
            .into_iter()
            .filter(|(_, items)| items.len() >= MIN_URLS)
            .map(|((_, sha), items)| (sha, items))
            .collect()
    }

    /// Whether the contents known otherwise for a group's URLs prove its
    /// shared content a placeholder: two of them differ, and neither is
    /// the shared one.
    pub(crate) fn proven<'a>(
        shared: &Sha256,
        otherwise: impl IntoIterator<Item = &'a Sha256>,
    ) -> bool {
        let mut seen: Option<&Sha256> = None;
        for content in otherwise {
            if content == shared {
                continue;
            }
            match seen {
                None => seen = Some(content),
                Some(first) if first != content => return true,
                Some(_) => {}
            }
        }
        false
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn sha(b: &[u8]) -> Sha256 {
            Sha256::of(b)
        }

        #[test]
        fn only_different_contents_for_different_urls_prove_a_placeholder() {
            let (card, a, b) = (sha(b"card"), sha(b"a"), sha(b"b"));
            // Another policy answers each URL its own picture.
            assert!(proven(&card, [&a, &b]));
            // Another policy answers one content for all: that may be its
            // own placeholder (WeChat's card to any Referer), and the
            // shared content the one real picture.
            assert!(!proven(&card, [&a, &a, &a]));
            // One URL alone is no evidence.
            assert!(!proven(&card, [&a]));
            // The shared content again says nothing.
            assert!(!proven(&card, [&card, &a, &card]));
            assert!(!proven(&card, []));
        }

        #[test]
        fn suspects_are_three_urls_of_one_host_with_one_content() {
            let host = |s: &str| HostKey::of(&url::Url::parse(s).unwrap());
            let (x, y) = (sha(b"x"), sha(b"y"));
            let groups = suspects([
                (1, host("https://a.example/1"), x.clone()),
                (2, host("https://a.example/2"), x.clone()),
                (3, host("https://a.example/3"), x.clone()),
                (4, host("https://b.example/4"), x.clone()),
                (5, host("https://a.example/5"), y.clone()),
                (6, host("https://a.example/6"), y.clone()),
            ]);
            assert_eq!(groups.len(), 1);
            let (content, mut items) = groups.into_iter().next().unwrap();
            items.sort();
            assert_eq!((content, items), (x, vec![1, 2, 3]));
        }
    }
}
