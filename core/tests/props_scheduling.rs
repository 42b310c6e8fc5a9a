//! Model-based property tests of scheduling: arbitrary sequences of actions
//! (book, cancel, reschedule, arrive, no-show, fulfil, waitlist, closures,
//! holidays, agenda redefinitions, retries), sent by arbitrary actors
//! (including the wrong facility's clerk, auditors and admins) at arbitrary
//! times, against a small network whose facilities sit in four time zones
//! around daylight-saving transitions.
//!
//! After every action the test checks, against the engine's queries and an
//! independent model of the agenda rules kept here (the free-slot model
//! every fourth action, the replay every eighth, both at the end):
//! - `decide` never mutates, and `execute` returns what `decide` said;
//! - a refused command changes nothing; an idempotent retry changes nothing;
//! - no booking puts more than capacity + overbooking in a slot, nor an
//!   ordinary booking beyond the day's non-reserved places;
//! - the load and ordinary counts the engine keeps match the appointments;
//! - every freed or new place offered to the waitlist can be booked;
//! - free slots are exactly the model's (inside the rules in local time, at
//!   the earlier instant of a repeated wall time, never in a gap, never on a
//!   closed day), earliest first, and each one is bookable;
//! - replaying the journal gives the same state.
//!
//! Redefining an agenda with fewer places, closures and holidays keep the
//! bookings already made (the engine does not cancel them), so a slot or a
//! day may then hold more than the new limits. Each booking is still checked
//! against the limits in force when it is made; the whole-state checks use
//! the highest limit the agenda ever had once its limit was lowered, and
//! skip the ordinary share of agendas whose days may have shrunk.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;
use enlace_core::agenda::{AgendaConfig, Closure, WeeklyBlock};
use enlace_core::appointment::AppointmentStatus;
use enlace_core::beneficiary::{Beneficiary, Coverage, Sex};
use enlace_core::facility::{Facility, Service, Tier};
use enlace_core::priority::Priority;
use enlace_core::query::DayView;
use enlace_core::{Actor, Answer, Command, Engine, Error, Event, Outcome, Query, Request, Role};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use std::collections::{BTreeMap, BTreeSet};

/// (id, zone, agency, tier)
const FACILITIES: [(&str, &str, &str, Tier); 4] = [
    ("F0", "America/Santiago", "asse", Tier::First),
    ("F1", "America/Asuncion", "asse", Tier::First),
    ("F2", "America/Sao_Paulo", "imss", Tier::Second),
    ("F3", "America/Mexico_City", "imss", Tier::Second),
];

/// (agenda id, facility index): F0 has two agendas, for reschedules between them.
const AGENDAS: [(&str, usize); 5] = [("A0", 0), ("A1", 1), ("A2", 2), ("A3", 3), ("A4", 0)];

/// P0–P3 are covered by both agencies, P4 by asse only, P5 by both until
/// ten days after the start. PROBE is never booked: it checks bookability.
const PEOPLE: [&str; 6] = ["P0", "P1", "P2", "P3", "P4", "P5"];
const PROBE: &str = "PROBE";

/// Start instants with DST transitions in the following three weeks:
/// Mexico City falls back on 2018-10-28 and São Paulo springs forward on
/// 2018-11-04; São Paulo falls back on 2019-02-17; Asunción falls back on
/// 2019-03-24, Santiago on 2019-04-07 and Mexico City springs forward the
/// same day; Santiago falls back on 2026-04-05 and springs forward on
/// 2026-09-06.
const EPOCHS: [&str; 5] = [
    "2018-10-24T15:00:00Z",
    "2019-02-08T15:00:00Z",
    "2019-03-20T15:00:00Z",
    "2026-03-28T15:00:00Z",
    "2026-08-29T15:00:00Z",
];

const SERVICE_SLOT: u16 = 15;

// --- generated data ------------------------------------------------------------

/// An agenda configuration, in the few shapes that exercise the rules.
#[derive(Debug, Clone)]
struct Cfg {
    capacity: u16,
    overbooking: u16,
    share: u8,
    slot: Option<u16>,
    horizon: u16,
    notice: u32,
    template: u8,
    valid_from_shift: i64,
    valid_days: Option<i64>,
}

fn cfg_strategy() -> impl Strategy<Value = Cfg> {
    (
        prop::sample::select(vec![1u16, 1, 1, 2, 3]),
        0u16..=2,
        prop::sample::select(vec![0u8, 0, 0, 25, 50, 100]),
        prop::sample::select(vec![None, Some(20u16), Some(30), Some(60)]),
        prop::sample::select(vec![3u16, 10, 21]),
        prop::sample::select(vec![0u32, 45, 180]),
        0u8..4,
        -2i64..=4,
        prop::option::weighted(0.3, 3i64..20),
    )
        .prop_map(
            |(capacity, overbooking, share, slot, horizon, notice, template, shift, days)| Cfg {
                capacity,
                overbooking,
                share,
                slot,
                horizon,
                notice,
                template,
                valid_from_shift: shift,
                valid_days: days,
            },
        )
}

/// Who sends a command, relative to the facility it is about.
#[derive(Debug, Clone, Copy)]
enum Who {
    Clerk,
    Clinician,
    Coordinator,
    OtherClerk,
    Auditor,
    Admin,
}

fn who_strategy() -> impl Strategy<Value = Who> {
    prop_oneof![
        8 => Just(Who::Clerk),
        1 => Just(Who::Clinician),
        1 => Just(Who::Coordinator),
        1 => Just(Who::OtherClerk),
        1 => Just(Who::Auditor),
        1 => Just(Who::Admin),
    ]
}

