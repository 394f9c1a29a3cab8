//! `rotproof archive`: the run itself (see [`crate::archive`]), its
//! summary, and the dry run, which lists every reference a post holds and
//! what the run's plan would do with it.

use anyhow::Context;
use indicatif::HumanBytes;

use super::bar::Bar;
use super::{Exit, inputs};
use crate::archive::{
    self, Action, ArchiveReport, ArchiveSettings, Input, PlannedPost, PostError, PostOptions,
    Provenance,
};
use std::sync::Arc;

use crate::cli::ArchiveArgs;
use crate::config::Config;
use crate::errors::printable;
use crate::thumbnail;

pub(super) fn run(args: &ArchiveArgs, config: Config) -> anyhow::Result<Exit> {
    let files = config.files.clone();
    let posts = inputs::posts(&args.inputs, &args.out)?;
    let options = PostOptions {
        base_url: args.base_url.clone(),
        links: args.links,
        thumbs: thumbnail::Settings {
            size: args.thumb_size,
            max_pixels: args.max_pixels,
            enabled: !args.no_thumbs,
        },
        repair_links: None,
    };
    let posts: Vec<_> = posts
        .into_iter()
        .map(|found| (found.path, found.under, found.bundle))
        .collect();
    let inputs = Input::all(&posts, &args.out, args.slug.as_deref(), &options)?;
    let settings = ArchiveSettings {
        refresh: args.refresh,
        net: args
            .net
            .options(&config.hosts, crate::net::ARCHIVE_PER_HOST_RATE),
        rules: Arc::new(config.rules),
        archives: Arc::new(args.net.web_archives(&config.archives)),
    };
    if args.dry_run {
        return dry_run(args, &inputs, &settings);
    }
    let runner = super::runner()?;
    let bar = Bar::new(!args.output.quiet);
    let report = archive::run(&inputs, &settings, &bar, &runner)?;
    if args.output.json {
        // Through a JSON value: its keys come out sorted, as they always have.
        let mut json = serde_json::to_value(&report).context("writing JSON")?;
        json["config_files"] = super::config_files_json(&files);
        json["archives_given_up"] = serde_json::json!(settings.archives.given_up());
        super::print_json(&json)?;
    } else {
        print_summary(&report);
        super::say_archives_given_up(&settings.archives.given_up());
        super::say_config_files(&files);
    }
    Ok(if !report.errors.is_empty() {
        refusals(&report.errors)
    } else if report.any_failed() {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// Each post the run could not archive, on stderr: the run went on without
/// them, and exits 1.
fn refusals(errors: &[PostError]) -> Exit {
    for e in errors {
        eprintln!(
            "rotproof: {}: {}",
            printable(&e.source),
            printable(&e.error)
        );
    }
    Exit::Error
}

fn print_summary(report: &ArchiveReport) {
    for p in &report.posts {
        let c = &p.counts;
        let media = if c.media > 0 {
            format!("{} media, ", c.media)
        } else {
            String::new()
        };
        say!(
            "{} -> {}: {} archived, {} failed, {} skipped ({} images, {media}{} links; {} files)",
            p.source,
            p.dir,
            c.archived,
            c.failed,
            c.skipped,
            c.images,
            c.links,
            p.files
        );
        for f in &p.failures {
            say!("  failed  {}  {}", f.url, f.error);
        }
        if p.failures_not_listed > 0 {
            say!(
                "  … and {} more failed: {}'s manifest lists every one",
                p.failures_not_listed,
                p.dir
            );
        }
    }
    let c = &report.counts;
    say!(
        "{} resources: {} archived, {} failed, {} skipped; {} stored, {} duplicates saved, {} fetched this run{}",
        c.total,
        c.archived,
        c.failed,
        c.skipped,
        HumanBytes(report.bytes_stored),
        report.duplicates,
        report.fetched,
        recovered(&c.recovered),
    );
}

/// "; 3 recovered from web archives (wayback 2, memento 1)", when any were.
fn recovered(r: &crate::archive::RecoveredCounts) -> String {
    if r.total() == 0 {
        return String::new();
    }
    let from: Vec<String> = [("wayback", r.wayback), ("memento", r.memento)]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    format!(
        "; {} recovered from web archives ({})",
        r.total(),
        from.join(", ")
    )
}

fn dry_run(
    args: &ArchiveArgs,
    inputs: &[Input],
    settings: &ArchiveSettings,
) -> anyhow::Result<Exit> {
    let errors = if args.output.json {
        // One JSON array, each post written as it is planned.
        use serde::ser::{SerializeSeq, Serializer as _};
        use std::io::Write as _;
        let stdout = std::io::stdout().lock();
        let mut json = serde_json::Serializer::pretty(crate::errors::JsonForTerminal::new(
            std::io::BufWriter::new(stdout),
        ));
        let mut posts = json.serialize_seq(None).context("writing JSON")?;
        let errors = archive::dry_run(inputs, settings, &mut |post| {
            posts.serialize_element(post).map_err(std::io::Error::other)
        })
        .context("writing JSON")?;
        posts.end().context("writing JSON")?;
        let mut out = json.into_inner();
        out.write_all(b"\n").context("writing JSON")?;
        out.flush().context("writing JSON")?;
        errors
    } else {
        archive::dry_run(inputs, settings, &mut |post| {
            print_listing(post);
            Ok(())
        })?
    };
    Ok(if errors.is_empty() {
        Exit::Ok
    } else {
        refusals(&errors)
    })
}

fn print_listing(l: &PlannedPost<'_>) {
    say!(
        "{}: {} references, {} resources",
        l.source,
        l.references.len(),
        l.resources
    );
    for r in l.references.iter() {
        let mut notes = Vec::new();
        if let Some(key) = &r.key {
            notes.push(format!("front matter `{key}`"));
        }
        match r.action {
            Provenance::Local => notes.push("local file".to_string()),
            Provenance::Skipped => {
                notes.push(format!("skipped: {}", r.reason.unwrap_or("not fetchable")))
            }
            Provenance::Remote => {}
        }
        match r.plan {
            Action::Reuse => notes.push("archived before: kept".to_string()),
            Action::Revalidate => notes.push("archived before: asked again".to_string()),
            Action::Omit => notes.push("left out: --links ignore".to_string()),
            Action::Fetch | Action::Skip => {}
        }
        if !r.rewritable {
            notes.push("not rewritten".to_string());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        say!("{:>6}  {:<5}  {}{}", r.line, r.kind.as_str(), r.url, notes);
    }
}
