//! The manifest's words: each field that takes one of a few values is an
//! enum, each time a [`Timestamp`]. They serialise to the strings of
//! version 1 (`"image"`, `"front_matter"`, `"dead"`, RFC 3339 seconds), so
//! manifests read and write byte for byte as before.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub(crate) use crate::net::referer::Referer;
pub(crate) use crate::reference::{Kind, Section};

/// What became of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Archived,
    Failed,
    Skipped,
}

/// One check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// Reachable, with the archived content (or not comparable).
    Alive,
    /// Reachable, but the bytes differ from the archived copy.
    Changed,
    /// A final HTTP error after retries, a DNS or connect failure, a
    /// timeout.
    Dead,
    /// Dead or failed before, alive now.
    Recovered,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Alive => "alive",
            Verdict::Changed => "changed",
            Verdict::Dead => "dead",
            Verdict::Recovered => "recovered",
        }
    }
}

/// What happens to links (non-image resources): `--links`, recorded in the
/// manifest so `check --repair` archives the post the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LinksMode {
    /// Downloaded, stored and rewritten like images.
    #[default]
    Mirror,
    /// Requested and recorded, not stored or rewritten.
    Check,
    /// Left out.
    Ignore,
}

/// `check --repair --repair-links`: where a dead link in index.md is
/// pointed. Recorded in the manifest, so a later `archive` run keeps the
/// repair while the link stays dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RepairLinks {
    /// At its memento in a web archive: a public copy that works on a
    /// published site.
    #[default]
    Archive,
    /// At its copy in `.rotproof/pages/` (for reading the folder itself:
    /// a published site does not serve `.rotproof/`).
    Local,
    /// Left as written.
    Keep,
}

/// A web archive's capture of a resource: the one its bytes were
/// recovered from (`recovered_from`), or one merely located for a dead
/// link (`memento`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// `wayback` or `memento`.
    pub archive: WebArchive,
    /// The capture's replay address, the one to send a reader to.
    pub memento_url: String,
    pub memento_datetime: Timestamp,
}

/// A moment, written as RFC 3339 in UTC with seconds
/// (`2026-12-01T09:24:46Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    /// The latest moment the formats rotproof writes can hold (RFC 3339,
    /// HTTP dates and Wayback timestamps have four-digit years):
    /// 9999-12-31T23:59:59Z.
    pub(crate) const LATEST_SECS: u64 = 253_402_300_799;

    /// `time`, brought within what the formats can write: a post dated in
    /// year 10000 (or before 1970) is kept at the nearest moment they
    /// can, never a panic.
    pub(crate) fn writable(time: SystemTime) -> SystemTime {
        let secs = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .min(Self::LATEST_SECS);
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    pub fn time(self) -> SystemTime {
        self.0
    }
}

impl From<SystemTime> for Timestamp {
    /// Whole seconds, as written: a value read back equals the one written;
    /// brought within what RFC 3339 can write ([`Timestamp::writable`]).
    fn from(time: SystemTime) -> Timestamp {
        Timestamp(Timestamp::writable(time))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_rfc3339_seconds(self.0).fmt(f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339_weak(&text)
            .map(Timestamp)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_version_ones_strings() {
        let json = |v: &dyn erased::Json| v.json();
        assert_eq!(json(&Section::FrontMatter), "\"front_matter\"");
        assert_eq!(json(&Verdict::Recovered), "\"recovered\"");
        assert_eq!(json(&LinksMode::Check), "\"check\"");
        assert_eq!(json(&Status::Skipped), "\"skipped\"");
        assert_eq!(json(&Kind::Image), "\"image\"");
    }

    #[test]
    fn timestamps_round_trip_to_the_second() {
        let t: Timestamp = serde_json::from_str("\"2026-12-01T09:24:46Z\"").expect("a time");
        assert_eq!(t.to_string(), "2026-12-01T09:24:46Z");
        assert_eq!(
            serde_json::to_string(&t).expect("serialises"),
            "\"2026-12-01T09:24:46Z\""
        );
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        // Past year 9999: kept at the latest moment RFC 3339 can write.
        let far = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(300_000_000_000);
        assert_eq!(Timestamp::from(far).to_string(), "9999-12-31T23:59:59Z");
        let now = Timestamp::now();
        let back: Timestamp =
            serde_json::from_str(&serde_json::to_string(&now).expect("json")).expect("time");
        assert_eq!(back, now);
    }

    mod erased {
        pub(super) trait Json {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Json for T {
            fn json(&self) -> String {
                serde_json::to_string(self).expect("serialises")
            }
        }
    }
}

/// A web archive lost resources are looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebArchive {
    /// The Wayback Machine's `id_` replay.
    Wayback,
    /// A Memento TimeGate (RFC 7089).
    Memento,
}

impl WebArchive {
    pub fn as_str(self) -> &'static str {
        match self {
            WebArchive::Wayback => "wayback",
            WebArchive::Memento => "memento",
        }
    }
}
