//! The archive on disk: one folder per post, content-addressed assets and
//! thumbnails, and every file written under a temporary name, synced, then
//! renamed, so a run killed at any moment leaves no partial file under a
//! final name.
//!
//! Durability across a power cut, on Linux: stored files are not synced
//! one by one. An archive run writes every post's index.md, source.md
//! and manifest under temporary names ([`Staged`]), makes everything
//! durable with one `syncfs` ([`sync`]), renames them, and syncs once more;
//! so a manifest that survives a power cut names only files that survived
//! it. Elsewhere each file is synced before its rename and the folders
//! after. A sync per file cost 20,000 fsyncs on a post of 20,000 images.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

mod durable;
mod ingest;
mod layout;
mod paths;
mod slug;
mod staged;

pub use durable::sync;
pub(crate) use durable::sync_dir;
pub(crate) use ingest::persist_in;
pub use ingest::{
    Held, IN_MEMORY, Incoming, IngestError, Ingested, ReadSeek, copy_into, persist_content,
};
pub use layout::Layout;
pub use paths::{
    Refusal, folder_inside, folder_of_manifest, inside, parent_or_dot, prune, relative_path,
    remove_empty_folder_inside, remove_inside,
};
pub use slug::sanitise_slug;
pub use staged::Staged;

/// The images and media the post shows: published with it.
pub const ASSETS: &str = "assets";
/// The post, rewritten.
pub const INDEX: &str = "index.md";
/// Everything rotproof keeps for itself (site generators skip dot-folders).
pub const OWN: &str = ".rotproof";

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

/// An archived post's folder, locked for the lifetime of this value.
#[derive(Debug)]
pub struct PostDir {
    dir: PathBuf,
    layout: Layout,
    /// Hold the advisory locks; released when dropped (or the process
    /// dies).
    _locks: Vec<File>,
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
    #[error("{}: no archived post here (no manifest.json)", .0.display())]
    NotArchived(PathBuf),
    #[error(transparent)]
    Io(#[from] IoError),
}

/// How a lock is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// For writing: exclusive, the lock file created if missing.
    Write,
    /// For reading: shared, and none at all where the lock file cannot be
    /// opened (a read-only archive).
    Read,
}

impl PostDir {
    /// For `archive`: creates (if needed) the current layout's folders and
    /// locks the post. A version-1 folder's own lock is held too, until
    /// `archive` has moved it to version 2. A second run on the same post
    /// fails at once instead of waiting.
    pub fn create(dir: &Path) -> Result<PostDir, OpenError> {
        refuse_symlink(dir)?;
        fs::create_dir_all(dir).map_err(at(dir))?;
        let layout = Layout::CURRENT;
        for sub in [OWN, ASSETS, layout.thumbs(), layout.pages()] {
            let path = dir.join(sub);
            refuse_symlink(&path)?;
            fs::create_dir_all(&path).map_err(at(&path))?;
        }
        let mut locks = vec![lock(dir, layout, Access::Write)?];
        if Layout::detect(dir) == Some(Layout::V1) {
            locks.push(lock(dir, Layout::V1, Access::Write)?);
        }
        let post = PostDir {
            dir: dir.to_path_buf(),
            layout,
            _locks: locks.into_iter().flatten().collect(),
        };
        post.remove_leftovers();
        Ok(post)
    }

    /// For `check`: locks an archived post folder, in its own layout,
    /// creating nothing but the lock.
    pub fn open_existing(dir: &Path) -> Result<PostDir, OpenError> {
        PostDir::existing(dir, Access::Write)
    }

    /// For `verify` and `bundle`, which only read: a shared lock, so they
    /// run beside each other but not beside a run that writes; none where
    /// the lock cannot be opened, so a read-only archive works.
    pub fn read_only(dir: &Path) -> Result<PostDir, OpenError> {
        PostDir::existing(dir, Access::Read)
    }

    fn existing(dir: &Path, access: Access) -> Result<PostDir, OpenError> {
        let not_archived = || OpenError::NotArchived(dir.to_path_buf());
        let layout = Layout::detect(dir).ok_or_else(not_archived)?;
        let held = lock(dir, layout, access)?;
        // A migration may have finished between looking and locking.
        let now = Layout::detect(dir).ok_or_else(not_archived)?;
        if now != layout {
            return PostDir::existing(dir, access);
        }
        Ok(PostDir {
            dir: dir.to_path_buf(),
            layout,
            _locks: held.into_iter().collect(),
        })
    }

