//! YAML front matter: walks the document with serde-saphyr's `Spanned<T>`
//! to find every string scalar and the byte span of its text.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::scalar::{BlockError, Scalar};
use crate::lines::LineIndex;
use crate::reference::Syntax;

/// A YAML node; only strings and the structure around them matter.
enum Node {
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Key, Spanned<Node>)>),
    /// Numbers, booleans, nulls: kept as text for metadata.
    Other(Option<String>),
}

/// A mapping key, as text (`1`, `true` and `~` keys are written as such).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Key(match Node::deserialize(d)? {
            Node::Str(s) | Node::Other(Some(s)) => s,
            _ => "?".to_string(),
        }))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
                Ok(Node::Other(None))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Other(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Other(Some(v.to_string())))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
                Ok(Node::Other(Some(v.to_string())))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
                Ok(Node::Other(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Other(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Other(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Other(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Other(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(NodeVisitor)
    }
}

/// Every scalar of a YAML block. `base` is the block's offset in the file.
pub(super) fn scalars(block: &str, base: usize) -> Result<Vec<Scalar>, BlockError> {
    if block.trim().is_empty() {
        return Ok(Vec::new());
    }
    // Jekyll accepts repeated keys (the last one wins); both values are
    // text in the post, so both are walked. The default budget stays on: it refuses alias
    // bombs and runaway nesting with a clear error.
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(block, options)
        .map_err(|err| block_error(block, &err))?;
    let mut walker = Walker {
        block,
        base,
        out: Vec::new(),
        seen: std::collections::HashSet::new(),
    };
    walker.walk(&root, &mut String::new(), &mut Vec::new());
    Ok(walker.out)
}

struct Walker<'a> {
    block: &'a str,
    base: usize,
    out: Vec<Scalar>,
    /// Spans already emitted: an alias (`*a`) points back at its anchor's
    /// text, which must be rewritten once.
    seen: std::collections::HashSet<usize>,
}

impl Walker<'_> {
    fn walk(&mut self, node: &Spanned<Node>, path: &mut String, keys: &mut Vec<String>) {
        match &node.value {
            Node::Str(value) => self.scalar(node, value, path, keys),
            Node::Other(Some(value)) => {
                if let Some(span) = byte_span(node) {
                    self.push(path, keys, value.clone(), span, None);
                }
            }
            Node::Other(None) => {}
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    self.walk(item, path, keys);
                    path.truncate(len);
                }
            }
            Node::Map(entries) => {
                for (key, value) in entries {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&key.0);
                    keys.push(key.0.clone());
                    self.walk(value, path, keys);
                    keys.pop();
                    path.truncate(len);
                }
            }
        }
    }

    fn scalar(&mut self, node: &Spanned<Node>, value: &str, path: &str, keys: &[String]) {
        let Some(span) = byte_span(node) else {
            return;
        };
        let Some(text) = self.block.get(span.clone()) else {
            return;
        };
        let (span, syntax) = if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
            (span.start + 1..span.end - 1, Syntax::YamlDoubleQuoted)
        } else if text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'') {
            (span.start + 1..span.end - 1, Syntax::YamlSingleQuoted)
        } else if is_block_scalar(self.block, span.start) {
            let line = value.trim_end_matches(['\n', '\r']);
            if !line.contains('\n') && text.starts_with(line) {
                (span.start..span.start + line.len(), Syntax::YamlBlock)
            } else {
                (span, Syntax::Unverified)
            }
        } else if text == value {
            (span, Syntax::YamlPlain)
        } else {
            // A plain scalar folded over several lines: its text is not its
            // value, so it is never rewritten.
            (span, Syntax::Unverified)
        };
        self.push(path, keys, value.to_string(), span, Some(syntax));
    }

    fn push(
        &mut self,
        path: &str,
        keys: &[String],
        value: String,
        span: Range<usize>,
        syntax: Option<Syntax>,
    ) {
        if !self.seen.insert(span.start) {
            return;
        }
        self.out.push(Scalar {
            key_path: path.to_string(),
            keys: keys.iter().rev().take(2).cloned().collect(),
            value,
            span: self.base + span.start..self.base + span.end,
            syntax,
        });
    }
}

/// The byte span of where a node's value is defined (for an alias, its
/// anchor).
fn byte_span(node: &Spanned<Node>) -> Option<Range<usize>> {
    let span = node.defined.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    Some(start..start + len)
}

