//! Rewriting a post: splice replacement text into the spans of archived
//! references, escaped for where each stands, and leave every other byte as
//! it was.

use std::collections::HashMap;
use std::fmt::Write;
use std::ops::Range;

use crate::post::Post;
use crate::reference::{Quote, Syntax};
use crate::resource::Resource;

/// Replace `span` of the original text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Range<usize>,
    pub text: String,
}

/// Rewrites every rewritable occurrence of the resources named in
/// `replacements` (resource key → new URL, e.g. `assets/<sha256>.jpg`).
pub fn rewrite(
    post: &Post,
    resources: &[Resource],
    replacements: &HashMap<String, String>,
) -> String {
    rewrite_with(post, resources, |_, resource| {
        replacements.get(resource.key()).map(String::as_str)
    })
}

/// [`rewrite`] with the replacements beside the resources:
/// `replacements[i]` is `resources[i]`'s, if any.
pub fn rewrite_each(
    post: &Post,
    resources: &[Resource],
    replacements: &[Option<String>],
) -> String {
    rewrite_with(post, resources, |i, _| {
        replacements.get(i).and_then(|v| v.as_deref())
    })
}

/// Each edit is encoded as the text is spliced, so a post of 20,000
/// resources never holds 20,000 edits at once.
fn rewrite_with<'a>(
    post: &Post,
    resources: &[Resource],
    value: impl Fn(usize, &Resource) -> Option<&'a str>,
) -> String {
    let mut places: Vec<(&crate::resource::Mention, &str)> = resources
        .iter()
        .enumerate()
        .filter_map(|(i, resource)| Some((resource, value(i, resource)?)))
        .flat_map(|(resource, value)| resource.occurrences.iter().map(move |r| (r, value)))
        .collect();
    places.sort_by_key(|(r, _)| (r.span.start, r.span.end));
    let edits = places
        .into_iter()
        .filter_map(|(r, value)| encode(&r.syntax, r.span.clone(), value));
    splice_sorted(post.text(), edits)
}

/// Applies edits to a text. Edits are sorted here; an edit overlapping an
/// earlier one is dropped (the parser never produces such pairs).
pub fn splice(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    splice_sorted(text, edits)
}

/// [`splice`] for edits already in order.
fn splice_sorted(text: &str, edits: impl IntoIterator<Item = Edit>) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut at = 0;
    for edit in edits {
        if edit.span.start < at || edit.span.end > text.len() {
            continue;
        }
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.text);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The edit that writes `value` where a URL of the given syntax stands, so
/// that the document stays valid and the new text decodes to `value`.
/// `None` for references that are never rewritten.
pub fn encode(syntax: &Syntax, span: Range<usize>, value: &str) -> Option<Edit> {
    let text = match syntax {
        Syntax::YamlPlain if yaml_plain_safe(value) => value.to_string(),
        Syntax::YamlPlain => format!("\"{}\"", backslash_escape(value)),
        Syntax::YamlDoubleQuoted => backslash_escape(value),
        Syntax::YamlSingleQuoted => value.replace('\'', "''"),
        Syntax::YamlBlock => value.replace(['\n', '\r'], " "),
        Syntax::TomlBasic => backslash_escape(value),
        Syntax::TomlLiteral { quoted } => {
            if value.contains('\'') || value.chars().any(char::is_control) {
                return Some(Edit {
                    span: quoted.clone(),
                    text: format!("\"{}\"", backslash_escape(value)),
                });
            }
            value.to_string()
        }
        Syntax::MarkdownDestination if needs_angle_brackets(value) => {
            format!("<{}>", markdown_angle(value))
        }
        Syntax::MarkdownDestination => markdown_escape(value, false),
        Syntax::MarkdownAngleDestination => markdown_angle(value),
        Syntax::HtmlAttribute(Quote::None) if html_unquoted_safe(value) => value.to_string(),
        Syntax::HtmlAttribute(Quote::None) => format!("\"{}\"", html_escape(value, Quote::Double)),
        Syntax::HtmlAttribute(quote) => html_escape(value, *quote),
        Syntax::Srcset(quote) => html_escape(&srcset_safe(value, *quote), *quote),
        // A shortcode parameter: its quote cannot stand inside it, and an
        // unquoted one ends at a blank.
        Syntax::Shortcode(Quote::Double) | Syntax::HexoAsset(Quote::Double) => {
            value.replace('"', "%22")
        }
        Syntax::Shortcode(Quote::Single) | Syntax::HexoAsset(Quote::Single) => {
            value.replace('\'', "%27")
        }
        Syntax::Shortcode(Quote::None) | Syntax::HexoAsset(Quote::None)
            if value.contains(char::is_whitespace) =>
        {
            format!("\"{}\"", value.replace('"', "%22"))
        }
        Syntax::Shortcode(Quote::None) | Syntax::HexoAsset(Quote::None) => value.to_string(),
        // `]`, `|` and `#` end an embed's file name.
        Syntax::WikiEmbed => value
            .replace(']', "%5D")
            .replace('|', "%7C")
            .replace('#', "%23"),
        Syntax::ShownText | Syntax::Unverified => return None,
    };
    Some(Edit { span, text })
}