#[derive(Debug, Clone)]
enum Action {
    /// Time passes (with seconds, so `now` is not always a whole minute).
    Advance {
        minutes: u32,
        seconds: u32,
    },
    /// Books one of the slots a day shows (full ones included).
    Book {
        who: Who,
        agenda: usize,
        person: usize,
        day: u8,
        pick: u8,
        overbook: bool,
        keyed: bool,
    },
    /// Several beneficiaries book the same slot in a row, to fill it and
    /// try its overbooking allowance.
    Crowd {
        agenda: usize,
        first_person: usize,
        count: usize,
        day: u8,
        pick: u8,
        overbook: bool,
    },
    /// Books an arbitrary local wall time, possibly the later of a repeated
    /// one, possibly off the minute.
    BookAt {
        who: Who,
        agenda: usize,
        person: usize,
        day: u8,
        minute: u16,
        later: bool,
        off_minute: bool,
    },
    Cancel {
        who: Who,
        appt: u8,
        keyed: bool,
    },
    Reschedule {
        who: Who,
        appt: u8,
        other_agenda: bool,
        day: u8,
        pick: u8,
    },
    Arrive {
        who: Who,
        appt: u8,
    },
    NoShow {
        who: Who,
        appt: u8,
    },
    Fulfil {
        who: Who,
        appt: u8,
    },
    /// Moves time to around an appointment's start, to arrive or miss it.
    JumpTo {
        appt: u8,
        minutes_after: i64,
    },
    Join {
        who: Who,
        person: usize,
        facility: Option<usize>,
        priority: usize,
    },
    Leave {
        who: Who,
        entry: u8,
    },
    Close {
        who: Who,
        agenda: usize,
        day: u8,
        partial: Option<(u32, u32)>,
    },
    Holiday {
        who: Who,
        day: u8,
    },
    Redefine {
        who: Who,
        agenda: usize,
        cfg: Cfg,
    },
    /// Sends the last accepted keyed request again.
    Retry,
    /// Sends another command under the last accepted key.
    ReuseKey,
}

/// Mostly the next few days and the first few slots of a day, so that
/// bookings meet in the same slots and days; now and then anywhere.
fn near_day() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 1u8..3, 1 => 0u8..12]
}

fn near_pick() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 0u8..2, 1 => any::<u8>()]
}

fn action_strategy() -> impl Strategy<Value = Action> {
    let agenda = prop_oneof![2 => Just(0), 3 => 0..AGENDAS.len()];
    let person = 0..PEOPLE.len();
    prop_oneof![
        2 => (0u32..2880, 0u32..60).prop_map(|(minutes, seconds)| Action::Advance { minutes, seconds }),
        12 => (who_strategy(), agenda.clone(), person.clone(), near_day(), near_pick(), prop::bool::weighted(0.4), any::<bool>())
            .prop_map(|(who, agenda, person, day, pick, overbook, keyed)| Action::Book { who, agenda, person, day, pick, overbook, keyed }),
        3 => (agenda.clone(), person.clone(), 2usize..6, near_day(), near_pick(), any::<bool>())
            .prop_map(|(agenda, first_person, count, day, pick, overbook)| Action::Crowd { agenda, first_person, count, day, pick, overbook }),
        3 => (who_strategy(), agenda.clone(), person.clone(), 0u8..16, 0u16..288, any::<bool>(), prop::bool::weighted(0.1))
            .prop_map(|(who, agenda, person, day, m, later, off_minute)| Action::BookAt { who, agenda, person, day, minute: m * 5, later, off_minute }),
        4 => (who_strategy(), any::<u8>(), any::<bool>()).prop_map(|(who, appt, keyed)| Action::Cancel { who, appt, keyed }),
        4 => (who_strategy(), any::<u8>(), any::<bool>(), near_day(), near_pick())
            .prop_map(|(who, appt, other_agenda, day, pick)| Action::Reschedule { who, appt, other_agenda, day, pick }),
        3 => (who_strategy(), any::<u8>()).prop_map(|(who, appt)| Action::Arrive { who, appt }),
        2 => (who_strategy(), any::<u8>()).prop_map(|(who, appt)| Action::NoShow { who, appt }),
        2 => (prop_oneof![3 => Just(Who::Clinician), 1 => who_strategy()], any::<u8>()).prop_map(|(who, appt)| Action::Fulfil { who, appt }),
        2 => (any::<u8>(), -90i64..90).prop_map(|(appt, minutes_after)| Action::JumpTo { appt, minutes_after }),
        3 => (who_strategy(), person.clone(), prop::option::of(0..FACILITIES.len()), 0usize..4)
            .prop_map(|(who, person, facility, priority)| Action::Join { who, person, facility, priority }),
        1 => (who_strategy(), any::<u8>()).prop_map(|(who, entry)| Action::Leave { who, entry }),
        2 => (who_strategy(), agenda.clone(), 0u8..16, prop::option::of((0u32..24, 0u32..25)))
            .prop_map(|(who, agenda, day, partial)| Action::Close { who, agenda, day, partial }),
        1 => (prop_oneof![3 => Just(Who::Admin), 1 => who_strategy()], 0u8..16).prop_map(|(who, day)| Action::Holiday { who, day }),
        2 => (who_strategy(), agenda, cfg_strategy()).prop_map(|(who, agenda, cfg)| Action::Redefine { who, agenda, cfg }),
        1 => Just(Action::Retry),
        1 => Just(Action::ReuseKey),
    ]
}

// --- fixture -------------------------------------------------------------------

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn tz_of(facility: usize) -> Tz {
    FACILITIES[facility].1.parse().unwrap()
}

