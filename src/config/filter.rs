//! `exclude` / `include`: which URLs a run fetches. A URL left out is
//! recorded as `skipped` with the reason, never silently dropped.

use regex::{Regex, RegexSet};

/// The config's URL filters, compiled once.
#[derive(Debug, Clone, Default)]
pub(crate) struct UrlFilter {
    exclude: Option<RegexSet>,
    include: Option<RegexSet>,
}

impl UrlFilter {
    pub(crate) fn new(exclude: Vec<Regex>, include: Vec<Regex>) -> UrlFilter {
        let set = |patterns: Vec<Regex>| {
            // Each pattern compiled alone already; together they compile too.
            (!patterns.is_empty())
                .then(|| RegexSet::new(patterns.iter().map(Regex::as_str)).ok())
                .flatten()
        };
        UrlFilter {
            exclude: set(exclude),
            include: set(include),
        }
    }

    /// Why `url` is left out, or `None` when it is fetched.
    pub(crate) fn refusal(&self, url: &str) -> Option<&'static str> {
        if self.exclude.as_ref().is_some_and(|set| set.is_match(url)) {
            return Some("excluded by the config's `exclude`");
        }
        if self.include.as_ref().is_some_and(|set| !set.is_match(url)) {
            return Some("not matched by the config's `include`");
        }
        None
    }
}

impl PartialEq for UrlFilter {
    fn eq(&self, other: &Self) -> bool {
        let patterns = |s: &Option<RegexSet>| s.as_ref().map(|s| s.patterns().to_vec());
        patterns(&self.exclude) == patterns(&other.exclude)
            && patterns(&self.include) == patterns(&other.include)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regexes(patterns: &[&str]) -> Vec<Regex> {
        patterns
            .iter()
            .map(|p| Regex::new(p).expect("test regex"))
            .collect()
    }

    #[test]
    fn exclude_wins_and_include_limits() {
        let filter = UrlFilter::new(
            regexes(&[r"^https://ads\.example/"]),
            regexes(&[r"\.example/", r"^https://cdn\."]),
        );
        assert!(filter.refusal("https://ads.example/x.png").is_some());
        assert_eq!(filter.refusal("https://img.example/x.png"), None);
        assert_eq!(filter.refusal("https://cdn.other/x.png"), None);
        assert!(filter.refusal("https://elsewhere.net/x.png").is_some());
        assert_eq!(UrlFilter::default().refusal("https://any/"), None);
    }
}
