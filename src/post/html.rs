//! Raw HTML in a post: URL attributes found with html5gum's tokenizer, with
//! the byte span of each value. Comments are tokens of their own, so nothing
//! inside them is ever collected.

use std::ops::Range;

use html5gum::emitters::callback::{CallbackEmitter, CallbackEvent};
use html5gum::{Span, Tokenizer};

use crate::reference::{Kind, Quote, Syntax};

/// A piece of HTML assembled from one or more pulldown-cmark events, with a
/// map back to the source (an HTML block inside a list or quote is not
/// contiguous in the file).
#[derive(Default)]
pub(super) struct HtmlChunk {
    buf: String,
    /// (offset in `buf`, offset in source, length), for pieces whose text
    /// equals the source.
    pieces: Vec<(usize, usize, usize)>,
}

/// Every URL attribute of an HTML text (`src`, `srcset` candidates, `href`,
/// `poster`, ...), with exact spans: for rewriting rendered HTML.
pub fn url_attributes(html: &str) -> Vec<HtmlUrl> {
    let mut chunk = HtmlChunk::default();
    chunk.push(html, 0..html.len(), html);
    chunk.urls()
}

/// One URL found in an attribute.
#[derive(Debug, Clone)]
pub struct HtmlUrl {
    pub kind: Kind,
    /// Source span of the URL text; `None` when it cannot be mapped exactly.
    pub span: Option<Range<usize>>,
    pub url: String,
    pub syntax: Syntax,
}

