//! Command-line interface: flags and their help text. Each flag is declared
//! here once: its long name is also its config file key (`per_host`), its
//! value parser (from [`crate::config::values`]) checks it wherever it comes
//! from, and a value on the command line wins ([`crate::config::flags`]).
//! Defaults are constants shared with the library.
// The doc comments of the flags are their `--help` text, written for a
// terminal: `<slug>` and `[archives]` there are literal, not HTML or links.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use reqwest::header::{HeaderName, HeaderValue};

use crate::acquire::archives::{ArchiveList, WebArchives};
use crate::config::Archives;
use crate::config::values;
use crate::manifest::{LinksMode, Referer, RepairLinks};
use crate::net::hosts::HostRules;
use crate::net::{self as fetch, NetOptions};
use crate::thumbnail;

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
    /// Re-check the original links of archived posts: alive, changed, dead
    /// or recovered. Made for cron: exit 3 when something is dead.
    Check(CheckArgs),
    /// Fixity: re-hash every stored file against its name and the manifest;
    /// list missing, corrupt and unreferenced files. Exit 3 when any.
    Verify(VerifyArgs),
    /// Pack an archived post into an offline bundle: .zip, .tar.gz/.tgz, or
    /// one self-contained .html.
    Bundle(BundleArgs),
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The archived post folder (archive/<slug>).
    #[arg(value_name = "ARCHIVED_POST_DIR")]
    pub dir: PathBuf,

    /// Output file; its extension picks the form (.zip, .tar.gz, .tgz,
    /// .html). Default: <slug>.zip in the current folder.
    #[arg(short, long, value_name = "FILE", value_parser = parse_bundle_path)]
    pub output: Option<PathBuf>,
}

