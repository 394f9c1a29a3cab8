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
    /// SIGINT and SIGTERM, listened to from the moment the runner is
    /// made: a signal that comes while no future runs (a worker thread
    /// just started, the plan being made) stops the next one, instead of
    /// killing the process before it could clean up.
    #[cfg(unix)]
    signals: std::sync::Mutex<Option<Signals>>,
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").finish_non_exhaustive()
    }
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
        #[cfg(unix)]
        let signals = {
            use tokio::signal::unix::{SignalKind, signal};
            let _inside = runtime.enter();
            match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(interrupt), Ok(terminate)) => Some(Signals {
                    interrupt,
                    terminate,
                }),
                _ => None,
            }
        };
        Ok(Runner {
            runtime,
            #[cfg(unix)]
            signals: std::sync::Mutex::new(signals),
        })
    }

    /// Runs `work`, or stops it at Ctrl-C / SIGTERM.
    pub(crate) fn run<T>(&self, work: impl Future<Output = T>) -> Result<T, Interrupted> {
        #[cfg(unix)]
        {
            let mut signals = self.signals.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(signals) = signals.as_mut() {
                return self.runtime.block_on(async {
                    tokio::select! {
                        result = work => Ok(result),
                        _ = signals.interrupt.recv() => Err(Interrupted),
                        _ = signals.terminate.recv() => Err(Interrupted),
                    }
                });
            }
        }
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
