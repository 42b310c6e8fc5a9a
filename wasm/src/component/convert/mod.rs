//! Lossless conversions between enlace-core's types and the WIT types of
//! `wit/engine.wit`, in both directions.
//!
//! This module is compiled twice, against two sets of generated types with
//! the same names and fields: in the guest (`wit_bindgen::generate!`, this
//! crate) and in the host (`wasmtime::component::bindgen!`, enlace-host
//! includes these files with `#[path]`). Each includer declares the module
//! `wit` (the generated `api` interface) in the parent module. One source for
//! both sides means the two directions cannot drift apart: what the guest
//! lowers, the host lifts with the very same field list.
//!
//! Representation choices (documented in the WIT too):
//! - instants are RFC 3339 strings, written exactly as chrono's serde writes
//!   them (UTC, `Z`, only the fractional digits needed), so JSON built from
//!   either side is byte-identical;
//! - dates are `YYYY-MM-DD` and local times `HH:MM:SS` strings, also as
//!   chrono's serde writes them;
//! - enums map case for case; `tier` is an enum in WIT and a number in JSON.
//!
//! Reading a WIT value can fail only on strings that do not parse; the
//! failure names the field (`command.start`, `rules[2].end`) and becomes
//! core's `invalid_input` error.

#![allow(dead_code)]

use super::wit;
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use enlace_core::journal::ChainBreak;
use enlace_core::{Actor, Entry, ErrorBody, Outcome, Request, Role, Verification};

/// A WIT value that does not make a valid core value: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    /// The path of the field, e.g. `command.start` or `rules[2].end`.
    pub field: String,
    pub reason: String,
}

impl Bad {
    fn new(reason: String) -> Self {
        Bad {
            field: String::new(),
            reason,
        }
    }

    /// Prefixes the path with the enclosing field.
    fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }

    /// The error every face reports for unreadable input.
    pub fn into_error(self) -> enlace_core::Error {
        enlace_core::Error::malformed(&self.field, self.reason)
    }
}

/// A core type with its WIT counterpart.
pub trait WitType: Sized {
    type Wit;
    /// Core → WIT: never fails.
    fn into_wit(self) -> Self::Wit;
    /// WIT → core: fails only on strings that do not parse.
    fn from_wit(w: Self::Wit) -> Result<Self, Bad>;
}

/// Reads a WIT value into core, naming the field on failure.
pub fn lift<T: WitType>(w: T::Wit, field: &str) -> Result<T, Bad> {
    T::from_wit(w).map_err(|e| e.within(field))
}

macro_rules! identity {
    ($($t:ty),*) => {$(
        impl WitType for $t {
            type Wit = $t;
            fn into_wit(self) -> $t {
                self
            }
            fn from_wit(w: $t) -> Result<Self, Bad> {
                Ok(w)
            }
        }
    )*};
}
identity!(String, bool, u8, u16, u32, u64, i64, f64);

impl<T: WitType> WitType for Vec<T> {
    type Wit = Vec<T::Wit>;
    fn into_wit(self) -> Self::Wit {
        self.into_iter().map(WitType::into_wit).collect()
    }
    fn from_wit(w: Self::Wit) -> Result<Self, Bad> {
        w.into_iter()
            .enumerate()
            .map(|(i, x)| T::from_wit(x).map_err(|e| e.within(&format!("[{i}]"))))
            .collect()
    }
}

impl<T: WitType> WitType for Option<T> {
    type Wit = Option<T::Wit>;
    fn into_wit(self) -> Self::Wit {
        self.map(WitType::into_wit)
    }
    fn from_wit(w: Self::Wit) -> Result<Self, Bad> {
        w.map(T::from_wit).transpose()
    }
}

impl<T: WitType> WitType for Box<T> {
    type Wit = T::Wit;
    fn into_wit(self) -> Self::Wit {
        (*self).into_wit()
    }
    fn from_wit(w: Self::Wit) -> Result<Self, Bad> {
        T::from_wit(w).map(Box::new)
    }
}

