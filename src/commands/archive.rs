//! `rotproof archive`: for now the dry run, which lists every reference a
//! post holds and what would become of it.

use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;

use super::{Exit, inputs};
use crate::cli::ArchiveArgs;
use crate::post::Post;
use crate::reference::Place;
use crate::resource::{self, Origin, Resolve, Resource};

pub fn run(args: &ArchiveArgs) -> anyhow::Result<Exit> {
    if !args.dry_run {
        bail!("archive: fetching is not built yet; use --dry-run to list what would be fetched");
    }
    let posts = inputs::posts(&args.inputs)?;
    let mut listings = Vec::new();
    for path in &posts {
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
    if args.json {
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
