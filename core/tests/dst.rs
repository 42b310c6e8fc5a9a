//! Slots in each facility's own time zone, across daylight-saving changes.
//!
//! Zones with DST: America/Santiago (2026), America/Asuncion (2023–2024,
//! before Paraguay kept summer time all year), America/Sao_Paulo (2018,
//! before Brazil dropped DST). Zones without DST now: America/Mexico_City
//! (since the end of October 2022) and America/Montevideo (since 2015).
//!
//! All the transitions of these zones happen at local midnight (Mexico City:
//! 02:00), so every agenda below has blocks around midnight on weekends:
//! Saturday 21:00–23:59 and Sunday 00:00–03:00, besides weekday mornings.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use enlace_core::agenda::{AgendaConfig, Closure, WeeklyBlock};
use enlace_core::beneficiary::{Beneficiary, Coverage, Sex};
use enlace_core::facility::{Facility, Service, Tier};
use enlace_core::query::{DayView, FreeSlot};
use enlace_core::{Actor, Answer, Command, Engine, Error, Query, Request, Role};

const ZONES: [(&str, &str); 5] = [
    ("SCL", "America/Santiago"),
    ("ASU", "America/Asuncion"),
    ("GRU", "America/Sao_Paulo"),
    ("MEX", "America/Mexico_City"),
    ("MVD", "America/Montevideo"),
];

const SLOT: u32 = 30;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn tz_of(facility: &str) -> Tz {
    let (_, name) = ZONES.iter().find(|(f, _)| *f == facility).unwrap();
    name.parse().unwrap()
}

fn admin() -> Actor {
    Actor::new("admin", "ministry", None, Role::Admin)
}

fn clerk(f: &str) -> Actor {
    Actor::new("clerk", "asse", Some(f), Role::Clerk)
}

fn auditor() -> Actor {
    Actor::new("aud", "ministry", None, Role::Auditor)
}

/// Weekday mornings 08:00–09:00, Saturday night 21:00–23:59, Sunday
/// 00:00–03:00, in 30-minute slots.
fn rules() -> Vec<WeeklyBlock> {
    let mut r: Vec<WeeklyBlock> = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
    .into_iter()
    .map(|day| WeeklyBlock {
        day,
        start: hm(8, 0),
        end: hm(9, 0),
    })
    .collect();
    r.push(WeeklyBlock {
        day: Weekday::Sat,
        start: hm(21, 0),
        end: hm(23, 59),
    });
    r.push(WeeklyBlock {
        day: Weekday::Sun,
        start: hm(0, 0),
        end: hm(3, 0),
    });
    r
}

fn agenda_id(f: &str) -> String {
    format!("{f}-A")
}

fn exec(e: &mut Engine, actor: &Actor, at: DateTime<Utc>, command: Command) -> Result<(), Error> {
    e.execute(Request {
        actor: actor.clone(),
        at,
        key: None,
        command,
    })
    .map(|_| ())
}

/// One facility and one agenda per zone, a few beneficiaries, set up at
/// `at`. Horizon two years, no notice, one place per slot.
fn network(at: DateTime<Utc>) -> Engine {
    let mut e = Engine::new();
    let a = admin();
    exec(
        &mut e,
        &a,
        at,
        Command::DefineService {
            service: Service {
                code: "gp".into(),
                name: "General practice".into(),
                slot_minutes: SLOT as u16,
            },
        },
    )
    .unwrap();
    for (i, (id, tz)) in ZONES.iter().enumerate() {
        exec(
            &mut e,
            &a,
            at,
            Command::RegisterFacility {
                facility: Facility {
                    id: (*id).into(),
                    name: format!("Clinic {id}"),
                    agency: "asse".into(),
                    tier: if i % 2 == 0 {
                        Tier::First
                    } else {
                        Tier::Second
                    },
                    region: (*id).to_lowercase(),
                    time_zone: (*tz).into(),
                    services: vec!["gp".into()],
                },
            },
        )
        .unwrap();
        exec(
            &mut e,
            &a,
            at,
            Command::DefineAgenda {
                agenda: AgendaConfig {
                    id: agenda_id(id),
                    facility: (*id).into(),
                    service: "gp".into(),
                    practitioner: None,
                    rules: rules(),
                    valid_from: date("2015-01-01"),
                    valid_to: None,
                    slot_minutes: None,
                    capacity: 1,
                    overbooking: 0,
                    horizon_days: 730,
                    min_notice_minutes: 0,
                    referral_share_percent: 0,
                },
            },
        )
        .unwrap();
    }
    for i in 0..4 {
        exec(
            &mut e,
            &clerk("MVD"),
            at,
            Command::RegisterBeneficiary {
                beneficiary: Beneficiary {
                    id: format!("B{i}"),
                    name: format!("Person {i}"),
                    birth_date: date("1990-01-01"),
                    sex: Sex::Female,
                    contact: None,
                    coverage: vec![Coverage {
                        programme: "fonasa".into(),
                        agency: "asse".into(),
                        valid_from: date("2010-01-01"),
                        valid_to: None,
                    }],
                },
            },
        )
        .unwrap();
    }
    e
}

