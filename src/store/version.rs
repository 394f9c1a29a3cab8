//! Later contents of a URL, kept beside the archived copy: a version is
//! recorded once per content, and nothing archived is ever replaced.

use std::path::Path;

use super::IoError;
use crate::manifest::{Entry, Version};

/// Records a later content of an entry's URL as a version (once per
/// content), its file placed into the entry's post folder `dir` from where
/// it was stored (`home`). The entry itself, and index.md, keep the first
/// archived copy: nothing archived is ever replaced. Returns whether a
/// version was added.
pub fn add_version(
    entry: &mut Entry,
    version: &Version,
    home: &Path,
    dir: &Path,
) -> Result<bool, IoError> {
    if entry.sha256.as_ref() == Some(&version.sha256)
        || entry.versions.iter().any(|v| v.sha256 == version.sha256)
    {
        return Ok(false);
    }
    super::copy_into(
        &home.join(&version.path),
        &dir.join(&version.path),
        &version.sha256,
    )?;
    entry.versions.push(version.clone());
    Ok(true)
}
