//! The one way into the store. Downloads and local files alike arrive in
//! an [`Incoming`]: fed chunk by chunk through one [`Digester`] (sha256,
//! size cap, first bytes for sniffing), held in memory while small and in
//! a temporary file in the destination folder beyond that (named so that
//! a later run sweeps it if this one dies). [`persist_content`] then gives
//! it its content-addressed name.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::{IoError, at, parent_or_dot, temp_in, temp_names};
use crate::digest::{Digested, Digester, OverCap, Sha256, hash_reader};

/// A body up to this size is held in memory until it is stored. Creating
/// a file is the costliest step of a small download (the inode allocator),
/// so a small body gets a file only when its content is new, and the host's
/// connection slot is never held while one is made. The bound is per body
/// in flight: `--concurrency` of them at most.
pub const IN_MEMORY: usize = 64 * 1024;

/// Where a body's bytes are until they are stored.
#[derive(Debug)]
pub enum Held {
    /// A small body, whole.
    Memory(Vec<u8>),
    /// A temporary file in the destination folder.
    File(NamedTempFile),
}

/// A body being received into the store: in `memory` until it outgrows
/// it, then in `file`.
#[derive(Debug)]
pub struct Incoming {
    dir: PathBuf,
    memory: Vec<u8>,
    file: Option<NamedTempFile>,
    digest: Digester,
}

/// A body received whole, with its digest: in memory or under a temporary
/// name (removed when dropped, unless persisted).
#[derive(Debug)]
pub struct Ingested {
    pub held: Held,
    pub digest: Digested,
}

/// Why a file did not come in.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Over `--max-bytes`: not an error of ours, the resource fails.
    #[error("over --max-bytes {}", .0.max)]
    TooLarge(OverCap),
    #[error(transparent)]
    Io(#[from] IoError),
}

impl Incoming {
    /// A body for `dir` that takes at most `max` bytes. Nothing is created
    /// until the body outgrows [`IN_MEMORY`].
    pub fn new(dir: &Path, max: u64) -> Incoming {
        Incoming {
            dir: dir.to_path_buf(),
            memory: Vec::new(),
            file: None,
            digest: Digester::new(max),
        }
    }

    /// Hashes and counts a chunk; the caller then keeps it ([`Self::keep`])
    /// or writes it to the file ([`Self::spill`]) only when it is accepted.
    pub fn accept(&mut self, chunk: &[u8]) -> Result<(), OverCap> {
        self.digest.update(chunk)
    }

    /// Keeps an accepted chunk in memory, if the body is still there and
    /// the chunk fits; false when it must go to a file instead.
    pub fn keep(&mut self, chunk: &[u8]) -> bool {
        let fits = self.file.is_none() && self.memory.len() + chunk.len() <= IN_MEMORY;
        if fits {
            self.memory.extend_from_slice(chunk);
        }
        fits
    }

    /// Moves the body to a temporary file in its folder, once: a second
    /// handle on that file, for writing from async code, and the bytes held
    /// so far, which the caller writes first.
    pub fn spill(&mut self) -> Result<(File, Vec<u8>), IoError> {
        let temp = temp_in(&self.dir)?;
        let file = temp.reopen().map_err(at(temp.path()))?;
        self.file = Some(temp);
        Ok((file, std::mem::take(&mut self.memory)))
    }

    /// Accepts and keeps or writes a chunk (from blocking code).
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), IngestError> {
        self.accept(chunk).map_err(IngestError::TooLarge)?;
        if self.keep(chunk) {
            return Ok(());
        }
        let temp = match &mut self.file {
            Some(temp) => temp,
            None => {
                let mut temp = temp_in(&self.dir)?;
                temp.write_all(&self.memory).map_err(at(temp.path()))?;
                self.memory = Vec::new();
                self.file.insert(temp)
            }
        };
        temp.write_all(chunk).map_err(at(&self.dir))?;
        Ok(())
    }

    /// Copies all of `reader` in, from blocking code. `source` names the
    /// reader in a read error.
    pub fn copy_from(
        mut self,
        mut reader: impl Read,
        source: &Path,
    ) -> Result<Ingested, IngestError> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(at(source))?;
            if n == 0 {
                return Ok(self.finish());
            }
            self.write(&buf[..n])?;
        }
    }

    /// The bytes are all in: where they are, and their digest. Not synced:
    /// whoever keeps them syncs them ([`persist_content`]).
    pub fn finish(self) -> Ingested {
        let held = match self.file {
            Some(temp) => Held::File(temp),
            None => Held::Memory(self.memory),
        };
        Ingested {
            held,
            digest: self.digest.finish(),
        }
    }
}

impl Ingested {
    /// Reads the bytes (from blocking code), wherever they are held.
    pub fn with_reader<T>(&self, read: impl FnOnce(&mut dyn ReadSeek) -> T) -> io::Result<T> {
        match &self.held {
            Held::Memory(bytes) => Ok(read(&mut Cursor::new(bytes.as_slice()))),
            Held::File(temp) => Ok(read(&mut BufReader::new(File::open(temp.path())?))),
        }
    }
}

