//! index.html for bundles: the rewritten post rendered with pulldown-cmark
//! in a small self-contained page (inline stylesheet; no fonts, scripts or
//! CSS from any other host, and a Content-Security-Policy that forbids
//! them). Images load eagerly, so a screenshot, a print or a capture tool
//! sees them all, with their width and height from the manifest. Links
//! carry Robust Links attributes: the original URL, and the archived copy
//! with its date.

use std::collections::HashMap;
use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use pulldown_cmark::{CowStr, Event, LinkType, Parser, Tag, TagEnd};

use crate::manifest::{Kind, Manifest, Status};
use crate::post::{Post, markdown_options, shortcodes};
use crate::urls::{self, Target};

/// Where a link with an archived copy leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// To the copy in the bundle (zip, tar: the copy is a file beside the
    /// page).
    ToCopies,
    /// To the original URL (one HTML file, where a copy cannot be opened).
    ToOriginals,
}

/// What the page needs besides the post.
pub struct Page<'a> {
    pub manifest: &'a Manifest,
    /// The post's source, for the "Original" link.
    pub source_url: Option<&'a str>,
    pub links: Links,
    /// The Content-Security-Policy: what the page may load.
    pub policy: &'a str,
}

/// For pages whose images are files beside them (zip, tar).
pub const POLICY_FILES: &str = "default-src 'none'; img-src 'self' data:; media-src 'self' data:; style-src 'unsafe-inline'; frame-src 'none'; form-action 'none'";
/// For one self-contained file: nothing but what is inside it.
pub const POLICY_SELF_CONTAINED: &str = "default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'; frame-src 'none'; form-action 'none'";