fn agenda_tz(agenda: usize) -> Tz {
    tz_of(AGENDAS[agenda].1)
}

fn agenda_index(id: &str) -> usize {
    AGENDAS.iter().position(|(a, _)| *a == id).unwrap()
}

fn staff(facility: usize, role: Role) -> Actor {
    let (id, _, agency, _) = FACILITIES[facility];
    Actor::new(&format!("{}-{id}", role.as_str()), agency, Some(id), role)
}

fn admin() -> Actor {
    Actor::new("admin", "ministry", None, Role::Admin)
}

fn auditor() -> Actor {
    Actor::new("auditor", "ministry", None, Role::Auditor)
}

fn actor(who: Who, facility: usize) -> Actor {
    match who {
        Who::Clerk => staff(facility, Role::Clerk),
        Who::Clinician => staff(facility, Role::Clinician),
        Who::Coordinator => staff(facility, Role::Coordinator),
        Who::OtherClerk => staff((facility + 1) % FACILITIES.len(), Role::Clerk),
        Who::Auditor => auditor(),
        Who::Admin => admin(),
    }
}

fn block(day: Weekday, start: NaiveTime, end: NaiveTime) -> WeeklyBlock {
    WeeklyBlock { day, start, end }
}

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Weekly rules of a template. All zones here change clocks around local
/// midnight (Mexico City at 02:00), so most templates cover those hours.
fn rules(template: u8) -> Vec<WeeklyBlock> {
    let weekdays = &WEEK[..5];
    match template {
        0 => {
            let mut r: Vec<_> = weekdays
                .iter()
                .map(|&d| block(d, hm(8, 0), hm(10, 0)))
                .collect();
            r.push(block(Weekday::Sat, hm(21, 0), hm(23, 59)));
            r.push(block(Weekday::Sun, hm(0, 0), hm(3, 0)));
            r
        }
        1 => WEEK
            .iter()
            .flat_map(|&d| {
                [
                    block(d, hm(0, 0), hm(2, 0)),
                    block(d, hm(22, 0), hm(23, 59)),
                ]
            })
            .collect(),
        2 => WEEK.iter().map(|&d| block(d, hm(1, 0), hm(3, 0))).collect(),
        _ => weekdays
            .iter()
            .flat_map(|&d| {
                [
                    block(d, hm(8, 0), hm(9, 0)),
                    block(d, hm(14, 0), hm(15, 30)),
                ]
            })
            .collect(),
    }
}

fn config(agenda: usize, cfg: &Cfg, epoch: DateTime<Utc>) -> AgendaConfig {
    let (id, facility) = AGENDAS[agenda];
    let valid_from = epoch.date_naive() + Duration::days(cfg.valid_from_shift);
    AgendaConfig {
        id: id.into(),
        facility: FACILITIES[facility].0.into(),
        service: "gp".into(),
        practitioner: None,
        rules: rules(cfg.template),
        valid_from,
        valid_to: cfg.valid_days.map(|d| valid_from + Duration::days(d)),
        slot_minutes: cfg.slot,
        capacity: cfg.capacity,
        overbooking: cfg.overbooking,
        horizon_days: cfg.horizon,
        min_notice_minutes: cfg.notice,
        referral_share_percent: cfg.share,
    }
}

fn person(id: &str, agencies: &[&str], until: Option<NaiveDate>) -> Beneficiary {
    Beneficiary {
        id: id.into(),
        name: format!("Person {id}"),
        birth_date: "1990-01-01".parse().unwrap(),
        sex: Sex::Female,
        contact: None,
        coverage: agencies
            .iter()
            .map(|a| Coverage {
                programme: "salud".into(),
                agency: (*a).into(),
                valid_from: "2010-01-01".parse().unwrap(),
                valid_to: until,
            })
            .collect(),
    }
}

fn setup(epoch: DateTime<Utc>, cfgs: &[Cfg]) -> Engine {
    let mut e = Engine::new();
    let mut run = |actor: &Actor, command: Command| {
        e.execute(Request {
            actor: actor.clone(),
            at: epoch,
            key: None,
            command,
        })
        .unwrap();
    };
    run(
        &admin(),
        Command::DefineService {
            service: Service {
                code: "gp".into(),
                name: "General practice".into(),
                slot_minutes: SERVICE_SLOT,
            },
        },
    );
    for (id, tz, agency, tier) in FACILITIES {
        run(
            &admin(),
            Command::RegisterFacility {
                facility: Facility {
                    id: id.into(),
                    name: format!("Facility {id}"),
                    agency: agency.into(),
                    tier,
                    region: if tier == Tier::First {
                        "north"
                    } else {
                        "south"
                    }
                    .into(),
                    time_zone: tz.into(),
                    services: vec!["gp".into()],
                },
            },
        );
    }
    for (i, cfg) in cfgs.iter().enumerate() {
        run(
            &admin(),
            Command::DefineAgenda {
                agenda: config(i, cfg, epoch),
            },
        );
    }
    let clerk = staff(0, Role::Clerk);
    let until = epoch.date_naive() + Duration::days(10);
    for (i, id) in PEOPLE.iter().enumerate() {
        let b = match i {
            4 => person(id, &["asse"], None),
            5 => person(id, &["asse", "imss"], Some(until)),
            _ => person(id, &["asse", "imss"], None),
        };
        run(&clerk, Command::RegisterBeneficiary { beneficiary: b });
    }
    run(
        &clerk,
        Command::RegisterBeneficiary {
            beneficiary: person(PROBE, &["asse", "imss"], None),
        },
    );
    e
}

// --- the model -----------------------------------------------------------------

fn minutes_of_day(t: NaiveTime) -> u32 {
    t.hour() * 60 + t.minute()
}

