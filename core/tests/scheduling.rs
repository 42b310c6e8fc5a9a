//! Unit and data-driven tests of the scheduling half of the engine: every
//! rule, every error code the scheduling commands and queries return, the
//! appointment life cycle, the waitlist and the scheduling queries.
//!
//! The fixture is a small network built by the helpers below. Its
//! facilities are in America/Montevideo (UTC-3 all year) and
//! America/Mexico_City (UTC-6 all year since 2022), so local times here are
//! plain offsets; daylight-saving behaviour lives in `dst.rs`.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use enlace_core::agenda::{AgendaConfig, Closure, WeeklyBlock};
use enlace_core::appointment::AppointmentStatus;
use enlace_core::beneficiary::{Beneficiary, Coverage, Sex};
use enlace_core::facility::{Facility, Service, Tier};
use enlace_core::priority::Priority;
use enlace_core::query::{AppointmentView, DayView, FreeSlot};
use enlace_core::waitlist::{WaitlistEntry, WaitlistStatus};
use enlace_core::{Actor, Answer, Command, Engine, Error, Event, Outcome, Query, Request, Role};

// --- fixture -----------------------------------------------------------------

/// Monday 2 March 2026, 09:00 in Montevideo.
fn now() -> DateTime<Utc> {
    "2026-03-02T12:00:00Z".parse().unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// The UTC instant of a local time in a facility's zone (unambiguous here).
fn local(tz: &str, day: &str, h: u32, m: u32) -> DateTime<Utc> {
    let tz: chrono_tz::Tz = tz.parse().unwrap();
    tz.from_local_datetime(&date(day).and_time(hm(h, m)))
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

const MVD: &str = "America/Montevideo";
const MEX: &str = "America/Mexico_City";

/// A local time in Montevideo (F1 and F2).
fn mvd(day: &str, h: u32, m: u32) -> DateTime<Utc> {
    local(MVD, day, h, m)
}

fn admin() -> Actor {
    Actor::new("ana.admin", "ministry", None, Role::Admin)
}
fn auditor() -> Actor {
    Actor::new("aud", "ministry", None, Role::Auditor)
}
fn clerk(f: &str) -> Actor {
    Actor::new(&format!("clerk.{f}"), "asse", Some(f), Role::Clerk)
}
fn clinician(f: &str) -> Actor {
    Actor::new(&format!("dr.{f}"), "asse", Some(f), Role::Clinician)
}
fn coordinator(f: &str) -> Actor {
    Actor::new(&format!("coord.{f}"), "asse", Some(f), Role::Coordinator)
}

fn weekdays(blocks: &[(u32, u32, u32, u32)]) -> Vec<WeeklyBlock> {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
    .into_iter()
    .flat_map(|day| {
        blocks.iter().map(move |&(h1, m1, h2, m2)| WeeklyBlock {
            day,
            start: hm(h1, m1),
            end: hm(h2, m2),
        })
    })
    .collect()
}

/// An agenda config with the fixture's usual values.
fn agenda(
    id: &str,
    facility: &str,
    service: &str,
    blocks: &[(u32, u32, u32, u32)],
) -> AgendaConfig {
    AgendaConfig {
        id: id.into(),
        facility: facility.into(),
        service: service.into(),
        practitioner: None,
        rules: weekdays(blocks),
        valid_from: date("2026-03-01"),
        valid_to: Some(date("2026-12-31")),
        slot_minutes: None,
        capacity: 1,
        overbooking: 1,
        horizon_days: 30,
        min_notice_minutes: 60,
        referral_share_percent: 0,
    }
}

fn facility(id: &str, tier: Tier, region: &str, tz: &str, services: &[&str]) -> Facility {
    Facility {
        id: id.into(),
        name: format!("Facility {id}"),
        agency: "asse".into(),
        tier,
        region: region.into(),
        time_zone: tz.into(),
        services: services.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn coverage(agency: &str, from: &str, to: Option<&str>) -> Coverage {
    Coverage {
        programme: "fonasa".into(),
        agency: agency.into(),
        valid_from: date(from),
        valid_to: to.map(date),
    }
}

fn person(id: &str, coverage: Vec<Coverage>) -> Beneficiary {
    Beneficiary {
        id: id.into(),
        name: format!("Person {id}"),
        birth_date: date("1990-05-17"),
        sex: Sex::Female,
        contact: None,
        coverage,
    }
}

fn req(actor: &Actor, at: DateTime<Utc>, command: Command) -> Request {
    Request {
        actor: actor.clone(),
        at,
        key: None,
        command,
    }
}

/// Executes at the fixture's `now`, panicking on refusal.
fn ok(e: &mut Engine, actor: &Actor, command: Command) -> Outcome {
    ok_at(e, actor, now(), command)
}

fn ok_at(e: &mut Engine, actor: &Actor, at: DateTime<Utc>, command: Command) -> Outcome {
    let name = command.name();
    e.execute(req(actor, at, command))
        .unwrap_or_else(|err| panic!("{name} refused: {err}"))
}

/// Executes a command that must be refused, checks that nothing changed and
/// returns the error.
fn refuse_at(e: &mut Engine, actor: &Actor, at: DateTime<Utc>, command: Command) -> Error {
    let before = e.state().fingerprint();
    let len = e.journal().len();
    let name = command.name();
    let err = match e.execute(req(actor, at, command)) {
        Ok(out) => panic!("{name} accepted: {:?}", out.events),
        Err(err) => err,
    };
    assert_eq!(
        e.state().fingerprint(),
        before,
        "refused {name} changed state"
    );
    assert_eq!(e.journal().len(), len);
    err
}

fn refuse(e: &mut Engine, actor: &Actor, command: Command) -> Error {
    refuse_at(e, actor, now(), command)
}

fn book_cmd(agenda: &str, start: DateTime<Utc>, who: &str) -> Command {
    Command::BookAppointment {
        agenda: agenda.into(),
        start,
        beneficiary: who.into(),
        follow_up_of: None,
        overbook: false,
    }
}

fn overbook_cmd(agenda: &str, start: DateTime<Utc>, who: &str) -> Command {
    Command::BookAppointment {
        agenda: agenda.into(),
        start,
        beneficiary: who.into(),
        follow_up_of: None,
        overbook: true,
    }
}

/// Books and returns the new appointment's id.
fn book(e: &mut Engine, actor: &Actor, agenda: &str, start: DateTime<Utc>, who: &str) -> u32 {
    booked_id(&ok(e, actor, book_cmd(agenda, start, who)))
}

fn booked_id(out: &Outcome) -> u32 {
    out.events
        .iter()
        .find_map(|e| match e {
            Event::AppointmentBooked { appointment, .. } => Some(*appointment),
            _ => None,
        })
        .expect("an appointment_booked event")
}

fn offers(out: &Outcome) -> Vec<(u32, String, String, DateTime<Utc>)> {
    out.events
        .iter()
        .filter_map(|e| match e {
            Event::WaitlistSlotOffered {
                entry,
                beneficiary,
                agenda,
                start,
            } => Some((*entry, beneficiary.clone(), agenda.clone(), *start)),
            _ => None,
        })
        .collect()
}

/// The base network:
/// - services `gp` (15 min) and `group` (30 min);
/// - F1 (tier 1, norte, Montevideo) offers gp and group; F2 (tier 1, norte,
///   Montevideo) offers gp; F3 (tier 2, sur, Mexico City) offers gp;
/// - agendas A1 and A1b (F1, gp), G1 (F1, group, capacity 4), A2 (F2, gp,
///   capacity 2), A3 (F3, gp);
/// - beneficiaries B1..B8 covered by asse, U1 covered only by another
///   agency, E1 whose coverage ends on 2026-03-05.
fn network() -> Engine {
    let mut e = Engine::new();
    let a = admin();
    for (code, name, minutes) in [
        ("gp", "General practice", 15),
        ("group", "Group session", 30),
    ] {
        ok(
            &mut e,
            &a,
            Command::DefineService {
                service: Service {
                    code: code.into(),
                    name: name.into(),
                    slot_minutes: minutes,
                },
            },
        );
    }
    for f in [
        facility("F1", Tier::First, "norte", MVD, &["gp", "group"]),
        facility("F2", Tier::First, "norte", MVD, &["gp"]),
        facility("F3", Tier::Second, "sur", MEX, &["gp"]),
    ] {
        ok(&mut e, &a, Command::RegisterFacility { facility: f });
    }
    let mut g1 = agenda("G1", "F1", "group", &[(9, 0, 11, 0)]);
    g1.capacity = 4;
    g1.overbooking = 0;
    let mut a2 = agenda("A2", "F2", "gp", &[(8, 0, 10, 0)]);
    a2.capacity = 2;
    for config in [
        agenda("A1", "F1", "gp", &[(8, 0, 12, 0), (13, 0, 15, 0)]),
        agenda("A1b", "F1", "gp", &[(8, 0, 10, 0)]),
        g1,
        a2,
        agenda("A3", "F3", "gp", &[(8, 0, 10, 0)]),
    ] {
        ok(&mut e, &a, Command::DefineAgenda { agenda: config });
    }
    let c = clerk("F1");
    for i in 1..=8 {
        ok(
            &mut e,
            &c,
            Command::RegisterBeneficiary {
                beneficiary: person(&format!("B{i}"), vec![coverage("asse", "2020-01-01", None)]),
            },
        );
    }
    ok(
        &mut e,
        &c,
        Command::RegisterBeneficiary {
            beneficiary: person("U1", vec![coverage("other", "2020-01-01", None)]),
        },
    );
    ok(
        &mut e,
        &c,
        Command::RegisterBeneficiary {
            beneficiary: person(
                "E1",
                vec![coverage("asse", "2020-01-01", Some("2026-03-05"))],
            ),
        },
    );
    e
}

fn q(e: &Engine, actor: &Actor, query: Query) -> Answer {
    e.query(actor, &query, now())
        .unwrap_or_else(|err| panic!("{query:?} refused: {err}"))
}

fn appointments_of(e: &Engine, who: &str) -> Vec<AppointmentView> {
    match q(
        e,
        &auditor(),
        Query::BeneficiaryAppointments {
            beneficiary: who.into(),
        },
    ) {
        Answer::Appointments(v) => v,
        other => panic!("{other:?}"),
    }
}

fn appointment(e: &Engine, who: &str, id: u32) -> AppointmentView {
    appointments_of(e, who)
        .into_iter()
        .find(|v| v.id == id)
        .unwrap_or_else(|| panic!("appointment {id} of {who}"))
}

fn view(e: &Engine, agenda: &str, from: &str, days: u16) -> Vec<DayView> {
    match q(
        e,
        &auditor(),
        Query::AgendaView {
            agenda: agenda.into(),
            from: date(from),
            days,
        },
    ) {
        Answer::AgendaView(v) => v,
        other => panic!("{other:?}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn free_slots_q(
    service: &str,
    region: Option<&str>,
    tier: Option<Tier>,
    facilities: &[&str],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u16,
) -> Query {
    Query::FreeSlots {
        service: service.into(),
        region: region.map(str::to_owned),
        tier,
        facilities: facilities.iter().map(|f| (*f).to_owned()).collect(),
        from,
        to,
        limit,
        for_referral: false,
    }
}

fn free(e: &Engine, query: Query) -> Vec<FreeSlot> {
    match q(e, &clerk("F1"), query) {
        Answer::FreeSlots(v) => v,
        other => panic!("{other:?}"),
    }
}

fn waitlist(e: &Engine, service: Option<&str>, facility: Option<&str>) -> Vec<WaitlistEntry> {
    match q(
        e,
        &clerk("F1"),
        Query::Waitlist {
            service: service.map(str::to_owned),
            facility: facility.map(str::to_owned),
        },
    ) {
        Answer::Waitlist(v) => v,
        other => panic!("{other:?}"),
    }
}

fn join(e: &mut Engine, who: &str, facility: Option<&str>, priority: Priority) -> u32 {
    let out = ok(
        e,
        &clerk("F1"),
        Command::JoinWaitlist {
            beneficiary: who.into(),
            service: "gp".into(),
            facility: facility.map(str::to_owned),
            priority,
        },
    );
    match &out.events[0] {
        Event::WaitlistJoined { entry, .. } => *entry,
        other => panic!("{other:?}"),
    }
}

// --- prepared state for the table of refusals ---------------------------------

/// Monday of the week the table's bookings use (a week after `now`).
const MON: &str = "2026-03-09";
const TUE: &str = "2026-03-10";
const WED: &str = "2026-03-11";
const THU: &str = "2026-03-12";
const FRI: &str = "2026-03-13";
const SAT: &str = "2026-03-14";

/// The network plus: appointment 1 (B1, A1, Mon 08:00, booked), appointment
/// 2 (B2, A1, Mon 08:15, cancelled), appointment 3 (B3, A1, Mon 08:30,
/// arrived), appointment 4 (B4, A1, Mon 08:45, booked), a holiday on Wed, a
/// whole-day closure of A1 on Thu, a partial closure of A1 on Fri
/// 10:00–11:00, waitlist entry 1 (B5 for gp).
fn prepared() -> Engine {
    let mut e = network();
    let c = clerk("F1");
    assert_eq!(book(&mut e, &c, "A1", mvd(MON, 8, 0), "B1"), 1);
    assert_eq!(book(&mut e, &c, "A1", mvd(MON, 8, 15), "B2"), 2);
    ok(
        &mut e,
        &c,
        Command::CancelAppointment {
            appointment: 2,
            reason: "patient asked".into(),
        },
    );
    assert_eq!(book(&mut e, &c, "A1", mvd(MON, 8, 30), "B3"), 3);
    ok_at(
        &mut e,
        &c,
        mvd(MON, 8, 25),
        Command::MarkArrived { appointment: 3 },
    );
    assert_eq!(book(&mut e, &c, "A1", mvd(MON, 8, 45), "B4"), 4);
    ok(
        &mut e,
        &admin(),
        Command::DeclareHoliday {
            date: date(WED),
            name: "Feriado".into(),
        },
    );
    ok(
        &mut e,
        &c,
        Command::AddClosure {
            agenda: "A1".into(),
            closure: Closure {
                date: date(THU),
                from: None,
                to: None,
                reason: "training".into(),
            },
        },
    );
    ok(
        &mut e,
        &c,
        Command::AddClosure {
            agenda: "A1".into(),
            closure: Closure {
                date: date(FRI),
                from: Some(hm(10, 0)),
                to: Some(hm(11, 0)),
                reason: "staff meeting".into(),
            },
        },
    );
    assert_eq!(join(&mut e, "B5", None, Priority::Routine), 1);
    e
}

/// One refusal: who sends what, and the code that must come back.
struct Case {
    name: &'static str,
    actor: Actor,
    command: Command,
    code: &'static str,
}

fn case(name: &'static str, actor: Actor, command: Command, code: &'static str) -> Case {
    Case {
        name,
        actor,
        command,
        code,
    }
}

fn with<F: FnOnce(&mut AgendaConfig)>(f: F) -> Command {
    let mut a = agenda("A9", "F1", "gp", &[(8, 0, 12, 0)]);
    f(&mut a);
    Command::DefineAgenda { agenda: a }
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let c1 = clerk("F1");
    let c2 = clerk("F2");
    let adm = admin();
    let aud = auditor();
    let b = |s, who| book_cmd("A1", s, who);
    let cancel = |id| Command::CancelAppointment {
        appointment: id,
        reason: "no longer needed".into(),
    };
    let resched = |id, start| Command::RescheduleAppointment {
        appointment: id,
        agenda: None,
        start,
        reason: String::new(),
    };
    let bad_person = |f: fn(&mut Beneficiary)| {
        let mut p = person("N1", vec![coverage("asse", "2020-01-01", None)]);
        f(&mut p);
        Command::RegisterBeneficiary { beneficiary: p }
    };
    let join_cmd = |who: &str, service: &str, facility: Option<&str>| Command::JoinWaitlist {
        beneficiary: who.into(),
        service: service.into(),
        facility: facility.map(str::to_owned),
        priority: Priority::Routine,
    };
    let closure = |agenda: &str, from, to| Command::AddClosure {
        agenda: agenda.into(),
        closure: Closure {
            date: date(MON),
            from,
            to,
            reason: String::new(),
        },
    };
    vec![
        // invalid_input: identifiers and texts
        case("empty beneficiary id", c1.clone(), bad_person(|p| p.id.clear()), "invalid_input"),
        case("beneficiary id with a space", c1.clone(), bad_person(|p| p.id = "UY 1".into()), "invalid_input"),
        case("beneficiary id too long", c1.clone(), bad_person(|p| p.id = "x".repeat(65)), "invalid_input"),
        case("blank beneficiary name", c1.clone(), bad_person(|p| p.name = " ".into()), "invalid_input"),
        case("control character in name", c1.clone(), bad_person(|p| p.name = "Ana\u{7}".into()), "invalid_input"),
        case("birth date in the future", c1.clone(), bad_person(|p| p.birth_date = date("2030-01-01")), "invalid_input"),
        case("coverage ends before it starts", c1.clone(), bad_person(|p| p.coverage[0].valid_to = Some(date("2019-01-01"))), "invalid_input"),
        case("service code with a space", adm.clone(), Command::DefineService { service: Service { code: "g p".into(), name: "x".into(), slot_minutes: 15 } }, "invalid_input"),
        case("service slot of 0 minutes", adm.clone(), Command::DefineService { service: Service { code: "zero".into(), name: "x".into(), slot_minutes: 0 } }, "invalid_input"),
        case("blank facility name", adm.clone(), Command::RegisterFacility { facility: Facility { name: " ".into(), ..facility("F9", Tier::First, "norte", MVD, &[]) } }, "invalid_input"),
        // invalid_input: agenda configurations
        case("agenda capacity 0", adm.clone(), with(|a| a.capacity = 0), "invalid_input"),
        case("agenda capacity above 1000", adm.clone(), with(|a| a.capacity = 1001), "invalid_input"),
        case("slot of 4 minutes", adm.clone(), with(|a| a.slot_minutes = Some(4)), "invalid_input"),
        case("slot of 481 minutes", adm.clone(), with(|a| a.slot_minutes = Some(481)), "invalid_input"),
        case("overlapping blocks", adm.clone(), with(|a| { a.rules.push(WeeklyBlock { day: Weekday::Mon, start: hm(11, 0), end: hm(13, 0) }) }), "invalid_input"),
        case("block ending before it starts", adm.clone(), with(|a| { a.rules.push(WeeklyBlock { day: Weekday::Sat, start: hm(11, 0), end: hm(10, 0) }) }), "invalid_input"),
        case("empty block", adm.clone(), with(|a| { a.rules.push(WeeklyBlock { day: Weekday::Sat, start: hm(11, 0), end: hm(11, 0) }) }), "invalid_input"),
        case("valid_to before valid_from", adm.clone(), with(|a| a.valid_to = Some(date("2026-02-01"))), "invalid_input"),
        case("horizon of 0 days", adm.clone(), with(|a| a.horizon_days = 0), "invalid_input"),
        case("horizon beyond two years", adm.clone(), with(|a| a.horizon_days = 731), "invalid_input"),
        case("referral share above 100", adm.clone(), with(|a| a.referral_share_percent = 101), "invalid_input"),
        case("agenda id with a space", adm.clone(), with(|a| a.id = "A 9".into()), "invalid_input"),
        case("blank practitioner", adm.clone(), with(|a| a.practitioner = Some(" ".into())), "invalid_input"),
        case("existing agenda moved to another facility", adm.clone(), Command::DefineAgenda { agenda: agenda("A1", "F2", "gp", &[(8, 0, 9, 0)]) }, "invalid_input"),
        case("existing agenda changes service", adm.clone(), Command::DefineAgenda { agenda: agenda("A1", "F1", "group", &[(8, 0, 9, 0)]) }, "invalid_input"),
        case("closure ending before it starts", c1.clone(), closure("A1", Some(hm(11, 0)), Some(hm(10, 0))), "invalid_input"),
        case("cancel without a reason", c1.clone(), Command::CancelAppointment { appointment: 1, reason: " ".into() }, "invalid_input"),
        case("reschedule to the same slot", c1.clone(), resched(1, mvd(MON, 8, 0)), "invalid_input"),
        case("reschedule to another service", c1.clone(), Command::RescheduleAppointment { appointment: 1, agenda: Some("G1".into()), start: mvd(TUE, 9, 0), reason: String::new() }, "invalid_input"),
        case("control character in a leave reason", c1.clone(), Command::LeaveWaitlist { entry: 1, reason: "x\u{0}".into() }, "invalid_input"),
        // unknown_*
        case("book in an unknown agenda", c1.clone(), book_cmd("NOPE", mvd(TUE, 8, 0), "B6"), "unknown_agenda"),
        case("closure of an unknown agenda", c1.clone(), closure("NOPE", None, None), "unknown_agenda"),
        case("book for an unknown beneficiary", c1.clone(), b(mvd(TUE, 8, 0), "NOBODY"), "unknown_beneficiary"),
        case("coverage of an unknown beneficiary", c1.clone(), Command::SetCoverage { beneficiary: "NOBODY".into(), coverage: vec![] }, "unknown_beneficiary"),
        case("waitlist for an unknown beneficiary", c1.clone(), join_cmd("NOBODY", "gp", None), "unknown_beneficiary"),
        case("agenda at an unknown facility", adm.clone(), Command::DefineAgenda { agenda: agenda("A9", "F9", "gp", &[(8, 0, 9, 0)]) }, "unknown_facility"),
        case("waitlist at an unknown facility", c1.clone(), join_cmd("B6", "gp", Some("F9")), "unknown_facility"),
        case("agenda for an unknown service", adm.clone(), Command::DefineAgenda { agenda: agenda("A9", "F1", "dental", &[(8, 0, 9, 0)]) }, "unknown_service"),
        case("facility offering an unknown service", adm.clone(), Command::RegisterFacility { facility: facility("F9", Tier::First, "norte", MVD, &["dental"]) }, "unknown_service"),
        case("waitlist for an unknown service", c1.clone(), join_cmd("B6", "dental", None), "unknown_service"),
        case("facility in an unknown zone", adm.clone(), Command::RegisterFacility { facility: facility("F9", Tier::First, "norte", "Mars/Olympus", &["gp"]) }, "unknown_time_zone"),
        case("cancel an unknown appointment", c1.clone(), cancel(999), "unknown_appointment"),
        case("arrive an unknown appointment", c1.clone(), Command::MarkArrived { appointment: 0 }, "unknown_appointment"),
        case("leave an unknown waitlist entry", c1.clone(), Command::LeaveWaitlist { entry: 99, reason: String::new() }, "unknown_waitlist_entry"),
        case("follow-up of an unknown referral", c1.clone(), Command::BookAppointment { agenda: "A1".into(), start: mvd(TUE, 8, 0), beneficiary: "B6".into(), follow_up_of: Some(77), overbook: false }, "unknown_referral"),
        // already_exists, service_not_offered
        case("register F1 twice", adm.clone(), Command::RegisterFacility { facility: facility("F1", Tier::First, "norte", MVD, &["gp"]) }, "already_exists"),
        case("register B1 twice", c1.clone(), bad_person(|p| p.id = "B1".into()), "already_exists"),
        case("agenda for a service the facility lacks", adm.clone(), Command::DefineAgenda { agenda: agenda("A9", "F2", "group", &[(8, 0, 9, 0)]) }, "service_not_offered"),
        case("waitlist at a facility lacking the service", c1.clone(), join_cmd("B6", "group", Some("F2")), "service_not_offered"),
        // not_permitted
        case("clerk books at another facility", c2.clone(), b(mvd(TUE, 8, 0), "B6"), "not_permitted"),
        case("clerk cancels at another facility", c2.clone(), cancel(1), "not_permitted"),
        case("clerk reschedules at another facility", c2.clone(), resched(1, mvd(TUE, 8, 0)), "not_permitted"),
        case("clerk configures another facility's agenda", c2.clone(), with(|_| {}), "not_permitted"),
        case("clerk closes another facility's agenda", c2.clone(), closure("A1", None, None), "not_permitted"),
        case("clerk defines a service", c1.clone(), Command::DefineService { service: Service { code: "x".into(), name: "x".into(), slot_minutes: 15 } }, "not_permitted"),
        case("clerk registers a facility", c1.clone(), Command::RegisterFacility { facility: facility("F9", Tier::First, "norte", MVD, &[]) }, "not_permitted"),
        case("clerk declares a holiday", c1.clone(), Command::DeclareHoliday { date: date(TUE), name: "x".into() }, "not_permitted"),
        case("clinician configures an agenda", clinician("F1"), with(|_| {}), "not_permitted"),
        case("clerk records care", c1.clone(), Command::MarkFulfilled { appointment: 3 }, "not_permitted"),
        case("auditor books", aud.clone(), b(mvd(TUE, 8, 0), "B6"), "not_permitted"),
        case("auditor cancels", aud.clone(), cancel(1), "not_permitted"),
        case("auditor marks arrival", aud.clone(), Command::MarkArrived { appointment: 1 }, "not_permitted"),
        case("auditor registers a beneficiary", aud.clone(), bad_person(|_| {}), "not_permitted"),
        case("auditor defines an agenda", aud.clone(), with(|_| {}), "not_permitted"),
        case("auditor adds a closure", aud.clone(), closure("A1", None, None), "not_permitted"),
        case("auditor declares a holiday", aud.clone(), Command::DeclareHoliday { date: date(TUE), name: "x".into() }, "not_permitted"),
        case("auditor joins a waitlist", aud.clone(), join_cmd("B6", "gp", None), "not_permitted"),
        case("auditor leaves a waitlist", aud.clone(), Command::LeaveWaitlist { entry: 1, reason: String::new() }, "not_permitted"),
        case("admin books", adm.clone(), b(mvd(TUE, 8, 0), "B6"), "not_permitted"),
        case("admin cancels", adm.clone(), cancel(1), "not_permitted"),
        case("admin reschedules", adm.clone(), resched(1, mvd(TUE, 8, 0)), "not_permitted"),
        case("admin marks arrival", adm.clone(), Command::MarkArrived { appointment: 1 }, "not_permitted"),
        case("admin joins a waitlist", adm.clone(), join_cmd("B6", "gp", None), "not_permitted"),
        case("clerk without a facility registers", Actor::new("x", "asse", None, Role::Clerk), bad_person(|_| {}), "not_permitted"),
        // outside_availability
        case("off-grid minute", c1.clone(), b(mvd(TUE, 8, 7), "B6"), "outside_availability"),
        case("off-grid second", c1.clone(), b(mvd(TUE, 8, 0) + Duration::seconds(30), "B6"), "outside_availability"),
        case("weekend", c1.clone(), b(mvd(SAT, 8, 0), "B6"), "outside_availability"),
        case("between blocks", c1.clone(), b(mvd(TUE, 12, 0), "B6"), "outside_availability"),
        case("at the end of the day's last block", c1.clone(), b(mvd(TUE, 15, 0), "B6"), "outside_availability"),
        case("before the opening", c1.clone(), b(mvd(TUE, 7, 45), "B6"), "outside_availability"),
        case("before valid_from", c1.clone(), b(mvd("2026-02-27", 8, 0), "B6"), "outside_availability"),
        case("after valid_to", c1.clone(), b(mvd("2027-01-04", 8, 0), "B6"), "outside_availability"),
        // agenda_closed
        case("network holiday", c1.clone(), b(mvd(WED, 8, 0), "B6"), "agenda_closed"),
        case("whole-day closure", c1.clone(), b(mvd(THU, 8, 0), "B6"), "agenda_closed"),
        case("partial closure", c1.clone(), b(mvd(FRI, 10, 15), "B6"), "agenda_closed"),
        case("last slot of a partial closure", c1.clone(), b(mvd(FRI, 10, 45), "B6"), "agenda_closed"),
        case("holiday applies to every agenda", c2.clone(), book_cmd("A2", mvd(WED, 8, 0), "B6"), "agenda_closed"),
        // capacity, notice, horizon, people
        case("slot full", c1.clone(), b(mvd(MON, 8, 0), "B6"), "slot_full"),
        case("too short notice", c1.clone(), b(mvd("2026-03-02", 9, 45), "B6"), "too_short_notice"),
        case("in the past", c1.clone(), b(mvd("2026-03-02", 8, 0), "B6"), "too_short_notice"),
        case("beyond the horizon", c1.clone(), b(mvd("2026-04-01", 9, 15), "B6"), "beyond_horizon"),
        case("double booking in another agenda", c1.clone(), book_cmd("A1b", mvd(MON, 8, 0), "B1"), "double_booking"),
        case("double booking while arrived", c1.clone(), book_cmd("A1b", mvd(MON, 8, 30), "B3"), "double_booking"),
        case("not covered by the facility's agency", c1.clone(), b(mvd(TUE, 8, 0), "U1"), "not_covered"),
        case("coverage expired on the day", c1.clone(), b(mvd(TUE, 8, 0), "E1"), "not_covered"),
        case("already waiting", c1.clone(), join_cmd("B5", "gp", Some("F1")), "already_waiting"),
        // appointment life cycle
        case("cancel a cancelled appointment", c1.clone(), cancel(2), "appointment_not_active"),
        case("cancel an arrived appointment", c1.clone(), cancel(3), "appointment_not_active"),
        case("reschedule a cancelled appointment", c1.clone(), resched(2, mvd(TUE, 8, 0)), "appointment_not_active"),
        case("arrive twice", c1.clone(), Command::MarkArrived { appointment: 3 }, "appointment_not_active"),
        case("fulfil a booked appointment", clinician("F1"), Command::MarkFulfilled { appointment: 1 }, "appointment_not_active"),
        case("no-show of a cancelled appointment", c1.clone(), Command::MarkNoShow { appointment: 2 }, "appointment_not_active"),
        case("arrive more than a day early", c1.clone(), Command::MarkArrived { appointment: 1 }, "too_early"),
        case("no-show before the start", c1.clone(), Command::MarkNoShow { appointment: 1 }, "too_early"),
    ]
}

#[test]
fn every_refusal_has_its_code_and_changes_nothing() {
    let base = prepared();
    let mut seen = std::collections::BTreeSet::new();
    for Case {
        name,
        actor,
        command,
        code,
    } in cases()
    {
        let mut e = base.clone();
        let before = e.state().fingerprint();
        let decided = enlace_core::decide(e.state(), &actor, &command, now());
        assert_eq!(e.state().fingerprint(), before, "{name}: decide mutated");
        let err = decided.expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err}");
        let err2 = refuse(&mut e, &actor, command);
        assert_eq!(err, err2, "{name}: decide and execute disagree");
        // The wire form is {code, message, details}.
        let body = serde_json::to_value(&err).unwrap();
        assert_eq!(body["code"], code, "{name}");
        assert!(!body["message"].as_str().unwrap().is_empty(), "{name}");
        assert!(body["details"].is_object(), "{name}");
        seen.insert(code);
    }
    for code in [
        "invalid_input",
        "unknown_agenda",
        "unknown_beneficiary",
        "unknown_facility",
        "unknown_service",
        "unknown_time_zone",
        "unknown_appointment",
        "unknown_waitlist_entry",
        "unknown_referral",
        "already_exists",
        "service_not_offered",
        "not_permitted",
        "outside_availability",
        "agenda_closed",
        "slot_full",
        "too_short_notice",
        "beyond_horizon",
        "double_booking",
        "not_covered",
        "already_waiting",
        "appointment_not_active",
        "too_early",
    ] {
        assert!(seen.contains(code), "no case for {code}");
    }
}

/// The same commands, tweaked one field at a time, are accepted: the table
/// above refuses for the stated reason, not by accident.
#[test]
fn the_near_misses_of_the_table_are_accepted() {
    let base = prepared();
    let c1 = clerk("F1");
    let accepted: Vec<(&str, Actor, Command)> = vec![
        (
            "on the grid",
            c1.clone(),
            book_cmd("A1", mvd(TUE, 8, 15), "B6"),
        ),
        (
            "last slot of the day",
            c1.clone(),
            book_cmd("A1", mvd(TUE, 14, 45), "B6"),
        ),
        (
            "afternoon block",
            c1.clone(),
            book_cmd("A1", mvd(TUE, 13, 0), "B6"),
        ),
        (
            "a free Monday slot",
            c1.clone(),
            book_cmd("A1", mvd(MON, 9, 0), "B6"),
        ),
        (
            "just before a partial closure",
            c1.clone(),
            book_cmd("A1", mvd(FRI, 9, 45), "B6"),
        ),
        (
            "as the partial closure ends",
            c1.clone(),
            book_cmd("A1", mvd(FRI, 11, 0), "B6"),
        ),
        (
            "another agenda on the closure day",
            c1.clone(),
            book_cmd("A1b", mvd(THU, 8, 0), "B6"),
        ),
        (
            "exactly the minimum notice",
            c1.clone(),
            book_cmd("A1", mvd("2026-03-02", 10, 0), "B6"),
        ),
        (
            "exactly at the horizon",
            c1.clone(),
            book_cmd("A1", mvd("2026-04-01", 9, 0), "B6"),
        ),
        (
            "overbook a full slot",
            c1.clone(),
            overbook_cmd("A1", mvd(MON, 8, 0), "B6"),
        ),
        (
            "covered while coverage lasts",
            c1.clone(),
            book_cmd("A1", mvd("2026-03-05", 8, 0), "E1"),
        ),
        (
            "clinician books",
            clinician("F1"),
            book_cmd("A1", mvd(TUE, 8, 0), "B6"),
        ),
        (
            "coordinator books",
            coordinator("F1"),
            book_cmd("A1", mvd(TUE, 8, 0), "B6"),
        ),
        ("clerk configures own agenda", c1.clone(), with(|_| {})),
        (
            "admin configures any agenda",
            admin(),
            with(|a| a.facility = "F2".into()),
        ),
        (
            "clerk of F2 registers",
            clerk("F2"),
            Command::RegisterBeneficiary {
                beneficiary: person("N1", vec![]),
            },
        ),
        (
            "admin registers",
            admin(),
            Command::RegisterBeneficiary {
                beneficiary: person("N1", vec![]),
            },
        ),
        (
            "waitlist for another service",
            c1.clone(),
            Command::JoinWaitlist {
                beneficiary: "B5".into(),
                service: "group".into(),
                facility: None,
                priority: Priority::Routine,
            },
        ),
        (
            "clerk of another facility joins a waitlist",
            clerk("F2"),
            Command::JoinWaitlist {
                beneficiary: "B6".into(),
                service: "gp".into(),
                facility: Some("F1".into()),
                priority: Priority::Routine,
            },
        ),
    ];
    for (name, actor, command) in accepted {
        let mut e = base.clone();
        e.execute(req(&actor, now(), command))
            .unwrap_or_else(|err| panic!("{name}: {err}"));
    }
    // The last day of validity, once it is within the horizon.
    let mut e = base.clone();
    ok_at(
        &mut e,
        &clerk("F1"),
        mvd("2026-12-20", 9, 0),
        book_cmd("A1", mvd("2026-12-31", 8, 0), "B6"),
    );
    // Arrival a day ahead, no-show after the start, care after arrival.
    let mut e = base.clone();
    ok_at(
        &mut e,
        &clerk("F1"),
        mvd(MON, 8, 0) - Duration::hours(24),
        Command::MarkArrived { appointment: 1 },
    );
    ok_at(
        &mut e,
        &clinician("F1"),
        mvd(MON, 9, 0),
        Command::MarkFulfilled { appointment: 1 },
    );
    ok_at(
        &mut e,
        &clerk("F1"),
        mvd(MON, 8, 45),
        Command::MarkNoShow { appointment: 4 },
    );
}

// --- idempotency -------------------------------------------------------------

#[test]
fn a_retry_with_the_same_key_returns_the_original_outcome_and_changes_nothing() {
    let mut e = prepared();
    let cmd = book_cmd("A1", mvd(TUE, 8, 0), "B6");
    let keyed = |command: Command, actor: &Actor, key: &str| Request {
        actor: actor.clone(),
        at: now(),
        key: Some(key.into()),
        command,
    };
    let first = e.execute(keyed(cmd.clone(), &clerk("F1"), "k-1")).unwrap();
    assert!(!first.replayed);
    let fp = e.state().fingerprint();
    let len = e.journal().len();
    // Later, at another instant, the same request is sent again.
    let mut again = keyed(cmd.clone(), &clerk("F1"), "k-1");
    again.at = now() + Duration::minutes(5);
    let second = e.execute(again).unwrap();
    assert!(second.replayed);
    assert_eq!(second.seq, first.seq);
    assert_eq!(second.events, first.events);
    assert_eq!(e.state().fingerprint(), fp);
    assert_eq!(e.journal().len(), len);
    // Without the key the same command is a new one, refused this time.
    let err = refuse(&mut e, &clerk("F1"), cmd.clone());
    assert_eq!(err.code(), "double_booking");

    // Same key, different command (or another actor): refused, nothing changes.
    for other in [
        keyed(book_cmd("A1", mvd(TUE, 8, 15), "B6"), &clerk("F1"), "k-1"),
        keyed(cmd.clone(), &coordinator("F1"), "k-1"),
    ] {
        let err = e.execute(other).unwrap_err();
        assert_eq!(err.code(), "idempotency_key_reused");
        assert_eq!(err.details()["key"], "k-1");
        assert_eq!(e.state().fingerprint(), fp);
        assert_eq!(e.journal().len(), len);
    }
    // A refused command does not burn its key.
    let refused = keyed(book_cmd("A1", mvd(SAT, 8, 0), "B7"), &clerk("F1"), "k-2");
    assert_eq!(
        e.execute(refused).unwrap_err().code(),
        "outside_availability"
    );
    let fine = keyed(book_cmd("A1", mvd(TUE, 8, 30), "B7"), &clerk("F1"), "k-2");
    assert!(!e.execute(fine).unwrap().replayed);
    // Keys are checked for shape.
    for key in [String::new(), "k".repeat(201)] {
        let err = e
            .execute(keyed(
                book_cmd("A1", mvd(TUE, 9, 0), "B8"),
                &clerk("F1"),
                &key,
            ))
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }
    // Keys survive a replay of the journal.
    let replayed = Engine::from_entries(e.journal().to_vec()).unwrap();
    assert_eq!(replayed.state().fingerprint(), e.state().fingerprint());
    let mut replayed = replayed;
    let out = replayed.execute(keyed(cmd, &clerk("F1"), "k-1")).unwrap();
    assert!(out.replayed);
    assert_eq!(out.events, first.events);
}

// --- capacity, overbooking, the referral share --------------------------------

#[test]
fn overbooking_uses_the_allowance_and_never_goes_beyond_it() {
    let mut e = network();
    let c = clerk("F1");
    // A1: capacity 1, overbooking 1.
    let start = mvd(TUE, 8, 0);
    let first = book(&mut e, &c, "A1", start, "B1");
    // An overbooking request on a slot with room is an ordinary booking.
    let out = ok(&mut e, &c, overbook_cmd("A1", mvd(TUE, 8, 15), "B2"));
    assert!(matches!(
        out.events[0],
        Event::AppointmentBooked {
            overbooked: false,
            ..
        }
    ));
    assert_eq!(
        refuse(&mut e, &c, book_cmd("A1", start, "B3")).code(),
        "slot_full"
    );
    let out = ok(&mut e, &c, overbook_cmd("A1", start, "B3"));
    assert!(matches!(
        out.events[0],
        Event::AppointmentBooked {
            overbooked: true,
            ..
        }
    ));
    assert_eq!(
        refuse(&mut e, &c, overbook_cmd("A1", start, "B4")).code(),
        "slot_full"
    );
    let slot = view(&e, "A1", TUE, 1)[0].slots[0].clone();
    assert_eq!((slot.start, slot.capacity, slot.taken), (start, 1, 2));
    // Cancelling the ordinary booking leaves the overbooked one holding the
    // slot: still no room for an ordinary booking, one for an overbooking.
    ok(
        &mut e,
        &c,
        Command::CancelAppointment {
            appointment: first,
            reason: "moved away".into(),
        },
    );
    assert_eq!(view(&e, "A1", TUE, 1)[0].slots[0].taken, 1);
    assert_eq!(
        refuse(&mut e, &c, book_cmd("A1", start, "B4")).code(),
        "slot_full"
    );
    ok(&mut e, &c, overbook_cmd("A1", start, "B4"));
    assert_eq!(
        refuse(&mut e, &c, overbook_cmd("A1", start, "B5")).code(),
        "slot_full"
    );

    // An agenda without an allowance never overbooks.
    let mut g = agenda("A9", "F1", "gp", &[(8, 0, 9, 0)]);
    g.overbooking = 0;
    g.capacity = 2;
    ok(&mut e, &admin(), Command::DefineAgenda { agenda: g });
    book(&mut e, &c, "A9", mvd(WED, 8, 0), "B1");
    book(&mut e, &c, "A9", mvd(WED, 8, 0), "B2");
    assert_eq!(
        refuse(&mut e, &c, overbook_cmd("A9", mvd(WED, 8, 0), "B5")).code(),
        "slot_full"
    );
}

#[test]
fn group_slots_take_several_beneficiaries() {
    let mut e = network();
    let c = clerk("F1");
    // G1: every weekday 09:00–11:00, 30-minute slots, 4 places.
    let start = mvd(TUE, 9, 30);
    for who in ["B1", "B2", "B3", "B4"] {
        book(&mut e, &c, "G1", start, who);
    }
    assert_eq!(
        refuse(&mut e, &c, book_cmd("G1", start, "B5")).code(),
        "slot_full"
    );
    let day = &view(&e, "G1", TUE, 1)[0];
    assert_eq!(day.slots.len(), 4);
    assert_eq!(day.places, 16);
    assert_eq!(day.taken, 4);
    let Event::AppointmentBooked { end, .. } =
        ok(&mut e, &c, book_cmd("G1", mvd(TUE, 10, 0), "B5")).events[0].clone()
    else {
        panic!()
    };
    assert_eq!(end, mvd(TUE, 10, 30), "the service's default slot length");
}

/// Ordinary places on a day = places − ⌈places × share / 100⌉.
fn expected_ordinary(slots: u32, capacity: u32, share: u32) -> u32 {
    let places = slots * capacity;
    places - (places * share).div_ceil(100)
}

#[test]
fn ordinary_bookings_never_take_the_referral_share() {
    // (slot minutes, block hours, capacity, share percent)
    let table: [(u16, u32, u16, u8); 7] = [
        (15, 1, 1, 25),  // 4 places, 1 reserved
        (15, 1, 1, 30),  // 4 places, ⌈1.2⌉ = 2 reserved
        (30, 2, 2, 10),  // 8 places, ⌈0.8⌉ = 1 reserved
        (20, 1, 3, 50),  // 9 places, ⌈4.5⌉ = 5 reserved
        (60, 2, 1, 100), // every place reserved
        (15, 1, 2, 0),   // nothing reserved
        (30, 3, 1, 1),   // 6 places, ⌈0.06⌉ = 1 reserved
    ];
    for (slot, hours, capacity, share) in table {
        let mut e = network();
        let mut a = agenda("R", "F1", "gp", &[(8, 0, 8 + hours, 0)]);
        a.slot_minutes = Some(slot);
        a.capacity = capacity;
        a.referral_share_percent = share;
        ok(&mut e, &admin(), Command::DefineAgenda { agenda: a });
        let slots = hours * 60 / u32::from(slot);
        let ordinary = expected_ordinary(slots, u32::from(capacity), u32::from(share));
        let label = format!("slot {slot}, {hours} h, capacity {capacity}, share {share}%");
        let day = &view(&e, "R", TUE, 1)[0];
        assert_eq!(day.places, slots * u32::from(capacity), "{label}");
        assert_eq!(day.ordinary_free, ordinary, "{label}");
        // Fill slots in order with ordinary bookings until refused.
        let c = clerk("F1");
        let mut booked = 0;
        let mut n = 0;
        let mut refusal = None;
        'fill: for s in 0..slots {
            let start = mvd(TUE, 8, 0) + Duration::minutes(i64::from(s) * i64::from(slot));
            for _ in 0..capacity {
                n += 1;
                let who = format!("R{n}");
                ok(
                    &mut e,
                    &c,
                    Command::RegisterBeneficiary {
                        beneficiary: person(&who, vec![coverage("asse", "2020-01-01", None)]),
                    },
                );
                match e.execute(req(&c, now(), book_cmd("R", start, &who))) {
                    Ok(_) => booked += 1,
                    Err(err) => {
                        refusal = Some(err);
                        break 'fill;
                    }
                }
            }
        }
        assert_eq!(booked, ordinary, "{label}");
        let day = &view(&e, "R", TUE, 1)[0];
        assert_eq!(day.taken, ordinary, "{label}");
        assert_eq!(day.ordinary_free, 0, "{label}");
        if ordinary < slots * u32::from(capacity) {
            let err = refusal.unwrap_or_else(|| panic!("{label}: no refusal"));
            assert_eq!(err.code(), "reserved_for_referrals", "{label}");
            assert_eq!(err.details()["date"], TUE);
            // Ordinary searches see nothing left that day; referral searches do.
            let range = (mvd(TUE, 0, 0), mvd(TUE, 23, 0));
            let ordinary_q = free_slots_q("gp", None, None, &["F1"], range.0, range.1, 50);
            assert!(
                free(&e, ordinary_q).iter().all(|s| s.agenda != "R"),
                "{label}"
            );
            let referral_q = Query::FreeSlots {
                service: "gp".into(),
                region: None,
                tier: None,
                facilities: vec!["F1".into()],
                from: range.0,
                to: range.1,
                limit: 50,
                for_referral: true,
            };
            let left: u32 = free(&e, referral_q)
                .iter()
                .filter(|s| s.agenda == "R")
                .map(|s| u32::from(s.free))
                .sum();
            assert_eq!(left, slots * u32::from(capacity) - ordinary, "{label}");
        } else {
            assert!(refusal.is_none(), "{label}");
        }
        // The share is per day: the next day starts afresh.
        if ordinary > 0 {
            ok(&mut e, &c, book_cmd("R", mvd(WED, 8, 0), "R1"));
        }
    }
}

/// Referral scheduling may use the reserved places that ordinary bookings
/// may not, on the synthetic network of the demo.
#[test]
fn referrals_take_the_reserved_places() {
    use enlace_core::referral::{ClinicalReason, Destination};
    use enlace_core::synth::{self, Spec};
    let spec = Spec::demo();
    let mut e = Engine::new();
    for r in synth::reference(&spec) {
        e.execute(r).unwrap();
    }
    let hospital = synth::facility_id(spec.tier1);
    let agenda_id = format!("{hospital}-A01");
    let coord = Actor::new(
        "coord",
        synth::HOSPITAL_AGENCY,
        Some(&hospital),
        Role::Coordinator,
    );
    let hclerk = Actor::new(
        "hclerk",
        synth::HOSPITAL_AGENCY,
        Some(&hospital),
        Role::Clerk,
    );
    let at = spec.start;
    // Tuesday a week later, in the hospital's zone.
    let tz: chrono_tz::Tz = e.state().facilities()[spec.tier1 as usize]
        .time_zone
        .parse()
        .unwrap();
    let day = date("2026-03-10");
    let views = match e
        .query(
            &coord,
            &Query::AgendaView {
                agenda: agenda_id.clone(),
                from: day,
                days: 1,
            },
            at,
        )
        .unwrap()
    {
        Answer::AgendaView(v) => v,
        other => panic!("{other:?}"),
    };
    let slots: Vec<_> = views[0].slots.iter().map(|s| s.start).collect();
    assert_eq!(slots.len(), 32, "08–12 and 13–17 in 15-minute slots");
    assert_eq!(
        slots[0],
        tz.from_local_datetime(&day.and_time(hm(8, 0)))
            .unwrap()
            .with_timezone(&Utc)
    );
    // 32 places, 25 % kept for referrals: 8 reserved, 24 ordinary.
    let ordinary = expected_ordinary(32, 1, 25);
    assert_eq!(ordinary, 24);
    assert_eq!(views[0].ordinary_free, ordinary);
    for (i, &start) in slots.iter().enumerate() {
        let who = format!("H{i}");
        e.execute(req(
            &hclerk,
            at,
            Command::RegisterBeneficiary {
                beneficiary: person(
                    &who,
                    vec![coverage(synth::HOSPITAL_AGENCY, "2020-01-01", None)],
                ),
            },
        ))
        .unwrap();
        let res = e.execute(req(&hclerk, at, book_cmd(&agenda_id, start, &who)));
        if (i as u32) < ordinary {
            res.unwrap();
        } else {
            assert_eq!(res.unwrap_err().code(), "reserved_for_referrals");
        }
    }
    // A referral takes one of the reserved places.
    let clinician = Actor::new(
        "dra",
        synth::CLINIC_AGENCY,
        Some(&synth::facility_id(0)),
        Role::Clinician,
    );
    let out = e
        .execute(req(
            &clinician,
            at,
            Command::CreateReferral {
                beneficiary: synth::beneficiary_id(0),
                service: "obs-hr".into(),
                destination: Destination::Facility(hospital.clone()),
                priority: Priority::Urgent,
                reason: ClinicalReason {
                    icd10: vec!["O14.1".into()],
                    text: "Severe pre-eclampsia".into(),
                },
                attachments: vec![],
            },
        ))
        .unwrap();
    let referral = out.events[0].referral().unwrap();
    e.execute(req(
        &coord,
        at,
        Command::AcceptReferral {
            referral,
            note: String::new(),
        },
    ))
    .unwrap();
    let out = e
        .execute(req(
            &coord,
            at,
            Command::ScheduleReferral {
                referral,
                agenda: agenda_id.clone(),
                start: slots[ordinary as usize],
            },
        ))
        .unwrap();
    assert!(matches!(
        out.events[0],
        Event::AppointmentBooked {
            referral: Some(_),
            ..
        }
    ));
}

// --- notice, horizon, double booking --------------------------------------------

#[test]
fn notice_and_horizon_are_measured_from_now() {
    let mut e = network();
    let c = clerk("F1");
    // now = Monday 09:00 local; A1 needs 60 minutes' notice and books 30 days ahead.
    let cases = [
        (mvd("2026-03-02", 9, 30), Some("too_short_notice")),
        (mvd("2026-03-02", 9, 45), Some("too_short_notice")),
        (mvd("2026-03-02", 10, 0), None),
        (mvd("2026-04-01", 9, 0), None),
        (mvd("2026-04-01", 9, 15), Some("beyond_horizon")),
        (mvd("2026-04-02", 8, 0), Some("beyond_horizon")),
    ];
    for (i, (start, code)) in cases.into_iter().enumerate() {
        let who = format!("B{}", i + 1);
        match code {
            None => {
                book(&mut e, &c, "A1", start, &who);
            }
            Some(code) => {
                let err = refuse(&mut e, &c, book_cmd("A1", start, &who));
                assert_eq!(err.code(), code, "{start}");
            }
        }
    }
    // The same slot becomes bookable as time passes.
    ok_at(
        &mut e,
        &c,
        now() + Duration::days(1),
        book_cmd("A1", mvd("2026-04-02", 8, 0), "B7"),
    );
    // A sub-minute `now` counts: 10:15 is less than 60 minutes after 09:15:30.
    let err = refuse_at(
        &mut e,
        &c,
        now() + Duration::minutes(15) + Duration::seconds(30),
        book_cmd("A1", mvd("2026-03-02", 10, 15), "B8"),
    );
    assert_eq!(err.code(), "too_short_notice");
}

#[test]
fn a_beneficiary_is_never_in_two_places_at_once() {
    let mut e = network();
    let c = clerk("F1");
    let start = mvd(TUE, 8, 0);
    let id = book(&mut e, &c, "A1", start, "B1");
    // Another agenda, another facility: still the same instant.
    assert_eq!(
        refuse(&mut e, &c, book_cmd("A1b", start, "B1")).code(),
        "double_booking"
    );
    let err = refuse(&mut e, &clerk("F2"), book_cmd("A2", start, "B1"));
    assert_eq!(err.code(), "double_booking");
    assert_eq!(err.details()["beneficiary"], "B1");
    // Once cancelled, the instant is free again.
    ok(
        &mut e,
        &c,
        Command::CancelAppointment {
            appointment: id,
            reason: "clash".into(),
        },
    );
    book(&mut e, &c, "A1b", start, "B1");
    // Rescheduling onto one's own other appointment is a double booking too.
    let other = book(&mut e, &c, "A1", mvd(TUE, 9, 0), "B1");
    let err = refuse(
        &mut e,
        &c,
        Command::RescheduleAppointment {
            appointment: other,
            agenda: None,
            start,
            reason: String::new(),
        },
    );
    assert_eq!(err.code(), "double_booking");
}

// --- the appointment life cycle --------------------------------------------------

#[test]
fn cancel_records_reason_and_who_and_frees_the_place() {
    let mut e = network();
    let start = mvd(TUE, 8, 0);
    let id = book(&mut e, &clerk("F1"), "A1", start, "B1");
    let f1_slots = |e: &Engine| free(e, free_slots_q("gp", None, None, &["F1"], start, start, 10));
    assert!(f1_slots(&e).iter().all(|s| s.agenda != "A1"));
    let out = ok(
        &mut e,
        &coordinator("F1"),
        Command::CancelAppointment {
            appointment: id,
            reason: "patient travelled".into(),
        },
    );
    assert_eq!(
        out.events,
        vec![Event::AppointmentCancelled {
            appointment: id,
            reason: "patient travelled".into()
        }]
    );
    let entry = e.journal().last().unwrap();
    assert_eq!(entry.actor, coordinator("F1"));
    assert_eq!(entry.command, "cancel_appointment");
    assert_eq!(
        appointment(&e, "B1", id).status,
        AppointmentStatus::Cancelled
    );
    assert!(f1_slots(&e).iter().any(|s| s.agenda == "A1"));
    book(&mut e, &clerk("F1"), "A1", start, "B2");
}

#[test]
fn reschedule_keeps_the_history() {
    let mut e = network();
    let c = clerk("F1");
    let first = book(&mut e, &c, "A1", mvd(TUE, 8, 0), "B1");
    let out = ok(
        &mut e,
        &c,
        Command::RescheduleAppointment {
            appointment: first,
            agenda: None,
            start: mvd(WED, 9, 0),
            reason: "clash with work".into(),
        },
    );
    let second = booked_id(&out);
    assert!(out.events.contains(&Event::AppointmentRescheduled {
        appointment: first,
        to: second,
        reason: "clash with work".into()
    }));
    // Move again, this time to the facility's other gp agenda.
    let out = ok(
        &mut e,
        &c,
        Command::RescheduleAppointment {
            appointment: second,
            agenda: Some("A1b".into()),
            start: mvd(THU, 8, 30),
            reason: String::new(),
        },
    );
    let third = booked_id(&out);
    let Event::AppointmentBooked {
        agenda,
        rescheduled_from,
        ..
    } = &out.events[0]
    else {
        panic!()
    };
    assert_eq!((agenda.as_str(), *rescheduled_from), ("A1b", Some(second)));

    let history = appointments_of(&e, "B1");
    let ids: Vec<_> = history.iter().map(|v| v.id).collect();
    assert_eq!(ids, vec![first, second, third], "ordered by start");
    let links: Vec<_> = history
        .iter()
        .map(|v| (v.status, v.rescheduled_from, v.rescheduled_to))
        .collect();
    assert_eq!(
        links,
        vec![
            (AppointmentStatus::Rescheduled, None, Some(second)),
            (AppointmentStatus::Rescheduled, Some(first), Some(third)),
            (AppointmentStatus::Booked, Some(second), None),
        ]
    );
    // Only the last one holds a place.
    assert_eq!(view(&e, "A1", TUE, 1)[0].taken, 0);
    assert_eq!(view(&e, "A1", WED, 1)[0].taken, 0);
    assert_eq!(view(&e, "A1b", THU, 1)[0].taken, 1);
    // A rescheduled appointment is no longer active.
    let err = refuse(
        &mut e,
        &c,
        Command::CancelAppointment {
            appointment: first,
            reason: "x".into(),
        },
    );
    assert_eq!(err.code(), "appointment_not_active");
    // Reschedule follows every rule of a booking.
    book(&mut e, &c, "A1", mvd(FRI, 8, 0), "B2");
    for (start, code) in [
        (mvd(FRI, 8, 0), "slot_full"),
        (mvd(SAT, 8, 0), "outside_availability"),
        (mvd("2026-03-02", 9, 30), "too_short_notice"),
        (mvd("2026-05-01", 9, 0), "beyond_horizon"),
    ] {
        let err = refuse(
            &mut e,
            &c,
            Command::RescheduleAppointment {
                appointment: third,
                agenda: Some("A1".into()),
                start,
                reason: String::new(),
            },
        );
        assert_eq!(err.code(), code, "{start}");
    }
}

#[test]
fn rescheduling_within_a_full_day_gives_its_own_place_back() {
    let mut e = network();
    let mut a = agenda("R", "F1", "gp", &[(8, 0, 9, 0)]);
    a.referral_share_percent = 50; // 4 places: 2 ordinary
    ok(&mut e, &admin(), Command::DefineAgenda { agenda: a });
    let c = clerk("F1");
    let first = book(&mut e, &c, "R", mvd(TUE, 8, 0), "B1");
    book(&mut e, &c, "R", mvd(TUE, 8, 15), "B2");
    let err = refuse(&mut e, &c, book_cmd("R", mvd(TUE, 8, 30), "B3"));
    assert_eq!(err.code(), "reserved_for_referrals");
    // Moving within the day is allowed; moving into another full day is not
    // made possible by the place it leaves.
    let out = ok(
        &mut e,
        &c,
        Command::RescheduleAppointment {
            appointment: first,
            agenda: None,
            start: mvd(TUE, 8, 45),
            reason: String::new(),
        },
    );
    assert_eq!(view(&e, "R", TUE, 1)[0].ordinary_free, 0);
    assert_eq!(view(&e, "R", TUE, 1)[0].taken, 2);
    let moved = booked_id(&out);
    book(&mut e, &c, "R", mvd(WED, 8, 0), "B3");
    book(&mut e, &c, "R", mvd(WED, 8, 15), "B4");
    let err = refuse(
        &mut e,
        &c,
        Command::RescheduleAppointment {
            appointment: moved,
            agenda: None,
            start: mvd(WED, 8, 30),
            reason: String::new(),
        },
    );
    assert_eq!(err.code(), "reserved_for_referrals");
}

#[test]
fn arrive_fulfil_and_no_show() {
    let mut e = network();
    let c = clerk("F1");
    let start = mvd(TUE, 8, 0);
    let a = book(&mut e, &c, "A1", start, "B1");
    let b = book(&mut e, &c, "A1", start + Duration::minutes(15), "B2");
    book(&mut e, &c, "A1", start + Duration::minutes(30), "B3");
    let err = refuse_at(
        &mut e,
        &c,
        start - Duration::hours(24) - Duration::minutes(1),
        Command::MarkArrived { appointment: a },
    );
    assert_eq!(err.code(), "too_early");
    ok_at(
        &mut e,
        &c,
        start - Duration::minutes(10),
        Command::MarkArrived { appointment: a },
    );
    assert_eq!(appointment(&e, "B1", a).status, AppointmentStatus::Arrived);
    // Only a clinician records care.
    for actor in [c.clone(), coordinator("F1"), clinician("F2")] {
        let err = refuse_at(
            &mut e,
            &actor,
            start,
            Command::MarkFulfilled { appointment: a },
        );
        assert_eq!(err.code(), "not_permitted");
    }
    ok_at(
        &mut e,
        &clinician("F1"),
        start,
        Command::MarkFulfilled { appointment: a },
    );
    assert_eq!(
        appointment(&e, "B1", a).status,
        AppointmentStatus::Fulfilled
    );
    let err = refuse_at(
        &mut e,
        &clinician("F1"),
        start,
        Command::MarkFulfilled { appointment: a },
    );
    assert_eq!(err.code(), "appointment_not_active");
    // No-show only once the appointment has started.
    let err = refuse_at(&mut e, &c, start, Command::MarkNoShow { appointment: b });
    assert_eq!(err.code(), "too_early");
    ok_at(
        &mut e,
        &c,
        start + Duration::minutes(15),
        Command::MarkNoShow { appointment: b },
    );
    assert_eq!(appointment(&e, "B2", b).status, AppointmentStatus::NoShow);
    for cmd in [
        Command::MarkArrived { appointment: b },
        Command::MarkNoShow { appointment: b },
        Command::CancelAppointment {
            appointment: b,
            reason: "late".into(),
        },
    ] {
        let err = refuse_at(&mut e, &c, start + Duration::hours(1), cmd);
        assert_eq!(err.code(), "appointment_not_active");
    }
    // A missed appointment keeps its place: the slot is in the past.
    assert_eq!(view(&e, "A1", TUE, 1)[0].taken, 3);
}

// --- waitlist ------------------------------------------------------------------

#[test]
fn waitlist_offers_freed_places_in_priority_then_arrival_order() {
    let mut e = network();
    let c = clerk("F1");
    let ids: Vec<u32> = (1..=4)
        .map(|i| {
            book(
                &mut e,
                &c,
                "A1",
                mvd(TUE, 8, 0) + Duration::minutes(15 * i),
                &format!("B{i}"),
            )
        })
        .collect();
    let routine = join(&mut e, "B5", None, Priority::Routine);
    let urgent_1 = join(&mut e, "B6", None, Priority::Urgent);
    let elsewhere = join(&mut e, "B8", Some("F2"), Priority::Emergency);
    let urgent_2 = join(&mut e, "B7", Some("F1"), Priority::Urgent);
    // The waitlist query shows the same order.
    let order: Vec<u32> = waitlist(&e, Some("gp"), Some("F1"))
        .iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(order, vec![urgent_1, urgent_2, routine]);
    let order: Vec<u32> = waitlist(&e, None, None).iter().map(|w| w.id).collect();
    assert_eq!(order, vec![elsewhere, urgent_1, urgent_2, routine]);

    let mut offered = Vec::new();
    for (k, &id) in ids.iter().enumerate() {
        let out = ok(
            &mut e,
            &c,
            Command::CancelAppointment {
                appointment: id,
                reason: "cannot come".into(),
            },
        );
        let o = offers(&out);
        if k < 3 {
            assert_eq!(o.len(), 1, "cancel {k}: {:?}", out.events);
            assert_eq!(o[0].2, "A1");
            assert_eq!(
                o[0].3,
                mvd(TUE, 8, 0) + Duration::minutes(15 * (k as i64 + 1))
            );
            offered.push(o[0].0);
        } else {
            assert!(o.is_empty(), "every eligible entry has an offer");
        }
    }
    assert_eq!(offered, vec![urgent_1, urgent_2, routine]);
    let statuses: Vec<_> = waitlist(&e, None, None)
        .iter()
        .map(|w| (w.id, w.status))
        .collect();
    assert!(statuses.contains(&(urgent_1, WaitlistStatus::Offered)));
    assert!(statuses.contains(&(elsewhere, WaitlistStatus::Waiting)));
    // Booking the offered place satisfies the entry.
    let out = ok(&mut e, &c, book_cmd("A1", mvd(TUE, 8, 15), "B6"));
    let appt = booked_id(&out);
    assert!(out.events.contains(&Event::WaitlistSatisfied {
        entry: urgent_1,
        appointment: appt
    }));
    assert!(waitlist(&e, None, None).iter().all(|w| w.id != urgent_1));
    // Leaving takes an entry off the list.
    ok(
        &mut e,
        &c,
        Command::LeaveWaitlist {
            entry: routine,
            reason: "found care elsewhere".into(),
        },
    );
    let left: Vec<u32> = waitlist(&e, None, None).iter().map(|w| w.id).collect();
    assert_eq!(left, vec![elsewhere, urgent_2]);
    // A satisfied entry may not be left, and its beneficiary may wait again.
    let err = refuse(
        &mut e,
        &c,
        Command::LeaveWaitlist {
            entry: urgent_1,
            reason: String::new(),
        },
    );
    assert_eq!(err.code(), "invalid_input");
    join(&mut e, "B6", None, Priority::Routine);
}

#[test]
fn no_offer_for_a_place_freed_too_late_to_book() {
    let mut e = network();
    let c = clerk("F1");
    let id = book(&mut e, &c, "A1", mvd("2026-03-02", 10, 30), "B1");
    join(&mut e, "B2", None, Priority::Emergency);
    // At 09:45 the 10:30 slot is within the 60 minutes' notice.
    let out = ok_at(
        &mut e,
        &c,
        mvd("2026-03-02", 9, 45),
        Command::CancelAppointment {
            appointment: id,
            reason: "x".into(),
        },
    );
    assert!(offers(&out).is_empty());
}

#[test]
fn rescheduling_offers_the_old_place_to_someone_else() {
    let mut e = network();
    let c = clerk("F1");
    let id = book(&mut e, &c, "A1", mvd(TUE, 8, 0), "B1");
    // B1 also waits for gp (say, for an earlier place): never offered their own.
    join(&mut e, "B1", None, Priority::Emergency);
    let other = join(&mut e, "B2", None, Priority::Routine);
    let out = ok(
        &mut e,
        &c,
        Command::RescheduleAppointment {
            appointment: id,
            agenda: None,
            start: mvd(TUE, 9, 0),
            reason: String::new(),
        },
    );
    assert_eq!(
        offers(&out),
        vec![(other, "B2".to_owned(), "A1".to_owned(), mvd(TUE, 8, 0))]
    );
}

#[test]
fn a_new_or_redefined_agenda_offers_its_places_to_the_waitlist() {
    let mut e = network();
    let c = clerk("F1");
    let routine = join(&mut e, "B1", None, Priority::Routine);
    let emergency = join(&mut e, "B2", None, Priority::Emergency);
    let elsewhere = join(&mut e, "B3", Some("F2"), Priority::Emergency);
    let priority = join(&mut e, "B4", Some("F1"), Priority::Priority);
    // B4 is busy on Tuesday 08:00 (at F2, which does not satisfy an entry
    // for F1), the first place the new agenda has.
    book(&mut e, &clerk("F2"), "A2", mvd(TUE, 8, 0), "B4");
    let mut n = agenda("N", "F1", "gp", &[(8, 0, 8, 30)]);
    n.valid_from = date(TUE);
    n.capacity = 2;
    n.overbooking = 0;
    let out = ok(
        &mut e,
        &admin(),
        Command::DefineAgenda { agenda: n.clone() },
    );
    let o = offers(&out);
    let by_entry: Vec<u32> = o.iter().map(|x| x.0).collect();
    assert_eq!(by_entry, vec![emergency, priority, routine], "{o:?}");
    assert_eq!(o[0].3, mvd(TUE, 8, 0));
    assert_eq!(o[1].3, mvd(TUE, 8, 15), "B4 is busy at 08:00");
    assert!(o[2].3 <= mvd(TUE, 8, 15));
    assert!(o.iter().all(|x| x.0 != elsewhere && x.2 == "N"));
    // Every offer is bookable, all of them together.
    for (_, who, agenda, start) in &o {
        ok(&mut e, &c, book_cmd(agenda, *start, who));
    }
    // Redefining the agenda with more hours offers the new places to whoever still waits.
    let late = join(&mut e, "B5", None, Priority::Urgent);
    n.rules = weekdays(&[(8, 0, 8, 30), (14, 0, 14, 30)]);
    let out = ok(&mut e, &c, Command::DefineAgenda { agenda: n });
    let o = offers(&out);
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].0, late);
    assert!(o[0].3 < mvd(TUE, 14, 0), "the earliest free place: {o:?}");
    ok(&mut e, &c, book_cmd(&o[0].2, o[0].3, "B5"));
}

#[test]
fn offers_never_exceed_the_ordinary_places_of_a_day() {
    let mut e = network();
    let entries: Vec<u32> = (1..=6)
        .map(|i| join(&mut e, &format!("B{i}"), None, Priority::Routine))
        .collect();
    // Four slots a day, capacity 1, half kept for referrals: two ordinary places a day.
    let mut n = agenda("N", "F1", "gp", &[(8, 0, 9, 0)]);
    n.valid_from = date(TUE);
    n.referral_share_percent = 50;
    let out = ok(&mut e, &admin(), Command::DefineAgenda { agenda: n });
    let o = offers(&out);
    assert_eq!(o.len(), entries.len());
    let mut per_day = std::collections::BTreeMap::<NaiveDate, u32>::new();
    for x in &o {
        let day =
            x.3.with_timezone(&chrono_tz::America::Montevideo)
                .date_naive();
        *per_day.entry(day).or_default() += 1;
    }
    assert!(per_day.values().all(|&n| n <= 2), "{per_day:?}");
    // And they are bookable together.
    for (_, who, agenda, start) in &o {
        ok(&mut e, &clerk("F1"), book_cmd(agenda, *start, who));
    }
}

#[test]
fn no_offer_for_a_freed_place_that_can_no_longer_be_booked() {
    let c = clerk("F1");
    // (1) The day was closed after the booking.
    let mut e = network();
    let id = book(&mut e, &c, "A1", mvd(TUE, 8, 0), "B1");
    join(&mut e, "B2", None, Priority::Urgent);
    ok(
        &mut e,
        &c,
        Command::AddClosure {
            agenda: "A1".into(),
            closure: Closure {
                date: date(TUE),
                from: Some(hm(8, 0)),
                to: Some(hm(9, 0)),
                reason: "repairs".into(),
            },
        },
    );
    let out = ok(
        &mut e,
        &c,
        Command::CancelAppointment {
            appointment: id,
            reason: "closed".into(),
        },
    );
    assert!(offers(&out).is_empty(), "{:?}", out.events);
    // (2) A reschedule within a day whose ordinary places are all taken.
    let mut e = network();
    let mut a = agenda("R", "F1", "gp", &[(8, 0, 9, 0)]);
    a.referral_share_percent = 50;
    ok(&mut e, &admin(), Command::DefineAgenda { agenda: a });
    let id = book(&mut e, &c, "R", mvd(TUE, 8, 0), "B1");
    book(&mut e, &c, "R", mvd(TUE, 8, 15), "B2");
    join(&mut e, "B3", Some("F1"), Priority::Urgent);
    let out = ok(
        &mut e,
        &c,
        Command::RescheduleAppointment {
            appointment: id,
            agenda: None,
            start: mvd(TUE, 8, 30),
            reason: String::new(),
        },
    );
    assert!(offers(&out).is_empty(), "{:?}", out.events);
    let err = refuse(&mut e, &c, book_cmd("R", mvd(TUE, 8, 0), "B3"));
    assert_eq!(err.code(), "reserved_for_referrals");
    // (3) The waiting beneficiary has no coverage at the facility's agency.
    let mut e = network();
    let id = book(&mut e, &c, "A1", mvd(TUE, 8, 0), "B1");
    join(&mut e, "U1", None, Priority::Emergency);
    let fallback = join(&mut e, "B2", None, Priority::Routine);
    let out = ok(
        &mut e,
        &c,
        Command::CancelAppointment {
            appointment: id,
            reason: "x".into(),
        },
    );
    let o = offers(&out);
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].0, fallback, "U1 is not covered by asse");
    // (4) The first waiting beneficiary has already arrived for another
    // appointment at that very time.
    let mut e = network();
    let at = mvd(MON, 8, 0);
    let busy = book(&mut e, &c, "A1b", mvd(TUE, 8, 0), "B1");
    let id = book(&mut e, &c, "A1", mvd(TUE, 8, 0), "B2");
    ok_at(&mut e, &c, at, Command::MarkArrived { appointment: busy });
    join(&mut e, "B1", None, Priority::Emergency);
    let fallback = join(&mut e, "B3", None, Priority::Routine);
    let out = ok_at(
        &mut e,
        &c,
        at,
        Command::CancelAppointment {
            appointment: id,
            reason: "x".into(),
        },
    );
    let o = offers(&out);
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].0, fallback, "B1 is there already");
    // (5) New availability is not offered to someone not covered then.
    let mut e = network();
    join(&mut e, "E1", None, Priority::Emergency);
    let covered = join(&mut e, "B1", None, Priority::Routine);
    let mut n = agenda("N", "F1", "gp", &[(8, 0, 8, 30)]);
    n.valid_from = date(TUE);
    let out = ok(&mut e, &admin(), Command::DefineAgenda { agenda: n });
    let o = offers(&out);
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].0, covered, "E1's coverage ends on the 5th");
}

