//! The archive on disk: one folder per post, content-addressed assets and
//! thumbnails, and every file written under a temporary name, synced, then
//! renamed, so a run killed at any moment leaves no partial file under a
//! final name.
//!
//! Durability across a power cut: each file is synced before its rename;
//! the `assets/` and `thumbs/` folders, where hundreds of renames happen,
//! are synced once ([`PostDir::sync_contents`]) before the manifest and
//! index.md that name their files, which are renamed and their folder
//! synced one by one. A folder sync per asset cost 400 fsyncs on the
//! benchmark post, half of them on the thumbnail workers.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

mod ingest;
mod slug;

pub use ingest::{Incoming, IngestError, Ingested, copy_into, persist_content};
pub use slug::sanitise_slug;

pub const ASSETS: &str = "assets";
pub const THUMBS: &str = "thumbs";
pub const INDEX: &str = "index.md";
pub const SOURCE: &str = "source.md";
pub const MANIFEST: &str = "manifest.json";
pub const LOCK: &str = ".rotproof.lock";

/// An I/O error with the path it concerns: the one error type for reading
/// and writing files. Its message is the path; the cause is its source,
/// printed once after it.
#[derive(Debug, thiserror::Error)]
#[error("{}", .path.display())]
pub struct IoError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl IoError {
    pub fn new(path: &Path, source: io::Error) -> IoError {
        IoError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `map_err(at(path))`: an I/O error at `path`.
pub fn at(path: &Path) -> impl FnOnce(io::Error) -> IoError + '_ {
    move |source| IoError::new(path, source)
}

/// The folder a path is in, `.` for a bare file name.
pub fn parent_or_dot(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// An archived post's folder, locked for the lifetime of this value.
#[derive(Debug)]
pub struct PostDir {
    dir: PathBuf,
    /// Holds the advisory lock; released when dropped (or the process dies).
    _lock: File,
}

/// Why a post folder could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}: locked: another rotproof run is working on this post")]
    Locked(PathBuf),
    #[error(
        "{0}: is a symbolic link; refusing to write through it (it could lead outside the output folder)"
    )]
    Symlink(PathBuf),
    #[error(transparent)]
    Io(#[from] IoError),
}

impl PostDir {
    /// Creates (if needed) and locks `dir`. A second run on the same post
    /// fails at once instead of waiting.
    pub fn open(dir: &Path) -> Result<PostDir, OpenError> {
        refuse_symlink(dir)?;
        fs::create_dir_all(dir).map_err(at(dir))?;
        for sub in [ASSETS, THUMBS] {
            refuse_symlink(&dir.join(sub))?;
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(at(&path))?;
        }
        let post = PostDir::open_existing(dir)?;
        post.remove_leftovers();
        Ok(post)
    }

    /// Removes temporary files an interrupted or killed run left behind.
    /// Safe: this run holds the lock, so no other run is writing here.
    pub fn remove_leftovers(&self) {
        for sub in [Path::new(""), Path::new(ASSETS), Path::new(THUMBS)] {
            let Ok(entries) = fs::read_dir(self.dir.join(sub)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(".rotproof-") && name.ends_with(".part") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Locks an existing archived post folder (for `check`, `bundle`,
    /// `verify`), without creating anything.
    pub fn open_existing(dir: &Path) -> Result<PostDir, OpenError> {
        let lock_path = dir.join(LOCK);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(at(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => Ok(PostDir {
                dir: dir.to_path_buf(),
                _lock: lock,
            }),
            Err(fs::TryLockError::WouldBlock) => Err(OpenError::Locked(dir.to_path_buf())),
            Err(fs::TryLockError::Error(err)) => Err(at(&lock_path)(err).into()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn assets(&self) -> PathBuf {
        self.dir.join(ASSETS)
    }

    pub fn thumbs(&self) -> PathBuf {
        self.dir.join(THUMBS)
    }

    /// Writes a file of the post folder atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), IoError> {
        write_atomic(&self.dir.join(name), bytes)
    }

    /// Makes the renames in `assets/` and `thumbs/` durable: call before
    /// writing a manifest that names their files.
    pub fn sync_contents(&self) {
        sync_dir(&self.assets());
        sync_dir(&self.thumbs());
    }
}

/// A post folder, or a folder in it, that is a symlink could send writes
/// anywhere: refused.
fn refuse_symlink(path: &Path) -> Result<(), OpenError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(OpenError::Symlink(path.to_path_buf())),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` through a synced temporary file in the same
/// folder and a rename, then syncs the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_content(path, bytes)?;
    sync_dir(parent_or_dot(path));
    Ok(())
}

/// [`write_atomic`] without the folder sync, for files in `assets/` and
/// `thumbs/` ([`PostDir::sync_contents`] syncs those folders once).
pub fn write_content(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let mut temp = temp_in(parent_or_dot(path))?;
    temp.write_all(bytes).map_err(at(path))?;
    temp.as_file().sync_all().map_err(at(path))?;
    temp.persist(path).map_err(|e| at(path)(e.error))?;
    Ok(())
}

/// A temporary file in `dir`, named so that it is recognisable as ours.
pub fn temp_in(dir: &Path) -> Result<NamedTempFile, IoError> {
    temp_names().tempfile_in(dir).map_err(at(dir))
}

/// Temporary names: `.rotproof-<random>.part`, swept by [`PostDir::open`].
pub(crate) fn temp_names() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rotproof-").suffix(".part");
    builder
}

/// Syncs a folder so a rename in it survives a power cut. Best effort: some
/// filesystems refuse to open folders.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_removes_leftover_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(ASSETS)).unwrap();
        fs::write(dir.path().join(ASSETS).join(".rotproof-abc.part"), b"half").unwrap();
        fs::write(dir.path().join(ASSETS).join("keep.jpg"), b"kept").unwrap();
        let _post = PostDir::open(dir.path()).unwrap();
        assert!(!dir.path().join(ASSETS).join(".rotproof-abc.part").exists());
        assert!(dir.path().join(ASSETS).join("keep.jpg").exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_post_folders_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), out.path().join("post")).unwrap();
        assert!(matches!(
            PostDir::open(&out.path().join("post")),
            Err(OpenError::Symlink(_))
        ));
        fs::create_dir_all(out.path().join("b")).unwrap();
        std::os::unix::fs::symlink(outside.path(), out.path().join("b").join(ASSETS)).unwrap();
        assert!(matches!(
            PostDir::open(&out.path().join("b")),
            Err(OpenError::Symlink(_))
        ));
        assert_eq!(
            fs::read_dir(outside.path()).unwrap().count(),
            0,
            "nothing written outside"
        );
    }

    #[test]
    fn second_open_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let first = PostDir::open(dir.path()).unwrap();
        assert!(matches!(
            PostDir::open(dir.path()),
            Err(OpenError::Locked(_))
        ));
        drop(first);
        assert!(PostDir::open(dir.path()).is_ok());
    }

    #[test]
    fn atomic_writes_replace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn an_io_error_names_its_path_once_and_keeps_its_cause() {
        let err = IoError::new(Path::new("a/b"), io::Error::other("boom"));
        assert_eq!(err.to_string(), "a/b");
        let source = std::error::Error::source(&err).map(|s| s.to_string());
        assert_eq!(source.as_deref(), Some("boom"));
        assert_eq!(parent_or_dot(Path::new("x.md")), Path::new("."));
        assert_eq!(parent_or_dot(Path::new("p/x.md")), Path::new("p"));
    }
}
