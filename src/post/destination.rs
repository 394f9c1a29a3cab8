//! Markdown link destinations as written: where they stand in the source and
//! what they decode to. pulldown-cmark gives the decoded URL and the range of
//! the whole link; this finds the exact destination text inside that range.

use std::ops::Range;

/// A destination found in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Destination {
    /// The text between the angle brackets, or the bare destination.
    pub span: Range<usize>,
    pub angle: bool,
}

/// Finds the destination of an inline link `[text](dest "title")`, given
/// the offset where the link text's content ends (after its last child
/// event) and the end of the whole link.
pub(super) fn inline(text: &str, content_end: usize, link_end: usize) -> Option<Destination> {
    // The closing bracket of the link text, then `(`.
    let i = closing_bracket(text.as_bytes(), content_end, link_end)?;
    if text.as_bytes().get(i + 1) != Some(&b'(') {
        return None;
    }
    at(text, i + 2, link_end)
}

/// Finds the destination of a reference definition `[label]: dest "title"`
/// whose whole span is `def`.
pub(super) fn definition(text: &str, def: Range<usize>) -> Option<Destination> {
    let bytes = text.as_bytes();
    let mut i = def.start;
    while i < def.end && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    if bytes.get(i) != Some(&b'[') {
        return None;
    }
    let i = closing_bracket(bytes, i + 1, def.end)?;
    if bytes.get(i + 1) != Some(&b':') {
        return None;
    }
    at(text, i + 2, def.end)
}

/// The first `]` at or after `from` that is not backslash-escaped.
fn closing_bracket(bytes: &[u8], from: usize, end: usize) -> Option<usize> {
    let mut i = from;
    while i < end {
        match bytes[i] {
            b'\\' => i += 2,
            b']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Parses a destination starting at `start` (blanks and one line ending
/// may come first), per CommonMark's link destination rules.
fn at(text: &str, start: usize, end: usize) -> Option<Destination> {
    let bytes = text.as_bytes();
    let mut i = start;
    let mut newline_seen = false;
    while i < end {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'\r' | b'\n' if !newline_seen => {
                newline_seen = true;
                i += 1;
                if bytes[i - 1] == b'\r' && bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    if bytes.get(i) == Some(&b'<') {
        let open = i + 1;
        let mut j = open;
        while j < end {
            match bytes[j] {
                b'\\' => j += 2,
                b'>' => {
                    return Some(Destination {
                        span: open..j,
                        angle: true,
                    });
                }
                b'\n' | b'\r' | b'<' => return None,
                _ => j += 1,
            }
        }
        return None;
    }
    let begin = i;
    let mut depth = 0usize;
    while i < end {
        let b = bytes[i];
        match b {
            b'\\' if bytes.get(i + 1).is_some_and(u8::is_ascii_punctuation) => i += 2,
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' if depth == 0 => break,
            b')' => {
                depth -= 1;
                i += 1;
            }
            _ if b <= b' ' || b == 0x7f => break,
            _ => i += 1,
        }
    }
    Some(Destination {
        span: begin..i.min(end),
        angle: false,
    })
}

/// Decodes a destination as CommonMark does: backslash escapes of ASCII
/// punctuation, then entity and numeric character references.
pub(super) fn decode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['\\', '&']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(escaped) = tail
            .strip_prefix('\\')
            .and_then(|t| t.chars().next())
            .filter(char::is_ascii_punctuation)
        {
            out.push(escaped);
            rest = &tail[1 + escaped.len_utf8()..];
        } else if let Some((decoded, len)) = entity(tail) {
            out.push_str(&decoded);
            rest = &tail[len..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// An entity or numeric character reference at the start of `s`, decoded,
/// with its length.
fn entity(s: &str) -> Option<(String, usize)> {
    let end = s.bytes().take(40).position(|b| b == b';')?;
    let candidate = &s[..=end];
    let body = &candidate[1..end];
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#') {
        return None;
    }
    let decoded = html_escape::decode_html_entities(candidate);
    (decoded != candidate).then(|| (decoded.into_owned(), candidate.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline_of(s: &str, content_end: usize) -> Option<(String, bool)> {
        inline(s, content_end, s.len()).map(|d| (s[d.span].to_string(), d.angle))
    }

    #[test]
    fn bare_angle_and_titled_destinations() {
        assert_eq!(inline_of("[a](u)", 2), Some(("u".into(), false)));
        assert_eq!(inline_of("[a](u \"t\")", 2), Some(("u".into(), false)));
        assert_eq!(inline_of("[a](<u v>)", 2), Some(("u v".into(), true)));
        assert_eq!(inline_of("[a]( \n u)", 2), Some(("u".into(), false)));
        assert_eq!(inline_of("![](u)", 2), Some(("u".into(), false)));
    }

    #[test]
    fn balanced_parentheses_and_escapes_stay_in_the_destination() {
        assert_eq!(inline_of("[a](u(1)v)", 2), Some(("u(1)v".into(), false)));
        assert_eq!(inline_of("[a](u\\)v)", 2), Some(("u\\)v".into(), false)));
        assert_eq!(inline_of("[a\\]b](u)", 1), Some(("u".into(), false)));
    }

    #[test]
    fn definitions() {
        let s = "[id]: https://x.example/a \"t\"";
        let d = definition(s, 0..s.len()).unwrap();
        assert_eq!(&s[d.span], "https://x.example/a");
        let s = "[i\\]d]:\n  <https://x.example/b c>";
        let d = definition(s, 0..s.len()).unwrap();
        assert_eq!(&s[d.span], "https://x.example/b c");
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("a\\_b"), "a_b");
        assert_eq!(decode("a&amp;b"), "a&b");
        assert_eq!(decode("a&#x4e2d;"), "a中");
        assert_eq!(decode("a\\&amp;"), "a&amp;");
        assert_eq!(decode("a&b=1"), "a&b=1");
        assert_eq!(decode("a\\b"), "a\\b");
    }
}
