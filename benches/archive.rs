//! The archive benchmark, against the best single-purpose tools.
//!
//!     cargo bench --bench archive                  # everything, 5 runs each
//!     cargo bench --bench archive -- thumbs large  # only those parts
//!     ROTPROOF_BENCH_RUNS=3 cargo bench --bench archive
//!
//! Three parts, each printing medians and rotproof's ratio to every peer:
//!
//! - `archive`: a generated corpus of 400 images (~70% 1600×1067 JPEG
//!   photos, 15% PNG with alpha, 10% GIF, some animated, 5% WebP, plus 10%
//!   exact duplicates under other URLs; CDN-style URLs without extensions)
//!   served from 127.0.0.1. rotproof archives the post that references
//!   them, alternating with `curl --parallel --parallel-max 16` (download
//!   only) and the peer pipelines: curl or aria2c, then sha256sum, then
//!   vipsthumbnail or Pillow two at a time. Also rotproof's peak RSS (from
//!   /usr/bin/time -v) and a re-run over the intact archive.
//! - `thumbs`: thumbnails alone from the 400 files on disk: rotproof's
//!   thumbnailer (one rayon worker per core) against `xargs -P2
//!   vipsthumbnail` and Pillow (`draft` + `thumbnail`, two processes).
//! - `large`: one 1 GiB resource from the benchmark server; peak RSS.
//! - `many`: 20,000 distinct URLs of one tiny image in one post, against
//!   curl writing them to files (see `archive_parts/many.rs`).
//! - `blog`: 200 posts of 30 images drawn from the `archive` corpus in one
//!   run, against its 440 URLs as one post (`archive_parts/blog.rs`).
//!
//! The server waits 40 ms before a new connection's first request and 40
//! ms before each response: a 20 ms each-way round trip, since this
//! machine's kernel has no netem. The corpus is generated once into
//! target/bench-corpus. Peers that are not installed are skipped with a
//! message (`apt-get install curl aria2 libvips-tools`, `pip install
//! Pillow`). Not a test: nothing here asserts a time.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::codecs::gif::{GifEncoder, Repeat};
use image::{DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use rotproof::thumbnail;

#[path = "archive_parts/blog.rs"]
mod blog;
#[path = "archive_parts/many.rs"]
mod many;
pub mod support;
use support::{discard, latency, median, rotproof_bin, serve_routes, time_v, timed};

const IMAGES: usize = 400;
const LATENCY: Duration = Duration::from_millis(40);

/// A small deterministic generator (xorshift), so the corpus is the same on
/// every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }
}

