//! Appointments as iCalendar (RFC 5545).
//!
//! - **UID** is stable across updates: `appointment-<id>@enlace` with the id
//!   of the *first* appointment of a reschedule chain, so a calendar that
//!   imported the event updates it instead of adding a second one.
//! - **SEQUENCE** grows with every change a calendar should see: one per
//!   reschedule in the chain, plus one for arrival, no-show or cancellation
//!   and two for fulfilment (after arrival).
//! - **DTSTART/DTEND** are in the facility's local time with `TZID` set to
//!   its IANA zone, and the calendar carries a `VTIMEZONE` for each zone,
//!   built from the time zone database for the span of its events (one
//!   observance per offset change, so it is exact for those dates).
//! - **STATUS** is `CONFIRMED`, or `CANCELLED` for a cancelled appointment.
//! - Lines end in CRLF and are folded at 75 octets, never inside a UTF-8
//!   character; text values are escaped.
//!
//! A calendar is published (`METHOD:PUBLISH`), not an invitation: the
//! beneficiary's calendar and an agenda's feed are read-only subscriptions.

use super::InteropError;
use crate::appointment::AppointmentStatus;
use crate::state::State;
use crate::view::AppointmentView;
use chrono::{DateTime, Duration, LocalResult, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use std::collections::BTreeMap;

/// The longest window an agenda or facility feed may cover, in days.
pub const MAX_FEED_DAYS: i64 = 366;

/// The domain part of every UID.
pub const UID_DOMAIN: &str = "enlace";

/// One appointment (the current state of its reschedule chain) as a
/// calendar with one VEVENT.
pub fn appointment_calendar(
    state: &State,
    appointment: u32,
    dtstamp: DateTime<Utc>,
) -> Result<String, InteropError> {
    let latest = latest_of(state, appointment).ok_or_else(|| InteropError::Unknown {
        kind: "appointment".into(),
        id: appointment.to_string(),
    })?;
    Ok(calendar(
        state,
        &format!("Appointment {}", chain_root(state, latest.id)),
        &[latest],
        dtstamp,
        false,
    ))
}

/// A beneficiary's appointments as a calendar: one VEVENT per reschedule
/// chain, showing its current state.
pub fn beneficiary_calendar(
    state: &State,
    beneficiary: &str,
    dtstamp: DateTime<Utc>,
) -> Result<String, InteropError> {
    let b = state
        .find_beneficiary(beneficiary)
        .ok_or_else(|| InteropError::Unknown {
            kind: "beneficiary".into(),
            id: beneficiary.to_owned(),
        })?;
    let mut events: Vec<AppointmentView> = state
        .beneficiary_appointment_ids(beneficiary)
        .filter_map(|id| state.appointment_view(id))
        .filter(|a| a.rescheduled_to.is_none())
        .collect();
    events.sort_unstable_by_key(|a| (a.start, a.id));
    Ok(calendar(state, &b.name, &events, dtstamp, false))
}

/// An agenda's appointments that start in `[from, to)` as a feed for the
/// facility's staff. Summaries name the beneficiary by identifier.
pub fn agenda_feed(
    state: &State,
    agenda: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    dtstamp: DateTime<Utc>,
) -> Result<String, InteropError> {
    let info = state
        .agenda_info(agenda)
        .ok_or_else(|| InteropError::Unknown {
            kind: "agenda".into(),
            id: agenda.to_owned(),
        })?;
    check_window(from, to)?;
    let name = match &info.config.practitioner {
        Some(p) => format!("{} ({p})", info.config.id),
        None => info.config.id.clone(),
    };
    let events = feed_events(state, from, to, |a| a.agenda == agenda);
    Ok(calendar(state, &name, &events, dtstamp, true))
}

/// Every agenda of a facility as one feed (see [`agenda_feed`]).
pub fn facility_feed(
    state: &State,
    facility: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    dtstamp: DateTime<Utc>,
) -> Result<String, InteropError> {
    let f = state
        .find_facility(facility)
        .ok_or_else(|| InteropError::Unknown {
            kind: "facility".into(),
            id: facility.to_owned(),
        })?;
    check_window(from, to)?;
    let events = feed_events(state, from, to, |a| a.facility == facility);
    Ok(calendar(state, &f.name, &events, dtstamp, true))
}

fn check_window(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), InteropError> {
    if to <= from {
        return Err(InteropError::param("to", "must be after from"));
    }
    if (to - from).num_days() > MAX_FEED_DAYS {
        return Err(InteropError::param(
            "to",
            format!("a feed covers at most {MAX_FEED_DAYS} days"),
        ));
    }
    Ok(())
}

fn feed_events(
    state: &State,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    keep: impl Fn(&AppointmentView) -> bool,
) -> Vec<AppointmentView> {
    let mut events: Vec<AppointmentView> = state
        .appointment_views()
        .filter(|a| a.rescheduled_to.is_none() && a.start >= from && a.start < to)
        .filter(|a| keep(a))
        .collect();
    events.sort_unstable_by_key(|a| (a.start, a.id));
    events
}

/// The last appointment of the chain `id` belongs to.
fn latest_of(state: &State, id: u32) -> Option<AppointmentView> {
    let mut a = state.appointment_view(id)?;
    // A chain is at most as long as there are appointments.
    for _ in 0..state.appointment_count() {
        match a.rescheduled_to.and_then(|n| state.appointment_view(n)) {
            Some(next) => a = next,
            None => break,
        }
    }
    Some(a)
}

/// The first appointment of the chain `id` belongs to, and how many
/// reschedules led from it to `id`.
fn chain(state: &State, id: u32) -> (u32, u32) {
    let (mut root, mut steps) = (id, 0);
    for _ in 0..state.appointment_count() {
        match state
            .appointment_view(root)
            .and_then(|a| a.rescheduled_from)
        {
            Some(prev) => {
                root = prev;
                steps += 1;
            }
            None => break,
        }
    }
    (root, steps)
}

fn chain_root(state: &State, id: u32) -> u32 {
    chain(state, id).0
}

/// The VEVENT UID of an appointment: that of the first of its chain.
pub fn uid(state: &State, appointment: u32) -> String {
    format!(
        "appointment-{}@{UID_DOMAIN}",
        chain_root(state, appointment)
    )
}

/// The SEQUENCE of an appointment's VEVENT.
pub fn sequence(state: &State, appointment: u32) -> u32 {
    let (_, reschedules) = chain(state, appointment);
    let status = state
        .appointment_view(appointment)
        .map_or(0, |a| match a.status {
            AppointmentStatus::Booked | AppointmentStatus::Rescheduled => 0,
            AppointmentStatus::Arrived
            | AppointmentStatus::NoShow
            | AppointmentStatus::Cancelled => 1,
            AppointmentStatus::Fulfilled => 2,
        });
    reschedules + status
}

fn calendar(
    state: &State,
    name: &str,
    events: &[AppointmentView],
    dtstamp: DateTime<Utc>,
    staff: bool,
) -> String {
    let mut out = String::new();
    let mut line = |l: &str| fold(l, &mut out);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line(&format!(
        "PRODID:-//Enlace//Enlace {}//EN",
        env!("CARGO_PKG_VERSION")
    ));
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!("X-WR-CALNAME:{}", escape(name)));
    // The span of the events per zone, for the VTIMEZONEs.
    let mut zones: BTreeMap<String, (Tz, DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for a in events {
        let tz = zone_of(state, a);
        let e = zones
            .entry(tz.name().to_owned())
            .or_insert((tz, a.start, a.end));
        e.1 = e.1.min(a.start);
        e.2 = e.2.max(a.end);
    }
    for (tz, from, to) in zones.values() {
        for l in vtimezone(*tz, *from, *to) {
            line(&l);
        }
    }
    for a in events {
        for l in vevent(state, a, dtstamp, staff) {
            line(&l);
        }
    }
    line("END:VCALENDAR");
    out
}

fn zone_of(state: &State, a: &AppointmentView) -> Tz {
    state
        .agenda_info(&a.agenda)
        .map_or(chrono_tz::UTC, |i| i.time_zone)
}

fn utc_stamp(t: DateTime<Utc>) -> String {
    format!("{}Z", super::basic(&t))
}

fn vevent(state: &State, a: &AppointmentView, dtstamp: DateTime<Utc>, staff: bool) -> Vec<String> {
    let tz = zone_of(state, a);
    let end = a.end.max(a.start);
    // A local time names its instant unless it is skipped or repeated by a
    // clock change (RFC 5545 reads a repeated one as its first occurrence):
    // then the event is written in UTC, which is always exact.
    let exact = |t: DateTime<Utc>| match tz.from_local_datetime(&t.with_timezone(&tz).naive_local())
    {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x == t,
        LocalResult::None => false,
    };
    let (dtstart, dtend) = if exact(a.start) && exact(end) {
        let local = |t: DateTime<Utc>| super::basic(&t.with_timezone(&tz));
        let tzid = tz.name();
        (
            format!("DTSTART;TZID={tzid}:{}", local(a.start)),
            format!("DTEND;TZID={tzid}:{}", local(end)),
        )
    } else {
        (
            format!("DTSTART:{}", utc_stamp(a.start)),
            format!("DTEND:{}", utc_stamp(end)),
        )
    };
    let service = state
        .service(&a.service)
        .map_or(a.service.as_str(), |s| s.name.as_str());
    let facility = state
        .find_facility(&a.facility)
        .map_or(a.facility.as_str(), |f| f.name.as_str());
    let summary = if staff {
        format!("{service}: {}", a.beneficiary)
    } else {
        service.to_owned()
    };
    let status_text = match a.status {
        AppointmentStatus::Booked => "booked",
        AppointmentStatus::Arrived => "arrived",
        AppointmentStatus::Fulfilled => "attended",
        AppointmentStatus::NoShow => "missed (no-show)",
        AppointmentStatus::Cancelled | AppointmentStatus::Rescheduled => "cancelled",
    };
    let mut description = format!(
        "{service} at {facility}. Appointment {} ({status_text}).",
        a.id
    );
    if let Some(p) = state
        .agenda_info(&a.agenda)
        .and_then(|i| i.config.practitioner.as_deref())
    {
        description.push_str(&format!(" With {p}."));
    }
    if let Some(r) = a.referral {
        description.push_str(&format!(" Referral {r}."));
    }
    if a.rescheduled_from.is_some() {
        description.push_str(" Rescheduled.");
    }
    let cancelled = matches!(
        a.status,
        AppointmentStatus::Cancelled | AppointmentStatus::Rescheduled
    );
    vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}", uid(state, a.id)),
        format!("DTSTAMP:{}", utc_stamp(dtstamp)),
        format!("SEQUENCE:{}", sequence(state, a.id)),
        dtstart,
        dtend,
        format!("SUMMARY:{}", escape(&summary)),
        format!("LOCATION:{}", escape(facility)),
        format!("DESCRIPTION:{}", escape(&description)),
        format!(
            "STATUS:{}",
            if cancelled { "CANCELLED" } else { "CONFIRMED" }
        ),
        format!(
            "TRANSP:{}",
            if cancelled { "TRANSPARENT" } else { "OPAQUE" }
        ),
        "END:VEVENT".to_owned(),
    ]
}

