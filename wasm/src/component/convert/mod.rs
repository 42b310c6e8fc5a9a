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
        enlace_core::Error::InvalidInput {
            field: self.field,
            reason: self.reason,
        }
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
impl WitType for DateTime<Utc> {
    type Wit = String;
    fn into_wit(self) -> String {
        self.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
    fn from_wit(w: String) -> Result<Self, Bad> {
        w.parse::<DateTime<Utc>>()
            .map_err(|e| Bad::new(format!("{w:?} is not an RFC 3339 instant ({e})")))
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