fn parse_bundle_path(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    match crate::bundle::Form::of(&path) {
        Some(_) => Ok(path),
        None => Err(format!(
            "`{s}`: unknown bundle form; use one of {}",
            crate::bundle::FORMS
        )),
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Archived post folders, their manifest.json, or archive roots.
    #[arg(value_name = "ARCHIVED", default_value = "archive")]
    pub archived: Vec<PathBuf>,

    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Archived post folders, their manifest.json, or archive roots.
    #[arg(value_name = "ARCHIVED", default_value = "archive")]
    pub archived: Vec<PathBuf>,

    /// Only check resources not checked for this long (e.g. 90m, 12h, 7d),
    /// so an hourly job spreads the load.
    #[arg(long, value_name = "DURATION", value_parser = values::duration)]
    pub stale_after: Option<Duration>,

    /// Archive what failed before and is reachable now, and rewrite
    /// index.md. An archived file is never replaced.
    #[arg(long)]
    pub repair: bool,

    /// With --repair: store the new content of changed resources beside
    /// the archived copy, recorded as a new version.
    #[arg(long, requires = "repair")]
    pub refresh: bool,

    /// With --repair: point a dead link in index.md at its memento in a
    /// web archive (a public copy that works on a published site), at its
    /// copy in .rotproof/pages/ (for reading the folder itself), or keep it.
    #[arg(long, value_enum, value_name = "WHERE", default_value_t = RepairLinks::Archive)]
    pub repair_links: RepairLinks,

    /// The report's form on stdout: text, json (= --json), markdown (for
    /// $GITHUB_STEP_SUMMARY), github (annotations on the posts' lines),
    /// sarif (2.1.0, for code scanning) or junit (XML, a suite per post).
    /// A one-line summary goes to stderr whatever the form.
    #[arg(long, value_enum, value_name = "FORM", default_value_t = ReportFormat::Text, conflicts_with = "json")]
    pub format: ReportFormat,

    /// Report only what changed state since the previous check: newly
    /// dead, newly changed, recovered.
    #[arg(long)]
    pub new: bool,

    /// When the exit code is 3: anything dead, only what is dead with
    /// nothing that serves the reader (lost), only what is newly dead
    /// since the previous check (new), or never.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = FailOn::Dead)]
    pub fail_on: FailOn,

    #[command(flatten)]
    pub net: NetArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// The form of `check`'s report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
    Github,
    Sarif,
    Junit,
}

/// What makes `check` exit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Anything dead, kept or lost.
    Dead,
    /// Something dead that nothing serves: no archived copy, no memento.
    Lost,
    /// Something dead that was not dead at the previous check.
    New,
    /// Never: dead links are reported, the job does not fail.
    Never,
}

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// Posts (any extension) or folders (every *.md / *.markdown under them).
    #[arg(required = true, value_name = "POST|DIR")]
    pub inputs: Vec<PathBuf>,

    /// Output root: each post goes to OUT/<slug>/.
    #[arg(long, value_name = "DIR", default_value = "archive")]
    pub out: PathBuf,

    /// Folder name for the post (one post only); default: front matter
    /// `slug`, else the file name.
    #[arg(long)]
    pub slug: Option<String>,

    /// List what would be fetched (line, kind, URL) without touching the
    /// network or writing anything.
    #[arg(long)]
    pub dry_run: bool,

    /// Resolve relative URLs against this URL (e.g. the post's address on
    /// your site).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<url::Url>,

    /// What to do with links (non-image resources).
    #[arg(long, value_enum, default_value_t = LinksMode::Mirror)]
    pub links: LinksMode,

    /// Long side of thumbnails, in pixels.
    #[arg(long, value_name = "PX", default_value_t = thumbnail::DEFAULT_SIZE, value_parser = values::thumb_size)]
    pub thumb_size: u32,

    /// Make no thumbnails (image dimensions are still recorded).
    #[arg(long)]
    pub no_thumbs: bool,

    /// Images with more pixels are stored but not decoded.
    #[arg(long, value_name = "N", default_value_t = thumbnail::DEFAULT_MAX_PIXELS, value_parser = values::pixels)]
    pub max_pixels: u64,

    /// Revalidate archived resources (If-None-Match / If-Modified-Since)
    /// instead of keeping them as they are.
    #[arg(long)]
    pub refresh: bool,

    #[command(flatten)]
    pub net: NetArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Output options shared by every command.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print a machine-readable summary on stdout (progress and logs stay on
    /// stderr).
    #[arg(long)]
    pub json: bool,

    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Network options shared by every command that fetches.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// Requests in flight in the whole run.
    #[arg(long, value_name = "N", default_value_t = fetch::DEFAULT_CONCURRENCY, value_parser = values::in_flight)]
    pub concurrency: usize,

    /// Requests in flight to one host.
    #[arg(long, value_name = "N", default_value_t = fetch::DEFAULT_PER_HOST, value_parser = values::in_flight)]
    pub per_host: usize,

    /// Requests a second to one host at most; 0 for no limit. Default:
    /// 10 for `check` (it asks a site's whole CDN at once), none for
    /// `archive`. A `[hosts]` rule's `request_interval` wins.
    #[arg(long, value_name = "N", value_parser = values::per_host_rate)]
    pub per_host_rate: Option<u32>,

    /// Retries of transient failures (connect errors, timeouts, cut bodies,
    /// 408/425/429/500/502/503/504).
    #[arg(long, value_name = "N", default_value_t = fetch::DEFAULT_RETRIES, value_parser = values::retries)]
    pub retries: u32,

    /// Seconds to wait for a connection (or a duration: 90s, 500ms).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = values::seconds)]
    pub connect_timeout: Duration,

    /// Seconds for a whole request, body included (or a duration).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = values::seconds)]
    pub timeout: Duration,

    /// Largest resource to store (bytes; suffixes like 20MiB, 5MB, 512k).
    #[arg(long, value_name = "N", default_value = "100MiB", value_parser = values::size)]
    pub max_bytes: u64,

    /// User-Agent header.
    #[arg(long, value_name = "S", default_value_t = fetch::default_user_agent())]
    pub user_agent: String,

    /// Extra request header, 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "'Name: value'", value_parser = values::header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,

    /// Proxy for every request (HTTP_PROXY / HTTPS_PROXY / NO_PROXY are
    /// honoured without it).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<url::Url>,

    /// Extra trusted root certificate(s), PEM: for proxies that re-sign TLS.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,

    /// Refuse every request, first or redirected, to a loopback, private,
    /// link-local, shared or unspecified address (for untrusted posts).
    #[arg(long)]
    pub deny_private: bool,

    /// Referer to send: none, origin (the resource's own), source (the
    /// origin of the post's source URL) or a URL. After a hotlink refusal
    /// (401, 403, a placeholder) the others are tried once each.
    #[arg(long, value_name = "POLICY", default_value = "none")]
    pub referer: Referer,

    /// Web archives to recover what is gone from (404, 410, 451, DNS,
    /// refused, a placeholder, a page for an image), closest to the post's
    /// date: wayback, memento (comma-separated), or none. Default: the
    /// config's [archives] use, else wayback.
    #[arg(long, value_name = "LIST", env = "ROTPROOF_ARCHIVES")]
    pub archives: Option<ArchiveList>,

    /// Config file (default: $XDG_CONFIG_HOME/rotproof/config.toml, then
    /// ./rotproof.toml over it key by key). Flags given here win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Let ./rotproof.toml set proxy, ca_cert and [archives] endpoints
    /// (a repository's file may not, unless you trust it).
    #[arg(long)]
    pub trust_local_config: bool,
}

impl NetArgs {
    /// The network settings, with the config file's host rules; a
    /// command's own per-host rate where `--per-host-rate` gives none.
    pub fn options(&self, hosts: &HostRules, default_rate: u32) -> NetOptions {
        NetOptions {
            concurrency: self.concurrency,
            per_host: self.per_host,
            per_host_spacing: values::spacing(self.per_host_rate.unwrap_or(default_rate)),
            retries: self.retries,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            max_bytes: self.max_bytes,
            user_agent: self.user_agent.clone(),
            headers: self.headers.clone(),
            proxy: self.proxy.clone(),
            ca_cert: self.ca_cert.clone(),
            deny_private: self.deny_private,
            referer: self.referer.clone(),
            hosts: hosts.clone(),
        }
    }

    /// The web archives to ask: `--archives` (or ROTPROOF_ARCHIVES), else
    /// the config's `[archives] use`, else Wayback; at the config's
    /// endpoints.
    pub fn web_archives(&self, config: &Archives) -> WebArchives {
        let order = match (&self.archives, &config.enabled) {
            (Some(list), _) => list.0.clone(),
            (None, Some(enabled)) => enabled.clone(),
            (None, None) => ArchiveList::default().0,
        };
        WebArchives::new(order, config.wayback.clone(), config.timegate.clone())
    }
}