fn slot_len(c: &AgendaConfig) -> u32 {
    u32::from(c.slot_minutes.unwrap_or(SERVICE_SLOT))
}

/// The slots of an agenda on a local day, computed from its rules with
/// chrono-tz: wall times that do not exist give no slot, repeated ones give
/// their earlier instant.
fn model_day(
    c: &AgendaConfig,
    tz: Tz,
    day: NaiveDate,
    closures: &[Closure],
    holidays: &BTreeSet<NaiveDate>,
) -> Vec<DateTime<Utc>> {
    if day < c.valid_from
        || c.valid_to.is_some_and(|t| day > t)
        || holidays.contains(&day)
        || closures
            .iter()
            .any(|x| x.date == day && x.from.is_none() && x.to.is_none())
    {
        return Vec::new();
    }
    let len = slot_len(c);
    let mut out = Vec::new();
    for b in c.rules.iter().filter(|b| b.day == day.weekday()) {
        let (start, end) = (minutes_of_day(b.start), minutes_of_day(b.end));
        let mut t = start;
        while t + len <= end {
            let closed = closures.iter().any(|x| {
                x.date == day
                    && x.from.is_none_or(|f| t + len > minutes_of_day(f))
                    && x.to.is_none_or(|to| t < minutes_of_day(to))
            });
            if !closed
                && let Some(s) = tz
                    .from_local_datetime(&day.and_time(hm(t / 60, t % 60)))
                    .earliest()
            {
                out.push(s.with_timezone(&Utc));
            }
            t += len;
        }
    }
    out.sort();
    out
}

/// Places a day may give to ordinary bookings.
fn ordinary_allowed(places: u32, share: u8) -> u32 {
    places - (places * u32::from(share)).div_ceil(100)
}

fn floor_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp().div_euclid(60) * 60, 0).unwrap()
}

fn ceil_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp((t.timestamp() + 59).div_euclid(60) * 60, 0).unwrap()
}

/// Places held per slot and ordinary places per local day, counted from the
/// beneficiaries' appointments.
#[derive(Debug, Default, Clone)]
struct Census {
    load: BTreeMap<(usize, DateTime<Utc>), u32>,
    ordinary: BTreeMap<(usize, NaiveDate), u32>,
}

impl Census {
    fn load(&self, agenda: usize, start: DateTime<Utc>) -> u32 {
        self.load.get(&(agenda, start)).copied().unwrap_or(0)
    }
    fn ordinary(&self, agenda: usize, day: NaiveDate) -> u32 {
        self.ordinary.get(&(agenda, day)).copied().unwrap_or(0)
    }
}

fn census(e: &Engine) -> Census {
    let mut c = Census::default();
    for who in PEOPLE.iter().chain([&PROBE]) {
        let Answer::Appointments(list) = e
            .query(
                &auditor(),
                &Query::BeneficiaryAppointments {
                    beneficiary: (*who).into(),
                },
                DateTime::UNIX_EPOCH,
            )
            .unwrap()
        else {
            panic!()
        };
        for v in list {
            let holds = matches!(
                v.status,
                AppointmentStatus::Booked
                    | AppointmentStatus::Arrived
                    | AppointmentStatus::Fulfilled
                    | AppointmentStatus::NoShow
            );
            if !holds {
                continue;
            }
            let a = agenda_index(&v.agenda);
            *c.load.entry((a, v.start)).or_default() += 1;
            if v.referral.is_none() && !v.overbooked {
                let day = v.start.with_timezone(&agenda_tz(a)).date_naive();
                *c.ordinary.entry((a, day)).or_default() += 1;
            }
        }
    }
    c
}

fn day_view(e: &Engine, agenda: usize, day: NaiveDate) -> DayView {
    let Answer::AgendaView(mut v) = e
        .query(
            &auditor(),
            &Query::AgendaView {
                agenda: AGENDAS[agenda].0.into(),
                from: day,
                days: 1,
            },
            DateTime::UNIX_EPOCH,
        )
        .unwrap()
    else {
        panic!()
    };
    v.remove(0)
}

struct Harness {
    e: Engine,
    epoch: DateTime<Utc>,
    now: DateTime<Utc>,
    configs: Vec<AgendaConfig>,
    closures: Vec<Vec<Closure>>,
    holidays: BTreeSet<NaiveDate>,
    /// Highest capacity + overbooking each agenda ever had.
    max_limit: Vec<u32>,
    /// The agenda's limit was lowered while it had bookings.
    lowered: Vec<bool>,
    /// Closures, holidays or redefinitions may have shrunk a day's places
    /// under bookings already made.
    tainted: Vec<bool>,
    /// Agenda of each appointment (id − 1).
    appointments: Vec<usize>,
    entries: u32,
    last_keyed: Option<(Request, Outcome)>,
    keys: u32,
    steps: u32,
}

fn limit(c: &AgendaConfig) -> u32 {
    u32::from(c.capacity) + u32::from(c.overbooking)
}

impl Harness {
    fn new(epoch: DateTime<Utc>, cfgs: &[Cfg]) -> Self {
        let configs: Vec<AgendaConfig> = cfgs
            .iter()
            .enumerate()
            .map(|(i, c)| config(i, c, epoch))
            .collect();
        Harness {
            e: setup(epoch, cfgs),
            epoch,
            now: epoch,
            max_limit: configs.iter().map(limit).collect(),
            lowered: vec![false; AGENDAS.len()],
            tainted: vec![false; AGENDAS.len()],
            closures: vec![Vec::new(); AGENDAS.len()],
            configs,
            holidays: BTreeSet::new(),
            appointments: Vec::new(),
            entries: 0,
            last_keyed: None,
            keys: 0,
            steps: 0,
        }
    }

