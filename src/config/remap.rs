//! `[[remap]]`: a better variant of a URL to try first (a CDN's original
//! size instead of its display size). The URL as written stays the
//! fallback and the resource's identity; the manifest records the one
//! that was fetched (`fetched_url`).

use regex::Regex;
use url::Url;

/// The config's remap rules, in order: the first that matches gives the
/// variant.
#[derive(Debug, Clone, Default)]
pub(crate) struct Remaps(Vec<(Regex, String)>);

impl Remaps {
    pub(crate) fn new(rules: Vec<(Regex, String)>) -> Remaps {
        Remaps(rules)
    }

    /// The variant of `url` to try first, if a rule gives one that is an
    /// http(s) URL other than `url` itself.
    pub(crate) fn variant(&self, url: &Url) -> Option<Url> {
        let (pattern, replace) = self.0.iter().find(|(p, _)| p.is_match(url.as_str()))?;
        let replaced = pattern.replace(url.as_str(), replace.as_str());
        let variant = Url::parse(&replaced).ok()?;
        (matches!(variant.scheme(), "http" | "https") && variant != *url).then_some(variant)
    }
}

impl PartialEq for Remaps {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((a, x), (b, y))| a.as_str() == b.as_str() && x == y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_rule_gives_the_variant() {
        let remaps = Remaps::new(vec![
            (
                Regex::new(r"^(https://inews\.gtimg\.com/om_bt/[^/]+)/641$").unwrap(),
                "${1}/0".to_string(),
            ),
            (Regex::new(r"^https://").unwrap(), "ftp://nope/".to_string()),
        ]);
        let url = |s| Url::parse(s).unwrap();
        assert_eq!(
            remaps.variant(&url("https://inews.gtimg.com/om_bt/Abc/641")),
            Some(url("https://inews.gtimg.com/om_bt/Abc/0"))
        );
        // The second rule matches but gives no http(s) URL: no variant.
        assert_eq!(
            remaps.variant(&url("https://inews.gtimg.com/om_bt/Abc/0")),
            None
        );
        assert_eq!(Remaps::default().variant(&url("https://a/")), None);
    }
}
