//! The load run: 500 posts sharing 5,000 distinct URLs (small images) on one
//! local host that answers after 5 ms, alternating with curl fetching the
//! same URLs into files. Reports medians, peak RSS, the ratio to the
//! network time and to curl, and whether every URL was requested once.
//!
//!     cargo bench --bench load

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

pub mod support;
use support::{discard, latency, median, rotproof_bin, serve_routes, time_v, timed};

const POSTS: usize = 500;
const URLS: usize = 5000;
const PER_POST: usize = 40;

fn main() {
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(64, 48)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    // Distinct bytes per URL: a PNG followed by the URL's number.
    let routes: HashMap<String, bytes::Bytes> = (0..URLS)
        .map(|i| {
            let mut body = png.clone();
            body.extend_from_slice(format!("{i}").as_bytes());
            (format!("/img/{i}"), body.into())
        })
        .collect();
    let (server, _runtime) =
        serve_routes(routes, latency(Duration::ZERO, Duration::from_millis(5)));
    let base = server.base.clone();

    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-load");
    discard(&work);
    std::fs::create_dir_all(work.join("posts")).expect("work dir");
    for p in 0..POSTS {
        let body: String = (0..PER_POST)
            // URLs p*10 .. p*10+9, and the same shifted by 1,250, 2,500 and
            // 3,750: every URL is in exactly 4 posts.
            .map(|k| {
                format!(
                    "![]({base}/img/{})\n",
                    (p * 10 + k % 10 + (k / 10) * 1250) % URLS
                )
            })
            .collect();
        std::fs::write(work.join(format!("posts/p{p:03}.md")), body).expect("post");
    }
    let per_host = 8;
    let runs: usize = std::env::var("ROTPROOF_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    // The network time, measured: curl fetching the same 5,000 URLs with
    // as many in flight, the bodies dropped. And curl writing them into
    // files: what any downloader pays on this machine for the network and
    // for creating 5,000 files.
    let config = |output: &dyn Fn(usize) -> String| -> String {
        (0..URLS)
            .map(|i| format!("url = \"{base}/img/{i}\"\noutput = \"{}\"\n", output(i)))
            .collect()
    };
    std::fs::write(work.join("urls.cfg"), config(&|i| i.to_string())).expect("curl config");
    std::fs::write(work.join("null.cfg"), config(&|_| "/dev/null".into())).expect("curl config");
    let curl = |cfg: &str, dir: &std::path::Path| {
        timed(
            time_v("curl")
                .args(["--parallel", "--parallel-max", &per_host.to_string()])
                .args(["-s", "-K", cfg])
                .current_dir(dir),
        )
        .0
    };
    let (mut ours, mut theirs, mut network, mut peak) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let mut hits_ok = true;
    for run in 0..runs {
        // Every round writes into folders of its own; all are removed at
        // the end, so no round pays for deleting another's files.
        let out = format!("archive-{run}");
        let (secs, rss) = timed(
            time_v(&rotproof_bin())
                .args([
                    "archive",
                    "-q",
                    "--concurrency",
                    "16",
                    "--per-host",
                    &per_host.to_string(),
                    "--out",
                    &out,
                    "posts",
                ])
                .current_dir(&work),
        );
        ours.push(secs);
        peak = peak.max(rss.unwrap_or(0));
        let hits = server.all_hits();
        // curl asks each URL twice a round.
        hits_ok &= hits.len() == URLS && hits.values().all(|&n| n == 3 * run + 1);
        let files = work.join(format!("curl-{run}"));
        std::fs::create_dir_all(&files).expect("curl dir");
        let secs = curl("../urls.cfg", &files);
        if std::fs::read_dir(&files).map_or(0, |d| d.count()) == URLS {
            theirs.push(secs);
        }
        network.push(curl("null.cfg", &work));
        eprintln!("load: round {} of {runs} done", run + 1);
    }
    let ideal = (URLS as f64 * 0.005) / per_host as f64;
    let network = median(network);
    let ours = median(ours);
    println!(
        "load: {POSTS} posts, {URLS} distinct URLs, each answered after 5 ms, --per-host {per_host} \
         (most in flight seen: {}); every URL requested once per run: {hits_ok}; medians of {runs}",
        server.max_in_flight(),
    );
    println!(
        "  network time (curl --parallel-max {per_host}, bodies dropped): {network:.2}s \
         (the latency alone: {URLS} x 5 ms / {per_host} = {ideal:.2}s)"
    );
    println!(
        "  rotproof archive: {ours:.2}s, peak RSS {:.1} MB; {:.2}x the network time",
        peak as f64 / 1024.0,
        ours / network,
    );
    if !theirs.is_empty() {
        println!(
            "  curl --parallel --parallel-max {per_host} into files: {:.2}s; rotproof / this = {:.2}",
            median(theirs.clone()),
            ours / median(theirs),
        );
    }
    discard(&work);
    support::empty_trash();
}