    fn local_day(&self, agenda: usize, day: u8) -> NaiveDate {
        self.now.with_timezone(&agenda_tz(agenda)).date_naive() + Duration::days(i64::from(day))
    }

    /// One of the slots the engine shows on the first day from `day` that
    /// has any (full ones included), or a plain instant when none has.
    fn pick_slot(&self, agenda: usize, day: u8, pick: u8) -> DateTime<Utc> {
        for d in 0..7 {
            let v = day_view(
                &self.e,
                agenda,
                self.local_day(agenda, day) + Duration::days(d),
            );
            if !v.slots.is_empty() {
                return v.slots[usize::from(pick) % v.slots.len()].start;
            }
        }
        self.now + Duration::days(i64::from(day))
    }

    /// An appointment id (now and then 0, which does not exist) and the
    /// facility it is at.
    fn appointment(&self, pick: u8) -> (u32, usize) {
        let n = self.appointments.len();
        let id = if n == 0 || pick == u8::MAX {
            0
        } else {
            1 + usize::from(pick) % n
        };
        let facility = if id == 0 {
            0
        } else {
            AGENDAS[self.appointments[id - 1]].1
        };
        (id as u32, facility)
    }

    fn request(&mut self, actor: Actor, command: Command, keyed: bool) -> Request {
        let key = keyed.then(|| {
            self.keys += 1;
            format!("key-{}", self.keys)
        });
        Request {
            actor,
            at: self.now,
            key,
            command,
        }
    }

    fn start_of(&self, id: u32) -> Option<DateTime<Utc>> {
        let who_has = |who: &str| {
            let Answer::Appointments(list) = self
                .e
                .query(
                    &auditor(),
                    &Query::BeneficiaryAppointments {
                        beneficiary: who.into(),
                    },
                    self.now,
                )
                .ok()?
            else {
                return None;
            };
            list.into_iter().find(|v| v.id == id).map(|v| v.start)
        };
        PEOPLE.iter().find_map(|p| who_has(p))
    }

    /// Runs one action and checks every invariant.
    fn step(&mut self, action: &Action) -> Result<(), TestCaseError> {
        self.steps += 1;
        let req = match action.clone() {
            Action::Advance { minutes, seconds } => {
                self.now +=
                    Duration::minutes(i64::from(minutes)) + Duration::seconds(i64::from(seconds));
                return self.check_state();
            }
            Action::JumpTo {
                appt,
                minutes_after,
            } => {
                let (id, _) = self.appointment(appt);
                if let Some(start) = self.start_of(id) {
                    self.now = self.now.max(start + Duration::minutes(minutes_after));
                }
                return self.check_state();
            }
            Action::Retry => return self.retry(),
            Action::Crowd {
                agenda,
                first_person,
                count,
                day,
                pick,
                overbook,
            } => {
                let start = self.pick_slot(agenda, day, pick);
                for k in 0..count {
                    let command = Command::BookAppointment {
                        agenda: AGENDAS[agenda].0.into(),
                        start,
                        beneficiary: PEOPLE[(first_person + k) % PEOPLE.len()].into(),
                        follow_up_of: None,
                        overbook,
                    };
                    let req = self.request(staff(AGENDAS[agenda].1, Role::Clerk), command, false);
                    self.run(req)?;
                }
                return Ok(());
            }
            Action::ReuseKey => return self.reuse_key(),
            Action::Book {
                who,
                agenda,
                person,
                day,
                pick,
                overbook,
                keyed,
            } => {
                let start = self.pick_slot(agenda, day, pick);
                let command = Command::BookAppointment {
                    agenda: AGENDAS[agenda].0.into(),
                    start,
                    beneficiary: PEOPLE[person].into(),
                    follow_up_of: None,
                    overbook,
                };
                self.request(actor(who, AGENDAS[agenda].1), command, keyed)
            }
            Action::BookAt {
                who,
                agenda,
                person,
                day,
                minute,
                later,
                off_minute,
            } => {
                let tz = agenda_tz(agenda);
                let local = self
                    .local_day(agenda, day)
                    .and_time(hm(u32::from(minute) / 60, u32::from(minute) % 60));
                let start = match tz.from_local_datetime(&local) {
                    LocalResult::Single(t) => t.with_timezone(&Utc),
                    LocalResult::Ambiguous(a, b) => if later { b } else { a }.with_timezone(&Utc),
                    LocalResult::None => Utc.from_utc_datetime(&local),
                };
                let start = if off_minute {
                    start + Duration::seconds(30)
                } else {
                    start
                };
                let command = Command::BookAppointment {
                    agenda: AGENDAS[agenda].0.into(),
                    start,
                    beneficiary: PEOPLE[person].into(),
                    follow_up_of: None,
                    overbook: false,
                };
                self.request(actor(who, AGENDAS[agenda].1), command, false)
            }
            Action::Cancel { who, appt, keyed } => {
                let (id, f) = self.appointment(appt);
                let command = Command::CancelAppointment {
                    appointment: id,
                    reason: "patient asked".into(),
                };
                self.request(actor(who, f), command, keyed)
            }
            Action::Reschedule {
                who,
                appt,
                other_agenda,
                day,
                pick,
            } => {
                let (id, f) = self.appointment(appt);
                let current = if id == 0 {
                    0
                } else {
                    self.appointments[id as usize - 1]
                };
                // A0 and A4 share facility F0.
                let target = match (other_agenda, current) {
                    (true, 0) => 4,
                    (true, 4) => 0,
                    _ => current,
                };
                let start = self.pick_slot(target, day, pick);
                let command = Command::RescheduleAppointment {
                    appointment: id,
                    agenda: other_agenda.then(|| AGENDAS[target].0.into()),
                    start,
                    reason: String::new(),
                };
                self.request(actor(who, f), command, false)
            }
            Action::Arrive { who, appt } => {
                let (id, f) = self.appointment(appt);
                self.request(
                    actor(who, f),
                    Command::MarkArrived { appointment: id },
                    false,
                )
            }
            Action::NoShow { who, appt } => {
                let (id, f) = self.appointment(appt);
                self.request(
                    actor(who, f),
                    Command::MarkNoShow { appointment: id },
                    false,
                )
            }
            Action::Fulfil { who, appt } => {
                let (id, f) = self.appointment(appt);
                self.request(
                    actor(who, f),
                    Command::MarkFulfilled { appointment: id },
                    false,
                )
            }
            Action::Join {
                who,
                person,
                facility,
                priority,
            } => {
                let command = Command::JoinWaitlist {
                    beneficiary: PEOPLE[person].into(),
                    service: "gp".into(),
                    facility: facility.map(|f| FACILITIES[f].0.into()),
                    priority: Priority::ALL[priority],
                };
                self.request(actor(who, facility.unwrap_or(0)), command, false)
            }
            Action::Leave { who, entry } => {
                let entry = u32::from(entry) % (self.entries + 1);
                let command = Command::LeaveWaitlist {
                    entry,
                    reason: String::new(),
                };
                self.request(actor(who, 0), command, false)
            }
            Action::Close {
                who,
                agenda,
                day,
                partial,
            } => {
                let (from, to) = match partial {
                    Some((f, t)) => (
                        Some(hm(f, 0)),
                        Some(if t == 24 { hm(23, 59) } else { hm(t, 0) }),
                    ),
                    None => (None, None),
                };
                let command = Command::AddClosure {
                    agenda: AGENDAS[agenda].0.into(),
                    closure: Closure {
                        date: self.local_day(agenda, day),
                        from,
                        to,
                        reason: "closed".into(),
                    },
                };
                self.request(actor(who, AGENDAS[agenda].1), command, false)
            }
            Action::Holiday { who, day } => {
                let command = Command::DeclareHoliday {
                    date: self.now.date_naive() + Duration::days(i64::from(day)),
                    name: "holiday".into(),
                };
                self.request(actor(who, 0), command, false)
            }
            Action::Redefine { who, agenda, cfg } => {
                let command = Command::DefineAgenda {
                    agenda: config(agenda, &cfg, self.epoch),
                };
                self.request(actor(who, AGENDAS[agenda].1), command, false)
            }
        };
        self.run(req)
    }

