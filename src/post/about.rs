//! What a post says about itself: its title, language and source (the
//! article it reposts), from the front matter, else from the body.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::Post;
use super::dialect::options;
use super::pieces;

/// Marks a reference link of the closing paragraph that the last piece of
/// a long body could not resolve (its label follows).
const UNRESOLVED: &str = "\u{0}unresolved:";

/// Front matter keys that name the post's source, in order of preference.
pub const SOURCE_KEYS: &[&str] = &[
    "source",
    "source_url",
    "original_url",
    "canonical",
    "link",
    "url",
];

impl Post {
    /// The front matter's `title`, else the text of the first heading.
    pub fn title(&self) -> Option<String> {
        if let Some(title) = self.meta("title").filter(|t| !t.trim().is_empty()) {
            return Some(title.to_string());
        }
        let mut heading: Option<String> = None;
        let body = &self.text()[self.body()];
        let events = pieces::pieces(body)
            .into_iter()
            .flat_map(|piece| Parser::new_ext(&body[piece], options()));
        for event in events {
            match event {
                Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
                Event::End(TagEnd::Heading(_)) => {
                    let text = heading.take().unwrap_or_default();
                    if !text.trim().is_empty() {
                        return Some(text.trim().to_string());
                    }
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some(h) = &mut heading {
                        h.push_str(&t);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// `lang` (or `language`), a string or the first of a list.
    pub fn lang(&self) -> Option<&str> {
        ["lang", "lang[0]", "language", "language[0]"]
            .iter()
            .find_map(|k| self.meta(k))
            .filter(|l| !l.trim().is_empty())
    }

    /// The post's source: the first absolute http(s) (or `//`) URL under a
    /// [`SOURCE_KEYS`] key of the front matter, else the URL of a last
    /// paragraph that is a single link ("[原文](https://…)").
    pub fn source_url(&self) -> Option<String> {
        SOURCE_KEYS
            .iter()
            .filter_map(|k| self.meta(k))
            .find_map(absolute)
            .or_else(|| self.closing_link().as_deref().and_then(absolute))
    }

    /// The link of the last block when it is a paragraph holding one link
    /// and nothing else but blanks.
    fn closing_link(&self) -> Option<String> {
        /// What the current top-level paragraph holds so far.
        struct Paragraph {
            link: Option<String>,
            /// Anything but the one link and blanks.
            other: bool,
            in_link: bool,
        }
        let mut depth = 0usize;
        let mut paragraph: Option<Paragraph> = None;
        let mut last: Option<String> = None;
        // The last block is in the last piece of a long body. A reference
        // link there whose definition stands before it is resolved after.
        let body = &self.text()[self.body()];
        let cut = pieces::pieces(body);
        let tail = cut.last().cloned().unwrap_or_default();
        let unresolved = |link: pulldown_cmark::BrokenLink<'_>| {
            let mark = format!("{UNRESOLVED}{}", link.reference);
            Some((
                pulldown_cmark::CowStr::from(mark),
                pulldown_cmark::CowStr::from(""),
            ))
        };
        let parser =
            Parser::new_with_broken_link_callback(&body[tail], options(), Some(unresolved));
        for event in parser {
            match event {
                Event::Start(tag) => {
                    let top = depth == 0;
                    depth += 1;
                    match (&tag, &mut paragraph) {
                        (Tag::Paragraph, None) if top => {
                            paragraph = Some(Paragraph {
                                link: None,
                                other: false,
                                in_link: false,
                            })
                        }
                        (Tag::Link { dest_url, .. }, Some(p)) if !p.in_link => {
                            p.other |= p.link.is_some();
                            p.link = Some(dest_url.to_string());
                            p.in_link = true;
                        }
                        (_, Some(p)) if !p.in_link => p.other = true,
                        _ => {}
                    }
                    if top && !matches!(tag, Tag::Paragraph) {
                        last = None;
                    }
                }
                Event::End(tag) => {
                    depth = depth.saturating_sub(1);
                    match (tag, &mut paragraph) {
                        (TagEnd::Paragraph, Some(_)) if depth == 0 => {
                            last = paragraph.take().filter(|p| !p.other).and_then(|p| p.link);
                        }
                        (TagEnd::Link, Some(p)) => p.in_link = false,
                        _ => {}
                    }
                }
                Event::Text(t) => {
                    if let Some(p) = &mut paragraph
                        && !p.in_link
                        && !t.trim().is_empty()
                    {
                        p.other = true;
                    }
                }
                Event::SoftBreak | Event::HardBreak => {}
                _ => {
                    if let Some(p) = &mut paragraph
                        && !p.in_link
                    {
                        p.other = true;
                    }
                    if depth == 0 {
                        last = None;
                    }
                }
            }
        }
        let last = last?;
        if let Some(label) = last.strip_prefix(UNRESOLVED) {
            return pieces::Definitions::of(body, &cut).get(label);
        }
        Some(last)
    }
}

/// An absolute http(s) URL as written, or a protocol-relative one as
/// `https:`; nothing else (`javascript:`, a site path) is a source.
fn absolute(value: &str) -> Option<String> {
    let value = value.trim();
    let candidate = match value.strip_prefix("//") {
        Some(rest) => format!("https://{rest}"),
        None => value.to_string(),
    };
    let url = url::Url::parse(&candidate).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(text: &str) -> Post {
        Post::parse(text.as_bytes().to_vec()).expect("a post")
    }

    #[test]
    fn title_from_front_matter_else_the_first_heading() {
        assert_eq!(
            post("---\ntitle: T\n---\n# H\n").title().as_deref(),
            Some("T")
        );
        assert_eq!(
            post("intro\n\n## 深圳 `湾`\n\n# later\n")
                .title()
                .as_deref(),
            Some("深圳 湾")
        );
        assert_eq!(post("no heading\n").title(), None);
    }

    #[test]
    fn lang_may_be_a_list() {
        assert_eq!(post("---\nlang: [\"zh-CN\"]\n---\n").lang(), Some("zh-CN"));
        assert_eq!(post("---\nlanguage: en\n---\n").lang(), Some("en"));
    }

    #[test]
    fn source_from_front_matter_when_absolute() {
        let p = post(
            "---\nurl: /posts/x/\nsource: javascript:alert(1)\nlink: //news.example/a\n---\n[x](https://other.example/)\n",
        );
        assert_eq!(p.source_url().as_deref(), Some("https://news.example/a"));
    }

    #[test]
    fn source_from_a_closing_single_link_paragraph() {
        let p = post(
            "Body [a link](https://a.example/) here.\n\n[原文](https://new.qq.com/rain/a/1)\n",
        );
        assert_eq!(
            p.source_url().as_deref(),
            Some("https://new.qq.com/rain/a/1")
        );
        let p = post("[only](https://a.example/)\n\nThe end, with [a link](https://b.example/).\n");
        assert_eq!(
            p.source_url(),
            None,
            "the last paragraph is more than a link"
        );
        let p = post("[source](https://a.example/)\n\n- a list after it\n");
        assert_eq!(p.source_url(), None, "the last block is not the link");
        let p = post("[one](https://a.example/) [two](https://b.example/)\n");
        assert_eq!(p.source_url(), None, "two links");
    }

    #[test]
    fn a_long_posts_title_and_closing_link_are_found_in_its_pieces() {
        let filler = "- [x](https://a.example/f)\n".repeat(super::pieces::SPLIT_OVER / 20);
        let p = post(&format!(
            "{filler}\n# Late title\n\n[原文](https://new.qq.com/rain/a/1)\n"
        ));
        assert_eq!(p.title().as_deref(), Some("Late title"));
        assert_eq!(
            p.source_url().as_deref(),
            Some("https://new.qq.com/rain/a/1")
        );
        let p = post(&format!(
            "[src]: https://new.qq.com/rain/a/2\n\n{filler}\n[原文][src]\n"
        ));
        assert_eq!(
            p.source_url().as_deref(),
            Some("https://new.qq.com/rain/a/2")
        );
        let p = post(&format!("{filler}\n[原文][nowhere]\n"));
        assert_eq!(p.source_url(), None, "an undefined reference is text");
    }
}
