//! TOML front matter (Hugo's `+++`): walks `toml::de::DeTable`, whose every
//! key and value carries its byte span.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::scalar::{BlockError, Scalar};
use crate::reference::Syntax;

/// Every scalar of a TOML block. `base` is the block's offset in the file.
pub(super) fn scalars(block: &str, base: usize) -> Result<Vec<Scalar>, BlockError> {
    let table = DeTable::parse(block).map_err(|err| BlockError {
        offset: err.span().map_or(0, |s| s.start),
        message: err.message().to_string(),
    })?;
    let mut out = Vec::new();
    walk_table(
        block,
        base,
        table.get_ref(),
        &mut String::new(),
        &mut Vec::new(),
        &mut out,
    );
    Ok(out)
}

fn walk_table(
    block: &str,
    base: usize,
    table: &DeTable<'_>,
    path: &mut String,
    keys: &mut Vec<String>,
    out: &mut Vec<Scalar>,
) {
    for (key, value) in table.iter() {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key.get_ref());
        keys.push(key.get_ref().to_string());
        walk_value(block, base, value.get_ref(), value.span(), path, keys, out);
        keys.pop();
        path.truncate(len);
    }
}

fn walk_value(
    block: &str,
    base: usize,
    value: &DeValue<'_>,
    span: Range<usize>,
    path: &mut String,
    keys: &mut Vec<String>,
    out: &mut Vec<Scalar>,
) {
    let scalar = |value: String, span: Range<usize>, syntax: Option<Syntax>| Scalar {
        key_path: path.clone(),
        keys: keys.iter().rev().take(2).cloned().collect(),
        value,
        span: base + span.start..base + span.end,
        syntax,
    };
    match value {
        DeValue::String(s) => {
            let text = block.get(span.clone()).unwrap_or("");
            let (inner, syntax) = if text.starts_with("\"\"\"") || text.starts_with("'''") {
                // Multi-line strings are not URLs in practice; never rewritten.
                (span.clone(), Syntax::Unverified)
            } else if text.len() >= 2 && text.starts_with('"') {
                (span.start + 1..span.end - 1, Syntax::TomlBasic)
            } else if text.len() >= 2 && text.starts_with('\'') {
                let quoted = base + span.start..base + span.end;
                (span.start + 1..span.end - 1, Syntax::TomlLiteral { quoted })
            } else {
                (span.clone(), Syntax::Unverified)
            };
            out.push(scalar(s.to_string(), inner, Some(syntax)));
        }
        DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) | DeValue::Datetime(_) => {
            let text = block.get(span.clone()).unwrap_or("").to_string();
            out.push(scalar(text, span, None));
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_value(block, base, item.get_ref(), item.span(), path, keys, out);
                path.truncate(len);
            }
        }
        DeValue::Table(table) => walk_table(block, base, table, path, keys, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_literal_arrays_and_tables() {
        let block = "t = 'https://x.example/l'\nimgs = [\"https://x.example/1\"]\n[params]\ncover = \"https://x.example/c\"\n[[gallery]]\nsrc = 'https://x.example/g'\n";
        let got: Vec<_> = scalars(block, 0)
            .unwrap_or_else(|e| panic!("{}", e.message))
            .into_iter()
            .map(|s| (s.key_path, block[s.span].to_string()))
            .collect();
        let want = [
            ("gallery[0].src", "https://x.example/g"),
            ("imgs[0]", "https://x.example/1"),
            ("params.cover", "https://x.example/c"),
            ("t", "https://x.example/l"),
        ];
        for (path, text) in want {
            assert!(
                got.iter().any(|(p, t)| p == path && t == text),
                "{path} missing in {got:?}"
            );
        }
    }

    #[test]
    fn malformed_toml_has_an_offset() {
        let err = scalars("a = 1\nb = \"x\n", 0).err().unwrap();
        assert!(err.offset >= 6, "offset {}", err.offset);
        assert!(!err.message.is_empty());
    }
}
