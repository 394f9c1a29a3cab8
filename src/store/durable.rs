//! Durability, in one place: when the bytes and names rotproof writes
//! survive a power cut, and every platform difference in how.
//!
//! The order a run follows, which every writer relies on:
//!
//! 1. Stored files (assets, thumbnails, copies of pages) and each post's
//!    new index.md, source.md and manifest are written under temporary
//!    names ([`super::Staged`]) or renamed into content-addressed names;
//!    a name only ever holds complete bytes, power cut or not, once step
//!    2 has run.
//! 2. [`sync`]: everything written so far is made durable. On Linux one
//!    `syncfs` per filesystem, however many files (a blog of 12,000
//!    files costs one call instead of 12,000 fsyncs); elsewhere each file
//!    was synced as it was written ([`file_written`]) and the store
//!    folders are synced now.
//! 3. The staged files are renamed into place, a manifest after the files
//!    it names; then [`sync`] again makes the renames durable.
//!
//! A run killed at any moment leaves no partial file under a final name
//! (bytes are complete before a rename). After a power cut between 1 and
//! 2, a content-addressed file no manifest names yet may be short: its
//! name then does not match its bytes, and the next run replaces it.

use std::fs::File;
use std::io;
use std::path::Path;

use super::{IoError, at};

/// Whether a file's bytes wait for the run's [`sync`] (Linux, with
/// `syncfs`) instead of being synced as they are written.
pub(crate) const DEFERRED: bool = cfg!(target_os = "linux");

/// A file just written in full: synced now where there is no `syncfs`,
/// left for the run's [`sync`] on Linux.
pub(crate) fn file_written(file: &File) -> io::Result<()> {
    if DEFERRED { Ok(()) } else { file.sync_all() }
}

/// A name just made in `dir` (a rename): made durable now where there is
/// no `syncfs`, left for the run's [`sync`] on Linux.
pub(crate) fn renamed_in(dir: &Path) {
    if !DEFERRED {
        sync_dir(dir);
    }
}

/// Makes everything written so far to the filesystems that hold `dirs`
/// durable: on Linux one `syncfs` per filesystem, however many folders;
/// elsewhere each folder's store folders are synced (their files were
/// synced as they were written).
pub fn sync<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Result<(), IoError> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let mut synced = std::collections::HashSet::new();
        for dir in dirs {
            let open = File::open(dir).map_err(at(dir))?;
            let device = open.metadata().map_err(at(dir))?.dev();
            if synced.insert(device) {
                rustix::fs::syncfs(&open).map_err(|e| at(dir)(e.into()))?;
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    for dir in dirs {
        for sub in ["", super::OWN, super::ASSETS]
            .into_iter()
            .chain(super::Layout::CURRENT.stores())
        {
            sync_dir(&dir.join(sub));
        }
    }
    Ok(())
}

/// Syncs a folder, so the names made in it last. Best effort: a folder
/// that cannot be opened for it (some platforms) is left to the OS.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
