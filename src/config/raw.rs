//! The config file as TOML says it, checked value by value while it is
//! deserialised: each value's type parses and validates it, so every error
//! comes out of the deserialiser with its key path (serde_path_to_error)
//! and its place in the file (toml's span). Then [`parse`] turns it into a
//! [`Config`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::{Archives, Config, ConfigError, Flags, Rules, WebArchive, line_of};
use crate::acquire::placeholder::Placeholders;
use crate::manifest::{LinksMode, Referer, RepairLinks};
use crate::net::hosts::{HostPattern, HostRule, HostRules};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    concurrency: Option<Ranged<1, 1024>>,
    per_host: Option<Ranged<1, 1024>>,
    retries: Option<Ranged<0, 100>>,
    connect_timeout: Option<Seconds>,
    timeout: Option<Seconds>,
    max_bytes: Option<Size>,
    user_agent: Option<String>,
    header: Option<Vec<HeaderLine>>,
    proxy: Option<Url>,
    ca_cert: Option<PathBuf>,
    deny_private: Option<bool>,
    referer: Option<Referer>,
    quiet: Option<bool>,
    json: Option<bool>,
    out: Option<PathBuf>,
    base_url: Option<Url>,
    links: Option<LinksMode>,
    thumb_size: Option<Ranged<1, 10_000>>,
    no_thumbs: Option<bool>,
    max_pixels: Option<u64>,
    refresh: Option<bool>,
    stale_after: Option<Human>,
    repair: Option<bool>,
    repair_links: Option<RepairLinks>,
    #[serde(default)]
    exclude: Vec<Pattern>,
    #[serde(default)]
    include: Vec<Pattern>,
    #[serde(default)]
    hosts: BTreeMap<HostName, HostTable>,
    #[serde(default)]
    remap: Vec<RemapTable>,
    placeholders: Option<PlaceholderTable>,
    archives: Option<ArchivesTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostTable {
    referer: Option<Referer>,
    #[serde(default)]
    headers: BTreeMap<Name, Value>,
    concurrency: Option<Ranged<1, 1024>>,
    request_interval: Option<Human>,
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
    wayback: Option<HttpUrl>,
    timegate: Option<HttpUrl>,
}

/// An entry of `use`: an archive, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
enum ArchiveName {
    Archive(WebArchive),
    Off(Off),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Off {
    None,
}

/// An integer in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "i64")]
struct Ranged<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> TryFrom<i64> for Ranged<MIN, MAX> {
    type Error = String;
    fn try_from(n: i64) -> Result<Self, String> {
        if (MIN..=MAX).contains(&n) {
            Ok(Ranged(n))
        } else {
            Err(format!("{n} is out of range: give {MIN} to {MAX}"))
        }
    }
}

impl<const MIN: i64, const MAX: i64> Ranged<MIN, MAX> {
    fn get<T: TryFrom<i64>>(self) -> Option<T> {
        T::try_from(self.0).ok()
    }
}

/// Seconds, as on the command line (`timeout = 30`, `2.5`), or a duration
/// (`"90s"`, `"500ms"`).
#[derive(Debug, Clone, Copy)]
struct Seconds(Duration);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Int(i64),
            Float(f64),
            Text(String),
        }
        let secs = match Given::deserialize(d)? {
            Given::Int(n) => n as f64,
            Given::Float(f) => f,
            Given::Text(s) => humantime::parse_duration(&s)
                .map_err(|e| serde::de::Error::custom(format!("`{s}`: {e}")))?
                .as_secs_f64(),
        };
        if !(secs > 0.0 && secs <= 86_400.0) {
            return Err(serde::de::Error::custom("give between 0 and 86400 seconds"));
        }
        Ok(Seconds(Duration::from_secs_f64(secs)))
    }
}

/// A size: bytes, or a string with a unit as `--max-bytes` takes.
#[derive(Debug, Clone, Copy)]
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Int(i64),
            Text(String),
        }
        let text = match Given::deserialize(d)? {
            Given::Int(n) => n.to_string(),
            Given::Text(s) => s,
        };
        crate::cli::parse_size(&text)
            .map(Size)
            .map_err(serde::de::Error::custom)
    }
}

