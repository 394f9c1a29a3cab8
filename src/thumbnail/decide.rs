//! Where a thumbnail is decided: which stored files get one.

use crate::manifest::Kind;
use crate::sniff::{Class, Format};

/// Whether a stored file gets a thumbnail: the one place this is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A raster image: decoded on the pool for its dimensions and, unless
    /// thumbnails are off or it is over `--max-pixels`, its thumbnail.
    Render,
    /// An image that is not decoded (SVG, AVIF, a video embedded as an
    /// image): recorded without a thumbnail, with this reason.
    Without(String),
    /// Not an image: no thumbnail and nothing recorded about one.
    NotAnImage,
}

/// Decides for a stored file of `format`, referenced as `kind`.
pub fn decide(format: &Format, kind: Kind) -> Plan {
    match kind {
        // Video, audio and captions are never thumbnailed, whatever the
        // bytes; nor are links' copies.
        Kind::Media | Kind::Link => Plan::NotAnImage,
        Kind::Image if format.class == Class::Raster => Plan::Render,
        Kind::Image => Plan::Without(format!("no thumbnail for {}", format.media_type)),
    }
}
