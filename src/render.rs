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
use pulldown_cmark::{CowStr, Event, LinkType, Tag, TagEnd};

use crate::manifest::{Kind, Manifest, Status};
use crate::post::{Post, pieces, shortcodes};
use crate::urls::{self, Target};

/// Where a link with an archived copy leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// To the copy in the bundle (zip, tar: the copy is a file beside the
    /// page).
    ToCopies,
    /// To the original URL (one HTML file, where a copy cannot be opened).
    ToOriginals,
}

/// What the page needs besides the post.
pub(crate) struct Page<'a> {
    pub manifest: &'a Manifest,
    /// The post's source, for the "Original" link.
    pub source_url: Option<&'a str>,
    pub links: Links,
    /// The Content-Security-Policy: what the page may load.
    pub policy: &'a str,
}

/// For pages whose images are files beside them (zip, tar).
pub(crate) const POLICY_FILES: &str = "default-src 'none'; img-src 'self' data:; media-src 'self' data:; style-src 'unsafe-inline'; frame-src 'none'; form-action 'none'";
/// For one self-contained file: nothing but what is inside it.
pub(crate) const POLICY_SELF_CONTAINED: &str = "default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'; frame-src 'none'; form-action 'none'";

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
pub(crate) fn page(post: &Post, options: &Page<'_>) -> String {
    let mut page = String::new();
    let written: Result<(), std::convert::Infallible> = write_page(post, options, &mut |part| {
        page.push_str(part);
        Ok(())
    });
    match written {
        Ok(()) => page,
    }
}

/// Renders the page part by part into `emit`: its head, each piece of its
/// body (each whole HTML: no tag spans two parts), its foot. A long post's
/// page is never whole in memory.
pub(crate) fn write_page<E>(
    post: &Post,
    options: &Page<'_>,
    emit: &mut dyn FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let manifest = options.manifest;
    let sizes: HashMap<&str, (u32, u32)> = manifest
        .resources
        .iter()
        .filter_map(|e| Some((e.path.as_deref()?, (e.width?, e.height?))))
        .collect();
    let versions = link_versions(manifest);
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
    let mut page = String::with_capacity(4096);
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
    emit(&page)?;
    // A long body is rendered and sanitised piece by piece, so that no
    // step holds a tree of the whole of it.
    let cut = pieces::pieces(body);
    let elsewhere = pieces::Definitions::of(body, &cut);
    for piece in cut {
        let piece_html = render_piece(
            elsewhere.parser(&body[piece]),
            &sizes,
            &versions,
            options.links,
        );
        emit(&sanitise(&flatten_deep(&piece_html, MAX_DEPTH)))?;
    }
    page.clear();
    let _ = write!(
        page,
        "</article>\n<footer>Archived with {} on {}.</footer>\n</body>\n</html>\n",
        text(&manifest.tool),
        text(&manifest.post.archived_at.to_string())
    );
    emit(&page)
}

/// One piece of the body as HTML, not yet sanitised: images with their
/// sizes, links with their archived copies.
fn render_piece<'a>(
    mut events: impl Iterator<Item = Event<'a>>,
    sizes: &HashMap<&str, (u32, u32)>,
    versions: &HashMap<String, Versions<'_>>,
    links: Links,
) -> String {
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
                out.push(Event::InlineHtml(CowStr::from(link_tag(
                    &dest_url,
                    &title,
                    versions_of(&dest_url, versions),
                    links,
                ))));
            }
            other => out.push(other),
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    html
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
        .link_rel(Some("noopener"))
        // A table cell's style is kept for its alignment, never for what
        // it would load (`background-image: url(https://…)`).
        .attribute_filter(|_, attribute, value| {
            let loads = attribute == "style" && value.to_ascii_lowercase().contains("url(");
            (!loads).then_some(value.into())
        });
    policy.clean(html).to_string()
}

/// Whether a copy is a kind of file a browser runs scripts in.
fn runs_scripts(path: &str) -> bool {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "html" | "htm" | "xhtml" | "svg" | "xml")
}

/// Elements nested deeper than this are flattened before the page is
/// sanitised: the HTML parser's work grows with the square of the depth (a
/// post of 100,000 nested quotes or `<div>`s took minutes), and no reader
/// sees past a few dozen levels.
const MAX_DEPTH: usize = 64;