/// A duration as humantime writes it (`"500ms"`, `"7d"`).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(try_from = "String")]
struct Human(Duration);

impl TryFrom<String> for Human {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        humantime::parse_duration(&s)
            .map(Human)
            .map_err(|e| format!("`{s}` is not a duration (e.g. 500ms, 2s, 7d): {e}"))
    }
}

/// `'Name: value'`, as `--header` takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
struct HeaderLine((HeaderName, HeaderValue));

impl TryFrom<String> for HeaderLine {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        crate::cli::parse_header(&s).map(HeaderLine)
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
        Regex::new(&s)
            .map(Pattern)
            .map_err(|e| format!("not a regex: {}", e.to_string().replace('\n', " ")))
    }
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

/// Parses and checks the text of the config file at `path`.
pub(super) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
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

    let flags = Flags {
        concurrency: file.concurrency.and_then(Ranged::get),
        per_host: file.per_host.and_then(Ranged::get),
        retries: file.retries.and_then(Ranged::get),
        connect_timeout: file.connect_timeout.map(|s| s.0),
        timeout: file.timeout.map(|s| s.0),
        max_bytes: file.max_bytes.map(|s| s.0),
        user_agent: file.user_agent,
        header: file
            .header
            .map(|lines| lines.into_iter().map(|h| h.0).collect()),
        proxy: file.proxy,
        ca_cert: file.ca_cert.map(beside),
        deny_private: file.deny_private,
        referer: file.referer,
        quiet: file.quiet,
        json: file.json,
        out: file.out,
        base_url: file.base_url,
        links: file.links,
        thumb_size: file.thumb_size.and_then(Ranged::get),
        no_thumbs: file.no_thumbs,
        max_pixels: file.max_pixels,
        refresh: file.refresh,
        stale_after: file.stale_after.map(|h| h.0),
        repair: file.repair,
        repair_links: file.repair_links,
    };
    let hosts = HostRules::new(
        file.hosts
            .into_iter()
            .filter_map(|(name, table)| {
                let pattern = name.0.parse().ok()?;
                let rule = HostRule {
                    referer: table.referer,
                    headers: table
                        .headers
                        .into_iter()
                        .filter_map(|(n, v)| {
                            Some((HeaderName::from_bytes(n.0.as_bytes()).ok()?, v.0))
                        })
                        .collect(),
                    concurrency: table.concurrency.and_then(Ranged::get),
                    request_interval: table.request_interval.map(|h| h.0),
                };
                Some((pattern, rule))
            })
            .collect(),
    );
    let remap = super::Remaps::new(
        file.remap
            .into_iter()
            .map(|r| (r.pattern.0, r.replace))
            .collect(),
    );
    let filter = super::UrlFilter::new(
        file.exclude.into_iter().map(|p| p.0).collect(),
        file.include.into_iter().map(|p| p.0).collect(),
    );
    let mut placeholders = Placeholders::default();
    for file in file.placeholders.map(|p| p.files).unwrap_or_default() {
        let line = Some(line_of(text, file.span().start));
        let image = beside(file.into_inner());
        placeholders
            .add(&image)
            .map_err(|message| invalid(line, "placeholders.files".to_string(), message))?;
    }
    let mut archives = Archives::default();
    if let Some(table) = file.archives {
        archives.enabled = table.enabled.map(|names| {
            names
                .into_iter()
                .filter_map(|n| match n {
                    ArchiveName::Archive(archive) => Some(archive),
                    ArchiveName::Off(Off::None) => None,
                })
                .collect()
        });
        if let Some(url) = table.wayback {
            archives.wayback = url.0;
        }
        if let Some(url) = table.timegate {
            archives.timegate = url.0;
        }
    }
    Ok(Config {
        path: None,
        flags,
        hosts,
        rules: Rules {
            filter,
            remap,
            placeholders,
        },
        archives,
    })
}
