//! A post's date, from its front matter (`date`, else `publishDate`,
//! `published`, `created`): what web archives are asked to be closest to.
//! Hugo and Jekyll write dates many ways; these are read: `2024-03-05`,
//! `2024-03-05 10:00`, `2024-03-05T10:00:00+08:00`, `...Z`, with optional
//! fractions of a second. A time without an offset is taken as UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Post;

const DATE_KEYS: &[&str] = &["date", "publishDate", "published", "created"];

impl Post {
    /// The moment the post names as its date, if it names one that reads.
    pub fn date(&self) -> Option<SystemTime> {
        DATE_KEYS
            .iter()
            .filter_map(|k| self.meta(k))
            .find_map(parse)
    }
}

/// Parses a front matter date (see the module doc).
pub fn parse(text: &str) -> Option<SystemTime> {
    let t = text.trim().trim_matches(|c| c == '"' || c == '\'');
    let num = |s: &str| s.parse::<u32>().ok();
    let (y, mo, d) = (
        t.get(0..4)?.parse::<i64>().ok()?,
        num(t.get(5..7)?)?,
        num(t.get(8..10)?)?,
    );
    if t.get(4..5)? != "-" || t.get(7..8)? != "-" {
        return None;
    }
    let days = days_from_civil(y, mo, d)?;
    let rest = t.get(10..)?.trim_start_matches(['T', 't', ' ']);
    let (mut secs, offset) = if rest.is_empty() {
        (0, 0)
    } else {
        let (h, mi) = (num(rest.get(0..2)?)?, num(rest.get(3..5)?)?);
        if rest.get(2..3)? != ":" || h > 23 || mi > 59 {
            return None;
        }
        let mut rest = &rest[5..];
        let mut s = 0;
        if let Some(after) = rest.strip_prefix(':') {
            s = num(after.get(0..2)?)?.min(60);
            rest = &after[2..];
            if let Some(frac) = rest.strip_prefix('.') {
                rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
            }
        }
        (i64::from(h * 3600 + mi * 60 + s), offset_secs(rest.trim())?)
    };
    secs += days * 86_400 - offset;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// `Z`, `+08:00`, `-0500`, `+08`, or nothing (UTC).
fn offset_secs(text: &str) -> Option<i64> {
    if text.is_empty() || text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let sign = match text.get(0..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    let h: i64 = digits.get(0..2)?.parse().ok()?;
    let m: i64 = digits.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
    Some(sign * (h * 3600 + m * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm); `None` for a day that does not exist.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Option<String> {
        parse(text).map(|t| humantime::format_rfc3339_seconds(t).to_string())
    }

    #[test]
    fn dates_as_hugo_and_jekyll_posts_write_them() {
        assert_eq!(utc("2024-03-05").as_deref(), Some("2024-03-05T00:00:00Z"));
        assert_eq!(
            utc("2024-03-05 10:30").as_deref(),
            Some("2024-03-05T10:30:00Z")
        );
        assert_eq!(
            utc("2024-03-05T10:30:15+08:00").as_deref(),
            Some("2024-03-05T02:30:15Z")
        );
        assert_eq!(
            utc("2024-03-05 10:30:15.123 -0500").as_deref(),
            Some("2024-03-05T15:30:15Z")
        );
        assert_eq!(
            utc("2000-02-29T00:00:00Z").as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        for bad in [
            "yesterday",
            "2023-02-29",
            "2024-13-01",
            "2024-03-05T25:00",
            "24-3-5",
            "",
        ] {
            assert_eq!(utc(bad), None, "{bad:?}");
        }
    }
}
