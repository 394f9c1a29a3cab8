//! The config file as TOML says it, checked value by value while it is
//! deserialised: each value's type parses and validates it, so every error
//! comes out of the deserialiser with its key path (serde_path_to_error)
//! and its place in the file (toml's span). Then [`parse`] turns it into a
//! [`Layer`]: what one file sets, to be layered with the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::flags::FileFlag;
use super::{ConfigError, WebArchive, line_of, values};
use crate::acquire::placeholder::Placeholders;
use crate::manifest::Referer;
use crate::net::hosts::{HostPattern, HostRule};

/// The file's tables. Its other top-level keys are flags
/// ([`super::flags`]), read by a second pass with their lines.
#[derive(Debug, Deserialize)]
struct File {
    #[serde(default, deserialize_with = "patterns")]
    exclude: Option<Vec<Pattern>>,
    #[serde(default, deserialize_with = "patterns")]
    include: Option<Vec<Pattern>>,
    #[serde(default)]
    hosts: BTreeMap<HostName, HostTable>,
    #[serde(default, deserialize_with = "remaps")]
    remap: Option<Vec<RemapTable>>,
    placeholders: Option<PlaceholderTable>,
    archives: Option<ArchivesTable>,
}

/// The top-level keys that are tables (or the filters), not flags.
const TABLES: [&str; 6] = [
    "exclude",
    "include",
    "hosts",
    "remap",
    "placeholders",
    "archives",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostTable {
    referer: Option<Referer>,
    #[serde(default)]
    headers: BTreeMap<Name, Value>,
    #[serde(default, deserialize_with = "in_flight")]
    concurrency: Option<usize>,
    #[serde(default, deserialize_with = "interval")]
    request_interval: Option<Duration>,
    #[serde(default)]
    insecure: bool,
}

/// A number or a string, as the command line would write it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn text(self) -> String {
        match self {
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => s,
        }
    }
}

