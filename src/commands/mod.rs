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
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
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
        Err(err) => {
            eprintln!("rotproof: {err:#}");
            Exit::Error
        }
    }
}
