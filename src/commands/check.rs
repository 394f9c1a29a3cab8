//! `rotproof check`: the report, `--repair`, and the exit code for cron.

use anyhow::Context;

use super::Exit;
use super::bar::Bar;
use crate::archive::{self, Input, PostError, PostOptions};
use crate::check::{self, CheckReport, CheckSettings, Checked};
use std::sync::Arc;

use crate::cli::{CheckArgs, FailOn, ReportFormat};
use crate::config::Config;
use crate::errors::printable;
use crate::manifest::{Kind, Manifest, RepairLinks, Verdict};
use crate::progress::Silent;
use crate::runner::Runner;
use crate::store;

pub(super) fn run(args: &CheckArgs, config: Config) -> anyhow::Result<Exit> {
    let files = config.files.clone();
    let dirs = check::post_dirs(&args.archived)?;
    let settings = CheckSettings {
        stale_after: args.stale_after,
        keep_versions: args.repair && args.refresh,
        net: args
            .net
            .options(&config.hosts, crate::net::CHECK_PER_HOST_RATE),
        rules: Arc::new(config.rules),
        archives: Arc::new(args.net.web_archives(&config.archives)),
        repair_links: args.repair.then_some(args.repair_links),
    };
    let runner = super::runner()?;
    let bar = Bar::new(!args.output.quiet);
    let report = check::run(&dirs, &settings, &bar, &runner)?;

    let Repairs {
        repaired,
        unrepaired,
    } = if args.repair {
        repair(&report.posts, &settings, &runner)?
    } else {
        Repairs::default()
    };

    let summary = one_line(&report);
    let mut report = report;
    if args.new {
        // Counts stay the run's; the rows are what changed state.
        report.results.retain(|r| r.new);
    }
    let format = if args.output.json {
        ReportFormat::Json
    } else {
        args.format
    };
    if format == ReportFormat::Markdown {
        print!(
            "{}",
            printable(&check::formats::markdown(&report, &summary))
        );
    } else if format == ReportFormat::Github {
        print!("{}", printable(&check::formats::github(&report, &summary)));
    } else if format == ReportFormat::Sarif {
        super::print_json(&check::formats::sarif(&report))?;
    } else if format == ReportFormat::Junit {
        print!("{}", check::formats::junit(&report));
    } else if format == ReportFormat::Json {
        let mut json = serde_json::to_value(&report).context("writing JSON")?;
        json["repaired"] = serde_json::json!(
            repaired
                .iter()
                .map(|r| serde_json::json!({"dir": r.dir, "archived": r.archived, "links_repointed": r.repointed}))
                .collect::<Vec<_>>()
        );
        json["config_files"] = super::config_files_json(&files);
        json["archives_given_up"] = serde_json::json!(settings.archives.given_up());
        super::print_json(&json)?;
    } else {
        print_report(&report);
        for r in &repaired {
            say!(
                "repaired {}: {} resources archived now, {} dead links pointed at their {}",
                r.dir,
                r.archived,
                r.repointed,
                match settings.repair_links {
                    Some(RepairLinks::Local) => "copies",
                    Some(RepairLinks::Keep) => "own URL",
                    _ => "mementos",
                }
            );
        }
        super::say_archives_given_up(&settings.archives.given_up());
        super::say_config_files(&files);
    }
    for dir in &report.locked {
        eprintln!(
            "rotproof: {}: locked by another run; not checked this time",
            printable(&dir.display().to_string())
        );
    }
    for e in report.errors.iter().chain(&unrepaired) {
        eprintln!(
            "rotproof: {}: {}",
            printable(&e.source),
            printable(&e.error)
        );
    }
    if report.posts.is_empty() && !report.locked.is_empty() {
        anyhow::bail!("nothing checked: every post is locked by another run");
    }
    // Whatever the format: cron mails what reaches stderr, and a journal
    // shows it.
    eprintln!("rotproof check: {}", printable(&summary));
    let c = &report.counts;
    let failing = match args.fail_on {
        FailOn::Dead => c.dead > 0,
        FailOn::Lost => c.lost > 0,
        FailOn::New => c.newly_dead > 0,
        FailOn::Never => false,
    };
    Ok(if !report.errors.is_empty() || !unrepaired.is_empty() {
        Exit::Error
    } else if failing {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// The run in one line: "891 checked: 30 dead (20 lost), 2 changed, 1
/// recovered, 858 alive; 12 URLs requested".
fn one_line(report: &CheckReport) -> String {
    let c = &report.counts;
    let mut line = format!(
        "{} checked: {} dead ({} lost), {} changed, {} recovered, {} alive; {} new since the last check; {} URLs requested",
        report.results.len(),
        c.dead,
        c.lost,
        c.changed,
        c.recovered,
        c.alive,
        c.new,
        report.requested
    );
    if report.fresh > 0 {
        line.push_str(&format!("; {} checked recently, skipped", report.fresh));
    }
    if !report.locked.is_empty() {
        line.push_str(&format!(
            "; {} posts locked by another run, not checked",
            report.locked.len()
        ));
    }
    line
}

/// Re-archives every post where something that had failed is reachable
/// now, in one archive run (one client, one pool), each from its own
/// source.md with the settings it was archived with: intact files are kept
/// as they are (never replaced), failed resources are fetched again, and
/// index.md is rewritten to point at what is archived now. Returns each
/// repaired folder with the resources archived by the repair, and the
/// posts that could not be repaired (the others are).
fn repair(posts: &[Checked], checked: &CheckSettings, runner: &Runner) -> anyhow::Result<Repairs> {
    let repairable: Vec<&Checked> = posts.iter().filter(|p| p.repairable).collect();
    if repairable.is_empty() {
        return Ok(Repairs::default());
    }
    let mode = checked.repair_links.unwrap_or_default();
    // Each post's index.md as it was, so that a post the repair left as it
    // was is not told.
    let index_before: Vec<Option<Vec<u8>>> = repairable
        .iter()
        .map(|p| std::fs::read(p.dir.join(store::INDEX)).ok())
        .collect();
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
            under: std::path::PathBuf::new(),
            bundle: None,
            slug: Some(slug.to_string()),
            options: PostOptions {
                base_url: p.post.base_url.clone(),
                links: p.post.links.unwrap_or_default(),
                thumbs: p.post.thumbnails.map(Into::into).unwrap_or_default(),
                repair_links: checked.repair_links,
            },
        });
    }
    let settings = archive::ArchiveSettings {
        refresh: false,
        net: checked.net.clone(),
        rules: checked.rules.clone(),
        archives: checked.archives.clone(),
    };
    let report = archive::run(&inputs, &settings, &Silent, runner)?;
    // Each repaired post by its folder: a post that could not be repaired
    // is in `errors`, not in `posts`.
    // (Folders compared resolved: `archive/x` and `./archive/x/` are one.)
    let resolved = |dir: &std::path::Path| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let after: std::collections::HashMap<std::path::PathBuf, usize> = report
        .posts
        .iter()
        .map(|p| (resolved(std::path::Path::new(&p.dir)), p.counts.archived))
        .collect();
    // A post the repair changed nothing in is not told (it was, for every
    // post with a dead link, on every run).
    let repaired = repairable
        .iter()
        .zip(index_before)
        .filter_map(|(before, index_before)| {
            let now = *after.get(&resolved(&before.dir))?;
            let archived = now.saturating_sub(before.archived);
            let index_now = std::fs::read(before.dir.join(store::INDEX)).ok();
            (archived > 0 || index_now != index_before).then(|| Repaired {
                dir: before.dir.display().to_string(),
                archived,
                repointed: repointed(&before.dir, mode),
            })
        })
        .collect();
    Ok(Repairs {
        repaired,
        unrepaired: report.errors,
    })
}

