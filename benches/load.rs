//! The load run: 500 posts sharing 5,000 distinct URLs (small images) on one
//! local host that answers after 5 ms. Reports wall time, peak RSS, requests
//! per distinct URL and the most requests the host saw in flight.
//!
//!     cargo bench --bench load

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;

mod support;
use support::{Counters, rotproof_bin, serve_counted, time_v, timed};

const POSTS: usize = 500;
const URLS: usize = 5000;
const PER_POST: usize = 40;

fn main() {
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(64, 48)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    // Distinct bytes per URL: a PNG followed by the URL's number.
    let routes: HashMap<String, Arc<Vec<u8>>> = (0..URLS)
        .map(|i| {
            let mut body = png.clone();
            body.extend_from_slice(format!("{i}").as_bytes());
            (format!("/img/{i}"), Arc::new(body))
        })
        .collect();
    let counters = Arc::new(Counters::default());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    runtime.spawn(serve_counted(
        listener,
        Arc::new(routes),
        Duration::ZERO,
        Duration::from_millis(5),
        counters.clone(),
    ));

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
    let hits = counters.hits.lock().map(|h| h.clone()).unwrap_or_default();
    let requested = hits.len();
    let max_per_url = hits.values().max().copied().unwrap_or(0);
    println!(
        "load: {POSTS} posts, {requested} distinct URLs requested (of {URLS}), at most {max_per_url} request(s) per URL; \
         most in flight to the host: {} (--per-host {per_host}); {secs:.1}s; peak RSS {:.1} MB",
        counters.max_in_flight.load(Ordering::SeqCst),
        rss.unwrap_or(0) as f64 / 1024.0
    );
}
