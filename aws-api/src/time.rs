//! UTC timestamps as the AWS APIs write and SigV4 reads them: ISO 8601 (`2026-12-04T10:45:00.000Z`,
//! EC2's XML), SigV4's basic form (`20261204T104500Z`, `X-Amz-Date`), and epoch seconds
//! (the JSON 1.1 protocol's timestamps). Civil dates from day numbers by the proleptic
//! Gregorian calendar (days since 1970-01-01).
//!
//! What it does not do: time zones other than UTC, leap seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// (year, month, day) of day `z` since 1970-01-01.
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date.
fn days(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parts(t: SystemTime) -> (i64, u32, u32, u64, u64, u64, u32) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, mo, da) = civil((secs / 86_400) as i64);
    let s = secs % 86_400;
    (y, mo, da, s / 3600, s / 60 % 60, s % 60, d.subsec_millis())
}

/// `2026-12-04T10:45:00.000Z`.
pub fn iso8601(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, ms) = parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// `20261204T104500Z`.
pub fn amz_date(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, _) = parts(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Parses `20261204T104500Z`; `None` when it is not exactly that form.
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let day = days(i64::from(y), mo, d);
    let secs = day * 86_400 + i64::from(h * 3600 + mi * 60 + se);
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// A Unix time in milliseconds as a `SystemTime`.
pub fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_796_294_700);
        assert_eq!(iso8601(t), "2026-12-03T10:45:00.000Z");
        assert_eq!(amz_date(t), "20261203T104500Z");
        assert_eq!(parse_amz_date("20261203T104500Z"), Some(t));
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            amz_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "20000229T000000Z"
        );
    }

    #[test]
    fn malformed_dates_are_none() {
        for s in [
            "",
            "2026-12-03",
            "20261303T104500Z",
            "2026120xT104500Z",
            "20261203T104500",
            "20261203T250000Z",
        ] {
            assert_eq!(parse_amz_date(s), None, "{s}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(secs in 0u64..10_000_000_000) {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            prop_assert_eq!(parse_amz_date(&amz_date(t)), Some(t));
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse_amz_date(&s);
        }
    }
}