// --- queries -------------------------------------------------------------------

#[test]
fn free_slots_search_across_facilities() {
    let mut e = network();
    let c = clerk("F1");
    // Take A1's and A1b's first Tuesday slot, and one of A2's two places.
    book(&mut e, &c, "A1", mvd(TUE, 8, 0), "B1");
    book(&mut e, &c, "A1b", mvd(TUE, 8, 0), "B2");
    book(&mut e, &clerk("F2"), "A2", mvd(TUE, 8, 0), "B3");
    let (from, to) = (mvd(TUE, 0, 0), mvd(TUE, 23, 0));
    let all = free(&e, free_slots_q("gp", None, None, &[], from, to, 500));
    // Earliest first, all inside the range, every one with room.
    assert!(all.windows(2).all(|w| w[0].start <= w[1].start));
    assert!(
        all.iter()
            .all(|s| s.start >= from && s.start <= to && s.free > 0)
    );
    assert!(all.iter().all(|s| s.end - s.start == Duration::minutes(15)));
    // A1: 24 slots, one taken; A1b: 8, one taken; A2: 8 (one half full); A3 in
    // Mexico City (08:00–10:00 there is 11:00–13:00 in Montevideo): 8.
    let count = |agenda: &str| all.iter().filter(|s| s.agenda == agenda).count();
    assert_eq!(
        (
            count("A1"),
            count("A1b"),
            count("A2"),
            count("A3"),
            count("G1")
        ),
        (23, 7, 8, 8, 0)
    );
    let a2_first = all.iter().find(|s| s.agenda == "A2").unwrap();
    assert_eq!((a2_first.start, a2_first.free), (mvd(TUE, 8, 0), 1));
    let a3_first = all.iter().find(|s| s.agenda == "A3").unwrap();
    assert_eq!(a3_first.start, local(MEX, TUE, 8, 0));
    assert_eq!(a3_first.start, mvd(TUE, 11, 0));
    assert_eq!(a3_first.facility, "F3");
    // Limit keeps the earliest.
    let three = free(&e, free_slots_q("gp", None, None, &[], from, to, 3));
    assert_eq!(three.as_slice(), &all[..3]);
    // Region, tier and facility filters.
    let sur = free(
        &e,
        free_slots_q("gp", Some("sur"), None, &[], from, to, 500),
    );
    assert!(!sur.is_empty() && sur.iter().all(|s| s.facility == "F3"));
    let tier2 = free(
        &e,
        free_slots_q("gp", None, Some(Tier::Second), &[], from, to, 500),
    );
    assert_eq!(tier2, sur);
    let tier1 = free(
        &e,
        free_slots_q("gp", None, Some(Tier::First), &[], from, to, 500),
    );
    assert_eq!(tier1.len(), 23 + 7 + 8);
    let f2 = free(
        &e,
        free_slots_q("gp", None, None, &["F2", "F3"], from, to, 500),
    );
    assert!(f2.iter().all(|s| s.facility == "F2" || s.facility == "F3"));
    assert_eq!(f2.len(), 16);
    let none = free(
        &e,
        free_slots_q("gp", Some("norte"), Some(Tier::Second), &[], from, to, 500),
    );
    assert!(none.is_empty());
    // Service filter: group slots only from G1.
    let group = free(&e, free_slots_q("group", None, None, &[], from, to, 500));
    assert_eq!(group.len(), 4);
    assert!(group.iter().all(|s| s.agenda == "G1" && s.free == 4));
    // A narrow range.
    let narrow = free(
        &e,
        free_slots_q(
            "gp",
            None,
            None,
            &["F1"],
            mvd(TUE, 9, 0),
            mvd(TUE, 9, 30),
            500,
        ),
    );
    let starts: Vec<_> = narrow
        .iter()
        .map(|s| (s.agenda.as_str(), s.start))
        .collect();
    assert_eq!(
        starts,
        vec![
            ("A1", mvd(TUE, 9, 0)),
            ("A1b", mvd(TUE, 9, 0)),
            ("A1", mvd(TUE, 9, 15)),
            ("A1b", mvd(TUE, 9, 15)),
            ("A1", mvd(TUE, 9, 30)),
            ("A1b", mvd(TUE, 9, 30)),
        ]
    );
    // The search starts no earlier than the notice allows and ends at the horizon.
    let soon = free(
        &e,
        free_slots_q(
            "gp",
            None,
            None,
            &["F1"],
            now() - Duration::days(3),
            now() + Duration::days(60),
            500,
        ),
    );
    assert_eq!(soon[0].start, mvd("2026-03-02", 10, 0));
    assert!(soon.iter().all(|s| s.start <= now() + Duration::days(30)));
}

