//! Front matter: YAML between `---` lines or TOML between `+++` lines at the
//! very start of a post. The block is parsed only to find string scalars and
//! their spans; its text is never re-serialised.

use std::ops::Range;

pub use super::scalar::Scalar;
use super::{ParseError, toml_table, yaml};
use crate::lines::LineIndex;
use crate::reference::{Kind, Place, Reference, Syntax};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrontMatterFormat {
    Yaml,
    Toml,
}

impl FrontMatterFormat {
    fn delimiter(self) -> &'static str {
        match self {
            FrontMatterFormat::Yaml => "---",
            FrontMatterFormat::Toml => "+++",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FrontMatterFormat::Yaml => "YAML",
            FrontMatterFormat::Toml => "TOML",
        }
    }
}

/// A parsed front matter block.
#[derive(Debug, Clone)]
pub struct FrontMatter {
    pub format: FrontMatterFormat,
    /// Byte span of the text between the delimiter lines.
    pub content: Range<usize>,
    /// Where the body starts (after the closing delimiter line).
    pub body_start: usize,
    pub scalars: Vec<Scalar>,
}

impl FrontMatter {
    /// A top-level scalar by key (the last one when a key is repeated, as
    /// Jekyll reads it).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.scalars
            .iter()
            .rfind(|s| s.key_path == key)
            .map(|s| s.value.as_str())
    }
}

/// Finds and parses the front matter that starts at `start` (after a BOM).
pub(super) fn parse(
    text: &str,
    start: usize,
    lines: &LineIndex,
) -> Result<Option<FrontMatter>, ParseError> {
    let Some((format, content, body_start)) = split(text, start) else {
        return Ok(None);
    };
    let block = &text[content.clone()];
    let scalars = match format {
        FrontMatterFormat::Yaml => yaml::scalars(block, content.start),
        FrontMatterFormat::Toml => toml_table::scalars(block, content.start),
    }
    .map_err(|err| {
        let (line, column) = lines.line_column(text, content.start + err.offset);
        ParseError::MalformedFrontMatter {
            format: format.name(),
            line,
            column,
            message: err.message,
        }
    })?;
    Ok(Some(FrontMatter {
        format,
        content,
        body_start,
        scalars,
    }))
}

/// Locates the delimiter lines. Returns the format, the content span and
/// where the body starts; `None` when there is no front matter. A first
/// line `---` (or `+++`) that no later line closes opens no front matter:
/// it is Markdown (a thematic break), as CommonMark reads it.
fn split(text: &str, start: usize) -> Option<(FrontMatterFormat, Range<usize>, usize)> {
    let rest = &text[start..];
    let format = if rest.starts_with("---") {
        FrontMatterFormat::Yaml
    } else if rest.starts_with("+++") {
        FrontMatterFormat::Toml
    } else {
        return None;
    };
    let delimiter = format.delimiter();
    // The opening line is the delimiter alone (trailing blanks allowed);
    // `----` or `--- text` is Markdown, not front matter.
    let content_start = delimiter_line_end(text, start, delimiter)?;
    let mut line_start = content_start;
    while line_start < text.len() {
        if let Some(body_start) = delimiter_line_end(text, line_start, delimiter).or_else(|| {
            // YAML also allows `...` to end a document.
            (format == FrontMatterFormat::Yaml)
                .then(|| delimiter_line_end(text, line_start, "..."))
                .flatten()
        }) {
            return Some((format, content_start..line_start, body_start));
        }
        line_start = match memchr::memchr(b'\n', &text.as_bytes()[line_start..]) {
            Some(i) => line_start + i + 1,
            None => text.len(),
        };
    }
    None
}

