//! `rotproof verify`: the fixity report.

use super::Exit;
use crate::check;
use crate::cli::VerifyArgs;
use crate::verify::{self, Problem};

pub(super) fn run(args: &VerifyArgs) -> anyhow::Result<Exit> {
    let dirs = check::post_dirs(&args.archived)?;
    let report = verify::run(&dirs)?;
    if args.json {
        super::print_json(&report)?;
    } else {
        for post in &report.posts {
            let status = if post.findings.is_empty() {
                "ok"
            } else {
                "PROBLEMS"
            };
            say!(
                "{}: {status}: {} files re-hashed ({} bytes), {} problems",
                post.dir,
                post.files,
                post.bytes,
                post.findings.len()
            );
            for f in &post.findings {
                let kind = match f.problem {
                    Problem::Missing => "missing",
                    Problem::Corrupt => "corrupt",
                    Problem::Unreferenced => "unreferenced",
                };
                say!("  {kind:<12} {}  {}", f.path, f.detail);
            }
        }
    }
    for dir in &report.locked {
        eprintln!(
            "rotproof: {}: locked by another run; not verified this time",
            crate::errors::printable(&dir.display().to_string())
        );
    }
    if report.posts.is_empty() && !report.locked.is_empty() {
        anyhow::bail!("nothing verified: every post is locked by another run");
    }
    Ok(if report.ok { Exit::Ok } else { Exit::Partial })
}