fn day_view(e: &Engine, f: &str, day: NaiveDate, days: u16) -> Vec<DayView> {
    match e
        .query(
            &auditor(),
            &Query::AgendaView {
                agenda: agenda_id(f),
                from: day,
                days,
            },
            utc("2015-01-01T00:00:00Z"),
        )
        .unwrap()
    {
        Answer::AgendaView(v) => v,
        other => panic!("{other:?}"),
    }
}

/// Local labels (HH:MM) of an agenda's slots on a local day.
fn labels(e: &Engine, f: &str, day: &str) -> Vec<String> {
    let tz = tz_of(f);
    let v = day_view(e, f, date(day), 1);
    assert_eq!(v[0].date, date(day));
    v[0].slots
        .iter()
        .map(|s| {
            let l = s.start.with_timezone(&tz);
            assert_eq!(l.date_naive(), date(day), "a slot of {day} on another day");
            assert_eq!(s.end - s.start, Duration::minutes(i64::from(SLOT)));
            l.format("%H:%M").to_string()
        })
        .collect()
}

fn book(
    e: &mut Engine,
    f: &str,
    start: DateTime<Utc>,
    who: &str,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    exec(
        e,
        &clerk(f),
        at,
        Command::BookAppointment {
            agenda: agenda_id(f),
            start,
            beneficiary: who.into(),
            follow_up_of: None,
            overbook: false,
        },
    )
}

/// The UTC offset of a zone at an instant, in hours (for readable checks).
fn offset_hours(tz: Tz, t: DateTime<Utc>) -> i32 {
    use chrono::Offset;
    t.with_timezone(&tz).offset().fix().local_minus_utc() / 3600
}

#[test]
fn the_zone_data_has_the_transitions_these_tests_rely_on() {
    // (zone, instant just before, offset before, offset after one hour later)
    let table = [
        ("SCL", "2026-04-05T02:59:00Z", -3, -4),
        ("SCL", "2026-09-06T03:59:00Z", -4, -3),
        ("ASU", "2023-10-01T03:59:00Z", -4, -3),
        ("ASU", "2024-03-24T02:59:00Z", -3, -4),
        ("GRU", "2018-02-18T01:59:00Z", -2, -3),
        ("GRU", "2018-11-04T02:59:00Z", -3, -2),
        ("MEX", "2022-04-03T07:59:00Z", -6, -5),
        ("MEX", "2022-10-30T06:59:00Z", -5, -6),
        // No DST any more: the first Sunday of April and the last of October.
        ("MEX", "2023-04-02T07:59:00Z", -6, -6),
        ("MEX", "2023-10-29T06:59:00Z", -6, -6),
        ("MVD", "2026-03-08T04:59:00Z", -3, -3),
        ("MVD", "2026-10-04T04:59:00Z", -3, -3),
        // Paraguay kept summer time from October 2024.
        ("ASU", "2025-03-23T02:59:00Z", -3, -3),
    ];
    for (f, t, before, after) in table {
        let tz = tz_of(f);
        let t = utc(t);
        assert_eq!(offset_hours(tz, t), before, "{f} at {t}");
        assert_eq!(
            offset_hours(tz, t + Duration::hours(1)),
            after,
            "{f} after {t}"
        );
    }
}