/// If the line starting at `at` is exactly `delimiter` (plus trailing blanks),
/// returns the offset just after its line ending.
fn delimiter_line_end(text: &str, at: usize, delimiter: &str) -> Option<usize> {
    let rest = text[at..].strip_prefix(delimiter)?;
    let line_len = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
    let tail = &rest[..line_len];
    if !tail.trim_end_matches([' ', '\t', '\r']).is_empty() {
        return None;
    }
    let end = at + delimiter.len() + line_len;
    Some(if end < text.len() { end + 1 } else { end })
}

/// Turns the URL scalars of the front matter into references.
pub(super) fn collect_references(fm: &FrontMatter, lines: &LineIndex, out: &mut Vec<Reference>) {
    for scalar in &fm.scalars {
        let Some(syntax) = &scalar.syntax else {
            continue;
        };
        let url = if *syntax == Syntax::YamlBlock {
            scalar.value.trim_end_matches(['\n', '\r'])
        } else {
            scalar.value.as_str()
        };
        let names_image = scalar_names_image(&scalar.keys);
        if !is_url(url) && !is_asset_path(url, names_image) {
            continue;
        }
        let kind = if names_image || crate::urls::has_image_extension(url) {
            Kind::Image
        } else {
            Kind::Link
        };
        out.push(Reference {
            kind,
            place: Place::FrontMatter {
                key_path: scalar.key_path.clone(),
            },
            syntax: syntax.clone(),
            span: scalar.span.clone(),
            line: lines.line(scalar.span.start),
            url: url.to_string(),
        });
    }
}

/// A front matter string counts when it is an absolute `http(s)://` URL or
/// a protocol-relative `//host/...` one, and nothing else.
fn is_url(value: &str) -> bool {
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    let scheme_ok = lower.starts_with("http://")
        || lower.starts_with("https://")
        || (value.starts_with("//") && value.len() > 2 && !value[2..].starts_with('/'));
    scheme_ok && !value.chars().any(char::is_whitespace)
}

/// A relative value in the front matter is a site path (`permalink`,
/// `aliases`, `redirect_from`, `url`, `slug`: collecting them would break a
/// site's redirects), except a path under an image key (`cover:
/// images/a.png`, common in Hugo page bundles), which is a local asset
/// when it names a file in the post's folder (see `resource`), and a path
/// rotproof wrote itself (`assets/<sha256>.<ext>`), so a rewritten post
/// reads back with the same references.
fn is_asset_path(value: &str, names_image: bool) -> bool {
    if value.is_empty()
        || value.starts_with(['#', '/'])
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
        || value.contains("://")
        || value.contains(':') && !value.contains('/')
    {
        return false;
    }
    if names_image {
        return value.contains('/') || value.contains('.');
    }
    is_stored_path(value)
}

