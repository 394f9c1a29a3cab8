//! manifest.json: what was found, fetched, stored and checked for
//! one archived post. Unknown fields are ignored on read, so the format can
//! grow; fields are added, never renamed. Its words are typed ([`vocab`]):
//! a manifest that says something else is refused when read, naming the
//! field.

mod vocab;

use std::path::Path;

use serde::{Deserialize, Serialize};
use url::Url;

pub(crate) use vocab::{
    Capture, Kind, LinksMode, Referer, RepairLinks, Section, Status, Timestamp, Verdict, WebArchive,
};

use crate::digest::Sha256;
use crate::store::{self, IoError};

pub(crate) const FORMAT: &str = "rotproof-manifest";
/// The version this build writes; every earlier one is read.
pub(crate) const VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: String,
    pub version: u32,
    pub tool: String,
    pub post: PostInfo,
    pub resources: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PostInfo {
    pub source: String,
    pub slug: String,
    #[serde(default)]
    pub title: Option<String>,
    pub archived_at: Timestamp,
    /// The post's source: an absolute URL in its front matter (`source`,
    /// `source_url`, `original_url`, `canonical`, `link`, `url`), else a
    /// last paragraph that is a single link.
    #[serde(default)]
    pub source_url: Option<String>,
    /// `--base-url` of the archive run, so `check --repair` resolves
    /// relative URLs the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<Url>,
    /// `--links` of the archive run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<LinksMode>,
    /// `--thumb-size`, `--max-pixels` and `--no-thumbs` of the archive run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnails: Option<ThumbnailSettings>,
    /// The post's own date (front matter `date`): web archives are asked
    /// for captures closest to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Timestamp>,
    /// `--repair-links` of the last `check --repair`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_links: Option<RepairLinks>,
}

/// How an archive run made thumbnails, as the manifest records it (its
/// own record, so the file's format never follows a change of the
/// thumbnailer's settings by accident).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ThumbnailSettings {
    pub size: u32,
    pub max_pixels: u64,
    pub enabled: bool,
}

/// One resource of the post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub url: String,
    pub kind: Kind,
    pub occurrences: Vec<Occurrence>,
    pub status: Status,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub final_url: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub sha256: Option<Sha256>,
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub media_type: Option<String>,
    /// Relative to the post folder: `assets/<sha256>.<ext>`. `sha256` and
    /// `bytes` are this file's: what the post shows.
    #[serde(default)]
    pub path: Option<String>,
    /// The bytes as fetched, when the file the post shows is not them (an
    /// SVG with scripts is published without them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Original>,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default)]
    pub thumbnail: Option<Thumbnail>,
    #[serde(default)]
    pub thumbnail_error: Option<String>,
    /// The thumbnail could not be made for a reason that may pass: the next
    /// run makes it from the archived file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thumbnail_retry: bool,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    #[serde(default)]
    pub fetched_at: Option<Timestamp>,
    /// The URL actually requested (a remap's variant, or `url`).
    #[serde(default)]
    pub fetched_url: Option<String>,
    /// The Referer policy that got the bytes.
    #[serde(default)]
    pub referer: Option<Referer>,
    /// Where lost bytes were recovered from (a web archive).
    #[serde(default)]
    pub recovered_from: Option<Box<Capture>>,
    /// A web archive's capture of a dead link whose copy rotproof already
    /// had: where `check --repair` points it (`--repair-links archive`)
    /// and what bundles give as its `data-versionurl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memento: Option<Box<Capture>>,
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Later contents of a changed resource (`check --repair --refresh`),
    /// oldest first. The entry itself, and index.md, keep the first
    /// archived copy: nothing archived is ever replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<Version>,
}

/// Another content of a resource, stored beside the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Version {
    pub sha256: Sha256,
    pub bytes: u64,
    pub media_type: String,
    pub path: String,
    pub fetched_at: Timestamp,
    /// As in [`Entry::original`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Original>,
}

/// The bytes of a resource as they were fetched, kept unpublished in
/// `.rotproof/originals/` when the published file differs from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Original {
    pub path: String,
    pub sha256: Sha256,
    pub bytes: u64,
}

/// A file an archived entry names, with the content it must have.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NamedFile<'a> {
    pub path: &'a String,
    pub sha256: &'a Sha256,
    pub entry: &'a Entry,
}

