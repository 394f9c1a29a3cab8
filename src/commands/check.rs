//! `rotproof check`: the report, `--repair`, and the exit code for cron.

use anyhow::Context;

use super::Exit;
use super::bar::Bar;
use crate::archive::{self, Input, PostOptions};
use crate::check::{self, Checked, Report, Settings};
use crate::cli::CheckArgs;
use crate::errors::printable;
use crate::manifest::Verdict;
use crate::progress::Silent;
use crate::runner::Runner;
use crate::store;

pub fn run(args: &CheckArgs) -> anyhow::Result<Exit> {
    let dirs = check::post_dirs(&args.archived)?;
    let settings = Settings {
        stale_after: args.stale_after.map(Into::into),
        keep_versions: args.repair && args.refresh,
        net: args.net.options(),
    };
    let runner = super::runner()?;
    let bar = Bar::new(!args.output.quiet);
    let report = check::run(&dirs, &settings, &bar, &runner)?;

    let repaired = if args.repair {
        repair(&report.posts, args, &runner)?
    } else {
        Vec::new()
    };

    if args.output.json {
        let mut json = serde_json::to_value(&report).context("writing JSON")?;
        json["repaired"] = serde_json::json!(
            repaired
                .iter()
                .map(|(dir, n)| serde_json::json!({"dir": dir, "archived": n}))
                .collect::<Vec<_>>()
        );
        say!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_report(&report);
        for (dir, n) in &repaired {
            say!("repaired {dir}: {n} resources archived now");
        }
    }
    for dir in &report.locked {
        eprintln!(
            "rotproof: {}: locked by another run; not checked this time",
            printable(&dir.display().to_string())
        );
    }
    for e in &report.errors {
        eprintln!(
            "rotproof: {}: {}",
            printable(&e.source),
            printable(&e.error)
        );
    }
    Ok(if !report.errors.is_empty() {
        Exit::Error
    } else if report.any_dead() {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// Re-archives every post where something that had failed is reachable
/// now, in one archive run (one client, one pool), each from its own
/// source.md with the settings it was archived with: intact files are kept
/// as they are (never replaced), failed resources are fetched again, and
/// index.md is rewritten to point at what is archived now. Returns each
/// repaired folder with the resources archived by the repair.
fn repair(
    posts: &[Checked],
    args: &CheckArgs,
    runner: &Runner,
) -> anyhow::Result<Vec<(String, usize)>> {
    let repairable: Vec<&Checked> = posts.iter().filter(|p| p.repairable).collect();
    if repairable.is_empty() {
        return Ok(Vec::new());
    }
    let mut inputs = Vec::new();
    for p in &repairable {
        let slug = p
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: not a post folder", p.dir.display()))?;
        inputs.push(Input {
            path: p.source.clone(),
            out: store::parent_or_dot(&p.dir).to_path_buf(),
            slug: Some(slug.to_string()),
            options: PostOptions {
                base_url: p.post.base_url.clone(),
                links: p.post.links.unwrap_or_default(),
                thumbs: p.post.thumbnails.unwrap_or_default(),
            },
        });
    }
    let settings = archive::Settings {
        refresh: false,
        net: args.net.options(),
    };
    let report = archive::run(&inputs, &settings, &Silent, runner)?;
    if let Some(first) = report.errors.first() {
        anyhow::bail!("repairing {}: {}", first.source, first.error);
    }
    Ok(repairable
        .iter()
        .zip(&report.posts)
        .map(|(before, after)| {
            (
                before.dir.display().to_string(),
                after.counts.archived.saturating_sub(before.archived),
            )
        })
        .collect())
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
            Some(since) => say!(
                "{:<9} {}  {}  {} (dead since {since})",
                r.result.as_str(),
                r.post,
                r.url,
                reason
            ),
            None => say!("{:<9} {}  {}  {}", r.result.as_str(), r.post, r.url, reason),
        }
    }
    for r in report
        .results
        .iter()
        .filter(|r| r.result == Verdict::Recovered)
    {
        say!("{:<9} {}  {}", "recovered", r.post, r.url);
    }
    let c = &report.counts;
    say!(
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