#[test]
fn local_eight_o_clock_maps_to_the_right_instant_around_each_transition() {
    // (zone, local weekday, UTC instant of its 08:00)
    let table = [
        ("SCL", "2026-04-03", "2026-04-03T11:00:00Z"), // Friday, -03
        ("SCL", "2026-04-06", "2026-04-06T12:00:00Z"), // Monday, -04
        ("SCL", "2026-09-04", "2026-09-04T12:00:00Z"), // Friday, -04
        ("SCL", "2026-09-07", "2026-09-07T11:00:00Z"), // Monday, -03
        ("ASU", "2023-09-29", "2023-09-29T12:00:00Z"),
        ("ASU", "2023-10-02", "2023-10-02T11:00:00Z"),
        ("ASU", "2024-03-22", "2024-03-22T11:00:00Z"),
        ("ASU", "2024-03-25", "2024-03-25T12:00:00Z"),
        ("GRU", "2018-02-16", "2018-02-16T10:00:00Z"), // -02 (summer)
        ("GRU", "2018-02-19", "2018-02-19T11:00:00Z"), // -03
        ("GRU", "2018-11-02", "2018-11-02T11:00:00Z"),
        ("GRU", "2018-11-05", "2018-11-05T10:00:00Z"),
        ("MEX", "2022-04-01", "2022-04-01T14:00:00Z"), // CST
        ("MEX", "2022-04-04", "2022-04-04T13:00:00Z"), // CDT
        ("MEX", "2022-10-28", "2022-10-28T13:00:00Z"),
        ("MEX", "2022-10-31", "2022-10-31T14:00:00Z"),
        ("MEX", "2023-03-31", "2023-03-31T14:00:00Z"), // no DST since 2022
        ("MEX", "2023-04-03", "2023-04-03T14:00:00Z"),
        ("MEX", "2023-10-27", "2023-10-27T14:00:00Z"),
        ("MEX", "2023-10-30", "2023-10-30T14:00:00Z"),
        ("MVD", "2026-03-06", "2026-03-06T11:00:00Z"),
        ("MVD", "2026-03-09", "2026-03-09T11:00:00Z"),
        ("MVD", "2026-10-02", "2026-10-02T11:00:00Z"),
        ("MVD", "2026-10-05", "2026-10-05T11:00:00Z"),
    ];
    for (f, day, expected) in table {
        let expected = utc(expected);
        let at = expected - Duration::days(10);
        let mut e = network(at);
        let v = day_view(&e, f, date(day), 1);
        let starts: Vec<_> = v[0].slots.iter().map(|s| s.start).collect();
        assert_eq!(
            starts,
            vec![expected, expected + Duration::minutes(30)],
            "{f} {day}"
        );
        // The right instant books; the same wall time read with the other
        // offset of the year (one hour off) is not a slot.
        book(&mut e, f, expected, "B0", at).unwrap_or_else(|err| panic!("{f} {day}: {err}"));
        for wrong in [expected - Duration::hours(1), expected + Duration::hours(1)] {
            let err = book(&mut e, f, wrong, "B1", at).unwrap_err();
            assert_eq!(err.code(), "outside_availability", "{f} {day} {wrong}");
        }
    }
}