impl Manifest {
    /// Every file the archived entries name, with the sha256 each must
    /// have: each entry's file, its thumbnail, its later versions, and
    /// the bytes as fetched of those published otherwise.
    pub(crate) fn stored_files(&self) -> Vec<NamedFile<'_>> {
        let mut files = Vec::new();
        for entry in self
            .resources
            .iter()
            .filter(|e| e.status == Status::Archived)
        {
            let mut named: Vec<(&String, &Sha256)> = Vec::new();
            if let (Some(path), Some(sha)) = (&entry.path, &entry.sha256) {
                named.push((path, sha));
            }
            named.extend(entry.thumbnail.iter().map(|t| (&t.path, &t.sha256)));
            for v in &entry.versions {
                named.push((&v.path, &v.sha256));
                named.extend(v.original.iter().map(|o| (&o.path, &o.sha256)));
            }
            named.extend(entry.original.iter().map(|o| (&o.path, &o.sha256)));
            files.extend(named.into_iter().map(|(path, sha256)| NamedFile {
                path,
                sha256,
                entry,
            }));
        }
        files
    }

    /// Every stored file the manifest names (relative to its post folder):
    /// archived entries' files, thumbnails and later versions.
    #[cfg(test)]
    pub(crate) fn named_files(&self) -> std::collections::BTreeSet<String> {
        let mut named = std::collections::BTreeSet::new();
        for e in &self.resources {
            e.name_files(&mut named);
        }
        named
    }
}

impl Entry {
    /// Whether the entry is a file beside the post (its `url` a relative
    /// path), which is published with the post whatever its kind.
    pub(crate) fn is_local_file(&self) -> bool {
        !self.url.contains("://")
    }

    /// Whether the entry matters to a later run: archived, or with a
    /// history (checks, versions, a memento) to carry over. Any other is
    /// fetched again as a new resource.
    pub(crate) fn carries_something(&self) -> bool {
        self.status == Status::Archived
            || !self.checks.is_empty()
            || !self.versions.is_empty()
            || self.memento.is_some()
    }

    /// Adds every stored file the entry names (relative to its post
    /// folder): its file, thumbnail, later versions and originals.
    pub(crate) fn name_files(&self, named: &mut std::collections::BTreeSet<String>) {
        named.extend(self.path.iter().cloned());
        named.extend(self.thumbnail.iter().map(|t| t.path.clone()));
        named.extend(self.original.iter().map(|o| o.path.clone()));
        for v in &self.versions {
            named.insert(v.path.clone());
            named.extend(v.original.iter().map(|o| o.path.clone()));
        }
    }

    /// Records a later content of the entry's URL as a version (once per
    /// content), its file placed into the entry's post folder `dir` from
    /// where it was stored (`home`). The entry itself, and index.md, keep
    /// the first archived copy: nothing archived is ever replaced. Returns
    /// whether a version was added.
    pub(crate) fn add_version(
        &mut self,
        version: &Version,
        home: &Path,
        dir: &Path,
    ) -> Result<bool, IoError> {
        if self.sha256.as_ref() == Some(&version.sha256)
            || self.versions.iter().any(|v| v.sha256 == version.sha256)
        {
            return Ok(false);
        }
        store::copy_into(
            &home.join(&version.path),
            &dir.join(&version.path),
            &version.sha256,
        )?;
        if let Some(original) = &version.original {
            store::copy_into(
                &home.join(&original.path),
                &dir.join(&original.path),
                &original.sha256,
            )?;
        }
        self.versions.push(version.clone());
        Ok(true)
    }

    /// The sha256 of the bytes as fetched: what a later fetch is compared
    /// with to say whether the resource changed.
    pub(crate) fn fetched_sha256(&self) -> Option<&Sha256> {
        match &self.original {
            Some(original) => Some(&original.sha256),
            None => self.sha256.as_ref(),
        }
    }

