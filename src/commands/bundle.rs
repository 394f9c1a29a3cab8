//! `rotproof bundle`: one archived post into one offline file.

use std::path::PathBuf;

use anyhow::Context;

use super::Exit;
use crate::bundle::{self, Form};
use crate::cli::BundleArgs;
use crate::manifest::Manifest;
use crate::store;

pub fn run(args: &BundleArgs) -> anyhow::Result<Exit> {
    let dir = if args.dir.file_name().is_some_and(|n| n == store::MANIFEST) {
        args.dir.parent().map(PathBuf::from).unwrap_or_default()
    } else {
        args.dir.clone()
    };
    let manifest = Manifest::read(&dir.join(store::MANIFEST))?.with_context(|| {
        format!(
            "{}: not an archived post folder (no manifest.json)",
            dir.display()
        )
    })?;
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.zip", manifest.post.slug)));
    let form = Form::of(&out).with_context(|| format!("{}: unknown bundle form", out.display()))?;
    bundle::bundle(&dir, &out, form)?;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!("{}: {} bytes", out.display(), size);
    Ok(Exit::Ok)
}
