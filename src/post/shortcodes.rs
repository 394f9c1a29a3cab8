//! Site generators' own image syntax in a post's body: Hugo's shortcodes
//! with a `src`, `image` or `poster` parameter (`{{< figure src="…"
//! link="…" >}}`, `{{< video src="…" >}}`, a theme's own; also with
//! `{{% %}}`), Hexo's `{% img [class] url [w h] ['title' 'alt'] %}` tag,
//! and Obsidian's `![[image.png|300]]` embeds. To CommonMark they are
//! text; they are found in the source, outside code and comments, and
//! each URL keeps its exact span so it is rewritten in its own syntax.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::reference::{Kind, Quote, Syntax};

/// One URL found in a shortcode, in body coordinates.
pub(super) struct Found {
    pub kind: Kind,
    pub span: Range<usize>,
    pub url: String,
    pub syntax: Syntax,
    /// The whole shortcode: other references inside it are not the post's.
    pub whole: Range<usize>,
}

static HUGO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{[<%]-?\s*(?P<name>[A-Za-z_][\w./-]*)(?P<params>[^}]*?)-?\s*[>%]\}\}")
        .expect("a valid regex")
});
static PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<key>[A-Za-z_][\w-]*)\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'>%}]+))"#)
        .expect("a valid regex")
});
static HEXO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%\s*img\s+(?P<args>[^%]*?)\s*%\}").expect("a valid regex"));
static HEXO_ASSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%\s*asset_(?P<tag>img|path|link)\s+(?P<args>[^%]*?)\s*%\}")
        .expect("a valid regex")
});
/// A tag argument: quoted, or a word.
static ARG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"']+)"#).expect("a valid regex")
});
static TOKEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[^\s]+").expect("a valid regex"));
static WIKI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"!\[\[(?P<file>[^\]|#\n]+?)\s*(?:[|#][^\]\n]*)?\]\]").expect("a valid regex")
});

/// What a shortcode's `src`, `image` or `poster` parameter shows (any
/// shortcode: `figure`, `img`, `video`, `audio`, a theme's own): media by
/// its extension or a `video`/`audio` shortcode, a page or document by its
/// extension (a theme's `include`), else an image.
fn kind_of_file(shortcode: &str, key: &str, url: &str) -> Kind {
    let name = shortcode
        .rsplit('/')
        .next()
        .unwrap_or(shortcode)
        .to_ascii_lowercase();
    let document = [".md", ".markdown", ".html", ".htm", ".pdf", ".txt"]
        .iter()
        .any(|ext| {
            url.split(['?', '#'])
                .next()
                .unwrap_or(url)
                .to_ascii_lowercase()
                .ends_with(ext)
        });
    if key == "src"
        && (crate::urls::has_media_extension(url)
            || name.contains("video")
            || name.contains("audio"))
        && !crate::urls::has_image_extension(url)
    {
        Kind::Media
    } else if document {
        Kind::Link
    } else {
        Kind::Image
    }
}

