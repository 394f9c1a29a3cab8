//! What the front matter parsers (YAML, TOML) give back: each scalar with
//! its key path and exact span, or an error at an offset of the block.

use std::ops::Range;

use crate::reference::Syntax;

/// One scalar value of the front matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    /// `thumbnail`, `images[1]`, `params.cover`.
    pub key_path: String,
    /// The nearest mapping keys, innermost first (at most two are kept:
    /// enough to tell `cover.src` is an image).
    pub keys: Vec<String>,
    /// The value after unescaping.
    pub value: String,
    /// Byte span of the value text as written, without quotes.
    pub span: Range<usize>,
    /// How the text is written; `None` for non-string scalars (numbers,
    /// dates), which are kept for metadata only.
    pub syntax: Option<Syntax>,
}

/// An error inside a front matter block, at a byte offset of the block.
pub(super) struct BlockError {
    pub offset: usize,
    pub message: String,
}