/// Whether the scalar starting at `start` is the content of a `|` or `>`
/// block scalar: the previous non-blank line ends with the block indicator
/// (and optional chomping/indent indicators and a comment).
fn is_block_scalar(block: &str, start: usize) -> bool {
    let before = block[..start].trim_end_matches([' ', '\t', '\n', '\r']);
    if before.len() == block[..start].trim_end_matches([' ', '\t']).len() {
        // Same line as the key: not a block scalar's content.
        return false;
    }
    let line = before.rsplit('\n').next().unwrap_or(before);
    let line = match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    };
    let header = line
        .trim_end()
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '+' || c == '-');
    header.ends_with('|') || header.ends_with('>')
}

/// A serde-saphyr error as a byte offset in the block and a message without
/// the source snippet (the caller names the file's own line and column).
fn block_error(block: &str, err: &serde_saphyr::Error) -> BlockError {
    let offset = err.location().map_or(0, |loc| {
        let idx = LineIndex::new(block);
        let line_start = idx.line_start(usize::try_from(loc.line()).unwrap_or(1));
        let column = usize::try_from(loc.column()).unwrap_or(1).saturating_sub(1);
        let line = &block[line_start..];
        line_start
            + line
                .char_indices()
                .nth(column)
                .map_or(line.len(), |(i, _)| i)
    });
    let text = err.without_snippet().to_string();
    // "error: line 3 column 8: unclosed quote at line 3, column 8" →
    // "unclosed quote": positions inside the block would contradict the
    // file's line and column that the caller reports.
    let message = text
        .strip_prefix("error: ")
        .unwrap_or(&text)
        .split_once(": ")
        .filter(|(head, _)| head.starts_with("line "))
        .map_or(text.as_str(), |(_, msg)| msg)
        .lines()
        .next()
        .unwrap_or("");
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    BlockError {
        offset,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_texts(block: &str) -> Vec<(String, String, Option<Syntax>)> {
        scalars(block, 0)
            .unwrap_or_else(|e| panic!("{}", e.message))
            .into_iter()
            .map(|s| (s.key_path, block[s.span].to_string(), s.syntax))
            .collect()
    }

    #[test]
    fn plain_and_quoted_scalars_have_inner_spans() {
        let got = scalar_texts(
            "a: https://x.example/1\nb: \"https://x.example/2\"\nc: 'https://x.example/it''s'\n",
        );
        assert_eq!(
            got,
            vec![
                (
                    "a".into(),
                    "https://x.example/1".into(),
                    Some(Syntax::YamlPlain)
                ),
                (
                    "b".into(),
                    "https://x.example/2".into(),
                    Some(Syntax::YamlDoubleQuoted)
                ),
                (
                    "c".into(),
                    "https://x.example/it''s".into(),
                    Some(Syntax::YamlSingleQuoted)
                ),
            ]
        );
    }

    #[test]
    fn key_paths_through_sequences_and_maps() {
        let got = scalar_texts("images:\n  - u1\n  - u2\nparams: {cover: u3}\n");
        let paths: Vec<_> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(paths, ["images[0]", "images[1]", "params.cover"]);
    }

    #[test]
    fn alias_is_reported_once_at_its_anchor() {
        let got = scalar_texts("a: &x https://x.example/a\nb: *x\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, "https://x.example/a");
    }

    #[test]
    fn single_line_block_scalar() {
        let got =
            scalar_texts("a: |  # note\n  https://x.example/b\nb: >-\n  https://x.example/c\n");
        assert_eq!(got[0].1, "https://x.example/b");
        assert_eq!(got[0].2, Some(Syntax::YamlBlock));
        assert_eq!(got[1].1, "https://x.example/c");
        assert_eq!(got[1].2, Some(Syntax::YamlBlock));
    }

    #[test]
    fn repeated_keys_are_accepted_and_all_walked() {
        let got = scalar_texts("a: https://x.example/1\na: https://x.example/2\n");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut block = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10u8 {
            let (prev, cur) = ((b'a' + i - 1) as char, (b'a' + i) as char);
            block.push_str(&format!("{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(scalars(&block, 0).is_err());
    }

    #[test]
    fn comment_only_block_has_no_scalars() {
        assert!(scalar_texts("# just a comment\n").is_empty());
    }

    #[test]
    fn malformed_yaml_gives_offset_and_bare_message() {
        let err = scalars("title: ok\nbad: \"x\n", 0).err().unwrap();
        assert_eq!(err.offset, 15);
        assert!(!err.message.contains('\n'));
        assert!(!err.message.contains("line"), "{}", err.message);
        assert!(!err.message.is_empty());
    }
}