/// Every shortcode URL in `body`, except in the ranges of `skip` (code,
/// comments).
pub(super) fn find(body: &str, skip: &[Range<usize>]) -> Vec<Found> {
    let skipped = |r: &Range<usize>| skip.iter().any(|s| s.start < r.end && r.start < s.end);
    let mut out = Vec::new();
    for m in HUGO.captures_iter(body) {
        let whole = m.get(0).map_or(0..0, |w| w.range());
        let (Some(name), Some(params)) = (m.name("name"), m.name("params")) else {
            continue;
        };
        if skipped(&whole) {
            continue;
        }
        for p in PARAM.captures_iter(params.as_str()) {
            let Some(key) = p.name("key") else { continue };
            let kind = match (name.as_str(), key.as_str()) {
                ("figure", "link") => Kind::Link,
                (_, "src" | "image" | "poster") => Kind::Image,
                _ => continue,
            };
            let (value, quote) = match (p.name("dq"), p.name("sq"), p.name("bare")) {
                (Some(v), _, _) => (v, Quote::Double),
                (_, Some(v), _) => (v, Quote::Single),
                (_, _, Some(v)) => (v, Quote::None),
                _ => continue,
            };
            let at = params.start() + value.start();
            let url = value.as_str().trim().to_string();
            let kind = match kind {
                Kind::Link if crate::urls::has_image_extension(&url) => Kind::Image,
                Kind::Link => Kind::Link,
                _ => kind_of_file(name.as_str(), key.as_str(), &url),
            };
            out.push(Found {
                kind,
                span: at..at + value.len(),
                url,
                syntax: Syntax::Shortcode(quote),
                whole: whole.clone(),
            });
        }
    }
    for m in HEXO.captures_iter(body) {
        let whole = m.get(0).map_or(0..0, |w| w.range());
        let Some(args) = m.name("args") else { continue };
        if skipped(&whole) {
            continue;
        }
        // `[class names] url …`: the URL is the first word that is a path.
        let Some(url) = TOKEN
            .find_iter(args.as_str())
            .find(|t| !t.as_str().starts_with(['\'', '"']) && t.as_str().contains(['/', '.']))
        else {
            continue;
        };
        let at = args.start() + url.start();
        out.push(Found {
            kind: Kind::Image,
            span: at..at + url.len(),
            url: url.as_str().to_string(),
            syntax: Syntax::Shortcode(Quote::None),
            whole,
        });
    }
    // Hexo's asset tags: `{% asset_img [class] file [w h] [title] %}`, the
    // file the first argument with an extension; `{% asset_path file %}`,
    // `{% asset_link file [title] %}`, the file the first argument.
    for m in HEXO_ASSET.captures_iter(body) {
        let whole = m.get(0).map_or(0..0, |w| w.range());
        let (Some(tag), Some(args)) = (m.name("tag"), m.name("args")) else {
            continue;
        };
        if skipped(&whole) {
            continue;
        }
        let file = ARG.captures_iter(args.as_str()).find_map(|a| {
            let (value, quote) = match (a.name("dq"), a.name("sq"), a.name("bare")) {
                (Some(v), _, _) => (v, Quote::Double),
                (_, Some(v), _) => (v, Quote::Single),
                (_, _, Some(v)) => (v, Quote::None),
                _ => return None,
            };
            let named = tag.as_str() != "img" || value.as_str().contains('.');
            named.then_some((value, quote))
        });
        let Some((file, quote)) = file else { continue };
        let url = file.as_str().to_string();
        let kind = match tag.as_str() {
            "img" => Kind::Image,
            _ if crate::urls::has_image_extension(&url) => Kind::Image,
            _ if crate::urls::has_media_extension(&url) => Kind::Media,
            _ => Kind::Link,
        };
        let at = args.start() + file.start();
        out.push(Found {
            kind,
            span: at..at + file.len(),
            url,
            syntax: Syntax::HexoAsset(quote),
            whole,
        });
    }
    for m in WIKI.captures_iter(body) {
        let whole = m.get(0).map_or(0..0, |w| w.range());
        let Some(file) = m.name("file") else { continue };
        if skipped(&whole) {
            continue;
        }
        out.push(Found {
            kind: Kind::Image,
            span: file.range(),
            url: file.as_str().to_string(),
            syntax: Syntax::WikiEmbed,
            whole,
        });
    }
    out
}

/// Where `body` has code (spans and blocks) or comments: no shortcode
/// there is one.
pub fn code_ranges(body: &str) -> Vec<Range<usize>> {
    use pulldown_cmark::{Event, Parser, Tag};
    let mut ranges = Vec::new();
    for piece in super::pieces::pieces(body) {
        let at = piece.start;
        let found = Parser::new_ext(&body[piece], super::dialect::options())
            .into_offset_iter()
            .filter(|(event, _)| match event {
                Event::Start(Tag::CodeBlock(_)) | Event::Code(_) => true,
                Event::Html(h) | Event::InlineHtml(h) => h.contains("<!--"),
                _ => false,
            })
            .map(|(_, range)| at + range.start..at + range.end);
        ranges.extend(found);
    }
    ranges
}

