//! What a failed request is. Callers branch on [`FailureKind`] (check tells
//! a 404 from a DNS failure, retry tells a reset from a refusal); its
//! Display is the message written to the manifest and the summary.
//!
//! Errors from reqwest are classified by walking their source chain and
//! downcasting (hyper's errors, `std::io::Error` kinds, our resolver's
//! [`DnsFailure`]), never by matching their text.

use std::fmt;

use reqwest::StatusCode;

/// Why a resource could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// HTTP 404.
    NotFound,
    /// HTTP 410.
    Gone,
    /// Any other final or transient HTTP error status.
    Status(u16),
    /// The host name did not resolve.
    Dns { cause: String },
    /// No connection could be made (refused, unreachable, TLS handshake).
    Connect { cause: String },
    /// No answer within `--timeout` or `--connect-timeout`.
    Timeout,
    /// The body stalled past the read timeout.
    BodyTimeout,
    /// The body ended before it was complete (reset, shorter than its
    /// Content-Length, a chunked body cut off).
    CutShort { cause: String },
    /// The body is compressed and does not decompress.
    Undecodable { cause: String },
    /// Over `--max-bytes`.
    TooLarge { max: u64 },
    /// An image reference answered with something that is not an image.
    NotAnImage { media_type: &'static str },
    /// A video or audio reference answered with something that is neither.
    NotMedia { media_type: &'static str },
    /// An image that only says the real one is refused to hotlinkers (see
    /// [`crate::acquire::placeholder`]), whatever Referer was tried.
    Placeholder,
    /// A redirect rotproof will not follow.
    Redirect(RedirectRefusal),
    /// A request to an address it must not reach (see [`super::address`]).
    PrivateAddress,
    /// No file descriptor was left for the download.
    OutOfDescriptors,
    /// Anything else reqwest reports while sending the request.
    Request { cause: String },
}

/// Why a redirect was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectRefusal {
    /// More than [`super::MAX_REDIRECTS`].
    TooMany { max: usize },
    /// To a scheme other than http(s) (`file:`, `ftp:`).
    Scheme(String),
    /// A 3xx reqwest did not follow, with a Location.
    NotFollowed(u16),
    /// A 3xx without a Location.
    NoLocation(u16),
}

impl FailureKind {
    /// The kind for a final HTTP error status.
    pub fn from_status(status: u16) -> FailureKind {
        match status {
            404 => FailureKind::NotFound,
            410 => FailureKind::Gone,
            other => FailureKind::Status(other),
        }
    }

    /// The HTTP status this kind stands for, if it is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            FailureKind::NotFound => Some(404),
            FailureKind::Gone => Some(410),
            FailureKind::Status(s) => Some(*s),
            _ => None,
        }
    }

    /// Whether the resource is gone (see the README's "Web archives"): 404, 410, 451,
    /// no such host, no connection, a placeholder, or a page where an
    /// image or video was meant. Only these are looked up in web archives;
    /// a timeout or a 500 may pass.
    pub fn is_gone(&self) -> bool {
        match self {
            FailureKind::NotFound
            | FailureKind::Gone
            | FailureKind::Status(451)
            | FailureKind::Dns { .. }
            | FailureKind::Connect { .. }
            | FailureKind::Placeholder => true,
            FailureKind::NotAnImage { media_type } | FailureKind::NotMedia { media_type } => {
                *media_type == "text/html"
            }
            _ => false,
        }
    }

    /// The transient failures: connect errors, timeouts, bodies cut
    /// short, and HTTP 408, 425, 429, 500, 502, 503, 504. A body that does
    /// not decompress is transient too: it may have been cut. Every other
    /// failure is final at once.
    pub fn is_transient(&self) -> bool {
        match self {
            FailureKind::Status(s) => matches!(s, 408 | 425 | 429 | 500 | 502 | 503 | 504),
            FailureKind::Dns { .. }
            | FailureKind::Connect { .. }
            | FailureKind::Timeout
            | FailureKind::BodyTimeout
            | FailureKind::CutShort { .. }
            | FailureKind::Undecodable { .. }
            | FailureKind::OutOfDescriptors
            | FailureKind::Request { .. } => true,
            FailureKind::NotFound
            | FailureKind::Gone
            | FailureKind::TooLarge { .. }
            | FailureKind::NotAnImage { .. }
            | FailureKind::NotMedia { .. }
            | FailureKind::Placeholder
            | FailureKind::Redirect(_)
            | FailureKind::PrivateAddress => false,
        }
    }
}

