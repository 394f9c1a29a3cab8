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

/// Prints JSON on stdout, pretty: control characters are escaped as JSON
/// escapes them (`\u001b`, and C1 ones as `\u009b`), so a URL from a
/// post can neither command the terminal nor make the JSON invalid.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write as _;
    let stdout = std::io::stdout().lock();
    let mut out = crate::errors::JsonForTerminal::new(std::io::BufWriter::new(stdout));
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

mod archive;
mod bar;
mod bundle;
mod check;
mod inputs;
mod verify;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

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

/// The command line with the config file's flags added where it gave
/// none, and the config file (`--config`, else the one
/// [`config::discover`] finds; the empty config for a command that takes
/// none, or when there is none).
fn with_config(argv: Vec<OsString>, matches: &ArgMatches) -> anyhow::Result<(Cli, Config)> {
    let parsed = |m: &ArgMatches| Cli::from_arg_matches(m).unwrap_or_else(|e| e.exit());
    let Some((name, given)) = matches.subcommand() else {
        return Ok((parsed(matches), Config::default()));
    };
    // `verify` and `bundle` read no config file.
    let Ok(explicit) = given.try_get_one::<PathBuf>("config") else {
        return Ok((parsed(matches), Config::default()));
    };
    let trusted = given
        .try_get_one::<bool>("trust_local_config")
        .ok()
        .flatten()
        .is_some_and(|t| *t);
    let config = config::load(config::discover(explicit.map(PathBuf::as_path)), trusted)?;
    let extra = config::flags::arguments(&Cli::command(), name, given, &config.flags)?;
    if extra.is_empty() {
        return Ok((parsed(matches), config));
    }
    // Right after the command's name, so nothing the user wrote (a `--`,
    // a last positional) changes what they mean.
    let at = argv
        .iter()
        .position(|a| a.as_os_str() == name)
        .map_or(argv.len(), |i| i + 1);
    let mut argv = argv;
    argv.splice(at..at, extra);
    let matches = Cli::command()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    Ok((parsed(&matches), config))
}

/// The config files a run read, for `--json` (`config_files`): each path
/// and whose it is.
fn config_files_json(files: &[(PathBuf, config::Source)]) -> serde_json::Value {
    files
        .iter()
        .map(|(path, source)| {
            serde_json::json!({"path": path.display().to_string(), "source": source.describe()})
        })
        .collect()
}

/// The config files a run read, as the text summary's last line.
fn say_config_files(files: &[(PathBuf, config::Source)]) {
    if files.is_empty() {
        return;
    }
    let list: Vec<String> = files
        .iter()
        .map(|(path, source)| format!("{} ({})", path.display(), source.describe()))
        .collect();
    say!("config: {}", list.join(", "));
}

/// Web archives that kept refusing and were not asked again, on the text
/// summary: what is gone was not looked up in them.
fn say_archives_given_up(given_up: &[crate::acquire::archives::WebArchive]) {
    if given_up.is_empty() {
        return;
    }
    let names: Vec<&str> = given_up.iter().map(|a| a.as_str()).collect();
    say!(
        "web archives given up for this run (they kept refusing, 429/503): {}; run again later to look up what is gone",
        names.join(", ")
    );
}

/// The runtime for the concurrent stages, stopped by Ctrl-C.
fn runner() -> anyhow::Result<Runner> {
    use anyhow::Context;
    Runner::new().context("starting the async runtime")
}

/// Runs rotproof with its command line (`argv`, the program's name
/// first). Errors are printed here, once, with their whole cause chain on
/// one line.
pub fn main(argv: Vec<OsString>) -> Exit {
    crate::net::descriptors::raise_limit();
    let matches = Cli::command()
        .try_get_matches_from(&argv)
        .unwrap_or_else(|e| e.exit());
    let result = with_config(argv, &matches).and_then(|(cli, config)| match cli.command {
        Command::Archive(args) => archive::run(&args, config),
        Command::Check(args) => check::run(&args, config),
        Command::Verify(args) => verify::run(&args),
        Command::Bundle(args) => bundle::run(&args),
    });
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