fn photo(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (w, h) = (1600, 1067);
    let (a, b, c) = (rng.byte() as u32, rng.byte() as u32, rng.byte() as u32);
    let img = RgbImage::from_fn(w, h, |x, y| {
        // Mild noise: photos of 150–400 KB at quality 80.
        let n = (rng.byte() % 6) as u32;
        Rgb([
            ((x * 255 / w + a + n) % 256) as u8,
            ((y * 255 / h + b + n) % 256) as u8,
            (((x + y) * 128 / (w + h) + c + n) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    img.write_with_encoder(enc).expect("encode jpeg");
    out
}

fn alpha_png(seed: u64) -> Vec<u8> {
    // Odd and distinct for every seed (`seed | 1` made 14 and 15 equal).
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (r, g) = (rng.byte(), rng.byte());
    let img = RgbaImage::from_fn(800, 600, |x, y| {
        Rgba([
            r ^ (x as u8),
            g ^ (y as u8),
            (x ^ y) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(img)
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("png");
    out
}

fn gif(seed: u64, animated: bool) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        let _ = enc.set_repeat(Repeat::Infinite);
        let frames = if animated { 4 } else { 1 };
        for f in 0..frames {
            let img = RgbaImage::from_fn(480, 320, |x, y| {
                Rgba([
                    (x as u8).wrapping_add(f * 40),
                    (y as u8) ^ seed as u8,
                    90,
                    255,
                ])
            });
            enc.encode_frame(Frame::new(img)).expect("gif frame");
        }
    }
    out
}

fn webp(seed: u64) -> Vec<u8> {
    let img = RgbImage::from_fn(800, 533, |x, y| {
        Rgb([(x / 4) as u8, (y / 3) as u8, seed as u8])
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), ImageFormat::WebP)
        .expect("webp");
    out
}

/// `(url path, bytes)` for every URL; 10% more URLs than distinct images.
fn corpus(dir: &Path) -> Vec<(String, PathBuf)> {
    std::fs::create_dir_all(dir).expect("corpus dir");
    let mut files = Vec::new();
    for i in 0..IMAGES {
        let path = dir.join(format!("{i:04}"));
        if !path.exists() {
            let bytes = match i % 20 {
                0..=13 => photo(i as u64),
                14..=16 => alpha_png(i as u64),
                17 | 18 => gif(i as u64, i % 40 == 17),
                _ => webp(i as u64),
            };
            std::fs::write(&path, bytes).expect("write corpus file");
        }
        files.push((format!("/om_bt/O{i:030}/641"), path));
    }
    for d in 0..IMAGES / 10 {
        let original = files[d * 7 % IMAGES].1.clone();
        files.push((format!("/om_bt/D{d:030}/641"), original));
    }
    files
}

/// Which parts run: `cargo bench --bench archive -- thumbs large` runs only
/// those two; no names runs them all (`archive`, `thumbs`, `large`,
/// `many`, `blog`).
struct Parts(Vec<String>);

impl Parts {
    fn from_args() -> Parts {
        // cargo passes `--bench`; part names are the other arguments.
        Parts(
            std::env::args()
                .skip(1)
                .filter(|a| !a.starts_with('-'))
                .collect(),
        )
    }

    fn wants(&self, part: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| p == part)
    }
}

/// The peer tools found on this machine.
struct Peers {
    curl: bool,
    aria2c: bool,
    sha256sum: bool,
    vips: bool,
    pillow: bool,
}

impl Peers {
    fn detect() -> Peers {
        let has = |tool: &str, args: &[&str]| {
            Command::new(tool)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let peers = Peers {
            curl: has("curl", &["--version"]),
            aria2c: has("aria2c", &["--version"]),
            sha256sum: has("sha256sum", &["--version"]),
            vips: has("vipsthumbnail", &["--vips-version"]),
            pillow: has("python3", &["-c", "import PIL"]),
        };
        for (found, what, install) in [
            (peers.curl, "curl", "apt-get install curl"),
            (peers.aria2c, "aria2c", "apt-get install aria2"),
            (peers.sha256sum, "sha256sum", "apt-get install coreutils"),
            (peers.vips, "vipsthumbnail", "apt-get install libvips-tools"),
            (peers.pillow, "Pillow for python3", "pip install Pillow"),
        ] {
            if !found {
                println!("{what}: not installed, its runs are skipped ({install})");
            }
        }
        peers
    }
}

/// The peers' download commands, run inside the download folder.
const CURL: &str = "curl --parallel --parallel-max 16 -s -K ../../curl.cfg";
const ARIA2C: &str = "aria2c -q -j16 --file-allocation=none --auto-file-renaming=false \
     --allow-overwrite=true -i ../../aria2.txt -d .";
/// The peers' thumbnailers, run inside a folder of images, writing to
/// `../thumbs`. vipsthumbnail 8.14 writes a relative `-o` to stdout, hence
/// `$(pwd)`.
const VIPS: &str =
    "ls | xargs -P2 -n 25 vipsthumbnail --size 320x320 -o \"$(pwd)/../thumbs/%s.jpg\"";
const PILLOW: &str = "python3 \"$PILLOW_THUMBS\" . ../thumbs > /dev/null";

/// A shell pipeline of single-purpose tools, stage after stage as a script
/// would run it: download everything, hash everything, thumbnail everything.
fn pipeline(download: &str, thumbnail: &str) -> String {
    format!(
        "set -e; mkdir -p \"$P/files\" \"$P/thumbs\" && cd \"$P/files\" && {download} && \
         sha256sum * > ../sums && {thumbnail}"
    )
}

/// Runs `sh -c script` in `dir`, with `$P` naming a folder of this run's
/// own there (see [`support::discard`]); returns the seconds and how many
/// files the run left in `dir/$P/count_dir`, so a pipeline that "succeeds"
/// without output cannot flatter rotproof.
fn run_sh(dir: &Path, script: &str, fresh: &str, count_dir: &str) -> (f64, usize) {
    let pillow = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/pillow_thumbs.py");
    let (secs, _) = timed(
        Command::new("sh")
            .args(["-c", script])
            .env("PILLOW_THUMBS", pillow)
            .env("P", fresh)
            .current_dir(dir),
    );
    let count = std::fs::read_dir(dir.join(fresh).join(count_dir)).map_or(0, |d| d.count());
    (secs, count)
}

/// Medians of named series, printed as a table with the ratio of `ours` to
/// each.
struct Series {
    rows: Vec<(String, Vec<f64>, usize)>,
}

impl Series {
    fn new() -> Series {
        Series { rows: Vec::new() }
    }

    fn push(&mut self, name: &str, secs: f64, outputs: usize) {
        match self.rows.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, times, count)) => {
                times.push(secs);
                *count = outputs;
            }
            None => self.rows.push((name.to_string(), vec![secs], outputs)),
        }
    }

    fn median(&self, name: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, times, _)| median(times.clone()))
    }

    fn print_against(&self, ours: &str, what: &str) {
        let Some(ours_m) = self.median(ours) else {
            return;
        };
        for (name, times, outputs) in &self.rows {
            let m = median(times.clone());
            if name == ours {
                println!("  {name}: median {m:.2}s ({outputs} {what})");
            } else {
                println!(
                    "  {name}: median {m:.2}s ({outputs} {what}); rotproof / this = {:.2}",
                    ours_m / m
                );
            }
        }
    }
}

fn main() {
    let runs: usize = std::env::var("ROTPROOF_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let parts = Parts::from_args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-corpus");
    let t = Instant::now();
    let corpus_dir = root.join("images-v3");
    let files = corpus(&corpus_dir);
    eprintln!("corpus ready in {:.1}s", t.elapsed().as_secs_f64());
    let peers = Peers::detect();
    let work = root.join("work");
    discard(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    if parts.wants("archive") {
        archive_vs_peers(&files, &work, &peers, runs);
    }
    if parts.wants("thumbs") {
        thumbnails_only(&corpus_dir, &work, &peers, runs);
    }
    if parts.wants("large") {
        large_resource(&work, runs.min(3));
    }
    if parts.wants("many") {
        many::run(&work, runs, peers.curl);
    }
    if parts.wants("blog") {
        let routes: HashMap<String, Arc<Vec<u8>>> = files
            .iter()
            .map(|(url, path)| {
                let body = std::fs::read(path).expect("read corpus");
                (url.clone(), Arc::new(body))
            })
            .collect();
        let (base, _runtime) = start_server(routes);
        let urls: Vec<String> = files.iter().map(|(u, _)| u.clone()).collect();
        blog::run(&base, &urls, &work, runs);
    }
    discard(&work);
    support::empty_trash();
}

/// Starts the latency-emulating server on its own runtime; returns the
/// base URL and the runtime, which must outlive the runs.
fn start_server(routes: HashMap<String, Arc<Vec<u8>>>) -> (String, tokio::runtime::Runtime) {
    let routes = routes
        .into_iter()
        .map(|(path, body)| (path, bytes::Bytes::from(Arc::unwrap_or_clone(body))))
        .collect();
    let (server, runtime) = serve_routes(routes, latency(LATENCY, LATENCY));
    (server.base, runtime)
}

fn rotproof_archive(out: &Path, post: &Path, extra: &[&str]) -> (f64, Option<u64>) {
    timed(
        time_v(&rotproof_bin())
            .args(["archive", "-q", "--concurrency", "16", "--per-host", "16"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .arg(post),
    )
}

/// rotproof archive against curl alone and the peer pipelines, alternating.
fn archive_vs_peers(files: &[(String, PathBuf)], work: &Path, peers: &Peers, runs: usize) {
    let routes: HashMap<String, Arc<Vec<u8>>> = files
        .iter()
        .map(|(url, path)| {
            (
                url.clone(),
                Arc::new(std::fs::read(path).expect("read corpus")),
            )
        })
        .collect();
    let total_bytes: usize = routes.values().map(|b| b.len()).sum();
    let (base, _runtime) = start_server(routes);

    let mut post = format!(
        "---\ntitle: bench\nthumbnail: {base}{}\n---\n\n",
        files[0].0
    );
    for (i, (url, _)) in files.iter().enumerate() {
        post.push_str(&format!("![]({base}{url})\n\n"));
        if i % 9 == 0 {
            post.push_str(&format!("又见 ![]({base}{url})\n\n"));
        }
    }
    let post_path = work.join("bench.md");
    std::fs::write(&post_path, post).expect("post");
    let mut curl_config = String::new();
    let mut aria2_input = String::new();
    for (i, (url, _)) in files.iter().enumerate() {
        curl_config.push_str(&format!("url = \"{base}{url}\"\noutput = \"{i}\"\n"));
        aria2_input.push_str(&format!("{base}{url}\n  out={i}\n"));
    }
    std::fs::write(work.join("curl.cfg"), curl_config).expect("curl config");
    std::fs::write(work.join("aria2.txt"), aria2_input).expect("aria2 input");
    if std::env::var_os("ROTPROOF_BENCH_SERVE").is_some() {
        // For profiling by hand: serve until killed.
        println!("serving {base}; post: {}", post_path.display());
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    let mut peer_runs: Vec<(&str, String, &str)> = Vec::new();
    if peers.curl {
        peer_runs.push((
            "curl --parallel --parallel-max 16 (download only)",
            format!("mkdir -p \"$P/files\" && cd \"$P/files\" && {CURL}"),
            "files",
        ));
    }
    let hashing = peers.sha256sum;
    for (ok, name, download, thumbnail) in [
        (
            peers.curl && peers.vips,
            "pipeline curl + sha256sum + vipsthumbnail -P2",
            CURL,
            VIPS,
        ),
        (
            peers.aria2c && peers.vips,
            "pipeline aria2c -j16 + sha256sum + vipsthumbnail -P2",
            ARIA2C,
            VIPS,
        ),
        (
            peers.curl && peers.pillow,
            "pipeline curl + sha256sum + Pillow (2 processes)",
            CURL,
            PILLOW,
        ),
    ] {
        if ok && hashing {
            peer_runs.push((name, pipeline(download, thumbnail), "thumbs"));
        }
    }

    let ours = "rotproof archive";
    let mut series = Series::new();
    let mut rss = Vec::new();
    let mut out = work.join("out-0");
    for run in 0..runs {
        // Every run in folders of its own (see `support::discard`).
        out = work.join(format!("out-{run}"));
        let (secs, peak) = rotproof_archive(&out, &post_path, &[]);
        let thumbs = std::fs::read_dir(out.join("bench/.rotproof/thumbs")).map_or(0, |d| d.count());
        series.push(ours, secs, thumbs);
        rss.extend(peak);
        for (name, script, count_dir) in &peer_runs {
            let (secs, count) = run_sh(work, script, &format!("p-{run}"), count_dir);
            series.push(name, secs, count);
        }
        eprintln!("run {} of {runs} done", run + 1);
    }
    // Runs over the intact archive of the last run.
    let rerun = median(
        (0..runs)
            .map(|_| rotproof_archive(&out, &post_path, &[]).0)
            .collect(),
    );
    let ours_m = series.median(ours).unwrap_or(f64::NAN);
    println!(
        "archive: {} URLs, {} distinct images, {:.1} MB; {} ms before each response and each new connection; medians of {runs}",
        files.len(),
        IMAGES,
        total_bytes as f64 / 1e6,
        LATENCY.as_millis()
    );
    series.print_against(ours, "files or thumbnails");
    if let Some(peak) = rss.iter().max() {
        println!("  rotproof peak RSS: {:.1} MB", *peak as f64 / 1024.0);
    }
    println!(
        "  rotproof re-run over the intact archive: median {rerun:.3}s ({:.1}% of the first)",
        rerun / ours_m * 100.0
    );
}

/// Thumbnails alone, from the 400 distinct corpus files already on disk:
/// rotproof's thumbnailer on one rayon worker per core, against
/// vipsthumbnail and Pillow, two processes each.
fn thumbnails_only(corpus_dir: &Path, work: &Path, peers: &Peers, runs: usize) {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(corpus_dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    sources.sort();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = thumbnail::Pool::new().expect("thumbnail pool");
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let out = work.join("thumbs");
    // The peers run inside a copy of the corpus, writing to `../thumbs`.
    let images = work.join("images");
    let _ = std::fs::remove_dir_all(&images);
    std::fs::create_dir_all(&images).expect("images dir");
    for source in &sources {
        let name = source.file_name().expect("file name");
        std::fs::copy(source, images.join(name)).expect("copy corpus");
    }
    let mut peer_runs = Vec::new();
    if peers.vips {
        peer_runs.push(("vipsthumbnail --size 320x320, xargs -P2", VIPS));
    }
    if peers.pillow {
        peer_runs.push(("Pillow draft + thumbnail, 2 processes", PILLOW));
    }
    let ours = format!("rotproof thumbnailer, {threads} threads");
    let mut series = Series::new();
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("thumbs dir");
        let start = Instant::now();
        // The production path: decode and encode on the thumbnailer's own
        // pool, writes on tokio's blocking threads.
        let made: usize = runtime.block_on(async {
            let jobs = sources.iter().map(|source| {
                let sha = rotproof::digest::Sha256::of(source.to_string_lossy().as_bytes());
                pool.make(
                    source.clone(),
                    sha,
                    out.clone(),
                    thumbnail::Settings::default(),
                )
            });
            futures::future::join_all(jobs)
                .await
                .iter()
                .map(|info| usize::from(info.thumb.is_ok()))
                .sum()
        });
        series.push(&ours, start.elapsed().as_secs_f64(), made);
        for (name, script) in &peer_runs {
            let script = format!("rm -rf ../thumbs && mkdir ../thumbs && {script}");
            let (secs, count) = run_sh(&images, &script, "", "../thumbs");
            series.push(name, secs, count);
        }
    }
    println!(
        "thumbnails only: {} files, 320 px long side, medians of {runs}",
        sources.len()
    );
    series.print_against(&ours, "thumbnails");
}

/// One 1 GiB resource from the benchmark server: peak RSS must not grow
/// with the file.
fn large_resource(work: &Path, runs: usize) {
    const SIZE: usize = 1 << 30;
    // Not an image: a pattern that no sniffer takes for one.
    let body: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let routes = HashMap::from([("/video/big".to_string(), Arc::new(body))]);
    let (base, _runtime) = start_server(routes);
    let post = work.join("large.md");
    std::fs::write(&post, format!("# large\n\n[the film]({base}/video/big)\n"))
        .expect("large post");
    let out = work.join("large-out");
    let (mut times, mut rss) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let _ = std::fs::remove_dir_all(&out);
        let (secs, peak) = rotproof_archive(&out, &post, &["--max-bytes", "2GiB"]);
        let stored = walkdir::WalkDir::new(out.join("large/assets"))
            .into_iter()
            .filter_map(|e| e.ok())
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0);
        if stored != SIZE as u64 {
            println!("  the 1 GiB resource was not stored ({stored} bytes): run not counted");
            continue;
        }
        times.push(secs);
        rss.extend(peak);
    }
    let _ = std::fs::remove_dir_all(&out);
    if times.is_empty() {
        return;
    }
    println!(
        "large: one 1 GiB resource served over 127.0.0.1: median {:.2}s over {} runs, peak RSS {:.1} MB",
        median(times.clone()),
        times.len(),
        rss.iter().max().copied().unwrap_or(0) as f64 / 1024.0
    );
}
