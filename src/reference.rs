//! A reference is one place in a post where a URL is written.
//!
//! The parser keeps the exact byte span of the URL text as written, so that
//! rewriting is splicing: every byte outside the spans stays what it was.

use std::ops::Range;

/// Whether a reference shows an image, embeds video or audio (media), or
/// points away (link). Images and media are part of what the reader sees:
/// they are always stored and rewritten.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Image,
    /// `<video src>`, `<audio src>`, their `<source src>`, `<track src>`.
    Media,
    Link,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Media => "media",
            Kind::Link => "link",
        }
    }

    /// Whether the reader sees it in the post (an image or media): stored
    /// in `assets/` and rewritten.
    pub fn is_embedded(self) -> bool {
        matches!(self, Kind::Image | Kind::Media)
    }

    /// The kind of a URL referenced both ways: embedded anywhere makes it
    /// embedded everywhere, and an image wins over media.
    pub fn merge(self, other: Kind) -> Kind {
        let rank = |k: Kind| match k {
            Kind::Image => 2,
            Kind::Media => 1,
            Kind::Link => 0,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// Where in the post a reference stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A string in the front matter, with its key path (`thumbnail`,
    /// `images[1]`, `params.cover`).
    FrontMatter { key_path: String },
    /// Markdown or raw HTML in the body.
    Body,
}

/// Where an occurrence stands: the manifest's `in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    FrontMatter,
    Body,
}

impl Place {
    /// The manifest's `in` field.
    pub fn section(&self) -> Section {
        match self {
            Place::FrontMatter { .. } => Section::FrontMatter,
            Place::Body => Section::Body,
        }
    }
}

/// Quote character around an HTML attribute value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Double,
    Single,
    None,
}

/// How the URL text is written, which decides how a replacement must be
/// escaped to keep the document valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Syntax {
    /// Plain YAML scalar (`thumbnail: https://...`).
    YamlPlain,
    /// Inside `"..."` in YAML: backslash escapes.
    YamlDoubleQuoted,
    /// Inside `'...'` in YAML: `''` is a quote.
    YamlSingleQuoted,
    /// The single content line of a `|` or `>` block scalar.
    YamlBlock,
    /// Inside a TOML basic string `"..."`.
    TomlBasic,
    /// Inside a TOML literal string `'...'`; `quoted` is the span with its
    /// quotes, used when a replacement cannot be written as a literal.
    TomlLiteral { quoted: Range<usize> },
    /// A Markdown link destination written bare: `](url "title")`.
    MarkdownDestination,
    /// A Markdown link destination in angle brackets: `](<url with spaces>)`.
    MarkdownAngleDestination,
    /// An HTML attribute value (`src`, `href`, `poster`).
    HtmlAttribute(Quote),
    /// One candidate URL of a `srcset` attribute.
    Srcset(Quote),
    /// A parameter of a site generator's shortcode (`src="…"`), quoted or
    /// not.
    Shortcode(Quote),
    /// A file of the post's asset folder named by a Hexo tag
    /// (`{% asset_img pic.jpg %}`, `{% asset_path pic.jpg %}`): relative to
    /// the folder named after the post's file (`source/_posts/<stem>/`).
    HexoAsset(Quote),
    /// The file of an Obsidian embed (`![[file.png|300]]`).
    WikiEmbed,
    /// A URL the reader sees as text (`<https://autolink>`, bare URL): it
    /// is collected but never rewritten.
    ShownText,
    /// The span could not be matched to the parsed URL exactly (an edge of
    /// the syntax we do not model); collected, never rewritten.
    Unverified,
}

impl Syntax {
    /// Whether the URL text may be replaced by a local path.
    pub fn is_rewritable(&self) -> bool {
        !matches!(self, Syntax::ShownText | Syntax::Unverified)
    }
}

/// One URL occurrence in a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: Kind,
    pub place: Place,
    pub syntax: Syntax,
    /// Byte range of the URL text as written in the file (without quotes
    /// or angle brackets). Offsets count from the first byte of the file,
    /// BOM included.
    pub span: Range<usize>,
    /// 1-based line of `span.start`.
    pub line: usize,
    /// The URL after unescaping (`\_`, `&amp;`, YAML escapes), before
    /// resolution and normalisation.
    pub url: String,
}

impl Reference {
    /// The exact source text that is (or would be) replaced.
    pub fn raw<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.span.clone()).unwrap_or("")
    }

    pub fn is_rewritable(&self) -> bool {
        self.syntax.is_rewritable()
    }
}