/// Instants: RFC 3339, as chrono's serde writes and reads them.
///
/// Every booking and every free slot carries instants both ways, and
/// chrono's general formatter and parser were a tenth of a booking through
/// the component and a third of a free-slot search (20 instants per
/// answer, lifted on the host). So the shape both sides write, UTC
/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z` with a year 0000-9999, is written and read
/// by [`instant`] directly (written by core's journal writer,
/// `enlace_core::rfc3339`); anything else (offsets, leap seconds read,
/// other years, lowercase `t`…) goes through chrono, so the text written and the
/// input accepted are exactly chrono's (`instant::tests` compares them).
impl WitType for DateTime<Utc> {
    type Wit = String;
    fn into_wit(self) -> String {
        instant::format(&self).unwrap_or_else(|| self.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
    fn from_wit(w: String) -> Result<Self, Bad> {
        if let Some(t) = instant::parse(w.as_bytes()) {
            return Ok(t);
        }
        w.parse::<DateTime<Utc>>()
            .map_err(|e| Bad::new(format!("{w:?} is not an RFC 3339 instant ({e})")))
    }
}

/// The fast path of instants: chrono's text for the common shape, or
/// `None` (the caller then asks chrono).
mod instant {
    use chrono::{DateTime, NaiveDate, Utc};

    /// `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`, as chrono's
    /// `SecondsFormat::AutoSi` with `Z` writes it (core's journal writer);
    /// `None` for years outside 0..=9999.
    pub(super) fn format(t: &DateTime<Utc>) -> Option<String> {
        let mut buf = [0u8; enlace_core::rfc3339::MAX];
        let n = enlace_core::rfc3339::write(t, &mut buf)?;
        std::str::from_utf8(&buf[..n]).ok().map(str::to_owned)
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` (a valid date, hour <= 23,
    /// minute and second <= 59); `None` for anything else.
    pub(super) fn parse(s: &[u8]) -> Option<DateTime<Utc>> {
        if s.len() < 20 || s[s.len() - 1] != b'Z' {
            return None;
        }
        let digits = |from: usize, n: usize| -> Option<u32> {
            s.get(from..from + n)?.iter().try_fold(0u32, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
            })
        };
        let punct = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if punct.iter().any(|&(i, c)| s[i] != c) {
            return None;
        }
        let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
        let (hour, min, sec) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
        let nano = match s.len() - 20 {
            0 => 0,
            n @ 2..=10 if s[19] == b'.' => digits(20, n - 1)? * 10u32.pow(10 - n as u32),
            _ => return None,
        };
        if hour > 23 || min > 59 || sec > 59 {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
        Some(date.and_hms_nano_opt(hour, min, sec, nano)?.and_utc())
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use chrono::SecondsFormat;

        fn chrono_parse(s: &str) -> Option<DateTime<Utc>> {
            s.parse().ok()
        }

        #[test]
        fn same_text_and_values_as_chrono() {
            // Instants from year 0 to 9999, with every fraction shape.
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let (lo, hi) = (-62_167_219_200i64, 253_402_300_799i64);
            for i in 0..200_000u32 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let secs = lo + (x % (hi - lo + 1) as u64) as i64;
                let nano = match i % 5 {
                    0 => 0,
                    1 => (x >> 40) as u32 % 1000 * 1_000_000,
                    2 => (x >> 40) as u32 % 1_000_000 * 1000,
                    3 => (x >> 34) as u32 % 1_000_000_000,
                    _ => [1, 10, 100_000_000, 999_999_999][(x >> 60) as usize % 4],
                };
                let t = DateTime::from_timestamp(secs, nano).unwrap();
                let text = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                assert_eq!(format(&t).as_deref(), Some(text.as_str()), "{t:?}");
                assert_eq!(parse(text.as_bytes()), Some(t), "{text}");
            }
        }

        #[test]
        fn other_shapes_are_left_to_chrono_or_read_as_chrono_reads_them() {
            for s in [
                "2026-03-02T13:05:00Z",
                "2026-03-02T13:05:00.5Z",
                "2026-03-02T13:05:00.1234567891Z",
                "2026-03-02T13:05:00.Z",
                "2026-03-02t13:05:00Z",
                "2026-03-02 13:05:00Z",
                "2026-03-02T13:05:00z",
                "2026-03-02T13:05:00+01:00",
                "2026-03-02T13:05Z",
                "2026-02-29T13:05:00Z",
                "2024-02-29T13:05:00Z",
                "2026-13-02T13:05:00Z",
                "2026-03-02T24:00:00Z",
                "2026-03-02T23:60:00Z",
                "2016-12-31T23:59:60Z",
                "2016-12-31T23:59:60.5Z",
                "+2026-03-02T13:05:00Z",
                "2026-03-02T13:05:00ZZ",
                "2026-0a-02T13:05:00Z",
                "",
                "garbage",
            ] {
                if let Some(t) = parse(s.as_bytes()) {
                    assert_eq!(Some(t), chrono_parse(s), "{s}");
                }
            }
            // A leap second is written as chrono writes it; years past
            // 9999 are chrono's to write.
            let leap = chrono_parse("2016-12-31T23:59:60Z").unwrap();
            assert_eq!(
                format(&leap).as_deref(),
                Some(leap.to_rfc3339_opts(SecondsFormat::AutoSi, true).as_str())
            );
            let far = DateTime::from_timestamp(253_402_300_800, 0).unwrap();
            assert_eq!(format(&far), None);
        }
    }
}

/// Dates: `YYYY-MM-DD` (chrono's serde form, which is its `Debug` form).
impl WitType for NaiveDate {
    type Wit = String;
    fn into_wit(self) -> String {
        format!("{self:?}")
    }
    fn from_wit(w: String) -> Result<Self, Bad> {
        w.parse::<NaiveDate>()
            .map_err(|e| Bad::new(format!("{w:?} is not a date YYYY-MM-DD ({e})")))
    }
}

