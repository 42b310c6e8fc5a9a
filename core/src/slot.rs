//! Slot computation: rules minus bookings, in the facility's own time zone.
//!
//! Slots are never stored. A slot is identified by its agenda and its start
//! instant (UTC minute). Local times that do not exist (a DST gap) produce no
//! slot; local times that happen twice (a DST overlap) produce one slot, at
//! the earlier instant, so a rule never yields two slots with one label.

use crate::agenda::{Agenda, ordinary_places};
use crate::error::{Error, Result};
use chrono::{DateTime, Datelike, LocalResult, NaiveDate, Offset, TimeZone, Timelike, Utc};
use std::collections::BTreeSet;

/// Minutes since the Unix epoch: the engine's internal clock unit for slots.
pub(crate) type Minute = i64;

/// The minute of an instant (seconds are dropped).
pub(crate) fn minute_of(t: DateTime<Utc>) -> Minute {
    t.timestamp().div_euclid(60)
}

/// The first whole minute at or after an instant: where a search that must
/// not start before `t` begins (rules compare whole seconds, as here).
pub(crate) fn minute_at_or_after(t: DateTime<Utc>) -> Minute {
    (t.timestamp() + 59).div_euclid(60)
}

/// The instant of a minute.
pub(crate) fn instant(m: Minute) -> DateTime<Utc> {
    DateTime::from_timestamp(m * 60, 0).unwrap_or_default()
}

/// Whether bookings of a kind may use the places kept for referred patients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    Ordinary,
    Referral,
}

fn local_minute_base(date: NaiveDate) -> Minute {
    i64::from(date.num_days_from_ce() - 719_163) * 1440
}

/// The UTC offset in minutes that holds for the whole local `date`, if one does.
fn whole_day_offset(tz: chrono_tz::Tz, date: NaiveDate) -> Option<Minute> {
    let first = tz.offset_from_local_datetime(&date.and_hms_opt(0, 0, 0)?);
    let last = tz.offset_from_local_datetime(&date.and_hms_opt(23, 59, 0)?);
    match (first, last) {
        (LocalResult::Single(a), LocalResult::Single(b)) => {
            let (a, b) = (a.fix().local_minus_utc(), b.fix().local_minus_utc());
            (a == b).then_some(i64::from(a) / 60)
        }
        _ => None,
    }
}

/// Whether the agenda runs at all on `date`: validity, holidays, whole-day closures.
pub(crate) fn day_open(a: &Agenda, holidays: &BTreeSet<NaiveDate>, date: NaiveDate) -> bool {
    date >= a.config.valid_from
        && a.config.valid_to.is_none_or(|end| date <= end)
        && !holidays.contains(&date)
        && !a.closures.iter().any(|c| c.date == date && c.whole_day())
}

/// Writes the UTC start minutes of the slots of local `date` into `out`, ascending.
pub(crate) fn day_slots(
    a: &Agenda,
    holidays: &BTreeSet<NaiveDate>,
    date: NaiveDate,
    out: &mut Vec<Minute>,
) {
    out.clear();
    each_day_slot(a, holidays, date, |m| out.push(m));
}

/// Calls `f` with the UTC start minute of each slot of local `date`, ascending.
fn each_day_slot(
    a: &Agenda,
    holidays: &BTreeSet<NaiveDate>,
    date: NaiveDate,
    mut f: impl FnMut(Minute),
) {
    let blocks = &a.by_day[date.weekday().num_days_from_monday() as usize];
    if blocks.is_empty() || !day_open(a, holidays, date) {
        return;
    }
    let len = a.slot_minutes;
    let fixed = whole_day_offset(a.tz, date);
    let base = local_minute_base(date);
    let partial: Vec<&crate::agenda::Closure> =
        a.closures.iter().filter(|c| c.date == date).collect();
    for &(start, end) in blocks {
        let mut t = start;
        while t + len <= end {
            let closed = partial.iter().any(|c| {
                let (s, e) = (hm(t), hm(t + len));
                c.covers(s, e)
            });
            if !closed {
                let utc = match fixed {
                    Some(off) => Some(base + i64::from(t) - off),
                    None => slow_utc(a.tz, date, t),
                };
                if let Some(m) = utc {
                    f(m);
                }
            }
            t += len;
        }
    }
}