/// Whether a string can stand as a plain YAML scalar in block or flow
/// context and read back as itself.
fn yaml_plain_safe(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    !"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && !value
            .chars()
            .any(|c| c.is_control() || matches!(c, ',' | '[' | ']' | '{' | '}'))
        && value.trim() == value
}

/// Backslash escapes for a double-quoted YAML scalar or a TOML basic
/// string: both read `\"`, `\\`, `\n`, `\t` and `\uXXXX` alike.
fn backslash_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A bare Markdown destination cannot hold blanks, controls, `<`, `>` or
/// unbalanced parentheses.
fn needs_angle_brackets(value: &str) -> bool {
    let mut depth = 0i64;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            '<' | '>' => return true,
            c if c.is_whitespace() || c.is_control() => return true,
            _ => {}
        }
    }
    value.is_empty() || depth != 0
}

/// Escapes what CommonMark would otherwise decode: a backslash before ASCII
/// punctuation and `&` that starts an entity; in angle brackets also `<`
/// and `>`.
fn markdown_escape(value: &str, angle: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.char_indices() {
        let next = value[i + c.len_utf8()..].chars().next();
        match c {
            '\\' if next.is_some_and(|n| n.is_ascii_punctuation()) => out.push_str("\\\\"),
            // A trailing backslash would escape the closing `)` or `>`.
            '\\' if next.is_none() => out.push_str("\\\\"),
            '&' if starts_entity(&value[i..]) => out.push_str("\\&"),
            '<' | '>' if angle => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn markdown_angle(value: &str) -> String {
    markdown_escape(&value.replace('\n', "%0A").replace('\r', "%0D"), true)
}

fn starts_entity(s: &str) -> bool {
    let Some(end) = s.bytes().take(40).position(|b| b == b';') else {
        return false;
    };
    let body = &s[1..end];
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#')
}

fn html_unquoted_safe(value: &str) -> bool {
    !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '=' | '<' | '>' | '`' | '&'))
}

fn html_escape(value: &str, quote: Quote) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match (c, quote) {
            ('&', _) => out.push_str("&amp;"),
            ('"', Quote::Double) => out.push_str("&quot;"),
            ('\'', Quote::Single) => out.push_str("&#39;"),
            (c, _) => out.push(c),
        }
    }
    out
}