/// The body as index.html shows it: a `figure` shortcode becomes a
/// `<figure>` with its caption, an image shortcode or embed an `<img>`, and
/// every other shortcode is dropped (never printed as text). Code and
/// comments (`skip`) are left as they are.
pub fn render(body: &str, skip: &[Range<usize>]) -> String {
    let skipped = |r: &Range<usize>| skip.iter().any(|s| s.start < r.end && r.start < s.end);
    let attr = |v: &str| html_escape::encode_double_quoted_attribute(v).into_owned();
    static ANY: LazyLock<Regex> = LazyLock::new(|| {
        // `(?s)`: a shortcode's parameters may stand on lines of their own.
        Regex::new(
            r"(?s)\{\{[<%].*?[>%]\}\}|\{%\s*(?:img|asset_img|asset_path|asset_link)\s+[^%]*?%\}|!\[\[[^\]\n]+\]\]",
        )
            .expect("a valid regex")
    });
    let mut out = String::with_capacity(body.len());
    let mut last = 0;
    for m in ANY.find_iter(body) {
        if skipped(&m.range()) {
            continue;
        }
        out.push_str(&body[last..m.start()]);
        last = m.end();
        let text = m.as_str();
        let found = find(text, &[]);
        let value = |key: &str| -> Option<String> {
            let caps = HUGO.captures(text)?;
            PARAM
                .captures_iter(caps.name("params")?.as_str())
                .find(|p| p.name("key").is_some_and(|k| k.as_str() == key))
                .and_then(|p| p.name("dq").or(p.name("sq")).or(p.name("bare")))
                .map(|v| v.as_str().to_string())
        };
        // Hugo's by its `src`; Hexo's and Obsidian's by their one URL; any
        // other shortcode has none, and is dropped.
        let src = if text.starts_with("{{") {
            value("src")
                .or_else(|| value("image"))
                .or_else(|| value("poster"))
        } else {
            found.first().map(|f| f.url.clone())
        };
        let Some(src) = src else {
            continue;
        };
        let alt = value("alt").or_else(|| value("title")).unwrap_or_default();
        // `{% asset_path %}` stands for the path itself (in a Markdown
        // destination, most often); `{% asset_link %}` for a link to it.
        if text.contains("asset_path") {
            out.push_str(&src);
            continue;
        }
        if text.contains("asset_link") {
            out.push_str(&format!("<a href=\"{0}\">{0}</a>", attr(&src)));
            continue;
        }
        if found.first().is_some_and(|f| f.kind == Kind::Media) {
            out.push_str(&format!("<video controls src=\"{}\"></video>", attr(&src)));
            continue;
        }
        if found.first().is_some_and(|f| f.kind == Kind::Link) {
            continue;
        }
        let img = format!("<img src=\"{}\" alt=\"{}\">", attr(&src), attr(&alt));
        if text.contains("figure") {
            let caption = value("caption")
                .or_else(|| value("title"))
                .unwrap_or_default();
            let inner = match value("link") {
                Some(link) => format!("<a href=\"{}\">{img}</a>", attr(&link)),
                None => img,
            };
            let caption = if caption.is_empty() {
                String::new()
            } else {
                format!(
                    "<figcaption>{}</figcaption>",
                    html_escape::encode_text(&caption)
                )
            };
            out.push_str(&format!("<figure>{inner}{caption}</figure>"));
        } else {
            out.push_str(&img);
        }
    }
    out.push_str(&body[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(body: &str) -> Vec<(Kind, String, String)> {
        find(body, &[])
            .into_iter()
            .map(|f| (f.kind, f.url, body[f.span].to_string()))
            .collect()
    }

    #[test]
    fn hexo_asset_tags_name_files_of_the_posts_asset_folder() {
        let body = "{% asset_img banner pic.jpg 300 200 'A title' %}\n\
                    ![x]({% asset_path \"my chart.png\" %}) {% asset_link report.pdf Report %}\n\
                    {% asset_img %}\n";
        let got: Vec<_> = find(body, &[])
            .into_iter()
            .map(|f| (f.kind, f.url, f.syntax, body[f.span].to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Kind::Image,
                    "pic.jpg".into(),
                    Syntax::HexoAsset(Quote::None),
                    "pic.jpg".into()
                ),
                (
                    Kind::Image,
                    "my chart.png".into(),
                    Syntax::HexoAsset(Quote::Double),
                    "my chart.png".into()
                ),
                (
                    Kind::Link,
                    "report.pdf".into(),
                    Syntax::HexoAsset(Quote::None),
                    "report.pdf".into()
                ),
            ]
        );
        let page = render("![x]({% asset_path assets/a.png %})", &[]);
        assert_eq!(page, "![x](assets/a.png)");
    }

    #[test]
    fn any_shortcode_with_a_file_parameter_is_collected_by_the_files_kind() {
        let got = urls(
            "{{< video src=\"https://v.example/a.mp4\" >}}\n\
             {{< bilibili-video src=\"https://v.example/b\" >}}\n\
             {{< audio src='https://v.example/c.mp3' >}}\n\
             {{< theme/cover image=\"https://i.example/d\" >}}\n\
             {{< player poster=\"https://i.example/e.jpg\" src=\"https://v.example/e.webm\" >}}\n\
             {{< include src=\"snippets/f.md\" >}}\n\
             {{< youtube id=\"xyz\" >}} {{< gist user 123 >}}\n",
        );
        let kinds: Vec<(Kind, &str)> = got.iter().map(|(k, u, _)| (*k, u.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (Kind::Media, "https://v.example/a.mp4"),
                (Kind::Media, "https://v.example/b"),
                (Kind::Media, "https://v.example/c.mp3"),
                (Kind::Image, "https://i.example/d"),
                (Kind::Image, "https://i.example/e.jpg"),
                (Kind::Media, "https://v.example/e.webm"),
                (Kind::Link, "snippets/f.md"),
            ]
        );
        // A page shows a video shortcode as a player.
        let page = render("{{< video src=\"https://v.example/a.mp4\" >}}", &[]);
        assert_eq!(
            page,
            "<video controls src=\"https://v.example/a.mp4\"></video>"
        );
    }

    #[test]
    fn hugo_figures_and_images() {
        let got = urls(
            "{{< figure src=\"https://a.example/s.jpg\" link=\"https://a.example/big.jpg\" caption=\"c\" >}}\n\
             {{% figure src='https://a.example/t.png' link=https://a.example/page %}}\n\
             {{< img src=\"https://a.example/i.webp\" >}}",
        );
        assert_eq!(
            got,
            [
                (
                    Kind::Image,
                    "https://a.example/s.jpg".into(),
                    "https://a.example/s.jpg".into()
                ),
                (
                    Kind::Image,
                    "https://a.example/big.jpg".into(),
                    "https://a.example/big.jpg".into()
                ),
                (
                    Kind::Image,
                    "https://a.example/t.png".into(),
                    "https://a.example/t.png".into()
                ),
                (
                    Kind::Link,
                    "https://a.example/page".into(),
                    "https://a.example/page".into()
                ),
                (
                    Kind::Image,
                    "https://a.example/i.webp".into(),
                    "https://a.example/i.webp".into()
                ),
            ]
        );
    }

    #[test]
    fn hexo_tags_and_obsidian_embeds() {
        let got = urls(
            "{% img left https://a.example/h.png 200 100 'title' 'alt' %}\n![[images/o.png|300]] ![[p q.jpg]]",
        );
        let found: Vec<_> = got.iter().map(|g| g.1.as_str()).collect();
        assert_eq!(
            found,
            ["https://a.example/h.png", "images/o.png", "p q.jpg"]
        );
    }

    #[test]
    fn nothing_in_code_and_figures_render_as_figures() {
        let body = "`{{< figure src=\"a.jpg\" >}}`";
        assert!(find(body, &code_ranges(body)).is_empty());
        let html = render(
            "{{< figure src=\"assets/x.jpg\" caption=\"Egrets\" >}}\n{{< youtube abc >}}",
            &[],
        );
        assert_eq!(
            html,
            "<figure><img src=\"assets/x.jpg\" alt=\"\"><figcaption>Egrets</figcaption></figure>\n"
        );
        let multi_line = render(
            "{{< figure\n  src=\"assets/y.jpg\"\n  alt=\"Zion\"\n>}}\n{{< code-toggle >}}\na = 1\n{{< /code-toggle >}}",
            &[],
        );
        assert_eq!(
            multi_line,
            "<figure><img src=\"assets/y.jpg\" alt=\"Zion\"></figure>\n\na = 1\n"
        );
    }
}