    /// Removes temporary files an interrupted or killed run left behind.
    /// Safe: this run holds the lock, so no other run is writing here.
    pub fn remove_leftovers(&self) {
        let folders = [Path::new(""), Path::new(OWN)]
            .into_iter()
            .chain(Layout::V1.stores().into_iter().map(Path::new))
            .chain(Layout::V2.stores().into_iter().map(Path::new));
        for sub in folders {
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

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The layout this folder is read and written in.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join(self.layout.manifest())
    }

    /// Writes a file of the post folder atomically; `name` is relative to
    /// the folder.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), IoError> {
        write_atomic(&self.dir.join(name), bytes)
    }

    /// Makes the stored files durable, their bytes and their names: call
    /// before writing a manifest that names them. On Linux one `syncfs`
    /// does it for every file stored since the last one (their data is
    /// not synced file by file: see [`persist_content`]); elsewhere the
    /// files were synced as they were stored, and their folders are.
    pub fn sync_contents(&self) -> Result<(), IoError> {
        sync([self.dir.as_path()])
    }
}

/// Takes `layout`'s lock of `dir`. The lock file is never followed through
/// a symlink (one planted there could make rotproof create a file anywhere).
fn lock(dir: &Path, layout: Layout, access: Access) -> Result<Option<File>, OpenError> {
    let path = dir.join(layout.lock());
    let mut options = File::options();
    match access {
        Access::Write => options.read(true).write(true).create(true).truncate(false),
        Access::Read => options.read(true),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let file = match options.open(&path) {
        Ok(file) => file,
        Err(err) if is_symlink_loop(&err) => return Err(OpenError::Symlink(path)),
        Err(_) if access == Access::Read => return Ok(None),
        Err(err) => return Err(at(&path)(err).into()),
    };
    let locked = match access {
        Access::Write => file.try_lock(),
        Access::Read => file.try_lock_shared(),
    };
    match locked {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Err(OpenError::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(_)) if access == Access::Read => Ok(None),
        Err(fs::TryLockError::Error(err)) => Err(at(&path)(err).into()),
    }
}

/// `O_NOFOLLOW` on a symlink fails with `ELOOP`.
fn is_symlink_loop(err: &io::Error) -> bool {
    #[cfg(unix)]
    {
        err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = err;
        false
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

/// [`write_atomic`] for content written by `fill` as it is produced (a
/// manifest of 20,000 entries is tens of MB as one string): through a
/// buffer into the temporary file, synced, renamed, the folder synced.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), IoError> {
    let mut temp = temp_in(parent_or_dot(path))?;
    {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, temp.as_file_mut());
        fill(&mut out).map_err(at(path))?;
        out.flush().map_err(at(path))?;
    }
    temp.as_file().sync_all().map_err(at(path))?;
    temp.persist(path).map_err(|e| at(path)(e.error))?;
    sync_dir(parent_or_dot(path));
    Ok(())
}

/// [`write_atomic`] without the folder sync.
fn write_content(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_renamed(path, bytes, true)
}

/// A file of a post's stores (a thumbnail, a small download) written
/// atomically, its bytes made durable later with everything else: on
/// Linux by [`sync`] (or [`PostDir::sync_contents`]) before the manifest
/// that names it; elsewhere synced now.
pub fn write_stored(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    write_renamed(path, bytes, false)
}

/// `bytes` to a temporary file beside `path`, synced now if `sync_now`,
/// then renamed to `path`.
fn write_renamed(path: &Path, bytes: &[u8], sync_now: bool) -> Result<(), IoError> {
    let mut temp = temp_in(parent_or_dot(path))?;
    temp.write_all(bytes).map_err(at(path))?;
    if sync_now {
        temp.as_file().sync_all().map_err(at(path))?;
    } else {
        durable::file_written(temp.as_file()).map_err(at(path))?;
    }
    temp.persist(path).map_err(|e| at(path)(e.error))?;
    Ok(())
}

/// A temporary file in `dir`, named so that it is recognisable as ours,
/// and locked while this process has it open, so that
/// [`sweep_unlocked_temps`] never removes one a live run is writing.
pub fn temp_in(dir: &Path) -> Result<NamedTempFile, IoError> {
    let temp = temp_names().tempfile_in(dir).map_err(at(dir))?;
    let _ = temp.as_file().try_lock();
    Ok(temp)
}

/// Temporary names: `.rotproof-<random>.part`, swept when a post folder is opened ([`PostDir::create`]).
/// Created readable by all, less the umask, as `cp` makes files (tempfile's
/// own default is 0600, which a web server running as another user cannot
/// read).
pub(crate) fn temp_names() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rotproof-").suffix(".part");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder
}

