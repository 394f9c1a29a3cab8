//! Commands: each one orchestrates the library's stages and decides the exit
//! code once, at the end.

/// `println!` that does not panic when stdout is closed (`rotproof check |
/// head`): a reader that has stopped reading is not an error.
/// Control characters from posts (a URL with an escape sequence) are
/// shown escaped, never sent to the terminal.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = format!($($arg)*);
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            $crate::errors::printable(&line)
        );
    }};
}

mod archive;
mod bar;
mod bundle;
mod check;
mod inputs;
mod verify;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::{self, Config};
use crate::runner::{Interrupted, Runner};

/// Exit codes shared by every command (the README's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything succeeded.
    Ok = 0,
    /// Bad input, unreadable post, unwritable output, lock held. (Usage
    /// errors are clap's own exit 2.)
    Error = 1,
    /// Finished, but some resources failed / links are dead / files corrupt.
    Partial = 3,
    /// Stopped by Ctrl-C (SIGINT), as shells report it.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// The whole cause chain on one line, each cause once, control characters
/// escaped.
fn one_line(err: &anyhow::Error) -> String {
    crate::errors::one_line(err.as_ref())
}

/// Whether the command stopped at Ctrl-C: [`Interrupted`] anywhere in
/// the error's chain.
fn interrupted(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<Interrupted>())
}

/// The config file (`--config`, else the one [`config::discover`] finds),
/// or the empty config when there is none.
fn configured(explicit: Option<&std::path::Path>) -> anyhow::Result<Config> {
    Ok(config::load(config::discover(explicit).as_deref())?)
}

/// The runtime for the concurrent stages, stopped by Ctrl-C.
fn runner() -> anyhow::Result<Runner> {
    use anyhow::Context;
    Runner::new().context("starting the async runtime")
}

/// Runs a parsed command line. Errors are printed here, once, with their
/// whole cause chain on one line.
pub fn run(cli: Cli, matches: &clap::ArgMatches) -> Exit {
    crate::net::descriptors::raise_limit();
    // What clap saw of the subcommand: a flag given there wins over the
    // config file.
    let given = matches.subcommand().map(|(_, m)| m).unwrap_or(matches);
    let result = match cli.command {
        Command::Archive(mut args) => configured(args.net.config.as_deref()).and_then(|config| {
            args.overlay(given, &config.flags);
            archive::run(&args, config)
        }),
        Command::Check(mut args) => configured(args.net.config.as_deref()).and_then(|config| {
            args.overlay(given, &config.flags);
            check::run(&args, config)
        }),
        Command::Verify(args) => verify::run(&args),
        Command::Bundle(args) => bundle::run(&args),
    };
    match result {
        Ok(exit) => exit,
        Err(err) if interrupted(&err) => {
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
