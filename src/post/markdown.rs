//! The Markdown body: images, links, reference definitions, raw HTML and
//! URLs shown as text, found with pulldown-cmark's offset iterator.

use std::collections::HashSet;
use std::ops::Range;

use linkify::{LinkFinder, LinkKind};
use pulldown_cmark::{BrokenLinkCallback, CowStr, Event, LinkType, OffsetIter, Tag, TagEnd};

use super::destination;
use super::html::HtmlChunk;
use super::pieces;
use super::shortcodes;
use crate::lines::LineIndex;
use crate::reference::{Kind, Place, Reference, Syntax};

/// An open `[...]` or `![...]` whose destination is found at its end.
struct Frame<'a> {
    kind: Kind,
    link_type: LinkType,
    dest: CowStr<'a>,
    id: CowStr<'a>,
    /// Where the link text's content ends so far (after its last child).
    content_end: usize,
}

/// A reference definition `[id]: url`, emitted once however often used.
struct Definition {
    span: Range<usize>,
    dest: String,
    /// Its label as links match it.
    label: String,
}

struct Collector<'t> {
    text: &'t str,
    base: usize,
    lines: &'t LineIndex,
    out: &'t mut Vec<Reference>,
    /// Consecutive text events, merged so a bare URL split by the parser
    /// (at `_`, `&amp;`, ...) is seen whole; pieces map back to the source.
    shown: String,
    shown_pieces: Vec<(usize, Range<usize>)>,
    finder: LinkFinder,
}

/// Appends every body reference to `out`. `body` is the body's byte range
/// in `text`. A long body is read piece by piece ([`pieces`]).
pub(super) fn collect(text: &str, body: Range<usize>, lines: &LineIndex, out: &mut Vec<Reference>) {
    let base = body.start;
    let src = &text[body];
    let cut = pieces::pieces(src);
    let elsewhere = pieces::Definitions::of(src, &cut);

    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]);
    // GFM's `www.` autolinks have no scheme; linkify's schemeless matches
    // are kept only when they start with `www.`.
    finder.url_must_have_scheme(false);
    let mut c = Collector {
        text,
        base,
        lines,
        out,
        shown: String::new(),
        shown_pieces: Vec::new(),
        finder,
    };
    let first = c.out.len();
    // Every definition of the body, the first of a label only.
    let mut definitions: Vec<Definition> = Vec::new();
    let mut labels: HashSet<String> = HashSet::new();
    let mut images = ImageDefinitions::default();
    // Code and comments, where no shortcode counts.
    let mut skip: Vec<Range<usize>> = Vec::new();
    for piece in cut {
        let at = piece.start;
        let piece_src = &src[piece];
        c.base = base + at;
        let mut iter = elsewhere.parser(piece_src).into_offset_iter();
        for (label, def) in iter.reference_definitions().iter() {
            let label = pieces::label_key(label);
            if labels.insert(label.clone()) {
                definitions.push(Definition {
                    span: at + def.span.start..at + def.span.end,
                    dest: def.dest.to_string(),
                    label,
                });
            }
        }
        read_piece(&mut c, &mut iter, piece_src, at, &mut skip, &mut images);
    }
    c.base = base;
    definitions.sort_by_key(|d| d.span.start);

    // Site generators' shortcodes and embeds. What the parser saw inside
    // one (a URL shown as text, an `<img>` of `{{<img …>}}`) is the
    // shortcode's, found once, as the shortcode's.
    let found = shortcodes::find(src, &skip);
    if !found.is_empty() {
        let inside = |span: &Range<usize>| {
            found
                .iter()
                .any(|f| base + f.whole.start <= span.start && span.end <= base + f.whole.end)
        };
        let mut i = 0;
        c.out.retain(|r| {
            let keep = i < first || !inside(&r.span);
            i += 1;
            keep
        });
        for f in found {
            c.push(f.kind, f.syntax, f.span, f.url);
        }
    }

    for def in definitions {
        let used_as_image =
            images.at.contains(&def.span.start) || images.labels.contains(&def.label);
        let kind = if used_as_image {
            Kind::Image
        } else {
            Kind::Link
        };
        let found = destination::definition(src, def.span.clone());
        c.destination(kind, found, def.span.start, def.dest);
    }
}

