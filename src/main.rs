use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = rotproof::cli::Cli::parse();
    rotproof::commands::run(cli).into()
}
