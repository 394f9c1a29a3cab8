//! index.html for bundles: the rewritten post rendered with pulldown-cmark
//! in a small self-contained page (inline stylesheet; no fonts, scripts or
//! CSS from any other host). Images get `loading="lazy"` and their width and
//! height from the manifest, so the page does not jump as they load.

use std::collections::HashMap;
use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use pulldown_cmark::{CowStr, Event, Parser, Tag, TagEnd};

use crate::manifest::{Manifest, Status};
use crate::post::{Post, markdown_options};

/// Front matter keys that name the original article.
const SOURCE_KEYS: &[&str] = &["source", "source_url", "original_url", "canonical", "link"];

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
pub fn page(post: &Post, manifest: &Manifest) -> String {
    let sizes: HashMap<&str, (u32, u32)> = manifest
        .resources
        .iter()
        .filter_map(|e| Some((e.path.as_deref()?, (e.width?, e.height?))))
        .collect();
    let title = post
        .meta("title")
        .or(manifest.post.title.as_deref())
        .unwrap_or(&manifest.post.slug)
        .to_string();
    let date = post
        .meta("date")
        .map(|d| d.get(..10).unwrap_or(d).to_string());
    let source = original_source(post, manifest);

    let body = &post.text()[post.body()];
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
            other => out.push(other),
        }
    }
    pulldown_cmark::html::push_html(&mut html, out.into_iter());

    let mut page = String::with_capacity(html.len() + 4096);
    page.push_str("<!DOCTYPE html>\n<html");
    if let Some(lang) = post.meta("lang").or(post.meta("language")) {
        let _ = write!(page, " lang=\"{}\"", attr(lang));
    }
    let _ = write!(
        page,
        ">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<article>\n<header>\n<h1>{}</h1>\n",
        text(&title),
        text(&title)
    );
    let mut meta = Vec::new();
    if let Some(date) = &date {
        meta.push(format!("<time>{}</time>", text(date)));
    }
    if let Some(source) = &source {
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

fn img_tag(src: &str, alt: &str, title: &str, size: Option<&(u32, u32)>) -> String {
    let mut tag = format!("<img src=\"{}\" alt=\"{}\"", attr(src), attr(alt));
    if !title.is_empty() {
        let _ = write!(tag, " title=\"{}\"", attr(title));
    }
    if let Some((w, h)) = size {
        let _ = write!(tag, " width=\"{w}\" height=\"{h}\"");
    }
    tag.push_str(" loading=\"lazy\" decoding=\"async\">");
    tag
}

/// The original article: a front matter source field (mapped back to its
/// URL if the field was archived), else the post's last link.
fn original_source(post: &Post, manifest: &Manifest) -> Option<String> {
    let original_of = |value: &str| {
        manifest
            .resources
            .iter()
            .find(|e| e.path.as_deref() == Some(value))
            .map_or(value.to_string(), |e| e.url.clone())
    };
    if let Some(value) = SOURCE_KEYS.iter().find_map(|k| post.meta(k)) {
        return Some(original_of(value));
    }
    manifest
        .resources
        .iter()
        .rev()
        .find(|e| {
            e.kind == crate::manifest::Kind::Link
                && (e.status != Status::Skipped || e.http_status.is_some())
        })
        .map(|e| e.url.clone())
}