    /// Executes a request with every per-command check.
    fn run(&mut self, req: Request) -> Result<(), TestCaseError> {
        let fp = self.e.state().fingerprint();
        let len = self.e.journal().len();
        let before = census(&self.e);
        let decided = enlace_core::decide(self.e.state(), &req.actor, &req.command, req.at);
        prop_assert_eq!(self.e.state().fingerprint(), fp, "decide mutated the state");
        let result = self.e.execute(req.clone());
        eprintln!(
            "STAT {} {}",
            req.command.name(),
            match &result {
                Ok(o) => format!(
                    "ok offers={} ob={}",
                    o.events
                        .iter()
                        .filter(|e| matches!(e, Event::WaitlistSlotOffered { .. }))
                        .count(),
                    o.events.iter().any(|e| matches!(
                        e,
                        Event::AppointmentBooked {
                            overbooked: true,
                            ..
                        }
                    ))
                ),
                Err(e) => e.code().to_string(),
            }
        );
        match (&result, &decided) {
            (Err(err), _) => {
                prop_assert_eq!(
                    self.e.state().fingerprint(),
                    fp,
                    "refused {} changed the state",
                    req.command.name()
                );
                prop_assert_eq!(self.e.journal().len(), len);
                prop_assert_eq!(
                    decided.as_ref().err(),
                    Some(err),
                    "execute and decide disagree"
                );
                return self.check_state();
            }
            (Ok(out), Ok(events)) => {
                prop_assert!(!out.replayed, "a fresh key was replayed");
                prop_assert_eq!(&out.events, events, "execute and decide disagree");
                prop_assert_eq!(self.e.journal().len(), len + 1);
            }
            (Ok(_), Err(err)) => {
                return Err(TestCaseError::fail(format!(
                    "decide refused ({err}) what execute accepted"
                )));
            }
        }
        let out = result.unwrap();
        if req.key.is_some() {
            self.last_keyed = Some((req.clone(), out.clone()));
        }
        self.learn(&out.events);
        let after = census(&self.e);
        self.check_bookings(&out.events, &before, &after)?;
        self.check_offers(&req, &out.events)?;
        self.check_state()
    }

    /// Follows the model: configurations, closures, holidays, ids.
    fn learn(&mut self, events: &[Event]) {
        for ev in events {
            match ev {
                Event::AgendaDefined { agenda } => {
                    let i = agenda_index(&agenda.id);
                    let old = limit(&self.configs[i]);
                    let new = limit(agenda);
                    if new < old {
                        self.lowered[i] = true;
                    }
                    self.max_limit[i] = self.max_limit[i].max(new);
                    self.tainted[i] = true;
                    self.configs[i] = agenda.clone();
                }
                Event::ClosureAdded { agenda, closure } => {
                    let i = agenda_index(agenda);
                    self.closures[i].push(closure.clone());
                    self.tainted[i] = true;
                }
                Event::HolidayDeclared { date, .. } => {
                    self.holidays.insert(*date);
                    self.tainted.iter_mut().for_each(|t| *t = true);
                }
                Event::AppointmentBooked {
                    appointment,
                    agenda,
                    ..
                } => {
                    assert_eq!(*appointment as usize, self.appointments.len() + 1);
                    self.appointments.push(agenda_index(agenda));
                }
                Event::WaitlistJoined { entry, .. } => {
                    assert_eq!(*entry, self.entries + 1);
                    self.entries += 1;
                }
                _ => {}
            }
        }
    }