/// `html` with the tags of elements nested deeper than `max` removed
/// (their text kept): one pass over the text, which only ever removes
/// markup, so the sanitiser after it sees nothing it would not have seen.
fn flatten_deep(html: &str, max: usize) -> std::borrow::Cow<'_, str> {
    const VOID: [&str; 14] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    ];
    let bytes = html.as_bytes();
    let mut out: Option<String> = None;
    let (mut depth, mut copied, mut i) = (0usize, 0usize, 0usize);
    while let Some(at) = memchr::memchr(b'<', &bytes[i..]).map(|p| p + i) {
        if html[at..].starts_with("<!--") {
            i = html[at..].find("-->").map_or(bytes.len(), |e| at + e + 3);
            continue;
        }
        let closing = bytes.get(at + 1) == Some(&b'/');
        let name_at = at + 1 + usize::from(closing);
        let name_len = bytes[name_at.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        if name_len == 0 || !bytes[name_at].is_ascii_alphabetic() {
            i = at + 1;
            continue;
        }
        // The tag's end: the first `>` outside quotes.
        let mut quote = None;
        let mut end = bytes.len();
        for (k, &b) in bytes.iter().enumerate().skip(name_at + name_len) {
            match (quote, b) {
                (None, b'"' | b'\'') => quote = Some(b),
                (Some(q), _) if b == q => quote = None,
                (None, b'>') => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        let name = html[name_at..name_at + name_len].to_ascii_lowercase();
        let self_closing = end >= 2 && bytes[end - 2] == b'/';
        let void = VOID.contains(&name.as_str()) || self_closing;
        let too_deep = if closing {
            let deep = depth > max;
            depth = depth.saturating_sub(1);
            deep
        } else if void {
            false
        } else {
            depth += 1;
            depth > max
        };
        if too_deep {
            let kept = out.get_or_insert_with(|| String::with_capacity(html.len()));
            kept.push_str(&html[copied..at]);
            copied = end;
        }
        i = end;
    }
    match out {
        None => std::borrow::Cow::Borrowed(html),
        Some(mut kept) => {
            kept.push_str(&html[copied..]);
            std::borrow::Cow::Owned(kept)
        }
    }
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

/// Where else a link can be read: its copy in the post folder and its
/// memento in a web archive, each with its date (YYYY-MM-DD).
struct Versions<'a> {
    original: &'a str,
    copy: Option<(&'a str, String)>,
    memento: Option<(&'a str, String)>,
}

fn day(t: &crate::manifest::Timestamp) -> String {
    let text = t.to_string();
    text.get(..10).unwrap_or(&text).to_string()
}

/// Each link's versions, by every address index.md may give it: its
/// normalised URL, its memento URL and its copy's path (a link
/// `check --repair` pointed at one of them).
fn link_versions(manifest: &Manifest) -> HashMap<String, Versions<'_>> {
    let mut out = HashMap::new();
    for e in manifest.resources.iter().filter(|e| e.kind == Kind::Link) {
        let copy = match (e.status, e.path.as_deref()) {
            (Status::Archived, Some(path)) => {
                Some((path, e.fetched_at.as_ref().map(day).unwrap_or_default()))
            }
            _ => None,
        };
        let memento = e
            .recovered_from
            .as_ref()
            .or(e.memento.as_ref())
            .map(|m| (m.memento_url.as_str(), day(&m.memento_datetime)));
        if copy.is_none() && memento.is_none() {
            // Nothing to say beyond the URL itself (a post of a million
            // dead links does not build a table of them).
            continue;
        }
        let mut keys = vec![e.url.clone()];
        keys.extend(memento.as_ref().map(|(url, _)| url.to_string()));
        keys.extend(copy.as_ref().map(|(path, _)| path.to_string()));
        for key in keys {
            out.insert(
                key,
                Versions {
                    original: &e.url,
                    copy: copy.clone(),
                    memento: memento.clone(),
                },
            );
        }
    }
    out
}

/// The versions of a link as written in index.md, if rotproof knows it.
fn versions_of<'a>(
    dest: &str,
    versions: &'a HashMap<String, Versions<'a>>,
) -> Option<&'a Versions<'a>> {
    if let Some(v) = versions.get(dest) {
        return Some(v);
    }
    match urls::classify(dest, None)? {
        Target::Remote(url) => versions.get(url.as_str()),
        _ => None,
    }
}

/// `<a>` with Robust Links attributes: `data-originalurl` (the URL the
/// post cites), `data-versionurl` (in zip/tar bundles the copy beside the
/// page, else the memento) and `data-versiondate`. In zip/tar bundles a
/// link with a copy opens the copy, unless the copy is a third party's
/// page (HTML, SVG): opened from the bundle it would run its scripts with
/// no Content-Security-Policy, so it is never the target of a click.
fn link_tag(dest: &str, title: &str, versions: Option<&Versions<'_>>, links: Links) -> String {
    let archived = versions.and_then(|v| v.copy.as_ref());
    let copy = archived.filter(|(path, _)| !runs_scripts(path));
    let memento = versions.and_then(|v| v.memento.as_ref());
    let href = match (copy, links) {
        (Some((path, _)), Links::ToCopies) => *path,
        _ => dest,
    };
    let mut tag = format!("<a href=\"{}\"", attr(href));
    if !title.is_empty() {
        let _ = write!(tag, " title=\"{}\"", attr(title));
    }
    if let Some(v) = versions {
        let _ = write!(tag, " data-originalurl=\"{}\"", attr(v.original));
        let version = match links {
            Links::ToCopies => copy.or(memento),
            Links::ToOriginals => memento,
        };
        if let Some((url, date)) = version {
            let _ = write!(tag, " data-versionurl=\"{}\"", attr(url));
            if !date.is_empty() {
                let _ = write!(tag, " data-versiondate=\"{}\"", attr(date));
            }
        } else if let Some((_, date)) = archived.filter(|(_, d)| !d.is_empty()) {
            // No version to send a reader to from here, but the date the
            // link was archived.
            let _ = write!(tag, " data-versiondate=\"{}\"", attr(date));
        }
    }
    tag.push('>');
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_past_the_depth_are_flattened_and_their_text_kept() {
        let deep = format!("{}text{}", "<div>".repeat(5), "</div>".repeat(5));
        assert_eq!(
            flatten_deep(&deep, 3),
            "<div><div><div>text</div></div></div>"
        );
        let shallow = "<p>a <img src=\"x\"> <a href='b>c'>d</a><br/></p>";
        assert_eq!(flatten_deep(shallow, 3), shallow);
        let comment = "<!-- <div><div> --><b>x</b>";
        assert_eq!(flatten_deep(comment, 0), "<!-- <div><div> -->x");
    }
}
