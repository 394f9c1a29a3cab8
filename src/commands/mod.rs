//! Commands: each one orchestrates the library's stages and decides the exit
//! code once, at the end.

mod archive;
mod bundle;
mod check;
mod inputs;
mod verify;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Exit codes shared by every command (SPEC.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything succeeded.
    Ok = 0,
    /// Bad input, unreadable post, unwritable output, lock held.
    Error = 1,
    /// Usage error (clap's own).
    Usage = 2,
    /// Finished, but some resources failed / links are dead / files corrupt.
    Partial = 3,
    /// Stopped by Ctrl-C (SIGINT), as shells report it.
    Interrupted = 130,
}

/// Ctrl-C while a command was working.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Runs a future to completion unless Ctrl-C (SIGINT) or SIGTERM comes
/// first. Then the future is dropped: every in-flight download's temporary
/// file is removed (they delete themselves when dropped), every post lock
/// is released, and nothing half-written is under a final name, since
/// every file is written to a temporary name and renamed.
fn run_interruptible<T>(
    runtime: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = T>,
) -> Result<T, Interrupted> {
    runtime.block_on(async {
        tokio::select! {
            result = work => Ok(result),
            _ = stop_signal() => Err(Interrupted),
        }
    })
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

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// The whole cause chain on one line, each cause once: many errors already
/// include their cause in their own message.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

/// The async runtime for commands that use the network.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Runs a parsed command line. Errors are printed here, once, with their
/// whole cause chain on one line.
pub fn run(cli: Cli) -> Exit {
    let result = match cli.command {
        Command::Archive(args) => archive::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Bundle(args) => bundle::run(&args),
    };
    match result {
        Ok(exit) => exit,
        Err(err) if err.is::<Interrupted>() => {
            eprintln!(
                "rotproof: interrupted: files already archived are kept; unfinished downloads were removed; run the command again to finish"
            );
            Exit::Interrupted
        }
        Err(err) => {
            eprintln!("rotproof: {}", one_line(&err));
            Exit::Error
        }
    }
}
