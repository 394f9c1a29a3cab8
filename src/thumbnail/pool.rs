//! The thumbnailer's CPU pool: one worker per core, with one memory
//! budget for the decodes of all of them.

use super::budget::{self, MemoryBudget};
use super::{ImageInfo, Settings, render};
use crate::digest::Sha256;

/// A fixed pool for decoding and resizing: one worker per core.
pub struct Pool {
    pool: rayon::ThreadPool,
    /// Memory for decodes, shared by the workers.
    budget: &'static MemoryBudget,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.pool.current_num_threads())
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub fn new() -> Result<Pool, rayon::ThreadPoolBuildError> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rotproof-thumb-{i}"))
            .build()?;
        Ok(Pool {
            pool,
            budget: budget::shared(),
        })
    }

    /// Reads an asset's dimensions and writes its thumbnail into
    /// `thumbs_dir`: [`render`] on the pool, the write on tokio's blocking
    /// threads; the async caller waits without blocking the runtime. Never
    /// panics: a decoder panic on hostile input becomes an error.
    pub async fn make(
        &self,
        asset: std::path::PathBuf,
        sha256: Sha256,
        thumbs_dir: std::path::PathBuf,
        settings: Settings,
    ) -> ImageInfo {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let budget = self.budget;
        self.pool.spawn(move || {
            let _ = tx.send(render(&asset, settings, budget));
        });
        let stopped = |why: &str| ImageInfo::for_now(&format!("thumbnail worker {why}"));
        let Ok(rendered) = rx.await else {
            return stopped("stopped");
        };
        // The write syncs: on the blocking pool, so the CPU workers only
        // decode and encode.
        tokio::task::spawn_blocking(move || rendered.write(&sha256, &thumbs_dir))
            .await
            .unwrap_or_else(|_| stopped("failed to write"))
    }
}
