//! Offline bundles of an archived post: `.zip` and `.tar.gz`/`.tgz` (a
//! folder `<slug>/` with index.html, index.md, source.md, manifest.json,
//! assets/, thumbs/), or one self-contained `.html`.
//!
//! Archives are reproducible: entries sorted, fixed timestamps, owners and
//! permissions, so the same archived post always gives the same bytes.
//! Output is written to a temporary file beside it and renamed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;

use crate::digest::{Sha256, hash_reader};
use crate::manifest::{Kind, Manifest, ManifestError, Status};
use crate::post::Post;
use crate::reference::{Quote, Syntax};
use crate::render;
use crate::rewrite;
use crate::store::{self, IoError, Layout, PostDir};

/// A bundle's form, from the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Zip,
    TarGz,
    Html,
}

/// The extensions `bundle -o` accepts, for messages.
pub(crate) const FORMS: &str = ".zip, .tar.gz, .tgz, .html";

impl Form {
    pub(crate) fn of(path: &Path) -> Option<Form> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".zip") {
            Some(Form::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Form::TarGz)
        } else if name.ends_with(".html") || name.ends_with(".htm") {
            Some(Form::Html)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum BundleError {
    #[error("{}: not an archived post folder (no manifest.json)", .0.display())]
    NotArchived(PathBuf),
    #[error("{}: manifest.json names files that are missing: {}", .dir.display(), .missing.join(", "))]
    Missing { dir: PathBuf, missing: Vec<String> },
    #[error("{}: index.md is not a readable post: {reason}", .dir.display())]
    Index { dir: PathBuf, reason: String },
    #[error("the manifest names {path}, which is refused: {reason}")]
    Untrusted { path: String, reason: String },
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Open(#[from] store::OpenError),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |source| BundleError::Io(IoError::new(path, source))
}

/// Fixed permissions and times: bundles are reproducible.
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

/// Writes the bundle of the archived post in `dir` to `out`. `on_temp` is
/// told the temporary file's path as soon as it exists, so a caller that
/// is interrupted can remove it.
pub(crate) fn bundle(
    dir: &Path,
    out: &Path,
    form: Form,
    on_temp: &dyn Fn(&Path),
) -> Result<(), BundleError> {
    let lock = PostDir::read_only(dir)?;
    let layout = lock.layout();
    // What a bundle shows of an entry that was never archived is its URL,
    // which the page has: only the others are read into memory.
    let manifest = Manifest::read_worth_keeping(&lock.manifest_path())?
        .ok_or_else(|| BundleError::NotArchived(dir.to_path_buf()))?;
    let named = named_files(&manifest);
    let own = [store::INDEX, layout.source()].map(str::to_string);
    let missing: Vec<String> = named
        .keys()
        .chain(&own)
        .filter(|rel| !dir.join(rel).is_file())
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(BundleError::Missing {
            dir: dir.to_path_buf(),
            missing,
        });
    }
    for (rel, sha) in &named {
        check_file(dir, rel, Some(sha))?;
    }
    for rel in [store::INDEX, layout.source(), layout.manifest()] {
        check_file(dir, rel, None)?;
    }
    let files: BTreeSet<String> = named.into_keys().collect();
    let index_path = dir.join(store::INDEX);
    let index = std::fs::read(&index_path).map_err(io_at(&index_path))?;
    let post = Post::parse_to_show(index).map_err(|e| BundleError::Index {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    // A version-1 manifest does not record the source: its source.md says.
    let source_url = manifest.post.source_url.clone().or_else(|| {
        std::fs::read(dir.join(layout.source()))
            .ok()
            .and_then(|bytes| Post::parse(bytes).ok())
            .and_then(|p| p.source_url())
    });
    let (links, policy) = match form {
        Form::Html => (render::Links::ToOriginals, render::POLICY_SELF_CONTAINED),
        Form::Zip | Form::TarGz => (render::Links::ToCopies, render::POLICY_FILES),
    };
    let page_options = render::Page {
        manifest: &manifest,
        source_url: source_url.as_deref(),
        links,
        policy,
    };
    let slug = store::sanitise_slug(&manifest.post.slug).unwrap_or_else(|| "post".to_string());

    let out_dir = store::parent_or_dot(out);
    store::sweep_unlocked_temps(out_dir);
    // A bundle killed before it finished leaves its temporary file in the
    // output folder, outside any post: the next bundle there removes it.
    let mut temp = store::temp_in(out_dir)?;
    on_temp(temp.path());
    match form {
        Form::Html => {
            // Streamed: each part of the page, its images embedded, goes
            // to the file as it is made.
            let embedded = Embedded::new(dir, &manifest);
            let mut file = io::BufWriter::with_capacity(1 << 16, temp.as_file_mut());
            render::write_page(&post, &page_options, &mut |part| {
                embedded.write(part, &mut file, out)
            })?;
            file.flush().map_err(io_at(out))?;
        }
        Form::Zip | Form::TarGz => {
            let page = render::page(&post, &page_options);
            let write = if form == Form::Zip {
                write_zip
            } else {
                write_tar_gz
            };
            let mut output = Output::new(temp.as_file_mut());
            let written = write(
                &mut output,
                dir,
                &Tree::new(dir, layout, &slug, &page, &files),
            );
            output.result(out, written)?;
        }
    }
    temp.as_file().sync_all().map_err(io_at(out))?;
    temp.persist(out).map_err(|e| io_at(out)(e.error))?;
    Ok(())
}

/// Every stored file the manifest names, with the sha256 each must have,
/// sorted.
fn named_files(manifest: &Manifest) -> BTreeMap<String, Sha256> {
    manifest
        .stored_files()
        .into_iter()
        .map(|f| (f.path.clone(), f.sha256.clone()))
        .collect()
}

/// Checks that a path a manifest names is a plain relative path inside the
/// post folder, reached through no symlink, and (with `sha256`) holds those
/// bytes. A manifest is a file anyone may have edited: it must not make a
/// bundle carry `/etc/hostname`, `../secret`, or what a planted link points
/// at, nor give an archive entry a `..` name.
fn check_file(dir: &Path, rel: &str, sha256: Option<&Sha256>) -> Result<(), BundleError> {
    let untrusted = |reason: &str| BundleError::Untrusted {
        path: rel.to_string(),
        reason: reason.to_string(),
    };
    let at = store::inside(dir, rel).map_err(|refusal| untrusted(&refusal.to_string()))?;
    if let Some(want) = sha256 {
        let file = std::fs::File::open(&at).map_err(io_at(&at))?;
        let got =
            hash_reader(std::io::BufReader::with_capacity(1 << 20, file)).map_err(io_at(&at))?;
        if &got != want {
            return Err(untrusted("its bytes are not the ones the manifest names"));
        }
    }
    Ok(())
}

/// Where an entry's bytes come from.
enum Content<'a> {
    Bytes(&'a [u8]),
    File(PathBuf),
}

/// The bundle folder `<slug>/`: its folders and files, each sorted, so
/// every form lists them in the same order.
struct Tree<'a> {
    /// `<slug>/`, `<slug>/assets/`, ...
    folders: BTreeSet<String>,
    /// (`<slug>/name`, content)
    files: Vec<(String, Content<'a>)>,
}

impl<'a> Tree<'a> {
    fn new(
        dir: &Path,
        layout: Layout,
        slug: &str,
        page: &'a str,
        stored: &BTreeSet<String>,
    ) -> Tree<'a> {
        let mut files: Vec<(String, Content<'a>)> =
            vec![("index.html".to_string(), Content::Bytes(page.as_bytes()))];
        for name in [store::INDEX, layout.source(), layout.manifest()] {
            files.push((name.to_string(), Content::File(dir.join(name))));
        }
        for rel in stored {
            files.push((rel.clone(), Content::File(dir.join(rel))));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut folders = BTreeSet::from([format!("{slug}/")]);
        for (name, _) in &files {
            if let Some((parent, _)) = name.rsplit_once('/') {
                folders.insert(format!("{slug}/{parent}/"));
            }
        }
        let files = files
            .into_iter()
            .map(|(name, c)| (format!("{slug}/{name}"), c))
            .collect();
        Tree { folders, files }
    }
}

fn open<'a>(content: &Content<'a>) -> Result<Box<dyn Read + 'a>, BundleError> {
    Ok(match content {
        Content::Bytes(b) => Box::new(*b),
        Content::File(path) => Box::new(std::fs::File::open(path).map_err(io_at(path))?),
    })
}

/// Already-compressed formats are stored, the rest deflated.
fn compressed(name: &str) -> bool {
    [".jpg", ".png", ".gif", ".webp", ".avif", ".pdf", ".bin"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// The bundle's temporary file as the archive writers see it. The first
/// error writing it (a full disk) is kept, to be reported naming the
/// output file, and every later write or seek is a no-op: the zip writer's
/// own clean-up when it is dropped then has nothing to fail at (it printed
/// its own message, `ZipWriter::drop: failed to finalize archive`).
struct Output<'a> {
    file: &'a mut std::fs::File,
    failed: Option<io::Error>,
    /// Where a write goes, and the end of what was written: kept after a
    /// failure too, so the writers' bookkeeping stays consistent.
    pos: u64,
    len: u64,
}

impl<'a> Output<'a> {
    fn new(file: &'a mut std::fs::File) -> Output<'a> {
        Output {
            file,
            failed: None,
            pos: 0,
            len: 0,
        }
    }

    fn advance(&mut self, n: usize) {
        self.pos += n as u64;
        self.len = self.len.max(self.pos);
    }

    /// What writing the bundle came to: a write error names the output
    /// file; any other error is the writer's own.
    fn result(self, out: &Path, written: Result<(), BundleError>) -> Result<(), BundleError> {
        match self.failed {
            Some(err) => Err(io_at(out)(err)),
            None => written,
        }
    }

    fn fail(&mut self, err: io::Error) -> io::Error {
        let echo = io::Error::new(err.kind(), err.to_string());
        self.failed.get_or_insert(err);
        echo
    }
}

impl io::Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed.is_some() {
            self.advance(buf.len());
            return Ok(buf.len());
        }
        let n = self.file.write(buf).map_err(|e| self.fail(e))?;
        self.advance(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed.is_some() {
            return Ok(());
        }
        self.file.flush().map_err(|e| self.fail(e))
    }
}

impl io::Seek for Output<'_> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        if self.failed.is_some() {
            let at = match to {
                io::SeekFrom::Start(n) => Some(n),
                io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
                io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            };
            self.pos = at.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
            return Ok(self.pos);
        }
        let at = self.file.seek(to).map_err(|e| self.fail(e))?;
        self.pos = at;
        self.len = self.len.max(at);
        Ok(at)
    }
}