    /// An entry with only what the post says; the rest is filled in by
    /// fetching.
    pub(crate) fn new(
        url: String,
        kind: Kind,
        occurrences: Vec<Occurrence>,
        status: Status,
    ) -> Entry {
        Entry {
            url,
            kind,
            occurrences,
            status,
            error: None,
            http_status: None,
            final_url: None,
            attempts: 0,
            sha256: None,
            bytes: None,
            media_type: None,
            path: None,
            original: None,
            width: None,
            height: None,
            thumbnail: None,
            thumbnail_error: None,
            thumbnail_retry: false,
            etag: None,
            last_modified: None,
            fetched_at: None,
            fetched_url: None,
            referer: None,
            recovered_from: None,
            memento: None,
            checks: Vec::new(),
            versions: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Occurrence {
    #[serde(rename = "in")]
    pub place: Section,
    /// 1-based line in source.md where the URL text stands.
    pub line: usize,
    /// The exact source text that was (or would be) replaced.
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Thumbnail {
    pub path: String,
    pub sha256: Sha256,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Check {
    pub at: Timestamp,
    pub result: Verdict,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ManifestError {
    #[error(transparent)]
    Read(IoError),
    #[error("{path}: not a valid rotproof manifest: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: not a rotproof manifest (format {format:?}, version {version})")]
    Format {
        path: String,
        format: String,
        version: u32,
    },
}

impl Manifest {
    /// Reads a manifest; `Ok(None)` when the file does not exist.
    pub(crate) fn read(path: &Path) -> Result<Option<Manifest>, ManifestError> {
        read_as::<Manifest>(path)
    }

    /// Reads only what a manifest says of its post (its entries are read
    /// past, never held).
    pub(crate) fn read_post(path: &Path) -> Result<Option<PostInfo>, ManifestError> {
        Ok(read_as::<PostOnly>(path)?.map(|m| m.post))
    }

    /// Reads a manifest keeping only the entries that matter to a later
    /// run ([`Entry::carries_something`]): each other entry is dropped as
    /// soon as it is read, so a re-run of a post of a million dead links
    /// never holds them.
    pub(crate) fn read_worth_keeping(path: &Path) -> Result<Option<Manifest>, ManifestError> {
        Ok(read_as::<WorthKeeping>(path)?.map(|m| Manifest {
            format: m.format,
            version: m.version,
            tool: m.tool,
            post: m.post,
            resources: m.resources.0,
        }))
    }

    /// Writes the manifest atomically.
    /// Writes the manifest atomically, streamed: memory does not grow with
    /// the JSON's size.
    pub(crate) fn write(&self, path: &Path) -> Result<(), IoError> {
        store::write_atomic_with(path, |out| self.serialise(out))
    }

    fn serialise(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    }
}

/// Writes a manifest whose entries are made one at a time by `next`,
/// each serialised and dropped before the next is made: a post of a
/// million resources never holds its entries. The bytes are those
/// [`Manifest::write`] writes for the same manifest. `next` may fail: the
/// first error stops the writing and is returned as `Err(Ok(err))`; a
/// write error is `Err(Err(io))`.
pub(crate) fn write_streamed<E>(
    out: &mut dyn std::io::Write,
    head: &Manifest,
    next: impl FnMut() -> Option<Result<Entry, E>>,
) -> Result<(), Result<E, std::io::Error>> {
    use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
    use std::cell::RefCell;

    struct Entries<'a, F, E> {
        next: &'a RefCell<F>,
        failed: &'a RefCell<Option<E>>,
    }
    impl<F: FnMut() -> Option<Result<Entry, E>>, E> Serialize for Entries<'_, F, E> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(None)?;
            let mut next = self.next.borrow_mut();
            while let Some(made) = next() {
                match made {
                    Ok(entry) => seq.serialize_element(&entry)?,
                    Err(err) => {
                        *self.failed.borrow_mut() = Some(err);
                        return Err(S::Error::custom("an entry could not be made"));
                    }
                }
            }
            seq.end()
        }
    }
    struct Streamed<'a, F, E> {
        head: &'a Manifest,
        entries: Entries<'a, F, E>,
    }
    impl<F: FnMut() -> Option<Result<Entry, E>>, E> Serialize for Streamed<'_, F, E> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            // The fields of `Manifest`, in its order.
            let mut st = s.serialize_struct("Manifest", 5)?;
            st.serialize_field("format", &self.head.format)?;
            st.serialize_field("version", &self.head.version)?;
            st.serialize_field("tool", &self.head.tool)?;
            st.serialize_field("post", &self.head.post)?;
            st.serialize_field("resources", &self.entries)?;
            st.end()
        }
    }

