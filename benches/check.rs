//! The check benchmark: 2,000 distinct URLs on a local server that answers
//! each request after 20 ms. Checking is I/O bound, so it should take about
//! (2,000 × 20 ms) / --concurrency plus overhead.
//!
//!     cargo bench --bench check
//!
//! The post's links are first recorded with `archive --links check`; then
//! `check` is timed (median of 5) at --concurrency 16 and 64, with the
//! per-host rate lifted (`--per-host-rate 0`: one host serves them all).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub mod support;
use support::{latency, median, rotproof_bin, serve_routes, time_v, timed};

const URLS: usize = 2000;
const DELAY: Duration = Duration::from_millis(20);

fn main() {
    let runs: usize = std::env::var("ROTPROOF_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let routes: HashMap<String, bytes::Bytes> = (0..URLS)
        .map(|i| {
            (
                format!("/article/{i}"),
                format!("<html><body>article {i}</body></html>").into(),
            )
        })
        .collect();
    let (server, _runtime) = serve_routes(routes, latency(Duration::ZERO, DELAY));
    let base = server.base.clone();

    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-check");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let post: String = (0..URLS)
        .map(|i| format!("[source {i}]({base}/article/{i})\n\n"))
        .collect();
    std::fs::write(work.join("links.md"), post).expect("post");
    let bin = rotproof_bin();
    let status = Command::new(&bin)
        .env("ROTPROOF_ARCHIVES", "none")
        .args([
            "archive",
            "-q",
            "--links",
            "check",
            "--concurrency",
            "64",
            "--per-host",
            "64",
            "links.md",
        ])
        .current_dir(&work)
        .status()
        .expect("archive");
    assert!(status.success(), "archive --links check failed");

    for concurrency in ["16", "64"] {
        let mut times = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..runs {
            let (secs, peak) = timed(
                time_v(&bin)
                    .args([
                        "check",
                        "-q",
                        "--concurrency",
                        concurrency,
                        "--per-host",
                        concurrency,
                        // Politeness off: this measures the checker, not
                        // the default 10 requests a second to one host.
                        "--per-host-rate",
                        "0",
                    ])
                    .current_dir(&work),
            );
            times.push(secs);
            rss.extend(peak);
        }
        let ideal = URLS as f64 * DELAY.as_secs_f64() / concurrency.parse::<f64>().unwrap_or(1.0);
        let m = median(times);
        println!(
            "check of {URLS} URLs (HEAD, answered after {} ms) at --concurrency {concurrency}: median {m:.2}s, ideal {ideal:.2}s, overhead {:.0}%; peak RSS {:.1} MB",
            DELAY.as_millis(),
            (m / ideal - 1.0) * 100.0,
            rss.iter().max().copied().unwrap_or(0) as f64 / 1024.0
        );
    }
}
