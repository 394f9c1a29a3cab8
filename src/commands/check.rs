//! `rotproof check`: the report, `--repair`, and the exit code for cron.

use std::path::Path;

use anyhow::Context;

use super::Exit;
use super::archive::Bar;
use crate::archive::{self, LinksMode, Silent};
use crate::check::{self, Report, Settings, Verdict};
use crate::cli::CheckArgs;
use crate::manifest::Manifest;
use crate::store;
use crate::thumbnail;

pub fn run(args: &CheckArgs) -> anyhow::Result<Exit> {
    let dirs = check::post_dirs(&args.archived)?;
    let settings = Settings {
        stale_after: args.stale_after.map(Into::into),
        keep_versions: args.repair && args.refresh,
        net: args.net.options(),
    };
    let runtime = super::runtime()?;
    let bar = Bar::new(!args.output.quiet);
    let report = super::run_interruptible(&runtime, check::run(&dirs, &settings, &bar))??;

    let mut repaired = Vec::new();
    if args.repair {
        for dir in &report.posts {
            let slug = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let needs = report.results.iter().any(|r| {
                r.was_failed && r.result == Verdict::Recovered && post_matches(dir, &r.post, slug)
            });
            if needs {
                let archived = super::run_interruptible(&runtime, repair(dir, args))??;
                repaired.push((dir.display().to_string(), archived));
            }
        }
    }

    if args.output.json {
        let mut json = serde_json::to_value(&report).context("writing JSON")?;
        json["repaired"] = serde_json::json!(
            repaired
                .iter()
                .map(|(dir, n)| serde_json::json!({"dir": dir, "archived": n}))
                .collect::<Vec<_>>()
        );
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_report(&report);
        for (dir, n) in &repaired {
            println!("repaired {dir}: {n} resources archived now");
        }
    }
    Ok(if report.any_dead() {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// Rows carry the manifest's slug; the folder name is the slug too unless
/// the folder was renamed.
fn post_matches(dir: &Path, row_post: &str, slug: &str) -> bool {
    row_post == slug
        || Manifest::read(&dir.join(store::MANIFEST))
            .ok()
            .flatten()
            .is_some_and(|m| m.post.slug == row_post)
}

/// Re-archives a post from its own source.md: intact files are kept as
/// they are (never replaced), failed resources are fetched again, and
/// index.md is rewritten to point at what is archived now.
async fn repair(dir: &Path, args: &CheckArgs) -> anyhow::Result<usize> {
    let manifest = Manifest::read(&dir.join(store::MANIFEST))?
        .with_context(|| format!("{}: no manifest.json", dir.display()))?;
    let before = manifest
        .resources
        .iter()
        .filter(|e| e.status == crate::manifest::Status::Archived)
        .count();
    let slug = dir
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: not a post folder", dir.display()))?
        .to_string();
    let out = dir.parent().unwrap_or(Path::new(".")).to_path_buf();
    let settings = archive::Settings {
        out,
        slug: Some(slug),
        base_url: manifest
            .post
            .base_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok()),
        links: manifest
            .post
            .links
            .as_deref()
            .and_then(LinksMode::parse)
            .unwrap_or_default(),
        thumbs: thumbnail::Settings::default(),
        refresh: false,
        net: args.net.options(),
    };
    let report = archive::run(&[dir.join(store::SOURCE)], &settings, &Silent).await?;
    Ok(report.counts.archived.saturating_sub(before))
}

fn print_report(report: &Report) {
    for r in report
        .results
        .iter()
        .filter(|r| matches!(r.result, Verdict::Dead | Verdict::Changed))
    {
        let reason = r
            .error
            .as_deref()
            .unwrap_or("content differs from the archived copy");
        match &r.dead_since {
            Some(since) => println!(
                "{:<9} {}  {}  {} (dead since {since})",
                r.result.as_str(),
                r.post,
                r.url,
                reason
            ),
            None => println!("{:<9} {}  {}  {}", r.result.as_str(), r.post, r.url, reason),
        }
    }
    for r in report
        .results
        .iter()
        .filter(|r| r.result == Verdict::Recovered)
    {
        println!("{:<9} {}  {}", "recovered", r.post, r.url);
    }
    let c = &report.counts;
    println!(
        "{} checked ({} URLs requested): {} alive, {} changed, {} dead, {} recovered; {} checked recently, skipped",
        report.results.len(),
        report.requested,
        c.alive,
        c.changed,
        c.dead,
        c.recovered,
        report.fresh
    );
}
