//! Command-line interface: flags and their help text. Defaults are constants
//! shared with the library.
// The doc comments of the flags are their `--help` text, written for a
// terminal: `<slug>` and `[archives]` there are literal, not HTML or links.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand};
use reqwest::header::{HeaderName, HeaderValue};

use crate::acquire::archives::{ArchiveList, WebArchives};
use crate::config::{Archives, Flags};
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
    #[arg(long, value_name = "DURATION")]
    pub stale_after: Option<humantime::Duration>,

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

    #[command(flatten)]
    pub net: NetArgs,

    #[command(flatten)]
    pub output: OutputArgs,
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
    #[arg(long, value_name = "PX", default_value_t = thumbnail::DEFAULT_SIZE, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub thumb_size: u32,

    /// Make no thumbnails (image dimensions are still recorded).
    #[arg(long)]
    pub no_thumbs: bool,

    /// Images with more pixels are stored but not decoded.
    #[arg(long, value_name = "N", default_value_t = thumbnail::DEFAULT_MAX_PIXELS)]
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
    #[arg(long, value_name = "N", default_value_t = fetch::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..=1024).map(|n| n as usize))]
    pub concurrency: usize,

    /// Requests in flight to one host.
    #[arg(long, value_name = "N", default_value_t = fetch::DEFAULT_PER_HOST, value_parser = clap::value_parser!(u32).range(1..=1024).map(|n| n as usize))]
    pub per_host: usize,

    /// Retries of transient failures (connect errors, timeouts, cut bodies,
    /// 408/425/429/500/502/503/504).
    #[arg(long, value_name = "N", default_value_t = fetch::DEFAULT_RETRIES, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: u32,

    /// Seconds to wait for a connection.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub connect_timeout: Duration,

    /// Seconds for a whole request, body included.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    pub timeout: Duration,

    /// Largest resource to store (bytes; suffixes like 20MiB, 5MB, 512k).
    #[arg(long, value_name = "N", default_value = "100MiB", value_parser = parse_size)]
    pub max_bytes: u64,

    /// User-Agent header.
    #[arg(long, value_name = "S", default_value_t = fetch::default_user_agent())]
    pub user_agent: String,

    /// Extra request header, 'Name: value' (repeatable).
    #[arg(long = "header", value_name = "'Name: value'", value_parser = parse_header)]
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

    /// Config file (default: ./rotproof.toml, else
    /// $XDG_CONFIG_HOME/rotproof/config.toml). Flags given here win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl NetArgs {
    /// The network settings, with the config file's host rules.
    pub fn options(&self, hosts: &HostRules) -> NetOptions {
        NetOptions {
            concurrency: self.concurrency,
            per_host: self.per_host,
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

    /// The config file's flags, where the command line gave none.
    fn overlay(&mut self, m: &ArgMatches, flags: &Flags) {
        take(m, "concurrency", &mut self.concurrency, flags.concurrency);
        take(m, "per_host", &mut self.per_host, flags.per_host);
        take(m, "retries", &mut self.retries, flags.retries);
        take(
            m,
            "connect_timeout",
            &mut self.connect_timeout,
            flags.connect_timeout,
        );
        take(m, "timeout", &mut self.timeout, flags.timeout);
        take(m, "max_bytes", &mut self.max_bytes, flags.max_bytes);
        take(
            m,
            "user_agent",
            &mut self.user_agent,
            flags.user_agent.clone(),
        );
        take(m, "headers", &mut self.headers, flags.header.clone());
        take(m, "proxy", &mut self.proxy, flags.proxy.clone().map(Some));
        take(
            m,
            "ca_cert",
            &mut self.ca_cert,
            flags.ca_cert.clone().map(Some),
        );
        take(
            m,
            "deny_private",
            &mut self.deny_private,
            flags.deny_private,
        );
        take(m, "referer", &mut self.referer, flags.referer.clone());
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

impl OutputArgs {
    fn overlay(&mut self, m: &ArgMatches, flags: &Flags) {
        take(m, "json", &mut self.json, flags.json);
        take(m, "quiet", &mut self.quiet, flags.quiet);
    }
}

impl ArchiveArgs {
    /// The config file's flags, where the command line gave none.
    pub fn overlay(&mut self, m: &ArgMatches, flags: &Flags) {
        take(m, "out", &mut self.out, flags.out.clone());
        take(
            m,
            "base_url",
            &mut self.base_url,
            flags.base_url.clone().map(Some),
        );
        take(m, "links", &mut self.links, flags.links);
        take(m, "thumb_size", &mut self.thumb_size, flags.thumb_size);
        take(m, "no_thumbs", &mut self.no_thumbs, flags.no_thumbs);
        take(m, "max_pixels", &mut self.max_pixels, flags.max_pixels);
        take(m, "refresh", &mut self.refresh, flags.refresh);
        self.net.overlay(m, flags);
        self.output.overlay(m, flags);
    }
}

impl CheckArgs {
    /// The config file's flags, where the command line gave none.
    pub fn overlay(&mut self, m: &ArgMatches, flags: &Flags) {
        take(
            m,
            "stale_after",
            &mut self.stale_after,
            flags.stale_after.map(|d| Some(d.into())),
        );
        take(m, "repair", &mut self.repair, flags.repair);
        take(
            m,
            "repair_links",
            &mut self.repair_links,
            flags.repair_links,
        );
        self.net.overlay(m, flags);
        self.output.overlay(m, flags);
    }
}

/// Sets `dest` to the config file's value, unless the command line (or
/// the environment) gave one: a flag on the command line wins.
fn take<T>(m: &ArgMatches, id: &str, dest: &mut T, from_file: Option<T>) {
    let given = matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    );
    if let (false, Some(value)) = (given, from_file) {
        *dest = value;
    }
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("`{s}`: give between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Bytes with an optional unit: `k`/`KiB` (1024), `kB` (1000), and the same
/// for M and G.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 100MiB, 20MB, 512k)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "kb" => 1000.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "mb" => 1e6,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "gb" => 1e9,
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}` (use k, KiB, kB, M, MiB, MB, G, GiB, GB)"
            ));
        }
    };
    let bytes = number * factor;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(bytes as u64)
}

pub fn parse_header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected 'Name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of {name} is not a valid header value"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100MiB"), Ok(100 * 1024 * 1024));
        assert_eq!(parse_size("20MB"), Ok(20_000_000));
        assert_eq!(parse_size("512k"), Ok(512 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("1.5GiB"), Ok(1_610_612_736));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-5").is_err());
    }

    #[test]
    fn headers() {
        let (n, v) = parse_header("X-Token:  abc ").unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("x-token", "abc"));
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }
}
