//! Agendas: when a facility offers a service, in the facility's local time.
//!
//! An agenda is rules, not rows: weekly blocks, a validity period, closures
//! and network holidays. Slots are computed from them on demand
//! (see the `slot` module) so a 120-day horizon costs no memory.

use crate::error::{Error, Result, Rule};
use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

/// A block of availability on one weekday, in facility-local time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct WeeklyBlock {
    #[cfg_attr(
        feature = "typescript",
        ts(type = r#""Mon" | "Tue" | "Wed" | "Thu" | "Fri" | "Sat" | "Sun""#)
    )]
    pub day: Weekday,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// A day (or part of a day) on which an agenda does not run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Closure {
    pub date: NaiveDate,
    /// Start of a partial closure; `None` with `to: None` closes the whole day.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub from: Option<NaiveTime>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub to: Option<NaiveTime>,
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    #[cfg_attr(feature = "schema", schemars(length(max = 500), regex(pattern = crate::schema::TEXT_OPT)))]
    pub reason: String,
}

impl Closure {
    /// True when the closure covers the local interval `[start, end)` of its date.
    pub fn covers(&self, start: NaiveTime, end: NaiveTime) -> bool {
        match (self.from, self.to) {
            (None, None) => true,
            (from, to) => {
                let after_from = from.is_none_or(|from| end > from);
                let before_to = to.is_none_or(|to| start < to);
                after_from && before_to
            }
        }
    }

    /// True when the closure takes the whole day.
    pub fn whole_day(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }
}

/// The configuration of one agenda: who offers what, when, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AgendaConfig {
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 64), regex(pattern = crate::schema::CODE)))]
    pub id: String,
    pub facility: String,
    pub service: String,
    /// The practitioner whose agenda this is, if it is personal.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    #[cfg_attr(feature = "schema", schemars(length(max = 200), regex(pattern = crate::schema::TEXT)))]
    pub practitioner: Option<String>,
    #[cfg_attr(feature = "schema", schemars(length(max = 64)))]
    pub rules: Vec<WeeklyBlock>,
    pub valid_from: NaiveDate,
    /// Inclusive; `None` means open-ended.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    pub valid_to: Option<NaiveDate>,
    /// Slot length in minutes; `None` takes the service's default.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(optional = nullable))]
    #[cfg_attr(feature = "schema", schemars(range(min = 5, max = 480)))]
    pub slot_minutes: Option<u16>,
    /// Beneficiaries per slot (more than one for group-based services).
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 1000)))]
    pub capacity: u16,
    /// Extra places per slot that only an explicit overbooking may use.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    #[cfg_attr(feature = "schema", schemars(range(max = 1000)))]
    pub overbooking: u16,
    /// How far ahead bookings are accepted, in days.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 730)))]
    pub horizon_days: u16,
    /// How soon before the start a booking is still accepted, in minutes.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    pub min_notice_minutes: u32,
    /// Percent of each day's places kept for referred patients.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(as = "Option<_>", optional))]
    #[cfg_attr(feature = "schema", schemars(range(max = 100)))]
    pub referral_share_percent: u8,
}

impl AgendaConfig {
    /// Rejects configurations that cannot produce sensible slots.
    pub fn validate(&self, default_slot: u16) -> Result<()> {
        if self.id.trim().is_empty() {
            return Err(Error::invalid("id", Rule::Required));
        }
        if self.capacity == 0 {
            return Err(Error::invalid(
                "capacity",
                Rule::OutOfRange { min: 1, max: 1000 },
            ));
        }
        if self.capacity > 1000 || self.overbooking > 1000 {
            let field = if self.capacity > 1000 {
                "capacity"
            } else {
                "overbooking"
            };
            return Err(Error::invalid(
                field,
                Rule::OutOfRange { min: 0, max: 1000 },
            ));
        }
        let len = self.slot_minutes.unwrap_or(default_slot);
        if !(5..=480).contains(&len) {
            return Err(Error::invalid(
                "slot_minutes",
                Rule::OutOfRange { min: 5, max: 480 },
            ));
        }
        if self.referral_share_percent > 100 {
            return Err(Error::invalid(
                "referral_share_percent",
                Rule::OutOfRange { min: 0, max: 100 },
            ));
        }
        if self.horizon_days == 0 || self.horizon_days > 730 {
            return Err(Error::invalid(
                "horizon_days",
                Rule::OutOfRange { min: 1, max: 730 },
            ));
        }
        if let Some(to) = self.valid_to
            && to < self.valid_from
        {
            return Err(Error::invalid(
                "valid_to",
                Rule::Before {
                    other: "valid_from",
                },
            ));
        }
        if self.rules.len() > 64 {
            return Err(Error::invalid("rules", Rule::TooMany { max: 64 }));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.end <= r.start {
                return Err(Error::invalid(
                    &format!("rules[{i}].end"),
                    Rule::NotAfter { other: "start" },
                ));
            }
            for other in &self.rules[i + 1..] {
                if other.day == r.day && other.start < r.end && r.start < other.end {
                    return Err(Error::invalid(&format!("rules[{i}]"), Rule::Overlaps));
                }
            }
        }
        Ok(())
    }
}

/// Places a day may give to ordinary (non-referred) bookings, given the
/// day's total places and the referral share.
pub fn ordinary_places(day_places: u32, referral_share_percent: u8) -> u32 {
    let reserved = (day_places * u32::from(referral_share_percent)).div_ceil(100);
    day_places - reserved.min(day_places)
}

/// An agenda as the engine keeps it: its configuration plus the indexes the
/// slot computation needs. Bookings are counted per slot, never per row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Agenda {
    pub config: AgendaConfig,
    pub facility: u32,
    pub tz: chrono_tz::Tz,
    pub slot_minutes: u16,
    /// Weekly blocks by weekday (Monday = 0) as local minutes of the day, sorted.
    pub by_day: [Vec<(u16, u16)>; 7],
    pub closures: Vec<Closure>,
    /// Places taken per slot start (UTC minute since the epoch).
    pub load: rustc_hash::FxHashMap<i64, u16>,
    /// Ordinary (non-referred) places taken per local date.
    pub ordinary_per_day: rustc_hash::FxHashMap<NaiveDate, u32>,
}

impl Agenda {
    pub fn new(config: AgendaConfig, facility: u32, tz: chrono_tz::Tz, slot_minutes: u16) -> Self {
        let mut by_day: [Vec<(u16, u16)>; 7] = Default::default();
        for r in &config.rules {
            let m = |t: NaiveTime| {
                use chrono::Timelike;
                (t.hour() * 60 + t.minute()) as u16
            };
            by_day[r.day.num_days_from_monday() as usize].push((m(r.start), m(r.end)));
        }
        for d in &mut by_day {
            d.sort_unstable();
        }
        Agenda {
            config,
            facility,
            tz,
            slot_minutes,
            by_day,
            closures: Vec::new(),
            load: Default::default(),
            ordinary_per_day: Default::default(),
        }
    }

    /// Replaces the configuration, keeping bookings and closures.
    pub fn reconfigure(&mut self, config: AgendaConfig, slot_minutes: u16) {
        let mut fresh = Agenda::new(config, self.facility, self.tz, slot_minutes);
        fresh.closures = std::mem::take(&mut self.closures);
        fresh.load = std::mem::take(&mut self.load);
        fresh.ordinary_per_day = std::mem::take(&mut self.ordinary_per_day);
        *self = fresh;
    }

    /// Places taken in the slot starting at `minute`.
    pub fn taken(&self, minute: i64) -> u16 {
        self.load.get(&minute).copied().unwrap_or(0)
    }
}