#[test]
fn local_times_in_a_spring_forward_gap_have_no_slot() {
    // (zone, the Sunday of the change, its slots, a normal Sunday nearby)
    let table = [
        (
            "SCL",
            "2026-09-06",
            vec!["01:00", "01:30", "02:00", "02:30"],
            "2026-08-30",
        ),
        (
            "ASU",
            "2023-10-01",
            vec!["01:00", "01:30", "02:00", "02:30"],
            "2023-10-08",
        ),
        (
            "GRU",
            "2018-11-04",
            vec!["01:00", "01:30", "02:00", "02:30"],
            "2018-10-28",
        ),
        (
            "MEX",
            "2022-04-03",
            vec!["00:00", "00:30", "01:00", "01:30"],
            "2022-03-27",
        ),
    ];
    let normal = vec!["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"];
    for (f, day, expected, other) in table {
        let e = network(utc("2018-01-01T00:00:00Z"));
        assert_eq!(labels(&e, f, day), expected, "{f} {day}");
        assert_eq!(labels(&e, f, other), normal, "{f} {other}");
        // The wall times that do not exist are not slots; the slot after the
        // gap is the first instant of the new offset.
        let tz = tz_of(f);
        let v = day_view(&e, f, date(day), 1);
        let first = v[0].slots[0].start;
        for s in &v[0].slots {
            let local = s.start.with_timezone(&tz).naive_local();
            assert!(
                matches!(tz.from_local_datetime(&local), LocalResult::Single(_)),
                "{f} {local}"
            );
        }
        let gap_start = date(day).and_time(if f == "MEX" { hm(2, 0) } else { hm(0, 0) });
        assert!(matches!(
            tz.from_local_datetime(&gap_start),
            LocalResult::None
        ));
        if f != "MEX" {
            // 00:00 would have been one hour before 01:00 at the old offset.
            assert_eq!(first.with_timezone(&tz).time(), hm(1, 0));
            assert_eq!(
                offset_hours(tz, first) - offset_hours(tz, first - Duration::minutes(1)),
                1
            );
        }
    }
}

#[test]
fn local_times_repeated_by_a_fall_back_have_one_slot_at_the_earlier_instant() {
    // (zone, the day with the repeated hour, its slots, the earlier and
    // later instants of the first repeated slot)
    let table = [
        (
            "SCL",
            "2026-04-04",
            vec!["21:00", "21:30", "22:00", "22:30", "23:00"],
            "2026-04-05T02:00:00Z",
            "2026-04-05T03:00:00Z",
        ),
        (
            "ASU",
            "2024-03-23",
            vec!["21:00", "21:30", "22:00", "22:30", "23:00"],
            "2024-03-24T02:00:00Z",
            "2024-03-24T03:00:00Z",
        ),
        (
            "GRU",
            "2018-02-17",
            vec!["21:00", "21:30", "22:00", "22:30", "23:00"],
            "2018-02-18T01:00:00Z",
            "2018-02-18T02:00:00Z",
        ),
        (
            "MEX",
            "2022-10-30",
            vec!["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"],
            "2022-10-30T06:00:00Z",
            "2022-10-30T07:00:00Z",
        ),
    ];
    for (f, day, expected, earlier, later) in table {
        let (earlier, later) = (utc(earlier), utc(later));
        let at = earlier - Duration::days(3);
        let mut e = network(at);
        assert_eq!(labels(&e, f, day), expected, "{f} {day}");
        let tz = tz_of(f);
        // Both instants read as the same wall time.
        assert_eq!(
            earlier.with_timezone(&tz).naive_local(),
            later.with_timezone(&tz).naive_local()
        );
        let v = day_view(&e, f, date(day), 1);
        assert!(v[0].slots.iter().any(|s| s.start == earlier));
        assert!(v[0].slots.iter().all(|s| s.start != later));
        // The later instant is not a slot, before or after the earlier is booked.
        let err = book(&mut e, f, later, "B1", at).unwrap_err();
        assert_eq!(err.code(), "outside_availability", "{f} {later}");
        book(&mut e, f, earlier, "B0", at).unwrap();
        let err = book(&mut e, f, later, "B1", at).unwrap_err();
        assert_eq!(err.code(), "outside_availability", "{f} {later}");
        let err = book(&mut e, f, later + Duration::minutes(30), "B1", at).unwrap_err();
        assert_eq!(err.code(), "outside_availability");
        assert_eq!(
            book(&mut e, f, earlier, "B1", at).unwrap_err().code(),
            "slot_full"
        );
    }
}