    let (next, failed) = (RefCell::new(next), RefCell::new(None));
    let streamed = Streamed {
        head,
        entries: Entries {
            next: &next,
            failed: &failed,
        },
    };
    let written = serde_json::to_writer_pretty(&mut *out, &streamed);
    if let Some(err) = failed.into_inner() {
        return Err(Ok(err));
    }
    written.map_err(|e| Err(std::io::Error::other(e)))?;
    out.write_all(b"\n").map_err(Err)
}

/// A manifest's fields that say which format it is.
trait Headed {
    fn header(&self) -> Header;
}

impl Headed for Manifest {
    fn header(&self) -> Header {
        Header {
            format: self.format.clone(),
            version: self.version,
        }
    }
}

/// A manifest's post, its entries skipped as they are read.
#[derive(Deserialize)]
struct PostOnly {
    format: String,
    version: u32,
    post: PostInfo,
}

impl Headed for PostOnly {
    fn header(&self) -> Header {
        Header {
            format: self.format.clone(),
            version: self.version,
        }
    }
}

/// A manifest as [`Manifest::read_worth_keeping`] reads it.
#[derive(Deserialize)]
struct WorthKeeping {
    format: String,
    version: u32,
    tool: String,
    post: PostInfo,
    resources: Kept,
}

impl Headed for WorthKeeping {
    fn header(&self) -> Header {
        Header {
            format: self.format.clone(),
            version: self.version,
        }
    }
}

/// The entries that carry something, the others dropped as they are read.
struct Kept(Vec<Entry>);

impl<'de> Deserialize<'de> for Kept {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kept, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Kept;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of entries")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Kept, A::Error> {
                let mut kept = Vec::new();
                while let Some(entry) = seq.next_element::<Entry>()? {
                    if entry.carries_something() {
                        kept.push(entry);
                    }
                }
                kept.shrink_to_fit();
                Ok(Kept(kept))
            }
        }
        d.deserialize_seq(Visit)
    }
}

/// Reads a manifest file as `T`, streamed (memory holds what `T` keeps,
/// never the file's bytes); `Ok(None)` when the file does not exist.
fn read_as<T: serde::de::DeserializeOwned + Headed>(
    path: &Path,
) -> Result<Option<T>, ManifestError> {
    let shown = path.display().to_string();
    let open = || match std::fs::File::open(path) {
        Ok(file) => Ok(Some(std::io::BufReader::with_capacity(1 << 16, file))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ManifestError::Read(IoError::new(path, source))),
    };
    let Some(reader) = open()? else {
        return Ok(None);
    };
    let parsed: Result<T, ManifestError> = parse(reader, &shown);
    // The format first: another tool's JSON is named as such, not picked
    // apart field by field (the file is read again for its header only
    // when it did not parse).
    let header = match &parsed {
        Ok(m) => m.header(),
        Err(_) => match open()? {
            Some(reader) => parse::<Header>(reader, &shown)?,
            None => return Ok(None),
        },
    };
    if header.format != FORMAT || !(1..=VERSION).contains(&header.version) {
        return Err(ManifestError::Format {
            path: shown,
            format: header.format,
            version: header.version,
        });
    }
    parsed.map(Some)
}

/// What says which format a JSON file is.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

/// Parses JSON into `T`; the error names the field: `resources[3].status:
/// unknown variant`.
fn parse<T: serde::de::DeserializeOwned>(
    reader: impl std::io::Read,
    shown: &str,
) -> Result<T, ManifestError> {
    let mut json = serde_json::Deserializer::from_reader(reader);
    serde_path_to_error::deserialize(&mut json).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        let message = if field == "." {
            inner.to_string()
        } else {
            format!("field `{field}`: {inner}")
        };
        ManifestError::Parse {
            path: shown.to_string(),
            message,
        }
    })
}

