//! The archive benchmark: a generated corpus of 400 images served from
//! 127.0.0.1 with emulated latency, archived by rotproof and downloaded by
//! `curl --parallel --parallel-max 16`, in alternating runs.
//!
//!     cargo bench --bench archive            # 5 runs each
//!     ROTPROOF_BENCH_RUNS=3 cargo bench --bench archive
//!
//! The corpus (~70% 1600×1067 JPEG photos, 15% PNG with alpha, 10% GIF,
//! some animated, 5% WebP, plus 10% exact duplicates under other URLs; CDN
//! style URLs without extensions) is generated once into
//! target/bench-corpus. The server waits 40 ms before accepting each new
//! connection's first request and 40 ms before each response: a 20 ms
//! each-way round trip, since this machine's kernel has no netem.
//! Also runs the peer pipeline (curl download, sha256sum, vipsthumbnail
//! two at a time) where those tools are installed (`apt-get install curl
//! libvips-tools`). Prints medians, the ratios, and rotproof's peak RSS
//! (from /usr/bin/time -v). Not a test: nothing here asserts a time.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::codecs::gif::{GifEncoder, Repeat};
use image::{DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use tokio::net::TcpListener;

mod support;
use support::{median, serve, time_v, timed};

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
    let mut rng = Rng(seed | 1);
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

fn main() {
    let runs: usize = std::env::var("ROTPROOF_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-corpus");
    let t = Instant::now();
    let files = corpus(&root.join("images-v2"));
    eprintln!("corpus ready in {:.1}s", t.elapsed().as_secs_f64());
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

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    runtime.spawn(serve(listener, Arc::new(routes), LATENCY, LATENCY));
    let base = format!("http://{addr}");

    let work = root.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
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
    for (i, (url, _)) in files.iter().enumerate() {
        curl_config.push_str(&format!("url = \"{base}{url}\"\noutput = \"{i}\"\n"));
    }
    std::fs::write(work.join("curl.cfg"), curl_config).expect("curl config");
    let has = |tool: &str, arg: &str| Command::new(tool).arg(arg).output().is_ok();
    let has_curl = has("curl", "--version");
    let has_vips = has("vipsthumbnail", "--vips-version");
    let has_sha256sum = has("sha256sum", "--version");
    // The peers' pipeline, stage after stage, as a shell script would run
    // it: download everything, hash everything, thumbnail everything (two
    // vipsthumbnail processes at a time, one per core).
    let pipeline = concat!(
        "set -e; rm -rf p && mkdir -p p/files p/thumbs && cd p/files && ",
        "curl --parallel --parallel-max 16 -s -K ../../curl.cfg && ",
        "sha256sum * > ../sums && ",
        // An absolute -o: vipsthumbnail 8.14 writes a relative one to stdout.
        "ls | xargs -P2 -n 25 vipsthumbnail --size 320x320 -o \"$(pwd)/../thumbs/%s.jpg\""
    );
    if std::env::var_os("ROTPROOF_BENCH_SERVE").is_some() {
        // For profiling by hand: serve until killed.
        println!("serving {base}; post: {}", post_path.display());
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    let out = work.join("out");
    let archive = || {
        timed(
            time_v(env!("CARGO_BIN_EXE_rotproof"))
                .args([
                    "archive",
                    "-q",
                    "--concurrency",
                    "16",
                    "--per-host",
                    "16",
                    "--out",
                ])
                .arg(&out)
                .arg(&post_path),
        )
    };
    let (mut ours, mut curls, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    let mut pipelines = Vec::new();
    let run_pipeline = has_curl && has_vips && has_sha256sum;
    for run in 0..runs {
        let _ = std::fs::remove_dir_all(&out);
        let (secs, peak) = archive();
        ours.push(secs);
        rss.extend(peak);
        if has_curl {
            let dl = work.join("curl");
            let _ = std::fs::remove_dir_all(&dl);
            std::fs::create_dir_all(&dl).expect("curl dir");
            let (secs, _) = timed(
                time_v("curl")
                    .args(["--parallel", "--parallel-max", "16", "-s", "-K"])
                    .arg(work.join("curl.cfg"))
                    .current_dir(&dl),
            );
            curls.push(secs);
        }
        if run_pipeline {
            let (secs, _) = timed(Command::new("sh").args(["-c", pipeline]).current_dir(&work));
            pipelines.push(secs);
        }
        eprintln!(
            "run {}: rotproof {:.2}s, curl {:.2}s",
            run + 1,
            ours[run],
            curls.last().copied().unwrap_or(f64::NAN)
        );
    }
    // A second run over the intact archive of the last run.
    let (rerun, _) = archive();
    let ours_m = median(ours);
    println!(
        "corpus: {} URLs, {} distinct images, {:.1} MB; latency {} ms before each response and each new connection",
        files.len(),
        IMAGES,
        total_bytes as f64 / 1e6,
        LATENCY.as_millis()
    );
    println!(
        "rotproof archive (download + sha256 + thumbnails + rewrite + manifest): median {ours_m:.2}s over {runs} runs, {:.0} images/s",
        files.len() as f64 / ours_m
    );
    if let Some(peak) = rss.iter().max() {
        println!("rotproof peak RSS: {:.1} MB", *peak as f64 / 1024.0);
    }
    println!(
        "rotproof re-run over the intact archive: {rerun:.2}s ({:.0}% of the first)",
        rerun / ours_m * 100.0
    );
    if curls.is_empty() {
        println!("curl: not installed, skipped");
    } else {
        let curl_m = median(curls);
        println!("curl --parallel --parallel-max 16 (download only): median {curl_m:.2}s");
        println!(
            "ratio rotproof / curl download-only: {:.2}",
            ours_m / curl_m
        );
    }
    if run_pipeline {
        let pipe_m = median(pipelines);
        // A pipeline that "succeeds" without thumbnails would flatter us.
        let thumbs = std::fs::read_dir(work.join("p/thumbs")).map_or(0, |d| d.count());
        println!(
            "peer pipeline (curl download, then sha256sum, then vipsthumbnail --size 320x320 two at a time; {thumbs} thumbnails): median {pipe_m:.2}s"
        );
        println!("ratio rotproof / peer pipeline: {:.2}", ours_m / pipe_m);
    } else {
        println!(
            "peer pipeline skipped: needs curl, sha256sum and vipsthumbnail (apt-get install curl libvips-tools)"
        );
    }
    let pillow = Command::new("python3")
        .args(["-c", "import PIL"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !pillow {
        println!("Pillow: not installed for python3, skipped");
    }
}
