//! RFC 3339 timestamps in journal JSON, written byte for byte as chrono
//! writes them but without its formatting machinery.
//!
//! chrono serialises a `DateTime` through `collect_str`, so serde_json
//! receives it a few characters at a time through `fmt::Write`; that was a
//! third of audit verification (every entry is re-serialised to be hashed).
//! Here the text is built in a stack buffer from the Unix timestamp and
//! handed over as one `&str`. The bytes must never change (they are hashed):
//! years outside 0..=9999, which chrono writes with a sign, go through
//! chrono itself, and `tests::same_bytes_as_chrono` compares both writers.

// The browser package writes with chrono (`small-code`); the fast writer
// is then unused there, but its tests still run natively.
#![cfg_attr(feature = "small-code", allow(dead_code))]

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// The longest text the fast path writes: `9999-12-31T23:59:60.999999999Z`.
pub const MAX: usize = 30;

/// Writes `t` as chrono's `Serialize` would (`SecondsFormat::AutoSi`, `Z`)
/// into `buf`, returning the length; `None` for years outside 0..=9999.
pub fn write(t: &DateTime<Utc>, buf: &mut [u8; MAX]) -> Option<usize> {
    let secs = t.timestamp();
    let mut nano = t.timestamp_subsec_nanos();
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (hour, min, mut sec) = (sod / 3600, sod / 60 % 60, sod % 60);
    // A leap second is kept by chrono as :59 with nanoseconds past 1e9.
    if nano >= 1_000_000_000 {
        sec += 1;
        nano -= 1_000_000_000;
    }
    let year = year as u32;
    two(buf, 0, year / 100);
    two(buf, 2, year % 100);
    buf[4] = b'-';
    two(buf, 5, month);
    buf[7] = b'-';
    two(buf, 8, day);
    buf[10] = b'T';
    two(buf, 11, hour);
    buf[13] = b':';
    two(buf, 14, min);
    buf[16] = b':';
    two(buf, 17, sec);
    let mut len = 19;
    // AutoSi: no fraction, or 3, 6 or 9 digits, whichever is exact.
    let (frac, digits) = if nano == 0 {
        (0, 0)
    } else if nano.is_multiple_of(1_000_000) {
        (nano / 1_000_000, 3)
    } else if nano.is_multiple_of(1_000) {
        (nano / 1_000, 6)
    } else {
        (nano, 9)
    };
    if digits > 0 {
        buf[len] = b'.';
        let mut f = frac;
        for i in (0..digits).rev() {
            buf[len + 1 + i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        len += 1 + digits;
    }
    buf[len] = b'Z';
    Some(len + 1)
}

fn two(buf: &mut [u8], at: usize, v: u32) {
    buf[at] = b'0' + (v / 10) as u8;
    buf[at + 1] = b'0' + (v % 10) as u8;
}

/// Year, month, day of a day count since 1970-01-01 (the proleptic
/// Gregorian calendar; Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `#[serde(with = "crate::rfc3339")]`: the same text as chrono's
/// `Serialize`, the same parsing as its `Deserialize`. With the
/// `small-code` feature (the browser package) chrono writes it.
#[cfg(feature = "small-code")]
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(t, s)
}

/// `#[serde(with = "crate::rfc3339")]`: the same text as chrono's
/// `Serialize`, the same parsing as its `Deserialize`.
#[cfg(not(feature = "small-code"))]
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; MAX];
    match write(t, &mut buf) {
        // The buffer holds ASCII digits and separators only.
        Some(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
        None => serde::Serialize::serialize(t, s),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};
    use proptest::prelude::*;

    fn chrono_text(t: &DateTime<Utc>) -> String {
        serde_json::to_string(t).unwrap()
    }

    fn ours(t: &DateTime<Utc>) -> String {
        let mut out = Vec::new();
        serialize(t, &mut serde_json::Serializer::new(&mut out)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_bytes_as_chrono_at_the_edges() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        let cases = [
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(-1, 0).unwrap(),
            Utc.timestamp_opt(1_772_452_800, 0).unwrap(),
            Utc.timestamp_opt(1_772_452_800, 1_000_000).unwrap(),
            Utc.timestamp_opt(1_772_452_800, 1_000).unwrap(),
            Utc.timestamp_opt(1_772_452_800, 1).unwrap(),
            Utc.timestamp_opt(1_772_452_800, 120_000_000).unwrap(),
            "0000-01-01T00:00:00Z".parse().unwrap(),
            "9999-12-31T23:59:59.999999999Z".parse().unwrap(),
            "-0001-12-31T23:59:59Z".parse().unwrap(),
            "+10000-01-01T00:00:00Z".parse().unwrap(),
            "2000-02-29T12:00:00Z".parse().unwrap(),
            "1900-03-01T00:00:00Z".parse().unwrap(),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            leap,
        ];
        for t in cases {
            assert_eq!(ours(&t), chrono_text(&t), "{t:?}");
        }
        assert_eq!(ours(&leap), "\"2016-12-31T23:59:60.500Z\"");
    }

    #[test]
    fn reads_what_it_writes() {
        let t: DateTime<Utc> = "2026-03-02T12:00:00.25Z".parse().unwrap();
        let mut de = serde_json::Deserializer::from_str("\"2026-03-02T12:00:00.250Z\"");
        assert_eq!(deserialize(&mut de).unwrap(), t);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn same_bytes_as_chrono(
            secs in DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
            nano in prop_oneof![Just(0u32), (0u32..1000).prop_map(|n| n * 1_000_000),
                                (0u32..1_000_000).prop_map(|n| n * 1000), 0u32..2_000_000_000],
        ) {
            if let Some(t) = Utc.timestamp_opt(secs, nano).single() {
                prop_assert_eq!(ours(&t), chrono_text(&t));
            }
        }

        #[test]
        fn same_bytes_as_chrono_in_the_journal_years(
            secs in -2_208_988_800i64..7_258_118_400, nano in 0u32..1_000_000_000,
        ) {
            let t = Utc.timestamp_opt(secs, nano).unwrap();
            prop_assert_eq!(ours(&t), chrono_text(&t));
        }
    }
}