const STYLE: &str = r#"
:root { color-scheme: light dark; }
body { margin: 0; padding: 1.25rem; font: 1.0625rem/1.8 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; }
article, footer { max-width: 42rem; margin: 0 auto; }
header h1 { font-size: 1.75rem; line-height: 1.35; margin: 0.5rem 0; }
.meta { color: #777; font-size: 0.9rem; margin: 0 0 2rem; }
img, video { max-width: 100%; height: auto; }
pre { overflow-x: auto; padding: 0.75rem; background: rgba(127,127,127,0.12); border-radius: 4px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
blockquote { margin: 1rem 0; padding: 0 1rem; border-left: 3px solid rgba(127,127,127,0.4); color: #666; }
table { border-collapse: collapse; display: block; overflow-x: auto; }
th, td { border: 1px solid rgba(127,127,127,0.4); padding: 0.3rem 0.6rem; }
a { color: #0a66c2; word-break: break-word; }
footer { color: #999; font-size: 0.8rem; margin-top: 3rem; }
"#;

/// Renders a rewritten post (index.md) into a standalone HTML page.
pub fn page(post: &Post, options: &Page<'_>) -> String {
    let manifest = options.manifest;
    let sizes: HashMap<&str, (u32, u32)> = manifest
        .resources
        .iter()
        .filter_map(|e| Some((e.path.as_deref()?, (e.width?, e.height?))))
        .collect();
    let copies = link_copies(manifest);
    let title = post
        .title()
        .or_else(|| manifest.post.title.clone())
        .unwrap_or_else(|| manifest.post.slug.clone());
    let date = post
        .meta("date")
        .map(|d| d.get(..10).unwrap_or(d).to_string());
    let source = options.source_url;

    // Shortcodes become figures and images; other shortcodes are dropped,
    // never printed as text.
    let raw_body = &post.text()[post.body()];
    let body = &shortcodes::render(raw_body, &shortcodes::code_ranges(raw_body));
    let mut html = String::with_capacity(body.len() * 2);
    let mut events = Parser::new_ext(body, markdown_options());
    let mut out: Vec<Event> = Vec::new();
    while let Some(event) = events.next() {
        match event {
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) => {
                // The alt text is the image's inner text, without markup.
                let mut alt = String::new();
                let mut depth = 1;
                for inner in events.by_ref() {
                    match inner {
                        Event::Start(Tag::Image { .. }) => depth += 1,
                        Event::End(TagEnd::Image) => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                        _ => {}
                    }
                }
                out.push(Event::Html(CowStr::from(img_tag(
                    &dest_url,
                    &alt,
                    &title,
                    sizes.get(dest_url.as_ref()),
                ))));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            }) if !matches!(link_type, LinkType::Email) => {
                let copy = copy_of(&dest_url, &copies);
                out.push(Event::InlineHtml(CowStr::from(link_tag(
                    &dest_url,
                    &title,
                    copy,
                    options.links,
                ))));
            }
            other => out.push(other),
        }
    }
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    let html = sanitise(&html);

    let mut page = String::with_capacity(html.len() + 4096);
    page.push_str("<!DOCTYPE html>\n<html");
    if let Some(lang) = post.lang() {
        let _ = write!(page, " lang=\"{}\"", attr(lang));
    }
    let _ = write!(
        page,
        ">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<article>\n<header>\n<h1>{}</h1>\n",
        attr(options.policy),
        text(&title),
        text(&title)
    );
    let mut meta = Vec::new();
    if let Some(date) = &date {
        meta.push(format!("<time>{}</time>", text(date)));
    }
    if let Some(source) = source {
        meta.push(format!(
            "<a href=\"{}\" rel=\"noopener\">Original</a>",
            attr(source)
        ));
    }
    if !meta.is_empty() {
        let _ = writeln!(page, "<p class=\"meta\">{}</p>", meta.join(" · "));
    }
    page.push_str("</header>\n");
    page.push_str(&html);
    let _ = write!(
        page,
        "</article>\n<footer>Archived with {} on {}.</footer>\n</body>\n</html>\n",
        text(&manifest.tool),
        text(&manifest.post.archived_at.to_string())
    );
    page
}

/// The post's HTML with its active content and remote embeds removed: a
/// post's raw HTML (copied from a web page, or hostile) may hold scripts,
/// event handlers, `javascript:` URLs, frames and remote stylesheets,
/// which a bundle opened from disk must not run or load. An allow-list
/// (ammonia): what Markdown renders to, images, video and audio, figures,
/// and the Robust Links attributes; URL schemes http, https and mailto, and
/// relative paths.
fn sanitise(html: &str) -> String {
    let mut policy = ammonia::Builder::default();
    policy
        .add_tags([
            "video",
            "audio",
            "source",
            "track",
            "picture",
            "figure",
            "figcaption",
            "input",
            "details",
            "summary",
            "mark",
            "section",
        ])
        .add_generic_attributes(["id", "class"])
        .add_generic_attribute_prefixes(["data-"])
        .add_tag_attributes("img", ["srcset", "sizes", "decoding"])
        .add_tag_attributes(
            "video",
            [
                "src",
                "poster",
                "controls",
                "width",
                "height",
                "loop",
                "muted",
                "playsinline",
            ],
        )
        .add_tag_attributes("audio", ["src", "controls", "loop"])
        .add_tag_attributes("source", ["src", "srcset", "type", "media", "sizes"])
        .add_tag_attributes("track", ["src", "kind", "srclang", "label", "default"])
        .add_tag_attributes("input", ["type", "checked", "disabled"])
        .add_tag_attributes("th", ["style"])
        .add_tag_attributes("td", ["style"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener"));
    policy.clean(html).to_string()
}

fn img_tag(src: &str, alt: &str, title: &str, size: Option<&(u32, u32)>) -> String {
    let mut tag = format!("<img src=\"{}\" alt=\"{}\"", attr(src), attr(alt));
    if !title.is_empty() {
        let _ = write!(tag, " title=\"{}\"", attr(title));
    }
    if let Some((w, h)) = size {
        let _ = write!(tag, " width=\"{w}\" height=\"{h}\"");
    }
    tag.push('>');
    tag
}

/// An archived copy of a link: its path in the post folder and when it was
/// fetched.
struct Copy<'a> {
    path: &'a str,
    date: Option<String>,
}

/// Links' archived copies by normalised URL.
fn link_copies(manifest: &Manifest) -> HashMap<&str, Copy<'_>> {
    manifest
        .resources
        .iter()
        .filter(|e| e.kind == Kind::Link && e.status == Status::Archived)
        .filter_map(|e| {
            let copy = Copy {
                path: e.path.as_deref()?,
                date: e.fetched_at.map(|t| t.to_string()),
            };
            Some((e.url.as_str(), copy))
        })
        .collect()
}

/// The copy of a link as written in the post, if it was archived.
fn copy_of<'a>(dest: &str, copies: &'a HashMap<&str, Copy<'a>>) -> Option<&'a Copy<'a>> {
    match urls::classify(dest, None)? {
        Target::Remote(url) => copies.get(url.as_str()),
        _ => None,
    }
}

/// `<a>` with Robust Links attributes (`data-originalurl`,
/// `data-versionurl`, `data-versiondate`) when the link has a copy.
fn link_tag(dest: &str, title: &str, copy: Option<&Copy<'_>>, links: Links) -> String {
    let href = match (copy, links) {
        (Some(copy), Links::ToCopies) => copy.path,
        _ => dest,
    };
    let mut tag = format!("<a href=\"{}\"", attr(href));
    if !title.is_empty() {
        let _ = write!(tag, " title=\"{}\"", attr(title));
    }
    if let Some(copy) = copy {
        let _ = write!(tag, " data-originalurl=\"{}\"", attr(dest));
        if links == Links::ToCopies {
            let _ = write!(tag, " data-versionurl=\"{}\"", attr(copy.path));
        }
        if let Some(date) = &copy.date {
            let _ = write!(tag, " data-versiondate=\"{}\"", attr(date));
        }
    }
    tag.push('>');
    tag
}