/// `rotproof 0.2.0`, for the manifest's `tool` field.
pub(crate) fn tool() -> String {
    format!("rotproof {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_ignored_and_missing_optionals_default() {
        let json = r#"{"format":"rotproof-manifest","version":1,"tool":"rotproof 9","future":1,
            "post":{"source":"a.md","slug":"a","archived_at":"2026-01-01T00:00:00Z"},
            "resources":[{"url":"https://x.example/","kind":"link","occurrences":[],"status":"failed","new_field":[]}]}"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        std::fs::write(&path, json).unwrap();
        let m = Manifest::read(&path).unwrap().unwrap();
        assert_eq!(m.resources[0].status, Status::Failed);
        assert!(m.resources[0].checks.is_empty());
        m.write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap().unwrap(), m);
    }

    #[test]
    fn a_version_one_manifest_is_read_and_written_back_with_all_it_said() {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/manifest-v1.json"
        );
        let original: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
        let m = Manifest::read(Path::new(fixture)).unwrap().unwrap();
        assert_eq!(m.version, 1);
        assert_eq!(m.resources[0].kind, Kind::Image);
        assert_eq!(m.resources[0].versions.len(), 1);
        assert_eq!(m.post.links, Some(LinksMode::Mirror));
        assert!(
            m.resources
                .iter()
                .any(|e| e.checks.iter().any(|c| c.result == Verdict::Dead))
        );
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("manifest.json");
        m.write(&copy).unwrap();
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&copy).unwrap()).unwrap();
        assert_contains(&written, &original, "");
        assert_eq!(written["version"], 1, "a version-1 manifest stays one");
    }

    /// The golden version-2 manifest, with every field a resource or post
    /// can have: read and written back byte for byte. A field renamed,
    /// dropped or added by accident fails here.
    /// The golden version-2 manifest: its text, and as read.
    const GOLDEN_V2: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/manifest-v2.json"
    );

    fn golden_v2() -> (String, Manifest) {
        let text = std::fs::read_to_string(GOLDEN_V2).unwrap();
        let m = Manifest::read(Path::new(GOLDEN_V2)).unwrap().unwrap();
        (text, m)
    }

    #[test]
    fn a_version_two_manifest_with_every_field_reads_and_writes_byte_for_byte() {
        let (original, m) = golden_v2();
        assert_eq!(m.version, 2);
        assert_eq!(m.post.repair_links, Some(RepairLinks::Archive));
        assert!(m.post.thumbnails.is_some_and(|t| t.size == 320));
        assert_eq!(
            m.resources[1]
                .referer
                .as_ref()
                .map(|r| r.to_string())
                .as_deref(),
            Some("https://mp.weixin.qq.com/")
        );
        assert!(m.resources[1].recovered_from.is_some() && m.resources[2].memento.is_some());
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("manifest.json");
        m.write(&copy).unwrap();
        let written = std::fs::read_to_string(&copy).unwrap();
        assert!(
            written == original,
            "--- written\n{written}\n--- fixture\n{original}"
        );
    }

    #[test]
    fn a_streamed_manifest_is_byte_for_byte_the_written_one() {
        let (original, m) = golden_v2();
        let head = Manifest {
            resources: Vec::new(),
            ..m.clone()
        };
        let mut entries = m.resources.clone().into_iter();
        let mut out = Vec::new();
        write_streamed::<()>(&mut out, &head, || entries.next().map(Ok)).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), original);
        // The first entry that cannot be made stops the writing.
        let mut n = 0;
        let stopped = write_streamed(&mut Vec::new(), &head, || {
            n += 1;
            Some(if n < 2 {
                Ok(m.resources[0].clone())
            } else {
                Err("no")
            })
        });
        assert!(matches!(stopped, Err(Ok("no"))));
    }

    /// Every key of `want`, at any depth, is in `got` with the same value
    /// (`got` may have more).
    fn assert_contains(got: &serde_json::Value, want: &serde_json::Value, at: &str) {
        use serde_json::Value;
        match (got, want) {
            (Value::Object(g), Value::Object(w)) => {
                for (k, v) in w {
                    let here = format!("{at}.{k}");
                    let found = g.get(k).unwrap_or_else(|| panic!("{here} was dropped"));
                    assert_contains(found, v, &here);
                }
            }
            (Value::Array(g), Value::Array(w)) => {
                assert_eq!(g.len(), w.len(), "{at}");
                for (i, (g, w)) in g.iter().zip(w).enumerate() {
                    assert_contains(g, w, &format!("{at}[{i}]"));
                }
            }
            _ => assert_eq!(got, want, "{at}"),
        }
    }

    #[test]
    fn wrong_format_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        std::fs::write(&path, r#"{"format":"other","version":1,"tool":"x","post":{"source":"","slug":"","archived_at":""},"resources":[]}"#).unwrap();
        assert!(matches!(
            Manifest::read(&path),
            Err(ManifestError::Format { .. })
        ));
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            Manifest::read(&path),
            Err(ManifestError::Parse { .. })
        ));
        assert!(
            Manifest::read(&dir.path().join("none.json"))
                .unwrap()
                .is_none()
        );
    }
}