/// A VTIMEZONE for `tz` that is exact over the whole calendar years of
/// `[from, to]`: the offset in force on 1 January of the first year, then
/// one observance per change. Whole years make a zone's VTIMEZONE the same
/// in every calendar whose events fall in the same years, so a client that
/// keeps the first VTIMEZONE it saw for a TZID keeps a right one.
pub fn vtimezone(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    use chrono::Datelike;
    let jan1 = |year: i32| {
        Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(from)
    };
    let start = jan1(from.year()) - Duration::days(1);
    let end = jan1(to.year() + 1) + Duration::days(1);
    let info = |t: DateTime<Utc>| {
        let o = tz.offset_from_utc_datetime(&t.naive_utc());
        (
            o.fix().local_minus_utc(),
            o.dst_offset() != chrono::TimeDelta::zero(),
            o.abbreviation().unwrap_or_default().to_owned(),
        )
    };
    let mut out = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{}", tz.name())];
    let first = info(start);
    out.extend(observance(&first, first.0, start));
    // Walk by day; bisect each change down to the second.
    let mut prev_t = start;
    let mut prev = first;
    let mut t = start;
    while t < end {
        t += Duration::days(1);
        let now = info(t);
        if now.0 != prev.0 || now.1 != prev.1 {
            let (mut lo, mut hi) = (prev_t, t);
            while (hi - lo).num_seconds() > 1 {
                let mid = lo + Duration::seconds((hi - lo).num_seconds() / 2);
                if info(mid).0 == prev.0 && info(mid).1 == prev.1 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let at = info(hi);
            out.extend(observance(&at, prev.0, hi));
            prev = at;
        } else {
            prev = now;
        }
        prev_t = t;
    }
    out.push("END:VTIMEZONE".to_owned());
    out
}

/// One STANDARD or DAYLIGHT observance starting at instant `at`, whose
/// local DTSTART is read in the offset before it (RFC 5545 §3.6.5).
fn observance(to: &(i32, bool, String), from_offset: i32, at: DateTime<Utc>) -> Vec<String> {
    let kind = if to.1 { "DAYLIGHT" } else { "STANDARD" };
    let local = at.naive_utc() + Duration::seconds(i64::from(from_offset));
    let mut v = vec![
        format!("BEGIN:{kind}"),
        format!("DTSTART:{}", super::basic(&local)),
        format!("TZOFFSETFROM:{}", utc_offset(from_offset)),
        format!("TZOFFSETTO:{}", utc_offset(to.0)),
    ];
    if !to.2.is_empty() {
        v.push(format!("TZNAME:{}", escape(&to.2)));
    }
    v.push(format!("END:{kind}"));
    v
}

/// An RFC 5545 UTC-OFFSET: `+hhmm`, or `+hhmmss` when seconds are not zero.
fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and
/// newlines; other control characters, which TEXT does not allow, are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The beneficiaries a calendar written here names: staff calendars sum an
/// appointment up as `service: beneficiary` (see `vevent`), so the
/// record of who read what (`crate::disclosure`) reads them back from the
/// text, unfolded and unescaped. A summary without an identifier after its
/// last `": "` (a beneficiary's own calendar) names nobody.
pub fn summary_beneficiaries(text: &str) -> Vec<String> {
    let unfolded = text.replace("\r\n ", "");
    unfolded
        .lines()
        .filter_map(|l| l.strip_prefix("SUMMARY:"))
        .filter_map(|s| s.rsplit_once(": ").map(|(_, id)| id))
        .map(|id| {
            let mut out = String::with_capacity(id.len());
            let mut chars = id.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        })
        .filter(|id| crate::validate::code("beneficiary", id).is_ok())
        .collect()
}

/// Appends a content line folded at 75 octets (RFC 5545 §3.1) and CRLF.
/// Folds fall between characters, never inside a UTF-8 sequence; each
/// continuation line starts with one space, which counts in its 75.
pub fn fold(line: &str, out: &mut String) {
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}
