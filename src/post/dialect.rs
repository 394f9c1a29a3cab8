//! Which Markdown a post is read as, by the parser that finds references
//! and by the one that finds shortcodes alike.

use pulldown_cmark::Options;

/// CommonMark plus the GitHub extensions Hugo and Jekyll sites use.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}