impl HtmlChunk {
    pub(super) fn push(&mut self, piece: &str, source_range: Range<usize>, source: &str) {
        if source.get(source_range.clone()) == Some(piece) {
            self.pieces
                .push((self.buf.len(), source_range.start, piece.len()));
        }
        self.buf.push_str(piece);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Where the chunk starts in the source (for a URL whose exact span is
    /// unknown, so its line is still right).
    pub(super) fn source_start(&self) -> usize {
        self.pieces.first().map_or(0, |p| p.1)
    }

    fn to_source(&self, range: Range<usize>) -> Option<Range<usize>> {
        let i = self.pieces.partition_point(|p| p.0 <= range.start);
        let (buf_start, src_start, len) = *self.pieces.get(i.checked_sub(1)?)?;
        (range.end <= buf_start + len)
            .then(|| src_start + range.start - buf_start..src_start + range.end - buf_start)
    }

    /// Every URL attribute of every start tag in the chunk.
    pub(super) fn urls(&self) -> Vec<HtmlUrl> {
        let mut found: Vec<(Kind, bool, Range<usize>, String)> = Vec::new();
        let mut tag = Vec::new();
        let mut attr = Vec::new();
        let mut seen: Vec<Vec<u8>> = Vec::new();
        // Inside <video> or <audio>, a <source> is media; inside <picture>,
        // an image.
        let mut in_media = false;
        let mut emitter = CallbackEmitter::new(|event: CallbackEvent<'_>, span: Span<usize>| {
            match event {
                CallbackEvent::OpenStartTag { name } => {
                    tag = name.to_ascii_lowercase();
                    seen.clear();
                    match tag.as_slice() {
                        b"video" | b"audio" => in_media = true,
                        b"picture" => in_media = false,
                        _ => {}
                    }
                }
                CallbackEvent::AttributeName { name } => {
                    attr = name.to_ascii_lowercase();
                    // The first of duplicate attributes wins, as in browsers.
                    if seen.contains(&attr) {
                        attr.clear();
                    } else {
                        seen.push(attr.clone());
                    }
                }
                CallbackEvent::AttributeValue { value } => {
                    if let Some((kind, srcset)) = url_attribute(&tag, &attr, in_media) {
                        found.push((
                            kind,
                            srcset,
                            span.start..span.end,
                            String::from_utf8_lossy(value).into_owned(),
                        ));
                    }
                }
                CallbackEvent::EndTag { name } => {
                    if matches!(name.to_ascii_lowercase().as_slice(), b"video" | b"audio") {
                        in_media = false;
                    }
                    tag.clear();
                }
                _ => {}
            }
            None::<std::convert::Infallible>
        });
        // After <script>, <style>, <textarea>, <title>... the tokenizer reads
        // text, as browsers do: an `<img>` in a JavaScript string is not an
        // image of the post.
        emitter.naively_switch_states(true);
        // Reading from a &str cannot fail.
        let _ = Tokenizer::new_with_emitter(self.buf.as_str(), emitter).finish();

        let mut out = Vec::new();
        for (kind, srcset, span, value) in found {
            let quote = match span.start.checked_sub(1).map(|i| self.buf.as_bytes()[i]) {
                Some(b'"') => Quote::Double,
                Some(b'\'') => Quote::Single,
                _ => Quote::None,
            };
            let raw = &self.buf[span.clone()];
            if srcset {
                for candidate in srcset_candidates(raw) {
                    let range = span.start + candidate.start..span.start + candidate.end;
                    out.push(HtmlUrl {
                        kind,
                        span: self.to_source(range),
                        url: html_escape::decode_html_entities(&raw[candidate]).into_owned(),
                        syntax: Syntax::Srcset(quote),
                    });
                }
            } else {
                // Browsers strip the blanks around a URL attribute; only
                // the URL's own bytes are its span, so a rewrite keeps them.
                let lead = raw.len() - raw.trim_start().len();
                let trail = raw.len() - raw.trim_end().len();
                let url_span = if lead + trail < raw.len() {
                    span.start + lead..span.end - trail
                } else {
                    span
                };
                out.push(HtmlUrl {
                    kind,
                    span: self.to_source(url_span),
                    url: value.trim().to_string(),
                    syntax: Syntax::HtmlAttribute(quote),
                });
            }
        }
        out
    }
}

/// Which attributes hold URLs: `(kind, is_srcset)`. `in_media`: inside a
/// `<video>` or `<audio>` element.
fn url_attribute(tag: &[u8], attr: &[u8], in_media: bool) -> Option<(Kind, bool)> {
    match (tag, attr) {
        (b"a", b"href") => Some((Kind::Link, false)),
        // data-src / data-original: lazy-loading markup, common in reposted
        // articles (WeChat, many CDN themes), where `src` is a placeholder.
        (b"img", b"src" | b"data-src" | b"data-original") | (b"video", b"poster") => {
            Some((Kind::Image, false))
        }
        (b"source", b"src") if !in_media => Some((Kind::Image, false)),
        (b"video" | b"audio" | b"source" | b"track", b"src") => Some((Kind::Media, false)),
        (b"img" | b"source", b"srcset" | b"data-srcset") => Some((Kind::Image, true)),
        _ => None,
    }
}

/// The URL of each candidate in a `srcset` value, as byte ranges of the
/// value, following the HTML standard's parsing (URLs may contain commas;
/// descriptors may contain parentheses).
pub(crate) fn srcset_candidates(value: &str) -> Vec<Range<usize>> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    while i < bytes.len() {
        while i < bytes.len() && (is_space(bytes[i]) || bytes[i] == b',') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && !is_space(bytes[i]) {
            i += 1;
        }
        let mut end = i;
        if bytes[end - 1] == b',' {
            // A URL ending with commas has no descriptors.
            while end > start && bytes[end - 1] == b',' {
                end -= 1;
            }
        } else {
            let mut depth = 0usize;
            while i < bytes.len() {
                match bytes[i] {
                    b'(' => depth += 1,
                    b')' => depth = depth.saturating_sub(1),
                    b',' if depth == 0 => break,
                    _ => {}
                }
                i += 1;
            }
        }
        if end > start {
            out.push(start..end);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(html: &str) -> Vec<(Kind, String, String, Syntax)> {
        let mut chunk = HtmlChunk::default();
        chunk.push(html, 0..html.len(), html);
        chunk
            .urls()
            .into_iter()
            .map(|u| {
                let raw = u.span.map(|s| html[s].to_string()).unwrap_or_default();
                (u.kind, raw, u.url, u.syntax)
            })
            .collect()
    }

    #[test]
    fn img_a_video_source_attributes() {
        let got = urls(
            "<img src=\"a.jpg\" alt=x><a href='b'>t</a><video poster=c.jpg src=\"d.mp4\"></video><source src=e>",
        );
        let raws: Vec<_> = got.iter().map(|g| g.1.as_str()).collect();
        assert_eq!(raws, ["a.jpg", "b", "c.jpg", "d.mp4", "e"]);
        assert_eq!(got[0].3, Syntax::HtmlAttribute(Quote::Double));
        assert_eq!(got[1].3, Syntax::HtmlAttribute(Quote::Single));
        assert_eq!(got[1].0, Kind::Link);
        assert_eq!(got[2].3, Syntax::HtmlAttribute(Quote::None));
        assert_eq!(got[2].0, Kind::Image, "a poster is an image");
        assert_eq!(got[3].0, Kind::Media, "a video's src is media");
        assert_eq!(got[4].0, Kind::Image, "a <source> outside media");
    }

    #[test]
    fn sources_and_tracks_inside_video_and_audio_are_media() {
        let got = urls(
            "<video><source src=a.webm><track src=a.vtt></video><picture><source srcset=b.webp><source src=c.jpg></picture><audio src=d.mp3></audio>",
        );
        let kinds: Vec<_> = got.iter().map(|g| (g.1.as_str(), g.0)).collect();
        assert_eq!(
            kinds,
            [
                ("a.webm", Kind::Media),
                ("a.vtt", Kind::Media),
                ("b.webp", Kind::Image),
                ("c.jpg", Kind::Image),
                ("d.mp3", Kind::Media)
            ]
        );
    }

    #[test]
    fn entities_are_decoded_but_spans_are_raw() {
        let got = urls("<img src=\"a?x=1&amp;y=2\">");
        assert_eq!(got[0].1, "a?x=1&amp;y=2");
        assert_eq!(got[0].2, "a?x=1&y=2");
    }

    #[test]
    fn srcset_candidates_with_commas_and_descriptors() {
        let got = urls("<img srcset=\"a.jpg 1x, b,c.jpg 2x,d.jpg, e.jpg (x, y) 3x\">");
        let raws: Vec<_> = got.iter().map(|g| g.1.as_str()).collect();
        assert_eq!(raws, ["a.jpg", "b,c.jpg", "d.jpg", "e.jpg"]);
    }

    #[test]
    fn nothing_inside_script_or_style_is_collected() {
        let got = urls(
            "<script>var s = '<img src=\"https://example.com/in-script.png\">';</script><style>.a{}</style><img src=after.png>",
        );
        let raws: Vec<_> = got.iter().map(|g| g.1.as_str()).collect();
        assert_eq!(raws, ["after.png"]);
    }

    #[test]
    fn comments_and_uppercase_and_duplicates() {
        let got = urls("<!-- <img src=hidden> --><IMG SRC=a SRC=b>");
        let raws: Vec<_> = got.iter().map(|g| g.1.as_str()).collect();
        assert_eq!(raws, ["a"]);
    }
}
