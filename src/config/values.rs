//! The values flags take, parsed one way wherever they come from: the
//! command line (clap calls these as its value parsers), a config file's
//! top-level keys (checked with the same parsers, see [`super::flags`]) and
//! its tables (`[hosts]` `concurrency` and `request_interval`). Every
//! range is written here, once.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

/// Requests in flight, in the whole run or to one host.
pub(crate) const IN_FLIGHT: (u32, u32) = (1, 1024);
/// Retries of a transient failure.
pub(crate) const RETRIES: (u32, u32) = (0, 100);
/// A thumbnail's long side, in pixels.
pub(crate) const THUMB_SIZE: (u32, u32) = (1, 10_000);
/// A timeout, in seconds.
const SECONDS: (f64, f64) = (0.0, 86_400.0);
/// A host's `request_interval` at most: a wait longer than this is no
/// politeness but a run that never ends (`--timeout` does not cover it).
const LONGEST_INTERVAL: Duration = Duration::from_secs(3600);
/// A config pattern (`exclude`, `include`, `[[remap]]`) compiled, at most;
/// a URL pattern needs a few kilobytes.
pub(crate) const PATTERN_BYTES: usize = 64 * 1024;
/// Patterns in one list at most: with [`PATTERN_BYTES`], a config file's
/// regexes stay within tens of megabytes, whatever it holds.
pub(crate) const PATTERNS: usize = 1000;

fn ranged(s: &str, (min, max): (u32, u32)) -> Result<u32, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if n < i64::from(min) || n > i64::from(max) {
        return Err(format!("{n} is out of range: give {min} to {max}"));
    }
    Ok(n as u32)
}

/// `--concurrency`, `--per-host`, `[hosts]` `concurrency`.
pub(crate) fn in_flight(s: &str) -> Result<usize, String> {
    ranged(s, IN_FLIGHT).map(|n| n as usize)
}

/// Requests a second to one host at most (`--per-host-rate`).
pub(crate) const PER_HOST_RATE: (u32, u32) = (0, 10_000);

/// `--per-host-rate`: requests a second to one host; 0 for no limit.
pub(crate) fn per_host_rate(s: &str) -> Result<u32, String> {
    ranged(s, PER_HOST_RATE)
}

/// The spacing between two requests to one host that a rate of `rate`
/// requests a second gives; none for 0.
pub(crate) fn spacing(rate: u32) -> Option<Duration> {
    (rate > 0).then(|| Duration::from_secs(1) / rate)
}

/// `--retries`.
pub(crate) fn retries(s: &str) -> Result<u32, String> {
    ranged(s, RETRIES)
}

/// `--thumb-size`.
pub(crate) fn thumb_size(s: &str) -> Result<u32, String> {
    ranged(s, THUMB_SIZE)
}

/// `--max-pixels`: a whole number.
pub(crate) fn pixels(s: &str) -> Result<u64, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))
}

/// `--timeout`, `--connect-timeout`: seconds (`30`, `2.5`) or a duration
/// (`90s`, `500ms`), more than 0 and at most a day.
pub(crate) fn seconds(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let secs = match t.parse::<f64>() {
        Ok(secs) => secs,
        Err(_) => humantime::parse_duration(t)
            .map_err(|_| format!("`{s}` is not a number of seconds (or a duration: 90s, 500ms)"))?
            .as_secs_f64(),
    };
    let (min, max) = SECONDS;
    if !(secs > min && secs <= max) {
        return Err(format!(
            "`{s}` is out of range: give between {min} and {max} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `--stale-after`, `[hosts]` `request_interval`: a duration as humantime
/// writes it (`500ms`, `12h`, `7d`).
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration (e.g. 500ms, 2s, 7d): {e}"))
}

/// `[hosts]` `request_interval`: a duration of at most an hour.
pub(crate) fn interval(s: &str) -> Result<Duration, String> {
    let wait = duration(s)?;
    if wait > LONGEST_INTERVAL {
        return Err(format!("`{s}` is out of range: give at most 1h"));
    }
    Ok(wait)
}

/// `--max-bytes`: bytes with an optional unit: `k`/`KiB` (1024), `kB`
/// (1000), and the same for M and G.
pub(crate) fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 100MiB, 20MB, 512k)"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "kb" => 1000.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "mb" => 1e6,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "gb" => 1e9,
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}` (use k, KiB, kB, M, MiB, MB, G, GiB, GB)"
            ));
        }
    };
    let bytes = number * factor;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(bytes as u64)
}

/// `--header`: `'Name: value'`.
pub(crate) fn header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected 'Name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a valid header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of {name} is not a valid header value"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size("100MiB"), Ok(100 * 1024 * 1024));
        assert_eq!(size("20MB"), Ok(20_000_000));
        assert_eq!(size("512k"), Ok(512 * 1024));
        assert_eq!(size("1000"), Ok(1000));
        assert_eq!(size("1.5GiB"), Ok(1_610_612_736));
        assert!(size("12 parsecs").is_err());
        assert!(size("0").is_err());
        assert!(size("-5").is_err());
    }

    #[test]
    fn headers() {
        let (n, v) = header("X-Token:  abc ").unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("x-token", "abc"));
        assert!(header("no colon").is_err());
        assert!(header("bad name: x").is_err());
    }

    #[test]
    fn ranges_are_checked_and_say_so() {
        assert_eq!(in_flight("16"), Ok(16));
        assert!(in_flight("0").unwrap_err().contains("out of range"));
        assert!(in_flight("1025").unwrap_err().contains("give 1 to 1024"));
        assert_eq!(retries("0"), Ok(0));
        assert!(retries("four").is_err());
    }

    #[test]
    fn a_request_interval_is_at_most_an_hour() {
        assert_eq!(interval("500ms"), Ok(Duration::from_millis(500)));
        assert!(interval("500000000y").unwrap_err().contains("out of range"));
        assert!(interval("2h").is_err());
    }

    #[test]
    fn seconds_are_numbers_or_durations() {
        assert_eq!(seconds("30"), Ok(Duration::from_secs(30)));
        assert_eq!(seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(seconds("90s"), Ok(Duration::from_secs(90)));
        assert!(seconds("0").is_err());
        assert!(seconds("2d").is_err());
        assert!(seconds("soon").is_err());
    }
}
