//! A long body read piece by piece, so that memory does not grow with it.
//!
//! pulldown-cmark builds the tree of a whole document before the first
//! event: for a post of a million lines that is over half a gigabyte,
//! and rotproof parses a body up to four times (title, source, references,
//! the bundle's page). A body over [`SPLIT_OVER`] bytes is therefore cut
//! into pieces of about [`PIECE`] bytes, each parsed alone, where cutting
//! changes nothing that rotproof reads: before a line that starts at the
//! margin and must start a new block (after a blank line, or a list item
//! or ATX heading, which end a paragraph), never inside a fenced code
//! block or an HTML block. A list cut in two is two lists (its looseness
//! may change in a bundle's page; no reference does). A reference link
//! whose definition stands in another piece is resolved with the body's
//! definitions ([`Definitions`]). Shorter bodies (every usual post) are
//! one piece, parsed exactly as before.

use std::collections::HashMap;
use std::ops::Range;

use pulldown_cmark::{BrokenLink, CowStr, Parser};

use super::dialect::options;

/// Bodies up to this size are parsed whole.
pub(crate) const SPLIT_OVER: usize = 1 << 20;

/// The size a piece grows to before it may be cut.
const PIECE: usize = 256 << 10;

/// The byte ranges of `body` to parse one after the other: the whole
/// body when it is short.
pub(crate) fn pieces(body: &str) -> Vec<Range<usize>> {
    if body.len() <= SPLIT_OVER {
        return std::iter::once(0..body.len()).collect();
    }
    let mut cuts = vec![0];
    let mut scan = Scan::default();
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let may_cut = scan.may_cut_before(line);
        scan.read(line);
        if may_cut && start - cuts.last().copied().unwrap_or(0) >= PIECE {
            cuts.push(start);
        }
    }
    cuts.push(body.len());
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// What the lines so far leave open.
#[derive(Default)]
struct Scan {
    /// An open fenced code block: its character and length.
    fence: Option<(u8, usize)>,
    /// An open HTML block of the kinds that end at a marker (`-->`,
    /// `</script>`, …), whatever blank lines come first.
    html_until: Option<&'static [&'static str]>,
    /// An open HTML block of the kinds that end at a blank line.
    html_until_blank: bool,
    previous_blank: bool,
}

impl Scan {
    fn may_cut_before(&self, line: &str) -> bool {
        if self.fence.is_some() || self.html_until.is_some() {
            return false;
        }
        let at_margin = line
            .as_bytes()
            .first()
            .is_some_and(|b| !b.is_ascii_whitespace());
        if !at_margin {
            return false;
        }
        if self.previous_blank {
            return true;
        }
        // A list item with content, or an ATX heading, ends a paragraph
        // (and an HTML block of the kind that ends at a blank line does
        // not end here: the line belongs to it).
        !self.html_until_blank && (starts_list_item(line) || starts_heading(line))
    }

    fn read(&mut self, line: &str) {
        let blank = line.trim().is_empty();
        let (indent, rest) = indented(line);
        if let Some((ch, len)) = self.fence {
            if indent <= 3
                && fence(rest)
                    .is_some_and(|(c, n, info)| c == ch && n >= len && info.trim().is_empty())
            {
                self.fence = None;
            }
        } else if let Some(ends) = self.html_until {
            if ends.iter().any(|end| contains_ignore_case(line, end)) {
                self.html_until = None;
            }
        } else if blank {
            self.html_until_blank = false;
        } else if indent <= 3 {
            if let Some((ch, len, _)) = fence(rest) {
                self.fence = Some((ch, len));
            } else if rest.starts_with('<') {
                match html_block_end(rest) {
                    Some(ends) if !ends.iter().any(|end| contains_ignore_case(&rest[1..], end)) => {
                        self.html_until = Some(ends)
                    }
                    Some(_) => {}
                    None => self.html_until_blank = true,
                }
            }
        }
        self.previous_blank = blank;
    }
}

/// Leading spaces (a tab counts as four) and the rest of the line.
fn indented(line: &str) -> (usize, &str) {
    let mut width = 0;
    for (i, b) in line.bytes().enumerate() {
        match b {
            b' ' => width += 1,
            b'\t' => width += 4,
            _ => return (width, &line[i..]),
        }
    }
    (width, "")
}

/// A code fence: its character, its length and its info string.
fn fence(rest: &str) -> Option<(u8, usize, &str)> {
    let ch = *rest.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == ch).count();
    let info = &rest[len..];
    (len >= 3 && !(ch == b'`' && info.contains('`'))).then_some((ch, len, info))
}

/// The end markers of an HTML block that blank lines do not end.
fn html_block_end(rest: &str) -> Option<&'static [&'static str]> {
    let lower = rest.get(..12.min(rest.len()))?.to_ascii_lowercase();
    const RAW: &[&str] = &["</script>", "</pre>", "</style>", "</textarea>"];
    if ["<script", "<pre", "<style", "<textarea"]
        .iter()
        .any(|tag| lower.starts_with(tag))
    {
        Some(RAW)
    } else if lower.starts_with("<!--") {
        Some(&["-->"])
    } else if lower.starts_with("<?") {
        Some(&["?>"])
    } else if lower.starts_with("<![cdata[") {
        Some(&["]]>"])
    } else if lower.starts_with("<!") {
        Some(&[">"])
    } else {
        None
    }
}

