//! `check --repair --repair-links archive`: where a dead link can send a
//! reader. A link whose copy rotproof already has, and whose URL is now
//! gone, is looked up in the web archives (closest to the post's date),
//! and the capture's address is recorded as the entry's `memento`; the
//! repair run then points the link at it. A link that was never copied is
//! recovered by the repair run itself, like any failed resource.
//! Archives are asked about gone links only, and only under `--repair`.

use std::collections::HashMap;
use std::time::SystemTime;

use futures::StreamExt;
use url::Url;

use super::checkable;
use crate::acquire::Acquirer;
use crate::manifest::{Capture, Kind, Manifest, Status};
use crate::net::{self, Failure, Probe};
use crate::store::{IoError, PostDir};

/// Lookups at once: each archive takes at most its own few.
const AT_ONCE: usize = 4;

/// The capture found for each gone, copied link, by URL.
pub(super) async fn locate(
    posts: &[(PostDir, Manifest)],
    answers: &HashMap<String, Result<Probe, Failure>>,
    acquirer: &Acquirer,
) -> Result<HashMap<String, Capture>, IoError> {
    let (archives, fetcher) = (acquirer.archives(), acquirer.fetcher());
    if archives.order().is_empty() {
        return Ok(HashMap::new());
    }
    let mut wanted: HashMap<String, (Url, SystemTime, std::path::PathBuf)> = HashMap::new();
    for (lock, manifest) in posts {
        let when = manifest
            .post
            .date
            .map_or_else(SystemTime::now, |t| t.time());
        for entry in &manifest.resources {
            let copied = entry.kind == Kind::Link && entry.status == Status::Archived;
            if !copied || entry.recovered_from.is_some() || entry.memento.is_some() {
                continue;
            }
            let Some(url) = checkable(entry) else {
                continue;
            };
            let gone = matches!(answers.get(url.as_str()), Some(Err(f)) if f.kind.is_gone());
            if gone {
                wanted
                    .entry(entry.url.clone())
                    .or_insert_with(|| (url, when, lock.path().to_path_buf()));
            }
        }
    }
    let mut found = HashMap::new();
    let mut stream = net::stage(
        wanted.into_iter().collect(),
        AT_ONCE,
        |_| net::Lane {
            key: (),
            limit: AT_ONCE,
        },
        |(key, (url, when, dir))| async move { (key, archives.locate(fetcher, &url, when, &dir).await) },
    );
    while let Some((key, result)) = stream.next().await {
        if let Some(recovered) = result? {
            found.insert(key, recovered);
        }
    }
    Ok(found)
}
