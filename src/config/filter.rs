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
    /// The filters; an error names the list whose patterns together are
    /// too large to compile (each alone compiled already). Never a filter
    /// silently dropped.
    pub(crate) fn new(exclude: Vec<Regex>, include: Vec<Regex>) -> Result<UrlFilter, String> {
        let set = |patterns: Vec<Regex>, key: &str| {
            if patterns.is_empty() {
                return Ok(None);
            }
            let limit = super::values::PATTERN_BYTES * patterns.len().max(1);
            regex::RegexSetBuilder::new(patterns.iter().map(Regex::as_str))
                .size_limit(limit)
                .dfa_size_limit(limit)
                .build()
                .map(Some)
                .map_err(|e| {
                    format!(
                        "{key}: the patterns do not compile together: {}",
                        e.to_string().replace('\n', " ")
                    )
                })
        };
        Ok(UrlFilter {
            exclude: set(exclude, "exclude")?,
            include: set(include, "include")?,
        })
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
        )
        .expect("the filters compile");
        assert!(filter.refusal("https://ads.example/x.png").is_some());
        assert_eq!(filter.refusal("https://img.example/x.png"), None);
        assert_eq!(filter.refusal("https://cdn.other/x.png"), None);
        assert!(filter.refusal("https://elsewhere.net/x.png").is_some());
        assert_eq!(UrlFilter::default().refusal("https://any/"), None);
    }
}