    /// No booking goes beyond capacity + overbooking, overbooks a slot with
    /// room, or takes an ordinary place the day does not have.
    fn check_bookings(
        &self,
        events: &[Event],
        before: &Census,
        after: &Census,
    ) -> Result<(), TestCaseError> {
        for ev in events {
            let Event::AppointmentBooked {
                agenda,
                start,
                overbooked,
                referral,
                ..
            } = ev
            else {
                continue;
            };
            let a = agenda_index(agenda);
            let c = &self.configs[a];
            let load = after.load(a, *start);
            prop_assert!(
                load <= limit(c),
                "{agenda} {start}: {load} places in a slot of {}+{}",
                c.capacity,
                c.overbooking
            );
            if *overbooked {
                prop_assert!(
                    before.load(a, *start) >= u32::from(c.capacity),
                    "overbooked a slot with room"
                );
            } else {
                prop_assert!(
                    load <= u32::from(c.capacity),
                    "{agenda} {start}: {load} beyond capacity without overbooking"
                );
            }
            if referral.is_none() && !overbooked {
                let day = start.with_timezone(&agenda_tz(a)).date_naive();
                let allowed =
                    ordinary_allowed(day_view(&self.e, a, day).places, c.referral_share_percent);
                let (was, is) = (before.ordinary(a, day), after.ordinary(a, day));
                prop_assert!(
                    is <= allowed || is <= was,
                    "{agenda} {day}: {is} ordinary bookings (was {was}), {allowed} allowed"
                );
            }
        }
        Ok(())
    }

    /// Every place offered to the waitlist can be booked, all of them together.
    fn check_offers(&self, req: &Request, events: &[Event]) -> Result<(), TestCaseError> {
        let mut probe = self.e.clone();
        for ev in events {
            if let Event::WaitlistSlotOffered {
                beneficiary,
                agenda,
                start,
                ..
            } = ev
            {
                let a = agenda_index(agenda);
                let res = probe.execute(Request {
                    actor: staff(AGENDAS[a].1, Role::Clerk),
                    at: req.at,
                    key: None,
                    command: Command::BookAppointment {
                        agenda: agenda.clone(),
                        start: *start,
                        beneficiary: beneficiary.clone(),
                        follow_up_of: None,
                        overbook: false,
                    },
                });
                prop_assert!(
                    res.is_ok(),
                    "offered {agenda} {start} to {beneficiary}, but: {:?}",
                    res.err()
                );
            }
        }
        Ok(())
    }

    /// Invariants of the state as a whole.
    fn check_state(&self) -> Result<(), TestCaseError> {
        let c = census(&self.e);
        let mut days: BTreeSet<(usize, NaiveDate)> = c.ordinary.keys().copied().collect();
        for (&(a, start), &load) in &c.load {
            prop_assert!(
                load <= self.max_limit[a],
                "{} {start}: {load} places",
                AGENDAS[a].0
            );
            if !self.lowered[a] {
                prop_assert!(
                    load <= limit(&self.configs[a]),
                    "{} {start}: {load} places",
                    AGENDAS[a].0
                );
            }
            days.insert((a, start.with_timezone(&agenda_tz(a)).date_naive()));
        }
        for (a, day) in days {
            let v = day_view(&self.e, a, day);
            for s in &v.slots {
                prop_assert_eq!(
                    u32::from(s.taken),
                    c.load(a, s.start),
                    "load index of {} {}",
                    AGENDAS[a].0,
                    s.start
                );
            }
            let allowed = ordinary_allowed(v.places, self.configs[a].referral_share_percent);
            let ordinary = c.ordinary(a, day);
            prop_assert_eq!(
                v.ordinary_free,
                allowed.saturating_sub(ordinary),
                "ordinary count of {} {}",
                AGENDAS[a].0,
                day
            );
            if !self.tainted[a] {
                prop_assert!(
                    ordinary <= allowed,
                    "{} {day}: {ordinary} ordinary of {allowed}",
                    AGENDAS[a].0
                );
            }
        }
        if self.steps.is_multiple_of(4) {
            self.check_free_slots(&c)?;
        }
        if self.steps.is_multiple_of(8) {
            self.check_replay()?;
        }
        Ok(())
    }

