use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    // The matches are kept: the config file fills in only what the command
    // line did not give (`ArgMatches::value_source`).
    let matches = rotproof::cli::Cli::command().get_matches();
    let cli = rotproof::cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    rotproof::commands::run(cli, &matches).into()
}
