//! Many posts' files made durable together: every post's new files are
//! written under temporary names, one [`durable::sync`] makes all of them (and
//! every asset) durable, and only then are they renamed into place (the
//! order is [`super::durable`]'s).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::TempPath;

use super::durable;
use super::{IoError, at, parent_or_dot, temp_in};

/// Files written under temporary names beside their final paths, waiting
/// for [`super::sync`] and then [`Staged::commit`]. Dropped uncommitted, the
/// temporary files are removed.
#[derive(Debug, Default)]
pub struct Staged {
    files: Vec<(TempPath, PathBuf)>,
}

impl Staged {
    /// Writes `path`'s new content, as `fill` produces it, under a
    /// temporary name beside it (closed: a blog's worth of staged files
    /// holds no descriptors).
    pub fn write_with(
        &mut self,
        path: &Path,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), IoError> {
        let mut temp = temp_in(parent_or_dot(path))?;
        {
            let mut out = io::BufWriter::with_capacity(64 * 1024, temp.as_file_mut());
            fill(&mut out).map_err(at(path))?;
            out.flush().map_err(at(path))?;
        }
        durable::file_written(temp.as_file()).map_err(at(path))?;
        self.files.push((temp.into_temp_path(), path.to_path_buf()));
        Ok(())
    }

    /// [`Self::write_with`] for bytes already in memory.
    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<(), IoError> {
        self.write_with(path, |out| out.write_all(bytes))
    }

    /// Adds `other`'s files after these: they are renamed after them.
    pub fn append(&mut self, mut other: Staged) {
        self.files.append(&mut other.files);
    }

    /// Renames every staged file into place, in the order staged (a
    /// manifest last, after the files it describes). Call after [`super::sync`].
    pub fn commit(self) -> Result<(), IoError> {
        for (temp, path) in self.files {
            temp.persist(&path).map_err(|e| at(&path)(e.error))?;
            durable::renamed_in(parent_or_dot(&path));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_files_appear_only_when_committed_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"old").unwrap();
        let mut staged = Staged::default();
        staged.write(&a, b"new").unwrap();
        staged.write(&b, b"b").unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"old", "not before the commit");
        assert!(!b.exists());
        durable::sync([dir.path()]).unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"new");
        assert_eq!(std::fs::read(&b).unwrap(), b"b");

        let mut dropped = Staged::default();
        dropped.write(&a, b"never").unwrap();
        drop(dropped);
        assert_eq!(std::fs::read(&a).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }
}