    fn check_replay(&self) -> Result<(), TestCaseError> {
        let replayed = Engine::from_entries(self.e.journal().to_vec())
            .map_err(|b| TestCaseError::fail(format!("{b:?}")))?;
        prop_assert_eq!(
            replayed.state().fingerprint(),
            self.e.state().fingerprint(),
            "replay differs"
        );
        // Restored from a snapshot taken at two thirds plus the tail: the
        // same state, the same free slots (derived indexes included).
        let journal = self.e.journal();
        let cut = journal.len() * 2 / 3;
        let before = Engine::from_entries(journal[..cut].to_vec())
            .map_err(|b| TestCaseError::fail(format!("{b:?}")))?;
        let restored = Engine::from_snapshot(&before.snapshot(), journal[cut..].to_vec())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            restored.state().fingerprint(),
            self.e.state().fingerprint(),
            "snapshot + tail differs"
        );
        let q = Query::FreeSlots {
            service: "gp".into(),
            region: None,
            tier: None,
            facilities: vec![],
            from: self.now,
            to: self.now + Duration::days(14),
            limit: 60,
            for_referral: false,
        };
        let clerk = staff(0, Role::Clerk);
        prop_assert_eq!(
            restored.query(&clerk, &q, self.now),
            self.e.query(&clerk, &q, self.now),
            "free slots differ after a snapshot"
        );
        Ok(())
    }

    /// Free slots are exactly the model's, earliest first, and bookable.
    fn check_free_slots(&self, c: &Census) -> Result<(), TestCaseError> {
        const LIMIT: usize = 60;
        let from = self.now;
        let to = self.now + Duration::days(14);
        let Answer::FreeSlots(got) = self
            .e
            .query(
                &staff(0, Role::Clerk),
                &Query::FreeSlots {
                    service: "gp".into(),
                    region: None,
                    tier: None,
                    facilities: vec![],
                    from,
                    to,
                    limit: LIMIT as u16,
                    for_referral: false,
                },
                self.now,
            )
            .unwrap()
        else {
            panic!()
        };
        let mut expected: Vec<(DateTime<Utc>, usize, u16)> = Vec::new();
        for (a, cfg) in self.configs.iter().enumerate() {
            let tz = agenda_tz(a);
            let lo = ceil_minute(from)
                .max(ceil_minute(self.now) + Duration::minutes(i64::from(cfg.min_notice_minutes)));
            let hi = floor_minute(to)
                .min(floor_minute(self.now) + Duration::days(i64::from(cfg.horizon_days)));
            if hi < lo {
                continue;
            }
            let mut day = lo.with_timezone(&tz).date_naive() - Duration::days(1);
            let last = hi.with_timezone(&tz).date_naive() + Duration::days(1);
            while day <= last {
                let slots = model_day(cfg, tz, day, &self.closures[a], &self.holidays);
                let places = slots.len() as u32 * u32::from(cfg.capacity);
                let left = ordinary_allowed(places, cfg.referral_share_percent)
                    .saturating_sub(c.ordinary(a, day));
                for s in slots {
                    let room = u32::from(cfg.capacity).saturating_sub(c.load(a, s));
                    if s >= lo && s <= hi && room > 0 && left > 0 {
                        expected.push((s, a, room.min(left) as u16));
                    }
                }
                day += Duration::days(1);
            }
        }
        expected.sort();
        expected.truncate(LIMIT);
        let got_keys: Vec<(DateTime<Utc>, usize, u16)> = got
            .iter()
            .map(|s| (s.start, agenda_index(&s.agenda), s.free))
            .collect();
        prop_assert_eq!(
            &got_keys,
            &expected,
            "free slots differ from the model at {}",
            self.now
        );
        for s in &got {
            let a = agenda_index(&s.agenda);
            let local = s.start.with_timezone(&agenda_tz(a));
            prop_assert!(!self.holidays.contains(&local.date_naive()));
            let events = enlace_core::decide(
                self.e.state(),
                &staff(AGENDAS[a].1, Role::Clerk),
                &Command::BookAppointment {
                    agenda: s.agenda.clone(),
                    start: s.start,
                    beneficiary: PROBE.into(),
                    follow_up_of: None,
                    overbook: false,
                },
                self.now,
            );
            prop_assert!(
                events.is_ok(),
                "free slot {} {local} not bookable: {:?}",
                s.agenda,
                events.err()
            );
        }
        Ok(())
    }

    fn retry(&mut self) -> Result<(), TestCaseError> {
        let Some((req, first)) = self.last_keyed.clone() else {
            return self.check_state();
        };
        let fp = self.e.state().fingerprint();
        let len = self.e.journal().len();
        let mut again = req;
        again.at = self.now;
        let out = self
            .e
            .execute(again)
            .map_err(|e: Error| TestCaseError::fail(format!("retry refused: {e}")))?;
        prop_assert!(out.replayed);
        prop_assert_eq!(out.seq, first.seq);
        prop_assert_eq!(&out.events, &first.events);
        prop_assert_eq!(
            self.e.state().fingerprint(),
            fp,
            "a retry changed the state"
        );
        prop_assert_eq!(self.e.journal().len(), len);
        self.check_state()
    }

    fn reuse_key(&mut self) -> Result<(), TestCaseError> {
        let Some((req, _)) = self.last_keyed.clone() else {
            return self.check_state();
        };
        let fp = self.e.state().fingerprint();
        let len = self.e.journal().len();
        let other = Request {
            actor: admin(),
            at: self.now,
            key: req.key.clone(),
            command: Command::DeclareHoliday {
                date: "2030-01-01".parse().unwrap(),
                name: format!("not {}", req.command.name()),
            },
        };
        let err = self.e.execute(other).err();
        prop_assert_eq!(err.map(|e| e.code()), Some("idempotency_key_reused"));
        prop_assert_eq!(self.e.state().fingerprint(), fp);
        prop_assert_eq!(self.e.journal().len(), len);
        self.check_state()
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/props_scheduling.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_scheduling_keeps_every_invariant(
        epoch in 0..EPOCHS.len(),
        cfgs in prop::collection::vec(cfg_strategy(), AGENDAS.len()),
        actions in prop::collection::vec(action_strategy(), 1..60),
    ) {
        let epoch: DateTime<Utc> = EPOCHS[epoch].parse().unwrap();
        let mut h = Harness::new(epoch, &cfgs);
        h.check_state()?;
        for action in &actions {
            h.step(action)?;
        }
        h.check_replay()?;
        h.check_free_slots(&census(&h.e))?;
    }
}