/// The definitions images use: by where they start (used in their own
/// piece) or by label (used from another piece of a long body).
#[derive(Default)]
struct ImageDefinitions {
    at: HashSet<usize>,
    labels: HashSet<String>,
}

/// Reads one piece's events (`at`: where the piece starts in the body).
fn read_piece<'a, F: BrokenLinkCallback<'a>>(
    c: &mut Collector<'_>,
    iter: &mut OffsetIter<'a, F>,
    src: &'a str,
    at: usize,
    skip: &mut Vec<Range<usize>>,
    images: &mut ImageDefinitions,
) {
    let mut frames: Vec<Frame> = Vec::new();
    let mut code_depth = 0usize;
    let mut html_block: Option<HtmlChunk> = None;
    // Inside an autolink its text is the URL again: not a second occurrence.
    let mut autolink_depth = 0usize;

    while let Some((event, range)) = iter.next() {
        if !matches!(event, Event::Text(_)) {
            c.flush_shown();
        }
        let is_frame_end = matches!(event, Event::End(TagEnd::Link | TagEnd::Image));
        if !is_frame_end && let Some(top) = frames.last_mut() {
            top.content_end = top.content_end.max(range.end);
        }
        match &event {
            Event::Start(Tag::CodeBlock(_)) | Event::Code(_) => {
                skip.push(at + range.start..at + range.end)
            }
            Event::Html(h) | Event::InlineHtml(h) if h.contains("<!--") => {
                skip.push(at + range.start..at + range.end)
            }
            _ => {}
        }
        match event {
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                id,
                ..
            }) => frames.push(Frame {
                kind: Kind::Image,
                link_type,
                dest: dest_url,
                id,
                content_end: range.start + 2,
            }),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                id,
                ..
            }) => {
                if matches!(link_type, LinkType::Autolink | LinkType::Email) {
                    autolink_depth += 1;
                }
                if link_type == LinkType::Autolink {
                    c.push(
                        Kind::Link,
                        Syntax::ShownText,
                        range.start + 1..range.end.saturating_sub(1).max(range.start + 1),
                        dest_url.to_string(),
                    );
                }
                frames.push(Frame {
                    kind: Kind::Link,
                    link_type,
                    dest: dest_url,
                    id,
                    content_end: range.start + 1,
                });
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                let Some(frame) = frames.pop() else { continue };
                if let Some(parent) = frames.last_mut() {
                    parent.content_end = parent.content_end.max(range.end);
                }
                // A link inside an image's description is part of the
                // description (`![foo [bar](/url)](/url2)`): only the
                // image's destination counts.
                let in_description = frames.iter().any(|f| f.kind == Kind::Image);
                match frame.link_type {
                    _ if in_description => {}
                    LinkType::Inline => c.inline(&frame, range.end),
                    LinkType::Reference | LinkType::Collapsed | LinkType::Shortcut => {
                        if frame.kind == Kind::Image
                            && let Some(d) = iter.reference_definitions().get(&frame.id)
                        {
                            images.at.insert(at + d.span.start);
                        }
                    }
                    // Defined in another piece of a long body.
                    LinkType::ReferenceUnknown
                    | LinkType::CollapsedUnknown
                    | LinkType::ShortcutUnknown
                        if frame.kind == Kind::Image =>
                    {
                        images.labels.insert(pieces::label_key(&frame.id));
                    }
                    LinkType::Autolink | LinkType::Email => {
                        autolink_depth = autolink_depth.saturating_sub(1)
                    }
                    _ => {}
                }
            }
            Event::Start(Tag::CodeBlock(_)) => code_depth += 1,
            Event::End(TagEnd::CodeBlock) => code_depth = code_depth.saturating_sub(1),
            Event::Start(Tag::HtmlBlock) => html_block = Some(HtmlChunk::default()),
            Event::End(TagEnd::HtmlBlock) => {
                if let Some(chunk) = html_block.take() {
                    c.html(&chunk);
                }
            }
            Event::Html(html) => match &mut html_block {
                Some(chunk) => chunk.push(&html, range, src),
                None => c.html_piece(&html, range, src),
            },
            Event::InlineHtml(html) => c.html_piece(&html, range, src),
            // A link's text and an image's description are what the reader
            // reads, not where the link goes: a URL there is not collected
            // (`[http://a](http://b)` collects only `http://b`).
            Event::Text(t) if code_depth == 0 && autolink_depth == 0 && frames.is_empty() => {
                c.shown_pieces.push((c.shown.len(), range));
                c.shown.push_str(&t);
            }
            _ => {}
        }
    }
    c.flush_shown();
}

