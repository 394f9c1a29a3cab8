//! Shared test harness: image fixtures made with the `image` crate, a raw
//! HTTP server on 127.0.0.1 for faults wiremock cannot produce (cut bodies,
//! resets, slow drips, endless bodies), and helpers to run the binary.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An opaque image with a gradient, encoded.
pub fn image_bytes(width: u32, height: u32, seed: u8, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x as u8).wrapping_add(seed),
            (y as u8).wrapping_mul(3),
            seed,
        ])
    });
    encode(DynamicImage::ImageRgb8(img), format)
}

pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    image_bytes(width, height, seed, ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    image_bytes(width, height, seed, ImageFormat::Jpeg)
}

/// A PNG with some transparent pixels.
pub fn transparent_png(width: u32, height: u32) -> Vec<u8> {
    let img = RgbaImage::from_fn(width, height, |x, _| {
        Rgba([200, 10, 10, if x < width / 2 { 0 } else { 255 }])
    });
    encode(DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format)
        .expect("encode test image");
    out
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// A PNG whose header claims `width`×`height` (a decompression bomb: the
/// pixel data is not there).
pub fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A JPEG with an EXIF APP1 segment carrying `orientation` (1–8).
pub fn jpeg_with_orientation(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let plain = jpeg(width, height, 1);
    // TIFF, big-endian: header, one IFD with one entry (0x0112 SHORT).
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// An animated GIF whose frames are solid colours.
pub fn animated_gif(width: u32, height: u32, colours: &[[u8; 3]]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
        for c in colours {
            let frame = RgbaImage::from_pixel(width, height, Rgba([c[0], c[1], c[2], 255]));
            enc.encode_frame(image::Frame::new(frame))
                .expect("gif frame");
        }
    }
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// What the raw server does for one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A normal response.
    Ok {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Declares `declared` bytes, sends `body`, then closes.
    Truncated { declared: usize, body: Vec<u8> },
    /// Headers, then the connection is reset.
    Reset,
    /// Sends one byte per `every` forever (or until the client gives up).
    Drip { every: Duration },
    /// A chunked body that never ends.
    Endless,
    /// Waits, then replies.
    Delayed(Duration, Box<Reply>),
    /// Accepts the request and never answers.
    Silent,
    /// Sends headers promising a body, then nothing.
    HeadersOnly,
    /// Sends these bytes as they are, then closes.
    Raw(Vec<u8>),
}

impl Reply {
    pub fn ok(body: Vec<u8>) -> Reply {
        Reply::Ok {
            status: 200,
            headers: Vec::new(),
            body,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply::Ok {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Ok {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Reply::Ok {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

type Handler = dyn Fn(&str, &str, usize) -> Reply + Send + Sync;

/// A raw HTTP/1.1 server on 127.0.0.1 that closes each connection after one
/// response. It counts requests per path and the most requests it had in
/// flight at once.
pub struct RawServer {
    pub base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl RawServer {
    /// `handler(path, nth_hit_of_that_path)` decides each reply (hits count
    /// from 1).
    pub async fn start(
        handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static,
    ) -> RawServer {
        Self::start_with_method(move |_, path, nth| handler(path, nth)).await
    }

    /// Like [`RawServer::start`], with the request method:
    /// `handler(method, path, nth)`.
    pub async fn start_with_method(
        handler: impl Fn(&str, &str, usize) -> Reply + Send + Sync + 'static,
    ) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let handler: Arc<Handler> = Arc::new(handler);
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let (h, f, m) = (hits.clone(), in_flight.clone(), max_in_flight.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, hits, in_flight, max) =
                    (handler.clone(), h.clone(), f.clone(), m.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, handler, hits, in_flight, max).await;
                });
            }
        });
        RawServer {
            base: format!("http://{addr}"),
            hits,
            in_flight,
            max_in_flight,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .map(|h| h.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn total_hits(&self) -> usize {
        self.hits.lock().map(|h| h.values().sum()).unwrap_or(0)
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut stream: TcpStream,
    handler: Arc<Handler>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    in_flight: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let method = head.split_whitespace().next().unwrap_or("GET").to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let nth = {
        let mut hits = hits.lock().expect("hits lock");
        let n = hits.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    let reply = handler(&method, &path, nth);
    // A HEAD response has no body.
    let reply = match (method.as_str(), reply) {
        (
            "HEAD",
            Reply::Ok {
                status, headers, ..
            },
        ) => Reply::Ok {
            status,
            headers,
            body: Vec::new(),
        },
        (_, reply) => reply,
    };
    let result = send(&mut stream, reply).await;
    in_flight.fetch_sub(1, Ordering::SeqCst);
    result
}

fn send<'a>(
    stream: &'a mut TcpStream,
    reply: Reply,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
    Box::pin(async move {
        match reply {
            Reply::Ok {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await?;
                stream.shutdown().await
            }
            Reply::Truncated { declared, body } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await?;
                stream.shutdown().await
            }
            Reply::Reset => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial")
                    .await?;
                stream.set_zero_linger()?;
                Ok(())
            }
            Reply::Drip { every } => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
                    .await?;
                loop {
                    stream.write_all(b"x").await?;
                    tokio::time::sleep(every).await;
                }
            }
            Reply::Endless => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .await?;
                let chunk = vec![b'a'; 64 * 1024];
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(&chunk);
                framed.extend_from_slice(b"\r\n");
                loop {
                    stream.write_all(&framed).await?;
                }
            }
            Reply::Silent => {
                std::future::pending::<()>().await;
                Ok(())
            }
            Reply::HeadersOnly => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
                    .await?;
                std::future::pending::<()>().await;
                Ok(())
            }
            Reply::Raw(bytes) => {
                stream.write_all(&bytes).await?;
                stream.shutdown().await
            }
            Reply::Delayed(wait, inner) => {
                tokio::time::sleep(wait).await;
                send(stream, *inner).await
            }
        }
    })
}

/// Runs the rotproof binary (off the async runtime, so test servers keep
/// answering) and returns its output. Proxy variables of the machine are
/// removed, so loopback traffic is never captured by a CI proxy.
pub async fn rotproof(args: Vec<String>, cwd: &Path) -> Output {
    rotproof_env(args, cwd, &[]).await
}

/// [`rotproof`] with extra environment variables.
pub async fn rotproof_env(args: Vec<String>, cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = command(&args, cwd);
    cmd.envs(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    tokio::task::spawn_blocking(move || cmd.output().expect("run rotproof"))
        .await
        .expect("join")
}

/// Starts the binary without waiting for it (for kill and signal tests);
/// stdout and stderr are piped.
pub fn spawn_rotproof(args: &[&str], cwd: &Path) -> std::process::Child {
    command(args, cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn rotproof")
}

/// The binary, in `cwd`, without the machine's proxy variables: loopback
/// traffic must never be captured by a CI proxy.
fn command(args: &[impl AsRef<std::ffi::OsStr>], cwd: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rotproof"));
    cmd.args(args).current_dir(cwd);
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Asserts that the manifest entry for `url` failed with a reason that
/// contains `reason`; returns the entry.
pub fn assert_failed(manifest: &serde_json::Value, url: &str, reason: &str) -> serde_json::Value {
    let e = entry(manifest, url).clone();
    assert_eq!(e["status"], "failed", "{url}: {e:#}");
    let error = e["error"].as_str().unwrap_or("");
    assert!(
        error.contains(reason),
        "{url}: {error:?} should say {reason:?}"
    );
    e
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch folder with a post in it.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Site {
        Site {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write post");
        path
    }

    pub fn manifest(&self, slug: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(
            self.dir
                .path()
                .join("archive")
                .join(slug)
                .join("manifest.json"),
        )
        .expect("manifest.json");
        serde_json::from_str(&text).expect("manifest is JSON")
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Every file under the folder whose name ends with `.part`.
    pub fn leftover_temp_files(&self) -> Vec<PathBuf> {
        walk(self.dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".part"))
            .collect()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The manifest entry for a URL.
pub fn entry<'a>(manifest: &'a serde_json::Value, url: &str) -> &'a serde_json::Value {
    manifest["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|e| e["url"] == url))
        .unwrap_or_else(|| panic!("no entry for {url} in {manifest:#}"))
}