fn write_zip(out: &mut Output<'_>, dir: &Path, layout: &Tree<'_>) -> Result<(), BundleError> {
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, DateTime, ZipWriter};
    let zip_err = |e: zip::result::ZipError| io_at(dir)(io::Error::other(e));
    let base = SimpleFileOptions::default().last_modified_time(DateTime::DEFAULT);
    let mut zip = ZipWriter::new(out);
    for folder in &layout.folders {
        zip.add_directory(folder.as_str(), base.unix_permissions(DIR_MODE))
            .map_err(zip_err)?;
    }
    for (name, content) in &layout.files {
        let method = if compressed(name) {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        zip.start_file(
            name.as_str(),
            base.compression_method(method).unix_permissions(FILE_MODE),
        )
        .map_err(zip_err)?;
        io::copy(&mut open(content)?, &mut zip).map_err(io_at(dir))?;
    }
    zip.finish().map_err(zip_err)?;
    Ok(())
}

fn write_tar_gz(out: &mut Output<'_>, dir: &Path, layout: &Tree<'_>) -> Result<(), BundleError> {
    // A fixed gzip header: no name, no time, "unknown" OS.
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let header = |size: u64, mode: u32, kind: tar::EntryType| {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(kind);
        h
    };
    for folder in &layout.folders {
        let mut h = header(0, DIR_MODE, tar::EntryType::Directory);
        tar.append_data(&mut h, folder, io::empty())
            .map_err(io_at(dir))?;
    }
    for (name, content) in &layout.files {
        let size = match content {
            Content::Bytes(b) => b.len() as u64,
            Content::File(path) => std::fs::metadata(path).map_err(io_at(path))?.len(),
        };
        let mut h = header(size, FILE_MODE, tar::EntryType::Regular);
        tar.append_data(&mut h, name, open(content)?)
            .map_err(io_at(dir))?;
    }
    let gz = tar.into_inner().map_err(io_at(dir))?;
    gz.finish().map_err(io_at(dir))?;
    Ok(())
}