/// The first slot start at or after `lo` by the agenda's weekly rules alone
/// (validity, holidays, closures and bookings ignored): a lower bound of its
/// first free slot, since those only take slots away. Looks two weeks
/// ahead, enough for every weekday twice (a daylight-saving gap can remove
/// a weekday's only slot once); `lo` itself, the trivial bound, when the
/// rules give nothing in that time.
pub(crate) fn first_rule_slot(a: &Agenda, lo: Minute) -> Minute {
    let mut date = local_date(a, lo);
    for _ in 0..15 {
        let blocks = &a.by_day[date.weekday().num_days_from_monday() as usize];
        let fixed = if blocks.is_empty() {
            None
        } else {
            whole_day_offset(a.tz, date)
        };
        let base = local_minute_base(date);
        let len = a.slot_minutes;
        let mut first: Option<Minute> = None;
        for &(start, end) in blocks {
            let mut t = start;
            while t + len <= end {
                let utc = match fixed {
                    Some(off) => Some(base + i64::from(t) - off),
                    None => slow_utc(a.tz, date, t),
                };
                if let Some(m) = utc.filter(|m| *m >= lo) {
                    first = Some(first.map_or(m, |f| f.min(m)));
                }
                t += len;
            }
        }
        // Local time maps to UTC in order, so a later local day starts later.
        if let Some(m) = first {
            return m;
        }
        match date.succ_opt() {
            Some(d) => date = d,
            None => break,
        }
    }
    lo
}

fn hm(minutes: u16) -> chrono::NaiveTime {
    // 24:00 closes the day; compare it as the day's last second.
    let (h, m, sec) = if minutes >= 1440 {
        (23, 59, 59)
    } else {
        (u32::from(minutes / 60), u32::from(minutes % 60), 0)
    };
    chrono::NaiveTime::from_hms_opt(h, m, sec).unwrap_or(chrono::NaiveTime::MIN)
}

fn slow_utc(tz: chrono_tz::Tz, date: NaiveDate, minute_of_day: u16) -> Option<Minute> {
    let ndt = date.and_hms_opt(
        u32::from(minute_of_day / 60),
        u32::from(minute_of_day % 60),
        0,
    )?;
    match tz.from_local_datetime(&ndt) {
        LocalResult::Single(t) => Some(minute_of(t.with_timezone(&Utc))),
        LocalResult::Ambiguous(first, _) => Some(minute_of(first.with_timezone(&Utc))),
        LocalResult::None => None,
    }
}

/// The facility-local date of a UTC minute.
pub(crate) fn local_date(a: &Agenda, m: Minute) -> NaiveDate {
    instant(m).with_timezone(&a.tz).date_naive()
}

/// Checks that `start` is a slot of the agenda and returns its local date.
pub(crate) fn check_slot(
    a: &Agenda,
    holidays: &BTreeSet<NaiveDate>,
    start: DateTime<Utc>,
) -> Result<NaiveDate> {
    let outside = || Error::OutsideAvailability {
        agenda: a.config.id.clone(),
        start: start.to_rfc3339(),
    };
    if start.timestamp() % 60 != 0 || start.timestamp_subsec_nanos() != 0 {
        return Err(outside());
    }
    let local = start.with_timezone(&a.tz);
    let date = local.date_naive();
    if date < a.config.valid_from || a.config.valid_to.is_some_and(|end| date > end) {
        return Err(outside());
    }
    if !day_open(a, holidays, date) {
        return Err(Error::AgendaClosed {
            agenda: a.config.id.clone(),
            date: date.to_string(),
        });
    }
    let t = (local.hour() * 60 + local.minute()) as u16;
    let len = a.slot_minutes;
    let on_rule = a.by_day[date.weekday().num_days_from_monday() as usize]
        .iter()
        .any(|&(s, e)| t >= s && t + len <= e && (t - s).is_multiple_of(len));
    // The earlier of two identical local times is the slot; the later is not.
    let canonical = slow_utc(a.tz, date, t) == Some(minute_of(start));
    if !on_rule || !canonical {
        return Err(outside());
    }
    if a.closures
        .iter()
        .any(|c| c.date == date && c.covers(hm(t), hm(t + len)))
    {
        return Err(Error::AgendaClosed {
            agenda: a.config.id.clone(),
            date: date.to_string(),
        });
    }
    Ok(date)
}

