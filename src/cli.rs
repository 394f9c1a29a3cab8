//! Command-line interface: flags and their help text. Defaults are constants
//! shared with the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "rotproof", version, about = "Make Markdown posts survive link rot", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Archive posts: fetch every image and source link, store them, and
    /// write a rewritten copy of each post pointing at the local files.
    Archive(ArchiveArgs),
}

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Posts (any extension) or folders (every *.md / *.markdown under them).
    #[arg(required = true, value_name = "POST|DIR")]
    pub inputs: Vec<PathBuf>,

    /// List what would be fetched (line, kind, URL) without touching the
    /// network or writing anything.
    #[arg(long)]
    pub dry_run: bool,

    /// Resolve relative URLs against this URL (e.g. the post's address on
    /// your site).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<url::Url>,

    /// Print a machine-readable summary on stdout.
    #[arg(long)]
    pub json: bool,
}
