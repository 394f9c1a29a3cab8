//! Referer policies. By default no Referer is sent; a policy picks one
//! (`--referer`, `[hosts."…"] referer`), and after a hotlink refusal the
//! others are tried in [`Referer::FALLBACK`] order. The policy that got the
//! bytes is recorded in the manifest and reused by `check`.

use std::fmt;

use reqwest::header::HeaderValue;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// Which Referer a request carries: none, the resource's own origin, the
/// origin of the post's source URL, or a given URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Referer {
    #[default]
    None,
    Origin,
    Source,
    /// Boxed: a policy is kept in every manifest entry, and nearly all
    /// are `none`.
    Url(Box<Url>),
}

impl Referer {
    /// The order the policies are tried in after a hotlink refusal (each
    /// once, the one already tried left out).
    pub const FALLBACK: [Referer; 3] = [Referer::None, Referer::Origin, Referer::Source];

    /// The header this policy sends for `resource`, from a post whose
    /// source is `source`. `None` for no header, and for `source` when the
    /// post has no source URL. An origin is sent as a browser sends it
    /// across origins (`https://host/`): the path is nobody's business.
    pub fn header(&self, resource: &Url, source: Option<&Url>) -> Option<HeaderValue> {
        let value = match self {
            Referer::None => return None,
            Referer::Origin => origin(resource)?,
            Referer::Source => origin(source?)?,
            Referer::Url(url) => url.to_string(),
        };
        HeaderValue::from_str(&value).ok()
    }

    /// The policies to try for `resource`, in order: `first`, then the
    /// others of [`Referer::FALLBACK`], leaving out any that would send the
    /// same header as one before it (`source` is `origin` when the post's
    /// source is on the resource's own host).
    pub fn attempts(first: &Referer, resource: &Url, source: Option<&Url>) -> Vec<Referer> {
        let mut policies = vec![first.clone()];
        policies.extend(Referer::FALLBACK.into_iter().filter(|p| p != first));
        let mut seen: Vec<Option<HeaderValue>> = Vec::new();
        policies.retain(|p| {
            if *p == Referer::Source && source.is_none() {
                return false;
            }
            let header = p.header(resource, source);
            if seen.contains(&header) {
                return false;
            }
            seen.push(header);
            true
        });
        policies
    }
}

fn origin(url: &Url) -> Option<String> {
    let origin = url.origin();
    origin
        .is_tuple()
        .then(|| format!("{}/", origin.ascii_serialization()))
}

impl fmt::Display for Referer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Referer::None => f.write_str("none"),
            Referer::Origin => f.write_str("origin"),
            Referer::Source => f.write_str("source"),
            Referer::Url(url) => f.write_str(url.as_str()),
        }
    }
}

impl std::str::FromStr for Referer {
    type Err = String;
    fn from_str(s: &str) -> Result<Referer, String> {
        match s {
            "none" => Ok(Referer::None),
            "origin" => Ok(Referer::Origin),
            "source" => Ok(Referer::Source),
            url => match Url::parse(url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    Ok(Referer::Url(Box::new(url)))
                }
                _ => Err(format!(
                    "`{s}` is not a Referer policy (none, origin, source, or an http(s) URL)"
                )),
            },
        }
    }
}

impl Serialize for Referer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Referer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn each_policy_sends_its_header() {
        let image = url("https://img.example:8443/a/b.jpg?x=1");
        let source = url("https://news.example/2024/post.html");
        let sent = |p: Referer| {
            p.header(&image, Some(&source))
                .map(|h| h.to_str().unwrap_or("").to_string())
        };
        assert_eq!(sent(Referer::None), None);
        assert_eq!(
            sent(Referer::Origin).as_deref(),
            Some("https://img.example:8443/")
        );
        assert_eq!(
            sent(Referer::Source).as_deref(),
            Some("https://news.example/")
        );
        assert_eq!(
            sent(Referer::Url(Box::new(url("https://weibo.com")))).as_deref(),
            Some("https://weibo.com/")
        );
        assert_eq!(Referer::Source.header(&image, None), None);
    }

    #[test]
    fn fallback_order_tries_each_distinct_header_once() {
        let image = url("https://img.example/a.jpg");
        let elsewhere = url("https://news.example/p");
        assert_eq!(
            Referer::attempts(&Referer::None, &image, Some(&elsewhere)),
            vec![Referer::None, Referer::Origin, Referer::Source]
        );
        assert_eq!(
            Referer::attempts(&Referer::Source, &image, Some(&elsewhere)),
            vec![Referer::Source, Referer::None, Referer::Origin]
        );
        // No source URL: `source` is not tried.
        assert_eq!(
            Referer::attempts(&Referer::None, &image, None),
            vec![Referer::None, Referer::Origin]
        );
        // A source on the image's own origin sends what `origin` sends.
        let same = url("https://img.example/post");
        assert_eq!(
            Referer::attempts(&Referer::None, &image, Some(&same)),
            vec![Referer::None, Referer::Origin]
        );
    }

    #[test]
    fn policies_parse_and_print_as_written() {
        for s in ["none", "origin", "source", "https://mp.weixin.qq.com/"] {
            let p: Referer = s.parse().expect("a policy");
            assert_eq!(p.to_string(), s);
        }
        assert!("ftp://x".parse::<Referer>().is_err());
        assert!("sometimes".parse::<Referer>().is_err());
    }
}
