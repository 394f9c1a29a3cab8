//! `rotproof archive`: the run itself (see [`crate::archive`]), its progress
//! bar and summary, and the dry run, which lists every reference a post
//! holds and what would become of it.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::{Exit, inputs};
use crate::archive::{self, Progress, Report, Settings};
use crate::cli::ArchiveArgs;
use crate::post::Post;
use crate::reference::Place;
use crate::resource::{self, Origin, Resolve, Resource};
use crate::thumbnail;

pub fn run(args: &ArchiveArgs) -> anyhow::Result<Exit> {
    let posts = inputs::posts(&args.inputs)?;
    if args.dry_run {
        return dry_run(args, &posts);
    }
    let settings = Settings {
        out: args.out.clone(),
        slug: args.slug.clone(),
        base_url: args.base_url.clone(),
        links: args.links,
        thumbs: thumbnail::Settings {
            size: args.thumb_size,
            max_pixels: args.max_pixels,
            enabled: !args.no_thumbs,
        },
        refresh: args.refresh,
        net: args.net.options(),
    };
    let runtime = super::runtime()?;
    let bar = Bar::new(!args.output.quiet);
    let report = super::run_interruptible(&runtime, archive::run(&posts, &settings, &bar))??;
    if args.output.json {
        println!("{}", serde_json::to_string_pretty(&json_summary(&report))?);
    } else {
        print_summary(&report);
    }
    Ok(if report.any_failed() {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// A progress bar on stderr, drawn only on a terminal: cron mail and logs
/// get no escape codes.
pub(super) struct Bar {
    bar: Option<ProgressBar>,
    bytes: AtomicU64,
    started: Instant,
}

impl Bar {
    pub(super) fn new(wanted: bool) -> Bar {
        let bar = (wanted && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} resources {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Bar {
            bar,
            bytes: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, jobs: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(jobs as u64);
        }
    }
    fn done(&self, _url: &str, bytes: u64) {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!(
                "{} ({}/s)",
                HumanBytes(total),
                HumanBytes((total as f64 / secs) as u64)
            ));
        }
    }
    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// SPEC.md's `--json` summary.
fn json_summary(report: &Report) -> serde_json::Value {
    let posts: Vec<_> = report
        .posts
        .iter()
        .map(|p| {
            serde_json::json!({
                "source": p.source,
                "slug": p.slug,
                "dir": p.dir,
                "counts": {
                    "total": p.counts.total,
                    "archived": p.counts.archived,
                    "failed": p.counts.failed,
                    "skipped": p.counts.skipped,
                    "images": p.counts.images,
                    "links": p.counts.links,
                },
                "failures": p.failures,
                "files": p.files,
            })
        })
        .collect();
    serde_json::json!({
        "posts": posts,
        "counts": report.counts,
        "bytes_stored": report.bytes_stored,
        "duplicates": report.duplicates,
        "fetched": report.fetched,
    })
}

fn print_summary(report: &Report) {
    for p in &report.posts {
        let c = &p.counts;
        println!(
            "{} -> {}: {} archived, {} failed, {} skipped ({} images, {} links; {} files)",
            p.source, p.dir, c.archived, c.failed, c.skipped, c.images, c.links, p.files
        );
        for f in &p.failures {
            println!("  failed  {}  {}", f.url, f.error);
        }
    }
    let c = &report.counts;
    println!(
        "{} resources: {} archived, {} failed, {} skipped; {} stored, {} duplicates saved, {} fetched this run",
        c.total,
        c.archived,
        c.failed,
        c.skipped,
        HumanBytes(report.bytes_stored),
        report.duplicates,
        report.fetched,
    );
}

fn dry_run(args: &ArchiveArgs, posts: &[std::path::PathBuf]) -> anyhow::Result<Exit> {
    let mut listings = Vec::new();
    for path in posts {
        let post = read_post(path)?;
        let resolve = Resolve {
            base_url: args.base_url.as_ref(),
            post_dir: Some(
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new(".")),
            ),
        };
        let resources = resource::resources(&post, &resolve);
        listings.push(listing(path, &post, &resources));
    }
    if args.output.json {
        let json = serde_json::to_string_pretty(&listings).context("writing JSON")?;
        println!("{json}");
    } else {
        for l in &listings {
            print_listing(l);
        }
    }
    Ok(Exit::Ok)
}

/// Reads and parses a post, with the path in every error.
pub fn read_post(path: &Path) -> anyhow::Result<Post> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    Post::parse(bytes).with_context(|| format!("{}", path.display()))
}

#[derive(Serialize)]
struct Listing {
    source: String,
    resources: usize,
    references: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    line: usize,
    kind: &'static str,
    url: String,
    #[serde(rename = "in")]
    place: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    raw: String,
    rewritable: bool,
    /// `remote`, `local` or `skipped`.
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn listing(path: &Path, post: &Post, resources: &[Resource]) -> Listing {
    let mut rows = Vec::new();
    for resource in resources {
        let (action, reason) = match &resource.origin {
            Origin::Remote(_) => ("remote", None),
            Origin::Local { .. } => ("local", None),
            Origin::Skipped { reason } => ("skipped", Some(reason.clone())),
        };
        for r in &resource.occurrences {
            rows.push(Row {
                line: r.line,
                kind: resource.kind.as_str(),
                url: resource.key.clone(),
                place: r.place.as_str(),
                key: match &r.place {
                    Place::FrontMatter { key_path } => Some(key_path.clone()),
                    Place::Body => None,
                },
                raw: r.raw(post.text()).to_string(),
                rewritable: r.is_rewritable(),
                action,
                reason: reason.clone(),
            });
        }
    }
    rows.sort_by_key(|r| r.line);
    Listing {
        source: path.display().to_string(),
        resources: resources.len(),
        references: rows,
    }
}

fn print_listing(l: &Listing) {
    println!(
        "{}: {} references, {} resources",
        l.source,
        l.references.len(),
        l.resources
    );
    for r in &l.references {
        let mut notes = Vec::new();
        if let Some(key) = &r.key {
            notes.push(format!("front matter `{key}`"));
        }
        match r.action {
            "local" => notes.push("local file".to_string()),
            "skipped" => notes.push(format!(
                "skipped: {}",
                r.reason.as_deref().unwrap_or("not fetchable")
            )),
            _ => {}
        }
        if !r.rewritable {
            notes.push("not rewritten".to_string());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        println!("{:>6}  {:<5}  {}{}", r.line, r.kind, r.url, notes);
    }
}
