//! Where each file of a post folder lives, in each version of the layout.

use std::path::Path;

use super::ASSETS;

/// How a post folder is laid out: version 2 (`index.md`, `assets/`, and
/// `.rotproof/` for the rest), or version 1 (manifest.json, source.md and
/// thumbs/ beside index.md, links' copies in assets/), still read by every
/// command and moved to version 2 by `archive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    V1,
    V2,
}

impl Layout {
    /// The layout this version writes.
    pub const CURRENT: Layout = Layout::V2;

    /// The layout of an archived post folder: the one whose manifest is
    /// there (version 2 first: a migration writes it before the version-1
    /// files go). `None` when the folder holds no manifest.
    pub fn detect(dir: &Path) -> Option<Layout> {
        [Layout::V2, Layout::V1]
            .into_iter()
            .find(|layout| dir.join(layout.manifest()).is_file())
    }

    /// The manifest's `version` for this layout.
    pub fn version(self) -> u32 {
        match self {
            Layout::V1 => 1,
            Layout::V2 => 2,
        }
    }

    pub fn manifest(self) -> &'static str {
        match self {
            Layout::V1 => "manifest.json",
            Layout::V2 => ".rotproof/manifest.json",
        }
    }

    /// The original post, untouched.
    pub fn source(self) -> &'static str {
        match self {
            Layout::V1 => "source.md",
            Layout::V2 => ".rotproof/source.md",
        }
    }

    pub fn thumbs(self) -> &'static str {
        match self {
            Layout::V1 => "thumbs",
            Layout::V2 => ".rotproof/thumbs",
        }
    }

    /// Copies of linked pages and other links' targets.
    pub fn pages(self) -> &'static str {
        match self {
            Layout::V1 => ASSETS,
            Layout::V2 => ".rotproof/pages",
        }
    }

    /// The bytes as fetched of files published otherwise (an SVG with
    /// scripts): never published. Only the current layout has them.
    pub fn originals(self) -> &'static str {
        ".rotproof/originals"
    }

    pub fn lock(self) -> &'static str {
        match self {
            Layout::V1 => ".rotproof.lock",
            Layout::V2 => ".rotproof/lock",
        }
    }

    /// The folder a stored file of this kind goes to.
    pub fn folder_for(self, kind: crate::reference::Kind) -> &'static str {
        if kind.is_embedded() {
            ASSETS
        } else {
            self.pages()
        }
    }

    /// The folders that hold stored files.
    pub fn stores(self) -> Vec<&'static str> {
        let mut folders = vec![ASSETS, self.thumbs(), self.originals()];
        if !folders.contains(&self.pages()) {
            folders.push(self.pages());
        }
        folders
    }
}