impl Collector<'_> {
    fn push(&mut self, kind: Kind, syntax: Syntax, local: Range<usize>, url: String) {
        let span = self.base + local.start..self.base + local.end;
        self.out.push(Reference {
            kind,
            place: Place::Body,
            syntax,
            line: self.lines.line(span.start),
            span,
            url,
        });
    }

    fn inline(&mut self, frame: &Frame, link_end: usize) {
        let src = &self.text[self.base..];
        let found = destination::inline(src, frame.content_end, link_end);
        self.destination(frame.kind, found, frame.content_end, frame.dest.to_string());
    }

    /// Records a destination, verified: its source text must decode to the
    /// URL pulldown-cmark parsed, or it is never rewritten.
    fn destination(
        &mut self,
        kind: Kind,
        found: Option<destination::Destination>,
        fallback: usize,
        url: String,
    ) {
        if url.is_empty() {
            return;
        }
        let src = &self.text[self.base..];
        match found {
            Some(d) if destination::decode(&src[d.span.clone()]) == url => {
                let syntax = if d.angle {
                    Syntax::MarkdownAngleDestination
                } else {
                    Syntax::MarkdownDestination
                };
                self.push(kind, syntax, d.span, url);
            }
            _ => self.push(kind, Syntax::Unverified, fallback..fallback, url),
        }
    }

    fn html_piece(&mut self, html: &str, range: Range<usize>, src: &str) {
        let mut chunk = HtmlChunk::default();
        chunk.push(html, range, src);
        self.html(&chunk);
    }

    fn html(&mut self, chunk: &HtmlChunk) {
        if chunk.is_empty() {
            return;
        }
        for found in chunk.urls() {
            match found.span {
                Some(span) => self.push(found.kind, found.syntax, span, found.url),
                None => {
                    let at = chunk.source_start();
                    self.push(found.kind, Syntax::Unverified, at..at, found.url);
                }
            }
        }
    }

    /// Finds bare `http(s)://` URLs and GFM `www.` autolinks in the merged
    /// text run.
    fn flush_shown(&mut self) {
        if self.shown.is_empty() {
            return;
        }
        let shown = std::mem::take(&mut self.shown);
        let pieces = std::mem::take(&mut self.shown_pieces);
        // Full-width punctuation ends a URL and may stand right before the
        // next one (`对 http://a/1.gif、http://b/2.gif`): linkify, which
        // keeps CJK characters in URLs (they are valid IRIs), scans a copy
        // where each is blanked, byte for byte, so offsets still match.
        let scan = blank_cjk_punctuation(&shown);
        for link in self.finder.links(&scan) {
            let url = &shown[link.start()..link.end()];
            let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
            let url_text = if lower.starts_with("http://") || lower.starts_with("https://") {
                url.to_string()
            } else if lower.starts_with("www.") {
                format!("http://{url}")
            } else {
                continue;
            };
            // The URL's place in the source, through the pieces it was
            // merged from: a piece whose text is its source maps byte for
            // byte; one that is not (`\_` read as `_`) maps to its ends.
            let start = to_source(&pieces, shown.len(), link.start(), false);
            let end = to_source(&pieces, shown.len(), link.end(), true);
            let span = match (start, end) {
                (Some(start), Some(end)) if start <= end => start..end,
                _ => {
                    let at = pieces.first().map_or(0, |p| p.1.start);
                    at..at
                }
            };
            self.push(Kind::Link, Syntax::ShownText, span, url_text);
        }
    }
}