fn in_flight<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let text = Scalar::deserialize(d)?.text();
    values::in_flight(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn interval<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = Scalar::deserialize(d)?.text();
    values::interval(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemapTable {
    pattern: Pattern,
    replace: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceholderTable {
    #[serde(default)]
    files: Vec<toml::Spanned<PathBuf>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchivesTable {
    #[serde(rename = "use")]
    enabled: Option<Vec<ArchiveName>>,
    wayback: Option<toml::Spanned<HttpUrl>>,
    timegate: Option<toml::Spanned<HttpUrl>>,
}

/// An entry of `use`: an archive, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
enum ArchiveName {
    Archive(WebArchive),
    Off,
}

impl TryFrom<String> for ArchiveName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "wayback" => Ok(ArchiveName::Archive(WebArchive::Wayback)),
            "memento" => Ok(ArchiveName::Archive(WebArchive::Memento)),
            "none" => Ok(ArchiveName::Off),
            _ => Err(format!(
                "`{s}` is not a web archive: give wayback, memento or none"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
struct Name(String);

impl TryFrom<String> for Name {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        HeaderName::from_bytes(s.as_bytes())
            .map(|_| Name(s.clone()))
            .map_err(|_| format!("`{s}` is not a valid header name"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct Value(HeaderValue);

impl TryFrom<String> for Value {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        HeaderValue::from_str(&s)
            .map(Value)
            .map_err(|_| "not a valid header value".to_string())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct Pattern(Regex);

impl TryFrom<String> for Pattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // The regex crate's message spans several lines (a caret under the
        // bad part): kept whole on one line.
        regex::RegexBuilder::new(&s)
            .size_limit(values::PATTERN_BYTES)
            .dfa_size_limit(values::PATTERN_BYTES)
            .build()
            .map(Pattern)
            .map_err(|e| format!("not a regex: {}", e.to_string().replace('\n', " ")))
    }
}

/// A list of patterns, at most [`values::PATTERNS`] of them: each is
/// bounded in size, so the whole list is.
fn patterns<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<Pattern>>, D::Error> {
    let list = Option::<Vec<Pattern>>::deserialize(d)?;
    if list.as_ref().is_some_and(|l| l.len() > values::PATTERNS) {
        return Err(serde::de::Error::custom(format!(
            "more than {} patterns: use fewer, broader ones",
            values::PATTERNS
        )));
    }
    Ok(list)
}

fn remaps<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<RemapTable>>, D::Error> {
    let list = Option::<Vec<RemapTable>>::deserialize(d)?;
    if list.as_ref().is_some_and(|l| l.len() > values::PATTERNS) {
        return Err(serde::de::Error::custom(format!(
            "more than {} remap rules",
            values::PATTERNS
        )));
    }
    Ok(list)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
struct HostName(String);

impl TryFrom<String> for HostName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse::<HostPattern>().map(|_| HostName(s))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct HttpUrl(Url);

impl TryFrom<String> for HttpUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match Url::parse(&s) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(HttpUrl(url)),
            _ => Err(format!("`{s}` is not an http(s) URL")),
        }
    }
}

/// A key path as TOML writes it: `hosts."a.example".referer`,
/// `exclude[0]`.
fn key_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                let bare = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    out.push_str(key);
                } else {
                    out.push_str(&format!("{key:?}"));
                }
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// The top-level keys that are not tables: the flags, with their lines.
fn file_flags(text: &str, path: &Path) -> Result<Vec<FileFlag>, toml::de::Error> {
    let top: BTreeMap<String, toml::Spanned<toml::Value>> = toml::from_str(text)?;
    Ok(top
        .into_iter()
        .filter(|(key, _)| !TABLES.contains(&key.as_str()))
        .map(|(key, value)| FileFlag {
            path: path.to_path_buf(),
            key,
            line: line_of(text, value.span().start),
            value: value.into_inner(),
        })
        .collect())
}

/// What one config file sets: `None` (or nothing) where it says nothing,
/// so that a later file overrides an earlier one key by key.
#[derive(Debug)]
pub(super) struct Layer {
    /// The file.
    pub path: PathBuf,
    pub flags: Vec<FileFlag>,
    pub exclude: Option<Vec<Regex>>,
    pub include: Option<Vec<Regex>>,
    pub hosts: Vec<(HostPattern, HostRule)>,
    pub remap: Option<Vec<(Regex, String)>>,
    pub placeholders: Option<Placeholders>,
    /// `[archives] use`: `Some(vec![])` for `["none"]`.
    pub archives: Option<Vec<WebArchive>>,
    /// `[archives]` endpoints, each with its line.
    pub wayback: Option<(Url, usize)>,
    pub timegate: Option<(Url, usize)>,
}

/// Parses and checks the text of the config file at `path`.
pub(super) fn parse(text: &str, path: &Path) -> Result<Layer, ConfigError> {
    let invalid = |line: Option<usize>, key: String, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        key,
        message,
    };
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        invalid(line, String::new(), e.message().trim().to_string())
    })?;
    let file: File = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = key_path(e.path());
        let inner = e.into_inner();
        let line = inner.span().map(|s| line_of(text, s.start));
        invalid(line, key, inner.message().trim().to_string())
    })?;
    let folder = super::super::store::parent_or_dot(path).to_path_buf();
    let beside = |p: PathBuf| if p.is_absolute() { p } else { folder.join(p) };

    let flags = file_flags(text, path).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        invalid(line, String::new(), e.message().trim().to_string())
    })?;
    let hosts = file
        .hosts
        .into_iter()
        .filter_map(|(name, table)| {
            let pattern = name.0.parse().ok()?;
            let rule = HostRule {
                referer: table.referer,
                headers: table
                    .headers
                    .into_iter()
                    .filter_map(|(n, v)| Some((HeaderName::from_bytes(n.0.as_bytes()).ok()?, v.0)))
                    .collect(),
                concurrency: table.concurrency,
                request_interval: table.request_interval,
                insecure: table.insecure,
            };
            Some((pattern, rule))
        })
        .collect();
    let placeholders = match file.placeholders {
        None => None,
        Some(table) => {
            let mut placeholders = Placeholders::default();
            for file in table.files {
                let line = Some(line_of(text, file.span().start));
                let image = beside(file.into_inner());
                placeholders
                    .add(&image)
                    .map_err(|message| invalid(line, "placeholders.files".to_string(), message))?;
            }
            Some(placeholders)
        }
    };
    let (mut archives, mut wayback, mut timegate) = (None, None, None);
    if let Some(table) = file.archives {
        archives = table.enabled.map(|names| {
            names
                .into_iter()
                .filter_map(|n| match n {
                    ArchiveName::Archive(archive) => Some(archive),
                    ArchiveName::Off => None,
                })
                .collect()
        });
        let spanned = |u: toml::Spanned<HttpUrl>| {
            let line = line_of(text, u.span().start);
            (u.into_inner().0, line)
        };
        wayback = table.wayback.map(spanned);
        timegate = table.timegate.map(spanned);
    }
    Ok(Layer {
        path: path.to_path_buf(),
        flags,
        exclude: file.exclude.map(|p| p.into_iter().map(|p| p.0).collect()),
        include: file.include.map(|p| p.into_iter().map(|p| p.0).collect()),
        hosts,
        remap: file
            .remap
            .map(|r| r.into_iter().map(|r| (r.pattern.0, r.replace)).collect()),
        placeholders,
        archives,
        wayback,
        timegate,
    })
}
