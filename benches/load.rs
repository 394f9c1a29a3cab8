//! The load run: 500 posts sharing 5,000 distinct URLs (small images) on one
//! local host that answers after 5 ms. Reports wall time, peak RSS, requests
//! per distinct URL and the most requests the host saw in flight.
//!
//!     cargo bench --bench load

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

pub mod support;
use support::{latency, rotproof_bin, serve_routes, time_v, timed};

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
    let _ = std::fs::remove_dir_all(&work);
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
    let (secs, rss) = timed(
        time_v(&rotproof_bin())
            .args([
                "archive",
                "-q",
                "--concurrency",
                "16",
                "--per-host",
                &per_host.to_string(),
                "posts",
            ])
            .current_dir(&work),
    );
    let hits = server.all_hits();
    let requested = hits.len();
    let max_per_url = hits.values().max().copied().unwrap_or(0);
    println!(
        "load: {POSTS} posts, {requested} distinct URLs requested (of {URLS}), at most {max_per_url} request(s) per URL; \
         most in flight to the host: {} (--per-host {per_host}); {secs:.1}s; peak RSS {:.1} MB",
        server.max_in_flight(),
        rss.unwrap_or(0) as f64 / 1024.0
    );
}