/// The source offset of byte `at` of the merged text (`is_end`: an
/// exclusive end), from its pieces: (offset in the merged text, source
/// range) each, the merged text `len` bytes long.
fn to_source(
    pieces: &[(usize, Range<usize>)],
    len: usize,
    at: usize,
    is_end: bool,
) -> Option<usize> {
    // The piece holding byte `at` (for an end, the byte before it).
    let probe = if is_end { at.checked_sub(1)? } else { at };
    let i = pieces.partition_point(|p| p.0 <= probe).checked_sub(1)?;
    let (shown_start, source) = (pieces[i].0, &pieces[i].1);
    let shown_len = pieces.get(i + 1).map_or(len, |p| p.0) - shown_start;
    let delta = at - shown_start;
    Some(if shown_len == source.len() {
        source.start + delta
    } else if is_end {
        source.end
    } else {
        source.start
    })
}

/// `text` with each full-width (CJK) punctuation character replaced by as
/// many spaces as its UTF-8 bytes.
fn blank_cjk_punctuation(text: &str) -> std::borrow::Cow<'_, str> {
    let is_punctuation = |c: char| matches!(c, '\u{3000}'..='\u{303f}' | '\u{ff01}'..='\u{ff65}');
    if !text.chars().any(is_punctuation) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_punctuation(c) {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(src: &str) -> Vec<(Kind, String, String, Syntax)> {
        let lines = LineIndex::new(src);
        let mut out = Vec::new();
        collect(src, 0..src.len(), &lines, &mut out);
        out.sort_by_key(|r| r.span.start);
        out.into_iter()
            .map(|r| (r.kind, src[r.span.clone()].to_string(), r.url, r.syntax))
            .collect()
    }

    fn raws(src: &str) -> Vec<String> {
        refs(src).into_iter().map(|r| r.1).collect()
    }

    #[test]
    fn a_long_body_read_in_pieces_finds_what_each_part_finds_alone() {
        let part = "Intro [a](https://x.example/a) and https://x.example/bare\n\n\
                    ```\nhttps://x.example/code\n```\n\n\
                    - ![i](https://x.example/i.png)\n\
                    - <img src=\"https://x.example/h.png\">\n\
                    <!-- https://x.example/comment -->\n\n\
                    > [q](https://x.example/q)\n\n";
        let one = refs(part);
        assert_eq!(one.len(), 5, "{one:?}");
        let n = super::pieces::SPLIT_OVER / part.len() + 10;
        let long = part.repeat(n);
        let all = refs(&long);
        assert_eq!(all.len(), n * one.len());
        for (i, got) in all.iter().enumerate() {
            assert_eq!(got, &one[i % one.len()], "reference {i}");
        }
    }

    #[test]
    fn a_definition_used_as_an_image_from_another_piece_is_an_image() {
        let filler = "- [x](https://x.example/f)\n".repeat(super::pieces::SPLIT_OVER / 20);
        let src = format!("![far][logo]\n\n{filler}\n[logo]: https://x.example/logo.png\n");
        let got = refs(&src);
        let logo = got
            .iter()
            .find(|r| r.2 == "https://x.example/logo.png")
            .expect("found");
        assert_eq!(logo.0, Kind::Image);
        assert_eq!(logo.1, "https://x.example/logo.png");
        assert_eq!(got.iter().filter(|r| r.2.ends_with("logo.png")).count(), 1);
    }

    #[test]
    fn inline_images_and_links() {
        let got = refs("![a](https://x.example/i \"t\") and [b](<https://x.example/l m>)");
        assert_eq!(got[0].0, Kind::Image);
        assert_eq!(got[0].1, "https://x.example/i");
        assert_eq!(got[1].0, Kind::Link);
        assert_eq!(got[1].1, "https://x.example/l m");
        assert_eq!(got[1].3, Syntax::MarkdownAngleDestination);
    }

    #[test]
    fn escapes_and_entities_keep_the_raw_span() {
        let got = refs("![](https://x.example/a\\_b?x=1&amp;y=2)");
        assert_eq!(got[0].1, "https://x.example/a\\_b?x=1&amp;y=2");
        assert_eq!(got[0].2, "https://x.example/a_b?x=1&y=2");
        assert_eq!(got[0].3, Syntax::MarkdownDestination);
    }

    #[test]
    fn image_inside_link() {
        let got = refs("[![alt](https://x.example/i)](https://x.example/l)");
        assert_eq!(
            got.iter().map(|g| (g.0, g.1.as_str())).collect::<Vec<_>>(),
            [
                (Kind::Image, "https://x.example/i"),
                (Kind::Link, "https://x.example/l")
            ]
        );
    }

    #[test]
    fn reference_definitions_once_and_image_kind_from_use() {
        let got = refs(
            "![a][pic] ![b][pic] [c][src]\n\n[pic]: https://x.example/p\n[src]: <https://x.example/s>\n",
        );
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].0, got[0].1.as_str()),
            (Kind::Image, "https://x.example/p")
        );
        assert_eq!(
            (got[1].0, got[1].1.as_str()),
            (Kind::Link, "https://x.example/s")
        );
    }

    #[test]
    fn code_and_comments_are_never_scanned() {
        let src = "`![](https://x.example/1)`\n\n```\n![](https://x.example/2)\nhttps://x.example/3\n```\n\n<!-- ![](https://x.example/4) -->\n\n    ![](https://x.example/5)\n";
        assert!(refs(src).is_empty(), "{:?}", refs(src));
    }

    #[test]
    fn autolinks_and_bare_urls_are_shown_text() {
        let got = refs(
            "see <https://x.example/a> and https://x.example/b_c_d. 来源：https://x.example/中文。后",
        );
        let shown: Vec<_> = got.iter().map(|g| (g.1.as_str(), g.3.clone())).collect();
        assert_eq!(
            shown,
            [
                ("https://x.example/a", Syntax::ShownText),
                ("https://x.example/b_c_d", Syntax::ShownText),
                ("https://x.example/中文", Syntax::ShownText),
            ]
        );
    }

    #[test]
    fn raw_html_inline_and_block() {
        let src = "text <img src=\"https://x.example/i\"> more\n\n<div>\n<img\n  src='https://x.example/j'\n  srcset=\"https://x.example/k 2x\">\n</div>\n";
        assert_eq!(
            raws(src),
            [
                "https://x.example/i",
                "https://x.example/j",
                "https://x.example/k"
            ]
        );
    }

    #[test]
    fn html_block_inside_blockquote_maps_to_source() {
        let src = "> <div>\n> <img src=\"https://x.example/q\">\n> </div>\n";
        assert_eq!(raws(src), ["https://x.example/q"]);
    }

    #[test]
    fn links_in_lists_and_tables() {
        let src = "- ![](https://x.example/1)\n\n| a | b |\n|---|---|\n| ![](https://x.example/2) | [s](https://x.example/3) |\n";
        assert_eq!(
            raws(src),
            [
                "https://x.example/1",
                "https://x.example/2",
                "https://x.example/3"
            ]
        );
    }

    #[test]
    fn cjk_punctuation_is_blanked_byte_for_byte() {
        let text = "https://a/b。c，d";
        let blanked = blank_cjk_punctuation(text);
        assert_eq!(blanked, "https://a/b   c   d");
        assert_eq!(blanked.len(), text.len());
        assert_eq!(blank_cjk_punctuation("https://a/中文"), "https://a/中文");
    }
}
