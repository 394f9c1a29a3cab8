//! The async runtime, entered only for the concurrent stages, and stopped
//! by Ctrl-C (SIGINT) or SIGTERM.
//!
//! Planning and writing post folders are blocking file work and run on the
//! caller's thread; only fetching runs on the runtime. When a stop signal
//! comes first, the stage's future is dropped: every in-flight download's
//! temporary file is removed (they delete themselves when dropped), and
//! nothing half-written is under a final name, since every file is written
//! to a temporary name and renamed.

use std::future::Future;

/// Ctrl-C or SIGTERM while a command was working.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub(crate) struct Interrupted;

/// Runs futures to completion unless a stop signal comes first.
pub(crate) struct Runner {
    runtime: tokio::runtime::Runtime,
}

/// Threads for blocking work at most.
const BLOCKING_THREADS: usize = 32;

impl Runner {
    pub(crate) fn new() -> std::io::Result<Runner> {
        // Blocking work (storing a body, a file write) is short and at
        // most a few per request in flight: a bounded pool, rather than
        // tokio's 512 threads, each of which would keep a malloc arena.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(BLOCKING_THREADS)
            .build()?;
        Ok(Runner { runtime })
    }

    /// Runs `work`, or stops it at Ctrl-C / SIGTERM.
    pub(crate) fn run<T>(&self, work: impl Future<Output = T>) -> Result<T, Interrupted> {
        self.runtime.block_on(async {
            tokio::select! {
                result = work => Ok(result),
                _ = stop_signal() => Err(Interrupted),
            }
        })
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
