//! Collecting and rewriting must be linear. Generates a ~20 MB post with
//! 20,000 image references in every form and times parse + group + rewrite.
//!
//!     cargo bench --bench post
//!
//! Prints the median of 5 runs. Not a test: nothing here asserts a time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rotproof::post::Post;
use rotproof::resource::{self, Resolve};
use rotproof::rewrite;

const REFERENCES: usize = 20_000;
const TARGET_BYTES: usize = 20 * 1024 * 1024;

fn generate() -> String {
    let mut doc = String::with_capacity(TARGET_BYTES + 1024);
    doc.push_str(
        "---\ntitle: \"基准\"\nthumbnail: https://inews.gtimg.com/om_bt/thumb/641\n---\n\n",
    );
    let filler =
        "周末的早晨，深圳湾公园的风已经带着一丝凉意。沿着海岸线一路向西，红树林里停满了候鸟。";
    let per_ref = TARGET_BYTES / REFERENCES;
    for i in 0..REFERENCES {
        // 1 in 10 URLs repeats an earlier one, as in real reposts.
        let id = if i % 10 == 9 { i / 2 } else { i };
        let url = format!("https://inews.gtimg.com/om_bt/O{id:031}/641");
        match i % 5 {
            0 => doc.push_str(&format!("![]({url})\n\n")),
            1 => doc.push_str(&format!("![图 {i}]({url} \"标题\") ")),
            2 => doc.push_str(&format!("<img src=\"{url}\" alt=\"{i}\">\n\n")),
            3 => doc.push_str(&format!("[来源]({url}) ")),
            _ => doc.push_str(&format!("![ref][r{i}]\n\n[r{i}]: {url}\n\n")),
        }
        let start = doc.len();
        while doc.len() - start < per_ref.saturating_sub(80) {
            doc.push_str(filler);
        }
        doc.push_str("\n\n");
    }
    doc
}

fn main() {
    let doc = generate();
    let bytes = doc.into_bytes();
    let mut times = Vec::new();
    let mut counts = (0, 0);
    for _ in 0..5 {
        let input = bytes.clone();
        let start = Instant::now();
        let post = match Post::parse(input) {
            Ok(post) => post,
            Err(err) => panic!("generated post does not parse: {err}"),
        };
        let mut post = post;
        let references = post.references().len();
        let resources = resource::resources(&mut post, &Resolve::default());
        let map: HashMap<String, String> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key().to_string(), format!("assets/{i:064x}.jpg")))
            .collect();
        let out = rewrite::rewrite(&post, &resources, &map);
        times.push(start.elapsed());
        counts = (references, resources.len());
        std::hint::black_box(out);
    }
    times.sort();
    let median: Duration = times[times.len() / 2];
    println!(
        "post: {:.1} MB, {} references, {} resources: parse + group + rewrite median {:.0} ms (min {:.0} ms, max {:.0} ms) over {} runs",
        bytes.len() as f64 / 1e6,
        counts.0,
        counts.1,
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len(),
    );
}
