//! Date handling for SigV4: the ISO 8601 "basic" timestamp (`YYYYMMDDTHHMMSSZ`)
//! used by `X-Amz-Date`, and the IMF-fixdate form of the HTTP `Date` header
//! (`Sun, 06 Nov 1994 08:49:37 GMT`), which SigV4 accepts when `X-Amz-Date`
//! is absent.
//!
//! Everything works on Unix seconds (`i64`) with proleptic Gregorian civil
//! dates; no time-zone database is involved because SigV4 is always UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 for a civil date (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year so that it starts in March: the leap day is then the
    // last day of the "year", which makes the day-of-year formula regular.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400); // 0..=399
    let m = i64::from(month);
    let shifted_month = if m > 2 { m - 3 } else { m + 9 }; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Civil date (year, month, day) for a number of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // 0..=146096
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // `day` is 1..=31 and `month` 1..=12 by construction.
    (year, month as u32, day as u32)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses a short run (1 to 9) of ASCII digits.
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut v: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(b - b'0');
    }
    Some(v)
}

fn to_unix(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(
        days_from_civil(year, month, day) * SECS_PER_DAY
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second),
    )
}

/// Parses an `X-Amz-Date` value (`YYYYMMDDTHHMMSSZ`) into Unix seconds.
pub(crate) fn parse_amz_date_secs(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[4..6])?;
    let day = digits(&b[6..8])?;
    let hour = digits(&b[9..11])?;
    let minute = digits(&b[11..13])?;
    let second = digits(&b[13..15])?;
    to_unix(i64::from(year), month, day, hour, minute, second)
}

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ`. `None` outside years 0..=9999.
pub(crate) fn format_amz_date_secs(secs: i64) -> Option<String> {
    let days = secs.div_euclid(SECS_PER_DAY);
    let rem = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    Some(format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60))
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Parses an HTTP `Date` header in IMF-fixdate form
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) into Unix seconds. The weekday is not
/// checked against the date (clients are not always right about it, and it
/// carries no information).
pub(crate) fn parse_http_date_secs(s: &str) -> Option<i64> {
    let mut parts = s.split_ascii_whitespace();
    let weekday = parts.next()?;
    if !weekday.ends_with(',') {
        return None;
    }
    let day = digits(parts.next()?.as_bytes())?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month_name))?;
    let year_str = parts.next()?;
    if year_str.len() != 4 {
        return None;
    }
    let year = digits(year_str.as_bytes())?;
    let mut hms = parts.next()?.split(':');
    let hour = digits(hms.next()?.as_bytes())?;
    let minute = digits(hms.next()?.as_bytes())?;
    let second = digits(hms.next()?.as_bytes())?;
    if hms.next().is_some() {
        return None;
    }
    let zone = parts.next()?;
    if !(zone.eq_ignore_ascii_case("GMT") || zone.eq_ignore_ascii_case("UTC")) {
        return None;
    }
    if parts.next().is_some() {
        return None;
    }
    // `position` is 0..=11, so the month fits.
    to_unix(i64::from(year), month as u32 + 1, day, hour, minute, second)
}

/// Unix seconds of a `SystemTime` (negative before 1970), saturating.
pub(crate) fn system_time_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map(|s| -s).unwrap_or(i64::MIN),
    }
}

/// Formats a `SystemTime` as an `X-Amz-Date` value (`YYYYMMDDTHHMMSSZ`, UTC).
/// Returns `None` for times outside the years 0..=9999.
pub fn format_amz_date(t: SystemTime) -> Option<String> {
    format_amz_date_secs(system_time_secs(t))
}

/// Parses an `X-Amz-Date` value (`YYYYMMDDTHHMMSSZ`) into a `SystemTime`.
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let secs = parse_amz_date_secs(s)?;
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_round_trip() {
        for s in [
            "19700101T000000Z",
            "20150830T123600Z",
            "20000229T235959Z",
            "20240517T103000Z",
            "99991231T235959Z",
            "00000101T000000Z",
            "19691231T235959Z",
        ] {
            let secs = parse_amz_date_secs(s).unwrap();
            assert_eq!(format_amz_date_secs(secs).unwrap(), s);
        }
        assert_eq!(parse_amz_date_secs("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date_secs("19700101T000000Z"), Some(0));
    }

    #[test]
    fn amz_date_rejects_garbage() {
        for s in [
            "",
            "20150830",
            "20150830T123600",
            "20150830t123600Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20190229T000000Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "2015083OT123600Z",
            "+0150830T123600Z",
            "20150830T123600Zx",
            "２0150830T123600Z",
        ] {
            assert_eq!(parse_amz_date_secs(s), None, "{s}");
        }
    }

    #[test]
    fn every_day_round_trips() {
        // 1900..2100 covers the century rules both ways.
        let start = days_from_civil(1900, 1, 1);
        let end = days_from_civil(2100, 12, 31);
        let mut expected = (1900, 1, 1);
        for d in start..=end {
            let got = civil_from_days(d);
            assert_eq!(got, expected);
            assert_eq!(days_from_civil(got.0, got.1, got.2), d);
            // advance expected
            let (y, m, day) = expected;
            expected = if day < days_in_month(y, m) {
                (y, m, day + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn http_date() {
        assert_eq!(
            parse_http_date_secs("Mon, 09 Sep 2011 23:36:00 GMT").and_then(format_amz_date_secs),
            Some("20110909T233600Z".to_owned())
        );
        assert_eq!(
            parse_http_date_secs("Fri, 24 May 2013 00:00:00 GMT").and_then(format_amz_date_secs),
            Some("20130524T000000Z".to_owned())
        );
        assert_eq!(parse_http_date_secs("Mon, 09 Sep 2011 23:36:00"), None);
        assert_eq!(parse_http_date_secs("Mon 09 Sep 2011 23:36:00 GMT"), None);
        assert_eq!(parse_http_date_secs("Mon, 09 Sept 2011 23:36:00 GMT"), None);
        assert_eq!(parse_http_date_secs("Mon, 31 Sep 2011 23:36:00 GMT"), None);
        assert_eq!(parse_http_date_secs("Mon, 09 Sep 2011 23:36 GMT"), None);
        assert_eq!(parse_http_date_secs(""), None);
    }

    #[test]
    fn system_time_conversions() {
        let t = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        assert_eq!(format_amz_date(t).unwrap(), "20150830T123600Z");
        assert_eq!(parse_amz_date("20150830T123600Z").unwrap(), t);
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(format_amz_date(before).unwrap(), "19691231T235959Z");
        assert_eq!(parse_amz_date("19691231T235959Z").unwrap(), before);
    }
}