/// `assets/<sha256>.<ext>`: a file rotproof stored.
fn is_stored_path(value: &str) -> bool {
    let Some(name) = value.strip_prefix("assets/") else {
        return false;
    };
    let (stem, ext) = name.split_once('.').unwrap_or((name, ""));
    stem.len() == 64
        && stem.bytes().all(|b| b.is_ascii_hexdigit())
        && !ext.is_empty()
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Keys whose value is an image, compared after lower-casing and dropping
/// `_` and `-` (so `featured_image`, `featuredImage` and `featured-image`
/// are one).
const IMAGE_KEYS: &[&str] = &[
    "thumbnail",
    "thumb",
    "image",
    "images",
    "img",
    "cover",
    "coverimage",
    "banner",
    "featuredimage",
    "featureimage",
    "featured",
    "ogimage",
    "twitterimage",
    "socialimage",
    "photo",
    "photos",
    "picture",
    "poster",
    "avatar",
    "logo",
    "icon",
    "favicon",
    "hero",
    "heroimage",
    "headerimage",
    "header",
    "background",
    "backgroundimage",
    "gallery",
    "screenshot",
    "screenshots",
    "preview",
];

/// Keys that say nothing of what their value is, so their parent's does
/// (`cover: {src: …}`). `link` and `href` say it is a link, whatever their
/// parent (`gallery: [{link: …/page.html}]`).
const GENERIC_KEYS: &[&str] = &["src", "url", "path", "file"];

fn normalise_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_image_key(key: &str) -> bool {
    let k = normalise_key(key);
    IMAGE_KEYS.contains(&k.as_str())
        || k.ends_with("image")
        || k.ends_with("images")
        || k.ends_with("thumbnail")
}

fn scalar_names_image(keys: &[String]) -> bool {
    match keys {
        [] => false,
        [nearest, rest @ ..] => {
            is_image_key(nearest)
                || (GENERIC_KEYS.contains(&normalise_key(nearest).as_str())
                    && rest.first().is_some_and(|k| is_image_key(k)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_str(text: &str) -> Option<(FrontMatterFormat, String, usize)> {
        split(text, 0).map(|(f, r, b)| (f, text[r].to_string(), b))
    }

    #[test]
    fn yaml_and_toml_blocks_are_split() {
        let (f, c, b) = split_str("---\na: 1\n---\nbody").unwrap();
        assert_eq!((f, c.as_str(), b), (FrontMatterFormat::Yaml, "a: 1\n", 13));
        let (f, c, _) = split_str("+++\na = 1\n+++\n").unwrap();
        assert_eq!((f, c.as_str()), (FrontMatterFormat::Toml, "a = 1\n"));
    }

    #[test]
    fn crlf_and_trailing_blanks_and_eof_closing() {
        let (_, c, b) = split_str("--- \r\na: 1\r\n---").unwrap();
        assert_eq!(c, "a: 1\r\n");
        assert_eq!(b, 15);
    }

    #[test]
    fn yaml_document_end_marker_closes() {
        let (_, c, _) = split_str("---\na: 1\n...\nbody").unwrap();
        assert_eq!(c, "a: 1\n");
    }

    #[test]
    fn thematic_breaks_are_not_front_matter() {
        assert!(split_str("----\na\n----\n").is_none());
        assert!(split_str("--- x\n").is_none());
        assert!(split_str("text\n---\na: 1\n---\n").is_none());
    }

    #[test]
    fn an_opening_line_never_closed_opens_no_front_matter() {
        assert_eq!(split_str("---\ntitle: x\nbody\n"), None);
        assert_eq!(split_str("+++\ntitle = 'x'\n"), None);
    }

    #[test]
    fn image_keys() {
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(scalar_names_image(&keys(&["thumbnail"])));
        assert!(scalar_names_image(&keys(&["featuredImage"])));
        assert!(scalar_names_image(&keys(&["og_image"])));
        assert!(scalar_names_image(&keys(&["src", "cover"])));
        assert!(!scalar_names_image(&keys(&["source"])));
        assert!(!scalar_names_image(&keys(&["src", "links"])));
    }

    #[test]
    fn relative_asset_paths() {
        assert!(is_asset_path("images/cover.png", true));
        assert!(is_asset_path("cover.png", true));
        let stored = format!("assets/{}.jpg", "ab".repeat(32));
        assert!(is_asset_path(&stored, false), "a path rotproof wrote");
        assert!(!is_asset_path("assets/ab12.html", false));
        assert!(!is_asset_path("/docs/page.html", false), "a site path");
        assert!(!is_asset_path("/images/cover.png", true), "a site path");
        assert!(!is_asset_path("post", true));
        assert!(!is_asset_path("hello.world", false));
        assert!(!is_asset_path("a b/c.png", true));
        assert!(!is_asset_path("mailto:x@y", true));
        assert!(!is_asset_path("docs/readme.md", false));
    }

    #[test]
    fn url_strings() {
        assert!(is_url("https://a.example/x"));
        assert!(is_url("HTTP://a.example"));
        assert!(is_url("//cdn.example/x.png"));
        assert!(!is_url("///x"));
        assert!(!is_url("see https://a.example"));
        assert!(!is_url("https://a.example/x y"));
        assert!(!is_url("ftp://a.example"));
    }
}