#[test]
fn day_views_count_slots_on_transition_days() {
    // (zone, first day, slot counts of seven days from it)
    let table = [
        // Thu Apr 2 … Wed Apr 8 2026: Saturday keeps 5 (one per label).
        ("SCL", "2026-04-02", [2, 2, 5, 6, 2, 2, 2]),
        // Thu Sep 3 … : Sunday loses the 00:00 hour.
        ("SCL", "2026-09-03", [2, 2, 5, 4, 2, 2, 2]),
        ("ASU", "2023-09-28", [2, 2, 5, 4, 2, 2, 2]),
        ("ASU", "2024-03-21", [2, 2, 5, 6, 2, 2, 2]),
        ("GRU", "2018-11-01", [2, 2, 5, 4, 2, 2, 2]),
        ("GRU", "2018-02-15", [2, 2, 5, 6, 2, 2, 2]),
        ("MEX", "2022-03-31", [2, 2, 5, 4, 2, 2, 2]),
        ("MEX", "2022-10-27", [2, 2, 5, 6, 2, 2, 2]),
        ("MEX", "2023-03-30", [2, 2, 5, 6, 2, 2, 2]),
        ("MVD", "2026-09-03", [2, 2, 5, 6, 2, 2, 2]),
    ];
    let e = network(utc("2018-01-01T00:00:00Z"));
    for (f, from, counts) in table {
        let v = day_view(&e, f, date(from), 7);
        let got: Vec<usize> = v.iter().map(|d| d.slots.len()).collect();
        assert_eq!(got, counts, "{f} from {from}");
        let places: u32 = v.iter().map(|d| d.places).sum();
        assert_eq!(places as usize, counts.iter().sum::<usize>());
        // Utilization counts the same places.
        let to = date(from) + Duration::days(6);
        let Answer::Utilization(u) = e
            .query(
                &auditor(),
                &Query::Utilization {
                    agenda: agenda_id(f),
                    from: date(from),
                    to,
                },
                utc("2018-01-01T00:00:00Z"),
            )
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(u.places, places, "{f}");
    }
}

// --- free slots against an independent model of the rules ---------------------

/// The slots a day should have, computed here from the rules with chrono-tz:
/// skip wall times that do not exist, take the earlier of repeated ones.
fn model_day(
    rules: &[WeeklyBlock],
    tz: Tz,
    day: NaiveDate,
    closures: &[Closure],
    holidays: &[NaiveDate],
) -> Vec<DateTime<Utc>> {
    if holidays.contains(&day)
        || closures
            .iter()
            .any(|c| c.date == day && c.from.is_none() && c.to.is_none())
    {
        return Vec::new();
    }
    let minutes = |t: NaiveTime| t.hour() * 60 + t.minute();
    let mut out = Vec::new();
    for b in rules.iter().filter(|b| b.day == day.weekday()) {
        let (start, end) = (minutes(b.start), minutes(b.end));
        let mut t = start;
        while t + SLOT <= end {
            let (s, e) = (t, t + SLOT);
            let closed = closures.iter().any(|c| {
                c.date == day
                    && c.from.is_none_or(|f| e > minutes(f))
                    && c.to.is_none_or(|to| s < minutes(to))
            });
            let local: NaiveDateTime = day.and_time(hm(t / 60, t % 60));
            if !closed && let Some(x) = tz.from_local_datetime(&local).earliest() {
                out.push(x.with_timezone(&Utc));
            }
            t += SLOT;
        }
    }
    out.sort();
    out
}

