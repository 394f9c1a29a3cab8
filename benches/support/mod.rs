//! Shared by the benchmarks: a keep-alive HTTP/1.1 server with emulated
//! latency, and timing helpers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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
    cmd
}

/// Requests served per path, and the most in flight at once.
#[derive(Default)]
pub struct Counters {
    pub hits: std::sync::Mutex<HashMap<String, usize>>,
    pub in_flight: std::sync::atomic::AtomicUsize,
    pub max_in_flight: std::sync::atomic::AtomicUsize,
}

/// `connect_delay` is waited once per new connection (the handshake's round
/// trip), `response_delay` before each response.
pub async fn serve(
    listener: TcpListener,
    routes: Arc<HashMap<String, Arc<Vec<u8>>>>,
    connect_delay: Duration,
    response_delay: Duration,
) {
    serve_counted(
        listener,
        routes,
        connect_delay,
        response_delay,
        Arc::default(),
    )
    .await
}

/// [`serve`], counting requests.
pub async fn serve_counted(
    listener: TcpListener,
    routes: Arc<HashMap<String, Arc<Vec<u8>>>>,
    connect_delay: Duration,
    response_delay: Duration,
    counters: Arc<Counters>,
) {
    use std::sync::atomic::Ordering::SeqCst;
    while let Ok((mut stream, _)) = listener.accept().await {
        let routes = routes.clone();
        let counters = counters.clone();
        // Without TCP_NODELAY, a response's last small segment waits for
        // the client's delayed ACK (~40 ms): a stall real servers avoid.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            tokio::time::sleep(connect_delay).await;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                buf.drain(..head_end);
                let head_only = head.starts_with("HEAD ");
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                if let Ok(mut hits) = counters.hits.lock() {
                    *hits.entry(path.clone()).or_insert(0) += 1;
                }
                let now = counters.in_flight.fetch_add(1, SeqCst) + 1;
                counters.max_in_flight.fetch_max(now, SeqCst);
                tokio::time::sleep(response_delay).await;
                let reply = match routes.get(&path) {
                    Some(body) => {
                        let head =
                            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                        let sent = stream.write_all(head.as_bytes()).await;
                        // A HEAD response has no body.
                        if head_only {
                            sent
                        } else {
                            sent.and(stream.write_all(body).await)
                        }
                    }
                    None => {
                        stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                            .await
                    }
                };
                counters.in_flight.fetch_sub(1, SeqCst);
                if reply.is_err() {
                    return;
                }
            }
        });
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs a command under /usr/bin/time -v; returns (seconds, peak RSS KiB).
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
    let rss = String::from_utf8_lossy(&out.stderr).lines().find_map(|l| {
        l.trim()
            .strip_prefix("Maximum resident set size (kbytes): ")
            .and_then(|v| v.trim().parse().ok())
    });
    (secs, rss)
}
