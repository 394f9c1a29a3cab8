//! What a URL written in a post points at, and its normalised form: the key
//! that makes a URL used four times one resource.

use url::Url;

/// Where a reference leads, once resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// An absolute http(s) URL, normalised: scheme and host lower-cased,
    /// default port and fragment dropped, IRIs percent-encoded.
    Remote(Url),
    /// A relative path (percent-decoded, query dropped) that may name a file
    /// in the post's folder; [`crate::resource`] checks it.
    Local(String),
    /// Not fetchable; the reason goes into the manifest.
    Skipped(String),
}

/// Schemes that are not resources at all: never collected.
const IGNORED_SCHEMES: &[&str] = &[
    "mailto",
    "tel",
    "sms",
    "javascript",
    "data",
    "about",
    "blob",
];

/// Classifies the decoded URL text of a reference. `None` means it is not a
/// resource (`mailto:`, `#fragment`, empty).
pub(crate) fn classify(text: &str, base: Option<&Url>) -> Option<Target> {
    let text = text.trim();
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    if holds_a_template(text) {
        return Some(Target::Skipped(
            "holds a template expression ({{ … }} or {% … %}): not a URL until the site is built"
                .to_string(),
        ));
    }
    if let Some(scheme) = scheme_of(text) {
        let scheme = scheme.to_ascii_lowercase();
        if IGNORED_SCHEMES.contains(&scheme.as_str()) {
            return None;
        }
        if scheme != "http" && scheme != "https" {
            return Some(Target::Skipped(format!("unsupported scheme `{scheme}:`")));
        }
        return Some(remote(Url::parse(text)));
    }
    if text.starts_with("//") {
        // Protocol-relative: fetched over HTTPS.
        return Some(remote(Url::parse(&format!("https:{text}"))));
    }
    if let Some(base) = base {
        return Some(remote(base.join(text)));
    }
    if text.starts_with('/') || text.starts_with('\\') {
        return Some(Target::Skipped(
            "root-relative URL: give --base-url to resolve it".to_string(),
        ));
    }
    let path = text.split(['?', '#']).next().unwrap_or("");
    if path.is_empty() {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    Some(Target::Local(decoded.into_owned()))
}

/// Whether `text` holds a site generator's template expression (`{{ … }}`,
/// `{% … %}`, also percent-encoded): fetching it would fetch a part.
fn holds_a_template(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["{{", "{%", "%7b%7b", "%7b%25"]
        .iter()
        .any(|open| lower.contains(open))
}

/// The scheme of an absolute URL (`https` of `https://...`), if any.
fn scheme_of(text: &str) -> Option<&str> {
    let colon = text.find(':')?;
    let scheme = &text[..colon];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

fn remote(parsed: Result<Url, url::ParseError>) -> Target {
    match parsed {
        Ok(mut url) if matches!(url.scheme(), "http" | "https") => {
            url.set_fragment(None);
            if url.host_str().is_none_or(str::is_empty) {
                return Target::Skipped("invalid URL: no host".to_string());
            }
            Target::Remote(url)
        }
        Ok(url) => Target::Skipped(format!("unsupported scheme `{}:`", url.scheme())),
        Err(err) => Target::Skipped(format!("invalid URL: {err}")),
    }
}

/// Audio, video and caption file extensions.
const MEDIA_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "webm", "mov", "ogv", "mp3", "m4a", "ogg", "oga", "opus", "wav", "flac", "vtt",
];

/// Whether a URL's path ends in an audio, video or caption extension.
pub(crate) fn has_media_extension(url: &str) -> bool {
    extension_in(url, MEDIA_EXTENSIONS)
}

fn extension_in(url: &str, list: &[&str]) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or(path);
    last.rsplit_once('.')
        .is_some_and(|(_, ext)| list.iter().any(|known| known.eq_ignore_ascii_case(ext)))
}

/// Image file extensions, for classifying links by their path.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "apng", "gif", "webp", "avif", "bmp", "tif", "tiff",
    "ico", "svg", "heic", "heif",
];

/// Whether a URL's path ends in an image extension.
pub(crate) fn has_image_extension(url: &str) -> bool {
    extension_in(url, IMAGE_EXTENSIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> String {
        match classify(text, None) {
            Some(Target::Remote(url)) => url.to_string(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn a_url_holding_a_template_expression_is_skipped_never_fetched_in_part() {
        for text in [
            "https://cdn.example/{{ .Site.Params.x }}/a.png",
            "{{ site.baseurl }}/img/a.png",
            "https://cdn.example/{% asset_path a.png %}",
            "https://cdn.example/%7B%7B.Params.x%7D%7D/a.png",
        ] {
            match classify(text, None) {
                Some(Target::Skipped(reason)) => assert!(reason.contains("template"), "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            key("HTTPS://Inews.GTIMG.com:443/om_bt/a/641#frag"),
            "https://inews.gtimg.com/om_bt/a/641"
        );
        assert_eq!(key("http://a.example:80/x"), "http://a.example/x");
        assert_eq!(key("//cdn.example/x"), "https://cdn.example/x");
        assert_eq!(
            key("https://a.example/中文 图.jpg"),
            "https://a.example/%E4%B8%AD%E6%96%87%20%E5%9B%BE.jpg"
        );
        assert_eq!(key("https://例子.example/"), "https://xn--fsqu00a.example/");
    }

    #[test]
    fn ignored_and_skipped() {
        for ignored in [
            "mailto:a@b",
            "tel:123",
            "javascript:void(0)",
            "data:image/png;base64,xx",
            "#top",
            "",
        ] {
            assert_eq!(classify(ignored, None), None, "{ignored}");
        }
        assert!(matches!(
            classify("ftp://a.example/x", None),
            Some(Target::Skipped(_))
        ));
        assert!(matches!(
            classify("/img/a.png", None),
            Some(Target::Skipped(_))
        ));
        assert!(matches!(
            classify("https://", None),
            Some(Target::Skipped(_))
        ));
    }

    #[test]
    fn relative_paths_are_local_or_resolved_with_a_base() {
        assert_eq!(
            classify("img/a%20b.png?v=2", None),
            Some(Target::Local("img/a b.png".into()))
        );
        let base = Url::parse("https://blog.example/posts/x/").unwrap();
        assert_eq!(
            classify("../img/a.png", Some(&base)),
            Some(Target::Remote(
                Url::parse("https://blog.example/posts/img/a.png").unwrap()
            ))
        );
        assert_eq!(
            classify("/img/a.png", Some(&base)),
            Some(Target::Remote(
                Url::parse("https://blog.example/img/a.png").unwrap()
            ))
        );
    }

    #[test]
    fn image_extensions() {
        assert!(has_image_extension("https://a.example/x.JPG?w=1"));
        assert!(!has_image_extension(
            "https://inews.gtimg.com/om_bt/abc/641"
        ));
        assert!(!has_image_extension("https://a.example/jpg"));
    }
}