/// Local times: `HH:MM:SS` (chrono's serde form, which is its `Debug` form).
impl WitType for NaiveTime {
    type Wit = String;
    fn into_wit(self) -> String {
        format!("{self:?}")
    }
    fn from_wit(w: String) -> Result<Self, Bad> {
        w.parse::<NaiveTime>()
            .map_err(|e| Bad::new(format!("{w:?} is not a time HH:MM[:SS] ({e})")))
    }
}

/// A record whose fields have the same names on both sides.
macro_rules! record {
    ($core:ident => $wit:ident { $($f:ident),* $(,)? }) => {
        impl WitType for $core {
            type Wit = wit::$wit;
            fn into_wit(self) -> wit::$wit {
                wit::$wit { $($f: self.$f.into_wit()),* }
            }
            fn from_wit(w: wit::$wit) -> Result<Self, Bad> {
                Ok($core { $($f: lift(w.$f, stringify!($f))?),* })
            }
        }
    };
}

/// An enum whose cases have the same names on both sides.
macro_rules! enumeration {
    ($core:ident => $wit:ident { $($v:ident),* $(,)? }) => {
        impl WitType for $core {
            type Wit = wit::$wit;
            fn into_wit(self) -> wit::$wit {
                match self { $($core::$v => wit::$wit::$v),* }
            }
            fn from_wit(w: wit::$wit) -> Result<Self, Bad> {
                Ok(match w { $(wit::$wit::$v => $core::$v),* })
            }
        }
    };
}

/// An enum of struct-like variants (core) and a variant of records (WIT),
/// plus payload-less cases.
macro_rules! record_variants {
    ($core:ident => $wit:ident {
        $($v:ident($rec:ident) { $($f:ident),* $(,)? }),* $(,)?
    } $(units { $($u:ident),* $(,)? })?) => {
        impl WitType for $core {
            type Wit = wit::$wit;
            fn into_wit(self) -> wit::$wit {
                match self {
                    $($core::$v { $($f),* } => {
                        wit::$wit::$v(wit::$rec { $($f: $f.into_wit()),* })
                    })*
                    $($($core::$u => wit::$wit::$u,)*)?
                }
            }
            fn from_wit(w: wit::$wit) -> Result<Self, Bad> {
                Ok(match w {
                    $(wit::$wit::$v(r) => $core::$v { $($f: lift(r.$f, stringify!($f))?),* },)*
                    $($(wit::$wit::$u => $core::$u,)*)?
                })
            }
        }
    };
}

/// An enum of one-value variants on both sides.
macro_rules! newtype_variants {
    ($core:ident => $wit:ident { $($v:ident),* $(,)? }) => {
        impl WitType for $core {
            type Wit = wit::$wit;
            fn into_wit(self) -> wit::$wit {
                match self { $($core::$v(x) => wit::$wit::$v(x.into_wit())),* }
            }
            fn from_wit(w: wit::$wit) -> Result<Self, Bad> {
                Ok(match w { $(wit::$wit::$v(x) => $core::$v(WitType::from_wit(x)?)),* })
            }
        }
    };
}

// The conversions, by domain. Declared after the macros, which are in
// scope textually.
mod command;
mod event;
mod query;
mod reference;

enumeration!(Role => Role { Clerk, Clinician, Coordinator, Auditor, Admin });
record!(Actor => Actor { user, agency, facility, role });
record!(Request => Request { actor, at, key, command });
record!(Outcome => Outcome { seq, events, replayed });
record!(Entry => Entry { seq, at, actor, command, key, digest, events, hash });

/// The entry `execute` just made, with its events (the outcome's, moved
/// rather than cloned a second time): `executed.recorded` of the WIT.
pub fn recorded(entry: &Entry, events: Vec<enlace_core::Event>) -> wit::Entry {
    wit::Entry {
        seq: entry.seq,
        at: entry.at.into_wit(),
        actor: entry.actor.clone().into_wit(),
        command: entry.command.clone(),
        key: entry.key.clone(),
        digest: entry.digest,
        events: events.into_wit(),
        hash: entry.hash.clone(),
    }
}
record!(ChainBreak => ChainBreak { index, seq, reason });
record!(Verification => Verification { entries, events, head, broken });

/// Errors: `details` is a map in core and a sorted list of pairs in WIT.
impl WitType for ErrorBody {
    type Wit = wit::Error;
    fn into_wit(self) -> wit::Error {
        wit::Error {
            code: self.code,
            message: self.message,
            details: self.details.into_iter().collect(),
        }
    }
    fn from_wit(w: wit::Error) -> Result<Self, Bad> {
        Ok(ErrorBody {
            code: w.code,
            message: w.message,
            details: w.details.into_iter().collect(),
        })
    }
}