/// The single-file form: every archived image and media file as a `data:`
/// URI, so the page shows everything with the network off. An image or
/// media file that was never archived gets an offline placeholder naming
/// its original URL, never a live request. A copy of a linked page is not
/// embedded: browsers refuse to open `data:text/html` links, so links keep
/// their original URL.
struct Embedded<'a> {
    dir: &'a Path,
    /// Archived images and media by path, with their media type.
    by_path: HashMap<&'a str, &'a str>,
}

impl<'a> Embedded<'a> {
    fn new(dir: &'a Path, manifest: &'a Manifest) -> Embedded<'a> {
        let by_path = manifest
            .resources
            .iter()
            .filter(|e| e.status == Status::Archived && e.kind.is_embedded())
            .filter_map(|e| Some((e.path.as_deref()?, e.media_type.as_deref()?)))
            .collect();
        Embedded { dir, by_path }
    }

    /// Writes one part of the page (whole HTML: no tag spans two parts)
    /// with its images embedded. Each file is encoded straight from disk
    /// into the output, as often as the page shows it: memory holds no
    /// image, however many and large.
    fn write(&self, part: &str, to: &mut impl Write, out: &Path) -> Result<(), BundleError> {
        let mut found: Vec<_> = crate::post::url_attributes(part)
            .into_iter()
            .filter(|f| f.kind != Kind::Link && !f.url.starts_with("data:"))
            .filter_map(|f| Some((f.span.clone()?, f)))
            .collect();
        found.sort_by_key(|(span, _)| span.start);
        let mut at = 0;
        for (span, found) in found {
            if span.start < at || span.end > part.len() {
                continue;
            }
            to.write_all(&part.as_bytes()[at..span.start])
                .map_err(io_at(out))?;
            at = span.end;
            let quoted = matches!(
                found.syntax,
                Syntax::HtmlAttribute(Quote::Double | Quote::Single)
            );
            let text = match self.by_path.get(found.url.as_str()) {
                // base64 needs no escaping inside quotes: streamed.
                Some(media_type) if quoted => {
                    self.stream(&found.url, media_type, to, out)?;
                    continue;
                }
                Some(media_type) => {
                    let path = self.dir.join(&found.url);
                    let bytes = std::fs::read(&path).map_err(io_at(&path))?;
                    let uri = format!(
                        "data:{media_type};base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(bytes)
                    );
                    rewrite::encode(&found.syntax, span.clone(), &uri)
                }
                None if found.kind == Kind::Image => rewrite::encode(
                    &found.syntax,
                    span.clone(),
                    &offline_placeholder(&found.url),
                ),
                // An empty media source: the player shows nothing, and asks
                // nothing of the network.
                None => rewrite::encode(&found.syntax, span.clone(), "data:,"),
            };
            let text = text.map_or_else(|| part[span].to_string(), |edit| edit.text);
            to.write_all(text.as_bytes()).map_err(io_at(out))?;
        }
        to.write_all(&part.as_bytes()[at..]).map_err(io_at(out))
    }

    /// `data:<type>;base64,` and the file's bytes, encoded as they are read.
    fn stream(
        &self,
        rel: &str,
        media_type: &str,
        to: &mut impl Write,
        out: &Path,
    ) -> Result<(), BundleError> {
        let path = self.dir.join(rel);
        let mut file = std::fs::File::open(&path).map_err(io_at(&path))?;
        write!(to, "data:{media_type};base64,").map_err(io_at(out))?;
        let mut encoder =
            base64::write::EncoderWriter::new(to, &base64::engine::general_purpose::STANDARD);
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf).map_err(io_at(&path))?;
            if n == 0 {
                break;
            }
            encoder.write_all(&buf[..n]).map_err(io_at(out))?;
        }
        encoder.finish().map_err(io_at(out))?;
        Ok(())
    }
}

/// A grey box saying the image was not archived, with its URL, as an SVG
/// `data:` URI: still an image that loads, with nothing to fetch.
fn offline_placeholder(url: &str) -> String {
    let shown: String = if url.chars().count() > 64 {
        url.chars().take(63).chain(['…']).collect()
    } else {
        url.to_string()
    };
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='480' height='90' viewBox='0 0 480 90'>\
         <rect width='480' height='90' fill='#eee' stroke='#bbb'/>\
         <text x='12' y='36' font-family='sans-serif' font-size='15' fill='#555'>Image not archived (offline)</text>\
         <text x='12' y='64' font-family='monospace' font-size='11' fill='#777'>{}</text></svg>",
        html_escape::encode_text(&shown)
    );
    format!(
        "data:image/svg+xml,{}",
        percent_encoding::utf8_percent_encode(&svg, percent_encoding::NON_ALPHANUMERIC)
    )
}