/// Removes rotproof's temporary files in `dir` that no live run holds:
/// each writer keeps an exclusive lock on its temporary file
/// ([`temp_in`]), so one that can be locked was left by a run that died.
/// Best effort.
pub fn sweep_unlocked_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".rotproof-") && name.ends_with(".part")) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creating_removes_leftover_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(ASSETS)).unwrap();
        fs::write(dir.path().join(ASSETS).join(".rotproof-abc.part"), b"half").unwrap();
        fs::write(dir.path().join(ASSETS).join("keep.jpg"), b"kept").unwrap();
        let _post = PostDir::create(dir.path()).unwrap();
        assert!(!dir.path().join(ASSETS).join(".rotproof-abc.part").exists());
        assert!(dir.path().join(ASSETS).join("keep.jpg").exists());
    }

    #[test]
    fn the_current_layout_keeps_rotproofs_files_in_one_dot_folder() {
        let dir = tempfile::tempdir().unwrap();
        let post = PostDir::create(dir.path()).unwrap();
        assert_eq!(post.layout(), Layout::V2);
        let mut top: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        assert_eq!(top, [".rotproof", "assets"]);
        for sub in [".rotproof/thumbs", ".rotproof/pages", ".rotproof/lock"] {
            assert!(dir.path().join(sub).exists(), "{sub}");
        }
    }

    #[test]
    fn layouts_are_told_by_their_manifest_version_two_first() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Layout::detect(dir.path()), None);
        fs::write(dir.path().join("manifest.json"), "{}").unwrap();
        assert_eq!(Layout::detect(dir.path()), Some(Layout::V1));
        fs::create_dir_all(dir.path().join(OWN)).unwrap();
        fs::write(dir.path().join(".rotproof/manifest.json"), "{}").unwrap();
        assert_eq!(Layout::detect(dir.path()), Some(Layout::V2));
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_post_folders_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), out.path().join("post")).unwrap();
        assert!(matches!(
            PostDir::create(&out.path().join("post")),
            Err(OpenError::Symlink(_))
        ));
        fs::create_dir_all(out.path().join("b")).unwrap();
        std::os::unix::fs::symlink(outside.path(), out.path().join("b").join(ASSETS)).unwrap();
        assert!(matches!(
            PostDir::create(&out.path().join("b")),
            Err(OpenError::Symlink(_))
        ));
        assert_eq!(
            fs::read_dir(outside.path()).unwrap().count(),
            0,
            "nothing written outside"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_lock_symlink_is_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(OWN)).unwrap();
        fs::write(dir.path().join(".rotproof/manifest.json"), "{}").unwrap();
        let target = outside.path().join("created");
        std::os::unix::fs::symlink(&target, dir.path().join(".rotproof/lock")).unwrap();
        for open in [PostDir::open_existing, PostDir::read_only, PostDir::create] {
            assert!(matches!(open(dir.path()), Err(OpenError::Symlink(_))));
        }
        assert!(!target.exists(), "no file created through the link");
    }

    #[test]
    fn writers_exclude_each_other_and_readers_share() {
        let dir = tempfile::tempdir().unwrap();
        let first = PostDir::create(dir.path()).unwrap();
        assert!(matches!(
            PostDir::create(dir.path()),
            Err(OpenError::Locked(_))
        ));
        fs::write(dir.path().join(".rotproof/manifest.json"), "{}").unwrap();
        assert!(matches!(
            PostDir::read_only(dir.path()),
            Err(OpenError::Locked(_))
        ));
        drop(first);
        let reader = PostDir::read_only(dir.path()).unwrap();
        let _another = PostDir::read_only(dir.path()).unwrap();
        assert!(matches!(
            PostDir::open_existing(dir.path()),
            Err(OpenError::Locked(_))
        ));
        drop(reader);
        drop(_another);
        assert!(PostDir::open_existing(dir.path()).is_ok());
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

    #[test]
    fn relative_paths_climb_out_of_the_archive_root() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("archive")).unwrap();
        fs::create_dir_all(root.path().join("content/posts")).unwrap();
        fs::write(root.path().join("content/posts/x.md"), "").unwrap();
        assert_eq!(
            relative_path(
                &root.path().join("archive"),
                &root.path().join("content/posts/x.md")
            ),
            "../content/posts/x.md"
        );
        assert_eq!(
            folder_of_manifest(Path::new("archive/x/.rotproof/manifest.json")),
            Path::new("archive/x")
        );
        assert_eq!(
            folder_of_manifest(Path::new("archive/x/manifest.json")),
            Path::new("archive/x")
        );
    }
}
