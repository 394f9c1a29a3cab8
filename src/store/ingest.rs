//! The one way into the store. Downloads and local files alike arrive in
//! an [`Incoming`] file: a temporary file in the destination folder, named
//! so that a later run sweeps it if this one dies, fed chunk by chunk
//! through one [`Digester`] (sha256, size cap, first bytes for sniffing).
//! [`persist_content`] then gives it its content-addressed name.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;

use tempfile::NamedTempFile;

use super::{IoError, at, parent_or_dot, temp_in, temp_names};
use crate::digest::{Digested, Digester, OverCap, Sha256, hash_reader};

/// A file being written into the store.
#[derive(Debug)]
pub struct Incoming {
    temp: NamedTempFile,
    digest: Digester,
}

/// A finished incoming file: still under its temporary name (removed when
/// dropped, unless persisted), with its digest.
#[derive(Debug)]
pub struct Ingested {
    pub file: NamedTempFile,
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
    /// A new temporary file in `dir` that takes at most `max` bytes.
    pub fn new(dir: &Path, max: u64) -> Result<Incoming, IoError> {
        Ok(Incoming {
            temp: temp_in(dir)?,
            digest: Digester::new(max),
        })
    }

    /// Hashes and counts a chunk; the caller writes it (see
    /// [`Incoming::writer`]) only when it is accepted.
    pub fn accept(&mut self, chunk: &[u8]) -> Result<(), OverCap> {
        self.digest.update(chunk)
    }

    /// A second handle on the temporary file, for writing from async code.
    pub fn writer(&self) -> Result<File, IoError> {
        self.temp.reopen().map_err(at(self.temp.path()))
    }

    /// Accepts and writes a chunk (from blocking code).
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), IngestError> {
        self.accept(chunk).map_err(IngestError::TooLarge)?;
        let path = self.temp.path().to_path_buf();
        self.temp.write_all(chunk).map_err(at(&path))?;
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

    /// The bytes are all in: the file and its digest. Not synced: whoever
    /// keeps it syncs it ([`persist_content`]).
    pub fn finish(self) -> Ingested {
        Ingested {
            file: self.temp,
            digest: self.digest.finish(),
        }
    }
}

/// Moves an ingested file to `path`, whose name is its sha256's, unless a
/// file with that content is already there (then the temporary file is
/// dropped, never synced). A file under the name with other bytes
/// (corrupted on disk) is replaced. Returns whether it was written.
///
/// Durability is [`super::PostDir::sync_contents`]'s, before the manifest
/// that names the file: on Linux one `syncfs` for all of a post's files
/// instead of one fsync each (a run killed at any moment still leaves no
/// partial file under a final name: the bytes are all written before the
/// rename; after a power cut a file no manifest names may be short, and
/// its name not matching its bytes, the next run replaces it).
pub fn persist_content(ingested: Ingested, path: &Path) -> Result<bool, IoError> {
    if holds(path, &ingested.digest.sha256) {
        return Ok(false);
    }
    let temp = ingested.file;
    #[cfg(not(target_os = "linux"))]
    temp.as_file().sync_all().map_err(at(path))?;
    temp.persist(path).map_err(|e| at(path)(e.error))?;
    Ok(true)
}

/// Whether the file at `path` has the content `sha256`.
fn holds(path: &Path, sha256: &Sha256) -> bool {
    File::open(path)
        .and_then(hash_reader)
        .is_ok_and(|h| &h == sha256)
}

/// Places a copy of `from` at `to` (a hard link where possible), atomically,
/// unless `to` already holds the content `sha256`. Used when posts share a
/// file: each post folder stays self-contained.
pub fn copy_into(from: &Path, to: &Path, sha256: &Sha256) -> Result<(), IoError> {
    if from == to || holds(to, sha256) {
        return Ok(());
    }
    // A hard link copies nothing and allocates no inode: on a blog where
    // hundreds of posts share files, creating (and deleting) a placeholder
    // file per copy was most of the run, spent in the kernel's inode
    // allocator. link(2) is atomic, so a free name is linked directly; a
    // name holding other bytes is replaced by a link under a temporary
    // name and a rename.
    let dir = parent_or_dot(to);
    let linked = match fs::hard_link(from, to) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            temp_names().make_in(dir, |path| fs::hard_link(from, path))
        }
        Err(err) => Err(err),
    };
    if let Ok(linked) = linked {
        linked.persist(to).map_err(|e| at(to)(e.error))?;
        return Ok(());
    }
    // No links here (another filesystem, or one without them): a copy.
    let temp = temp_in(dir)?;
    fs::copy(from, temp.path()).map_err(at(to))?;
    temp.as_file().sync_all().map_err(at(to))?;
    temp.persist(to).map_err(|e| at(to)(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha_x() -> Sha256 {
        Sha256::of(b"x")
    }

    fn ingest(dir: &Path, bytes: &[u8]) -> Ingested {
        Incoming::new(dir, 100)
            .unwrap()
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
    fn over_the_cap_nothing_comes_in() {
        let dir = tempfile::tempdir().unwrap();
        let got = Incoming::new(dir.path(), 3)
            .unwrap()
            .copy_from(&b"abcd"[..], Path::new("test"));
        assert!(matches!(
            got,
            Err(IngestError::TooLarge(OverCap { max: 3 }))
        ));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn copies_are_links_and_corrupt_copies_are_replaced() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        let sha = sha_x();
        let (from, to) = (a.join("h"), b.join("h"));
        fs::write(&from, b"x").unwrap();
        let ino = |p: &Path| fs::metadata(p).unwrap().ino();

        // A free name: linked, the same inode.
        copy_into(&from, &to, &sha).unwrap();
        assert_eq!(ino(&to), ino(&from));
        // Already there with the right bytes: left alone.
        copy_into(&from, &to, &sha).unwrap();
        assert_eq!(ino(&to), ino(&from));
        // Other bytes under the name (a separate, corrupt file): replaced.
        fs::remove_file(&to).unwrap();
        fs::write(&to, b"corrupt").unwrap();
        assert_ne!(ino(&to), ino(&from));
        copy_into(&from, &to, &sha).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"x");
        assert_eq!(ino(&to), ino(&from));
        let names: Vec<_> = fs::read_dir(&b)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["h"], "no temporary file is left");
    }
}
