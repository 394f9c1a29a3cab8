//! Shared by the benchmarks: the tests' raw HTTP server (keep-alive, with
//! emulated latency), and timing helpers.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;

#[path = "../../tests/it/server.rs"]
pub mod server;

/// The rotproof binary measured: this build's, or the one named by
/// `ROTPROOF_BENCH_BIN`, to compare two builds on the same machine state.
pub fn rotproof_bin() -> String {
    std::env::var("ROTPROOF_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_rotproof").to_string())
}

/// `program` run under `/usr/bin/time -v`, so [`timed`] can read its peak
/// RSS.
pub fn time_v(program: &str) -> Command {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-v").arg(program);
    // A benchmark never asks the real web archives about a 404.
    cmd.env("ROTPROOF_ARCHIVES", "none");
    cmd
}

/// Serves `routes` (path to body; anything else is a 404) with the shared
/// raw server on a runtime of its own, which must outlive the runs.
pub fn serve_routes(
    routes: HashMap<String, Bytes>,
    options: server::Options,
) -> (server::RawServer, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(server::RawServer::start_with(
        options,
        move |request| match routes.get(&request.path) {
            Some(body) => server::Reply::ok(body.clone()),
            None => server::Reply::status(404),
        },
    ));
    (server, runtime)
}

/// Keep-alive connections behind an emulated round trip: `connect` waited
/// once per new connection, `response` before each response.
pub fn latency(connect: Duration, response: Duration) -> server::Options {
    server::Options {
        keep_alive: true,
        connect_delay: connect,
        response_delay: response,
        ..server::Options::default()
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Moves `path` (if it is there) into the benchmarks' trash, to be
/// removed by [`empty_trash`] once every measurement is done. On this
/// machine's filesystem, creating files just after thousands were deleted
/// costs several times as much (the inode allocator skips recently deleted
/// inodes one by one), so no measured run may follow the benchmark's own
/// clean-up.
pub fn discard(path: &std::path::Path) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    if !path.exists() {
        return;
    }
    let trash = trash_dir();
    let _ = std::fs::create_dir_all(&trash);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let to = trash.join(format!("{}-{n}", std::process::id()));
    if std::fs::rename(path, &to).is_err() {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// Removes what [`discard`] moved aside: call last.
pub fn empty_trash() {
    let _ = std::fs::remove_dir_all(trash_dir());
}

fn trash_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-trash")
}

/// Runs a command under /usr/bin/time -v; returns (seconds, peak RSS KiB).
/// With `ROTPROOF_BENCH_CPU` set, prints its user and system CPU time too.
pub fn timed(cmd: &mut Command) -> (f64, Option<u64>) {
    let start = Instant::now();
    let out = cmd.output().expect("run benchmark command");
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        eprintln!(
            "command failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if std::env::var_os("ROTPROOF_BENCH_CPU").is_some() {
        for l in String::from_utf8_lossy(&out.stderr).lines() {
            if l.contains("time (seconds)") {
                eprintln!("  {}", l.trim());
            }
        }
    }
    let rss = String::from_utf8_lossy(&out.stderr).lines().find_map(|l| {
        l.trim()
            .strip_prefix("Maximum resident set size (kbytes): ")
            .and_then(|v| v.trim().parse().ok())
    });
    (secs, rss)
}