/// Total places of a local day (slots × capacity), the base of the referral
/// share. Counts without allocating: every ordinary booking asks.
pub(crate) fn day_places(a: &Agenda, holidays: &BTreeSet<NaiveDate>, date: NaiveDate) -> u32 {
    let mut slots = 0u32;
    each_day_slot(a, holidays, date, |_| slots += 1);
    slots * u32::from(a.config.capacity)
}

/// Ordinary places still free on a local day.
pub(crate) fn ordinary_left(a: &Agenda, holidays: &BTreeSet<NaiveDate>, date: NaiveDate) -> u32 {
    let places = day_places(a, holidays, date);
    let allowed = ordinary_places(places, a.config.referral_share_percent);
    allowed.saturating_sub(a.ordinary_per_day.get(&date).copied().unwrap_or(0))
}

/// Walks the free slots of one agenda in time order, lazily, day by day.
#[derive(Debug)]
pub(crate) struct FreeSlots<'a> {
    agenda: &'a Agenda,
    holidays: &'a BTreeSet<NaiveDate>,
    usage: Use,
    from: Minute,
    to: Minute,
    date: NaiveDate,
    last_date: NaiveDate,
    buf: Vec<Minute>,
    pos: usize,
    day_left: u32,
}

impl<'a> FreeSlots<'a> {
    /// Free slots starting in `[from, to]`.
    pub fn new(
        agenda: &'a Agenda,
        holidays: &'a BTreeSet<NaiveDate>,
        usage: Use,
        from: Minute,
        to: Minute,
    ) -> Self {
        let date = local_date(agenda, from);
        let last_date = local_date(agenda, to.max(from));
        FreeSlots {
            agenda,
            holidays,
            usage,
            from,
            to,
            date,
            last_date,
            buf: Vec::with_capacity(64),
            pos: 0,
            day_left: 0,
        }
        .primed()
    }

    fn primed(mut self) -> Self {
        self.load_day();
        self
    }

    fn load_day(&mut self) {
        day_slots(self.agenda, self.holidays, self.date, &mut self.buf);
        self.pos = 0;
        self.day_left = match self.usage {
            Use::Referral => u32::MAX,
            Use::Ordinary if self.buf.is_empty() => 0,
            Use::Ordinary => {
                let places = self.buf.len() as u32 * u32::from(self.agenda.config.capacity);
                ordinary_places(places, self.agenda.config.referral_share_percent).saturating_sub(
                    self.agenda
                        .ordinary_per_day
                        .get(&self.date)
                        .copied()
                        .unwrap_or(0),
                )
            }
        };
        if self.day_left == 0 {
            self.pos = self.buf.len();
        }
    }
}

impl Iterator for FreeSlots<'_> {
    /// (start minute, free places for this kind of booking)
    type Item = (Minute, u16);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            while self.pos < self.buf.len() {
                let m = self.buf[self.pos];
                self.pos += 1;
                if m < self.from {
                    continue;
                }
                if m > self.to {
                    return None;
                }
                let free = self
                    .agenda
                    .config
                    .capacity
                    .saturating_sub(self.agenda.taken(m));
                if free > 0 {
                    let free = u32::from(free).min(self.day_left) as u16;
                    return Some((m, free));
                }
            }
            if self.date >= self.last_date {
                return None;
            }
            self.date = self.date.succ_opt()?;
            self.load_day();
        }
    }
}