fn status_text(f: &mut fmt::Formatter<'_>, status: u16) -> fmt::Result {
    match StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => write!(f, "HTTP {status} {reason}"),
        None => write!(f, "HTTP {status}"),
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::NotFound | FailureKind::Gone | FailureKind::Status(_) => {
                status_text(f, self.status().unwrap_or_default())
            }
            FailureKind::Dns { cause } | FailureKind::Connect { cause } => {
                write!(f, "connection failed: {cause}")
            }
            FailureKind::Timeout => f.write_str("timed out"),
            FailureKind::BodyTimeout => f.write_str("timed out while reading the body"),
            FailureKind::CutShort { cause } => write!(f, "body cut short: {cause}"),
            FailureKind::Undecodable { cause } => {
                write!(f, "cannot decompress the body: {cause}")
            }
            FailureKind::TooLarge { max } => write!(f, "too large (over --max-bytes {max})"),
            FailureKind::NotAnImage { media_type } => write!(f, "not an image ({media_type})"),
            FailureKind::NotMedia { media_type } => {
                write!(f, "not video or audio ({media_type})")
            }
            FailureKind::Placeholder => f.write_str("placeholder (hotlink protection)"),
            FailureKind::Redirect(refusal) => refusal.fmt(f),
            FailureKind::PrivateAddress => f.write_str("private address refused"),
            FailureKind::OutOfDescriptors => f.write_str("too many open files"),
            FailureKind::Request { cause } => write!(f, "request failed: {cause}"),
        }
    }
}

impl fmt::Display for RedirectRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectRefusal::TooMany { max } => write!(f, "too many redirects (more than {max})"),
            RedirectRefusal::Scheme(scheme) => write!(f, "redirect to a `{scheme}:` URL refused"),
            RedirectRefusal::NotFollowed(status) => {
                status_text(f, *status)?;
                f.write_str(" (redirect not followed)")
            }
            RedirectRefusal::NoLocation(status) => {
                status_text(f, *status)?;
                f.write_str(" without a Location")
            }
        }
    }
}

/// A request that did not succeed, after its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// The last HTTP status seen, when there was a response (also for
    /// `too large` and `not an image`, which come with a 200).
    pub http_status: Option<u16>,
    pub attempts: u32,
    /// The last answer's `Retry-After`, when it had one (a web archive's
    /// 429: the back-off its every lookup shares).
    pub retry_after: Option<std::time::Duration>,
}