/// A srcset candidate URL cannot contain blanks, nor start or end with a
/// comma; unquoted, it cannot contain quotes, `<`, `>`, `` ` `` or `=`
/// either: percent-encode them. (Inside quotes, `=` must stay: base64 in
/// data: URIs ends with it.)
fn srcset_safe(value: &str, quote: Quote) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge_comma = c == ',' && (i == 0 || i == last);
        let unquoted_special =
            quote == Quote::None && matches!(c, '"' | '\'' | '<' | '>' | '`' | '=');
        if c.is_whitespace() || c.is_control() || unquoted_special || edge_comma {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(syntax: Syntax, value: &str) -> String {
        encode(&syntax, 0..0, value).unwrap().text
    }

    #[test]
    fn yaml_plain_quotes_only_when_needed() {
        assert_eq!(enc(Syntax::YamlPlain, "assets/ab.jpg"), "assets/ab.jpg");
        assert_eq!(enc(Syntax::YamlPlain, "a: b"), "\"a: b\"");
        assert_eq!(enc(Syntax::YamlPlain, "#x"), "\"#x\"");
    }

    #[test]
    fn quoted_styles() {
        assert_eq!(enc(Syntax::YamlDoubleQuoted, "a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(enc(Syntax::YamlSingleQuoted, "it's"), "it''s");
        assert_eq!(enc(Syntax::TomlBasic, "a\"b"), "a\\\"b");
        let e = encode(&Syntax::TomlLiteral { quoted: 4..10 }, 5..9, "it's").unwrap();
        assert_eq!(
            e,
            Edit {
                span: 4..10,
                text: "\"it's\"".into()
            }
        );
    }

    #[test]
    fn markdown_destinations() {
        assert_eq!(
            enc(Syntax::MarkdownDestination, "assets/a.jpg"),
            "assets/a.jpg"
        );
        assert_eq!(enc(Syntax::MarkdownDestination, "a b.jpg"), "<a b.jpg>");
        assert_eq!(enc(Syntax::MarkdownDestination, "a(b.jpg"), "<a(b.jpg>");
        assert_eq!(enc(Syntax::MarkdownDestination, "a(1)b"), "a(1)b");
        assert_eq!(enc(Syntax::MarkdownDestination, "a&amp;b"), "a\\&amp;b");
        assert_eq!(enc(Syntax::MarkdownDestination, "a?x=1&y=2"), "a?x=1&y=2");
        assert_eq!(enc(Syntax::MarkdownAngleDestination, "a<b>"), "a\\<b\\>");
        assert_eq!(enc(Syntax::MarkdownDestination, "a\\"), "a\\\\");
        assert_eq!(enc(Syntax::MarkdownDestination, "a\\b"), "a\\b");
    }

    #[test]
    fn html_attributes() {
        assert_eq!(
            enc(Syntax::HtmlAttribute(Quote::Double), "a\"&b"),
            "a&quot;&amp;b"
        );
        assert_eq!(enc(Syntax::HtmlAttribute(Quote::Single), "a'b"), "a&#39;b");
        assert_eq!(enc(Syntax::HtmlAttribute(Quote::None), "a.jpg"), "a.jpg");
        assert_eq!(
            enc(Syntax::HtmlAttribute(Quote::None), "a b.jpg"),
            "\"a b.jpg\""
        );
        assert_eq!(
            enc(Syntax::Srcset(Quote::Double), "a b,.jpg,"),
            "a%20b,.jpg%2C"
        );
        // Base64 padding in a data: URI stays inside quotes.
        assert_eq!(
            enc(Syntax::Srcset(Quote::Double), "data:x;base64,QQ=="),
            "data:x;base64,QQ=="
        );
        assert_eq!(enc(Syntax::Srcset(Quote::None), "a=b"), "a%3Db");
    }

    #[test]
    fn shown_text_is_never_edited() {
        assert!(encode(&Syntax::ShownText, 0..1, "x").is_none());
        assert!(encode(&Syntax::Unverified, 0..1, "x").is_none());
    }

    #[test]
    fn splice_keeps_everything_else() {
        let text = "a[X]b[Y]c";
        let edits = vec![
            Edit {
                span: 6..7,
                text: "yy".into(),
            },
            Edit {
                span: 2..3,
                text: "".into(),
            },
        ];
        assert_eq!(splice(text, edits), "a[]b[yy]c");
    }
}