impl Ingested {
    /// The copy of an SVG body that a post folder may publish (see
    /// [`crate::svg`]), received in `dir` like any body; `None` when the
    /// body has nothing to remove and is served as fetched. A file that is
    /// not readable XML is served as an empty picture. The copy is bounded
    /// by twice the body (entity expansion can only grow it so far).
    pub(crate) fn sanitised_svg(&self, dir: &Path) -> Result<Option<Ingested>, IoError> {
        let cap = self
            .digest
            .bytes
            .saturating_mul(2)
            .saturating_add(64 * 1024);
        let mut copy = Incoming::new(dir, cap);
        let outcome = self
            .with_reader(|input| crate::svg::sanitise(input, IncomingWriter(&mut copy), cap))
            .map_err(at(dir))?;
        let empty = || {
            let mut empty = Incoming::new(dir, cap);
            empty
                .write(crate::svg::EMPTY)
                .map_err(IngestError::into_io)?;
            Ok(Some(empty.finish()))
        };
        match outcome {
            Ok(crate::svg::Sanitised::Clean) => Ok(None),
            Ok(crate::svg::Sanitised::Cleaned { .. }) => Ok(Some(copy.finish())),
            Ok(crate::svg::Sanitised::Unreadable(_)) => empty(),
            // Over the bound: nothing of it is served.
            Err(err) if err.kind() == io::ErrorKind::FileTooLarge => empty(),
            Err(err) => Err(IoError::new(dir, err)),
        }
    }
}

/// Writes into an [`Incoming`], for code that takes a writer.
struct IncomingWriter<'a>(&'a mut Incoming);

impl Write for IncomingWriter<'_> {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        match self.0.write(chunk) {
            Ok(()) => Ok(chunk.len()),
            Err(IngestError::TooLarge(over)) => Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("over {} bytes", over.max),
            )),
            Err(IngestError::Io(err)) => Err(io::Error::other(err.to_string())),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl IngestError {
    fn into_io(self) -> IoError {
        match self {
            IngestError::Io(err) => err,
            IngestError::TooLarge(over) => IoError::new(
                Path::new("."),
                io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    format!("over {} bytes", over.max),
                ),
            ),
        }
    }
}

/// What an image decoder reads from.
pub trait ReadSeek: io::BufRead + io::Seek {}
impl<T: io::BufRead + io::Seek> ReadSeek for T {}

/// Moves an ingested body to `path`, whose name is its sha256's, unless a
/// file with that content is already there (then a temporary file is
/// dropped, never synced, and a body in memory never becomes a file). A
/// file under the name with other bytes (corrupted on disk) is replaced.
/// Returns whether it was written.
///
/// Durability is [`super::sync`]'s (or [`super::PostDir::sync_contents`]'s,
/// for `check --repair`), before the manifest that names the file: on
/// Linux one `syncfs` for all of a run's files instead of one fsync each (a run killed at any moment still leaves no
/// partial file under a final name: the bytes are all written before the
/// rename; after a power cut a file no manifest names may be short, and
/// its name not matching its bytes, the next run replaces it).
pub fn persist_content(ingested: Ingested, path: &Path) -> Result<bool, IoError> {
    if holds(path, &ingested.digest.sha256) {
        return Ok(false);
    }
    let temp = match ingested.held {
        Held::File(temp) => temp,
        Held::Memory(bytes) => return super::write_stored(path, &bytes).map(|()| true),
    };
    super::durable::file_written(temp.as_file()).map_err(at(path))?;
    temp.persist(path).map_err(|e| at(path)(e.error))?;
    Ok(true)
}

/// A body stored in a post folder: the file the post shows, and the bytes
/// as fetched when that file is not them.
#[derive(Debug)]
pub(crate) struct Persisted {
    pub served: (Sha256, u64),
    pub original: Option<(Sha256, u64)>,
    /// Whether the file the post shows was written (it was not there).
    pub written: bool,
}

/// Stores `body` in the post folder `home` as `<folder>/<sha256>.<ext>`.
/// An SVG that goes to the published folder (`assets/`: shown, or a file
/// beside the post that is linked) is published as the copy without what
/// could run or fetch ([`Ingested::sanitised_svg`]), and the bytes as
/// fetched go to `.rotproof/originals/` when they differ: what `assets/`
/// holds never runs on the site's origin, whoever named it.
pub(crate) fn persist_in(
    body: Ingested,
    home: &Path,
    folder: &str,
    ext: &str,
) -> Result<Persisted, IoError> {
    let fetched = (body.digest.sha256.clone(), body.digest.bytes);
    let served = match ext == "svg" && folder == super::ASSETS {
        true => body.sanitised_svg(&home.join(folder))?,
        false => None,
    };
    let Some(served) = served else {
        let written = persist_content(body, &home.join(format!("{folder}/{}.{ext}", fetched.0)))?;
        return Ok(Persisted {
            served: fetched,
            original: None,
            written,
        });
    };
    let shown = (served.digest.sha256.clone(), served.digest.bytes);
    let written = persist_content(served, &home.join(format!("{folder}/{}.{ext}", shown.0)))?;
    let originals = super::Layout::CURRENT.originals();
    let kept = super::paths::folder_inside(home, originals).map_err(at(&home.join(originals)))?;
    persist_content(body, &kept.join(format!("{}.{ext}", fetched.0)))?;
    Ok(Persisted {
        served: shown,
        original: Some(fetched),
        written,
    })
}

