//! A Memento TimeGate (RFC 7089): `GET {timegate}{url}` with
//! `Accept-Datetime` answers a redirect to the memento closest to that
//! moment, which answers with `Memento-Datetime`. Aggregators (TimeTravel)
//! and self-hosted pywb speak it.

use std::path::Path;
use std::time::SystemTime;

use reqwest::header::HeaderValue;
use url::Url;

use super::{Lookup, Replay, WebArchive};
use crate::manifest::{Capture, Timestamp};
use crate::net::{Fetcher, RequestOptions};
use crate::store::IoError;

/// The memento of `url` closest to `when`, downloaded into `into`.
pub(crate) async fn replay(
    fetcher: &Fetcher,
    timegate: &Url,
    url: &Url,
    when: SystemTime,
    into: &Path,
) -> Result<Lookup, IoError> {
    let Ok(request) = Url::parse(&format!("{timegate}{url}")) else {
        return Ok(Lookup::None);
    };
    let ask = RequestOptions {
        accept_datetime: HeaderValue::from_str(&httpdate::fmt_http_date(Timestamp::writable(when)))
            .ok(),
        to_archive: true,
        ..RequestOptions::default()
    };
    let fetched = match fetcher.download(&request, into, None, &ask).await? {
        Ok(fetched) => fetched,
        Err(failure) => return Ok(Lookup::failed(&failure)),
    };
    let (Some(body), Some(datetime)) = (fetched.body, fetched.answer.memento_datetime) else {
        // No body, or not a memento: the TimeGate has none.
        return Ok(Lookup::None);
    };
    let answer = fetched.answer;
    Ok(Lookup::Found(Box::new(Replay {
        capture: Capture {
            archive: WebArchive::Memento,
            memento_url: answer.final_url.to_string(),
            memento_datetime: Timestamp::from(datetime),
        },
        body,
        answer,
    })))
}
