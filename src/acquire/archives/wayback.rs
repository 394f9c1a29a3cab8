//! The Wayback Machine: `GET {wayback}/web/{YYYYMMDDhhmmss}id_/{url}`
//! redirects to the capture closest to the timestamp; `id_` replays the
//! original bytes (no toolbar, no rewritten links). The address a reader
//! is sent to is the same without `id_`.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;

use super::{Lookup, Replay, WebArchive};
use crate::manifest::{Capture, Timestamp};
use crate::net::{Fetcher, RequestOptions};
use crate::store::IoError;

/// The capture of `url` closest to `when`, downloaded into `into`.
pub(crate) async fn replay(
    fetcher: &Fetcher,
    base: &Url,
    url: &Url,
    when: SystemTime,
    into: &Path,
) -> Result<Lookup, IoError> {
    let Some(request) = raw_address(base, url, when) else {
        return Ok(Lookup::None);
    };
    let ask = RequestOptions {
        to_archive: true,
        ..RequestOptions::default()
    };
    let fetched = match fetcher.download(&request, into, None, &ask).await? {
        Ok(fetched) => fetched,
        Err(failure) => return Ok(Lookup::failed(&failure)),
    };
    let Some(body) = fetched.body else {
        return Ok(Lookup::None);
    };
    let answer = fetched.answer;
    let Some((replay, stamp)) = replay_address(&answer.final_url) else {
        // Not a capture (the archive answered something else).
        return Ok(Lookup::None);
    };
    let Some(datetime) = answer.memento_datetime.or(stamp) else {
        return Ok(Lookup::None);
    };
    Ok(Lookup::Found(Box::new(Replay {
        body,
        answer,
        capture: Capture {
            archive: WebArchive::Wayback,
            memento_url: replay.to_string(),
            memento_datetime: Timestamp::from(datetime),
        },
    })))
}

/// `{base}/web/{timestamp}id_/{url}`.
pub(crate) fn raw_address(base: &Url, url: &Url, when: SystemTime) -> Option<Url> {
    let base = base.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/web/{}id_/{url}", timestamp(when))).ok()
}

/// The 14-digit UTC timestamp Wayback addresses use.
pub(crate) fn timestamp(when: SystemTime) -> String {
    Timestamp::from(when)
        .to_string()
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect()
}

/// A capture's replay address (its `id_` removed) and the moment its
/// timestamp names; `None` when `raw` is no capture address.
pub(crate) fn replay_address(raw: &Url) -> Option<(Url, Option<SystemTime>)> {
    let text = raw.as_str();
    let at = text.find("/web/")? + "/web/".len();
    let rest = &text[at..];
    let end = rest.find('/')?;
    let segment = &rest[..end];
    let digits = segment.strip_suffix("id_").unwrap_or(segment);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let replay = format!("{}{digits}{}", &text[..at], &rest[end..]);
    Some((Url::parse(&replay).ok()?, parse_timestamp(digits)))
}

/// A Wayback timestamp (a prefix of YYYYMMDDhhmmss) as a moment in UTC.
fn parse_timestamp(digits: &str) -> Option<SystemTime> {
    let padded = format!("{digits:0<14}");
    let n = |r: std::ops::Range<usize>| padded.get(r)?.parse::<u64>().ok();
    let (y, mo, d) = (n(0..4)?, n(4..6)?.max(1), n(6..8)?.max(1));
    let (h, mi, s) = (n(8..10)?, n(10..12)?, n(12..14)?);
    let days = crate::post::date::days_from_civil(y as i64, mo as u32, d as u32)?;
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + s;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_the_wayback_machine_writes_them() {
        let when = UNIX_EPOCH + Duration::from_secs(1_709_632_800); // 2024-03-05T10:00:00Z
        assert_eq!(timestamp(when), "20240305100000");
        let base = Url::parse("https://web.archive.org").unwrap();
        let url = Url::parse("https://img.example/a.jpg?x=1").unwrap();
        assert_eq!(
            raw_address(&base, &url, when).unwrap().as_str(),
            "https://web.archive.org/web/20240305100000id_/https://img.example/a.jpg?x=1"
        );
        let raw =
            Url::parse("https://web.archive.org/web/20231109084512id_/https://img.example/a.jpg")
                .unwrap();
        let (replay, at) = replay_address(&raw).unwrap();
        assert_eq!(
            replay.as_str(),
            "https://web.archive.org/web/20231109084512/https://img.example/a.jpg"
        );
        assert_eq!(
            at.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
            Some("2023-11-09T08:45:12Z".to_string())
        );
        let elsewhere = Url::parse("https://web.archive.org/about/").unwrap();
        assert!(replay_address(&elsewhere).is_none());
    }
}