/// Whether the file at `path` has the content `sha256`.
fn holds(path: &Path, sha256: &Sha256) -> bool {
    File::open(path)
        .and_then(hash_reader)
        .is_ok_and(|h| &h == sha256)
}

/// Places a copy of `from` at `to`, atomically, unless `to` already holds
/// the content `sha256`. Used when posts share a file: each post folder
/// stays self-contained, and its files are its own — a copy-on-write
/// clone where the filesystem has them (btrfs, XFS, APFS), else a copy,
/// never a hard link: a user who edits one post's file in place must not
/// change every other post's.
pub fn copy_into(from: &Path, to: &Path, sha256: &Sha256) -> Result<(), IoError> {
    if from == to || holds(to, sha256) {
        return Ok(());
    }
    let dir = parent_or_dot(to);
    let copied = temp_names()
        .make_in(dir, |path| {
            reflink_copy::reflink_or_copy(from, path).map(|_| ())
        })
        .map_err(at(to))?;
    File::open(copied.path())
        .and_then(|f| super::durable::file_written(&f))
        .map_err(at(to))?;
    copied.persist(to).map_err(|e| at(to)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn sha_x() -> Sha256 {
        Sha256::of(b"x")
    }

    fn ingest(dir: &Path, bytes: &[u8]) -> Ingested {
        Incoming::new(dir, 100)
            .copy_from(bytes, Path::new("test"))
            .unwrap()
    }

    #[test]
    fn content_is_persisted_once_and_a_corrupt_copy_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("h");
        assert!(persist_content(ingest(dir.path(), b"x"), &h).unwrap());
        assert!(!persist_content(ingest(dir.path(), b"x"), &h).unwrap());
        fs::write(&h, b"corrupt").unwrap();
        assert!(persist_content(ingest(dir.path(), b"x"), &h).unwrap());
        assert_eq!(fs::read(&h).unwrap(), b"x");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_small_body_stays_in_memory_and_a_large_one_goes_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let small = ingest(dir.path(), b"x");
        assert!(matches!(small.held, Held::Memory(ref b) if b == b"x"));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "no file yet");

        let big: Vec<u8> = (0..3 * IN_MEMORY + 10).map(|i| (i % 251) as u8).collect();
        let large = Incoming::new(dir.path(), u64::MAX)
            .copy_from(&big[..], Path::new("test"))
            .unwrap();
        let Held::File(temp) = &large.held else {
            panic!("over {IN_MEMORY} bytes, a file");
        };
        assert_eq!(
            fs::read(temp.path()).unwrap(),
            big,
            "what was held, then the rest"
        );
        let read = large.with_reader(|r| {
            let mut all = Vec::new();
            r.read_to_end(&mut all).map(|_| all)
        });
        assert_eq!(read.unwrap().unwrap(), big);
    }

    #[test]
    fn a_small_body_whose_content_is_stored_never_becomes_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let h = dir.path().join("h");
        assert!(persist_content(ingest(dir.path(), b"x"), &h).unwrap());
        let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&fs::metadata(p).unwrap());
        let first = inode(&h);
        assert!(!persist_content(ingest(dir.path(), b"x"), &h).unwrap());
        assert_eq!(inode(&h), first, "the stored file untouched");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn over_the_cap_nothing_comes_in() {
        let dir = tempfile::tempdir().unwrap();
        let got = Incoming::new(dir.path(), 3).copy_from(&b"abcd"[..], Path::new("test"));
        assert!(matches!(
            got,
            Err(IngestError::TooLarge(OverCap { max: 3 }))
        ));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn copies_are_files_of_their_own_and_corrupt_copies_are_replaced() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        let sha = sha_x();
        let (from, to) = (a.join("h"), b.join("h"));
        fs::write(&from, b"x").unwrap();
        let ino = |p: &Path| fs::metadata(p).unwrap().ino();

        // A free name: a copy, never the same inode.
        copy_into(&from, &to, &sha).unwrap();
        assert_ne!(ino(&to), ino(&from));
        assert_eq!(fs::read(&to).unwrap(), b"x");
        // Already there with the right bytes: left alone.
        let first = ino(&to);
        copy_into(&from, &to, &sha).unwrap();
        assert_eq!(ino(&to), first);
        // Other bytes under the name (a separate, corrupt file): replaced.
        fs::remove_file(&to).unwrap();
        fs::write(&to, b"corrupt").unwrap();
        assert_ne!(ino(&to), ino(&from));
        copy_into(&from, &to, &sha).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"x");
        assert_ne!(ino(&to), ino(&from));
        let names: Vec<_> = fs::read_dir(&b)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["h"], "no temporary file is left");
    }
}