/// Dead links index.md now points elsewhere than their URL, per the
/// post's manifest after the repair.
fn repointed(dir: &std::path::Path, mode: RepairLinks) -> usize {
    let Some(layout) = store::Layout::detect(dir) else {
        return 0;
    };
    let Ok(Some(manifest)) = Manifest::read(&dir.join(layout.manifest())) else {
        return 0;
    };
    manifest
        .resources
        .iter()
        .filter(|e| e.kind == Kind::Link && archive::rewritten(e, mode).is_some())
        .count()
}

/// One repaired folder.
struct Repaired {
    dir: String,
    /// Resources archived by the repair.
    archived: usize,
    /// Dead links pointed at a memento or copy.
    repointed: usize,
}

/// What `--repair` did.
#[derive(Default)]
struct Repairs {
    repaired: Vec<Repaired>,
    /// Posts that could not be repaired, and why.
    unrepaired: Vec<PostError>,
}

fn print_report(report: &CheckReport) {
    for r in report
        .results
        .iter()
        .filter(|r| matches!(r.result, Verdict::Dead | Verdict::Changed))
    {
        let reason = r
            .error
            .as_deref()
            .unwrap_or("content differs from the archived copy");
        // "dead, lost" / "dead, kept": whether the reader still has it.
        let result = match r.served {
            Some(served) => format!("{}, {}", r.result.as_str(), served.as_str()),
            None => r.result.as_str().to_string(),
        };
        match &r.dead_since {
            Some(since) => say!(
                "{result:<10} {}  {}  {} (dead since {since})",
                r.post,
                r.url,
                reason
            ),
            None => say!("{result:<10} {}  {}  {}", r.post, r.url, reason),
        }
    }
    for r in report
        .results
        .iter()
        .filter(|r| r.result == Verdict::Recovered)
    {
        say!("{:<10} {}  {}", "recovered", r.post, r.url);
    }
}