fn contains_ignore_case(line: &str, needle: &str) -> bool {
    line.to_ascii_lowercase().contains(needle)
}

fn starts_list_item(line: &str) -> bool {
    let b = line.as_bytes();
    // (`- - -` and `* * *` are thematic breaks: a new block all the same.)
    matches!(b.first(), Some(b'-' | b'*' | b'+'))
        && b.get(1) == Some(&b' ')
        && !line[2..].trim().is_empty()
}

fn starts_heading(line: &str) -> bool {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    (1..=6).contains(&hashes) && matches!(line.as_bytes().get(hashes), Some(b' ' | b'\t' | b'\n'))
}

/// The reference definitions of a body cut into pieces, the first of a
/// label winning as in one parse: what resolves a reference link whose
/// definition stands in another piece.
#[derive(Debug, Default)]
pub(crate) struct Definitions {
    by_label: HashMap<String, (String, String)>,
}

impl Definitions {
    /// The definitions of every piece; none when the body is one piece.
    pub(crate) fn of(body: &str, pieces: &[Range<usize>]) -> Definitions {
        let mut by_label = HashMap::new();
        if pieces.len() > 1 {
            for piece in pieces {
                let parser = Parser::new_ext(&body[piece.clone()], options());
                for (label, def) in parser.reference_definitions().iter() {
                    by_label.entry(label_key(label)).or_insert_with(|| {
                        (
                            def.dest.to_string(),
                            def.title.as_deref().unwrap_or("").to_string(),
                        )
                    });
                }
            }
        }
        Definitions { by_label }
    }

    /// The destination defined for `label`.
    pub(crate) fn get(&self, label: &str) -> Option<String> {
        self.by_label
            .get(&label_key(label))
            .map(|(dest, _)| dest.clone())
    }

    /// A parser of one piece that resolves links defined in other pieces.
    pub(crate) fn parser<'a>(
        &'a self,
        piece: &'a str,
    ) -> Parser<'a, impl FnMut(BrokenLink<'a>) -> Option<(CowStr<'a>, CowStr<'a>)> + 'a> {
        let resolve = move |link: BrokenLink<'a>| {
            let (dest, title) = self.by_label.get(&label_key(&link.reference))?;
            Some((CowStr::from(dest.as_str()), CowStr::from(title.as_str())))
        };
        Parser::new_with_broken_link_callback(piece, options(), Some(resolve))
    }
}

/// A link label as CommonMark matches it: blanks collapsed, case folded.
pub(crate) fn label_key(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(line: &str, n: usize) -> String {
        line.repeat(n)
    }

    #[test]
    fn a_short_body_is_one_piece() {
        assert_eq!(pieces("# a\n\ntext\n"), vec![0..10]);
    }

    #[test]
    fn a_long_list_is_cut_between_items_into_bounded_pieces() {
        let body = long("- [x](https://example.com/a)\n", 100_000);
        let cut = pieces(&body);
        assert!(cut.len() > 4, "{}", cut.len());
        assert_eq!(cut.first().map(|r| r.start), Some(0));
        assert_eq!(cut.last().map(|r| r.end), Some(body.len()));
        for w in cut.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert!(body[w[1].clone()].starts_with("- "));
        }
        assert!(cut.iter().all(|r| r.len() < 2 * PIECE));
    }

    #[test]
    fn fences_html_blocks_and_paragraphs_are_never_cut() {
        // One fence as long as the whole body: one piece.
        let fenced = format!(
            "```\n{}```\n",
            long("- [x](https://a.example/)\n\n", 60_000)
        );
        assert_eq!(pieces(&fenced).len(), 1);
        let comment = format!(
            "<!--\n{}-->\n",
            long("- [x](https://a.example/)\n\n", 60_000)
        );
        assert_eq!(pieces(&comment).len(), 1);
        // Lines that continue a paragraph never start a piece.
        let prose = long("a [link\nthat](https://a.example/) goes on\n", 60_000);
        assert_eq!(pieces(&prose).len(), 1);
        // Nor a line of an HTML block that ends at a blank line.
        let div = format!("<div>\n{}\n", long("- [x](https://a.example/)\n", 60_000));
        assert_eq!(pieces(&div).len(), 1);
    }

    #[test]
    fn a_definition_in_another_piece_resolves() {
        let body = format!(
            "[far][id]\n\n{}\n[id]: https://defined.example/\n",
            long("- [x](https://a.example/)\n", 60_000)
        );
        let cut = pieces(&body);
        assert!(cut.len() > 1);
        let defs = Definitions::of(&body, &cut);
        let first = &body[cut[0].clone()];
        let found = defs.parser(first).any(|e| {
            matches!(e, pulldown_cmark::Event::Start(pulldown_cmark::Tag::Link { dest_url, .. })
                if dest_url.as_ref() == "https://defined.example/")
        });
        assert!(found);
    }
}
