//! A fake web archive on the raw server, speaking both protocols rotproof
//! uses (the README's "Web archives"):
//!
//! - Wayback: `/web/{ts}id_/{url}` redirects (302) to the capture of `url`
//!   closest to `ts`, `/web/{ts'}id_/{url}`, which serves its original
//!   bytes with `Memento-Datetime`; 404 for a URL it never captured;
//! - Memento: the TimeGate `/timegate/{url}` picks the capture closest to
//!   `Accept-Datetime` and redirects (302, `Vary: accept-datetime`) to the
//!   memento `/memento/{ts'}/{url}`, which answers with `Memento-Datetime`;
//! - `busy(n)`: the next `n` requests answer 429 with `Retry-After: 1`.
//!
//! It logs every request (path and Accept-Datetime), so a test can prove
//! what was, and was not, asked.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::server::*;

/// Each captured URL's captures: (14-digit timestamp, bytes).
type Captures = Arc<Mutex<HashMap<String, Vec<(String, Vec<u8>)>>>>;
/// Each request's path and Accept-Datetime.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

pub(crate) struct WebArchive {
    pub server: RawServer,
    captures: Captures,
    log: Log,
    busy: Arc<AtomicUsize>,
}

/// Seconds since the epoch of a 14-digit UTC timestamp.
fn seconds(ts: &str) -> Option<u64> {
    let n = |r: std::ops::Range<usize>| ts.get(r)?.parse::<u64>().ok();
    let (y, mo, d, h, mi, s) = (
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    );
    let rfc = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
    let t = humantime::parse_rfc3339(&rfc).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

fn http_date(ts: &str) -> String {
    let secs = seconds(ts).unwrap_or(0);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

impl WebArchive {
    pub(crate) async fn start() -> WebArchive {
        Self::start_with_delay(Duration::ZERO).await
    }

    /// The archive, each answer after `delay` (to see how many requests
    /// a client keeps in flight).
    pub(crate) async fn start_with_delay(delay: Duration) -> WebArchive {
        let captures: Captures = Arc::default();
        let log: Log = Arc::default();
        let busy = Arc::new(AtomicUsize::new(0));
        let (c, l, b) = (captures.clone(), log.clone(), busy.clone());
        let server = RawServer::start_with(Options::default(), move |r| {
            let reply = answer(r, &c, &l, &b);
            if delay.is_zero() {
                reply
            } else {
                Reply::Delayed(delay, Box::new(reply))
            }
        })
        .await;
        WebArchive {
            server,
            captures,
            log,
            busy,
        }
    }
}

/// The archive's answer to one request.
fn answer(r: &Request, c: &Captures, l: &Log, b: &AtomicUsize) -> Reply {
    let accept = r.header("accept-datetime").map(str::to_string);
    l.lock().unwrap().push((r.path.clone(), accept.clone()));
    if b.load(Ordering::SeqCst) > 0 {
        b.fetch_sub(1, Ordering::SeqCst);
        return Reply::status(429).with_header("Retry-After", "1");
    }
    let captures = c.lock().unwrap();
    let closest = |url: &str, want: u64| -> Option<(String, Vec<u8>)> {
        captures
            .get(url)?
            .iter()
            .min_by_key(|(ts, _)| seconds(ts).unwrap_or(0).abs_diff(want))
            .cloned()
    };
    if let Some(rest) = r.path.strip_prefix("/web/") {
        let Some((ts, url)) = rest.split_once("id_/") else {
            return Reply::status(404);
        };
        let Some((at, bytes)) = closest(url, seconds(ts).unwrap_or(0)) else {
            return Reply::status(404);
        };
        if at != ts {
            return Reply::status(302).with_header("Location", &format!("/web/{at}id_/{url}"));
        }
        return Reply::ok(bytes).with_header("Memento-Datetime", &http_date(&at));
    }
    if let Some(url) = r.path.strip_prefix("/timegate/") {
        let want = accept
            .and_then(|a| httpdate::parse_http_date(&a).ok())
            .unwrap_or_else(SystemTime::now);
        let Some((at, _)) = closest(url, seconds(&stamp(want)).unwrap_or(0)) else {
            return Reply::status(404);
        };
        return Reply::status(302)
            .with_header("Location", &format!("/memento/{at}/{url}"))
            .with_header("Vary", "accept-datetime");
    }
    if let Some(rest) = r.path.strip_prefix("/memento/") {
        let Some((ts, url)) = rest.split_once('/') else {
            return Reply::status(404);
        };
        let found = captures
            .get(url)
            .and_then(|list| list.iter().find(|(t, _)| t == ts).cloned());
        return match found {
            Some((at, bytes)) => Reply::ok(bytes).with_header("Memento-Datetime", &http_date(&at)),
            None => Reply::status(404),
        };
    }
    Reply::status(404)
}

impl WebArchive {
    /// Records a capture of `url` made at `ts` (YYYYMMDDhhmmss).
    pub(crate) fn capture(&self, url: &str, ts: &str, bytes: Vec<u8>) {
        self.captures
            .lock()
            .unwrap()
            .entry(url.to_string())
            .or_default()
            .push((ts.to_string(), bytes));
    }

    /// The next `n` requests answer 429.
    pub(crate) fn busy(&self, n: usize) {
        self.busy.store(n, Ordering::SeqCst);
    }

    /// Every request's path, in order.
    pub(crate) fn paths(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Every Accept-Datetime sent.
    pub(crate) fn accept_datetimes(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, a)| a.clone())
            .collect()
    }

    /// A config file pointing both protocols here.
    pub(crate) fn config(&self) -> String {
        format!(
            "[archives]\nwayback = \"{}\"\ntimegate = \"{}/timegate/\"\n",
            self.server.base, self.server.base
        )
    }
}
