//! `many`: one post naming 20,000 distinct image URLs on one local server,
//! each a tiny PNG with the same bytes (the per-resource cost, with
//! nothing else to measure), against `curl --parallel --parallel-max 16
//! --config <urls>` writing the same URLs to files. Both use 16
//! connections to the one server (keep-alive, no added latency). Reports
//! medians, the ratio, and both tools' peak RSS.

use std::collections::HashMap;
use std::path::Path;

use super::support::{median, serve_routes, server, time_v, timed};

pub(crate) const URLS: usize = 20_000;

/// A 1×1 grey PNG, written by the image crate: the per-resource cost,
/// with nothing else to measure.
fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::new_luma8(1, 1)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

pub(crate) fn run(work: &Path, runs: usize, curl: bool) {
    let png = bytes::Bytes::from(tiny_png());
    let routes: HashMap<String, bytes::Bytes> = (0..URLS)
        .map(|i| (format!("/px/{i:05}"), png.clone()))
        .collect();
    let options = server::Options {
        keep_alive: true,
        ..server::Options::default()
    };
    let (server, _runtime) = serve_routes(routes, options);
    let base = server.base.clone();
    let dir = work.join("many");
    std::fs::create_dir_all(&dir).expect("many dir");
    let mut post = String::with_capacity(URLS * 40);
    let mut config = String::with_capacity(URLS * 50);
    for i in 0..URLS {
        post.push_str(&format!("![]({base}/px/{i:05})\n"));
        config.push_str(&format!("url = \"{base}/px/{i:05}\"\noutput = \"{i}\"\n"));
    }
    std::fs::write(dir.join("many.md"), post).expect("post");
    std::fs::write(dir.join("many.cfg"), config).expect("curl config");
    let out = dir.join("out");
    let files = dir.join("files");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut ours_rss, mut theirs_rss) = (Vec::new(), Vec::new());
    // Each round in folders of its own, all removed at the end (see
    // `blog`).
    for run in 0..runs {
        let out = out.join(run.to_string());
        let (secs, rss) = super::rotproof_archive(&out, &dir.join("many.md"), &[]);
        ours.push(secs);
        ours_rss.extend(rss);
        if curl {
            let files = files.join(run.to_string());
            std::fs::create_dir_all(&files).expect("files dir");
            let (secs, rss) = timed(
                time_v("curl")
                    .args([
                        "--parallel",
                        "--parallel-max",
                        "16",
                        "-s",
                        "-K",
                        "../../many.cfg",
                    ])
                    .current_dir(&files),
            );
            let got = std::fs::read_dir(&files).map_or(0, |d| d.count());
            if got == URLS {
                theirs.push(secs);
                theirs_rss.extend(rss);
            } else {
                println!("  curl wrote {got} of {URLS} files: run not counted");
            }
        }
        eprintln!("many: run {} of {runs} done", run + 1);
    }
    let archived = std::fs::read_to_string(out.join("0/many/.rotproof/manifest.json"))
        .map_or(0, |m| m.matches("\"status\": \"archived\"").count());
    let mb = |v: &[u64]| v.iter().max().copied().unwrap_or(0) as f64 / 1024.0;
    println!(
        "many: {URLS} distinct URLs in one post, {} bytes each, the same content; 16 connections; medians of {runs}",
        png.len()
    );
    println!(
        "  rotproof archive: median {:.2}s, peak RSS {:.1} MB ({archived} archived)",
        median(ours.clone()),
        mb(&ours_rss)
    );
    if !theirs.is_empty() {
        println!(
            "  curl --parallel --parallel-max 16 --config: median {:.2}s, peak RSS {:.1} MB; rotproof / this = {:.2}",
            median(theirs.clone()),
            mb(&theirs_rss),
            median(ours) / median(theirs)
        );
    }
    super::support::discard(&dir);
}
