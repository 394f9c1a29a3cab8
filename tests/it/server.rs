//! A raw HTTP/1.1 server on 127.0.0.1, shared by the tests and the
//! benchmarks (`benches/support` includes this file): faults wiremock cannot
//! produce (cut bodies, resets, slow drips, endless bodies, silence), and,
//! for benchmarks, keep-alive connections behind an emulated round trip.
//! It counts requests per path and the most it had in flight at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does for one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A normal response.
    Ok {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
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
    /// Sends the headers and the first byte of `body`, waits, then the
    /// rest: the client holds a partial download meanwhile.
    Paused { pause: Duration, body: Bytes },
    /// Accepts the request and never answers.
    Silent,
    /// Sends headers promising a body, then nothing.
    HeadersOnly,
    /// Sends these bytes as they are, then closes.
    Raw(Vec<u8>),
}

impl Reply {
    pub fn ok(body: impl Into<Bytes>) -> Reply {
        Reply::Ok {
            status: 200,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply::Ok {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
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

/// One request as the handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// 1 for the first request to this path, 2 for the second, ...
    pub nth: usize,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the server treats connections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Serve many requests per connection (benchmarks); otherwise each
    /// connection is closed after one response.
    pub keep_alive: bool,
    /// Waited once per new connection, before its first request is read:
    /// the handshake's round trip.
    pub connect_delay: Duration,
    /// Waited before each response.
    pub response_delay: Duration,
    /// The loopback address to listen on (default 127.0.0.1): a second
    /// one (127.0.0.2) plays another machine.
    pub bind: Option<std::net::IpAddr>,
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

#[derive(Debug, Default)]
struct Counters {
    hits: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A running server; it stops with the runtime that started it.
#[derive(Debug)]
pub struct RawServer {
    pub base: String,
    counters: Arc<Counters>,
}

impl RawServer {
    /// `handler(path, nth_hit_of_that_path)` decides each reply.
    pub async fn start(
        handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static,
    ) -> RawServer {
        Self::start_with(Options::default(), move |r| handler(&r.path, r.nth)).await
    }

    /// Like [`RawServer::start`], with the request method:
    /// `handler(method, path, nth)`.
    pub async fn start_with_method(
        handler: impl Fn(&str, &str, usize) -> Reply + Send + Sync + 'static,
    ) -> RawServer {
        Self::start_with(Options::default(), move |r| {
            handler(&r.method, &r.path, r.nth)
        })
        .await
    }

    /// The server with `options`; the handler sees the whole request.
    pub async fn start_with(
        options: Options,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> RawServer {
        let ip = options
            .bind
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let listener = TcpListener::bind((ip, 0)).await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let handler: Arc<Handler> = Arc::new(handler);
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Without TCP_NODELAY, a response's last small segment
                // waits for the client's delayed ACK (~40 ms).
                let _ = stream.set_nodelay(true);
                let (handler, counters) = (handler.clone(), c.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, options, handler, counters).await;
                });
            }
        });
        RawServer {
            base: format!("http://{addr}"),
            counters,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.counters
            .hits
            .lock()
            .map(|h| h.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Requests per path so far.
    pub fn all_hits(&self) -> HashMap<String, usize> {
        self.counters
            .hits
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }

    pub fn total_hits(&self) -> usize {
        self.all_hits().values().sum()
    }

    pub fn max_in_flight(&self) -> usize {
        self.counters.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut stream: TcpStream,
    options: Options,
    handler: Arc<Handler>,
    counters: Arc<Counters>,
) -> std::io::Result<()> {
    tokio::time::sleep(options.connect_delay).await;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        buf.drain(..head_end);
        let mut request = parse(&head);
        request.nth = {
            let mut hits = counters.hits.lock().expect("hits lock");
            let n = hits.entry(request.path.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counters.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(options.response_delay).await;
        let reply = handler(&request);
        let head_only = request.method == "HEAD";
        let result = send(&mut stream, reply, head_only, options.keep_alive).await;
        counters.in_flight.fetch_sub(1, Ordering::SeqCst);
        result?;
        if !options.keep_alive {
            return Ok(());
        }
    }
}

fn parse(head: &str) -> Request {
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("GET").to_string();
    let path = first.next().unwrap_or("/").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Request {
        method,
        path,
        headers,
        nth: 0,
    }
}

fn send<'a>(
    stream: &'a mut TcpStream,
    reply: Reply,
    head_only: bool,
    keep_alive: bool,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>> {
    Box::pin(async move {
        match reply {
            Reply::Ok {
                status,
                headers,
                body,
            } => {
                let connection = if keep_alive {
                    ""
                } else {
                    "Connection: close\r\n"
                };
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n{connection}",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                stream.write_all(head.as_bytes()).await?;
                // A HEAD response has no body.
                if !head_only {
                    stream.write_all(&body).await?;
                }
                if keep_alive {
                    Ok(())
                } else {
                    stream.shutdown().await
                }
            }
            Reply::Truncated { declared, body } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await?;
                stream.shutdown().await
            }
            Reply::Paused { pause, body } => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).await?;
                let first = body.len().min(1);
                stream.write_all(&body[..first]).await?;
                stream.flush().await?;
                tokio::time::sleep(pause).await;
                stream.write_all(&body[first..]).await?;
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
                send(stream, *inner, head_only, keep_alive).await
            }
        }
    })
}