impl Failure {
    /// Whether a CDN refused this as hotlinking (401, 403, a placeholder):
    /// another Referer policy may get the real bytes.
    pub fn is_hotlink_refusal(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::Status(401 | 403) | FailureKind::Placeholder
        )
    }

    /// A failure decided before any request was made.
    pub fn without_request(kind: FailureKind) -> Failure {
        Failure {
            http_status: kind.status(),
            kind,
            attempts: 0,
            retry_after: None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

/// Our resolver's error: the chain of a reqwest connect error holds it when
/// the name did not resolve, which is how a DNS failure is told from a
/// refused connection.
#[derive(Debug, thiserror::Error)]
#[error("dns error: {source}")]
pub(crate) struct DnsFailure {
    #[source]
    pub source: std::io::Error,
}

/// The resolver's refusal of a name that resolves to a private address
/// (`--deny-private`).
#[derive(Debug, thiserror::Error)]
#[error("private address refused")]
pub(crate) struct PrivateAddress;

/// Classifies an error from sending a request (no response yet).
pub(super) fn from_send(err: &reqwest::Error) -> FailureKind {
    if find::<PrivateAddress>(err).is_some() {
        return FailureKind::PrivateAddress;
    }
    if err.is_timeout() {
        return FailureKind::Timeout;
    }
    let cause = root_cause(err);
    if find::<DnsFailure>(err).is_some() {
        return FailureKind::Dns { cause };
    }
    if err.is_connect() {
        return FailureKind::Connect { cause };
    }
    FailureKind::Request { cause }
}

/// Classifies an error while reading a body. The decompression layer
/// reports a broken connection as a decode error too: the source chain
/// tells them apart.
pub(super) fn from_body(err: &reqwest::Error) -> FailureKind {
    let cause = root_cause(err);
    // hyper reports what broke in the transfer itself (the connection, a
    // malformed chunk): only an error of the decoder is a body that does
    // not decompress.
    let transfer = find::<hyper::Error>(err).is_some();
    if err.is_timeout() {
        FailureKind::BodyTimeout
    } else if err.is_decode() && !transfer && !connection_broke(err) {
        FailureKind::Undecodable { cause }
    } else {
        FailureKind::CutShort { cause }
    }
}

/// Every error in the chain, outermost first. An `io::Error` wrapping
/// another error reports that error's *source* as its own, skipping the
/// wrapped one: it is visited through `get_ref`.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        out.push(e);
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
        if out.len() > 64 {
            break;
        }
    }
    out
}

/// The first error of type `T` in the source chain.
fn find<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    chain(err).into_iter().find_map(|e| e.downcast_ref::<T>())
}

/// Whether an error's causes include the connection breaking: an I/O
/// error of a broken-connection kind, or hyper's incomplete message.
fn connection_broke(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind::*;
    chain(err).into_iter().any(|e| {
        let io = e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe | TimedOut
            )
        });
        let hyper = e
            .downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_incomplete_message() || h.is_body_write_aborted());
        io || hyper
    })
}

/// The innermost error message, which says what actually happened
/// (`connection refused`, `unexpected end of file`).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_manifests() {
        assert_eq!(FailureKind::NotFound.to_string(), "HTTP 404 Not Found");
        assert_eq!(FailureKind::Status(599).to_string(), "HTTP 599");
        assert_eq!(
            FailureKind::TooLarge { max: 10 }.to_string(),
            "too large (over --max-bytes 10)"
        );
        assert_eq!(
            FailureKind::NotAnImage {
                media_type: "text/html"
            }
            .to_string(),
            "not an image (text/html)"
        );
        assert_eq!(
            FailureKind::Redirect(RedirectRefusal::Scheme("file".into())).to_string(),
            "redirect to a `file:` URL refused"
        );
        assert_eq!(
            FailureKind::Redirect(RedirectRefusal::NoLocation(302)).to_string(),
            "HTTP 302 Found without a Location"
        );
    }

    #[test]
    fn transient_statuses_are_the_specs() {
        for code in [408, 425, 429, 500, 502, 503, 504] {
            assert!(FailureKind::from_status(code).is_transient(), "{code}");
        }
        for code in [400, 401, 403, 404, 410, 451, 501] {
            assert!(!FailureKind::from_status(code).is_transient(), "{code}");
        }
        assert_eq!(FailureKind::from_status(404), FailureKind::NotFound);
        assert_eq!(FailureKind::from_status(410).status(), Some(410));
    }

    #[test]
    fn broken_connections_are_found_by_type_not_text() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(connection_broke(&reset));
        let worded = std::io::Error::other("unexpected end of file");
        assert!(
            !connection_broke(&worded),
            "a message is not a classification"
        );
    }
}
