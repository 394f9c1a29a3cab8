//! Reading a post: bytes → text, front matter, and every URL reference with
//! its exact span.
//!
//! Parsing never re-serialises anything: the YAML/TOML parsers and
//! pulldown-cmark are used only to find where URLs are written, so that the
//! rewriter can splice new text into those spans and leave every other byte
//! alone.

mod about;
pub mod date;
mod destination;
mod dialect;
mod front_matter;
mod html;
pub(crate) mod markdown;
pub(crate) mod pieces;
mod scalar;
pub mod shortcodes;
mod toml_table;
mod yaml;

use std::ops::Range;

pub use about::SOURCE_KEYS;
pub use dialect::options as markdown_options;
pub use front_matter::{FrontMatter, FrontMatterFormat, Scalar};
pub use html::{HtmlUrl, url_attributes};

use crate::lines::LineIndex;
use crate::reference::Reference;

/// Why a post could not be read. Line and column are 1-based and count from
/// the start of the file (not of the front matter block).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("not UTF-8: invalid byte at offset {offset} (line {line})")]
    NotUtf8 { offset: usize, line: usize },
    #[error("line {line}, column {column}: malformed {format} front matter: {message}")]
    MalformedFrontMatter {
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A parsed post. Holds the original text (BOM included) and the
/// references found in it, in source order.
#[derive(Debug, Clone)]
pub struct Post {
    text: String,
    lines: LineIndex,
    front_matter: Option<FrontMatter>,
    body: Range<usize>,
    references: Vec<Reference>,
}

const BOM: &str = "\u{feff}";

impl Post {
    /// Parses a post from its bytes.
    pub fn parse(bytes: Vec<u8>) -> Result<Post, ParseError> {
        Post::parse_finding(bytes, true)
    }

    /// Parses a post to show it, not to archive it: its front matter and
    /// body, without looking for its references (a bundle renders the
    /// page, whose URLs it then finds itself).
    pub fn parse_to_show(bytes: Vec<u8>) -> Result<Post, ParseError> {
        Post::parse_finding(bytes, false)
    }

    fn parse_finding(bytes: Vec<u8>, find_references: bool) -> Result<Post, ParseError> {
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                let offset = err.utf8_error().valid_up_to();
                let bytes = err.as_bytes();
                let line = 1 + memchr::memchr_iter(b'\n', &bytes[..offset]).count();
                return Err(ParseError::NotUtf8 { offset, line });
            }
        };
        let lines = LineIndex::new(&text);
        let content_start = if text.starts_with(BOM) { BOM.len() } else { 0 };
        let front_matter = front_matter::parse(&text, content_start, &lines)?;
        let body_start = front_matter
            .as_ref()
            .map_or(content_start, |fm| fm.body_start);
        let body = body_start..text.len();

        let mut references = Vec::new();
        if find_references {
            if let Some(fm) = &front_matter {
                front_matter::collect_references(fm, &lines, &mut references);
            }
            markdown::collect(&text, body.clone(), &lines, &mut references);
        }
        references.sort_by_key(|r| (r.span.start, r.span.end));
        // Kept for the post's life: not the doubled capacity it grew to.
        references.shrink_to_fit();
        Ok(Post {
            text,
            lines,
            front_matter,
            body,
            references,
        })
    }

    /// The whole text of the post, BOM included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text, the parse dropped: what is left to write once a post's
    /// references are done with.
    pub fn into_text(self) -> String {
        self.text
    }

    /// Every URL reference, in source order.
    pub fn references(&self) -> &[Reference] {
        &self.references
    }

    /// Takes the references out of the post (see [`crate::resource::resources`]).
    pub fn take_references(&mut self) -> Vec<Reference> {
        std::mem::take(&mut self.references)
    }

    pub fn front_matter(&self) -> Option<&FrontMatter> {
        self.front_matter.as_ref()
    }

    /// Byte range of the Markdown body (after the front matter).
    pub fn body(&self) -> Range<usize> {
        self.body.clone()
    }

    pub fn lines(&self) -> &LineIndex {
        &self.lines
    }

    /// A top-level front matter string (`title`, `slug`, `date`), if any.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.front_matter.as_ref()?.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_names_the_byte_offset_and_line() {
        let mut bytes = b"ok\nline two \xff here".to_vec();
        bytes.push(b'\n');
        let err = Post::parse(bytes).unwrap_err();
        assert_eq!(
            err,
            ParseError::NotUtf8 {
                offset: 12,
                line: 2
            }
        );
        assert!(err.to_string().contains("offset 12"));
    }

    #[test]
    fn meta_reads_top_level_strings_last_one_winning() {
        let src = "---\ntitle: first\nslug: s\ntitle: \"second\"\nparams: {title: no}\n---\n";
        let post = Post::parse(src.as_bytes().to_vec()).unwrap();
        assert_eq!(post.meta("title"), Some("second"));
        assert_eq!(post.meta("slug"), Some("s"));
        assert_eq!(post.meta("date"), None);
    }

    #[test]
    fn empty_post_is_valid() {
        let post = Post::parse(Vec::new()).unwrap();
        assert!(post.references().is_empty());
        assert!(post.front_matter().is_none());
    }

    #[test]
    fn bom_is_kept_and_front_matter_found_after_it() {
        let src = "\u{feff}---\nthumbnail: https://a.example/t\n---\nbody\n";
        let post = Post::parse(src.as_bytes().to_vec()).unwrap();
        assert_eq!(post.text(), src);
        assert_eq!(post.references().len(), 1);
        assert_eq!(post.references()[0].raw(post.text()), "https://a.example/t");
    }
}