#[test]
fn free_slots_skip_closed_days_and_are_bookable() {
    let e = prepared();
    let (from, to) = (mvd(MON, 0, 0), mvd(SAT, 0, 0));
    let slots = free(&e, free_slots_q("gp", None, None, &["F1"], from, to, 500));
    let tz = chrono_tz::America::Montevideo;
    for s in &slots {
        let local = s.start.with_timezone(&tz);
        let day = local.date_naive();
        assert_ne!(day, date(WED), "holiday");
        if s.agenda == "A1" {
            assert_ne!(day, date(THU), "closed day");
            if day == date(FRI) {
                let t = local.time();
                assert!(t < hm(10, 0) || t >= hm(11, 0), "partial closure: {t}");
            }
        }
        let mut probe = e.clone();
        ok(&mut probe, &clerk("F1"), book_cmd(&s.agenda, s.start, "B8"));
    }
    // Monday's A1: 24 slots minus three booked (08:00, 08:30 arrived, 08:45).
    let a1_mon = slots
        .iter()
        .filter(|s| s.agenda == "A1" && s.start < mvd(TUE, 0, 0))
        .count();
    assert_eq!(a1_mon, 21);
    let a1_fri = slots
        .iter()
        .filter(|s| s.agenda == "A1" && s.start >= mvd(FRI, 0, 0))
        .count();
    assert_eq!(a1_fri, 24 - 4);
}

