//! `rotproof bundle`: one archived post into one offline file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;

use super::Exit;
use crate::bundle::{self, Form};
use crate::cli::BundleArgs;
use crate::manifest::Manifest;
use crate::store::{self, Layout};

pub(super) fn run(args: &BundleArgs) -> anyhow::Result<Exit> {
    let dir = if args.dir.is_file() {
        store::folder_of_manifest(&args.dir)
    } else {
        args.dir.clone()
    };
    let not_archived = || {
        format!(
            "{}: not an archived post folder (no manifest.json)",
            dir.display()
        )
    };
    let layout = Layout::detect(&dir).with_context(not_archived)?;
    let post = Manifest::read_post(&dir.join(layout.manifest()))?.with_context(not_archived)?;
    // The slug comes from a file that may have been edited: only ever a
    // name in the current folder.
    let out = args.output.clone().unwrap_or_else(|| {
        let slug = store::sanitise_slug(&post.slug).unwrap_or_else(|| "post".into());
        PathBuf::from(format!("{slug}.zip"))
    });
    let form = Form::of(&out).with_context(|| format!("{}: unknown bundle form", out.display()))?;
    // The work runs on its own thread so that Ctrl-C can be answered: the
    // temporary output is removed and nothing is left under the final name.
    // Made first: from here on a Ctrl-C is caught, never fatal.
    let runner = super::runner()?;
    let temp: Arc<Mutex<Option<PathBuf>>> = Arc::default();
    let (done, result) = tokio::sync::oneshot::channel();
    {
        let (dir, out, temp) = (dir.clone(), out.clone(), temp.clone());
        std::thread::spawn(move || {
            let _ = done.send(bundle::bundle(&dir, &out, form, &|path| {
                if let Ok(mut t) = temp.lock() {
                    *t = Some(path.to_path_buf());
                }
                hold_for_tests();
            }));
        });
    }
    match runner.run(result) {
        Ok(Ok(outcome)) => outcome?,
        Ok(Err(_)) => anyhow::bail!("the bundle worker stopped unexpectedly"),
        Err(interrupted) => {
            if let Some(path) = temp.lock().ok().and_then(|t| t.clone()) {
                let _ = std::fs::remove_file(path);
            }
            return Err(interrupted.into());
        }
    }
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    say!("{}: {} bytes", out.display(), size);
    Ok(Exit::Ok)
}

/// A seam for the interruption tests (debug builds only, as the tests'
/// binary is): with `ROTPROOF_TEST_HOLD_BUNDLE`
/// set, the bundle stops for good once its temporary file exists, so a
/// test can interrupt it there without making a bundle big enough to
/// take a while (it used 128 MiB of random bytes as a timer).
fn hold_for_tests() {
    if cfg!(debug_assertions) && std::env::var_os("ROTPROOF_TEST_HOLD_BUNDLE").is_some() {
        loop {
            std::thread::park();
        }
    }
}