fn free_slots(
    e: &Engine,
    f: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<FreeSlot> {
    match e
        .query(
            &clerk(f),
            &Query::FreeSlots {
                service: "gp".into(),
                region: None,
                tier: None,
                facilities: vec![f.into()],
                from,
                to,
                limit: 500,
                for_referral: false,
            },
            now,
        )
        .unwrap()
    {
        Answer::FreeSlots(v) => v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn free_slots_follow_the_local_rules_and_skip_closed_days_across_transitions() {
    // (zone, a day in the week of a transition)
    let table = [
        ("SCL", "2026-04-04"),
        ("SCL", "2026-09-06"),
        ("ASU", "2023-10-01"),
        ("ASU", "2024-03-23"),
        ("GRU", "2018-02-17"),
        ("GRU", "2018-11-04"),
        ("MEX", "2022-04-03"),
        ("MEX", "2022-10-30"),
        ("MEX", "2023-04-02"),
        ("MVD", "2026-03-08"),
    ];
    for (f, pivot) in table {
        let tz = tz_of(f);
        let pivot = date(pivot);
        let first = pivot - Duration::days(9);
        let last = pivot + Duration::days(9);
        let now = tz
            .from_local_datetime(&first.and_time(hm(12, 0)))
            .unwrap()
            .with_timezone(&Utc);
        let mut e = network(now);
        // A holiday on the transition's Saturday, a whole-day closure on the
        // Monday after, a partial closure of the Sunday's 01:00–02:00 a week
        // earlier, and one booked slot on the transition's weekend.
        let saturday =
            pivot - Duration::days(i64::from(pivot.weekday().num_days_from_sunday() + 1) % 7);
        let sunday = saturday + Duration::days(1);
        let holidays = vec![saturday - Duration::days(7)];
        let closures = vec![
            Closure {
                date: sunday + Duration::days(1),
                from: None,
                to: None,
                reason: "closed".into(),
            },
            Closure {
                date: sunday - Duration::days(7),
                from: Some(hm(1, 0)),
                to: Some(hm(2, 0)),
                reason: "partial".into(),
            },
        ];
        exec(
            &mut e,
            &admin(),
            now,
            Command::DeclareHoliday {
                date: holidays[0],
                name: "feriado".into(),
            },
        )
        .unwrap();
        for c in &closures {
            exec(
                &mut e,
                &clerk(f),
                now,
                Command::AddClosure {
                    agenda: agenda_id(f),
                    closure: c.clone(),
                },
            )
            .unwrap();
        }
        let mut expected: Vec<DateTime<Utc>> = Vec::new();
        let mut d = first;
        while d <= last {
            expected.extend(model_day(&rules(), tz, d, &closures, &holidays));
            d += Duration::days(1);
        }
        let taken = expected
            .iter()
            .copied()
            .find(|s| s.with_timezone(&tz).date_naive() == sunday)
            .unwrap();
        book(&mut e, f, taken, "B0", now).unwrap();
        let from = now;
        let to = tz
            .from_local_datetime(&(last + Duration::days(1)).and_time(hm(0, 0)))
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
        expected.retain(|&s| s >= from && s <= to && s != taken);
        let got: Vec<DateTime<Utc>> = free_slots(&e, f, from, to, now)
            .iter()
            .map(|s| s.start)
            .collect();
        assert_eq!(got, expected, "{f} around {pivot}");
        // Each free slot lies inside a rule in local time, on the grid, at
        // the earlier instant of its wall time, and can be booked.
        for &s in &got {
            let local = s.with_timezone(&tz);
            let t = local.hour() * 60 + local.minute();
            assert!(
                rules().iter().any(|b| {
                    let (bs, be) = (
                        b.start.hour() * 60 + b.start.minute(),
                        b.end.hour() * 60 + b.end.minute(),
                    );
                    b.day == local.weekday() && t >= bs && t + SLOT <= be && (t - bs) % SLOT == 0
                }),
                "{f}: {local}"
            );
            assert_eq!(
                tz.from_local_datetime(&local.naive_local())
                    .earliest()
                    .unwrap(),
                local
            );
            assert!(!holidays.contains(&local.date_naive()));
            assert_ne!(local.date_naive(), closures[0].date);
            let mut probe = e.clone();
            book(&mut probe, f, s, "B1", now).unwrap_or_else(|err| panic!("{f} {local}: {err}"));
        }
        // Booking every slot the model says is free succeeds, and then the
        // search finds nothing.
        let mut full = e.clone();
        for (i, &s) in expected.iter().enumerate() {
            book(&mut full, f, s, &format!("B{}", 1 + i % 3), now).unwrap();
        }
        assert!(free_slots(&full, f, from, to, now).is_empty());
    }
}