#[test]
fn free_slots_are_bookable_when_now_has_seconds() {
    let e = network();
    let at = mvd("2026-03-02", 9, 0) + Duration::seconds(30);
    let ans = e
        .query(
            &clerk("F1"),
            &free_slots_q("gp", None, None, &["F1"], at, at + Duration::days(1), 1),
            at,
        )
        .unwrap();
    let Answer::FreeSlots(slots) = ans else {
        panic!()
    };
    let mut probe = e.clone();
    probe
        .execute(req(
            &clerk("F1"),
            at,
            book_cmd(&slots[0].agenda, slots[0].start, "B1"),
        ))
        .unwrap_or_else(|err| panic!("{} offered but: {err}", slots[0].start));
    // And a search never starts before its own `from`.
    let from = mvd(TUE, 8, 0) + Duration::seconds(1);
    let ans = e
        .query(
            &clerk("F1"),
            &free_slots_q(
                "gp",
                None,
                None,
                &["F1"],
                from,
                from + Duration::hours(1),
                1,
            ),
            now(),
        )
        .unwrap();
    let Answer::FreeSlots(slots) = ans else {
        panic!()
    };
    assert!(slots[0].start >= from, "{}", slots[0].start);
}

#[test]
fn agenda_view_shows_places_fill_and_closures() {
    let e = prepared();
    let days = view(&e, "A1", MON, 7);
    let summary: Vec<_> = days
        .iter()
        .map(|d| (d.date, d.slots.len(), d.places, d.taken, d.ordinary_free))
        .collect();
    assert_eq!(
        summary,
        vec![
            (date(MON), 24, 24, 3, 21),
            (date(TUE), 24, 24, 0, 24),
            (date(WED), 0, 0, 0, 0),    // holiday
            (date(THU), 0, 0, 0, 0),    // closed
            (date(FRI), 20, 20, 0, 20), // 10:00–11:00 closed
            (date(SAT), 0, 0, 0, 0),
            (date("2026-03-15"), 0, 0, 0, 0),
        ]
    );
    let mon = &days[0];
    assert_eq!(mon.slots[0].start, mvd(MON, 8, 0));
    assert_eq!(mon.slots[0].end, mvd(MON, 8, 15));
    assert_eq!(mon.slots[16].start, mvd(MON, 13, 0));
    let taken: Vec<_> = mon.slots.iter().map(|s| s.taken).take(5).collect();
    assert_eq!(taken, vec![1, 0, 1, 1, 0]);
    // Before validity there is nothing.
    assert!(
        view(&e, "A1", "2026-02-23", 6)
            .iter()
            .all(|d| d.slots.is_empty())
    );
    // Bad requests.
    for (days, code) in [(0, "invalid_input"), (63, "invalid_input")] {
        let err = e
            .query(
                &auditor(),
                &Query::AgendaView {
                    agenda: "A1".into(),
                    from: date(MON),
                    days,
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(err.code(), code);
    }
    let err = e
        .query(
            &auditor(),
            &Query::AgendaView {
                agenda: "NOPE".into(),
                from: date(MON),
                days: 1,
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "unknown_agenda");
}

#[test]
fn utilization_counts_fill_and_no_shows() {
    let mut e = network();
    let c = clerk("F1");
    // A2: 8 slots × 2 places = 16 places a day at F2.
    let c2 = clerk("F2");
    let start = mvd(TUE, 8, 0);
    let ids: Vec<u32> = (1..=6)
        .map(|i| {
            book(
                &mut e,
                &c2,
                "A2",
                start + Duration::minutes(15 * (i / 2)),
                &format!("B{i}"),
            )
        })
        .collect();
    let later = start + Duration::hours(3);
    ok_at(
        &mut e,
        &c2,
        later,
        Command::MarkArrived {
            appointment: ids[0],
        },
    );
    ok_at(
        &mut e,
        &c2,
        later,
        Command::MarkArrived {
            appointment: ids[1],
        },
    );
    ok_at(
        &mut e,
        &clinician("F2"),
        later,
        Command::MarkFulfilled {
            appointment: ids[1],
        },
    );
    ok_at(
        &mut e,
        &c2,
        later,
        Command::MarkArrived {
            appointment: ids[2],
        },
    );
    ok_at(
        &mut e,
        &c2,
        later,
        Command::MarkNoShow {
            appointment: ids[3],
        },
    );
    ok(
        &mut e,
        &c2,
        Command::CancelAppointment {
            appointment: ids[4],
            reason: "x".into(),
        },
    );
    // ids[5] stays booked; one rescheduled appointment counts once.
    let moved = book(&mut e, &c2, "A2", start + Duration::minutes(90), "B7");
    ok(
        &mut e,
        &c2,
        Command::RescheduleAppointment {
            appointment: moved,
            agenda: None,
            start: start + Duration::minutes(105),
            reason: String::new(),
        },
    );
    let util = |e: &Engine, actor: &Actor, from: &str, to: &str| {
        e.query(
            actor,
            &Query::Utilization {
                agenda: "A2".into(),
                from: date(from),
                to: date(to),
            },
            now(),
        )
    };
    let Answer::Utilization(u) = util(&e, &auditor(), TUE, TUE).unwrap() else {
        panic!()
    };
    // Booked: 3 attended + 1 no-show + 1 booked + 1 moved = 6 of 16 places.
    assert_eq!((u.places, u.booked, u.attended, u.no_shows), (16, 6, 3, 1));
    assert!((u.fill_rate - 6.0 / 16.0).abs() < 1e-9);
    assert!((u.no_show_rate - 1.0 / 4.0).abs() < 1e-9);
    // Over the working week (Monday to Sunday): 5 × 16 places.
    let Answer::Utilization(u) = util(&e, &c2, MON, "2026-03-15").unwrap() else {
        panic!()
    };
    assert_eq!((u.places, u.booked), (80, 6));
    // An empty period has no rates to speak of.
    let Answer::Utilization(u) = util(&e, &admin(), SAT, SAT).unwrap() else {
        panic!()
    };
    assert_eq!(
        (u.places, u.booked, u.fill_rate, u.no_show_rate),
        (0, 0, 0.0, 0.0)
    );
    // Who may read, and bad periods.
    assert_eq!(util(&e, &c, TUE, TUE).unwrap_err().code(), "not_permitted");
    assert_eq!(util(&e, &c2, WED, TUE).unwrap_err().code(), "invalid_input");
    assert_eq!(
        util(&e, &c2, "2026-01-01", "2027-01-03")
            .unwrap_err()
            .code(),
        "invalid_input"
    );
}

#[test]
fn beneficiary_appointments_and_agenda_appointments() {
    let mut e = prepared();
    let c = clerk("F1");
    book(&mut e, &clerk("F2"), "A2", mvd(TUE, 9, 0), "B1");
    let list = appointments_of(&e, "B1");
    let summary: Vec<_> = list
        .iter()
        .map(|v| {
            (
                v.id,
                v.agenda.as_str(),
                v.facility.as_str(),
                v.service.as_str(),
                v.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "A1", "F1", "gp", AppointmentStatus::Booked),
            (5, "A2", "F2", "gp", AppointmentStatus::Booked),
        ]
    );
    assert_eq!(list[0].start, mvd(MON, 8, 0));
    assert_eq!(list[0].end, mvd(MON, 8, 15));
    assert!(appointments_of(&e, "B8").is_empty());
    // Any front-line staff, auditors and admins read; a facility-less clerk does not.
    for actor in [clerk("F2"), clinician("F1"), admin()] {
        e.query(
            &actor,
            &Query::BeneficiaryAppointments {
                beneficiary: "B1".into(),
            },
            now(),
        )
        .unwrap();
    }
    let nobody = Actor::new("x", "asse", None, Role::Clerk);
    let err = e
        .query(
            &nobody,
            &Query::BeneficiaryAppointments {
                beneficiary: "B1".into(),
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "not_permitted");
    let err = e
        .query(
            &c,
            &Query::BeneficiaryAppointments {
                beneficiary: "NOBODY".into(),
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "unknown_beneficiary");
    // The agenda's day, for its own staff only.
    let Answer::Appointments(day) = e
        .query(
            &c,
            &Query::AgendaAppointments {
                agenda: "A1".into(),
                date: date(MON),
            },
            now(),
        )
        .unwrap()
    else {
        panic!()
    };
    let ids: Vec<_> = day.iter().map(|v| (v.id, v.status)).collect();
    assert_eq!(
        ids,
        vec![
            (1, AppointmentStatus::Booked),
            (2, AppointmentStatus::Cancelled),
            (3, AppointmentStatus::Arrived),
            (4, AppointmentStatus::Booked),
        ]
    );
    let err = e
        .query(
            &clerk("F2"),
            &Query::AgendaAppointments {
                agenda: "A1".into(),
                date: date(MON),
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "not_permitted");
}

#[test]
fn free_slot_and_waitlist_queries_refuse_bad_requests() {
    let e = prepared();
    let c = clerk("F1");
    let (from, to) = (mvd(TUE, 0, 0), mvd(TUE, 23, 0));
    for (query, code) in [
        (
            free_slots_q("gp", None, None, &[], from, to, 0),
            "invalid_input",
        ),
        (
            free_slots_q("gp", None, None, &[], from, to, 501),
            "invalid_input",
        ),
        (
            free_slots_q("gp", None, None, &[], to, from, 10),
            "invalid_input",
        ),
        (
            free_slots_q("dental", None, None, &[], from, to, 10),
            "unknown_service",
        ),
    ] {
        assert_eq!(
            e.query(&c, &query, now()).unwrap_err().code(),
            code,
            "{query:?}"
        );
    }
    // Unknown regions or facilities simply match nothing.
    assert!(
        free(
            &e,
            free_slots_q("gp", Some("oeste"), None, &[], from, to, 10)
        )
        .is_empty()
    );
    assert!(free(&e, free_slots_q("gp", None, None, &["F9"], from, to, 10)).is_empty());
    let nobody = Actor::new("x", "asse", None, Role::Coordinator);
    let err = e
        .query(
            &nobody,
            &Query::Waitlist {
                service: None,
                facility: None,
            },
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "not_permitted");
    // The waitlist query filters by service and facility.
    assert_eq!(waitlist(&e, Some("gp"), None).len(), 1);
    assert!(waitlist(&e, Some("group"), None).is_empty());
    assert_eq!(
        waitlist(&e, None, Some("F3")).len(),
        1,
        "an entry for any facility"
    );
}

#[test]
fn reference_data_is_configured_by_admins_and_clerks_of_the_facility() {
    let mut e = network();
    // A clerk reconfigures their own agenda: bookings are kept.
    let c = clerk("F1");
    let id = book(&mut e, &c, "A1", mvd(TUE, 8, 0), "B1");
    let mut a1 = agenda("A1", "F1", "gp", &[(8, 0, 12, 0)]);
    a1.capacity = 3;
    ok(&mut e, &c, Command::DefineAgenda { agenda: a1 });
    assert_eq!(appointment(&e, "B1", id).status, AppointmentStatus::Booked);
    let day = &view(&e, "A1", TUE, 1)[0];
    assert_eq!((day.slots.len(), day.places, day.taken), (16, 48, 1));
    // The Agendas query lists the new configuration.
    let Answer::Agendas(list) = q(
        &e,
        &c,
        Query::Agendas {
            facility: Some("F1".into()),
        },
    ) else {
        panic!()
    };
    let ids: Vec<_> = list.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, vec!["A1", "A1b", "G1"]);
    assert_eq!(list[0].capacity, 3);
    // Closures by the facility's clerk, holidays by admins.
    ok(
        &mut e,
        &c,
        Command::AddClosure {
            agenda: "A1".into(),
            closure: Closure {
                date: date(WED),
                from: Some(hm(11, 0)),
                to: None,
                reason: String::new(),
            },
        },
    );
    assert_eq!(
        view(&e, "A1", WED, 1)[0].slots.len(),
        12,
        "closed from 11:00 on"
    );
    ok(
        &mut e,
        &c,
        Command::AddClosure {
            agenda: "A1".into(),
            closure: Closure {
                date: date(THU),
                from: None,
                to: Some(hm(9, 0)),
                reason: String::new(),
            },
        },
    );
    assert_eq!(
        view(&e, "A1", THU, 1)[0].slots.len(),
        12,
        "closed until 09:00"
    );
    assert_eq!(view(&e, "A1", THU, 1)[0].slots[0].start, mvd(THU, 9, 0));
}

#[test]
fn slots_fit_inside_their_block() {
    let mut e = network();
    let mut a = agenda("S", "F1", "gp", &[(8, 0, 8, 50)]);
    a.min_notice_minutes = 0;
    ok(&mut e, &admin(), Command::DefineAgenda { agenda: a });
    let starts: Vec<_> = view(&e, "S", TUE, 1)[0]
        .slots
        .iter()
        .map(|s| s.start)
        .collect();
    assert_eq!(
        starts,
        vec![mvd(TUE, 8, 0), mvd(TUE, 8, 15), mvd(TUE, 8, 30)]
    );
    let err = refuse(&mut e, &clerk("F1"), book_cmd("S", mvd(TUE, 8, 45), "B1"));
    assert_eq!(err.code(), "outside_availability");
    assert_eq!(err.details()["agenda"], "S");
    book(&mut e, &clerk("F1"), "S", mvd(TUE, 8, 30), "B1");
}
