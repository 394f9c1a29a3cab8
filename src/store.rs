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

pub const ASSETS: &str = "assets";
pub const THUMBS: &str = "thumbs";
pub const INDEX: &str = "index.md";
pub const SOURCE: &str = "source.md";
pub const MANIFEST: &str = "manifest.json";
pub const LOCK: &str = ".rotproof.lock";

/// An error with the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct StoreError {
    pub path: PathBuf,
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError {
        path: path.to_path_buf(),
        source,
    }
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
    Io(#[from] StoreError),
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
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
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
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_content(path, bytes)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")));
    Ok(())
}

/// [`write_atomic`] without the folder sync, for files in `assets/` and
/// `thumbs/` ([`PostDir::sync_contents`] syncs those folders once).
pub fn write_content(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = temp_in(dir)?;
    temp.write_all(bytes).map_err(at(path))?;
    temp.as_file().sync_all().map_err(at(path))?;
    temp.persist(path).map_err(|e| at(path)(e.error))?;
    Ok(())
}

/// A temporary file in `dir`, named so that it is recognisable as ours.
pub fn temp_in(dir: &Path) -> Result<NamedTempFile, StoreError> {
    temp_names().tempfile_in(dir).map_err(at(dir))
}

/// Temporary names: `.rotproof-<random>.part`, swept by [`PostDir::open`].
fn temp_names() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".rotproof-").suffix(".part");
    builder
}

/// Moves a finished temporary file to `path`, whose name is `sha256`'s,
/// unless a file with that content is already there. A file under the name
/// with other bytes (corrupted on disk) is replaced. Returns whether it was
/// written. The folder is not synced: see [`PostDir::sync_contents`].
pub fn persist_content(temp: NamedTempFile, path: &Path, sha256: &str) -> Result<bool, StoreError> {
    if let Ok(existing) = File::open(path)
        && hash_reader(existing).is_ok_and(|h| h == sha256)
    {
        return Ok(false);
    }
    temp.as_file().sync_all().map_err(at(path))?;
    temp.persist(path).map_err(|e| at(path)(e.error))?;
    Ok(true)
}

/// Streams a reader through sha256, as lowercase hex.
pub fn hash_reader(mut reader: impl io::Read) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Places a copy of `from` at `to` (a hard link where possible), atomically,
/// unless `to` already holds the content `sha256`. Used when posts share a
/// file: each post folder stays self-contained.
pub fn copy_into(from: &Path, to: &Path, sha256: &str) -> Result<(), StoreError> {
    if from == to {
        return Ok(());
    }
    if let Ok(existing) = File::open(to)
        && hash_reader(existing).is_ok_and(|h| h == sha256)
    {
        return Ok(());
    }
    // A hard link copies nothing and allocates no inode: on a blog where
    // hundreds of posts share files, creating (and deleting) a placeholder
    // file per copy was most of the run, spent in the kernel's inode
    // allocator. link(2) is atomic, so a free name is linked directly; a
    // name holding other bytes is replaced by a link under a temporary
    // name and a rename.
    let dir = to.parent().unwrap_or(Path::new("."));
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

/// Syncs a folder so a rename in it survives a power cut. Best effort: some
/// filesystems refuse to open folders.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Names from Windows that cannot be files, whatever the extension.
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];
const MAX_SLUG_BYTES: usize = 100;

/// Makes a slug safe as one folder name: no separators, no `..`, no control
/// characters, no Windows reserved names, at most 100 bytes. `None` when
/// nothing usable is left.
pub fn sanitise_slug(raw: &str) -> Option<String> {
    let mut slug: String = raw
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '-',
            c if c.is_control() => '-',
            c if c.is_whitespace() => '-',
            c => c,
        })
        .collect();
    while slug.contains("..") {
        slug = slug.replace("..", ".");
    }
    let slug = slug.trim_matches(|c: char| c == '.' || c == '-' || c == ' ');
    let mut cut = slug.len().min(MAX_SLUG_BYTES);
    while !slug.is_char_boundary(cut) {
        cut -= 1;
    }
    let slug = slug[..cut].trim_end_matches(['.', '-']);
    if slug.is_empty() {
        return None;
    }
    let stem = slug.split('.').next().unwrap_or(slug).to_ascii_lowercase();
    if RESERVED.contains(&stem.as_str()) {
        return Some(format!("_{slug}"));
    }
    Some(slug.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_cannot_escape() {
        assert_eq!(sanitise_slug("hello-world").as_deref(), Some("hello-world"));
        assert_eq!(
            sanitise_slug("../../etc/passwd").as_deref(),
            Some("etc-passwd")
        );
        assert_eq!(sanitise_slug("/abs/path").as_deref(), Some("abs-path"));
        assert_eq!(sanitise_slug("a\0b").as_deref(), Some("a-b"));
        assert_eq!(sanitise_slug("..").as_deref(), None);
        assert_eq!(sanitise_slug("CON").as_deref(), Some("_CON"));
        assert_eq!(sanitise_slug("nul.txt").as_deref(), Some("_nul.txt"));
        assert_eq!(sanitise_slug("深圳湾 公园").as_deref(), Some("深圳湾-公园"));
        let long = "长".repeat(100);
        let s = sanitise_slug(&long).unwrap();
        assert!(s.len() <= MAX_SLUG_BYTES && s.chars().all(|c| c == '长'));
    }

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
    fn atomic_write_and_content_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let sha = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"; // "x"
        let mut t = temp_in(dir.path()).unwrap();
        t.write_all(b"x").unwrap();
        assert!(persist_content(t, &dir.path().join("h"), sha).unwrap());
        let mut t = temp_in(dir.path()).unwrap();
        t.write_all(b"x").unwrap();
        assert!(!persist_content(t, &dir.path().join("h"), sha).unwrap());
        std::fs::write(dir.path().join("h"), b"corrupt").unwrap();
        let mut t = temp_in(dir.path()).unwrap();
        t.write_all(b"x").unwrap();
        assert!(persist_content(t, &dir.path().join("h"), sha).unwrap());
        assert_eq!(fs::read(dir.path().join("h")).unwrap(), b"x");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn copies_are_links_and_corrupt_copies_are_replaced() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        let sha = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"; // "x"
        let (from, to) = (a.join("h"), b.join("h"));
        fs::write(&from, b"x").unwrap();
        let ino = |p: &Path| fs::metadata(p).unwrap().ino();

        // A free name: linked, the same inode.
        copy_into(&from, &to, sha).unwrap();
        assert_eq!(ino(&to), ino(&from));
        // Already there with the right bytes: left alone.
        copy_into(&from, &to, sha).unwrap();
        assert_eq!(ino(&to), ino(&from));
        // Other bytes under the name (a separate, corrupt file): replaced.
        fs::remove_file(&to).unwrap();
        fs::write(&to, b"corrupt").unwrap();
        assert_ne!(ino(&to), ino(&from));
        copy_into(&from, &to, sha).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"x");
        assert_eq!(ino(&to), ino(&from));
        let names: Vec<_> = fs::read_dir(&b)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["h"], "no temporary file is left");
    }
}
